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
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import HPOError, StudyFailedError
from .options import StudyOptions
from .records import (
    SettingsReader,
    StudyRecord,
    StudyState,
    TrialRecord,
    TrialStatus,
    finite_number,
)

if TYPE_CHECKING:
    from .controller import Controller
    from .executors import Executor, TrialOutcome
    from .recorder import StudyRecorder
    from .schedulers import Scheduler
    from .space import Space
    from .storage import BaseStorage
    from .trial import Trial

__all__ = ["Study", "StudyEvent"]

log = logging.getLogger(__name__)
_study_numbers = itertools.count(1)


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


class Study(SettingsReader):
    """Runs trials of ``objective`` over ``space`` and keeps their results.

    Options come as a :class:`StudyOptions` or as its fields in keyword arguments (``metric``,
    ``mode``, ``trials``, ``scheduler``, ``searcher``, ``workers``, ``storage``, ...); ``clock``
    replaces wall time (a simulated clock then also enforces ``time_limit`` through
    ``check_time_limit()``).
    """

    def __init__(self, objective: Any, space: Space | Mapping[str, Any],
                 options: StudyOptions | None = None, *,
                 clock: Callable[[], float] | None = None, **kwargs: Any) -> None:
        from .controller import Controller
        from .space import Space
        from .controller.queue import points_to_queue
        from .warmstart import warm_start_from

        if options is None:
            options = StudyOptions(**kwargs)
        elif kwargs:
            raise TypeError(f"pass either options or keyword options, not both "
                            f"(got {sorted(kwargs)})")
        self.objective = objective
        self.space = space if isinstance(space, Space) else Space(space)
        self.storage = _storage_of(options.storage)
        stored = None
        if options.resume:
            if not options.name:
                raise ValueError("resume=True needs the name of the study to continue")
            if self.storage is None:
                raise ValueError("resume=True needs the storage that holds the study")
            stored = self.storage.load_study(options.name or "", space=self.space)
            if options.trials is None and options.time_limit is None:
                options = replace(options, trials=stored.budget, time_limit=stored.time_limit)
        self.options = options = options.validated()
        self.direction = options.direction
        self.metric, self.resource = options.metric, options.resource
        self.settings = options.settings()
        self._subscribers: list[Callable[[StudyEvent], None]] = []
        self.problems: list[str] = []
        self._record: StudyRecord | None = None
        self._recorder: StudyRecorder | None = None
        self.study_id: int | None = None
        self.created = time.time()
        self._recording = False
        scheduler = options.make_scheduler(self.space)
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
            points, note = points_to_queue(self.space, options.points_to_evaluate, stored)
            self.notes += [note] if note else []
            if self.storage is not None:
                self._attach_storage(stored)
            self.controller.checkpoint_dir = self.checkpoint_dir
            for config in [*(stored.queue if stored is not None else ()), *points]:
                self.controller.queue.add(config)
            source = options.warm_start if options.warm_start is not None or stored is None \
                else stored.settings.get("warm_start")  # a resume warm-starts again
            if source is not None:
                self.notes.append(warm_start_from(source, self.storage,
                                                  self.controller.scheduler.searcher,
                                                  self.space, self.metric, self.direction,
                                                  self.resource))
        except BaseException:
            executor.shutdown()  # e.g. an interrupt while the study was being stored
            raise

    @property
    def checkpoint_dir(self) -> str:
        """The folder of this study's trial checkpoints (next to its storage file)."""
        folder = getattr(self, "_checkpoint_dir", None)
        if folder is None:
            if self.storage is not None and self.study_id is not None:
                folder = self.storage.checkpoint_dir(self.study_id)
            else:
                from .checkpoints import temporary_folder

                folder = temporary_folder()
            self._checkpoint_dir = folder
        return folder

    def checkpoint_use(self) -> tuple[int, int]:
        """``(files, bytes)`` of this study's checkpoints on disk."""
        from .checkpoints import disk_use

        if self.controller is None and (self.storage is None or self.study_id is None):
            return 0, 0
        return disk_use(self.checkpoint_dir)

    def _attach_storage(self, stored: StudyRecord | None) -> None:
        """Create the stored study, or lease the stored one and restore its trials."""
        from .recorder import StudyRecorder
        from .trial import Trial

        storage = self.storage
        assert storage is not None and self.controller is not None
        if stored is None:
            record = storage.create_study(self.options.name, metric=self.metric,
                                          direction=self.direction, resource=self.resource,
                                          space=self.space, settings=self.settings)
            written: dict[int, int] = {}
        else:
            _check_same_study(stored, self)
            record = storage.acquire_study(stored.name, space=self.space)
            storage.update_settings(record.study_id, self.settings)
            trials = [Trial(t.trial_id, dict(t.config), status=t.status, reports=list(t.reports),
                            report_times=list(t.times), start_time=t.start_time,
                            end_time=t.end_time, error=t.error, traceback=t.traceback,
                            device=t.device, resources=t.resources, bracket=t.bracket,
                            last_resource=finite_number(t.last(self.resource)),
                            user_attrs=dict(t.user_attrs), checkpoint=t.checkpoint,
                            enqueued=None if t.enqueued is None else dict(t.enqueued))
                      for t in record.trials]
            self.controller.restore(trials, record.elapsed)
            from .checkpoints import remove_orphans

            remove_orphans(storage.checkpoint_dir(record.study_id),
                           {t.checkpoint.file for t in record.trials if t.checkpoint})
            written = {t.trial_id: len(t.reports) for t in record.trials}
            self.created = record.created
        self.name, self.study_id = record.name, record.study_id
        try:
            self._recorder = StudyRecorder(self, storage, record.study_id, written=written)
        except BaseException:
            self._abandon_stored(storage, record.study_id, "interrupted before it started")
            raise

    def _abandon_stored(self, storage: BaseStorage, study_id: int, why: str) -> None:
        """The study ends before it started (an interrupt while the cell set it up, say): a new
        study, which holds nothing, is removed from storage so the same cell can run again; a
        resumed one is stored as ended. Either way its lease is given up."""
        from .storage import StudyUpdate

        try:
            if self.options.resume:
                storage.write(study_id, StudyUpdate(state=StudyState.FINISHED,
                                                    elapsed=self.elapsed, stop_reason=why))
                storage.release_study(study_id)
            else:
                storage.release_study(study_id)
                storage.delete_study(self.name)
        except HPOError:
            log.exception("jupyter_hpo: could not end the stored study %s", self.name)

    @classmethod
    def load(cls, name: str, storage: str | BaseStorage | None = None) -> Study:
        """A stored study, read-only, for tables, plots and dashboards (``resume=True``
        continues one). ``storage`` defaults to the default file."""
        from .storage import open_storage

        store = storage if _is_storage(storage) else open_storage(storage)
        if store is None:
            raise HPOError("Study.load needs a storage (the file the study was kept in)")
        return cls.from_record(store.load_study(name), store)

    @classmethod
    def from_record(cls, record: StudyRecord, storage: BaseStorage | None = None) -> Study:
        """A read-only study over ``record``: no controller, no executor."""
        study = cls.__new__(cls)
        study.objective, study.space, study.storage = None, record.space, storage
        study.options = None
        study.direction, study.metric, study.resource = (record.direction, record.metric,
                                                         record.resource)
        study.settings, study.name = dict(record.settings), record.name
        study._subscribers, study.problems = [], []
        study._record, study._recorder, study.controller = record, None, None
        study._recording = False
        study.notes = []
        study.study_id, study.created = record.study_id, record.created
        return study

    # ------------------------------------------------------------------ reading
    @property
    def state(self) -> StudyState:
        return self.controller.state if self.controller else self._record.state

    @property
    def done(self) -> bool:
        return self.controller.done if self.controller else True

    @property
    def error(self) -> StudyFailedError | None:
        if self.controller:
            return self.controller.error
        return StudyFailedError(self._record.error) if self._record.error else None

    @property
    def stop_reason(self) -> str:
        return self.controller.stop_reason if self.controller else self._record.stop_reason

    @property
    def stopped_at(self) -> float | None:
        """Seconds into the study at which it was asked to stop (live studies)."""
        return self.controller.stopped_at if self.controller else None

    @property
    def elapsed(self) -> float:
        return self.controller.elapsed if self.controller else self._record.elapsed

    @property
    def start_time(self) -> float | None:
        """When the study started, on its clock (a resumed study: shifted by the time it had
        already run, so ``elapsed`` counts both)."""
        return self.controller.start_time if self.controller else None

    @property
    def end_time(self) -> float | None:
        """When the study ended, on its clock (for a simulated clock: the simulated time)."""
        return self.controller.end_time if self.controller else None

    @property
    def workers(self) -> int | None:
        """Trials that run at once (live studies)."""
        return self.controller.workers if self.controller else None

    @property
    def executor(self) -> Executor | None:
        return self.controller.executor if self.controller else None

    @property
    def scheduler(self) -> Scheduler | None:
        return self.controller.scheduler if self.controller else None

    def snapshot(self) -> StudyRecord:
        """The whole study as a read-only record (a consistent copy while it runs)."""
        c = self.controller
        if c is None:
            return self._record
        with c._lock:
            trials = c.records_locked()
            state, elapsed, incumbents = c.state, c.elapsed, tuple(c.incumbents)
            error, stop_reason = c.error, c.stop_reason
            queue = c.queue.pending()
        return StudyRecord(self.name, self.metric, self.direction, self.resource, self.space,
                           self.settings, state, tuple(trials), elapsed,
                           "" if error is None else str(error), stop_reason, self.created,
                           time.time(), None, self.study_id, incumbents, queue)

    @property
    def trials(self) -> tuple[TrialRecord, ...]:
        """Every trial, as read-only records."""
        if self.controller is None:
            return self._record.trials
        return tuple(self.controller.records())

    def trial_records(self, trial_ids: Iterable[int]) -> list[TrialRecord]:
        """Records of some trials, taken together."""
        if self.controller is None:
            return [self._record.trial(t) for t in trial_ids]
        return self.controller.records(list(trial_ids))

    def trial_output(self, trial_id: int, tail: int | None = None) -> str:
        """What a live trial printed (its last ``tail`` characters; stored studies keep no
        output)."""
        if self.controller is None:
            return ""
        output = self.controller._trial(trial_id).output
        if tail is None:
            return "".join(output)
        pieces, size = [], 0
        for piece in reversed(output):
            pieces.append(piece)
            size += len(piece)
            if size >= tail:
                break
        return "".join(reversed(pieces))[-tail:] if tail > 0 else ""

    @property
    def best_trial(self) -> TrialRecord | None:
        """The trial with the best reported value among those that did not fail."""
        c = self.controller
        if c is None:
            return self._record.best_trial
        with c._lock:
            best = c.best_trial
            return None if best is None else c.records_locked([best.trial_id])[0]

    @property
    def best_value(self) -> float | None:
        return self.controller.best_value if self.controller else self._record.best_value

    @property
    def best_config(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else dict(best.config)

    @property
    def best_namespace(self) -> dict[str, Any] | None:
        """The best trial's variables (thread executor, live studies only)."""
        return self.controller.best_namespace if self.controller else None

    def namespace_of(self, trial_id: int) -> dict[str, Any] | None:
        """A trial's variables if they were kept (the best few; thread executor)."""
        return self.controller.namespace_of(trial_id) if self.controller else None

    @property
    def queue(self) -> tuple[dict[str, Any], ...]:
        """Configurations enqueued (``enqueue``, ``points_to_evaluate``) not started yet."""
        if self.controller is None:
            return tuple(dict(c) for c in self._record.queue)
        with self.controller._lock:
            return self.controller.queue.pending()

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Run ``config`` next, before the searcher's own proposals (after what was enqueued
        before), as Optuna's ``enqueue_trial``. A partial configuration is completed by the
        searcher; a conditional hyperparameter needs the values its condition reads. It counts
        against the budget like any trial; stored studies keep it until a trial starts."""
        controller = self._live()
        self.space.check_partial(config, "the enqueued configuration")
        controller.enqueue(dict(config))

    def apply(self, trial_id: int | None = None,
              namespace: dict[str, Any] | None = None) -> str:
        """Put a trial (the best by default) into the notebook: all its variables when they
        were kept (thread executor, the best few trials), else its hyperparameters. Returns
        what was done. ``namespace`` defaults to the notebook's."""
        from .applying import apply_trial, notebook_namespace

        return apply_trial(self, trial_id, notebook_namespace() if namespace is None
                           else namespace)

    @property
    def spent(self) -> int:
        return self.controller.spent if self.controller else self._record.spent

    def counts(self) -> dict[str, int]:
        """Number of trials per status (every status listed)."""
        counts = {s.value: 0 for s in TrialStatus}
        for trial in self.trials:
            counts[trial.status.value] += 1
        return counts

    def report_times(self, trial_id: int) -> list[float]:
        """Seconds since the study started at which each report of ``trial_id`` arrived."""
        return list(self.trial_records([trial_id])[0].times)

    def trials_dataframe(self, attrs: Iterable[str] | None = None) -> Any:
        """One row per trial (see the README for the columns); ``attrs`` picks columns, as
        Optuna's does (``("trial_id", "config", "user")``, ``("number", "value",
        "params")``, ...)."""
        return self.snapshot().trials_dataframe(attrs)

    def training_curves(self) -> Any:
        """One row per report: trial_id, the resource, every reported key, time."""
        return self.snapshot().training_curves()

    def incumbent_over_time(self) -> Any:
        """``time``, ``trial_id``, ``best_value``: one row per improvement."""
        return self.snapshot().incumbent_over_time()

    def plot(self, kind: str, **options: Any) -> Any:
        """A matplotlib figure: ``history``, ``curves``, ``parallel``, ``contour``,
        ``importance``, ``importance-duration`` or ``incumbent`` (see the README)."""
        from .plots import plot

        return plot(self.snapshot(), kind, **options)

    # ---------------------------------------------------------------- running
    def _live(self) -> Controller:
        if self.controller is None:
            raise HPOError(f"study {self.name!r} was loaded from storage and is read-only: "
                           f"continue it with resume=True (%%hpo --name {self.name} --resume)")
        return self.controller

    def subscribe(self, callback: Callable[[StudyEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on every event (in the thread that caused it; keep it
        quick); returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, kind: str, trial: Trial | None = None,
              data: dict[str, Any] | None = None) -> None:
        if not self._subscribers:
            return
        event = StudyEvent(kind, trial, data or {})
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not break the study
                log.exception("jupyter_hpo: a study event subscriber failed")

    def notify_problem(self, message: str) -> None:
        """Something the user must know that does not stop the study (e.g. storage trouble):
        kept in ``problems`` and shown by the dashboard."""
        self.problems.append(message)
        self._emit("problem", None, {"message": message})

    def start(self) -> Study:
        """Start trials and return at once; ``wait()`` joins."""
        controller = self._live()
        self._start_recording()
        controller.start()
        return self

    def _start_recording(self) -> None:
        if self._recorder is not None and not self._recording:
            self._recording = True
            self._recorder.start()

    def run(self) -> Study:
        """Start and wait; Ctrl-C stops the study gracefully (a second one at once), then
        re-raises. Raises :class:`StudyFailedError` when the study failed."""
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.stop("interrupted")
            try:
                self.wait()
            except KeyboardInterrupt:
                self.stop("interrupted twice", force=True)
                self.wait(5)
            raise
        if self.error is not None:
            raise self.error
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the study has finished (and is stored), or ``timeout`` seconds; True if
        it has finished."""
        if self.controller is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        finished = self.controller.wait(timeout)
        if finished and self._recorder is not None:
            self._recorder.join(None if deadline is None
                                else max(deadline - time.monotonic(), 0.0))
        return finished

    def stop(self, why: str = "stopped by the user", force: bool = False) -> None:
        """No new trials; running ones stop at their next report and become ``cancelled``.
        ``why`` is kept as the study's ``stop_reason``; ``force=True`` ends running trials now
        (as ``cancelled``) without waiting for them."""
        controller = self._live()
        unstarted = controller.state is StudyState.CREATED
        controller.stop(why, force=force)
        if unstarted and self._recorder is not None and not self._recording:
            self._recording = True  # nothing to record: it never ran
            self._abandon_stored(self.storage, self.study_id, why)

    def stop_trial(self, trial_id: int) -> bool:
        """Stop one trial at its next report (``cancelled``); False if it had already ended."""
        return self._live().stop_trial(trial_id)

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


def _is_storage(value: Any) -> bool:
    from .storage import BaseStorage

    return isinstance(value, BaseStorage)


def _storage_of(value: Any) -> BaseStorage | None:
    """``None`` keeps nothing; a location is opened; a storage object is used as it is."""
    if value is None or _is_storage(value):
        return value
    from .storage import open_storage

    return open_storage(value)


def _check_same_study(stored: StudyRecord, study: Study) -> None:
    """Resuming needs the stored metric, mode, resource and space; say what differs."""
    changes = [f"{what} was {old!r} and is now {new!r}" for what, old, new in (
        ("the metric", stored.metric, study.metric),
        ("the mode", stored.direction.value, study.direction.value),
        ("the resource", stored.resource, study.resource)) if old != new]
    old_space = {name: repr(domain) for name, domain in stored.space.items()}
    new_space = {name: repr(domain) for name, domain in study.space.items()}
    for name in sorted(set(old_space) | set(new_space)):
        if old_space.get(name) != new_space.get(name):
            changes.append(f"{name} was {old_space.get(name, 'absent')} and is now "
                           f"{new_space.get(name, 'absent')}")
    if changes:
        raise HPOError(f"cannot resume {study.name!r}: " + "; ".join(changes) + ". Resume with "
                       "the study's own settings, or start a new study with another --name")

