"""The GP's Cholesky factor and solves, by LAPACK directly (scipy's wrappers cost small ones)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

__all__ = ["cholesky_lower", "cholesky_solve", "jittered_cholesky", "solve_lower"]


def cholesky_lower(a: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of ``a`` (LAPACK ``potrf``, as ``scipy.linalg.cholesky``
    computes it, without its wrappers' overhead, which a small matrix feels); raises
    ``LinAlgError`` when ``a`` is not positive definite, ``ValueError`` when not finite."""
    factor, info = lapack.dpotrf(a, lower=True, clean=True)
    if info == 0 and np.all(np.isfinite(np.diag(factor))):  # a non-finite entry spreads there
        return factor
    if info != 0 and np.all(np.isfinite(a)):
        raise np.linalg.LinAlgError(f"not positive definite (potrf info {info})")
    raise ValueError("the covariance matrix has a NaN or infinite entry")


def jittered_cholesky(a: np.ndarray, diagonal: float, jitter: float
                      ) -> tuple[np.ndarray, float]:
    """The lower Cholesky factor of ``a + (diagonal + jitter) I``, the jitter growing tenfold
    until the matrix factorises; and the jitter that did."""
    eye = np.eye(len(a))
    while True:
        try:
            return cholesky_lower(a + (diagonal + jitter) * eye), jitter
        except np.linalg.LinAlgError:
            jitter *= 10


def solve_lower(factor: np.ndarray, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
    """``factor^-1 b`` for a lower-triangular ``factor`` (LAPACK ``trtrs`` called the way
    ``scipy.linalg.solve_triangular`` calls it, so the results are the same bits)."""
    if factor.flags.f_contiguous:
        x, info = lapack.dtrtrs(factor, b, lower=True, overwrite_b=overwrite_b)
    else:  # the transposed system, as trtrs expects Fortran order
        x, info = lapack.dtrtrs(factor.T, b, lower=False, trans=1, overwrite_b=overwrite_b)
    if info != 0:
        raise np.linalg.LinAlgError(f"singular triangular factor (trtrs info {info})")
    return x


def cholesky_solve(factor: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A^-1 b`` from ``A``'s lower Cholesky ``factor`` (LAPACK ``potrs``, as
    ``scipy.linalg.cho_solve``)."""
    x, info = lapack.dpotrs(factor, b, lower=True)
    if info != 0:
        raise ValueError(f"illegal argument to potrs (info {info})")
    return x
