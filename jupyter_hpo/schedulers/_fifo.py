"""FIFO: every trial runs to the end; the searcher alone decides what to try."""

from __future__ import annotations

from typing import Any

from ..trial import Decision
from ._base import Scheduler


class FIFOScheduler(Scheduler):
    """Starts trials in the searcher's order and never stops one early."""

    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        self.searcher.observe(trial_id, self.configs.get(trial_id, {}), result)
        return Decision.CONTINUE
