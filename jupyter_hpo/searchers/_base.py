"""The Searcher protocol: proposes configurations and learns from their results."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..space import Space


class Searcher(ABC):
    """Proposes configurations; pure, synchronous and deterministic given ``seed``.

    ``suggest`` marks the proposal pending until ``observe(..., final=True)`` or ``remove``;
    model-based searchers use the pending set so concurrent workers get different proposals.
    """

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode is {mode!r}, but must be 'min' or 'max'")
        self.space, self.metric, self.mode, self.seed = space, metric, mode, seed
        self.rng = np.random.default_rng(seed)
        self.pending: dict[int, dict[str, Any]] = {}
        self.resource: str | None = None
        self.max_t: float | None = None
        self.rung_levels: list[float] = []
        self.queued: list[dict[str, Any]] = []

    def set_fidelity(self, resource: str, max_t: float, rung_levels: list[float]) -> None:
        """Called by Hyperband: reports carry ``resource`` (up to ``max_t``) and decisions are
        made at ``rung_levels``, so a multi-fidelity searcher can model the resource too."""
        self.resource, self.max_t, self.rung_levels = resource, max_t, list(rung_levels)

    def suggest(self, trial_id: int) -> dict[str, Any] | None:
        """A configuration for a new trial, or ``None`` when the space is exhausted."""
        config = self.queued.pop(0) if self.queued else self._suggest(trial_id)
        if config is not None:
            self.pending[trial_id] = config
        return config

    def enqueue(self, config: dict[str, Any]) -> None:
        """Propose ``config`` next, before anything of the searcher's own (e.g. the trials a
        resumed study re-runs)."""
        self.queued.append(dict(config))

    def restore(self, trial_id: int, config: dict[str, Any]) -> None:
        """A stored trial of a resumed study; its results follow through ``observe``.
        Searchers that remember their proposals (grid) mark ``config`` as taken."""

    def resumed(self, restored: int) -> None:
        """After ``restored`` stored trials: a fresh random stream, so that a resumed seeded
        study does not propose its first configurations again (still deterministic)."""
        if restored:
            self.rng = np.random.default_rng(None if self.seed is None
                                             else [self.seed, restored])

    @abstractmethod
    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        """Subclasses propose here."""

    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        """Learn from a report (``final``: the trial has ended with this result)."""
        if final:
            self.pending.pop(trial_id, None)

    def remove(self, trial_id: int) -> None:
        """Forget a pending trial that failed or was cancelled."""
        self.pending.pop(trial_id, None)
