"""Dask executor: each trial is a task on a Dask ``distributed`` cluster.

Dask does the placement (worker ``resources``), the transport and the failure detection; this
module only maps trials onto them:

- The cluster is a ``LocalCluster`` the study starts and closes (one single-threaded worker
  process per slot), or an existing one given by its scheduler's address or a ``Client``,
  which is never closed.
- The objective is cloudpickled once (with the notebook variables the cell reads, each
  checked) and scattered to the workers once; a trial start is one ``Client.submit``.
- ``report()`` inside the task round-trips over two ``distributed.Queue`` s per trial,
  served by the scheduler (see :mod:`._dask_task`); a kernel thread per running trial
  relays the reports to the study and its answers back. ``benchmarks/dask_overhead.py``
  measures the round trip (and the alternatives).
- One watcher thread asks the scheduler every ``WATCH_INTERVAL_S`` which workers are alive: a
  trial whose worker left fails ("the Dask worker running it died"); a scheduler that cannot
  be reached for ``CLUSTER_LOST_AFTER_S`` ends the study with that error. It also tells a
  paused trial's task that it is paused, so that it frees its worker thread.
- ``cancel`` lets the trial stop at its next report; after ``CANCEL_GRACE_S`` its task is
  cancelled and, if it still runs (no report came), its worker is restarted by its nanny.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import traceback
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..errors import HPOError
from ..resources import Slot, plan_slots
from ..trial import Trial, TrialStatus, TrialStopped
from ._base import Executor, TrialHooks, TrialOutcome
from ._dask_cluster import (
    CONNECT_TIMEOUT_S,
    ClusterHandle,
    capacity,
    connect,
    own_local_cluster,
    scheduler_info,
    trial_resources,
    use_client,
)
from .thread import describe_failure

__all__ = ["DIED", "DaskExecutor"]

log = logging.getLogger(__name__)

DIED = "the Dask worker running it died"
CANCEL_GRACE_S = 1.0
"""A cancelled trial may stop at a report this long before its task is cancelled."""
WATCH_INTERVAL_S = 0.5
CLUSTER_LOST_AFTER_S = 5.0
"""The scheduler may be unreachable this long before the study ends with an error."""

_live: weakref.WeakSet[DaskExecutor] = weakref.WeakSet()


@dataclass(eq=False)
class _Run:
    """One trial's task, its queues and what the kernel knows of it."""

    trial: Trial
    hooks: TrialHooks
    channel: str
    up: Any = None
    down: Any = None
    future: Any = None
    worker: str | None = None  # the address of the worker that runs it, once it started
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: bool = False  # a report waits for the study's answer
    told_paused: bool = False
    cancelled: bool = False
    lost: str = ""  # why the kernel failed it (its worker died, the cluster went away)
    done: bool = False  # the task sent its outcome (else the kernel ended the trial)
    finished: bool = False


class DaskExecutor(Executor):
    """Runs each trial as a task on a Dask cluster (a LocalCluster it owns, or one given by
    ``address`` or ``client``)."""

    name = "dask"
    OPTIONS = ("address", "client", "connect_timeout", "gpus_per_trial", "cpus_per_trial")

    def __init__(self, workers: int | None = None, capture_output: bool = False,
                 slots: list[Slot] | None = None, address: str | None = None,
                 client: Any = None, connect_timeout: float = CONNECT_TIMEOUT_S,
                 gpus_per_trial: float | None = None,
                 cpus_per_trial: float | None = None) -> None:
        if address is not None and client is not None:
            raise ValueError("pass the Dask cluster's address or a Client, not both")
        self.need = trial_resources(gpus_per_trial, cpus_per_trial)
        self.capture_output = True  # a task's output can only reach the trial's view
        if client is not None:
            handle = use_client(client)
        elif address:
            handle = connect(address, connect_timeout)
        else:
            slots = slots or plan_slots(workers, gpus_per_trial, cpus_per_trial)
            handle = own_local_cluster(slots, self.need)
        try:
            count = len(slots) if handle.cluster is not None and slots \
                else workers or capacity(handle, self.need, connect_timeout)
            super().__init__(count)
            self.dashboard_link = handle.dashboard_link()
        except BaseException:
            handle.close()
            raise
        self.handle: ClusterHandle = handle
        self.client = handle.client
        self._token = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._objective: Any = None
        self._payload: tuple[str, Any] | None = None
        self._lost: str | None = None
        self._hooks: TrialHooks | None = None
        self._cancels: list[threading.Thread] = []
        self._ending: list[Any] = []  # futures of finished trials whose task may still return
        self._free: list[str] = []  # workers whose trial has just ended
        self._watch_stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True,
                                         name="hpo-dask-watcher")
        self._watcher.start()
        _live.add(self)

    def describe(self) -> str:
        return (f"{self.workers} trial{'s' if self.workers != 1 else ''} at once on Dask "
                f"({self.handle.name})")

    @property
    def owns_cluster(self) -> bool:
        return self.handle.cluster is not None

    def running_keys(self) -> list[str]:
        """Dask keys of the trials' tasks that have not finished."""
        with self._lock:
            return [run.future.key for run in self._runs.values() if run.future is not None]

    # ------------------------------------------------------------------ starting
    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        from ._dask_task import run_trial

        if self.client.status != "running" and not self._lost:
            self._cluster_lost(ConnectionError(f"the client is {self.client.status}"))
        if self._lost:
            raise HPOError(self._lost)
        key, payload = self._ship(objective)
        self._hooks = hooks
        run = _Run(trial, hooks, f"jupyter-hpo-{self._token}-{trial.trial_id}")
        gpu = "GPU" in self.need
        trial.device = "cuda:0" if gpu else "cpu"
        trial.resources = "dask (queued)"
        with self._lock:  # a worker whose trial just ended takes the next one (Dask would
            free = self._free.pop() if self._free else None  # else queue it anywhere)
        run.future = self.client.submit(
            run_trial, payload, key, trial.trial_id, dict(trial.config), run.channel, gpu,
            self.need.get("CPU"), key=f"hpo-trial-{trial.trial_id}-{self._token}",
            resources=self.need or None, pure=False, workers=[free] if free else None,
            allow_other_workers=bool(free))
        with self._lock:
            self._runs[trial.trial_id] = run
        run.future.add_done_callback(lambda _: self._on_done(run))
        threading.Thread(target=self._relay, args=(run,), daemon=True,
                         name=f"hpo-dask-trial-{trial.trial_id}").start()

    def _ship(self, objective: Any) -> tuple[str, Any]:
        """The objective, pickled once and scattered to the workers once."""
        if objective is not self._objective or self._payload is None:
            import cloudpickle

            data = cloudpickle.dumps(objective.for_process())  # names a variable that won't
            future = self.client.scatter(data, broadcast=True, hash=False)
            self._payload = (uuid.uuid4().hex, future)
            self._objective = objective
        return self._payload

    # ---------------------------------------------------------------- the relay
    def _relay(self, run: _Run) -> None:
        """The kernel's end of one trial's queues: output, reports and its outcome."""
        from distributed import Queue

        trial = run.trial
        up = Queue(f"{run.channel}-up", client=self.client)  # made here, while Dask schedules
        down = Queue(f"{run.channel}-down", client=self.client)
        with run.lock:
            run.up, run.down = up, down
            if run.finished:  # ended before its queues existed: _finish could not close them
                for queue in (up, down):
                    queue.close()
                return
        while not run.finished:
            try:
                message = run.up.get()  # no timeout: the scheduler logs each one as an error
            except BaseException:  # noqa: BLE001 - the connection is in trouble: the watcher decides
                if run.finished or self._closed:
                    break
                time.sleep(0.2)
                continue
            kind = message[0]
            if kind == "closed":
                break
            if kind == "output":
                trial.write_output(message[1])
            elif kind == "report":
                self._answer(run, message[1])
            elif kind == "started":
                if run.worker is None:
                    run.worker = message[1]
                    trial.resources = self._label(message[1])
                else:  # Dask ran the task again: the worker that ran it died
                    self._put(run, "stop")
                    self._lose(run, f"{DIED} ({run.worker})")
            elif kind == "done":
                _, status, result, error, tb = message
                run.done = True
                self._finish(run, TrialOutcome(TrialStatus(status), result, None, error, tb))

    def _label(self, worker: str) -> str:
        need = ", ".join(f"{k} {v:g}" for k, v in self.need.items())
        return f"{need + ' on ' if need else ''}{worker}"

    def _answer(self, run: _Run, values: dict[str, Any]) -> None:
        with run.lock:
            run.waiting, run.told_paused = True, False
        try:
            run.hooks.on_report(run.trial, values)
            reply: Any = "continue"
        except TrialStopped:
            reply = "stop"
        except Exception as exc:  # noqa: BLE001 - raised in the trial, as in a thread
            reply = ("error", _sendable(exc))
        with run.lock:
            run.waiting = False
            self._put(run, reply)

    @staticmethod
    def _put(run: _Run, message: Any) -> None:
        try:
            run.down.put(message)
        except Exception:  # the task or the cluster is gone
            log.debug("jupyter_hpo: could not answer trial %s", run.trial.trial_id,
                      exc_info=True)

    def _finish(self, run: _Run, outcome: TrialOutcome) -> None:
        """Hand the trial's outcome to the study, once, whoever sees it first."""
        with run.lock:
            if run.finished:
                return
            run.finished = True
        with self._lock:
            self._runs.pop(run.trial.trial_id, None)
            if run.done and run.worker is not None:
                self._free.append(run.worker)
        if run.up is None:
            pass  # its relay has not made the queues yet; it closes them when it does
        elif not run.done:  # ended by the kernel: a task still waiting stops, the relay ends
            self._put(run, "stop")
            with contextlib.suppress(Exception):  # the cluster may be gone
                run.up.put(("closed",))
        for queue in (run.up, run.down):  # the scheduler drops them once the task let go too
            with contextlib.suppress(Exception):  # the cluster may be gone
                if queue is not None:
                    queue.close()
        with self._lock:  # a task that is still returning is waited for at shutdown
            self._ending = [f for f in self._ending if not f.done()]
            if not run.future.done():
                self._ending.append(run.future)
        if run.future.done():
            run.future.release()  # else Dask would run it again if its result got lost
        run.hooks.on_finish(run.trial, outcome)

    def _on_done(self, run: _Run) -> None:
        """Dask's callback: a task that errored, was cancelled or lost ends its trial (a task
        that returned has sent its outcome over the queue)."""
        if run.finished:
            run.future.release()  # the study has its outcome: Dask may forget the task
            return
        if run.future.status == "finished":
            return
        threading.Thread(target=self._task_failed, args=(run,), daemon=True,
                         name=f"hpo-dask-failed-{run.trial.trial_id}").start()

    def _task_failed(self, run: _Run) -> None:
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
            else:
                outcome = TrialOutcome(TrialStatus.FAILED, error="its Dask task was cancelled "
                                       "from outside the study")
        else:
            try:
                exc = future.exception(timeout=10)
                tb = future.traceback(timeout=10)
            except Exception as error:  # noqa: BLE001 - the cluster went away meanwhile
                exc, tb = error, None
            if type(exc).__name__ == "KilledWorker":
                outcome = TrialOutcome(TrialStatus.FAILED, error=DIED, traceback=str(exc))
            else:
                text = "".join(traceback.format_exception(type(exc), exc, tb))
                outcome = TrialOutcome(TrialStatus.FAILED, error=describe_failure(exc),
                                       traceback=text)
        self._finish(run, outcome)

    def _lose(self, run: _Run, why: str) -> None:
        """The trial's worker (or the whole cluster) is gone: the trial fails with ``why``."""
        with run.lock:
            if run.finished or run.cancelled or run.lost:
                return
            run.lost = why
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
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
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

    def _force_cancel(self, *runs: _Run) -> None:
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

    # ---------------------------------------------------------------- shutdown
    def _shutdown(self) -> None:
        self._watch_stop.set()
        with self._lock:
            runs, timers = list(self._runs.values()), list(self._cancels)
        for timer in timers:
            timer.cancel()
        self._force_cancel(*runs)
        for timer in timers:
            if timer is not threading.current_thread():
                timer.join(timeout=70)
        self._wait_for_tasks()
        if self._payload is not None:
            with contextlib.suppress(Exception):  # the cluster may be gone
                self._payload[1].release()
        self.handle.close()
        _live.discard(self)

    def _wait_for_tasks(self, timeout: float = 10.0) -> None:
        """Until the tasks of finished trials have returned (a trial reports its end just
        before its task returns), so that none runs once the study has ended."""
        from distributed import wait

        with self._lock:
            futures, self._ending = [f for f in self._ending if not f.done()], []
        if futures and self.client.status == "running":
            with contextlib.suppress(Exception):  # a timeout, or the cluster went away
                wait(futures, timeout=timeout)
        for future in futures:
            with contextlib.suppress(Exception):
                future.release()


def _executing(key: str, dask_worker: Any) -> bool:
    """On a worker (``Client.run``): whether the task ``key`` still runs in a thread there."""
    tasks = set(dask_worker.state.executing) | set(dask_worker.state.long_running)
    return any(ts.key == key for ts in tasks)


def _sendable(exc: Exception) -> Exception:
    import cloudpickle

    try:
        cloudpickle.dumps(exc)
    except Exception:  # noqa: BLE001 - send what can be sent
        return HPOError(f"{type(exc).__name__}: {exc}")
    return exc


@atexit.register
def _shutdown_all() -> None:
    for executor in list(_live):
        executor.shutdown()
