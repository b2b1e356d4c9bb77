"""FIFO: every trial runs to the end; the searcher alone decides what to try."""

from __future__ import annotations

from typing import Any

from ..searchers import Searcher
from ..trial import Decision
from ._base import Scheduler


class FIFOScheduler(Scheduler):
    """Starts trials in the searcher's order and never stops one early.

    ``max_t`` and ``seed`` are accepted so that a front end may pass them to any scheduler;
    FIFO needs neither (it makes no random choice and reports need not carry the resource).
    """

    name = "fifo"
    OPTIONS = ("max_t", "seed")
    needs_resource = False

    def __init__(self, searcher: Searcher, metric: str, mode: str, resource: str = "epoch",
                 max_t: float | None = None, seed: int | None = None) -> None:
        super().__init__(searcher, metric, mode, resource)
        self.max_t, self.seed = max_t, seed

    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        self.searcher.observe(trial_id, self.configs.get(trial_id, {}), result)
        return Decision.CONTINUE
