"""The pooled learning-curve model of the auto scheduler's ``curve_model``: a shape shared by
all curves, a level and a scale per curve, fitted on generated curves."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_hpo.schedulers._curve_model import (
    EXPONENTS,
    RATES,
    curve_predictions,
    curve_residuals,
    shared_rate,
)
from jupyter_hpo.schedulers._rank_correlation import spearman

MAX_T = 30
EPOCHS = np.arange(1, MAX_T + 1, dtype=float)


def generated(family: str, index: int, n: int = 12, noise: float = 0.0, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` curves of one shape (rate or exponent ``index``), each with its own level and
    scale, that cross: ranked at epoch 3 in about the reverse of their final order, some
    rising (overfitting); and their values at max_t without noise."""
    rng = np.random.default_rng(seed)
    shape = (np.exp(-RATES[index] * EPOCHS / MAX_T) if family == "exp"
             else (EPOCHS / MAX_T) ** -EXPONENTS[index])
    finals = np.sort(rng.uniform(0.1, 1.0, n))
    at_3 = finals[::-1] + rng.uniform(-0.6, 0.3, n)  # some below their finals: rising
    scale = (at_3 - finals) / (shape[2] - shape[-1])
    curves = finals[:, None] + scale[:, None] * (shape[None, :] - shape[-1])
    return curves + noise * rng.standard_normal(curves.shape), finals


@pytest.mark.parametrize("family", ["exp", "power"])
def test_the_shared_shape_is_found_and_predicts_each_final_from_three_reports(family):
    curves, finals = generated(family, 17)
    residuals = curve_residuals(EPOCHS, curves, MAX_T, family)
    assert residuals.shape == (12, 40) and residuals[:, 17].max() < 1e-12
    assert residuals[:, [10, 24]].min() > 1e-6  # other shapes fit worse
    best, held_out = shared_rate(residuals)
    assert best == 17 and list(held_out) == [17] * 12
    predicted = curve_predictions(EPOCHS[:3], curves[:, :3], MAX_T, family)[:, best]
    np.testing.assert_allclose(predicted, finals, atol=1e-8)
    # the values at epoch 3 rank these curves far worse than the predictions do
    ranked_by_value = spearman(np.column_stack([curves[:, 2], finals]))
    assert spearman(np.column_stack([predicted, finals])) == 1.0 > ranked_by_value + 0.3


def test_with_noise_the_fit_is_close_and_a_row_and_a_matrix_agree():
    curves, finals = generated("exp", 25, n=40, noise=1e-3, seed=1)
    best, held_out = shared_rate(curve_residuals(EPOCHS, curves, MAX_T))
    assert abs(best - 25) <= 1 and np.all(np.abs(held_out - 25) <= 1)
    table = curve_predictions(EPOCHS[:9], curves[:, :9], MAX_T)
    assert np.abs(table[:, best] - finals).max() < 0.05
    for row in (0, 7):
        np.testing.assert_allclose(curve_predictions(EPOCHS[:9], curves[row, :9], MAX_T),
                                   table[row])
        np.testing.assert_allclose(curve_residuals(EPOCHS, curves[row], MAX_T),
                                   curve_residuals(EPOCHS, curves, MAX_T)[row])


def test_the_leave_one_out_choice_ignores_the_curve_it_judges():
    """Nine curves of one shape and one of another: the odd one's held-out choice is the
    nine's shape, and each of the nine's choice is not pulled by the odd one."""
    curves, _ = generated("exp", 10, n=9)
    odd, _ = generated("exp", 35, n=1, seed=3)
    residuals = curve_residuals(EPOCHS, np.vstack([curves, 50 * odd]), MAX_T)
    best, held_out = shared_rate(residuals)
    assert held_out[-1] == 10 and list(held_out[:-1]) == [best] * 9


def test_one_report_predicts_itself_and_resources_need_not_be_whole_epochs():
    assert np.all(curve_predictions(np.array([2.0]), np.array([0.7]), MAX_T) == 0.7)
    assert np.all(curve_residuals(np.array([2.0]), np.array([0.7]), MAX_T) == 0.0)
    t = np.array([0.5, 2.0, 7.25])
    values = 0.2 + 0.9 * np.exp(-RATES[20] * t / MAX_T)
    predicted = curve_predictions(t, values, MAX_T)[20]
    assert predicted == pytest.approx(0.2 + 0.9 * np.exp(-RATES[20]), abs=1e-9)


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="family is 'logistic', but must be 'exp' or 'power'"):
        curve_predictions(EPOCHS[:3], np.ones(3), MAX_T, "logistic")
