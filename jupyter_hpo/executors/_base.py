"""The Executor protocol: runs trials somewhere and reports back through ``TrialHooks``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

from ..trial import Trial, TrialStatus


@dataclass
class TrialOutcome:
    """How a trial ended, as seen by the executor."""

    status: TrialStatus
    result: dict[str, Any] | None = None
    namespace: dict[str, Any] | None = None
    error: str = ""
    traceback: str = ""


class TrialHooks(Protocol):
    """What the study offers an executor: answer reports and take finished trials."""

    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        """Record a report; raises ``TrialStopped`` to stop the trial."""

    def on_finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        """Take a finished trial."""


class Executor(ABC):
    """Template method: ``start``/``shutdown`` check the call, ``_start``/``_shutdown`` act."""

    name = "executor"

    def __init__(self, workers: int = 1) -> None:
        if int(workers) < 1:
            raise ValueError(f"workers is {workers}, but must be >= 1")
        self.workers = int(workers)
        self._closed = False

    def start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        """Begin running ``trial``; returns at once."""
        if self._closed:
            raise RuntimeError(f"the {self.name} executor was shut down")
        self._start(trial, objective, hooks)

    def shutdown(self) -> None:
        """Release workers; running trials are left to stop at their next report."""
        if not self._closed:
            self._closed = True
            self._shutdown()

    def describe(self) -> str:
        return f"{self.workers} {self.name} worker{'s' if self.workers != 1 else ''}"

    @abstractmethod
    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None: ...

    def _shutdown(self) -> None:
        """Subclasses release their resources here."""
