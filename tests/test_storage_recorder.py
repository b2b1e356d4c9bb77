"""The recorder: a running study mirrored into storage in batches, stop requests passed on,
faults reported through the study and never written.

The study here is ``StandInStudy``, a small real implementation of the seam the recorder uses
(``subscribe``, ``trial_records``, ``state``, ``elapsed``, ``error``, ``stop_reason``,
``done``, ``name``, ``stop(why)``, ``notify_problem``), driven by the tests; the Study itself
is tested end to end elsewhere.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from jupyter_hpo.recorder import StudyRecorder
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Real, Space
from jupyter_hpo.storage import InMemoryStorage, SQLiteStorage, StudyUpdate

TESTS = Path(__file__).parent


@dataclass
class Event:
    kind: str
    trial: TrialRecord | None = None
    data: dict[str, Any] = field(default_factory=dict)


class StandInStudy:
    """The study seam of ``StudyRecorder``: trials and reports come from the test."""

    def __init__(self, name: str = "s") -> None:
        self.name = name
        self.state = StudyState.CREATED
        self.elapsed = 0.0
        self.error: Exception | None = None
        self.stop_reason = ""
        self.stops: list[str] = []
        self.problems: list[str] = []
        self.stopped = threading.Event()
        self.problem = threading.Event()
        self._trials: dict[int, TrialRecord] = {}
        self._subscribers: list[Any] = []
        self._lock = threading.Lock()

    # the seam
    def subscribe(self, callback):
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    @property
    def done(self) -> bool:
        return self.state.finished

    def trial_records(self, trial_ids):
        with self._lock:
            return [self._trials[i] for i in trial_ids]

    def stop(self, why: str) -> None:
        self.stops.append(why)
        self.stop_reason, self.state = why, StudyState.STOPPING
        self.stopped.set()

    def notify_problem(self, message: str) -> None:
        self.problems.append(message)
        self.problem.set()
        self._emit("problem")

    # driving it
    def _emit(self, kind: str, trial_id: int | None = None) -> None:
        trial = None if trial_id is None else self._trials[trial_id]
        for callback in list(self._subscribers):
            callback(Event(kind, trial))

    def begin(self) -> None:
        self.state = StudyState.RUNNING
        self._emit("study_started")

    def start_trial(self, trial_id: int, **config: Any) -> None:
        with self._lock:
            self._trials[trial_id] = TrialRecord(trial_id, config, TrialStatus.RUNNING,
                                                 start_time=time.time())
        self._emit("trial_started", trial_id)

    def report(self, trial_id: int, at: float, **values: Any) -> None:
        with self._lock:
            t = self._trials[trial_id]
            self._trials[trial_id] = replace(t, reports=(*t.reports, values),
                                             times=(*t.times, at))
        self._emit("report", trial_id)

    def finish_trial(self, trial_id: int, status: TrialStatus = TrialStatus.COMPLETED) -> None:
        with self._lock:
            self._trials[trial_id] = replace(self._trials[trial_id], status=status,
                                             end_time=time.time())
        self._emit("trial_finished", trial_id)

    def finish(self, state: StudyState = StudyState.FINISHED) -> None:
        self.state = state
        self._emit("study_finished")


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def kind(request):
    return request.param


@pytest.fixture
def storage(kind, tmp_path):
    return InMemoryStorage() if kind == "memory" else SQLiteStorage(tmp_path / "studies.db")


def new_study(storage, name="s"):
    return storage.create_study(name, metric="loss", direction=Direction.MIN, resource="epoch",
                                space=Space({"x": Real(0, 1)}), settings={"trials": 2})


def impatient_recorder(path: Path) -> tuple[SQLiteStorage, StandInStudy, StudyRecorder]:
    """A new study in ``path`` whose storage gives up waiting for a lock after 0.05 s, with a
    stand-in study and the recorder that writes it."""
    storage = SQLiteStorage(path, timeout=0.05)
    study = StandInStudy()
    return storage, study, StudyRecorder(study, storage, new_study(storage).study_id)


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------------- mirroring
def test_each_flush_writes_what_changed(storage):
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    study.begin()
    study.start_trial(0, x=0.5)
    study.report(0, 0.1, epoch=1, loss=0.9)
    recorder.flush()
    loaded = storage.load_study("s")
    assert loaded.state is StudyState.RUNNING
    assert [(t.status, len(t.reports)) for t in loaded.trials] == [(TrialStatus.RUNNING, 1)]
    study.report(0, 0.2, epoch=2, loss=0.5)
    study.start_trial(1, x=0.2)
    study.elapsed = 1.5
    recorder.flush()
    first, second = storage.load_study("s").trials
    assert first.reports == ({"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.5})
    assert first.times == (0.1, 0.2) and second.config == {"x": 0.2}
    study.stop("time limit reached")
    recorder.flush()
    loaded = storage.load_study("s")
    assert loaded.state is StudyState.RUNNING  # stopping is stored as running
    assert loaded.stop_reason == "time limit reached" and loaded.elapsed == 1.5
    assert study.problems == [] and recorder.error is None


def test_the_writer_thread_stores_the_finished_study_and_releases_it(storage):
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    recorder.start()
    study.begin()
    for trial_id in range(2):
        study.start_trial(trial_id, x=trial_id / 2)
        for epoch in range(1, 4):
            study.report(trial_id, float(epoch), epoch=epoch, loss=1 / epoch + trial_id)
    study.finish_trial(0)
    study.finish_trial(1, TrialStatus.STOPPED)
    study.elapsed = 7.0
    study.finish()
    recorder.join(30)
    assert not recorder._thread.is_alive()
    loaded = storage.load_study("s")
    assert (loaded.state, loaded.elapsed, loaded.owner) == (StudyState.FINISHED, 7.0, None)
    assert [t.status for t in loaded.trials] == [TrialStatus.COMPLETED, TrialStatus.STOPPED]
    assert all(len(t.reports) == 3 for t in loaded.trials)
    assert loaded.best_value == pytest.approx(1 / 3) and loaded.best_trial.trial_id == 0
    assert study._subscribers == []  # it unsubscribed


def test_nothing_changed_means_no_write_until_the_heartbeat(kind, tmp_path):
    storage_clock, clock = Clock(100.0), Clock(0.0)
    storage = InMemoryStorage(clock=storage_clock) if kind == "memory" else \
        SQLiteStorage(tmp_path / "s.db", clock=storage_clock)
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id, heartbeat_every=5.0, clock=clock)
    study.begin()
    recorder.flush()
    assert storage.find_study("s").updated == 100.0
    storage_clock.now, clock.now = 200.0, 4.0
    study.elapsed = 4.0  # time passing alone is not a change
    recorder.flush()
    assert storage.find_study("s").updated == 100.0
    clock.now = 5.5
    recorder.flush()  # the heartbeat, with the current elapsed time
    summary = storage.find_study("s")
    assert (summary.updated, summary.elapsed) == (200.0, 4.0)
    storage_clock.now, clock.now = 300.0, 6.0
    study.start_trial(0, x=0.1)  # a change is written at once
    recorder.flush()
    assert storage.find_study("s").updated == 300.0


def test_a_resumed_study_writes_only_the_reports_it_did_not_store(storage):
    record = new_study(storage)
    stored = TrialRecord(0, {"x": 0.5}, TrialStatus.RUNNING,
                         ({"epoch": 1, "loss": 0.8}, {"epoch": 2, "loss": 0.6}), (1.0, 2.0))
    storage.write(record.study_id, StudyUpdate((stored,), {}, StudyState.RUNNING))
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id, written={0: 2})
    study.begin()
    study.start_trial(0, x=0.5)
    for epoch, loss in ((1, 99.0), (2, 99.0), (3, 0.4)):
        study.report(0, float(epoch), epoch=epoch, loss=loss)
    recorder.flush()
    assert [r["loss"] for r in storage.load_study("s").trials[0].reports] == [0.8, 0.6, 0.4]


# ---------------------------------------------------------------------- stop requests
def test_a_stop_request_stops_the_study_once(storage, kind, tmp_path):
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    recorder.start()
    study.begin()
    asker = SQLiteStorage(storage.location) if kind == "sqlite" else storage
    asker.request_stop("s", by="JupyterLab by alice")
    assert study.stopped.wait(30)
    recorder.flush()
    recorder.flush()
    assert study.stops == ["stopped from JupyterLab by alice"]
    study.finish()
    recorder.join(30)
    loaded = storage.load_study("s")
    assert (loaded.state, loaded.stop_reason) == (StudyState.FINISHED,
                                                  "stopped from JupyterLab by alice")


@pytest.mark.timeout(120)
def test_another_process_stops_a_study_through_the_file(tmp_path):
    path = tmp_path / "studies.db"
    storage = SQLiteStorage(path)
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    recorder.start()
    study.begin()
    code = (f"from jupyter_hpo.storage import SQLiteStorage; "
            f"SQLiteStorage({str(path)!r}).request_stop('s', by='a terminal (bob)')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=100)
    assert study.stopped.wait(30)
    assert study.stops == ["stopped from a terminal (bob)"]
    study.finish()
    recorder.join(30)


# ----------------------------------------------------------------------------- faults
def test_a_failed_write_is_retried_and_reported_once(tmp_path):
    path = tmp_path / "studies.db"
    storage, study, recorder = impatient_recorder(path)
    study.begin()
    study.start_trial(0, x=0.5)
    study.report(0, 1.0, epoch=1, loss=0.9)
    recorder.flush()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        for epoch in (2, 3):
            study.report(0, float(epoch), epoch=epoch, loss=1 / epoch)
            recorder.flush()
        assert recorder.error is not None
        assert len(study.problems) == 1
        assert f"could not write study 's' to {path}: " in study.problems[0]
        assert "locked" in study.problems[0] and "retrying every 0.2 s" in study.problems[0]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    recorder.flush()
    assert recorder.error is None
    assert len(storage.load_study("s").trials[0].reports) == 3  # nothing was lost
    assert study.problems[1] == f"writing study 's' to {path} works again; nothing was lost"


def test_a_study_that_ends_while_the_file_is_locked_is_stored_once_the_lock_goes(tmp_path):
    """The final write fails while another process holds the write lock: join() returns (the
    cell ends), and the writer keeps trying until the lock goes, then releases the study
    (it gave up after three tries: the last trials were never stored and the study stayed
    'running', leased by a live kernel, for as long as that kernel ran)."""
    path = tmp_path / "studies.db"
    _, study, recorder = impatient_recorder(path)
    recorder.start()
    study.begin()
    study.start_trial(0, x=0.5)
    study.report(0, 1.0, epoch=1, loss=0.9)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        study.report(0, 2.0, epoch=2, loss=0.5)
        study.finish_trial(0)
        study.start_trial(1, x=0.25)
        study.report(1, 3.0, epoch=1, loss=0.75)
        study.finish_trial(1, TrialStatus.STOPPED)
        study.finish()
        recorder.join(30)
        assert recorder.error is not None and recorder._thread.is_alive()
        assert any("keeps trying" in problem for problem in study.problems)
        for _ in range(20):  # well past the three tries it used to give up after
            recorder._wake.set()
            time.sleep(0.06)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    recorder._thread.join(30)
    assert recorder.error is None and not recorder._thread.is_alive()
    loaded = SQLiteStorage(path).load_study("s")
    assert [(t.status, len(t.reports)) for t in loaded.trials] == [
        (TrialStatus.COMPLETED, 2), (TrialStatus.STOPPED, 1)]
    assert loaded.state is StudyState.FINISHED and loaded.owner is None
    assert study.problems[-1] == f"writing study 's' to {path} works again; nothing was lost"


def test_a_storage_file_deleted_while_the_study_runs_is_reported_and_not_recreated(tmp_path):
    path = tmp_path / "studies.db"
    storage = SQLiteStorage(path)
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    study.begin()
    study.start_trial(0, x=0.5)
    recorder.flush()
    recorder.start()
    for leftover in tmp_path.glob("studies.db*"):
        leftover.unlink()
    study.report(0, 1.0, epoch=1, loss=0.9)
    assert study.problem.wait(30)  # at the next flush
    assert study.problems == [
        (f"the storage file {path} was deleted while the study ran: new results are kept in "
         f"memory only; save them from the Study that tune() returns, e.g. "
         f"study.trials_dataframe().to_csv('file.csv')")]
    assert recorder.halted and study.stops == []  # the study goes on in memory
    study.report(0, 2.0, epoch=2, loss=0.5)
    study.finish_trial(0)
    study.finish()
    recorder.join(30)
    assert not recorder._thread.is_alive()
    assert len(study.problems) == 1 and list(tmp_path.iterdir()) == []


def test_a_deleted_file_is_noticed_at_the_next_flush_even_when_nothing_changed(tmp_path):
    path = tmp_path / "studies.db"
    storage = SQLiteStorage(path)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, new_study(storage).study_id)
    study.begin()
    recorder.flush()
    path.unlink()
    recorder.flush()  # no write is due; the stop-request poll finds the file gone
    assert recorder.halted and len(study.problems) == 1
    assert study.problems[0].startswith(f"the storage file {path} was deleted while the study")
    assert not path.exists()


def test_a_storage_file_replaced_while_the_study_runs_is_left_alone(tmp_path):
    path, other = tmp_path / "studies.db", tmp_path / "other.db"
    storage = SQLiteStorage(path)
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    study.begin()
    recorder.flush()
    new_study(SQLiteStorage(other), "theirs")
    other.replace(path)
    before = digest(path)
    recorder.start()
    study.start_trial(0, x=0.5)
    assert study.problem.wait(30)
    assert study.problems[0].startswith(f"the storage file {path} was replaced by another file "
                                        f"while the study ran: new results are kept in memory")
    study.finish()
    recorder.join(30)
    assert digest(path) == before
    assert [s.name for s in SQLiteStorage(path).list_studies()] == ["theirs"]


def test_a_study_whose_lease_was_taken_over_stops_writing(storage):
    record = new_study(storage)
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, record.study_id)
    study.begin()
    recorder.flush()
    mine = storage.owner
    storage.release_study(record.study_id)
    storage.owner = "elsewhere:1"  # another kernel resumed it
    storage.acquire_study("s")
    storage.owner = mine
    study.start_trial(0, x=0.5)
    recorder.flush()
    recorder.flush()
    assert recorder.halted and len(study.problems) == 1
    assert "now run by another process (elsewhere:1)" in study.problems[0]
    assert "study.trials_dataframe().to_csv('file.csv')" in study.problems[0]
    assert storage.load_study("s").trials == ()


def test_an_unexpected_error_from_the_study_is_reported_not_silent(storage):
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, new_study(storage).study_id)
    recorder.start()
    study.begin()
    for callback in list(study._subscribers):  # an event for a trial the study does not know
        callback(Event("report", TrialRecord(42, {}, TrialStatus.RUNNING)))
    assert study.problem.wait(30)
    assert study.problems[0].startswith("the recorder of study 's' stopped on an unexpected "
                                        "error (KeyError(42))")
    study.finish()
    recorder.join(30)
    assert not recorder._thread.is_alive() and recorder.halted


EXITING = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_storage_recorder import StandInStudy, new_study
    from jupyter_hpo.recorder import StudyRecorder
    from jupyter_hpo.storage import SQLiteStorage
    storage = SQLiteStorage(sys.argv[1])
    study = StandInStudy()
    recorder = StudyRecorder(study, storage, new_study(storage).study_id, interval=3600)
    recorder.start()
    study.begin()
    study.start_trial(0, x=0.5)
    study.report(0, 1.0, epoch=1, loss=0.25)
    sys.exit(0)  # the interpreter exits while the study runs
""")


@pytest.mark.timeout(120)
def test_the_interpreter_exiting_writes_what_the_study_has(tmp_path):
    path = tmp_path / "studies.db"
    script = tmp_path / "exiting.py"
    script.write_text(EXITING)
    subprocess.run([sys.executable, str(script), str(path), str(TESTS)], check=True,
                   timeout=100)
    loaded = SQLiteStorage(path).load_study("s")
    assert loaded.trials[0].reports == ({"epoch": 1, "loss": 0.25},)
    assert loaded.owner is None  # released: it can be resumed at once
    assert loaded.state is StudyState.INTERRUPTED
