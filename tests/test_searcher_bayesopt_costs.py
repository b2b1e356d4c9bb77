"""What keeps the bayesopt searcher's decisions cheap with Hyperband: a bounded summary of the
rung results, refits on a geometric schedule, and snapping by a lookup table."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from searcher_harness import mixed_loss, mixed_space

from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.searchers._bayesopt import (
    _FIT_POINTS_MULTI,
    _KEEP_BEST,
    _MAX_DATA,
    _MAX_FANTASIES,
    _REFINE_STARTS,
)
from jupyter_hpo.searchers._bayesopt_parts import summary_rows
from jupyter_hpo.searchers._gp import GaussianProcess
from jupyter_hpo.space import Int, Real, Space

LEVELS = [1, 3, 9, 27]


def _observed(trials: int, seed: int = 0, name: str = "bayesopt", **options):
    """A Hyperband-mode searcher (``name``) told about ``trials`` random trials at rungs 1
    and 3 (every third also at 9)."""
    space = mixed_space()
    searcher = make_searcher(name, space, "loss", "min", seed, **options)
    searcher.set_fidelity("epoch", 27, LEVELS)
    rng = np.random.default_rng(seed)
    for trial_id in range(trials):
        config = space.sample(rng)
        for epoch in (1, 3, 9) if trial_id % 3 == 0 else (1, 3):
            searcher.observe(trial_id, config, {"epoch": epoch, "loss": mixed_loss(config, epoch)})
        searcher.observe(trial_id, config, {"epoch": epoch, "loss": mixed_loss(config, epoch)},
                         final=True)
    return searcher


def test_the_model_conditions_on_a_bounded_summary_that_keeps_the_best_of_each_level():
    searcher = _observed(150)
    config = searcher.suggest(150)
    assert all(mixed_space()[name].contains(v) for name, v in config.items())
    x = searcher._gp.x
    assert len(searcher.data) == 350 and x.shape == (_MAX_DATA, searcher._width + 1)
    n = len(searcher.data)
    rows = summary_rows(searcher._ys[:n], searcher._rs[:n], searcher._ranks[:n], _MAX_DATA,
                        _KEEP_BEST)
    for level in (1.0, 3.0, 9.0):
        at_level = sorted(loss for (_, lv), (_, loss) in searcher.data.items() if lv == level)
        kept = sorted(searcher._ys[rows][searcher._rs[rows] == searcher._r(level)])
        assert kept[:_KEEP_BEST] == at_level[:_KEEP_BEST]
    # every result at the highest level fits in, so all 50 are kept
    assert int(np.sum(x[:, -1] == searcher._r(9.0))) == 50



def test_hyperparameters_are_fitted_on_a_stable_subset_and_the_model_conditions_on_all(
        monkeypatch):
    """With Hyperband the fit (cubic in its rows, ~20 evaluations) sees at most
    _FIT_POINTS_MULTI of the summary's rows, those of lowest random rank, so consecutive fits
    share most of them; the posterior still conditions on the whole summary."""
    fitted: list[tuple[int, np.ndarray]] = []
    fit = GaussianProcess.fit

    def recording(self, x, y, rng, restarts=0, subset=None):
        fitted.append((len(x), x if subset is None else x[subset]))
        return fit(self, x, y, rng, restarts=restarts, subset=subset)

    monkeypatch.setattr(GaussianProcess, "fit", recording)
    searcher = _observed(150)
    searcher.suggest(150)
    rows, used = fitted[-1]
    assert rows == _MAX_DATA and len(used) == _FIT_POINTS_MULTI < _MAX_DATA
    assert len(searcher._gp.x) == _MAX_DATA
    n = len(searcher.data)
    summary = summary_rows(searcher._ys[:n], searcher._rs[:n], searcher._ranks[:n], _MAX_DATA,
                           _KEEP_BEST)
    lowest = np.sort(summary[np.argsort(searcher._ranks[summary], kind="stable")]
                     [:_FIT_POINTS_MULTI])
    assert np.array_equal(used[:, :-1], searcher._xs[lowest])


def test_small_data_is_kept_whole():
    searcher = _observed(20)
    searcher.suggest(20)
    assert len(searcher._gp.x) == len(searcher.data) == 47


@pytest.mark.parametrize("name, options", [("bayesopt", {}), ("auto", {"batch_fraction": 1.0})])
def test_a_batch_keeps_at_most_max_batch_pool_candidates(name, options):
    """Each pick updates the posterior and EI of every candidate a batch kept: bayesopt's
    batches (as many proposals as trials observed: 150 here) keep at most ``max_batch_pool``
    of them, the auto searcher's twice their size, as the default was measured with."""
    searcher = _observed(150, name=name, **options)
    searcher.suggest(150)
    batch = searcher._batch
    assert batch.left + batch.made == 150
    kept = min(300, searcher.max_batch_pool or 300)
    assert (name, kept) in {("bayesopt", searcher.max_batch_pool), ("auto", 300)}
    assert kept <= len(batch.candidates) <= kept + _REFINE_STARTS


@pytest.mark.parametrize("name, options, hyperband, count", [
    ("bayesopt", {}, True, 250), ("bayesopt", {}, False, 500), ("auto", {}, True, 500),
    ("bayesopt", {"num_candidates": 400}, True, 400)])
def test_bayesopt_ranks_250_random_candidates_with_hyperband_by_default(name, options,
                                                                         hyperband, count):
    """A study under Hyperband makes its acquisitions by the dozen: bayesopt ranks 250 random
    candidates there unless told otherwise, 500 with FIFO; the auto searcher keeps 500."""
    searcher = make_searcher(name, mixed_space(), "loss", "min", 0, **options)
    if hyperband:
        searcher.set_fidelity("epoch", 27, LEVELS)
    assert len(searcher._candidates(None)) == count  # no data yet: no perturbations


def refit_points(searcher, fresh: bool = False) -> list[int]:
    """How many observations ``searcher`` held at each hyperparameter refit over 60 trials
    that report epochs 1 and 3 (``fresh``: each proposal a fresh acquisition, as after a new
    best, which may refit)."""
    fitted_at = []
    for trial_id in range(60):
        fits = searcher._fits
        if fresh:
            searcher._batch = None
        config = searcher.suggest(trial_id)
        if searcher._fits > fits:
            fitted_at.append(len(searcher.data))
        for epoch in (1, 3):
            searcher.observe(trial_id, config, {"epoch": epoch, "loss": mixed_loss(config, epoch)})
        searcher.observe(trial_id, config, {"epoch": 3, "loss": mixed_loss(config, 3)},
                         final=True)
    return fitted_at


@pytest.mark.parametrize("name, schedule", [("auto", [10, 16, 24, 36, 54, 82]),
                                            ("bayesopt", [10, 32, 48, 72, 108])])
def test_refits_follow_a_geometric_schedule_with_hyperband(name, schedule):
    """Refits when the observations grew by half; bayesopt's second fit waits for 32 (its
    ``second_fit_from``), the auto searcher's does not."""
    space = mixed_space()  # a fresh acquisition per proposal, so every proposal may refit
    searcher = make_searcher(name, space, "loss", "min", 0, num_candidates=50,
                             batch_fraction=0.0)
    searcher.set_fidelity("epoch", 27, LEVELS)
    fitted_at = refit_points(searcher)
    assert fitted_at[0] == 10  # the first model-based proposal, after 5 random trials
    later = fitted_at[1:] if name == "auto" else fitted_at[2:]
    assert fitted_at[1] >= (16 if name == "auto" else 32)
    assert all(1.5 * a <= b <= 1.5 * a + 2 for a, b in pairwise(later))
    assert fitted_at == schedule and searcher._fits == len(schedule)


@pytest.mark.parametrize("name, fifo, restarts", [("bayesopt", False, [0, 0, 0]),
                                                  ("auto", False, [2, 0, 0]),
                                                  ("bayesopt", True, [2, 0, 0])])
def test_only_bayesopts_first_fit_with_hyperband_skips_the_random_restarts(
        monkeypatch, name, fifo, restarts):
    """A first fit on a handful of rung results takes no random restarts under Hyperband with
    bayesopt; with FIFO, and for the auto searcher, it takes 2 as before."""
    taken = []
    fit = GaussianProcess.fit

    def recording(self, x, y, rng, restarts=0, subset=None):
        taken.append(restarts)
        return fit(self, x, y, rng, restarts=restarts, subset=subset)

    monkeypatch.setattr(GaussianProcess, "fit", recording)
    searcher = make_searcher(name, mixed_space(), "loss", "min", 0, num_candidates=50,
                             batch_fraction=0.0)
    if not fifo:
        searcher.set_fidelity("epoch", 27, LEVELS)
        refit_points(searcher)
    else:
        rng = np.random.default_rng(0)
        for trial_id in range(8):
            config = searcher.suggest(trial_id) if trial_id >= 5 else mixed_space().sample(rng)
            searcher.observe(trial_id, config, {"loss": mixed_loss(config, 27)}, final=True)
    assert taken[:3] == restarts and len(taken) == searcher._fits


@pytest.mark.parametrize("fraction, growth", [(1.0, 2.0), (0.3, 1.5), (0.6, 1.6)])
def test_refits_wait_for_as_much_new_data_as_one_batch_may_serve(fraction, growth):
    """A batch assumes the model holds while the trials it serves come in, so with batches of
    ``batch_fraction`` of the observed trials the hyperparameters are refitted when the
    observations grew by ``1 + batch_fraction`` (MOBSTER's 1: when they doubled), and by half
    when batches are smaller (the ``auto`` searcher's 0.3)."""
    space = mixed_space()
    searcher = make_searcher("bayesopt", space, "loss", "min", 0, num_candidates=50,
                             batch_fraction=fraction)
    searcher.set_fidelity("epoch", 27, LEVELS)
    fitted_at = refit_points(searcher, fresh=True)
    assert fitted_at[:2] == [10, 32] and len(fitted_at) >= 3  # the second waits for 32
    assert all(growth * a <= b <= growth * a + 2 for a, b in pairwise(fitted_at[1:]))


def test_explicit_opt_skip_options_keep_their_meaning_with_hyperband():
    searcher = make_searcher("bayesopt", mixed_space(), "loss", "min", 0, num_candidates=50,
                             opt_skip_init_length=0, opt_skip_period=1, batch_fraction=0)
    searcher.set_fidelity("epoch", 27, LEVELS)
    for trial_id in range(12):
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"epoch": 1, "loss": mixed_loss(config, 1)},
                         final=True)
    assert searcher._fits == 7  # every model-based proposal


def test_snapping_by_table_gives_the_domains_own_cells():
    space = Space({"width": Int(16, 512, log=True), "depth": Int(1, 4),
                   "p": Real(0.0, 1.0, step=0.1), "big": Int(0, 5000), "lr": Real(1e-4, 1e-1)})
    searcher = make_searcher("bayesopt", space, "loss", "min", 0)
    rng = np.random.default_rng(0)
    points = rng.random((3000, searcher._width)) * 1.2 - 0.1
    snapped = searcher._snap(points.copy())
    clipped = np.clip(points, 0.0, 1.0)
    for column, domain in searcher._ints:
        expected = [domain.to_unit(domain.from_unit(u)) for u in clipped[:, column]]
        np.testing.assert_array_equal(snapped[:, column], expected)
        table = searcher._tables[column]
        assert (table is None) == (domain == space["big"])
        if table is not None:  # at the cell edges and one float either side
            edges = table[0]
            near = np.concatenate([edges, np.nextafter(edges, -1.0), np.nextafter(edges, 2.0)])
            grid = np.tile(near[:, None], (1, searcher._width))
            expected = [domain.to_unit(domain.from_unit(u)) for u in near]
            np.testing.assert_array_equal(searcher._snap(grid)[:, column], expected)


def test_many_pending_trials_get_distinct_proposals_and_only_the_latest_are_fantasised():
    searcher = _observed(10, num_candidates=50)
    encoded = []
    encode = searcher._encode
    searcher._encode = lambda config: encoded.append(config) or encode(config)
    proposals = [searcher.suggest(trial_id) for trial_id in range(10, 50)]  # 40 paused ones
    assert len({tuple(sorted(c.items())) for c in proposals}) == 40
    # each pending configuration was encoded once (at the first proposal after it), not once
    # per later proposal: the last proposal's own is not encoded yet
    assert encoded == proposals[:39]
    searcher.observe(10, proposals[0], {"epoch": 1, "loss": 1.0}, final=True)
    searcher.suggest(50)
    assert encoded == proposals  # trial 10's result reused its encoding; trial 49 was new


def test_a_proposal_does_not_walk_the_paused_trials_one_by_one():
    # the promotion variant leaves trials pending at a rung by the hundred; their configurations
    # are taken through their rung results, so a proposal looks only at the latest few of them
    searcher = _observed(10, num_candidates=50)
    paused = []
    for trial_id in range(10, 70):
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"epoch": 1, "loss": mixed_loss(config, 1)})
        paused.append(tuple(sorted(config.items())))
    looked_at = []
    codes_of = searcher._codes_of
    searcher._codes_of = lambda trial_id, config: looked_at.append(trial_id) or codes_of(
        trial_id, config)
    batch = searcher._batch
    proposal = searcher.suggest(70)  # a pick from the batch fantasises nothing
    assert batch is not None and searcher._batch is batch and looked_at == []
    searcher._batch = None  # a fresh acquisition fantasises the latest pending trials
    looked_at.clear()
    searcher.suggest(71)
    assert sorted(set(looked_at)) == list(range(71 - _MAX_FANTASIES, 71))
    assert len(searcher.pending) == 62 and tuple(sorted(proposal.items())) not in paused


def test_large_products_go_to_scipys_blas_and_give_numpys_results():
    """GP products large enough for OpenBLAS to start threads use the library of the
    factorisations (see _blas.py); small ones stay with numpy. Either way: numpy's values,
    in every memory layout the GP passes, with ``out`` filled in place."""
    from jupyter_hpo.searchers._blas import _THREADED, product

    rng = np.random.default_rng(0)
    for m, k, n, large in [(12, 3, 144, False), (650, 30, 144, True), (60, 501, 60, True)]:
        a, b = rng.random((m, k)), rng.random((n, k))
        assert (m * k * n >= _THREADED) == large  # both paths are exercised
        out = np.empty((m, n))
        result = product(a, b.T, out=out)
        assert np.shares_memory(result, out) and result.flags.c_contiguous
        np.testing.assert_allclose(out, a @ b.T, rtol=1e-12)
        np.testing.assert_allclose(product(np.asfortranarray(b), a.T), b @ a.T, rtol=1e-12)
        v, w = rng.random(m), rng.random(k)
        np.testing.assert_allclose(product(a, w), a @ w, rtol=1e-12)
        np.testing.assert_allclose(product(v, a), v @ a, rtol=1e-12)
        np.testing.assert_allclose(product(a[:, 1], a), a[:, 1] @ a, rtol=1e-12)  # a strided v
    assert product(np.zeros((0, 3)), rng.random((3, 7))).shape == (0, 7)
    a, b = rng.random((650, 30)), rng.random((30, 144))
    out = np.empty((144, 650)).T  # Fortran-ordered: BLAS writes to a copy, then into it
    assert product(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


def test_a_wide_space_fits_and_predicts_as_a_small_one_does():
    """Five hundred one-hot columns: the fit and the posterior run through the large-product
    path and agree with the formulas computed by numpy directly."""
    from jupyter_hpo.searchers._gp import Kernel

    rng = np.random.default_rng(1)
    n, d = 60, 501
    x = np.zeros((n, d))
    x[:, 0] = rng.random(n)
    x[np.arange(n), 1 + rng.integers(d - 1, size=n)] = 1.0
    y = np.sin(6 * x[:, 0]) + rng.normal(0, 0.05, n)
    gp = GaussianProcess(Kernel("matern52", d, False))
    gp.fit(x, y, rng)
    test = x[:20] + rng.normal(0, 0.01, (20, d))
    mean, variance, _ = gp.posterior(test)
    k_star = gp.kernel(test, x)
    k = gp.kernel(x, x) + gp.diagonal * np.eye(n)
    np.testing.assert_allclose(mean, k_star @ np.linalg.solve(k, y), rtol=1e-6, atol=1e-8)
    expected = gp.kernel.diag(test) - np.einsum("ij,ji->i", k_star, np.linalg.solve(k, k_star.T))
    np.testing.assert_allclose(variance, np.maximum(expected, 1e-12), rtol=1e-5, atol=1e-8)
    assert np.corrcoef(gp.fitted_mean(), y)[0, 1] > 0.9  # the fit learnt the signal


def test_predictions_reuse_the_scaled_inputs_only_while_data_and_hyperparameters_stand():
    """The training inputs scaled by the lengthscales are kept between predictions; a refit
    (new hyperparameters) or new data computes them again, so every prediction has the bits
    of a fresh model's."""
    from jupyter_hpo.searchers._gp import Kernel

    rng = np.random.default_rng(3)
    x, test = rng.random((40, 3)), rng.random((25, 3))
    y = np.sin(5 * x[:, 0]) + x[:, 1]
    gp = GaussianProcess(Kernel("matern52", 3, False))

    def fresh_posterior() -> list[np.ndarray]:
        other = GaussianProcess(Kernel("matern52", 3, False))
        other.kernel.theta = gp.kernel.theta.copy()
        other.condition(gp.x, gp.y)
        return [a.copy() for a in other.posterior(test)]

    gp.condition(x, y)
    first = [a.copy() for a in gp.posterior(test)]
    kept = gp._scaled_inputs()
    assert all(np.array_equal(a, b) for a, b in zip(first, fresh_posterior()))
    gp.posterior(test)
    assert gp._scaled_inputs() is kept  # the same data and hyperparameters: reused
    gp.fit(x, y, rng)  # new hyperparameters
    assert gp._scaled_inputs() is not kept
    assert all(np.array_equal(a, b) for a, b in zip(gp.posterior(test), fresh_posterior()))
    kept = gp._scaled_inputs()
    gp.condition(x[:30], y[:30])  # new data
    assert gp._scaled_inputs() is not kept
    assert all(np.array_equal(a, b) for a, b in zip(gp.posterior(test), fresh_posterior()))


def test_reports_between_rung_levels_return_before_the_inbox():
    """Most reports of a running trial fall between rung levels: they teach the model nothing
    and return at once, without queueing behind a proposal that holds the searcher; a report
    that reaches the next level is queued (as its ``_apply_observe``) and applied when the
    proposal ends."""
    searcher = _observed(6)
    config = mixed_space().sample(np.random.default_rng(9))
    searcher.observe(99, config, {"epoch": 1, "loss": 0.5})  # rung 1: next level is 3
    assert (99, 1.0) in searcher.data
    searcher._lock.acquire()  # a proposal running in another thread
    try:
        searcher.observe(99, config, {"epoch": 2, "loss": 0.4})  # below rung 3
        assert not searcher._inbox
        searcher.observe(99, config, {"epoch": 3, "loss": 0.3})  # rung 3: queued
        assert len(searcher._inbox) == 1 and (99, 3.0) not in searcher.data
        # as the method that applies it, not a name each report formats and looks up
        assert searcher._inbox[0][0] == searcher._apply_observe
    finally:
        searcher._lock.release()
    searcher.observe(99, config, {"epoch": 4, "loss": 0.2})  # drains the queue on the way
    assert (99, 3.0) in searcher.data and not searcher._inbox


def test_batches_keep_their_prior_covariance_in_one_work_array_that_is_pickled_empty():
    """A batch's candidates' prior covariance (megabytes for hundreds of candidates) is
    written into the searcher's work array, not a fresh allocation that page-faults in for
    every batch; a pickled searcher leaves the work arrays' contents out, and its batch goes
    on with the same picks."""
    import pickle

    searcher = _observed(60)
    searcher.suggest(60)
    searcher.suggest(61)  # the first pick after the acquisition computes the prior
    first = searcher._batch
    assert first is not None and first._prior is not None
    searcher._batch = None  # as when a new best arrives
    searcher.suggest(62)
    searcher.suggest(63)
    second = searcher._batch
    assert second is not first and second._prior is not None
    assert np.shares_memory(first._prior, second._prior)  # the same work array
    prior = second._prior.copy()
    np.testing.assert_array_equal(prior, second.kernel(second.inputs, second.inputs))
    scratch_bytes = searcher._prior_scratch._flat["k"].nbytes
    copy = pickle.loads(pickle.dumps(searcher))
    assert not copy._prior_scratch._flat and scratch_bytes >= prior.nbytes
    assert len(pickle.dumps(searcher._prior_scratch)) < 200
    np.testing.assert_array_equal(copy._batch._prior, prior)
    assert [searcher.suggest(t) for t in range(64, 67)] == [copy.suggest(t) for t in range(64, 67)]


def test_expected_improvement_in_place_gives_the_formulas_bits():
    """EI is computed in place for the batches' hundreds of picks; it must give exactly what
    ``(best - mean) Phi(z) + std phi(z)`` written out gives, or seeded studies would move."""
    import math

    from scipy.special import ndtr

    from jupyter_hpo.searchers._bayesopt_parts import expected_improvement

    rng = np.random.default_rng(3)
    for scale in (1e-6, 1e-2, 1.0, 30.0):
        mean = rng.standard_normal(500) * scale
        std = np.abs(rng.standard_normal(500)) * scale + 1e-9
        best = float(rng.standard_normal() * scale)
        z = (best - mean) / std
        written_out = (best - mean) * ndtr(z) + std * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        np.testing.assert_array_equal(expected_improvement(best, mean, std), written_out)
