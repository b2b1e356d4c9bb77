"""Storage faults on real files: each is refused or reported at once with a message that names
the file, and nothing is written. Damaged pages, a truncated file, read-only files and folders
(checked as an unprivileged user), a file deleted or replaced while open, several processes
creating studies at the same moment, a file of the previous schema, and locations that are not
SQLite files."""

from __future__ import annotations

import hashlib
import os
import pickle
import pwd
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import traceback
from pathlib import Path

import pytest

from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Categorical, Real, Space
from jupyter_hpo.storage import (
    SCHEMA_VERSION,
    InMemoryStorage,
    SQLiteStorage,
    StorageDamagedError,
    StorageError,
    StorageGoneError,
    StorageReadOnlyError,
    StudyUpdate,
    open_storage,
)

SPACE = Space({"x": Real(0.0, 1.0), "act": Categorical("relu", "tanh")})


def create(storage, name=None):
    return storage.create_study(name, metric="loss", direction=Direction.MIN, resource="epoch",
                                space=SPACE, settings={"trials": 30})


def fill(path, studies=4, trials=30, reports=10):
    """A real storage file with several finished studies (about 40 pages of 4 KiB)."""
    storage = SQLiteStorage(path)
    for _ in range(studies):
        study = create(storage)
        records = tuple(
            TrialRecord(i, {"x": i / trials, "act": "relu" if i % 2 else "tanh"},
                        TrialStatus.COMPLETED,
                        tuple({"epoch": e, "loss": (i + 1) / (e + 1), "note": "n" * 40}
                              for e in range(1, reports + 1)),
                        tuple(float(e) for e in range(reports)), 1.0, 2.0)
            for i in range(trials))
        storage.write(study.study_id, StudyUpdate(records, {}, StudyState.FINISHED, 3.0))
        storage.release_study(study.study_id)
    assert not Path(f"{path}-wal").exists()  # everything is in the file itself
    return storage


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def attempt(call):
    """``"damaged"`` if ``call`` is refused as damaged, else its result (other errors fail)."""
    try:
        return call()
    except StorageDamagedError as exc:
        assert "damaged" in str(exc)
        return "damaged"


# --------------------------------------------------------------------------- damaged
def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    assert pages > 30
    if how == "pages":  # overwrite the content of three pages in the middle
        for page in range(pages // 2, pages // 2 + 3):
            start = page * 4096
            data[start + 16:start + 4096 - 16] = bytes((i * 7 + 3) % 256 for i in range(4064))
    else:
        del data[(pages // 2) * 4096:]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["pages", "truncated"])
def test_a_damaged_file_is_reported_and_nothing_is_written_to_it(tmp_path, how):
    path = tmp_path / "studies.db"
    fill(path)
    damage(path, how)
    before = digest(path)
    storage = attempt(lambda: SQLiteStorage(path))
    if storage != "damaged":  # the first page is intact: the file opens, reading finds it
        # a listing reads the studies and trials only (each trial keeps its best value), so
        # it finds damage there; loading a study reads its reports too
        listed = attempt(lambda: [s.name for s in storage.list_studies()])
        assert listed == "damaged" or listed == ["study-1", "study-2", "study-3", "study-4"]
        loads = [attempt(lambda n=n: len(storage.load_study(n).trials))
                 for n in ("study-1", "study-2", "study-3", "study-4")]
        assert "damaged" in loads and set(loads) <= {"damaged", 30}
        for write in (lambda s: create(s), lambda s: create(s, "new"),
                      lambda s: s.acquire_study("study-1"), lambda s: s.delete_study("study-1"),
                      lambda s: s.request_stop("study-1", by="me"),
                      lambda s: s.update_settings(1, {})):
            with pytest.raises(StorageDamagedError,
                               match=f"{path} is damaged \\(quick_check: .*nothing was "
                                     f"written.*--storage"):
                write(SQLiteStorage(path))  # refused before writing, by every new object
        with pytest.raises(StorageDamagedError):
            create(storage)  # and by the one that read it
    assert digest(path) == before


def test_rows_that_cannot_be_decoded_are_reported_as_damage(tmp_path):
    path = tmp_path / "studies.db"
    fill(path, studies=2, trials=2, reports=2)
    with sqlite3.connect(path) as conn:  # valid pages, nonsense in them
        conn.execute("UPDATE studies SET settings = 'not json' WHERE name = 'study-2'")
        conn.execute("UPDATE trials SET status = 'exploded' WHERE study_id = 1")
    conn.close()
    storage = SQLiteStorage(path)
    with pytest.raises(StorageDamagedError, match="the row of study 'study-2' cannot be read"):
        storage.list_studies()
    with pytest.raises(StorageDamagedError, match="a trial of study 'study-1' cannot be read"):
        storage.load_study("study-1")


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "s.db"
    fill(path, studies=1, trials=1, reports=1)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(StorageError, match=f"storage schema {SCHEMA_VERSION + 1}.*upgrade "
                                           "jupyter_hpo"):
        SQLiteStorage(path)
    assert digest(path) == before


# ------------------------------------------------------------------------- read-only
NOBODY = pwd.getpwnam("nobody")


def unprivileged(fn, *args):
    """``fn(*args)`` in a forked child that cannot write what root owns: tests run as root
    here, for whom permissions do not apply, so the child becomes ``nobody`` first."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read)
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY.pw_gid)
                os.setuid(NOBODY.pw_uid)
            result = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - sent to the parent, which fails
            result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        with os.fdopen(write, "wb") as out:
            out.write(pickle.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    if status != "ok":
        pytest.fail(f"in the unprivileged child: {value}")
    return value


@pytest.fixture
def shared_folder():
    """A folder outside pytest's private tmp (which ``nobody`` cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix="jupyter-hpo-ro-", dir="/tmp"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def read_only_session(path: str) -> dict:
    """In the unprivileged child: read everything, try every write."""
    assert not os.access(path, os.W_OK) or not os.access(os.path.dirname(path), os.W_OK)
    storage = SQLiteStorage(path)
    out = {"read_only": storage.read_only,
           "names": [s.name for s in storage.list_studies()],
           "trials": len(storage.load_study("study-1").trials),
           "best": storage.find_study("study-1").best_value,
           "stop_request": storage.stop_request(1), "refusals": {}}
    record = TrialRecord(99, {"x": 0.5, "act": "relu"}, TrialStatus.COMPLETED)
    writes = {"create": lambda: create(storage), "acquire": lambda: storage.acquire_study("study-1"),
              "delete": lambda: storage.delete_study("study-1"),
              "request_stop": lambda: storage.request_stop("study-1", by="me"),
              "write": lambda: storage.write(1, StudyUpdate((record,))),
              "update_settings": lambda: storage.update_settings(1, {}),
              "release": lambda: storage.release_study(1)}
    for what, call in writes.items():
        try:
            call()
            out["refusals"][what] = None
        except StorageReadOnlyError as exc:
            out["refusals"][what] = str(exc)
    return out


def check_read_only(path: Path, out: dict) -> None:
    assert out["read_only"] is True
    assert out["names"][:2] == ["study-1", "study-2"] and out["trials"] == 30
    assert out["best"] == pytest.approx(1 / 11) and out["stop_request"] is None
    for what, message in out["refusals"].items():
        assert message is not None, f"{what} was not refused"
        assert f"{path}: the storage is read-only (permission denied on " in message
        assert "pass another --storage" in message
    # resuming there cannot work, and another --storage does not hold the study: say how
    assert out["refusals"]["acquire"].endswith(
        f"; to continue a study kept there, copy {path} (and its .checkpoints folder, if any) "
        f"to a writable folder and resume it from the copy")
    assert "to continue" not in out["refusals"]["create"]


def test_a_read_only_file_can_be_read_and_every_write_is_refused(shared_folder):
    path = shared_folder / "studies.db"
    fill(path)
    os.chmod(path, 0o644)  # root's file, readable by everyone
    os.chmod(shared_folder, 0o777)  # the folder is writable: SQLite can keep its -shm there
    before = digest(path)
    out = unprivileged(read_only_session, str(path))
    check_read_only(path, out)
    assert all(f"permission denied on {path})" in message for message in out["refusals"].values())
    assert digest(path) == before


def test_a_read_only_file_without_tables_reads_as_no_studies(shared_folder):
    """An empty file (or one whose creator has not committed the schema yet) that this process
    cannot write: no studies, as when there is no file, not an SQL error."""
    path = shared_folder / "empty.db"
    path.touch()
    os.chmod(path, 0o644)

    def read(p):
        storage = SQLiteStorage(p)
        try:
            storage.load_study("study-1")
        except StorageError as exc:
            missing = str(exc)
        return storage.read_only, storage.list_studies(), storage.find_study("x"), missing

    read_only, studies, found, missing = unprivileged(read, str(path))
    assert read_only and studies == [] and found is None
    assert "study-1" in missing and "no such table" not in missing
    assert path.stat().st_size == 0


def test_reading_an_empty_file_leaves_it_empty_and_a_write_creates_the_tables(tmp_path):
    """``jupyter-hpo list --storage notes.txt`` (an empty file given by mistake) turned it into
    a 28 kB database; reading it now sees no studies and writes nothing, and the first write
    (a study stored there) creates the tables in it."""
    path = tmp_path / "notes.txt"
    path.touch()
    storage = SQLiteStorage(path)
    assert storage.list_studies() == [] and storage.find_study("x") is None
    with pytest.raises(StorageError, match="no study named 'x'"):
        storage.load_study("x")
    assert path.stat().st_size == 0 and sorted(os.listdir(tmp_path)) == ["notes.txt"]
    fill(path)
    assert len(SQLiteStorage(path).list_studies()) == 4


def test_a_study_looked_up_in_an_empty_file_says_the_file_is_empty(tmp_path):
    """Study.load('s', 'notes.txt') on an empty file (touch, a file given by mistake) said the
    file "does not exist", and a user looked for it; it now says the file is empty, and the
    file stays empty."""
    from jupyter_hpo import Study

    path = tmp_path / "notes.txt"
    path.touch()
    with pytest.raises(StorageError, match=rf"^no study named 's' in {re.escape(str(path))}, "
                                           r"which is empty: no study was stored there; pass "
                                           r"the file it was stored in"):
        Study.load("s", str(path))
    missing = tmp_path / "typo.db"
    with pytest.raises(StorageError, match=r"typo\.db, which does not exist: no study"):
        Study.load("s", str(missing))
    assert path.stat().st_size == 0 and sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_a_file_in_a_read_only_folder_can_be_read(shared_folder):
    path = shared_folder / "studies.db"
    fill(path)
    os.chmod(path, 0o666)  # the file itself is writable, but WAL needs the folder
    before = digest(path)
    out = unprivileged(read_only_session, str(path))
    check_read_only(path, out)
    assert all(f"permission denied on the folder {shared_folder})" in message
               for message in out["refusals"].values())
    assert digest(path) == before
    assert sorted(p.name for p in shared_folder.iterdir()) == ["studies.db"]


def test_a_read_only_file_of_the_previous_schema_is_read_without_migrating(shared_folder):
    path = shared_folder / "old.db"
    make_v1_file(path)
    os.chmod(path, 0o644)
    before = digest(path)

    def read(p):
        storage = SQLiteStorage(p)
        record = storage.load_study("old")
        return (storage.read_only, [s.name for s in storage.list_studies()],
                [(t.status.value, t.resources, len(t.reports)) for t in record.trials],
                record.stop_reason, storage.stop_request(record.study_id))

    read_only, names, trials, stop_reason, request = unprivileged(read, str(path))
    assert read_only and names == ["old", "other"]
    assert trials == [("completed", "cpu", 2), ("failed", "cpu", 1), ("running", "cpu", 1)]
    assert (stop_reason, request) == ("", None)
    assert digest(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_sqlite_refusing_a_write_is_reported_as_read_only(shared_folder):
    """The file became read-only after it was opened: SQLite's "attempt to write a readonly
    database" becomes the same read-only error (not "damaged")."""
    os.chown(shared_folder, NOBODY.pw_uid, NOBODY.pw_gid)
    path = str(shared_folder / "mine.db")

    def session(p):
        storage = SQLiteStorage(p)
        study = create(storage, "s")
        assert storage.read_only is False
        os.chmod(p, 0o444)
        try:
            storage.write(study.study_id, StudyUpdate(state=StudyState.RUNNING))
        except StorageReadOnlyError as exc:
            return str(exc), storage.read_only, len(storage.list_studies())
        return None, storage.read_only, 0

    message, read_only, listed = unprivileged(session, path)
    assert message is not None and f"cannot write a study to {path}: the storage is " \
        "read-only (permission denied" in message
    assert read_only is True and listed == 1  # refused at once from now on, still readable


# ------------------------------------------------------------------ deleted or replaced
def test_a_deleted_file_is_reported_and_never_recreated(tmp_path):
    path = tmp_path / "studies.db"
    storage = SQLiteStorage(path)
    study = create(storage, "s")
    for leftover in tmp_path.glob("studies.db*"):
        leftover.unlink()
    record = TrialRecord(0, {"x": 0.5, "act": "relu"}, TrialStatus.COMPLETED)
    for call in (lambda: storage.write(study.study_id, StudyUpdate((record,))),
                 lambda: create(storage, "t"), lambda: storage.request_stop("s", by="me"),
                 lambda: storage.stop_request(study.study_id), storage.list_studies,
                 lambda: storage.release_study(study.study_id)):
        with pytest.raises(StorageGoneError, match=f"{path} was deleted after it was opened; "
                                                   "it is not recreated") as info:
            call()
        assert info.value.how == "deleted" and info.value.location == str(path)
    assert list(tmp_path.iterdir()) == []


def test_a_replaced_file_is_not_written(tmp_path):
    path, other = tmp_path / "studies.db", tmp_path / "other.db"
    storage = SQLiteStorage(path)
    study = create(storage, "s")
    fill(other, studies=1, trials=2, reports=2)
    os.replace(other, path)
    before = digest(path)
    with pytest.raises(StorageGoneError, match="was replaced by another file"):
        storage.write(study.study_id, StudyUpdate(state=StudyState.RUNNING))
    with pytest.raises(StorageGoneError):
        storage.list_studies()
    assert digest(path) == before
    assert [s.name for s in SQLiteStorage(path).list_studies()] == ["study-1"]  # reopened


# ------------------------------------------------------------------ concurrent creators
CREATOR = textwrap.dedent("""
    import sys
    from jupyter_hpo.records import Direction
    from jupyter_hpo.space import Real, Space
    from jupyter_hpo.storage import SQLiteStorage
    print("ready", flush=True)
    sys.stdin.readline()  # all start together
    storage = SQLiteStorage(sys.argv[1])
    study = storage.create_study(None, metric="loss", direction=Direction.MIN,
                                 resource="epoch", space=Space({"x": Real(0, 1)}), settings={})
    print(study.name, flush=True)
""")


@pytest.mark.timeout(180)
def test_processes_starting_at_once_get_distinct_default_names(tmp_path):
    path = tmp_path / "shared.db"  # not there yet: they also race to create the file
    script = tmp_path / "creator.py"
    script.write_text(CREATOR)
    for first in (1, 5):
        procs = [subprocess.Popen([sys.executable, str(script), str(path)], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(4)]
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=120) for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
        names = sorted(out.strip() for out, _ in results)
        assert names == sorted(f"study-{i}" for i in range(first, first + 4))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM studies").fetchone()[0] == 8
    conn.close()


def test_the_switch_to_wal_waits_while_another_connection_writes(tmp_path):
    """Turning a rollback-journal file into WAL needs it to itself, and SQLite refuses that at
    once (no busy wait) while another connection holds the write lock; opening waits for it
    instead of failing with "database is locked" (processes creating one new file hit this)."""
    path = tmp_path / "old.db"
    SQLiteStorage(path).create_study("s", metric="loss", direction=Direction.MIN,
                                     resource="epoch", space=SPACE, settings={})
    with sqlite3.connect(path, isolation_level=None) as conn:
        assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    conn.close()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # as another process opening the file does
    release = threading.Timer(0.5, writer.execute, ("COMMIT",))
    release.start()
    try:
        storage = SQLiteStorage(path)
    finally:
        release.join()
        writer.close()
    assert [s.name for s in storage.list_studies()] == ["s"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_write_waiting_for_another_process_lock_stops_at_a_kernel_interrupt(tmp_path):
    """SQLite's busy wait is C code that Ctrl-C does not end: creating a study in a file that
    another process kept locked held the cell for the whole timeout (30 s) after an interrupt.
    The wait is now cut into slices between which Python handles the interrupt."""
    import signal

    path = tmp_path / "locked.db"
    storage = SQLiteStorage(path)
    storage.create_study("s", metric="loss", direction=Direction.MIN, resource="epoch",
                         space=SPACE, settings={})
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, time
            conn = sqlite3.connect({str(path)!r}, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            print("held", flush=True)
            time.sleep(20)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        main = threading.get_ident()
        threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            storage.create_study("t", metric="loss", direction=Direction.MIN,
                                 resource="epoch", space=SPACE, settings={})
        assert holder.poll() is None  # interrupted while the other process still held it
    finally:
        holder.kill()
        holder.wait()
    storage.create_study("t", metric="loss", direction=Direction.MIN, resource="epoch",
                         space=SPACE, settings={})
    assert [s.name for s in storage.list_studies()] == ["s", "t"]


# ----------------------------------------------------------------- schema 1 -> schema 2
SCHEMA_V1 = """
CREATE TABLE studies (
    study_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, metric TEXT NOT NULL,
    mode TEXT NOT NULL, resource TEXT NOT NULL, space TEXT NOT NULL, settings TEXT NOT NULL,
    state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    elapsed REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', owner TEXT, heartbeat REAL);
CREATE TABLE trials (
    study_id INTEGER NOT NULL REFERENCES studies(study_id) ON DELETE CASCADE,
    trial_id INTEGER NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
    start_time REAL NOT NULL, end_time REAL, error TEXT NOT NULL DEFAULT '',
    traceback TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '',
    bracket INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (study_id, trial_id));
CREATE TABLE reports (
    study_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, seq INTEGER NOT NULL,
    time REAL NOT NULL, "values" TEXT NOT NULL, PRIMARY KEY (study_id, trial_id, seq),
    FOREIGN KEY (study_id, trial_id) REFERENCES trials(study_id, trial_id) ON DELETE CASCADE);
PRAGMA application_id = 1246253135;
PRAGMA user_version = 1;
"""

V1_SPACE = ('{"lr": {"type": "Real", "repr": "Real(0.0001, 0.1, log=True)", "lo": 0.0001, '
            '"hi": 0.1, "log": true}, "fn": {"type": "Categorical", "repr": '
            '"Categorical(<built-in function abs>, \'relu\')", "choices": [{"__repr__": '
            '"<built-in function abs>"}, "relu"]}}')


def make_v1_file(path, *, extra: str = "") -> None:
    """A storage file as jupyter_hpo 0.1 (schema 1) wrote it, made with its own SQL."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO studies VALUES (1, 'old', 'loss', 'min', 'epoch', ?, "
                 "'{\"trials\": 3, \"seed\": 0}', 'finished', 10.0, 20.0, 9.5, '', NULL, 19.0)",
                 (V1_SPACE,))
    conn.execute("INSERT INTO studies VALUES (2, 'other', 'acc', 'max', 'step', '{}', '{}', "
                 "'failed', 30.0, 40.0, 1.0, 'it broke', NULL, 39.0)")
    conn.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, 0, '{"lr": 0.01, "fn": {"__repr__": "<built-in function abs>"}}', "completed",
         11.0, 12.0, "", "", "cuda:0", 1),
        (1, 1, '{"lr": 0.05, "fn": "relu"}', "failed", 12.0, 13.0, "diverged",
         "Traceback ...", "cpu", 0),
        (1, 2, '{"lr": 0.001, "fn": "relu"}', "running", 13.0, None, "", "", "cpu", 0)])
    conn.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", [
        (1, 0, 0, 0.5, '{"epoch": 1, "loss": 0.8}'), (1, 0, 1, 1.5, '{"epoch": 2, "loss": 0.4}'),
        (1, 1, 0, 2.0, '{"epoch": 1, "loss": 0.1}'), (1, 2, 0, 3.0, '{"epoch": 1, "loss": 0.6}')])
    conn.commit()
    conn.executescript(extra)
    conn.close()



def add_scored_trials(conn: sqlite3.Connection) -> None:
    """Trials and reports of every kind of value into a file of ``make_v1_file``: study 2
    (maximises acc) best 0.75 from a cancelled trial, study 1 (minimises loss) an interrupted
    trial's -inf and 0.25 (NaN, infinities, booleans and objects are no value)."""
    conn.execute("INSERT INTO trials (study_id, trial_id, config, status, start_time) "
                 "VALUES (2, 0, '{}', 'completed', 31.0), (2, 1, '{}', 'cancelled', 32.0),"
                 " (2, 2, '{}', 'completed', 33.0), (1, 3, '{}', 'interrupted', 14.0)")
    conn.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", [
        (2, 0, 0, 1.0, '{"step": 1, "acc": 0.5}'),
        (2, 0, 1, 2.0, '{"step": 2, "acc": Infinity}'),
        (2, 0, 2, 3.0, '{"step": 3, "acc": true}'),
        (2, 1, 0, 4.0, '{"step": 1, "acc": 0.75}'),
        (2, 1, 1, 5.0, '{"step": 2, "acc": NaN}'),
        (2, 2, 0, 6.0, '{"step": 1, "acc": {"__repr__": "<object>"}}'),
        (1, 3, 0, 7.0, '{"epoch": 1, "loss": -Infinity}'),
        (1, 3, 1, 8.0, '{"epoch": 2, "loss": 0.25}')])


def old_writer_adds(path: Path) -> None:
    """What a jupyter_hpo of schema 4 runs, with its own SQL, on a file migrated while it had
    it open: trials and reports with no best value (the file's trigger marks them)."""
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO trials (study_id, trial_id, config, status, start_time, "
                    "end_time, error, traceback, device, resources, bracket, user_attrs, "
                    "checkpoint, enqueued, study_stopped) VALUES (1, 1, '{}', 'completed', 2.0, "
                    "3.0, '', '', 'cpu', 'cpu', 0, '{}', NULL, NULL, 0)")
        old.executemany("INSERT OR IGNORE INTO reports (study_id, trial_id, seq, time, "
                        "\"values\") VALUES (?, ?, ?, ?, ?)",
                        [(1, 1, 0, 2.0, '{"epoch": 1, "loss": 0.3}'),
                         (1, 1, 1, 2.2, '{"epoch": 2, "loss": NaN}'),
                         (1, 0, 1, 2.5, '{"epoch": 2, "loss": 0.1}')])
    old.close()


def schema_version(path) -> int:
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    return version


@pytest.mark.parametrize("migrated", [False, True])
def test_a_file_of_schema_1_is_migrated_by_the_first_write_and_keeps_everything(tmp_path,
                                                                                migrated):
    """Read as it is (``migrated=False``) or once a write has migrated it, the same."""
    path = tmp_path / "old.db"
    make_v1_file(path)
    storage = SQLiteStorage(path)
    assert schema_version(path) == 1  # opening it writes nothing
    if migrated:
        storage.release_study(1)  # the first write migrates it, in its transaction
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            columns = {r[1] for r in conn.execute("PRAGMA table_info(studies)")}
            assert {"stop_request", "stop_reason", "queue"} <= columns
            columns = {r[1] for r in conn.execute("PRAGMA table_info(trials)")}
            assert {"resources", "user_attrs", "checkpoint", "enqueued", "study_stopped",
                    "best"} <= columns
        conn.close()
    assert [(s.name, s.state, s.trials, s.best_value) for s in storage.list_studies()] == [
        ("old", StudyState.FINISHED, 3, 0.4), ("other", StudyState.FAILED, 0, None)]
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "fn": Categorical(abs, "relu")})
    old = storage.load_study("old", space=space)
    assert (old.metric, old.direction, old.resource, old.elapsed) == ("loss", Direction.MIN,
                                                                       "epoch", 9.5)
    assert dict(old.settings) == {"trials": 3, "seed": 0} and old.stop_reason == ""
    assert [t.config for t in old.trials] == [{"lr": 0.01, "fn": abs}, {"lr": 0.05, "fn": "relu"},
                                              {"lr": 0.001, "fn": "relu"}]
    first, failed, running = old.trials
    assert first.reports == ({"epoch": 1, "loss": 0.8}, {"epoch": 2, "loss": 0.4})
    assert first.times == (0.5, 1.5) and (first.device, first.bracket) == ("cuda:0", 1)
    assert first.resources == "cpu" and (failed.error, failed.traceback) == ("diverged",
                                                                             "Traceback ...")
    assert running.status is TrialStatus.RUNNING and running.end_time is None
    assert old.best_value == 0.4 and old.best_trial.trial_id == 0  # the failed 0.1 is out
    assert storage.load_study("other").error == "it broke"
    assert schema_version(path) == (5 if migrated else 1)
    resumed = storage.acquire_study("old", space=space)  # v2 features work on it
    assert schema_version(path) == SCHEMA_VERSION
    assert resumed.trials[2].status is TrialStatus.INTERRUPTED
    storage.write(resumed.study_id, StudyUpdate(state=StudyState.RUNNING))
    storage.request_stop("old", by="alice")
    assert storage.stop_request(resumed.study_id) == "alice"


def test_a_file_of_schema_2_is_migrated_to_the_current_schema_keeping_everything(tmp_path):
    """Version 2 files (user_version 2: schema 1 plus the first migration) get the columns of
    user attributes, checkpoints, enqueued configurations and the queue."""
    from jupyter_hpo.storage._schema import MIGRATIONS

    path = tmp_path / "v2.db"
    make_v1_file(path)
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[1] + "PRAGMA user_version = 2;")
        conn.execute("UPDATE trials SET resources = 'gpu 0' WHERE trial_id = 0")
    conn.close()
    storage = SQLiteStorage(path)
    storage.release_study(1)  # the first write migrates it
    assert schema_version(path) == SCHEMA_VERSION
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "fn": Categorical(abs, "relu")})
    old = storage.load_study("old", space=space)
    first = old.trials[0]
    assert first.resources == "gpu 0" and first.reports[-1] == {"epoch": 2, "loss": 0.4}
    assert dict(first.user_attrs) == {} and first.checkpoint is None and first.enqueued is None
    assert old.queue == () and len(old.trials) == 3


def test_a_file_of_schema_3_is_migrated_and_its_cancelled_trials_stay_cancelled(tmp_path):
    """Version 3 files could not tell a trial cancelled by a stop of the whole study from one
    stopped on its own: each is migrated as stopped on its own, so a resume does not run it
    again (as version 3 did)."""
    from jupyter_hpo.storage._schema import MIGRATIONS

    path = tmp_path / "v3.db"
    make_v1_file(path)
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[1] + MIGRATIONS[2] + "PRAGMA user_version = 3;")
        conn.execute("UPDATE trials SET status = 'cancelled', error = 'stopped by the user' "
                     "WHERE trial_id = 2")
    conn.close()
    storage = SQLiteStorage(path)
    storage.release_study(1)  # the first write migrates it
    assert schema_version(path) == SCHEMA_VERSION
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "fn": Categorical(abs, "relu")})
    cancelled = storage.load_study("old", space=space).trials[2]
    assert cancelled.status is TrialStatus.CANCELLED and not cancelled.study_stopped
    assert not cancelled.runs_again


def test_a_file_of_schema_4_gets_each_trials_best_value_from_its_reports(tmp_path):
    """Schema 5 keeps each trial's best value, so that a listing reads no report: migrating
    a file of schema 4 computes it from the stored reports, as loading the study reads them
    (NaN, infinities, booleans and objects are no value; the mode of each study), so the
    listing says what %hpo show says."""
    from jupyter_hpo.storage._schema import MIGRATIONS

    path = tmp_path / "v4.db"
    make_v1_file(path)
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[1] + MIGRATIONS[2] + MIGRATIONS[3] +
                           "PRAGMA user_version = 4;")
        add_scored_trials(conn)
    conn.close()
    storage = SQLiteStorage(path)
    storage.release_study(1)  # the first write migrates it
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        best = conn.execute("SELECT study_id, trial_id, best FROM trials "
                            "ORDER BY study_id, trial_id").fetchall()
    conn.close()
    # study 1 minimises loss: trial 1 failed (its 0.1 is kept with it, and left out of the
    # study's best); study 2 maximises acc
    assert best == [(1, 0, 0.4), (1, 1, 0.1), (1, 2, 0.6), (1, 3, 0.25),
                    (2, 0, 0.5), (2, 1, 0.75), (2, 2, None)]
    listed = {s.name: s.best_value for s in storage.list_studies()}
    assert listed == {"old": 0.25, "other": 0.75}
    for name, value in listed.items():
        loaded = storage.load_study(name)
        assert loaded.best_value == value == storage.find_study(name).best_value
    assert storage.load_study("other").best_trial.trial_id == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT best_reports, best_pending FROM trials ORDER BY study_id, "
                            "trial_id").fetchall() == [(2, 0), (1, 0), (1, 0), (2, 0), (3, 0),
                                                       (2, 0), (1, 0)]
    conn.close()


def test_reports_written_by_an_older_jupyter_hpo_still_count_in_listings(tmp_path):
    """A kernel of schema 4 that had the file open when another one migrated it keeps
    writing, with its own SQL, no best value: the file's trigger marks those trials, and a
    listing reads their reports, so it still says what loading the study says."""
    path = tmp_path / "shared.db"
    storage = SQLiteStorage(path)
    study = create(storage, "mine")
    storage.write(study.study_id, StudyUpdate((TrialRecord(
        0, {"x": 0.5, "act": "relu"}, TrialStatus.RUNNING, ({"epoch": 1, "loss": 0.5},),
        (1.0,), 1.0),), {}, StudyState.RUNNING, 1.0))
    old_writer_adds(path)
    assert storage.find_study("mine").best_value == 0.1 == storage.load_study("mine").best_value
    assert [s.best_value for s in storage.list_studies()] == [0.1]
    storage.write(study.study_id, StudyUpdate((TrialRecord(
        0, {"x": 0.5, "act": "relu"}, TrialStatus.COMPLETED,
        ({"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.1}, {"epoch": 3, "loss": 0.2}),
        (1.0, 2.5, 3.0), 1.0),), {0: 2}, StudyState.FINISHED, 3.0))
    assert storage.find_study("mine").best_value == 0.1 == storage.load_study("mine").best_value
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT trial_id, best, best_reports, best_pending FROM trials "
                            "ORDER BY trial_id").fetchall() == [(0, 0.2, 3, 1), (1, None, 0, 1)]
    conn.close()


# ------------------------------------------------------------------------- locations
def test_open_storage_turns_text_into_a_storage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_HPO_STORAGE", raising=False)
    default = open_storage(None)
    assert isinstance(default, SQLiteStorage)
    assert default.location == str(tmp_path / "jupyter_hpo.db")
    monkeypatch.setenv("JUPYTER_HPO_STORAGE", str(tmp_path / "env.db"))
    assert open_storage(None).location == str(tmp_path / "env.db")
    for nothing in ("none", "None", "", "  NONE "):
        assert open_storage(nothing) is None
    memory = open_storage(":memory:")  # this process's store, whichever spelling names it
    assert isinstance(memory, InMemoryStorage) and open_storage(":memory:") is memory
    assert open_storage("sqlite://") is memory and open_storage(" sqlite:///:memory:") is memory
    assert InMemoryStorage() is not memory
    assert open_storage("rel.db").location == str(tmp_path / "rel.db")
    assert open_storage("sqlite:///sub.db").location == str(tmp_path / "sub.db")
    assert open_storage(f"sqlite:///{tmp_path}/abs.db").location == str(tmp_path / "abs.db")
    assert f"sqlite:///{tmp_path}".startswith("sqlite:////")
    assert open_storage(f"file://{tmp_path}/f.db").location == str(tmp_path / "f.db")
    assert open_storage(tmp_path / "path.db").location == str(tmp_path / "path.db")
    # a file: URL is percent-encoded, as Path.as_uri() and file managers write it
    spaced = (tmp_path / "my runs ü.db").as_uri()
    assert "%20" in spaced and open_storage(spaced).location == str(tmp_path / "my runs ü.db")
    assert open_storage(memory) is memory
    with pytest.raises(StorageError, match=r":memory: is not a file: .*open_storage"):
        SQLiteStorage(":memory:")
    assert not (tmp_path / ":memory:").exists()


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_sqlites_own_file_of_a_database_is_not_a_storage(tmp_path, suffix):
    """``runs.db-wal`` next to ``runs.db`` is SQLite's: a study kept there was lost when
    ``runs.db``'s last connection closed and SQLite removed the file."""
    database = tmp_path / "runs.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StorageError, match=rf"runs\.db{suffix} is the .* SQLite keeps next to "
                                           rf"the database .*runs\.db, not a storage file"):
        open_storage(f"{database}{suffix}")
    assert isinstance(open_storage(tmp_path / f"notes{suffix}"), SQLiteStorage)  # no notes


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "mysql://u@localhost",
                                 "postgresql://user:secret@db.example.com:5432/studies",
                                 "redis://localhost:6379/0", "http://example.com/studies.db"])
def test_other_urls_are_refused_and_nothing_is_created(tmp_path, monkeypatch, url):
    monkeypatch.chdir(tmp_path)
    for make in (open_storage, SQLiteStorage):
        with pytest.raises(StorageError) as info:
            make(url)
        assert str(info.value) == (f"only SQLite files are supported as storage (got {url}): "
                                   f"pass a file path or sqlite:///path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("uri, instead", [
    ("file:runs.db?mode=ro", "pass runs.db; jupyter_hpo's listings read without writing"),
    ("file:runs.db", "pass runs.db"),
    ("sqlite:///runs.db?cache=shared", "pass sqlite:///runs.db"),
])
def test_a_sqlite_uri_is_refused_and_no_file_of_its_name_is_made(tmp_path, monkeypatch, uri,
                                                                  instead):
    """file:runs.db?mode=ro was taken as a path: a file named 'file:runs.db?mode=ro'."""
    monkeypatch.chdir(tmp_path)
    for make in (open_storage, SQLiteStorage):
        with pytest.raises(StorageError) as info:
            make(uri)
        assert str(info.value).startswith(f"{uri} is a SQLite URI, which jupyter_hpo does not "
                                          f"take (it would make a file of that name): {instead}")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_and_a_folder_given_as_file_are_clear_errors(tmp_path):
    with pytest.raises(StorageError, match=f"the folder {tmp_path / 'nowhere'} does not exist"):
        open_storage(str(tmp_path / "nowhere" / "s.db"))
    with pytest.raises(StorageError, match="is a folder: pass a file path such as"):
        open_storage(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_path_with_a_trailing_slash_or_space_that_names_nothing_is_refused(tmp_path,
                                                                             monkeypatch):
    """``runs/`` made a file ``runs``; ``runs.db/`` used the file ``runs.db``; ``'runs.db '``
    made a second file beside ``runs.db``, where the study then seemed to be missing."""
    import jupyter_hpo as jh

    monkeypatch.chdir(tmp_path)
    jh.tune(lambda c: c["x"], {"x": Real(0, 1)}, metric="loss", trials=1, storage="runs.db",
            name="kept")
    before = sorted(tmp_path.iterdir())
    for text, says in (
            ("runs.db/", (f"ends with /, which names a folder, but {tmp_path / 'runs.db'} is a "
                         f"file: pass runs.db without the /")),
            ("new/", (f"ends with /, which names a folder, but there is no folder "
                     f"{tmp_path / 'new'}: make it first and pass a file in it (e.g. "
                     f"new/jupyter_hpo.db), or pass new for a file of that name")),
            ("runs.db ", ("'runs.db ' starts or ends with whitespace, and no such file exists: pass "
                         "'runs.db' (a study stored there would go to a new file beside it)"))):
        for make in (open_storage, SQLiteStorage):
            with pytest.raises(StorageError) as info:
                make(text)
            assert says in str(info.value)
        with pytest.raises(StorageError):
            jh.tune(lambda c: c["x"], {"x": Real(0, 1)}, metric="loss", trials=1, storage=text,
                    name="kept2")
    monkeypatch.setenv("JUPYTER_HPO_STORAGE", "runs.db\n")  # an env file's line break
    with pytest.raises(StorageError, match=r"'runs.db\\n' starts or ends with whitespace"):
        open_storage(None)
    assert sorted(tmp_path.iterdir()) == before
    (tmp_path / "folder").mkdir()
    assert open_storage("folder/x.db").list_studies() == []  # a file in a folder is fine
    (tmp_path / "spaced.db ").touch()
    assert open_storage("spaced.db ").list_studies() == []  # a file that has such a name


def test_an_absolute_path_written_with_three_slashes_says_to_write_four(tmp_path, monkeypatch):
    """sqlite:///tmp/x/runs.db is relative (as in SQLAlchemy and Optuna); meant as /tmp/...,
    it said only "cannot create <cwd>/tmp/x/runs.db: the folder <cwd>/tmp/x does not exist"."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    relative = str(tmp_path / "runs.db").lstrip("/")
    url = f"sqlite:///{relative}"
    for make in (open_storage, SQLiteStorage):
        with pytest.raises(StorageError) as info:
            make(url)
        assert str(info.value) == (
            f"{url} names {relative} in the working directory ({work}), as sqlite:/// with "
            f"three slashes does in SQLAlchemy and Optuna, but the folder "
            f"{relative.rsplit('/', 1)[0]} is not there: for the absolute path /{relative} "
            f"write sqlite:////{relative} (four slashes) or the path alone")
    assert list(work.iterdir()) == [] and not (tmp_path / "runs.db").exists()
    (work / relative.rsplit("/", 1)[0]).mkdir(parents=True)  # the relative folder exists
    assert open_storage(url).location == str(work / relative)
