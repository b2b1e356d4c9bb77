"""SQLite storage: schema and file checks, round trips, resume, the %hpo commands on stored
studies, and two processes sharing one file."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import jupyter_hpo as jh
from jupyter_hpo import Categorical, Int, Real
from jupyter_hpo.errors import HPOError
from jupyter_hpo.storage import SCHEMA_VERSION, SQLiteStorage, StorageError, open_storage
from jupyter_hpo.study import Study

SPACE = {"x": Real(0.0, 1.0), "n": Int(1, 5), "act": Categorical("relu", "tanh")}


def curve(config):
    for epoch in range(1, 4):
        jh.report(epoch=epoch, loss=(config["x"] - 0.3) ** 2 + 1.0 / epoch + config["n"] / 100)


def rows(path, sql, *params):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_study_round_trips_through_the_file(tmp_path):
    path = tmp_path / "s.db"
    study = jh.tune(curve, SPACE, metric="loss", trials=5, seed=0, storage=path, name="rt")
    assert rows(path, "PRAGMA journal_mode")[0][0] == "wal"
    assert rows(path, "PRAGMA user_version")[0][0] == SCHEMA_VERSION
    loaded = Study.load("rt", path)
    assert loaded.state == "finished" and loaded.best_value == study.best_value
    assert loaded.best_config == study.best_config
    pd.testing.assert_frame_equal(loaded.training_curves(), study.training_curves())
    mine, theirs = study.trials_dataframe(), loaded.trials_dataframe()
    cols = ["trial_id", "status", "config.x", "config.n", "config.act", "loss", "resource"]
    pd.testing.assert_frame_equal(mine[cols], theirs[cols])
    assert list(loaded.incumbent_over_time()["trial_id"]) == \
        list(study.incumbent_over_time()["trial_id"])


@pytest.mark.parametrize("mode", ["min", "max"])
def test_listings_give_the_best_value_that_show_gives(tmp_path, mode):
    """The best value a listing says (stored with each trial, so that listing reads no
    report) is Study.best_value, of the live study and of the stored one: failed trials left
    out, cancelled ones counted, NaN and infinities no value, across a stop and a resume."""
    path, sign = tmp_path / "s.db", 1.0 if mode == "min" else -1.0
    # report() refuses a NaN or infinite metric: the trial fails, and its earlier values
    # are no longer the study's
    cases = {0: (0.5,), 1: (-100.0,), 2: (-50.0, float("inf")), 3: (0.2,), 4: (0.15, 0.35),
             5: (-70.0, float("nan"))}
    stopped = []

    def train(config):
        case = config["case"]
        for epoch, value in enumerate(cases[case], 1):
            jh.report(epoch=epoch, loss=sign * value)
        if case == 1:
            raise RuntimeError("diverged")
        if case == 3 and not stopped:  # asks its study to stop, reports until it is cancelled
            stopped.append(config)
            SQLiteStorage(path).request_stop("b", by="the test")
            for epoch in range(2, 2000):
                time.sleep(0.01)
                jh.report(epoch=epoch, loss=sign * (0.2 + epoch))

    def said(live):
        listed = {s.name: s.best_value for s in SQLiteStorage(path).list_studies()}["b"]
        assert listed == SQLiteStorage(path).find_study("b").best_value
        assert listed == Study.load("b", path).best_value == live.best_value
        return listed

    first = jh.tune(train, {"case": Int(0, 5)}, metric="loss", mode=mode, trials=6, workers=1,
                    points_to_evaluate=[{"case": c} for c in range(4)], storage=path, name="b")
    assert [t.status.value for t in first.trials] == ["completed", "failed", "failed",
                                                      "cancelled"]
    assert said(first) == sign * 0.2
    resumed = jh.tune(train, {"case": Int(0, 5)}, metric="loss", mode=mode, trials=6,
                      workers=1, points_to_evaluate=[{"case": 4}, {"case": 5}], storage=path,
                      name="b", resume=True)
    # the cancelled trial 3 runs again (as trial 4), then the points of the resume
    assert [(t.config["case"], t.status.value) for t in resumed.trials[4:]] == [
        (3, "completed"), (4, "completed"), (5, "failed")]
    assert said(resumed) == sign * 0.15 and resumed.best_trial.trial_id == 5


def test_errors_and_tracebacks_are_stored(tmp_path):
    def flaky(config):
        jh.report(epoch=1, loss=config["x"])
        if config["x"] > 0.5:
            raise RuntimeError(f"diverged at x={config['x']:.3f}")

    jh.tune(flaky, {"x": Real(0, 1)}, metric="loss", trials=8, seed=1, storage=tmp_path / "f.db",
            name="flaky")
    loaded = Study.load("flaky", tmp_path / "f.db")
    failed = [t for t in loaded.trials if t.status.value == "failed"]
    assert failed, "seed 1 draws x > 0.5 at least once"
    assert all("diverged at x=" in t.error and "RuntimeError" in t.traceback for t in failed)
    assert all(t.config["x"] <= 0.5 for t in loaded.trials if t is loaded.best_trial)


def test_reusing_a_name_says_how_to_resume(tmp_path):
    path = tmp_path / "s.db"
    jh.tune(curve, SPACE, metric="loss", trials=2, storage=path, name="dup")
    with pytest.raises(HPOError, match=r"already exists .*continue it with tune\(\.\.\., "
                                       r"name='dup', resume=True\), pick another name=, or "
                                       r"remove it with python -m jupyter_hpo delete dup "
                                       r"--storage "):
        jh.tune(curve, SPACE, metric="loss", trials=2, storage=path, name="dup")
    with pytest.raises(HPOError, match="no study named 'other'.*stored studies: dup"):
        jh.tune(curve, SPACE, metric="loss", trials=2, storage=path, name="other", resume=True)
    changed = dict(SPACE, x=Real(0.0, 2.0))
    with pytest.raises(HPOError, match=r"x was Real\(0.0, 1.0\) and is now Real\(0.0, 2.0\)"
                                       r".*another name= that learns from this one's trials: "
                                       r"tune\(\.\.\., name=\.\.\., warm_start='dup'\)$"):
        jh.tune(curve, changed, metric="loss", trials=4, storage=path, name="dup", resume=True)
    assert len(Study.load("dup", path).trials) == 2  # nothing lost by the refusals


def test_memory_storage_keeps_a_study_for_the_rest_of_the_process():
    """Every ":memory:" names this process's store: a study kept there is found again by
    name (it was a new, empty store each time: resume and load found nothing, and a reused
    name was accepted)."""
    name = f"mem-{time.time_ns()}"  # the store outlives this test
    first = jh.tune(curve, SPACE, metric="loss", trials=3, seed=0, storage=":memory:", name=name)
    loaded = Study.load(name, ":memory:")
    assert loaded.best_value == first.best_value and len(loaded.trials) == 3
    with pytest.raises(HPOError, match="already exists in :memory:"):
        jh.tune(curve, SPACE, metric="loss", trials=3, storage=":memory:", name=name)
    again = jh.tune(curve, SPACE, metric="loss", trials=5, seed=0, storage="sqlite://",
                    name=name, resume=True)
    assert len(again.trials) == 5 and again.best_value <= first.best_value
    open_storage(":memory:").delete_study(name)
    with pytest.raises(HPOError, match=f"no study named '{name}' in :memory:"):
        Study.load(name, ":memory:")


def test_load_without_a_name_reads_the_only_study_and_otherwise_lists_them(tmp_path,
                                                                          monkeypatch):
    """Study.load(None) said "no study named None"; as Optuna's load_study(study_name=None)
    it reads a file's only study, and asks for a name, listing them, when there are several.
    A name that is no string, or a file given in the name's place, says what to write."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_HPO_STORAGE", raising=False)
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    jh.tune(curve, SPACE, metric="loss", trials=2, seed=0, storage=one, name="only")
    for name in ("a", "b"):
        jh.tune(curve, SPACE, metric="loss", trials=2, seed=0, storage=two, name=name)
    assert Study.load(None, one).name == "only" and Study.load(storage=one).name == "only"
    with pytest.raises(HPOError, match=r"Study.load needs the name of the study to read: "
                                       r".*two.db holds 2 studies \(a, b\), e.g. Study.load\('b'"):
        Study.load(None, two)
    with pytest.raises(TypeError, match=r"takes the study's name as a string, not 3 \(int\)"):
        Study.load(3, two)
    with pytest.raises(HPOError, match=r"'two.db' looks like a storage file: Study.load takes "
                                       r"the study's name first, then the file"):
        Study.load("two.db")  # the file where the name goes, the default file absent
    assert [len(Study.load(n, two).trials) for n in ("a", "b")] == [2, 2]


def test_load_with_its_arguments_swapped_says_so(tmp_path, monkeypatch):
    """Study.load('runs.db', 'mlp') said only that no study 'runs.db' was in ./mlp, which does
    not exist; nothing is created."""
    monkeypatch.chdir(tmp_path)
    jh.tune(curve, SPACE, metric="loss", trials=2, seed=0, storage="runs.db", name="mlp")
    for name in ("runs.db", str(tmp_path / "runs.db")):
        with pytest.raises(HPOError) as info:
            Study.load(name, "mlp")
        assert str(info.value).endswith(
            f"; {name!r} looks like a storage file and 'mlp' like a study's name: Study.load "
            f"takes the study's name first, then the file: Study.load('mlp', {name!r})")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_resume_continues_to_the_budget_with_new_configurations(tmp_path):
    path = tmp_path / "s.db"
    first = jh.tune(curve, SPACE, metric="loss", trials=4, seed=3, storage=path, name="r")
    again = jh.tune(curve, SPACE, metric="loss", trials=10, seed=3, storage=path, name="r",
                    resume=True)
    assert len(again.trials) == 10 and again.spent == 10
    configs = [tuple(t.config.values()) for t in again.trials]
    assert configs[:4] == [tuple(t.config.values()) for t in first.trials]
    assert len(set(configs)) == 10  # a seeded resume does not draw its first configs again
    assert again.best_value <= first.best_value
    times = again.incumbent_over_time()["time"]
    assert times.is_monotonic_increasing
    assert rows(path, "SELECT COUNT(*) FROM reports")[0][0] == 30


def test_resume_counts_the_time_already_spent(tmp_path):
    path = tmp_path / "t.db"

    def slow(config):
        for epoch in range(1, 4):
            time.sleep(0.02)
            jh.report(epoch=epoch, loss=config["x"])

    first = jh.tune(slow, SPACE, metric="loss", time_limit=0.3, storage=path, name="t")
    spent = Study.load("t", path).elapsed
    assert spent >= 0.3 and len(first.trials) >= 2
    again = jh.tune(slow, SPACE, metric="loss", time_limit=0.3, storage=path, name="t",
                    resume=True)  # the time is used up: nothing new runs
    assert len(again.trials) == len(first.trials) and again.state == "finished"
    more = jh.tune(slow, SPACE, metric="loss", time_limit=spent + 0.3, storage=path, name="t",
                   resume=True)
    assert len(more.trials) > len(first.trials)
    assert Study.load("t", path).elapsed >= spent + 0.3


def test_resume_refills_hyperband_rungs(tmp_path):
    path = tmp_path / "s.db"
    options = {"scheduler": "hyperband", "scheduler_options": {"max_t": 9, "grace_period": 1},
               "metric": "loss", "seed": 0, "storage": path, "name": "hb"}

    def long_curve(config):
        for epoch in range(1, 10):
            jh.report(epoch=epoch, loss=config["x"] + 1.0 / epoch)

    jh.tune(long_curve, {"x": Real(0, 1)}, trials=12, **options)
    resumed = Study(None, jh.Space({"x": Real(0, 1)}), mode="min", trials=20,
                    resume=True, **{k: v for k, v in options.items() if k != "metric"},
                    metric="loss")
    rungs = resumed.scheduler.rungs[0]
    assert len(rungs[1.0]) == 12  # every stored trial reached the first rung
    assert 0 < len(rungs[3.0]) < 12  # and Hyperband's stops are in the restored rungs
    resumed.stop()  # never started: stored as ended, its lease given up
    assert jh.storage.SQLiteStorage(path).find_study("hb").state == "finished"


def test_resumed_grid_search_skips_the_points_already_run(tmp_path):
    path = tmp_path / "g.db"
    space = {"a": Categorical(1, 2, 3), "b": Categorical("u", "v")}
    jh.tune(lambda c: c["a"], space, metric="loss", searcher="grid", trials=4, storage=path,
            name="g")
    rest = jh.tune(lambda c: c["a"], space, metric="loss", searcher="grid", storage=path,
                   name="g", resume=True, trials=6)
    points = [(t.config["a"], t.config["b"]) for t in rest.trials]
    assert len(points) == 6 and len(set(points)) == 6


def test_categorical_objects_come_back_as_the_same_choices(tmp_path):
    path = tmp_path / "o.db"
    space = {"fn": Categorical(abs, round), "x": Real(-1, 1)}
    jh.tune(lambda c: c["fn"](c["x"]), space, metric="loss", trials=4, seed=0, storage=path,
            name="o")
    resumed = jh.tune(lambda c: c["fn"](c["x"]), space, metric="loss", trials=6, seed=0,
                      storage=path, name="o", resume=True)
    assert all(t.config["fn"] in (abs, round) for t in resumed.trials)
    shown = Study.load("o", path)  # without the cell, the repr is shown
    assert {t.config["fn"] for t in shown.trials} <= {repr(abs), repr(round)}


def test_a_resume_refused_for_choices_that_print_alike_says_why(tmp_path):
    """Two lambdas differ only in their memory addresses, which the next kernel changes:
    the refusal says so and what to do, instead of listing two reprs that look the same."""
    import types

    def kernel_copy(function):
        return types.FunctionType(function.__code__, function.__globals__, function.__name__)

    first, second = (lambda v: v), (lambda v: -v)
    path = tmp_path / "l.db"
    jh.tune(lambda c: c["fn"](c["x"]), {"fn": Categorical(first, second), "x": Real(0, 1)},
            metric="loss", trials=2, seed=0, storage=path, name="l")
    space = {"fn": Categorical(kernel_copy(first), kernel_copy(second)), "x": Real(0, 1)}
    with pytest.raises(HPOError, match=r"fn was Categorical\(.*\) and is now Categorical"
                                       r"\(.*\) \(they differ only in memory addresses, which "
                                       r"change with every kernel: .*two lambdas; give each a "
                                       r"name with def\)"):
        jh.tune(lambda c: c["fn"](c["x"]), space, metric="loss", trials=4, seed=0,
                storage=path, name="l", resume=True)


def test_resuming_with_another_method_says_so(tmp_path):
    """Allowed (a loaded Optuna study takes a new sampler too), but not silently: the stored
    settings become the new ones."""
    path = tmp_path / "m.db"
    space = {"x": Real(0, 1)}
    jh.tune(lambda c: c["x"], space, metric="loss", trials=4, seed=0, storage=path, name="m",
            searcher="random")
    study = jh.tune(lambda c: c["x"], space, metric="loss", trials=6, seed=0, storage=path,
                    name="m", searcher="tpe", searcher_options={"n_startup": 2}, resume=True)
    assert study.notes[-1] == ("m continues with another method than it ran with (searcher "
                               "'random' -> 'tpe'; searcher options {} -> {'n_startup': 2}): "
                               "the new one starts from its 4 stored trials, and its stored "
                               "settings are the new ones")
    assert Study.load("m", path).settings["searcher"] == "tpe"
    study = jh.tune(lambda c: c["x"], space, metric="loss", trials=7, seed=0, storage=path,
                    name="m", searcher="tpe", searcher_options={"n_startup": 2}, resume=True)
    assert not any("another method" in note for note in study.notes)


LAYERS = ((64,), (128, 64), [32, 32], {"width": 16})  # tuples, a list and a dict as choices


@pytest.mark.parametrize("searcher", ["auto", "bayesopt", "random", "grid", "tpe", "skopt",
                                      "bohb", "rl"])
def test_tuple_list_and_dict_choices_work_in_every_searcher_and_come_back_stored(tmp_path,
                                                                                 searcher):
    """``hidden_layer_sizes=Categorical((64,), (128, 64))``: JSON keeps a tuple as a list, and
    the model-based searchers key configurations by value; both must give the choices back."""
    path = tmp_path / "layers.db"

    def objective(config):
        return len(config["layers"]) + config["x"]

    def space():
        return {"layers": Categorical(*LAYERS), "x": Real(0, 1)}

    first = jh.tune(objective, space(), metric="loss", trials=6, seed=0, searcher=searcher,
                    storage=path, name="layers")
    resumed = jh.tune(objective, space(), metric="loss", trials=9, seed=0, searcher=searcher,
                      storage=path, name="layers", resume=True)
    for study in (first, resumed, Study.load("layers", path)):
        assert study.counts()["completed"] == len(study.trials), \
            [t.error for t in study.trials if t.error]
        for trial in study.trials:
            value = trial.config["layers"]
            assert any(type(value) is type(c) and value == c for c in LAYERS), value
    assert len(resumed.trials) == 9
    assert [t.config for t in Study.load("layers", path).trials] == \
        [t.config for t in resumed.trials]


class Alike:
    """Instances print alike: storage keeps each as the same repr."""

    def __repr__(self) -> str:
        return "Alike()"


def test_a_stored_space_with_objects_keeps_its_tuples_and_stays_readable(tmp_path):
    """A space whose repr Python cannot read back (a function among the choices) was read
    choice by choice from JSON: its tuples came back as lists, and choices that read back
    alike (two objects that print alike, a tuple and a list) made the file 'damaged'."""
    path = tmp_path / "objects.db"

    def relu(v):
        return v

    def objective(config):
        return len(config["layers"]) if isinstance(config["layers"], tuple) else 5

    jh.tune(objective, {"layers": Categorical((64,), (128, 64), relu)}, metric="loss",
            trials=6, seed=0, storage=path, name="tuples")
    loaded = Study.load("tuples", path)
    assert [type(c) for c in loaded.space["layers"].choices[:2]] == [tuple, tuple]
    assert loaded.best_config["layers"] == (64,)
    jh.tune(lambda c: 1.0, {"obj": Categorical(Alike(), Alike())}, metric="loss", trials=2,
            seed=0, storage=path, name="alike")
    assert [repr(c) for c in Study.load("alike", path).space["obj"].choices] == \
        ["Alike()", "Alike()"]
    jh.tune(lambda c: 1.0, {"c": Categorical((1, 2), [1, 2], relu)}, metric="loss",
            trials=3, seed=0, storage=path, name="mixed")
    assert [type(c) for c in Study.load("mixed", path).space["c"].choices[:2]] == \
        [tuple, list]
    (space,), = rows(path, "SELECT space FROM studies WHERE name = 'mixed'")
    written = json.loads(space)
    del written["c"]["literals"]  # as stored before tuples were kept
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE studies SET space = ? WHERE name = 'mixed'", (json.dumps(written),))
    old = Study.load("mixed", path)
    assert len(old.space["c"].choices) == 3 and len(old.trials) == 3


@pytest.mark.parametrize("content, message", [
    (b"this is not a database at all " * 200, "cannot be used as jupyter_hpo storage"),
    (None, "a SQLite database of another program"),
])
def test_foreign_and_corrupted_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "other.db"
    if content is None:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StorageError, match=message):
        jh.tune(curve, SPACE, metric="loss", trials=1, storage=path)
    assert path.read_bytes() == before  # left untouched


def test_a_damaged_database_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "s.db"
    jh.tune(curve, SPACE, metric="loss", trials=2, storage=path, name="ok")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"s\.db .*damaged"):
        SQLiteStorage(path).list_studies()


def test_a_newer_schema_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "s.db"
    SQLiteStorage(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="written by a newer jupyter_hpo.*upgrade"):
        SQLiteStorage(path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        SQLiteStorage(tmp_path / "nowhere" / "s.db")


def test_reading_a_file_that_does_not_exist_creates_nothing(tmp_path):
    path = tmp_path / "later.db"
    reader = SQLiteStorage(path)
    assert reader.list_studies() == [] and reader.find_study("a") is None
    with pytest.raises(HPOError, match="no study named 'a'"):
        Study.load("a", path)
    assert list(tmp_path.iterdir()) == []
    jh.tune(curve, SPACE, metric="loss", trials=2, seed=0, storage=path, name="a")
    assert [s.name for s in reader.list_studies()] == ["a"]  # the file another storage made
    writer = SQLiteStorage(tmp_path / "first-write.db")
    assert not (tmp_path / "first-write.db").exists()
    writer.create_study("b", metric="loss", direction=jh.records.Direction.MIN,
                        resource="epoch", space=jh.Space(SPACE), settings={})
    assert [s.name for s in SQLiteStorage(tmp_path / "first-write.db").list_studies()] == ["b"]


def test_the_line_magics_leave_no_file_where_nothing_is_stored(ipython_shell, tmp_path,
                                                                study_storage):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    with capture_output():  # the shared shell may list studies other tests ran in it
        ip.run_line_magic("hpo", "list")
        ip.run_line_magic("hpo", f"list --storage {tmp_path / 'typo.csv'}")
    for line in ("show nosuch", "best nosuch", f"export nosuch {tmp_path / 'out.csv'}",
                 "delete nosuch", "stop nosuch"):
        with pytest.raises(UsageError):
            ip.run_line_magic("hpo", line)
    assert list(tmp_path.iterdir()) == []


def test_every_command_on_a_missing_file_says_the_file_does_not_exist(ipython_shell, tmp_path,
                                                                       study_storage):
    """%hpo stop and delete said "it holds no studies yet" of a file that is not there, where
    show, best, export, apply and Study.load said that it does not exist and how to name
    another: all of them (and the terminal's stop) say the latter now."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    typo = tmp_path / "typo.db"
    said = (r"no study named 'never-stored' in {}{}, which does not exist: no study was "
            r"stored there; pass the file it was stored in \(the storage= of tune\(\), the --storage of "
            r"%%hpo and %hpo\)")
    for storage, where in (("", said.format(re.escape(str(study_storage)),
                                            r" \(the default file\)")),
                           (f" --storage {typo}", said.format(re.escape(str(typo)), ""))):
        # (a name no other test gives a study: the session's shell keeps theirs)
        for line in ("show never-stored", "best never-stored",
                     f"export never-stored {tmp_path / 'out.csv'}", "apply never-stored",
                     "stop never-stored", "stop never-stored --trial 1",
                     "delete never-stored"):
            with pytest.raises(UsageError, match=where):
                ip.run_line_magic("hpo", line + storage)
    with pytest.raises(HPOError, match=said.format(re.escape(str(typo)), "")):
        Study.load("never-stored", typo)
    assert not typo.exists() and not study_storage.exists()


def test_the_magics_on_a_damaged_file_say_so_and_write_nothing(ipython_shell, tmp_path):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    path = tmp_path / "damaged.db"
    for name in ("a", "b", "c"):
        jh.tune(curve, SPACE, metric="loss", trials=12, seed=0, storage=path, name=name)
    data = bytearray(path.read_bytes())
    middle = len(data) // 4096 // 2
    data[middle * 4096 + 16:(middle + 2) * 4096] = b"\x5a" * (2 * 4096 - 16)
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(UsageError, match=f"{path} is damaged"):
        ip.run_line_magic("hpo", f"delete a --storage {path}")
    try:  # a listing reads no report (each trial keeps its best value): damage there is
        # said when a study is shown
        with capture_output() as listed:
            ip.run_line_magic("hpo", f"list --storage {path}")
        names = [line.split(":")[0] for line in listed.stdout.splitlines()]
        # (the session's shell also lists the studies that earlier tests ran in it)
        assert [name for name in names if name in ("a", "b", "c")] == ["a", "b", "c"]
    except UsageError as exc:
        assert f"{path} is damaged" in str(exc)
    said = []
    for line in (f"show {name} --storage {path}" for name in "abc"):
        try:  # a study whose own pages are intact can still be shown
            ip.run_line_magic("hpo", line)
        except UsageError as exc:
            said.append(str(exc))
    assert said and all(f"{path} is damaged" in message for message in said)
    cell = "x = Real(0, 1)\nreport(epoch=1, loss=x)\n"
    for options in ("", "--name new"):
        with pytest.raises(UsageError, match=f"{path} is damaged"):
            ip.run_cell_magic("hpo", f"--trials 1 --quiet --storage {path} {options}", cell)
    assert path.read_bytes() == before


def test_a_database_url_is_refused_by_the_magic(ipython_shell, tmp_path, monkeypatch):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"only SQLite files are supported as storage \(got "
                                         r"mysql://u@localhost\): pass a file path or "
                                         r"sqlite:///path"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --storage mysql://u@localhost",
                          "x = Real(0, 1)\nreport(epoch=1, loss=x)\n")
    assert list(tmp_path.iterdir()) == []


def test_line_magic_on_stored_studies(ipython_shell, tmp_path, capsys, study_storage):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    jh.tune(curve, SPACE, metric="loss", trials=6, seed=0, storage=study_storage, name="old")
    capsys.readouterr()
    ip.run_line_magic("hpo", "list")
    out = capsys.readouterr().out
    assert "old: finished · 6/6 trials · 6 completed · best loss=" in out and str(study_storage) in out
    ip.run_line_magic("hpo", "best old")
    assert "old: best loss=" in capsys.readouterr().out
    with capture_output() as shown:
        ip.run_line_magic("hpo", "show old")
    texts = [o.data.get("text/plain", "") for o in shown.outputs]
    assert any(t.startswith("old: finished · 6/6 trials · 6 completed") for t in texts)
    with capture_output() as drawn:
        ip.run_line_magic("hpo", "plot history old")
    # a figure is displayed (this terminal shell formats text only; kernels show the PNG, see
    # test_notebooks.py)
    assert any("Figure size" in o.data.get("text/plain", "") for o in drawn.outputs)
    with pytest.raises(UsageError, match="unknown plot kind 'pie'"):
        ip.run_line_magic("hpo", "plot pie old")
    ip.user_ns.pop("x", None)
    ip.run_line_magic("hpo", "apply old")
    assert ip.user_ns["x"] == Study.load("old").best_config["x"]
    for suffix in ("csv", "parquet", "json"):
        target = tmp_path / f"old.{suffix}"
        ip.run_line_magic("hpo", f"export old {target}")
        assert target.exists()
    assert list(pd.read_csv(tmp_path / "old.csv")["trial_id"]) == list(range(6))
    assert len(pd.read_parquet(tmp_path / "old.parquet")) == 6
    dumped = json.loads((tmp_path / "old.json").read_text())
    assert len(dumped["trials"]) == 6 and len(dumped["trials"][0]["reports"]) == 3
    with pytest.raises(UsageError, match=r"FILE must end in .*; '\S*old.xlsx' does not \(e\.g\. "
                                         r"%hpo export old \S*old\.csv\)"):
        ip.run_line_magic("hpo", f"export old {tmp_path / 'old.xlsx'}")
    with pytest.raises(UsageError, match=r"'old' is not such a file \(to export the study 'old': "
                                         r"%hpo export old old.csv\)"):
        ip.run_line_magic("hpo", "export old")
    with pytest.raises(UsageError, match=r"\(no FILE given\)"):
        ip.run_line_magic("hpo", "export")
    for suffix in ("csv", "json"):  # a folder that does not exist
        with pytest.raises(UsageError, match=f"cannot write {tmp_path / 'no' / 'old'}.{suffix}: "
                                             f".*pick a file in a folder that exists"):
            ip.run_line_magic("hpo", f"export old {tmp_path / 'no' / 'old'}.{suffix}")
    ip.run_line_magic("hpo", "delete old")
    assert "deleted study 'old' and its 6 trials" in capsys.readouterr().out
    assert rows(study_storage, "SELECT COUNT(*) FROM reports")[0][0] == 0
    with pytest.raises(UsageError, match="no study named 'old'"):
        ip.run_line_magic("hpo", "best old")


def test_export_never_writes_over_a_sqlite_database(ipython_shell, tmp_path, capsys):
    """A storage named like an export (``--storage runs.csv``) and ``%hpo export mlp runs.csv``
    replaced every stored study by one CSV table; the file is now left as it was."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    storage = tmp_path / "runs.csv"
    ip.run_cell_magic("hpo", f"--trials 3 --quiet --name mlp --storage {storage} --metric loss",
                      "x = Real(0, 1)\nloss = x\n")
    other = tmp_path / "other.json"
    jh.tune(curve, SPACE, metric="loss", trials=2, seed=0, storage=other, name="old")
    for database in (storage, other):
        before = database.read_bytes()
        with pytest.raises(UsageError, match=rf"{database} is a SQLite database .*writing the "
                                             rf"trials over it would destroy what it holds, so it"
                                             rf" was left untouched; export to another file, "
                                             rf"e\.g\. {tmp_path / database.stem}-trials"):
            ip.run_line_magic("hpo", f"export --storage {storage} mlp {database}")
        assert database.read_bytes() == before
    assert len(Study.load("mlp", storage).trials) == 3
    ip.run_line_magic("hpo", f"export --storage {storage} mlp {tmp_path / 'runs-trials.csv'}")
    assert len(pd.read_csv(tmp_path / "runs-trials.csv")) == 3


def test_export_replaces_an_earlier_export_but_never_another_file(ipython_shell, tmp_path,
                                                                  capsys):
    """``%hpo export mlp data.csv`` wrote the trials over the data a notebook trains on (any
    existing file was replaced without a word); now only an earlier export is replaced, and
    the output says so."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    storage = tmp_path / "runs.db"
    ip.run_cell_magic("hpo", f"--trials 3 --quiet --name mlp --storage {storage} --metric loss",
                      "x = Real(0, 1)\nloss = x\n")
    capsys.readouterr()
    theirs = {"data.csv": b"sepal,petal\n1.0,2.0\n", "config.json": b'{"lr": 0.1}\n',
              "table.parquet": b"not parquet at all"}
    for file, content in theirs.items():
        (tmp_path / file).write_bytes(content)
        with pytest.raises(UsageError, match=rf"{tmp_path / file} exists and holds something "
                                             rf"other than exported trials \(it begins .*\): "
                                             rf"writing the trials "
                                             rf"over it would destroy what it holds, so it was "
                                             rf"left untouched; export to another file, e\.g\. "
                                             rf"\S*-trials\.\w+, or delete \S* first"):
            ip.run_line_magic("hpo", f"export --storage {storage} mlp {tmp_path / file}")
        assert (tmp_path / file).read_bytes() == content
    Study.load("mlp", storage).trials_dataframe().to_csv(tmp_path / "by_hand.csv")  # an index
    for file in ("mlp.csv", "mlp.json", "mlp.parquet", "by_hand.csv"):
        if file != "by_hand.csv":
            ip.run_line_magic("hpo", f"export --storage {storage} mlp {tmp_path / file}")
            assert capsys.readouterr().out == f"jupyter_hpo: wrote 3 trials of mlp to " \
                                              f"{tmp_path / file}\n"
        ip.run_line_magic("hpo", f"export --storage {storage} mlp {tmp_path / file}")
        assert capsys.readouterr().out == f"jupyter_hpo: wrote 3 trials of mlp to " \
                                          f"{tmp_path / file} (replacing the earlier export " \
                                          f"there)\n"
    assert len(pd.read_csv(tmp_path / "by_hand.csv")) == 3


class Unprintable:
    """A categorical choice that prints in a repr but not as text: pandas fails midway
    through a CSV file on it."""

    def __repr__(self):
        return "Unprintable()"

    def __str__(self):
        raise RuntimeError("this value cannot be written as text")


def test_an_export_that_fails_midway_leaves_the_earlier_export_whole(tmp_path):
    """Export wrote straight into the file: a value that could not be written (or a full
    disk, or a crash) left the header of a new table where the earlier export was. It now
    writes a file beside it and puts it in place only once it is whole."""
    from jupyter_hpo.magic import export

    target = tmp_path / "runs.csv"
    good = jh.tune(curve, SPACE, metric="loss", trials=3, seed=0)
    assert export(good, str(target)) is False
    earlier = target.read_bytes()
    space = {"x": Real(0, 1), "act": Categorical("relu", Unprintable())}
    bad = jh.tune(lambda config: config["x"], space, metric="loss", trials=3, seed=0,
                  points_to_evaluate=[{"act": "relu"}, {"act": space["act"].choices[1]}])
    with pytest.raises(RuntimeError, match="cannot be written as text"):
        export(bad, str(target))
    assert target.read_bytes() == earlier
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # nothing left beside it
    assert export(good, str(target)) is True and target.read_bytes() == earlier


def test_export_to_a_path_under_home_is_checked_and_written_there(ipython_shell, tmp_path,
                                                                   monkeypatch, capsys):
    """``%hpo export mlp ~/runs.csv`` wrote the trials over the storage ~/runs.csv (the check
    opened ./~/runs.csv, pandas wrote the expanded path), and ``~/mlp.json`` was "No such
    file or directory"."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    storage = home / "runs.csv"
    ip.run_cell_magic("hpo", f"--trials 3 --quiet --name mlp --storage {storage} --metric loss",
                      "x = Real(0, 1)\nloss = x\n")
    (home / "data.csv").write_text("sepal,petal\n")
    for file, refused in (("runs.csv", "is a SQLite database"),
                          ("data.csv", "exists and holds something other than exported")):
        before = (home / file).read_bytes()
        with pytest.raises(UsageError, match=rf"^~/{file} {refused}"):
            ip.run_line_magic("hpo", f"export --storage {storage} mlp ~/{file}")
        assert (home / file).read_bytes() == before
    assert len(Study.load("mlp", storage).trials) == 3
    capsys.readouterr()
    for file in ("mlp.json", "mlp.csv"):
        ip.run_line_magic("hpo", f"export --storage {storage} mlp ~/{file}")
        assert capsys.readouterr().out == f"jupyter_hpo: wrote 3 trials of mlp to ~/{file}\n"
    assert len(json.loads((home / "mlp.json").read_text())["trials"]) == 3
    assert not (tmp_path / "~").exists()


def test_a_storage_deleted_under_a_cell_names_the_hpo_export_that_saves_it(ipython_shell,
                                                                           tmp_path, capsys):
    """In a notebook the storage-problem message names %hpo export, which reaches the study
    of this kernel that only memory holds now (a script's names the Study tune() returns)."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    storage = tmp_path / "runs.db"
    cell = textwrap.dedent(f"""
        x = Real(0, 1)
        if trial.id == 1:
            for leftover in __import__("pathlib").Path({str(tmp_path)!r}).glob("runs.db*"):
                leftover.unlink()
        for epoch in range(1, 4):
            __import__("time").sleep(0.3)
            report(epoch=epoch, loss=x)
    """)
    ip.run_cell_magic("hpo", f"--trials 3 --workers 1 --quiet --name gone --storage {storage} "
                             f"--metric loss", cell)
    assert ip.user_ns["_hpo"].problems[0] == (
        f"the storage file {storage} was deleted while the study ran: new results are kept "
        f"in memory only; export them with %hpo export gone file.csv")
    ip.run_line_magic("hpo", f"export gone {tmp_path / 'file.csv'}")
    assert len(pd.read_csv(tmp_path / "file.csv")) == 3 and not storage.exists()


def test_cell_magic_stores_by_default_and_resumes(ipython_shell, study_storage, capsys):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    cell = "x = Real(0, 1)\nfor epoch in range(1, 3):\n    report(epoch=epoch, loss=x / epoch)\n"
    ip.run_cell_magic("hpo", "--trials 3 --quiet --name cellstudy --seed 1", cell)
    with pytest.raises(UsageError, match="already exists"):
        ip.run_cell_magic("hpo", "--trials 3 --quiet --name cellstudy", cell)
    with pytest.raises(UsageError, match="--resume needs --name"):
        ip.run_cell_magic("hpo", "--quiet --resume", cell)
    ip.run_cell_magic("hpo", "--trials 5 --quiet --name cellstudy --resume --seed 1", cell)
    assert len(ip.user_ns["_hpo"].trials) == 5
    assert len(Study.load("cellstudy", study_storage).trials) == 5
    ip.run_cell_magic("hpo", "--trials 2 --quiet --storage none", cell)
    assert ip.user_ns["_hpo"].storage is None
    assert [s.name for s in SQLiteStorage(study_storage).list_studies()] == ["cellstudy"]


def test_resuming_a_study_that_spent_its_budget_says_nothing_runs(ipython_shell, study_storage,
                                                                 capsys):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    cell = "x = Real(0, 1)\nreport(loss=x)\nmodel = [x]\n"
    ran = jh.tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", trials=3,
                  storage=str(study_storage), name="spent")  # not this kernel's %%hpo
    best = ran.best_trial.trial_id
    capsys.readouterr()
    ip.run_cell_magic("hpo", "--trials 3 --quiet --name spent --resume", cell)
    out = capsys.readouterr().out
    assert "spent already ran 3 trials, its budget of 3: nothing to run" in out
    assert f"applied trial {best}" in out
    assert "it ran before the study was resumed: its other variables are gone" in out
    assert "only the 3 best trials' are" not in out  # the reason it gave before
    ip.run_cell_magic("hpo", "--trials 2 --quiet --name spent --resume", cell)
    assert "spent already ran 3 trials, its budget of 2: nothing to run" in \
        capsys.readouterr().out
    ip.run_line_magic("hpo", "list")
    listed = capsys.readouterr().out
    assert "3 trials (budget 2) · 3 completed" in listed and "3/2" not in listed
    ip.run_cell_magic("hpo", "--trials 4 --quiet --name spent --resume", cell)
    assert "nothing to run" not in capsys.readouterr().out
    assert len(ip.user_ns["_hpo"].trials) == 4


def test_resuming_in_the_kernel_that_ran_the_study_applies_its_best_trials_variables(
        ipython_shell, study_storage, capsys):
    """A study resumed in the kernel that ran it, whose best trial is one of the first run's,
    applied only that trial's hyperparameters ("its other variables are gone"), so the
    notebook's model and loss were those of whatever cell ran last, not of the best trial."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    cell = "x = Real(0, 1)\nmodel = [x]\nloss = (x - 0.5) ** 2\n"
    ip.run_cell_magic("hpo", "--trials 4 --seed 3 --quiet --name again", cell)
    first = ip.user_ns["_hpo"]
    best, model = first.best_trial, ip.user_ns["model"]
    ip.user_ns.update(model=None, loss="another cell's")
    capsys.readouterr()
    ip.run_cell_magic("hpo", "--trials 5 --quiet --name again --resume --enqueue "
                             "'{\"x\": 0.0}'", cell)  # the worst value: not the best trial
    study = ip.user_ns["_hpo"]
    assert study is not first and study.best_trial.trial_id == best.trial_id
    assert f"applied trial {best.trial_id} (loss={best.last('loss'):.6g}), its variables, " \
        in capsys.readouterr().out
    assert ip.user_ns["model"] is model and ip.user_ns["loss"] == best.last("loss")


# ------------------------------------------------------------ two processes, one file
WORKER = textwrap.dedent("""
    import os, sys, time
    import jupyter_hpo as jh
    from jupyter_hpo import Real
    path, name, trials, pause, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
        float(sys.argv[4]), sys.argv[5] == "resume"
    gate = sys.argv[6] if len(sys.argv) > 6 else None  # trials start once this file exists
    def fn(config):
        while gate and not os.path.exists(gate):
            time.sleep(0.05)
        for epoch in range(1, 6):
            time.sleep(pause)
            jh.report(epoch=epoch, loss=config["x"] / epoch)
    try:
        study = jh.tune(fn, {"x": Real(0, 1)}, metric="loss", trials=trials, workers=2, scheduler="fifo",
                        storage=path, name=name, resume=resume)
    except Exception as exc:
        print("REFUSED", exc)
        sys.exit(3)
    print("DONE", len(study.trials))
""")


def spawn(tmp_path, *args):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_study_ending_under_another_process_lock_says_so_and_is_stored_later(tmp_path,
                                                                              capsys):
    """tune() returns while the file is locked, says the study is not stored yet, and the
    kernel stores it once the lock is gone."""
    path = tmp_path / "s.db"
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def objective(config):
        if config["x"] > 0.5:  # the last trial: another process takes the write lock
            blocker.execute("BEGIN IMMEDIATE")
        return config["x"]

    study = jh.tune(objective, {"x": Categorical(0.25, 0.75)}, metric="loss", mode="min",
                    searcher="grid", storage=SQLiteStorage(path, timeout=0.05), name="locked")
    try:
        said = capsys.readouterr().out
        assert "study 'locked' ended before it could be stored in" in said
        assert "keeps trying every 0.2 s and stores it once the file is free" in said
        assert study.unstored is not None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    deadline = time.monotonic() + 60
    while study.unstored is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    loaded = SQLiteStorage(path).load_study("locked")
    assert sorted(t.config["x"] for t in loaded.trials) == [0.25, 0.75]
    assert {t.status.value for t in loaded.trials} == {"completed"}
    assert loaded.state.value == "finished"


@pytest.mark.timeout(120)
def test_two_processes_write_different_studies_into_one_file(tmp_path):
    path = tmp_path / "shared.db"
    SQLiteStorage(path)
    procs = [spawn(tmp_path, path, name, 40, 0.0, "new") for name in ("a", "b")]
    outputs = [p.communicate(timeout=100)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert rows(path, "PRAGMA integrity_check")[0][0] == "ok"
    for name in ("a", "b"):
        study = Study.load(name, path)
        assert len(study.trials) == 40 and study.state == "finished"
        assert all(len(t.reports) == 5 and t.status.value == "completed" for t in study.trials)


@pytest.mark.timeout(120)
def test_a_study_runs_in_one_process_at_a_time(tmp_path):
    path = tmp_path / "shared.db"
    first = spawn(tmp_path, path, "same", 2, 0.0, "new")
    assert first.communicate(timeout=60)[0].splitlines()[-1] == "DONE 2"
    # the runner's trials wait until the second process has tried to resume the study: it
    # ran for 5 s, and a second process that took longer to start found it finished
    gate = tmp_path / "second-tried"
    runner = spawn(tmp_path, path, "same", 12, 0.2, "resume", gate)
    try:
        deadline = time.monotonic() + 60
        while not rows(path, "SELECT COUNT(*) FROM trials WHERE status = 'running'")[0][0]:
            assert time.monotonic() < deadline and runner.poll() is None
            time.sleep(0.05)
        second = spawn(tmp_path, path, "same", 12, 0.0, "resume")
        out = second.communicate(timeout=60)[0]
    finally:
        gate.touch()
    assert second.returncode == 3 and "is being run by another kernel" in out, out
    assert runner.communicate(timeout=100)[0].splitlines()[-1] == "DONE 12"
    study = Study.load("same", path)
    assert len(study.trials) == 12 and all(len(t.reports) == 5 for t in study.trials)
    assert rows(path, "PRAGMA integrity_check")[0][0] == "ok"


@pytest.mark.parametrize("where", ["file", ":memory:"])
def test_a_study_running_in_this_process_is_not_resumed_by_another(tmp_path, where):
    """A second Study of this process resuming a study the first still runs is refused (both
    wrote its trials under the one lease of the process: trial ids and reports mixed)."""
    storage = str(tmp_path / "s.db") if where == "file" else ":memory:"
    release = threading.Event()

    def slow(config):
        release.wait(60)
        return config["x"]

    def study(trials=4, **options):
        return Study(slow, {"x": Real(0, 1)}, metric="loss", mode="min", trials=trials,
                     workers=2, storage=storage, name=f"busy-{where}", seed=0, **options)

    first = study().start()
    try:
        with pytest.raises(HPOError, match="it is still running in this kernel: stop it"):
            study(resume=True)
    finally:
        release.set()
        first.wait()
    assert len(first.trials) == 4
    again = study(resume=True, trials=6).run()  # once it has ended, it resumes
    stored = Study.load(f"busy-{where}", storage)
    assert [t.trial_id for t in stored.trials] == list(range(6))
    assert {t.status.value for t in stored.trials} == {"completed"} and len(again.trials) == 6


def test_a_cell_study_resumes_from_a_script_with_the_same_space(ipython_shell, study_storage):
    """The cell's parser names its domains (Real(0, 1, name='x')) and tune()'s space does not:
    the same space, so a script continues the notebook's study (it was refused: "x was
    Real(0, 1, name='x') and is now Real(0, 1)")."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell("def relu(v):\n    return max(v, 0)\n\ndef tanh(v):\n    return v\n")
    relu, tanh = ip.user_ns["relu"], ip.user_ns["tanh"]
    ip.run_cell_magic("hpo", "--name scripted --trials 2 --seed 0 --quiet --metric loss",
                      "x = Real(0, 1)\nact = Categorical(relu, tanh)\nloss = act(x)\n")
    study = jh.tune(lambda config: config["act"](config["x"]),
                    {"x": Real(0, 1), "act": Categorical(relu, tanh)}, metric="loss",
                    mode="min", trials=5, seed=1, storage=study_storage, name="scripted",
                    resume=True)
    assert [t.trial_id for t in study.trials] == list(range(5))
    assert {t.config["act"] for t in study.trials} <= {relu, tanh}
    with pytest.raises(HPOError, match=r"x was Real\(0, 1\) and is now Real\(0, 2\)"):
        jh.tune(lambda config: config["x"], {"x": Real(0, 2), "act": Categorical(relu, tanh)},
                metric="loss", mode="min", trials=6, storage=study_storage, name="scripted",
                resume=True)


def test_the_line_magic_reads_a_study_that_was_continued_elsewhere_from_storage(
        ipython_shell, tmp_path, capsys, study_storage):
    """A study run in this kernel and then resumed by another kernel (a script here) is read
    from storage by %hpo list/best/apply/export: this kernel's copy is out of date (it gave
    the old best and applied it)."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell_magic("hpo", "--name moved --trials 2 --seed 0 --quiet --metric loss",
                      "x = Real(0, 1)\nloss = x\n")
    jh.tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
            trials=8, seed=1, storage=study_storage, name="moved", resume=True)
    stored = Study.load("moved")
    capsys.readouterr()
    ip.run_line_magic("hpo", "list")
    listed = capsys.readouterr().out
    assert "moved: finished · 8/8 trials" in listed and "moved: finished · 2/2" not in listed
    ip.run_line_magic("hpo", "best moved")
    said = capsys.readouterr().out
    assert said.startswith("jupyter_hpo: moved was continued by another kernel or a script after "
                           "it ran here (2 trials here, 8 now): reading it from ")
    assert f"(trial {stored.best_trial.trial_id}, completed)" in said
    ip.run_line_magic("hpo", "apply moved")
    assert ip.user_ns["x"] == stored.best_config["x"]
    ip.run_line_magic("hpo", f"export moved {tmp_path / 'moved.csv'}")
    assert len(pd.read_csv(tmp_path / "moved.csv")) == 8


def dead_owner():
    """The lease owner of a process that has exited (``host:pid``): its studies read as
    interrupted, as a killed kernel's do."""
    import socket

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return f"{socket.gethostname()}:{int(gone.stdout)}"


def store_mixed_study(storage, name, state):
    """A study of budget 10 with trials of every kind a listing counts: 3 completed, 1 failed,
    1 cancelled on its own, 1 cancelled by the stop of the whole study (run again on resume)
    and 2 stored running."""
    from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
    from jupyter_hpo.storage import StudyUpdate

    created = storage.create_study(name, metric="loss", direction=Direction.MIN,
                                   resource="epoch", space=jh.space.Space({"x": Real(0, 1)}),
                                   settings={"trials": 10})
    kinds = [(TrialStatus.COMPLETED, False)] * 3 + [
        (TrialStatus.FAILED, False), (TrialStatus.CANCELLED, False),
        (TrialStatus.CANCELLED, True), (TrialStatus.RUNNING, False), (TrialStatus.RUNNING, False)]
    now = time.time()
    trials = tuple(TrialRecord(i, {"x": i / 10}, status, ({"epoch": 1, "loss": i / 10},),
                               (0.1,), now, None if not status.finished else now + 1,
                               study_stopped=stopped)
                   for i, (status, stopped) in enumerate(kinds))
    storage.write(created.study_id, StudyUpdate(trials, {}, StudyState(state), 2.0))


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_listings_count_trials_as_the_dashboard_does(tmp_path, kind):
    """A listing counted every stored trial row ("8 trials") where ``%hpo show`` counted the
    budget spent ("4/10 trials · 2 interrupted"): the summary of a listing (computed without
    loading the trials) now carries the same counts as the loaded study, in a study that
    ended and in one whose process died (its running trials read as interrupted)."""
    from jupyter_hpo.storage import InMemoryStorage
    from jupyter_hpo.widgets.render import status_line

    def storage(owner=None):
        if kind == "memory":
            return shared
        return SQLiteStorage(tmp_path / "s.db", owner=owner)

    shared = InMemoryStorage()
    store_mixed_study(storage(), "ended", "finished")
    shared.owner = dead_owner()
    store_mixed_study(storage(dead_owner()), "crashed", "running")
    for summary in storage().list_studies():
        record = storage().load_study(summary.name)
        assert summary.trials == len(record.trials) == 8
        assert summary.spent == record.spent and dict(summary.counts) == record.counts()
        assert storage().find_study(summary.name).counts == summary.counts
        said = jh.records.trials_text(summary.spent, summary.budget, summary.counts)
        assert f" · {said} · " in status_line(record)
    ended, crashed = storage().list_studies()
    assert jh.records.trials_text(ended.spent, 10, ended.counts) == \
        "7/10 trials · 2 running · 3 completed · 2 cancelled · 1 failed"
    assert (crashed.state, crashed.spent) == ("interrupted", 5)
    assert jh.records.trials_text(crashed.spent, 10, crashed.counts) == \
        "5/10 trials · 3 completed · 1 cancelled · 1 failed · 3 interrupted"


def test_the_magic_and_the_terminal_list_as_the_dashboard_counts(ipython_shell, tmp_path,
                                                                 capsys):
    """``%hpo list`` and ``jupyter-hpo list`` say the budget spent and the trials per status
    as the dashboard's status line does, and how to resume a study whose kernel died."""
    path = tmp_path / "s.db"
    store_mixed_study(SQLiteStorage(path), "ended", "finished")
    store_mixed_study(SQLiteStorage(path, owner=dead_owner()), "crashed", "running")
    expected = [
        ("ended: finished · 7/10 trials · 2 running · 3 completed · 2 cancelled · 1 failed · "
         "best loss=0"),
        ("crashed: interrupted (its kernel stopped while it ran; resume it with %%hpo --name "
         "crashed --resume) · 5/10 trials · 3 completed · 1 cancelled · 1 failed · "
         "3 interrupted · best loss=0")]
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    capsys.readouterr()
    ip.run_line_magic("hpo", f"list --storage {path}")
    stored = [line for line in capsys.readouterr().out.splitlines()
              if line.endswith(f"[{path}]")]  # after this kernel's studies of other tests
    assert stored == [f"{line} [{path}]" for line in expected]
    listed = subprocess.run([sys.executable, "-m", "jupyter_hpo", "list", "--storage",
                             str(path)], check=False, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    in_a_terminal = ("--resume on its cell's first line, or tune(..., name='crashed', "
                     "resume=True) with the same storage)")  # a terminal takes no %%hpo
    assert listed.stdout.splitlines() == [line.replace("--resume)", in_a_terminal)
                                          for line in expected]
    shown = subprocess.run([sys.executable, "-m", "jupyter_hpo", "show", "crashed",
                            "--storage", str(path)], check=False, capture_output=True,
                           text=True)
    assert shown.stdout.splitlines()[0] == (
        f"crashed [{path}]: interrupted (its kernel stopped while it ran; resume it with "
        f"%%hpo --name crashed {in_a_terminal}, metric loss (min), 5/10 trials · "
        f"3 completed · 1 cancelled · 1 failed · 3 interrupted")

