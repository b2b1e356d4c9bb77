"""Replay a benchmark against a simulated clock, with the real Study, scheduler and searcher.

A :class:`Benchmark` says what a configuration reports after each epoch and how long that
epoch takes. :class:`Simulation` runs a :class:`~jupyter_hpo.study.Study` whose executor only
records started trials, and plays their epochs from an event queue: simulated time jumps
from one report to the next, so a study of many hours takes seconds, and the same seed gives
the same study.

:class:`TableBenchmark` replays recorded learning curves (``benchmarks/make_tables.py`` makes
them from real training runs). A searcher's configuration rarely matches a recorded one, so
it is mapped to the *nearest recorded configuration*: among the rows whose categorical values
equal the configuration's, the one closest in Euclidean distance in the unit cube of the space
(``Space.to_unit``: log domains log-uniformly, integers by equal-width cells), the lowest row
index on ties. The known optimum of a table is the best value any row reaches at ``max_t``.

A recorded value that is not a finite number (a diverged training run's NaN) is reported as
it is, so the simulated trial fails at that epoch with ``report()``'s error, as a real one
would, and the study goes on; the optimum is taken over the finite values.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .executors import Executor, TrialHooks, TrialOutcome
from .executors.thread import describe_failure
from .options import DEFAULT_SCHEDULER
from .records import Direction
from .schedulers import SCHEDULERS
from .space import Categorical, Space
from .study import Study
from .trial import ReportError, Trial, TrialStatus, TrialStopped

__all__ = ["Benchmark", "SimulatedExecutor", "Simulation", "TableBenchmark", "simulate"]


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
    inline = True

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
        scheduler = SCHEDULERS.get(options.get("scheduler") or DEFAULT_SCHEDULER)
        if scheduler is not None and "max_t" in scheduler.OPTIONS:  # a copy: the caller's
            options["scheduler_options"] = {  # dict may serve other benchmarks' studies
                "max_t": bench.max_t, **(options.get("scheduler_options") or {})}
        return Study(None, bench.space, metric=bench.metric, mode=bench.mode,
                     resource=bench.resource, executor=SimulatedExecutor(workers),
                     clock=lambda: self.now, **options)

    def run(self, study: Study, on_report: Callable[[float, Trial], None] | None = None
            ) -> Study:
        """Play ``study`` to its end; ``on_report(now, trial)`` is called after each report."""
        executor = study.executor
        if not isinstance(executor, SimulatedExecutor):
            raise TypeError("the study must use a SimulatedExecutor: build it with "
                            "Simulation.study()")
        events: list[tuple[float, int, int, Trial]] = []
        order = itertools.count()

        def schedule(trial: Trial, epoch: int) -> None:
            _, seconds = self.benchmark.evaluate(trial.config, epoch)
            heapq.heappush(events, (self.now + seconds, next(order), epoch, trial))

        study.start()
        paused = _PausedTrials(study, schedule)
        while not study.done:
            for trial in executor.started:
                schedule(trial, 1)
            executor.started.clear()
            paused.settle()
            if not events:
                if executor.started:
                    continue
                break
            self.now, _, epoch, trial = heapq.heappop(events)
            study.check_time_limit()
            self._play(study, trial, epoch, schedule, paused)
            if on_report is not None:
                on_report(self.now, trial)
        return study

    def _play(self, study: Study, trial: Trial, epoch: int,
              schedule: Callable[[Trial, int], None], paused: _PausedTrials) -> None:
        bench = self.benchmark
        value, _ = bench.evaluate(trial.config, epoch)
        try:
            study.on_report(trial, {bench.resource: epoch, bench.metric: value})
        except TrialStopped:
            study.on_finish(trial, TrialOutcome(TrialStatus.STOPPED))
            return
        except ReportError as exc:  # a value that is not a finite number: the trial fails
            study.on_finish(trial, TrialOutcome(TrialStatus.FAILED, error=describe_failure(exc)))
            return
        if trial.status is TrialStatus.PAUSED:
            paused.add(trial, epoch)
        elif epoch >= bench.max_t:
            study.on_finish(trial, TrialOutcome(TrialStatus.COMPLETED))
        else:
            schedule(trial, epoch + 1)


class _PausedTrials:
    """The simulated trials waiting at a pause, and the controller's word on them: a trial it
    told to go on is scheduled for its next epoch, one it told to end ends as stopped. Only the
    trials told something are looked at (hundreds stay paused in a promotion study), in the
    order they paused, as if each paused trial were asked in turn."""

    def __init__(self, study: Study, schedule: Callable[[Trial, int], None]) -> None:
        assert study.controller is not None
        self.study, self.schedule = study, schedule
        assert study.controller.pause_signals is not None  # kept for a non-blocking executor
        self.told = study.controller.pause_signals  # ids, in the order they were told
        self.seen = 0  # how many of them were taken
        self.waiting: dict[int, tuple[int, Trial, int]] = {}  # id -> (order, trial, epoch)
        self.order = itertools.count()
        self.later: list[tuple[int, int]] = []  # (order, id) told while later ones were settled

    def add(self, trial: Trial, epoch: int) -> None:
        self.waiting[trial.trial_id] = (next(self.order), trial, epoch)

    def settle(self) -> None:
        """Resume or end every paused trial the controller told something since the last
        call (and those it tells meanwhile that paused after the one being settled)."""
        due, self.later = self.later, []
        heapq.heapify(due)
        self._take(due, -1)
        while due:
            position, trial_id = heapq.heappop(due)
            entry = self.waiting.get(trial_id)
            if entry is None or entry[0] != position:
                continue  # told twice
            outcome = self.study.paused_outcome(entry[1])
            if outcome is None:
                continue
            del self.waiting[trial_id]
            if outcome == "resume":
                self.schedule(entry[1], entry[2] + 1)
            else:
                self.study.on_finish(entry[1], TrialOutcome(TrialStatus.STOPPED))
            self._take(due, position)

    def _take(self, due: list[tuple[int, int]], position: int) -> None:
        """Queue the newly told paused trials: those that paused after ``position`` now,
        the others for the next call."""
        for trial_id in self.told[self.seen:]:
            entry = self.waiting.get(trial_id)
            if entry is not None:
                if entry[0] > position:
                    heapq.heappush(due, (entry[0], trial_id))
                else:
                    self.later.append((entry[0], trial_id))
        self.seen = len(self.told)


def simulate(benchmark: Benchmark, workers: int = 1,
             on_report: Callable[[float, Trial], None] | None = None, **options: Any) -> Study:
    """Run one study on ``benchmark`` in simulated time and return it (``options`` are Study's:
    ``scheduler``, ``searcher``, ``trials``, ``time_limit`` in simulated seconds, ``seed``...);
    ``study.end_time`` is the simulated time at which it ended."""
    sim = Simulation(benchmark)
    return sim.run(sim.study(workers, **options), on_report=on_report)


class TableBenchmark:
    """Recorded learning curves: ``curves[row, epoch - 1]`` is the metric of configuration
    ``row`` after ``epoch`` epochs and ``seconds[row, epoch - 1]`` the time that epoch took.
    Configurations are looked up by nearest recorded row (see the module docstring)."""

    def __init__(self, space: Space, configs: Mapping[str, Any], curves: Any, seconds: Any,
                 metric: str = "error", mode: str = "min", resource: str = "epoch",
                 name: str = "table") -> None:
        self.space, self.metric, self.mode, self.resource, self.name = \
            space, metric, mode, resource, name
        self.curves = np.asarray(curves, dtype=np.float64)
        self.seconds = np.asarray(seconds, dtype=np.float64)
        rows = self.curves.shape[0]
        if self.curves.ndim != 2 or self.seconds.shape != self.curves.shape or rows == 0:
            raise ValueError(f"curves and seconds must be non-empty (rows, epochs) arrays of the "
                             f"same shape, got {self.curves.shape} and {self.seconds.shape}")
        if set(configs) != set(space):
            raise ValueError(f"configs has columns {sorted(configs)}, but the space has "
                             f"{sorted(space)}")
        self.max_t = self.curves.shape[1]
        columns = {name: list(np.asarray(configs[name]).tolist()) for name in space}
        self.configs = [{name: columns[name][i] for name in space} for i in range(rows)]
        self._categorical = [n for n, d in space.items() if isinstance(d, Categorical)]
        self._numeric = [n for n in space if n not in self._categorical]
        index = {n: i for i, n in enumerate(space)}
        cols = [index[n] for n in self._numeric]
        units = np.array([space.to_unit(c) for c in self.configs])
        self._units = units[:, cols]
        self._cols = cols
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, config in enumerate(self.configs):
            groups.setdefault(tuple(config[n] for n in self._categorical), []).append(i)
        self._groups = {key: np.array(rows) for key, rows in groups.items()}
        if not np.all(np.isfinite(self.seconds)) or np.any(self.seconds < 0):
            raise ValueError("seconds must hold finite durations >= 0 (the time each epoch "
                             "took)")
        final = self.curves[:, -1][np.isfinite(self.curves[:, -1])]
        if not len(final):
            raise ValueError(f"no row has a finite {metric} at the last epoch, so the table "
                             f"has no optimum")
        self.optimum = float(final.min() if Direction.of(mode) is Direction.MIN
                             else final.max())
        self._cache: dict[tuple[Any, ...], int] = {}

    @classmethod
    def load(cls, path: str | Path, space: Space, metric: str = "error", mode: str = "min",
             resource: str = "epoch") -> TableBenchmark:
        """A table saved by ``benchmarks/make_tables.py``: one array per hyperparameter, one
        (rows, epochs) array per metric and ``seconds``."""
        with np.load(path) as data:
            return cls(space, {n: data[n] for n in space}, data[metric], data["seconds"],
                       metric=metric, mode=mode, resource=resource, name=Path(path).stem)

    def nearest(self, config: Mapping[str, Any]) -> int:
        """The row that stands for ``config``: same categorical values, nearest in the unit
        cube; a KeyError if no row has those categorical values."""
        key = tuple(config[n] for n in self.space)
        row = self._cache.get(key)
        if row is None:
            group = tuple(config[n] for n in self._categorical)
            if group not in self._groups:
                raise KeyError(f"no recorded configuration has {dict(zip(self._categorical, group))}")
            rows = self._groups[group]
            u = self.space.to_unit(config)[self._cols]
            distances = np.sum((self._units[rows] - u) ** 2, axis=1)
            row = int(rows[int(np.argmin(distances))])
            self._cache[key] = row
        return row

    def evaluate(self, config: Mapping[str, Any], epoch: int) -> tuple[float, float]:
        """The metric after ``epoch`` epochs (1-based) and the seconds that epoch took."""
        row = self.nearest(config)
        return float(self.curves[row, epoch - 1]), float(self.seconds[row, epoch - 1])
