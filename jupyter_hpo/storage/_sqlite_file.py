"""One SQLite storage file: what it is, how it is opened, and what its errors mean.

``SQLiteFile`` checks a file once when it is opened (ours, not damaged at the first page, not
of a newer schema; an empty file gets the schema), decides whether it can be written (a
read-only file or folder is read with ``mode=ro``, so it can still be read; ``read_only=True``
refuses every write whatever the permissions), and then hands out connections: ``reading()`` and
``writing(doing)``, one short ``BEGIN IMMEDIATE`` transaction that is refused before anything
is written if the file is read-only, was deleted or replaced since it was opened, or fails
``PRAGMA quick_check`` (run once, before the first write). A file that does not exist yet is
created by the first write, so listing or loading studies never leaves an empty database
behind. A file of an older schema is read as it is and migrated by the first write, in that
write's transaction, which also repairs the trials an older jupyter_hpo marked (``_upgrade``):
opening, listing and loading change no schema and no row, so an older jupyter_hpo can still
open the file (the last reader to close may fold SQLite's write-ahead log into it, as any does).
Every ``sqlite3`` error becomes a ``StorageError`` that names the file and says what to do.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from ..errors import (
    StorageDamagedError,
    StorageError,
    StorageGoneError,
    StorageLockedError,
    StorageReadOnlyError,
)
from ._best import fill_best_values
from ._schema import APPLICATION_ID, FILLS, MIGRATIONS, SCHEMA, SCHEMA_VERSION, statements

__all__ = ["DEFAULT_FILE", "SQLiteFile", "default_storage_path", "migration_note",
           "storage_path"]

DEFAULT_FILE = "jupyter_hpo.db"
log = logging.getLogger(__name__)
"""Where the note before a migration goes (a warning: without a logging set-up, Python
prints it on stderr, which a notebook shows below the cell)."""


def migration_note(path: str, version: int) -> str:
    """What is said, once, when the first write has migrated ``path`` from schema
    ``version``: every result is kept, but a jupyter_hpo of that schema can no longer open
    the file."""
    return (f"jupyter_hpo: migrated {path} from storage schema {version} to {SCHEMA_VERSION} "
            f"to write to it (every study, trial and report is kept); a jupyter_hpo that reads "
            f"only schema "
            f"{version} refuses to open it from now on, asking to be upgraded: upgrade "
            f"jupyter_hpo wherever this file is used")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def default_storage_path() -> str:
    """``$JUPYTER_HPO_STORAGE`` if set, else ``jupyter_hpo.db`` in the working directory."""
    return os.environ.get("JUPYTER_HPO_STORAGE") or DEFAULT_FILE


def storage_path(location: str | os.PathLike[str]) -> str:
    """The absolute path of a SQLite storage given as a path, ``sqlite:///relative/path``,
    ``sqlite:////absolute/path`` or ``file:///absolute/path`` (percent-encoded, as
    ``Path.as_uri()`` writes it); any other URL is refused."""
    text = os.fspath(location)
    if text.strip() in (":memory:", "sqlite://", "sqlite:///:memory:"):
        raise StorageError(f"{text} is not a file: keep studies in memory with "
                           f"open_storage(':memory:') or InMemoryStorage()")
    _refuse_a_sqlite_uri(text)
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
            text = unquote(rest)  # a file: URL encodes spaces and the like (%20)
        else:
            text = rest.removeprefix("/")
            _refuse_a_misread_absolute_url(os.fspath(location), text)
    if not text.strip():
        raise StorageError(f"the storage path is empty (got {os.fspath(location)!r}): pass a "
                           f"file name such as studies.db")
    path = os.path.abspath(os.path.expanduser(text))
    _refuse_a_mistyped_path(text, path)
    _refuse_side_file(path)
    return path


def _refuse_a_sqlite_uri(text: str) -> None:
    """Refuse SQLite's own URI forms, ``file:runs.db`` and a URL with a query
    (``file:///x/runs.db?mode=ro``): they were taken as a path and made a file of that name."""
    relative = text[:5].lower() == "file:" and not text[5:].startswith("//")
    if not relative and not (_URL.match(text) and "?" in text):
        return
    bare = (text[5:] if relative else text).split("?", 1)[0]
    reading = "; jupyter_hpo's listings read without writing by themselves (in Python: " \
        "open_storage(path, read_only=True))" if "mode=ro" in text.lower() else ""
    raise StorageError(f"{text} is a SQLite URI, which jupyter_hpo does not take (it would make "
                       f"a file of that name): pass {bare}{reading}")


def _refuse_a_mistyped_path(text: str, path: str) -> None:
    """Refuse a path that ends with a slash but names no folder (``runs/`` made a file
    ``runs``, ``runs.db/`` used the file ``runs.db``: the slash was dropped without a word)
    and one that starts or ends with whitespace where no such file exists (``'runs.db '`` made
    a second file beside ``runs.db``, where the study then seemed to be missing)."""
    if text.endswith(("/", os.sep)) and not os.path.isdir(path):
        bare = text.rstrip("/" + os.sep)
        what = f"{path} is a file: pass {bare} without the {text[-1]}" \
            if os.path.exists(path) else (
                f"there is no folder {path}: make it first and pass a file in it (e.g. "
                f"{os.path.join(text, DEFAULT_FILE)}), or pass {bare} for a file of that name")
        raise StorageError(f"the storage path {text} ends with {text[-1]}, which names a "
                           f"folder, but {what}")
    if text != text.strip() and not os.path.exists(path):
        raise StorageError(f"the storage path {text!r} starts or ends with whitespace, and no "
                           f"such file exists: pass {text.strip()!r} (a study stored there "
                           f"would go to a new file beside it)")


def _refuse_a_misread_absolute_url(url: str, relative: str) -> None:
    """Refuse ``sqlite:///home/me/runs.db`` where ``home/me`` is no folder under the working
    directory but ``/home/me`` is one: meant as an absolute path, which takes four slashes
    (as in SQLAlchemy and Optuna); the error said only that the folder
    ``./home/me`` did not exist."""
    if os.path.isabs(relative) or not relative.strip():
        return
    folder = os.path.dirname(os.path.abspath(os.path.expanduser(relative)))
    absolute = "/" + relative
    if not os.path.isdir(folder) and os.path.isdir(os.path.dirname(absolute)):
        raise StorageError(f"{url} names {relative} in the working directory ({os.getcwd()}), "
                           f"as sqlite:/// with three slashes does in SQLAlchemy and Optuna, but "
                           f"the folder {os.path.dirname(relative)} is not there: for the "
                           f"absolute path {absolute} write sqlite:///{absolute} (four slashes) "
                           f"or the path alone")


#: the files SQLite keeps next to a database ``x.db``: ``x.db-wal`` and so on
_SIDE_FILES = {"-wal": "write-ahead log", "-shm": "shared-memory index",
               "-journal": "rollback journal"}


def _refuse_side_file(path: str) -> None:
    """Refuse a path that is one of SQLite's own files of an existing database: SQLite
    deletes or rewrites it as that database is used, so a study kept in it would be lost."""
    for suffix, what in _SIDE_FILES.items():
        database = path.removesuffix(suffix)
        if database != path and os.path.isfile(database):
            raise StorageError(f"{path} is the {what} SQLite keeps next to the database "
                               f"{database}, not a storage file of its own (a study kept "
                               f"there would be lost when SQLite removes it): pass {database}")


class SQLiteFile:
    """An opened storage file (see the module docstring). ``timeout``: seconds a write waits
    for another process's transaction before giving up; ``read_only``: never write, whatever
    the file's permissions (listings and other reads)."""

    def __init__(self, path: str, timeout: float = 30.0, read_only: bool = False) -> None:
        self.path = path
        self.timeout = float(timeout)
        self.asked_read_only = read_only
        self.read_only = read_only
        self._file_read_only = False  # this process may not write the file: mode=ro reads
        self.version = SCHEMA_VERSION  # lower for an old file read as it is (not migrated yet)
        self._upgraded = False  # migrated and repaired by this object's first write
        self._immutable = False  # read-only with no -shm possible: read the file as it is
        self._identity: tuple[int, int] | None = None
        self._checked = False  # quick_check passed (it runs before the first write)
        self._check_lock = threading.Lock()
        self._open_lock = threading.Lock()
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
        self._note_writable(exists)
        if exists and not self._empty():
            self._connect(create=False)
        # else nothing is stored here yet: reads see no studies, and the first write creates
        # the file (or its tables, in an empty file), so listing or loading never leaves a
        # database behind, nor turns an empty file given by mistake (notes.txt) into one

    def _note_writable(self, exists: bool) -> None:
        """Whether writes are refused (``read_only=True`` or the file's permissions) and
        whether reads must open the file read-only (its permissions only)."""
        self._file_read_only = not self._writable(exists)
        self.read_only = self.asked_read_only or self._file_read_only

    def _connect(self, create: bool) -> None:
        """Check (and, in a new file, create) the schema; remember which file this is."""
        try:
            conn = self._reading_connection(create)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        try:
            if self._prepare(conn):
                self._set_up(conn)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        finally:
            conn.close()
        stat = os.stat(self.path)
        self._identity = (stat.st_dev, stat.st_ino)

    def _opened(self, create: bool) -> bool:
        """Whether the file is open: opened now if it has appeared since (another process
        created it), or created now with ``create`` (the first write) where it can be."""
        if self._identity is not None:
            return True
        with self._open_lock:
            if self._identity is None:
                exists = os.path.exists(self.path)
                if (not exists or self._empty()) and not create:
                    return False
                folder = Path(self.path).parent
                if not exists and not folder.is_dir():
                    raise StorageError(f"cannot create {self.path}: the folder {folder} no "
                                       f"longer exists")
                self._note_writable(exists)
                if not exists and self.read_only:
                    return False  # the write is refused as read-only
                self._connect(create=not exists)
        return True

    def _empty(self) -> bool:
        """Whether the file is there but empty, with no -wal file that may hold its content
        (a file given by mistake, or one another process is creating this moment)."""
        return os.path.exists(self.path) and not _size(self.path)             and not _size(self.path + "-wal")

    def present(self) -> bool:
        """Whether the file exists (opened now if another process has created it since)."""
        return self._opened(create=False)

    def file_writable(self) -> bool:
        """Whether this process may write the file (its permissions and its folder's), however
        it was opened."""
        return self._writable(os.path.exists(self.path))

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

    def _rw(self, mode: str) -> sqlite3.Connection:
        """A read-write connection (``mode``: ``rw``, or ``rwc`` to create the file)."""
        return sqlite3.connect(self._uri(mode), uri=True, timeout=self.timeout,
                               isolation_level=None, check_same_thread=False)

    def _prepare(self, conn: sqlite3.Connection) -> bool:
        """Check what the file is and refuse anything not ours untouched; whether this
        writable object must set it up (``_set_up``: an empty file gets the schema, a current
        one WAL mode). A file of an older schema is left as it is: the first write migrates
        it (``_upgrade``)."""
        # one statement, so one snapshot: another process may be creating the schema, and
        # its tables must not be seen without its application id
        app_id, version, names = conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id), "
            "(SELECT user_version FROM pragma_user_version), "
            "(SELECT group_concat(name, char(10)) FROM sqlite_master WHERE type = 'table')"
        ).fetchone()
        tables = names.split("\n") if names else []
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
            raise StorageDamagedError(self.damaged("it has tables but no schema version"))
        self.version = version if tables else SCHEMA_VERSION
        if self.read_only or (tables and version < SCHEMA_VERSION):
            return False
        return not tables or conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal"

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """Create the schema in a file without tables; switch a current one to WAL mode."""
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'").fetchone() is None:
            self._create_schema(conn)
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._quick_check(conn)
            self._switch_to_wal(conn)

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        with _transaction(conn, self.timeout):
            # another process may have made it since we looked
            if not conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for statement in statements(SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._switch_to_wal(conn)

    def _switch_to_wal(self, conn: sqlite3.Connection) -> None:
        """``PRAGMA journal_mode = WAL``, tried again until ``timeout``: the switch needs the
        file to itself, and SQLite answers "database is locked" at once (without its busy
        wait) while another process that opens the new file at the same moment reads it."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(0.005, 0.05))

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

    def _reading_connection(self, create: bool = False) -> sqlite3.Connection:
        """A connection to read with: read-write where this process may write the file, even
        for a storage that refuses writes (``read_only=True``) or a file of an older schema
        not written yet, since reading through it changes no row and the last such
        connection to close removes SQLite's -wal and -shm files (a ``mode=ro`` reader leaves
        them beside the file); ``mode=ro`` where the file or its folder is read-only."""
        if self._file_read_only:
            return self._read_only_connection()
        return self._rw("rwc" if create else "rw")

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
    def reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection to read with (``None``: a read-only storage with no file, or a file
        without tables yet: empty, or another process has not committed its schema)."""
        self._check_identity()
        if not self._opened(create=False):
            yield None
            return
        try:
            conn = self._reading_connection()
            try:
                conn.row_factory = sqlite3.Row
                if self.read_only and conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'studies'"
                ).fetchone() is None:
                    yield None  # a writable storage made its schema when it opened the file
                else:
                    if self.version < SCHEMA_VERSION:  # another process may have migrated it
                        self.version = max(self.version, conn.execute(
                            "PRAGMA user_version").fetchone()[0])
                    yield conn
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None

    @contextmanager
    def writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, refused before anything is written if the file
        is read-only, gone or damaged."""
        self._check_identity()
        if not self.read_only:
            self._opened(create=True)
        if self.read_only:
            raise self._read_only(doing)
        try:
            conn = sqlite3.connect(self._uri("rw"), uri=True, timeout=self.timeout,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA foreign_keys = ON")
                self._quick_check(conn)
                with _transaction(conn, self.timeout):
                    self._check_identity()  # the file connected to is the one opened
                    migrated_from = self._upgrade(conn, doing)
                    yield conn
                if migrated_from is not None:
                    self._upgrade_done(conn, migrated_from)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from None

    def _upgrade(self, conn: sqlite3.Connection, doing: str) -> int | None:
        """Before this object's first write, in its transaction (so a write that fails or is
        refused leaves the file as it was): migrate a file of an older schema, and repair the
        trials that a jupyter_hpo of schema 4 or older marked as having reports their best
        value does not count (``best_pending``: recompute it from their reports, clear the
        mark). The schema the file had; ``None`` once done."""
        if self._upgraded:
            return None
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            for step in range(current, SCHEMA_VERSION):  # none if another process migrated it
                for statement in statements(MIGRATIONS[step]):
                    conn.execute(statement)
                if step in FILLS:
                    FILLS[step](conn)
        except sqlite3.Error as exc:
            error = self._error(exc, doing)
            if type(error) is not StorageError:
                raise error from None
            raise StorageError(f"{error}: it is of storage schema {current}, and migrating it "
                               f"to schema {SCHEMA_VERSION} failed; nothing was written (the "
                               f"file was left as it was)") from None
        if current < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        else:
            fill_best_values(conn, marked_only=True)
        return current

    def _upgrade_done(self, conn: sqlite3.Connection, migrated_from: int) -> None:
        """After the first write committed: say a migration, and keep the file in WAL mode."""
        self._upgraded = True
        self.version = SCHEMA_VERSION
        if migrated_from < SCHEMA_VERSION:
            log.warning("%s", migration_note(self.path, migrated_from))
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._switch_to_wal(conn)
        except sqlite3.OperationalError:
            pass  # the write is stored; the next opening of the file switches it

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
                raise StorageDamagedError(self.damaged("quick_check: " + "; ".join(lines[:3])))
            self._checked = True

    # -------------------------------------------------------------------- errors
    def damaged(self, detail: str) -> str:
        return (f"{self.path} is damaged ({detail}); nothing was written to it. Recover what "
                f"can be read with `sqlite3 {self.path} .recover | sqlite3 recovered.db`, or "
                f"pass another file with --storage")

    def _read_only(self, doing: str) -> StorageReadOnlyError:
        if self.asked_read_only:
            return StorageReadOnlyError(
                f"cannot {doing} {self.path}: it was opened read-only (read_only=True, as "
                f"listings open it); open it with open_storage({self.path!r}) to write")
        self.read_only = self._file_read_only = True
        if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
            where = self.path
        else:
            where = f"the folder {os.path.dirname(self.path)}"
        resume = (f"; to continue a study kept there, copy {self.path} (and its .checkpoints "
                  f"folder, if any) to a writable folder and resume it from the copy"
                  if doing.startswith("resume") else "")
        return StorageReadOnlyError(
            f"cannot {doing} {self.path}: the storage is read-only (permission denied on "
            f"{where}); its studies can still be listed and loaded: pass another --storage to "
            f"store new results{resume}")

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
            return StorageDamagedError(self.damaged(text))
        if "READONLY" in code or "readonly" in text:
            return self._read_only(doing)
        if "BUSY" in code or "LOCKED" in code or "locked" in text:
            return StorageLockedError(f"cannot {doing} {self.path}: another process kept it "
                                      f"locked for more than {self.timeout:g} s ({text}); "
                                      f"nothing was written, try again")
        if "FULL" in code or "full" in text:
            return StorageError(f"cannot {doing} {self.path}: the disk is full ({text}); "
                                f"nothing was written")
        if self._identity is not None and not os.path.exists(self.path):
            return self._gone("deleted")
        return StorageError(f"cannot {doing} {self.path}: {text}")

    def corrupt_row(self, what: str, exc: Exception) -> StorageDamagedError:
        return StorageDamagedError(self.damaged(f"{what} cannot be read: {exc}"))


WAIT_SLICE_MS = 200
"""Milliseconds of SQLite's own busy wait between the moments a waiting writer lets Python
handle signals: SQLite's wait is C code that Ctrl-C does not end."""


def _begin_immediate(conn: sqlite3.Connection, timeout: float) -> None:
    """``BEGIN IMMEDIATE``, waiting up to ``timeout`` seconds for another process's write lock
    in slices of ``WAIT_SLICE_MS``, so a kernel interrupt stops the wait at once."""
    deadline = time.monotonic() + timeout
    conn.execute(f"PRAGMA busy_timeout = {WAIT_SLICE_MS}")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {round(timeout * 1000)}")


@contextmanager
def _transaction(conn: sqlite3.Connection, timeout: float) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock at once (waiting up to
    ``timeout``), so concurrent writers queue instead of failing halfway."""
    _begin_immediate(conn, timeout)
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


def _size(path: str) -> int:
    """The size of ``path`` in bytes, 0 when it does not exist (any more)."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0
