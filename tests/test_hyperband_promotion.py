"""The promotion variant's bookkeeping gives exactly the naive rule's promotions: a paused
trial may go on when it is in the top floor(n / eta) of its rung (ties by trial id); the
highest rung goes first, then the lowest loss, then the lowest trial id."""

from __future__ import annotations

import math
import random

import pytest

from jupyter_hpo.schedulers import HyperbandScheduler
from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.space import Real, Space
from jupyter_hpo.trial import Decision


class NaivePromotion:
    """The rule written out directly: re-rank every rung for every paused trial."""

    def __init__(self, scheduler: HyperbandScheduler) -> None:
        self.scheduler = scheduler

    def best(self, closing: bool = False) -> int | None:
        s = self.scheduler
        candidates = []
        for tid, level in s._paused_at.items():
            recorded = s.rungs[s.bracket_of[tid]][level]
            k = math.floor(len(recorded) / s.eta)
            if closing:  # no new trial will start: a rung that will never fill promotes its best
                k = max(k, 1)
            top = sorted(recorded, key=lambda t: (recorded[t], t))[:k]
            if tid in top:
                candidates.append((-level, recorded[tid], tid))
        return min(candidates)[2] if candidates else None


def _scheduler(brackets: int, seed: int, eta: float = 3) -> HyperbandScheduler:
    space = Space({"x": Real(0.0, 1.0)})
    searcher = make_searcher("random", space, "loss", "min", seed=seed)
    return HyperbandScheduler(searcher, "loss", "min", max_t=27, grace_period=1,
                              reduction_factor=eta, brackets=brackets, type="promotion",
                              seed=seed)


def _run(brackets: int, seed: int, eta: float, steps: int) -> list[tuple[str, int | None]]:
    """A random sequence of starts, reports (coarse losses, so ties are common), resumes and
    endings; every promotion is checked against the naive rule."""
    rng = random.Random(seed)
    s = _scheduler(brackets, seed, eta)
    naive = NaivePromotion(s)
    running: dict[int, float] = {}  # trial -> its last resource
    next_id, events = 0, []
    for _ in range(steps):
        action = rng.random()
        active = sorted(t for t in running if t >= 0)
        if action < 0.35 or not active:
            expected = naive.best()
            suggestion = s.suggest(next_id)
            assert suggestion is not None
            if suggestion.resume_trial is not None:
                assert suggestion.resume_trial == expected
                events.append(("resume", suggestion.resume_trial))
                running[suggestion.resume_trial] = running.pop(-suggestion.resume_trial - 1)
            else:
                assert expected is None
                running[next_id] = 0
                events.append(("start", next_id))
                next_id += 1
        elif action < 0.4:  # a free worker while no new trial may start
            expected = naive.best(closing=True)
            suggestion = s.suggest(next_id, can_start_new=False)
            assert (None if suggestion is None else suggestion.resume_trial) == expected
            if expected is None:
                events.append(("none", None))
            else:
                events.append(("closing resume", expected))
                running[expected] = running.pop(-expected - 1)
        elif action < 0.9:
            tid = rng.choice(active)
            epoch = running[tid] + rng.choice((1, 1, 1, 2, 5))
            loss = rng.choice((0.1, 0.2, 0.3, 0.3, 0.5)) if rng.random() < 0.5 \
                else round(rng.random(), 2)
            decision = s.on_trial_result(tid, {"epoch": epoch, "loss": loss})
            events.append((decision.value, tid))
            running[tid] = epoch
            if decision is Decision.PAUSE:
                running[-tid - 1] = running.pop(tid)  # parked until a resume
            elif epoch >= 27:
                s.on_trial_complete(tid, {"epoch": epoch, "loss": loss})
                running.pop(tid)
        else:
            parked = sorted(t for t in running if t < 0)
            if parked and rng.random() < 0.5:
                key = rng.choice(parked)
                ending = rng.choice(("complete", "error", "remove"))
                tid = -key - 1
                running.pop(key)
            else:
                tid = rng.choice(active)
                ending = rng.choice(("error", "remove"))
                running.pop(tid)
            {"complete": lambda t: s.on_trial_complete(t, None), "error": s.on_trial_error,
             "remove": s.on_trial_remove}[ending](tid)
            events.append((ending, tid))
        assert sorted(s.paused_trials()) == sorted(-t - 1 for t in running if t < 0)
    while True:
        expected = naive.best()
        assert s.promote() == expected
        if expected is None:
            break
        events.append(("resume", expected))
    while True:  # the budget is spent: the closing promotions
        expected = naive.best(closing=True)
        assert s.promote(closing=True) == expected
        if expected is None:
            return events
        events.append(("closing resume", expected))


@pytest.mark.parametrize("brackets", [1, 2, 4])
@pytest.mark.parametrize("seed", range(6))
def test_promotions_match_the_naive_rule(brackets, seed):
    events = _run(brackets, seed, eta=3, steps=600)
    assert any(kind == "resume" for kind, _ in events)
    assert any(kind == "closing resume" for kind, _ in events)
    assert any(kind == "none" for kind, _ in events)


@pytest.mark.parametrize("seed", range(3))
def test_promotions_match_the_naive_rule_with_eta_two(seed):
    _run(brackets=3, seed=seed, eta=2, steps=400)


def test_debug_log_rank_of_a_promotion_counts_ties_by_trial_id(capsys):
    space = Space({"x": Real(0.0, 1.0)})
    searcher = make_searcher("random", space, "loss", "min", seed=0, debug_log=True)
    s = HyperbandScheduler(searcher, "loss", "min", max_t=9, grace_period=1,
                           reduction_factor=3, type="promotion", seed=0)
    for tid in range(6):
        assert s.suggest(tid).config is not None
    for tid, loss in enumerate((0.5, 0.2, 0.2, 0.9, 0.2, 0.7)):
        assert s.on_trial_result(tid, {"epoch": 1, "loss": loss}) is Decision.PAUSE
    assert s.promote() == 1
    assert s.promote() == 2
    assert s.promote() is None
    out = capsys.readouterr().out
    assert "promote trial 1 from rung 1 (rank 1 of 6 there)" in out
    assert "promote trial 2 from rung 1 (rank 2 of 6 there)" in out


def test_skopt_lies_about_running_trials_only_not_paused_ones():
    """skopt tells its model a constant lie (the best value so far) for each pending trial,
    so concurrent proposals differ; a trial paused at a rung does not run, and lies about
    dozens of them made skopt's proposals much worse in a promotion study."""
    space = Space({"x": Real(0.0, 1.0)})
    searcher = make_searcher("skopt", space, "loss", "min", seed=0, n_initial_points=2)
    s = HyperbandScheduler(searcher, "loss", "min", max_t=9, grace_period=1,
                           reduction_factor=3, type="promotion", seed=0)
    for tid in range(6):
        assert s.suggest(tid).config is not None
    for tid in range(6):
        assert s.on_trial_result(tid, {"epoch": 1, "loss": 1.0 + tid}) is Decision.PAUSE
    assert set(searcher.pending) == searcher.paused_pending == set(range(6))
    assert s.promote() == 0
    assert searcher.paused_pending == set(range(1, 6))  # trial 0 runs again
    s.on_trial_complete(0, {"epoch": 9, "loss": 0.25})
    assert set(searcher.pending) == searcher.paused_pending == set(range(1, 6))
    told = []
    fresh = searcher.fresh_optimizer
    searcher.fresh_optimizer = lambda lies: told.append(len(lies)) or fresh(lies)
    proposal = searcher.suggest(6)
    assert told == [0]  # trial 0's result, no lie for the five paused trials
    assert proposal["x"] not in {s.configs[t]["x"] for t in range(6)}


@pytest.mark.parametrize("name", ["random", "tpe", "bayesopt"])
def test_other_searchers_are_not_told_about_pauses(name):
    """Random search and tpe keep no lies; bayesopt fantasises only the latest pending trials
    and has the paused ones' rung results already."""
    searcher = make_searcher(name, Space({"x": Real(0.0, 1.0)}), "loss", "min", seed=0)
    s = HyperbandScheduler(searcher, "loss", "min", max_t=9, grace_period=1,
                           reduction_factor=3, type="promotion", seed=0)
    assert s.suggest(0).config is not None
    assert s.on_trial_result(0, {"epoch": 1, "loss": 1.0}) is Decision.PAUSE
    assert searcher.pending == {0: s.configs[0]} and not searcher.paused_pending


def _curve(config, report):
    for epoch in range(1, 28):
        report(epoch=epoch, loss=(config["x"] - 0.3) ** 2 + 1 / epoch)


@pytest.mark.parametrize("brackets", [1, 2])
def test_a_small_budget_still_trains_its_best_trials_to_max_t(brackets):
    """6 trials with η = 3 never fill rung 9 (2 values there): once the budget is spent its
    best paused trial goes on, so the study's best trial reaches max_t instead of every trial
    ending paused (and the study's best being a 9-epoch result)."""
    from jupyter_hpo import TrialStatus, tune

    study = tune(_curve, {"x": Real(0, 1)}, metric="loss", trials=6, seed=1, workers=2,
                 scheduler="hyperband", scheduler_options={"type": "promotion", "max_t": 27,
                                                            "brackets": brackets})
    statuses = [t.status for t in study.trials]
    assert TrialStatus.COMPLETED in statuses
    assert set(statuses) <= {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    assert study.best_trial.status is TrialStatus.COMPLETED
    assert study.best_trial.reports[-1]["epoch"] == 27
