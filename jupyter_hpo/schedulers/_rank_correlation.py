"""What the auto scheduler ranks a rung's trials by, measured on the trials that ran on:
Spearman's rank correlation, and the two-point extrapolation along a trial's fall."""

from __future__ import annotations

from typing import Any

import numpy as np


def extrapolation(values: np.ndarray, change: np.ndarray, finals: np.ndarray
                  ) -> tuple[float, float]:
    """A line through the trials' gains after a rung, ``final - value ≈ a + β·change`` (change:
    the value's change since the rung below), and the Spearman ρ between each trial's
    ``value + β·change`` with β fitted without it (leave-one-out) and its final value: how
    well the extrapolation would rank a trial it has not seen. Returns (β, that ρ)."""
    n = len(values)
    gains = finals - values
    sx, sy = change.sum(), gains.sum()
    sxx, sxy = (change * change).sum(), (change * gains).sum()
    slope = _slope(n, sx, sy, sxx, sxy)
    held_out = _slope(n - 1, sx - change, sy - gains, sxx - change * change,
                      sxy - change * gains)
    rho = spearman(np.column_stack([values + held_out * change, finals]))
    return float(slope), rho


def _slope(n: Any, sx: Any, sy: Any, sxx: Any, sxy: Any) -> Any:
    """The least-squares slope from the sums of x, y, x² and xy over n points (0 where the x
    are all the same); works on arrays of sums too."""
    spread = n * sxx - sx * sx
    scale = np.maximum(n * sxx, 1e-300)
    flat = spread <= 1e-12 * scale
    slope = np.where(flat, 0.0, (n * sxy - sx * sy) / np.where(flat, 1.0, spread))
    return slope


def spearman(pairs: np.ndarray) -> float:
    """Spearman's rank correlation of the two columns of ``pairs`` (ties get their mean
    rank); 0 when either column is constant."""
    ranks = np.column_stack([_ranks(pairs[:, 0]), _ranks(pairs[:, 1])])
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks ** 2).sum(axis=0))
    if norms[0] == 0 or norms[1] == 0:
        return 0.0
    return float((ranks[:, 0] * ranks[:, 1]).sum() / (norms[0] * norms[1]))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank (one sort)."""
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)  # one past each group of ties
    ranks = np.empty(n)
    ranks[order] = ((starts + ends - 1) / 2.0)[np.cumsum(new) - 1]
    return ranks
