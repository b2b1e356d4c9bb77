"""Trial checkpoints: ``checkpoint(obj)`` / ``restore()`` in trials, bounded files next to the
storage, paused process trials that free their worker, resumes that continue from the last
checkpoint, and restoring the best trial's object from a stored study in a fresh process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import jupyter_hpo.trial
from jupyter_hpo import Real, Study, checkpoint, restore, tune
from jupyter_hpo.checkpoints import KEEP_BEST
from jupyter_hpo.errors import HPOError, StudyFailedError
from jupyter_hpo.storage import SQLiteStorage

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"x": Real(0, 1)}


def counting(config, report, trial, checkpoint, restore):
    """Nine epochs; saves before each report; says where it resumed."""
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    if state is not None:
        trial.set(resumed_at=start)
    trial.set(pid=os.getpid())
    for epoch in range(start, 10):
        checkpoint({"epoch": epoch, "x": config["x"]})
        report(epoch=epoch, loss=config["x"] / epoch)


def files(study):
    folder = study.checkpoint_dir
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def fresh_python(code: str) -> dict:
    """Run ``code`` in a new interpreter; its last line of output is JSON."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- saving, keeping, restoring ---------------------------------------------------------

def test_finished_trials_keep_only_the_best_checkpoints(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")
    study = tune(counting, SPACE, metric="loss", mode="min", trials=9, seed=0,
                 storage=storage, name="fifo")
    best = sorted(study.trials, key=lambda t: t.best("loss", "min"))[:KEEP_BEST]
    assert files(study) == sorted(t.checkpoint.file for t in best)
    assert all(t.checkpoint.file.startswith(f"trial-{t.trial_id}-") for t in best)
    assert all(t.checkpoint.file.endswith(".pkl") for t in best)
    assert {t.trial_id for t in study.trials if t.checkpoint} == {t.trial_id for t in best}
    assert study.checkpoint_dir == f"{storage.path}.checkpoints/{study.study_id}"
    assert study.best_trial.restore() == {"epoch": 9, "x": study.best_config["x"]}
    assert study.checkpoint_use() == (KEEP_BEST, sum(os.path.getsize(
        os.path.join(study.checkpoint_dir, f)) for f in files(study)))
    stored = storage.load_study("fifo")  # the stored records say which files are left
    assert [t.trial_id for t in stored.trials if t.checkpoint] == \
        sorted(t.trial_id for t in best)
    with pytest.raises(HPOError, match=r"trial \d+ has no checkpoint: it never called "
                                       r"checkpoint\(obj\), or its checkpoint was removed"):
        next(t for t in study.trials if t.checkpoint is None).restore()


def test_keep_checkpoints_keeps_every_one(tmp_path):
    study = tune(counting, SPACE, metric="loss", mode="min", trials=7, seed=0,
                 storage=SQLiteStorage(tmp_path / "runs.db"), keep_checkpoints=True)
    assert len(files(study)) == 7 and all(t.checkpoint for t in study.trials)


def test_stopped_trials_keep_their_checkpoints_only_among_the_best():
    study = tune(counting, SPACE, metric="loss", mode="min", trials=12, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 9})
    ranked = sorted((t for t in study.trials if t.status != "failed"),
                    key=lambda t: t.best("loss", "min"))
    assert files(study) == sorted(t.checkpoint.file for t in ranked[:KEEP_BEST])
    stopped = [t for t in ranked[KEEP_BEST:] if t.status == "stopped"]
    assert stopped and all(t.checkpoint is None for t in stopped)
    assert study.best_trial.restore()["epoch"] == 9  # without a storage file: a temp folder


def crossing(config, report, checkpoint):
    """Nine epochs whose ranking flips after the first: the lowest x is best at epoch 1 and
    worst later. Saves before each report."""
    for epoch in range(1, 10):
        checkpoint({"epoch": epoch, "x": config["x"]})
        report(epoch=epoch, loss=config["x"] if epoch == 1 else 2 - config["x"])


def test_the_best_trial_keeps_its_checkpoint_when_the_budget_ends_it_paused(tmp_path):
    # nine trials of the promotion variant whose curves cross: the best value is the lowest
    # x's at epoch 1, and that trial is paused at rung 3 (the worst value there, of three or
    # more) when the budget runs out, so the study ends it as stopped
    study = tune(crossing, SPACE, metric="loss", mode="min", trials=9, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 9, "type": "promotion"},
                 storage=SQLiteStorage(tmp_path / "runs.db"), name="paused")
    best = study.best_trial
    assert best.status == "stopped" and best.checkpoint is not None
    assert best.restore() == {"epoch": max(r["epoch"] for r in best.reports),
                              "x": study.best_config["x"]}
    assert Study.load("paused", tmp_path / "runs.db").best_trial.restore()["x"] == \
        study.best_config["x"]


def test_named_objects_are_saved_as_a_dict_and_a_missing_one_is_a_clear_error():
    def named(config, checkpoint, trial):
        if trial.trial_id == 1:
            checkpoint()
        checkpoint(epoch=1, weights=[config["x"]])
        return config["x"]

    study = tune(named, SPACE, metric="loss", mode="min", trials=3, seed=0)
    assert study.trials[0].restore() == {"epoch": 1, "weights": [study.trials[0].config["x"]]}
    assert study.trials[1].error == (
        "TypeError: checkpoint() needs what to save, e.g. checkpoint(model.state_dict()) or "
        "checkpoint(model=model.state_dict(), optimizer=opt.state_dict())")

    def both(config, checkpoint):
        checkpoint({"a": 1}, optimizer=2)

    with pytest.raises(HPOError, match=r"checkpoint\(\) takes one object or named ones, not "
                                       r"both: name the first one too, e.g. "
                                       r"checkpoint\(state=\.\.\., optimizer=\.\.\.\)"):
        tune(both, SPACE, metric="loss", mode="min", trials=3, seed=0)


def saves_a_lock(config, report, checkpoint):
    report(epoch=1, loss=config["x"])
    checkpoint(epoch=1, guard=threading.Lock())


def test_an_object_that_cannot_be_saved_is_named_and_stops_the_study(tmp_path):
    """The message named the checkpoint's random file name, so no two trials failed alike:
    the study ran every trial to the same failure instead of stopping after the first 3."""
    with pytest.raises(StudyFailedError) as info:
        tune(saves_a_lock, SPACE, metric="loss", mode="min", trials=8, seed=0,
             storage=str(tmp_path / "runs.db"), name="lock")
    message = str(info.value).rstrip()
    assert message.startswith("the first 3 trials all failed with the same error (but for the "
                              "numbers in it), so the study stopped.")
    assert "HPOError: checkpoint(): 'guard' is <unlocked _thread.lock object at 0x" in message
    assert message.endswith("(lock), which cannot be saved (TypeError: cannot pickle "
                            "'_thread.lock' object): save what pickles (a model's state_dict(), "
                            "numbers, arrays) and make the rest again after restore()")
    # the pickler's error is in the message: its traceback, through jupyter_hpo's and
    # cloudpickle's frames, was shown too ("The above exception was the direct cause ...")
    assert "The above exception" not in message
    assert "jupyter_hpo/checkpoints.py" not in message
    stored = Study.load("lock", tmp_path / "runs.db")
    assert "jupyter_hpo/checkpoints.py" not in stored.trials[0].traceback
    assert [len(t.reports) for t in stored.trials] == [1, 1, 1]  # the reports are kept
    assert not os.listdir(stored.checkpoint_dir)  # no half-written file


DISK_FULL = """
import json, os, resource, signal, sys
from jupyter_hpo import Real, Study, tune

def fn(config, report, checkpoint):
    report(epoch=1, loss=config["x"])
    checkpoint(epoch=1, weights=os.urandom(4 << 20))  # more than the process may write

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, resource.RLIM_INFINITY))
try:
    tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=8, seed=0,
         storage=sys.argv[1], name="full")
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
study = Study.load("full", sys.argv[1])
print(json.dumps({"error": error, "reports": [len(t.reports) for t in study.trials],
                  "files": os.listdir(study.checkpoint_dir)}))
"""


def test_a_disk_that_is_full_fails_the_trials_with_what_to_do(tmp_path):
    """A write that fails (here a file size limit, as a full disk fails it) fails the trial
    with the folder and what to do, the same in every trial, so the study stops after the
    first 3; the reports are kept and no partial file is left."""
    db = str(tmp_path / "runs.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", DISK_FULL, db], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["error"].startswith("StudyFailedError: the first 3 trials all failed with the "
                                   "same error, so the study stopped.")
    assert out["error"].rstrip().endswith(
        f"HPOError: checkpoint(): could not write to the checkpoint folder {db}.checkpoints/1 "
        f"(OSError: File too large): free space there or make it writable (it is next to the "
        f"study's storage file; another storage file moves it)")
    assert out["reports"] == [1, 1, 1] and out["files"] == []


def test_checkpoint_and_restore_outside_a_study_let_the_cell_run_from_scratch(capsys, monkeypatch):
    """They raised RuntimeError, so a cell that checkpoints could not run without %%hpo."""
    monkeypatch.setattr(jupyter_hpo.trial, "_told", set())  # nothing said before
    assert restore() is None
    checkpoint({"a": 1})
    checkpoint(model={"a": 2})
    assert capsys.readouterr().err == (
        "jupyter_hpo: checkpoint() ran outside a study, so nothing is saved: the cell runs as "
        "it would without jupyter_hpo (to tune it, run it with %%hpo; this is said once per "
        "cell)\n")
    with pytest.raises(TypeError, match=r"checkpoint\(\) needs what to save"):
        checkpoint()


def test_torch_objects_are_saved_with_torch_and_restored_in_a_fresh_process(tmp_path):
    torch = pytest.importorskip("torch")
    db = str(tmp_path / "runs.db")

    def train(config, report, checkpoint):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 1))
        with torch.no_grad():
            model[2].bias.fill_(config["x"])
        checkpoint({"model": model, "note": "whole module"})
        with torch.no_grad():
            report(loss=float(model(torch.ones(1, 3))[0, 0]) ** 2)

    study = tune(train, SPACE, metric="loss", mode="min", trials=4, seed=0, storage=db,
                 name="torch")
    best = study.best_trial
    assert best.checkpoint.kind == "torch" and best.checkpoint.file.endswith(".pt")
    with torch.no_grad():
        expected = float(best.restore()["model"](torch.ones(1, 3))[0, 0])
    out = fresh_python(f"""
import json, torch
from jupyter_hpo import Study
state = Study.load("torch", {db!r}).best_trial.restore(map_location="cpu")
with torch.no_grad():
    out = float(state["model"](torch.ones(1, 3))[0, 0])
print(json.dumps({{"out": out,
                  "note": state["note"], "type": type(state["model"]).__name__}}))
""")
    assert out == {"out": pytest.approx(expected), "note": "whole module", "type": "Sequential"}


def test_a_checkpoint_whose_module_or_class_is_gone_says_what_to_do_and_is_kept(tmp_path):
    old, gone, renamed = (tmp_path / d for d in ("old", "gone", "renamed"))
    for folder in (old, gone, renamed):
        folder.mkdir()
    (old / "net_def.py").write_text("class Net:\n    size = 3\n")
    (renamed / "net_def.py").write_text("class Network:\n    size = 3\n")
    db = str(tmp_path / "runs.db")
    fresh_python(f"""
import sys; sys.path.insert(0, {str(old)!r})
import json, net_def
from jupyter_hpo import Real, tune
def train(config, report, checkpoint):
    checkpoint({{"net": net_def.Net()}})
    report(loss=config["x"])
tune(train, {{"x": Real(0, 1)}}, metric="loss", mode="min", trials=2, seed=0, storage={db!r},
     name="mod")
print(json.dumps({{}}))
""")
    out = fresh_python(f"""
import json, sys
from jupyter_hpo import Study
from jupyter_hpo.errors import HPOError
best = Study.load("mod", {db!r}).best_trial
messages = []
for folder in ({str(gone)!r}, {str(renamed)!r}, {str(old)!r}):
    sys.path.insert(0, folder)
    sys.modules.pop("net_def", None)
    try:
        messages.append(type(best.restore()["net"]).size)
    except HPOError as exc:
        messages.append(str(exc))
    sys.path.remove(folder)
print(json.dumps({{"messages": messages, "file": best.checkpoint.path}}))
""")
    missing, renamed_class, restored = out["messages"]
    assert "its object needs the module 'net_def', which cannot be imported here" in missing
    assert "add the folder of net_def.py to sys.path, then call restore() again" in missing
    assert "the class (or function) Net of the module net_def, which is no longer defined" \
        in renamed_class and "define Net in net_def again" in renamed_class
    assert out["file"] in missing and "the file is kept" in renamed_class
    assert restored == 3


def test_a_damaged_checkpoint_file_is_named_with_what_to_do(tmp_path):
    study = tune(counting, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 storage=str(tmp_path / "runs.db"))
    path = study.best_trial.checkpoint.path
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(HPOError, match=r"cannot restore the checkpoint .*: the file is damaged "
                                       r"\(truncated or overwritten: .*restore the file from a "
                                       r"backup"):
        study.best_trial.restore()


# --- the process executor: paused trials free their worker ---------------------------------

def hyperband_promotion(objective, **options):
    return tune(objective, SPACE, metric="loss", mode="min", trials=10, seed=0, workers=2,
                executor="process", scheduler="hyperband",
                scheduler_options={"max_t": 9, "type": "promotion"}, **options)


def without_checkpoints(config, report, trial):
    trial.set(pid=os.getpid())
    for epoch in range(1, 10):
        report(epoch=epoch, loss=config["x"] / epoch)


def test_paused_process_trials_free_their_worker_and_resume_from_checkpoints(tmp_path):
    db = str(tmp_path / "runs.db")
    study = hyperband_promotion(counting, storage=db, name="promo")
    assert study.counts()["failed"] == 0 and study.counts()["completed"] >= 1
    resumed = [t for t in study.trials if "resumed_at" in t.user_attrs]
    assert resumed  # promoted trials ran again from their checkpoints
    for trial in study.trials:
        epochs = [r["epoch"] for r in trial.reports]
        assert epochs == list(range(1, len(epochs) + 1))  # no epoch lost or repeated
    for trial in resumed:
        assert trial.user_attrs["resumed_at"] >= 2
    # two workers did everything: paused trials did not hold on to theirs
    assert len({t.user_attrs["pid"] for t in study.trials}) <= 2
    holding = hyperband_promotion(without_checkpoints)
    assert len({t.user_attrs["pid"] for t in holding.trials}) > 2  # they hold their workers
    best = study.best_trial.trial_id
    out = fresh_python(f"""
import json
from jupyter_hpo import Study
study = Study.load("promo", {db!r})
print(json.dumps({{"best": study.best_trial.trial_id, "state": study.best_trial.restore()}}))
""")
    assert out == {"best": best, "state": {"epoch": 9, "x": study.best_config["x"]}}


# --- %%hpo: --keep-checkpoints and %hpo show ----------------------------------------------

CELL = """x = Real(0, 1)
state = restore()
for epoch in range((state or 0) + 1, 4):
    checkpoint(epoch)
    report(epoch=epoch, loss=x / epoch)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def test_magic_checkpoints_and_show_disk_use(ip, tmp_path, capsys):
    db = tmp_path / "runs.db"
    ip.run_cell_magic("hpo", f"--trials 7 --seed 0 --quiet --storage {db} --name m "
                             f"--keep-checkpoints", CELL)
    study = ip.user_ns["_hpo"]
    assert len(files(study)) == 7
    capsys.readouterr()
    ip.run_line_magic("hpo", f"show m --storage {db}")
    line = next(x for x in capsys.readouterr().out.splitlines() if "checkpoints of m" in x)
    assert line.startswith("jupyter_hpo: checkpoints of m: 7 files, ")
    assert f"in {study.checkpoint_dir} (kept: every trial's)" in line
    ip.run_line_magic("hpo", f"delete m --storage {db}")
    assert not os.path.exists(study.checkpoint_dir)


PAUSED_BEST_CELL = """x = Real(0, 1)
model = f"the model of trial {trial.trial_id}"
state = restore()
for epoch in range(1 if state is None else state + 1, 10):
    checkpoint(epoch)
    report(epoch=epoch, loss=x if epoch == 1 else 2 - x)
"""


def test_a_best_trial_whose_code_ended_at_its_pause_says_its_variables_are_gone(ip, capsys):
    """The curves of ``crossing`` in worker processes: the best trial (the lowest x, best at
    epoch 1) is paused at rung 3 after a checkpoint, so its code ends to free its worker, and
    the budget ends it there. Its variables ended with its code, which the applied line says,
    with its checkpoint."""
    ip.user_ns.pop("model", None)
    ip.run_cell_magic("hpo", "--executor process --workers 1 --trials 9 --seed 0 --quiet "
                             "--scheduler hyperband --type promotion --max-t 9",
                      PAUSED_BEST_CELL)
    study = ip.user_ns["_hpo"]
    best = study.best_trial
    assert best.status == "stopped" and best.config["x"] == min(t.config["x"]
                                                                for t in study.trials)
    assert (f"its hyperparameters (its code ended when it paused at a rung, to free its "
            f"worker, and never ran again, so its other variables are gone; "
            f"_hpo.trials[{best.trial_id}].restore() returns its checkpoint): x=") \
        in capsys.readouterr().out
    assert "model" not in ip.user_ns and ip.user_ns["x"] == best.config["x"]


# --- --resume after a kernel crash ------------------------------------------------------

CRASH_CELL = """%%hpo --name crash --trials 6 --workers 2 --seed 0 --quiet {extra}
import time
x = Real(0, 1)
state = restore()
start = 1 if state is None else state + 1
if state is not None:
    trial.set(resumed_at=start)
for epoch in range(start, 8):
    time.sleep(0.25)
    checkpoint(epoch)
    report(epoch=epoch, loss=x / epoch)
"""


@pytest.mark.timeout(240)
def test_resume_after_a_crash_continues_from_the_last_checkpoint(study_storage):
    import signal
    import sqlite3

    from jupyter_client.manager import start_new_kernel
    from test_kernel import check_output, execute

    def running_with_checkpoint():
        try:
            with sqlite3.connect(study_storage) as conn:
                rows = conn.execute("SELECT checkpoint FROM trials WHERE status = 'running' "
                                    "AND checkpoint IS NOT NULL").fetchall()
        except sqlite3.OperationalError:  # the kernel is still making the file
            return []
        return [json.loads(r[0])["reports"] for r in rows]

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        kc.execute(CRASH_CELL.format(extra=""))
        # every running trial that stored a checkpoint stored one of epoch 3 or later: each
        # continued trial must resume at epoch 3 or later, and the other worker's trial may
        # lag behind the first one seen with its epoch-3 checkpoint
        deadline = time.monotonic() + 90
        while not (study_storage.exists() and (saved := running_with_checkpoint())
                   and all(n >= 2 for n in saved)):
            assert time.monotonic() < deadline, "no running trial stored a checkpoint"
            time.sleep(0.05)
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        km.provisioner.process.wait(10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, CRASH_CELL.format(extra="--resume"), timeout=150)
        assert reply["status"] == "ok", reply
        state = check_output(*execute(kc, """import json
print("CHECK", json.dumps([{"id": t.trial_id, "status": t.status.value, "config": t.config,
    "epochs": [r["epoch"] for r in t.reports], "attrs": dict(t.user_attrs),
    "checkpoint": None if t.checkpoint is None else t.checkpoint.file} for t in _hpo.trials]))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    interrupted = [t for t in state if t["status"] == "interrupted"]
    continued = [t for t in state if "resumed_at" in t["attrs"]]
    assert interrupted and continued
    for trial in continued:
        origin = next(t for t in interrupted if t["config"] == trial["config"])
        assert origin["checkpoint"] is None  # it moved to the trial that continued it
        assert trial["attrs"]["resumed_at"] >= 3 and trial["status"] == "completed"
        # its curve is whole: the reports up to the checkpoint, then the new ones
        assert trial["epochs"] == list(range(1, 8))
        assert trial["epochs"][:trial["attrs"]["resumed_at"] - 1] == \
            origin["epochs"][:trial["attrs"]["resumed_at"] - 1]


def test_stopping_a_study_ends_released_trials(tmp_path):
    import threading

    from jupyter_hpo.objective import FunctionObjective
    from jupyter_hpo.study import Study

    def slow(config, report, trial, checkpoint, restore):
        state = restore()
        for epoch in range(1 if state is None else state + 1, 10):
            time.sleep(0.05)
            checkpoint(epoch)
            report(epoch=epoch, loss=config["x"] / epoch)

    study = Study(FunctionObjective(slow, "loss"), SPACE, metric="loss", mode="min",
                  trials=40, seed=0, workers=2, executor="process", scheduler="hyperband",
                  scheduler_options={"max_t": 9, "type": "promotion"})
    paused, released = threading.Event(), threading.Event()

    def watch(event):
        if event.kind == "trial_paused":
            paused.set()
        elif event.kind == "trial_started" and paused.is_set():
            released.set()  # a paused trial's code ended: its worker runs another trial

    study.subscribe(watch)
    study.start()
    assert released.wait(90), "no paused trial released its worker"
    study.stop("enough")
    assert study.wait(60)
    statuses = {t.status.value for t in study.trials}
    assert statuses <= {"completed", "stopped", "cancelled"} and "cancelled" in statuses
    assert study.state == "finished" and study.stop_reason == "enough"


# --- a crash between a checkpoint and the report that follows it ---------------------------

# The scripts below kill their study once it has stored a trial's reports and checkpoint so
# far (and the other trials paused): they wait for those rows (a fixed sleep left a loaded
# machine's writer, which stores every 0.2 s, or the other worker's trial on its way to its
# rung, too little time, and the resume then started from an older checkpoint).
WAIT_STORED = """
import contextlib, json, sqlite3, time

def wait_stored(db, trial_id, reports, checkpoint_reports, paused=0):
    deadline = time.monotonic() + 60
    while True:
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
                stored = conn.execute("SELECT COUNT(*) FROM reports WHERE trial_id = ?",
                                      (trial_id,)).fetchone()[0]
                row = conn.execute("SELECT checkpoint FROM trials WHERE trial_id = ?",
                                   (trial_id,)).fetchone()
                waiting = conn.execute("SELECT COUNT(*) FROM trials WHERE status = 'paused'"
                                       ).fetchone()[0]
        except sqlite3.OperationalError:  # the file is being made, or locked by a write
            stored, row, waiting = 0, None, 0
        if stored >= reports and row and row[0] and waiting >= paused and \\
                json.loads(row[0])["reports"] >= checkpoint_reports:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"trial {trial_id}'s report {reports} was never stored")
        time.sleep(0.05)
"""

CRASHING = WAIT_STORED + """
import os, signal, sys, time
from jupyter_hpo import Real, tune

db, kill_at, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def fn(config, report, trial, checkpoint, restore):
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    trial.set(**({} if state is None else {"resumed_at": start}))
    for epoch in range(start, 11):
        time.sleep(0.02)
        checkpoint(epoch=epoch, x=config["x"])
        if epoch == kill_at and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # after the checkpoint, before its report
        report(epoch=epoch, loss=config["x"] + 1 / epoch)
        if epoch == kill_at - 1 and not os.path.exists(marker):
            wait_stored(db, trial.trial_id, epoch, epoch - 1)  # this report and checkpoint

tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=2, seed=0, workers=1,
     storage=db, name="rs", resume=os.path.exists(marker))
"""


@pytest.mark.parametrize("kill_at", [4, 10])
def test_a_crash_after_a_checkpoint_resumes_from_the_stored_one(tmp_path, kill_at):
    """The process dies after ``checkpoint()`` and before the ``report()`` of the same epoch:
    the resumed trial continues from the checkpoint whose report was stored, so its curve has
    every epoch once (it restored the newer file: epoch 4 was missing, and a kill at the
    last epoch left a trial that restored epoch 10, ran nothing and failed)."""
    db, marker = str(tmp_path / "runs.db"), str(tmp_path / "killed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run([sys.executable, "-c", CRASHING, db, str(kill_at), marker], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == -9, first.stderr
    second = subprocess.run([sys.executable, "-c", CRASHING, db, str(kill_at), marker],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    study = Study.load("rs", db)
    interrupted = [t for t in study.trials if t.status == "interrupted"]
    assert len(interrupted) == 1 and interrupted[0].checkpoint is None  # taken over
    rerun = next(t for t in study.trials[1:] if t.config == interrupted[0].config)
    assert rerun.status == "completed", rerun.error
    assert rerun.user_attrs["resumed_at"] == kill_at  # from the stored checkpoint
    assert [r["epoch"] for r in rerun.reports] == list(range(1, 11))
    assert rerun.restore() == {"epoch": 10, "x": rerun.config["x"]}
    kept = {t.checkpoint.file for t in study.trials if t.checkpoint}
    assert sorted(os.listdir(study.checkpoint_dir)) == sorted(kept)  # nothing else left


PROMOTION_CRASH = WAIT_STORED + """
import os, signal, sys, time
from jupyter_hpo import Real, tune

db, marker = sys.argv[1], sys.argv[2]

def fn(config, report, trial, checkpoint, restore):
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    trial.set(started_at=start)
    for epoch in range(start, 10):
        time.sleep(0.1)
        checkpoint(epoch=epoch, x=config["x"])
        if epoch == 5 and not os.path.exists(marker):
            # the study has stored the others paused at their rungs, and this one's epoch 4
            wait_stored(db, trial.trial_id, 4, 3, paused=8)
            open(marker, "w").close()
            os.kill(os.getppid(), signal.SIGKILL)  # the study's process dies
            time.sleep(3)
        report(epoch=epoch, loss=config["x"] + 1 / epoch)

tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=9, seed=0, workers=2,
     executor="process", scheduler="hyperband", searcher="random",
     scheduler_options={"max_t": 9, "type": "promotion"}, storage=db, name="promo",
     resume=os.path.exists(marker))
"""


def test_a_resumed_promotion_study_keeps_each_trial_where_it_stood(tmp_path):
    """Killed while six trials wait at rung 1, two at rung 3 and one runs on to 9: the re-runs
    take their rungs over, so the paused ones wait there (promoted only by their rank) and the
    running one goes on (each re-run ran one more epoch at once and stopped at epoch 2, not a
    rung, and the running one was paused again at epochs 5 and 6, rungs it had passed)."""
    db, marker = str(tmp_path / "runs.db"), str(tmp_path / "killed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run([sys.executable, "-c", PROMOTION_CRASH, db, marker], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == -9, first.stderr
    second = subprocess.run([sys.executable, "-c", PROMOTION_CRASH, db, marker], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    study = Study.load("promo", db)
    interrupted = [t for t in study.trials if t.status == "interrupted"]
    reruns = study.trials[9:]
    assert len(interrupted) == 9 and len(reruns) == 9  # all nine were paused or running
    for trial in reruns:
        epochs = [r["epoch"] for r in trial.reports]
        assert epochs == list(range(1, len(epochs) + 1))  # whole: none missing or repeated
        if trial.status == "stopped":
            assert epochs[-1] in (1, 3)  # never promoted: it ends at the rung it waited at
        else:
            assert trial.status == "completed" and epochs[-1] == 9
        if "started_at" in trial.user_attrs:  # it ran again: from its checkpoint
            assert trial.user_attrs["started_at"] in (2, 4, 5)
    went_on = [t for t in reruns if t.user_attrs.get("started_at") == 5]
    assert len(went_on) == 1 and went_on[0].status == "completed"  # the one that ran on


# --- resuming after the checkpoints or the re-runs changed ---------------------------------

KILLED_ONCE = WAIT_STORED + """
import json, os, signal, sys, time
from jupyter_hpo import Real, tune

db, marker, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])

def fn(config, report, trial, checkpoint, restore):
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    trial.set(started_at=start)
    for epoch in range(start, 10):
        time.sleep(0.02)
        checkpoint(epoch=epoch)
        report(epoch=epoch, loss=config["x"] + 1 / epoch)
        if epoch == 5 and not os.path.exists(marker):
            wait_stored(db, trial.trial_id, 5, 4)  # this report and checkpoint
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

study = tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=trials, seed=0,
             workers=1, scheduler="fifo", storage=db, name="rs", resume=os.path.exists(marker))
print(json.dumps([{"status": t.status.value, "x": t.config["x"], "error": t.error,
                   "epochs": [r["epoch"] for r in t.reports],
                   "started_at": t.user_attrs.get("started_at")} for t in study.trials]))
"""


def run_killed_once(db: str, marker: str, trials: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", KILLED_ONCE, db, marker, str(trials)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_trial_whose_checkpoint_was_deleted_runs_again_from_its_start(tmp_path):
    """The checkpoint folder was deleted (or the storage file moved without it) after a
    crash: the interrupted trial's re-run failed with "the checkpoint ... is gone" (counted
    against the budget, its configuration never evaluated); it runs from its start."""
    db, marker = str(tmp_path / "runs.db"), str(tmp_path / "killed")
    assert run_killed_once(db, marker, 3).returncode == -9
    assert os.listdir(f"{db}.checkpoints/1")  # trial 0's checkpoint of epoch 5
    shutil.rmtree(f"{db}.checkpoints")
    second = run_killed_once(db, marker, 3)
    assert second.returncode == 0, second.stderr
    assert (f"jupyter_hpo: the checkpoint of interrupted trial 0 is gone from "
            f"{db}.checkpoints/1 (deleted, or the storage file was moved without its "
            f".checkpoints folder): it runs again from the start") in second.stdout
    trials = json.loads(second.stdout.strip().splitlines()[-1])
    assert [t["status"] for t in trials] == ["interrupted"] + ["completed"] * 3
    rerun = trials[1]
    assert rerun["x"] == trials[0]["x"] and rerun["started_at"] == 1
    assert rerun["epochs"] == list(range(1, 10))


def test_a_later_resume_does_not_run_an_interrupted_trial_once_more(tmp_path):
    """Every resume ran each trial ever interrupted again, also those an earlier resume had
    run again already, spending the budget on configurations already evaluated."""
    db, marker = str(tmp_path / "runs.db"), str(tmp_path / "killed")
    assert run_killed_once(db, marker, 3).returncode == -9
    second = run_killed_once(db, marker, 3)
    assert second.returncode == 0, second.stderr
    third = run_killed_once(db, marker, 5)
    assert third.returncode == 0, third.stderr
    trials = json.loads(third.stdout.strip().splitlines()[-1])
    assert [t["status"] for t in trials] == ["interrupted"] + ["completed"] * 5
    assert [t["x"] for t in trials].count(trials[0]["x"]) == 2  # trial 0 and its one re-run
    assert trials[1]["x"] == trials[0]["x"] and trials[1]["started_at"] == 6  # its checkpoint
