"""Learning-curve rates that differ between trials (``_rate_model``): by configuration, by a
trial's own reports, and the auto scheduler's ``curve_model="trial"`` that uses them."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_adaptive import MAX_T, SharedShapeCurves, decaying, run_trial, scheduler

from jupyter_hpo.schedulers import AdaptiveScheduler
from jupyter_hpo.schedulers._curve_model import (
    RATES,
    curve_predictions,
    curve_residuals,
    shared_rate,
)
from jupyter_hpo.schedulers._rate_model import fit_rate_model
from jupyter_hpo.simulation import Simulation
from jupyter_hpo.trial import Decision

ROOT = Path(__file__).resolve().parent.parent
T = 30
EPOCHS = np.arange(1, T + 1, dtype=float)


def by_configuration(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` configurations in the unit square whose rate index grows with the first
    coordinate (the second says nothing), their true rate indices and their curves, each
    with its own level and scale."""
    rng = np.random.default_rng(seed)
    units = rng.uniform(0.0, 1.0, (n, 2))
    truth = 5 + np.round(30 * units[:, 0]).astype(int)
    levels, scales = rng.uniform(0.1, 0.5, n), rng.uniform(0.5, 2.0, n)
    curves = levels[:, None] + scales[:, None] * np.exp(-np.outer(RATES[truth], EPOCHS) / T)
    return units, truth, curves


def test_rates_that_depend_on_the_configuration_are_recovered_where_one_rate_fails():
    """Rates from 24 measured curves, for 12 new configurations ranked from 3 reports: each
    near its own (within 6 grid steps of 40: the second coordinate blurs the kernel), and
    their predicted finals several times closer than one shared rate's."""
    units, truth, curves = by_configuration(24, 0)
    no_reports = np.zeros((24, len(RATES)))  # judged on the curves near it alone
    model = fit_rate_model(curve_residuals(EPOCHS, curves, T), no_reports, units)
    assert model.bandwidth < math.inf
    assert np.abs(model.held_out - truth).max() <= 6
    new_units, new_truth, new_curves = by_configuration(12, 10)
    rates = model.rates(np.zeros((12, len(RATES))), new_units)
    assert np.abs(rates - new_truth).max() <= 6 and np.ptp(rates) >= 15
    predicted = curve_predictions(EPOCHS[:3], new_curves[:, :3], T)
    finals = new_curves[:, -1]
    spread = np.ptp(finals)
    shared, _ = shared_rate(curve_residuals(EPOCHS, curves, T))
    assert np.abs(predicted[np.arange(12), rates] - finals).max() < 0.5 * spread
    assert np.abs(predicted[:, shared] - finals).max() > 1.5 * spread


def test_without_configurations_the_measured_curves_pool_and_a_trials_reports_count():
    _, _, curves = by_configuration(12, 2)
    whole = curve_residuals(EPOCHS, curves, T)
    pooled = fit_rate_model(whole, np.zeros_like(whole))
    assert pooled.bandwidth == math.inf and pooled.units is None
    assert len(set(pooled.rates(np.zeros((5, len(RATES)))))) == 1  # one rate for all
    # a trial's own reports, nine of them, move its rate towards its own
    slow, fast = (np.exp(-RATES[k] * EPOCHS[:9] / T) for k in (6, 34))
    own = curve_residuals(EPOCHS[:9], np.vstack([slow, fast]), T)
    rate_slow, rate_fast = pooled.rates(own)
    assert rate_slow < rate_fast
    assert abs(rate_slow - 6) < abs(pooled.rates(np.zeros(len(RATES)))[0] - 6)
    assert abs(rate_fast - 34) < abs(pooled.rates(np.zeros(len(RATES)))[0] - 34)


def test_the_fit_is_deterministic_and_bad_shapes_are_refused():
    units, _, curves = by_configuration(10, 3)
    whole = curve_residuals(EPOCHS, curves, T)
    early = curve_residuals(EPOCHS[:3], curves[:, :3], T)
    first, again = (fit_rate_model(whole, early, units) for _ in range(2))
    assert first.bandwidth == again.bandwidth
    assert np.array_equal(first.held_out, again.held_out)
    assert np.array_equal(first.rates(early, units), again.rates(early, units))
    with pytest.raises(ValueError, match="must have a row per measured trial, two or more"):
        fit_rate_model(whole, early[:4], units)
    with pytest.raises(ValueError, match="must have a row per measured trial"):
        fit_rate_model(whole[:1], early[:1])


def test_the_offline_benchmark_ranks_by_the_rates_on_request():
    """benchmarks/extrapolation.py --rate-models: six more rankings; on the boosting table's
    crossing log-loss at epoch 3 a rate per trial ranks far better than the value (-0.07
    against 0.69 in RESULTS.md)."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "extrapolation.py"),
                           "--tables", "gbm_synth", "--draws", "20", "--rate-models"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if line.startswith("| table"))
    names = [c.strip() for c in header.strip("|").split("|")]
    rows = {tuple(cells[1:3]): dict(zip(names, cells)) for cells in (
        [c.strip() for c in line.strip("|").split("|")]
        for line in done.stdout.splitlines() if line.startswith("| gbm_synth"))}
    assert len(names) == 29 and set(rows) == {(m, r) for m in ("error", "logloss")
                                              for r in ("3", "9")}
    crossing = rows[("logloss", "3")]
    assert float(crossing["ρ trial rate"]) > float(crossing["ρ value"]) + 0.3
    assert "config + trial rate's rule" in done.stdout.splitlines()[-3]


# ---------------------------------------------------------------------------- the scheduler
@pytest.mark.parametrize("value", ["config", 1, 0.0, "True"])
def test_a_bad_curve_model_says_what_it_takes(value):
    with pytest.raises(ValueError) as info:
        scheduler(curve_model=value)
    assert str(info.value) == (
        f"curve_model is {value!r}, but must be True or False, or 'trial' (a learning-curve "
        f"rate per trial, from its own reports and the measured curves)")


def test_a_rung_ranks_by_each_trials_own_rate_where_that_ranks_better():
    """``decaying`` curves, one rate for all: the rate per trial is that rate, so rung 3
    ranks by the predicted final values (leave-one-out ρ 1 against -1 for the value) and
    cuts as the pooled model does, and the header says it is a rate per trial."""
    sched = scheduler(min_pairs=6, full_fraction=0.0, curve_model="trial")
    for tid in range(6):
        assert Decision.STOP not in run_trial(sched, tid, tid / 10, decaying)
    assert sched.rate[3] is not None and sched.rate[1] is None and sched.rate[9] is None
    assert sched.correlation[3] == pytest.approx(1.0)
    assert sched.plain_correlation[3] == pytest.approx(-1.0)
    assert RATES[sched._rate_models[3].held_out] == pytest.approx([MAX_T / 4] * 6, rel=0.1)
    assert ("between epochs 3 and 27 for the value at 27 predicted by the learning-curve "
            "model with a rate per trial (-1.00 for the value alone)") in sched.describe()
    sched.add_trial(6, {"x": 0.66})  # best at epoch 3 but barely falling: stopped
    fast = {1: 0.46, 2: 0.455, 3: 0.45}
    assert [sched.on_trial_result(6, {"epoch": e, "loss": fast[e]}) for e in (1, 2, 3)] \
        == [Decision.CONTINUE, Decision.CONTINUE, Decision.STOP]
    sched.add_trial(7, {"x": 0.77})  # worse at epoch 3 but falling fastest: goes on
    slow = {1: 2.2, 2: 1.6, 3: 0.9}
    assert [sched.on_trial_result(7, {"epoch": e, "loss": slow[e]}) for e in (1, 2, 3)] \
        == [Decision.CONTINUE] * 3


def test_a_seeded_study_with_a_rate_per_trial_repeats_itself():
    bench = SharedShapeCurves()

    def run(seed: int) -> tuple[list[tuple[Any, ...]], AdaptiveScheduler]:
        sim = Simulation(bench)
        study = sim.run(sim.study(4, seed=seed, time_limit=6 * bench.max_t,
                                  scheduler_options={"curve_model": "trial"}))
        assert isinstance(study.scheduler, AdaptiveScheduler)
        return [(t.trial_id, tuple(sorted(t.config.items())), t.status.value, len(t.reports))
                for t in study.trials], study.scheduler

    first, sched = run(3)
    assert run(3)[0] == first
    assert any(rate is not None for rate in sched.rate.values()), sched.reason()
    assert "with a rate per trial" in sched.describe()
    assert run(4)[0] != first
