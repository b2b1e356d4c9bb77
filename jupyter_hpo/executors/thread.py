"""Thread executor: trials run in threads of the kernel process (they share the GIL)."""

from __future__ import annotations

import functools
import logging
import os
import queue
import re
import threading
import traceback
from typing import Any

from ..config_keys import ConfigKeyError
from ..resources import Slot
from ..trial import (
    Trial,
    TrialAbandoned,
    TrialReleased,
    TrialStatus,
    TrialStopped,
    _TrialContext,
)
from ._base import Executor, TrialHooks, TrialOutcome, checked_trial_timeout
from ._output import OutputRouter
from ._suggestions import name_suggestion
from ._thread_stop import ThreadGate
from ._thread_timeout import TimeoutWatch, timeout_error
from ._tracebacks import cell_label, user_traceback

log = logging.getLogger(__name__)


class ThreadExecutor(Executor):
    """Runs each trial in a pooled thread; idle threads are reused, paused trials keep theirs.
    With ``trial_timeout``, a trial whose own code ran longer is stopped and fails."""

    name = "thread"
    OPTIONS = ("trial_timeout",)

    def __init__(self, workers: int = 1, capture_output: bool = False,
                 slots: list[Slot] | None = None, trial_timeout: float | None = None) -> None:
        super().__init__(workers, slots)
        self.trial_timeout = checked_trial_timeout(trial_timeout)
        self._timeouts = None if trial_timeout is None else TimeoutWatch(trial_timeout)
        self.capture_output = capture_output
        self._slot_use = [0] * len(self.slots)
        self._jobs: queue.SimpleQueue[tuple[Trial, Any, TrialHooks] | None] = queue.SimpleQueue()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._gates: dict[int, ThreadGate] = {}  # trial id -> the gate of its running code
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
            outcome = self._run(trial, objective, hooks)
            with self._lock:  # idle before on_finish, which may start the next trial here
                self._gates.pop(trial.trial_id, None)
                self._idle += 1
                self._slot_use[trial.slot] -= 1
            try:
                hooks.on_finish(trial, outcome)
            except Exception:  # the thread must live on to run the next trial
                log.exception("jupyter_hpo: finishing trial %s failed", trial.trial_id)

    def _run(self, trial: Trial, objective: Any, hooks: TrialHooks) -> TrialOutcome:
        gate = ThreadGate()
        with self._lock:
            self._gates[trial.trial_id] = gate
        if self._timeouts is not None:
            self._timeouts.watch(trial, gate)
        try:
            try:
                outcome = run_trial(trial, objective, hooks, gate)
            finally:
                gate.close()
        except TrialAbandoned:  # raised between the trial's code and gate.close()
            gate.close()
            OutputRouter.trial_ended(trial)
            outcome = TrialOutcome(TrialStatus.CANCELLED)
        except BaseException as exc:  # failing to describe a failure still ends the trial
            log.exception("jupyter_hpo: trial %s", trial.trial_id)
            outcome = TrialOutcome(TrialStatus.FAILED, error=f"{type(exc).__name__} while "
                                   f"ending the trial (see the log)")
        if self._timeouts is not None and self._timeouts.unwatch(trial) \
                and outcome.status is TrialStatus.CANCELLED:  # ended by its timeout
            outcome = TrialOutcome(TrialStatus.FAILED, error=timeout_error(self.trial_timeout),
                                   traceback=outcome.traceback)
        return outcome

    def abandon(self, trial: Trial) -> None:
        """A forced stop ended ``trial``: its thread cannot be killed, so it is sent
        ``TrialAbandoned``, raised at the next line of Python its code runs (code inside one
        long call into C, a ``time.sleep`` or a compiled ``fit``, ends when that call returns)."""
        with self._lock:
            gate = self._gates.get(trial.trial_id)
        if gate is not None:
            gate.abandon()

    def _shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if self._capturing:
            self._capturing = False
            OutputRouter.release()


def run_trial(trial: Trial, objective: Any, hooks: TrialHooks,
              gate: ThreadGate | None = None) -> TrialOutcome:
    """Run one trial in the current thread (reports go to ``hooks``); return how it ended.

    Whatever the trial raises ends only the trial: ``sys.exit()`` and a ``KeyboardInterrupt``
    raised by the trial's own code fail it with that reason instead of killing the thread.
    A forced stop raises in the trial's code only outside the calls ``gate`` guards.
    """
    side = getattr(hooks, "on_side", None)
    report = functools.partial(hooks.on_report, trial)
    side_hook = None if side is None else functools.partial(side, trial)
    if gate is not None:  # report() calls its hook in the trial's thread only; the side hook
        report = gate.guard(report)  # is called where trial.set() or checkpoint() are
        side_hook = None if side_hook is None else gate.guard(side_hook, any_thread=True)
    try:
        with _TrialContext(trial, report, side_hook):
            try:
                output = objective.run(trial, trial.device)
                return TrialOutcome(TrialStatus.COMPLETED, output.result, output.namespace)
            except TrialAbandoned as exc:  # a forced stop or its timeout: say where it was
                return TrialOutcome(TrialStatus.CANCELLED,
                                    traceback=user_traceback(exc, objective))
            except TrialStopped as stop:
                return TrialOutcome(TrialStatus.STOPPED, namespace=getattr(stop, "namespace", None))
            except TrialReleased:
                return TrialOutcome(TrialStatus.PAUSED)
            except BaseException as exc:  # noqa: BLE001 - a failing trial must not stop the study
                return TrialOutcome(TrialStatus.FAILED, error=describe_failure(exc),
                                    traceback=user_traceback(exc, objective))
    finally:
        OutputRouter.trial_ended(trial)


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
    undefined = _undefined_trial_name(exc) if isinstance(exc, NameError) else None
    if undefined is not None:
        return undefined
    text += name_suggestion(exc)  # "Did you mean: 'report'?", which str() never says
    if isinstance(exc, MemoryError):
        text = f"the trial ran out of memory{f' ({text})' if text else ''}: make it allocate " \
               f"less (a smaller batch, model or data set) or run fewer trials at once " \
               f"(--workers)"
    named = "KeyError" if isinstance(exc, ConfigKeyError) else type(exc).__name__
    return f"{named}: {text}" if text else named


#: the file name ipykernel gives a cell's code (``/tmp/ipykernel_4242/1234567.py``)
_KERNEL_CELL = re.compile(r"ipykernel_\d+[/\\]\d+\.py$")
#: the names a trial's cell finds defined that code outside the cell must import itself
_IMPORTED_NAMES = ("report", "checkpoint", "restore")


def _undefined_trial_name(exc: NameError) -> str | None:
    """What to do about ``NameError: name 'report' is not defined`` (or ``checkpoint``,
    ``restore``) raised in a function outside the cell: only the cell finds these names
    defined, the function looks them up where it was defined. None for other errors."""
    name = getattr(exc, "name", None)
    if name not in _IMPORTED_NAMES:
        return None
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    if not frames or frames[-1].f_code.co_name == "<module>":  # the cell itself (or exec)
        return None
    code = frames[-1].f_code
    function = getattr(code, "co_qualname", code.co_name)
    where, there = _defined_where(code.co_filename)
    if there == "that file":
        defines = "its module does not define"
    elif there == "that cell":
        defines = "the notebook does not define"
    else:
        defines = "its globals do not define"
    return (f"NameError: the function {function} ({where}) calls {name}, which {defines} "
            f"(only the %%hpo cell itself finds {name} defined): add `from jupyter_hpo "
            f"import {name}` to {there}")


def _defined_where(filename: str) -> tuple[str, str]:
    """Where code of ``filename`` was written, said two ways: ``("cell In[3]", "that
    cell")`` for a notebook cell, ``("/path/train.py", "that file")`` for a file."""
    named = cell_label(filename)
    if named:
        return named[0].lower() + named[1:], "that cell"
    if _KERNEL_CELL.search(filename):  # ipykernel's name for a cell, in a worker process
        return "a notebook cell", "that cell"
    if filename.startswith("<"):  # exec() of a string, an old IPython's <ipython-input-...>
        if filename.startswith("<ipython-input-"):
            return "a notebook cell", "that cell"
        return f"code run by exec() as {filename}", "the code it runs in"
    return filename, "that file"


def _raised_by_argparse(exc: BaseException) -> bool:
    """Whether ``exc`` came out of ``argparse`` (a script's ``parse_args()`` in a cell)."""
    return any(os.path.basename(frame.f_code.co_filename) == "argparse.py"
               for frame, _ in traceback.walk_tb(exc.__traceback__))
