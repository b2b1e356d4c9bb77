"""A small Gaussian-process regressor for the bayesopt searcher (numpy and scipy only).

Kernels act on encoded inputs: a configuration in [0, 1]^d, optionally followed by one column
for the resource (normalised to [0, 1]) in multi-fidelity use. Hyperparameters are fitted by
maximising the log marginal likelihood (L-BFGS-B on log parameters, with bounds that keep the
fit stable); prediction reuses one Cholesky factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

KERNELS = ("matern52", "matern52-res-warp", "exp-decay-sum")
_SQRT5 = math.sqrt(5.0)


def matern52(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Matérn-5/2 correlation with one lengthscale per input column (ARD)."""
    diff = (a[:, None, :] - b[None, :, :]) / lengthscales
    r = np.sqrt(np.maximum(np.sum(diff * diff, axis=-1), 0.0))
    return (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-_SQRT5 * r)


@dataclass
class Kernel:
    """A covariance over encoded inputs with its log-parameters ``theta``.

    ``matern52``: Matérn-5/2 ARD over every column (the resource too, if any).
    ``matern52-res-warp``: the same after warping the resource column with a learnt
    Kumaraswamy CDF ``1 - (1 - r^a)^b``, so curves may change fast early and slowly later.
    ``exp-decay-sum``: ``k_x(x, x') * (1 + k_exp(r, r'))`` with the exponential-decay kernel
    ``k_exp(r, r') = beta^alpha / (r + r' + beta)^alpha`` of freeze-thaw Bayesian optimisation,
    for learning curves that flatten as the resource grows.
    """

    name: str
    dims: int
    has_resource: bool
    theta: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.name not in KERNELS:
            raise ValueError(f"kernel is {self.name!r}, but must be one of {', '.join(KERNELS)}")
        n_length = self.dims + (1 if self.has_resource and self.name != "exp-decay-sum" else 0)
        extra = {"matern52-res-warp": 2, "exp-decay-sum": 2}.get(self.name, 0) \
            if self.has_resource else 0
        # log lengthscales, log signal variance, log noise variance, then the kernel's extras
        self.theta = np.concatenate([np.full(n_length, math.log(0.5)), [0.0, math.log(1e-3)],
                                     np.zeros(extra)])
        self.bounds = ([(math.log(0.01), math.log(20.0))] * n_length
                       + [(math.log(0.05), math.log(20.0)), (math.log(1e-6), math.log(0.5))]
                       + [(math.log(0.1), math.log(10.0))] * extra)
        self._n_length = n_length

    @property
    def noise(self) -> float:
        return math.exp(self.theta[self._n_length + 1])

    def __call__(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray | None = None
                 ) -> np.ndarray:
        theta = self.theta if theta is None else theta
        lengths = np.exp(theta[:self._n_length])
        signal = math.exp(theta[self._n_length])
        extra = np.exp(theta[self._n_length + 2:])
        if not self.has_resource:
            return signal * matern52(a, b, lengths)
        if self.name == "matern52":
            return signal * matern52(a, b, lengths)
        if self.name == "matern52-res-warp":
            warp_a, warp_b = extra
            return signal * matern52(_warp(a, warp_a, warp_b), _warp(b, warp_a, warp_b), lengths)
        alpha, beta = extra
        k_x = matern52(a[:, :-1], b[:, :-1], lengths)
        r_sum = a[:, -1][:, None] + b[:, -1][None, :]
        return signal * k_x * (1.0 + beta ** alpha / (r_sum + beta) ** alpha)


def _warp(x: np.ndarray, a: float, b: float) -> np.ndarray:
    warped = x.copy()
    r = np.clip(x[:, -1], 0.0, 1.0)
    warped[:, -1] = 1.0 - (1.0 - r ** a) ** b
    return warped


class GaussianProcess:
    """GP regression with normalised targets; ``fit`` learns hyperparameters, ``condition``
    only refactorises (for new data or fantasies)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.x = np.zeros((0, kernel.dims + int(kernel.has_resource)))
        self.y = np.zeros(0)

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
            max_points: int = 150, restart: bool = True) -> None:
        """Maximise the marginal likelihood (on at most ``max_points`` of the data) from the
        current hyperparameters and, with ``restart``, from a random start too; then condition
        on all of the data."""
        subset = np.arange(len(x))
        if len(x) > max_points:
            subset = np.sort(rng.choice(len(x), size=max_points, replace=False))
        xs, ys = x[subset], _normalise(y[subset])[0]
        starts = [self.kernel.theta]
        if restart:
            starts.append(np.array([rng.uniform(lo, hi) for lo, hi in self.kernel.bounds]))
        best = None
        for start in starts:
            result = minimize(self._nll, start, args=(xs, ys), method="L-BFGS-B",
                              bounds=self.kernel.bounds, options={"maxiter": 40})
            if best is None or result.fun < best.fun:
                best = result
        if best is not None and np.isfinite(best.fun):
            self.kernel.theta = best.x
        self.condition(x, y)

    def _nll(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        try:
            noise = math.exp(theta[self.kernel._n_length + 1])
            k = self.kernel(x, x, theta) + (noise + 1e-8) * np.eye(len(x))
            factor = cholesky(k, lower=True)
        except (np.linalg.LinAlgError, ValueError):
            return 1e10
        alpha = cho_solve((factor, True), y)
        return float(0.5 * y @ alpha + np.sum(np.log(np.diag(factor)))
                     + 0.5 * len(x) * math.log(2 * math.pi))

    def condition(self, x: np.ndarray, y: np.ndarray) -> None:
        """Use data ``x, y`` with the current hyperparameters."""
        self.x, self.y = x, y
        self.y_norm, self.mean, self.std = _normalise(y)
        k = self.kernel(x, x) + (self.kernel.noise + 1e-8) * np.eye(len(x))
        jitter = 1e-8
        while True:
            try:
                self.factor = cholesky(k + jitter * np.eye(len(x)), lower=True)
                break
            except np.linalg.LinAlgError:
                jitter *= 10
        self.alpha = cho_solve((self.factor, True), self.y_norm)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the normalised target at ``x``."""
        cross = self.kernel(x, self.x)
        mean = cross @ self.alpha
        v = solve_triangular(self.factor, cross.T, lower=True)
        prior = math.exp(self.kernel.theta[self.kernel._n_length])
        if self.kernel.has_resource and self.kernel.name == "exp-decay-sum":
            alpha, beta = np.exp(self.kernel.theta[self.kernel._n_length + 2:])
            prior = prior * (1.0 + beta ** alpha / (2 * x[:, -1] + beta) ** alpha)
        variance = np.maximum(prior - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(variance)

    def normalise(self, value: float) -> float:
        return (value - self.mean) / self.std


def _normalise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    mean = float(np.mean(y)) if len(y) else 0.0
    std = float(np.std(y)) if len(y) > 1 else 1.0
    std = std if std > 1e-12 else 1.0
    return (y - mean) / std, mean, std
