"""The storage side of a live study: creating or leasing its stored copy (restoring the
trials of a resumed one), ending a stored study that never started, and its checkpoint
folder. A mixin of :class:`~jupyter_hpo.study.Study`."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import HPOError
from ..records import StudyRecord, finite_number, runs_again
from ..space import without_address

if TYPE_CHECKING:
    from ..storage import BaseStorage
    from ._study import Study

__all__ = ["StoredStudyMixin", "check_same_study", "is_storage", "storage_of"]

log = logging.getLogger(__name__)


class StoredStudyMixin:
    """Storage and checkpoints of a study."""

    resumed_from: StudyRecord | None = None
    """The stored study as it was before this study resumed it, without its trials (which the
    study holds): its state, settings and stop reason; ``None`` when it is not a resume."""

    @property
    def checkpoint_dir(self) -> str:
        """The folder of this study's trial checkpoints (next to its storage file)."""
        folder = getattr(self, "_checkpoint_dir", None)
        if folder is None:
            if self.storage is not None and self.study_id is not None:
                folder = self.storage.checkpoint_dir(self.study_id)
            else:
                from ..checkpoints import temporary_folder

                folder = temporary_folder()
            self._checkpoint_dir = folder
        return folder

    @property
    def unstored(self) -> str | None:
        """Why the ended study is not stored yet (its file locked by another process), while
        its writer still tries; ``None`` once it is stored, or when it keeps nothing."""
        recorder = getattr(self, "_recorder", None)
        return None if recorder is None else recorder.unstored

    def checkpoints_stored(self, records: Any) -> None:
        """The recorder stored ``records``: the checkpoint files they replaced can go."""
        if self.controller is not None:
            self.controller.checkpoints_stored(records)

    def storage_halted(self) -> None:
        """The recorder stopped writing for good: replaced checkpoint files go at once."""
        if self.controller is not None:
            self.controller.storage_halted()

    def checkpoint_use(self) -> tuple[int, int]:
        """``(files, bytes)`` of this study's checkpoints on disk."""
        from ..checkpoints import disk_use

        if self.controller is None and (self.storage is None or self.study_id is None):
            return 0, 0
        return disk_use(self.checkpoint_dir)

    def _attach_storage(self, stored: StudyRecord | None) -> None:
        """Create the stored study, or lease the stored one and restore its trials."""
        from ..recorder import StudyRecorder
        from ..trial import Trial

        storage = self.storage
        assert storage is not None and self.controller is not None
        if stored is None:
            record = storage.create_study(self.options.name, metric=self.metric,
                                          direction=self.direction, resource=self.resource,
                                          space=self.space, settings=self.settings)
            self.name, self.study_id = record.name, record.study_id
            written: dict[int, int] = {}
        else:
            check_same_study(stored, self)
            _refuse_running_here(storage, stored)
            self.resumed_from = replace(stored, trials=(), incumbents=())
            record = storage.acquire_study(stored.name, space=self.space)
            # from here on a failure (_undo_attach), or an end before it started
            # (_abandon_stored), gives its state and lease back (_give_back); its settings
            # are stored once it starts (_store_resumed_settings), so that a process killed
            # before leaves them as they were
            self.name, self.study_id = record.name, record.study_id
            gone = _checkpoints_gone(record)
            if gone:
                self.notes.append(_gone_note(record, gone, storage))
            trials = [Trial(t.trial_id, dict(t.config), status=t.status, reports=list(t.reports),
                            report_times=list(t.times), start_time=t.start_time,
                            end_time=t.end_time, error=t.error, traceback=t.traceback,
                            device=t.device, resources=t.resources, bracket=t.bracket,
                            last_resource=finite_number(t.last(self.resource)),
                            user_attrs=dict(t.user_attrs),
                            checkpoint=None if t.trial_id in gone else t.checkpoint,
                            enqueued=None if t.enqueued is None else dict(t.enqueued),
                            study_stopped=t.study_stopped)
                      for t in record.trials]
            self.controller.restore(trials, record.elapsed)
            from ..checkpoints import remove_orphans

            remove_orphans(storage.checkpoint_dir(record.study_id),
                           {t.checkpoint.file for t in record.trials if t.checkpoint})
            written = {t.trial_id: len(t.reports) for t in record.trials}
            self.created = record.created
        # a checkpoint file that a trial no longer holds goes once storage says so
        self.controller.defer_removal = True
        self._recorder = StudyRecorder(self, storage, record.study_id, written=written)

    def _store_resumed_settings(self) -> None:
        """A resumed study starts: its settings (the resume line's budget and method) replace
        the stored ones."""
        if self.resumed_from is not None and self.storage is not None \
                and self.study_id is not None:
            self.storage.update_settings(self.study_id, self.settings)

    def _undo_attach(self, stored: StudyRecord | None) -> None:
        """Setting the study up failed after it was stored: a new study, which holds nothing,
        is removed, a resumed one is given back as it was (``_give_back``), so that the
        corrected cell runs as if this one had not."""
        storage, study_id = self.storage, self.study_id
        if storage is None or study_id is None:
            return
        if self._recorder is not None:
            self._recorder.close()
        try:
            if stored is not None:
                self._give_back(storage, study_id, stored)
            else:
                storage.release_study(study_id)
                storage.delete_study(self.name)
        except HPOError:
            log.exception("jupyter_hpo: could not undo storing the study %s", self.name)

    def _abandon_stored(self, storage: BaseStorage, study_id: int, why: str) -> None:
        """The study ends before it started (an interrupt while the cell set it up, say): a new
        study, which holds nothing, is removed from storage so the same cell can run again; a
        resumed one, of which no trial ran here, is given back as it was (``_give_back``), as
        resumable as before. Either way its lease is given up."""
        if self._recorder is not None:
            self._recorder.close()
        try:
            if self.resumed_from is not None:
                self._give_back(storage, study_id, self.resumed_from)
            else:
                storage.release_study(study_id)
                storage.delete_study(self.name)
        except HPOError:
            log.exception("jupyter_hpo: could not end the stored study %s (%s)", self.name, why)

    @staticmethod
    def _give_back(storage: BaseStorage, study_id: int, stored: StudyRecord) -> None:
        """A resume that never started: the study's stored state, time spent, error and stop
        reason as they were before it (and its settings, which a failed start may have
        stored), and no lease (a study read as interrupted,
        whose kernel died, is written as running without one, which reads as interrupted)."""
        from ..storage import StudyUpdate

        storage.update_settings(study_id, stored.settings)
        storage.write(study_id, StudyUpdate(state=stored.state, elapsed=stored.elapsed,
                                            error=stored.error, stop_reason=stored.stop_reason))
        storage.release_study(study_id)


def _checkpoints_gone(record: StudyRecord) -> list[int]:
    """The interrupted trials whose stored checkpoint file is no longer on disk (deleted to
    free space, or the storage file moved without its checkpoint folder): they run again from
    their start, as trials without a checkpoint do, instead of failing in ``restore()``."""
    return [t.trial_id for t in record.trials if runs_again(t)
            and t.checkpoint is not None and not os.path.exists(t.checkpoint.path)]


def _gone_note(record: StudyRecord, gone: list[int], storage: BaseStorage) -> str:
    """What the study says when some interrupted trials lost their checkpoints."""
    many = len(gone) > 1
    ids = ", ".join(map(str, gone[:10])) + (", ..." if len(gone) > 10 else "")
    return (f"the checkpoint{'s' if many else ''} of interrupted trial{'s' if many else ''} "
            f"{ids} {'are' if many else 'is'} gone from {storage.checkpoint_dir(record.study_id)} "
            f"(deleted, or the storage file was moved without its .checkpoints folder): "
            f"{'they run' if many else 'it runs'} again from the start")


def _refuse_running_here(storage: BaseStorage, stored: StudyRecord) -> None:
    """A study that another Study of this process still runs (or still stores) is not
    resumed: both would write its trials, under the same lease."""
    from ..errors import command_word
    from ..recorder import recorder_holding

    holder = recorder_holding(storage, stored.study_id)
    if holder is None:
        return
    word = command_word(stored.name)
    if holder.study.done:
        why = (f"it ended in this kernel but is still being written to {storage.location} "
               f"(another process holds the file's write lock); resume it once that is done")
    else:
        why = (f"it is still running in this kernel: stop it (%hpo stop {word}, study.stop()) "
               f"and wait for it (%hpo wait {word}, study.wait()), then resume")
    raise HPOError(f"cannot resume study {stored.name!r}: {why}")


def is_storage(value: Any) -> bool:
    from ..storage import BaseStorage

    return isinstance(value, BaseStorage)


def storage_of(value: Any) -> BaseStorage | None:
    """``None`` keeps nothing; a location is opened; a storage object is used as it is."""
    if value is None or is_storage(value):
        return value
    from ..storage import open_storage

    return open_storage(value)


def check_same_study(stored: StudyRecord, study: Study) -> None:
    """Resuming needs the stored metric, mode, resource and space; say what differs."""
    changes = [f"{what} was {old!r} and is now {new!r}" for what, old, new in (
        ("the metric", stored.metric, study.metric),
        ("the mode", stored.direction.value, study.direction.value),
        ("the resource", stored.resource, study.resource)) if old != new]
    old_space = {name: domain.unnamed_repr() for name, domain in stored.space.items()}
    new_space = {name: domain.unnamed_repr() for name, domain in study.space.items()}
    for name in sorted(set(old_space) | set(new_space)):
        old, new = old_space.get(name, "absent"), new_space.get(name, "absent")
        if old != new:
            alike = " (they differ only in memory addresses, which change with every kernel: " \
                "some of its choices print alike without them, such as two lambdas; give " \
                "each a name with def)" if without_address(old) == without_address(new) else ""
            changes.append(f"{name} was {old} and is now {new}{alike}")
    if changes:
        raise HPOError(f"cannot resume {study.name!r}: " + "; ".join(changes) + ". Resume with "
                       f"the study's own settings, or start a new study with another --name "
                       f"that learns from this one's trials: --warm-start {study.name} "
                       f"(tune(warm_start={study.name!r}))")

