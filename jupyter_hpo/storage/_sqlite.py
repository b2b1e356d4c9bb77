"""SQLite persistence of studies: schema, migrations, leases, and the queries behind resume.

One file holds many studies. It runs in WAL mode so that readers (``%hpo list`` in another
notebook) never block the kernel that writes, and every write is one short ``BEGIN IMMEDIATE``
transaction, so several kernels can share a file. A study being run holds a *lease* (host,
process id and a heartbeat) so that a second kernel cannot run the same study at the same time;
a lease whose process has died (or whose heartbeat is old) is free again.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HPOError, StorageError
from ..space import Bool, Categorical, Domain, Int, Real, Space
from ..trial import as_number

__all__ = [
    "DEFAULT_FILE",
    "SCHEMA_VERSION",
    "Storage",
    "StorageError",
    "StoredStudy",
    "StoredTrial",
    "default_storage_path",
]

DEFAULT_FILE = "jupyter_hpo.db"
SCHEMA_VERSION = 1
APPLICATION_ID = 0x4A48504F  # "JHPO": marks a file as ours (PRAGMA application_id)
LEASE_TIMEOUT = 60.0  # seconds without a heartbeat after which a lease on another host is free
_BUSY_TIMEOUT_MS = 30_000

_SCHEMA_V1 = """
CREATE TABLE studies (
    study_id   INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    metric     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    resource   TEXT NOT NULL,
    space      TEXT NOT NULL,
    settings   TEXT NOT NULL,
    state      TEXT NOT NULL,
    created    REAL NOT NULL,
    updated    REAL NOT NULL,
    elapsed    REAL NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    owner      TEXT,
    heartbeat  REAL
);
CREATE TABLE trials (
    study_id   INTEGER NOT NULL REFERENCES studies(study_id) ON DELETE CASCADE,
    trial_id   INTEGER NOT NULL,
    config     TEXT NOT NULL,
    status     TEXT NOT NULL,
    start_time REAL NOT NULL,
    end_time   REAL,
    error      TEXT NOT NULL DEFAULT '',
    traceback  TEXT NOT NULL DEFAULT '',
    device     TEXT NOT NULL DEFAULT '',
    bracket    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (study_id, trial_id)
);
CREATE TABLE reports (
    study_id   INTEGER NOT NULL,
    trial_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    time       REAL NOT NULL,
    "values"   TEXT NOT NULL,
    PRIMARY KEY (study_id, trial_id, seq),
    FOREIGN KEY (study_id, trial_id) REFERENCES trials(study_id, trial_id) ON DELETE CASCADE
);
"""

# Migrations from version N to N + 1 (SQL statements separated by ";"), applied in order in
# one transaction when a file of an older version is opened.
_MIGRATIONS: dict[int, str] = {}


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def default_storage_path() -> str:
    """``$JUPYTER_HPO_STORAGE`` if set, else ``jupyter_hpo.db`` in the working directory."""
    return os.environ.get("JUPYTER_HPO_STORAGE") or DEFAULT_FILE


def _path_of(location: str | os.PathLike[str]) -> str:
    text = os.fspath(location)
    for prefix in ("sqlite:///", "sqlite://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if not text:
        raise StorageError("the storage path is empty: pass a file name such as studies.db")
    return os.path.abspath(os.path.expanduser(text))


# ------------------------------------------------------------------ values and spaces
def encode_value(value: Any) -> Any:
    """A JSON-ready form of a config or reported value; objects JSON cannot hold are kept as
    ``{"__repr__": repr(value)}`` (a categorical choice is recognised again on resume)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return encode_value(item())
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: encode_value(v) for k, v in value.items()}
    return {"__repr__": repr(value)}


def _dumps(value: Any) -> str:
    return json.dumps(encode_value(value), allow_nan=True)


def decode_config(text: str, space: Space | None) -> dict[str, Any]:
    """A stored configuration, with categorical objects matched back to ``space``'s choices."""
    config = json.loads(text)
    for name, value in config.items():
        if isinstance(value, dict) and "__repr__" in value:
            domain = space.get(name) if space is not None else None
            if isinstance(domain, Categorical):
                for choice in domain.choices:
                    if repr(choice) == value["__repr__"]:
                        config[name] = choice
                        break
                else:
                    config[name] = value["__repr__"]
            else:
                config[name] = value["__repr__"]
    return config


def describe_space(space: Space) -> dict[str, dict[str, Any]]:
    """A JSON description of ``space`` (``repr`` included, to compare spaces on resume)."""
    described: dict[str, dict[str, Any]] = {}
    for name, domain in space.items():
        entry: dict[str, Any] = {"type": type(domain).__name__, "repr": repr(domain)}
        if isinstance(domain, (Real, Int)):
            entry.update(lo=domain.lo, hi=domain.hi, log=domain.log)
        elif isinstance(domain, Categorical) and not isinstance(domain, Bool):
            entry["choices"] = [encode_value(c) for c in domain.choices]
        described[name] = entry
    return described


def space_from_description(described: Mapping[str, Mapping[str, Any]]) -> Space:
    """The space of a stored study (categorical objects JSON cannot hold come back as their
    ``repr`` strings)."""
    domains: dict[str, Domain] = {}
    for name, entry in described.items():
        kind = entry["type"]
        if kind == "Real":
            domains[name] = Real(entry["lo"], entry["hi"], log=entry["log"])
        elif kind == "Int":
            domains[name] = Int(entry["lo"], entry["hi"], log=entry["log"])
        elif kind == "Bool":
            domains[name] = Bool()
        else:
            domains[name] = Categorical(*[c["__repr__"] if isinstance(c, dict) and "__repr__"
                                          in c else c for c in entry["choices"]])
    return Space(domains)


# ------------------------------------------------------------------------ records
@dataclass
class StoredTrial:
    """A trial as stored: its reports and the study-relative time of each."""

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


@dataclass
class StoredStudy:
    """A study's row; ``live`` says whether a kernel is running it now."""

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
        return lease_alive(self.owner, self.heartbeat)

    @property
    def shown_state(self) -> str:
        """``running`` only while its kernel lives; a dead kernel's study is ``interrupted``."""
        if self.state == "running" and not self.live:
            return "interrupted"
        return self.state


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_alive(owner: str | None, heartbeat: float | None, now: float | None = None) -> bool:
    """Whether the kernel named by ``owner`` (``host:pid``) still runs the study."""
    if not owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    now = time.time() if now is None else now
    return heartbeat is not None and now - heartbeat < LEASE_TIMEOUT


# ------------------------------------------------------------------------ storage
class Storage:
    """A SQLite file of studies. Opening checks (and if needed creates or migrates) the file,
    so a wrong path fails at once with a clear message."""

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        self.path = _path_of(location if location is not None else default_storage_path())
        self.owner = _owner_id()
        with closing(self.connect()) as conn:
            self._prepare(conn)

    def __repr__(self) -> str:
        return f"Storage({self.path!r})"

    def connect(self) -> sqlite3.Connection:
        """A new connection (one per thread): WAL, foreign keys, a generous busy timeout."""
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise StorageError(f"cannot create {self.path}: the folder {folder} does not exist")
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None
        return conn

    def _unusable(self, exc: Exception) -> StorageError:
        return StorageError(f"{self.path} cannot be used as jupyter_hpo storage: {exc}. It is "
                            f"not a SQLite file, or it is damaged; pass another file with "
                            f"--storage (the file was left untouched)")

    def _prepare(self, conn: sqlite3.Connection) -> None:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None
        if tables and app_id != APPLICATION_ID:
            raise StorageError(
                f"{self.path} is a SQLite database of another program (tables: "
                f"{', '.join(sorted(tables)[:6])}), not jupyter_hpo storage; pass another "
                f"file with --storage (the file was left untouched)")
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer jupyter_hpo (storage schema {version}, "
                f"this version reads up to {SCHEMA_VERSION}): upgrade jupyter_hpo to open it")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            if not tables:
                with self.transaction(conn):
                    if not conn.execute("SELECT name FROM sqlite_master "
                                        "WHERE type = 'table'").fetchall():
                        for statement in _statements(_SCHEMA_V1):
                            conn.execute(statement)
                        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                return
            if version < SCHEMA_VERSION:
                with self.transaction(conn):
                    current = conn.execute("PRAGMA user_version").fetchone()[0]
                    for step in range(current, SCHEMA_VERSION):
                        for statement in _statements(_MIGRATIONS[step]):
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None

    @staticmethod
    @contextmanager
    def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock at once (waiting up to the
        busy timeout), so concurrent writers queue instead of failing halfway."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ------------------------------------------------------------------ studies
    def studies(self, name: str | None = None) -> list[StoredStudy]:
        """Every stored study (or the one called ``name``), oldest first, with its trial
        count and best value."""
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        with closing(self.connect()) as conn:
            cursor = conn.execute(f"SELECT * FROM studies {where} ORDER BY study_id", params)
            names = [d[0] for d in cursor.description]
            studies = [_study(dict(zip(names, row))) for row in cursor.fetchall()]
            for study in studies:
                study.trials = conn.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?",
                                            (study.study_id,)).fetchone()[0]
                study.best_value = self._best_value(conn, study)
        return studies

    def _best_value(self, conn: sqlite3.Connection, study: StoredStudy) -> float | None:
        best = None
        for (values,) in conn.execute(
                "SELECT r.\"values\" FROM reports r JOIN trials t USING (study_id, trial_id) "
                "WHERE r.study_id = ? AND t.status != 'failed'", (study.study_id,)):
            value = as_number(json.loads(values).get(study.metric))
            if value is not None and (best is None or (value > best if study.mode == "max"
                                                       else value < best)):
                best = value
        return best

    def find(self, name: str) -> StoredStudy | None:
        """The stored study called ``name``, or ``None``."""
        found = self.studies(name)
        return found[0] if found else None

    def get(self, name: str) -> StoredStudy:
        """The stored study called ``name``; a clear error listing the others if absent."""
        study = self.find(name)
        if study is None:
            names = [s.name for s in self.studies()]
            raise HPOError(f"no study named {name!r} in {self.path}; "
                           + (f"stored studies: {', '.join(names)}" if names
                              else "it holds no studies yet"))
        return study

    def unused_name(self, prefix: str = "study-") -> str:
        """``study-N`` with the smallest N not taken in this file."""
        with closing(self.connect()) as conn:
            taken = {r[0] for r in conn.execute("SELECT name FROM studies")}
        n = 1
        while f"{prefix}{n}" in taken:
            n += 1
        return f"{prefix}{n}"

    def create(self, name: str, metric: str, mode: str, resource: str, space: Space,
               settings: Mapping[str, Any]) -> int:
        """Store a new study, leased to this process; an error if the name is taken."""
        now = time.time()
        with closing(self.connect()) as conn, self.transaction(conn):
            existing = conn.execute("SELECT study_id FROM studies WHERE name = ?",
                                    (name,)).fetchone()
            if existing is not None:
                raise self.name_taken(name)
            cursor = conn.execute(
                "INSERT INTO studies (name, metric, mode, resource, space, settings, state, "
                "created, updated, owner, heartbeat) VALUES (?, ?, ?, ?, ?, ?, 'created', ?, ?, "
                "?, ?)", (name, metric, mode, resource, json.dumps(describe_space(space)),
                          json.dumps(encode_value(dict(settings))), now, now, self.owner, now))
            return int(cursor.lastrowid)

    def name_taken(self, name: str) -> HPOError:
        return HPOError(f"a study named {name!r} already exists in {self.path}: continue it "
                        f"with --name {name} --resume, pick another --name, or remove it with "
                        f"%hpo delete {name}")

    def acquire(self, name: str) -> StoredStudy:
        """Lease the stored study ``name`` to this process for a resume; its trials that were
        running or paused when its kernel died become ``interrupted``."""
        now = time.time()
        with closing(self.connect()) as conn, self.transaction(conn):
            row = conn.execute("SELECT study_id, owner, heartbeat FROM studies WHERE name = ?",
                               (name,)).fetchone()
            if row is None:
                raise self._missing(conn, name)
            study_id, owner, heartbeat = row
            if owner and owner != self.owner and lease_alive(owner, heartbeat, now):
                raise HPOError(
                    f"study {name!r} is being run by another kernel ({owner}, last seen "
                    f"{now - (heartbeat or now):.0f} s ago): wait for it to finish or stop it "
                    f"there; `%hpo show {name}` shows its progress from here")
            conn.execute("UPDATE studies SET owner = ?, heartbeat = ?, updated = ? "
                         "WHERE study_id = ?", (self.owner, now, now, study_id))
            conn.execute("UPDATE trials SET status = 'interrupted', end_time = "
                         "COALESCE(end_time, ?, start_time), error = 'its kernel stopped while "
                         "it ran' WHERE study_id = ? AND status IN ('running', 'paused')",
                         (heartbeat, study_id))
        return self.get(name)

    def _missing(self, conn: sqlite3.Connection, name: str) -> HPOError:
        names = [r[0] for r in conn.execute("SELECT name FROM studies ORDER BY study_id")]
        return HPOError(f"--resume: no study named {name!r} in {self.path}; "
                        + (f"stored studies: {', '.join(names)}" if names
                           else "it holds no studies yet"))

    def release(self, study_id: int) -> None:
        """Give up this process's lease on a study (it can be resumed elsewhere)."""
        with closing(self.connect()) as conn, self.transaction(conn):
            conn.execute("UPDATE studies SET owner = NULL WHERE study_id = ? AND owner = ?",
                         (study_id, self.owner))

    def delete(self, name: str) -> int:
        """Remove a study and its trials; refused while a kernel runs it. Returns the number
        of trials removed."""
        with closing(self.connect()) as conn, self.transaction(conn):
            row = conn.execute("SELECT study_id, owner, heartbeat, state FROM studies "
                               "WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise self._missing(conn, name)
            study_id, owner, heartbeat, state = row
            if state in ("running", "created") and lease_alive(owner, heartbeat):
                raise HPOError(f"study {name!r} is running ({owner}): stop it first with "
                               f"`%hpo stop {name}`")
            count = conn.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?",
                                 (study_id,)).fetchone()[0]
            conn.execute("DELETE FROM studies WHERE study_id = ?", (study_id,))
        return int(count)

    def trials(self, study_id: int, space: Space | None = None) -> list[StoredTrial]:
        """A study's trials in id order, each with its reports."""
        with closing(self.connect()) as conn:
            trials = [StoredTrial(tid, decode_config(config, space), status, start, end,
                                  error, tb, device, bracket)
                      for tid, config, status, start, end, error, tb, device, bracket
                      in conn.execute(
                          "SELECT trial_id, config, status, start_time, end_time, error, "
                          "traceback, device, bracket FROM trials WHERE study_id = ? "
                          "ORDER BY trial_id", (study_id,))]
            by_id = {t.trial_id: t for t in trials}
            for tid, at, values in conn.execute(
                    "SELECT trial_id, time, \"values\" FROM reports WHERE study_id = ? "
                    "ORDER BY trial_id, seq", (study_id,)):
                trial = by_id.get(tid)
                if trial is not None:
                    trial.reports.append(json.loads(values))
                    trial.times.append(at)
        return trials

    # ------------------------------------------------------------------- writes
    def write(self, conn: sqlite3.Connection, study_id: int,
              trials: list[tuple[Any, ...]], reports: list[tuple[Any, ...]],
              study: tuple[str, float, str] | None) -> None:
        """One batch in one transaction: trial rows (upserted), new reports, the study's
        state, elapsed seconds and error, and this process's heartbeat."""
        now = time.time()
        with self.transaction(conn):
            conn.executemany(
                "INSERT INTO trials (study_id, trial_id, config, status, start_time, end_time, "
                "error, traceback, device, bracket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (study_id, trial_id) DO UPDATE SET status = excluded.status, "
                "end_time = excluded.end_time, error = excluded.error, traceback = "
                "excluded.traceback, device = excluded.device, bracket = excluded.bracket",
                [(study_id, *row) for row in trials])
            conn.executemany(
                "INSERT OR IGNORE INTO reports (study_id, trial_id, seq, time, \"values\") "
                "VALUES (?, ?, ?, ?, ?)", [(study_id, *row) for row in reports])
            if study is None:
                conn.execute("UPDATE studies SET heartbeat = ? WHERE study_id = ? AND owner = ?",
                             (now, study_id, self.owner))
            else:
                state, elapsed, error = study
                conn.execute("UPDATE studies SET state = ?, elapsed = ?, error = ?, updated = ?, "
                             "heartbeat = ? WHERE study_id = ?",
                             (state, elapsed, error, now, now, study_id))

    def update_settings(self, study_id: int, settings: Mapping[str, Any]) -> None:
        """Record the settings a resumed study runs with (budget, searcher, ...)."""
        with closing(self.connect()) as conn, self.transaction(conn):
            conn.execute("UPDATE studies SET settings = ? WHERE study_id = ?",
                         (json.dumps(encode_value(dict(settings))), study_id))


def _study(row: dict[str, Any]) -> StoredStudy:
    return StoredStudy(
        study_id=row["study_id"], name=row["name"], metric=row["metric"], mode=row["mode"],
        resource=row["resource"], space=json.loads(row["space"]),
        settings=json.loads(row["settings"]), state=row["state"], created=row["created"],
        updated=row["updated"], elapsed=row["elapsed"], error=row["error"],
        owner=row["owner"], heartbeat=row["heartbeat"])



def dumps_values(values: Mapping[str, Any]) -> str:
    """A report as stored (JSON; values JSON cannot hold are kept by ``repr``)."""
    return _dumps(dict(values))


def dumps_config(config: Mapping[str, Any]) -> str:
    """A configuration as stored."""
    return _dumps(dict(config))
