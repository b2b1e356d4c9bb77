"""The parts of the controller that deal with what trials leave behind: checkpoints (which
files stay, a re-run that continues from an interrupted trial's) and paused trials that freed
their worker (they run again from their checkpoint when promoted), and user attributes.

A mixin of :class:`~jupyter_hpo.controller.Controller`: the methods use its lock, trials and
executor; those whose name says "under the lock" expect the caller to hold it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..checkpoints import Checkpoint, remove
from ..errors import HPOError
from ..read_only import REPORT, read_only
from ..records import TrialStatus, finite_number

if TYPE_CHECKING:
    from ..trial import Trial
    from .queue import Queued

__all__ = ["TrialStateMixin"]


class TrialStateMixin:
    """Checkpoints, released pauses and user attributes of the controller's trials."""

    def _continue_from(self, trial: Trial, queued: Queued | None) -> Trial | None:
        """Under the lock: a re-run of an interrupted trial that saved a checkpoint continues
        from it: it takes the checkpoint over (returned: the interrupted trial, whose record
        changes) and the reports made up to it, so its curve is whole."""
        old = None if queued is None else queued.rerun_of
        if old is None or old.checkpoint is None:
            return None
        checkpoint = old.checkpoint
        # the checkpoint is saved just before the report of the same step (see checkpoint()):
        # that report belongs to the state it holds
        kept = min(checkpoint.reports + 1, len(old.reports), len(old.report_times))
        trial.reports.extend(read_only(r, trial.trial_id, REPORT) for r in old.reports[:kept])
        trial.report_times.extend(old.report_times[:kept])
        if kept:
            trial.last_resource = finite_number(trial.last(self.resource))
        trial.checkpoint = trial.restore_from = checkpoint
        old.checkpoint = None
        self._records[old.trial_id] = old.freeze()
        self._with_checkpoints.discard(old.trial_id)
        self._with_checkpoints.add(trial.trial_id)
        return old

    def _readmit(self) -> None:
        """A resumed study's interrupted trials that saved a checkpoint come back before any
        other trial starts, each as a new trial that takes over the checkpoint and the reports
        up to it (``_continue_from``), which the scheduler answers again (``readmit``), so it
        knows where the trial stood: one that was paused at a rung of Hyperband's promotion
        variant is paused there again, without a worker, until it is promoted (or the study
        ends); the others wait as released trials in ``_ready``, which ``_step`` runs again
        from their checkpoint before any promotion or new trial."""
        import threading

        from ..trial import Decision, Trial
        from .queue import Queued

        searcher = self.scheduler.searcher
        while True:
            with self._lock:
                if not self._to_readmit or not self._can_start():
                    return
                old = self._to_readmit.pop(0)
                trial_id = len(self.trials)
                searcher.enqueue(dict(old.config))
            config = searcher.suggest(trial_id)  # the enqueued configuration
            with self._lock:
                if config is None:
                    return
                trial = Trial(trial_id, dict(config), status=TrialStatus.PAUSED,
                              start_time=self.clock(), bracket=old.bracket,
                              checkpoint_dir=self.checkpoint_dir, metric=self.metric,
                              resource=self.resource)
                adopted = self._continue_from(trial, Queued(dict(old.config), old))
                decision = self.scheduler.readmit(trial_id, dict(config), list(trial.reports),
                                                  old.bracket)
                self.trials.append(trial)
                self._records.append(None)
                self._alive.add(trial_id)
                self._released.add(trial_id)
                self._resume_events[trial_id] = threading.Event()
                if decision is not Decision.PAUSE:
                    self._ready.append(trial_id)
            if adopted is not None:
                self.emit("trial_updated", adopted, None)
            self.emit("trial_started", trial, None)
            self.emit("trial_paused", trial, None)

    def _restart(self, trial: Trial) -> None:
        """Run a released trial again (promoted); it continues from its checkpoint."""
        try:
            self.executor.start(trial, self.objective, self)
        except Exception as exc:  # noqa: BLE001 - the trial fails, the study goes on
            from ..executors import TrialOutcome

            with self._lock:
                trial.status = TrialStatus.RUNNING
            self.on_finish(trial, TrialOutcome(TrialStatus.FAILED, error=f"could not resume "
                                                                         f"the trial: {exc}"))

    def _on_released(self, trial: Trial) -> None:
        """A paused trial's code ended (``TrialReleased``) and its worker is free: it waits for
        its promotion without one, or restarts now if it was promoted meanwhile."""
        trial_id = trial.trial_id
        restart = ended = False
        with self._lock:
            self._releasing.discard(trial_id)
            if trial_id not in self._alive:  # force-stopped while it let go of its worker
                self._restart_after_release.discard(trial_id)
                return
            if trial_id in self._restart_after_release:  # promoted meanwhile
                self._restart_after_release.discard(trial_id)
                if trial_id in self._stop_reasons:  # and then stopped: end it
                    trial.status = TrialStatus.PAUSED
                    self._released.add(trial_id)
                else:
                    restart = True  # on the worker it held all along
                    trial.restore_from = trial.checkpoint
            if not restart:
                self._running -= 1  # its worker is free
            if not restart and trial_id in self._stop_reasons:
                ended = self._end_released(trial, self._stop_reasons[trial_id],
                                           self.stop_reason or "stopped by the user")
            dropped = self._prune_checkpoints() if ended else []
        self._drop_checkpoints(dropped)
        if ended:
            self.emit("trial_finished", trial, None)
        if restart:
            self._restart(trial)
        elif not self._fill(wait=self.inline):
            self._wake.set()

    def _end_released(self, trial: Trial, status: TrialStatus, error: str = "") -> bool:
        """Under the lock: end a released trial (no code of it runs) with ``status``; True
        if it was one."""
        trial_id = trial.trial_id
        if trial_id not in self._released or trial_id in self._releasing \
                or trial_id not in self._alive:
            return False
        self._released.discard(trial_id)
        self._ended_released.add(trial_id)
        self._alive.discard(trial_id)
        if trial_id in self._ready:
            self._ready.remove(trial_id)
        if status is TrialStatus.CANCELLED and not error:
            error = self.stop_reason or "stopped by the user"
        self._end(trial, status, error if status is TrialStatus.CANCELLED else "")
        return True

    def on_side(self, trial: Trial, kind: str, data: Any) -> None:
        """What a trial tells besides reports (from its thread, never on the report path):
        ``("set", attrs)`` user attributes, ``("checkpoint", Checkpoint)`` a new checkpoint.

        A new checkpoint is the trial's ``new_checkpoint`` until its next report (or its end):
        it holds the epoch that report is about, so it becomes ``trial.checkpoint`` with it
        (``_take_new_checkpoint``) and storage records the two together. A crash between the
        save and the report leaves the stored reports with the checkpoint before, whose file
        is still there: a resumed trial never restores a state newer than its stored curve. A
        checkpoint replaced before any report was never recorded: its file goes now."""
        unrecorded = None
        with self._lock:
            if kind == "set":
                trial.user_attrs.update(data)
            elif kind == "checkpoint":
                if trial.trial_id in self._alive:
                    unrecorded = trial.new_checkpoint
                    trial.new_checkpoint = replace(data, reports=len(trial.reports))
                else:  # saved after the trial was ended (force-stopped): nobody takes it
                    unrecorded = data
            else:
                raise HPOError(f"unknown message {kind!r} from trial {trial.trial_id}")
        if kind == "checkpoint":
            if unrecorded is not None and unrecorded.path != data.path:
                remove(unrecorded)
            return  # the trial's record changes with its next report
        self.emit("trial_updated", trial, None)

    def _take_new_checkpoint(self, trial: Trial) -> Checkpoint | None:
        """Under the lock: the checkpoint saved since the last report becomes the trial's (at
        its next report, or when it ends); returns the file to delete now (nothing while the
        study is stored: storage still names the replaced one until its next write)."""
        new = trial.new_checkpoint
        if new is None:
            return None
        trial.new_checkpoint = None
        previous, trial.checkpoint = trial.checkpoint, new
        self._with_checkpoints.add(trial.trial_id)
        if previous is None or previous.path == new.path:
            return None
        return self._retire(trial.trial_id, previous)

    def _retire(self, trial_id: int, checkpoint: Checkpoint) -> Checkpoint | None:
        """Under the lock: trial ``trial_id`` no longer holds ``checkpoint``. Returned to be
        deleted now when nothing is stored; kept until storage has recorded the trial without
        it otherwise (``checkpoints_stored``)."""
        if not self.defer_removal:
            return checkpoint
        self._retired.setdefault(trial_id, []).append(checkpoint)
        return None

    def storage_halted(self) -> None:
        """Storage takes no more writes (its file was deleted, ...): nothing waits for it, so
        replaced checkpoint files go at once from now on."""
        with self._lock:
            self.defer_removal = False
            gone = [c for files in self._retired.values() for c in files]
            self._retired.clear()
        for checkpoint in gone:
            remove(checkpoint)

    def checkpoints_stored(self, records: Any) -> None:
        """Storage has just recorded ``records`` (the recorder's write): delete the files of
        those trials that the records no longer name."""
        gone = []
        with self._lock:
            if not self._retired:
                return
            for record in records:
                files = self._retired.get(record.trial_id)
                if not files:
                    continue
                named = None if record.checkpoint is None else record.checkpoint.path
                gone += [c for c in files if c.path != named]
                left = [c for c in files if c.path == named]
                if left:
                    self._retired[record.trial_id] = left
                else:
                    del self._retired[record.trial_id]
        for checkpoint in gone:
            remove(checkpoint)

    def _prune_checkpoints(self) -> list[tuple[Trial, Checkpoint]]:
        """Under the lock: forget the checkpoints no longer kept (see ``keeping.py``); the
        caller deletes the files outside the lock (``_drop_checkpoints``)."""
        if not self._with_checkpoints:
            return []
        holders = [self.trials[i] for i in sorted(self._with_checkpoints)]
        dropped = []
        for trial, checkpoint in self.keeper.prune(holders):
            trial.checkpoint = None
            self._with_checkpoints.discard(trial.trial_id)
            if trial.status.finished:
                self._records[trial.trial_id] = trial.freeze()
            dropped.append((trial, self._retire(trial.trial_id, checkpoint)))
        return dropped

    def _drop_checkpoints(self, dropped: list[tuple[Trial, Checkpoint | None]]) -> None:
        """Delete the files of ``_prune_checkpoints`` (a stored study's once storage has
        recorded it) and say that those trials changed (their stored records lose the
        checkpoint too)."""
        for trial, checkpoint in dropped:
            remove(checkpoint)
            self.emit("trial_updated", trial, None)
