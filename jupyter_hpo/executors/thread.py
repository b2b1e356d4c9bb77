"""Thread executor: trials run in threads of the kernel process (they share the GIL)."""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from typing import Any, TextIO

from ..resources import Slot
from ..trial import Trial, TrialStatus, TrialStopped, _TrialContext
from ._base import Executor, TrialHooks, TrialOutcome


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
        self._router: OutputRouter | None = OutputRouter.install() if capture_output else None

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
            outcome = run_trial(trial, objective, hooks)
            with self._lock:  # idle before on_finish, which may start the next trial here
                self._idle += 1
                self._slot_use[trial.slot] -= 1
            hooks.on_finish(trial, outcome)

    def _shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if self._router is not None:
            self._router.uninstall()


def run_trial(trial: Trial, objective: Any, hooks: TrialHooks) -> TrialOutcome:
    """Run one trial in the current thread (reports go to ``hooks``); return how it ended."""
    with _TrialContext(trial, lambda values: hooks.on_report(trial, values)):
        try:
            output = objective.run(trial, trial.device)
            outcome = TrialOutcome(TrialStatus.COMPLETED, output.result, output.namespace)
        except TrialStopped as stop:
            outcome = TrialOutcome(TrialStatus.STOPPED, namespace=getattr(stop, "namespace", None))
        except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the study
            outcome = TrialOutcome(TrialStatus.FAILED, error=f"{type(exc).__name__}: {exc}",
                                   traceback=user_traceback(exc, objective.filename))
    return outcome


def user_traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the first frame of the user's code on, so our frames are hidden."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


class OutputRouter:
    """Sends ``print`` output of trial threads to their trial; other threads write through."""

    def __init__(self, stream: TextIO, trial_stream: str) -> None:
        self.stream, self.trial_stream = stream, trial_stream

    @classmethod
    def install(cls) -> OutputRouter:
        router = cls(sys.stdout, "stdout")
        router.err = cls(sys.stderr, "stderr")
        sys.stdout, sys.stderr = router, router.err  # type: ignore[assignment]
        return router

    def uninstall(self) -> None:
        if sys.stdout is self:
            sys.stdout = self.stream
        if sys.stderr is self.err:
            sys.stderr = self.err.stream

    def write(self, text: str) -> int:
        from ..trial import current_trial

        trial = current_trial()
        if trial is None:
            return self.stream.write(text)
        trial.output.append(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
