"""A thread trial's time limit (``--trial-timeout``): it counts the seconds the trial's own code
ran, not those it spent inside ``report`` (waiting for a decision, or paused), as the process
executor counts them, and ends a trial past it as a forced stop does (``_thread_stop.py``)."""

from __future__ import annotations

import threading
import time

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
