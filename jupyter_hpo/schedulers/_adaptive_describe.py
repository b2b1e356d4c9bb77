"""What the auto scheduler says about its cuts: ``describe()`` and ``reason()``'s text."""

from __future__ import annotations

__all__ = ["DescribeMixin"]


class DescribeMixin:
    """How AdaptiveScheduler describes itself and says why each rung cuts as it does."""

    def describe(self) -> str:
        return (f"auto: hyperband stopping (η={self.eta:g}, grace {self.grace_period:g}, "
                f"max_t {self.max_t:g}) that adapts to the learning curves; {self.reason()}")

    def reason(self) -> str:
        """What the cuts are now and why, e.g. "rank correlation 0.10 between epochs 3 and
        27: stopping fewer trials (keeps 100%)"."""
        if not self.cut_levels:
            return f"no rung below max_t {self.max_t:g}: every trial runs to the end"
        measured = [lv for lv in self.cut_levels if self.correlation[lv] is not None]
        if not measured:
            return (f"measuring whether early {self._plural()} predict the final result "
                    f"({len(self._finals)} of {self.min_pairs} trials at max_t); until then "
                    f"{self._unmeasured('each rung')}")
        parts = []
        for level in measured:
            keep = self.keep[level]
            verdict = ("not stopping there" if keep >= 1 else
                       f"stopping as Hyperband (top 1/{self.eta:g})"
                       if keep <= 1 / self.eta + 1e-12 else
                       f"stopping fewer trials (keeps {keep:.0%})")
            prior = f", {self.weighed_correlation[level]:.2f} with the prior" \
                if self.prior_pairs else ""
            parts.append(f"rank correlation {self.correlation[level]:.2f} over "
                         f"{self._pair_counts[level]} trials between {self._plural()} "
                         f"{level:g} and {self.reference[level]:g}{self._so_far(level)}"
                         f"{self._extrapolated(level)}{prior}: {verdict}")
        unmeasured = [f"{level:g}" for level in self.cut_levels if level not in measured]
        if unmeasured:
            parts.append(f"{self._plural()} {', '.join(unmeasured)} not measured yet: "
                         f"{self._unmeasured('each')}")
        return "; ".join(parts)

    def _extrapolated(self, level: float) -> str:
        """How a rung ranks when a model ranks it, e.g. " for the value extrapolated from
        epoch 3 (0.38 for the value alone)"."""
        if level not in self.plain_correlation:
            return ""
        per_trial = " with a rate per trial" if level in self._rate_models else ""
        model = (f"the value at {self.max_t:g} predicted by the learning-curve model{per_trial}"
                 if self.rate[level] is not None else
                 f"the value extrapolated from {self.resource} {self.previous[level]:g}")
        return f" for {model} ({self.plain_correlation[level]:.2f} for the value alone)"

    def _unmeasured(self, who: str) -> str:
        """What rungs keep before their ρ is measured, said of ``who``."""
        keep = self.unmeasured_keep
        if keep >= 1:
            return "no rung stops trials"
        return (f"{who} keeps the better half" if keep == 0.5 else
                f"{who} keeps the best {keep:.0%}")

    def _so_far(self, level: float) -> str:
        if self.reference[level] >= self.max_t:
            return ""
        return f" (so far; {self.max_t:g} once {self.min_pairs} trials reach it)"

    def _plural(self) -> str:
        return self.resource if self.resource.endswith("s") else f"{self.resource}s"
