"""Process executor: trials run in a pool of spawned worker processes, one per slot.

Each worker is a fresh interpreter (``python -m jupyter_hpo.executors._worker``, never a
fork, so CUDA is safe) started with its slot's environment (``CUDA_VISIBLE_DEVICES``,
``OMP_NUM_THREADS``), and bound to that slot for life. The objective is cloudpickled once and
sent once to each worker; a trial start is then one small message, its configuration
cloudpickled too, with references to the objects the objective holds (``_shipping``). A
thread in the kernel per worker relays reports (and the scheduler's answer), the trial's
output and its outcome. A worker that dies (segfault, ``os._exit``, the OOM killer), hits CUDA
OOM or the trial timeout fails only its trial and is replaced. Each worker keeps the variables
of its best few trials (``_kept``); ``fetch_namespace`` asks the worker that ran a trial for
them, once, when the study ends.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from ..errors import HPOError
from ..resources import Slot
from ..trial import Trial, TrialCompleted, TrialReleased, TrialStatus, TrialStopped, _short
from ._base import (
    Executor,
    FetchedNamespace,
    TrialHooks,
    TrialOutcome,
    checked_trial_timeout,
)
from ._kept import left_out_note, not_kept, restored

if TYPE_CHECKING:
    from ._shipping import Shipment

__all__ = ["ProcessExecutor"]

CANCEL_GRACE_S = 0.5
"""A cancelled trial may stop at a report this long before its worker is killed."""
FETCH_TIMEOUT_S = 30.0
"""How long a worker may take to send a trial's variables before it is given up (killed)."""

_keys = itertools.count(1)
_live: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


class ProcessExecutor(Executor):
    """Runs each trial in a worker process; workers are reused and replaced after a crash. A
    paused trial that saved a checkpoint since its last report frees its worker (its code
    ends) and is started again, from its checkpoint, when promoted."""

    name = "process"
    OPTIONS = ("trial_timeout",)
    releases_paused = True

    def __init__(self, workers: int = 1, capture_output: bool = False,
                 slots: list[Slot] | None = None, trial_timeout: float | None = None) -> None:
        super().__init__(workers, slots)
        self.capture_output = True  # a process's output can only reach the trial's view
        self.trial_timeout = checked_trial_timeout(trial_timeout)
        self._lock = threading.Lock()
        self._pool: list[_Worker] = []
        self._objective: Any = None
        self._payload: tuple[int, Shipment] | None = None
        #: trial id -> the worker and its process that ran it to the end (and may keep its
        #: variables); a worker replaced since has lost them
        self._holders: dict[int, tuple[_Worker, subprocess.Popen[bytes]]] = {}
        _live.add(self)

    def describe(self) -> str:
        return f"{self.workers} worker process{'es' if self.workers != 1 else ''}"

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return [w.process.pid for w in self._pool if w.process is not None]

    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        payload = self._ship(objective)  # raises HPOError naming a variable that won't pickle
        with self._lock:
            if not self._pool:  # a worker's process starts with its first trial
                self._pool = [_Worker(self, i, slot) for i, slot in enumerate(self.slots)]
            worker = self._pick()
            worker.trial = trial
            trial.slot = worker.slot_index
            trial.resources = worker.slot.label
            trial.device = worker.slot.device(remapped=False)
        worker.submit((trial, payload, hooks))

    def _ship(self, objective: Any) -> tuple[int, Shipment]:
        """The objective pickled for the workers (once per objective), with its key."""
        if objective is not self._objective or self._payload is None:
            from ._shipping import Shipment

            shippable = objective.for_process()
            try:
                shipment = Shipment(shippable)
            except Exception as exc:  # for_process checked what it knows of: say what failed
                raise HPOError(f"the trial's code cannot be sent to a worker process "
                               f"({type(exc).__name__}: {exc}): run the trials in threads "
                               f"with --executor thread") from exc
            self._payload = (next(_keys), shipment)
            self._objective = objective
        return self._payload

    def _pick(self) -> _Worker:
        """An idle worker on the least used slot (paused trials keep their worker but not
        their share of the slot); a new worker when all are busy with paused trials."""
        use = {i: 0 for i in range(len(self.slots))}
        for worker in self._pool:
            if worker.trial is not None and worker.trial.status is not TrialStatus.PAUSED:
                use[worker.slot_index] += 1
        idle = [w for w in self._pool if w.trial is None]
        if idle:
            return min(idle, key=lambda w: (use[w.slot_index], w.index))
        index = min(use, key=lambda i: (use[i], i))
        worker = _Worker(self, len(self._pool), self.slots[index], index)
        self._pool.append(worker)
        worker.spawn()
        return worker

    def cancel(self, trial: Trial) -> None:
        """The trial stops at its next report; if it has not within ``CANCEL_GRACE_S``,
        its worker is killed (and replaced)."""
        with self._lock:
            worker = next((w for w in self._pool if w.trial is trial), None)
        if worker is None:
            return
        timer = threading.Timer(CANCEL_GRACE_S, worker.kill_if_running, (trial, "cancelled"))
        timer.daemon = True
        timer.start()

    def fetch_namespace(self, trial_id: int) -> FetchedNamespace:
        """Trial ``trial_id``'s variables from the worker process that ran it (see
        ``Executor.fetch_namespace``)."""
        with self._lock:
            holder = self._holders.get(trial_id)
            closed = self._closed
        if closed:
            return FetchedNamespace(None, "its other variables stayed in its worker process, "
                                          "which ended with the study: only the best "
                                          "trial's are brought back when a study ends")
        if holder is None or self.keep_count < 1:
            return FetchedNamespace(None, not_kept(self.keep_count))
        worker, process = holder
        return worker.fetch(trial_id, process, self.keep_count)

    def _shutdown(self) -> None:
        with self._lock:
            pool, self._pool = list(self._pool), []
        for worker in pool:
            worker.jobs.put(None)
        _terminate([w.process for w in pool if w.process is not None])
        _live.discard(self)


class _Worker:
    """One worker process (replaced when it dies) and the kernel thread that drives it."""

    def __init__(self, executor: ProcessExecutor, index: int, slot: Slot,
                 slot_index: int | None = None) -> None:
        self.executor, self.index, self.slot = executor, index, slot
        self.slot_index = index if slot_index is None else slot_index
        self.trial: Trial | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.sent_key: int | None = None
        self.kill_reason: str | None = None
        self.crash_output: list[str] = []
        self.reader: threading.Thread | None = None
        self.busy = threading.Lock()  # held while it runs a trial or sends variables
        self.jobs: queue.SimpleQueue[tuple[Trial, tuple[int, Shipment], TrialHooks] | None] = \
            queue.SimpleQueue()
        self.thread: threading.Thread | None = None  # started with its first trial

    def submit(self, job: tuple[Trial, tuple[int, Shipment], TrialHooks]) -> None:
        """Run a trial in this worker. Its kernel thread starts with its first trial, as its
        process does: a pool of --workers 100000 for a few trials started a thread per
        worker at once, until Python could start no more ("can't start new thread")."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, daemon=True,
                                           name=f"hpo-process-worker-{self.index}")
            self.thread.start()
        self.jobs.put(job)

    # ------------------------------------------------------------------ the process
    def spawn(self) -> None:
        parent_end, child_end = socket.socketpair()
        env = {**os.environ, **self.slot.environment(), "PYTHONUNBUFFERED": "1"}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_hpo.executors._worker", str(child_end.fileno())],
                pass_fds=(child_end.fileno(),), env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            child_end.close()
        self.process, self.conn = process, Connection(parent_end.detach())
        self.sent_key, self.kill_reason, self.crash_output = None, None, []
        self.conn.send(("init", list(sys.path), self.slot, list(sys.argv)))
        self.reader = threading.Thread(target=self._read_output, args=(process,), daemon=True,
                                       name=f"hpo-process-output-{self.index}")
        self.reader.start()

    def _read_output(self, process: subprocess.Popen[bytes]) -> None:
        """Output written to the worker's file descriptors (C extensions, faulthandler):
        it goes to the running trial, and its tail explains a crash."""
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            text = line.decode(errors="replace")
            if process is self.process:
                self.crash_output = (self.crash_output + [text])[-50:]
                trial = self.trial
                if trial is not None:
                    trial.write_output(text)
        process.stdout.close()

    def kill_if_running(self, trial: Trial, reason: str) -> None:
        with self.executor._lock:
            if self.trial is not trial or self.process is None:
                return
            self.kill_reason = reason
            process = self.process
        _kill(process)

    def _retire(self) -> None:
        """Close the connection and make sure the process is gone (and reaped)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            _terminate([self.process])
            if self.reader is not None:
                self.reader.join(timeout=1)
            self.process = None

    # ------------------------------------------------------------------- the thread
    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            trial, payload, hooks = job
            with self.busy:
                try:
                    outcome, replace = self._run(trial, payload, hooks)
                except Exception:  # noqa: BLE001 - the trial ends, this thread lives on
                    outcome, replace = _executor_failure(), True
                with self.executor._lock:
                    replace = replace or self.kill_reason is not None  # killed as it finished
                    self.trial = None  # idle before on_finish, which may start the next trial
                    if not replace and self.process is not None and outcome.status in (
                            TrialStatus.COMPLETED, TrialStatus.STOPPED):
                        self.executor._holders[trial.trial_id] = (self, self.process)
                if replace:
                    self._retire()
                    with self.executor._lock:
                        if not self.executor._closed:
                            self._spawn_failure()  # else the next trial starts it (or fails)
            hooks.on_finish(trial, outcome)

    def fetch(self, trial_id: int, process: subprocess.Popen[bytes],
              keep_count: int) -> FetchedNamespace:
        """Ask this worker's process for trial ``trial_id``'s kept variables, if it is still
        the ``process`` that ran it and is idle; a worker that does not answer within
        ``FETCH_TIMEOUT_S`` is killed (and replaced before its next trial)."""
        if not self.busy.acquire(blocking=False):
            return FetchedNamespace(None, "its worker process was running another trial, "
                                          "so its other variables could not be fetched")
        try:
            with self.executor._lock:
                conn = self.conn if self.process is process else None
            if conn is None or process.poll() is not None:
                return FetchedNamespace(None, _LOST)
            try:
                conn.send(("fetch", trial_id))
                deadline = time.monotonic() + FETCH_TIMEOUT_S
                while True:
                    if not conn.poll(max(0.0, deadline - time.monotonic())):
                        self._retire()
                        return FetchedNamespace(None, f"its worker process did not send its "
                                                      f"other variables within "
                                                      f"{FETCH_TIMEOUT_S:g}s, so it was "
                                                      f"stopped")
                    message = conn.recv()
                    if message[0] == "namespace":
                        break
            except (EOFError, OSError):
                self._retire()
                return FetchedNamespace(None, _LOST)
        finally:
            self.busy.release()
        _, data, left_out = message
        if data is None:
            return FetchedNamespace(None, not_kept(keep_count))
        try:
            variables = restored(data)
        except Exception as exc:  # noqa: BLE001 - e.g. a class the kernel cannot import
            return FetchedNamespace(None, f"its other variables could not be read in the "
                                          f"kernel ({type(exc).__name__}: {exc})")
        return FetchedNamespace(variables, left_out_note(left_out, "worker process"))

    def _run(self, trial: Trial, payload: tuple[int, Shipment],
             hooks: TrialHooks) -> tuple[TrialOutcome, bool]:
        """Run ``trial`` in the worker process; the outcome, and whether to replace it."""
        key, shipment = payload
        try:
            config = shipment.dumps_with(dict(trial.config))
        except Exception as exc:  # noqa: BLE001 - a value that does not pickle fails its trial
            return TrialOutcome(TrialStatus.FAILED,
                                error=unsendable_config(trial.config, shipment, exc)), False
        try:
            with self.executor._lock:
                if self.executor._closed:
                    return TrialOutcome(TrialStatus.CANCELLED,
                                        error="the executor was shut down"), False
                if self.process is None:
                    failure = self._spawn_failure()
                    if failure is not None:
                        return failure, False
            conn = self.conn
            assert conn is not None
            self.crash_output = []
            if self.sent_key != key:
                conn.send(("objective", key, shipment.data))
                self.sent_key = key
            conn.send(("run", key, trial.trial_id, config,
                       {"checkpoint_dir": trial.checkpoint_dir,
                        "restore_from": trial.restore_from, "metric": trial.metric,
                        "resource": trial.resource, "keep": self.executor.keep_count,
                        "mode": self.executor.keep_mode}))
        except (OSError, ValueError):
            return self._crash_outcome(), True
        budget = self.executor.trial_timeout
        if budget is not None:  # the runs of a trial that paused and resumed share it
            budget -= trial.timeout_used
        since = time.monotonic()
        started = False  # the clock starts when the worker (maybe still starting) takes it
        while True:
            wait = None if budget is None or not started \
                else budget - (time.monotonic() - since)
            if wait is not None and wait <= 0:
                self.kill_if_running(trial, "timeout")
                wait = 5.0
            try:
                if wait is not None and not conn.poll(wait):
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                return self._crash_outcome(), True
            kind = message[0]
            if kind == "started":
                started, since = True, time.monotonic()
            elif kind == "output":
                trial.write_output(message[1])
            elif kind == "side":
                self._on_side(trial, message[1], message[2], hooks)
            elif kind == "report":
                if budget is not None:  # time paused in on_report does not count
                    budget -= time.monotonic() - since
                reply = self._on_report(trial, message[1], hooks)
                since = time.monotonic()
                try:
                    conn.send(reply)
                except OSError:
                    return self._crash_outcome(), True
            elif kind == "done":
                _, status, result, error, traceback, restart = message
                if status == "released":  # paused with a checkpoint: its worker is free
                    if budget is not None:
                        trial.timeout_used = self.executor.trial_timeout - budget + (
                            time.monotonic() - since)
                    return TrialOutcome(TrialStatus.PAUSED), restart
                return TrialOutcome(TrialStatus(status), result, None, error, traceback), restart

    @staticmethod
    def _on_side(trial: Trial, kind: str, data: Any, hooks: TrialHooks) -> None:
        try:
            hooks.on_side(trial, kind, data)
        except Exception:  # noqa: BLE001 - the trial goes on; say why in its output
            import traceback

            trial.write_output(f"jupyter_hpo: could not take the trial's {kind} message:\n"
                               f"{traceback.format_exc()}")

    @staticmethod
    def _on_report(trial: Trial, values: dict[str, Any], hooks: TrialHooks) -> Any:
        try:
            hooks.on_report(trial, values)
        except TrialCompleted:
            return "complete"
        except TrialStopped:
            return "stop"
        except TrialReleased:
            return "release"
        except Exception as exc:  # noqa: BLE001 - raised in the trial, as in a thread
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - send what can be sent
                exc = HPOError(f"{type(exc).__name__}: {exc}")
            return ("error", exc)
        return "continue"

    def _spawn_failure(self) -> TrialOutcome | None:
        """Start the worker process; if the machine refuses (no process, memory or file
        descriptor left: OSError), the failed outcome of the trial that needed it, with what
        to do. Raised instead, it ended this thread before the trial's end was told, and the
        study waited for that trial for good."""
        try:
            self.spawn()
        except OSError as exc:
            self._retire()
            return TrialOutcome(TrialStatus.FAILED, error=(
                f"could not start a worker process for the trial ({type(exc).__name__}: "
                f"{exc}): the machine has no process, memory or file descriptor left for it; "
                f"run fewer trials at once (--workers, workers=) or end what holds them"))
        return None

    def _crash_outcome(self) -> TrialOutcome:
        """The worker died: say why (signal, exit code, timeout or cancel)."""
        process = self.process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                _kill(process)
                code = process.wait()
            if self.reader is not None:
                self.reader.join(timeout=1)
        tail = "".join(self.crash_output)
        if self.kill_reason == "cancelled":
            return TrialOutcome(TrialStatus.STOPPED)
        if self.kill_reason == "timeout":
            return TrialOutcome(TrialStatus.FAILED, error=f"exceeded the trial timeout of "
                                f"{self.executor.trial_timeout:g}s; its worker process was "
                                f"killed", traceback=tail)
        if self.executor._closed:
            return TrialOutcome(TrialStatus.CANCELLED, error="the executor was shut down")
        return TrialOutcome(TrialStatus.FAILED, error=describe_exit(code, tail), traceback=tail)


_LOST = ("its other variables were lost with its worker process, which ended after the "
         "trial: it crashed, was killed or was replaced")


def unsendable_config(config: dict[str, Any], shipment: Shipment, exc: Exception) -> str:
    """Why a trial's configuration cannot be sent to its worker, naming the first value that
    does not pickle (a choice the objective holds was checked before the first trial; this is
    one it does not, e.g. a value given to --enqueue or a choice of tune()'s space)."""
    from ._shipping import first_unpicklable

    found = first_unpicklable(config, shipment.dumps_with)
    if found is not None:
        name, value, error = found
        return (f"the configuration cannot be sent to the worker process: {name!r} is "
                f"{_short(value)} ({type(value).__name__}), which cannot be pickled "
                f"({type(error).__name__}: {error}); make it a value that pickles (a name, and "
                f"build the object in the trial from it), or run the trials in threads with "
                f"--executor thread")
    return (f"the configuration cannot be sent to the worker process "
            f"({type(exc).__name__}: {exc})")


def _executor_failure() -> TrialOutcome:
    """A failure of this executor itself while it ran a trial: that trial fails (with the
    traceback) and its worker is replaced, instead of the thread dying and the study waiting
    for the trial forever."""
    return TrialOutcome(TrialStatus.FAILED, error="the process executor failed while running "
                        "the trial (a bug in jupyter_hpo; the traceback says where)",
                        traceback=traceback.format_exc())


def describe_exit(code: int | None, tail: str = "") -> str:
    """Why a worker process ended, from its return code (and the ``tail`` of what it wrote to
    its own stderr: the trial's prints go to the trial, so a traceback there is the worker's)."""
    if code is None:
        return "the worker process closed its connection and was killed"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGSEGV:
            return f"the worker process crashed with {name} (segmentation fault)"
        if -code == signal.SIGKILL:
            return f"the worker process was killed ({name}) - often the out-of-memory killer"
        if -code == signal.SIGBUS:
            return f"the worker process crashed with {name} (bus error)"
        if -code == signal.SIGABRT:
            return f"the worker process aborted ({name})"
        return f"the worker process was killed by {name}"
    if code == 1 and "Traceback (most recent call last):" in tail:
        return ("the worker process exited with code 1 after an error outside the trial's code "
                "(its traceback follows)")
    return f"the worker process exited with code {code} (os._exit or sys.exit in the trial?)"


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and whatever it started (it leads its own process group)."""
    if process.poll() is not None:  # reaped: its pid (and group id) may belong to another
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill()
        except ProcessLookupError:
            pass


def _terminate(processes: list[subprocess.Popen[bytes]], grace: float = 1.0) -> None:
    """SIGTERM, then SIGKILL whatever is left after ``grace`` seconds; reap them all."""
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(process)
            process.wait()


@atexit.register
def _shutdown_all() -> None:
    for executor in list(_live):
        executor.shutdown()
