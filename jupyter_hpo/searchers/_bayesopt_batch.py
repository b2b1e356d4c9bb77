"""The bayesopt searcher's batches: pending trials fantasised, taken configurations skipped."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

import numpy as np

from ._bayesopt_encoding import _config_key

__all__ = ["_MAX_FANTASIES", "BatchMixin"]

_MAX_FANTASIES = 16  # the latest pending trials fantasised (paused ones may pile up)


class BatchMixin:
    """How BayesOptSearcher sizes a batch, fantasises pending trials and skips taken ones."""

    def _untaken_test(self, candidates: np.ndarray, taken: set[tuple[Any, ...]]
                      ) -> tuple[Callable[[int], bool], dict[int, dict[str, Any]]]:
        """A test of whether no pending trial runs and no observed one ran candidate ``i``'s
        configuration, and the configurations it decoded on the way (by index)."""
        decoded: dict[int, dict[str, Any]] = {}

        def untaken(i: int) -> bool:
            config = decoded[i] = self._decode(candidates[i])
            key = _config_key(config)
            return key not in taken and key not in self._observed

        return untaken, decoded

    def _batch_context(self) -> tuple[Any, ...]:
        """What a batch of proposals depends on besides the data: the level EI is taken at
        and the rungs the model learns from."""
        return self._target_level(), self.trusted_levels

    def _batch_fraction(self) -> float:
        """The share of the observed trials one acquisition proposes for (``batch_fraction``)."""
        fraction = self.batch_fraction
        if fraction is None:
            fraction = self.default_batch_fraction if self.resource is not None else 0.0
        return fraction

    def _batch_size(self) -> int:
        """How many proposals one acquisition gives (see ``batch_fraction``)."""
        return max(1, int(self._batch_fraction() * len(self._trials)))

    def _fantasies(self) -> list[np.ndarray]:
        """The encodings of the ``_MAX_FANTASIES`` latest pending configurations, oldest
        first (paused trials of the promotion variant stay pending by the hundred; each
        encoding is computed once per trial). Only a fresh acquisition fantasises them."""
        latest = list(islice(reversed(self.pending.items()), _MAX_FANTASIES))
        return [self._codes_of(trial_id, config)[1] for trial_id, config in reversed(latest)]

    def _taken(self) -> set[tuple[Any, ...]]:
        """The keys of the pending configurations without an observation (an observed one's
        key is in ``_observed``), without walking the paused trials in Python (a set
        difference walks the smaller side in C; ``pending.keys() - trials`` walked the
        observed trials: twice as long with the promotion variant's hundreds paused)."""
        pending = self.pending
        return {self._codes_of(trial_id, pending[trial_id])[2]
                for trial_id in set(pending) - self._trials}
