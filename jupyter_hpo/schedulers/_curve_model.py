"""A pooled parametric learning-curve model, to predict a trial's value at max_t from its first
few reports: every curve is ``a + b·exp(-k·t / max_t)``, the rate ``k`` shared by all trials
and fitted on the whole curves of the trials that ran to max_t, the level ``a`` and scale
``b`` each trial's own, fitted by least squares on its reports so far.

The curves of one problem share their shape far more than their levels (freeze-thaw, Swersky
et al. 2014, models them as exponential decays whose rate is shared; Domhan et al. 2015 fit
parametric families per curve, Kadra et al. 2023 a power law per configuration). With two
free numbers per trial, a trial needs two reports to be predicted, and once ``k`` is fixed the
prediction is linear in its values, so it is cheap and deterministic. ``k`` is chosen on a
fixed grid (``RATES``), not by an optimiser, so that a fit is a few array operations. The
pooled power law ``a + b·(t/max_t)^-c`` (``family="power"``, exponents ``EXPONENTS``) is here
for ``benchmarks/extrapolation.py``: it ranked crossing curves worse (RESULTS.md, "A pooled
learning-curve model").
"""

from __future__ import annotations

import numpy as np

#: candidate rates ``k``: the curve falls by exp(-k) of its scale between t = 0 and max_t,
#: from almost a straight line (0.3) to a curve that is flat after a thirtieth of max_t (90)
RATES = np.geomspace(0.3, 90.0, 40)
#: candidate exponents ``c`` of the power law (``family="power"``)
EXPONENTS = np.geomspace(0.01, 3.0, 40)


def _shapes(t: np.ndarray, max_t: float, family: str = "exp") -> np.ndarray:
    """Each candidate shape (rows) at the resources ``t`` (columns): exp(-k·t / max_t), or
    (t / max_t)^-c for the power law; all are 1 or exp(-k) at max_t."""
    relative = np.asarray(t, dtype=float) / max_t
    if family == "power":
        return np.power(relative[None, :], -EXPONENTS[:, None])
    if family != "exp":
        raise ValueError(f"family is {family!r}, but must be 'exp' or 'power'")
    return np.exp(-np.outer(RATES, relative))


def _fit(t: np.ndarray, y: np.ndarray, max_t: float, family: str
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``y`` (values at the resources ``t``) and each shape: the least-squares
    ``b`` (rows × shapes), the row means, the shapes' means and their spread."""
    shapes = _shapes(t, max_t, family)
    centre = shapes.mean(axis=1)
    centred = shapes - centre[:, None]
    spread = (centred * centred).sum(axis=1)
    flat = spread <= 1e-24  # one resource only: no slope to fit, b = 0
    mean = y.mean(axis=-1)
    scale = ((y - mean[..., None]) @ centred.T) / np.where(flat, 1.0, spread)
    scale[..., flat] = 0.0
    return scale, mean, centre, spread


def curve_predictions(t: np.ndarray, y: np.ndarray, max_t: float, family: str = "exp"
                      ) -> np.ndarray:
    """The value at max_t predicted for each rate from reports ``y`` at resources ``t`` (a
    row of values, or rows of trials that share ``t``): ``a + b·exp(-k)``; with one report,
    that report."""
    y = np.asarray(y, dtype=float)
    scale, mean, centre, _ = _fit(t, y, max_t, family)
    return mean[..., None] + scale * (_shapes([max_t], max_t, family)[:, 0] - centre)


def curve_residuals(t: np.ndarray, y: np.ndarray, max_t: float, family: str = "exp"
                    ) -> np.ndarray:
    """For each rate, the sum of squared residuals of the best ``a + b·exp(-k·t/max_t)`` through
    reports ``y`` at resources ``t`` (a row, or rows that share ``t``): how well the shape
    fits a whole curve."""
    y = np.asarray(y, dtype=float)
    scale, mean, _, spread = _fit(t, y, max_t, family)
    centred = y - mean[..., None]
    total = (centred * centred).sum(axis=-1)
    return np.maximum(total[..., None] - scale * scale * spread, 0.0)


def shared_rate(residuals: np.ndarray) -> tuple[int, np.ndarray]:
    """The rate index that fits all the curves best (``residuals``: curves × rates, from
    ``curve_residuals``), and for each curve the one that fits the others best (the
    leave-one-out choice, to judge the model on a curve it was not fitted to)."""
    total = residuals.sum(axis=0)
    held_out = np.argmin(total[None, :] - residuals, axis=1)
    return int(np.argmin(total)), held_out
