"""The one loop that owns the scheduler (and its searcher) and turns trial events into decisions.

As in Syne Tune's tuner and Ray's TuneController, executors only run trials and deliver
events; this module decides. Two kinds of work are kept apart so that a report never waits for
a proposal:

- *Decisions* (``on_report``, ``on_finish``) run in the thread that delivers the event, under
  a short lock: checking the values, the scheduler's answer, the incumbent. A report's round
  trip is a lock and a scheduler call.
- *Proposals* run in the controller's own thread: asking the scheduler for a promotion,
  the searcher for a configuration (a model fit can take seconds) and the executor to start the
  trial, all outside that lock. The searcher takes observations from trial threads while it
  proposes (it queues them), so nothing waits.

With an executor that is driven by a simulated clock (``Executor.inline``), proposals run
inline instead, right after the event that freed a worker, so a seeded simulation is exactly
reproducible.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .controller_trials import TrialStateMixin
from .errors import HPOError, StudyFailedError
from .keeping import DEFAULT_KEEP_NAMESPACES, TrialKeeper
from .records import Direction, StudyState, TrialRecord, TrialStatus, finite_number
from .trial import Decision, ReportError, Trial, TrialReleased, TrialStopped, check_report
from .trial_queue import TrialQueue

if TYPE_CHECKING:
    from .executors import Executor, TrialOutcome
    from .schedulers import Scheduler

__all__ = ["Controller"]

log = logging.getLogger(__name__)

Emit = Callable[[str, "Trial | None", "dict[str, Any] | None"], None]


class Controller(TrialStateMixin):
    """Runs trials of ``objective`` on ``executor`` as ``scheduler`` decides, within a budget
    of ``budget`` trials and ``time_limit`` seconds; ``emit(kind, trial, data)`` publishes
    events (called outside the lock)."""

    def __init__(self, *, scheduler: Scheduler, executor: Executor, objective: Any,
                 metric: str, direction: Direction, resource: str, budget: int | None,
                 time_limit: float | None, clock: Callable[[], float],
                 max_initial_failures: int, emit: Emit,
                 subscribers: list[Any] | None = None,
                 keep_namespaces: int = DEFAULT_KEEP_NAMESPACES,
                 keep_checkpoints: bool = False) -> None:
        self.scheduler, self.executor, self.objective = scheduler, executor, objective
        self.metric, self.direction, self.resource = metric, direction, resource
        self._sign = direction.sign
        self.budget, self.time_limit = budget, time_limit
        self.clock, self.emit = clock, emit
        self._subscribers = subscribers if subscribers is not None else [emit]
        self.max_initial_failures = max_initial_failures
        self.workers = executor.workers
        self.inline = executor.inline
        self.needs_resource = bool(getattr(scheduler, "needs_resource", False))

        self.trials: list[Trial] = []
        self.state = StudyState.CREATED
        self.error: StudyFailedError | None = None
        self.stop_reason = ""
        self.stopped_at: float | None = None  # seconds into the study when it was stopped
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.elapsed_before = 0.0
        self.best_trial: Trial | None = None
        self.best_value: float | None = None
        self.incumbents: list[tuple[float, int, float]] = []
        self.queue = TrialQueue()
        self.keeper = TrialKeeper(metric, direction, keep_namespaces, keep_checkpoints)
        self.checkpoint_dir: str | None = None  # where trials save checkpoints (the study's)

        self._lock = threading.Lock()
        self._proposing = threading.Lock()  # one proposer at a time: ids stay in order
        self._done = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = 0  # trials holding a worker (paused ones do not)
        self._alive: set[int] = set()  # started and not finished
        self._stop_reasons: dict[int, TrialStatus] = {}
        self._invalid: dict[int, str] = {}  # trials that reported a value we cannot use
        self._resume_events: dict[int, threading.Event] = {}
        # frozen records by trial id: a finished trial's is made once; None while it runs
        self._records: list[TrialRecord | None] = []
        self._exhausted = False
        self._interrupted = 0  # restored trials whose kernel died: run again, not counted
        self._only_failures = True
        self._first_failures: list[Trial] = []
        self._start_error: Exception | None = None
        self._finishing = False  # decided under the lock; _complete() then ends the study
        self._completed = False
        self._with_checkpoints: set[int] = set()  # trials that hold a checkpoint file
        self._released: set[int] = set()  # paused trials whose code ended (worker freed)
        self._releasing: set[int] = set()  # released, but their worker has not reported back
        self._restart_after_release: set[int] = set()  # promoted while still releasing

    @property
    def best_namespace(self) -> dict[str, Any] | None:
        """The best trial's variables (thread executor), once it has finished."""
        return self.keeper.namespace(None if self.best_trial is None
                                     else self.best_trial.trial_id)

    def namespace_of(self, trial_id: int) -> dict[str, Any] | None:
        """A trial's variables, if they were kept (the best few; thread executor)."""
        return self.keeper.namespace(trial_id)

    # ------------------------------------------------------------------ restore
    def restore(self, trials: list[Trial], elapsed: float) -> None:
        """The stored trials of a resumed study: finished ones teach the scheduler and searcher
        (rungs included); interrupted ones are proposed again first."""
        searcher = self.scheduler.searcher
        for trial in trials:
            self.trials.append(trial)
            if trial.checkpoint is not None:
                self._with_checkpoints.add(trial.trial_id)
            if trial.status is TrialStatus.INTERRUPTED:
                self._interrupted += 1
                searcher.restore(trial.trial_id, trial.config)
                self.queue.add_rerun(trial)
            else:
                self.scheduler.restore(trial.trial_id, trial.config, trial.reports,
                                       trial.status.value, trial.bracket)
            if trial.status is not TrialStatus.FAILED:
                self._only_failures = False
            self._records.append(trial.freeze())
        searcher.resumed(len(trials))
        self.elapsed_before = elapsed
        self._recompute_incumbent()

    # ---------------------------------------------------------------- lifecycle
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def spent(self) -> int:
        """Trials that count against the budget (interrupted ones are run again instead)."""
        return len(self.trials) - self._interrupted

    @property
    def elapsed(self) -> float:
        if self.start_time is None:
            return self.elapsed_before
        return (self.end_time if self.end_time is not None else self.clock()) - self.start_time

    def start(self) -> None:
        """Start the first trials (in the calling thread), then the controller thread that
        proposes the others (or propose inline, for a simulated clock)."""
        with self._lock:
            if self.state is not StudyState.CREATED:
                raise RuntimeError("the study was already started")
            self.state = StudyState.RUNNING
            self.start_time = self.clock() - self.elapsed_before
        self.emit("study_started", None, None)
        self._check_time_limit()
        if self.inline:
            self._fill()
            return
        self._fill()  # the first trials start before start() returns
        if self._start_error is not None:
            raise self._start_error  # e.g. the objective cannot be shipped: the study failed
        self._thread = threading.Thread(target=self._loop, daemon=True, name="hpo-controller")
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the study has finished (or ``timeout`` s); True if it has. Waits in short
        steps so that Ctrl-C reaches the waiting thread."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                break
            self._done.wait(left)
        return self._done.is_set()

    def stop(self, why: str = "stopped by the user", force: bool = False) -> None:
        """No new trials; running ones stop at their next report and become ``cancelled``.
        ``force`` also ends them now (as ``cancelled``) and finishes the study at once."""
        cancel: list[Trial] = []
        with self._lock:
            if self.state is StudyState.CREATED:
                self.stop_reason = why
                self._finishing = True
                self.state = StudyState.FINISHED
            if self.state is StudyState.RUNNING:
                self.state = StudyState.STOPPING
                self.stop_reason = why
                self.stopped_at = self.elapsed
            ended = []
            for trial in self.trials:
                if not trial.status.finished:
                    self._stop_reasons.setdefault(trial.trial_id, TrialStatus.CANCELLED)
                    if trial.status is TrialStatus.PAUSED:
                        self._resume_events[trial.trial_id].set()
                    if self._end_released(trial, TrialStatus.CANCELLED, why):
                        ended.append(trial)
                    else:
                        cancel.append(trial)
            if force:
                for trial in cancel:
                    if trial.trial_id in self._alive:
                        self._alive.discard(trial.trial_id)
                        self._end(trial, TrialStatus.CANCELLED, f"force-{why}")
                        ended.append(trial)
                self._running = 0
        for trial in cancel:
            self.executor.cancel(trial)  # ends trials that never report again
        for trial in ended:
            self.emit("trial_finished", trial, None)
        self._wake.set()
        if self.inline or force or self._thread is None:
            with self._lock:
                self._finish_if_idle()
            self._complete()

    def stop_trial(self, trial_id: int) -> bool:
        """Stop one trial at its next report (``cancelled``); False if it had finished."""
        with self._lock:
            trial = self._trial(trial_id)
            if trial.status.finished:
                return False
            self._stop_reasons[trial_id] = TrialStatus.CANCELLED
            if trial.status is TrialStatus.PAUSED:
                self._resume_events[trial_id].set()
            ended = self._end_released(trial, TrialStatus.CANCELLED, "stopped by the user")
        if ended:
            self.emit("trial_finished", trial, None)
        else:
            self.executor.cancel(trial)
        self._wake.set()
        return True

    def check_time_limit(self) -> None:
        """Stop if the time limit has passed on the clock (simulated clocks call this)."""
        self._check_time_limit()

    def _check_time_limit(self) -> None:
        if self.time_limit is not None and self.start_time is not None \
                and self.state is StudyState.RUNNING \
                and self.clock() - self.start_time >= self.time_limit:
            self.stop("time limit reached")

    # ---------------------------------------------------------------- the loop
    def _loop(self) -> None:
        """The controller thread: start trials while workers are free, finish when idle."""
        try:
            while not self._done.is_set():
                self._check_time_limit()
                self._fill()
                if self._done.is_set():
                    break
                self._wake.wait(self._time_left())
                self._wake.clear()
        except BaseException as exc:  # a broken loop must still end the study
            log.exception("jupyter_hpo: the study loop failed")
            with self._lock:
                self.error = StudyFailedError(
                    f"the study loop failed ({type(exc).__name__}: {exc}):\n"
                    f"{traceback.format_exc()}")
            self.stop("study stopped: internal error", force=True)
        self._complete()

    def _time_left(self) -> float:
        if self.time_limit is None or self.start_time is None:
            return 1.0
        return min(1.0, max(0.0, self.time_limit - (self.clock() - self.start_time)) + 0.001)

    def _fill(self, wait: bool = True) -> bool:
        """Give free workers something to do; settle paused trials and finish when idle.
        With ``wait=False`` it gives up (returns False) when another thread is proposing."""
        if not self._proposing.acquire(blocking=wait):
            return False
        try:
            while self._step():
                pass
        finally:
            self._proposing.release()
        ended = []
        with self._lock:
            if self._running == 0 and not self._can_start():
                for trial_id in self.scheduler.paused_trials():
                    if trial_id in self._alive:  # never promoted: it ends as stopped
                        self._stop_reasons.setdefault(trial_id, TrialStatus.STOPPED)
                        self._resume_events[trial_id].set()
                        trial = self.trials[trial_id]
                        if self._end_released(trial, TrialStatus.STOPPED):
                            ended.append(trial)
            dropped = self._prune_checkpoints() if ended else []
            self._finish_if_idle()
        self._drop_checkpoints(dropped)
        for trial in ended:
            self.emit("trial_finished", trial, None)
        self._complete()
        return True

    def _can_start(self) -> bool:
        return (self.state is StudyState.RUNNING and not self._exhausted
                and (self.budget is None or self.spent < self.budget))

    def _step(self) -> bool:
        """Resume or start one trial if a worker is free; True if one was."""
        restart = False
        with self._lock:
            if self.state is not StudyState.RUNNING or self._running >= self.workers:
                return False
            resumed = self.scheduler.promote()
            if resumed is not None:
                trial = self.trials[resumed]
                trial.status = TrialStatus.RUNNING
                if resumed in self._releasing:  # still holds its worker: run again once free
                    self._released.discard(resumed)
                    self._restart_after_release.add(resumed)
                elif resumed in self._released:  # its code ended at the pause: run it again
                    self._released.discard(resumed)
                    self._running += 1
                    restart = True
                    trial.restore_from = trial.checkpoint
                else:
                    self._running += 1
                    self._resume_events[resumed].set()
            elif not self._can_start():
                return False
            else:
                trial_id = len(self.trials)
                queued = self.queue.pop()
                if queued is not None:
                    self.scheduler.searcher.enqueue(dict(queued.config))
        if resumed is not None:
            self.emit("trial_resumed", trial, None)
            if restart:
                self._restart(trial)
            return True
        if queued is not None:
            self.emit("queue", None, None)
        try:
            config = self.scheduler.searcher.suggest(trial_id)  # may take seconds: no lock
        except Exception as exc:  # noqa: BLE001 - a failing searcher ends the study clearly
            self._fail(f"the searcher failed to propose trial {trial_id} "
                       f"({type(exc).__name__}: {exc})", traceback.format_exc())
            return False
        with self._lock:
            if config is None or self.state is not StudyState.RUNNING:
                if queued is not None:
                    self.queue.push_front(queued)
                if config is None:
                    self._exhausted = True
                    return False
                self.scheduler.searcher.remove(trial_id)
                return False
            self.scheduler.add_trial(trial_id, config)
            trial = Trial(trial_id, dict(config), start_time=self.clock(),
                          bracket=self.scheduler.bracket(trial_id),
                          enqueued=None if queued is None else queued.enqueued,
                          checkpoint_dir=self.checkpoint_dir)
            adopted = self._continue_from(trial, queued)
            self.trials.append(trial)
            self._records.append(None)
            self._running += 1
            self._alive.add(trial_id)
        if adopted is not None:
            self.emit("trial_updated", adopted, None)  # its checkpoint moved to the re-run
        try:
            self.executor.start(trial, self.objective, self)
        except Exception as exc:  # noqa: BLE001 - e.g. the objective cannot be pickled
            self._abandon(trial, exc)
            return False
        self.emit("trial_started", trial, None)
        return True

    def _abandon(self, trial: Trial, exc: Exception) -> None:
        """The executor could not start ``trial``: forget it and fail the study with why."""
        with self._lock:
            self.trials.pop()
            self._records.pop()
            self._alive.discard(trial.trial_id)
            self._running -= 1
            self.scheduler.on_trial_remove(trial.trial_id)
            self._start_error = exc
        self._fail(f"could not start trial {trial.trial_id}: {exc}")

    def _fail(self, message: str, details: str = "") -> None:
        with self._lock:
            if self.error is None:
                self.error = StudyFailedError(message + (f"\n{details}" if details else ""))
        self.stop("study stopped: " + message.split(":")[0])

    def _finish_if_idle(self) -> None:
        """Under the lock: decide that the study ends when no trial is alive and none can
        start; ``_complete()`` then ends it outside the lock."""
        if self._finishing or self._alive or self.state is StudyState.CREATED:
            return
        if self.state is StudyState.RUNNING and self._can_start():
            return
        self._finishing = True
        self.state = StudyState.FAILED if self.error is not None else StudyState.FINISHED
        self.end_time = self.clock() if self.start_time is not None else None

    def _complete(self) -> None:
        """Outside the lock, once: shut the executor down, mark the study done, tell everyone."""
        with self._lock:
            if not self._finishing or self._completed:
                return
            self._completed = True
        try:
            self.executor.shutdown()
        finally:
            self._done.set()
            self._wake.set()
            self.emit("study_finished", None, None)

    # ----------------------------------------------------- executor hooks
    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        """A trial reported (from its own thread): record it and answer; raises
        ``TrialStopped`` to stop the trial, waits while it is paused (threads, processes)."""
        trial_id = trial.trial_id
        if trial_id in self._stop_reasons or trial_id in self._invalid:
            raise TrialStopped()
        values = dict(values)
        try:
            value, resource = check_report(values, self.metric, self.resource,
                                           self.needs_resource, trial.last_resource)
        except ReportError as exc:
            with self._lock:
                self._invalid.setdefault(trial_id, str(exc))
            raise
        with self._lock:
            now = self.clock() - self.start_time
            trial.reports.append(values)
            trial.report_times.append(now)
            if resource is not None:
                trial.last_resource = resource
            decision = self.scheduler.on_trial_result(trial_id, values)
            improved = self._improve(trial, value, now)
            resume, release = None, False
            if decision is Decision.STOP:
                self._stop_reasons[trial_id] = TrialStatus.STOPPED
            elif decision is Decision.PAUSE:
                trial.status = TrialStatus.PAUSED
                resume = self._resume_events[trial_id] = threading.Event()
                # with a checkpoint saved since its last report, the trial frees its worker
                # (it holds it, and counts as running, until its code has ended)
                release = self.executor.releases_paused and trial.checkpoint is not None \
                    and trial.checkpoint.reports == len(trial.reports) - 1
                if release:
                    self._released.add(trial_id)
                    self._releasing.add(trial_id)
                else:
                    self._running -= 1
        if self._subscribers:  # the report path builds no event nobody reads
            self.emit("report", trial, {"values": values, "decision": decision})
            if improved:
                self.emit("incumbent", trial, {"value": self.best_value})
        if decision is Decision.STOP:
            raise TrialStopped()
        if decision is Decision.PAUSE:
            self.emit("trial_paused", trial, None)
            if self.inline:
                self._fill()
            else:
                self._wake.set()  # the loop proposes: this report waits only for its promotion
            if release:
                raise TrialReleased()  # its code ends; promoted, it runs again from restore()
            if not self.executor.blocks_on_pause:
                return  # the executor polls paused_outcome() and resumes the trial itself
            resume.wait()
            if trial_id in self._stop_reasons:
                raise TrialStopped()

    def on_executor_error(self, message: str, details: str = "") -> None:
        """The executor can run no more trials (e.g. its Dask cluster went away): the study
        stops with ``message`` (then ``details``) as its error; finished trials are kept."""
        self._fail(message, details)

    def paused_outcome(self, trial: Trial) -> str | None:
        """For executors that do not block on a pause: ``None`` while ``trial`` stays paused,
        ``"stop"`` when it must end (report it finished as stopped), ``"resume"`` when it goes
        on."""
        with self._lock:
            event = self._resume_events.get(trial.trial_id)
            if event is None or not event.is_set():
                return None
            return "stop" if trial.trial_id in self._stop_reasons else "resume"

    def on_finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        """The trial's code returned or raised (from the executor's thread)."""
        if outcome.status is TrialStatus.PAUSED:
            self._on_released(trial)
            return
        with self._lock:
            if trial.trial_id not in self._alive:
                return  # force-stopped earlier
            self._alive.discard(trial.trial_id)
            if trial.status is TrialStatus.RUNNING:
                self._running -= 1
            status, error, tb = outcome.status, outcome.error, outcome.traceback
            result = outcome.result
            if result is not None and status is TrialStatus.COMPLETED:
                try:
                    check_report(dict(result), self.metric, self.resource, False, None)
                except ReportError as exc:
                    self._invalid.setdefault(trial.trial_id, str(exc).replace(
                        "report()", "the trial's result", 1))
                    result = None
            if trial.trial_id in self._invalid:
                error = f"ReportError: {self._invalid[trial.trial_id]}"
                tb = tb if status is TrialStatus.FAILED and tb else error
                status = TrialStatus.FAILED
            elif status is TrialStatus.STOPPED:
                status = self._stop_reasons.get(trial.trial_id, TrialStatus.STOPPED)
                if status is TrialStatus.CANCELLED and not error:
                    error = self.stop_reason or "stopped by the user"
            if result:
                now = self.clock() - self.start_time
                trial.reports.append(dict(result))
                trial.report_times.append(now)
                self._consider_incumbent(trial, result, now)
            self._end(trial, status, error, tb)
            if status is not TrialStatus.FAILED:
                self.keeper.keep_namespace(trial, outcome.namespace, self.trials,
                                           None if self.best_trial is None
                                           else self.best_trial.trial_id)
            repeated = self._repeated_failure(trial)
            dropped = self._prune_checkpoints()
        self._drop_checkpoints(dropped)
        self.emit("trial_finished", trial, None)
        if repeated:
            self.stop("study stopped: repeated failures")
        # The thread that delivered the finish has nothing else to do: it proposes the next
        # trial itself (no hand-over to the loop), unless the loop is proposing already.
        if not self._fill(wait=self.inline):
            self._wake.set()

    def enqueue(self, config: dict[str, Any]) -> None:
        """Run ``config`` (a checked, possibly partial configuration) before the searcher's own
        proposals, after what was enqueued before."""
        with self._lock:
            if self.state.finished:
                raise HPOError("the study has ended: resume it to run more configurations")
            self.queue.add(config)
        self.emit("queue", None, None)
        self._wake.set()

    def _end(self, trial: Trial, status: TrialStatus, error: str = "", tb: str = "") -> None:
        """Under the lock: mark ``trial`` finished and tell the scheduler how it ended."""
        trial.status, trial.error, trial.traceback = status, error, tb
        trial.end_time = self.clock()
        if status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
            self.scheduler.on_trial_complete(trial.trial_id,
                                             trial.reports[-1] if trial.reports else None)
        elif status is TrialStatus.FAILED:
            self.scheduler.on_trial_error(trial.trial_id)
            if self.best_trial is trial:
                self._recompute_incumbent()
        else:
            self.scheduler.on_trial_remove(trial.trial_id)
        self._records[trial.trial_id] = trial.freeze()

    def _repeated_failure(self, trial: Trial) -> bool:
        """Under the lock: True (and ``error`` set) when the first trials all failed with the
        same error, so the study stops and shows it once. Constant time: once a trial ended
        well, or the errors differ, the rule can no longer apply."""
        if self.error or not self._only_failures:
            return False
        if trial.status is not TrialStatus.FAILED:
            if trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                self._only_failures = False
            return False
        self._first_failures.append(trial)
        if len({t.error for t in self._first_failures}) > 1:
            self._only_failures = False
            return False
        k = min(self.max_initial_failures, self.budget or self.max_initial_failures)
        if len(self._first_failures) < k:
            return False
        first = self._first_failures[0]
        self.error = StudyFailedError(
            f"the first {len(self._first_failures)} trials all failed with the same error, "
            f"so the study stopped. Trial {first.trial_id}'s traceback:\n"
            f"{first.traceback or first.error}")
        return True

    # ---------------------------------------------------------------- results
    def _consider_incumbent(self, trial: Trial, values: dict[str, Any], at: float) -> bool:
        value = finite_number(values.get(self.metric))
        return value is not None and self._improve(trial, value, at)

    def _improve(self, trial: Trial, value: float, at: float) -> bool:
        """Under the lock: ``value`` of ``trial`` becomes the incumbent if it is better."""
        best = self.best_value
        if best is not None and not self._sign * value < self._sign * best:
            return False
        self.best_trial, self.best_value = trial, value
        self.incumbents.append((at, trial.trial_id, value))
        return True

    def _recompute_incumbent(self) -> None:
        """The incumbent failed: replay the other trials' reports in arrival order."""
        self.best_trial, self.best_value = None, None
        self.incumbents = []
        history = sorted((at, t.trial_id, i) for t in self.trials
                         if t.status is not TrialStatus.FAILED
                         for i, at in enumerate(t.report_times[:len(t.reports)]))
        for at, trial_id, i in history:
            trial = self.trials[trial_id]
            self._consider_incumbent(trial, trial.reports[i], at)

    def _trial(self, trial_id: int) -> Trial:
        if isinstance(trial_id, bool) or not isinstance(trial_id, int) \
                or not 0 <= trial_id < len(self.trials):
            ids = f"0..{len(self.trials) - 1}" if self.trials else "none yet"
            raise HPOError(f"the study has no trial {trial_id!r} (its trials: {ids})")
        return self.trials[trial_id]

    def records(self, trial_ids: Iterable[int] | None = None) -> list[TrialRecord]:
        """Frozen records of the trials (all, or those in ``trial_ids``), taken together."""
        with self._lock:
            return self.records_locked(trial_ids)

    def records_locked(self, trial_ids: Iterable[int] | None = None) -> list[TrialRecord]:
        """``records()`` for a caller that holds the lock. Finished trials' records are made
        once, so a snapshot of a large study copies a list and freezes only the running
        trials."""
        if trial_ids is None:
            out = list(self._records)
            for trial_id in self._alive:  # exactly the trials without a record yet
                out[trial_id] = self.trials[trial_id].freeze()
            return out
        out = []
        for trial_id in trial_ids:
            self._trial(trial_id)
            record = self._records[trial_id]
            out.append(record if record is not None else self.trials[trial_id].freeze())
        return out
