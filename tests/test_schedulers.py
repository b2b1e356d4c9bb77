"""Schedulers driven directly with hand-made reports and a simulated clock.

Every expectation about Hyperband comes with its arithmetic. The stopping rule (module
docstring of ``schedulers/_hyperband.py``): a value at a rung that has recorded ``n`` values
(its own included) continues when fewer than ``ceil(n / eta)`` of them are strictly better.
The promotion rule: a paused trial may be promoted when it is among the best
``floor(n / eta)`` of its rung; the highest rung is served first.
"""

import copy
import heapq
import math
import pickle

import pytest

from jupyter_hpo.schedulers import (
    AdaptiveScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    Scheduler,
    Suggestion,
    make_scheduler,
)
from jupyter_hpo.searchers import GridSearcher, RandomSearcher
from jupyter_hpo.space import Categorical, Real, Space
from jupyter_hpo.trial import Decision

C, S, P, D = Decision.CONTINUE, Decision.STOP, Decision.PAUSE, Decision.DONE


def space():
    return Space({"q": Real(0.05, 1.0), "cost": Real(0.5, 2.0)})


def hyperband(mode="max", seed=0, **options):
    options.setdefault("max_t", 10)
    return HyperbandScheduler(RandomSearcher(space(), "acc", mode, seed=seed), "acc", mode,
                              seed=seed, **options)


def start(scheduler, *trial_ids):
    for tid in trial_ids:
        suggestion = scheduler.suggest(tid)
        assert suggestion.config is not None and suggestion.resume_trial is None


def decide(scheduler, trial_id, epoch, value, metric="acc"):
    return scheduler.on_trial_result(trial_id, {"epoch": epoch, metric: value})


# ============================================================================ rung levels
@pytest.mark.parametrize("grace, eta, max_t, levels", [
    (1, 3, 10, [1, 3, 9]),            # 1, 1*3 = 3, 3*3 = 9; 9*3 = 27 > 10
    (1, 2, 16, [1, 2, 4, 8, 16]),     # powers of 2 up to 16; 16 <= 16 is kept
    (2, 3, 50, [2, 6, 18]),           # 2, 2*3 = 6, 6*3 = 18; 18*3 = 54 > 50
    (1, 3, 9, [1, 3, 9]),             # 9 = max_t is a rung
    (4, 4, 100, [4, 16, 64]),         # 4, 16, 64; 256 > 100
    (0.5, 2, 3, [0.5, 1.0, 2.0]),     # 0.5, 1, 2; 4 > 3
    (5, 3, 5, [5]),                   # grace_period = max_t: one rung, no halving
])
def test_rung_levels(grace, eta, max_t, levels):
    s = hyperband(grace_period=grace, reduction_factor=eta, max_t=max_t)
    assert s.rung_levels == levels
    assert s.bracket_levels(0) == levels


def test_brackets_drop_the_lowest_rungs_one_by_one_up_to_the_no_halving_bracket():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=16, brackets=5)
    # rungs below max_t: 1, 2, 4, 8 -> 4 halvings in bracket 0; bracket b starts at 2**b;
    # bracket 4 holds only max_t = 16 (Hyperband's s = 0: every trial runs to the end).
    assert [s.bracket_levels(b) for b in range(5)] == [
        [1, 2, 4, 8, 16], [2, 4, 8, 16], [4, 8, 16], [8, 16], [16]]


def test_brackets_when_max_t_is_not_a_rung():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10, brackets=4)
    # rungs 1, 3, 9 all < 10 -> 3 halvings; brackets 3, 2, 1, 0 halvings
    assert [s.bracket_levels(b) for b in range(4)] == [[1, 3, 9], [3, 9], [9], []]


def test_brackets_with_grace_period_two():
    s = hyperband(grace_period=2, reduction_factor=3, max_t=50, brackets=3)
    assert [s.bracket_levels(b) for b in range(3)] == [[2, 6, 18], [6, 18], [18]]


def test_bracket_count_is_limited_by_the_number_of_halvings():
    # (1, 2, 16): rungs below max_t 1, 2, 4, 8 -> at most 4 + 1 = 5 brackets
    hyperband(grace_period=1, reduction_factor=2, max_t=16, brackets=5)
    with pytest.raises(ValueError, match=r"at most 5 bracket\(s\)"):
        hyperband(grace_period=1, reduction_factor=2, max_t=16, brackets=6)
    # (1, 3, 10): rungs below max_t 1, 3, 9 -> at most 3 + 1 = 4
    with pytest.raises(ValueError, match=r"brackets is 5, .* at most 4 bracket\(s\)"):
        hyperband(grace_period=1, reduction_factor=3, max_t=10, brackets=5)
    # (1, 3, 9): rungs below max_t 1, 3 -> at most 2 + 1 = 3
    hyperband(grace_period=1, reduction_factor=3, max_t=9, brackets=3)
    with pytest.raises(ValueError, match=r"at most 3 bracket\(s\)"):
        hyperband(grace_period=1, reduction_factor=3, max_t=9, brackets=4)
    # (5, 3, 5): no rung below max_t -> exactly 1
    with pytest.raises(ValueError, match=r"at most 1 bracket\(s\)"):
        hyperband(grace_period=5, reduction_factor=3, max_t=5, brackets=2)


def test_brackets_are_sampled_with_hyperbands_shares():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10, brackets=4, seed=0)
    n = 4000
    for tid in range(n):
        s.suggest(tid)
    # bracket b has s = 3 - b halvings and weight 3**s / (s + 1):
    # 27/4 = 6.75, 9/3 = 3, 3/2 = 1.5, 1/1 = 1; total 12.25
    expected = [6.75 / 12.25, 3 / 12.25, 1.5 / 12.25, 1 / 12.25]  # .551 .245 .122 .082
    shares = [sum(b == k for b in s.bracket_of.values()) / n for k in range(4)]
    for share, want in zip(shares, expected):
        assert abs(share - want) < 0.03, (shares, expected)  # ~ 4 standard errors


def test_one_bracket_puts_every_trial_in_bracket_zero():
    s = hyperband(max_t=27)
    start(s, *range(20))
    assert set(s.bracket_of.values()) == {0}


# ============================================================================ stopping variant
def test_stopping_rung_one_asynchronous_arrivals_mode_max():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10)   # rungs 1, 3, 9
    start(s, *range(9))
    expected = [
        (0, 0.5, C),   # n=1, ceil(1/3)=1, better: none (0)          -> 0 < 1
        (1, 0.9, C),   # n=2, ceil(2/3)=1, better: none (0)          -> 0 < 1
        (2, 0.1, S),   # n=3, ceil(3/3)=1, better: .5 .9 (2)         -> 2 >= 1
        (3, 0.7, C),   # n=4, ceil(4/3)=2, better: .9 (1)            -> 1 < 2
        (4, 0.6, S),   # n=5, ceil(5/3)=2, better: .9 .7 (2)         -> 2 >= 2
        (5, 0.95, C),  # n=6, ceil(6/3)=2, better: none (0)
        (6, 0.8, C),   # n=7, ceil(7/3)=3, better: .9 .95 (2)        -> 2 < 3
        (7, 0.3, S),   # n=8, ceil(8/3)=3, better: .5 .9 .7 .6 .95 .8 (6)
        (8, 0.9, C),   # n=9, ceil(9/3)=3, better: .95 only (the other .9 is a tie) -> 1 < 3
    ]
    for tid, value, want in expected:
        assert decide(s, tid, 1, value) is want, (tid, value)


def test_stopping_rung_one_asynchronous_arrivals_mode_min():
    s = hyperband(mode="min", grace_period=1, reduction_factor=3, max_t=10)
    start(s, *range(8))
    expected = [
        (0, 0.5, C),   # n=1, ceil=1, lower: none
        (1, 0.2, C),   # n=2, ceil=1, lower: none
        (2, 0.8, S),   # n=3, ceil=1, lower: .5 .2 (2)
        (3, 0.1, C),   # n=4, ceil=2, lower: none
        (4, 0.3, S),   # n=5, ceil=2, lower: .2 .1 (2)
        (5, 0.25, S),  # n=6, ceil=2, lower: .2 .1 (2)
        (6, 0.15, C),  # n=7, ceil=3, lower: .1 (1)
        (7, 0.5, S),   # n=8, ceil=3, lower: .2 .1 .3 .25 .15 (5); the earlier .5 is a tie
    ]
    for tid, value, want in expected:
        assert decide(s, tid, 1, value) is want, (tid, value)


def test_stopping_interleaved_trials_across_rungs_and_between_rungs():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10)   # rungs 1, 3, 9
    start(s, 0, 1, 2, 3)
    assert decide(s, 0, 1, 0.5) is C     # rung 1: n=1
    assert decide(s, 1, 1, 0.9) is C     # rung 1: n=2, ceil=1, better 0
    assert decide(s, 0, 2, 0.55) is C    # epoch 2 is no rung
    assert decide(s, 2, 1, 0.6) is S     # rung 1: n=3, ceil=1, better .9 (1)
    assert decide(s, 0, 3, 0.6) is C     # rung 3: n=1
    assert decide(s, 1, 2, 0.1) is C     # epoch 2 is no rung, however bad the value
    assert decide(s, 3, 1, 0.7) is C     # rung 1: n=4, ceil=2, better .9 (1)
    assert decide(s, 1, 3, 0.92) is C    # rung 3: n=2, ceil=1, better 0
    assert decide(s, 3, 2, 0.71) is C    # between rungs
    assert decide(s, 3, 3, 0.75) is S    # rung 3: n=3, ceil=1, better .92 (1)
    for epoch in (4, 5, 6, 7, 8):        # between rungs 3 and 9
        assert decide(s, 0, epoch, 0.0) is C
    assert decide(s, 1, 9, 0.99) is C    # rung 9: n=1
    assert decide(s, 0, 9, 0.6) is S     # rung 9: n=2, ceil=1, better .99 (1); 9 < max_t
    # rungs record losses: the accuracies negated (mode max)
    assert s.rungs[0] == {1: {0: -0.5, 1: -0.9, 2: -0.6, 3: -0.7},
                          3: {0: -0.6, 1: -0.92, 3: -0.75},
                          9: {1: -0.99, 0: -0.6}}


def test_no_cut_is_made_at_max_t():
    # Same reports with max_t = 10 (rung 9 < max_t: a decision) and max_t = 9 (rung 9 is
    # the end: every trial that gets there is done, however it ranks).
    outcomes = {}
    for max_t in (10, 9):
        s = hyperband(grace_period=1, reduction_factor=3, max_t=max_t)
        start(s, 0, 1)
        for epoch in (1, 3):                   # rung n=1 then n=2 with ceil(2/3)=1, better 0
            assert decide(s, 0, epoch, 0.5) is C
            assert decide(s, 1, epoch, 0.6) is C
        assert decide(s, 1, 9, 0.9) is (C if max_t == 10 else D)  # rung 9: n=1
        outcomes[max_t] = decide(s, 0, 9, 0.1)  # rung 9: n=2, ceil=1, better .9 (1)
    assert outcomes == {10: S, 9: D}
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10)
    start(s, 0, 1, 2)
    for tid, value in enumerate((0.9, 0.8)):
        decide(s, tid, 1, value)
    # trial 2 skips straight to max_t = 10 with the worst value: it is recorded at rungs
    # 1, 3, 9 and stopped because rung 1 (n=3, ceil=1, better .9 .8) has it in the bottom
    assert decide(s, 2, 10, 0.0) is S
    assert {lv: 2 in recorded for lv, recorded in s.rungs[0].items()} == {1: True, 3: True,
                                                                          9: True}


def test_report_past_several_rungs_is_recorded_at_each_of_them():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=27)   # rungs 1, 3, 9, 27
    start(s, 0, 1)
    assert decide(s, 0, 4, 0.7) is C           # records at rungs 1 and 3 (n=1 each)
    assert decide(s, 1, 3, 0.8) is C           # rungs 1 and 3: n=2, ceil=1, better 0
    assert s.rungs[0][1] == {0: -0.7, 1: -0.8}  # losses: mode max negates
    assert s.rungs[0][3] == {0: -0.7, 1: -0.8}
    assert s.rungs[0][9] == {}
    assert decide(s, 0, 4, 0.1) is C           # already recorded at rungs 1 and 3
    assert s.rungs[0][1][0] == -0.7


def test_reports_without_metric_or_resource_or_from_unknown_trials_continue():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10)
    start(s, 0, 1, 2)
    decide(s, 0, 1, 0.9)
    decide(s, 1, 1, 0.8)
    # a third value at rung 1 below the other two would be stopped (n=3, ceil=1, better 2)
    assert s.on_trial_result(2, {"epoch": 1, "loss": 0.0}) is C          # no metric
    assert s.on_trial_result(2, {"acc": 0.0}) is C                        # no resource
    assert s.on_trial_result(2, {"epoch": 1, "acc": float("nan")}) is C   # NaN
    assert s.on_trial_result(2, {"epoch": 1, "acc": "n/a"}) is C          # not a number
    assert s.on_trial_result(99, {"epoch": 1, "acc": 0.0}) is C           # never suggested
    assert s.rungs[0][1] == {0: -0.9, 1: -0.8}
    assert decide(s, 2, 1, 0.0) is S


def test_brackets_keep_separate_rungs():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=9, brackets=2, seed=3)
    # bracket 0: rungs 1, 3 (decisions), bracket 1: rung 3 only
    tid = 0
    while list(s.bracket_of.values()).count(0) < 3 or 1 not in s.bracket_of.values():
        s.suggest(tid)
        tid += 1
    first = [t for t, b in s.bracket_of.items() if b == 0][:3]
    second = [t for t, b in s.bracket_of.items() if b == 1][:1]
    a, b, c = first
    (d,) = second
    assert decide(s, d, 1, 0.0) is C           # bracket 1 has no rung at 1
    for t, value in ((a, 0.8), (b, 0.9)):      # rungs 1 and 3: n=1, then n=2 with better 0
        assert decide(s, t, 1, value) is C
        assert decide(s, t, 3, value) is C
    assert decide(s, c, 1, 0.5) is S           # bracket 0 rung 1: n=3, ceil=1, better 2
    # in bracket 1, rung 3 has seen only this value: n=1, kept although .9 and .8 are better
    # (in bracket 0's rung 3 it would be n=3, ceil=1, better 2: stopped)
    assert decide(s, d, 3, 0.1) is C
    assert s.rungs[1] == {3: {d: -0.1}, 9: {}}


def test_stopping_variant_never_pauses():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=8)
    start(s, *range(6))
    decisions = [decide(s, tid, epoch, 0.1 * tid + 0.01 * epoch)
                 for epoch in (1, 2, 4, 8) for tid in range(6)]
    assert P not in decisions
    assert s.paused_trials() == []


# ============================================================================ promotion variant
def test_promotion_pauses_at_rungs_and_promotes_the_best_of_the_highest_rung_first():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10, type="promotion")
    start(s, 0, 1, 2)
    assert decide(s, 0, 1, 0.5) is P
    # rung 1: n=1, floor(1/3)=0 promotions -> a new trial
    assert s.suggest(3) == Suggestion.start(s.configs[3])
    assert decide(s, 1, 1, 0.9) is P
    assert s.suggest(4).config is not None          # n=2, floor(2/3)=0
    assert decide(s, 2, 1, 0.1) is P
    assert s.paused_trials() == [0, 1, 2]
    # n=3, floor(3/3)=1: the best one, trial 1 (.9), is promoted
    assert s.suggest(5) == Suggestion.resume(1)
    assert s.paused_trials() == [0, 2]
    # still floor(3/3)=1 and trial 1 is already promoted: a new trial
    assert s.suggest(5).config is not None
    assert decide(s, 3, 1, 0.7) is P                # n=4, floor=1, top [1]
    assert s.suggest(6).config is not None
    assert decide(s, 1, 2, 0.91) is C               # between rungs
    assert decide(s, 1, 3, 0.93) is P               # rung 3: n=1, floor 0
    assert decide(s, 4, 1, 0.8) is P                # rung 1: n=5, floor 1, top [1]
    assert s.suggest(7).config is not None
    assert decide(s, 5, 1, 0.6) is P                # n=6, floor 2, top [1 (.9), 4 (.8)]
    assert decide(s, 6, 1, 0.95) is P               # n=7, floor 2, top [6 (.95), 1 (.9)]
    # trial 4 was promotable a moment ago; now 6 pushed it out of the top 2
    assert s.suggest(8) == Suggestion.resume(6)
    assert s.suggest(8).config is not None          # top 2 are 6 and 1, both promoted
    assert decide(s, 6, 3, 0.96) is P               # rung 3: n=2 {1: .93, 6: .96}, floor 0
    assert decide(s, 7, 1, 0.2) is P                # rung 1: n=8, floor 2
    assert s.suggest(9).config is not None
    assert decide(s, 8, 1, 0.3) is P                # n=9, floor 3: top [6, 1, 4 (.8)]
    assert s.suggest(10) == Suggestion.resume(4)
    assert decide(s, 4, 3, 0.85) is P               # rung 3: n=3, floor 1, top [6 (.96)]
    assert decide(s, 9, 1, 0.99) is P               # rung 1: n=10, floor 3: top [9, 6, 1]
    # trial 6 (rung 3) and trial 9 (rung 1) can both be promoted: the higher rung first
    assert s.suggest(10) == Suggestion.resume(6)
    assert s.suggest(10) == Suggestion.resume(9)
    assert s.suggest(10).config is not None
    assert sorted(s.paused_trials()) == [0, 1, 2, 3, 4, 5, 7, 8]
    # with the budget used up and nothing promotable, there is nothing to run
    assert s.suggest(11, can_start_new=False) is None


def test_promotion_mode_min_promotes_the_lowest_loss():
    s = hyperband(mode="min", grace_period=1, reduction_factor=2, max_t=4, type="promotion")
    start(s, 0, 1)
    assert decide(s, 0, 1, 0.4) is P
    assert decide(s, 1, 1, 0.3) is P
    # rung 1: n=2, floor(2/2)=1: the lowest loss, trial 1 (.3)
    assert s.suggest(2) == Suggestion.resume(1)


def test_promotion_ends_at_max_t_when_it_is_not_a_rung():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=3, type="promotion")  # rungs 1, 2
    start(s, 0, 1)
    assert decide(s, 0, 1, 0.9) is P
    assert decide(s, 1, 1, 0.5) is P
    assert s.suggest(2) == Suggestion.resume(0)     # rung 1: n=2, floor(2/2)=1 -> [0]
    assert decide(s, 0, 2, 0.9) is P                # rung 2: n=1, floor 0
    start(s, 2)
    assert decide(s, 2, 1, 0.95) is P               # rung 1: n=3, floor 1 -> [2]
    assert s.suggest(3) == Suggestion.resume(2)
    assert decide(s, 2, 2, 0.95) is P               # rung 2: n=2, floor 1 -> [2]
    assert s.suggest(3) == Suggestion.resume(2)
    # rung 2 is the last below max_t = 3: trial 2 runs to the end without pausing again
    assert decide(s, 2, 3, 0.96) is D
    assert s.paused_trials() == [1, 0]
    s.on_trial_complete(2, {"epoch": 3, "acc": 0.96})
    assert s.suggest(3, can_start_new=False) is None


def test_promotion_ends_at_max_t_when_it_is_a_rung():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=2, type="promotion")  # rungs 1, 2
    start(s, 0, 1)
    decide(s, 0, 1, 0.9)
    decide(s, 1, 1, 0.5)
    assert s.suggest(2) == Suggestion.resume(0)     # n=2, floor(2/2)=1
    assert decide(s, 0, 2, 0.9) is D                # rung 2 = max_t: no pause, done


def test_promotion_bracket_without_rungs_runs_straight_through():
    # (1, 3, 10) with 4 brackets: bracket 3 has no rung below max_t (Hyperband's s = 0)
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10, brackets=4,
                  type="promotion", seed=1)
    tid = 0
    while 3 not in s.bracket_of.values():
        s.suggest(tid)
        tid += 1
    (last,) = [t for t, b in s.bracket_of.items() if b == 3][:1]
    assert [decide(s, last, epoch, 0.5) for epoch in range(1, 11)] == [C] * 9 + [D]


def test_finished_failed_and_removed_trials_leave_the_paused_list():
    s = hyperband(grace_period=1, reduction_factor=3, max_t=10, type="promotion")
    start(s, 0, 1, 2, 3)
    for tid, value in enumerate((0.9, 0.5, 0.4, 0.3)):
        assert decide(s, tid, 1, value) is P
    assert s.paused_trials() == [0, 1, 2, 3]
    s.on_trial_remove(0)             # the best one, cancelled by the user
    s.on_trial_error(2)
    s.on_trial_complete(3, {"epoch": 1, "acc": 0.3})
    assert s.paused_trials() == [1]
    # rung 1: n=4 (values stay recorded), floor(4/3)=1 -> top [0], which is gone, so nothing
    # is promoted: a new trial, or nothing when the budget is used up
    assert s.suggest(4, can_start_new=False) is None
    assert s.suggest(4).config is not None
    assert set(s.searcher.pending) == {1, 4}


def test_promotion_ignores_the_budget():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=4, type="promotion")
    start(s, 0, 1)
    decide(s, 0, 1, 0.2)
    decide(s, 1, 1, 0.6)
    assert s.suggest(2, can_start_new=False) == Suggestion.resume(1)   # floor(2/2)=1


# ============================================================================ validation
@pytest.mark.parametrize("options, message", [
    ({"max_t": None}, "Hyperband needs max_t"),
    ({"type": "async"}, "type is 'async', but must be one of stopping, promotion"),
    ({"max_t": 0}, "max_t is 0, but must be > 0"),
    ({"max_t": -5}, "max_t is -5, but must be > 0"),
    ({"grace_period": 0}, "grace_period is 0, but must be > 0"),
    ({"grace_period": 11, "max_t": 10}, "grace_period is 11, but must be <= max_t (10)"),
    ({"reduction_factor": 1}, "reduction_factor is 1, but must be >= 2"),
    ({"reduction_factor": 1.5}, "reduction_factor is 1.5, but must be >= 2"),
    ({"brackets": 0}, "brackets is 0"),
    ({"brackets": -1}, "brackets is -1"),
])
def test_hyperband_rejects_bad_options(options, message):
    with pytest.raises(ValueError) as info:
        hyperband(**options)
    assert message in str(info.value)


@pytest.mark.parametrize("options, message", [
    ({"max_t": math.inf}, "max_t is inf, but must be a finite number > 0"),
    ({"max_t": math.nan}, "max_t is nan, but must be a finite number > 0"),
    ({"max_t": "9"}, "max_t is '9', but must be a finite number > 0"),
    ({"max_t": True}, "max_t is True, but must be a finite number > 0"),
    ({"grace_period": math.inf}, "grace_period is inf, but must be a finite number > 0"),
    ({"grace_period": False}, "grace_period is False, but must be a finite number > 0"),
    ({"reduction_factor": math.inf}, ("reduction_factor is inf, but must be a finite number "
                                     ">= 2")),
    ({"reduction_factor": math.nan}, "reduction_factor is nan, but must be a finite number"),
    ({"reduction_factor": "3"}, "reduction_factor is '3', but must be a finite number >= 2"),
    ({"brackets": 1.5}, "brackets is 1.5, but must be an integer >= 1"),
    ({"brackets": True}, "brackets is True, but must be an integer >= 1"),
    ({"brackets": "2"}, "brackets is '2', but must be an integer >= 1"),
    ({"type": 3}, "type is 3, but must be one of stopping, promotion"),
    ({"seed": -1}, "seed is -1, but must be an integer >= 0"),
    ({"seed": 1.5}, "seed is 1.5, but must be an integer >= 0"),
    # 1e-30 * 2**k <= 1e6 for k = 0..119: 120 rung levels
    ({"grace_period": 1e-30, "reduction_factor": 2, "max_t": 1e6},
     ("give 120 rung levels (grace_period * reduction_factor**k <= max_t), but at most 100 "
     "are allowed")),
    # max_t / grace_period overflows a float; the count is taken with logarithms
    ({"grace_period": 1e-300, "max_t": 1e300}, "give 1258 rung levels"),
])
def test_hyperband_rejects_non_finite_and_unbounded_settings_at_once(options, message):
    searcher = RandomSearcher(space(), "acc", "max", seed=0)
    with pytest.raises(ValueError) as info:
        HyperbandScheduler(searcher, "acc", "max", **{"max_t": 10, **options})
    assert message in str(info.value)


def test_hyperband_accepts_a_hundred_rungs():
    s = hyperband(grace_period=1, reduction_factor=2, max_t=2.0 ** 99)
    assert len(s.rung_levels) == 100 and s.rung_levels[-1] == 2.0 ** 99


def test_schedulers_reject_an_unknown_mode():
    searcher = RandomSearcher(space(), "acc", "max")
    with pytest.raises(ValueError, match="mode is 'maximum'"):
        FIFOScheduler(searcher, "acc", "maximum")
    with pytest.raises(ValueError, match="mode is 'up'"):
        HyperbandScheduler(searcher, "acc", "up", max_t=10)


def test_make_scheduler_builds_by_name():
    searcher = RandomSearcher(space(), "loss", "min")
    fifo = make_scheduler("fifo", searcher, "loss", "min", seed=1)
    assert type(fifo) is FIFOScheduler and fifo.searcher is searcher
    with pytest.raises(ValueError, match="max_t only applies to the auto and hyperband "
                                         "schedulers"):
        make_scheduler("fifo", searcher, "loss", "min", max_t=10)
    hb = make_scheduler("hyperband", searcher, "loss", "min", resource="step", max_t=50,
                        grace_period=2, reduction_factor=3, brackets=3, type="promotion",
                        seed=4)
    assert isinstance(hb, HyperbandScheduler)
    assert (hb.resource, hb.mode, hb.type, hb.num_brackets) == ("step", "min", "promotion", 3)
    assert hb.rung_levels == [2, 6, 18]
    # options given as None fall back to the defaults (grace 1, eta 3, 1 bracket, stopping)
    default = make_scheduler("hyperband", searcher, "loss", "min", max_t=10, grace_period=None,
                             reduction_factor=None, brackets=None, type=None, seed=None)
    assert (default.rung_levels, default.num_brackets, default.type) == ([1, 3, 9], 1,
                                                                         "stopping")
    assert make_scheduler(hb, searcher, "loss", "min") is hb


def test_each_scheduler_declares_its_options():
    assert FIFOScheduler.OPTIONS == ("seed",)
    assert HyperbandScheduler.OPTIONS == ("max_t", "grace_period", "reduction_factor",
                                          "brackets", "type", "seed")
    assert AdaptiveScheduler.OPTIONS == ("max_t", "grace_period", "reduction_factor", "seed",
                                         "min_pairs", "full_fraction", "rho_low", "rho_high",
                                         "unmeasured_keep", "prior_pairs", "extrapolate",
                                         "curve_model")
    assert (FIFOScheduler.needs_resource, HyperbandScheduler.needs_resource,
            AdaptiveScheduler.needs_resource) == (False, True, False)
    searcher = RandomSearcher(space(), "acc", "max")
    with pytest.raises(ValueError, match="grace_period only applies to the auto and "
                                         "hyperband schedulers"):
        make_scheduler("fifo", searcher, "acc", "max", grace_period=2)
    with pytest.raises(ValueError) as info:
        make_scheduler("fifo", searcher, "acc", "max", grace_period=2, patience=3)
    assert str(info.value) == ("grace_period only applies to the auto and hyperband "
                               "schedulers; the fifo scheduler does not take patience (its "
                               "options: seed)")
    with pytest.raises(ValueError, match=r"the hyperband scheduler does not take patience \(its "
                                         r"options: max_t, grace_period, reduction_factor, "
                                         r"brackets, type, seed\)"):
        make_scheduler("hyperband", searcher, "acc", "max", max_t=9, patience=3)
    with pytest.raises(ValueError, match=r"\(its options: max_t, grace_period, .*\); did you "
                                         r"mean grace_period instead of grace, reduction_factor "
                                         r"instead of reduction_factr\?$"):
        make_scheduler("hyperband", searcher, "acc", "max", max_t=9, grace=2, reduction_factr=2)


@pytest.mark.parametrize(("kind", "option"), [
    ("scheduler", "resource"), ("scheduler", "metric"), ("scheduler", "mode"),
    ("scheduler", "searcher"), ("searcher", "seed"), ("searcher", "metric")])
def test_a_study_option_among_the_components_options_says_where_it_goes(kind, option):
    from jupyter_hpo import tune

    options = {"max_t": 3, option: "step"} if kind == "scheduler" else {option: 3}
    with pytest.raises(ValueError, match=rf"does not take {'these options: ' * (kind == 'searcher')}"
                                         rf"{option} \(its options: .*\); {option} is set for "
                                         rf"the whole study, not here: tune\({option}=\.\.\.\), "
                                         rf"%%hpo --{option}$"):
        tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
             trials=2, scheduler="hyperband", searcher="random", **{f"{kind}_options": options})


def test_describe_gives_a_one_line_header():
    assert FIFOScheduler(RandomSearcher(space(), "acc", "max"), "acc", "max").describe() \
        == "fifo"
    assert hyperband(max_t=27).describe() == \
        "hyperband (stopping, η=3, grace 1, max_t 27, 1 bracket)"
    assert hyperband(max_t=81, grace_period=3, reduction_factor=2.5, brackets=3,
                     type="promotion").describe() == \
        "hyperband (promotion, η=2.5, grace 3, max_t 81, 3 brackets)"


@pytest.mark.parametrize("kind", ["stopping", "promotion"])
def test_the_parts_of_suggest_called_one_by_one_give_the_same_run(kind):
    """What a controller does: ``promote`` and ``add_trial`` under its lock, the searcher's
    ``suggest`` outside it; the same as the synchronous ``suggest``."""

    class Parts:
        def __init__(self, scheduler):
            self.scheduler = scheduler

        def __getattr__(self, name):
            return getattr(self.scheduler, name)

        def suggest(self, trial_id, can_start_new=True):
            resume = self.scheduler.promote()
            if resume is not None:
                return Suggestion.resume(resume)
            if not can_start_new:
                return None
            config = self.scheduler.searcher.suggest(trial_id)
            if config is None:
                return None
            self.scheduler.add_trial(trial_id, config)
            return Suggestion.start(config)

    whole = simulation(kind, seed=4).run()
    parts = simulation(kind, seed=4)
    parts.scheduler = Parts(parts.scheduler)
    parts.run()
    assert parts.log == whole.log
    assert any(entry[0] == "resume" for entry in whole.log) == (kind == "promotion")


def test_make_scheduler_errors():
    searcher = RandomSearcher(space(), "acc", "max")
    with pytest.raises(ValueError, match=r"scheduler is 'asha', but must be one of "
                                         r"\['auto', 'fifo', 'hyperband'\]"):
        make_scheduler("asha", searcher, "acc", "max")
    with pytest.raises(ValueError, match="brackets only applies to the hyperband scheduler; "
                                         "grace_period only applies to the auto and "
                                         "hyperband schedulers"):
        make_scheduler("fifo", searcher, "acc", "max", grace_period=2, brackets=2)
    with pytest.raises(ValueError, match=r"Hyperband needs max_t, the largest resource a trial "
                                         r"reaches: write `epochs = N` in the cell or pass "
                                         r"--max-t N \(with tune\(\): \{'epochs': N\} in "
                                         r"the space, a fixed value, or "
                                         r"scheduler_options=\{'max_t': N\}\)"):
        make_scheduler("hyperband", searcher, "acc", "max", max_t=None)
    with pytest.raises(ValueError, match="reduction_factor is 1"):
        make_scheduler("hyperband", searcher, "acc", "max", max_t=9, reduction_factor=1)


# ============================================================================ FIFO
class RecordingSearcher(RandomSearcher):
    """A real random searcher that also keeps what it was told (every report: it says it
    learns from progress, as bayesopt and bohb do)."""

    uses_progress = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def observe(self, trial_id, config, result, final=False):
        self.seen.append((trial_id, result, final))
        super().observe(trial_id, config, result, final)


def test_fifo_always_continues():
    s = FIFOScheduler(RandomSearcher(space(), "acc", "max", seed=0), "acc", "max")
    start(s, *range(5))
    decisions = [s.on_trial_result(tid, {"epoch": e, "acc": v})
                 for tid in range(5) for e, v in ((1, 0.9 - tid), (2, -1e9), (3, float("nan")))]
    decisions.append(s.on_trial_result(4, {"something": "else"}))
    assert decisions == [C] * 16
    assert s.paused_trials() == []


def test_fifo_suggests_until_the_budget_is_used():
    s = FIFOScheduler(RandomSearcher(space(), "acc", "max", seed=0), "acc", "max")
    budget = 7
    suggestions = []
    for tid in range(20):
        suggestion = s.suggest(tid, can_start_new=tid < budget)
        if suggestion is None:
            break
        suggestions.append(suggestion)
    assert len(suggestions) == budget
    assert all(x.resume_trial is None for x in suggestions)
    assert [x.config for x in suggestions] == [s.configs[t] for t in range(budget)]
    assert len({x.config["q"] for x in suggestions}) == budget


def test_fifo_stops_suggesting_when_the_grid_is_exhausted():
    grid = GridSearcher(Space({"a": Categorical(1, 2, 3)}), "acc", "max")
    s = FIFOScheduler(grid, "acc", "max")
    assert [s.suggest(t).config for t in range(3)] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert s.suggest(3) is None


def test_fifo_forwards_reports_and_endings_to_the_searcher():
    searcher = RecordingSearcher(space(), "acc", "max", seed=0)
    s = FIFOScheduler(searcher, "acc", "max")
    start(s, 0, 1, 2)
    s.on_trial_result(0, {"epoch": 1, "acc": 0.5})
    s.on_trial_complete(0, {"epoch": 2, "acc": 0.6})
    s.on_trial_error(1)
    s.on_trial_complete(2, None)
    assert searcher.seen == [(0, {"epoch": 1, "acc": 0.5}, False),
                             (0, {"epoch": 2, "acc": 0.6}, True), (2, {}, True)]
    assert searcher.pending == {}


def test_hyperband_forwards_reports_to_the_searcher():
    searcher = RecordingSearcher(space(), "acc", "max", seed=0)
    s = HyperbandScheduler(searcher, "acc", "max", max_t=9)
    start(s, 0)
    s.on_trial_result(0, {"epoch": 1, "acc": 0.5})
    s.on_trial_remove(0)
    assert searcher.seen == [(0, {"epoch": 1, "acc": 0.5}, False)]
    assert searcher.pending == {}


def test_searchers_that_ignore_progress_are_not_sent_every_report():
    searcher = RandomSearcher(space(), "acc", "max", seed=0)
    told = []
    searcher._post = lambda *args: told.append(args)  # what reaches the inbox
    s = HyperbandScheduler(searcher, "acc", "max", max_t=9)
    start(s, 0)
    s.on_trial_result(0, {"epoch": 1, "acc": 0.5})
    assert told == []  # the report path skips a searcher that only learns from final results
    s.on_trial_complete(0, {"epoch": 9, "acc": 0.7})
    assert [t[0].__name__ for t in told] == ["_apply_observe"]  # the inbox queues the method


def test_scheduler_is_abstract():
    with pytest.raises(TypeError):
        Scheduler(RandomSearcher(space(), "acc", "max"), "acc", "max")


# ============================================================================ simulated clock
def curve(config, epoch, mode):
    """A family where a larger q is better at every epoch: 1 - 1.8**-(epoch * q)."""
    value = 1 - 1.8 ** -(epoch * config["q"])
    return value if mode == "max" else 1 - value


class Simulation:
    """``workers`` slots and a clock; one epoch of a trial takes ``config["cost"]`` units.

    Reports arrive in time order (ties by trial id), so trials report asynchronously and
    interleave. The log records every suggestion and decision.
    """

    def __init__(self, scheduler, trials, workers, max_t):
        self.scheduler, self.budget, self.workers, self.max_t = scheduler, trials, workers, max_t
        self.now, self.queue, self.running, self.next_id = 0.0, [], 0, 0
        self.configs, self.epochs, self.status, self.log = {}, {}, {}, []
        self.best = {}

    def _schedule(self, tid):
        self.epochs[tid] += 1
        heapq.heappush(self.queue, (self.now + self.configs[tid]["cost"], tid, self.epochs[tid]))

    def fill(self):
        while self.running < self.workers:
            suggestion = self.scheduler.suggest(self.next_id, self.next_id < self.budget)
            if suggestion is None:
                break
            if suggestion.resume_trial is not None:
                tid = suggestion.resume_trial
                self.status[tid] = "running"
                self.log.append(("resume", tid))
            else:
                tid = self.next_id
                self.next_id += 1
                self.configs[tid], self.epochs[tid] = suggestion.config, 0
                self.status[tid] = "running"
                self.log.append(("start", tid, tuple(sorted(suggestion.config.items()))))
            self.running += 1
            self._schedule(tid)
        if self.running == 0:
            for tid in self.scheduler.paused_trials():   # nothing can promote them any more
                self.scheduler.on_trial_complete(tid, None)
                self.status[tid] = "stopped"

    def step(self):
        self.now, tid, epoch = heapq.heappop(self.queue)
        result = {"epoch": epoch, "acc": curve(self.configs[tid], epoch, self.scheduler.mode)}
        self.best[tid] = result["acc"]  # the curves improve monotonically
        decision = self.scheduler.on_trial_result(tid, result)
        self.log.append(("report", tid, epoch, decision))
        if decision is S or epoch >= self.max_t:
            self.status[tid] = "stopped" if decision is S else "completed"
            self.scheduler.on_trial_complete(tid, result)
            self.running -= 1
        elif decision is P:
            self.status[tid] = "paused"
            self.running -= 1
        else:
            self._schedule(tid)
        self.fill()

    def run(self, steps=None):
        if self.now == 0.0 and not self.log:
            self.fill()
        while self.queue and (steps is None or steps > 0):
            self.step()
            steps = None if steps is None else steps - 1
        return self


def simulation(kind="stopping", seed=0, mode="max", trials=30, workers=4, max_t=9,
               brackets=2):
    searcher = RandomSearcher(space(), "acc", mode, seed=seed)
    scheduler = HyperbandScheduler(searcher, "acc", mode, max_t=max_t, grace_period=1,
                                   reduction_factor=3, brackets=brackets, type=kind, seed=seed)
    return Simulation(scheduler, trials, workers, max_t)


@pytest.mark.parametrize("kind", ["stopping", "promotion"])
def test_same_seed_gives_the_same_run(kind):
    a = simulation(kind, seed=5).run()
    b = simulation(kind, seed=5).run()
    assert a.log == b.log
    assert a.scheduler.bracket_of == b.scheduler.bracket_of
    assert len([e for e in a.log if e[0] == "start"]) == 30
    assert {e[3] for e in a.log if e[0] == "report"} >= ({C, P} if kind == "promotion"
                                                         else {C, S})
    assert set(a.status.values()) <= {"completed", "stopped"}


@pytest.mark.parametrize("kind", ["stopping", "promotion"])
def test_another_seed_gives_another_run(kind):
    assert simulation(kind, seed=5).run().log != simulation(kind, seed=6).run().log


@pytest.mark.parametrize("kind", ["stopping", "promotion"])
def test_pickled_scheduler_continues_with_the_same_decisions(kind):
    whole = simulation(kind, seed=8).run()
    original = simulation(kind, seed=8).run(steps=60)
    assert original.queue, "the run must still be going"
    clone = copy.deepcopy(original)
    clone.scheduler = pickle.loads(pickle.dumps(original.scheduler))
    assert clone.scheduler is not original.scheduler
    original.run()
    clone.run()
    assert clone.log == original.log == whole.log


def test_promotion_run_promotes_and_stops_leftovers():
    sim = simulation("promotion", seed=2, trials=30, max_t=9).run()
    resumed = [e[1] for e in sim.log if e[0] == "resume"]
    assert resumed
    completed = [t for t, st in sim.status.items() if st == "completed"]
    # every trial that reached max_t = 9 in bracket 0 (rungs 1, 3) was promoted twice
    for tid in completed:
        if sim.scheduler.bracket_of[tid] == 0:
            assert resumed.count(tid) == 2
    assert sim.scheduler.paused_trials() == []


def test_at_most_workers_trials_run_at_once():
    sim = simulation("stopping", seed=1, trials=30, workers=4)
    sim.fill()
    peak = sim.running
    while sim.queue:
        sim.step()
        peak = max(peak, sim.running)
        assert len(sim.queue) == sim.running <= 4
    assert peak == 4


def expected_first_rung_continues(n, eta):
    """E[trials continuing at a rung] when ``n`` values arrive in random order.

    The k-th arrival continues when it ranks in the top ceil(k/eta) of the first k, which
    in random order has probability ceil(k/eta)/k.
    """
    return sum(math.ceil(k / eta) / k for k in range(1, n + 1))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_simulated_study_stops_most_trials_early_and_keeps_the_best(seed, mode):
    trials, max_t, eta = 50, 27, 3               # rungs 1, 3, 9 < 27: three chances to stop
    sim = simulation("stopping", seed=seed, mode=mode, trials=trials, workers=4,
                     max_t=max_t, brackets=1).run()
    assert len(sim.status) == trials
    assert set(sim.status.values()) == {"completed", "stopped"}
    stopped = sum(st == "stopped" for st in sim.status.values()) / trials
    # Every trial reaches rung 1 and a stopped trial never comes back, so the share stopped
    # is at least the share stopped at rung 1. The cost of an epoch does not depend on q, so
    # q arrives at rung 1 in random order and the expected number continuing there is
    # sum_{k=1..50} ceil(k/3)/k = 18.45: the expected share stopped at rung 1 is
    # 1 - 18.45/50 = 0.631, i.e. at least 32 of 50. Rungs 3 and 9 can only add stops.
    floor = 1 - expected_first_rung_continues(trials, eta) / trials
    assert round(floor, 3) == 0.631
    assert stopped >= floor
    # Synchronous successive halving would keep floor(50/3)=16, 5, 1: 49 of 50 stopped; the
    # asynchronous rule can never do better than that.
    assert stopped <= 49 / 50
    # q orders the curves at every epoch, so the known best trial is the largest q; it is
    # never stopped (nothing recorded at any rung is better than it) and runs to max_t.
    best_by_q = max(sim.configs, key=lambda t: sim.configs[t]["q"])
    pick = max if mode == "max" else min
    found = pick(sim.best, key=lambda t: sim.best[t])
    assert found == best_by_q
    assert sim.status[best_by_q] == "completed"
    assert sim.epochs[best_by_q] == max_t
    # and the epochs spent are far below FIFO's 50 * 27 = 1350
    assert sum(sim.epochs.values()) < 0.5 * trials * max_t
