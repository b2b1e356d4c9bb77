"""Pieces of the bayesopt searcher that keep its proposals cheap: expected improvement, the
summary of rung results the multi-fidelity model conditions on, and snapping tables for integer
and stepped domains."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

_SQRT_2PI = math.sqrt(2 * math.pi)


def expected_improvement(best: float, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """EI for minimisation, in the GP's normalised units: ``(best - mean) Phi(z) + std phi(z)``
    with ``z = (best - mean) / std``, computed in place (the same bits as the formula written
    out, with four arrays instead of eleven: a batch's picks evaluate it hundreds of times)."""
    gap = best - mean
    z = gap / std
    ei = ndtr(z)
    ei *= gap
    density = np.multiply(z, -0.5, out=gap)  # -0.5 z z, left to right as written
    density *= z
    np.exp(density, out=density)
    density *= std
    density /= _SQRT_2PI
    ei += density
    return ei


def summary_rows(ys: np.ndarray, rs: np.ndarray, ranks: np.ndarray, size: int,
                 keep_best: int) -> np.ndarray:
    """The rows a multi-fidelity model keeps, in order (all of them up to ``size``): at each
    normalised level ``rs`` the ``keep_best`` lowest ``ys``, then the others by level (highest
    first) and ``ranks``."""
    n = len(ys)
    if n <= size:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    for r in np.unique(rs):
        at = np.flatnonzero(rs == r)
        keep[at[np.argsort(ys[at], kind="stable")[:keep_best]]] = True
    order = np.lexsort((ranks, -rs))
    rest = order[~keep[order]][:max(size - int(keep.sum()), 0)]
    keep[rest] = True
    return np.flatnonzero(keep)


def snap_table(domain: Any, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For an integer or stepped domain of at most ``limit`` values: the points of [0, 1]
    where ``from_unit`` moves to the next value (found by bisection, to the float) and the
    centre of each value's cell, so snapping a column is one ``searchsorted``; None for larger
    domains."""
    count = domain._count or domain.hi - domain.lo + 1  # values of the domain
    if count > limit:
        return None
    values = sorted(set(domain.grid(count)))
    centres = np.array([domain.to_unit(v) for v in values])
    edges = []
    for i in range(1, len(values)):
        lo, hi = float(centres[i - 1]), float(centres[i])
        for _ in range(80):  # the smallest u whose value is values[i]
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            lo, hi = (lo, mid) if domain.from_unit(mid) >= values[i] else (mid, hi)
        edges.append(hi)
    return np.array(edges), centres
