"""Dask executor: each trial is a task on a Dask ``distributed`` cluster.

Dask does the placement (worker ``resources``), the transport and the failure detection; this
module only maps trials onto them:

- The cluster is a ``LocalCluster`` the study starts and closes (one single-threaded worker
  process per slot), or an existing one given by its scheduler's address or a ``Client``,
  which is never closed.
- The objective is cloudpickled once (with the notebook variables the cell reads, each
  checked) and scattered to the workers once (again only if the cluster lost it with a
  worker); a trial start makes its two queues (below) and is one ``Client.submit``.
- ``report()`` inside the task round-trips over two ``distributed.Queue`` s per trial,
  served by the scheduler (see :mod:`._dask_task`); a kernel thread per running trial
  relays the reports to the study and its answers back. ``benchmarks/dask_overhead.py``
  measures the round trip (and the alternatives).
- Faults and cancels (a dead worker, a lost cluster, Stop trial) are handled by the
  :class:`~._dask_faults.FaultHandling` mixin.
- ``trial_timeout`` is kept by the task itself, as a thread trial's is: the worker thread's
  time in the trial's own code is counted and, past the limit, the trial's code is stopped at
  its next line of Python and the trial fails (``_thread_timeout.TrialTimeout``).
- A paused trial that saved a checkpoint since its last report ends its task and frees its
  worker (``releases_paused``); promoted, it runs again as a new task from that checkpoint.
  The checkpoint folder is next to the storage file, so a cluster on other machines needs
  that folder on a shared file system.
- Each worker keeps the variables of the study's best few trials it ran; ``fetch_namespace``
  asks the one that ran a trial for them (``Client.run``), once, when the study ends.

This module holds the executor's options, the start of a trial and the shutdown; the relay of
a trial's queues, workers that join without jupyter_hpo and the kept variables are mixins in
``_dask_relay.py``, ``_dask_joined.py`` and ``_dask_kept.py`` beside it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import uuid
import weakref
from typing import Any

from ..errors import HPOError
from ..resources import Slot, plan_slots
from ..trial import Trial
from ._base import Executor, TrialHooks, checked_trial_timeout
from ._dask_cluster import (
    CONNECT_TIMEOUT_S,
    ClusterHandle,
    capacity,
    check_workers_import_us,
    connect,
    own_local_cluster,
    trial_resources,
    use_client,
)
from ._dask_faults import DIED, FaultHandling, TrialRun
from ._dask_joined import JoinedWorkersMixin
from ._dask_kept import FETCH_TIMEOUT_S, KeptVariablesMixin
from ._dask_relay import RelayMixin

__all__ = ["DIED", "FETCH_TIMEOUT_S", "DaskExecutor"]

log = logging.getLogger(__name__)

_live: weakref.WeakSet[DaskExecutor] = weakref.WeakSet()


class DaskExecutor(RelayMixin, JoinedWorkersMixin, KeptVariablesMixin, FaultHandling,
                   Executor):
    """Runs each trial as a task on a Dask cluster (a LocalCluster it owns, or one given by
    ``address`` or ``client``). With ``trial_timeout``, a trial whose own code ran longer is
    stopped and fails."""

    name = "dask"
    OPTIONS = ("address", "client", "connect_timeout", "gpus_per_trial", "cpus_per_trial",
               "trial_timeout")
    releases_paused = True

    def __init__(self, workers: int | None = None, capture_output: bool = False,
                 slots: list[Slot] | None = None, address: str | None = None,
                 client: Any = None, connect_timeout: float = CONNECT_TIMEOUT_S,
                 gpus_per_trial: float | None = None,
                 cpus_per_trial: float | None = None,
                 trial_timeout: float | None = None) -> None:
        if address is not None and client is not None:
            raise ValueError("pass the Dask cluster's address or a Client, not both")
        self.trial_timeout = checked_trial_timeout(trial_timeout)
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
            checked: set[str] = set()  # workers known to import jupyter_hpo
            if handle.cluster is None:  # workers started elsewhere: is jupyter_hpo there?
                checked = check_workers_import_us(handle, connect_timeout)
            super().__init__(count)
            self.dashboard_link = handle.dashboard_link()
        except BaseException:
            handle.close()
            raise
        self.handle: ClusterHandle = handle
        self.client = handle.client
        self._token = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._runs: dict[int, TrialRun] = {}
        self._lost_keys: set[str] = set()  # tasks of trials whose worker died
        self._objective: Any = None
        self._payload: tuple[str, Any] | None = None  # (the objective's key, its Dask future)
        self._pickled = b""
        self._ship_lock = threading.Lock()
        self._lost: str | None = None
        self._hooks: TrialHooks | None = None
        self._cancels: list[threading.Thread] = []
        self._ending: list[Any] = []  # futures of finished trials whose task may still return
        self._free: list[str] = []  # workers whose trial has just ended
        self._runs_of: dict[int, int] = {}  # trial id -> tasks it ran (released, promoted)
        self._resubmits: dict[int, int] = {}  # trial id -> times its unstarted task was resent
        self._holders: dict[int, str] = {}  # trial id -> the worker that ran it to its end
        self._checked = checked  # workers of a cluster not ours that can import jupyter_hpo
        self._lacking: dict[str, str] = {}  # workers that cannot -> what the study said
        self._workers: set[str] = set()  # the workers alive at the watcher's last look
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

    # ------------------------------------------------------------------ starting
    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        from ._dask_entry import trial_task

        if self.client.status != "running" and not self._lost:
            self._cluster_lost(ConnectionError(f"the client is {self.client.status}"))
        if self._lost:
            raise HPOError(self._lost)
        with self._lock:  # a trial promoted after it freed its worker runs as a new task
            attempt = self._runs_of[trial.trial_id] = self._runs_of.get(trial.trial_id, 0) + 1
        suffix = f"{trial.trial_id}" if attempt == 1 else f"{trial.trial_id}-{attempt}"
        run = TrialRun(trial, hooks, f"jupyter-hpo-{self._token}-{suffix}")
        try:
            key, payload = self._ship(objective)
            run.up, run.down = self._queues(run.channel)
        except OSError as exc:  # its connection closed: the cluster was closed meanwhile
            self._cluster_lost(exc)
            raise HPOError(self._lost) from None
        self._hooks = hooks
        gpu = "GPU" in self.need
        trial.device = "cuda:0" if gpu else "cpu"
        trial.resources = "dask (queued)"
        with self._lock:  # a worker whose trial just ended takes the next one (Dask would
            free = self._free.pop() if self._free else None  # else queue it anywhere)
            usable = sorted((self._workers or self._checked) - set(self._lacking)) \
                if self._lacking else []
        # once a worker is known to lack jupyter_hpo, only the others may take a trial; until
        # then any worker may, the one whose trial just ended first
        workers, loose = (usable, False) if usable else ([free] if free else None, bool(free))
        run.allowed = tuple(usable)  # sent again if all of them leave before it starts
        extra = {"checkpoint_dir": trial.checkpoint_dir, "restore_from": trial.restore_from,
                 "metric": trial.metric, "resource": trial.resource, "study": self._token,
                 "keep": self.keep_count, "mode": self.keep_mode,
                 "trial_timeout": self.trial_timeout, "timeout_used": trial.timeout_used}
        run.future = self.client.submit(
            trial_task, payload, key, trial.trial_id, dict(trial.config), run.channel, gpu,
            self.need.get("CPU"), extra, key=f"hpo-trial-{suffix}-{self._token}",
            resources=self.need or None, pure=False, workers=workers,
            allow_other_workers=loose)
        with self._lock:
            self._runs[trial.trial_id] = run
        run.future.add_done_callback(lambda _: self._on_done(run))
        threading.Thread(target=self._relay, args=(run,), daemon=True,
                         name=f"hpo-dask-trial-{trial.trial_id}").start()

    def _ship(self, objective: Any) -> tuple[str, Any]:
        """The objective, pickled once and scattered to the workers; scattered again (the
        same bytes) if the cluster lost it: Dask keeps one copy of scattered data (its
        active memory manager drops the others), which dies with its worker."""
        with self._ship_lock:
            if objective is not self._objective or self._payload is None:
                from ._shipping import dumps

                # for_process raises an HPOError naming a variable that will not pickle
                self._pickled = dumps(objective.for_process())
                self._payload = (uuid.uuid4().hex, self._scatter(self._pickled))
                self._objective = objective
            elif self._payload_lost():
                log.warning("jupyter_hpo: the Dask cluster lost the objective's data with a "
                            "worker; sending it again")
                self._payload = (self._payload[0], self._scatter(self._pickled))
            return self._payload

    def _queues(self, channel: str) -> tuple[Any, Any]:
        """The trial's two queues, made before its task: the scheduler drops a queue, with
        what is in it, once every client that made it has let go, so a task that ended
        before the kernel's relay made them took its outcome with it and the trial never
        ended (trivial trials on a loaded machine)."""
        from distributed import Queue

        return (Queue(f"{channel}-up", client=self.client),
                Queue(f"{channel}-down", client=self.client))

    def _scatter(self, data: bytes) -> Any:
        return self.client.scatter(data, broadcast=True, hash=False)

    def _payload_lost(self) -> bool:
        """Whether the scattered objective is gone (its only holder died)."""
        return self._payload is not None and self._payload[1].status != "finished"

    # ---------------------------------------------------------------- shutdown
    def _shutdown(self) -> None:
        self._watch_stop.set()
        with self._lock:
            runs, timers = list(self._runs.values()), list(self._cancels)
            keys = {str(r.future.key) for r in runs if r.future is not None} \
                | {str(f.key) for f in self._ending}
        for timer in timers:
            timer.cancel()
        self._force_cancel(*runs)
        for timer in timers:
            if timer is not threading.current_thread():
                timer.join(timeout=70)
        if not self._lost:  # a scheduler that went away (or hangs) would not answer
            self._wait_for_tasks()
            self._end_lost_tasks()
            self._wait_until_released(keys)
        if self._payload is not None and not self._lost:
            with contextlib.suppress(Exception):  # the cluster may be gone
                self._payload[1].release()
        self._forget_kept()
        self.handle.close()
        _live.discard(self)

    def _wait_until_released(self, keys: set[str], timeout: float = 10.0) -> None:
        """Until the scheduler runs none of ``keys`` (a cancel reaches it asynchronously), so
        that no task of the study is left processing once it has ended."""
        deadline = time.monotonic() + timeout
        while keys and time.monotonic() < deadline and self.client.status == "running":
            try:
                processing = {str(k) for ks in self.client.processing().values() for k in ks}
            except Exception:  # noqa: BLE001 - the cluster may be gone
                return
            if not keys & processing:
                return
            time.sleep(0.05)

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
                if not future.done():  # its task sees the cancel and ends within a second
                    future.cancel()
                future.release()


@atexit.register
def _shutdown_all() -> None:
    for executor in list(_live):
        executor.shutdown()
