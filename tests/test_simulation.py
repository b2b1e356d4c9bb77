"""The simulated clock drives the real Study, scheduler and searcher."""

from __future__ import annotations

from dataclasses import dataclass, field

from jupyter_hpo import Real, Space
from jupyter_hpo.simulation import Simulation


@dataclass
class Curves:
    """loss(q, epoch) = 1.8^(-q * epoch); an epoch takes ``seconds`` (or 1 + q if None)."""

    seconds: float | None = 2.0
    space: Space = field(default_factory=lambda: Space({"q": Real(0.1, 1.0)}))
    metric: str = "loss"
    mode: str = "min"
    max_t: int = 27
    resource: str = "epoch"
    optimum: float = 0.0

    def evaluate(self, config, epoch):
        return 1.8 ** -(config["q"] * epoch), self.seconds or 1.0 + config["q"]


def test_one_trial_ends_at_the_sum_of_its_epoch_times():
    sim = Simulation(Curves(seconds=None))
    study = sim.run(sim.study(1, trials=1, seed=0))
    q = study.trials[0].config["q"]
    assert study.state == "finished" and len(study.trials[0].reports) == 27
    assert abs(sim.now - 27 * (1 + q)) < 1e-9
    assert abs(study.trials[0].end_time - study.start_time - sim.now) < 1e-9


def test_workers_run_concurrently_in_simulated_time():
    sim = Simulation(Curves())
    sim.run(sim.study(4, trials=8, seed=0))
    assert sim.now == 2 * 27 * 2.0  # two waves of four trials, 27 epochs of 2 s each


def test_same_seed_same_study():
    def run(seed):
        sim = Simulation(Curves(seconds=None))
        study = sim.run(sim.study(3, trials=20, seed=seed, scheduler="hyperband"))
        return [(t.config["q"], t.status.value, len(t.reports)) for t in study.trials], sim.now

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_hyperband_stopping_and_promotion_under_simulation():
    for variant in ("stopping", "promotion"):
        sim = Simulation(Curves())
        study = sim.run(sim.study(4, trials=30, seed=0, scheduler="hyperband",
                                  scheduler_options={"type": variant}))
        counts = study.counts()
        assert study.state == "finished" and counts["running"] == counts["paused"] == 0
        assert counts["stopped"] > 0 and counts["completed"] > 0
        best = max(study.trials, key=lambda t: t.config["q"])
        assert study.best_trial is best or best.status.value == "stopped"


def test_time_limit_in_simulated_time():
    sim = Simulation(Curves())
    study = sim.run(sim.study(2, time_limit=100.0, seed=0))
    assert study.state == "finished"
    assert 100.0 <= sim.now <= 100.0 + 2.0  # running trials stop at their next report
    assert {t.status.value for t in study.trials} <= {"completed", "cancelled"}
    assert study.counts()["cancelled"] == 2


def test_progress_callback_sees_every_report():
    sim = Simulation(Curves())
    seen = []
    sim.run(sim.study(2, trials=4, seed=0), on_report=lambda now, s: seen.append(now))
    assert len(seen) == 4 * 27 and seen == sorted(seen)
