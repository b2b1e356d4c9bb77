"""Learning-curve rates that differ between trials, for the exponential ``a + b·exp(-k·t/max_t)``
of ``_curve_model``: a trial's rate k is the one that best fits the measured trials' whole
curves, each weighed by how near its configuration is (a kernel over the space's unit cube),
together with the trial's own reports so far.

Configurations learn at different speeds (a small learning rate falls slowly and late), which
one shared rate cannot describe. Freeze-thaw (Swersky et al. 2014) and DyHPO (Wistuba et al.
2022) put a GP over configurations and resources; this is a cheap, deterministic version of
the idea: the rate index is ``argmin_k Σ_i w_i·r_i(k) + OWN_WEIGHT·o(k)``, ``r_i(k)`` measured
curve i's residual with rate k relative to its worst rate's (so that each curve counts alike),
``w_i`` Gaussian kernel weights of the distance to curve i's configuration normalised to sum 1
(equal weights without configurations: a pooled rate), and ``o(k)`` the same relative residual
of the trial's own reports (zero until it has three: two reports fit every rate exactly). The
bandwidth is chosen on the measured curves, each left out in turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: candidate kernel bandwidths, in unit-cube distance (the root mean square over the
#: coordinates); infinity weighs all measured curves alike
BANDWIDTHS = (0.05, 0.1, 0.2, 0.4, math.inf)
#: how much a trial's own reports count against the measured curves' weighted average
OWN_WEIGHT = 1.0


def relative(residuals: np.ndarray) -> np.ndarray:
    """Residuals per rate (last axis) divided by each curve's largest: 0 where the rate fits
    exactly, 1 for the worst; rows that every rate fits exactly stay 0."""
    residuals = np.asarray(residuals, dtype=float)
    return residuals / np.maximum(residuals.max(axis=-1, keepdims=True), 1e-300)


def _weights(units: np.ndarray | None, queries: np.ndarray | None, rows: int, count: int,
             bandwidth: float) -> np.ndarray:
    """Kernel weights (``rows`` queries × ``count`` measured), each row summing to 1: equal
    without configurations or with an infinite bandwidth."""
    if units is None or queries is None or math.isinf(bandwidth):
        return np.full((rows, count), 1.0 / count)
    gap = queries[:, None, :] - units[None, :, :]
    weights = np.exp(-0.5 * (gap * gap).mean(axis=2) / bandwidth ** 2)
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)


@dataclass(frozen=True)
class RateModel:
    """Rates fitted on measured curves: ``rates`` gives ranked trials theirs; ``held_out``
    is each measured trial's, chosen without its own whole curve."""

    fits: np.ndarray  # measured × rates: relative residuals of their whole curves
    units: np.ndarray | None  # measured configurations in the unit cube, or None
    bandwidth: float
    own_weight: float
    held_out: np.ndarray

    def rates(self, own: np.ndarray, queries: np.ndarray | None = None) -> np.ndarray:
        """The rate index of each trial from its reports' residuals per rate (``own``: a row
        per trial, ``_curve_model.curve_residuals`` of its reports so far) and, when the
        model has configurations, its configuration (``queries``: a row per trial)."""
        own = np.atleast_2d(np.asarray(own, dtype=float))
        if queries is not None:
            queries = np.atleast_2d(np.asarray(queries, dtype=float))
        weights = _weights(self.units, queries, len(own), len(self.fits), self.bandwidth)
        return np.argmin(weights @ self.fits + self.own_weight * relative(own), axis=1)


def fit_rate_model(residuals: np.ndarray, own: np.ndarray, units: np.ndarray | None = None,
                   own_weight: float = OWN_WEIGHT) -> RateModel:
    """The model from the measured trials' whole curves' residuals per rate (``residuals``,
    a row per trial), their reports' residuals up to the rung that ranks (``own``, for the
    held-out choice) and, to weigh curves by configuration, their configurations in the unit
    cube (``units``). The bandwidth is the one whose held-out rates fit the held-out whole
    curves best (the larger on a tie)."""
    fits = relative(residuals)
    own_fits = own_weight * relative(own)
    if fits.ndim != 2 or fits.shape != own_fits.shape or len(fits) < 2 or (
            units is not None and np.shape(units) != (len(fits), np.shape(units)[-1])):
        raise ValueError(f"residuals {np.shape(residuals)}, own {np.shape(own)} and units "
                         f"{None if units is None else np.shape(units)} must have a row per "
                         f"measured trial, two or more")
    rows = np.arange(len(fits))
    best: tuple[float, float, np.ndarray] | None = None
    for bandwidth in (BANDWIDTHS if units is not None else (math.inf,)):
        weights = _weights(units, units, len(fits), len(fits), bandwidth)
        weights[rows, rows] = 0.0  # leave each curve out of its own choice
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
        held_out = np.argmin(weights @ fits + own_fits, axis=1)
        loss = float(fits[rows, held_out].sum())
        if best is None or loss <= best[0] + 1e-12:
            best = (loss, bandwidth, held_out)
    assert best is not None
    return RateModel(fits, None if units is None else np.asarray(units, dtype=float),
                     best[1], own_weight, best[2])


def check_curve_model(value: Any) -> bool | str:
    """The auto scheduler's ``curve_model``: False, True (one rate shared by all trials) or
    ``"trial"`` (a rate per trial, this module's), else a ValueError that says so."""
    if isinstance(value, bool) or value == "trial":
        return value
    raise ValueError(f"curve_model is {value!r}, but must be True or False, or 'trial' (a "
                     f"learning-curve rate per trial, from its own reports and the measured "
                     f"curves)")
