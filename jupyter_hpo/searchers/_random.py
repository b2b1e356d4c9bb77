"""Random search: independent samples from the space."""

from __future__ import annotations

from typing import Any

from ._base import Searcher


class RandomSearcher(Searcher):
    """Samples every hyperparameter independently (log-uniform where ``log=True``)."""

    name = "random"

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        return self.space.sample(self.rng)
