"""Trials, their statuses, scheduler decisions, and the ``report()`` function trials call."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Decision", "Trial", "TrialStatus", "TrialStopped", "current_trial", "report"]


class TrialStopped(BaseException):
    """Raised inside a trial by ``report()`` when the scheduler or the user stops it.

    It derives from ``BaseException`` so that a user's ``except Exception`` does not swallow it.
    """


class TrialStatus(str, Enum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (TrialStatus.RUNNING, TrialStatus.PAUSED)


class Decision(str, Enum):
    """A scheduler's answer to a report."""

    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(eq=False)
class Trial:
    """One evaluation of one configuration; ``reports`` grows with every ``report()``."""

    trial_id: int
    config: dict[str, Any]
    status: TrialStatus = TrialStatus.RUNNING
    reports: list[dict[str, Any]] = field(default_factory=list)
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    error: str = ""
    traceback: str = ""
    device: Any = "cpu"
    resources: str = "cpu"
    slot: int = 0
    bracket: int = 0
    output: list[str] = field(default_factory=list, repr=False)

    @property
    def duration(self) -> float:
        return (self.end_time or time.time()) - self.start_time

    def last(self, key: str, default: Any = None) -> Any:
        """The last reported value of ``key``."""
        for values in reversed(self.reports):
            if key in values:
                return values[key]
        return default

    def best(self, metric: str, mode: str) -> float | None:
        """The best reported value of ``metric`` under ``mode`` ("min" or "max")."""
        values = [r[metric] for r in self.reports if _is_number(r.get(metric))]
        if not values:
            return None
        return max(values) if mode == "max" else min(values)


def as_number(value: Any) -> float | None:
    """``value`` as a float, or ``None`` for NaN and non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _is_number(x: Any) -> bool:
    try:
        return not math.isnan(float(x))  # rejects NaN and non-numbers
    except (TypeError, ValueError):
        return False


ReportHook = Callable[[dict[str, Any]], None]
_local = threading.local()


class _TrialContext:
    """Binds a trial and its report hook to the current thread while the trial runs."""

    def __init__(self, trial: Trial, hook: ReportHook) -> None:
        self.trial, self.hook = trial, hook

    def __enter__(self) -> _TrialContext:  # noqa: PYI034 - final class
        self._previous = getattr(_local, "context", None)
        _local.context = self
        return self

    def __exit__(self, *exc: object) -> None:
        _local.context = self._previous


def current_trial() -> Trial | None:
    """The trial running in this thread, or ``None`` outside a trial."""
    context = getattr(_local, "context", None)
    return context.trial if context else None


def report(**values: Any) -> None:
    """Send metrics of the running trial, e.g. ``report(epoch=3, val_acc=0.91)``.

    Raises ``TrialStopped`` when the scheduler (or the user) stops the trial; a paused trial
    blocks here until it is promoted.
    """
    context = getattr(_local, "context", None)
    if context is None:
        raise RuntimeError("report() was called outside a trial: call it from a %%hpo cell "
                           "or from a function run by jupyter_hpo.tune()")
    context.hook(values)
