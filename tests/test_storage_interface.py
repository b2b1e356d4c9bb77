"""One conformance suite for every ``BaseStorage``: the in-memory storage and the SQLite file
must behave the same (names, leases, resume, writes, stop requests, deletion, values)."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from jupyter_hpo.errors import HPOError
from jupyter_hpo.magic._text import on_storage
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Categorical, Int, Real, Space
from jupyter_hpo.storage import (
    LEASE_TIMEOUT,
    BaseStorage,
    DuplicateStudyError,
    InMemoryStorage,
    SQLiteStorage,
    StorageError,
    StudyNotFoundError,
    StudyStateError,
    StudyUpdate,
)

SPACE = Space({"x": Real(0.0, 1.0), "n": Int(1, 5, log=True), "act": Categorical("relu", "tanh")})
SETTINGS = {"trials": 20, "time_limit": None, "searcher": "random", "seed": 3}


class Clock:
    """The storages' clock, moved by the test (leases and heartbeats without sleeping)."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def kind(request):
    return request.param


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def storage(kind, tmp_path, clock) -> BaseStorage:
    if kind == "memory":
        return InMemoryStorage(clock=clock)
    return SQLiteStorage(tmp_path / "studies.db", clock=clock)


def create(storage, name="s", space=SPACE, **changes):
    options = {"metric": "loss", "direction": Direction.MIN, "resource": "epoch",
               "space": space, "settings": SETTINGS} | changes
    return storage.create_study(name, **options)


def trial(trial_id, status=TrialStatus.COMPLETED, losses=(0.5,), config=None, **fields):
    reports = tuple({"epoch": i + 1, "loss": v} for i, v in enumerate(losses))
    times = tuple(10.0 * trial_id + i for i in range(len(losses)))
    return TrialRecord(trial_id, config or {"x": 0.1 * trial_id, "n": 2, "act": "relu"}, status,
                       reports, times, start_time=100.0 + trial_id,
                       end_time=None if not status.finished else 200.0 + trial_id, **fields)


def run(storage, study_id, *trials, state=StudyState.RUNNING, **fields):
    storage.write(study_id, StudyUpdate(tuple(trials), {}, state, **fields))


# ---------------------------------------------------------------------------- creating
def test_create_list_find_and_load(storage):
    first = create(storage, "first")
    second = create(storage, "second", metric="acc", direction=Direction.MAX,
                    resource="step")
    assert first.study_id != second.study_id
    assert first.state is StudyState.CREATED and first.trials == ()
    assert first.owner == storage.owner and dict(first.settings) == SETTINGS
    listed = storage.list_studies()
    assert [s.name for s in listed] == ["first", "second"]  # oldest first
    found = storage.find_study("second")
    assert (found.metric, found.direction, found.resource, found.mode) == \
        ("acc", Direction.MAX, "step", "max")
    assert (found.trials, found.best_value, found.state) == (0, None, StudyState.CREATED)
    assert found.budget == 20 and found.study_id == second.study_id
    assert storage.find_study("third") is None
    loaded = storage.load_study("first")
    assert loaded.name == "first" and loaded.direction is Direction.MIN
    assert {n: repr(d) for n, d in loaded.space.items()} == \
        {n: repr(d) for n, d in SPACE.items()}
    assert loaded.trials == () and loaded.best_trial is None and loaded.best_value is None


def test_a_taken_name_is_refused_and_says_how_to_resume(storage):
    create(storage, "dup")
    with pytest.raises(DuplicateStudyError,
                       match=r"'dup' already exists in .*--name dup --resume.*%hpo delete dup"):
        create(storage, "dup", metric="other")
    assert [s.metric for s in storage.list_studies()] == ["loss"]  # the first one is kept


def test_a_name_taken_by_a_running_study_says_it_runs_not_to_delete_it(storage, clock):
    """A delete or resume of a study another kernel runs is refused, so the hint is to pick
    another name or wait; once its process is gone the usual hint comes back."""
    mine = storage.owner
    storage.owner = "elsewhere:1"
    study = create(storage, "busy")
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    storage.owner = mine
    with pytest.raises(DuplicateStudyError) as info:
        create(storage, "busy")
    assert str(info.value).startswith("a study named 'busy' already exists in ")
    assert "is running (in another kernel, elsewhere:1): pick another --name, or wait " \
        "until it has ended and continue it with --name busy --resume" in str(info.value)
    assert "%hpo delete" not in str(info.value)
    clock.now += LEASE_TIMEOUT + 1  # its kernel is gone: resume or delete it
    with pytest.raises(DuplicateStudyError, match=r"--name busy --resume, pick another "
                                                  r"--name, or remove it with %hpo delete busy"):
        create(storage, "busy")


def test_a_missing_study_is_a_lookup_error_listing_the_stored_names(storage, kind):
    empty = "holds no studies yet" if kind == "memory" else "which does not exist"  # no file
    with pytest.raises(StudyNotFoundError, match=f"no study named 'x' .*{empty}"):
        storage.load_study("x")
    create(storage, "a")
    create(storage, "b")
    for call in (storage.load_study, storage.acquire_study, storage.delete_study,
                 lambda name: storage.request_stop(name, by="me")):
        with pytest.raises(StudyNotFoundError) as info:
            call("x")
        assert "no study named 'x'" in str(info.value) and "stored studies: a, b" in \
            str(info.value)
        assert isinstance(info.value, (LookupError, StorageError, HPOError))


def test_a_missing_study_among_many_lists_those_named_most_like_it(storage):
    """A file of a sweep's 300 studies put all 300 names (4,000 characters) in the message
    for a mistyped name."""
    for i in range(30):
        create(storage, f"sweep-{i:02d}-lr")
    with pytest.raises(StudyNotFoundError) as info:
        storage.load_study("swep-07-lr")
    message = str(info.value)
    assert message.startswith("no study named 'swep-07-lr' in ")
    listed = message.split("named most like it: ")[1].split(" (`%hpo list` shows them all)")[0]
    names = listed.split(", ")
    assert "; it holds 30 studies, these 10 named most like it: " in message
    assert len(names) == 10 and names[0] == "sweep-07-lr"
    assert set(names) <= {f"sweep-{i:02d}-lr" for i in range(30)}
    # %%hpo --storage runs.db adds the flag to the commands a message suggests, not here
    assert on_storage(message, "runs.db") == message


def test_an_empty_name_is_refused(storage):
    for name in ("", "   "):
        with pytest.raises(StorageError, match="the study name is .*, but must be non-empty"):
            create(storage, name)
    assert storage.list_studies() == []


def test_default_names_take_the_first_free_number(storage):
    assert create(storage, None).name == "study-1"
    create(storage, "study-3")
    assert create(storage, None).name == "study-2"
    assert create(storage, None).name == "study-4"


def test_threads_creating_at_once_get_distinct_default_names(storage):
    barrier = threading.Barrier(6)
    names, errors = [], []

    def make():
        barrier.wait()
        try:
            names.append(create(storage, None).name)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(names) == [f"study-{i}" for i in range(1, 7)]


# ----------------------------------------------------------------------------- writing
def test_writes_upsert_trials_and_append_only_new_reports(storage, clock):
    study = create(storage)
    sid = study.study_id
    run(storage, sid, trial(0, TrialStatus.RUNNING, losses=(0.9, 0.5)), elapsed=1.5)
    loaded = storage.load_study("s")
    assert loaded.state is StudyState.RUNNING and loaded.elapsed == 1.5
    assert loaded.trials[0].reports == ({"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.5})
    # the writer sends each trial whole but only its reports from reports_from on: reports
    # already stored are kept as they were
    resent = trial(0, TrialStatus.COMPLETED, losses=(111.0, 222.0, 0.3),
                   device="cuda:1", resources="1 GPU", bracket=2)
    storage.write(sid, StudyUpdate((resent, trial(1, TrialStatus.FAILED, losses=(0.01,),
                                                  error="boom", traceback="Traceback: boom")),
                                   {0: 2}, StudyState.STOPPING, 2.5, "", "time limit reached"))
    loaded = storage.load_study("s")
    first, failed = loaded.trials
    assert [r["loss"] for r in first.reports] == [0.9, 0.5, 0.3]
    assert first.times == (0.0, 1.0, 2.0)
    assert (first.status, first.start_time, first.end_time) == (TrialStatus.COMPLETED, 100.0,
                                                                200.0)
    assert (first.device, first.resources, first.bracket) == ("cuda:1", "1 GPU", 2)
    assert (failed.status, failed.error, failed.traceback) == (TrialStatus.FAILED, "boom",
                                                               "Traceback: boom")
    assert loaded.state is StudyState.RUNNING  # stopping is stored as running
    assert loaded.stop_reason == "time limit reached" and loaded.elapsed == 2.5
    # the failed trial's 0.01 does not count: best of the others
    assert loaded.best_value == 0.3 and loaded.best_trial.trial_id == 0
    assert loaded.incumbent_history == ((0.0, 0, 0.9), (1.0, 0, 0.5), (2.0, 0, 0.3))
    summary = storage.find_study("s")
    assert (summary.trials, summary.best_value) == (2, 0.3)
    clock.now += 5
    run(storage, sid, state=StudyState.FAILED, elapsed=3.0, error="the first trials failed")
    summary = storage.find_study("s")
    assert (summary.state, summary.error, summary.updated) == \
        (StudyState.FAILED, "the first trials failed", clock.now)


def test_best_value_follows_the_direction(storage):
    study = create(storage, "up", direction=Direction.MAX, metric="acc")
    records = [TrialRecord(i, {"x": 0.5, "n": 1, "act": "tanh"}, TrialStatus.COMPLETED,
                           ({"acc": v},), (float(i),)) for i, v in enumerate((0.7, 0.9, 0.8))]
    run(storage, study.study_id, *records, state=StudyState.FINISHED)
    loaded = storage.load_study("up")
    assert loaded.best_value == 0.9 and loaded.best_trial.trial_id == 1
    assert loaded.best_config == {"x": 0.5, "n": 1, "act": "tanh"}
    assert storage.find_study("up").best_value == 0.9


@pytest.mark.parametrize("mode", ["min", "max"])
def test_the_listed_best_value_is_the_loaded_studys_best_value(storage, mode):
    """What a listing says (``%hpo list``, the CLI, the JupyterLab panel) is what ``%hpo show``
    and ``best_trial`` say: failed trials left out, every other status counted; NaN,
    infinities, booleans, text and objects are no value; each write adds only its new
    reports (SQLite keeps each trial's best value, and reads no report to list)."""
    direction = Direction.of(mode)
    sign = 1 if mode == "min" else -1
    study = create(storage, "b", direction=direction)
    sid = study.study_id

    def reports(*values):
        return tuple({"epoch": i + 1, "loss": v} for i, v in enumerate(values))

    def record(trial_id, status, values, **fields):
        return TrialRecord(trial_id, {"x": 0.5, "n": 1, "act": "relu"}, status, reports(*values),
                           tuple(float(trial_id * 10 + i) for i in range(len(values))),
                           start_time=1.0, end_time=2.0 if status.finished else None,
                           **fields)

    def said():
        listed = {s.name: s.best_value for s in storage.list_studies()}["b"]
        found = storage.find_study("b").best_value
        loaded = storage.load_study("b")
        assert listed == found == loaded.best_value, (listed, found, loaded.best_value)
        return listed, None if loaded.best_trial is None else loaded.best_trial.trial_id

    def write(*trials, reports_from=None):
        storage.write(sid, StudyUpdate(trials, reports_from or {}, StudyState.RUNNING))

    # values as losses: sign * x is better the smaller x is, under either mode
    no_values = (math.nan, sign * -math.inf, True, "0.1", object, None, {"a": 1})
    write(record(0, TrialStatus.RUNNING, no_values))
    assert said() == (None, None)
    write(record(1, TrialStatus.FAILED, (sign * -100.0,), error="boom"))
    assert said() == (None, None)  # a failed trial's value is never the best
    write(record(0, TrialStatus.RUNNING, (*no_values, sign * 0.5)),
          reports_from={0: len(no_values)})
    assert said() == (sign * 0.5, 0)
    write(record(2, TrialStatus.CANCELLED, (np.float32(0.25) * sign, sign * 3)),
          record(3, TrialStatus.INTERRUPTED, (sign * 0.4,)),
          record(4, TrialStatus.STOPPED, (np.int64(sign),)))
    assert said() == (sign * 0.25, 2)
    write(record(5, TrialStatus.PAUSED, (sign * 0.125, sign * 7)),
          record(6, TrialStatus.CANCELLED, (sign * 0.0625,), study_stopped=True))
    assert said() == (sign * 0.0625, 6)
    # a trial is resent whole: its reports at seqs already stored stay as they were stored
    write(record(0, TrialStatus.COMPLETED, (*no_values, sign * -50.0, sign * -9.0, sign * 0.01)),
          reports_from={0: len(no_values) + 1})
    assert said() == (sign * -9.0, 0)
    write(record(0, TrialStatus.FAILED, ()), reports_from={0: 10})
    assert said() == (sign * 0.0625, 6)  # failed later: none of its values count any more


def test_values_are_kept_as_json_with_objects_by_repr(storage):
    study = create(storage)
    values = {"epoch": np.int64(1), "loss": np.float32(0.25), "nan": math.nan,
              "inf": math.inf, "obj": object, "nested": {"a": (1, 2)}}
    record = TrialRecord(0, {"x": np.float64(0.5), "n": 3, "act": "relu"},
                         TrialStatus.COMPLETED, (values,), (0.5,))
    run(storage, study.study_id, record)
    stored = storage.load_study("s").trials[0]
    report = stored.reports[0]
    assert report["epoch"] == 1 and type(report["epoch"]) is int
    assert report["loss"] == 0.25 and type(report["loss"]) is float
    assert math.isnan(report["nan"]) and report["inf"] == math.inf
    assert report["obj"] == repr(object) and report["nested"] == {"a": [1, 2]}
    assert stored.config == {"x": 0.5, "n": 3, "act": "relu"}
    assert type(stored.config["x"]) is float


def test_categorical_objects_come_back_as_the_same_objects_with_the_space(storage, kind):
    space = Space({"fn": Categorical(abs, round), "x": Real(-1.0, 1.0)})
    study = create(storage, "o", space=space, settings={"optimiser": object})
    run(storage, study.study_id, trial(0, config={"fn": round, "x": 0.5}))
    loaded = storage.load_study("o", space=space)
    assert loaded.trials[0].config["fn"] is round
    assert loaded.space["fn"] is space["fn"]  # the caller's domain, so spaces compare equal
    assert loaded.settings == {"optimiser": {"__repr__": repr(object)}}
    shown = storage.load_study("o").trials[0].config["fn"]
    # without the space: SQLite shows the repr (the objects live in the kernel that ran the
    # study); the in-memory storage still holds the study's own space, hence the objects
    assert shown == (repr(round) if kind == "sqlite" else round)
    changed = Space({"fn": Categorical(abs, round, max), "x": Real(-1.0, 1.0)})
    loaded = storage.load_study("o", space=changed)  # a different domain is not replaced
    assert repr(loaded.space["fn"]) != repr(changed["fn"])
    assert loaded.space["x"] is changed["x"]


def kernel_copy(function):
    """The same function as another kernel defines it: equal but for its memory address."""
    import types

    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__)
    copy.__qualname__ = function.__qualname__
    return copy


def square(v):
    return v * v


def test_functions_of_another_kernel_are_matched_without_their_addresses(storage, kind):
    """A function's repr holds its memory address, which changes with every kernel; a space
    brought by a resume in a new kernel takes the stored trials' functions by name, unless two
    choices print alike without their addresses (lambdas)."""
    space = Space({"fn": Categorical(square, abs), "x": Real(-1.0, 1.0)})
    study = create(storage, "f", space=space)
    run(storage, study.study_id, trial(0, config={"fn": square, "x": 0.5}))
    again = kernel_copy(square)
    assert repr(again) != repr(square)
    new_space = Space({"fn": Categorical(again, abs), "x": Real(-1.0, 1.0)})
    loaded = storage.load_study("f", space=new_space)
    assert loaded.space["fn"] is new_space["fn"]
    if kind == "sqlite":  # the in-memory storage holds the objects themselves
        assert loaded.trials[0].config["fn"] is again
    first, second = (lambda v: v), (lambda v: -v)
    space = Space({"fn": Categorical(first, second)})
    study = create(storage, "lambdas", space=space)
    run(storage, study.study_id, trial(0, config={"fn": second}))
    new_space = Space({"fn": Categorical(kernel_copy(first), kernel_copy(second))})
    loaded = storage.load_study("lambdas", space=new_space)
    assert loaded.space["fn"] is not new_space["fn"]  # which lambda is which cannot be told


def test_update_settings(storage):
    study = create(storage)
    storage.update_settings(study.study_id, {"trials": 40, "searcher": "tpe"})
    assert dict(storage.load_study("s").settings) == {"trials": 40, "searcher": "tpe"}
    assert storage.find_study("s").budget == 40
    with pytest.raises(StudyNotFoundError, match="study id 999 .*deleted"):
        storage.update_settings(999, {})


def test_writing_a_deleted_study_is_an_error(storage):
    study = create(storage)
    run(storage, study.study_id, state=StudyState.FINISHED)
    storage.release_study(study.study_id)
    storage.delete_study("s")
    with pytest.raises(StudyNotFoundError, match=f"study id {study.study_id} .*deleted"):
        run(storage, study.study_id, trial(0))


# ------------------------------------------------------------------------------ leases
def test_heartbeats_keep_the_lease_of_another_machine_alive(storage, clock):
    mine = storage.owner
    storage.owner = "elsewhere:1"  # a kernel on another machine
    study = create(storage)
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    storage.owner = mine
    clock.now += LEASE_TIMEOUT - 1
    assert storage.find_study("s").state is StudyState.RUNNING
    with pytest.raises(StudyStateError, match=r"being run by another kernel \(elsewhere:1, "
                                              r"last seen 59 s ago\)"):
        storage.acquire_study("s")
    storage.owner = "elsewhere:1"
    storage.write(study.study_id, StudyUpdate())  # a heartbeat: nothing else changes
    storage.owner = mine
    clock.now += LEASE_TIMEOUT - 1
    assert storage.find_study("s").state is StudyState.RUNNING
    with pytest.raises(StudyStateError, match="last seen 59 s ago"):
        storage.acquire_study("s")
    clock.now += 2  # no heartbeat for longer than LEASE_TIMEOUT: the lease is free
    assert storage.find_study("s").state is StudyState.INTERRUPTED
    assert storage.load_study("s").state is StudyState.INTERRUPTED
    resumed = storage.acquire_study("s")
    assert resumed.owner == mine and resumed.state is StudyState.RUNNING
    assert resumed.trials[0].status is TrialStatus.INTERRUPTED


def test_a_study_whose_kernel_died_shows_its_unfinished_trials_interrupted(storage, clock):
    """Read without resuming (``Study.load`` after a kernel restart), the trials that ran when
    the lease lapsed read as ``interrupted``, ended at the last heartbeat, not as ``running``
    with a duration that grows; the file keeps them as they were, for a resume."""
    storage.owner = "elsewhere:1"
    study = create(storage)
    run(storage, study.study_id, trial(0), trial(1, TrialStatus.RUNNING, losses=(0.4, 0.3)),
        trial(2, TrialStatus.PAUSED))
    heartbeat = clock.now
    storage.owner = "here:2"
    assert [t.status for t in storage.load_study("s").trials] == \
        [TrialStatus.COMPLETED, TrialStatus.RUNNING, TrialStatus.PAUSED]  # its lease holds
    clock.now += LEASE_TIMEOUT + 1
    loaded = storage.load_study("s")
    assert loaded.state is StudyState.INTERRUPTED
    assert [t.status for t in loaded.trials] == \
        [TrialStatus.COMPLETED, TrialStatus.INTERRUPTED, TrialStatus.INTERRUPTED]
    assert [t.end_time for t in loaded.trials] == [200.0, heartbeat, heartbeat]
    assert [t.error for t in loaded.trials[1:]] == ["its kernel stopped while it ran"] * 2
    assert loaded.trials[1].reports == ({"epoch": 1, "loss": 0.4}, {"epoch": 2, "loss": 0.3})
    resumed = storage.acquire_study("s")  # what resuming records: the same
    assert [(t.status, t.end_time) for t in resumed.trials] == \
        [(t.status, t.end_time) for t in loaded.trials]


def test_a_heartbeat_changes_nothing_else(storage, clock):
    study = create(storage)
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING), elapsed=4.0,
        stop_reason="")
    before = storage.load_study("s")
    clock.now += 30
    storage.write(study.study_id, StudyUpdate())
    after = storage.load_study("s")
    assert (after.state, after.elapsed, after.updated, len(after.trials)) == \
        (before.state, before.elapsed, before.updated, 1)


HOLDER = textwrap.dedent("""
    import sys
    from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
    from jupyter_hpo.space import Real, Space
    from jupyter_hpo.storage import SQLiteStorage, StudyUpdate
    storage = SQLiteStorage(sys.argv[1])
    study = storage.create_study("held", metric="loss", direction=Direction.MIN,
                                 resource="epoch", space=Space({"x": Real(0, 1)}), settings={})
    running = TrialRecord(0, {"x": 0.5}, TrialStatus.RUNNING, ({"epoch": 1, "loss": 0.4},),
                          (1.0,), start_time=10.0)
    paused = TrialRecord(1, {"x": 0.6}, TrialStatus.PAUSED, ({"epoch": 1, "loss": 0.6},),
                         (1.5,), start_time=11.0)
    done = TrialRecord(2, {"x": 0.7}, TrialStatus.COMPLETED, (), (), 12.0, 13.0)
    storage.write(study.study_id, StudyUpdate((running, paused, done), {}, StudyState.RUNNING))
    print("ready", flush=True)
    sys.stdin.read()  # hold the lease until the test closes stdin
""")


def hold_lease(kind, storage, tmp_path):
    """A real child process that holds the lease of study ``held`` until its stdin closes:
    for SQLite it creates the study in the file itself; the in-memory storage cannot be shared
    with a process, so the study is created here with the child's process id as owner."""
    if kind == "sqlite":
        script = tmp_path / "holder.py"
        script.write_text(HOLDER)
        child = subprocess.Popen([sys.executable, str(script), storage.location],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        return child
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, text=True)
    mine, storage.owner = storage.owner, f"{socket.gethostname()}:{child.pid}"
    try:
        study = create(storage, "held", space=Space({"x": Real(0, 1)}), settings={})
        run(storage, study.study_id,
            TrialRecord(0, {"x": 0.5}, TrialStatus.RUNNING, ({"epoch": 1, "loss": 0.4},), (1.0,),
                        start_time=10.0),
            TrialRecord(1, {"x": 0.6}, TrialStatus.PAUSED, ({"epoch": 1, "loss": 0.6},), (1.5,),
                        start_time=11.0),
            TrialRecord(2, {"x": 0.7}, TrialStatus.COMPLETED, (), (), 12.0, 13.0))
    finally:
        storage.owner = mine
    return child


@pytest.mark.timeout(120)
def test_a_live_process_keeps_its_lease_and_a_dead_one_loses_it(storage, kind, tmp_path,
                                                                clock):
    child = hold_lease(kind, storage, tmp_path)
    try:
        if kind == "sqlite":
            clock.now = time.time()  # the child's heartbeats are on the real clock
        owner = f"{socket.gethostname()}:{child.pid}"
        assert storage.find_study("held").owner == owner
        assert storage.find_study("held").state is StudyState.RUNNING
        with pytest.raises(StudyStateError, match=f"being run by another kernel \\({owner}"):
            storage.acquire_study("held")
        with pytest.raises(StudyStateError, match="cannot delete study 'held'"):
            storage.delete_study("held")
        storage.request_stop("held", by="a test")  # a running study can be asked to stop
    finally:
        child.stdin.close()
        child.wait(60)
    listed = storage.find_study("held")
    assert listed.state is StudyState.INTERRUPTED  # its process is gone
    resumed = storage.acquire_study("held")
    assert resumed.owner == storage.owner
    statuses = [t.status for t in resumed.trials]
    assert statuses == [TrialStatus.INTERRUPTED, TrialStatus.INTERRUPTED, TrialStatus.COMPLETED]
    assert all(t.error == "its kernel stopped while it ran" for t in resumed.trials[:2])
    assert all(t.end_time is not None for t in resumed.trials)
    assert resumed.trials[0].reports == ({"epoch": 1, "loss": 0.4},)  # reports kept
    assert storage.stop_request(resumed.study_id) is None  # an old request does not carry over


def test_release_frees_the_study_for_another_process(storage, clock):
    study = create(storage)
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    storage.release_study(study.study_id)
    summary = storage.find_study("s")
    assert summary.owner is None and summary.state is StudyState.INTERRUPTED
    storage.owner = "elsewhere:7"
    assert storage.acquire_study("s").owner == "elsewhere:7"


def test_a_process_that_lost_its_lease_may_not_write(storage, clock):
    study = create(storage)
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    mine = storage.owner
    storage.owner = "elsewhere:2"
    storage.release_study(study.study_id)  # not its lease: nothing happens
    assert storage.find_study("s").owner == mine
    storage.owner = mine
    storage.release_study(study.study_id)
    storage.owner = "elsewhere:2"
    storage.acquire_study("s")
    storage.owner = mine
    with pytest.raises(StudyStateError, match=r"now run by another process \(elsewhere:2\)"):
        run(storage, study.study_id, trial(1))
    assert len(storage.load_study("s").trials) == 1


# ---------------------------------------------------------------------- stop requests
def test_stop_requests(storage, clock):
    study = create(storage)
    assert storage.stop_request(study.study_id) is None
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    storage.request_stop("s", by="JupyterLab by alice")
    assert storage.stop_request(study.study_id) == "JupyterLab by alice"
    storage.request_stop("s", by="bob")  # the first request stands
    assert storage.stop_request(study.study_id) == "JupyterLab by alice"
    run(storage, study.study_id, state=StudyState.FINISHED,
        stop_reason="stopped from JupyterLab by alice")
    assert storage.find_study("s").stop_reason == "stopped from JupyterLab by alice"
    with pytest.raises(StudyStateError, match=r"cannot stop study 's': it is not running "
                                              r"\(it is finished\)"):
        storage.request_stop("s", by="carol")
    assert storage.stop_request(12345) is None


def test_stopping_an_interrupted_study_says_to_resume_it(storage, clock):
    study = create(storage)
    run(storage, study.study_id, trial(0, TrialStatus.RUNNING))
    storage.release_study(study.study_id)  # as if its kernel had died
    with pytest.raises(StudyStateError, match="it is interrupted: .*--name s --resume"):
        storage.request_stop("s", by="me")


def test_a_resumed_study_reads_running_and_takes_a_stop_from_its_lease_on(storage, clock):
    """Resuming leases the study and makes it running in one step: listings, `%hpo stop` and
    the panel's Stop see it running while it is set up (before its first write), and not
    "finished"."""
    study = create(storage)
    run(storage, study.study_id, trial(0), state=StudyState.FINISHED)
    storage.release_study(study.study_id)
    resumed = storage.acquire_study("s")
    assert resumed.state is StudyState.RUNNING
    assert storage.find_study("s").state is StudyState.RUNNING
    storage.request_stop("s", by="alice in JupyterLab")
    assert storage.stop_request(study.study_id) == "alice in JupyterLab"


# ------------------------------------------------------------------------------ delete
def test_delete(storage, clock):
    study = create(storage, "gone")
    create(storage, "kept")
    run(storage, study.study_id, trial(0), trial(1, TrialStatus.RUNNING))
    with pytest.raises(StudyStateError, match=r"'gone' is running in this process: .*"
                                              r"%hpo stop gone"):
        storage.delete_study("gone")
    run(storage, study.study_id, trial(1), state=StudyState.FINISHED)
    assert storage.delete_study("gone") == 2
    assert [s.name for s in storage.list_studies()] == ["kept"]
    with pytest.raises(StudyNotFoundError, match="stored studies: kept"):
        storage.load_study("gone")
    again = create(storage, "gone")  # the name is free again, with nothing of the old study
    assert storage.load_study("gone").trials == () and again.study_id != study.study_id


# ------------------------------------------------------------------ schema 3: what trials carry
def test_user_attributes_checkpoints_and_enqueued_configurations_are_kept(storage):
    from jupyter_hpo.checkpoints import Checkpoint

    record = create(storage)
    folder = storage.checkpoint_dir(record.study_id)
    checkpoint = Checkpoint(f"{folder}/trial-0.pt", 1234, 3, "torch", 500.0)
    first = trial(0, user_attrs={"note": "ok", "loss_curve": [1, 2], "obj": object},
                  checkpoint=checkpoint, enqueued={"x": 0.0})
    run(storage, record.study_id, first, trial(1), queue=({"x": 0.5}, {"act": "tanh"}))
    loaded = storage.load_study("s", space=SPACE)
    a, b = loaded.trials
    assert dict(a.user_attrs) == {"note": "ok", "loss_curve": [1, 2], "obj": repr(object)}
    assert a.checkpoint == checkpoint and a.enqueued == {"x": 0.0}
    assert dict(b.user_attrs) == {} and b.checkpoint is None and b.enqueued is None
    assert loaded.queue == ({"x": 0.5}, {"act": "tanh"})
    # a later write updates attributes and checkpoint, and leaves the queue alone
    run(storage, record.study_id, trial(0, user_attrs={"note": "better"}, enqueued={"x": 0.0}))
    again = storage.load_study("s")
    assert dict(again.trials[0].user_attrs) == {"note": "better"}
    assert again.trials[0].checkpoint is None and again.queue == loaded.queue
    run(storage, record.study_id, queue=())
    assert storage.load_study("s").queue == ()


def test_deleting_a_study_removes_its_checkpoints(storage):
    import os

    record = create(storage)
    folder = storage.checkpoint_dir(record.study_id)
    os.makedirs(folder)
    with open(os.path.join(folder, "trial-0.pkl"), "wb") as handle:
        handle.write(b"state")
    run(storage, record.study_id, trial(0), state=StudyState.FINISHED)
    storage.release_study(record.study_id)
    storage.delete_study("s")
    assert not os.path.exists(folder)
