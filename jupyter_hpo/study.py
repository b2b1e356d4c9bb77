"""The Study: the loop that joins searcher, scheduler and executor, and publishes events.

There is no loop thread: trial threads drive the study through ``on_report``/``on_finish``
under one lock, so a report's round trip costs a lock and a scheduler call. Subscribers get
events synchronously in the thread that caused them and must be quick (the dashboard only
buffers them).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import HPOError, StudyFailedError
from .executors import EXECUTORS, Executor, TrialOutcome
from .resources import plan_slots
from .schedulers import FIFOScheduler, Scheduler, make_scheduler
from .searchers import make_searcher
from .space import Space
from .storage import Storage, StoredStudy, StoredTrial
from .trial import Decision, Trial, TrialStatus, TrialStopped, as_number

if TYPE_CHECKING:
    from .recorder import StudyRecorder

__all__ = ["Study", "StudyEvent"]

_study_numbers = itertools.count(1)


@dataclass
class StudyEvent:
    """``kind`` is one of: study_started, trial_started, report, trial_paused, trial_resumed,
    trial_finished, incumbent, study_finished."""

    kind: str
    trial: Trial | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Study:
    """Runs trials of ``objective`` over ``space`` and keeps their results."""

    def __init__(self, objective: Any, space: Space, *, metric: str, mode: str,
                 scheduler: str | Scheduler = "fifo", searcher: str = "random",
                 searcher_options: dict[str, Any] | None = None,
                 scheduler_options: dict[str, Any] | None = None, trials: int | None = None,
                 time_limit: float | None = None, workers: int | None = 1,
                 seed: int | None = None, resource: str = "epoch",
                 executor: str | Executor = "thread", name: str | None = None,
                 capture_output: bool = False, max_initial_failures: int = 3,
                 gpus_per_trial: float | None = None, cpus_per_trial: float | None = None,
                 executor_options: dict[str, Any] | None = None,
                 clock: Callable[[], float] | None = None,
                 storage: str | os.PathLike[str] | Storage | None = None,
                 resume: bool = False) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode is {mode!r}, but must be 'min' or 'max'")
        if trials is not None and int(trials) < 1:
            raise ValueError(f"trials is {trials}, but must be >= 1")
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time_limit is {time_limit}, but must be > 0 seconds")
        self.objective, self.space = objective, space
        self.metric, self.mode, self.resource = metric, mode, resource
        self.budget = None if trials is None else int(trials)
        self.time_limit = time_limit
        if resume and storage is None:
            raise ValueError("resume=True needs the storage that holds the study")
        if resume and not name:
            raise ValueError("resume=True needs the name of the study to resume")
        self.storage: Storage | None = None
        if storage is not None:
            self.storage = storage if isinstance(storage, Storage) else Storage(storage)
        self.name = name or (self.storage.unused_name() if self.storage
                             else f"study-{next(_study_numbers)}")
        self.settings = {"searcher": searcher, "searcher_options": searcher_options or {},
                         "scheduler": scheduler if isinstance(scheduler, str)
                         else type(scheduler).__name__,
                         "scheduler_options": scheduler_options or {}, "trials": self.budget,
                         "time_limit": time_limit, "seed": seed, "workers": workers,
                         "executor": executor if isinstance(executor, str)
                         else type(executor).__name__}
        searcher_obj = make_searcher(searcher, space, metric, mode, seed,
                                     **(searcher_options or {}))
        sched_opts = dict(scheduler_options or {})
        if scheduler == "hyperband":
            sched_opts.setdefault("seed", seed)
        self.scheduler = make_scheduler(scheduler, searcher_obj, metric, mode, resource,
                                        **sched_opts)
        if isinstance(executor, str):
            if executor not in EXECUTORS:
                raise ValueError(f"executor is {executor!r}, but must be one of "
                                 f"{sorted(EXECUTORS)}")
            slots = plan_slots(workers, gpus_per_trial, cpus_per_trial)
            executor = EXECUTORS[executor](capture_output=capture_output, slots=slots,
                                           **(executor_options or {}))
        self.executor: Executor = executor
        self.workers = self.executor.workers
        self.max_initial_failures = max_initial_failures
        self._only_failures = True
        self._first_failures: list[Trial] = []
        self._needs_resource = not isinstance(self.scheduler, FIFOScheduler)
        self.trials: list[Trial] = []
        self.state = "created"
        self.error: StudyFailedError | None = None
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.best_trial: Trial | None = None
        self.best_namespace: dict[str, Any] | None = None
        self._incumbents: list[tuple[float, int, float]] = []
        self._incumbent_value: float | None = None
        self._report_times: dict[int, list[float]] = {}
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._subscribers: list[Callable[[StudyEvent], None]] = []
        self._running = 0
        self._alive: set[int] = set()
        self._stop_reasons: dict[int, TrialStatus] = {}
        self._resume_events: dict[int, threading.Event] = {}
        self._stopping = False
        self._timer: threading.Timer | None = None
        # A simulated clock (benchmarks) replaces wall time; then whoever advances the clock
        # also enforces time_limit, by calling check_time_limit().
        self.clock: Callable[[], float] = clock or time.time
        self._elapsed_before = 0.0  # seconds a resumed study had run before
        self._interrupted = 0  # stored trials cut off by a dead kernel (re-run, not counted)
        self._recorder: StudyRecorder | None = None
        if self.storage is not None:
            self._attach_storage(resume)

    # ------------------------------------------------------------------ storage
    def _attach_storage(self, resume: bool) -> None:
        """Create the stored study, or lease and restore it for ``resume``."""
        from .recorder import StudyRecorder

        storage = self.storage
        assert storage is not None
        if not resume:
            study_id = storage.create(self.name, self.metric, self.mode, self.resource,
                                      self.space, self.settings)
            self._recorder = StudyRecorder(self, storage, study_id)
            return
        stored = storage.find(self.name)
        if stored is None:
            storage.acquire(self.name)  # raises the "no study named ..." error
            return
        _check_same_study(stored, self)
        stored = storage.acquire(self.name)
        trials = storage.trials(stored.study_id, self.space)
        self._restore(trials, stored.elapsed)
        storage.update_settings(stored.study_id, self.settings)
        self._recorder = StudyRecorder(self, storage, stored.study_id,
                                       written={t.trial_id: len(t.reports) for t in trials})

    def _restore(self, stored: list[StoredTrial], elapsed: float) -> None:
        """Load stored trials: finished ones into the scheduler and searcher (rungs
        included), interrupted ones queued to run again."""
        searcher = self.scheduler.searcher
        for item in stored:
            trial = Trial(item.trial_id, item.config, status=TrialStatus(item.status),
                          reports=list(item.reports), start_time=item.start_time,
                          end_time=item.end_time, error=item.error, traceback=item.traceback,
                          device=item.device, bracket=item.bracket)
            self.trials.append(trial)
            self._report_times[trial.trial_id] = list(item.times)
            if trial.status is TrialStatus.INTERRUPTED:
                self._interrupted += 1
                searcher.restore(trial.trial_id, trial.config)
                searcher.enqueue(trial.config)
            else:
                self.scheduler.restore(trial.trial_id, trial.config, trial.reports,
                                       trial.status.value, trial.bracket)
            if trial.status is not TrialStatus.FAILED:
                self._only_failures = False
        searcher.resumed(len(stored))
        self._elapsed_before = elapsed
        self.start_time = 0.0
        self._recompute_incumbent()
        self.start_time = None

    @classmethod
    def load(cls, name: str, storage: str | os.PathLike[str] | Storage | None = None) -> Study:
        """A stored study, read-only, for tables, plots and dashboards (``Study(...,
        resume=True)`` continues one)."""
        from .storage import space_from_description

        storage = storage if isinstance(storage, Storage) else Storage(storage)
        stored = storage.get(name)
        space = space_from_description(stored.space)
        study = cls(None, space, metric=stored.metric, mode=stored.mode,
                    resource=stored.resource, name=stored.name)
        study.settings = stored.settings
        study.budget = stored.settings.get("trials")
        study.time_limit = stored.settings.get("time_limit")
        study.storage = storage
        trials = storage.trials(stored.study_id, space)
        study._restore(trials, stored.elapsed)
        study.state = stored.shown_state
        study.start_time = time.time() - stored.elapsed
        study.end_time = study.start_time + stored.elapsed
        if stored.error:
            study.error = StudyFailedError(stored.error)
        study._done.set()
        return study

    # ----------------------------------------------------------------- lifecycle
    def subscribe(self, callback: Callable[[StudyEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on every event; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers \
            else None

    def start(self) -> Study:
        """Start trials and return at once; ``wait()`` joins."""
        with self._lock:
            if self.state != "created":
                raise HPOError(f"study {self.name!r} was already started")
            self.state = "running"
            self.start_time = self.clock() - self._elapsed_before
        if self._recorder is not None:
            self._recorder.start()
        self._emit(StudyEvent("study_started"))
        if self.time_limit is not None and self.clock is time.time:
            left = max(self.time_limit - self._elapsed_before, 0.0)
            self._timer = threading.Timer(left, self._on_time_limit)
            self._timer.daemon = True
            self._timer.start()
        self.check_time_limit()  # a resumed study may have spent its time already
        with self._lock:
            self._fill(raise_errors=True)
        return self

    def run(self) -> Study:
        """Start and wait; Ctrl-C stops the study gracefully, then re-raises.

        Raises :class:`StudyFailedError` when the first trials all failed the same way.
        """
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.stop()
            try:
                self.wait(timeout=5)
            finally:
                self.stop(force=True)
            raise
        if self.error is not None:
            raise self.error
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the study has finished (or ``timeout`` seconds); True if finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                break
            self._done.wait(left)
        if self._done.is_set() and self._recorder is not None:
            self._emit_finished()
            self._recorder.join(None if deadline is None
                                else max(deadline - time.monotonic(), 0.0))
        return self._done.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def stop(self, force: bool = False) -> None:
        """No new trials; running ones stop at their next report and become ``cancelled``.

        ``force=True`` also marks them cancelled now and ends the study without waiting.
        """
        self._stop_all(TrialStatus.CANCELLED, "stopped by the user")
        if force:
            ended = []
            with self._lock:
                for trial in self.trials:
                    if not trial.status.finished:
                        self._finalize(trial, TrialOutcome(TrialStatus.CANCELLED,
                                                           error="force-stopped by the user"))
                        ended.append(trial)
                self._alive.clear()
                self._finish_if_idle()
            for trial in ended:
                self._emit(StudyEvent("trial_finished", trial))
            if self.done:
                self._emit_finished()

    def stop_trial(self, trial_id: int) -> None:
        """Stop one trial at its next report (it becomes ``cancelled``)."""
        with self._lock:
            trial = self._trial(trial_id)
            if trial.status.finished:
                return
            self._stop_reasons[trial_id] = TrialStatus.CANCELLED
            if trial.status is TrialStatus.PAUSED:
                self._resume_events[trial_id].set()
        self.executor.cancel(trial)

    def _stop_all(self, status: TrialStatus, why: str) -> None:
        with self._lock:
            if self.state in ("finished", "failed", "created"):
                if self.state == "created":
                    self.state = "finished"
                    self._done.set()
                return
            self._stopping = True
            self.state = "stopping"
            for trial in self.trials:
                if not trial.status.finished:
                    self._stop_reasons.setdefault(trial.trial_id, status)
                    if trial.status is TrialStatus.PAUSED:
                        self._resume_events[trial.trial_id].set()
            self._stop_why = why
            running = [t for t in self.trials if not t.status.finished]
            self._finish_if_idle()
        for trial in running:
            self.executor.cancel(trial)  # ends process trials that never report again

    def _on_time_limit(self) -> None:
        self._stop_all(TrialStatus.CANCELLED, "time limit reached")

    def check_time_limit(self) -> None:
        """Stop the study if its time limit has passed on ``clock`` (for simulated clocks;
        with wall time a timer does this)."""
        if self.time_limit is not None and self.start_time is not None \
                and self.clock() - self.start_time >= self.time_limit:
            self._on_time_limit()

    # ------------------------------------------------------------ executor hooks
    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        """Called by the trial (through ``report()``); raises ``TrialStopped`` to stop it."""
        reason = self._stop_reasons.get(trial.trial_id)
        if reason is not None:
            raise TrialStopped()
        self._check_report(values)
        with self._lock:
            now = self.clock()  # taken under the lock, so report times follow report order
            trial.reports.append(values)
            self._report_times[trial.trial_id].append(now - self.start_time)
            decision = self.scheduler.on_trial_result(trial.trial_id, values)
            improved = self._consider_incumbent(trial, values, now)
            if decision is Decision.STOP:
                self._stop_reasons[trial.trial_id] = TrialStatus.STOPPED
            elif decision is Decision.PAUSE:
                trial.status = TrialStatus.PAUSED
                self._running -= 1
                resume = self._resume_events[trial.trial_id] = threading.Event()
                self._fill()
        if self._subscribers:
            self._emit(StudyEvent("report", trial, {"values": values, "decision": decision}))
            if improved:
                self._emit(StudyEvent("incumbent", trial, {"value": self.best_value}))
        if decision is Decision.STOP:
            raise TrialStopped()
        if decision is Decision.PAUSE:
            self._emit(StudyEvent("trial_paused", trial))
            if not self.executor.blocks_on_pause:
                return  # the executor polls paused_outcome() and resumes the trial itself
            resume.wait()
            if trial.trial_id in self._stop_reasons:
                raise TrialStopped()

    def _check_report(self, values: dict[str, Any]) -> None:
        if self.metric not in values:
            raise HPOError(f"report() got {', '.join(values) or 'no values'}, but the study "
                           f"optimises {self.metric!r}: call report({self.metric}=...) or pick "
                           f"another --metric")
        if self._needs_resource and self.resource not in values:
            raise HPOError(f"report() got {', '.join(values)}, but Hyperband needs the resource "
                           f"{self.resource!r} in every report, e.g. report({self.resource}="
                           f"{self.resource}, {self.metric}=...); rename it with --resource")

    def paused_outcome(self, trial: Trial) -> str | None:
        """For executors that do not block on a pause: ``None`` while ``trial`` stays paused,
        ``"stop"`` when it must end (report it finished as stopped), ``"resume"`` when it was
        promoted and goes on."""
        with self._lock:
            event = self._resume_events.get(trial.trial_id)
            if event is None or not event.is_set():
                return None
            return "stop" if trial.trial_id in self._stop_reasons else "resume"

    def on_finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        """Called by the executor when a trial's code has returned or raised."""
        with self._lock:
            if trial.trial_id not in self._alive:
                return  # force-stopped earlier
            self._alive.discard(trial.trial_id)
            if trial.status is TrialStatus.RUNNING:
                self._running -= 1
            if outcome.status is TrialStatus.STOPPED:
                reason = self._stop_reasons.get(trial.trial_id, TrialStatus.STOPPED)
                outcome.status = reason
                if reason is TrialStatus.CANCELLED and not outcome.error:
                    outcome.error = getattr(self, "_stop_why", "stopped by the user")
            self._finalize(trial, outcome)
            self._check_repeated_failures(trial)
            self._fill()
        self._emit(StudyEvent("trial_finished", trial))
        if self.done:
            self._emit_finished()

    def _finalize(self, trial: Trial, outcome: TrialOutcome) -> None:
        trial.status = outcome.status
        trial.end_time = self.clock()
        trial.error, trial.traceback = outcome.error, outcome.traceback
        if outcome.result:
            trial.reports.append(outcome.result)
            self._report_times[trial.trial_id].append(trial.end_time - self.start_time)
            self._consider_incumbent(trial, outcome.result, trial.end_time)
        if outcome.status is TrialStatus.COMPLETED:
            self.scheduler.on_trial_complete(trial.trial_id, trial.reports[-1]
                                             if trial.reports else None)
        elif outcome.status is TrialStatus.FAILED:
            self.scheduler.on_trial_error(trial.trial_id)
            if self.best_trial is trial:
                self._recompute_incumbent()
        elif outcome.status is TrialStatus.STOPPED:
            self.scheduler.on_trial_complete(trial.trial_id, trial.reports[-1]
                                             if trial.reports else None)
        else:
            self.scheduler.on_trial_remove(trial.trial_id)
        if self.best_trial is trial and outcome.namespace is not None:
            self.best_namespace = outcome.namespace

    # ------------------------------------------------------------------ the loop
    def _abandon(self, trial: Trial, exc: Exception) -> None:
        """The executor could not start ``trial`` (e.g. the objective cannot be pickled): forget
        the trial and fail the study with the reason, keeping the trials that did run."""
        self.trials.pop()
        self._alive.discard(trial.trial_id)
        self._running -= 1
        del self._report_times[trial.trial_id]
        self.scheduler.on_trial_remove(trial.trial_id)
        self.error = StudyFailedError(f"could not start trial {trial.trial_id}: {exc}")
        self._stop_all(TrialStatus.CANCELLED, "study stopped: a trial could not start")

    def _fill(self, raise_errors: bool = False) -> None:
        """Give free workers something to do; finish the study when nothing is left.

        ``raise_errors``: re-raise an executor's failure to start a trial (from ``start()``);
        elsewhere it only fails the study, since the caller is a trial's thread.
        """
        while not self._stopping and self._running < self.workers:
            can_start = self.budget is None or self.spent < self.budget
            suggestion = self.scheduler.suggest(len(self.trials), can_start)
            if suggestion is None:
                break
            if suggestion.resume_trial is not None:
                trial = self._trial(suggestion.resume_trial)
                trial.status = TrialStatus.RUNNING
                self._running += 1
                self._resume_events[trial.trial_id].set()
                continue
            trial = Trial(len(self.trials), suggestion.config, start_time=self.clock(),
                          bracket=self.scheduler.bracket(len(self.trials)))
            self.trials.append(trial)
            self._report_times[trial.trial_id] = []
            self._running += 1
            self._alive.add(trial.trial_id)
            try:
                self.executor.start(trial, self.objective, self)
            except Exception as exc:
                self._abandon(trial, exc)
                if raise_errors:
                    raise
                return
            self._emit(StudyEvent("trial_started", trial))
        if self._running == 0:
            for tid in self.scheduler.paused_trials():
                if tid in self._alive:
                    self._stop_reasons.setdefault(tid, TrialStatus.STOPPED)
                    self._resume_events[tid].set()
        self._finish_if_idle()

    def _finish_if_idle(self) -> None:
        if self._alive or self._done.is_set() or self.state == "created":
            return
        self.state = "failed" if self.error else "finished"
        self.end_time = self.clock()
        if self._timer is not None:
            self._timer.cancel()
        self.executor.shutdown()
        self._done.set()

    def _emit_finished(self) -> None:
        if not getattr(self, "_finished_emitted", False):
            self._finished_emitted = True
            self._emit(StudyEvent("study_finished"))

    def _check_repeated_failures(self, trial: Trial) -> None:
        """Stop when the first trials all failed with the same error (show it once).

        Constant time per trial: once a trial has finished without failing, or the first
        failures differ, the rule can no longer apply.
        """
        if self.error or not self._only_failures:
            return
        if trial.status is not TrialStatus.FAILED:
            self._only_failures = False
            return
        self._first_failures.append(trial)
        if len({t.error for t in self._first_failures}) > 1:
            self._only_failures = False
            return
        k = min(self.max_initial_failures, self.budget or self.max_initial_failures)
        if len(self._first_failures) >= k:
            first = self._first_failures[0]
            self.error = StudyFailedError(
                f"the first {len(self._first_failures)} trials all failed with the same error, "
                f"so the study stopped. Trial {first.trial_id}'s traceback:\n{first.traceback}")
            self._stop_all(TrialStatus.CANCELLED, "study stopped: repeated failures")

    def _emit(self, event: StudyEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def _trial(self, trial_id: int) -> Trial:
        if not 0 <= trial_id < len(self.trials):
            raise HPOError(f"study {self.name!r} has no trial {trial_id} (it has trials 0.."
                           f"{len(self.trials) - 1})")
        return self.trials[trial_id]

    # ------------------------------------------------------------------- results
    def _consider_incumbent(self, trial: Trial, values: dict[str, Any], now: float) -> bool:
        value = as_number(values.get(self.metric))
        if value is None:
            return False
        # Compare with the incumbent's value, not ``best_value``: the trial's own reports
        # already hold ``values``, so an improving incumbent would never register.
        best = self._incumbent_value
        if best is None or (value > best if self.mode == "max" else value < best):
            if self.best_trial is not trial:
                self.best_namespace = None
            self.best_trial = trial
            self._incumbent_value = value
            self._incumbents.append((now - self.start_time, trial.trial_id, value))
            return True
        return False

    def _recompute_incumbent(self) -> None:
        """The incumbent failed: replay the reports of the other trials in arrival order, so
        the best trial and the incumbent history leave out failed trials."""
        self.best_trial, self.best_namespace, self._incumbent_value = None, None, None
        self._incumbents = []
        history = sorted(
            (t, trial.trial_id, i)
            for trial in self.trials if trial.status is not TrialStatus.FAILED
            for i, t in enumerate(self._report_times[trial.trial_id][:len(trial.reports)]))
        for t, trial_id, i in history:
            trial = self.trials[trial_id]
            self._consider_incumbent(trial, trial.reports[i], self.start_time + t)
        self.best_namespace = None

    @property
    def best_value(self) -> float | None:
        """The best reported value of the metric over all trials that did not fail."""
        if self.best_trial is None:
            return None
        return self.best_trial.best(self.metric, self.mode)

    @property
    def best_config(self) -> dict[str, Any] | None:
        return None if self.best_trial is None else dict(self.best_trial.config)

    @property
    def spent(self) -> int:
        """Trials that count against the budget (interrupted ones are run again instead)."""
        return len(self.trials) - self._interrupted

    def counts(self) -> dict[str, int]:
        """Number of trials per status."""
        counts = {s.value: 0 for s in TrialStatus}
        for trial in list(self.trials):
            counts[trial.status.value] += 1
        return counts

    @property
    def elapsed(self) -> float:
        if self.start_time is None:
            return 0.0
        return (self.end_time or self.clock()) - self.start_time

    def report_times(self, trial_id: int) -> list[float]:
        """Seconds since the study started at which each report of ``trial_id`` arrived."""
        return list(self._report_times.get(trial_id, []))

    def trials_dataframe(self):
        """One row per trial (see the README for the columns)."""
        from .results import trials_dataframe

        return trials_dataframe(self)

    def training_curves(self):
        """One row per report: trial_id, the resource, every reported key, time."""
        from .results import training_curves

        return training_curves(self)

    def incumbent_over_time(self):
        """``time``, ``trial_id``, ``best_value``: one row per improvement."""
        from .results import incumbent_over_time

        return incumbent_over_time(self)

    def plot(self, kind: str, **options: Any) -> Any:
        """A matplotlib figure: ``history``, ``curves``, ``parallel``, ``contour``,
        ``importance``, ``importance-duration`` or ``incumbent`` (see the README)."""
        from .plots import plot

        return plot(self, kind, **options)

    def __repr__(self) -> str:
        best = "" if self.best_value is None else f", best {self.metric}={self.best_value:.4g}"
        return (f"<Study {self.name!r}: {self.state}, {len(self.trials)} trials"
                f"{best}>")


def _check_same_study(stored: StoredStudy, study: Study) -> None:
    """Resuming needs the stored metric, mode, resource and space; say what differs."""
    from .storage import describe_space

    changes = [f"{what} was {old!r} and is now {new!r}" for what, old, new in (
        ("the metric", stored.metric, study.metric), ("the mode", stored.mode, study.mode),
        ("the resource", stored.resource, study.resource)) if old != new]
    old_space = {name: entry["repr"] for name, entry in stored.space.items()}
    new_space = {name: entry["repr"] for name, entry in describe_space(study.space).items()}
    for name in sorted(set(old_space) | set(new_space)):
        if old_space.get(name) != new_space.get(name):
            changes.append(f"{name} was {old_space.get(name, 'absent')} and is now "
                           f"{new_space.get(name, 'absent')}")
    if changes:
        raise HPOError(f"cannot resume {study.name!r}: " + "; ".join(changes) + ". Resume with "
                       "the study's own settings, or start a new study with another --name")
