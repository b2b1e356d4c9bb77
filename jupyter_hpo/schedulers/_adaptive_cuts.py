"""The auto scheduler's cuts: each rung's rank correlation with max_t and its keep share."""

from __future__ import annotations

import numpy as np

from ._rank_correlation import extrapolation, spearman

__all__ = ["CutsMixin"]


class CutsMixin:
    """How AdaptiveScheduler measures ρ on the trials that went on and sets each rung's cut."""

    def _adapt(self) -> None:
        """Recompute each rung's correlation with max_t and its keep share; tell the
        searcher which rungs' results still carry information."""
        before = dict(self.keep)
        rungs = self.rungs[0]
        for level in self.cut_levels:
            recorded = rungs[level]
            pairs = [(t, recorded[t], final) for t, final in self._finals.items()
                     if t in recorded]
            reference = self.max_t
            if len(pairs) < self.min_pairs:
                pairs, reference = self._proxy_pairs(level)
                if len(pairs) < self.min_pairs:
                    continue
            if self.reference.get(level) == reference \
                    and self._pair_counts.get(level) == len(pairs):
                continue  # pairs only grow: the same count against the same level, same pairs
            self._pair_counts[level] = len(pairs)
            rho = self._measure(level, pairs, reference)
            self.correlation[level] = rho
            self.reference[level] = reference
            weighed = (len(pairs) * rho + self.prior_pairs * self.prior_rho) \
                / (len(pairs) + self.prior_pairs)
            self.weighed_correlation[level] = weighed
            strength = min(max((weighed - self.rho_low) / (self.rho_high - self.rho_low), 0.0),
                           1.0)
            self.keep[level] = 1.0 - (1.0 - 1.0 / self.eta) * strength
        if all(self.reference.get(lv) == self.max_t for lv in self.cut_levels):
            self._free = None
        if self.keep != before:
            self.searcher.trust_levels([lv for lv in self.rung_levels
                                        if lv >= self.max_t or self.keep[lv] < 1])
            if self.searcher.debug_log:
                from ..trial import log_line

                log_line(f"auto: {self.reason()}")

    def _measure(self, level: float, pairs: list[tuple[int, float, float]],
                 reference: float) -> float:
        """ρ between the trials' values at ``level`` and at the reference, for ``pairs`` of
        (trial, value, reference value); with ``extrapolate`` or ``curve_model``, the best of
        the value alone and the models (each by its leave-one-out ρ, a model only where it
        beats the value's by the margin), which sets how the rung ranks trials (``slope``,
        ``rate``)."""
        values = np.array([(value, final) for _, value, final in pairs])
        rho = plain = spearman(values)
        below = self.previous[level]
        slope, rate = 0.0, None
        self.plain_correlation.pop(level, None)
        if self.extrapolate and below is not None:
            earlier = self.rungs[0][below]
            change = np.array([value - earlier.get(t, value) for t, value, _ in pairs])
            fitted, rho_line = extrapolation(values[:, 0], change, values[:, 1])
            if rho_line > plain + self.EXTRAPOLATION_MARGIN:
                rho, slope = rho_line, fitted
        if self.curve_model and below is not None and reference >= self.max_t:
            fitted_rate, rho_curve = self._curve_fit(level, pairs)
            margin = self.TRIAL_RATE_MARGIN if self.curve_model == "trial" \
                else self.CURVE_MARGIN
            if rho_curve > max(rho, plain + margin):
                rho, slope, rate = rho_curve, 0.0, fitted_rate
        if rho != plain:
            self.plain_correlation[level] = plain
        if slope != self.slope[level] or rate != self.rate[level] \
                or (rate is not None and level in self._rate_models):  # a refitted model
            self.slope[level], self.rate[level] = slope, rate
            if slope or rate is not None:
                self._scores[level] = self._all_scores(level)
            else:
                self._scores.pop(level, None)
        return rho

    def _proxy_pairs(self, level: float) -> tuple[list[tuple[int, float, float]], float]:
        """Before enough unjudged trials reach max_t: ``level``'s values paired with those of
        the highest cut level above it that at least ``min_pairs`` unjudged trials reached."""
        if self._free is None:
            return [], self.max_t
        below = self._free[level]
        for upper in reversed(self.cut_levels):
            if upper <= level:
                break
            above = self._free[upper]
            if len(above) < self.min_pairs:
                continue
            pairs = [(t, below[t], loss) for t, loss in above.items() if t in below]
            if len(pairs) >= self.min_pairs:
                return pairs, upper
        return [], self.max_t
