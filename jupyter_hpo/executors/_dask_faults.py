"""Failure detection and cancelling for the Dask executor (a mixin of ``DaskExecutor``).

Dask tells what went wrong; this module turns it into trial outcomes:

- Dask's callback on a task that errored, was cancelled or lost (``_on_done``).
- One watcher thread asks the scheduler every ``WATCH_INTERVAL_S`` which workers are alive: a
  trial whose worker left fails ("the Dask worker running it died"); a scheduler that cannot
  be reached for ``CLUSTER_LOST_AFTER_S`` (or a client that gave up on it) ends the study
  with that error. It also tells a paused trial's task that it is paused, so that it frees
  its worker thread.
- Dask keeps one copy of the scattered objective; if its worker dies, Dask cancels every
  task that needs it: a trial that had not started runs again (the objective is sent again),
  one that had started fails as its worker died.
- ``cancel`` lets the trial stop at its next report; after ``CANCEL_GRACE_S`` its task is
  cancelled and, if it still runs (no report came), its worker is restarted by its nanny.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from ..errors import HPOError
from ..trial import Trial, TrialStatus
from ._base import TrialHooks, TrialOutcome
from ._dask_cluster import ClusterHandle, scheduler_info
from ._dask_entry import lacking_worker
from .thread import describe_failure

__all__ = ["CANCEL_GRACE_S", "CLUSTER_LOST_AFTER_S", "DIED", "WATCH_INTERVAL_S", "FaultHandling",
           "TrialRun"]

log = logging.getLogger(__name__)

DIED = "the Dask worker running it died"
CANCEL_GRACE_S = 1.0
"""A cancelled trial may stop at a report this long before its task is cancelled."""
WATCH_INTERVAL_S = 0.5
CLUSTER_LOST_AFTER_S = 5.0
"""The scheduler may be unreachable this long before the study ends with an error."""
MAX_RESUBMITS = 3
"""A trial not yet started runs again this often when the objective's data is lost."""


@dataclass(eq=False)
class TrialRun:
    """One trial's task, its queues and what the kernel knows of it."""

    trial: Trial
    hooks: TrialHooks
    channel: str
    up: Any = None
    down: Any = None
    future: Any = None
    worker: str | None = None  # the address of the worker that runs it, once it started
    allowed: tuple[str, ...] = ()  # the only workers its task may run on (empty: any)
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: bool = False  # a report waits for the study's answer
    told_paused: bool = False
    cancelled: bool = False
    lost: str = ""  # why the kernel failed it (its worker died, the cluster went away)
    done: bool = False  # the task sent its outcome (else the kernel ended the trial)
    finished: bool = False


class FaultHandling:
    """What ``DaskExecutor`` does when a task, a worker or the cluster fails, and to cancel."""

    client: Any
    handle: ClusterHandle
    owns_cluster: bool
    _closed: bool
    _lock: threading.Lock
    _runs: dict[int, TrialRun]
    _lost: str | None
    _hooks: TrialHooks | None
    _cancels: list[threading.Thread]
    _lost_keys: set[str]
    _watch_stop: threading.Event
    _objective: Any
    _resubmits: dict[int, int]

    def _finish(self, run: TrialRun, outcome: TrialOutcome) -> None:  # DaskExecutor's
        raise NotImplementedError

    def _end_task(self, run: TrialRun) -> None:  # DaskExecutor's
        raise NotImplementedError

    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:  # DaskExecutor's
        raise NotImplementedError

    def _payload_lost(self) -> bool:  # DaskExecutor's
        raise NotImplementedError

    def _check_joined(self, workers: set[str]) -> None:  # DaskExecutor's
        raise NotImplementedError

    def _lacks_us(self, worker: str) -> str:  # DaskExecutor's
        raise NotImplementedError

    @staticmethod
    def _put(run: TrialRun, message: Any) -> None:  # DaskExecutor's
        raise NotImplementedError

    def _on_done(self, run: TrialRun) -> None:
        """Dask's callback: a task that errored, was cancelled or lost ends its trial (a task
        that returned has sent its outcome over the queue)."""
        if run.finished:
            run.future.release()  # the study has its outcome: Dask may forget the task
            return
        if run.future.status == "finished":
            return
        threading.Thread(target=self._task_failed, args=(run,), daemon=True,
                         name=f"hpo-dask-failed-{run.trial.trial_id}").start()

    def _task_failed(self, run: TrialRun) -> None:
        future = run.future
        if future.status == "cancelled" and not self._closed and not self._lost \
                and self.client.status != "running":  # the client gave up on the scheduler
            self._cluster_lost(ConnectionError(f"the client is {self.client.status}"))
            return
        if future.status == "cancelled":
            if run.lost or self._lost:
                outcome = TrialOutcome(TrialStatus.FAILED, error=run.lost or self._lost)
            elif run.cancelled or self._closed:
                outcome = TrialOutcome(TrialStatus.STOPPED)
            elif self._payload_lost() and run.worker is None:  # never ran: it runs again
                self._submit_again(run, "the Dask cluster lost the objective's data {tries} "
                                        "times before the trial could start")
                return
            elif self._payload_lost():  # the worker running it held the objective's data
                outcome = TrialOutcome(TrialStatus.FAILED, error=f"{DIED} ({run.worker})")
            else:
                outcome = TrialOutcome(TrialStatus.FAILED, error="its Dask task was cancelled "
                                       "from outside the study")
        else:
            try:
                exc = future.exception(timeout=10)
                tb = future.traceback(timeout=10)
            except Exception as error:  # noqa: BLE001 - the cluster went away meanwhile
                exc, tb = error, None
            lacking = lacking_worker(exc)
            if lacking is not None:  # a worker that joined after the study checked them
                said = self._lacks_us(lacking)
                # a task that had started elsewhere was run there again: its worker died
                died = run.worker not in (None, lacking)
                outcome = TrialOutcome(TrialStatus.FAILED,
                                       error=f"{DIED} ({run.worker})" if died else said)
            elif type(exc).__name__ == "KilledWorker":
                outcome = TrialOutcome(TrialStatus.FAILED, error=DIED, traceback=str(exc))
            else:
                text = "".join(traceback.format_exception(type(exc), exc, tb))
                outcome = TrialOutcome(TrialStatus.FAILED, error=describe_failure(exc),
                                       traceback=text)
        self._finish(run, outcome)

    def _submit_again(self, run: TrialRun, too_often: str) -> None:
        """A trial whose task has not started and cannot start where it was sent runs as a
        new task: Dask cancelled it because the objective's data was lost with a worker
        (``_start`` sends the data again), or every worker it may run on has left. It fails
        with ``too_often`` (``{tries}`` filled in) after ``MAX_RESUBMITS`` times."""
        with run.lock:
            if run.finished or run.worker is not None:
                return
            run.finished = True  # this task is over; the trial is not
        with contextlib.suppress(Exception):  # the cluster may be gone
            run.future.cancel()
        self._end_task(run)
        trial_id = run.trial.trial_id
        with self._lock:
            tries = self._resubmits[trial_id] = self._resubmits.get(trial_id, 0) + 1
        try:
            if tries > MAX_RESUBMITS:
                raise HPOError(too_often.format(tries=tries))
            self._start(run.trial, self._objective, run.hooks)
        except Exception as exc:  # noqa: BLE001 - e.g. the cluster went away meanwhile
            run.hooks.on_finish(run.trial, TrialOutcome(TrialStatus.FAILED,
                                                         error=describe_failure(exc)))

    def _lose(self, run: TrialRun, why: str) -> None:
        """The trial's worker (or the whole cluster) is gone: the trial fails with ``why``."""
        with run.lock:
            if run.finished or run.cancelled or run.lost:
                return
            run.lost = why
        with contextlib.suppress(Exception):
            self._lost_keys.add(run.future.key)  # Dask may be running it again elsewhere
        if run.trial.status is TrialStatus.PAUSED:  # its relay waits for a promotion
            stop_trial = getattr(run.hooks, "stop_trial", None)
            if stop_trial is not None:
                stop_trial(run.trial.trial_id)
        with contextlib.suppress(Exception):  # the cluster may be gone
            run.future.cancel()  # no re-run elsewhere
        self._finish(run, TrialOutcome(TrialStatus.FAILED, error=why))

    # ---------------------------------------------------------------- the watcher
    def _watch(self) -> None:
        """Every ``WATCH_INTERVAL_S``: are the trials' workers and the scheduler alive, and
        does each paused trial's task know it is paused?"""
        down_since: float | None = None
        while not self._watch_stop.wait(WATCH_INTERVAL_S):
            try:
                status = self.client.status
                if status in ("closing", "closed") and not self._closed:
                    self._cluster_lost(ConnectionError(f"the client is {status}"))
                    return
                if status != "running":
                    raise ConnectionError(f"the connection to the scheduler is {status}")
                workers = set(scheduler_info(self.client).get("workers", {}))
                down_since = None
            except Exception as exc:  # noqa: BLE001 - any failure to reach the scheduler
                if self._closed:
                    return
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since >= CLUSTER_LOST_AFTER_S:
                    self._cluster_lost(exc)
                    return
                continue
            self._check_joined(workers)
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                if run.worker is None and run.allowed and workers.isdisjoint(run.allowed):
                    self._submit_again(run, "every Dask worker that could take the trial left "
                                            "before it started, {tries} times")
                    continue
                if run.worker is not None and run.worker not in workers:
                    self._lose(run, f"{DIED} ({run.worker})")
                    continue
                with run.lock:
                    if run.waiting and not run.told_paused \
                            and run.trial.status is TrialStatus.PAUSED:
                        run.told_paused = True
                        self._put(run, "paused")

    def _cluster_lost(self, exc: BaseException) -> None:
        """The scheduler is gone: the study ends with that error; finished trials stay."""
        reason = f"{type(exc).__name__}: {exc}"
        summary = "the Dask cluster went away; the finished trials are kept"
        details = f"{self.handle.name} is unreachable ({reason})"
        with self._lock:
            if self._lost:
                return
            self._lost = f"{summary}\n{details}"
        log.error("jupyter_hpo: %s", self._lost)
        fail = getattr(self._hooks, "on_executor_error", None)
        if fail is not None:
            fail(summary, details)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            self._lose(run, f"the Dask cluster went away while it ran ({reason})")

    # ---------------------------------------------------------------- cancelling
    def cancel(self, trial: Trial) -> None:
        """The trial stops at its next report; after ``CANCEL_GRACE_S`` its task is
        cancelled, and its worker restarted if the task still runs."""
        with self._lock:
            run = self._runs.get(trial.trial_id)
        if run is None or run.finished:
            return
        timer = threading.Timer(CANCEL_GRACE_S, self._force_cancel, (run,))
        timer.daemon = True
        with self._lock:
            self._cancels.append(timer)
        timer.start()

    def _force_cancel(self, *runs: TrialRun) -> None:
        """Cancel the runs' tasks now; a task still running user code half a second later
        has its worker restarted (unless the worker runs another trial of the study)."""
        runs = tuple(r for r in runs if not r.finished and not self._lost)
        for run in runs:
            run.cancelled = True
            with contextlib.suppress(Exception):  # the cluster may be gone
                run.future.cancel()  # Dask's callback ends the trial (as stopped)
            self._put(run, "stop")  # a task waiting for an answer ends now
        started = [r for r in runs if r.worker is not None]
        if not started or self.owns_cluster and self._closed:
            return  # never started, or their workers close with the cluster
        time.sleep(0.5)
        for run in started:
            worker = run.worker
            with self._lock:
                shared = any(r.worker == worker for r in self._runs.values()
                             if r not in runs)
            try:
                still = self.client.run(_executing, run.future.key, workers=[worker])
                if still.get(worker) and not shared:
                    log.warning("jupyter_hpo: trial %s ignored its stop; restarting its Dask "
                                "worker %s", run.trial.trial_id, worker)
                    self.client.restart_workers([worker], timeout=60, raise_for_error=False)
            except Exception:  # the worker may be gone already
                log.debug("jupyter_hpo: could not end trial %s's task", run.trial.trial_id,
                          exc_info=True)


    def _end_lost_tasks(self, timeout: float = 5.0) -> None:
        """At shutdown: Dask re-runs a task whose worker died, and cancelling does not stop a
        task already running; wait for such re-runs of lost trials to end (they stop at their
        first report), then restart the workers where one still runs."""
        keys = sorted(self._lost_keys)
        if not keys or self.client.status != "running" or self.owns_cluster:
            return  # an owned cluster closes with the study, and its workers with it
        deadline = time.monotonic() + timeout
        busy: list[str] = []
        while time.monotonic() < deadline:
            try:
                found = self.client.run(_executing_any, keys)
            except Exception:  # noqa: BLE001 - the cluster may be gone
                return
            busy = [worker for worker, running in found.items() if running]
            if not busy:
                return
            time.sleep(0.1)
        with contextlib.suppress(Exception):
            self.client.restart_workers(busy, timeout=60, raise_for_error=False)


def _executing_any(keys: list[str], dask_worker: Any) -> bool:
    """On a worker (``Client.run``): whether any of ``keys`` still runs in a thread there."""
    return any(_executing(key, dask_worker) for key in keys)


def _executing(key: str, dask_worker: Any) -> bool:
    """On a worker (``Client.run``): whether the task ``key`` still runs in a thread there."""
    tasks = set(dask_worker.state.executing) | set(dask_worker.state.long_running)
    return any(ts.key == key for ts in tasks)
