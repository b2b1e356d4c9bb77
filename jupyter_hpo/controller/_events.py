"""The controller's answers to the events executors deliver: a report (checked, recorded,
decided by the scheduler), a pause, a trial's end and an executor's failure.

A mixin of :class:`~jupyter_hpo.controller.Controller`: these run in the thread that delivers
the event and hold the controller's lock only for the decision, never during a proposal.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..checkpoints import remove
from ..read_only import REPORT, ReadOnlyDict, read_only
from ..records import TrialStatus
from ..trial import (
    Decision,
    ReportError,
    Trial,
    TrialCompleted,
    TrialReleased,
    TrialStopped,
    check_report,
    never_reported,
    resource_out_of_order,
)

if TYPE_CHECKING:
    from ..executors import TrialOutcome

__all__ = ["TrialEventsMixin"]


class TrialEventsMixin:
    """``on_report``, ``paused_outcome``, ``on_finish``, ``on_executor_problem``,
    ``on_executor_error`` and ``_end``."""

    def on_report(self, trial: Trial, values: dict[str, Any]) -> None:
        """A trial reported (from its own thread): record it and answer; raises
        ``TrialStopped`` to stop the trial, waits while it is paused (threads, processes)."""
        try:
            self._answer_report(trial, values)
        except TrialStopped:
            told = self._told_to_stop.get(trial.trial_id, 0)
            if told == 1:  # its code caught the first one
                trial.write_output(swallowed_stop_note(
                    trial.trial_id, self._stop_reasons.get(trial.trial_id)))
            self._told_to_stop[trial.trial_id] = told + 1
            raise

    def _answer_report(self, trial: Trial, values: dict[str, Any]) -> None:
        trial_id = trial.trial_id
        if trial_id in self._invalid or (trial_id in self._stop_reasons
                                         and not self._keeps_stop_report(trial_id)):
            raise self._ending(trial_id)
        # the study's own copy, read-only so that no record handed out edits it (read_only(),
        # inlined: this is the report path)
        values = ReadOnlyDict(values)
        values._trial_id, values._what = trial_id, REPORT
        try:
            value, resource = check_report(values, self.metric, self.resource,
                                           self.needs_resource)
        except ReportError as exc:
            with self._lock:
                stopping = trial_id in self._stop_reasons
                if not stopping:
                    self._invalid.setdefault(trial_id, str(exc))
            if stopping:  # it is being cancelled: what it sent last is not a value to keep
                raise TrialStopped() from None
            raise
        with self._lock:
            # told to stop (by the user, or the study) since it last reported: this report is
            # the one at which it learns so; it is kept, as any other, unless the study's time
            # limit has passed meanwhile (see _keeps_stop_report)
            stopping = trial_id in self._stop_reasons
            if stopping and not self._keeps_stop_report(trial_id):
                raise self._ending(trial_id)
            out_of_order = None
            if resource is not None and trial_id not in self._out_of_order:
                out_of_order = resource_out_of_order(
                    values, resource, self.resource, self.metric, trial.last_resource,
                    trial.reports[-1] if trial.reports else None)
                if out_of_order is not None:
                    self._out_of_order.add(trial_id)
            now = self.clock() - self.start_time
            replaced = self._take_new_checkpoint(trial)  # saved for the epoch of this report
            trial.reports.append(values)
            trial.report_times.append(now)
            if resource is not None:
                trial.last_resource = resource
            if stopping:
                # the scheduler is not asked: the trial ends here (cancelled, which the
                # scheduler learns once it has ended: on_trial_remove), so this report
                # neither pauses it at a rung nor promotes, stops or counts it twice
                decision = Decision.STOP
            else:
                decision = self.scheduler.on_trial_result(trial_id, values)
            improved = value is not None and self._improve(trial, value, now)
            resume, release = None, False
            if decision is Decision.STOP:
                self._stop_reasons.setdefault(trial_id, TrialStatus.STOPPED)
            elif decision is Decision.DONE:
                # it reached max_t: report() returns, so that code after a loop that ends
                # there runs; a report after it ends the trial (TrialCompleted) unrecorded
                self._stop_reasons.setdefault(trial_id, TrialStatus.COMPLETED)
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
        if replaced is not None:  # nothing is stored: no record names it
            remove(replaced)
        if out_of_order is not None:
            self._say_out_of_order(trial, out_of_order)
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

    def _ending(self, trial_id: int) -> TrialStopped:
        """What ``report()`` raises in a trial that is ending: ``TrialCompleted`` for one that
        reached max_t (it ends completed), else ``TrialStopped``."""
        if self._stop_reasons.get(trial_id) is TrialStatus.COMPLETED:
            return TrialCompleted()
        return TrialStopped()

    def _say_out_of_order(self, trial: Trial, what: str) -> None:
        """Warn, once per trial, of a report whose resource went down or repeated: in the
        trial's output and as a ``problem`` (the dashboard shows it, ``tune()`` logs it)."""
        text = (f"trial {trial.trial_id} {what}: the resource should grow with each report; "
                f"{self.scheduler.out_of_order_note()} (said once per trial)")
        trial.write_output(f"jupyter_hpo: {text}\n")
        self.emit("problem", trial, {"message": text})

    def _keeps_stop_report(self, trial_id: int) -> bool:
        """Whether the report at which trial ``trial_id`` learns that it stops is recorded.

        It is when the trial was cancelled (Stop button, ``%hpo stop``, Ctrl-C,
        ``study.stop()``, a stop request through storage): its code measured the value and
        reported it, so it is kept (history, tables, best trial, storage) before the trial
        stops. It is not when the study's time limit has passed (the budget is spent: what is
        reported after it does not count, as in a benchmark with a time budget), when the
        scheduler stopped the trial (its report then was recorded already), when the trial
        was told to stop before (its code caught ``TrialStopped`` and went on), or when it
        was ended already (a forced stop)."""
        return (self._stop_reasons.get(trial_id) is TrialStatus.CANCELLED
                and trial_id not in self._told_to_stop and trial_id in self._alive
                and not self._past_time_limit())

    def on_executor_problem(self, message: str) -> None:
        """Something about where the trials run that the user must know, which does not stop
        the study (e.g. a Dask worker without jupyter_hpo joined): a ``problem`` event, which
        the dashboard shows and ``tune()`` logs."""
        self.emit("problem", None, {"message": message})

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
            if status is TrialStatus.COMPLETED and trial.trial_id in self._told_to_stop:
                status, result = TrialStatus.STOPPED, None  # it ran on after its stop
            if result is not None and status is TrialStatus.COMPLETED:
                try:
                    check_report(dict(result), self.metric, self.resource, False)
                except ReportError as exc:
                    self._invalid.setdefault(trial.trial_id, str(exc).replace(
                        "report()", "the trial's result", 1))
                    result = None
            if status is TrialStatus.COMPLETED and trial.trial_id not in self._invalid \
                    and self.metric not in (result or {}) \
                    and not any(self.metric in r for r in trial.reports):
                self._invalid[trial.trial_id] = never_reported(
                    self.metric, [*trial.reports, *([result] if result else [])])
                result = None
            if trial.trial_id in self._invalid:
                error = f"ReportError: {self._invalid[trial.trial_id]}"
                tb = tb if status is TrialStatus.FAILED and tb else error
                status = TrialStatus.FAILED
            elif status in (TrialStatus.STOPPED, TrialStatus.CANCELLED):  # ended by a stop
                status = self._stop_reasons.get(trial.trial_id, status)
                if status is TrialStatus.CANCELLED and not error:
                    error = self.stop_reason or "stopped by the user"
            if result:
                now = self.clock() - self.start_time
                trial.reports.append(read_only(result, trial.trial_id, REPORT))
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

    def _end(self, trial: Trial, status: TrialStatus, error: str = "", tb: str = "") -> None:
        """Under the lock: mark ``trial`` finished and tell the scheduler how it ended."""
        trial.status, trial.error, trial.traceback = status, error, tb
        trial.study_stopped = status is TrialStatus.CANCELLED \
            and trial.trial_id in self._study_stopped
        if trial.study_stopped:  # a resume runs it again: it spends no budget
            self._interrupted += 1
        trial.end_time = self.clock()
        remove(self._take_new_checkpoint(trial))  # saved after its last report: its final state
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


def swallowed_stop_note(trial_id: int, reason: TrialStatus | None = None) -> str:
    """What a trial's output says when it reports again after ``report()`` told it to stop
    (``reason``: how it ends; ``COMPLETED`` when it reached max_t)."""
    done = reason is TrialStatus.COMPLETED
    told, caught = ("it was told it had reached max_t", "TrialCompleted") if done \
        else ("it was told to stop", "TrialStopped")
    ends = "completed, with its reports up to max_t" if done \
        else "stopped, with its reports up to the stop"
    return (f"jupyter_hpo: trial {trial_id} called report() again after {told}: its code "
            f"caught {caught} (a bare 'except:' or 'except BaseException:' around report()), "
            f"so it went on training for nothing. Let {caught} pass (catch Exception "
            f"instead); the trial ends as {ends}\n")
