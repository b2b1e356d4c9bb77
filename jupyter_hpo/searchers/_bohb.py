"""BOHB's searcher: kernel density models of good and bad configurations per rung level.

Falkner, Klein and Hutter (2018), "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale". Under Hyperband (``set_fidelity``) the value a trial reports at each rung level is kept
for that level; a model is fitted on the highest level with enough observations. The best
``top_n_percent`` of them define a density ``l(x)``, the rest a density ``g(x)``; candidates
drawn from a widened ``l`` are ranked by ``l(x) / g(x)``. Under FIFO, final results form a
single level. Everything is computed with numpy in the unit cube of ``Space.to_unit``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..space import Categorical, Space
from ._base import Searcher

_FINAL = math.inf  # the level of final results when no resource is known (FIFO)


def _log_kernels(points: np.ndarray, data: np.ndarray, bw: np.ndarray,
                 levels: np.ndarray) -> np.ndarray:
    """Log density of the product-kernel KDE over ``data`` at each of ``points``.

    Continuous coordinates use Gaussian kernels (bandwidth ``bw``); categorical ones
    (``levels`` > 0 choices, coded as indices) use the Aitchison-Aitken kernel, which keeps
    the observed choice with probability ``1 - bw`` and spreads ``bw`` over the others.
    """
    diff = points[:, None, :] - data[None, :, :]  # (candidates, observations, dims)
    cont = levels == 0
    log_k = np.empty_like(diff)
    if cont.any():
        h = bw[cont]
        log_k[:, :, cont] = (-0.5 * (diff[:, :, cont] / h) ** 2
                             - np.log(h * math.sqrt(2 * math.pi)))
    cat = ~cont
    if cat.any():
        lam, c = bw[cat], levels[cat]
        same = np.abs(diff[:, :, cat]) < 0.5
        log_k[:, :, cat] = np.where(same, np.log(1 - lam), np.log(lam / np.maximum(c - 1, 1)))
    total = log_k.sum(axis=2)
    top = total.max(axis=1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(total - top).mean(axis=1)))


class BOHBSearcher(Searcher):
    """Proposes the candidate with the largest ratio of good to bad density, as in BOHB."""

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 min_points_in_model: int | None = None, top_n_percent: float = 15,
                 num_samples: int = 64, random_fraction: float = 1 / 3,
                 bandwidth_factor: float = 3, min_bandwidth: float = 1e-3) -> None:
        super().__init__(space, metric, mode, seed)
        if len(space) == 0:
            raise ValueError("bohb needs at least one hyperparameter in the space")
        d = len(space)
        if min_points_in_model is None:
            min_points_in_model = d + 1
        if (isinstance(min_points_in_model, bool)
                or not isinstance(min_points_in_model, numbers.Integral)
                or min_points_in_model < 2):
            raise ValueError(f"min_points_in_model is {min_points_in_model!r}, but must be an "
                             f"integer >= 2 (BOHB's default is the number of "
                             f"hyperparameters + 1 = {d + 1})")
        self._check_real("top_n_percent", top_n_percent, 0, 100, open_lo=True, open_hi=True)
        if (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
                or num_samples < 1):
            raise ValueError(f"num_samples is {num_samples!r}, but must be an integer >= 1")
        self._check_real("random_fraction", random_fraction, 0, 1)
        self._check_real("bandwidth_factor", bandwidth_factor, 0, math.inf, open_lo=True)
        self._check_real("min_bandwidth", min_bandwidth, 0, 1, open_lo=True)
        self.min_points_in_model = int(min_points_in_model)
        self.top_n_percent = float(top_n_percent)
        self.num_samples = int(num_samples)
        self.random_fraction = float(random_fraction)
        self.bandwidth_factor = float(bandwidth_factor)
        self.min_bandwidth = float(min_bandwidth)
        domains = list(space.values())
        # number of choices for categorical coordinates (coded as indices), 0 for continuous
        self._levels = np.array([len(dm.choices) if isinstance(dm, Categorical) else 0
                                 for dm in domains], dtype=float)
        # level -> trial_id -> (encoded config, value to minimise)
        self.observations: dict[float, dict[int, tuple[np.ndarray, float]]] = {}

    @staticmethod
    def _check_real(name: str, value: Any, lo: float, hi: float, open_lo: bool = False,
                    open_hi: bool = False) -> None:
        ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
              and math.isfinite(value))
        if ok:
            ok = (value > lo if open_lo else value >= lo) and (value < hi if open_hi
                                                               else value <= hi)
        if not ok:
            interval = f"{'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}"
            raise ValueError(f"{name} is {value!r}, but must be a number in {interval}")

    # ------------------------------------------------------------------ encoding
    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        """Unit-cube coordinates, with categorical coordinates replaced by choice indices."""
        x = self.space.to_unit(config)
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

    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        """Record the value at every rung level the report reached (or the final value)."""
        super().observe(trial_id, config, result, final)
        value = result.get(self.metric)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value) or not config:
            return
        loss = float(value) if self.mode == "min" else -float(value)
        if self.resource is None:
            if final:
                self.observations.setdefault(_FINAL, {})[trial_id] = (self._encode(config), loss)
            return
        r = result.get(self.resource)
        if isinstance(r, bool) or not isinstance(r, numbers.Real):
            return
        for level in self._levels_reached(float(r)):
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

    def _bandwidth(self, data: np.ndarray) -> np.ndarray:
        """Scott's normal-reference rule, clipped below (and for categorical coordinates,
        above, where the kernel would favour other choices over the observed one)."""
        n, d = data.shape
        bw = 1.06 * data.std(axis=0) * n ** (-1.0 / (4 + d))
        bw = np.maximum(bw, self.min_bandwidth)
        cat = self._levels > 0
        bw[cat] = np.minimum(bw[cat], (self._levels[cat] - 1) / np.maximum(self._levels[cat], 1))
        bw[cat & (self._levels == 1)] = self.min_bandwidth
        return bw

    def _model(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """KDE data and bandwidths (good, good_bw, bad, bad_bw) on the highest usable level."""
        for level in sorted(self.observations, reverse=True):
            split = self._split(level)
            if split is not None:
                good, bad = split
                return good, self._bandwidth(good), bad, self._bandwidth(bad)
        return None

    def _sample_good(self, good: np.ndarray, bw: np.ndarray) -> np.ndarray:
        """``num_samples`` draws from the good density with widened continuous bandwidths."""
        rng, k = self.rng, self.num_samples
        centres = good[rng.integers(len(good), size=k)]
        out = centres.copy()
        cont = self._levels == 0
        scale = np.broadcast_to(bw * self.bandwidth_factor, centres.shape)
        todo = np.broadcast_to(cont, centres.shape).copy()
        for _ in range(100):  # truncated normal on [0, 1] by rejection
            if not todo.any():
                break
            draw = centres[todo] + scale[todo] * rng.standard_normal(int(todo.sum()))
            out[todo] = draw
            todo[todo] = (draw < 0) | (draw > 1)
        out[:, cont] = np.clip(out[:, cont], 0, 1)
        for j in np.flatnonzero(~cont):
            c = int(self._levels[j])
            redraw = rng.random(k) >= 1 - bw[j]
            out[redraw, j] = rng.integers(c, size=int(redraw.sum()))
        return out

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
        good, good_bw, bad, bad_bw = model
        candidates = self._sample_good(good, good_bw)
        score = (_log_kernels(candidates, good, good_bw, self._levels)
                 - _log_kernels(candidates, bad, bad_bw, self._levels))
        for i in np.argsort(-score, kind="stable"):
            config = self._decode(candidates[i])
            if not self._is_pending(config):
                return config
        return self._random_config()
