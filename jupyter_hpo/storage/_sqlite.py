"""A SQLite file of studies: file checks, leases, resume, stop requests.

One file holds many studies. It runs in WAL mode so that readers (``%hpo list`` in another
notebook) never block the kernel that writes, and every write is one short ``BEGIN IMMEDIATE``
transaction, so several kernels can share a file. A study being run holds a *lease* (host,
process id and a heartbeat) so that a second kernel cannot run the same study at the same
time; a lease whose process has died (or whose heartbeat is old) is free again.

Faults are refused or reported at once, never written: a file that is not ours, damaged
(``PRAGMA quick_check`` runs before this object's first write), of a newer schema, read-only
(it is then opened read-only, so it can still be listed and loaded), or deleted or replaced
after it was opened (never recreated). Every ``sqlite3`` error becomes a ``StorageError`` that
names the file.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import (
    StorageDamagedError,
    StorageError,
    StorageGoneError,
    StorageReadOnlyError,
    StudyNotFoundError,
)
from ..records import Direction, StudyRecord, StudyState, StudySummary, TrialRecord, TrialStatus
from . import _common
from ._base import BaseStorage, StudyUpdate
from ._codec import (
    decode_config,
    decode_values,
    describe_space,
    dumps,
    dumps_config,
    dumps_values,
    space_from_description,
)
from ._legacy import LegacyStorageAPI
from ._schema import ADDED_COLUMNS, APPLICATION_ID, MIGRATIONS, SCHEMA, SCHEMA_VERSION, statements

if TYPE_CHECKING:
    from ..space import Space

__all__ = ["DEFAULT_FILE", "SQLiteStorage", "default_storage_path", "storage_path"]

DEFAULT_FILE = "jupyter_hpo.db"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def default_storage_path() -> str:
    """``$JUPYTER_HPO_STORAGE`` if set, else ``jupyter_hpo.db`` in the working directory."""
    return os.environ.get("JUPYTER_HPO_STORAGE") or DEFAULT_FILE


def storage_path(location: str | os.PathLike[str]) -> str:
    """The absolute path of a SQLite storage given as a path, ``sqlite:///relative/path``,
    ``sqlite:////absolute/path`` or ``file:///absolute/path``; any other URL is refused."""
    text = os.fspath(location)
    match = _URL.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("sqlite", "file"):
            raise StorageError(f"only SQLite files are supported as storage (got {text}): pass "
                               f"a file path or sqlite:///path")
        rest = text[match.end():]
        if scheme == "file":
            if rest and not rest.startswith("/"):
                raise StorageError(f"{text} names a file on another machine ({rest.split('/')[0]}"
                                   f"): pass a local file path or sqlite:///path")
            text = rest
        else:
            text = rest.removeprefix("/")
    if not text.strip():
        raise StorageError(f"the storage path is empty (got {os.fspath(location)!r}): pass a "
                           f"file name such as studies.db")
    return os.path.abspath(os.path.expanduser(text))


class SQLiteStorage(LegacyStorageAPI, BaseStorage):
    """A SQLite file of studies (created if missing when its folder is writable).

    ``timeout`` is how long a write waits for another process's transaction; ``owner`` and
    ``clock`` (who takes leases, the time of heartbeats) are for tests and for tools that
    act for another process.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None, *, timeout: float = 30.0,
                 owner: str | None = None, clock: _common.Clock = time.time) -> None:
        self.path = storage_path(location if location is not None else default_storage_path())
        self.location = self.path
        self.owner = owner or _common.owner_id()
        self.clock = clock
        self.timeout = float(timeout)
        self.read_only = False
        self._immutable = False  # read-only with no -shm possible: read the file as it is
        self._version = SCHEMA_VERSION
        self._identity: tuple[int, int] | None = None
        self._checked = False  # quick_check passed (it runs before this object's first write)
        self._check_lock = threading.Lock()
        self._open()

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise StorageError(f"cannot create {self.path}: the folder {folder} does not exist")
        if os.path.isdir(self.path):
            raise StorageError(f"{self.path} is a folder: pass a file path such as "
                               f"{os.path.join(self.path, DEFAULT_FILE)}")
        exists = os.path.exists(self.path)
        if exists and not os.access(self.path, os.R_OK):
            raise StorageError(f"{self.path} cannot be read (permission denied): pass another "
                               f"file with --storage")
        self.read_only = not self._writable(exists)
        if not exists and self.read_only:
            return  # nothing stored here and nothing can be: reads see no studies
        try:
            conn = self._read_only_connection() if self.read_only else sqlite3.connect(
                self._uri("rw" if exists else "rwc"), uri=True, timeout=self.timeout,
                isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        try:
            self._prepare(conn)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        finally:
            conn.close()
        stat = os.stat(self.path)
        self._identity = (stat.st_dev, stat.st_ino)

    def _writable(self, exists: bool) -> bool:
        folder = os.path.dirname(self.path)
        folder_ok = os.access(folder, os.W_OK | os.X_OK)
        if not exists:
            return folder_ok
        if not os.access(self.path, os.W_OK):
            return False
        # WAL keeps -wal and -shm files beside the database: they must be creatable or exist
        return folder_ok or all(os.access(self.path + s, os.W_OK) for s in ("-wal", "-shm"))

    def _uri(self, mode: str) -> str:
        uri = f"{Path(self.path).as_uri()}?mode={mode}"
        return uri + "&immutable=1" if mode == "ro" and self._immutable else uri

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check what the file is; create the schema in an empty file, migrate an older one
        (in one transaction, after a quick_check), refuse anything else untouched."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        if (tables or app_id) and app_id != APPLICATION_ID:
            shown = f"tables: {', '.join(sorted(tables)[:6])}" if tables else f"id {app_id:#x}"
            raise StorageError(
                f"{self.path} is a SQLite database of another program ({shown}), not "
                f"jupyter_hpo storage; pass another file with --storage (the file was left "
                f"untouched)")
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer jupyter_hpo (storage schema {version}, "
                f"this version reads up to {SCHEMA_VERSION}): upgrade jupyter_hpo to open it "
                f"(the file was left untouched)")
        if tables and version < 1:
            raise StorageDamagedError(self._damaged("it has tables but no schema version"))
        if self.read_only:
            self._version = version if tables else SCHEMA_VERSION
            return
        if not tables:
            self._create_schema(conn)
        elif version < SCHEMA_VERSION:
            self._quick_check(conn)
            with _transaction(conn):
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                for step in range(current, SCHEMA_VERSION):
                    for statement in statements(MIGRATIONS[step]):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._quick_check(conn)
            conn.execute("PRAGMA journal_mode = WAL")

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        with _transaction(conn):
            # another process may have made it since we looked
            if not conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for statement in statements(SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("PRAGMA journal_mode = WAL")

    def _read_only_connection(self) -> sqlite3.Connection:
        """A read-only connection; when the folder is read-only too and the WAL index (-shm)
        cannot be created, the file is read as it is (``immutable=1``: what other processes
        have not checkpointed yet is not seen)."""
        if not self._immutable:
            conn = sqlite3.connect(self._uri("ro"), uri=True, timeout=self.timeout,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "readonly" not in str(exc) and "unable to open" not in str(exc):
                    raise
                self._immutable = True
        return sqlite3.connect(self._uri("ro"), uri=True, timeout=self.timeout,
                               isolation_level=None, check_same_thread=False)

    # ------------------------------------------------------------------ sessions
    def _check_identity(self) -> None:
        """The file must still be the one opened (not deleted, not replaced)."""
        if self._identity is None:
            return
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise self._gone("deleted") from None
        except OSError as exc:
            raise StorageError(f"{self.path} cannot be reached: {exc}") from None
        if (stat.st_dev, stat.st_ino) != self._identity:
            raise self._gone("replaced by another file")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection to read with (``None``: a read-only storage with no file)."""
        self._check_identity()
        if self._identity is None:
            yield None
            return
        try:
            conn = self._read_only_connection() if self.read_only else sqlite3.connect(
                self._uri("rw"), uri=True, timeout=self.timeout, isolation_level=None,
                check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                yield conn
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None

    @contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, refused before anything is written if the file
        is read-only, gone or damaged."""
        self._check_identity()
        if self.read_only:
            raise self._read_only(doing)
        try:
            conn = sqlite3.connect(self._uri("rw"), uri=True, timeout=self.timeout,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA foreign_keys = ON")
                self._quick_check(conn)
                with _transaction(conn):
                    self._check_identity()  # the file connected to is the one opened
                    yield conn
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        if self._checked:
            return
        with self._check_lock:
            if self._checked:
                return
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                lines = [line.strip() for text in problems for line in str(text).splitlines()
                         if line.strip() and not line.startswith("***")]
                raise StorageDamagedError(self._damaged("quick_check: " + "; ".join(lines[:3])))
            self._checked = True

    # -------------------------------------------------------------------- errors
    def _damaged(self, detail: str) -> str:
        return (f"{self.path} is damaged ({detail}); nothing was written to it. Recover what "
                f"can be read with `sqlite3 {self.path} .recover | sqlite3 recovered.db`, or "
                f"pass another file with --storage")

    def _read_only(self, doing: str) -> StorageReadOnlyError:
        self.read_only = True
        if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
            where = self.path
        else:
            where = f"the folder {os.path.dirname(self.path)}"
        return StorageReadOnlyError(
            f"cannot {doing} {self.path}: the storage is read-only (permission denied on "
            f"{where}); its studies can still be listed and loaded: pass another --storage to "
            f"store new results")

    def _gone(self, how: str) -> StorageGoneError:
        return StorageGoneError(
            f"the storage file {self.path} was {how} after it was opened; it is not recreated "
            f"and nothing is written anywhere else", location=self.path, how=how)

    def _error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        """The ``StorageError`` that says what ``exc`` means for this file."""
        code = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if "NOTADB" in code or "not a database" in text:
            return StorageDamagedError(
                f"{self.path} cannot be used as jupyter_hpo storage: {text}. It is not a "
                f"SQLite file, or it is damaged; pass another file with --storage (the file "
                f"was left untouched)")
        if "CORRUPT" in code or "malformed" in text or "decode" in text:
            return StorageDamagedError(self._damaged(text))
        if "READONLY" in code or "readonly" in text:
            return self._read_only(doing)
        if "BUSY" in code or "LOCKED" in code or "locked" in text:
            return StorageError(f"cannot {doing} {self.path}: another process kept it locked "
                                f"for more than {self.timeout:g} s ({text}); nothing was "
                                f"written, try again")
        if "FULL" in code or "full" in text:
            return StorageError(f"cannot {doing} {self.path}: the disk is full ({text}); "
                                f"nothing was written")
        if self._identity is not None and not os.path.exists(self.path):
            return self._gone("deleted")
        return StorageError(f"cannot {doing} {self.path}: {text}")

    def _corrupt_row(self, what: str, exc: Exception) -> StorageDamagedError:
        return StorageDamagedError(self._damaged(f"{what} cannot be read: {exc}"))

    # ------------------------------------------------------------------ reading
    def list_studies(self) -> list[StudySummary]:
        with self._reading() as conn:
            if conn is None:
                return []
            rows = [self._study_row(r) for r in conn.execute(
                "SELECT * FROM studies ORDER BY study_id")]
            return self._summaries(conn, rows)

    def find_study(self, name: str) -> StudySummary | None:
        with self._reading() as conn:
            if conn is None:
                return None
            rows = [self._study_row(r) for r in conn.execute(
                "SELECT * FROM studies WHERE name = ?", (name,))]
            return self._summaries(conn, rows)[0] if rows else None

    def load_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        with self._reading() as conn:
            if conn is None:
                raise _common.not_found(self.path, name, [])
            return self._load(conn, self._row_named(conn, name), space)

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
            raise self._corrupt_row(f"the row of study {row.get('name')!r}", exc) from None
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
        counts = dict(conn.execute(f"SELECT study_id, COUNT(*) FROM trials r "
                                   f"{where} 1 GROUP BY study_id", params).fetchall())
        best: dict[int, float | None] = {}
        for study_id, values in conn.execute(
                "SELECT r.study_id, r.\"values\" FROM reports r JOIN trials t "
                f"USING (study_id, trial_id) {where} t.status != 'failed'", params):
            row = by_id.get(study_id)
            if row is None:
                continue
            try:
                value = json.loads(values).get(row["metric"])
            except (AttributeError, TypeError, ValueError) as exc:
                raise self._corrupt_row(f"a report of study {row['name']!r}", exc) from None
            best[study_id] = row["direction"].best((best.get(study_id), value))
        now = self.clock()
        return [StudySummary(
            row["name"], row["metric"], row["direction"], row["resource"],
            _common.shown_state(row["state"], row["owner"], row["heartbeat"], now),
            counts.get(row["study_id"], 0), best.get(row["study_id"]), row["created"],
            row["updated"], row["elapsed"], row["settings"], row["error"], row["stop_reason"],
            row["owner"], row["study_id"]) for row in rows]

    def _load(self, conn: sqlite3.Connection, row: dict[str, Any],
              like: Space | None) -> StudyRecord:
        try:
            space = space_from_description(row["space"], like=like)
        except (TypeError, ValueError) as exc:
            if "upgrade" in str(exc):
                raise StorageError(f"study {row['name']!r} in {self.path}: {exc}") from None
            raise self._corrupt_row(f"the space of study {row['name']!r}", exc) from None
        trials = self._trial_records(conn, row["study_id"], space, row["name"])
        state = _common.shown_state(row["state"], row["owner"], row["heartbeat"], self.clock())
        return StudyRecord(row["name"], row["metric"], row["direction"], row["resource"], space,
                           row["settings"], state, trials, row["elapsed"], row["error"],
                           row["stop_reason"], row["created"], row["updated"], row["owner"],
                           row["study_id"])

    def _trial_records(self, conn: sqlite3.Connection, study_id: int, space: Space | None,
                       name: str) -> tuple[TrialRecord, ...]:
        reports: dict[int, list[tuple[float, dict[str, Any]]]] = {}
        trials = []
        try:
            for trial_id, at, values in conn.execute(
                    "SELECT trial_id, time, \"values\" FROM reports WHERE study_id = ? "
                    "ORDER BY trial_id, seq", (study_id,)):
                reports.setdefault(trial_id, []).append((float(at), decode_values(values)))
            for found in conn.execute("SELECT * FROM trials WHERE study_id = ? "
                                      "ORDER BY trial_id", (study_id,)):
                row = {**ADDED_COLUMNS, **dict(found)}
                done = reports.get(row["trial_id"], [])
                trials.append(TrialRecord(
                    int(row["trial_id"]), decode_config(row["config"], space),
                    TrialStatus(row["status"]), tuple(v for _, v in done),
                    tuple(t for t, _ in done), float(row["start_time"]),
                    None if row["end_time"] is None else float(row["end_time"]),
                    row["error"], row["traceback"], row["device"], row["resources"],
                    int(row["bracket"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._corrupt_row(f"a trial of study {name!r}", exc) from None
        return tuple(trials)

    # ------------------------------------------------------------------ running
    def create_study(self, name: str | None, *, metric: str, direction: Direction,
                     resource: str, space: Space, settings: Mapping[str, Any]) -> StudyRecord:
        direction = Direction.of(direction)
        described, stored_settings = json.dumps(describe_space(space)), dumps(dict(settings))
        with self._writing("create a study in") as conn:
            taken = [r[0] for r in conn.execute("SELECT name FROM studies")]
            if name is None:
                name = _common.first_free_name(taken)
            elif name in taken:
                raise _common.name_taken(self.path, name)
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
        with self._writing("resume a study in") as conn:
            row = self._row_named(conn, name)
            now = self.clock()
            owner, heartbeat = row["owner"], row["heartbeat"]
            if owner and owner != self.owner and _common.lease_alive(owner, heartbeat, now):
                raise _common.held_elsewhere(name, owner, heartbeat, now, "resume")
            conn.execute("UPDATE studies SET owner = ?, heartbeat = ?, updated = ?, "
                         "stop_request = NULL WHERE study_id = ?",
                         (self.owner, now, now, row["study_id"]))
            conn.execute("UPDATE trials SET status = 'interrupted', end_time = "
                         "COALESCE(end_time, ?, start_time), error = ? WHERE study_id = ? AND "
                         "status IN ('running', 'paused')",
                         (heartbeat, _common.INTERRUPTED_ERROR, row["study_id"]))
            return self._load(conn, self._row_named(conn, name), space)

    def _missing_id(self, study_id: int) -> StudyNotFoundError:
        return StudyNotFoundError(f"study id {study_id} is not in {self.path}: it was deleted")

    def update_settings(self, study_id: int, settings: Mapping[str, Any]) -> None:
        stored = dumps(dict(settings))
        with self._writing("update a study in") as conn:
            if not conn.execute("UPDATE studies SET settings = ?, updated = ? WHERE study_id = ?",
                                (stored, self.clock(), study_id)).rowcount:
                raise self._missing_id(study_id)

    def write(self, study_id: int, update: StudyUpdate) -> None:
        trial_rows, report_rows = [], []
        for t in update.trials:
            trial_rows.append((study_id, t.trial_id, dumps_config(t.config), t.status.value,
                               t.start_time, t.end_time, t.error, t.traceback, str(t.device),
                               str(t.resources), t.bracket))
            for seq in range(update.reports_from.get(t.trial_id, 0),
                             min(len(t.reports), len(t.times))):
                report_rows.append((study_id, t.trial_id, seq, t.times[seq],
                                    dumps_values(t.reports[seq])))
        with self._writing("write a study to") as conn:
            found = conn.execute("SELECT name, owner FROM studies WHERE study_id = ?",
                                 (study_id,)).fetchone()
            if found is None:
                raise self._missing_id(study_id)
            if found["owner"] and found["owner"] != self.owner:
                raise _common.lease_lost(found["name"], found["owner"])
            conn.executemany(
                "INSERT INTO trials (study_id, trial_id, config, status, start_time, end_time, "
                "error, traceback, device, resources, bracket) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_id, trial_id) DO UPDATE "
                "SET status = excluded.status, start_time = excluded.start_time, end_time = "
                "excluded.end_time, error = excluded.error, traceback = excluded.traceback, "
                "device = excluded.device, resources = excluded.resources, bracket = "
                "excluded.bracket", trial_rows)
            conn.executemany("INSERT OR IGNORE INTO reports (study_id, trial_id, seq, time, "
                             "\"values\") VALUES (?, ?, ?, ?, ?)", report_rows)
            now = self.clock()
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
        with self._writing("release a study in") as conn:
            conn.execute("UPDATE studies SET owner = NULL WHERE study_id = ? AND owner = ?",
                         (study_id, self.owner))

    # ------------------------------------------------------------------ control
    def request_stop(self, name: str, by: str) -> None:
        with self._writing("ask a study to stop in") as conn:
            row = self._row_named(conn, name)
            now = self.clock()
            alive = _common.lease_alive(row["owner"], row["heartbeat"], now)
            if not (alive and row["state"] in (StudyState.RUNNING, StudyState.CREATED)):
                raise _common.not_running(name, _common.shown_state(
                    row["state"], row["owner"], row["heartbeat"], now))
            conn.execute("UPDATE studies SET stop_request = COALESCE(stop_request, ?) "
                         "WHERE study_id = ?", (str(by), row["study_id"]))

    def stop_request(self, study_id: int) -> str | None:
        with self._reading() as conn:
            if conn is None or self._version < 2:
                return None
            found = conn.execute("SELECT stop_request FROM studies WHERE study_id = ?",
                                 (study_id,)).fetchone()
            return None if found is None else found[0]

    def delete_study(self, name: str) -> int:
        with self._writing("delete a study from") as conn:
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
        return int(count)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock at once (waiting up to the
    busy timeout), so concurrent writers queue instead of failing halfway."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite rolled back already
        raise
    conn.execute("COMMIT")
