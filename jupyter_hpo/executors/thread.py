"""Thread executor: trials run in threads of the kernel process (they share the GIL)."""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import traceback
from typing import Any, ClassVar, TextIO

from ..errors import HPOError
from ..resources import Slot
from ..trial import (
    Trial,
    TrialReleased,
    TrialStatus,
    TrialStopped,
    _TrialContext,
    current_trial,
)
from ._base import Executor, TrialHooks, TrialOutcome

log = logging.getLogger(__name__)


class ThreadExecutor(Executor):
    """Runs each trial in a pooled thread; idle threads are reused, paused trials keep theirs."""

    name = "thread"

    def __init__(self, workers: int = 1, capture_output: bool = False,
                 slots: list[Slot] | None = None) -> None:
        super().__init__(workers, slots)
        self.capture_output = capture_output
        self._slot_use = [0] * len(self.slots)
        self._jobs: queue.SimpleQueue[tuple[Trial, Any, TrialHooks] | None] = queue.SimpleQueue()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._capturing = False
        if capture_output:
            OutputRouter.acquire()
            self._capturing = True

    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        with self._lock:
            index = min(range(len(self.slots)), key=self._slot_use.__getitem__)
            self._slot_use[index] += 1
            trial.slot = index
            trial.resources = self.slots[index].label
            trial.device = self.slots[index].device(remapped=False)
            if self._idle:
                self._idle -= 1
            else:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"hpo-worker-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
        self._jobs.put((trial, objective, hooks))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            trial, objective, hooks = job
            try:
                outcome = run_trial(trial, objective, hooks)
            except BaseException as exc:  # failing to describe a failure still ends the trial
                log.exception("jupyter_hpo: trial %s", trial.trial_id)
                outcome = TrialOutcome(TrialStatus.FAILED, error=f"{type(exc).__name__} while "
                                       f"ending the trial (see the log)")
            with self._lock:  # idle before on_finish, which may start the next trial here
                self._idle += 1
                self._slot_use[trial.slot] -= 1
            try:
                hooks.on_finish(trial, outcome)
            except Exception:  # the thread must live on to run the next trial
                log.exception("jupyter_hpo: finishing trial %s failed", trial.trial_id)

    def _shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if self._capturing:
            self._capturing = False
            OutputRouter.release()


def run_trial(trial: Trial, objective: Any, hooks: TrialHooks) -> TrialOutcome:
    """Run one trial in the current thread (reports go to ``hooks``); return how it ended.

    Whatever the trial raises ends only the trial: ``sys.exit()`` and a ``KeyboardInterrupt``
    raised by the trial's own code fail it with that reason instead of killing the thread.
    """
    side = getattr(hooks, "on_side", None)
    with _TrialContext(trial, lambda values: hooks.on_report(trial, values),
                       None if side is None else lambda kind, data: side(trial, kind, data)):
        try:
            output = objective.run(trial, trial.device)
            return TrialOutcome(TrialStatus.COMPLETED, output.result, output.namespace)
        except TrialStopped as stop:
            return TrialOutcome(TrialStatus.STOPPED, namespace=getattr(stop, "namespace", None))
        except TrialReleased:
            return TrialOutcome(TrialStatus.PAUSED)
        except BaseException as exc:  # noqa: BLE001 - a failing trial must not stop the study
            return TrialOutcome(TrialStatus.FAILED, error=describe_failure(exc),
                                traceback=user_traceback(exc, getattr(objective, "filename",
                                                                      "<objective>")))


def describe_failure(exc: BaseException) -> str:
    """The one-line reason a trial failed, for any exception."""
    if isinstance(exc, SystemExit):
        if _raised_by_argparse(exc):
            return (f"the trial called sys.exit({exc.code!r}) from argparse, which parsed the "
                    f"kernel's own command line (sys.argv): in a notebook call "
                    f"parser.parse_args([]) (its output says what it refused)")
        return f"the trial called sys.exit({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):
        return ("the trial raised KeyboardInterrupt (to stop the study, interrupt the kernel or "
                "press Stop study)")
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails, as Python shows it
        text = "<exception str() failed>"
    return f"{type(exc).__name__}: {text}"


def _raised_by_argparse(exc: BaseException) -> bool:
    """Whether ``exc`` came out of ``argparse`` (a script's ``parse_args()`` in a cell)."""
    return any(os.path.basename(frame.f_code.co_filename) == "argparse.py"
               for frame, _ in traceback.walk_tb(exc.__traceback__))


def user_traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the first frame of the user's code on, so our frames are hidden.
    For our own errors (``HPOError``: ``report()``'s checks, ...) it also ends at the user's
    call, since the frames inside jupyter_hpo say nothing the message does not."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    tb = tb or exc.__traceback__
    limit = None
    if isinstance(exc, HPOError):
        frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(tb)]
        while frames and _in_package(frames[-1]):
            frames.pop()
        if not frames:  # raised by jupyter_hpo about what the trial did: the message says it
            return "".join(traceback.format_exception_only(type(exc), exc))
        limit = len(frames)
    return "".join(traceback.format_exception(type(exc), exc, tb, limit=limit))


def _in_package(filename: str) -> bool:
    """Whether ``filename`` is a module of jupyter_hpo (``<...>`` names cells and such)."""
    return not filename.startswith("<") and os.path.abspath(filename).startswith(_PACKAGE)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _to_trial(text: str, write: Any) -> int:
    """Send ``text`` to the output of the trial running in this thread, or through ``write``
    outside a trial."""
    trial = current_trial()
    if trial is None:
        return write(text)
    trial.write_output(str(text))
    return len(text)


class _TrialStream:
    """One of ``sys.stdout``/``sys.stderr`` while trials run: text written by a trial's thread
    goes to that trial's output; every other thread writes through to the original stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return _to_trial(text, self.stream.write)

    def flush(self) -> None:
        if current_trial() is None:
            self.stream.flush()

    def isatty(self) -> bool:
        return False if current_trial() is not None else self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _MethodHook:
    """One method of one object replaced by ``wrapper`` (an instance attribute) until
    ``undo``; the wrapper gets the object's own method before the hook is made, so a call
    from another thread meanwhile finds it."""

    def __init__(self, target: Any, name: str, wrapper: Any) -> None:
        self.target, self.name, self.wrapper = target, name, wrapper
        self.shadowed = getattr(target, "__dict__", {}).get(name)  # an attribute it replaces
        setattr(target, name, wrapper)  # AttributeError / TypeError where it cannot be set

    def undo(self) -> None:
        """Put the method back, unless someone replaced the wrapper meanwhile."""
        if self.target.__dict__.get(self.name) != self.wrapper:
            return
        if self.shadowed is None:
            delattr(self.target, self.name)
        else:
            setattr(self.target, self.name, self.shadowed)


class _TrialDisplays:
    """IPython's display publisher while trials run: what a trial's thread displays (a figure
    its ``plt.show()`` draws, a widget, ``display(x)``) goes to that trial's output as text and
    its ``clear_output()`` is dropped, since both would land in the cell, whose output is the
    study's dashboard (a training loop that clears its output each epoch wiped it). Other
    threads publish as before."""

    def __init__(self, publisher: Any) -> None:
        self.publish, self.clear = publisher.publish, publisher.clear_output
        self.hooks = (_MethodHook(publisher, "publish", self._publish),
                      _MethodHook(publisher, "clear_output", self._clear_output))

    @classmethod
    def install(cls) -> _TrialDisplays | None:
        """Wrap the running IPython shell's publisher; None outside IPython."""
        shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
        publisher = getattr(shell, "display_pub", None)
        return None if publisher is None else cls(publisher)

    def uninstall(self) -> None:
        """Put the publisher's own methods back, unless someone replaced them meanwhile."""
        for hook in self.hooks:
            hook.undo()

    def _publish(self, data: Any, *args: Any, **kwargs: Any) -> None:
        trial = current_trial()
        if trial is None:
            self.publish(data, *args, **kwargs)
            return
        text = data.get("text/plain") if isinstance(data, dict) else None
        shown = text if isinstance(text, str) else f"({', '.join(map(str, data or ()))})"
        trial.write_output(f"[display] {shown}\n")

    def _clear_output(self, *args: Any, **kwargs: Any) -> None:
        if current_trial() is None:
            self.clear(*args, **kwargs)


def _hold_stream(stream: Any) -> _MethodHook | None:
    """The notebook's own stream while trials run, for writers that hold it instead of
    looking up ``sys.stdout`` (a logging handler set up before the study keeps ``sys.stderr``
    as it was, so a trial's log lines went to the cell): what a trial's thread writes to it
    goes to that trial's output. None for a stream whose ``write`` cannot be replaced (a plain
    ``TextIOWrapper``), which is left alone."""
    write = stream.write
    try:
        return _MethodHook(stream, "write", lambda text: _to_trial(text, write))
    except (AttributeError, TypeError):
        return None


class OutputRouter:
    """Per-trial capture of printed and displayed output for every study of the process.

    One pair of ``_TrialStream`` s (with hooks on the streams they replace, and one wrapper
    of IPython's display publisher) is installed while any study captures output (counted), so
    overlapping studies share it and the last one to end puts the originals back — unless
    someone else replaced ``sys.stdout`` meanwhile, which is then left alone.
    """

    _lock = threading.Lock()
    _users = 0
    _streams: tuple[_TrialStream, _TrialStream] | None = None
    _displays: _TrialDisplays | None = None
    _held: ClassVar[list[_MethodHook]] = []

    @classmethod
    def acquire(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                held = (_hold_stream(sys.stdout), _hold_stream(sys.stderr))
                cls._held = [hook for hook in held if hook is not None]
                streams = (_TrialStream(sys.stdout), _TrialStream(sys.stderr))
                sys.stdout, sys.stderr = streams  # type: ignore[assignment]
                cls._streams = streams
                cls._displays = _TrialDisplays.install()
            cls._users += 1

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            if cls._users == 0:
                return
            cls._users -= 1
            if cls._users or cls._streams is None:
                return
            out, err = cls._streams
            if sys.stdout is out:
                sys.stdout = out.stream
            if sys.stderr is err:
                sys.stderr = err.stream
            cls._streams = None
            if cls._displays is not None:
                cls._displays.uninstall()
                cls._displays = None
            for hook in reversed(cls._held):  # the last one installed wraps the others
                hook.undo()
            cls._held = []

    @classmethod
    def active(cls) -> bool:
        return cls._users > 0
