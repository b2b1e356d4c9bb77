"""Every searcher under every scheduler, through the whole lifecycle (as Syne Tune's
``test_schedulers_api.py`` and Optuna's ``test_samplers.py`` do for theirs).

A deterministic simulated driver runs a few trials on three workers: reports at each epoch
(some of them NaN, infinite or without the metric), trials that complete, are stopped, fail
(``on_trial_error``), are cancelled (``on_trial_remove``), are paused and promoted. After every
event it checks the contract: decisions are ``Decision``\\s the scheduler may give, proposals
lie inside the space, the searcher's pending trials are exactly the trials that started and
did not end, concurrent proposals differ. Then: the same seed gives the same run, a pickled
scheduler (searcher inside) continues exactly like the original, a resumed study restores
stored trials, and an observation never waits for a proposal being made in another thread.
"""

from __future__ import annotations

import copy
import heapq
import inspect
import math
import pickle
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from jupyter_hpo.schedulers import SCHEDULERS, HyperbandScheduler, Suggestion, make_scheduler
from jupyter_hpo.searchers import SEARCHERS, Searcher, make_searcher, searcher_class
from jupyter_hpo.space import Bool, Categorical, Int, Real, Space
from jupyter_hpo.trial import Decision

pytestmark = pytest.mark.usefixtures("one_blas_thread")

C, S, P, D = Decision.CONTINUE, Decision.STOP, Decision.PAUSE, Decision.DONE
MAX_T = 9  # rungs 1, 3, 9 (bracket 1 of two: 3, 9)

# small models, so that the slow searchers stay fast
SEARCHER_OPTIONS: dict[str, dict[str, Any]] = {
    "random": {},
    "grid": {"points": 3, "shuffle": True},
    "skopt": {"n_initial_points": 3, "n_points": 100, "acq_optimizer": "sampling"},
    "tpe": {"n_startup": 3},
    "bayesopt": {"num_init_random": 3, "num_candidates": 50},
    "bohb": {"min_points_in_model": 2, "random_fraction": 0.2},
    "rl": {"controller_batch_size": 1, "hidden_size": 8},
    "auto": {"num_init_random": 3, "num_candidates": 50},
}
SCHEDULER_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "fifo": ("fifo", {}),
    "stopping": ("hyperband", {"max_t": MAX_T, "grace_period": 1, "reduction_factor": 3}),
    "promotion": ("hyperband", {"max_t": MAX_T, "grace_period": 1, "reduction_factor": 3,
                                "type": "promotion"}),
    "brackets2": ("hyperband", {"max_t": MAX_T, "grace_period": 1, "reduction_factor": 3,
                                "brackets": 2}),
    # the default; small sample sizes so that its rungs adapt within a few trials
    "auto": ("auto", {"max_t": MAX_T, "min_pairs": 3, "full_fraction": 0.3}),
    # its learning-curve models, off by default: both on, so a rung may rank by either
    "auto-models": ("auto", {"max_t": MAX_T, "min_pairs": 3, "full_fraction": 0.3,
                             "extrapolate": True, "curve_model": True}),
    # the learning-curve model with a rate per trial (curve_model="trial"), off by default
    "auto-trial-rate": ("auto", {"max_t": MAX_T, "min_pairs": 3, "full_fraction": 0.3,
                                 "curve_model": "trial"}),
    "auto-no-max-t": ("auto", {}),
}
ALLOWED = {"fifo": {C}, "stopping": {C, S, D}, "promotion": {C, P, D}, "brackets2": {C, S, D},
           "auto": {C, S, D}, "auto-models": {C, S, D}, "auto-trial-rate": {C, S, D},
           "auto-no-max-t": {C}}
# trial -> (how it ends, the epoch it does not report because it ended first): 1 fails at
# once, 2 after one report (if it gets there), 4 is cancelled at once, 6 after two reports
FATES = {1: ("failed", 1), 2: ("failed", 2), 4: ("cancelled", 1), 6: ("cancelled", 3)}
# odd reports: (trial, epoch) -> metric value, None for a report without the metric
ODD = {(5, 1): math.nan, (3, 2): math.inf, (0, 2): None}

both = pytest.mark.parametrize("scheduler", list(SCHEDULER_OPTIONS))
every = pytest.mark.parametrize("searcher", list(SEARCHER_OPTIONS))


def test_the_tables_name_every_searcher_and_scheduler():
    assert set(SEARCHER_OPTIONS) == set(SEARCHERS)
    assert {name for name, _ in SCHEDULER_OPTIONS.values()} == set(SCHEDULERS)


def space() -> Space:
    return Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(4, 64, log=True),
                  "act": Categorical("relu", "tanh", "gelu"), "bias": Bool()})


def loss(config: dict[str, Any], epoch: float) -> float:
    """A learning curve with its optimum at lr 1e-2, 16 units, tanh, no bias."""
    distance = ((math.log10(config["lr"]) + 2) ** 2 + (math.log2(config["units"]) - 4) ** 2 / 4
                + {"relu": 0.3, "tanh": 0.0, "gelu": 0.5}[config["act"]] + 0.2 * config["bias"])
    return distance + 2.0 * math.exp(-epoch / 3.0)


def build(searcher: str | Searcher, scheduler: str, mode: str = "max", seed: int = 0):
    metric = "acc" if mode == "max" else "loss"
    if isinstance(searcher, str):
        searcher = make_searcher(searcher, space(), metric, mode, seed,
                                 **SEARCHER_OPTIONS[searcher])
    name, options = SCHEDULER_OPTIONS[scheduler]
    return make_scheduler(name, searcher, metric, mode, "epoch", seed=seed, **options)


def key(config: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(config.items()))


class Driver:
    """``workers`` slots and a clock; an epoch of a trial takes a time that depends on its
    configuration, so reports interleave. ``log`` records every suggestion and decision."""

    def __init__(self, scheduler: Any, kind: str, trials: int = 8, workers: int = 3) -> None:
        self.scheduler, self.kind, self.budget, self.workers = scheduler, kind, trials, workers
        self.searcher = scheduler.searcher
        self.maximise = scheduler.mode == "max"
        self.now, self.next_id, self.steps = 0.0, 0, 0
        self.queue: list[tuple[float, int, int]] = []
        self.running: set[int] = set()
        self.paused: set[int] = set()
        self.configs: dict[int, dict[str, Any]] = {}
        self.epochs: dict[int, int] = {}
        self.reports: dict[int, list[dict[str, Any]]] = {}
        self.status: dict[int, str] = {}
        self.log: list[tuple[Any, ...]] = []

    # ---------------------------------------------------------------- the simulation
    def result(self, tid: int, epoch: int) -> dict[str, Any]:
        value = loss(self.configs[tid], epoch)
        value = ODD.get((tid, epoch), -value if self.maximise else value)
        if value is None:
            return {"epoch": epoch}
        return {"epoch": epoch, self.scheduler.metric: value}

    def _schedule(self, tid: int) -> None:
        self.epochs[tid] += 1
        cost = 0.5 + zlib.crc32(repr(key(self.configs[tid])).encode()) % 7 / 7
        heapq.heappush(self.queue, (self.now + cost, tid, self.epochs[tid]))

    def fill(self) -> None:
        while len(self.running) < self.workers:
            suggestion = self.scheduler.suggest(self.next_id, self.next_id < self.budget)
            if suggestion is None:
                break
            assert isinstance(suggestion, Suggestion)
            if suggestion.resume_trial is not None:
                tid = suggestion.resume_trial
                assert suggestion.config is None and tid in self.paused, (tid, self.paused)
                self.paused.discard(tid)
                self.log.append(("resume", tid))
            else:
                tid, config = self.next_id, suggestion.config
                self.next_id += 1
                self.scheduler.searcher.space.validate(config)
                assert self.scheduler.configs[tid] == config
                self.configs[tid], self.epochs[tid], self.reports[tid] = config, 0, []
                self.log.append(("start", tid, key(config)))
            self.running.add(tid)
            self.status[tid] = "running"
            self._schedule(tid)
        if not self.running:  # nothing can promote the paused trials any more
            for tid in sorted(self.paused):
                self._end(tid, "stopped")
        self.check()

    def _end(self, tid: int, status: str) -> None:
        self.running.discard(tid)
        self.paused.discard(tid)
        self.status[tid] = status
        if status == "failed":
            self.scheduler.on_trial_error(tid)
        elif status == "cancelled":
            self.scheduler.on_trial_remove(tid)
        else:
            last = self.reports[tid][-1] if self.reports[tid] else None
            self.scheduler.on_trial_complete(tid, last)
        self.log.append(("end", tid, status))

    def step(self) -> None:
        self.now, tid, epoch = heapq.heappop(self.queue)
        self.steps += 1
        fate, when = FATES.get(tid, ("", 0))
        if epoch == when:
            self._end(tid, fate)
        else:
            result = self.result(tid, epoch)
            self.reports[tid].append(result)
            decision = self.scheduler.on_trial_result(tid, result)
            assert isinstance(decision, Decision)
            assert decision in ALLOWED[self.kind], (self.kind, decision)
            if D in ALLOWED[self.kind] and decision is not S and ODD.get((tid, epoch), 0) \
                    is not None:  # a scheduler with max_t ends a trial exactly there
                assert (decision is D) == (epoch >= MAX_T), (self.kind, epoch, decision)
            self.log.append(("report", tid, epoch, decision.value))
            if decision is S or epoch >= MAX_T:
                self._end(tid, "stopped" if decision is S else "completed")
            elif decision is P:
                self.running.discard(tid)
                self.paused.add(tid)
                self.status[tid] = "paused"
            else:
                self._schedule(tid)
        self.check()
        self.fill()

    def run(self, steps: int | None = None) -> Driver:
        if not self.log:
            self.fill()
        while self.queue and (steps is None or steps > 0):
            self.step()
            steps = None if steps is None else steps - 1
        return self

    # ---------------------------------------------------------------- the contract
    def check(self) -> None:
        alive = self.running | self.paused
        assert set(self.searcher.pending) == alive  # ended trials are no longer pending
        assert set(self.scheduler.paused_trials()) == self.paused
        configs = [key(self.configs[t]) for t in alive]
        assert len(set(configs)) == len(configs), "concurrent proposals must differ"
        assert not self.searcher._inbox

    def stored(self) -> list[tuple[int, dict[str, Any], list[dict[str, Any]], str, int]]:
        """The trials as a storage would keep them: (id, config, reports, status, bracket)."""
        return [(t, self.configs[t], list(self.reports[t]), self.status[t],
                 self.scheduler.bracket(t)) for t in sorted(self.configs)]


@cache
def whole_run(searcher: str, scheduler: str) -> Driver:
    return Driver(build(searcher, scheduler), scheduler).run()


# ============================================================================ lifecycle
@every
@both
def test_lifecycle(searcher, scheduler):
    run = whole_run(searcher, scheduler)
    statuses = set(run.status.values())
    assert run.next_id == 8 and not run.queue and not run.running and not run.paused
    assert {"failed", "cancelled"} <= statuses <= {"failed", "cancelled", "completed",
                                                   "stopped"}
    assert run.status[1] == "failed" and run.status[4] == "cancelled"
    assert run.searcher.pending == {}
    sched = run.scheduler
    if scheduler == "promotion":
        assert any(entry[0] == "resume" for entry in run.log)
    if isinstance(sched, HyperbandScheduler):
        # auto runs trials that never report the resource to the end instead of refusing them
        assert sched.needs_resource == (not scheduler.startswith("auto"))
        # NaN, infinity and a missing metric are recorded at no rung
        for bracket in sched.rungs:
            for recorded in bracket.values():
                assert all(math.isfinite(v) for v in recorded.values())
    else:
        assert not sched.needs_resource


@every
@both
def test_same_seed_same_run_and_a_pickled_pair_continues_like_the_original(searcher,
                                                                           scheduler):
    whole = whole_run(searcher, scheduler)
    original = Driver(build(searcher, scheduler), scheduler).run(steps=whole.steps // 2)
    assert original.queue, "the run must still be going"
    original.scheduler, scheduler_object = None, original.scheduler
    clone = copy.deepcopy(original)
    original.scheduler = scheduler_object
    clone.scheduler = pickle.loads(pickle.dumps(scheduler_object))
    clone.searcher = clone.scheduler.searcher
    assert clone.scheduler is not original.scheduler and clone.searcher is not original.searcher
    assert clone.searcher.pending == original.searcher.pending
    original.run()
    clone.run()
    assert original.log == whole.log  # determinism under a seed
    assert clone.log == original.log  # the pickle round trip
    # and what they learnt since is the same: the next proposals agree too
    assert [original.searcher.suggest(100 + i) for i in range(2)] == \
        [clone.searcher.suggest(100 + i) for i in range(2)]
    other = Driver(build(searcher, scheduler, seed=1), scheduler).run(steps=20)
    assert other.log != whole.log[:len(other.log)]


@every
@both
def test_resumed_study_restores_stored_trials(searcher, scheduler):
    whole = whole_run(searcher, scheduler)
    stored = whole.stored()
    interrupted = stored[-1][0]  # the kernel died while it ran: it runs again

    def resume():
        sched = build(searcher, scheduler)
        for tid, config, reports, status, bracket in stored:
            if tid == interrupted:
                sched.searcher.restore(tid, config)
                sched.searcher.enqueue(config)
            else:
                sched.restore(tid, config, reports, status, bracket)
        sched.searcher.resumed(len(stored))
        assert sched.searcher.pending == {}
        proposals = []
        for tid in range(len(stored), len(stored) + 3):
            suggestion = sched.suggest(tid)
            if suggestion is None:
                break
            proposals.append(suggestion)
        return sched, proposals

    sched, proposals = resume()
    assert proposals[0] == Suggestion.start(whole.configs[interrupted])
    for suggestion in proposals:
        if suggestion.config is not None:
            space().validate(suggestion.config)
    if searcher == "grid":  # restored points are not proposed again
        done = {key(config) for tid, config, *_ in stored if tid != interrupted}
        assert not done & {key(s.config) for s in proposals if s.config is not None}
    if isinstance(sched, HyperbandScheduler):
        for tid, config, reports, status, bracket in stored:
            if tid == interrupted:
                continue
            assert sched.bracket(tid) == bracket
            for level, recorded in sched.rungs[bracket].items():
                losses = [sched.direction.loss(r.get("acc")) for r in reports
                          if r["epoch"] >= level]
                losses = [value for value in losses if value is not None]
                if losses:  # the first finite value at or past the level
                    assert recorded[tid] == losses[0]
                else:
                    assert tid not in recorded
    assert resume()[1] == proposals  # deterministic


# ============================================================================ threads
def slow(cls: type[Searcher]) -> type[Searcher]:
    """``cls`` whose ``_suggest`` waits for ``release`` once ``gate`` is set."""

    class Slow(cls):  # type: ignore[misc, valid-type]
        gate: tuple[threading.Event, threading.Event] | None = None
        inside = False

        def _suggest(self, trial_id):
            if self.gate is not None:
                entered, release = self.gate
                self.inside = True
                entered.set()
                assert release.wait(60)
                self.inside = False
            return super()._suggest(trial_id)

    Slow.__name__ = Slow.__qualname__ = f"Slow{cls.__name__}"
    return Slow


def warm_up(sched) -> None:
    """Five trials: three reach epoch 3 and end, two stay running (trials 3 and 4)."""
    for tid in range(5):
        assert sched.suggest(tid).config is not None
    for tid in range(3):
        for epoch in (1, 2, 3):
            sched.on_trial_result(tid, {"epoch": epoch, "acc": -loss(sched.configs[tid], epoch)})
        sched.on_trial_complete(tid, {"epoch": 3, "acc": -loss(sched.configs[tid], 3)})


def other_thread_calls(sched) -> list[Decision]:
    """What trial threads do while the controller waits for a proposal: trial 3 reports and
    completes, trial 4 fails."""
    result = {"epoch": 1, "acc": -loss(sched.configs[3], 1)}
    decision = sched.on_trial_result(3, result)
    sched.on_trial_complete(3, result)
    sched.on_trial_error(4)
    return [decision]


@every
@both
def test_observe_never_waits_for_a_proposal_in_another_thread(searcher, scheduler):
    cls = slow(searcher_class(searcher))
    sched = build(cls(space(), "acc", "max", 0, **SEARCHER_OPTIONS[searcher]), scheduler)
    slow_searcher = sched.searcher
    warm_up(sched)
    entered, release, told = threading.Event(), threading.Event(), threading.Event()
    slow_searcher.gate = (entered, release)
    proposal: list[Any] = []
    decisions: list[Decision] = []
    # the controller asks the searcher (outside any decision lock) in its own thread ...
    controller = threading.Thread(target=lambda: proposal.append(slow_searcher.suggest(5)))
    controller.start()
    try:
        assert entered.wait(60)
        # ... while trial threads report: they must not wait for it
        trial = threading.Thread(target=lambda: (decisions.extend(other_thread_calls(sched)),
                                                 told.set()))
        trial.start()
        assert told.wait(20), "an observation waited for a proposal in another thread"
        assert slow_searcher.inside and controller.is_alive()  # provably still proposing
        assert all(isinstance(d, Decision) for d in decisions)
        # queued, not applied yet: the proposal in progress sees a consistent state
        assert {3, 4} <= set(slow_searcher.pending) and slow_searcher._inbox
    finally:
        release.set()
        controller.join(60)
    assert not controller.is_alive()
    # applied as soon as the proposal was made, before the next one
    assert not slow_searcher._inbox and set(slow_searcher.pending) == {5}
    slow_searcher.gate = None
    sched.add_trial(5, proposal[0])
    following = sched.suggest(6)
    # the same calls in one thread, in the order they took effect, give the same proposals
    reference = build(searcher, scheduler)
    warm_up(reference)
    expected = reference.searcher.suggest(5)
    assert other_thread_calls(reference) == decisions
    reference.add_trial(5, expected)
    assert proposal == [expected]
    assert reference.suggest(6) == following


def test_many_threads_observing_while_one_suggests_lose_nothing():
    class Counting(searcher_class("random")):
        uses_progress = True  # so every report reaches the inbox

        def _observe(self, trial_id, config, result, final):
            self.observed = getattr(self, "observed", 0) + 1

    searcher = Counting(space(), "loss", "min", seed=0)
    config = searcher.suggest(0)
    start = threading.Barrier(5)

    def observe_many():
        start.wait()
        for _ in range(500):
            searcher.observe(0, config, {"loss": 1.0})

    threads = [threading.Thread(target=observe_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    for tid in range(1, 300):
        searcher.suggest(tid)
    for thread in threads:
        thread.join()
    assert searcher.observed == 2000 and not searcher._inbox


# ============================================================================ FIFO: results
def fifo_run(searcher: str, ending: dict[int, tuple[str, list[dict[str, Any]]]],
             trials: int = 9) -> list[tuple[Any, ...]]:
    """Proposals of a FIFO study on two workers in which trial ``t`` of ``ending`` reports
    ``ending[t][1]`` and then ends as ``ending[t][0]``; the other trials report their loss
    at epoch 1 and complete."""
    sched = build(searcher, "fifo", mode="min")
    proposals, running, finals = [], [], []
    for tid in range(trials):
        running.append(tid)
        proposals.append(key(sched.suggest(tid).config))
        if len(running) < 2:
            continue
        done = running.pop(0)
        how, reports = ending.get(done, ("complete", [{"loss": loss(sched.configs[done], 1)}]))
        if how == "worst":  # complete with the worst final loss so far
            how, reports = "complete", [{"loss": max(finals)}]
        for report in reports:
            sched.on_trial_result(done, report)
        if how == "complete":
            sched.on_trial_complete(done, reports[-1] if reports else None)
            if reports and isinstance(reports[-1].get("loss"), float):
                finals.append(reports[-1]["loss"])
        elif how == "error":
            sched.on_trial_error(done)
        else:
            sched.on_trial_remove(done)
    return proposals


@every
def test_what_failed_and_cancelled_trials_reported_teaches_nothing(searcher):
    # under FIFO every searcher learns from final results only: what a trial reported before
    # it failed or was cancelled must not change any later proposal
    misleading = [{"loss": -1e6}, {"loss": -1e9}]
    told = fifo_run(searcher, {2: ("error", misleading), 4: ("remove", misleading)})
    silent = fifo_run(searcher, {2: ("error", []), 4: ("remove", [])})
    assert told == silent


@every
def test_a_failed_trial_counts_as_the_worst_final_result_so_far(searcher):
    # a training that diverged or ran out of memory says its configuration is bad: every
    # searcher proposes as if it had ended with the worst final loss seen (SMAC's crash cost)
    failed = fifo_run(searcher, {2: ("error", []), 5: ("error", [])})
    worst = fifo_run(searcher, {2: ("worst", []), 5: ("worst", [])})
    assert failed == worst


@every
def test_non_finite_and_non_numeric_results_count_as_missing(searcher):
    bad = [math.inf, -math.inf, math.nan, True, "0.5", None]
    given = fifo_run(searcher, {t: ("complete", [{"loss": v}]) for t, v in enumerate(bad)})
    missing = fifo_run(searcher, {t: ("complete", [{}]) for t in range(len(bad))})
    assert given == missing


@pytest.mark.parametrize("mode", ["min", "minimize", "max", "MAXIMISE"])
def test_direction_is_read_once(mode):
    for name, options in SEARCHER_OPTIONS.items():
        searcher = make_searcher(name, space(), "m", mode, 0, **options)
        assert searcher.mode == searcher.direction.value == mode[:3].lower()
        sign = 1 if searcher.mode == "min" else -1
        assert searcher.loss({"m": 2}) == 2 * sign
        for value in (math.inf, math.nan, None, True, "2", [2]):
            assert searcher.loss({"m": value}) is None
        assert searcher.loss({}) is None
        assert searcher.level({"epoch": 3}) is None  # no resource before set_fidelity
    sched = build("random", "stopping", mode=mode[:3].lower())
    assert sched.searcher.level({"epoch": 3}) == 3.0
    assert sched.searcher.level({"epoch": math.inf}) is None


# ============================================================================ options
def test_options_tables_match_the_constructors():
    base = {"self", "space", "metric", "mode", "seed"}
    for name in SEARCHERS:
        cls = searcher_class(name)
        assert cls.name == name
        assert set(cls.OPTIONS) == set(inspect.signature(cls.__init__).parameters) - base
    for name, cls in SCHEDULERS.items():
        assert cls.name == name
        params = set(inspect.signature(cls.__init__).parameters)
        assert set(cls.OPTIONS) == params - {"self", "searcher", "metric", "mode", "resource"}


@pytest.mark.parametrize("searcher, options, message", [
    ("random", {"points": 3}, ("searcher 'random' does not take these options: points "
                              "(its options: debug_log)")),
    ("grid", {"acq_func": "LCB"}, ("does not take these options: acq_func (its options: "
                                  "points, shuffle, debug_log)")),
    ("grid", {"debug_log": "yes"}, "debug_log is 'yes', but must be True or False"),
    ("grid", {"points": 0}, "points is 0, but must be an integer >= 1"),
    ("grid", {"points": 1e12}, "points is 1000000000000.0, but must be an integer >= 1"),
    ("grid", {"points": 3.0}, "points is 3.0, but must be an integer"),
    ("grid", {"points": True}, "points is True, but must be an integer"),
    ("grid", {"shuffle": "yes"}, "shuffle is 'yes', but must be True or False"),
    ("skopt", {"base_estimator": "SVM"}, ("base_estimator is 'SVM', but must be one of GP, RF, "
                                         "ET, GBRT")),
    ("skopt", {"acq_func": "UCB"}, ("acq_func is 'UCB', but must be one of EI, LCB, PI, "
                                   "gp_hedge")),
    ("skopt", {"n_initial_points": 0}, "n_initial_points is 0, but must be an integer >= 1"),
    ("skopt", {"acq_optimizer": "adam"}, "acq_optimizer is 'adam'"),
    ("skopt", {"n_points": 5}, "n_points is 5, but must be an integer >= 10"),
    ("tpe", {"n_startup": 0}, "n_startup is 0, but must be an integer >= 1"),
    ("tpe", {"gamma": 1.0}, "gamma is 1.0, but must be a number in (0, 1)"),
    ("tpe", {"gamma": math.nan}, "gamma is nan, but must be a number in (0, 1)"),
    ("tpe", {"n_ei_candidates": "many"}, "n_ei_candidates is 'many'"),
    ("tpe", {"prior_weight": 0}, "prior_weight is 0, but must be a number in (0, inf)"),
    ("bayesopt", {"kernel": "rbf"}, ("kernel is 'rbf', but must be one of matern52, "
                                    "matern52-res-warp, exp-decay-sum")),
    ("bayesopt", {"num_init_random": 0}, "num_init_random is 0, but must be an integer >= 1"),
    ("bayesopt", {"opt_skip_period": 0}, "opt_skip_period is 0, but must be an integer >= 1"),
    ("bayesopt", {"opt_skip_period": 1.5}, "opt_skip_period is 1.5, but must be an integer"),
    ("bayesopt", {"num_candidates": 5}, "num_candidates is 5, but must be an integer >= 10"),
    ("bayesopt", {"debug_log": "yes"}, "debug_log is 'yes', but must be True or False"),
    ("bayesopt", {"batch_fraction": -0.1}, ("batch_fraction is -0.1, but must be a number in "
                                           "[0.0, 1.0]")),
    ("auto", {"batch_fraction": "all"}, "batch_fraction is 'all', but must be a number in"),
    ("bayesopt", {"kernal": "matern52"}, ("does not take these options: kernal (its options: "
                                         "kernel, ")),
    ("bayesopt", {"kernal": "matern52"}, ("debug_log, batch_fraction); did you mean kernel "
                                        "instead of kernal?")),
    ("tpe", {"n_startup_trials": 3}, "did you mean n_startup instead of n_startup_trials?"),
    ("bohb", {"min_points_in_model": 1}, ("min_points_in_model is 1, but must be an integer "
                                         ">= 2 (BOHB's default is the number of "
                                         "hyperparameters + 1 = 5)")),
    ("bohb", {"top_n_percent": 0}, "top_n_percent is 0"),
    ("bohb", {"top_n_percent": 100}, "top_n_percent is 100"),
    ("bohb", {"num_samples": 0}, "num_samples is 0"),
    ("bohb", {"random_fraction": 1.5}, "random_fraction is 1.5"),
    ("bohb", {"bandwidth_factor": 0}, "bandwidth_factor is 0"),
    ("bohb", {"bandwidth_factor": math.inf}, "bandwidth_factor is inf"),
    ("bohb", {"min_bandwidth": "small"}, "min_bandwidth is 'small'"),
    ("bohb", {"prior_weight": -1}, "prior_weight is -1"),
    ("bohb", {"controller_lr": 0.1}, "does not take these options: controller_lr"),
    ("rl", {"controller_batch_size": 0}, "controller_batch_size is 0"),
    ("rl", {"controller_batch_size": 2.5}, "controller_batch_size is 2.5"),
    ("rl", {"controller_lr": 0}, "controller_lr is 0"),
    ("rl", {"controller_lr": "fast"}, "controller_lr is 'fast'"),
    ("rl", {"num_bins": 1}, "num_bins is 1"),
    ("rl", {"ema_baseline_decay": 1.0}, "ema_baseline_decay is 1.0"),
])
def test_bad_searcher_options_are_clear_errors(searcher, options, message):
    with pytest.raises(ValueError) as info:
        make_searcher(searcher, space(), "loss", "min", 0, **options)
    assert message in str(info.value)


# ============================================================================ describe
def test_every_searcher_and_scheduler_describes_itself():
    for name in SEARCHERS:
        text = build(name, "fifo").searcher.describe()
        assert text.startswith("auto: bayesopt search" if name == "auto"
                               else f"{name} search") and "\n" not in text
    assert build("random", "fifo").describe() == "fifo"
    assert build("random", "stopping").describe() == \
        "hyperband (stopping, η=3, grace 1, max_t 9, 1 bracket)"
    assert build("random", "brackets2").describe() == \
        "hyperband (stopping, η=3, grace 1, max_t 9, 2 brackets)"


# ============================================================================ %%hpo
@dataclass(frozen=True)
class MagicRun:
    flags: str
    cell: str
    trials: int
    check: Callable[[Any, str], None] = lambda study, out: None


def _distinct(study, out):
    assert len({tuple(t.config.items()) for t in study.trials}) == len(study.trials)


def _skopt_used(study, out):
    searcher = study.scheduler.searcher
    assert (searcher.base_estimator, searcher.acq_func) == ("ET", "LCB")
    _distinct(study, out)


def _tpe_used(study, out):
    assert study.scheduler.searcher.n_startup == 5 and study.best_value < 0.1


def _bayesopt_multi_fidelity(study, out):
    searcher = study.scheduler.searcher
    assert searcher.kernel_name == "exp-decay-sum" and searcher.resource == "epoch"
    assert searcher._fits >= 1 and searcher._gp.kernel.kind == "exp-decay-sum"
    assert 0.0 <= study.best_config["x"] <= 1.0


def _bayesopt_debug_log(study, out):
    assert study.scheduler.searcher.opt_skip_period == 2
    assert study.best_value < 0.05
    assert "bayesopt:" in out


def _bohb_rungs(study, out):
    searcher = study.scheduler.searcher
    assert searcher.top_n_percent == 20 and set(searcher.observations) >= {1, 3}


def _rl_updates(study, out):
    assert study.scheduler.searcher.updates == 3


X_ACT = "x = Real(0, 1)\nact = Categorical('a', 'b')\nreport(loss=(x - 0.3) ** 2 + (act == 'b'))\n"
MAGIC_RUNS = {
    "random": MagicRun("--searcher random --trials 6",
                       "x = Real(0, 1)\nreport(loss=(x - 0.3) ** 2)\n", 6),
    "grid": MagicRun("--searcher grid --searcher-opt points=3 --searcher-opt shuffle=True",
                     X_ACT, 6, _distinct),
    "skopt": MagicRun("--searcher skopt --searcher-opt base_estimator=ET "
                      "--searcher-opt acq_func=LCB --searcher-opt n_initial_points=4 "
                      "--trials 8 --workers 2", X_ACT, 8, _skopt_used),
    "tpe": MagicRun("--searcher tpe --searcher-opt n_startup=5 --trials 20 --workers 2",
                    "x = Real(0, 1)\nunits = Int(8, 256, log=True)\n"
                    "report(loss=(x - 0.3) ** 2 + abs(units - 64) / 256)\n", 20, _tpe_used),
    "bayesopt": MagicRun("--searcher bayesopt --scheduler hyperband --trials 14 --workers 2 "
                         "--searcher-opt kernel=exp-decay-sum --searcher-opt num_init_random=4",
                         "x = Real(0, 1)\nepochs = 9\nfor epoch in range(1, epochs + 1):\n"
                         "    report(epoch=epoch, loss=(x - 0.3) ** 2 + 1 / epoch)\n", 14,
                         _bayesopt_multi_fidelity),
    "bayesopt-fifo": MagicRun("--searcher bayesopt --trials 10 --metric loss --mode min "
                              "--searcher-opt num_init_random=4 --searcher-opt debug_log=True "
                              "--searcher-opt opt_skip_period=2",
                              "x = Real(-1, 1)\nloss = (x - 0.5) ** 2\n", 10,
                              _bayesopt_debug_log),
    "bohb": MagicRun("--searcher bohb --scheduler hyperband --trials 30 "
                     "--searcher-opt top_n_percent=20",
                     "x = Real(0.01, 1.0, log=True)\nu = Int(1, 8)\nepochs = 9\n"
                     "for epoch in range(1, epochs + 1):\n"
                     "    report(epoch=epoch, loss=(x - 0.1) ** 2 + (u - 3) ** 2 / 64 "
                     "+ 1 / epoch)\n", 30, _bohb_rungs),
    "rl": MagicRun("--searcher rl --trials 12 --searcher-opt controller_batch_size=4",
                   "x = Real(0.0, 1.0)\nact = Categorical('a', 'b', 'c')\n"
                   "report(loss=(x - 0.3) ** 2 + (0.0 if act == 'b' else 0.5))\n", 12,
                   _rl_updates),
}


@pytest.mark.parametrize("name", list(MAGIC_RUNS))
def test_every_searcher_is_usable_from_the_magic(name, ipython_shell, capsys):
    run = MAGIC_RUNS[name]
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    ipython_shell.run_cell_magic("hpo", f"--quiet --seed 0 {run.flags}", run.cell)
    study = ipython_shell.user_ns["_hpo"]
    assert study.state == "finished" and len(study.trials) == run.trials
    assert study.scheduler.searcher.name == name.split("-")[0]
    run.check(study, capsys.readouterr().out)
