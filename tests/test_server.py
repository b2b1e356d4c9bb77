"""The server extension's REST handlers on a real jupyter_server (pytest-jupyter's
``jp_fetch``), over real SQLite files: listing, one study, stop, delete, watch, parse; a
damaged and a foreign file; paths outside the root; requests without a token or XSRF."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_hpo import Categorical, Real, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.options import StudyOptions
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Space
from jupyter_hpo.storage import SCHEMA_VERSION, SQLiteStorage, StudyUpdate
from jupyter_hpo.study import Study

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SPACE = Space({"x": Real(0.0, 1.0), "act": Categorical("relu", "tanh")})


@pytest.fixture
def jp_server_config(jp_root_dir, monkeypatch, request):
    """The extension enabled as its installed config enables it; the default storage
    variable (set for every test by conftest) points inside the root, at ``env/studies.db``
    or at the ``storage`` of an indirect parameter, whose ``config`` is added."""
    param = getattr(request, "param", {})
    storage = param.get("storage", "env/studies.db")
    monkeypatch.setenv("JUPYTER_HPO_STORAGE", str(jp_root_dir / storage))
    return {"ServerApp": {"jpserver_extensions": {"jupyter_hpo.server": True}},
            **param.get("config", {})}


def run_study(path: Path, name: str, trials: int = 4, space=SPACE) -> Study:
    """A finished study with real reports, stored in ``path``."""
    def objective(config, report):
        for epoch in range(1, 4):
            report(epoch=epoch, loss=config["x"] / epoch)

    path.parent.mkdir(parents=True, exist_ok=True)
    return tune(objective, space, metric="loss", mode="min", trials=trials, seed=0,
                storage=str(path), name=name)


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch("jupyter-hpo", *parts, params=params)
    assert response.code == 200
    return json.loads(response.body)


async def refused(jp_fetch, *parts, code, method="GET", body=None, **params):
    """The JSON message of a request that must be refused with ``code``."""
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-hpo", *parts, method=method, body=body, params=params,
                       allow_nonstandard_methods=True)
    assert caught.value.code == code, caught.value.response.body
    return json.loads(caught.value.response.body)["message"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ listing
async def test_lists_the_studies_of_every_storage_file_in_the_root(jp_fetch, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "top")
    run_study(jp_root_dir / "project" / "runs.db", "renamed-file", trials=3)
    run_study(jp_root_dir / "env" / "studies.db", "from-env", trials=2)
    run_study(jp_root_dir / "a" / "b" / "c" / "jupyter_hpo.db", "too-deep")
    (jp_root_dir / "notes.db").write_bytes(b"not ours")  # a .db that is not ours: skipped

    listing = await get_json(jp_fetch, "studies")
    paths = [s["path"] for s in listing["storages"]]
    assert paths == ["env/studies.db", "jupyter_hpo.db", "project/runs.db"]
    assert all(s["error"] is None for s in listing["storages"])
    studies = {s["name"]: s for s in listing["studies"]}
    assert set(studies) == {"top", "renamed-file", "from-env"}
    top = studies["top"]
    assert top["storage"] == "jupyter_hpo.db"
    assert top["state"] == "finished" and top["trials"] == 4 and top["budget"] == 4
    assert top["spent"] == 4 and top["counts"]["completed"] == 4
    assert top["metric"] == "loss" and top["mode"] == "min"
    stored = SQLiteStorage(jp_root_dir / "jupyter_hpo.db").find_study("top")
    assert top["best_value"] == pytest.approx(stored.best_value)
    assert top["updated"] == pytest.approx(stored.updated)
    assert listing["running"] == 0

    one = await get_json(jp_fetch, "studies", storage="project/runs.db")
    assert [s["name"] for s in one["studies"]] == ["renamed-file"]

    run_study(jp_root_dir / "new" / "jupyter_hpo.db", "new-file")  # a new file appears
    fresh = await get_json(jp_fetch, "studies", fresh="1")
    assert "new/jupyter_hpo.db" in [s["path"] for s in fresh["storages"]]


async def test_the_panel_counts_trials_as_the_dashboard_does(jp_fetch, jp_root_dir):
    """The panel showed every stored trial row ("8 / 10 trials") where the study view and the
    dashboard showed the budget spent: a study line now carries ``spent`` and ``counts``
    (interrupted trials, which a resume runs again, are not spent), equal to the loaded
    study's, for a study whose process died mid-study too."""
    from test_storage import dead_owner, store_mixed_study

    path = jp_root_dir / "jupyter_hpo.db"
    store_mixed_study(SQLiteStorage(path, owner=dead_owner()), "crashed", "running")
    listing = await get_json(jp_fetch, "studies", storage="jupyter_hpo.db")
    (line,) = listing["studies"]
    assert line["state"] == "interrupted" and line["trials"] == 8 and line["budget"] == 10
    assert line["spent"] == 5 and line["state_note"] == (
        "its kernel stopped while it ran; resume it with %%hpo --name crashed --resume")
    assert {k: n for k, n in line["counts"].items() if n} == {
        "completed": 3, "cancelled": 1, "failed": 1, "interrupted": 3}
    whole = await get_json(jp_fetch, "study", storage="jupyter_hpo.db", name="crashed")
    assert (whole["spent"], whole["counts"]) == (line["spent"], line["counts"])
    assert [t["status"] for t in whole["trials_detail"]].count("interrupted") == 3


@pytest.mark.parametrize("jp_server_config", [
    {"ServerApp": {"jpserver_extensions": {"jupyter_hpo.server": True}},
     "JupyterHPO": {"search_depth": 0}}])
async def test_search_depth_is_configurable(jp_fetch, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "top")
    run_study(jp_root_dir / "sub" / "jupyter_hpo.db", "below")
    listing = await get_json(jp_fetch, "studies")
    assert [s["name"] for s in listing["studies"]] == ["top"]


async def test_one_study_with_trials_curves_and_incumbents(jp_fetch, jp_root_dir):
    study = run_study(jp_root_dir / "jupyter_hpo.db", "detail")
    data = await get_json(jp_fetch, "study", storage="jupyter_hpo.db", name="detail")
    assert data["name"] == "detail" and data["state"] == "finished"
    assert set(data["space"]) == {"x", "act"}
    assert data["space"]["x"]["type"] == "Real"
    assert len(data["trials_detail"]) == 4
    for trial, record in zip(data["trials_detail"], study.trials):
        assert trial["trial_id"] == record.trial_id
        assert trial["status"] == "completed"
        assert trial["config"] == dict(record.config)
        assert trial["reports"] == [dict(r) for r in record.reports]
        assert trial["times"] == pytest.approx(list(record.times))
    assert data["best_trial"] == study.best_trial.trial_id
    assert data["best_config"] == study.best_config
    assert data["incumbents"][-1][1:] == [study.best_trial.trial_id,
                                          pytest.approx(study.best_value)]
    assert data["counts"]["completed"] == 4


async def test_a_missing_study_or_file_is_404_with_the_names_there_are(jp_fetch, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "present")
    message = await refused(jp_fetch, "study", code=404, storage="jupyter_hpo.db",
                            name="absent")
    assert "absent" in message and "present" in message
    message = await refused(jp_fetch, "study", code=404, storage="nothing.db", name="x")
    assert "nothing.db" in message
    assert not (jp_root_dir / "nothing.db").exists()  # nothing is created
    assert "'name' is required" in await refused(jp_fetch, "study", code=400,
                                                 storage="jupyter_hpo.db")


async def test_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, tmp_path):
    outside = tmp_path / "outside" / "jupyter_hpo.db"
    run_study(outside, "secret")
    (jp_root_dir / "link").symlink_to(outside.parent, target_is_directory=True)
    (jp_root_dir / "link.db").symlink_to(outside)
    for path in (str(outside), "../outside/jupyter_hpo.db", "link/jupyter_hpo.db", "link.db"):
        message = await refused(jp_fetch, "study", code=403, storage=path, name="secret")
        assert "outside the server's root" in message
        assert "outside the server's root" in await refused(
            jp_fetch, "studies", code=403, storage=path)
        assert "outside the server's root" in await refused(
            jp_fetch, "stop", code=403, method="POST",
            body=json.dumps({"storage": path, "name": "secret"}))
        assert "outside the server's root" in await refused(
            jp_fetch, "study", code=403, method="DELETE", storage=path, name="secret")
    listing = await get_json(jp_fetch, "studies")
    assert listing["studies"] == []  # the link into the outside is not followed
    assert SQLiteStorage(outside).find_study("secret") is not None


@pytest.mark.parametrize("jp_server_config", [
    {"ServerApp": {"jpserver_extensions": {"jupyter_hpo.server": True}}}])
async def test_the_storage_variable_outside_the_root_is_named_not_shown(
        jp_fetch, jp_root_dir, study_storage):
    # conftest points $JUPYTER_HPO_STORAGE at tmp_path/studies.db, outside the root
    run_study(study_storage, "elsewhere")
    listing = await get_json(jp_fetch, "studies")
    assert listing["studies"] == []
    assert len(listing["notes"]) == 1
    assert "$JUPYTER_HPO_STORAGE" in listing["notes"][0]
    assert "outside the server's root" in listing["notes"][0]


async def contents_names(jp_fetch, folder: str = "") -> set[str]:
    """The names the server's contents API lists in ``folder`` (what the file browser shows)."""
    response = await jp_fetch("api", "contents", folder)
    return {entry["name"] for entry in json.loads(response.body)["content"]}


SIDECARS = ("-wal", "-shm", "-journal")


async def test_files_that_come_and_go_during_a_study_are_not_in_the_file_browser(
        jp_fetch, jp_root_dir):
    # a -wal or -journal that vanishes while the server lists the folder fails the whole
    # listing, which JupyterLab shows as "Directory not found"
    from jupyter_hpo.checkpoints import folder_for, partial_path

    run_study(jp_root_dir / "jupyter_hpo.db", "top")
    (jp_root_dir / "runs.sqlite").write_bytes(b"")
    (jp_root_dir / "env").mkdir(exist_ok=True)
    (jp_root_dir / "env" / "studies.db").write_bytes(b"")
    for name in ("jupyter_hpo.db", "runs.sqlite", "env/studies.db"):
        for sidecar in SIDECARS:
            (jp_root_dir / f"{name}{sidecar}").write_bytes(b"x")
    (jp_root_dir / "my-journal").write_text("kept")  # not a SQLite sidecar: listed
    assert await contents_names(jp_fetch) == {
        "jupyter_hpo.db", "runs.sqlite", "env", "my-journal"}
    assert await contents_names(jp_fetch, "env") == {"studies.db"}
    # a checkpoint being written, beside a written one (listed)
    folder = Path(folder_for(str(jp_root_dir / "jupyter_hpo.db"), 1))
    folder.mkdir(parents=True)
    (folder / "trial-3.pkl").write_bytes(b"x")
    Path(partial_path(str(folder / "trial-4.pt"))).write_bytes(b"x")
    relative = folder.relative_to(jp_root_dir).as_posix()
    assert await contents_names(jp_fetch, relative) == {"trial-3.pkl"}


@pytest.mark.parametrize("jp_server_config", [
    {"storage": "studies.hpo", "config": {"ContentsManager": {"hide_globs": ["*.tmp"]}}}],
    indirect=True)
async def test_a_storage_named_otherwise_by_the_variable_has_its_files_hidden_too(
        jp_fetch, jp_root_dir):
    for name in ("studies.hpo", "studies.hpo-wal", "studies.hpo-journal", "scratch.tmp"):
        (jp_root_dir / name).write_bytes(b"")
    assert await contents_names(jp_fetch) == {"studies.hpo"}  # the user's *.tmp still hidden


@pytest.mark.parametrize("jp_server_config", [
    {"config": {"JupyterHPO": {"hide_transient_files": False}}}], indirect=True)
async def test_the_sqlite_files_can_be_shown(jp_fetch, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "top")
    (jp_root_dir / "jupyter_hpo.db-wal").write_bytes(b"x")
    assert "jupyter_hpo.db-wal" in await contents_names(jp_fetch)


# ------------------------------------------------------------------------------ damaged, foreign
def fill(path: Path) -> None:
    """A storage file of about 40 pages with finished studies."""
    storage = SQLiteStorage(path)
    for _ in range(4):
        study = storage.create_study(None, metric="loss", direction=Direction.MIN,
                                     resource="epoch", space=SPACE, settings={"trials": 30})
        records = tuple(
            TrialRecord(i, {"x": i / 30, "act": "relu"}, TrialStatus.COMPLETED,
                        tuple({"epoch": e, "loss": (i + 1) / e, "note": "n" * 40}
                              for e in range(1, 11)),
                        tuple(float(e) for e in range(10)), 1.0, 2.0)
            for i in range(30))
        storage.write(study.study_id, StudyUpdate(records, {}, StudyState.FINISHED, 3.0))
        storage.release_study(study.study_id)


def damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 2, pages // 2 + 3):
        start = page * 4096
        data[start + 16:start + 4096 - 16] = bytes((i * 7 + 3) % 256 for i in range(4064))
    path.write_bytes(bytes(data))


async def test_a_damaged_file_is_reported_and_left_untouched(jp_fetch, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "healthy")
    damaged = jp_root_dir / "old" / "jupyter_hpo.db"
    damaged.parent.mkdir()
    fill(damaged)
    damage(damaged)
    before = digest(damaged)
    listing = await get_json(jp_fetch, "studies")
    entry = {s["path"]: s for s in listing["storages"]}["old/jupyter_hpo.db"]
    names = [s["name"] for s in listing["studies"]]
    # a listing reads the studies and trials (each trial keeps its best value), not the
    # reports: damage there is said when a study is opened
    if entry["error"] is not None:
        assert "is damaged" in entry["error"] and "sqlite3" in entry["error"]
        assert names == ["healthy"]  # the others still listed
    else:
        assert names == ["healthy", "study-1", "study-2", "study-3", "study-4"]
    said = []
    for name in ("study-1", "study-2", "study-3", "study-4"):
        try:
            await jp_fetch("jupyter-hpo", "study",
                           params={"storage": "old/jupyter_hpo.db", "name": name})
        except HTTPClientError as exc:
            assert exc.code == 422
            said.append(json.loads(exc.response.body)["message"])
    assert said and all("is damaged" in message for message in said)
    for method, body in (("POST", {"storage": "old/jupyter_hpo.db", "name": "study-1"}),):
        message = await refused(jp_fetch, "stop", code=422, method=method,
                                body=json.dumps(body))
        assert "is damaged" in message and "nothing was written" in message
    message = await refused(jp_fetch, "study", code=422, method="DELETE",
                            storage="old/jupyter_hpo.db", name="study-2")
    assert "is damaged" in message
    assert digest(damaged) == before


async def test_a_foreign_database_is_refused_untouched(jp_fetch, jp_root_dir):
    foreign = jp_root_dir / "jupyter_hpo.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.close()
    other = jp_root_dir / "shop.db"  # another program's file under another name: not listed
    other.write_bytes(foreign.read_bytes())
    before = digest(foreign)
    listing = await get_json(jp_fetch, "studies")
    assert [s["path"] for s in listing["storages"]] == ["jupyter_hpo.db"]
    assert "another program (tables: invoices)" in listing["storages"][0]["error"]
    message = await refused(jp_fetch, "study", code=422, storage="shop.db", name="x")
    assert "another program" in message and "left untouched" in message
    message = await refused(jp_fetch, "stop", code=422, method="POST",
                            body=json.dumps({"storage": "jupyter_hpo.db", "name": "x"}))
    assert "another program" in message
    assert digest(foreign) == before


def locked(path: Path) -> sqlite3.Connection:
    """A connection of this process that holds ``path`` locked, as a program with an open
    write transaction does (close it to unlock the file)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    return conn


async def test_a_locked_file_is_reported_after_the_servers_short_wait(jp_fetch, jp_root_dir):
    """A storage file another process keeps locked is listed with its error, marked locked
    (the panel asks again), after the server's lock_timeout (2 s) rather than the storage's
    30 s, which kept the panel silent and a server worker busy for that long; one study of it
    is refused with 423 Locked; the other files are listed as usual."""
    run_study(jp_root_dir / "jupyter_hpo.db", "free")
    run_study(jp_root_dir / "busy" / "jupyter_hpo.db", "held")
    await get_json(jp_fetch, "studies", fresh="1")  # both files found and opened
    conn = locked(jp_root_dir / "busy" / "jupyter_hpo.db")
    try:
        listing = await get_json(jp_fetch, "studies")
        entry = {s["path"]: s for s in listing["storages"]}["busy/jupyter_hpo.db"]
        assert "another process kept it locked for more than 2 s" in entry["error"]
        assert entry["locked"] is True
        assert [s["name"] for s in listing["studies"]] == ["free"]
        message = await refused(jp_fetch, "study", code=423, storage="busy/jupyter_hpo.db",
                                name="held")
        assert "locked for more than 2 s" in message
    finally:
        conn.close()
    listing = await get_json(jp_fetch, "studies")
    assert sorted(s["name"] for s in listing["studies"]) == ["free", "held"]
    assert not any(s["locked"] or s["error"] for s in listing["storages"])


# ------------------------------------------------------------------------------ stop, delete
def endless(config, report):
    for epoch in range(1, 100_000):
        time.sleep(0.01)
        report(epoch=epoch, loss=config["x"])


async def test_stop_stops_a_running_study_which_says_who_stopped_it(jp_fetch, jp_root_dir):
    path = jp_root_dir / "jupyter_hpo.db"
    study = Study(FunctionObjective(endless, "loss"), {"x": Real(0, 1)},
                  StudyOptions(metric="loss", mode="min", trials=10, workers=2,
                               storage=path, name="long"))
    study.start()
    try:
        deadline = time.monotonic() + 30  # its first write comes within a fraction of a second
        listing = await get_json(jp_fetch, "studies")
        while listing["running"] == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            listing = await get_json(jp_fetch, "studies")
        assert listing["running"] == 1
        assert listing["studies"][0]["state"] == "running"
        assert listing["studies"][0]["owner"].endswith(f":{os.getpid()}")
        answer = json.loads((await jp_fetch(
            "jupyter-hpo", "stop", method="POST",
            body=json.dumps({"storage": "jupyter_hpo.db", "name": "long"}))).body)
        assert answer["stopping"] == "long" and answer["by"].startswith("JupyterLab")
        assert study.wait(30)
    finally:
        study.stop("test cleanup")
        study.wait(30)
    assert study.stop_reason == f"stopped from {answer['by']}"
    statuses = {t.status for t in study.trials}
    assert statuses == {TrialStatus.CANCELLED}
    data = await get_json(jp_fetch, "study", storage="jupyter_hpo.db", name="long")
    assert data["state"] == "finished" and data["stop_reason"] == study.stop_reason
    message = await refused(jp_fetch, "stop", code=409, method="POST",
                            body=json.dumps({"storage": "jupyter_hpo.db", "name": "long"}))
    assert "long" in message and "not running" in message


async def test_delete_removes_a_finished_study_and_refuses_a_running_one(jp_fetch, jp_root_dir):
    path = jp_root_dir / "jupyter_hpo.db"
    run_study(path, "old")
    answer = json.loads((await jp_fetch("jupyter-hpo", "study", method="DELETE",
                                        params={"storage": "jupyter_hpo.db",
                                                "name": "old"})).body)
    assert answer == {"deleted": "old", "storage": "jupyter_hpo.db", "trials": 4}
    assert SQLiteStorage(path).find_study("old") is None
    storage = SQLiteStorage(path)
    running = storage.create_study("live", metric="loss", direction=Direction.MIN,
                                   resource="epoch", space=SPACE, settings={})
    storage.write(running.study_id, StudyUpdate(state=StudyState.RUNNING))
    message = await refused(jp_fetch, "study", code=409, method="DELETE",
                            storage="jupyter_hpo.db", name="live")
    assert "live" in message
    assert SQLiteStorage(path).find_study("live") is not None
    storage.release_study(running.study_id)


async def test_the_panel_reads_a_file_of_an_older_schema_without_writing_to_it(
        jp_fetch, jp_root_dir, caplog):
    """Opening JupyterLab lists every storage file under the root: one of an older schema is
    read as it is (read-only), so it stays byte for byte what an older jupyter_hpo wrote and
    can still open; deleting a study from the panel writes to it, and migrates it."""
    from test_storage_old_files import BEST, file_state, make_old_file

    path = jp_root_dir / "runs.db"
    make_old_file(path, 4)
    before = file_state(path)
    for _ in range(2):  # the panel asks again and again
        listing = await get_json(jp_fetch, "studies", fresh="1")
        entry = next(e for e in listing["storages"] if e["path"] == "runs.db")
        assert entry["error"] is None and entry["read_only"] is False
        assert {s["name"]: s["best_value"] for s in listing["studies"]
                if s["storage"] == "runs.db"} == BEST
    one = await get_json(jp_fetch, "studies", storage="runs.db")
    assert [s["name"] for s in one["studies"]] == ["old", "other"]
    detail = await get_json(jp_fetch, "study", storage="runs.db", name="other")
    assert detail["best_value"] == 0.75 and detail["best_trial"] == 1
    assert len(detail["trials_detail"]) == 3
    assert file_state(path) == before and "migrat" not in caplog.text
    answer = json.loads((await jp_fetch("jupyter-hpo", "study", method="DELETE",
                                        params={"storage": "runs.db", "name": "other"})).body)
    assert answer["deleted"] == "other" and answer["trials"] == 3
    assert file_state(path)[1] == SCHEMA_VERSION and "migrated" in caplog.text
    listing = await get_json(jp_fetch, "studies", storage="runs.db")
    assert [(s["name"], s["best_value"]) for s in listing["studies"]] == [("old", 0.2)]


async def test_the_watch_answers_when_a_storage_file_changes(jp_fetch, jp_root_dir):
    path = jp_root_dir / "jupyter_hpo.db"
    run_study(path, "first")
    token = (await get_json(jp_fetch, "watch", since=""))["token"]
    same = await get_json(jp_fetch, "watch", since=token, timeout="1")
    assert same["token"] == token  # nothing changed: the same token after the timeout
    writer = threading.Timer(0.5, lambda: run_study(path, "second"))
    writer.start()
    changed = await get_json(jp_fetch, "watch", since=token, timeout="60")
    writer.join()
    assert changed["token"] != token
    names = [s["name"] for s in (await get_json(jp_fetch, "studies"))["studies"]]
    assert "second" in names


async def test_reading_a_study_does_not_wake_the_watch(jp_fetch, jp_root_dir):
    """The panel's reads change no study, so the watch the panel holds stays asleep instead
    of asking for one more listing; they leave no -wal or -shm file beside the storage file
    either (the last connection to close removes them)."""
    path = jp_root_dir / "jupyter_hpo.db"
    run_study(path, "first")
    assert not Path(f"{path}-wal").exists()  # the study's last connection removed it
    token = (await get_json(jp_fetch, "watch", since=""))["token"]
    await get_json(jp_fetch, "studies", storage="jupyter_hpo.db")
    await get_json(jp_fetch, "study", storage="jupyter_hpo.db", name="first")
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    same = await get_json(jp_fetch, "watch", since=token, timeout="1")
    assert same["token"] == token


# ------------------------------------------------------------------------------ parse
def magic_message(shell, body: str) -> str:
    """The first line of the error ``%%hpo`` gives for ``body``."""
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:
        shell.run_cell_magic("hpo", "--trials 1 --storage none", body)
    return str(caught.value).splitlines()[0]


@pytest.mark.parametrize("body, line", [
    ("lr = Real(1, 0)\nfor e in range(2):\n    report(epoch=e, loss=lr)\n", 2),
    ("x = 1\nact = Choice('a', 'b')\nreport(loss=x)\n", 3),
    ("lr = Real(0, 1)\nlr = Int(1, 3)\nreport(loss=lr)\n", 3),
    ("d = 0.1  # hpo: Float(0, 0.5)\nreport(loss=d)\n", 2),
    ("lr = Real(0, 1, log=True)\nreport(loss=lr)\n", 2),
    # IPython rewrites the %time line into a longer call: the underline stays on the line
    ("x = Int(1, 3)\n%time lr = Real(0, 1)\nreport(loss=x)\n", 3),
    ("x = Real(0, 1)\n%%hpo --trials 5\nreport(loss=x)\n", 3),  # a second %%hpo, rewritten
    ("%%hpo --trials 5\nx = Real(0, 1)\nreport(loss=x)\n", 2),  # right below: a cell magic
    ("x = 0.5  # hop: Real(0, 1)\nreport(loss=x)\n", 2),  # a misspelt marker
])
async def test_parse_gives_the_magics_message_at_the_cells_line(jp_fetch, ipython_shell,
                                                                body, line):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    source = "%%hpo --trials 3\n" + body
    response = await jp_fetch("jupyter-hpo", "parse", method="POST",
                              body=json.dumps({"source": source}))
    data = json.loads(response.body)
    assert data["magic"] is True
    first = data["errors"][0]
    assert first["message"] == magic_message(ipython_shell, body)
    assert first["lineno"] == line  # a line of the whole cell, %%hpo being line 1
    text = source.splitlines()[first["lineno"] - 1]
    assert 0 <= first["col"] < first["end_col"] <= len(text) + 1


async def test_a_rewritten_line_is_underlined_whole_from_its_indentation(jp_fetch, ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    body = "for i in range(2):\n    %time lr = Real(1, 0)\n    report(epoch=i, loss=lr)\n"
    data = json.loads((await jp_fetch("jupyter-hpo", "parse", method="POST", body=json.dumps(
        {"source": "%%hpo --trials 3\n" + body}))).body)
    (error,) = data["errors"]
    line = "    %time lr = Real(1, 0)"
    assert (error["lineno"], error["col"], error["end_col"]) == (3, 4, len(line))
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:  # the kernel's caret covers the same columns
        ipython_shell.run_cell_magic("hpo", "--trials 1 --storage none", body)
    shown = str(caught.value).splitlines()
    assert shown[-2:] == ["    " + line, "        " + "^" * len(line.strip())]


async def test_parse_lists_annotations_with_their_domains(jp_fetch):
    source = ("%%hpo --trials 3\nlr = Real(1e-4, 1e-1, log=True)\n"
              "act = Categorical('relu', 'tanh')\ndrop = 0.1  # hpo: Real(0.0, 0.5)\n"
              "units = Int(16, MAX_UNITS)\nreport(loss=lr)\n")
    data = json.loads((await jp_fetch("jupyter-hpo", "parse", method="POST",
                                      body=json.dumps({"source": source}))).body)
    assert data["errors"] == []
    found = {a["name"]: a for a in data["annotations"]}
    assert set(found) == {"lr", "act", "drop", "units"}
    lines = source.splitlines()
    for a in found.values():
        assert lines[a["lineno"] - 1][a["col"]:a["end_col"]].startswith(
            ("Real", "Categorical", "Int"))
    assert found["lr"]["domain"].startswith("Real(0.0001, 0.1, log=True")
    assert found["drop"]["form"] == "comment"
    assert found["units"]["evaluated"] is False  # MAX_UNITS is the kernel's


async def parse(jp_fetch, source: str) -> dict:
    return json.loads((await jp_fetch("jupyter-hpo", "parse", method="POST",
                                      body=json.dumps({"source": source}))).body)


@pytest.mark.parametrize("above, options", [
    ("# tune the learning rate\n", " --trials 3"), ("x = 1\n\n", ""), ("import math\n", " -v")])
async def test_parse_underlines_a_misplaced_magic_with_the_kernels_error(
        jp_fetch, ipython_shell, above, options):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    source = f"{above}%%hpo{options}\nlr = Real(1, 0)\nreport(loss=lr)\n"
    data = await parse(jp_fetch, source)
    assert data["magic"] is True and data["annotations"] == []
    (error,) = data["errors"]
    line = source.count("\n", 0, source.index("%%hpo")) + 1
    assert (error["lineno"], error["end_lineno"], error["col"]) == (line, line, 0)
    assert error["end_col"] == len(f"%%hpo{options}")
    result = ipython_shell.run_cell(source)  # the kernel stops at the same line, saying why
    assert str(result.error_in_exec).startswith(error["message"])
    assert f"Move %%hpo{options} to the top of the cell" in error["message"]


@pytest.mark.parametrize("magic, options", [
    ("%%hpo --trails 5", "--trails 5"), ("%%hpo --trials five", "--trials five"),
    ("  %%hpo  --scheduler asha --trials 3", "--scheduler asha --trials 3"),
    ("%%hpo --trials 3 --scheduler-opt", "--trials 3 --scheduler-opt"),
    # checked before the magic reads the cell: values, KEY=VALUE words, options needing another
    ("%%hpo --trials 3 --workers 0", "--trials 3 --workers 0"),
    ("%%hpo --time-limit 3x", "--time-limit 3x"),
    ("%%hpo --trials 3 --scheduler-opt grace_period", "--trials 3 --scheduler-opt grace_period"),
    ("%%hpo --trials 2 --address tcp://127.0.0.1:1", "--trials 2 --address tcp://127.0.0.1:1"),
    ("%%hpo --executor process --address tcp://127.0.0.1:1",
     "--executor process --address tcp://127.0.0.1:1"),
    ("%%hpo --resume --trials 2", "--resume --trials 2"),
    ("%%hpo --storage none --warm-start old", "--storage none --warm-start old"),
    ("%%hpo --trials 2 --enqueue 3", "--trials 2 --enqueue 3"),
    # option names the scheduler or the searcher does not take, with the nearest
    ("%%hpo --trials 3 --scheduler-opt min_pair=3", "--trials 3 --scheduler-opt min_pair=3"),
    ("%%hpo --searcher tpe --searcher-opt n_startup_trials=3",
     "--searcher tpe --searcher-opt n_startup_trials=3"),
    ("%%hpo --scheduler fifo --grace-period 2", "--scheduler fifo --grace-period 2"),
    ("%%hpo --searcher hyperopt", "--searcher hyperopt"),
    # a quote being typed (this was a 500: shlex's ValueError), an option given twice, a
    # KEY=VALUE word without its KEY
    ("%%hpo --trials 3 --name 'my study", "--trials 3 --name 'my study"),
    ('%%hpo --storage "runs/all studies.db --trials 3',
     '--storage "runs/all studies.db --trials 3'),
    ("%%hpo --mode max --trials 3 --mode min", "--mode max --trials 3 --mode min"),
    ("%%hpo --storage none --storage x.db", "--storage none --storage x.db"),
    ("%%hpo --trials 3 --scheduler-opt =3", "--trials 3 --scheduler-opt =3")])
async def test_parse_underlines_the_options_the_magic_refuses(jp_fetch, ipython_shell, magic,
                                                              options):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    body = "lr = Real(0, 1)\nreport(loss=lr)\n"
    data = await parse(jp_fetch, f"{magic}\n{body}")
    (error,) = data["errors"]
    assert (error["lineno"], error["end_lineno"]) == (1, 1)
    assert magic[error["col"]:error["end_col"]] == options
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:  # the kernel's message, word for word
        ipython_shell.run_cell_magic("hpo", magic.strip()[len("%%hpo"):], body)
    assert error["message"] == str(caught.value)


async def test_parse_answers_every_prefix_of_a_line_being_typed(jp_fetch):
    """Each keystroke sends the cell: a half-typed quote or option is a diagnostic on the
    magic's line, never a server error."""
    line = "%%hpo --name 'my study' --mode max --storage \"runs/all.db\" --mode min"
    body = "\nlr = Real(0, 1)\nreport(loss=lr)\n"
    messages = []
    for end in range(len("%%hpo "), len(line) + 1):
        data = await parse(jp_fetch, line[:end] + body)
        assert data["magic"] is True
        messages += [e["message"] for e in data["errors"] if e["lineno"] == 1]
    assert any(m.startswith("the %%hpo line has an unclosed ' quote: it opens at 'my") for m
               in messages)
    assert any(m.startswith('the %%hpo line has an unclosed " quote: it opens at "runs') for m
               in messages)
    assert messages[-1] == "--mode given twice (max, then min): give it once"


@pytest.mark.parametrize("magic", ["%%hpo --trials 3 --scheduler-opt min_pairs=8",
                                   "%%hpo --trials 3 --workers 2 --time-limit 5m --storage none",
                                   ("%%hpo --scheduler hyperband --scheduler-opt type=promotion"
                                    " --searcher tpe --searcher-opt n_startup=3"),
                                   "%%hpo --trials $n", "%%hpo --enqueue '{\"lr\": 0.5}'"])
async def test_parse_accepts_good_options_and_leaves_expansions_to_the_kernel(jp_fetch, magic):
    data = await parse(jp_fetch, f"{magic}\nlr = Real(0, 1)\nreport(loss=lr)\n")
    assert data["magic"] is True and data["errors"] == []


async def test_parse_checks_a_cell_whose_magic_follows_blank_lines(jp_fetch, ipython_shell):
    """The editor's message counts the blank lines above %%hpo, as the kernel's does (it said
    "cell line 2" at line 4)."""
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    cell = "\n  \n%%hpo --trials 1 --storage none\nlr = Real(1, 0)\nreport(loss=lr)\n"
    data = await parse(jp_fetch, cell)  # IPython runs it as %%hpo
    ran = ipython_shell.run_cell(cell, store_history=True)
    assert data["magic"] is True
    assert data["errors"][0]["message"] == str(ran.error_in_exec).splitlines()[0]
    assert data["errors"][0]["message"].startswith("HPOSyntaxError at cell line 4: ")
    assert data["errors"][0]["lineno"] == 4


async def test_parse_leaves_a_magic_inside_a_string_alone(jp_fetch):
    data = await parse(jp_fetch, 'template = """\n%%hpo --trials 3\nlr = Real(1, 0)\n"""\n')
    assert data == {"magic": False, "annotations": [], "errors": []}


async def test_parse_ignores_cells_without_the_magic(jp_fetch):
    for source in ("lr = Real(1, 0)\n", "%%hpox\nlr = Real(1, 0)", "", "%%time\nx = 1"):
        data = json.loads((await jp_fetch("jupyter-hpo", "parse", method="POST",
                                          body=json.dumps({"source": source}))).body)
        assert data == {"magic": False, "annotations": [], "errors": []}
    assert "'source'" in await refused(jp_fetch, "parse", code=400, method="POST",
                                       body=json.dumps({"code": "x"}))
    assert "not JSON" in await refused(jp_fetch, "parse", code=400, method="POST",
                                       body="{nope")


# ------------------------------------------------------------------------------ security
async def test_requests_without_the_token_are_refused(jp_fetch, jp_serverapp, jp_base_url,
                                                      jp_http_port, jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "private")
    await jp_fetch("jupyter-hpo", "studies")  # the server is up
    client = AsyncHTTPClient()
    base = f"http://localhost:{jp_http_port}{jp_base_url}jupyter-hpo/"
    for method, path, body in (
            ("GET", "studies", None),
            ("GET", "study?storage=jupyter_hpo.db&name=private", None),
            ("GET", "watch?since=&timeout=0", None),
            ("POST", "stop", json.dumps({"storage": "jupyter_hpo.db", "name": "private"})),
            ("DELETE", "study?storage=jupyter_hpo.db&name=private", None),
            ("POST", "parse", json.dumps({"source": "%%hpo\nx = Real(0, 1)"}))):
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + path, method=method, body=body,
                               allow_nonstandard_methods=True, follow_redirects=False)
        assert caught.value.code == 403, (method, path)
    assert SQLiteStorage(jp_root_dir / "jupyter_hpo.db").find_study("private") is not None


async def test_writes_with_a_login_cookie_need_the_xsrf_token(jp_serverapp, http_server_client,
                                                              jp_base_url, jp_http_port,
                                                              jp_root_dir):
    run_study(jp_root_dir / "jupyter_hpo.db", "kept")
    client = AsyncHTTPClient()
    root = f"http://localhost:{jp_http_port}{jp_base_url}"
    login = await client.fetch(f"{root}login", raise_error=False)
    cookies = dict(c.split(";", 1)[0].split("=", 1)
                   for c in login.headers.get_list("Set-Cookie"))
    xsrf = cookies["_xsrf"]
    answer = await client.fetch(
        f"{root}login?next=/", method="POST", follow_redirects=False, raise_error=False,
        body=f"password={jp_serverapp.identity_provider.token}&_xsrf={xsrf}",
        headers={"Cookie": f"_xsrf={xsrf}"})
    cookies.update(c.split(";", 1)[0].split("=", 1)
                   for c in answer.headers.get_list("Set-Cookie"))
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"{root}jupyter-hpo/study?storage=jupyter_hpo.db&name=kept"
    read = await client.fetch(url, headers={"Cookie": cookie})  # logged in by the cookie
    assert json.loads(read.body)["name"] == "kept"
    with pytest.raises(HTTPClientError) as caught:  # a write without the XSRF token
        await client.fetch(url, method="DELETE", headers={"Cookie": cookie})
    assert caught.value.code == 403
    assert b"_xsrf" in caught.value.response.body
    assert SQLiteStorage(jp_root_dir / "jupyter_hpo.db").find_study("kept") is not None
    done = await client.fetch(url, method="DELETE",
                              headers={"Cookie": cookie, "X-XSRFToken": xsrf})
    assert json.loads(done.body)["deleted"] == "kept"
