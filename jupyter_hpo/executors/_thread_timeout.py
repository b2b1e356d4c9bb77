"""A thread trial's time limit (``--trial-timeout``): it counts the seconds the trial's own code
ran, not those it spent inside ``report`` (waiting for a decision, or paused), as the process
executor counts them, and ends a trial past it as a forced stop does (``_thread_stop.py``).
The thread executor watches all its trials with one ``TimeoutWatch``; a Dask task, which runs
in a worker's thread, watches its own trial with a ``TrialTimeout``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..trial import Trial
from ._thread_stop import ThreadGate

TICK_S = 0.05
"""How often the running trials' clocks advance: a trial ends at most this late."""


class TimeoutWatch:
    """One daemon thread, alive while trials are watched, that advances each trial's clock by
    the tick when its thread is in the trial's own code and abandons a trial past ``limit``."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._watched: dict[int, ThreadGate] = {}  # trial id -> the gate of its code
        self._used: dict[int, float] = {}
        self._timed_out: set[int] = set()
        self._thread: threading.Thread | None = None

    def watch(self, trial: Trial, gate: ThreadGate) -> None:
        """Start counting ``trial``'s time (from what its runs before a pause used)."""
        with self._lock:
            self._watched[trial.trial_id] = gate
            self._used[trial.trial_id] = trial.timeout_used
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="hpo-trial-timeout")
                self._thread.start()

    def unwatch(self, trial: Trial) -> bool:
        """Stop counting (the trial's code ended); whether it was ended for its time."""
        with self._lock:
            self._watched.pop(trial.trial_id, None)
            trial.timeout_used = self._used.pop(trial.trial_id, trial.timeout_used)
            timed_out = trial.trial_id in self._timed_out
            self._timed_out.discard(trial.trial_id)
            return timed_out

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            step, last = now - last, now
            with self._lock:
                if not self._watched:
                    self._thread = None
                    return
                over = []
                for trial_id, gate in self._watched.items():
                    if gate.in_trial_code():
                        self._used[trial_id] += step
                    if self._used[trial_id] > self.limit and trial_id not in self._timed_out:
                        self._timed_out.add(trial_id)
                        over.append(gate)
            for gate in over:
                gate.abandon()


def timeout_error(limit: float) -> str:
    """Why a trial stopped for its time limit failed (its traceback shows where it was)."""
    return (f"exceeded the trial timeout of {limit:g}s (the time its code ran, not counting "
            f"report()); it was stopped where the traceback shows")


class TrialTimeout:
    """One trial's time limit in the thread that runs it (a Dask task's): its report and side
    hooks are guarded as a thread trial's are, and past ``limit`` its code is stopped with
    ``TrialAbandoned``. Without a limit it guards and counts nothing."""

    def __init__(self, trial: Trial, limit: float | None) -> None:
        self.trial, self.limit = trial, limit
        self._gate = ThreadGate() if limit is not None else None
        self._watch = TimeoutWatch(limit) if limit is not None else None

    @classmethod
    def start(cls, trial: Trial, limit: float | None, used: float | None) -> TrialTimeout:
        """Count ``trial``'s time from now, on top of the ``used`` seconds of its runs before
        a pause (a released trial runs again in a new task)."""
        timeout = cls(trial, limit)
        if timeout._watch is not None and timeout._gate is not None:
            trial.timeout_used = used or 0.0
            timeout._watch.watch(trial, timeout._gate)
        return timeout

    def guarded(self, report: Callable[..., Any], side: Callable[..., Any]
                ) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The trial's report and side hooks, with no stop raised inside them."""
        if self._gate is None:
            return report, side
        return self._gate.guard(report), self._gate.guard(side, any_thread=True)

    def code_ended(self) -> None:
        """The trial's code returned or raised: nothing more may be raised in this thread."""
        if self._gate is not None and self._watch is not None:
            self._gate.close()
            self._watch.unwatch(self.trial)

    def used(self) -> float | None:
        """Seconds the trial's code has run in all its runs (None without a limit)."""
        return None if self.limit is None else self.trial.timeout_used

    def error(self) -> str:
        """Why the trial failed, once its code was stopped for its time."""
        return timeout_error(self.limit or 0.0)
