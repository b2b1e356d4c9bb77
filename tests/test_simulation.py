"""The simulated clock drives the real Study, scheduler and searcher."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from jupyter_hpo import Categorical, Int, Real, Space
from jupyter_hpo.simulation import Simulation, TableBenchmark, simulate


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


def test_one_options_dict_serves_benchmarks_of_different_max_t():
    """The benchmark's max_t goes into a copy of the caller's scheduler options: a dict reused
    for another benchmark does not carry the first one's max_t along."""
    options = {"grace_period": 1}
    short, long = Curves(), Curves()
    short.max_t, long.max_t = 9, 27
    first = Simulation(short).study(2, trials=2, seed=0, scheduler="hyperband",
                                    scheduler_options=options)
    second = Simulation(long).study(2, trials=2, seed=0, scheduler="hyperband",
                                    scheduler_options=options)
    assert options == {"grace_period": 1}
    assert (first.scheduler.max_t, second.scheduler.max_t) == (9, 27)
    explicit = Simulation(long).study(2, trials=2, seed=0, scheduler="hyperband",
                                      scheduler_options={"max_t": 3})
    assert explicit.scheduler.max_t == 3


def test_hyperband_stopping_and_promotion_under_simulation():
    for variant in ("stopping", "promotion"):
        sim = Simulation(Curves())
        seen = []
        study = sim.run(sim.study(4, trials=30, seed=0, scheduler="hyperband",
                                  scheduler_options={"type": variant}),
                        on_report=lambda now, trial, seen=seen: seen.append((trial.trial_id,
                                                                  trial.status.value)))
        paused_at = {}
        resumed = set()
        for i, (trial_id, status) in enumerate(seen):
            if trial_id in paused_at:
                resumed.add(trial_id)
            if status == "paused":
                paused_at.setdefault(trial_id, i)
        assert (len(resumed) > 0) == (variant == "promotion")
        counts = study.counts()
        assert study.state == "finished" and counts["running"] == counts["paused"] == 0
        assert counts["stopped"] > 0 and counts["completed"] > 0
        best = max(study.trials, key=lambda t: t.config["q"])
        assert study.best_trial is best or best.status.value == "stopped"


def test_paused_trials_are_signalled_once_and_polled_only_after_a_signal():
    """A promotion study leaves hundreds of trials paused: each is told once to go on or to
    end (the study's end told every paused trial again each time one of them ended), and the
    simulated executor asks for their outcomes only after some paused trial was told (it
    asked for every paused trial's at every event)."""
    sim = Simulation(Curves())
    study = sim.study(4, trials=300, seed=0, scheduler="hyperband",
                      scheduler_options={"type": "promotion"})
    controller = study.controller
    signalled, log = [], []
    signal, outcome = controller._signal, study.paused_outcome
    controller._signal = lambda trial_id: (signalled.append(trial_id), log.append("signal"),
                                           signal(trial_id))[-1]
    study.paused_outcome = lambda trial: (log.append("poll"), outcome(trial))[-1]
    sim.run(study, on_report=lambda now, trial: log.append("event"))
    counts = study.counts()
    assert study.state == "finished" and counts["paused"] == 0 and counts["stopped"] > 100
    pauses = sum(1 for t in study.trials for r in t.reports if r["epoch"] in (1, 3, 9))
    resumed = sum(1 for t in study.trials for r in t.reports if r["epoch"] in (2, 4, 10))
    stopped_paused = sum(1 for t in study.trials if t.status.value == "stopped")
    assert len(signalled) == resumed + stopped_paused <= pauses  # once per pause at most
    told, rounds = True, 0  # a trial was told something since the last round of polls began
    for previous, entry in zip(["event", *log], log):
        if entry == "signal":
            told = True
        elif entry == "poll" and previous == "event":  # a round of polls begins
            assert told
            told, rounds = False, rounds + 1
    assert 0 < rounds <= len(signalled)


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
    sim.run(sim.study(2, trials=4, seed=0),
            on_report=lambda now, trial: seen.append((now, trial.trial_id)))
    assert len(seen) == 4 * 27 and [now for now, _ in seen] == sorted(now for now, _ in seen)
    assert {trial_id for _, trial_id in seen} == {0, 1, 2, 3}


def test_nearest_configuration_lookup():
    space = Space({"lr": Real(1e-4, 1.0, log=True), "depth": Int(1, 4),
                   "act": Categorical("relu", "tanh")})
    configs = {"lr": [1e-4, 1e-2, 1.0, 1e-2], "depth": [1, 4, 1, 2],
               "act": ["relu", "relu", "relu", "tanh"]}
    curves = np.arange(4 * 3, dtype=float).reshape(4, 3)
    bench = TableBenchmark(space, configs, curves, np.full((4, 3), 0.5))
    assert bench.nearest({"lr": 2e-4, "depth": 1, "act": "relu"}) == 0
    assert bench.nearest({"lr": 5e-3, "depth": 3, "act": "relu"}) == 1  # log scale: 5e-3 ~ 1e-2
    assert bench.nearest({"lr": 0.3, "depth": 2, "act": "relu"}) == 2
    assert bench.nearest({"lr": 1e-4, "depth": 1, "act": "tanh"}) == 3  # categoricals exact
    assert bench.evaluate({"lr": 0.9, "depth": 1, "act": "relu"}, 2) == (7.0, 0.5)
    assert bench.optimum == 2.0 and bench.max_t == 3
    with pytest.raises(ValueError, match="columns"):
        TableBenchmark(space, {"lr": [1e-3]}, curves[:1], curves[:1])


def test_table_benchmark_replays_under_hyperband_and_round_trips_through_npz(tmp_path):
    rng = np.random.default_rng(0)
    space = Space({"a": Real(0.0, 1.0), "b": Categorical("x", "y")})
    rows = 40
    configs = {"a": rng.random(rows), "b": np.array(["x", "y"] * (rows // 2))}
    epochs = np.arange(1, 10)
    curves = (configs["a"][:, None] + 1.0 / epochs).astype(np.float16)
    seconds = np.full((rows, 9), 1.5, dtype=np.float16)
    np.savez_compressed(tmp_path / "t.npz", **configs, loss=curves, seconds=seconds)
    bench = TableBenchmark.load(tmp_path / "t.npz", space, metric="loss")
    assert bench.name == "t" and bench.max_t == 9
    assert abs(bench.optimum - float(curves[:, -1].min())) < 1e-9
    study = simulate(bench, workers=3, trials=30, seed=0, scheduler="hyperband")
    counts = study.counts()
    assert counts["completed"] + counts["stopped"] == 30 and counts["stopped"] > 0
    for trial in study.trials:
        row = bench.nearest(trial.config)
        for report in trial.reports:
            assert report["loss"] == float(curves[row, report["epoch"] - 1])


@pytest.mark.parametrize("scheduler,searcher", [("auto", "auto"), ("hyperband", "bayesopt"),
                                                ("fifo", "random")])
def test_a_diverged_row_fails_its_simulated_trials_and_the_study_goes_on(scheduler, searcher):
    # a recorded NaN (a training run that diverged) fails the trial reporting it, as report()
    # does in a real trial; the table's optimum is taken over the finite values
    rng = np.random.default_rng(0)
    space = Space({"a": Real(0.0, 1.0)})
    configs = {"a": np.linspace(0.0, 1.0, 40)}
    curves = configs["a"][:, None] + 1.0 / np.arange(1, 10) + 0.01 * rng.random((40, 9))
    diverged = (configs["a"] > 0.1) & (configs["a"] < 0.4)  # good early, NaN from epoch 4 on
    curves[diverged, 3:] = np.nan
    bench = TableBenchmark(space, configs, curves, np.full((40, 9), 1.0), metric="loss")
    assert bench.optimum == float(np.nanmin(curves[:, -1]))
    study = simulate(bench, workers=2, trials=40, seed=0, scheduler=scheduler,
                     searcher=searcher)
    assert study.state == "finished" and len(study.trials) == 40
    failed = [t for t in study.trials if t.status.value == "failed"]
    assert failed and all(bench.nearest(t.config) in np.flatnonzero(diverged)
                          for t in failed)
    for trial in failed:
        assert trial.error == ("ReportError: report(): the metric 'loss' is nan (float), but "
                               "must be a finite number")
        assert [r["epoch"] for r in trial.reports] == [1, 2, 3]
    assert study.best_trial.status.value != "failed"


def test_a_table_without_a_finite_final_value_or_with_bad_durations_is_refused():
    space = Space({"a": Real(0.0, 1.0)})
    curves = np.array([[1.0, np.nan], [0.5, np.inf]])
    with pytest.raises(ValueError, match="no row has a finite loss at the last epoch"):
        TableBenchmark(space, {"a": [0.1, 0.9]}, curves, np.ones((2, 2)), metric="loss")
    for seconds in (np.array([[1.0, np.nan], [1.0, 1.0]]), -np.ones((2, 2))):
        with pytest.raises(ValueError, match="seconds must hold finite durations >= 0"):
            TableBenchmark(space, {"a": [0.1, 0.9]}, np.ones((2, 2)), seconds, metric="loss")


def test_quick_benchmark_prints_the_regret_table_and_writes_per_seed_regrets(tmp_path):
    root = Path(__file__).resolve().parent.parent
    markdown, finals = tmp_path / "sq.md", tmp_path / "finals.json"
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "search_quality.py"),
                           "--quick", "--jobs", "1", "--markdown", str(markdown),
                           "--finals", str(finals)],
                          capture_output=True, text=True, cwd=root, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "| method | 0.05 budget |" in done.stdout
    for method in ("random (FIFO)", "random + Hyperband", "Optuna Random"):
        assert f"| {method}" in done.stdout
    assert "branin-mf" in done.stdout
    saved = markdown.read_text()
    assert "### branin-mf: normalised regret" in saved and "| random (FIFO) |" in saved
    assert "Machine:" not in saved
    per_seed = json.loads(finals.read_text())  # one seed: its regrets are the table's last column
    regrets = per_seed["branin-mf"]["random (FIFO)"]
    assert len(regrets["final"]) == len(regrets["at_0.3"]) == 1
    assert 0 <= regrets["final"][0] <= regrets["at_0.3"][0] <= 1
    row = next(line for line in saved.split("### branin-mf")[1].splitlines()
               if line.startswith("| random (FIFO) |"))
    assert float(row.strip("| ").split("|")[-1]) == pytest.approx(regrets["final"][0], abs=1e-4)


def test_benchmark_rejects_an_unknown_method():
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "benchmarks" / "search_quality.py"),
                           "--methods", "no such method", "--benchmarks", "branin-mf"],
                          capture_output=True, text=True, cwd=root, timeout=120, check=False)
    assert done.returncode == 2 and "unknown methods ['no such method']" in done.stderr


@pytest.mark.parametrize("table", ["gbm_hastie", "forest_digits", "net_synth", "cnn_digits"])
def test_make_tables_trains_a_row_that_the_benchmark_replays(table, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import make_tables
    import search_quality

    monkeypatch.setattr(make_tables, "TABLE_DIR", tmp_path)
    path = make_tables.make_table(table, seconds=0, workers=1, max_configs=2)
    kind = table.split("_")[0]
    bench = TableBenchmark.load(path, search_quality.TABLE_SPACES[kind](), metric="logloss")
    assert bench.max_t == make_tables.EPOCHS
    assert len(bench.configs) == 1  # a deadline already past still trains one row
    value, seconds = bench.evaluate(bench.configs[0], bench.max_t)
    assert 0 <= value < 1e4 and seconds > 0
    assert set(make_tables.rank_correlations(path, "error")) == {1, 3, 9}


@pytest.mark.parametrize("benchmarks, shape", [(1, (1, 1)), (4, (1, 4)), (5, (2, 4)),
                                               (11, (3, 4))])
def test_the_plot_lays_benchmarks_out_in_rows_of_four(benchmarks, shape, tmp_path, monkeypatch):
    """One panel per benchmark, four to a row, the legend in the first empty panel (or in the
    last benchmark's when the grid is full)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import matplotlib.pyplot as plt
    import search_quality

    grids = {f"bench-{i}": np.linspace(0.1, 1.0, 5) for i in range(benchmarks)}
    curves = {method: {name: np.linspace(1.0, 0.1 * (k + 1), 5) for name in grids}
              for k, method in enumerate(["default (auto)", "Syne Tune ASHA"])}
    figures = []
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: figures.append(fig))
    search_quality.plot(curves, grids, tmp_path / "plot.png")
    (figure,) = figures
    panels = [ax for ax in figure.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == list(grids)
    rows = {round(ax.get_position().y0, 3) for ax in figure.axes}
    columns = {round(ax.get_position().x0, 3) for ax in figure.axes}
    assert (len(rows), len(columns)) == shape
    legends = [ax for ax in figure.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_legend().get_texts()] == list(curves)
    assert legends[0].axison == (benchmarks % min(benchmarks, 4) == 0)  # a full grid
    plt.close(figure)


def test_every_committed_table_loads_with_its_space_and_replays_its_best_row():
    """Each benchmark of TABLES (the held-out one included) has its table committed, its
    space matches the table's columns, and the nearest-row lookup finds a row itself."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        import search_quality
    finally:
        sys.path.remove(str(root / "benchmarks"))
    for name, (file, metric, space, mode) in search_quality.TABLES.items():
        bench = TableBenchmark.load(root / "benchmarks" / "tables" / file, space(), metric=metric,
                                    mode=mode)
        pick = np.nanargmin if mode == "min" else np.nanargmax
        value, seconds = bench.evaluate(bench.configs[int(pick(bench.curves[:, -1]))],
                                        bench.max_t)
        assert value == bench.optimum and seconds > 0, name


@pytest.mark.parametrize("mode", ["min", "max"])
def test_regret_scale_counts_a_diverged_random_configuration_as_the_worst(mode, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import search_quality

    space = Space({"a": Real(0.0, 1.0)})
    a = np.linspace(0.0, 1.0, 101)
    final = a if mode == "min" else -a  # the lower a, the better
    curves = np.repeat(final[:, None], 2, axis=1)
    curves[a > 0.6, 1] = np.nan  # 40% of the space diverges: the median is a finite row's
    bench = TableBenchmark(space, {"a": a}, curves, np.ones((101, 2)), metric="v", mode=mode)
    monkeypatch.setattr(search_quality, "load_benchmark", lambda name: bench)
    search_quality.random_stats.cache_clear()
    scale, seconds = search_quality.random_stats("diverging")
    # the median random configuration is still a = 0.5 (the diverged ones rank last); were
    # they dropped it would be a = 0.3
    assert 0.45 < scale < 0.55 and seconds == 2.0
    curves[a > 0.4, 1] = np.nan  # now most of it diverges
    bench = TableBenchmark(space, {"a": a}, curves, np.ones((101, 2)), metric="v", mode=mode)
    search_quality.random_stats.cache_clear()
    with pytest.raises(ValueError, match="half of the random configurations"):
        search_quality.random_stats("diverging")
    search_quality.random_stats.cache_clear()
