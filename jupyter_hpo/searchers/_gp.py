"""A small Gaussian-process regressor for the bayesopt searcher (numpy and scipy only).

Kernels act on encoded inputs: a configuration in [0, 1]^d, optionally followed by one column
for the resource (normalised to [0, 1]) in multi-fidelity use. Hyperparameters (all on a log
scale) are fitted by maximising the log marginal likelihood plus weak Gaussian log-priors, with
L-BFGS-B on analytic gradients inside bounds that keep the fit stable; prediction reuses one
Cholesky factor. Targets are expected to be normalised by the caller.

This module holds the kernel's parameters and the regressor (fit, condition, predict,
fantasise); the Matérn-5/2 arithmetic, the LAPACK Cholesky helpers and the exponential-decay
kernels (a mixin of ``Kernel``) are in the ``_gp_*.py`` modules beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.linalg import lapack
from scipy.optimize import minimize

from ._blas import product
from ._gp_exp_decay import ExpDecayMixin
from ._gp_linalg import cholesky_lower, cholesky_solve, jittered_cholesky, solve_lower
from ._gp_matern import _warp, ard_contract, matern52, scaled_rows

# the Matérn and Cholesky helpers, defined beside the code like them, are importable from here
__all__ = ["KERNELS", "GaussianProcess", "Kernel", "Scratch", "ard_contract", "cholesky_lower",
           "cholesky_solve", "jittered_cholesky", "matern52", "scaled_rows", "solve_lower"]

KERNELS = ("matern52", "matern52-res-warp", "exp-decay-sum", "exp-decay-combined",
           "exp-decay-delta1")
_DELTA_KINDS = ("exp-decay-combined", "exp-decay-delta1")


class Scratch:
    """Reusable work arrays for kernel matrices of repeated predictions. Allocating a fresh
    array of a few hundred KB per call costs more than the arithmetic: the allocator hands
    large blocks back to the system, so every new one page-faults in again."""

    def __init__(self) -> None:
        self._flat: dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict[str, dict[str, np.ndarray]]:
        """Pickled empty: the contents are undefined between uses, and megabytes."""
        return {"_flat": {}}

    def array(self, slot: str, shape: tuple[int, int]) -> np.ndarray:
        """A C-ordered array of ``shape`` whose contents are undefined; it stays valid until
        the next request for ``slot``."""
        size = shape[0] * shape[1]
        flat = self._flat.get(slot)
        if flat is None or flat.size < size:
            flat = self._flat[slot] = np.empty(max(size, 2 * (0 if flat is None else flat.size)))
        return flat[:size].reshape(shape)


class Kernel(ExpDecayMixin):
    """A covariance over encoded inputs with its log-parameters ``theta``.

    Without a resource column every kernel is the Matérn-5/2 ARD over the configuration.
    With one (``has_resource``):
    ``matern52``: Matérn-5/2 ARD over (configuration, resource) jointly.
    ``matern52-res-warp``: the same after warping the resource with a learnt Kumaraswamy CDF
    ``1 - (1 - r^a)^b``, so curves may change fast early and slowly later.
    ``exp-decay-sum``: ``k_x(x, x') + k_x'(x, x') * k_exp(r, r')`` with two Matérn kernels on
    the configuration and freeze-thaw's exponential-decay kernel
    ``k_exp(r, r') = beta^alpha / (r + r' + beta)^alpha`` for curves that flatten out.
    ``exp-decay-combined`` and ``exp-decay-delta1``: the exponential-decay family of Tiao,
    Klein, Archambeau and Seeger (2020, arXiv:2003.10865), the covariance of
    ``f(x) (1 - delta e^(-lambda r)) + gamma e^(-lambda r)`` for a Matérn GP ``f`` and a
    Gamma-distributed decay rate ``lambda`` shared by all curves, with
    ``kappa(r) = E[e^(-lambda r)] = (beta / (r + beta))^alpha``:
    ``s k_x(x, x') (1 - delta (kappa(r) + kappa(r') - delta kappa(r + r')))
    + gamma^2 (kappa(r + r') - kappa(r) kappa(r'))``. ``delta`` is learnt in (0, 1] for
    ``combined`` and fixed at 1 for ``delta1`` (every curve starts from the same value and
    decays towards ``f(x)``). Targets are normalised to mean 0, so the paper's mean function
    is left out: the prior mean is 0 at every resource.
    """

    def __init__(self, name: str, dims: int, has_resource: bool) -> None:
        if name not in KERNELS:
            raise ValueError(f"kernel is {name!r}, but must be one of {', '.join(KERNELS)}")
        self.name, self.dims, self.has_resource = name, dims, has_resource
        self.kind = name if has_resource else "matern52"
        self.fixed_delta = 1.0 if self.kind == "exp-decay-delta1" else None
        n_len = dims + (1 if self.kind in ("matern52", "matern52-res-warp") and has_resource
                        else 0)
        # (name, size, initial, bound lo, bound hi, prior sd) of each log-parameter block
        blocks = [("lengthscales", n_len, 0.5, 0.01, 50.0, 1.5),
                  ("signal", 1, 1.0, 0.05, 20.0, 1.0),
                  ("noise", 1, 1e-2, 1e-6, 1.0, 2.0)]
        if self.kind == "matern52-res-warp":
            blocks.append(("warp", 2, 1.0, 0.2, 5.0, 0.75))
        if self.kind == "exp-decay-sum":
            blocks += [("lengthscales2", dims, 0.5, 0.01, 50.0, 1.5),
                       ("signal2", 1, 0.5, 0.01, 20.0, 1.0),
                       ("decay", 2, 1.0, 0.1, 10.0, 1.0)]
        if self.kind in _DELTA_KINDS:
            blocks += [("decay", 2, 1.0, 0.1, 10.0, 1.0), ("gamma", 1, 0.5, 0.01, 20.0, 1.0)]
            if self.fixed_delta is None:
                blocks.append(("delta", 1, 0.5, 1e-3, 1.0, 1.0))
        self.slices: dict[str, slice] = {}
        start, init, bounds, sds = 0, [], [], []
        for block, size, value, lo, hi, sd in blocks:
            self.slices[block] = slice(start, start + size)
            start += size
            init += [math.log(value)] * size
            bounds += [(math.log(lo), math.log(hi))] * size
            sds += [sd] * size
        self.initial = np.array(init)
        self.theta = self.initial.copy()
        self.bounds = bounds
        self.prior_sd = np.array(sds)

    def part(self, block: str, theta: np.ndarray | None = None) -> np.ndarray:
        """The positive values of one parameter block."""
        return np.exp((self.theta if theta is None else theta)[self.slices[block]])

    @property
    def noise(self) -> float:
        return float(self.part("noise")[0])

    def __call__(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray | None = None
                 ) -> np.ndarray:
        return self._evaluate(a, b, theta)

    def cross(self, a: np.ndarray, b: np.ndarray, scratch: Scratch,
              scaled_b: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """k(a, b) with the current hyperparameters, in ``scratch`` for the plain Matérn
        kernel (the one prediction at many candidates uses most; ``scaled_b`` as for
        ``matern52``)."""
        if self.kind != "matern52":
            return self._evaluate(a, b, None)
        k = matern52(a, b, self.part("lengthscales"), scratch=scratch, scaled_b=scaled_b)[0]
        k *= self.part("signal")[0]
        return k

    def diag(self, a: np.ndarray) -> np.ndarray:
        """Prior variances k(a_i, a_i)."""
        signal = self.part("signal")[0]
        if self.kind in _DELTA_KINDS:
            alpha, beta = self.part("decay")
            r = a[:, -1]
            k1, k2 = (beta / (r + beta)) ** alpha, (beta / (2.0 * r + beta)) ** alpha
            delta, gamma = self._delta(self.theta), self.part("gamma")[0]
            return (signal * (1.0 - 2.0 * delta * k1 + delta ** 2 * k2)
                    + gamma ** 2 * (k2 - k1 ** 2))
        if self.kind != "exp-decay-sum":
            return np.full(len(a), signal)
        alpha, beta = self.part("decay")
        decay = beta ** alpha / (2.0 * a[:, -1] + beta) ** alpha
        return signal + self.part("signal2")[0] * decay

    def with_gradients(self, x: np.ndarray, theta: np.ndarray, scratch: Scratch | None = None
                       ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """k(x, x) and a function that maps a symmetric ``w`` to ``0.5 tr(w dK/dtheta_j)`` for
        each log-parameter (0 for the noise, which the caller adds): the marginal
        likelihood's gradient without one n-by-n matrix per parameter. With ``scratch`` (the
        plain and warped Matérn kernels) both use its work arrays: call the function before
        the next use of ``scratch``."""
        if self.kind == "exp-decay-sum":
            return self._exp_decay_sum_gradients(x, theta)
        if self.kind in _DELTA_KINDS:
            return self._exp_decay_delta_gradients(x, theta)
        n_theta = len(theta)
        signal = self.part("signal", theta)[0]
        lengths = self.part("lengthscales", theta)
        warp_derivatives = None
        if self.kind == "matern52-res-warp":
            x, warp_derivatives = _warp(x, *self.part("warp", theta))
        k, dk_dr2, scaled = matern52(x, x, lengths, grad=True, scratch=scratch)
        assert dk_dr2 is not None and scaled is not None
        k *= signal
        product = np.empty(k.shape) if scratch is None else scratch.array("gq", k.shape)

        def contract(w: np.ndarray) -> np.ndarray:
            out = np.zeros(n_theta)
            # dK/dlog l_d = signal * dk/dr2 * (-2 (x_id - x_jd)^2 / l_d^2)
            out[self.slices["lengthscales"]] = -signal * ard_contract(
                scaled, np.multiply(w, dk_dr2, out=product))
            out[self.slices["signal"]] = 0.5 * np.sum(np.multiply(w, k, out=product))
            if warp_derivatives is not None:
                # dK_ij/dw_i = signal * dk/dr2 * 2 (w_i - w_j) / l^2, antisymmetric in i, j
                r = x[:, -1]
                base = w * signal * dk_dr2 * 2.0 * (r[:, None] - r[None, :]) / lengths[-1] ** 2
                out[self.slices["warp"]] = base.sum(axis=1) @ warp_derivatives
            return out

        return k, contract

    def _evaluate(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray | None) -> np.ndarray:
        theta = self.theta if theta is None else theta
        if self.kind in _DELTA_KINDS:
            return self._exp_decay_delta(a, b, theta)
        signal = self.part("signal", theta)[0]
        lengths = self.part("lengthscales", theta)
        if self.kind == "exp-decay-sum":
            alpha, beta = self.part("decay", theta)
            decay = (beta / (a[:, -1][:, None] + b[:, -1][None, :] + beta)) ** alpha
            return (signal * matern52(a[:, :-1], b[:, :-1], lengths)[0]
                    + self.part("signal2", theta)[0] * decay
                    * matern52(a[:, :-1], b[:, :-1], self.part("lengthscales2", theta))[0])
        if self.kind == "matern52-res-warp":
            a = _warp(a, *self.part("warp", theta))[0]
            b = _warp(b, *self.part("warp", theta))[0]
        return signal * matern52(a, b, lengths)[0]


class GaussianProcess:
    """GP regression on normalised targets; ``fit`` learns hyperparameters, ``condition``
    only refactorises (for new data or fantasies)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.x = np.zeros((0, kernel.dims + int(kernel.has_resource)))
        self.y = np.zeros(0)
        self.scratch = Scratch()
        self._upper_mask = np.zeros((0, 0), dtype=bool)
        # (theta, x, scaled_rows(x, lengthscales)) of the last prediction
        self._scaled: tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            restarts: int = 0, subset: np.ndarray | None = None) -> None:
        """Maximise the penalised marginal likelihood (on the rows ``subset`` of the data, all
        by default) from the current hyperparameters and ``restarts`` random starts; then
        condition on all of the data."""
        xs, ys = (x, y) if subset is None else (x[subset], y[subset])
        starts = [self.kernel.theta]
        for _ in range(restarts):
            low, high = np.array(self.kernel.bounds).T
            spread = self.kernel.initial + rng.normal(0.0, 1.0, len(low)) * self.kernel.prior_sd
            starts.append(np.clip(spread, low, high))
        best_value, best_theta = math.inf, self.kernel.theta
        for start in starts:
            result = minimize(self._objective, start, args=(xs, ys), jac=True,
                              method="L-BFGS-B", bounds=self.kernel.bounds,
                              options={"maxiter": 50})
            if np.isfinite(result.fun) and result.fun < best_value:
                best_value, best_theta = float(result.fun), result.x
        self.kernel.theta = np.asarray(best_theta, dtype=float)
        self.condition(x, y)

    def _objective(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray
                   ) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood minus the log-prior, and its gradient."""
        kernel, scratch, n = self.kernel, self.scratch, len(x)
        k, contract = kernel.with_gradients(x, theta, scratch)
        noise = math.exp(theta[kernel.slices["noise"].start])
        covariance = scratch.array("cov", (n, n)).T  # Fortran order, factorised in place
        np.copyto(covariance, k)  # contract() still needs k itself
        np.einsum("ii->i", covariance)[:] += noise + 1e-8
        factor, info = lapack.dpotrf(covariance, lower=True, clean=False, overwrite_a=True)
        if info != 0 or not np.all(np.isfinite(np.diag(factor))):
            return 1e10, np.zeros_like(theta)
        alpha = lapack.dpotrs(factor, y, lower=True)[0]
        log_det = np.sum(np.log(np.diag(factor)))
        inverse, info = lapack.dpotri(factor, lower=True, overwrite_c=True)  # K^-1's lower half
        if info != 0:
            return 1e10, np.zeros_like(theta)
        w = scratch.array("w", (n, n))  # K^-1 - alpha alpha^T, both halves
        np.copyto(w, inverse)
        np.copyto(w, inverse.T, where=self._upper(n))
        outer = scratch.array("outer", (n, n))
        w -= np.multiply(alpha[:, None], alpha[None, :], out=outer)
        deviation = (theta - kernel.initial) / kernel.prior_sd
        value = (0.5 * y @ alpha + log_det
                 + 0.5 * len(x) * math.log(2 * math.pi) + 0.5 * np.sum(deviation ** 2))
        gradient = deviation / kernel.prior_sd + contract(w)
        gradient[kernel.slices["noise"].start] += 0.5 * noise * np.trace(w)  # dK = noise * I
        return float(value), gradient

    def _upper(self, n: int) -> np.ndarray:
        """A mask of the strict upper triangle of an n-by-n matrix (kept for repeated fits)."""
        mask = self._upper_mask
        if mask.shape != (n, n):
            mask = self._upper_mask = np.triu(np.ones((n, n), dtype=bool), 1)
        return mask

    def condition(self, x: np.ndarray, y: np.ndarray) -> None:
        """Use data ``x, y`` with the current hyperparameters."""
        self.x, self.y = x, y
        k = self.kernel(x, x)
        self.factor, jitter = jittered_cholesky(k, self.kernel.noise, 1e-8)
        self.diagonal = self.kernel.noise + jitter
        self.alpha = cholesky_solve(self.factor, y)

    def fitted_mean(self) -> np.ndarray:
        """Posterior mean at the training inputs, without a kernel evaluation:
        ``K alpha = y - (noise + jitter) alpha``."""
        return self.y - self.diagonal * self.alpha

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at ``x``."""
        mean, variance, _ = self.posterior(x)
        return mean, np.sqrt(variance)

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean and variance (of the latent function) at ``x``, and
        ``L^-1 K(X, x)``, which rank-1 updates of the posterior at ``x`` reuse; it lives in
        the work arrays, valid until the next prediction (copy what is kept)."""
        cross = self.kernel.cross(x, self.x, self.scratch, self._scaled_inputs())
        mean = product(cross, self.alpha)
        factors = solve_lower(self.factor, cross.T, overwrite_b=True)
        variance = np.maximum(self.kernel.diag(x) - np.einsum("ij,ij->j", factors, factors),
                              1e-12)
        return mean, variance, factors

    def _scaled_inputs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The training inputs scaled by the plain Matérn kernel's lengthscales (see
        ``scaled_rows``), computed once per data and hyperparameters, not per prediction."""
        kernel = self.kernel
        if kernel.kind != "matern52":
            return None
        if self._scaled is None or self._scaled[0] is not kernel.theta \
                or self._scaled[1] is not self.x:
            self._scaled = (kernel.theta, self.x,
                            scaled_rows(self.x, kernel.part("lengthscales")))
        return self._scaled[2]

    def fantasised(self, x: np.ndarray) -> GaussianProcess:
        """A copy also conditioned on ``x`` observed at its posterior mean (kriging believer):
        the mean is unchanged, the uncertainty around ``x`` shrinks. The Cholesky factor grows
        by a block instead of being recomputed."""
        cross = self.kernel(self.x, x)
        below = solve_lower(self.factor, cross)
        corner = self.kernel(x, x) + self.diagonal * np.eye(len(x)) - product(below.T, below)
        tail, _ = jittered_cholesky(corner, 0.0, 1e-10)
        copy = GaussianProcess(self.kernel)
        copy.scratch = self.scratch  # one proposal at a time uses either
        copy.x = np.vstack([self.x, x])
        copy.y = np.concatenate([self.y, product(cross.T, self.alpha)])
        copy.factor = np.block([[self.factor, np.zeros((len(self.x), len(x)))],
                                [below.T, tail]])
        copy.diagonal = self.diagonal
        copy.alpha = cholesky_solve(copy.factor, copy.y)
        return copy
