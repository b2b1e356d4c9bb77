"""What the bayesopt searcher's GP conditions on (summarised rung results) and when it refits."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._bayesopt_parts import summary_rows
from ._gp import GaussianProcess, Kernel

__all__ = ["_FIT_POINTS", "_FIT_POINTS_MULTI", "_KEEP_BEST", "_KEEP_BEST_FINAL", "_MAX_DATA",
           "_MAX_FINAL_DATA", "_MIN_AT_TARGET", "_REFIT_GROWTH", "ModelMixin"]

_MIN_AT_TARGET = 5
_FIT_POINTS = 150  # hyperparameters are fitted on at most this many observations,
_FIT_POINTS_MULTI = 64  # with Hyperband on at most this many (of the at most _MAX_DATA)
_MAX_DATA = 128  # with Hyperband the model conditions on at most this many observations,
_KEEP_BEST = 16  # among them the best this many at each rung level
_MAX_FINAL_DATA = 400  # without Hyperband, at most this many final results (the 100 best and
_KEEP_BEST_FINAL = 100  # a fixed random sample of the others), so long studies stay cheap
_REFIT_GROWTH = 1.5  # with Hyperband, refit when the observations grew by this factor


class ModelMixin:
    """How BayesOptSearcher keeps its observations, picks the target level and fits its GP."""

    def _add(self, key: tuple[int, float | None], config: dict[str, Any], loss: float) -> None:
        codes = self._codes_of(key[0], config)  # shared by the trial's levels and proposals
        encoded = codes[1]
        self.data[key] = (encoded, loss)
        self._observed.add(codes[2])
        self._rank[key] = rank = float(self._rank_rng.random())
        row = self._row.get(key)
        if row is None:
            row = self._row[key] = len(self._row)
            self._counts[key[1]] = self._counts.get(key[1], 0) + 1
            self._trials.add(key[0])
            if row == len(self._ys):
                self._xs = np.vstack([self._xs, np.zeros_like(self._xs)])
                self._ys, self._rs, self._ranks = (np.concatenate([a, np.zeros_like(a)])
                                                   for a in (self._ys, self._rs, self._ranks))
        self._xs[row], self._ys[row] = encoded, loss
        self._rs[row], self._ranks[row] = self._r(key[1]), rank
        batch = self._batch
        if batch is not None and key[1] == batch.context[0] and loss < batch.best \
                and (len(self._trials) >= self.new_best_ends_batch_from or self.resource is None):
            self._batch = None  # a new best where EI is taken: the ranking is out of date

    def _levels(self) -> list[float]:
        """The rung levels and max_t, ascending (computed once per fidelity setting)."""
        setting = (self.max_t, tuple(self.rung_levels))
        if self._level_cache[0] != setting:
            levels = sorted(set(self.rung_levels) | ({self.max_t} if self.max_t else set()))
            self._level_cache = (setting, [float(level) for level in levels])
        return self._level_cache[1]

    def _training_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, values to minimise, normalised levels (-1 with FIFO) and ranks of the data
        the model conditions on: a summary of at most 400 final results with FIFO (the 100 best
        and a fixed random sample), of at most 128 rung results with Hyperband, at the levels
        the scheduler trusts."""
        n = len(self._row)
        xs, ys, rs, ranks = self._xs[:n], self._ys[:n], self._rs[:n], self._ranks[:n]
        if self.resource is None:
            rows = summary_rows(ys, rs, ranks, _MAX_FINAL_DATA, _KEEP_BEST_FINAL)
            return xs[rows], ys[rows], rs[rows], ranks[rows]
        used = np.arange(n)
        if self.trusted_levels is not None:  # the levels the scheduler trusts, and max_t
            trusted = [self._r(level) for level in self.trusted_levels]
            used = np.flatnonzero(np.isin(rs, trusted) | (rs >= 1.0))
        rows = used[summary_rows(ys[used], rs[used], ranks[used], _MAX_DATA, _KEEP_BEST)]
        x = np.hstack([xs[rows], rs[rows, None]])
        return x, ys[rows], rs[rows], ranks[rows]

    def _trusted(self, level: float | None) -> bool:
        """Whether results at ``level`` teach the model (see ``Searcher.trust_levels``)."""
        return self.trusted_levels is None or level is None or level in self.trusted_levels \
            or (self.max_t is not None and level >= self.max_t)

    def _trusted_counts(self) -> dict[float | None, int]:
        """Observations per trusted level, and the target level (see ``_target_level``):
        computed again only after a new observation or a change of the trusted levels, not
        for every pick from a batch (each checks the batch's context)."""
        setting = (len(self._row), self.trusted_levels, self.max_t, self.resource)
        if self._trusted_cache[0] != setting:
            counts = {level: n for level, n in self._counts.items() if self._trusted(level)}
            target = None
            if self.resource is not None and counts:
                enough = [lv for lv, n in counts.items() if n >= _MIN_AT_TARGET]
                target = max(enough) if enough else min(counts)  # type: ignore[type-var]
            self._trusted_cache = (setting, counts, target)
        return self._trusted_cache[1]

    def _target_level(self) -> float | None:
        """The largest trusted level with at least ``_MIN_AT_TARGET`` results (None with
        FIFO or before any trusted result)."""
        self._trusted_counts()
        return self._trusted_cache[2]

    def _update_model(self, x: np.ndarray, y: np.ndarray, ranks: np.ndarray) -> bool:
        """Refit hyperparameters for the first ``opt_skip_init_length`` observations, then
        every ``opt_skip_period``-th one (with ``opt_skip_num_max_resource`` under Hyperband:
        when a new result at max_t came in; with Hyperband and neither option given: when the
        observations grew by ``_REFIT_GROWTH``, or by ``1 + batch_fraction`` when that is more,
        as much as one batch may serve: a batch assumes the model holds while its trials come
        in, and with MOBSTER's batches of all the trials observed the fits were a fifth of its
        decision CPU); otherwise only condition on the data. True if refitted."""
        if self._gp is None:
            self._gp = GaussianProcess(Kernel(self.kernel_name, self._width,
                                              self.resource is not None))
        n = len(self._row)
        multi = self.resource is not None
        at_max = sum(count for level, count in self._counts.items() if level is not None
                     and self.max_t is not None and level >= self.max_t)
        init_length = 0 if multi and self._init_length is None else self.opt_skip_init_length
        if self.opt_skip_num_max_resource and multi:
            later = at_max > self._fitted_at_max
        elif multi and self._geometric:
            later = n >= max(_REFIT_GROWTH, 1.0 + self._batch_fraction()) * self._fitted_at \
                and (self._fits != 1 or n >= self.second_fit_from)
        else:
            later = n - self._fitted_at >= self.opt_skip_period
        due = n <= init_length or later
        if due and n != self._fitted_at:
            self._fitted_at_max = at_max
            # random restarts on the first fit and every tenth, warm starts from the last fit
            subset = None
            limit = _FIT_POINTS if self.resource is None else _FIT_POINTS_MULTI
            if len(x) > limit:
                subset = np.sort(np.argsort(ranks, kind="stable")[:limit])
            restarts = int(self._fits % 10 == 0)
            if self._fits == 0:  # none with Hyperband's light early fits (second_fit_from)
                restarts = 0 if multi and self._geometric and self.second_fit_from else 2
            self._gp.fit(x, y, self.rng, restarts=restarts, subset=subset)
            self._fitted_at, self._fits = n, self._fits + 1
            return True
        self._gp.condition(x, y)
        return False
