"""The models an auto scheduler's rung may rank trials by: extrapolation and learning curves."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..records import finite_number
from ._curve_model import curve_residuals, shared_rate
from ._rank_correlation import spearman
from ._rate_model import fit_rate_model

__all__ = ["CurveMixin"]


class CurveMixin:
    """How AdaptiveScheduler scores trials by a model and fits the learning-curve models."""

    def _score(self, trial_id: int, level: float) -> float:
        """The trial's value at max_t predicted by the curve model from its reports up to
        ``level`` when the rung ranks by it, else its value at ``level`` extrapolated along
        its slope from the rung below."""
        rate = self.rate[level]
        if rate is not None:
            if level in self._rate_models:
                rate = int(self._rate_models[level].rates(self._own[level][trial_id])[0])
            return float(self._predicted[level][trial_id][rate])
        value = self.rungs[0][level][trial_id]
        below = self.previous[level]
        before = self.rungs[0][below].get(trial_id, value) if below is not None else value
        return value + self.slope[level] * (value - before)

    def _all_scores(self, level: float) -> list[tuple[float, int]]:
        """Sorted (score, trial) of every trial recorded at ``level``: ``_score``'s, with a
        rate per trial found for all of them at once."""
        trials = list(self.rungs[0][level])
        model = self._rate_models.get(level) if self.rate[level] is not None else None
        if model is None or not trials:
            return sorted((self._score(t, level), t) for t in trials)
        rates = model.rates(np.array([self._own[level][t] for t in trials]))
        return sorted((float(self._predicted[level][t][k]), t) for t, k in zip(trials, rates))

    def _curve_fit(self, level: float, pairs: list[tuple[int, float, float]]
                   ) -> tuple[int | None, float]:
        """The pooled curve model's rate fitted on the measured trials' whole curves, and the
        leave-one-out ρ of its predictions at max_t from their reports up to ``level`` (each
        with the rate fitted without its own curve) with their final values."""
        predicted = self._predicted[level]
        measured = [(t, final) for t, _, final in pairs
                    if t in self._residuals and t in predicted]
        if len(measured) < self.min_pairs:
            return None, -1.0
        residuals = np.array([self._residuals[t] for t, _ in measured])
        if self.curve_model == "trial":
            model = fit_rate_model(residuals, np.array([self._own[level][t]
                                                        for t, _ in measured]))
            self._rate_models[level] = model
            best, held_out = int(np.argmin(model.fits.sum(axis=0))), model.held_out
        else:
            best, held_out = shared_rate(residuals)
        guesses = [predicted[t][k] for (t, _), k in zip(measured, held_out)]
        return best, spearman(np.column_stack([guesses, [final for _, final in measured]]))

    def _record(self, trial_id: int, result: dict[str, Any]) -> None:
        """``curve_model``: keep a report in the trial's curve (in increasing resource; an
        out-of-order one is left out, as Hyperband's rungs leave it)."""
        r = finite_number(result.get(self.resource))
        loss = self.direction.loss(result.get(self.metric))
        if r is None or loss is None or trial_id not in self.bracket_of:
            return
        resources, losses = self._curves.setdefault(trial_id, ([], []))
        if not resources or r > resources[-1]:
            resources.append(r)
            losses.append(loss)

    def _measured(self, trial_id: int) -> None:
        """``curve_model``: a trial whose final value is measured gives the shape its curve."""
        if self.curve_model and trial_id in self._curves:
            resources, losses = self._curves[trial_id]
            self._residuals[trial_id] = curve_residuals(np.array(resources),
                                                        np.array(losses), self.max_t)
