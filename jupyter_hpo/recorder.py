"""Writes a running study to storage in batches, off the report path.

Study events only mark trials dirty (a set insertion); a writer thread wakes every
``interval`` seconds and writes, in one transaction, each dirty trial's row and its new reports,
the study's state and a heartbeat. A kernel killed mid-study loses at most the last interval.
"""

from __future__ import annotations

import atexit
import sqlite3
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from .storage import Storage, dumps_config, dumps_values

if TYPE_CHECKING:
    from .study import Study, StudyEvent

HEARTBEAT_EVERY = 5.0  # seconds between heartbeats while nothing else is written

_live_recorders: weakref.WeakSet[StudyRecorder] = weakref.WeakSet()


class StudyRecorder:
    """Mirrors one study into ``storage`` while it runs."""

    def __init__(self, study: Study, storage: Storage, study_id: int,
                 written: dict[int, int] | None = None, interval: float = 0.2) -> None:
        self.study, self.storage, self.study_id = study, storage, study_id
        self.interval = interval
        self.error: Exception | None = None
        self._written = dict(written or {})  # trial_id -> reports already stored
        self._dirty: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._unsubscribe = study.subscribe(self._on_event)
        self._last_beat = 0.0
        self._exiting = False

    def start(self) -> None:
        """Start the writer thread (the study has started)."""
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"hpo-storage-{self.study.name}")
        _live_recorders.add(self)
        self._thread.start()

    def _on_event(self, event: StudyEvent) -> None:
        if event.trial is not None:
            with self._lock:
                self._dirty.add(event.trial.trial_id)
        if event.kind in ("trial_finished", "study_finished"):
            self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the finished study is written (the final batch included)."""
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout)

    def _run(self) -> None:
        import time

        self._conn = self.storage.connect()
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                done = self.study.done
                self.flush(final=done)
                if done or self._exiting:
                    break
                if time.monotonic() - self._last_beat > HEARTBEAT_EVERY:
                    self._last_beat = time.monotonic()
                    self._write([], [], None)
        finally:
            self._unsubscribe()
            if self.error is None:
                self._release()
            self._conn.close()

    def flush(self, final: bool = False) -> None:
        """Write what changed since the last flush (called by the writer thread); the
        ``final`` flush of a finished study writes every trial's final row."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        if final:
            dirty |= {trial.trial_id for trial in self.study.trials
                      if trial.status.value != "interrupted"}
        study = self.study
        trial_rows, report_rows = [], []
        for trial_id in sorted(dirty):
            trial = study.trials[trial_id]
            trial_rows.append((trial_id, dumps_config(trial.config), trial.status.value,
                               trial.start_time, trial.end_time, trial.error, trial.traceback,
                               str(trial.device), trial.bracket))
            times = study.report_times(trial_id)
            reports = list(trial.reports)
            start = self._written.get(trial_id, 0)
            for seq in range(start, min(len(reports), len(times))):
                report_rows.append((trial_id, seq, times[seq], dumps_values(reports[seq])))
        state = study.state if study.state != "stopping" else "running"
        error = str(study.error) if study.error is not None else ""
        if self._write(trial_rows, report_rows, (state, study.elapsed, error)):
            for trial_id, seq, _, _ in report_rows:
                self._written[trial_id] = max(self._written.get(trial_id, 0), seq + 1)
        else:
            with self._lock:
                self._dirty |= dirty  # written next time

    def _write(self, trials: list[tuple[Any, ...]], reports: list[tuple[Any, ...]],
               state: tuple[str, float, str] | None) -> bool:
        try:
            self.storage.write(self._conn, self.study_id, trials, reports, state)
        except (sqlite3.Error, OSError) as exc:  # a full disk or a locked file must not kill the study
            if self.error is None:
                print(f"jupyter_hpo: could not write study {self.study.name!r} to "
                      f"{self.storage.path}: {exc} (retrying; results stay in memory)",
                      file=sys.stderr)
            self.error = exc
            return False
        self.error = None
        return True

    def _release(self) -> None:
        try:
            self.storage.release(self.study_id)
        except (sqlite3.Error, OSError) as exc:  # the lease then times out on its own
            print(f"jupyter_hpo: could not release study {self.study.name!r}: {exc}",
                  file=sys.stderr)


@atexit.register
def _flush_at_exit() -> None:
    """A kernel shutting down normally writes what its running studies have so far."""
    for recorder in list(_live_recorders):
        thread = recorder._thread
        if thread is not None and thread.is_alive():
            recorder._exiting = True
            recorder._wake.set()
            thread.join(2.0)
