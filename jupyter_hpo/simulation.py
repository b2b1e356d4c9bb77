"""Replay a benchmark against a simulated clock, with the real Study, scheduler and searcher.

A :class:`Benchmark` says what a configuration reports after each epoch and how long that
epoch takes. :class:`Simulation` runs a :class:`~jupyter_hpo.study.Study` whose executor only
records started trials, and plays their epochs from an event queue: simulated time jumps
from one report to the next, so a study of many hours takes seconds, and the same seed gives
the same study.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol

from .executors import Executor, TrialHooks, TrialOutcome
from .space import Space
from .study import Study
from .trial import Trial, TrialStatus, TrialStopped

__all__ = ["Benchmark", "SimulatedExecutor", "Simulation"]


class Benchmark(Protocol):
    """A problem with known curves: ``evaluate`` gives the metric after ``epoch`` epochs and the
    seconds that epoch took; ``optimum`` is the best value reachable at ``max_t``."""

    space: Space
    metric: str
    mode: str
    max_t: int
    resource: str
    optimum: float

    def evaluate(self, config: dict[str, Any], epoch: int) -> tuple[float, float]: ...


class SimulatedExecutor(Executor):
    """Records started trials for the simulation; a paused trial does not block."""

    name = "simulated"
    blocks_on_pause = False

    def __init__(self, workers: int = 1, capture_output: bool = False,
                 slots: list[Any] | None = None) -> None:
        super().__init__(workers, slots)
        self.started: list[Trial] = []

    def _start(self, trial: Trial, objective: Any, hooks: TrialHooks) -> None:
        self.started.append(trial)


class Simulation:
    """Runs studies on ``benchmark`` in simulated time (``now``, in the benchmark's seconds)."""

    def __init__(self, benchmark: Benchmark) -> None:
        self.benchmark = benchmark
        self.now = 0.0

    def study(self, workers: int, **options: Any) -> Study:
        """A Study on this benchmark that uses the simulated clock and executor; ``options``
        are Study's (``scheduler``, ``searcher``, ``trials``, ``time_limit``, ``seed``, ...)."""
        bench = self.benchmark
        if options.get("scheduler") == "hyperband":
            options.setdefault("scheduler_options", {}).setdefault("max_t", bench.max_t)
        return Study(None, bench.space, metric=bench.metric, mode=bench.mode,
                     resource=bench.resource, executor=SimulatedExecutor(workers),
                     clock=lambda: self.now, **options)

    def run(self, study: Study, on_report: Callable[[float, Study], None] | None = None
            ) -> Study:
        """Play ``study`` to its end; ``on_report(now, study)`` is called after each report."""
        executor = study.executor
        if not isinstance(executor, SimulatedExecutor):
            raise TypeError("the study must use a SimulatedExecutor: build it with "
                            "Simulation.study()")
        events: list[tuple[float, int, int, Trial]] = []
        order = itertools.count()
        paused: list[tuple[Trial, int]] = []

        def schedule(trial: Trial, epoch: int) -> None:
            _, seconds = self.benchmark.evaluate(trial.config, epoch)
            heapq.heappush(events, (self.now + seconds, next(order), epoch, trial))

        study.start()
        while not study.done:
            for trial in executor.started:
                schedule(trial, 1)
            executor.started.clear()
            for trial, epoch in list(paused):
                outcome = study.paused_outcome(trial)
                if outcome is not None:
                    paused.remove((trial, epoch))
                    if outcome == "resume":
                        schedule(trial, epoch + 1)
                    else:
                        study.on_finish(trial, TrialOutcome(TrialStatus.STOPPED))
            if not events:
                if executor.started:
                    continue
                break
            self.now, _, epoch, trial = heapq.heappop(events)
            study.check_time_limit()
            self._play(study, trial, epoch, schedule, paused)
            if on_report is not None:
                on_report(self.now, study)
        return study

    def _play(self, study: Study, trial: Trial, epoch: int,
              schedule: Callable[[Trial, int], None], paused: list[tuple[Trial, int]]) -> None:
        bench = self.benchmark
        value, _ = bench.evaluate(trial.config, epoch)
        try:
            study.on_report(trial, {bench.resource: epoch, bench.metric: value})
        except TrialStopped:
            study.on_finish(trial, TrialOutcome(TrialStatus.STOPPED))
            return
        if trial.status is TrialStatus.PAUSED:
            paused.append((trial, epoch))
        elif epoch >= bench.max_t:
            study.on_finish(trial, TrialOutcome(TrialStatus.COMPLETED))
        else:
            schedule(trial, epoch + 1)
