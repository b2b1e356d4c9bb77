"""``Study``: the user-facing handle of a study, live (run by a controller) or loaded.

A live study joins its options, a :class:`~jupyter_hpo.controller.Controller` (the loop that
owns the scheduler and searcher) and, when it is stored, a recorder that mirrors it into
storage. A loaded study (``Study.load``) has no controller and no executor: it only reads a
:class:`~jupyter_hpo.records.StudyRecord`. Tables, plots and the dashboard read the same
record either way (``snapshot()``).
"""

from __future__ import annotations

import itertools
import logging
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import HPOError, SpaceError, StorageError, StudyNotFoundError, command_word
from ..options import StudyOptions, check_keywords, missing_metric, mode_against_name
from ..read_only import read_only_settings
from ..records import (
    SettingsReader,
    StudyRecord,
    StudyState,
)

if TYPE_CHECKING:
    from ..controller import Controller
    from ..executors import TrialOutcome
    from ..recorder import StudyRecorder
    from ..space import Space
    from ..storage import BaseStorage
    from ..trial import Trial

from ._calls import public_calls
from ._reading import StudyReading
from ._stored import StoredStudyMixin, is_storage, storage_of

__all__ = ["Study", "StudyEvent"]

log = logging.getLogger(__name__)
_study_numbers = itertools.count(1)

NOT_STARTED = "interrupted before it started"
"""The stop reason of a study interrupted before it started (it is never stored: a new study
is removed, a resumed one given back as it was)."""


@dataclass
class StudyEvent:
    """``kind`` is one of: study_started, trial_started, report, trial_paused, trial_resumed,
    trial_finished, trial_updated (user attributes or checkpoint), incumbent, queue (the
    enqueued configurations changed), study_finished, problem (``data["message"]``)."""

    kind: str
    trial: Trial | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def trial_id(self) -> int | None:
        return None if self.trial is None else self.trial.trial_id


@public_calls
class Study(StudyReading, StoredStudyMixin, SettingsReader):
    """Runs trials of ``objective`` over ``space`` and keeps their results.

    Options come as a :class:`StudyOptions` or as its fields in keyword arguments (``metric``,
    ``mode``, ``trials``, ``scheduler``, ``searcher``, ``workers``, ``storage``, ...); ``clock``
    replaces wall time (a simulated clock then also enforces ``time_limit`` through
    ``check_time_limit()``).
    """

    save_hint: str | None = None
    """How the user saves this study's results while its storage cannot take them, in the
    recorder's messages: ``%%hpo`` sets its ``%hpo export`` command; ``None`` names the
    ``Study`` that ``tune()`` returns (``recorder.SAVE_HINT``)."""

    def __init__(self, objective: Any, space: Space | Mapping[str, Any],
                 options: StudyOptions | None = None, *,
                 clock: Callable[[], float] | None = None, **kwargs: Any) -> None:
        from ..controller import Controller
        from ..controller.queue import points_to_queue
        from ..space import Space, refuse_unsearchable, split_fixed
        from ..warmstart import source_record, warm_start

        if options is None:
            check_keywords(kwargs, "Study()")
            if "metric" not in kwargs:
                raise TypeError(missing_metric("Study()"))
            options = StudyOptions(**kwargs)
        elif kwargs:
            raise TypeError(f"pass either options or keyword options, not both "
                            f"(got {sorted(kwargs)})")
        fixed: dict[str, Any] = {}
        if isinstance(space, Mapping) and not isinstance(space, Space) \
                and _takes_fixed(objective):
            space, fixed = split_fixed(space)
        self.space = space if isinstance(space, Space) else Space(space)
        refuse_unsearchable(self.space[name] for name in self.space)
        if not self.space:
            only = f" has only fixed values ({', '.join(fixed)})" if fixed else " is empty"
            raise SpaceError(f"the space{only}, so every trial would run the same "
                             f"configuration: give at least one hyperparameter, e.g. "
                             f"{{'lr': Real(1e-4, 1e-1, log=True)}}")
        self.storage = storage_of(options.storage)
        stored, taken = None, []
        if options.resume:
            if not options.name:
                raise ValueError("resume=True needs the name of the study to continue")
            if self.storage is None:
                raise ValueError(f"resume=True needs the storage that holds the study: pass "
                                 f"the file {options.name!r} was stored in, e.g. "
                                 f"storage='runs.db' (tune() keeps nothing unless given "
                                 f"storage=)")
            stored = self.storage.load_study(options.name or "", space=self.space)
            options, taken = options.resumed_from(stored)
            if options.trials is None and options.time_limit is None:
                options = replace(options, trials=stored.budget, time_limit=stored.time_limit)
        self.options = options = options.validated()
        self.direction = options.direction
        self.metric, self.resource = options.metric, options.resource
        self.objective = objective = _as_objective(objective, self.metric, fixed)
        self.options = options = _max_t_from_fixed(options, getattr(objective, "fixed", {}))
        settings = options.settings()
        renamed = _renamed_variables(objective)
        if renamed:  # so that applying a trial of the stored study sets the cell's variables
            settings["variables"] = renamed
        self.settings = read_only_settings(settings)  # what it runs with: edits are refused
        self._subscribers: list[Callable[[StudyEvent], None]] = []
        self._failed_subscribers: set[int] = set()
        self.problems: list[str] = []
        self._record: StudyRecord | None = None
        self._recorder: StudyRecorder | None = None
        self.study_id: int | None = None
        self.created = time.time()
        self._recording = False
        scheduler = options.make_scheduler(self.space)
        scheduler.clock = clock or time.time
        executor = options.make_executor()
        try:
            self.controller: Controller | None = Controller(
                scheduler=scheduler, executor=executor, objective=objective,
                metric=self.metric, direction=self.direction, resource=self.resource,
                budget=options.trials, time_limit=options.time_limit,
                clock=clock or time.time, max_initial_failures=options.max_initial_failures,
                emit=self._emit, subscribers=self._subscribers,
                keep_namespaces=options.keep_namespaces,
                keep_checkpoints=options.keep_checkpoints)
            self.name = options.name or f"study-{next(_study_numbers)}"
            self.notes: list[str] = []
            """What the study said while it was set up (a warm start's summary, ...)."""
            slots = options.slots_note(executor)
            self.notes += [slots] if slots else []
            if stored is None:  # a resumed study was told at its start
                self.notes += mode_against_name(self.metric, self.direction.value
                                                if options.mode is not None else None)
            self.notes += _repeats_note(self.space, options)
            self.notes += _short_grid_note(scheduler.searcher, options)
            self.notes += _long_grid_note(scheduler.searcher, options)
            points, note = points_to_queue(self.space, options.points_to_evaluate, stored)
            self.notes += [note] if note else []
            source = options.warm_start if options.warm_start is not None or stored is None \
                else stored.settings.get("warm_start")  # a resume warm-starts again
            warm = None if source is None else source_record(
                source, self.storage, self.space, self.metric, self.direction)
            if self.storage is not None:
                self._attach_storage(stored)
            if taken:
                self.notes.append(f"{self.name} continues as it ran, with its stored "
                                  f"{'; '.join(taken)} (give another value to change one)")
            if stored is not None:
                self.notes += _nothing_left_to_run(self.name, self.controller, options.trials)
                self.notes += _changed_method(self.name, stored, self.settings)
            self.controller.checkpoint_dir = self.checkpoint_dir
            for config in [*(stored.queue if stored is not None else ()), *points]:
                self.controller.queue.add(config)
            self.notes += _unrun_queue_note(self.controller, options.trials)
            if warm is not None:
                self.notes.append(warm_start(self.controller.scheduler.searcher, warm,
                                             self.space, self.metric, self.direction,
                                             self.resource))
        except BaseException:
            executor.shutdown()  # e.g. an interrupt while the study was being stored
            self._undo_attach(stored)
            raise

    @classmethod
    def load(cls, name: str | None = None, storage: str | BaseStorage | None = None) -> Study:
        """A stored study, read-only, for tables, plots and dashboards (``resume=True``
        continues one). ``storage`` defaults to the default file. ``name=None`` reads the
        only study stored there, as Optuna's ``load_study(study_name=None)`` does; with
        several (or none) it is a ``StudyNotFoundError`` listing them."""
        from ..storage import SQLiteStorage, open_storage
        from ..storage._common import in_python_words

        if name is not None and not isinstance(name, str):
            raise TypeError(f"Study.load takes the study's name as a string, not {name!r} "
                            f"({type(name).__name__}): e.g. Study.load('mlp', 'runs.db')")
        try:
            store = storage if is_storage(storage) else open_storage(storage)
        except StorageError as exc:  # its words are --storage's: say storage= here
            exc.args = (in_python_words(str(exc)),)
            raise
        if store is None:
            raise HPOError("Study.load needs a storage (the file the study was kept in)")
        if isinstance(store, SQLiteStorage) and not os.path.exists(store.path):
            raise store.file_missing(name, _file_first(name, storage))
        try:
            record = store.load_study(_only_study(store) if name is None else name)
        except StudyNotFoundError as exc:
            hint = _file_first(name, storage)
            if not hint:
                raise
            raise StudyNotFoundError(f"{exc}{hint}") from None
        return cls.from_record(record, store)

    @classmethod
    def from_record(cls, record: StudyRecord, storage: BaseStorage | None = None) -> Study:
        """A read-only study over ``record``: no controller, no executor."""
        study = cls.__new__(cls)
        study.objective, study.space, study.storage = None, record.space, storage
        study.options = None
        study.direction, study.metric, study.resource = (record.direction, record.metric,
                                                         record.resource)
        study.settings, study.name = read_only_settings(record.settings), record.name
        study._subscribers, study.problems, study._failed_subscribers = [], [], set()
        study._record, study._recorder, study.controller = record, None, None
        study._recording = False
        study.notes = []
        study.study_id, study.created = record.study_id, record.created
        return study

    # ---------------------------------------------------------------- running
    def _live(self) -> Controller:
        if self.controller is None:
            raise HPOError(f"study {self.name!r} was loaded from storage and is read-only: "
                           f"continue it with resume=True (%%hpo --name "
                           f"{command_word(self.name)} --resume)")
        return self.controller

    def subscribe(self, callback: Callable[[StudyEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on every event (in the thread that caused it; keep it
        quick); returns a function that unsubscribes. A callback that cannot be called with
        the event is a TypeError here, not an error at every event."""
        _check_subscriber(callback)
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, kind: str, trial: Trial | None = None,
              data: dict[str, Any] | None = None) -> None:
        if kind == "problem":  # the study's own (notify_problem) or its executor's
            self.problems.append(str((data or {}).get("message", "")))
        if not self._subscribers:
            return
        event = StudyEvent(kind, trial, data or {})
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not break the study
                if id(callback) not in self._failed_subscribers:  # once, not at every event
                    self._failed_subscribers.add(id(callback))
                    log.exception("jupyter_hpo: the study event subscriber %s failed at a "
                                  "%r event; the study goes on, and its later failures are "
                                  "not shown", _callable_name(callback), kind)

    def notify_problem(self, message: str) -> None:
        """Something the user must know that does not stop the study (e.g. storage trouble):
        kept in ``problems`` and shown by the dashboard."""
        self._emit("problem", None, {"message": message})

    def start(self) -> Study:
        """Start trials and return at once; ``wait()`` joins."""
        controller = self._live()
        if self.objective is None and isinstance(self.options.executor, str):
            if controller.state is StudyState.CREATED:
                self.stop(NOT_STARTED, force=True)  # nothing is left stored
            raise TypeError(f"study {self.name!r} has no objective (Study(None, ...)), so its "
                            f"{self.options.executor} executor has nothing to run: pass the "
                            f"function that runs a trial, Study(train, space, ...), where "
                            f"def train(config): ... returns or reports the metric")
        self._start_recording()
        controller.start()
        return self

    def _start_recording(self) -> None:
        if self._recorder is not None and not self._recording:
            self._store_resumed_settings()
            self._recording = True
            self._recorder.start()

    def run(self) -> Study:
        """Start and wait; Ctrl-C stops the study gracefully (a second one at once), then
        re-raises; before it started, it ends it unstarted (``stop``: a resumed study is given
        back as it was). Raises :class:`StudyFailedError` when the study failed."""
        try:
            self.start()
            self.wait()
        except KeyboardInterrupt:
            if self.state is StudyState.CREATED:
                self.stop(NOT_STARTED, force=True)
                raise
            self.hold_end()
            self.stop("interrupted")
            try:
                self.wait()
            except KeyboardInterrupt:
                self.stop("interrupted twice", force=True)
                self.wait(5)
            self.store_end()
            raise
        error = self.error
        if error is not None:
            error.study = self  # tune() returns nothing then: the trials stay in reach
            raise error
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the study has finished (and is stored), or ``timeout`` seconds; True if
        it has finished."""
        if self.controller is None:
            if self._record is not None and self._record.state.active:  # True was a lie
                raise HPOError(f"study {self.name!r} was loaded from storage while another "
                               f"process ran it, so wait() here cannot join it (its trials "
                               f"are as they were when it was loaded): wait in that process "
                               f"(%hpo wait {command_word(self.name)} in its kernel), or load "
                               f"it again once it has ended")
            return True
        if self.controller.state is StudyState.CREATED:  # it would wait for ever
            raise RuntimeError(f"study {self.name!r} has not started, so wait() would never "
                               f"return: run() runs it to its end (start() runs it in the "
                               f"background, and then wait() joins it)")
        deadline = None if timeout is None else time.monotonic() + timeout
        finished = self.controller.wait(timeout)
        if finished and self._recorder is not None:
            self._recorder.join(None if deadline is None
                                else max(deadline - time.monotonic(), 0.0))
        return finished

    def stop(self, why: str = "stopped by the user", force: bool = False) -> None:
        """No new trials; running ones stop at their next report (which is kept, unless the
        time limit has passed) and become ``cancelled``. ``why`` is kept as the study's
        ``stop_reason``; ``force=True`` ends running trials now (as ``cancelled``; one that
        reached Hyperband's max_t, as ``completed``; one Hyperband had stopped whose code still
        runs, as ``stopped``) without waiting for them. A resume (``resume=True``,
        ``--resume``) runs the trials this stop cancels again, from their checkpoints
        (``TrialRecord.study_stopped``). A study read
        with ``Study.load`` that runs in another process (a kernel, a script) is asked to stop
        through its storage, as ``python -m jupyter_hpo stop`` does."""
        _check_stop_arguments(why, force)
        if self.controller is None and self.storage is not None:
            self._request_stop(force)
            return
        controller = self._live()
        unstarted = controller.state is StudyState.CREATED
        controller.stop(why, force=force)
        if unstarted and self._recorder is not None and not self._recording:
            self._recording = True  # nothing to record: it never ran
            self._abandon_stored(self.storage, self.study_id, why)

    def _request_stop(self, force: bool) -> None:
        """Ask the process that runs this loaded study to stop it (see ``stop``)."""
        import getpass

        if force:
            raise HPOError(f"stop(force=True) ends the trials of study {self.name!r} in the "
                           f"process that runs it, which this one is not: stop() asks that "
                           f"process to stop the study (its trials end at their next report)")
        self.storage.request_stop(self.name, by=f"Study.stop() in another process "
                                                f"({getpass.getuser()})")

    def hold_end(self) -> None:
        """Store this study's ending as still running until ``store_end``: called before a
        kernel interrupt stops it, since a kernel restart interrupts the kernel first, and a
        study cut short by a restart must read as ``interrupted``, not ``finished``."""
        if self._recorder is not None:
            self._recorder.hold_end()

    def store_end(self) -> None:
        """Store the ending held back by ``hold_end`` (the kernel survived the interrupt);
        nothing when the kernel is shutting down or restarting."""
        if self._recorder is not None:
            self._recorder.store_end()

    def stop_trial(self, trial_id: int, force: bool = False) -> bool:
        """Stop one trial at its next report, which is kept (``cancelled``); False if it had
        already ended. A resume does not run it again (it was stopped on purpose). ``force``
        ends its code now, for a trial that does not report again (threads: at its next line
        of Python; a worker process is killed after 0.5 s either way)."""
        _check_force(force, "stop_trial")
        if self.controller is None and self.storage is not None:
            raise HPOError(f"study {self.name!r} was loaded from storage: one trial is stopped "
                           f"only by the process that runs the study (its dashboard's Stop "
                           f"trial, %hpo stop {command_word(self.name)} --trial {trial_id} in "
                           f"its kernel); from here, stop() stops the whole study")
        return self._live().stop_trial(trial_id, force)

    # ------------------------------------------------- hooks for executors
    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        self._live().on_report(trial, values)

    def on_finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        self._live().on_finish(trial, outcome)

    def on_side(self, trial: Trial, kind: str, data: Any) -> None:
        self._live().on_side(trial, kind, data)

    def on_executor_error(self, message: str, details: str = "") -> None:
        self._live().on_executor_error(message, details)

    def paused_outcome(self, trial: Trial) -> str | None:
        return self._live().paused_outcome(trial)

    def check_time_limit(self) -> None:
        """Stop the study if its time limit has passed on its clock (simulated clocks)."""
        self._live().check_time_limit()

    def __repr__(self) -> str:
        best = "" if self.best_value is None else f", best {self.metric}={self.best_value:.4g}"
        return f"<Study {self.name!r}: {self.state.value}, {len(self.trials)} trials{best}>"


def _check_stop_arguments(why: Any, force: Any) -> None:
    """A TypeError for a ``stop()`` reason that is not a string (a trial id meant for
    ``stop_trial``, a flag meant for ``force``) or a ``force`` that is not a bool."""
    if isinstance(why, bool):
        raise TypeError(f"stop() takes the reason as a string, not {why!r}: stop(force=True) "
                        f"ends the running trials now")
    if isinstance(why, numbers.Integral):
        raise TypeError(f"stop() takes the reason as a string, not {why!r}: stop_trial({why}) "
                        f"stops trial {why} alone, stop('why') the whole study")
    if not isinstance(why, str):
        raise TypeError(f"stop() takes the reason as a string (kept as the study's "
                        f"stop_reason), not {why!r} ({type(why).__name__}): e.g. "
                        f"stop('good enough')")
    _check_force(force, "stop")


def _check_force(force: Any, call: str) -> None:
    """A TypeError for a ``force`` of ``stop()`` or ``stop_trial()`` that is not a bool."""
    if not isinstance(force, bool):
        raise TypeError(f"{call}(force=...) is True or False, not {force!r} "
                        f"({type(force).__name__})")


def _only_study(store: BaseStorage) -> str:
    """The name of the one study ``store`` holds, for ``Study.load(None)``; a
    ``StudyNotFoundError`` listing them when it holds none or several."""
    from ..storage._common import NAMES_SHOWN

    names = [summary.name for summary in store.list_studies()]
    if len(names) == 1:
        return names[0]
    if not names:
        raise StudyNotFoundError(f"Study.load(None) reads the only study of {store.location}, "
                                 f"but it holds no studies yet")
    shown = ", ".join(names[:NAMES_SHOWN]) + (", ..." if len(names) > NAMES_SHOWN else "")
    raise StudyNotFoundError(f"Study.load needs the name of the study to read: "
                             f"{store.location} holds {len(names)} studies ({shown}), e.g. "
                             f"Study.load({names[-1]!r}, {store.location!r})")


def _file_first(name: str | None, storage: Any) -> str:
    """A hint when the name given to ``Study.load`` is a storage file's (the arguments
    swapped, or the name left out)."""
    if name is None or not (name.lower().endswith((".db", ".sqlite", ".sqlite3"))
                            or os.path.isfile(name)):
        return ""
    if storage is None:
        return (f"; {name!r} looks like a storage file: Study.load takes the study's name "
                f"first, then the file: Study.load('NAME', {name!r})")
    if isinstance(storage, (str, os.PathLike)) and not os.path.exists(storage):
        other = os.fspath(storage)  # Study.load('runs.db', 'mlp'): the arguments swapped
        return (f"; {name!r} looks like a storage file and {other!r} like a study's name: "
                f"Study.load takes the study's name first, then the file: "
                f"Study.load({other!r}, {name!r})")
    return ""


def _takes_fixed(objective: Any) -> bool:
    """Whether ``objective`` is a function called as ``fn(config)`` (given as it is, or as
    ``tune()`` wraps it), which gets a space's fixed values in its config."""
    from ..objective import FunctionObjective

    return isinstance(objective, FunctionObjective) or (
        callable(objective) and not callable(getattr(objective, "run", None)))


def _as_objective(objective: Any, metric: str, fixed: Mapping[str, Any] | None = None) -> Any:
    """An objective the executors can run: a plain function is called as ``fn(config)``, as
    ``tune()`` calls it (its number is ``metric``; the space's ``fixed`` values join each
    config); ``None`` for an executor that runs no objective (a simulation's)."""
    from ..objective import FunctionObjective

    if isinstance(objective, FunctionObjective):
        objective.fixed.update(fixed or {})
        return objective
    if objective is None or callable(getattr(objective, "run", None)):
        return objective
    if callable(objective):
        return FunctionObjective(objective, metric, fixed)
    raise TypeError(f"the objective is {objective!r}, but must be a function taking the "
                    f"configuration, e.g. def train(config): ..., or an objective object")


def _max_t_from_fixed(options: StudyOptions, fixed: Mapping[str, Any]) -> StudyOptions:
    """Hyperband's max_t from a fixed value of the space named like the resource's count
    (``{"epochs": 27}``), as ``%%hpo`` takes it from ``epochs = 27`` in the cell, when the
    scheduler takes max_t and none was given."""
    from ..annotate import max_t_names
    from ..schedulers import SCHEDULERS

    scheduler = SCHEDULERS.get(options.scheduler) if isinstance(options.scheduler, str) \
        else None
    if not fixed or scheduler is None or "max_t" in options.scheduler_options \
            or "max_t" not in getattr(scheduler, "OPTIONS", ()):
        return options
    for name in max_t_names(options.resource or "epoch"):
        value = fixed.get(name)
        if isinstance(value, numbers.Real) and not isinstance(value, bool) \
                and math.isfinite(value) and value > 0:
            return replace(options, scheduler_options={**options.scheduler_options,
                                                       "max_t": value})
    return options


def _repeats_note(space: Space, options: StudyOptions) -> list[str]:
    """A note when the space has fewer configurations than the study will run (only
    categorical and integer hyperparameters, say): every searcher but grid then runs some of
    them again, which a user may not expect of the budget."""
    searcher = options.searcher if isinstance(options.searcher, str) \
        else getattr(options.searcher, "name", type(options.searcher).__name__)
    if searcher == "grid":
        return []
    size = space.size(limit=max(options.trials or 0, 10_000))
    if size is None or (options.trials is not None and size >= options.trials):
        return []
    runs = f"{options.trials} trials" if options.trials is not None \
        else "trials until its time limit"
    plural = "" if size == 1 else "s"
    return [(f"the space has only {size} configuration{plural} and the study runs {runs}: the "
            f"{searcher} searcher will run some of them more than once (--searcher grid, "
            f"searcher='grid', runs each once)")]


def _short_grid_note(searcher: Any, options: StudyOptions) -> list[str]:
    """A note when a grid has fewer points than the study's trials: the study ends when the
    grid does, with fewer trials than asked."""
    from ..searchers import GridSearcher

    if not isinstance(searcher, GridSearcher) or options.trials is None:
        return []
    runs = searcher.size + len(options.points_to_evaluate)
    if runs >= options.trials:
        return []
    plural = "" if searcher.size == 1 else "s"
    finer = any(len(domain.grid(searcher.points + 1)) > len(domain.grid(searcher.points))
                for domain in searcher.space.values())
    hint = (f" (more values per real or wide integer hyperparameter: --searcher-opt "
            f"points=N, searcher_options={{'points': N}}; now {searcher.points})") if finer \
        else ""
    return [(f"the grid has only {searcher.size} point{plural} and the study asks for "
             f"{options.trials} trials: it ends after {runs}{hint}")]


def _long_grid_note(searcher: Any, options: StudyOptions) -> list[str]:
    """A note when a grid in its own order has more points than the study's trials: the
    study runs the first ones only, where the first hyperparameter has its lowest values, so
    the rest of its range is never tried."""
    from ..searchers import GridSearcher
    from ..space import shown_value

    if not isinstance(searcher, GridSearcher) or searcher.shuffle or options.trials is None:
        return []
    runs = options.trials - len(options.points_to_evaluate)
    if runs >= searcher.size:
        return []
    name, domain = next(iter(searcher.space.items()))
    values = domain.grid(searcher.points)
    seen = {repr(searcher.point(i).get(name)) for i in range(max(runs, 0))} \
        if runs <= 10_000 else set()
    left = [v for v in values if repr(v) not in seen]
    brief = [f"{v:.4g}" if isinstance(v, float) else shown_value(v) for v in left[:5]]
    missed = (f", so {name} is never {', '.join(brief)}"
              f"{', ...' if len(left) > 5 else ''}") if seen and left else ""
    whole = searcher.size + len(options.points_to_evaluate)
    return [(f"the grid has {searcher.size:,} points and the study runs {options.trials} "
             f"trials: it runs the first {max(runs, 0)} in the grid's order (the last "
             f"hyperparameter varies fastest){missed}; give --trials {whole} (or leave it "
             f"out) to run the whole grid, or --searcher-opt shuffle=True "
             f"(searcher_options={{'shuffle': True}}) to spread the trials over it")]


def _renamed_variables(objective: Any) -> dict[str, str | None]:
    """For a cell's hyperparameters that are not a variable of the same name: the variable the
    cell assigns each to (``kernel = Int(1, 2, name="k")``: ``{"k": "kernel"}``), or None for
    a value inside an expression (a dict value, ``layers.append(Int(...))``)."""
    template = getattr(objective, "template", None)
    annotations = getattr(template, "annotations", ())
    return {a.name: a.variable for a in annotations if a.variable != a.name}


def _changed_method(name: str, stored: StudyRecord, settings: Mapping[str, Any]) -> list[str]:
    """A note when a study is resumed with another scheduler or searcher (or other options
    of them) than it ran with: allowed, as a new sampler for a loaded Optuna study is, but not
    silently, since the stored settings become the new ones."""
    before = stored.settings
    changed = [f"{key.replace('_', ' ')} {before[key]!r} -> {settings.get(key)!r}"
               for key in ("scheduler", "searcher", "scheduler_options", "searcher_options")
               if key in before and before[key] != settings.get(key)]
    if not changed:
        return []
    return [(f"{name} continues with another method than it ran with ({'; '.join(changed)}): "
             f"the new one starts from its {len(stored.trials)} stored trials, and its stored "
             f"settings are the new ones")]


def _unrun_queue_note(controller: Controller, budget: int | None) -> list[str]:
    """A note when more configurations are enqueued than the trials left to run: the last
    ones would silently not run (they stay queued with the study for a resume)."""
    queued = controller.queue.pending()
    left = None if budget is None else max(budget - controller.spent, 0)
    if left is None or len(queued) <= left:
        return []
    skipped = len(queued) - left
    shown = ", ".join(map(str, queued[left:left + 3])) + (", ..." if skipped > 3 else "")
    more = " more" if controller.spent else ""
    last, them = ("the last one", "it") if skipped == 1 else (f"the last {skipped}", "them")
    return [(f"{len(queued)} configurations are enqueued but the study runs {left}{more} "
             f"trial{'' if left == 1 else 's'}: {last} ({shown}) will not run; give a larger "
             f"--trials (trials=) to run {them} (a stored study keeps {them} queued: resuming "
             f"it with more trials runs {them})")]


def _nothing_left_to_run(name: str, controller: Controller, budget: int | None) -> list[str]:
    """A note when a resumed study has already spent its trial budget (and has no
    interrupted trial to run again), so that the cell does not seem to have run silently."""
    spent = controller.spent
    if budget is None or spent < budget or len(controller.trials) > spent:
        return []
    return [(f"{name} already ran {spent} trials, its budget of {budget}: nothing to run; "
             f"give a larger --trials (trials=) to run more")]


def _check_subscriber(callback: Any) -> None:
    """A TypeError for a subscriber that is not callable as ``callback(event)``."""
    import inspect

    if not callable(callback):
        raise TypeError(f"subscribe() takes a function called as callback(event) on every study "
                        f"event, not {callback!r} ({type(callback).__name__})")
    try:
        inspect.signature(callback).bind(None)
    except TypeError:
        raise TypeError(f"subscribe(): {_callable_name(callback)} cannot be called as "
                        f"callback(event): give it one parameter for the event, e.g. "
                        f"def on_event(event): print(event.kind)") from None
    except ValueError:  # a builtin without a signature: it is called as it is
        return


def _callable_name(callback: Any) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)
