"""BOHB's searcher: kernel density models of good and bad configurations per rung level.

Falkner, Klein and Hutter (2018), "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale". Under Hyperband (``set_fidelity``) the value a trial reports at each rung level is kept
for that level; a model is fitted on the highest level with enough observations. The best
``top_n_percent`` of them define a density ``l(x)``, the rest a density ``g(x)``; candidates
drawn from a widened ``l`` are ranked by ``l(x) / g(x)``. Under FIFO, final results form a
single level. Everything is computed with numpy in the unit cube of ``Space.to_unit``.

Deviations from hpbandster's BOHB (its defaults are kept: ``top_n_percent`` 15,
``num_samples`` 64, ``random_fraction`` 1/3, ``bandwidth_factor`` 3, ``min_bandwidth`` 1e-3,
``min_points_in_model`` = dimensions + 1; ``prior_weight`` 1 is new):

* continuous kernels are Gaussians truncated to [0, 1] and renormalised, so a density does
  not lose mass near the edges and ``l / g`` has no bias towards or away from them;
* the continuous bandwidth floor is ``max(min_bandwidth, 1 / min(100, n + 1))`` for the
  ``n`` observations of the modelled level (hyperopt's and Optuna's clip), the same for ``l``
  and ``g``: small models do not collapse onto their points, and neither density gets a wider
  floor than the other (which would make ``l / g`` largest far away from every point);
* each categorical kernel keeps a share of the uniform prior as Optuna's TPE does
  (``prior_weight / (n + 1)`` per choice for ``n`` points), so no choice's density reaches
  zero and sampling keeps trying the other choices while ``n`` is small;
* both densities are mixed with the uniform density with weight ``prior_weight`` (against 1
  per point, as Optuna's prior), so ``l / g`` tends to a constant away from all points
  instead of being decided by the tails of the nearest kernels.

Conditional spaces as hpbandster's BOHB handles them: an inactive hyperparameter is encoded
as NaN, and before a density is fitted each NaN is imputed with the value of that
hyperparameter in another configuration of the same set (good or bad) where it was active,
drawn at random (a random value when none has it). Candidates are drawn and scored on every
coordinate, and decoded in order, so the hyperparameters a candidate's values make inactive
are dropped. Stepped domains need nothing: a drawn coordinate decodes to a step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ..space import Categorical, Space
from ._base import Searcher
from ._options import check_float, check_int

_FINAL = math.inf  # the level of final results when no resource is known (FIFO)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class _KDE:
    """A product-kernel density over encoded points (truncated Gaussians and categories)."""

    def __init__(self, data: np.ndarray, bw: np.ndarray, levels: np.ndarray,
                 prior_weight: float) -> None:
        self.data, self.bw, self.levels, self.prior_weight = data, bw, levels, prior_weight
        self.cont = levels == 0
        mu, h = data[:, self.cont], bw[self.cont]
        # log of each kernel's mass inside [0, 1]: the truncation's normaliser
        self.log_mass = np.log(np.maximum(ndtr((1 - mu) / h) - ndtr(-mu / h), 1e-300))

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log density at each of ``points``."""
        diff = points[:, None, :] - self.data[None, :, :]  # (points, data, dims)
        total = np.zeros(diff.shape[:2])
        if self.cont.any():
            h = self.bw[self.cont]
            total += (-0.5 * (diff[:, :, self.cont] / h) ** 2 - np.log(h) - _LOG_SQRT_2PI
                      - self.log_mass[None]).sum(axis=2)
        cat = ~self.cont
        if cat.any():
            lam, c = self.bw[cat], self.levels[cat]
            same = np.abs(diff[:, :, cat]) < 0.5
            total += np.where(same, np.log1p(-lam),
                              np.log(np.maximum(lam, 1e-300) / np.maximum(c - 1, 1))).sum(axis=2)
        if self.prior_weight > 0:  # the uniform prior as one more component
            log_prior = math.log(self.prior_weight) - np.log(self.levels[cat]).sum()
            total = np.concatenate([total, np.full((len(points), 1), log_prior)], axis=1)
        top = total.max(axis=1, keepdims=True)
        return (top[:, 0] + np.log(np.exp(total - top).sum(axis=1))
                - math.log(len(self.data) + self.prior_weight))

    def sample(self, rng: np.random.Generator, k: int, factor: float,
               min_bandwidth: float) -> np.ndarray:
        """``k`` draws with continuous bandwidths widened by ``factor`` (truncated to [0, 1])."""
        centres = self.data[rng.integers(len(self.data), size=k)]
        out = centres.copy()
        mu = centres[:, self.cont]
        h = np.maximum(self.bw[self.cont] * factor, min_bandwidth)
        lo, hi = ndtr(-mu / h), ndtr((1 - mu) / h)
        u = lo + (hi - lo) * rng.random(mu.shape)
        out[:, self.cont] = np.clip(mu + h * ndtri(np.clip(u, 1e-300, 1 - 1e-16)), 0, 1)
        for j in np.flatnonzero(~self.cont):
            c, lam = int(self.levels[j]), self.bw[j]
            # the kernel keeps the centre's choice with probability 1 - lam
            switch = rng.random(k) < lam
            shift = rng.integers(1, max(c, 2), size=k)
            out[switch, j] = (centres[switch, j] + shift[switch]) % max(c, 1)
        return out


class BOHBSearcher(Searcher):
    """Proposes the candidate with the largest ratio of good to bad density, as in BOHB."""

    name = "bohb"
    OPTIONS = ("min_points_in_model", "top_n_percent", "num_samples", "random_fraction",
               "bandwidth_factor", "min_bandwidth", "prior_weight")
    uses_progress = True  # models every rung result with Hyperband

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 min_points_in_model: int | None = None, top_n_percent: float = 15,
                 num_samples: int = 64, random_fraction: float = 1 / 3,
                 bandwidth_factor: float = 3, min_bandwidth: float = 1e-3,
                 prior_weight: float = 1.0) -> None:
        super().__init__(space, metric, mode, seed)
        if len(space) == 0:
            raise ValueError("bohb needs at least one hyperparameter in the space")
        d = len(space)
        if min_points_in_model is None:
            min_points_in_model = d + 1
        try:
            self.min_points_in_model = check_int("min_points_in_model", min_points_in_model, 2)
        except ValueError as exc:
            raise ValueError(f"{exc} (BOHB's default is the number of hyperparameters + 1 = "
                             f"{d + 1})") from None
        self.top_n_percent = check_float("top_n_percent", top_n_percent, 0, 100,
                                         lo_open=True, hi_open=True)
        self.num_samples = check_int("num_samples", num_samples, 1)
        self.random_fraction = check_float("random_fraction", random_fraction, 0, 1)
        self.bandwidth_factor = check_float("bandwidth_factor", bandwidth_factor, 0, math.inf,
                                            lo_open=True)
        self.min_bandwidth = check_float("min_bandwidth", min_bandwidth, 0, 1, lo_open=True)
        self.prior_weight = check_float("prior_weight", prior_weight, 0, math.inf)
        domains = list(space.values())
        # number of choices for categorical coordinates (coded as indices), 0 for continuous
        self._levels = np.array([len(dm.choices) if isinstance(dm, Categorical) else 0
                                 for dm in domains], dtype=float)
        # level -> trial_id -> (encoded config, value to minimise)
        self.observations: dict[float, dict[int, tuple[np.ndarray, float]]] = {}

    # ------------------------------------------------------------------ encoding
    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        """Unit-cube coordinates, with categorical coordinates replaced by choice indices
        (NaN for an inactive hyperparameter)."""
        x = self.space.to_unit(config, inactive=math.nan)
        cat = self._levels > 0
        x[cat] = np.floor(x[cat] * self._levels[cat])
        return x

    def _decode(self, x: np.ndarray) -> dict[str, Any]:
        u = np.array(x, dtype=float)
        cat = self._levels > 0
        u[cat] = (u[cat] + 0.5) / self._levels[cat]
        return self.space.from_unit(u)

    # ------------------------------------------------------------------ observations
    def _levels_reached(self, r: float) -> list[float]:
        levels = set(self.rung_levels)
        if self.max_t is not None:
            levels.add(float(self.max_t))
        return sorted(lv for lv in levels if lv <= r * (1 + 1e-9))

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        """Record the value at every rung level the report reached (or the final value)."""
        loss = self.loss(result) if config else None
        if loss is None:
            return
        if self.resource is None:
            if final:
                self.observations.setdefault(_FINAL, {})[trial_id] = (self._encode(config), loss)
            return
        r = self.level(result)
        if r is None:
            return
        for level in self._levels_reached(r):
            rung = self.observations.setdefault(level, {})
            if trial_id not in rung:
                rung[trial_id] = (self._encode(config), loss)

    # ------------------------------------------------------------------ model
    def _split(self, level: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(good, bad) encoded configs at ``level``, or None when there are too few."""
        rung = self.observations.get(level, {})
        n = len(rung)
        n_good = max(self.min_points_in_model, int(self.top_n_percent * n / 100))
        n_bad = max(self.min_points_in_model, int((100 - self.top_n_percent) * n / 100))
        if n < n_good + self.min_points_in_model:
            return None
        ids = sorted(rung, key=lambda t: (rung[t][1], t))
        xs = np.array([rung[t][0] for t in ids])
        return xs[:n_good], xs[n_good:n_good + n_bad]

    def _bandwidth(self, data: np.ndarray, n_level: int) -> np.ndarray:
        """Scott's normal-reference rule (as statsmodels' KDE in BOHB) with floors: for
        continuous coordinates ``max(min_bandwidth, 1 / min(100, n_level + 1))``; for
        categorical ones the prior's share ``prior_weight / (n + 1)`` per choice. Categorical
        bandwidths are at most ``(c - 1) / c``, where the kernel becomes uniform."""
        n, d = data.shape
        bw = 1.06 * data.std(axis=0) * n ** (-1.0 / (4 + d))
        cont, c = self._levels == 0, self._levels
        bw[cont] = np.maximum(bw[cont], max(self.min_bandwidth, 1.0 / min(100, n_level + 1)))
        cat = ~cont
        share = self.prior_weight / (n + 1)
        floor = (c[cat] - 1) * share / (1 + c[cat] * share)
        bw[cat] = np.clip(bw[cat], np.maximum(floor, self.min_bandwidth),
                          (c[cat] - 1) / np.maximum(c[cat], 1))
        bw[cat & (c == 1)] = 0.0
        return bw

    def _model(self) -> tuple[_KDE, _KDE] | None:
        """The (good, bad) densities on the highest level with enough observations."""
        for level in sorted(self.observations, reverse=True):
            split = self._split(level)
            if split is not None:
                good, bad = (self._impute(xs) for xs in split)
                n = len(good) + len(bad)
                return (_KDE(good, self._bandwidth(good, n), self._levels,
                             self.prior_weight),
                        _KDE(bad, self._bandwidth(bad, n), self._levels,
                             self.prior_weight))
        return None

    def _impute(self, data: np.ndarray) -> np.ndarray:
        """``data`` with each NaN (an inactive hyperparameter) replaced by that coordinate of
        another row where it is active, drawn at random; a random value when no row is."""
        missing = np.isnan(data)
        if not missing.any():
            return data
        data = data.copy()
        for j in np.flatnonzero(missing.any(axis=0)):
            rows = np.flatnonzero(missing[:, j])
            valid = np.flatnonzero(~missing[:, j])
            if len(valid):
                data[rows, j] = data[self.rng.choice(valid, size=len(rows)), j]
            elif self._levels[j] > 0:
                data[rows, j] = self.rng.integers(int(self._levels[j]), size=len(rows))
            else:
                data[rows, j] = self.rng.random(len(rows))
        return data

    # ------------------------------------------------------------------ proposals
    def _is_pending(self, config: dict[str, Any]) -> bool:
        return any(config == other for other in self.pending.values())

    def _random_config(self) -> dict[str, Any]:
        config = self.space.sample(self.rng)
        for _ in range(50):
            if not self._is_pending(config):
                break
            config = self.space.sample(self.rng)
        return config

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        model = self._model()
        if model is None or self.rng.random() < self.random_fraction:
            return self._random_config()
        good, bad = model
        candidates = good.sample(self.rng, self.num_samples, self.bandwidth_factor,
                                 self.min_bandwidth)
        score = good.log_pdf(candidates) - bad.log_pdf(candidates)
        for i in np.argsort(-score, kind="stable"):
            config = self._decode(candidates[i])
            if not self._is_pending(config):
                return config
        return self._random_config()
