"""The worker side of the Dask executor: one trial is one Dask task, :func:`run_trial`.

The task talks to the kernel over two ``distributed.Queue`` s named after the trial, both
served by the Dask scheduler (which the kernel and every worker already reach, wherever the
cluster runs). On ``<channel>-up`` it puts ``("started", worker_address)``, ``("output",
text)``, ``("report", values)`` and finally ``("done", status, result, error, traceback)``.
On ``<channel>-down`` the kernel answers a report with ``"continue"``, ``"stop"``,
``"complete"`` (a report after max_t, not recorded: it ends as at a stop, counted
completed), ``"release"``
(the trial paused after saving a checkpoint: its code ends, status ``released``, and a new
task runs it again from the checkpoint when it is promoted) or
``("error", exception)``, and says ``"paused"`` while a report waits for a promotion: the task
then secedes from the worker's thread pool, so that the worker runs another trial meanwhile,
and rejoins once it is promoted. ``("side", kind, data)`` on ``<channel>-up`` carries what the
trial tells besides reports (``trial.set`` attributes, a new checkpoint). A task that Dask runs again after its worker died finds
``"stop"`` waiting: the kernel has failed that trial already.

The worker process keeps the variables of the study's best few trials it ran (``_kept``, per
study); the kernel fetches one trial's with ``Client.run(fetch_kept, ...)`` on that worker
and lets go of the rest with ``forget_kept``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from typing import Any

from ..errors import HPOError
from ..resources import Slot, default_device
from ..trial import ReportError, Trial, TrialAbandoned, TrialReleased, TrialStopped, _TrialContext
from ._kept import KeptNamespaces, keep_namespace
from ._output import OutputRouter
from ._replies import follow_reply
from ._shipping import unsendable, unsendable_result
from ._thread_timeout import TrialTimeout
from ._tracebacks import user_traceback
from ._worker_display import provide_display
from .thread import describe_failure

__all__ = ["fetch_kept", "forget_kept", "run_trial"]

OUTPUT_FLUSH_S = 0.5
"""Printed output reaches the kernel at least this often (and with every report)."""
WANTED_CHECK_S = 2.0
"""This often the task checks that Dask still wants it: a task cancelled behind the
kernel's back (its client left) then answers its own wait with ``"stop"`` and ends. Waits on
the queues have no timeout, because the scheduler logs every timed-out wait as an error."""

_objectives: OrderedDict[str, Any] = OrderedDict()  # payload key -> objective, per process
_objectives_lock = threading.Lock()
_kept: dict[str, KeptNamespaces] = {}  # study token -> its trials' variables kept here


def run_trial(payload: bytes, key: str, trial_id: int, config: dict[str, Any], channel: str,
              gpu: bool, cpus: float | None, extra: dict[str, Any] | None = None) -> str:
    """Run one trial on this worker; returns how it ended (the kernel learns it over the
    queue, with the result and the traceback). ``extra``: the trial's ``checkpoint_dir``,
    the checkpoint to ``restore_from`` and the study's ``metric`` and ``resource``."""
    link = _Link(channel)
    try:
        link.up.put(("started", link.worker.address))
        return _run(link, payload, key, trial_id, config, gpu, cpus, extra or {})
    finally:
        link.close()


def _run(link: _Link, payload: bytes, key: str, trial_id: int, config: dict[str, Any],
         gpu: bool, cpus: float | None, extra: dict[str, Any]) -> str:
    trial = _WorkerTrial(trial_id, dict(config), checkpoint_dir=extra.get("checkpoint_dir"),
                         restore_from=extra.get("restore_from"), metric=extra.get("metric", ""),
                         resource=extra.get("resource", "epoch"))
    trial.link = link
    trial.device = Slot((0,)).device(remapped=True) if gpu else default_device()
    OutputRouter.acquire()
    provide_display()  # a worker process has no IPython shell to make display() a builtin
    flusher = threading.Thread(target=link.watch, daemon=True,
                               name=f"hpo-dask-output-{trial_id}")
    flusher.start()
    objective = None
    timeout = TrialTimeout.start(trial, extra.get("trial_timeout"), extra.get("timeout_used"))
    report, side = timeout.guarded(link.report, lambda kind, data: link.side(trial, kind, data))
    try:
        with _TrialContext(trial, report, side), _thread_limit(cpus):
            try:
                objective = _load(key, payload)
                try:
                    output = objective.run(trial, trial.device)
                finally:
                    timeout.code_ended()
            except TrialAbandoned as exc:  # past its time limit: say where it was
                outcome: tuple[Any, ...] = ("done", "failed", None, timeout.error(),
                                            user_traceback(exc, objective))
            except TrialStopped as stop:
                _keep(trial, getattr(stop, "namespace", None), None, extra)
                outcome = ("done", "stopped", None, "", "")
            except TrialReleased:
                outcome = ("done", "released", None, "", "")
            except BaseException as exc:  # noqa: BLE001 - the trial failed, whatever it raised
                outcome = ("done", "failed", None, describe_failure(exc),
                           user_traceback(exc, objective))
            else:
                _keep(trial, output.namespace, output.result, extra)
                outcome = ("done", "completed", output.result, "", "")
    finally:
        OutputRouter.trial_ended(trial)  # widgets it displayed (a worker in the kernel)
        link.closed.set()
        flusher.join()
        OutputRouter.release()
    link.finish(outcome + (timeout.used(),))
    return outcome[1]


def _keep(trial: Trial, namespace: dict[str, Any] | None, result: dict[str, Any] | None,
          extra: dict[str, Any]) -> None:
    """Keep the trial's variables in this worker if they are among the study's best here."""
    token, count = extra.get("study"), int(extra.get("keep", 0))
    if token is None or namespace is None or count < 1:
        return
    with _objectives_lock:
        kept = _kept.setdefault(token, KeptNamespaces())
    keep_namespace(kept, trial, namespace, result, count, extra.get("mode", "min"))


def fetch_kept(token: str, trial_id: int) -> tuple[bytes | None, list[tuple[str, str, str]]]:
    """Run on the worker (``Client.run``): trial ``trial_id``'s kept variables, pickled,
    and those left out (None: not kept here)."""
    with _objectives_lock:
        kept = _kept.get(token)
    return (None, []) if kept is None else kept.sendable(trial_id).as_message()


def forget_kept(token: str) -> None:
    """Run on the workers (``Client.run``) when the study ends: drop its kept variables."""
    with _objectives_lock:
        _kept.pop(token, None)


def _load(key: str, payload: bytes) -> Any:
    """The cloudpickled objective, unpickled once per worker process (a few kept)."""
    with _objectives_lock:
        objective = _objectives.get(key)
        if objective is None:
            import cloudpickle

            objective = _objectives[key] = cloudpickle.loads(payload)
            while len(_objectives) > 4:
                _objectives.popitem(last=False)
        return objective


@contextlib.contextmanager
def _thread_limit(cpus: float | None) -> Any:
    """Limit BLAS/OpenMP threads to the trial's CPUs (``--cpus-per-trial``)."""
    if cpus is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(max(1, int(cpus))):
        yield


def _pickles(value: Any) -> None:
    """Pickle ``value`` as ``distributed`` does when plain pickle fails (cloudpickle)."""
    import cloudpickle

    cloudpickle.dumps(value)


def _sent(exc: Exception) -> bool:
    """Whether ``exc`` came from the connection (the message was serialised; the scheduler
    is gone or slow), not from values that cannot be serialised."""
    return isinstance(exc, (OSError, TimeoutError))


class _WorkerTrial(Trial):
    """The worker's copy of the trial: what it prints goes to the kernel."""

    link: _Link

    def write_output(self, text: str) -> None:
        self.link.write(text)


class _Link:
    """The trial's two queues; ``send`` is safe from the trial's threads."""

    def __init__(self, channel: str) -> None:
        from distributed import Queue, get_worker

        self.worker = get_worker()
        self.key = self.worker.get_current_task()
        self.up, self.down = Queue(f"{channel}-up"), Queue(f"{channel}-down")
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.closed = threading.Event()

    def write(self, text: str) -> None:
        with self.lock:
            self.pending.append(text)

    def _flush_locked(self) -> None:
        if self.pending:
            text, self.pending = "".join(self.pending), []
            self.up.put(("output", text))

    def watch(self) -> None:
        """While the trial runs: send its output every ``OUTPUT_FLUSH_S``, and end a wait
        for the kernel's answer once Dask no longer wants the task."""
        checked = time.monotonic()
        while not self.closed.wait(OUTPUT_FLUSH_S):
            with self.lock:
                self._flush_locked()
            if time.monotonic() - checked >= WANTED_CHECK_S:
                checked = time.monotonic()
                if not self._wanted():
                    self.down.put("stop")
                    return

    def report(self, values: dict[str, Any]) -> None:
        """The report hook: send ``values`` and act on the kernel's answer."""
        with self.lock:
            self._flush_locked()
            try:
                self.up.put(("report", values))
            except Exception as exc:  # e.g. a value that does not pickle
                if _sent(exc):  # the scheduler is in trouble, not the values
                    raise
                raise ReportError(unsendable("report()", values, exc, "report numbers, "
                                             "strings or other picklable values",
                                             _pickles)) from None
        follow_reply(self._reply(), values)

    def side(self, trial: Trial, kind: str, data: Any) -> None:
        """``trial.set`` attributes and new checkpoints, to the kernel (no answer)."""
        if kind == "set":
            trial.user_attrs.update(data)
        with self.lock:
            self._flush_locked()
            try:
                self.up.put(("side", kind, data))
            except Exception as exc:  # e.g. an attribute that does not pickle
                if _sent(exc) or kind != "set":
                    raise
                raise HPOError(unsendable("trial.set()", data, exc, "set numbers, strings or "
                                          "other picklable values", _pickles)) from None

    def _reply(self) -> Any:
        """The kernel's next answer; while the trial is paused its thread leaves the
        worker's pool (``secede``) and comes back (``rejoin``) when it is promoted."""
        from distributed import rejoin, secede

        seceded = False
        while True:
            try:
                reply = self.down.get(timeout=1.0)
            except (TimeoutError, asyncio.TimeoutError):
                if self._wanted():
                    continue
                reply = "stop"  # cancelled while it waited: end instead of waiting for good
            if reply == "paused":
                if not seceded:
                    secede()
                    seceded = True
                continue
            if seceded and reply not in ("stop", "complete"):  # promoted: wait for a thread
                rejoin()
            return reply

    def _wanted(self) -> bool:
        """False once the scheduler released this task (cancelled, or its client left)."""
        try:
            task = self.worker.state.tasks.get(self.key)
        except Exception:  # noqa: BLE001 - worker internals differ between versions
            return True
        return task is not None and task.state not in ("cancelled", "released", "forgotten")

    def close(self) -> None:
        """Let go of the queues (the scheduler drops one when both ends have let go)."""
        for queue in (self.up, self.down):
            with contextlib.suppress(Exception):  # the scheduler may be gone
                queue.close()

    def finish(self, outcome: tuple[Any, ...]) -> None:
        """Send the rest of the output and the outcome (a result that cannot be pickled
        fails the trial instead)."""
        with self.lock:
            self._flush_locked()
            try:
                self.up.put(outcome)
            except Exception as exc:  # noqa: BLE001 - e.g. the result does not pickle
                error = unsendable_result(outcome[2], exc, _pickles)
                self.up.put(("done", "failed", None, error, ""))
