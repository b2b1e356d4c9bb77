"""The storage API that ``study.py`` and ``magic.py`` used before :class:`BaseStorage`.

OLD API, TO BE REMOVED when the study and the magics are ported to ``BaseStorage``: the
methods ``studies/find/get/unused_name/create/acquire/release/delete/trials`` (and
``update_settings``, which the new interface keeps) and the ``StoredStudy``/``StoredTrial``
classes. They are thin adapters over the new methods, so they get the new checks (damaged,
read-only, deleted files) and raise the same errors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..records import Direction, TrialRecord
from . import _common

if TYPE_CHECKING:
    from ..errors import DuplicateStudyError
    from ..space import Space

__all__ = ["LegacyStorageAPI", "StoredStudy", "StoredTrial"]


@dataclass
class StoredTrial:
    """OLD API (to be removed): a trial as stored, with the study-relative time of each
    report. Use :class:`~jupyter_hpo.records.TrialRecord`."""

    trial_id: int
    config: dict[str, Any]
    status: str
    start_time: float
    end_time: float | None
    error: str
    traceback: str
    device: str
    bracket: int
    reports: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, record: TrialRecord) -> StoredTrial:
        return cls(record.trial_id, dict(record.config), record.status.value,
                   record.start_time, record.end_time, record.error, record.traceback,
                   record.device, record.bracket, [dict(r) for r in record.reports],
                   list(record.times))


@dataclass
class StoredStudy:
    """OLD API (to be removed): a study's row; ``space`` is its JSON description. Use
    :class:`~jupyter_hpo.records.StudySummary` / ``StudyRecord``."""

    study_id: int
    name: str
    metric: str
    mode: str
    resource: str
    space: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    state: str
    created: float
    updated: float
    elapsed: float
    error: str
    owner: str | None
    heartbeat: float | None
    trials: int = 0
    best_value: float | None = None

    @property
    def live(self) -> bool:
        return _common.lease_alive(self.owner, self.heartbeat, time.time())

    @property
    def shown_state(self) -> str:
        """``running`` only while its kernel lives; a dead kernel's study is ``interrupted``."""
        if self.state == "running" and not self.live:
            return "interrupted"
        return self.state


class LegacyStorageAPI:
    """OLD API (to be removed when the study is ported): the methods ``study.py`` and
    ``magic.py`` call today, as adapters over the ``BaseStorage`` methods."""

    path: str  # the SQLite storage's file; the methods below use its private readers
    _file: Any

    def studies(self, name: str | None = None) -> list[StoredStudy]:
        """OLD API: every stored study (or the one called ``name``), oldest first."""
        with self._file.reading() as conn:
            if conn is None:
                return []
            where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
            rows = [self._study_row(r) for r in conn.execute(
                f"SELECT * FROM studies {where} ORDER BY study_id", params)]
            summaries = self._summaries(conn, rows)
        return [StoredStudy(row["study_id"], row["name"], row["metric"], row["mode"],
                            row["resource"], row["space"], row["settings"], row["state"].value,
                            row["created"], row["updated"], row["elapsed"], row["error"],
                            row["owner"], row["heartbeat"], summary.trials, summary.best_value)
                for row, summary in zip(rows, summaries)]

    def find(self, name: str) -> StoredStudy | None:
        """OLD API: ``find_study``."""
        found = self.studies(name)
        return found[0] if found else None

    def get(self, name: str) -> StoredStudy:
        """OLD API: the stored study ``name``; ``StudyNotFoundError`` listing the others."""
        study = self.find(name)
        if study is None:
            raise _common.not_found(self.path, name, [s.name for s in self.studies()])
        return study

    def unused_name(self, prefix: str = _common.DEFAULT_PREFIX) -> str:
        """OLD API (racy between processes: ``create_study(None, ...)`` is not)."""
        return _common.first_free_name((s.name for s in self.studies()), prefix)

    def create(self, name: str, metric: str, mode: str, resource: str, space: Space,
               settings: Mapping[str, Any]) -> int:
        """OLD API: ``create_study``; returns the study id."""
        return int(self.create_study(name, metric=metric, direction=Direction.of(mode),
                                     resource=resource, space=space,
                                     settings=settings).study_id)

    def name_taken(self, name: str) -> DuplicateStudyError:
        """OLD API."""
        return _common.name_taken(self.path, name)

    def acquire(self, name: str) -> StoredStudy:
        """OLD API: ``acquire_study``."""
        self.acquire_study(name)
        return self.get(name)

    def release(self, study_id: int) -> None:
        """OLD API: ``release_study``."""
        self.release_study(study_id)

    def delete(self, name: str) -> int:
        """OLD API: ``delete_study``."""
        return self.delete_study(name)

    def trials(self, study_id: int, space: Space | None = None) -> list[StoredTrial]:
        """OLD API: a study's trials in id order, each with its reports."""
        with self._file.reading() as conn:
            if conn is None:
                return []
            records = self._trial_records(conn, study_id, space, f"id {study_id}")
        return [StoredTrial.of(record) for record in records]
