"""Tree-structured Parzen estimator (Bergstra et al. 2011), for FIFO use.

Results are split into the best ``gamma`` fraction and the rest; each gets a Parzen density
per hyperparameter (truncated Gaussians on the unit cube for numbers, smoothed frequencies for
categories), both mixed with a uniform prior. ``n_ei_candidates`` points drawn from the good
density are ranked by ``l(x) / g(x)``, which is what maximises expected improvement. Pending
trials count as bad results (a constant liar), so concurrent workers are sent elsewhere.

Conditional spaces are what the tree in TPE's name is for: a candidate is drawn hyperparameter
by hyperparameter in order, skipping those its earlier values make inactive, and each
hyperparameter's densities are built from the configurations in which it was active, so a
conditional hyperparameter is modelled on the trials that used it and scored only where it is
active.

Under Hyperband it learns only from the trials that ran to the end, not from those stopped (or
left paused) at a rung: learning their rung results, as they were or ranked below every
finished trial as Optuna's TPE ranks pruned ones, made it end worse than random search with the
same Hyperband on 15 of 17 benchmarks (``benchmarks/RESULTS.md``, "tpe under Hyperband").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ..space import Categorical, Space
from ._base import Searcher
from ._options import check_float, check_int


class TPESearcher(Searcher):
    """Univariate TPE over the space's unit cube; random for the first ``n_startup`` trials."""

    name = "tpe"
    learns_stopped = False  # see the module docstring
    OPTIONS = ("n_startup", "gamma", "n_ei_candidates", "prior_weight")

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 n_startup: int = 10, gamma: float = 0.25, n_ei_candidates: int = 24,
                 prior_weight: float = 1.0) -> None:
        super().__init__(space, metric, mode, seed)
        self.n_startup = check_int("n_startup", n_startup, 1)
        self.gamma = check_float("gamma", gamma, 0, 1, lo_open=True, hi_open=True)
        self.n_ei_candidates = check_int("n_ei_candidates", n_ei_candidates, 1)
        self.prior_weight = check_float("prior_weight", prior_weight, 0, math.inf,
                                        lo_open=True, hi_open=True)
        self._names = list(space)
        self.results: dict[int, tuple[dict[str, Any], float]] = {}  # trial -> (config, loss)

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        loss = self.loss(result) if final and config else None
        if loss is not None:
            self.results[trial_id] = (dict(config), loss)

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if len(self.results) < self.n_startup:
            return self._distinct(self.space.sample(self.rng))
        ranked = sorted(self.results.values(), key=lambda item: item[1])
        n_good = max(1, math.ceil(self.gamma * len(ranked)))
        good = self._densities([config for config, _ in ranked[:n_good]])
        bad = self._densities([config for config, _ in ranked[n_good:]]
                              + list(self.pending.values()))
        candidates = [self._sample(good) for _ in range(self.n_ei_candidates)]
        scores = self._log_densities(candidates, good) - self._log_densities(candidates, bad)
        taken = [tuple(sorted(p.items())) for p in self.pending.values()]
        for index in np.argsort(scores)[::-1]:
            if tuple(sorted(candidates[index].items())) not in taken:
                return candidates[index]
        return self._distinct(self.space.sample(self.rng))

    def _distinct(self, config: dict[str, Any]) -> dict[str, Any]:
        """A random configuration that is not pending (a few tries; small spaces may repeat)."""
        taken = [tuple(sorted(p.items())) for p in self.pending.values()]
        for _ in range(20):
            if tuple(sorted(config.items())) not in taken:
                break
            config = self.space.sample(self.rng)
        return config

    # ------------------------------------------------------------- the densities
    def _densities(self, configs: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, ...]]:
        """Each hyperparameter's Parzen density over ``configs`` (those in which it is active),
        built once per proposal for all its candidates: the category weights, or the kernels'
        centres, bandwidths, weights and the mass each keeps inside the unit interval."""
        densities: dict[str, tuple[np.ndarray, ...]] = {}
        for name in self._names:
            domain = self.space[name]
            values = [c[name] for c in configs if name in c]
            if isinstance(domain, Categorical):
                densities[name] = (self._category_weights(domain, values),)
                continue
            mus, sigmas, weights = self._kernels([domain.to_unit(v) for v in values])
            mass = ndtr((1.0 - mus) / sigmas) - ndtr((0.0 - mus) / sigmas)
            densities[name] = (mus, sigmas, weights, mass)
        return densities

    def _sample(self, densities: dict[str, tuple[np.ndarray, ...]]) -> dict[str, Any]:
        """One draw from the Parzen densities (the prior included)."""
        config: dict[str, Any] = {}
        for name in self._names:
            if not self.space.is_active(name, config):
                continue
            domain = self.space[name]
            if isinstance(domain, Categorical):
                (weights,) = densities[name]
                config[name] = domain.choices[int(self.rng.choice(len(weights), p=weights))]
                continue
            mus, sigmas, weights, _ = densities[name]
            k = int(self.rng.choice(len(mus), p=weights))
            lo, hi = ndtr((0.0 - mus[k]) / sigmas[k]), ndtr((1.0 - mus[k]) / sigmas[k])
            u = float(np.clip(mus[k] + sigmas[k] * ndtri(self.rng.uniform(lo, hi)), 0, 1))
            config[name] = domain.from_unit(u)
        return config

    def _log_densities(self, candidates: list[dict[str, Any]],
                       densities: dict[str, tuple[np.ndarray, ...]]) -> np.ndarray:
        """The log density of each candidate, a hyperparameter at a time for all of them (an
        inactive hyperparameter adds no factor)."""
        totals = np.zeros(len(candidates))
        for name in self._names:
            rows = [i for i, config in enumerate(candidates) if name in config]
            if not rows:
                continue
            domain = self.space[name]
            if isinstance(domain, Categorical):
                (weights,) = densities[name]
                for i in rows:
                    totals[i] += math.log(weights[domain.index(candidates[i][name])])
                continue
            mus, sigmas, weights, mass = densities[name]
            x = np.array([domain.to_unit(candidates[i][name]) for i in rows])[:, None]
            pdf = np.exp(-0.5 * ((x - mus) / sigmas) ** 2) / (sigmas * math.sqrt(2 * math.pi))
            for i, value in zip(rows, np.sum(weights * pdf / mass, axis=1), strict=True):
                totals[i] += math.log(float(value) + 1e-300)
        return totals

    def _kernels(self, points: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centres, bandwidths and weights: one Gaussian per point (bandwidth: the larger gap
        to its neighbours, clipped as in hyperopt) plus a wide prior at the centre."""
        mus = np.asarray([*points, 0.5], dtype=float)
        order = np.argsort(mus)
        ordered = mus[order]
        padded = np.concatenate([[0.0], ordered, [1.0]])
        gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        sigmas = np.empty_like(mus)
        sigmas[order] = np.clip(gaps, 1.0 / min(100, len(mus) + 1), 1.0)
        sigmas[-1] = 1.0  # the prior
        weights = np.ones_like(mus)
        weights[-1] = self.prior_weight
        return mus, sigmas, weights / weights.sum()

    def _category_weights(self, domain: Categorical, values: list[Any]) -> np.ndarray:
        counts = np.full(len(domain.choices), self.prior_weight / len(domain.choices))
        for value in values:
            counts[domain.index(value)] += 1.0
        return counts / counts.sum()
