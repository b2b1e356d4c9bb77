"""Storage files of an older schema (1 to 4), as an older jupyter_hpo left them, and trials
that an older jupyter_hpo marked in a current one: reading them (listings, ``Study.load``,
``%hpo list``, ``jupyter-hpo list/show/best/export``) leaves the file byte for byte as it was
and says each study's best value, computed from the reports; the first write migrates the
file, and repairs the marked trials, in its own transaction."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_cli import ENV
from test_storage_faults import add_scored_trials, make_v1_file, old_writer_adds

from jupyter_hpo import Study
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Categorical, Real, Space
from jupyter_hpo.storage import (
    SCHEMA_VERSION,
    SQLiteStorage,
    StorageReadOnlyError,
    StudyNotFoundError,
    StudyStateError,
    StudyUpdate,
    open_storage,
)
from jupyter_hpo.storage._schema import MIGRATIONS

pytestmark = pytest.mark.timeout(180)

OLD_SPACE = Space({"lr": Real(1e-4, 1e-1, log=True), "fn": Categorical(abs, "relu")})
BEST = {"old": 0.2, "other": 0.75}  # as loading each study reads it from its reports


def make_old_file(path: Path, version: int) -> None:
    """A file of schema ``version`` in WAL mode, as a jupyter_hpo of that schema left it
    when its kernel was killed: the last report (trial 0's loss 0.2) is still in the
    write-ahead log (``path-wal``), which a reader that may write would checkpoint into the
    file. ``old`` minimises loss (its failed trial's 0.1 is left out, an interrupted trial's
    -inf is no value), ``other`` maximises acc (NaN, infinities, booleans and objects are no
    value)."""
    build = path.with_name("build.db")
    make_v1_file(build)
    with sqlite3.connect(build) as conn:
        add_scored_trials(conn)
        conn.executescript("".join(MIGRATIONS[v] for v in range(1, version)) +
                           f"PRAGMA user_version = {version};")
    conn.close()
    killed = sqlite3.connect(build, isolation_level=None)
    assert killed.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    killed.execute("PRAGMA wal_autocheckpoint = 0")
    killed.execute("INSERT INTO reports VALUES (1, 0, 2, 1.8, '{\"epoch\": 3, \"loss\": 0.2}')")
    shutil.copyfile(build, path)
    shutil.copyfile(f"{build}-wal", f"{path}-wal")
    killed.close()
    build.unlink()


def file_state(path: Path) -> tuple[str, int]:
    """The SHA-256 of the file's content (every schema statement and row, SQL as
    ``iterdump`` writes it, write-ahead log included) and its schema (``PRAGMA
    user_version``), read from a copy, so that looking leaves the file and its log alone."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        if Path(f"{path}-wal").exists():
            shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        conn = sqlite3.connect(copy)
        try:
            dump = "\n".join(conn.iterdump())
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    return hashlib.sha256(dump.encode()).hexdigest(), version


def no_side_files(path: Path) -> bool:
    """Whether SQLite's -wal and -shm files are gone: the last connection to close removes
    them, unless it could only read (``mode=ro``)."""
    return not any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))


def columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    conn.close()
    return found


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_reading_a_file_of_an_older_schema_writes_nothing_until_a_study_is_written(
        tmp_path, version, caplog):
    path = tmp_path / "old.db"
    make_old_file(path, version)
    before = file_state(path)
    assert before[1] == version
    reader = open_storage(path, read_only=True)
    assert isinstance(reader, SQLiteStorage) and reader.read_only and reader.file_writable
    listed = {s.name: (s.best_value, s.trials) for s in reader.list_studies()}
    assert listed == {"old": (0.2, 4), "other": (0.75, 3)}
    assert reader.find_study("other").best_value == 0.75
    assert reader.load_study("old", space=OLD_SPACE).best_trial.trial_id == 0
    with pytest.raises(StorageReadOnlyError, match="opened read-only .* to write"):
        reader.delete_study("other")
    # a storage opened to write (as Study.load, %%hpo --resume and tune() open it) reads the
    # file as it is too: loading a study may lead to a write, which migrates it then
    writer = SQLiteStorage(path)
    assert not writer.read_only
    assert {s.name: s.best_value for s in writer.list_studies()} == BEST
    loaded = Study.load("old", str(path))
    assert loaded.best_value == 0.2 and len(loaded.trials_dataframe()) == 4
    assert Study.load("other", writer).best_trial.trial_id == 1
    assert file_state(path) == before and no_side_files(path)
    assert "migrat" not in caplog.text
    with pytest.raises(StudyStateError):  # a write that is refused migrates nothing (its
        writer.request_stop("old", by="alice")  # connection may checkpoint the log: no check)
    assert file_state(path)[1] == version and "best" not in columns(path, "trials")
    assert "migrat" not in caplog.text
    writer.delete_study("other")  # the first write migrates the file, in its transaction
    assert file_state(path)[1] == SCHEMA_VERSION
    assert {"stop_request", "queue"} <= columns(path, "studies")
    assert {"resources", "study_stopped", "best", "best_pending"} <= columns(path, "trials")
    assert caplog.text.count(f"migrated {path} from storage schema {version} to "
                             f"{SCHEMA_VERSION}") == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT trial_id, best, best_reports, best_pending FROM trials "
                            "ORDER BY trial_id").fetchall() == [
            (0, 0.2, 3, 0), (1, 0.1, 1, 0), (2, 0.6, 1, 0), (3, 0.25, 2, 0)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # the reader opened before sees the migrated file as it is now
    assert {s.name: s.best_value for s in reader.list_studies()} == {"old": 0.2}
    assert {s.name: s.best_value for s in writer.list_studies()} == {"old": 0.2}


def test_a_migration_that_fails_at_the_first_write_leaves_the_file_as_it_was(tmp_path):
    """The migration runs in the first write's transaction: a step that fails undoes the
    steps before it and the write, and says what happened."""
    path = tmp_path / "odd.db"
    # a v1 file that already has the last column the migration adds: its third step fails
    make_v1_file(path, extra="ALTER TABLE trials ADD COLUMN resources TEXT;")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    before = file_state(path)
    storage = SQLiteStorage(path)  # opening and reading it is fine
    assert [s.name for s in storage.list_studies()] == ["old", "other"]
    with pytest.raises(Exception, match=(
            f"cannot create a study in {path}: duplicate column name: resources: it is of "
            f"storage schema 1, and migrating it to schema {SCHEMA_VERSION} failed; nothing "
            f"was written")):
        storage.create_study("new", metric="loss", direction=Direction.MIN,
                             resource="epoch", space=OLD_SPACE, settings={})
    assert file_state(path) == before
    assert "stop_request" not in columns(path, "studies")  # the first step was undone


def hpo(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_hpo", *words], check=False, cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_the_terminal_commands_that_read_leave_an_old_file_as_it_was(tmp_path):
    """``jupyter-hpo list``, ``show``, ``best`` and ``export`` open the file read-only: no
    migration note, the file unchanged; ``delete`` writes, and migrates it, saying so
    once."""
    path = tmp_path / "runs.db"
    make_old_file(path, 4)
    before = file_state(path)
    listed = hpo(tmp_path, "list", "--storage", str(path))
    assert listed.returncode == 0 and listed.stderr == ""
    assert "old: finished" in listed.stdout and "best loss=0.2\n" in listed.stdout
    assert "other: failed" in listed.stdout and "best acc=0.75" in listed.stdout
    shown = hpo(tmp_path, "show", "other", "--storage", str(path))
    assert shown.returncode == 0 and shown.stderr == "" and "0.75" in shown.stdout
    best = hpo(tmp_path, "best", "old", "--storage", str(path))
    assert best.returncode == 0 and "0.2" in best.stdout
    exported = hpo(tmp_path, "export", "old", "old.csv", "--storage", str(path))
    assert exported.returncode == 0 and exported.stderr == ""
    assert len((tmp_path / "old.csv").read_text().splitlines()) == 5  # a header, 4 trials
    assert file_state(path) == before and no_side_files(path)
    deleted = hpo(tmp_path, "delete", "other", "--yes", "--storage", str(path))
    assert deleted.returncode == 0
    assert deleted.stderr == (
        f"jupyter_hpo: migrated {path} from storage schema 4 to {SCHEMA_VERSION} to write to "
        f"it (every study, trial and report is kept); a jupyter_hpo that reads only schema 4 "
        f"refuses to open it from now on, asking to be upgraded: upgrade jupyter_hpo wherever "
        f"this file is used\n")
    assert file_state(path)[1] == SCHEMA_VERSION
    again = hpo(tmp_path, "list", "--storage", str(path))
    assert again.stderr == "" and "best loss=0.2" in again.stdout
    assert "other" not in again.stdout
    # a current file too: the readers leave no -wal or -shm file beside it
    assert hpo(tmp_path, "show", "old", "--storage", str(path)).returncode == 0
    assert no_side_files(path)


def test_hpo_list_show_best_and_export_leave_an_old_file_as_it_was(tmp_path, ipython_shell,
                                                                   capsys):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    path = tmp_path / "runs.db"
    make_old_file(path, 3)
    before = file_state(path)
    ip.run_line_magic("hpo", f"list --storage {path}")
    ip.run_line_magic("hpo", f"best other --storage {path}")
    ip.run_line_magic("hpo", f"show old --storage {path}")
    ip.run_line_magic("hpo", f"export old {tmp_path / 'old.csv'} --storage {path}")
    out = capsys.readouterr().out
    assert "best loss=0.2" in out and "best acc=0.75" in out
    assert "wrote 4 trials of old" in out
    assert file_state(path) == before
    with pytest.raises(StudyNotFoundError):
        Study.load("missing", str(path))
    assert file_state(path) == before


def stored_bests(path: Path) -> list[tuple[int, float | None, int, int]]:
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT trial_id, best, best_reports, best_pending FROM trials "
                             "ORDER BY trial_id").fetchall()
    conn.close()
    return found


def test_trials_marked_by_an_older_jupyter_hpo_are_repaired_by_the_first_write(tmp_path):
    path = tmp_path / "shared.db"
    storage = SQLiteStorage(path)
    study = storage.create_study("mine", metric="loss", direction=Direction.MIN,
                                 resource="epoch", space=OLD_SPACE, settings={})
    storage.write(study.study_id, StudyUpdate((TrialRecord(
        0, {"lr": 0.01, "fn": "relu"}, TrialStatus.RUNNING, ({"epoch": 1, "loss": 0.5},),
        (1.0,), 1.0),), {}, StudyState.RUNNING, 1.0))
    storage.release_study(study.study_id)
    old_writer_adds(path)
    marked = [(0, 0.5, 1, 1), (1, None, 0, 1)]
    assert stored_bests(path) == marked
    before = file_state(path)
    # reading, by a storage opened to write too, repairs nothing and writes nothing
    later = SQLiteStorage(path)
    assert later.find_study("mine").best_value == 0.1 == later.load_study("mine").best_value
    assert [s.best_value for s in open_storage(path, read_only=True).list_studies()] == [0.1]
    assert file_state(path) == before
    with pytest.raises(StudyStateError):  # a refused write undoes the repair with it
        later.request_stop("mine", by="alice")
    assert stored_bests(path) == marked
    later.update_settings(study.study_id, {"trials": 3})  # the first write repairs them
    assert stored_bests(path) == [(0, 0.1, 2, 0), (1, 0.3, 2, 0)]
    assert later.find_study("mine").best_value == 0.1 == later.load_study("mine").best_value
    assert dict(later.load_study("mine").settings) == {"trials": 3}
    # an old writer that goes on marks them again; a later opening repairs them again
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO reports VALUES (1, 1, 2, 4.0, '{\"epoch\": 3, \"loss\": 0.05}')")
    old.close()
    assert stored_bests(path) == [(0, 0.1, 2, 0), (1, 0.3, 2, 1)]
    assert later.find_study("mine").best_value == 0.05
    third = SQLiteStorage(path)
    third.release_study(study.study_id)
    assert stored_bests(path) == [(0, 0.1, 2, 0), (1, 0.05, 3, 0)]
    assert third.find_study("mine").best_value == 0.05
