"""Matrix products for the GP with scipy's BLAS, the library its factorisations use.

numpy's and scipy's wheels each bring their own OpenBLAS, with its own thread pool, and
OpenBLAS keeps its threads spinning for a while after every call that used them. A GP step
that alternates numpy's ``@`` and scipy's LAPACK (a product, then ``potri``, then a product)
made each library's call wait for the other's spinning threads: on 2 cores a hyperparameter
fit over 500 one-hot columns took 40x longer with OpenBLAS's default threads than with one.
Routing the products through ``scipy.linalg.blas`` keeps every threaded call in one pool.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

__all__ = ["product"]

# products of fewer multiply-adds stay with numpy: neither library starts threads for them (at
# these sizes the call's overhead counts, and numpy's is the smaller); numpy's OpenBLAS 0.3.31
# started its threads from about a million (936,000 ran on one, 1.8 million on two)
_THREADED = 1 << 19


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for float64 arrays of one or two dimensions, not both vectors (a matrix
    result is C-ordered; with ``out``, a C-ordered array of its shape, it is written there);
    small products by numpy, large ones by scipy's BLAS."""
    if a.size * (b.shape[1] if b.ndim == 2 else 1) < _THREADED:  # also every empty one
        return np.matmul(a, b, out=out)
    if b.ndim == 1:  # a @ v
        fa, ta = _fortran(a)
        return blas.dgemv(1.0, fa, b, trans=ta)
    if a.ndim == 1:  # v @ b = b.T @ v
        fb, tb = _fortran(b.T)
        return blas.dgemv(1.0, fb, a, trans=tb)
    # (a @ b).T = b.T @ a.T, computed in Fortran order: its transpose is the C-ordered a @ b
    fb, tb = _fortran(b.T)
    fa, ta = _fortran(a.T)
    if out is None:
        return blas.dgemm(1.0, fb, fa, trans_a=tb, trans_b=ta).T
    result = blas.dgemm(1.0, fb, fa, beta=0.0, c=out.T, trans_a=tb, trans_b=ta,
                        overwrite_c=True).T
    if not np.shares_memory(result, out):  # f2py copied ``out`` (not C-ordered float64)
        out[...] = result
    return out


def _fortran(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(f, trans)`` with ``f`` Fortran-ordered and ``op(f)`` equal to ``x``, without a copy
    when ``x`` or its transpose is contiguous."""
    if x.flags.f_contiguous:
        return x, 0
    if x.flags.c_contiguous:
        return x.T, 1
    return np.asfortranarray(x), 0
