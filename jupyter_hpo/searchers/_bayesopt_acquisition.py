"""The bayesopt searcher's acquisition: EI over random candidates, refined by coordinates."""

from __future__ import annotations

import numpy as np

from ._bayesopt_parts import expected_improvement
from ._gp import GaussianProcess

__all__ = ["_CANDIDATES", "_CANDIDATES_MULTI", "_REFINE_ROUNDS", "_REFINE_STARTS",
           "AcquisitionMixin"]

_REFINE_STARTS = 3
_REFINE_ROUNDS = 8
_CANDIDATES = 500  # random candidates for EI by default (``num_candidates``),
_CANDIDATES_MULTI = 250  # and with Hyperband, where one acquisition serves a batch of trials


class AcquisitionMixin:
    """How BayesOptSearcher ranks candidates by expected improvement and refines the best."""

    def _ei(self, gp: GaussianProcess, candidates: np.ndarray, level: float | None,
            incumbent: float) -> np.ndarray:
        mean, std = gp.predict(self._at(candidates, level))
        ei = expected_improvement(incumbent, mean, std)
        weights = self._acquisition_weights(candidates)
        return ei if weights is None else ei * weights

    def _acquisition_weights(self, candidates: np.ndarray) -> np.ndarray | None:
        """A factor per encoded candidate that multiplies its EI wherever candidates are
        ranked (``None``: EI alone); a subclass weighs EI by cost here."""
        return None

    def _candidates(self, level: float | None) -> np.ndarray:
        """Random encoded configurations plus perturbations of the best ones seen."""
        rng, count = self.rng, self._candidate_count()
        randoms = np.zeros((count, self._width))
        randoms[:, self._numeric] = rng.random((count, len(self._numeric)))
        for block in self._onehot:
            chosen = rng.integers(block.stop - block.start, size=count)
            randoms[np.arange(count), block.start + chosen] = 1.0
        n = len(self._row)
        at = np.flatnonzero(self._rs[:n] == self._r(level))
        best = self._xs[at[np.argsort(self._ys[at], kind="stable")[:5]]]
        local = []
        per_scale = max(count // 50, 2)  # 30% of the candidates are local
        for encoded in best:
            for scale in (0.02, 0.05, 0.15):
                moved = np.repeat(encoded[None, :], per_scale, axis=0)
                moved[:, self._numeric] += rng.normal(0.0, scale, (per_scale, len(self._numeric)))
                for block in self._onehot:
                    flip = rng.random(per_scale) < 2 * scale
                    chosen = rng.integers(block.stop - block.start, size=per_scale)
                    moved[flip, block] = 0.0
                    moved[np.flatnonzero(flip), block.start + chosen[flip]] = 1.0
                local.append(moved)
        return self._snap(np.vstack([randoms, *local]))

    def _candidate_count(self) -> int:
        """``num_candidates``, by default 500, or 250 with Hyperband."""
        if self.num_candidates is not None:
            return self.num_candidates
        return _CANDIDATES if self.resource is None else _CANDIDATES_MULTI

    def _refine(self, gp: GaussianProcess, candidates: np.ndarray, ei: np.ndarray,
                level: float | None, incumbent: float) -> np.ndarray:
        """Coordinate search from the best few candidates over the numeric columns: try a
        step up and down along each, take the best move, halve the step when none helps.
        Returns the points it ends at."""
        if not self._numeric:
            return candidates[:0]
        starts = np.argsort(-ei, kind="stable")[:_REFINE_STARTS]
        points, values = candidates[starts].copy(), ei[starts].copy()
        steps = np.full(len(points), 0.1)
        d = len(self._numeric)
        moves = np.tile(np.concatenate([np.eye(d), -np.eye(d)]), (len(points), 1))
        numeric, starts_at = self._numeric_columns, np.arange(len(points))
        for _ in range(_REFINE_ROUNDS):
            trial = np.repeat(points, 2 * d, axis=0)
            trial[:, numeric] += moves * np.repeat(steps, 2 * d)[:, None]
            trial = self._snap(trial)
            gains = self._ei(gp, trial, level, incumbent).reshape(len(points), 2 * d)
            best = np.argmax(gains, axis=1)
            gain = gains[starts_at, best]
            better = gain > values  # each start moves to its best step, or halves its step
            points[better] = trial[starts_at[better] * 2 * d + best[better]]
            values[better] = gain[better]
            steps[~better] /= 2
        return points
