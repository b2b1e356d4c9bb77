"""Studies kept in this process's memory: the storage of ``tune()`` runs that keep nothing on
disk, and the reference the SQLite storage is tested against.

Same semantics as :class:`~jupyter_hpo.storage.SQLiteStorage` (names, leases, resume, stop
requests, errors), with values encoded the same way; the study's own space is kept, so
categorical objects come back as the same objects. Leases are this process's: they matter
between the studies of one kernel and when ``owner`` is set to another process's id.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..checkpoints import remove_folder
from ..errors import StudyNotFoundError
from ..read_only import REPORT, read_only
from ..records import Direction, StudyRecord, StudyState, StudySummary, TrialRecord, TrialStatus
from ..space import Space
from . import _common
from ._base import BaseStorage, StudyUpdate
from ._codec import decode_config, decode_values, encode_value, same_domain

__all__ = ["InMemoryStorage"]


@dataclass
class _Trial:
    record: TrialRecord  # without config and reports, which are kept encoded below
    config: dict[str, Any]
    reports: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Study:
    study_id: int
    name: str
    metric: str
    direction: Direction
    resource: str
    space: Space
    settings: dict[str, Any]
    state: StudyState
    created: float
    updated: float
    owner: str | None
    heartbeat: float | None
    elapsed: float = 0.0
    error: str = ""
    stop_reason: str = ""
    stop_request: str | None = None
    trials: dict[int, _Trial] = field(default_factory=dict)
    queue: list[Any] = field(default_factory=list)  # encoded configurations


class InMemoryStorage(BaseStorage):
    """Studies in a dict, guarded by one lock. ``clock`` gives the time of heartbeats and
    timestamps (tests pass a fake one); ``owner`` is who takes leases (``host:pid``)."""

    def __init__(self, *, owner: str | None = None, clock: _common.Clock = time.time) -> None:
        self.location = ":memory:"
        self.owner = owner or _common.owner_id()
        self.read_only = False
        self.clock = clock
        self._lock = threading.RLock()
        self._studies: dict[str, _Study] = {}
        self._ids: dict[int, _Study] = {}
        self._next_id = 1

    # ------------------------------------------------------------------ reading
    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            return [self._summary(s) for s in sorted(self._ids.values(),
                                                     key=lambda s: s.study_id)]

    def find_study(self, name: str) -> StudySummary | None:
        with self._lock:
            study = self._studies.get(name)
            return None if study is None else self._summary(study)

    def load_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        with self._lock:
            return self._record(self._get(name), space)

    def _get(self, name: str) -> _Study:
        study = self._studies.get(name)
        if study is None:
            raise _common.not_found(self.location, name, [s.name for s in self._ordered()])
        return study

    def _ordered(self) -> list[_Study]:
        return sorted(self._ids.values(), key=lambda s: s.study_id)

    def _by_id(self, study_id: int) -> _Study:
        study = self._ids.get(study_id)
        if study is None:
            raise StudyNotFoundError(
                f"study id {study_id} is not in {self.location}: it was deleted")
        return study

    def _shown(self, study: _Study) -> StudyState:
        return _common.shown_state(study.state, study.owner, study.heartbeat, self.clock())

    def _trials(self, study: _Study, space: Space | None) -> tuple[TrialRecord, ...]:
        out = []
        for trial_id in sorted(study.trials):
            trial = study.trials[trial_id]
            seqs = sorted(trial.reports)
            enqueued = trial.record.enqueued
            out.append(replace(trial.record, config=decode_config(trial.config, space),
                                reports=tuple(read_only(decode_values(trial.reports[s][1]),
                                                        trial_id, REPORT) for s in seqs),
                                times=tuple(trial.reports[s][0] for s in seqs),
                                user_attrs=decode_values(trial.user_attrs),
                                enqueued=None if enqueued is None
                                else decode_config(enqueued, space)))
        return tuple(out)

    def _summary(self, study: _Study) -> StudySummary:
        best = study.direction.best(
            values.get(study.metric) for trial in study.trials.values()
            if trial.record.status is not TrialStatus.FAILED
            for _, values in trial.reports.values())
        state = self._shown(study)
        counts, spent = _common.shown_counts(
            ((t.record.status.value, t.record.study_stopped, 1) for t in study.trials.values()),
            state)
        return StudySummary(study.name, study.metric, study.direction, study.resource,
                            state, len(study.trials), best, study.created,
                            study.updated, study.elapsed, dict(study.settings), study.error,
                            study.stop_reason, study.owner, study.study_id, counts, spent)

    def _record(self, study: _Study, space: Space | None) -> StudyRecord:
        shown_space = study.space
        if space is not None:  # the caller's domains where they equal the stored ones
            shown_space = Space({n: space[n] if n in space and same_domain(space[n], repr(d), n)
                                 else d for n, d in study.space.items()})
        state = self._shown(study)
        trials = _common.shown_trials(self._trials(study, shown_space), state, study.heartbeat)
        return StudyRecord(study.name, study.metric, study.direction, study.resource,
                           shown_space, dict(study.settings), state, trials, study.elapsed,
                           study.error, study.stop_reason, study.created, study.updated,
                           study.owner, study.study_id,
                           queue=tuple(decode_config(c, shown_space) for c in study.queue))

    # ------------------------------------------------------------------ running
    def create_study(self, name: str | None, *, metric: str, direction: Direction,
                     resource: str, space: Space, settings: Mapping[str, Any]) -> StudyRecord:
        _common.check_name(name)
        with self._lock:
            if name is None:
                name = _common.first_free_name(self._studies)
            elif name in self._studies:
                held = self._studies[name]
                raise _common.name_taken(self.location, name, _common.running_by(
                    held.state, held.owner, held.heartbeat, self.clock(), self.owner))
            now = self.clock()
            study = _Study(self._next_id, name, metric, Direction.of(direction), resource,
                           space, _settings(settings), StudyState.CREATED, now, now,
                           self.owner, now)
            self._next_id += 1
            self._studies[name] = study
            self._ids[study.study_id] = study
            return self._record(study, None)

    def acquire_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        with self._lock:
            study = self._get(name)
            now = self.clock()
            if study.owner and study.owner != self.owner and \
                    _common.lease_alive(study.owner, study.heartbeat, now):
                raise _common.held_elsewhere(name, study.owner, study.heartbeat, now, "resume")
            ended_running = study.state.active  # its kernel ended while it ran
            for trial in study.trials.values():
                record = trial.record
                if not record.status.finished or ended_running and _common.cut_short(
                        record.status, record.study_stopped):
                    end = record.end_time if record.end_time is not None else \
                        study.heartbeat if study.heartbeat is not None else record.start_time
                    trial.record = replace(record, status=TrialStatus.INTERRUPTED,
                                            end_time=end, error=_common.INTERRUPTED_ERROR)
            study.owner, study.heartbeat, study.updated = self.owner, now, now
            study.stop_request = None
            study.state = StudyState.RUNNING  # as SQLiteStorage.acquire_study says why
            return self._record(study, space)

    def update_settings(self, study_id: int, settings: Mapping[str, Any]) -> None:
        with self._lock:
            study = self._by_id(study_id)
            study.settings = _settings(settings)
            study.updated = self.clock()

    def write(self, study_id: int, update: StudyUpdate) -> None:
        with self._lock:
            study = self._by_id(study_id)
            if study.owner and study.owner != self.owner:
                raise _common.lease_lost(study.name, study.owner)
            now = self.clock()
            for record in update.trials:
                trial = study.trials.get(record.trial_id)
                if trial is None:  # the configuration is kept as first stored
                    trial = study.trials[record.trial_id] = _Trial(
                        record, encode_value(dict(record.config)))
                trial.record = replace(record, reports=(), times=(), user_attrs={},
                                       enqueued=None if record.enqueued is None
                                       else encode_value(dict(record.enqueued)))
                trial.user_attrs = encode_value(dict(record.user_attrs))
                start = update.reports_from.get(record.trial_id, 0)
                for seq in range(start, min(len(record.reports), len(record.times))):
                    trial.reports.setdefault(  # a report already stored is kept
                        seq, (record.times[seq], encode_value(dict(record.reports[seq]))))
            if update.queue is not None:
                study.queue = [encode_value(dict(c)) for c in update.queue]
            if update.state is not None:
                study.state = _common.stored_state(update.state)
                study.elapsed, study.error = update.elapsed, update.error
                study.stop_reason = update.stop_reason
            if update.trials or update.state is not None:
                study.updated = now
            study.owner, study.heartbeat = self.owner, now

    def release_study(self, study_id: int) -> None:
        with self._lock:
            study = self._ids.get(study_id)
            if study is not None and study.owner == self.owner:
                study.owner = None

    # ------------------------------------------------------------------ control
    def request_stop(self, name: str, by: str) -> None:
        with self._lock:
            study = self._get(name)
            now = self.clock()
            alive = _common.lease_alive(study.owner, study.heartbeat, now)
            if not (alive and study.state in (StudyState.RUNNING, StudyState.CREATED)):
                raise _common.not_running(name, self._shown(study))
            if study.stop_request is None:
                study.stop_request = str(by)

    def stop_request(self, study_id: int) -> str | None:
        with self._lock:
            study = self._ids.get(study_id)
            return None if study is None else study.stop_request

    def delete_study(self, name: str) -> int:
        with self._lock:
            study = self._get(name)
            now = self.clock()
            if _common.lease_alive(study.owner, study.heartbeat, now):
                if study.owner != self.owner:
                    raise _common.held_elsewhere(name, study.owner or "", study.heartbeat, now,
                                                 "delete")
                if study.state in (StudyState.RUNNING, StudyState.CREATED):
                    raise _common.running_here(name)
            del self._studies[name], self._ids[study.study_id]
            folder = self.__dict__.get("_checkpoint_dirs", {}).pop(study.study_id, None)
            remove_folder(folder)  # its trials' checkpoints too
            return len(study.trials)


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(encode_value(dict(settings))))
