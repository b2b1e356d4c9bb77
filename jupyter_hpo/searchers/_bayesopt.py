"""Gaussian-process Bayesian optimisation; with Hyperband, multi-fidelity as in MOBSTER.

Configurations are encoded in the unit cube (numbers through ``Space.to_unit``, categories
one-hot). With FIFO the GP models final results. With Hyperband (after ``set_fidelity``) it
models every report at a rung level jointly over (configuration, resource), the resource
normalised as ``log(r / r_min) / log(max_t / r_min)``, and a new configuration maximises the
expected improvement at ``max_t`` over the best posterior mean at ``max_t`` of the configurations
seen so far. Pending trials are fantasised at their posterior mean (kriging believer), which
removes their neighbourhood from the search while they run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from ..space import Categorical, Space
from ._base import Searcher
from ._gp import KERNELS, GaussianProcess, Kernel
from ._options import check_int


class BayesOptSearcher(Searcher):
    """Matérn-5/2 ARD GP, marginal-likelihood fits, expected improvement."""

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str = "matern52", num_init_random: int = 5,
                 opt_skip_period: int = 10, opt_skip_init_length: int = 150,
                 num_candidates: int = 1000, debug_log: bool = False) -> None:
        super().__init__(space, metric, mode, seed)
        if kernel not in KERNELS:
            raise ValueError(f"kernel is {kernel!r}, but must be one of {', '.join(KERNELS)}")
        self.kernel_name = kernel
        self.num_init_random = check_int("num_init_random", num_init_random, 1)
        self.opt_skip_period = check_int("opt_skip_period", opt_skip_period, 1)
        self.opt_skip_init_length = check_int("opt_skip_init_length", opt_skip_init_length, 0)
        self.num_candidates = check_int("num_candidates", num_candidates, 10)
        if not isinstance(debug_log, bool):
            raise ValueError(f"debug_log is {debug_log!r}, but must be True or False")  # noqa: TRY004 - option errors are ValueErrors
        self.debug_log = debug_log
        self._names = list(space)
        self._sign = 1.0 if mode == "min" else -1.0
        # (trial_id, resource or None) -> (encoded config, value to minimise)
        self.data: dict[tuple[int, float | None], tuple[np.ndarray, float]] = {}
        self._gp: GaussianProcess | None = None
        self._fits = 0
        self._fitted_at = -1

    # ------------------------------------------------------------------ observing
    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        super().observe(trial_id, config, result, final)
        if not config:
            return
        try:
            value = float(result.get(self.metric))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if math.isnan(value):
            return
        if self.resource is None:
            if final:
                self.data[(trial_id, None)] = (self._encode(config), self._sign * value)
            return
        try:
            r = float(result.get(self.resource))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        for level in [*self.rung_levels, self.max_t]:
            if level is not None and r >= level and (trial_id, level) not in self.data:
                self.data[(trial_id, level)] = (self._encode(config), self._sign * value)

    # ------------------------------------------------------------------ proposing
    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if len({key[0] for key in self.data}) < self.num_init_random:
            return self._distinct_random()
        x, y = self._training_data()
        gp = self._model(x, y)
        target = self._at_target(np.array([v for v, _ in self.data.values()]))
        incumbent_mean = float(np.min(gp.predict(target)[0]))
        pending = [self._encode(c) for c in self.pending.values()]
        if pending:  # kriging believer: pending points take their posterior mean
            fantasy_x = self._at_target(np.array(pending))
            fantasy_y = gp.predict(fantasy_x)[0] * gp.std + gp.mean
            gp = self._conditioned(gp, np.vstack([x, fantasy_x]), np.concatenate([y, fantasy_y]))
        candidates = self._candidates()
        encoded = self._at_target(np.array([self._encode(c) for c in candidates]))
        mean, std = gp.predict(encoded)
        ei = _expected_improvement(incumbent_mean, mean, std)
        taken = {tuple(np.round(v, 9)) for v in pending} | \
            {tuple(np.round(v, 9)) for v, _ in self.data.values()}
        order = np.argsort(-ei)
        for index in order:
            if tuple(np.round(self._encode(candidates[index]), 9)) not in taken:
                break
        else:
            return self._distinct_random()
        choice = candidates[int(index)]
        if self.debug_log:
            self._log(choice, ei[index], mean[index], std[index], incumbent_mean, gp, len(x))
        return choice

    def _training_data(self) -> tuple[np.ndarray, np.ndarray]:
        rows, values = [], []
        for (_, level), (encoded, value) in self.data.items():
            rows.append(encoded if level is None else np.append(encoded, self._r(level)))
            values.append(value)
        return np.array(rows), np.array(values)

    def _model(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Refit hyperparameters for the first ``opt_skip_init_length`` observations, then
        every ``opt_skip_period``-th one; otherwise only condition on the new data."""
        if self._gp is None:
            self._gp = GaussianProcess(Kernel(self.kernel_name, x.shape[1] -
                                              int(self.resource is not None),
                                              self.resource is not None))
        n = len(x)
        due = n <= self.opt_skip_init_length or n - self._fitted_at >= self.opt_skip_period
        if due and n != self._fitted_at:
            self._gp.fit(x, y, self.rng, restart=self._fits % 5 == 0)
            self._fitted_at, self._fits = n, self._fits + 1
        else:
            self._gp.condition(x, y)
        return self._gp

    @staticmethod
    def _conditioned(gp: GaussianProcess, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        copy = GaussianProcess(gp.kernel)
        copy.condition(x, y)
        return copy

    def _candidates(self) -> list[dict[str, Any]]:
        """Random configurations plus local perturbations of the best ones seen."""
        candidates = [self.space.sample(self.rng) for _ in range(self.num_candidates)]
        finals = sorted(self._best_configs(), key=lambda item: item[1])[:5]
        for config, _ in finals:
            for scale in (0.02, 0.05, 0.15):
                for _ in range(self.num_candidates // 50):
                    candidates.append(self._perturb(config, scale))
        return candidates

    def _best_configs(self) -> list[tuple[dict[str, Any], float]]:
        top = self.max_t if self.resource is not None else None
        best: dict[int, tuple[dict[str, Any], float]] = {}
        for (trial_id, level), (encoded, value) in self.data.items():
            if level == top or top is None:
                best[trial_id] = (self._decode(encoded), value)
        return list(best.values())

    def _perturb(self, config: dict[str, Any], scale: float) -> dict[str, Any]:
        out = {}
        for name in self._names:
            domain = self.space[name]
            if isinstance(domain, Categorical):
                out[name] = domain.sample(self.rng) if self.rng.random() < scale * 2 \
                    else config[name]
            else:
                u = domain.to_unit(config[name]) + self.rng.normal(0.0, scale)
                out[name] = domain.from_unit(float(np.clip(u, 0.0, 1.0)))
        return out

    def _distinct_random(self) -> dict[str, Any]:
        taken = [tuple(sorted(p.items())) for p in self.pending.values()]
        config = self.space.sample(self.rng)
        for _ in range(20):
            if tuple(sorted(config.items())) not in taken:
                break
            config = self.space.sample(self.rng)
        return config

    # ------------------------------------------------------------------ encoding
    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        parts: list[float] = []
        for name in self._names:
            domain = self.space[name]
            if isinstance(domain, Categorical):
                onehot = [0.0] * len(domain.choices)
                onehot[domain.index(config[name])] = 1.0
                parts.extend(onehot)
            else:
                parts.append(domain.to_unit(config[name]))
        return np.array(parts)

    def _decode(self, encoded: np.ndarray) -> dict[str, Any]:
        config, i = {}, 0
        for name in self._names:
            domain = self.space[name]
            if isinstance(domain, Categorical):
                k = len(domain.choices)
                config[name] = domain.choices[int(np.argmax(encoded[i:i + k]))]
                i += k
            else:
                config[name] = domain.from_unit(float(encoded[i]))
                i += 1
        return config

    def _r(self, level: float) -> float:
        r_min = self.rung_levels[0] if self.rung_levels else 1.0
        top = self.max_t or level
        if top <= r_min:
            return 1.0
        return math.log(level / r_min) / math.log(top / r_min)

    def _at_target(self, encoded: np.ndarray) -> np.ndarray:
        """Inputs at the target resource (max_t) in multi-fidelity use, else unchanged."""
        if self.resource is None:
            return encoded
        return np.hstack([encoded, np.ones((len(encoded), 1))])

    def _log(self, choice: dict[str, Any], ei: float, mean: float, std: float,
             incumbent: float, gp: GaussianProcess, n: int) -> None:
        lengths = np.exp(gp.kernel.theta[:gp.kernel._n_length])
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                          for k, v in choice.items())
        print(f"bayesopt: {n} observations ({len(self.pending)} pending), kernel "
              f"{self.kernel_name}, fits {self._fits}; incumbent mean {incumbent:.4g}; chose "
              f"{shown} with EI {ei:.4g} (mean {mean:.4g}, sd {std:.4g}); lengthscales "
              f"{np.array2string(lengths, precision=3)}")


def _expected_improvement(best: float, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """EI for minimisation, in the GP's normalised units."""
    z = (best - mean) / std
    return (best - mean) * ndtr(z) + std * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
