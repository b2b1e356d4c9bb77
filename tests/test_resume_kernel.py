"""A kernel killed with SIGKILL mid-study; a new kernel resumes the study from storage."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from jupyter_client.manager import start_new_kernel
from test_kernel import check_output, execute, wait_reply

pytestmark = pytest.mark.timeout(240)

CELL = """%%hpo --name crash --trials 16 --workers 2 --seed 0 --quiet {extra}
import time
x = Real(0, 1)
for epoch in range(1, 4):
    time.sleep(0.15)
    report(epoch=epoch, loss=(x - 0.4) ** 2 + 1 / epoch)
"""


def query(path, sql):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def has_tables(path):
    """Whether the study's tables are there: the file appears before the kernel commits its
    schema, and a poll can fall between the two."""
    return path.exists() and bool(query(path, "SELECT COUNT(*) FROM sqlite_master WHERE "
                                               "type = 'table' AND name = 'trials'")[0][0])


def finished_trials(path):
    """Completed trials with their configs and reports, as stored."""
    return {tid: (config, query(path, f"SELECT seq, time, \"values\" FROM reports WHERE "
                                      f"trial_id = {tid} ORDER BY seq"))
            for tid, config in query(path, "SELECT trial_id, config FROM trials WHERE status = "
                                           "'completed'")}


def test_a_killed_kernel_loses_nothing_and_the_study_resumes(study_storage):
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        kc.execute(CELL.format(extra=""))  # blocks that kernel; we do not wait
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "the study never stored 4 finished trials"
            if has_tables(study_storage) and len(finished_trials(study_storage)) >= 4 and \
                    query(study_storage, "SELECT COUNT(*) FROM trials WHERE status = "
                                         "'running'")[0][0]:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # let the writer store the latest batch
        while not query(study_storage, "SELECT COUNT(*) FROM trials WHERE status = "
                                       "'running'")[0][0]:  # a loaded machine's gap between
            assert time.monotonic() < deadline   # one trial's end and the next one's start
            time.sleep(0.01)
        before = finished_trials(study_storage)
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        km.provisioner.process.wait(10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert query(study_storage, "SELECT state FROM studies")[0][0] == "running"
    # what the kill left stored as running is what the resume must find interrupted
    running = query(study_storage, "SELECT COUNT(*) FROM trials WHERE status = 'running'")[0][0]
    assert running >= 1

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, CELL.format(extra="--resume"), timeout=150)
        assert reply["status"] == "ok", reply
        state = check_output(*execute(kc, """import json
print("CHECK", json.dumps({"spent": _hpo.spent, "trials": len(_hpo.trials),
    "statuses": [t.status.value for t in _hpo.trials], "state": _hpo.state}))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    statuses = state["statuses"]
    interrupted = statuses.count("interrupted")
    assert interrupted == running  # the trials running at the kill
    assert state["spent"] == 16 and state["trials"] == 16 + interrupted
    assert state["state"] == "finished"
    assert all(s in ("completed", "interrupted") for s in statuses)
    after = finished_trials(study_storage)
    assert all(after[tid] == before[tid] for tid in before)  # nothing stored was lost
    assert len(after) == 16
    assert query(study_storage, "SELECT state, owner FROM studies")[0] == ("finished", None)
    # the interrupted trials ran again with the same configuration
    configs = dict(query(study_storage, "SELECT trial_id, config FROM trials"))
    rerun = {configs[tid] for tid, (s,) in enumerate(
        query(study_storage, "SELECT status FROM trials ORDER BY trial_id")) if s == "completed"}
    assert all(configs[tid] in rerun for tid, (s,) in enumerate(
        query(study_storage, "SELECT status FROM trials ORDER BY trial_id"))
        if s == "interrupted")


DEFINITIONS = """def square(v):
    return v * v

def cube(v):
    return v ** 3
"""

OBJECT_CELL = """%%hpo --name fns --trials {trials} --seed 1 --quiet {extra}
act = Categorical(square, cube, abs)
x = Real(0.5, 1.0)
report(loss=act(x))
"""

SHOW = """import json
print("CHECK", json.dumps({"trials": len(_hpo.trials),
    "acts": [getattr(t.config["act"], "__name__", repr(t.config["act"])) for t in _hpo.trials],
    "own": [t.config["act"] in (square, cube, abs) for t in _hpo.trials],
    "best": act.__name__, "applied_is_own": act in (square, cube, abs)}))
"""


def run_in_new_kernel(*cells):
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        replies = [execute(kc, cell, timeout=120) for cell in cells]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return replies


def test_a_study_of_the_notebooks_functions_resumes_in_a_new_kernel(study_storage):
    """A function's repr holds its memory address, which changes with every kernel: the
    resumed study takes the new kernel's functions of the same names for the stored trials'
    (it was refused: "act was Categorical('<function square at 0x7f...>', ...) and is now
    ...")."""
    first = run_in_new_kernel(DEFINITIONS, OBJECT_CELL.format(trials=6, extra=""), SHOW)
    assert first[1][0]["status"] == "ok", first[1]
    before = check_output(*first[2])
    stored = [json.loads(c)["act"]["__repr__"] for (c,) in query(
        study_storage, "SELECT config FROM trials ORDER BY trial_id")
        if isinstance(json.loads(c)["act"], dict)]
    assert any(" at 0x" in text for text in stored)  # the addresses the new kernel lacks

    second = run_in_new_kernel(DEFINITIONS, OBJECT_CELL.format(trials=9, extra="--resume"),
                               SHOW)
    assert second[1][0]["status"] == "ok", second[1]
    after = check_output(*second[2])
    assert after["trials"] == 9 and after["acts"][:6] == before["acts"]
    assert all(after["own"]) and after["applied_is_own"]  # objects, never their repr's text


CHECKPOINT_CELL = """%%hpo --scheduler fifo --executor process --workers 2 --trials 4 --seed 0 --name rs --quiet {extra}
import contextlib, json, os, signal, sqlite3, time
x = Real(0, 1)
state = restore(); start = 1 if state is None else state['epoch'] + 1
trial.set(started_at=start)

def stored_epoch_3():
    try:
        with contextlib.closing(sqlite3.connect(os.environ['JUPYTER_HPO_STORAGE'])) as conn:
            row = conn.execute('SELECT checkpoint FROM trials WHERE trial_id = ?',
                               (trial.trial_id,)).fetchone()
            reports = conn.execute('SELECT COUNT(*) FROM reports WHERE trial_id = ?',
                                   (trial.trial_id,)).fetchone()[0]
    except sqlite3.OperationalError:  # locked by the kernel's write
        return False
    return reports >= 3 and bool(row and row[0]) and json.loads(row[0])['reports'] >= 2

for epoch in range(start, 11):
    time.sleep(0.2)
    if epoch == 4 and not os.path.exists({marker!r}):
        deadline = time.monotonic() + 60  # the kernel stores the reports and checkpoint of epoch 3
        while not stored_epoch_3() and time.monotonic() < deadline:
            time.sleep(0.05)
    checkpoint(epoch=epoch, x=x)
    if epoch == 4 and not os.path.exists({marker!r}):
        try:
            open({marker!r}, 'x').close()
        except FileExistsError:  # the other worker was first
            pass
        else:  # the kernel dies after this checkpoint, before its report
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(3)
    report(epoch=epoch, loss=x + 1 / epoch)
"""


def test_a_resumed_process_trial_restores_the_checkpoint_of_its_stored_reports(study_storage,
                                                                                tmp_path):
    """The kernel dies between a worker's checkpoint and its report (and the other worker may
    save once more before it notices): the stored reports end an epoch before the newest file.
    The resumed trials continue from the checkpoint stored with their reports, so every curve
    is whole (it restored the newer file: the resumed trial reported 1, 2, 3, 5, ..., 10)."""
    marker = str(tmp_path / "killed")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        kc.execute(CHECKPOINT_CELL.format(extra="", marker=marker))
        km.provisioner.process.wait(90)  # a worker kills it
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert os.path.exists(marker)
    assert query(study_storage, "SELECT state FROM studies")[0][0] == "running"

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, CHECKPOINT_CELL.format(extra="--resume", marker=marker),
                           timeout=150)
        assert reply["status"] == "ok", reply
        trials = check_output(*execute(kc, """import json, os
print("CHECK", json.dumps([{"status": t.status.value, "config": t.config,
    "epochs": [r["epoch"] for r in t.reports], "start": t.user_attrs.get("started_at"),
    "file": t.checkpoint and t.checkpoint.file} for t in _hpo.trials]
    + [sorted(os.listdir(_hpo.checkpoint_dir))]))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    files = trials.pop()
    interrupted = [t for t in trials if t["status"] == "interrupted"]
    completed = [t for t in trials if t["status"] == "completed"]
    assert interrupted and len(completed) == 4 and len(trials) == 4 + len(interrupted)
    assert all(t["epochs"] == list(range(1, 11)) for t in completed), completed
    reruns = [t for t in completed if t["start"] > 1]
    assert reruns and all(any(t["config"] == i["config"] for i in interrupted) for t in reruns)
    assert files == sorted(t["file"] for t in trials if t["file"])  # no file left behind


STOPPED_CELL = """%%hpo --name stopped --quiet {options}
import time
x = Real(0, 1)
epochs = 12
state = restore(); start = 1 if state is None else state['epoch'] + 1
trial.set(started_at=start)
for epoch in range(start, epochs + 1):
    time.sleep(0.15)
    checkpoint(epoch=epoch)
    report(epoch=epoch, loss=(x - 0.4) ** 2 + 1 / epoch)
"""

STOPPED_FIRST = ("--trials 6 --workers 3 --seed 0 --scheduler hyperband --type promotion "
                 "--grace-period 4 --searcher random --background")


def wait_for_trials_reporting_twice(path, count: int) -> None:
    """Until ``count`` trials of the study in ``path`` have stored a second report."""
    deadline = time.monotonic() + 60
    while not (has_tables(path) and query(
            path, "SELECT COUNT(DISTINCT trial_id) FROM reports WHERE seq >= 1")[0][0] >= count):
        assert time.monotonic() < deadline, f"{count} trials never reported twice"
        time.sleep(0.05)


def test_a_stopped_study_resumes_its_cut_off_trials_in_a_new_kernel(study_storage):
    """Stop trial 0 on its own (%hpo stop --trial), then the whole study (%hpo stop): the new
    kernel's resume (which repeats none of the method's options) continues the trials the stop
    cut off, from their checkpoints, with the stored scheduler and searcher, and leaves trial
    0 cancelled (they all ended cancelled, counted as spent and never ran again)."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, STOPPED_CELL.format(options=STOPPED_FIRST))
        assert reply["status"] == "ok", reply
        wait_for_trials_reporting_twice(study_storage, 3)
        for line in ("%hpo stop stopped --trial 0", "%hpo stop stopped", "%hpo wait stopped"):
            reply, _ = execute(kc, line, timeout=60)
            assert reply["status"] == "ok", (line, reply)
        before = dict(query(study_storage, "SELECT trial_id, status FROM trials"))
        settings = query(study_storage, "SELECT settings FROM studies")[0][0]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert set(before.values()) == {"cancelled"}
    flags = dict(query(study_storage, "SELECT trial_id, study_stopped FROM trials"))
    assert flags[0] == 0 and all(flags[tid] == 1 for tid in before if tid != 0)

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, messages = execute(kc, STOPPED_CELL.format(options="--resume"), timeout=150)
        assert reply["status"] == "ok", reply
        out = "".join(m["content"].get("text", "") for m in messages
                      if m["msg_type"] == "stream")
        state = check_output(*execute(kc, """import json
print("CHECK", json.dumps([{"status": t.status.value, "config": t.config,
    "start": t.user_attrs.get("started_at"), "epochs": [r["epoch"] for r in t.reports]}
    for t in _hpo.trials] + [_hpo.spent, _hpo.settings]))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    after = state.pop()
    spent = state.pop()
    assert "another method" not in out and "continues as it ran" in out
    for key in ("scheduler", "searcher", "scheduler_options", "seed"):
        assert after[key] == json.loads(settings)[key], key
    first, later = state[:len(before)], state[len(before):]
    assert [t["status"] for t in first] == ["cancelled"] * len(before)
    back = [t["config"] for t in first[1:]]
    reruns = [t for t in later if t["config"] in back]
    assert len(reruns) == len(back)  # every trial the study's stop cut off came back
    assert not any(t["config"] == first[0]["config"] for t in later)  # trial 0 did not
    # from its checkpoint (a re-run that waits at its rung without a worker never starts)
    assert any(t["start"] is not None and t["start"] > 1 for t in reruns)
    assert spent == 6


def test_a_study_stopped_with_ctrl_c_resumes_its_cut_off_trials(study_storage):
    """■ / Ctrl-C stops the study; the same cell with --resume (and no method options) runs the
    trials the interrupt cut off again, in the same kernel, from their checkpoints."""
    first = STOPPED_FIRST.replace(" --background", "")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        msg_id = kc.execute(STOPPED_CELL.format(options=first))
        wait_for_trials_reporting_twice(study_storage, 3)
        km.interrupt_kernel()
        reply, _ = wait_reply(kc, msg_id, timeout=60)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        before = dict(query(study_storage, "SELECT trial_id, study_stopped FROM trials "
                                           "WHERE status = 'cancelled'"))
        assert before and all(before.values())  # every one cut off by the interrupt
        reply, _ = execute(kc, STOPPED_CELL.format(options="--resume"), timeout=150)
        assert reply["status"] == "ok", reply
        state = check_output(*execute(kc, """import json
print("CHECK", json.dumps([{"id": t.trial_id, "status": t.status.value, "config": t.config,
    "start": t.user_attrs.get("started_at")} for t in _hpo.trials] + [_hpo.spent]))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    spent = state.pop()
    configs = {t["id"]: t["config"] for t in state}
    reruns = [t for t in state if t["id"] > max(before) and t["config"] in
              [configs[tid] for tid in before]]
    assert len(reruns) == len(before)
    # from a checkpoint (a re-run that waits at its rung without a worker never starts)
    assert any(t["start"] is not None and t["start"] > 1 for t in reruns)
    assert spent == 6


SLOW_CELL = """%%hpo --name {name} --trials {trials} --workers 2 --seed 0 --quiet {extra}
import time
x = Real(0, 1)
for epoch in range(1, 4):
    time.sleep(0.3)
    report(epoch=epoch, loss=(x - 0.4) ** 2 + 1 / epoch)
"""


def count_stored(path, name, status):
    if not has_tables(path):
        return 0
    return query(path, f"SELECT COUNT(*) FROM trials JOIN studies USING (study_id) WHERE "
                       f"name = '{name}' AND status = '{status}'")[0][0]


def wait_until_mid_study(path, *names):
    """Until each study ``names`` has stored 2 completed trials and a running one."""
    deadline = time.monotonic() + 90
    while not all(count_stored(path, n, "completed") >= 2 and count_stored(path, n, "running")
                  for n in names):
        assert time.monotonic() < deadline, f"{names} never got mid-study"
        time.sleep(0.05)


def cell_text(messages):
    """What a cell showed: its streams and the text/plain of its displays."""
    return "".join(m["content"].get("text", "") if m["msg_type"] == "stream" else
                   m["content"].get("data", {}).get("text/plain", "")
                   for m in messages if m["msg_type"] in ("stream", "display_data"))


def terminal_list(path):
    """The terminal's list, its resume hints as the notebook's (the terminal's name the cell
    line and tune() too, since a terminal takes no %%hpo flags)."""
    listed = subprocess.run([sys.executable, "-m", "jupyter_hpo", "list", "--storage",
                             str(path)], check=False, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    hint = r" on its cell's first line, or tune\(\.\.\., name='[^']*', resume=True\) with the same storage"
    assert listed.stdout.count("--resume") == len(re.findall(hint, listed.stdout))
    return re.sub(hint, "", listed.stdout)


def interrupted_line(name):
    return (f"{name}: interrupted (its kernel stopped while it ran; resume it with %%hpo "
            f"--name {name} --resume) · ")


def test_a_kernel_restarted_mid_study_reads_interrupted_and_resumes(study_storage):
    """JupyterLab's restart (``restart_kernel``: an interrupt, then a shutdown request) in the
    middle of a study, one running in the cell and one with --background: the interrupt
    stopped the cell's study as Ctrl-C does, so it read "finished (interrupted)" with its
    running trials cancelled. Both now read as interrupted, with how to resume them, in
    ``%hpo list``, ``%hpo show`` and the terminal's list, their running trials counted
    interrupted (not spent); the resume runs those trials again."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, SLOW_CELL.format(name="bg", trials=8, extra="--background"))
        assert reply["status"] == "ok", reply
        kc.execute(SLOW_CELL.format(name="fg", trials=8, extra=""))  # blocks the kernel
        wait_until_mid_study(study_storage, "fg", "bg")
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        execute(kc, "%load_ext jupyter_hpo")
        _, listed = execute(kc, "%hpo list")
        _, shown = execute(kc, "%hpo show fg")
        terminal = terminal_list(study_storage)
        reply, _ = execute(kc, SLOW_CELL.format(name="fg", trials=8, extra="--resume"),
                           timeout=150)
        assert reply["status"] == "ok", reply
        resumed = check_output(*execute(kc, """import json
print("CHECK", json.dumps({"spent": _hpo.spent, "state": _hpo.state,
    "trials": [[t.status.value, t.config["x"]] for t in _hpo.trials]}))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    lines = {line.split(":")[0]: line for line in cell_text(listed).splitlines()}
    for name in ("fg", "bg"):
        completed = count_stored(study_storage, name, "completed") if name == "bg" else None
        line = lines[name]
        assert line.startswith(interrupted_line(name)), line
        assert " interrupted · " in line and "cancelled" not in line, line
        if completed is not None:  # spent: the completed trials, not the interrupted ones
            assert f"· {completed}/8 trials · {completed} completed · " in line, line
        assert line.removesuffix(f" [{study_storage}]") in terminal.splitlines()
    assert "fg: interrupted (its kernel stopped while it ran; resume it with %%hpo --name fg " \
           "--resume)" in cell_text(shown)
    statuses = [status for status, _ in resumed["trials"]]
    assert resumed["spent"] == 8 and resumed["state"] == "finished"
    assert set(statuses) == {"completed", "interrupted"}
    again = {x for status, x in resumed["trials"] if status == "completed"}
    assert all(x in again for status, x in resumed["trials"] if status == "interrupted")


def test_listings_of_a_file_shared_by_a_killed_kernel_and_a_running_one(study_storage):
    """A file holds the study of a kernel killed mid-study while another kernel runs a study
    in it: ``%hpo list``, ``%hpo show`` and the terminal's list in the running kernel show the
    killed one as interrupted with every trial it stored, and the running one as running."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        kc.execute(SLOW_CELL.format(name="killed", trials=8, extra=""))
        wait_until_mid_study(study_storage, "killed")
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        km.provisioner.process.wait(10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    completed = count_stored(study_storage, "killed", "completed")
    stored = query(study_storage, "SELECT COUNT(*) FROM trials")[0][0]

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, SLOW_CELL.format(name="live", trials=40, extra="--background"))
        assert reply["status"] == "ok", reply
        wait_until_mid_study(study_storage, "live")
        _, listed = execute(kc, "%hpo list")
        _, shown = execute(kc, "%hpo show killed")
        terminal = terminal_list(study_storage)
        for line in ("%hpo stop live", "%hpo wait live"):
            reply, _ = execute(kc, line, timeout=60)
            assert reply["status"] == "ok", (line, reply)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    lines = {line.split(":")[0]: line for line in cell_text(listed).splitlines()}
    assert lines["killed"] == (
        f"{interrupted_line('killed')}{completed}/8 trials · {completed} completed · "
        f"{stored - completed} interrupted · best loss={lines['killed'].rsplit('=')[1]}")
    assert lines["live"].startswith("live: running · ") and "(this kernel)" in lines["live"]
    assert "killed: interrupted (its kernel stopped" in cell_text(shown)
    by_name = {line.split(":")[0]: line for line in terminal.splitlines()}
    assert by_name["killed"] == lines["killed"].removesuffix(f" [{study_storage}]")
    assert by_name["live"].startswith("live: running · ")
