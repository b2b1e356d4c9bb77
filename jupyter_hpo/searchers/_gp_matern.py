"""The Matérn-5/2 ARD correlation of the GP's kernels, the pieces of its gradient, the warp."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._blas import product

if TYPE_CHECKING:
    from ._gp import Scratch

__all__ = ["_warp", "ard_contract", "matern52", "scaled_rows"]

_SQRT5 = math.sqrt(5.0)
_EPS_R = 1e-6


def scaled_rows(x: np.ndarray, lengthscales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x / lengthscales`` and its rows' squared norms: what ``matern52`` computes of its
    ``b``, kept by a caller that predicts many times against the same training inputs."""
    scaled = x / lengthscales
    return scaled, np.einsum("ij,ij->i", scaled, scaled)


def matern52(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray,
             grad: bool = False, scratch: Scratch | None = None,
             scaled_b: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Matérn-5/2 correlation with one lengthscale per column (ARD); with ``grad`` (for
    ``a`` = ``b``) also dk/d(r^2) and the scaled inputs ``a / lengthscales`` that
    ``ard_contract`` takes. With ``scratch`` the results live in its work arrays (slots "r"
    and "k"; with ``grad`` "gr", "gk" and "ge"), valid until the next call that uses them.
    ``scaled_b`` is ``scaled_rows(b, lengthscales)`` when the caller keeps it (the same
    bits)."""
    shape = (len(a), len(b))
    slots = ("gr", "gk") if grad else ("r", "k")
    r, k = (np.empty(shape) for _ in slots) if scratch is None \
        else (scratch.array(slot, shape) for slot in slots)
    # |a - b|^2 by a matrix product, without the (n, m, d) array, in place
    sa = a / lengthscales
    sb, b_norms = scaled_rows(b, lengthscales) if scaled_b is None else scaled_b
    product(sa, sb.T, out=r)
    r *= -2.0
    r += np.einsum("ij,ij->i", sa, sa)[:, None]
    r += b_norms[None, :]
    np.maximum(r, 0.0, out=r)
    if grad:
        np.fill_diagonal(r, 0.0)
    np.sqrt(r, out=r)
    np.multiply(r, 5.0 / 3.0, out=k)  # k = 1 + sqrt5 r + 5/3 r^2
    k += _SQRT5
    k *= r
    k += 1.0
    if not grad:
        r *= -_SQRT5
        k *= np.exp(r, out=r)
        return k, None, None
    e = np.empty(shape) if scratch is None else scratch.array("ge", shape)
    np.multiply(r, -_SQRT5, out=e)
    np.exp(e, out=e)
    k *= e
    dk_dr2 = r  # -5/6 (1 + sqrt5 r) e, in r's array
    dk_dr2 *= _SQRT5
    dk_dr2 += 1.0
    dk_dr2 *= e
    dk_dr2 *= -5.0 / 6.0
    return k, dk_dr2, sa


def ard_contract(scaled: np.ndarray, q: np.ndarray) -> np.ndarray:
    """For each column d of ``scaled`` (inputs divided by their lengthscales), the sum over
    i, j of ``(scaled[i, d] - scaled[j, d])^2 q[i, j]``, in O(n^2 d) without an (d, n, n)
    array: the squared differences' part of the lengthscale gradients."""
    sums = q.sum(axis=1) + q.sum(axis=0)
    return product((scaled * scaled).T, sums) - 2.0 * np.einsum("id,id->d", scaled,
                                                                  product(q, scaled))


def _warp(x: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs with the last column warped by ``1 - (1 - r^a)^b``, and the warped column's
    derivatives by log a and log b."""
    r = np.clip(x[:, -1], _EPS_R, 1.0 - _EPS_R)
    ra = r ** a
    inner = 1.0 - ra
    warped = x.copy()
    warped[:, -1] = 1.0 - inner ** b
    d_log_a = b * inner ** (b - 1.0) * ra * np.log(r) * a
    d_log_b = -(inner ** b) * np.log(inner) * b
    return warped, np.stack([d_log_a, d_log_b], axis=1)
