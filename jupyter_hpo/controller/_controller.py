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

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import HPOError, StudyFailedError
from ..executors._base import FetchedNamespace
from ..records import Direction, StudyState, TrialRecord, TrialStatus, runs_again
from ..trial import Trial
from ._events import TrialEventsMixin
from ._results import ResultsMixin
from ._trials import TrialStateMixin
from .blas_threads import one_blas_thread
from .keeping import DEFAULT_KEEP_NAMESPACES, TrialKeeper
from .queue import TrialQueue, ran_again

if TYPE_CHECKING:
    from ..checkpoints import Checkpoint
    from ..executors import Executor
    from ..schedulers import Scheduler

__all__ = ["Controller"]

log = logging.getLogger(__name__)
_TIME_LIMIT = "time limit reached"  # the stop reason of a study that ran out of time
_PAUSED_CODE_ENDED = ("its code ended when it paused at a rung, to free its worker, and never "
                      "ran again, so its other variables are gone")

Emit = Callable[[str, "Trial | None", "dict[str, Any] | None"], None]


class Controller(TrialEventsMixin, TrialStateMixin, ResultsMixin):
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
        executor.keep_namespaces(keep_namespaces, direction.value)
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
        self._out_of_order: set[int] = set()  # trials warned of a resource that went down
        #: how often each trial's report() raised TrialStopped (more than once: its code
        #: caught it and went on)
        self._told_to_stop: dict[int, int] = {}
        self._resume_events: dict[int, threading.Event] = {}
        #: the ids of paused trials as they are told to go on or to end: an executor that
        #: polls ``paused_outcome`` (a simulated clock) asks about these, not about every
        #: paused trial at every event (hundreds stay paused in a promotion study); None
        #: for executors whose paused trials wait on their own event (nothing reads it)
        self.pause_signals: list[int] | None = None if executor.blocks_on_pause else []
        # frozen records by trial id: a finished trial's is made once; None while it runs
        self._records: list[TrialRecord | None] = []
        self._exhausted = False
        self._interrupted = 0  # trials a resume runs again (runs_again), so not counted
        self._study_stopped: set[int] = set()  # cancelled by stop(): a resume runs them again
        self.restored: set[int] = set()  # trials of a resumed study that ran before it
        self._only_failures = True
        self._first_failures: list[Trial] = []
        self._start_error: Exception | None = None
        self._finishing = False  # decided under the lock; _complete() then ends the study
        self._completed = False
        self._with_checkpoints: set[int] = set()  # trials that hold a checkpoint file
        #: set when the study is stored: a checkpoint file that a trial no longer holds is
        #: deleted once storage has recorded what replaced it (``checkpoints_stored``), so
        #: the file that storage names is there after a crash; until then it waits here
        self.defer_removal = False
        self._retired: dict[int, list[Checkpoint]] = {}
        self._released: set[int] = set()  # paused trials whose code ended (worker freed)
        self._ended_released: set[int] = set()  # ended so, never run again: no variables
        self._releasing: set[int] = set()  # released, but their worker has not reported back
        self._restart_after_release: set[int] = set()  # promoted while still releasing
        self._to_readmit: list[Trial] = []  # interrupted trials with a checkpoint (restore)
        self._ready: list[int] = []  # re-runs of those that run on as soon as a worker frees

    @property
    def best_namespace(self) -> dict[str, Any] | None:
        """The best trial's variables (thread executor), once it has finished."""
        return self.keeper.namespace(None if self.best_trial is None
                                     else self.best_trial.trial_id)

    def namespace_of(self, trial_id: int) -> dict[str, Any] | None:
        """A trial's variables, if they were kept (the best few with threads; the best
        trial's, fetched when the study ended, with processes and Dask)."""
        return self.keeper.namespace(trial_id)

    def variables_of(self, trial_id: int) -> FetchedNamespace:
        """A trial's variables as ``namespace_of`` has them, else fetched from the worker
        that ran it while the workers live (processes, Dask); the note says what was left out
        or why none came back."""
        kept = self.keeper.namespace(trial_id)
        note = self.keeper.note(trial_id)
        if kept is not None or note or trial_id in self.restored \
                or not getattr(self.objective, "binds_variables", False):
            return FetchedNamespace(kept, note)
        if trial_id in self._ended_released:
            return FetchedNamespace(None, _PAUSED_CODE_ENDED)
        with self._lock:
            status = self.trials[trial_id].status if 0 <= trial_id < len(self.trials) else None
        if status in (TrialStatus.RUNNING, TrialStatus.PAUSED):
            return FetchedNamespace(None, f"it is {status}: its other variables can be "
                                          f"applied once it has ended")
        fetched = self._fetch(trial_id) if status in (
            TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.CANCELLED) else None
        return fetched if fetched is not None else FetchedNamespace(None)

    def _fetch(self, trial_id: int) -> FetchedNamespace | None:
        """``executor.fetch_namespace``, whose failure is a note, never the study's."""
        try:
            return self.executor.fetch_namespace(trial_id)
        except Exception as exc:  # the study ends all the same
            log.exception("jupyter_hpo: fetching trial %s's variables", trial_id)
            return FetchedNamespace(None, f"its other variables could not be fetched from its "
                                          f"worker ({type(exc).__name__}: {exc})")

    def _bring_back_best(self) -> None:
        """As the study ends, before its workers do: fetch the best trial's variables from
        the worker that holds them (processes, Dask), so the end applies them."""
        best = self.best_trial
        if best is None or best.trial_id in self.restored \
                or not getattr(self.objective, "binds_variables", False) \
                or self.keeper.namespace(best.trial_id) is not None:
            return
        fetched = FetchedNamespace(None, _PAUSED_CODE_ENDED) \
            if best.trial_id in self._ended_released else self._fetch(best.trial_id)
        if fetched is not None:
            self.keeper.take(best.trial_id, fetched.variables, fetched.note)

    def adopt_namespaces(self, earlier: Controller) -> list[int]:
        """Keep the variables that ``earlier``, this study's run before a resume in the same
        kernel, kept of trials that this run restored (the same trials: same id, configuration
        and start), so the best of them is applied with its ``model`` again, not only with its
        hyperparameters. Returns the ids of the trials adopted."""
        adopted = []
        with self._lock:
            for trial_id, namespace in earlier.keeper.kept_namespaces().items():
                if trial_id not in self.restored or trial_id >= len(earlier.trials) \
                        or trial_id >= len(self.trials):
                    continue
                mine, theirs = self.trials[trial_id], earlier.trials[trial_id]
                if abs(mine.start_time - theirs.start_time) < 1e-3 \
                        and repr(mine.config) == repr(theirs.config):
                    self.keeper.adopt_namespace(trial_id, namespace)
                    adopted.append(trial_id)
        return adopted

    # ------------------------------------------------------------------ restore
    def restore(self, trials: list[Trial], elapsed: float) -> None:
        """The stored trials of a resumed study: finished ones teach the scheduler and searcher
        (rungs included); interrupted ones are proposed again first."""
        searcher = self.scheduler.searcher
        rerun = ran_again(trials, searcher.space)
        for trial in trials:
            self.trials.append(trial)
            self.restored.add(trial.trial_id)
            if trial.checkpoint is not None:
                self._with_checkpoints.add(trial.trial_id)
            if runs_again(trial):  # interrupted, or cancelled by a stop of the whole study
                self._interrupted += 1
                searcher.restore(trial.trial_id, trial.config)
                if trial.trial_id in rerun:
                    pass  # an earlier resume ran its configuration again already
                elif trial.checkpoint is not None:
                    self._to_readmit.append(trial)  # see _readmit
                else:
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
        """Trials that count against the budget (interrupted ones, and those cancelled by a
        stop of the whole study, are run again instead), as ``StudyRecord.spent``."""
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
                if self.start_time is None:  # stop() came first
                    raise RuntimeError(f"the study was stopped before it started "
                                       f"({self.stop_reason}): create a new one to run it")
                raise RuntimeError("the study was already started: a study runs once (resume a "
                                   "stored one with resume=True to run more trials)")
            self.state = StudyState.RUNNING
            self.start_time = self.clock() - self.elapsed_before
        self.emit("study_started", None, None)
        self._check_time_limit()
        self._readmit()
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
        """No new trials; running ones stop at their next report and become ``cancelled``
        (that report is recorded, unless the time limit has passed: ``_keeps_stop_report``).
        ``force`` also ends them now (as ``cancelled``; one that reached max_t and runs its
        code after it, as ``completed``; one the scheduler stopped whose code still runs, as
        ``stopped``) and finishes the study at once."""
        cancel: list[Trial] = []
        forced: list[Trial] = []
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
                    if trial.trial_id not in self._stop_reasons and why != _TIME_LIMIT:
                        # not stopped already (on its own, by Hyperband): a resume runs it
                        # again; the time limit spends the budget, so it does not
                        self._study_stopped.add(trial.trial_id)
                    self._stop_reasons.setdefault(trial.trial_id, TrialStatus.CANCELLED)
                    if trial.status is TrialStatus.PAUSED:
                        self._signal(trial.trial_id)
                    if self._end_released(trial, TrialStatus.CANCELLED, why):
                        ended.append(trial)
                    else:
                        cancel.append(trial)
            if force:
                for trial in cancel:
                    if trial.trial_id in self._alive:
                        self._alive.discard(trial.trial_id)
                        decided = self._stop_reasons[trial.trial_id]
                        if decided in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                            # done at max_t, or stopped at a rung, already: that stands
                            self._end(trial, decided)
                        else:
                            self._end(trial, TrialStatus.CANCELLED, f"force-{why}")
                        ended.append(trial)
                        forced.append(trial)
                self._running = 0
        for trial in cancel:
            self.executor.cancel(trial)  # ends trials that never report again
        for trial in forced:
            self.executor.abandon(trial)  # and those whose code would run on (threads)
        for trial in ended:
            self.emit("trial_finished", trial, None)
        self._wake.set()
        if self.inline or force or self._thread is None:
            with self._lock:
                self._finish_if_idle()
            self._complete()

    def stop_trial(self, trial_id: int, force: bool = False) -> bool:
        """Stop one trial at its next report, which is recorded (``cancelled``); False if it
        had finished. One that is stopping already ends as it was told (a trial Hyperband
        stopped, whose code has not ended yet, stays ``stopped``). ``force`` also ends its code
        now where the executor can (a thread's at its next line of Python), for a trial that
        does not report again; it still ends as it would have (``cancelled``)."""
        self._check_trial_id(trial_id)
        with self._lock:
            trial = self._trial(trial_id)
            trial_id = trial.trial_id
            if trial.status.finished:
                return False
            stopping = trial_id in self._stop_reasons  # already (by Hyperband, the study)
            ended = False
            if not stopping:
                self._stop_reasons[trial_id] = TrialStatus.CANCELLED
                if trial.status is TrialStatus.PAUSED:
                    self._signal(trial_id)
                ended = self._end_released(trial, TrialStatus.CANCELLED, "stopped by the user")
        if ended:
            self.emit("trial_finished", trial, None)
        elif force:  # its code ends now (threads), or soon (processes, Dask: killed)
            self.executor.cancel(trial)
            self.executor.abandon(trial)  # on_finish then records how it ended
        elif not stopping:
            self.executor.cancel(trial)
        self._wake.set()
        return True

    def check_time_limit(self) -> None:
        """Stop if the time limit has passed on the clock (simulated clocks call this)."""
        self._check_time_limit()

    def _check_time_limit(self) -> None:
        if self.state is StudyState.RUNNING and self._past_time_limit():
            self.stop(_TIME_LIMIT)

    def _past_time_limit(self) -> bool:
        """Whether the study has used up its time limit (on its clock)."""
        return (self.time_limit is not None and self.start_time is not None
                and self.clock() - self.start_time >= self.time_limit)

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

    def _signal(self, trial_id: int) -> None:
        """Under the lock: wake paused trial ``trial_id`` (to go on, or to end when it has a
        stop reason)."""
        self._resume_events[trial_id].set()
        if self.pause_signals is not None:
            self.pause_signals.append(trial_id)

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
                    # never promoted: it ends as stopped (one told so already, or stopped by
                    # the user, was signalled then: each trial ending here made this loop
                    # signal every other paused trial again, O(paused^2) at a study's end)
                    if trial_id in self._alive and trial_id not in self._stop_reasons:
                        self._stop_reasons.setdefault(trial_id, TrialStatus.STOPPED)
                        self._signal(trial_id)
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
        self._check_time_limit()  # trials may end as fast as proposals are made
        with self._lock:
            if self.state is not StudyState.RUNNING or self._running >= self.workers:
                return False
            # a re-run that continues from its checkpoint first (_readmit), then a promotion
            # (with the budget spent, one that does not wait for rungs to fill)
            resumed = self._ready.pop(0) if self._ready \
                else self.scheduler.promote(closing=not self._can_start())
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
                    self._signal(resumed)
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
        searcher = self.scheduler.searcher
        try:  # may take seconds: no lock; BLAS threads would fight the trials' (blas_threads)
            with one_blas_thread() if searcher.uses_blas else contextlib.nullcontext():
                config = searcher.suggest(trial_id)
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
                          checkpoint_dir=self.checkpoint_dir, metric=self.metric,
                          resource=self.resource)
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
        if self.error is None and self.stop_reason in ("", _TIME_LIMIT):
            self.error = self._all_failed()
            if self.error is not None and not self.stop_reason:
                self.stop_reason = "every trial failed"
        self.state = StudyState.FAILED if self.error is not None else StudyState.FINISHED
        self.end_time = self.clock() if self.start_time is not None else None

    def _complete(self) -> None:
        """Outside the lock, once: shut the executor down, mark the study done, tell everyone."""
        with self._lock:
            if not self._finishing or self._completed:
                return
            self._completed = True
        try:
            try:
                self._bring_back_best()
            finally:  # an interrupt during the fetch still ends the workers
                self.executor.shutdown()
        finally:
            self._done.set()
            self._wake.set()
            self.emit("study_finished", None, None)

    def enqueue(self, config: dict[str, Any]) -> None:
        """Run ``config`` (a checked, possibly partial configuration) before the searcher's own
        proposals, after what was enqueued before."""
        with self._lock:
            if self.state.finished:
                raise HPOError("the study has ended: resume it to run more configurations")
            self.queue.add(config)
        self.emit("queue", None, None)
        self._wake.set()
