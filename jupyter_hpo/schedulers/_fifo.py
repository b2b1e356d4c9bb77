"""FIFO: every trial runs to the end; the searcher alone decides what to try."""

from __future__ import annotations

from typing import Any

from ..searchers import Searcher
from ..trial import Decision
from ._base import Scheduler


class FIFOScheduler(Scheduler):
    """Starts trials in the searcher's order and never stops one early.

    ``seed`` is accepted so that a front end may pass the study's seed to any scheduler; FIFO
    makes no random choice. It takes no ``max_t``: trials run as long as their code does.
    """

    name = "fifo"
    OPTIONS = ("seed",)
    needs_resource = False

    def __init__(self, searcher: Searcher, metric: str, mode: str, resource: str = "epoch",
                 seed: int | None = None) -> None:
        super().__init__(searcher, metric, mode, resource)
        self.seed = seed

    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        if self.searcher.uses_progress:
            self.searcher.observe(trial_id, self.configs.get(trial_id, {}), result)
        return Decision.CONTINUE
