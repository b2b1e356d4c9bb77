"""The worker process of the process executor: ``python -m jupyter_hpo.executors._worker FD``.

It talks to the kernel over the socket ``FD`` (a ``multiprocessing`` connection). Messages
from the parent: ``("init", sys_path, slot, argv)`` (the parent's ``sys.argv``, as
``multiprocessing`` gives its children), ``("objective", key, cloudpickled bytes)``,
``("run", key, trial_id, config bytes, {"checkpoint_dir": ..., "restore_from": Checkpoint |
None, "metric": ..., "resource": ..., "keep": count, "mode": "min" | "max"})`` (the
configuration pickled by ``_shipping.Shipment.dumps_with``: a choice that the objective holds
too is that object here; the variables of the ``count`` best trials are kept, ``_kept``),
``("fetch", trial_id)`` (answered with ``("namespace", bytes | None, left_out)``: the kept
variables of that trial) and, in reply to a report, ``"continue"``, ``"stop"``, ``"complete"``
(a report after max_t, not recorded: the code ends as at a stop, the trial counted
completed), ``"release"`` (the trial paused after saving a checkpoint: its code ends, status
``released``) or ``("error", exception)``. Messages
to the parent: ``("started",)``, ``("output", text)``, ``("report", values)``,
``("side", kind, data)`` (``trial.set`` attributes, a new checkpoint; no reply) and
``("done", status, result, error, traceback, restart)``. It exits on EOF and as soon as the
parent process is gone, so it is never left behind as an orphan."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..errors import HPOError
from ..trial import (
    ReportError,
    Trial,
    TrialReleased,
    TrialStopped,
    _TrialContext,
)
from ._kept import KeptNamespaces, keep_namespace
from ._replies import follow_reply
from ._shipping import loads, loads_with, unsendable, unsendable_result
from ._tracebacks import user_traceback
from ._worker_display import provide_display
from .thread import describe_failure

PARENT_POLL_S = 0.25


class _Channel:
    """The connection to the parent; ``send`` is safe from any thread of the main process."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self.lock, self.pid = conn, threading.Lock(), os.getpid()

    def send(self, message: Any) -> None:
        with self.lock:
            self.conn.send(message)


class _TrialStream:
    """``sys.stdout``/``sys.stderr`` of a trial: each write goes to the parent's trial."""

    def __init__(self, channel: _Channel, fallback: Any) -> None:
        self.channel, self.fallback = channel, fallback

    def write(self, text: str) -> int:
        if os.getpid() != self.channel.pid:  # a forked grandchild must not use the socket
            return self.fallback.write(text)
        if text:
            self.channel.send(("output", str(text)))
        return len(text)

    def flush(self) -> None:
        """Every write is sent at once."""

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


def _watch_parent(parent: int) -> None:
    """Exit as soon as the kernel is gone (even when it was SIGKILLed mid-trial)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(0)


def _is_cuda_oom(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc)


class _Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.channel = _Channel(conn)
        self.slot: Any = None
        self.objective_key: Any = None
        self.objective_bytes: bytes | None = None
        self.objective: Any = None
        self.held: dict[int, Any] = {}  # what the objective's pickle holds, by position
        self._restart = False
        self.home, self.environ = os.getcwd(), dict(os.environ)  # the kernel's, at spawn
        self.kept = KeptNamespaces()

    def serve(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)
            kind = message[0]
            if kind == "init":
                sys.path[:] = list(message[1])  # so the kernel's modules import
                self.slot = message[2]
                sys.argv[:] = list(message[3])  # a script's objective reads its command line
            elif kind == "objective":
                self.objective_key, self.objective_bytes = message[1], message[2]
                self.objective = None
            elif kind == "run":
                try:
                    extra = message[4] if len(message) > 4 else {}
                    self._send_outcome(self.run(message[2], message[3], **extra))
                except OSError:  # the kernel is gone
                    os._exit(0)
                if self._restart:
                    os._exit(0)
            elif kind == "fetch":
                try:
                    self.channel.send(("namespace",
                                       *self.kept.sendable(message[1]).as_message()))
                except OSError:  # the kernel is gone
                    os._exit(0)

    def _send_outcome(self, outcome: tuple[Any, ...]) -> None:
        try:
            self.channel.send(outcome)
        except Exception as exc:  # noqa: BLE001 - a result that does not pickle fails the trial
            error = unsendable_result(outcome[2], exc, ForkingPickler.dumps)
            self.channel.send(("done", "failed", None, error, "", False))

    def _load_objective(self) -> Any:
        if self.objective is None:
            assert self.objective_bytes is not None
            self.objective, self.held = loads(self.objective_bytes)
        return self.objective

    def _read_config(self, data: bytes) -> dict[str, Any]:
        """The trial's configuration, its choices resolved to the objective's objects."""
        try:
            return loads_with(data, self.held)
        except Exception as exc:  # e.g. a choice of a module that is not importable here
            raise HPOError(f"the trial's configuration cannot be read in the worker process "
                           f"({type(exc).__name__}: {exc})") from exc

    def _hook(self, values: dict[str, Any]) -> None:
        try:
            self.channel.send(("report", values))
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a value that does not pickle
            raise ReportError(unsendable("report()", values, exc, "report numbers, strings "
                                         "or other picklable values",
                                         ForkingPickler.dumps)) from None
        follow_reply(self.conn.recv(), values)

    def _side(self, trial: Trial, kind: str, data: Any) -> None:
        """``trial.set`` attributes and new checkpoints, to the parent (no reply)."""
        if kind == "set":
            trial.user_attrs.update(data)
        try:
            self.channel.send(("side", kind, data))
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an attribute that does not pickle
            raise HPOError(unsendable("trial.set()", data, exc, "set numbers, strings or "
                                      "other picklable values", ForkingPickler.dumps)) from None

    def _start_afresh(self) -> None:
        """Each trial starts in the kernel's working directory and environment, as the first
        did, whatever an earlier trial of this worker changed (``os.chdir``, ``os.environ``)."""
        try:  # also when a trial left a folder it removed (os.getcwd() would fail)
            os.chdir(self.home)
        except OSError:  # the kernel's folder is gone too: stay where the worker is
            pass
        if os.environ != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)

    def run(self, trial_id: int, config: bytes, checkpoint_dir: str | None = None,
            restore_from: Any = None, metric: str = "", resource: str = "epoch",
            keep: int = 0, mode: str = "min") -> tuple[Any, ...]:
        self._restart = False
        self._start_afresh()
        trial = Trial(trial_id, {}, checkpoint_dir=checkpoint_dir, restore_from=restore_from,
                      metric=metric, resource=resource)
        trial.device = self.slot.device(remapped=True)
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = _TrialStream(self.channel, sys.__stdout__)
        sys.stderr = _TrialStream(self.channel, sys.__stderr__)
        objective = None
        try:
            with _TrialContext(trial, self._hook,
                               lambda kind, data: self._side(trial, kind, data)):
                try:
                    try:
                        objective = self._load_objective()
                        trial.config = self._read_config(config)
                    finally:  # the trial timeout counts from here: unpickling the objective
                        self.channel.send(("started",))  # (imports included) is not the trial
                    output = objective.run(trial, trial.device)
                except TrialStopped as stop:
                    keep_namespace(self.kept, trial, getattr(stop, "namespace", None), None,
                                   keep, mode)
                    return ("done", "stopped", None, "", "", False)
                except TrialReleased:
                    return ("done", "released", None, "", "", False)
                except BaseException as exc:  # noqa: BLE001 - the trial failed, whatever it raised
                    return self._failure(exc, user_traceback(exc, objective))
        finally:
            sys.stdout, sys.stderr = stdout, stderr
        keep_namespace(self.kept, trial, output.namespace, output.result, keep, mode)
        return ("done", "completed", output.result, "", "", False)

    def _failure(self, exc: BaseException, tb: str) -> tuple[Any, ...]:
        error = describe_failure(exc)
        if _is_cuda_oom(exc):
            self._restart = True  # a fresh process frees the GPU memory the trial held
            error = f"CUDA out of memory ({error}); the worker process was restarted"
        return ("done", "failed", None, error, tb, self._restart)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel handles interrupts
    faulthandler.enable()  # a segfault dumps the Python stack to stderr, which the kernel reads
    provide_display()  # the builtin display() of the notebook's code
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="hpo-parent-watch").start()
    _Worker(Connection(int(sys.argv[1]))).serve()


if __name__ == "__main__":
    main()
