"""A SQLite file of studies: the studies, trials and reports, leases, resume, stop requests.

One file holds many studies. It runs in WAL mode so that readers (``%hpo list`` in another
notebook) never block the kernel that writes, and every write is one short ``BEGIN IMMEDIATE``
transaction, so several kernels can share a file. A study being run holds a *lease* (host,
process id and a heartbeat) so that a second kernel cannot run the same study at the same
time; a lease whose process has died (or whose heartbeat is old) is free again. Another
process asks a running study to stop with ``request_stop``; its recorder polls
``stop_request``.

What the file is and what its faults mean (not ours, damaged, too new, read-only, deleted or
replaced) is ``_sqlite_file.py``'s business: every write here goes through
``SQLiteFile.writing``, which refuses before anything is written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..checkpoints import Checkpoint, folder_for, remove_folder
from ..errors import StorageError, StudyNotFoundError
from ..read_only import REPORT, read_only
from ..records import Direction, StudyRecord, StudyState, StudySummary, TrialRecord, TrialStatus
from . import _common
from ._base import BaseStorage, StudyUpdate
from ._best import best_of, combined
from ._codec import (
    decode_config,
    decode_values,
    describe_space,
    dumps,
    dumps_config,
    dumps_values,
    space_from_description,
)
from ._schema import ADDED_COLUMNS
from ._sqlite_file import DEFAULT_FILE, SQLiteFile, default_storage_path, storage_path

if TYPE_CHECKING:
    from ..space import Space

__all__ = ["DEFAULT_FILE", "SQLiteStorage", "default_storage_path", "storage_path"]


class SQLiteStorage(BaseStorage):
    """A SQLite file of studies (created if missing when its folder is writable), shared by
    kernels and processes.

    ``timeout`` is how long a write waits for another process's transaction; ``read_only``
    opens the file for reading only (SQLite's ``mode=ro``: listings, ``show``, ``export``):
    nothing is ever written to it, a file of an older schema is read as it is, and every
    write is refused; ``owner`` and ``clock`` (who takes leases, the time of heartbeats) are
    for tests and for tools that act for another process.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None, *, timeout: float = 30.0,
                 read_only: bool = False, owner: str | None = None,
                 clock: _common.Clock = time.time) -> None:
        try:
            self._file = SQLiteFile(
                storage_path(location if location is not None else default_storage_path()),
                timeout, read_only)
        except StorageError as exc:
            if location is None and os.environ.get("JUPYTER_HPO_STORAGE"):
                exc.args = (_common.from_environment(str(exc)),)
            raise
        self.path = self.location = self._file.path
        self.owner = owner or _common.owner_id()
        self.clock = clock

    @property
    def read_only(self) -> bool:  # type: ignore[override]
        return self._file.read_only

    @property
    def file_writable(self) -> bool:
        """Whether this process may write the file, however it was opened (what the JupyterLab
        panel says of a file it reads with ``read_only=True``)."""
        return self._file.file_writable()

    @property
    def timeout(self) -> float:
        return self._file.timeout

    # ------------------------------------------------------------------ reading
    def list_studies(self) -> list[StudySummary]:
        with self._file.reading() as conn:
            if conn is None:
                return []
            rows = [self._study_row(r) for r in conn.execute(
                "SELECT * FROM studies ORDER BY study_id")]
            return self._summaries(conn, rows)

    def find_study(self, name: str) -> StudySummary | None:
        with self._file.reading() as conn:
            if conn is None:
                return None
            rows = [self._study_row(r) for r in conn.execute(
                "SELECT * FROM studies WHERE name = ?", (name,))]
            return self._summaries(conn, rows)[0] if rows else None

    def load_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        with self._file.reading() as conn:
            if conn is None:
                raise self.file_missing(name)
            return self._load(conn, self._row_named(conn, name), space)

    def _writing_named(self, name: str, doing: str
                       ) -> AbstractContextManager[sqlite3.Connection]:
        """A write to the stored study ``name``; where the file does not exist, neither does
        the study, and no file is created to say so."""
        if not self._file.present():
            raise self.file_missing(name)
        return self._file.writing(doing)

    def file_missing(self, name: str | None, hint: str = "") -> StudyNotFoundError:
        """The error for the study ``name`` looked up while this storage's file does not
        exist (every command and ``Study.load`` say the same)."""
        return _common.missing_file(self.path, name,
                                    self.path == storage_path(default_storage_path()), hint)

    def _row_named(self, conn: sqlite3.Connection, name: str) -> dict[str, Any]:
        found = conn.execute("SELECT * FROM studies WHERE name = ?", (name,)).fetchone()
        if found is None:
            names = [r[0] for r in conn.execute("SELECT name FROM studies ORDER BY study_id")]
            raise _common.not_found(self.path, name, names)
        return self._study_row(found)

    def _study_row(self, found: sqlite3.Row) -> dict[str, Any]:
        """A study's row, decoded (columns an old read-only file lacks take their default)."""
        row = {**ADDED_COLUMNS, **dict(found)}
        try:
            row["space"] = json.loads(row["space"])
            row["settings"] = json.loads(row["settings"])
            row["direction"] = Direction.of(row["mode"])
            row["state"] = StudyState(row["state"])
            for key in ("created", "updated", "elapsed"):
                row[key] = float(row[key])
            if not isinstance(row["space"], dict) or not isinstance(row["settings"], dict):
                raise TypeError("its space and settings must be JSON objects")
        except (KeyError, TypeError, ValueError) as exc:
            raise self._file.corrupt_row(f"the row of study {row.get('name')!r}", exc) from None
        return row

    def _summaries(self, conn: sqlite3.Connection,
                   rows: list[dict[str, Any]]) -> list[StudySummary]:
        if not rows:
            return []
        by_id = {row["study_id"]: row for row in rows}
        if len(rows) == 1:
            where, params = "WHERE r.study_id = ? AND", (rows[0]["study_id"],)
        else:
            where, params = "WHERE", ()
        # an old file read without migrating has no study_stopped (all 0)
        stopped, by = ("study_stopped", ", study_stopped") if self._file.version >= 4 \
            else ("0", "")
        # each trial's best value is stored with it (schema 5); the reports are read only of
        # trials with reports it does not count (best_pending: written by an older
        # jupyter_hpo), and of every trial of an old file read without migrating
        kept = self._file.version >= 5
        bests = "MIN(best), MAX(best), MAX(best_pending)" if kept else "NULL, NULL, 1"
        groups: dict[int, list[tuple[str, bool, int]]] = {}
        best: dict[int, float | None] = {}
        pending: set[int] = set()
        for study_id, status, study_stopped, n, low, high, unsure in conn.execute(
                f"SELECT study_id, status, {stopped}, COUNT(*), {bests} FROM trials r "
                f"{where} 1 GROUP BY study_id, status{by}", params):
            groups.setdefault(study_id, []).append((status, bool(study_stopped), int(n)))
            row = by_id.get(study_id)
            if row is not None and status != TrialStatus.FAILED.value:
                best[study_id] = row["direction"].best((best.get(study_id), low, high))
                if unsure:
                    pending.add(study_id)
        if pending:
            only = "t.best_pending = 1 AND" if kept else ""
            for study_id, value in self._best_from_reports(conn, by_id, f"{where} {only}",
                                                           params).items():
                if study_id in pending:
                    best[study_id] = by_id[study_id]["direction"].best(
                        (best.get(study_id), value))
        now = self.clock()
        summaries = []
        for row in rows:
            state = _common.shown_state(row["state"], row["owner"], row["heartbeat"], now)
            found = groups.get(row["study_id"], [])
            try:
                counts, spent = _common.shown_counts(found, state)
            except ValueError as exc:
                raise self._file.corrupt_row(f"a trial of study {row['name']!r}", exc) from None
            summaries.append(StudySummary(
                row["name"], row["metric"], row["direction"], row["resource"], state,
                sum(n for _, _, n in found), best.get(row["study_id"]), row["created"],
                row["updated"], row["elapsed"], row["settings"], row["error"],
                row["stop_reason"], row["owner"], row["study_id"], counts, spent))
        return summaries

    def _best_from_reports(self, conn: sqlite3.Connection, by_id: dict[int, dict[str, Any]],
                           where: str, params: tuple[Any, ...]) -> dict[int, float | None]:
        """Each study's best value from the reports of its trials that ``where`` picks (it
        ends in ``WHERE`` or ``AND``; failed trials are left out)."""
        best: dict[int, float | None] = {}
        for study_id, values in conn.execute(
                "SELECT r.study_id, r.\"values\" FROM reports r JOIN trials t "
                f"USING (study_id, trial_id) {where} t.status != 'failed'", params):
            row = by_id.get(study_id)
            if row is None:
                continue
            try:
                value = decode_values(values).get(row["metric"])
            except (AttributeError, TypeError, ValueError) as exc:
                raise self._file.corrupt_row(f"a report of study {row['name']!r}", exc) from None
            best[study_id] = row["direction"].best((best.get(study_id), value))
        return best

    def _load(self, conn: sqlite3.Connection, row: dict[str, Any],
              like: Space | None) -> StudyRecord:
        try:
            space = space_from_description(row["space"], like=like)
        except (TypeError, ValueError) as exc:
            if "upgrade" in str(exc):
                raise StorageError(f"study {row['name']!r} in {self.path}: {exc}") from None
            raise self._file.corrupt_row(f"the space of study {row['name']!r}", exc) from None
        state = _common.shown_state(row["state"], row["owner"], row["heartbeat"], self.clock())
        trials = _common.shown_trials(self._trial_records(conn, row["study_id"], space,
                                                          row["name"]), state, row["heartbeat"])
        try:
            queue = tuple(decode_config(dict(c), space) for c in json.loads(row["queue"]))
        except (TypeError, ValueError) as exc:
            raise self._file.corrupt_row(f"the queue of study {row['name']!r}", exc) from None
        return StudyRecord(row["name"], row["metric"], row["direction"], row["resource"], space,
                           row["settings"], state, trials, row["elapsed"], row["error"],
                           row["stop_reason"], row["created"], row["updated"], row["owner"],
                           row["study_id"], queue=queue)

    def checkpoint_dir(self, study_id: int) -> str:
        """Where study ``study_id`` keeps its trials' checkpoints: next to the file."""
        return folder_for(self.path, study_id)

    def _trial_records(self, conn: sqlite3.Connection, study_id: int, space: Space | None,
                       name: str) -> tuple[TrialRecord, ...]:
        reports: dict[int, list[tuple[float, dict[str, Any]]]] = {}
        trials = []
        folder = self.checkpoint_dir(study_id)
        try:
            for trial_id, at, values in conn.execute(
                    "SELECT trial_id, time, \"values\" FROM reports WHERE study_id = ? "
                    "ORDER BY trial_id, seq", (study_id,)):
                reports.setdefault(trial_id, []).append(
                    (float(at), read_only(decode_values(values), trial_id, REPORT)))
            for found in conn.execute("SELECT * FROM trials WHERE study_id = ? "
                                      "ORDER BY trial_id", (study_id,)):
                row = {**ADDED_COLUMNS, **dict(found)}
                done = reports.get(row["trial_id"], [])
                enqueued = row["enqueued"]
                trials.append(TrialRecord(
                    int(row["trial_id"]), decode_config(row["config"], space),
                    TrialStatus(row["status"]), tuple(v for _, v in done),
                    tuple(t for t, _ in done), float(row["start_time"]),
                    None if row["end_time"] is None else float(row["end_time"]),
                    row["error"], row["traceback"], row["device"], row["resources"],
                    int(row["bracket"]), 0, decode_values(row["user_attrs"]),
                    None if row["checkpoint"] is None else Checkpoint.from_json(
                        json.loads(row["checkpoint"]), folder),
                    None if enqueued is None else decode_config(enqueued, space),
                    bool(row["study_stopped"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._file.corrupt_row(f"a trial of study {name!r}", exc) from None
        return tuple(trials)

    # ------------------------------------------------------------------ running
    def create_study(self, name: str | None, *, metric: str, direction: Direction,
                     resource: str, space: Space, settings: Mapping[str, Any]) -> StudyRecord:
        _common.check_name(name)
        direction = Direction.of(direction)
        described, stored_settings = json.dumps(describe_space(space)), dumps(dict(settings))
        with self._file.writing("create a study in") as conn:
            taken = [r[0] for r in conn.execute("SELECT name FROM studies")]
            if name is None:
                name = _common.first_free_name(taken)
            elif name in taken:
                state, owner, heartbeat = conn.execute(
                    "SELECT state, owner, heartbeat FROM studies WHERE name = ?",
                    (name,)).fetchone()
                raise _common.name_taken(self.path, name, _common.running_by(
                    StudyState(state), owner, heartbeat, self.clock(), self.owner))
            now = self.clock()
            cursor = conn.execute(
                "INSERT INTO studies (name, metric, mode, resource, space, settings, state, "
                "created, updated, owner, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, metric, direction.value, resource, described, stored_settings,
                 StudyState.CREATED.value, now, now, self.owner, now))
            study_id = int(cursor.lastrowid)
        return StudyRecord(name, metric, direction, resource, space, json.loads(stored_settings),
                           StudyState.CREATED, (), created=now, updated=now, owner=self.owner,
                           study_id=study_id)

    def acquire_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        with self._writing_named(name, "resume a study in") as conn:
            row = self._row_named(conn, name)
            now = self.clock()
            owner, heartbeat = row["owner"], row["heartbeat"]
            if owner and owner != self.owner and _common.lease_alive(owner, heartbeat, now):
                raise _common.held_elsewhere(name, owner, heartbeat, now, "resume")
            # it reads as running (and takes stop requests) from now on, not from its first
            # write; a resume whose setup fails writes its old state back (_undo_attach)
            conn.execute("UPDATE studies SET owner = ?, heartbeat = ?, updated = ?, "
                         "stop_request = NULL, state = ? WHERE study_id = ?",
                         (self.owner, now, now, StudyState.RUNNING.value, row["study_id"]))
            # its kernel ended while it ran: the trials that end cut short are interrupted
            # (_common.cut_short), as they were shown
            conn.execute("UPDATE trials SET status = 'interrupted', end_time = "
                         "COALESCE(end_time, ?, start_time), error = ? WHERE study_id = ? AND "
                         "(status IN ('running', 'paused') OR (? AND status = 'cancelled' AND "
                         "study_stopped = 1))",
                         (heartbeat, _common.INTERRUPTED_ERROR, row["study_id"],
                          row["state"].active))
            return self._load(conn, self._row_named(conn, name), space)

    def _missing_id(self, study_id: int) -> StudyNotFoundError:
        return StudyNotFoundError(f"study id {study_id} is not in {self.path}: it was deleted")

    def update_settings(self, study_id: int, settings: Mapping[str, Any]) -> None:
        stored = dumps(dict(settings))
        with self._file.writing("update a study in") as conn:
            if not conn.execute("UPDATE studies SET settings = ?, updated = ? WHERE study_id = ?",
                                (stored, self.clock(), study_id)).rowcount:
                raise self._missing_id(study_id)

    def write(self, study_id: int, update: StudyUpdate) -> None:
        trial_rows, report_rows, new_reports = [], [], []
        for t in update.trials:
            trial_rows.append([study_id, t.trial_id, dumps_config(t.config), t.status.value,
                               t.start_time, t.end_time, t.error, t.traceback, str(t.device),
                               str(t.resources), t.bracket, dumps_values(t.user_attrs),
                               None if t.checkpoint is None else dumps(t.checkpoint.to_json()),
                               None if t.enqueued is None else dumps_config(t.enqueued),
                               int(t.study_stopped)])
            new = range(update.reports_from.get(t.trial_id, 0), min(len(t.reports), len(t.times)))
            new_reports.append(([t.reports[seq] for seq in new], new.stop))
            for seq in new:
                report_rows.append((study_id, t.trial_id, seq, t.times[seq],
                                    dumps_values(t.reports[seq])))
        with self._file.writing("write a study to") as conn:
            found = conn.execute("SELECT name, owner, metric, mode FROM studies WHERE "
                                 "study_id = ?", (study_id,)).fetchone()
            if found is None:
                raise self._missing_id(study_id)
            if found["owner"] and found["owner"] != self.owner:
                raise _common.lease_lost(found["name"], found["owner"])
            direction = Direction.of(found["mode"])
            for row, (reports, end) in zip(trial_rows, new_reports, strict=True):
                row += [best_of(reports, found["metric"], direction), end]
            conn.executemany(
                "INSERT INTO trials (study_id, trial_id, config, status, start_time, end_time, "
                "error, traceback, device, resources, bracket, user_attrs, checkpoint, "
                "enqueued, study_stopped, best, best_reports) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(study_id, trial_id) DO UPDATE SET status = excluded.status, start_time = "
                "excluded.start_time, end_time = excluded.end_time, error = excluded.error, "
                "traceback = excluded.traceback, device = excluded.device, resources = "
                "excluded.resources, bracket = excluded.bracket, user_attrs = "
                "excluded.user_attrs, checkpoint = excluded.checkpoint, study_stopped = "
                f"excluded.study_stopped, {combined(direction)}", trial_rows)
            conn.executemany("INSERT OR IGNORE INTO reports (study_id, trial_id, seq, time, "
                             "\"values\") VALUES (?, ?, ?, ?, ?)", report_rows)
            now = self.clock()
            if update.queue is not None:
                conn.execute("UPDATE studies SET queue = ? WHERE study_id = ?",
                             (dumps([dict(c) for c in update.queue]), study_id))
            if update.state is not None:
                conn.execute("UPDATE studies SET state = ?, elapsed = ?, error = ?, "
                             "stop_reason = ?, updated = ?, owner = ?, heartbeat = ? "
                             "WHERE study_id = ?",
                             (_common.stored_state(update.state).value, update.elapsed,
                              update.error, update.stop_reason, now, self.owner, now, study_id))
            else:
                conn.execute("UPDATE studies SET owner = ?, heartbeat = ?, updated = "
                             "CASE WHEN ? THEN ? ELSE updated END WHERE study_id = ?",
                             (self.owner, now, bool(trial_rows), now, study_id))

    def release_study(self, study_id: int) -> None:
        with self._file.writing("release a study in") as conn:
            conn.execute("UPDATE studies SET owner = NULL WHERE study_id = ? AND owner = ?",
                         (study_id, self.owner))

    # ------------------------------------------------------------------ control
    def request_stop(self, name: str, by: str) -> None:
        with self._writing_named(name, "ask a study to stop in") as conn:
            row = self._row_named(conn, name)
            now = self.clock()
            alive = _common.lease_alive(row["owner"], row["heartbeat"], now)
            if not (alive and row["state"] in (StudyState.RUNNING, StudyState.CREATED)):
                raise _common.not_running(name, _common.shown_state(
                    row["state"], row["owner"], row["heartbeat"], now))
            conn.execute("UPDATE studies SET stop_request = COALESCE(stop_request, ?) "
                         "WHERE study_id = ?", (str(by), row["study_id"]))

    def stop_request(self, study_id: int) -> str | None:
        with self._file.reading() as conn:
            if conn is None or self._file.version < 2:
                return None
            found = conn.execute("SELECT stop_request FROM studies WHERE study_id = ?",
                                 (study_id,)).fetchone()
            return None if found is None else found[0]

    def delete_study(self, name: str) -> int:
        with self._writing_named(name, "delete a study from") as conn:
            row = self._row_named(conn, name)
            now = self.clock()
            if _common.lease_alive(row["owner"], row["heartbeat"], now):
                if row["owner"] != self.owner:
                    raise _common.held_elsewhere(name, row["owner"], row["heartbeat"], now,
                                                 "delete")
                if row["state"] in (StudyState.RUNNING, StudyState.CREATED):
                    raise _common.running_here(name)
            count = conn.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?",
                                 (row["study_id"],)).fetchone()[0]
            conn.execute("DELETE FROM studies WHERE study_id = ?", (row["study_id"],))
        remove_folder(self.checkpoint_dir(row["study_id"]))  # its trials' checkpoints too
        return int(count)
