"""The default method: the ``auto`` scheduler (ASHA whose cuts follow the measured rank
correlation between rungs and max_t) with the ``auto`` searcher (bayesopt)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from jupyter_hpo import Real, report, tune
from jupyter_hpo.schedulers import AdaptiveScheduler, AutoFIFOScheduler, make_scheduler
from jupyter_hpo.schedulers._curve_model import RATES
from jupyter_hpo.schedulers._rank_correlation import spearman
from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.simulation import Simulation
from jupyter_hpo.space import Space
from jupyter_hpo.trial import Decision

MAX_T = 27  # rungs 1, 3, 9 below it


def scheduler(searcher: str = "random", **options: Any) -> AdaptiveScheduler:
    space = Space({"x": Real(0.0, 1.0)})
    made = make_scheduler("auto", make_searcher(searcher, space, "loss", "min", 0), "loss",
                          "min", "epoch", max_t=MAX_T, seed=0, **options)
    assert isinstance(made, AdaptiveScheduler)
    return made


def run_trial(sched: AdaptiveScheduler, trial_id: int, x: float, curve) -> list[Decision]:
    """Start a trial at ``x`` and report its whole curve until it is stopped."""
    sched.add_trial(trial_id, {"x": x})
    decisions = []
    for epoch in range(1, MAX_T + 1):
        decision = sched.on_trial_result(trial_id, {"epoch": epoch, "loss": curve(x, epoch)})
        decisions.append(decision)
        if decision is Decision.STOP:
            break
    sched.on_trial_complete(trial_id, {"epoch": epoch, "loss": curve(x, epoch)})
    return decisions


def crossing(x: float, epoch: int) -> float:
    """Early ranks are the reverse of the final ranks."""
    return x if epoch < MAX_T else 1.0 - x


def parallel(x: float, epoch: int) -> float:
    """Every epoch ranks configurations as the last one does."""
    return x + 1.0 / epoch


# ---------------------------------------------------------------------------- the statistic
def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        pairs = rng.integers(0, 5, size=(12, 2)).astype(float)
        expected = spearmanr(pairs[:, 0], pairs[:, 1]).statistic
        got = spearman(pairs)
        assert got == pytest.approx(0.0 if math.isnan(expected) else expected, abs=1e-12)
    assert spearman(np.array([[1.0, 3.0], [1.0, 2.0], [1.0, 1.0]])) == 0.0


# ---------------------------------------------------------------------------- adapting
def test_the_first_trials_run_to_max_t_and_the_others_are_cut_as_in_hyperband():
    sched = scheduler(min_pairs=4, full_fraction=0.0)
    for tid in range(4):  # the worst early values first: still never stopped
        assert Decision.STOP not in run_trial(sched, tid, 0.9 - 0.1 * tid, parallel)
    assert sched.correlation[1] == pytest.approx(1.0)
    decisions = run_trial(sched, 4, 0.95, parallel)
    assert decisions[-1] is Decision.STOP and len(decisions) == 1
    assert ("rank correlation 1.00 over 4 trials between epochs 1 and 27, 0.82 with the prior: "
            "stopping as Hyperband (top 1/3)") in sched.describe()


def decaying(x: float, epoch: int) -> float:
    """Exponential learning curves whose slow learners end best: trial i (x = i / 10) ends at
    0.1·i from 0.1·i + 2 - 0.3·i, so the values at epoch 3 rank the trials in the reverse of
    their final order, while what each has still to gain is proportional to its fall from
    epoch 1 to 3."""
    i = x * 10
    return 0.1 * i + (2.0 - 0.3 * i) * math.exp(-epoch / 4)


@pytest.mark.parametrize("extrapolate", [True, False])
def test_a_rung_ranks_by_the_value_extrapolated_along_its_slope_when_that_ranks_better(
        extrapolate):
    """Curves cross, but the fall since the rung below predicts what is still to come: rung
    3 ranks by value + β·fall (its leave-one-out ρ 1 against -1 for the value alone) and
    stops a fast starter that will end worst, where ranking by the value stopped nothing."""
    sched = scheduler(min_pairs=6, full_fraction=0.0, extrapolate=extrapolate)
    for tid in range(6):
        assert Decision.STOP not in run_trial(sched, tid, tid / 10, decaying)
    assert sched.correlation[1] == pytest.approx(-1.0)  # nothing below rung 1 to extrapolate
    assert sched.slope[1] == 0.0
    if not extrapolate:
        assert sched.correlation[3] == pytest.approx(-1.0) and sched.keep[3] == 1.0
        assert sched.slope[3] == 0.0 and "extrapolated" not in sched.describe()
        return
    assert sched.correlation[3] == pytest.approx(1.0)
    assert sched.plain_correlation[3] == pytest.approx(-1.0)
    gain = (math.exp(-3 / 4) - math.exp(-MAX_T / 4)) / (math.exp(-1 / 4) - math.exp(-3 / 4))
    assert sched.slope[3] == pytest.approx(gain)  # final - value = gain · (value - value at 1)
    assert sched.keep[3] == pytest.approx(1 / 3)
    assert ("rank correlation 1.00 over 6 trials between epochs 3 and 27 for the value "
            "extrapolated from epoch 1 (-1.00 for the value alone), 0.86 with the prior: "
            "stopping as Hyperband (top 1/3)") in sched.describe()
    # best at epoch 3 (0.45) but barely falling: extrapolated to the worst, it is stopped
    fast = {1: 0.46, 2: 0.455, 3: 0.45}
    sched.add_trial(6, {"x": 0.66})
    decisions = [sched.on_trial_result(6, {"epoch": e, "loss": fast[e]}) for e in (1, 2, 3)]
    assert decisions == [Decision.CONTINUE, Decision.CONTINUE, Decision.STOP]
    # worse at epoch 3 than all but one, but falling fastest: it goes on
    sched.add_trial(7, {"x": 0.77})
    slow = {1: 2.2, 2: 1.6, 3: 0.9}
    assert [sched.on_trial_result(7, {"epoch": e, "loss": slow[e]}) for e in (1, 2, 3)] \
        == [Decision.CONTINUE] * 3


def test_a_rung_ranks_by_the_pooled_curve_models_prediction_when_that_ranks_better():
    """The same crossing curves with ``curve_model``: rung 3 ranks trials by the value at
    max_t that a + b·exp(-k·t/max_t) predicts from each one's reports up to epoch 3, the rate
    k fitted on the measured trials' whole curves (these curves' own rate is max_t / 4): its
    leave-one-out ρ is 1 against -1 for the value alone. Rung 1 has one report per trial,
    nothing to fit; at rung 9 the value already ranks as the finals do, so it is kept."""
    sched = scheduler(min_pairs=6, full_fraction=0.0, curve_model=True)
    for tid in range(6):
        assert Decision.STOP not in run_trial(sched, tid, tid / 10, decaying)
    assert sched.rate[1] is None and sched.correlation[1] == pytest.approx(-1.0)
    assert sched.rate[9] is None and sched.correlation[9] == pytest.approx(1.0)
    assert sched.correlation[3] == pytest.approx(1.0)
    assert sched.plain_correlation[3] == pytest.approx(-1.0) and sched.slope[3] == 0.0
    assert RATES[sched.rate[3]] == pytest.approx(MAX_T / 4, rel=0.1)
    assert sched.keep[3] == pytest.approx(1 / 3)
    assert ("rank correlation 1.00 over 6 trials between epochs 3 and 27 for the value at 27 "
            "predicted by the learning-curve model (-1.00 for the value alone), 0.86 with the "
            "prior: stopping as Hyperband (top 1/3)") in sched.describe()
    # best at epoch 3 (0.45) but barely falling: predicted to end worst, it is stopped
    sched.add_trial(6, {"x": 0.66})
    fast = {1: 0.46, 2: 0.455, 3: 0.45}
    assert [sched.on_trial_result(6, {"epoch": e, "loss": fast[e]}) for e in (1, 2, 3)] \
        == [Decision.CONTINUE, Decision.CONTINUE, Decision.STOP]
    # worse at epoch 3 than all but one, but falling fastest: it goes on
    sched.add_trial(7, {"x": 0.77})
    slow = {1: 2.2, 2: 1.6, 3: 0.9}
    assert [sched.on_trial_result(7, {"epoch": e, "loss": slow[e]}) for e in (1, 2, 3)] \
        == [Decision.CONTINUE] * 3
    sched.on_trial_complete(6, None)
    assert 6 not in sched._curves and 6 in sched._predicted[3]  # ranked there still


def test_with_both_models_a_rung_takes_the_curve_model_only_where_it_ranks_better():
    """On curves of the model's own shape the two-point extrapolation is exact too (ρ 1), so
    the curve model, no better, is not taken; its curves are kept only while trials run."""
    sched = scheduler(min_pairs=6, full_fraction=0.0, curve_model=True, extrapolate=True)
    for tid in range(6):
        run_trial(sched, tid, tid / 10, decaying)
    assert sched.correlation[3] == pytest.approx(1.0) and sched.slope[3] != 0.0
    assert sched.rate[3] is None and "extrapolated from epoch 1" in sched.describe()
    assert sched._curves == {} and len(sched._residuals) == 6


@pytest.mark.parametrize("unmeasured_keep, stopped", [(0.5, [1, 3, 5]), (1 / 3, [1, 2, 3, 5]),
                                                     (1.0, [])])
def test_before_rho_is_measured_a_rung_keeps_the_better_half(unmeasured_keep, stopped):
    """The first min_pairs trials are still running (no rung measured): the trials after
    them are cut at rung 1 keeping ``unmeasured_keep`` of those recorded there (the better
    half by default; Hyperband's third with 1/3; none cut with 1)."""
    sched = scheduler(min_pairs=4, full_fraction=0.0, unmeasured_keep=unmeasured_keep)
    for tid in range(4):  # the measuring trials report epoch 1 only, so far
        sched.add_trial(tid, {"x": 0.1 * tid})
        assert sched.on_trial_result(tid, {"epoch": 1, "loss": 0.1 * tid}) is Decision.CONTINUE
    cut = []
    for tid, loss in zip(range(4, 10), (0.05, 0.12, 0.11, 0.5, 0.02, 0.18)):
        sched.add_trial(tid, {"x": loss})
        if sched.on_trial_result(tid, {"epoch": 1, "loss": loss}) is Decision.STOP:
            cut.append(tid - 4)
    assert cut == stopped
    assert sched.correlation == {1: None, 3: None, 9: None}
    half = {0.5: "each rung keeps the better half", 1.0: "no rung stops trials"}
    assert ("measuring whether early epochs predict the final result (0 of 4 trials at max_t); "
            f"until then {half.get(unmeasured_keep, 'each rung keeps the best 33%')}") \
        in sched.describe()


def test_crossing_curves_switch_the_cuts_off_and_the_searcher_forgets_the_rungs():
    sched = scheduler(min_pairs=4, full_fraction=0.0)
    assert "measuring whether early epochs predict the final result (0 of 4" \
        in sched.describe()
    for tid in range(4):
        run_trial(sched, tid, 0.2 * tid, crossing)
    assert sched.correlation == {1: pytest.approx(-1.0), 3: pytest.approx(-1.0),
                                 9: pytest.approx(-1.0)}
    assert sched.keep == {1: 1.0, 3: 1.0, 9: 1.0}
    assert ("rank correlation -1.00 over 4 trials between epochs 3 and 27, -0.32 with the "
            "prior: not stopping there") in sched.describe()
    assert sched.searcher.trusted_levels == frozenset({MAX_T})
    # a trial far worse than every other at every rung now runs to the end
    decisions = run_trial(sched, 4, 0.99, crossing)
    assert len(decisions) == MAX_T and Decision.STOP not in decisions


def test_before_trials_reach_max_t_each_rung_is_measured_against_the_highest_rung_reached():
    """Until min_pairs unjudged trials reach max_t, a rung's correlation is measured against
    the highest rung that min_pairs of them reached (the header says "so far"), so that curves
    that cross early stop the cuts early; max_t's own measurement replaces it."""
    sched = scheduler(min_pairs=4, full_fraction=0.0)

    def curve(x: float, epoch: int) -> float:  # ranks reverse at epoch 9 and again at 27
        return 1.0 - x if 9 <= epoch < MAX_T else x

    xs = [0.1, 0.3, 0.5, 0.7]
    for tid, x in enumerate(xs):
        sched.add_trial(tid, {"x": x})
    for epoch in range(1, 10):  # all four reach rung 9 together; none reaches max_t
        for tid, x in enumerate(xs):
            assert sched.on_trial_result(tid, {"epoch": epoch, "loss": curve(x, epoch)}) \
                is Decision.CONTINUE
    assert sched.correlation == {1: pytest.approx(-1.0), 3: pytest.approx(-1.0), 9: None}
    assert sched.reference == {1: 9, 3: 9}
    assert sched.keep == {1: 1.0, 3: 1.0, 9: 0.5}  # rung 9: not measured, the better half
    assert ("rank correlation -1.00 over 4 trials between epochs 1 and 9 (so far; 27 once 4 "
            "trials reach it), -0.32 with the prior: not stopping there") in sched.describe()
    assert sched.describe().endswith("; epochs 9 not measured yet: each keeps the better half")
    sched.add_trial(4, {"x": 0.9})  # the worst at epochs 1 and 3: not cut there now
    for epoch in (1, 2, 3):
        assert sched.on_trial_result(4, {"epoch": epoch, "loss": 0.9}) is Decision.CONTINUE
    for epoch in range(10, MAX_T + 1):
        for tid, x in enumerate(xs):
            sched.on_trial_result(tid, {"epoch": epoch, "loss": curve(x, epoch)})
    assert sched.correlation == {1: pytest.approx(1.0), 3: pytest.approx(1.0),
                                 9: pytest.approx(-1.0)}
    assert sched.reference == {1: MAX_T, 3: MAX_T, 9: MAX_T}
    assert sched.keep == {1: pytest.approx(1 / 3), 3: pytest.approx(1 / 3), 9: 1.0}
    assert "so far" not in sched.describe()
    sched.add_trial(5, {"x": 0.95})  # the worst at epoch 1 is cut there again
    assert sched.on_trial_result(5, {"epoch": 1, "loss": 0.95}) is Decision.STOP


def test_trials_of_a_loop_that_counts_from_0_measure_the_correlation_when_they_end():
    """``for epoch in range(epochs): report(epoch=epoch, ...)`` reports 0 .. max_t - 1 and
    never reaches max_t: the trials that ran to their end measure rho when they complete
    (before, the scheduler kept measuring forever and cut crossing curves as Hyperband)."""
    sched = scheduler(min_pairs=4, full_fraction=0.0)
    for tid in range(4):
        sched.add_trial(tid, {"x": 0.2 * tid})
        for epoch in range(MAX_T):  # 0 .. 26
            loss = 0.2 * tid if epoch < MAX_T - 1 else 1.0 - 0.2 * tid  # crossing at the end
            assert sched.on_trial_result(tid, {"epoch": epoch, "loss": loss}) is Decision.CONTINUE
        sched.on_trial_complete(tid, {"epoch": MAX_T - 1, "loss": loss})
    assert sched.correlation == {1: pytest.approx(-1.0), 3: pytest.approx(-1.0),
                                 9: pytest.approx(-1.0)}
    assert sched.keep == {1: 1.0, 3: 1.0, 9: 1.0}
    # one that ends before the last rung (stopped by the user, an early-stopping callback)
    # says nothing about the final value
    sched.add_trial(4, {"x": 0.9})
    sched.on_trial_result(4, {"epoch": 2, "loss": 0.9})
    sched.on_trial_complete(4, {"epoch": 2, "loss": 0.9})
    assert 4 not in sched._finals


def test_a_measuring_trial_that_fails_or_is_cancelled_is_replaced_by_the_next_one():
    """One of the first min_pairs trials fails (or is cancelled, or stopped by the user before
    its end): the next new trial runs to max_t in its place; before, the measurement waited
    for min_pairs finals that never came (until a tenth of all trials outnumbered it)."""
    sched = scheduler(min_pairs=4, full_fraction=0.0)
    for tid in range(4):
        sched.add_trial(tid, {"x": 0.2 * tid})
    sched.on_trial_result(0, {"epoch": 1, "loss": 0.5})
    sched.on_trial_error(0)  # a diverged training
    sched.on_trial_remove(1)  # cancelled
    sched.on_trial_result(2, {"epoch": 2, "loss": 0.5})
    sched.on_trial_complete(2, {"epoch": 2, "loss": 0.5})  # stopped by the user
    for tid in range(3, 7):
        if tid > 3:
            sched.add_trial(tid, {"x": 0.1 * tid})
        assert Decision.STOP not in run_trial_from_the_start(sched, tid, parallel)
    assert sched.correlation[1] == pytest.approx(1.0)  # 4 finals: 3, 4, 5 and 6
    assert sched._full == {3, 4, 5, 6}


def run_trial_from_the_start(sched: AdaptiveScheduler, trial_id: int, curve) -> list[Decision]:
    """Report the whole curve of a trial already added, then complete it."""
    x = sched.configs[trial_id]["x"]
    decisions = [sched.on_trial_result(trial_id, {"epoch": e, "loss": curve(x, e)})
                 for e in range(1, MAX_T + 1)]
    sched.on_trial_complete(trial_id, {"epoch": MAX_T, "loss": curve(x, MAX_T)})
    return decisions


def test_a_weak_correlation_keeps_more_trials_than_hyperband():
    sched = scheduler(min_pairs=6, full_fraction=0.0, rho_low=0.0, rho_high=1.0,
                      prior_pairs=0)
    finals = [0.1, 0.3, 0.2, 0.5, 0.4, 0.6]  # early ranks 0..5: rho = 0.83

    def curve(x: float, epoch: int) -> float:
        return x if epoch < MAX_T else finals[round(x * 10)]

    for tid in range(6):
        run_trial(sched, tid, tid / 10, curve)
    rho = sched.correlation[1]
    assert rho == pytest.approx(spearmanr(range(6), finals).statistic)
    assert sched.keep[1] == pytest.approx(1 - (1 - 1 / 3) * rho)
    assert f"stopping fewer trials (keeps {sched.keep[1]:.0%})" in sched.describe()
    assert "with the prior" not in sched.describe()


@pytest.mark.parametrize("trials", [6, 60])
def test_a_correlation_measured_on_few_trials_is_weighed_with_the_prior(trials):
    """ρ on n trials counts as n trials' worth against prior_pairs' worth of the ρ at which a
    rung keeps unmeasured_keep (0.575 with the defaults): one unlucky measurement on the first
    6 trials does not switch the cuts off for the rest of the study, and the prior fades as
    trials are measured."""
    sched = scheduler(min_pairs=trials, full_fraction=0.0)
    assert sched.prior_rho == pytest.approx(0.2 + 0.5 * (1 - 0.5) / (1 - 1 / 3))
    early = np.arange(trials)
    # final ranks that early ones barely predict: the first seeded shuffle with ρ in (0.05, 0.15)
    finals = next(f for f in (np.random.default_rng(seed).permutation(trials)
                              for seed in range(1000))
                  if 0.05 < spearmanr(early, f).statistic < 0.15)

    def curve(x: float, epoch: int) -> float:
        tid = round(x * 1000)
        return float(early[tid] if epoch < MAX_T else finals[tid])

    for tid in range(trials):
        run_trial(sched, tid, tid / 1000, curve)
    rho = sched.correlation[1]
    assert rho == pytest.approx(spearmanr(early, finals).statistic)
    assert rho < sched.rho_low  # measured alone, it would switch the cuts at rung 1 off
    weighed = (trials * rho + 3 * sched.prior_rho) / (trials + 3)
    assert sched.weighed_correlation[1] == pytest.approx(weighed)
    assert sched.keep[1] == pytest.approx(
        1 - (1 - 1 / 3) * min(max((weighed - 0.2) / 0.5, 0), 1))
    assert (sched.keep[1] < 1) == (trials == 6)
    assert (f"rank correlation {rho:.2f} over {trials} trials between epochs 1 and 27, "
            f"{weighed:.2f} with the prior") in sched.describe()


def test_a_bayesopt_searcher_learns_only_from_trusted_rungs():
    sched = scheduler("auto", min_pairs=4, full_fraction=0.0)
    for tid in range(4):
        run_trial(sched, tid, 0.2 * tid, crossing)
    searcher = sched.searcher
    _, values, levels, _ = searcher._training_data()
    assert set(levels) == {1.0} and len(values) == 4  # max_t only (normalised to 1)
    assert searcher._target_level() == MAX_T
    assert {level for _, level in searcher.data} == {1.0, 3.0, 9.0, 27.0}  # kept, unused


def test_auto_without_max_t_is_fifo_and_says_why():
    space = Space({"x": Real(0.0, 1.0)})
    made = make_scheduler("auto", make_searcher("auto", space, "loss", "min", 0), "loss",
                          "min", seed=1)
    assert isinstance(made, AutoFIFOScheduler)
    assert made.on_trial_result(0, {"epoch": 1, "loss": 1.0}) is Decision.CONTINUE
    assert made.describe() == (
        "auto: every trial runs to the end (early stopping needs the largest resource, "
        "`epochs = N` in the cell, --max-t N or tune()'s scheduler_options={'max_t': N}, and "
        "report(epoch=...) in the training loop)")


@pytest.mark.parametrize("options, message", [
    ({"min_pairs": 2}, "min_pairs is 2, but must be an integer >= 3"),
    ({"full_fraction": 1.5}, "full_fraction is 1.5, but must be a number in [0.0, 1.0]"),
    ({"rho_low": 0.5, "rho_high": 0.5}, "rho_high is 0.5, but must be larger than rho_low"),
    ({"unmeasured_keep": 0}, "unmeasured_keep is 0, but must be a number in (0.0, 1.0]"),
    ({"unmeasured_keep": 1.5}, "unmeasured_keep is 1.5, but must be a number in (0.0, 1.0]"),
    ({"prior_pairs": -1}, "prior_pairs is -1, but must be a number in [0.0, inf)"),
    ({"prior_pairs": "3"}, "prior_pairs is '3', but must be a number in [0.0, inf)"),
    ({"extrapolate": "false"}, "extrapolate is 'false', but must be True or False"),
    ({"curve_model": 1}, "curve_model is 1, but must be True or False"),
    ({"type": "promotion"}, "type only applies to the hyperband scheduler"),
    ({"grace_period": 2}, "early stopping needs max_t"),
])
def test_bad_options_say_what_is_wrong(options, message):
    space = Space({"x": Real(0.0, 1.0)})
    searcher = make_searcher("random", space, "loss", "min", 0)
    with pytest.raises(ValueError) as info:
        if "grace_period" in options:
            make_scheduler("auto", searcher, "loss", "min", **options)
        else:
            make_scheduler("auto", searcher, "loss", "min", max_t=MAX_T, **options)
    assert message in str(info.value)


# ---------------------------------------------------------------------------- the default
def test_tune_uses_the_auto_scheduler_and_searcher_by_default():
    def objective(config, report):
        for epoch in range(1, 4):
            report(epoch=epoch, loss=config["x"] + 1 / epoch)

    study = tune(objective, {"x": Real(0, 1)}, metric="loss", trials=6, seed=0)
    assert isinstance(study.scheduler, AutoFIFOScheduler)  # tune() has no max_t here
    assert study.scheduler.searcher.name == "auto"
    hb = tune(objective, {"x": Real(0, 1)}, metric="loss", trials=6, seed=0,
              scheduler_options={"max_t": 3})
    assert isinstance(hb.scheduler, AdaptiveScheduler) and hb.scheduler.max_t == 3


def proposals(searcher: str, trials: int = 14, **options: Any) -> list[dict[str, Any]]:
    """What a searcher proposes for a 2-d quadratic, told each final result in turn."""
    space = Space({"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)})
    made = make_searcher(searcher, space, "loss", "min", 3, **options)
    configs = []
    for trial_id in range(trials):
        config = made.suggest(trial_id)
        configs.append(config)
        made.observe(trial_id, config,
                     {"loss": (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2}, final=True)
    return configs


def test_the_auto_searcher_is_bayesopt_unless_asked_for_random_proposals():
    assert proposals("auto") == proposals("bayesopt")
    assert "random" not in make_searcher("auto", Space({"x": Real(0, 1)}), "loss", "min",
                                         0).describe()


def test_random_proposals_replace_a_share_of_the_models_own():
    """Each trial's coin comes from the seed and its id: the same under a seed, and the model's
    proposals for the other trials are drawn as bayesopt's are (the first five are random
    either way)."""
    model = proposals("bayesopt", trials=40)
    mixed = proposals("auto", trials=40, random_fraction=0.5)
    assert mixed == proposals("auto", trials=40, random_fraction=0.5)
    assert mixed[:5] == model[:5] and mixed[5:] != model[5:]
    space = Space({"x": Real(0, 1)})
    coins = [make_searcher("auto", space, "loss", "min", seed, random_fraction=0.25)
             for seed in (0, 0, 1)]
    turns = [[c._random_turn(trial_id) for trial_id in range(2000)] for c in coins]
    assert turns[0] == turns[1] != turns[2]
    assert 0.22 < np.mean(turns[0]) < 0.28
    everything = proposals("auto", trials=12, random_fraction=1.0)
    assert everything[5:] != model[5:12]
    assert "50% random" in make_searcher("auto", Space({"x": Real(0, 1)}), "loss", "min", 0,
                                         random_fraction=0.5).describe()


@dataclass
class UnitSquare:
    """A benchmark over the unit square whose best final loss is 0 at max_t 27 epochs."""

    space: Space = field(default_factory=lambda: Space({"x": Real(0.0, 1.0),
                                                        "y": Real(0.0, 1.0)}))
    metric: str = "loss"
    mode: str = "min"
    max_t: int = 27
    resource: str = "epoch"
    optimum: float = 0.0


@dataclass(kw_only=True)
class Curves(UnitSquare):
    """Learning curves over a 2-d space: final value ``(x-0.3)^2 + (y-0.6)^2``. With
    ``crossing``, configurations that end well converge slowly (their early values are the
    worst); without, every epoch ranks configurations as the last does."""

    crossing: bool

    def evaluate(self, config: dict[str, Any], epoch: int) -> tuple[float, float]:
        final = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2
        if self.crossing:
            tau = 0.5 + 20.0 * math.exp(-8.0 * final)  # the best converge slowest
            return final + 1.5 * (math.exp(-epoch / tau) - math.exp(-self.max_t / tau)), 1.0
        return final + 0.5 * (1.0 + final) * math.exp(-epoch / 4.0), 1.0


KEPT: dict[tuple[bool, int], dict[float, float]] = {}  # (crossing, seed) -> rung -> share


def final_regret(bench: Curves, seed: int, **options: Any) -> float:
    """The best value at max_t after a budget of 8 full trainings on 4 workers."""
    sim = Simulation(bench)
    study = sim.run(sim.study(4, seed=seed, time_limit=8 * bench.max_t, **options))
    finals = [t.reports[-1]["loss"] for t in study.trials
              if t.reports and t.reports[-1]["epoch"] == bench.max_t]
    if isinstance(study.scheduler, AdaptiveScheduler):
        KEPT[bench.crossing, seed] = dict(study.scheduler.keep)
    return min(finals) - bench.optimum


def test_the_default_is_deterministic_under_a_seed():
    bench = Curves(crossing=False)

    def run(seed: int) -> list[tuple[Any, ...]]:
        sim = Simulation(bench)
        study = sim.run(sim.study(4, seed=seed, time_limit=3 * bench.max_t))
        assert isinstance(study.scheduler, AdaptiveScheduler)
        return [(t.trial_id, tuple(sorted(t.config.items())), t.status.value, len(t.reports))
                for t in study.trials]

    first = run(7)
    assert run(7) == first
    assert run(8) != first


@dataclass
class SharedShapeCurves(UnitSquare):
    """Curves of one shape, final + scale·exp(-epoch/6), that cross: the scale is largest
    for the configurations that end best, so at epoch 3 they look worst."""

    def evaluate(self, config: dict[str, Any], epoch: int) -> tuple[float, float]:
        final = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2
        scale = 2.0 * math.exp(-8.0 * final)
        return final + scale * (math.exp(-epoch / 6.0) - math.exp(-self.max_t / 6.0)), 1.0


def test_the_curve_model_is_deterministic_under_a_seed_and_ranks_where_curves_cross():
    """With ``curve_model`` a seeded study repeats itself trial by trial; on crossing curves
    of one shape a rung ranks by the model's predictions, and the same seed's study without
    it differs. (Where each configuration's curve has its own rate, as in ``Curves``, no
    shared shape predicts and the rungs keep the value.)"""
    bench = SharedShapeCurves()

    def run(seed: int, **options: Any) -> tuple[list[tuple[Any, ...]], AdaptiveScheduler]:
        sim = Simulation(bench)
        study = sim.run(sim.study(4, seed=seed, time_limit=6 * bench.max_t,
                                  scheduler_options=options))
        assert isinstance(study.scheduler, AdaptiveScheduler)
        return [(t.trial_id, tuple(sorted(t.config.items())), t.status.value, len(t.reports))
                for t in study.trials], study.scheduler

    first, sched = run(3, curve_model=True)
    assert run(3, curve_model=True)[0] == first
    assert any(rate is not None for rate in sched.rate.values()), sched.reason()
    assert "predicted by the learning-curve model" in sched.describe()
    plain, without = run(3)
    assert plain != first and all(rate is None for rate in without.rate.values())


SEEDS = range(4)


def test_the_default_is_no_worse_than_random_search_where_curves_cross():
    bench = Curves(crossing=True)
    default = np.mean([final_regret(bench, seed) for seed in SEEDS])
    random = np.mean([final_regret(bench, seed, scheduler="fifo", searcher="random")
                      for seed in SEEDS])
    hyperband = np.mean([final_regret(bench, seed, scheduler="hyperband", searcher="random")
                         for seed in SEEDS])
    assert hyperband > 2 * random, "the problem must be one where early stopping misleads"
    assert default <= random, (default, random)
    # in the end every rung keeps more than Hyperband's third, and three quarters on average
    kept = [share for seed in SEEDS for share in KEPT[True, seed].values()]
    assert min(kept) > 0.4 and np.mean(kept) > 0.75, KEPT


def test_the_default_beats_random_search_where_curves_do_not_cross():
    bench = Curves(crossing=False)
    default = np.mean([final_regret(bench, seed) for seed in SEEDS])
    random = np.mean([final_regret(bench, seed, scheduler="fifo", searcher="random")
                      for seed in SEEDS])
    assert default < 0.5 * random, (default, random)
    assert all(max(KEPT[False, seed].values()) < 0.5 for seed in SEEDS), KEPT


@dataclass
class CostlyCurves(UnitSquare):
    """Curves whose epochs take 1 s at ``y`` = 0 and 20 s at ``y`` = 1, while the final value
    ``(x-0.3)^2`` does not depend on ``y``: EI alone does not care about ``y``, EI per second
    prefers small ones."""

    @staticmethod
    def seconds(config: dict[str, Any]) -> float:
        return 1.0 + 19.0 * config["y"]

    def evaluate(self, config: dict[str, Any], epoch: int) -> tuple[float, float]:
        final = (config["x"] - 0.3) ** 2
        return final + 0.5 * (1.0 + final) * math.exp(-epoch / 4.0), self.seconds(config)


def test_the_auto_scheduler_times_each_trial_on_the_study_clock():
    """Seconds per epoch, from each trial's reports on the (simulated) clock, reach the auto
    searcher (here exactly the benchmark's) until its cost weighting has cooled off."""
    bench = CostlyCurves()
    sim = Simulation(bench)
    study = sim.run(sim.study(4, seed=0, time_limit=800, searcher_options={"cost_power": 1}))
    searcher = study.scheduler.searcher
    costs = searcher._costs
    assert len(costs) > 10
    for trial_id, (_, log_seconds, _) in costs.items():
        assert math.exp(log_seconds) == pytest.approx(bench.seconds(study.trials[trial_id].config))
    assert searcher._cooled == (len(costs) < len(study.trials))
    sim = Simulation(bench)  # by default (cost_power 0) nothing is timed
    plain = sim.study(4, seed=0, time_limit=800)
    timed = []
    sim.run(plain, on_report=lambda now, trial: timed.append(len(plain.scheduler._started)))
    assert timed and not any(timed) and plain.scheduler.searcher._costs == {}


def told(cost_power: float, trials: int) -> Any:
    """An auto searcher told ``trials`` results at max_t of CostlyCurves and their timings."""
    space = CostlyCurves().space
    searcher = make_searcher("auto", space, "loss", "min", 0, cost_power=cost_power)
    searcher.set_fidelity("epoch", 27, [1, 3, 9])
    rng = np.random.default_rng(1)
    for trial_id in range(trials):
        config = {"x": float(rng.random()), "y": float(rng.random())}
        searcher.observe(trial_id, config, {"epoch": 27, "loss": (config["x"] - 0.3) ** 2},
                         final=True)
        searcher.observe_cost(trial_id, config, 27, CostlyCurves.seconds(config))
    return searcher


def test_expected_improvement_is_weighed_by_predicted_cost_until_it_cools():
    """EI times (predicted seconds per epoch) ** -(1 - trainings / 20): with 10 full trainings
    timed, a candidate that the cost model (fitted on the log seconds) finds slower weighs
    less, and the proposals are not EI's; after 20 trainings they are EI's again."""
    weighed, plain = told(1.0, 10), told(0.0, 10)
    assert weighed._cost_exponent() == pytest.approx(0.5)
    cheap, slow = weighed._acquisition_weights(np.array([[0.3, 0.0], [0.3, 1.0]]))
    _, slope_x, slope_y = weighed._cost_model()
    assert slope_y > 0.5 and abs(slope_x) < 0.3
    assert slow / cheap == pytest.approx(math.exp(-0.5 * slope_y))
    assert plain._acquisition_weights(np.array([[0.3, 0.0]])) is None
    assert [weighed.suggest(100 + i) for i in range(4)] \
        != [plain.suggest(100 + i) for i in range(4)]
    assert "per predicted second of training to the power 0.50" in weighed.describe()
    assert "second" not in plain.describe()
    cooled, uncosted = told(1.0, 20), told(0.0, 20)
    assert cooled._acquisition_weights(np.array([[0.3, 0.0]])) is None
    assert [cooled.suggest(100 + i) for i in range(4)] \
        == [uncosted.suggest(100 + i) for i in range(4)]
    assert "plain expected improvement" in cooled.describe()
    fresh = make_searcher("auto", CostlyCurves().space, "loss", "min", 0, cost_power=1.0)
    assert "second" not in fresh.describe()  # nothing timed yet: bayesopt's EI


def test_a_seeded_default_study_of_real_trials_repeats_its_proposals_whatever_they_take():
    """The default (no --scheduler/--searcher) with a seed and one worker proposes the same
    configurations in two runs although the trials' durations differ from run to run (wall
    time is never the same twice): the cost weighting, which learns from wall time, is off
    unless asked for."""
    import random
    import time

    jitter = random.Random()  # unseeded: each run's durations differ

    def train(config: dict[str, Any]) -> None:
        for epoch in range(1, 10):
            time.sleep(jitter.uniform(0.0, 0.004) * (1 + 20 * config["slow"]))
            report(epoch=epoch, loss=(config["x"] - 0.3) ** 2 + 1 / (epoch + 5 * config["slow"]))

    def proposals() -> list[tuple[float, float]]:
        study = tune(train, {"x": Real(0, 1), "slow": Real(0, 1)}, metric="loss", trials=24,
                     workers=1, seed=4, scheduler_options={"max_t": 9})
        return [(t.config["x"], t.config["slow"]) for t in study.trials]

    assert proposals() == proposals()


def test_tune_says_why_a_loop_shorter_than_max_t_stopped_no_trial(capsys):
    """max_t 20 over loops of 6 epochs: no trial reached the last rung (9), so every trial ran
    to its end; tune() says so and what to pass. With max_t 6 the same trials are cut."""
    def short(config):
        for epoch in range(1, 7):
            report(epoch=epoch, loss=config["x"] + 1 / epoch)

    for max_t, stopped in ((20, False), (6, True)):
        study = tune(short, {"x": Real(0, 1)}, metric="loss", trials=12, seed=0,
                     scheduler_options={"max_t": max_t})
        said = "no trial was stopped early: every trial ended by epoch 6, before 9 (the last " \
            "rung below max_t 20)" in capsys.readouterr().out
        assert (study.counts()["stopped"] > 0) is stopped and said is not stopped
