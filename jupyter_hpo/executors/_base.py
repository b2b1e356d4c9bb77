"""The Executor protocol: runs trials somewhere and reports back through ``TrialHooks``."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

from ..resources import Slot
from ..trial import Trial, TrialStatus


@dataclass
class TrialOutcome:
    """How a trial ended, as seen by the executor."""

    status: TrialStatus
    result: dict[str, Any] | None = None
    namespace: dict[str, Any] | None = None
    error: str = ""
    traceback: str = ""


@dataclass
class FetchedNamespace:
    """A finished trial's variables as fetched from the worker that ran it (``variables``;
    None when none came back) and a note for the apply message: the variables left out
    because they do not pickle, or why none came back."""

    variables: dict[str, Any] | None
    note: str = ""


class TrialHooks(Protocol):
    """What the study offers an executor: answer reports and take finished trials."""

    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        """Record a report; raises ``TrialStopped`` to stop the trial."""

    def on_finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        """Take a finished trial (``status`` PAUSED: a paused trial's code ended to free its
        worker; it is run again when promoted)."""

    def on_side(self, trial: Trial, kind: str, data: Any) -> None:
        """Take what a trial tells besides reports: ``("set", attrs)``,
        ``("checkpoint", Checkpoint)``."""

    def on_executor_problem(self, message: str) -> None:
        """Something the user must know about where trials run; the study goes on."""

    def on_executor_error(self, message: str, details: str = "") -> None:
        """The executor can run no more trials: the study stops with ``message`` (its stop
        reason too, so no colon) and ``details``."""


class Executor(ABC):
    """Template method: ``start``/``shutdown`` check the call, ``_start``/``_shutdown`` act."""

    name = "executor"
    blocks_on_pause = True
    """Whether a paused trial waits inside ``report()`` (threads, processes) or the executor
    polls ``Study.paused_outcome`` (a simulated clock)."""
    releases_paused = False
    """Whether a paused trial that saved a checkpoint since its last report ends its code
    (``TrialReleased``) to free its worker, and is started again when promoted (process
    executor), instead of waiting inside ``report()`` with its worker (threads)."""
    inline = False
    """Whether the study proposes trials inline, right after the event that freed a worker,
    instead of in its controller thread: for executors driven by a simulated clock, so that
    a seeded simulation is reproducible."""
    OPTIONS: tuple[str, ...] = ()
    """The executor-specific options its constructor takes (``executor_options``)."""

    def __init__(self, workers: int = 1, slots: list[Slot] | None = None) -> None:
        if slots is None:
            if int(workers) < 1:
                raise ValueError(f"workers is {workers}, but must be >= 1")
            slots = [Slot()] * int(workers)
        if not slots:
            raise ValueError("an executor needs at least one slot")
        self.slots: list[Slot] = list(slots)
        self.workers = len(self.slots)
        self._closed = False
        self.keep_count, self.keep_mode = 0, "min"

    def keep_namespaces(self, count: int, mode: str) -> None:
        """Before the first trial: keep the variables of the ``count`` best trials (by each
        trial's values of its metric under ``mode``) where the trials ran, for
        ``fetch_namespace``. The thread executor hands every namespace over with the trial's
        outcome (the study keeps the best), so it keeps nothing itself."""
        self.keep_count, self.keep_mode = int(count), str(mode)

    def fetch_namespace(self, trial_id: int) -> FetchedNamespace | None:
        """The variables of finished trial ``trial_id`` from the worker that holds them, if
        this executor keeps namespaces in its workers (process, Dask); None if it hands them
        over with each outcome instead (threads). Bounded in time, never raises for a worker
        that is gone: the note then says why nothing came back."""
        return None

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

    def cancel(self, trial: Trial) -> None:
        """Stop ``trial`` now if this executor can; by default it stops at its next report."""

    def abandon(self, trial: Trial) -> None:
        """A forced stop ended ``trial``: end its code now where ``cancel`` does not (threads);
        by default its code ends at its next report."""

    def describe(self) -> str:
        return f"{self.workers} {self.name} worker{'s' if self.workers != 1 else ''}"

    @abstractmethod
    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None: ...

    def _shutdown(self) -> None:
        """Subclasses release their resources here."""


def checked_trial_timeout(trial_timeout: float | None) -> float | None:
    """``trial_timeout`` as every executor takes it: None, or seconds > 0."""
    if trial_timeout is None:
        return None
    if isinstance(trial_timeout, bool) or not isinstance(trial_timeout, numbers.Real):
        raise ValueError(  # noqa: TRY004 - option errors are ValueErrors
            f"trial_timeout is {trial_timeout!r}, but must be a number of seconds > 0 (90, "
            f"not '90'; the %%hpo line's --trial-timeout also takes 30m)")
    if not trial_timeout > 0:
        raise ValueError(f"trial_timeout is {trial_timeout}, but must be > 0 seconds")
    return trial_timeout
