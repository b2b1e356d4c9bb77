"""Writes a running study to storage in batches, off the report path, and brings stop requests
from storage back to the study.

Study events only mark trials dirty (a set insertion); a writer thread wakes every
``interval`` seconds and writes, in one ``storage.write``, each dirty trial as a record (its
new reports only) and the study's state; then it asks the storage whether someone (another
process, the JupyterLab panel) asked the study to stop, and if so stops it once. When nothing
changed it writes a heartbeat every ``heartbeat_every`` seconds, so the lease stays alive and
the stored elapsed time stays current. A kernel killed mid-study loses at most one interval.

Faults never stop the study: a failed write is retried at the next flush and reported once
through ``study.notify_problem`` (shown by the dashboard). A study that ends while its final
write fails (the file locked by another process) is not waited for: ``join`` returns and the
writer keeps trying in the background until the write goes through or the interpreter exits,
then releases the study. A storage file deleted or replaced
while the study runs, a study deleted from storage or a lease taken over by another process
stop the writing for good (nothing is recreated or written elsewhere) and are reported at once.

A kernel asked to shut down or restart (IPython's ``exit_now``, which ipykernel sets on a
shutdown request and ``exit()`` sets too) is about to die: from then on the recorder writes
nothing and keeps the lease, so its study is stored as a killed kernel leaves it (running,
read as ``interrupted`` once the process is gone), not as the study's own ending. A restart
interrupts the kernel (SIGINT) before it asks it to shut down, so a study that the magic stops
on an interrupt is stored ended only once the cell has survived it: ``hold_end`` keeps the
final write as running (lease kept), ``store_end`` writes the ending then, unless the kernel is
ending.

The study seam (what the recorder uses): ``subscribe(callback) -> unsubscribe`` with events
that carry ``event.kind`` and ``event.trial.trial_id``, ``trial_records(trial_ids)``,
``state`` (a ``StudyState``), ``elapsed``, ``error``, ``stop_reason``, ``done``, ``name``,
``queue`` (the enqueued configurations not started yet; a ``queue`` event says it changed),
``stop(why)``, ``notify_problem(message)`` and, optionally, ``checkpoints_stored(records)``
(called after each write with the records it stored), ``storage_halted()`` (writing
stopped for good) and ``save_hint`` (how the user saves results only memory holds; without
one, the messages name what works in a script: ``SAVE_HINT``).
"""

from __future__ import annotations

import atexit
import math
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from .errors import (
    StorageError,
    StorageGoneError,
    StudyNotFoundError,
    StudyStateError,
)
from .records import StudyState
from .storage import BaseStorage, StudyUpdate

__all__ = ["HEARTBEAT_EVERY", "SAVE_HINT", "StudyRecorder", "kernel_ending",
           "recorder_holding"]

HEARTBEAT_EVERY = 5.0  # seconds between writes while nothing changes
SAVE_HINT = ("save them from the Study that tune() returns, e.g. "
             "study.trials_dataframe().to_csv('file.csv')")
"""How results that only memory holds are saved where no ``%hpo`` command reaches the study
(a script, ``tune()`` in a notebook: the storage, which the CLI reads, is what failed)."""

_live_recorders: weakref.WeakSet[StudyRecorder] = weakref.WeakSet()


def recorder_holding(storage: BaseStorage, study_id: int) -> StudyRecorder | None:
    """The recorder of this process that still holds study ``study_id`` of ``storage`` (its
    study is set up, runs, or is still being stored), if any."""
    key = _lease_key(storage, study_id)
    for recorder in list(_live_recorders):
        if not recorder.closed and _lease_key(recorder.storage, recorder.study_id) == key:
            return recorder
    return None


def _lease_key(storage: BaseStorage, study_id: int) -> tuple[Any, int]:
    """Storages of one file are alike (a file's path); in-memory ones are their own."""
    return getattr(storage, "path", None) or id(storage), study_id


class StudyRecorder:
    """Mirrors one study into ``storage`` while it runs. ``written`` maps trial ids to the
    number of their reports already stored (a resumed study's)."""

    def __init__(self, study: Any, storage: BaseStorage, study_id: int,
                 written: Mapping[int, int] | None = None, *, interval: float = 0.2,
                 heartbeat_every: float = HEARTBEAT_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.study = study
        self._study = study
        self.storage, self.study_id = storage, study_id
        self.interval, self.heartbeat_every, self._clock = interval, heartbeat_every, clock
        self.error: Exception | None = None
        """The last write's error (``None`` once a write succeeds again)."""
        self._written = dict(written or {})  # trial_id -> reports already stored
        self._seen: set[int] = set(self._written)
        self._dirty: set[int] = set()
        self._queue_dirty = True  # the queue is written with the first flush
        self._lock = threading.Lock()  # guards _dirty and _seen (events come from any thread)
        self._flushing = threading.Lock()  # one flush at a time
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_status: tuple[StudyState, str, str] | None = None
        self._last_write = -math.inf
        self._stop_forwarded = False
        self._reported = False  # a failure of the current streak was reported
        self._halted = False  # writing stopped for good (storage gone, study deleted, ...)
        self._exiting = False
        self._settled = threading.Event()  # stored and released, halted, or left to retry
        self.retrying = False
        """The study ended but its final write failed: the writer keeps trying."""
        self._unstored = ""
        self.closed = False
        """The study's lease is given up (or lost): nothing more is written."""
        self._held = False  # the ending is stored as running until store_end (see above)
        self._ending = False  # this kernel is shutting down: nothing more is written
        self._unsubscribe = study.subscribe(self._on_event)
        _live_recorders.add(self)

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the writer thread (the study has started)."""
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"hpo-storage-{self._study.name}")
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the finished study is written (the final write included) and released,
        or until its final write has failed once (the writer then keeps trying)."""
        if self._thread is not None:
            self._wake.set()
            if self._settled.wait(timeout) and not self.retrying:
                self._thread.join()

    @property
    def unstored(self) -> str | None:
        """What to tell the user while the ended study's final write is still failing."""
        return self._unstored if self.retrying and self.error is not None else None

    @property
    def halted(self) -> bool:
        """Whether writing stopped for good (the study goes on in memory)."""
        return self._halted

    def _on_event(self, event: Any) -> None:
        trial = getattr(event, "trial", None)
        if trial is not None:
            with self._lock:
                self._dirty.add(trial.trial_id)
                self._seen.add(trial.trial_id)
        if event.kind == "queue":
            self._queue_dirty = True
        if event.kind in ("trial_finished", "study_finished"):
            self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._study.done or self._exiting or self._ending:
                    break
                self.flush()
            if self.error is None:  # a write that just failed is retried in the background
                self.flush(final=True)
            if self.error is not None and not (self._halted or self._exiting or self._ending):
                self._retry_final_write()
        except Exception as exc:  # noqa: BLE001 - a bug must be reported, not end silently
            self._halt(exc)
        finally:
            self._unsubscribe()
            if not (self._held or self._ending):
                self._release()
            self.close()
            self._settled.set()

    def hold_end(self) -> None:
        """Store the study's ending as running, keeping the lease, until ``store_end``: a
        kernel interrupt that stops the study may be the first step of a restart."""
        self._held = True

    def store_end(self) -> None:
        """Store the ending that ``hold_end`` held back and give up the lease; unless this
        kernel is shutting down, whose death then leaves the study ``interrupted``."""
        if not self._held or self._halted or kernel_ending():
            return
        self._held = False
        if self._thread is not None and self._thread.is_alive():
            return  # the writer still runs (a final write being retried): it stores and releases
        self.flush(final=True)
        if self.error is None:
            self._release()

    def close(self) -> None:
        """Give up the study without writing (its lease is released, or lost)."""
        self.closed = True

    def _retry_final_write(self) -> None:
        """The study ended but is not stored: let ``join`` return, say so, and keep trying
        until the write goes through (the lease holds meanwhile, since this process lives)."""
        self.retrying = True
        self._settled.set()
        name = self._study.name
        self._unstored = (f"study {name!r} ended before it could be stored in "
                          f"{self.storage.location} ({self.error}); this kernel keeps trying "
                          f"every {self.interval:g} s and stores it once the file is free (its "
                          f"results are kept in memory: {self._save_hint()})")
        self._problem(self._unstored)
        while self.error is not None and not self._halted and not self._exiting:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush(final=True)

    # ------------------------------------------------------------------ writing
    def flush(self, final: bool = False) -> None:
        """Write what changed since the last flush (or a heartbeat when it is due), then pass
        on a stop request. The ``final`` flush writes every trial seen."""
        with self._flushing:
            if self._halted or self._ending:
                return
            if kernel_ending():
                self._ending = True
                return
            with self._lock:
                dirty, self._dirty = self._dirty, set()
                if final:
                    dirty |= self._seen
                queue_dirty, self._queue_dirty = self._queue_dirty or final, False
            study = self._study
            state = study.state
            state = StudyState.RUNNING if state is StudyState.STOPPING else state
            error = "" if study.error is None else str(study.error)
            status = (state, error, study.stop_reason or "")
            if self._held and state.finished:  # stored as still running (hold_end)
                state, error, status = StudyState.RUNNING, "", (StudyState.RUNNING, "", "")
            now = self._clock()
            if dirty or final or queue_dirty or status != self._last_status or \
                    now - self._last_write >= self.heartbeat_every:
                records = study.trial_records(sorted(dirty)) if dirty else []
                queue = tuple(getattr(study, "queue", ())) if queue_dirty else None
                update = StudyUpdate(tuple(records),
                                     {r.trial_id: self._written.get(r.trial_id, 0)
                                      for r in records},
                                     state, study.elapsed, error, status[2], queue)
                if not self._write(update):
                    with self._lock:
                        self._dirty |= dirty  # written next time
                        self._queue_dirty = self._queue_dirty or queue_dirty
                    return
                for r in records:
                    stored = min(len(r.reports), len(r.times))
                    self._written[r.trial_id] = max(self._written.get(r.trial_id, 0), stored)
                stored_hook = getattr(study, "checkpoints_stored", None)
                if records and stored_hook is not None:
                    stored_hook(records)  # the checkpoint files they replaced can go
                self._last_status, self._last_write = status, now
            self._forward_stop_request()

    def _attempt(self, call: Callable[[], Any]) -> tuple[bool, Any]:
        """``(True, call())``, or ``(False, None)`` after handling the fault: the storage gone,
        the study deleted or taken over halt the writing; anything else is retried."""
        try:
            return True, call()
        except (StorageGoneError, StudyNotFoundError, StudyStateError) as exc:
            self._halt(exc)
        except (StorageError, sqlite3.Error, OSError) as exc:
            self._failed(exc)
        return False, None

    def _write(self, update: StudyUpdate) -> bool:
        if not self._attempt(lambda: self.storage.write(self.study_id, update))[0]:
            return False
        if self._reported:
            self._problem(f"writing study {self._study.name!r} to {self.storage.location} works "
                          f"again; nothing was lost")
        self.error, self._reported = None, False
        return True

    def _forward_stop_request(self) -> None:
        if self._stop_forwarded or self._study.done:
            return
        ok, by = self._attempt(lambda: self.storage.stop_request(self.study_id))
        if ok and by:
            self._stop_forwarded = True
            self._study.stop(f"stopped from {by}")

    # ------------------------------------------------------------------- faults
    def _failed(self, exc: Exception) -> None:
        """A write that may work next time: retried at the next flush, reported once."""
        self.error = exc
        if not self._reported:
            self._reported = True
            self._problem(f"could not write study {self._study.name!r} to "
                          f"{self.storage.location}: {exc} (retrying every {self.interval:g} s; "
                          f"results are kept in memory)")

    def _halt(self, exc: Exception) -> None:
        """The storage can no longer take this study: stop writing, say so once."""
        self.error, self._halted = exc, True
        halted_hook = getattr(self._study, "storage_halted", None)
        if halted_hook is not None:  # replaced checkpoint files no longer wait for a write
            halted_hook()
        name = self._study.name
        keep = f"new results are kept in memory only; {self._save_hint()}"
        if isinstance(exc, StorageGoneError):
            message = (f"the storage file {exc.location or self.storage.location} was "
                       f"{exc.how} while the study ran: {keep}")
        elif isinstance(exc, StorageError):
            message = f"study {name!r} can no longer be written to storage ({exc}): {keep}"
        else:
            message = (f"the recorder of study {name!r} stopped on an unexpected error "
                       f"({exc!r}): {keep}")
        self._problem(message)

    def _save_hint(self) -> str:
        """How the user saves what only memory holds: the study's ``save_hint`` (``%%hpo``'s
        names its ``%hpo export``), else ``SAVE_HINT``."""
        return getattr(self._study, "save_hint", None) or SAVE_HINT

    def _problem(self, message: str) -> None:
        try:
            self._study.notify_problem(message)
        except Exception as exc:  # noqa: BLE001 - the writer thread must survive it
            print(f"jupyter_hpo: {message} (and notify_problem failed: {exc!r})",
                  file=sys.stderr)

    def _release(self) -> None:
        if self._halted:
            return
        try:
            self.storage.release_study(self.study_id)
        except (StorageError, sqlite3.Error, OSError) as exc:  # the lease then times out
            print(f"jupyter_hpo: could not release study {self._study.name!r} in "
                  f"{self.storage.location}: {exc}", file=sys.stderr)


def kernel_ending() -> bool:
    """Whether this process is an IPython kernel (or shell) asked to shut down or restart:
    its ``exit_now`` is set (by ipykernel's shutdown request, or ``exit()``). It imports
    nothing: called from the writer thread while the main thread may be importing IPython
    (a script's ``tune()``), ``get_ipython()`` raised an ImportError that stopped the writing."""
    module = sys.modules.get("IPython.core.interactiveshell")
    shell = getattr(getattr(module, "InteractiveShell", None), "_instance", None)
    return bool(getattr(shell, "exit_now", False))


@atexit.register
def _flush_at_exit() -> None:
    """A kernel shutting down normally writes what its running studies have so far."""
    for recorder in list(_live_recorders):
        thread = recorder._thread
        if thread is not None and thread.is_alive():
            recorder._exiting = True
            recorder._wake.set()
            thread.join(2.0)
