"""A resume cut off after it leased the stored study and before its loop started: by Ctrl-C
in a real kernel (held in that window by the test's write lock on the SQLite file), by a
SIGKILL of the process, or by ``stop()`` of the built study. The stored study stays as
resumable as it was, with every trial, and resuming it again works."""

from __future__ import annotations

import _thread
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from jupyter_client.manager import start_new_kernel
from test_kernel import execute, wait_reply
from test_resume_kernel import cell_text

from jupyter_hpo import Real, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.options import StudyOptions
from jupyter_hpo.study import Study

pytestmark = pytest.mark.timeout(240)

SPACE = {"x": Real(0, 1)}

CELL = """%%hpo --name win --trials {trials} --seed 0 --quiet --resume
x = Real(0, 1)
report(epoch=1, loss=(x - 0.4) ** 2)
"""


def quadratic(config, report):
    report(epoch=1, loss=(config["x"] - 0.4) ** 2)


def stored_first_run(path) -> None:
    """Study 'win' with 3 completed trials, finished, in ``path``."""
    tune(quadratic, SPACE, metric="loss", mode="min", trials=3, seed=0, storage=str(path),
         name="win")


def snapshot(path) -> dict:
    """Everything stored of the file's one study: its row, its trials and their reports."""
    with sqlite3.connect(path) as conn:
        study = conn.execute("SELECT name, state, elapsed, error, stop_reason, settings, "
                             "owner, queue FROM studies").fetchall()
        trials = conn.execute("SELECT * FROM trials ORDER BY trial_id").fetchall()
        reports = conn.execute("SELECT * FROM reports ORDER BY trial_id, seq").fetchall()
    return {"study": study, "trials": trials, "reports": reports}


def has_open(pid: int, path) -> bool:
    """Whether process ``pid`` has the file ``path`` open (it has started setting the study
    up: nothing opens the storage before the magic builds the study)."""
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            if os.readlink(os.path.join(folder, fd)) == str(path):
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def wait_until(condition, what: str, timeout: float = 90) -> None:
    """Wait until ``condition()`` holds; the deadline only keeps a hang from lasting."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.02)


def test_ctrl_c_while_a_resume_is_set_up_keeps_the_study_as_it_was(study_storage):
    """The interrupt lands while ``--resume`` builds the study (it waits for the file's write
    lock, which the test holds, to lease the study); the study was then stored as "finished
    (interrupted before it started)". Now it is stored exactly as before, the cell says so,
    and the same cell resumes it."""
    stored_first_run(study_storage)
    before = snapshot(study_storage)
    assert before["study"][0][1] == "finished" and len(before["trials"]) == 3
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        pid = km.provisioner.process.pid
        assert not has_open(pid, study_storage)
        lock = sqlite3.connect(study_storage, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # the lease waits for it
            msg_id = kc.execute(CELL.format(trials=5))
            wait_until(lambda: has_open(pid, study_storage), "the kernel opened the storage")
            km.interrupt_kernel()
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        reply, messages = wait_reply(kc, msg_id, timeout=90)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        said = cell_text(messages)
        assert "jupyter_hpo: interrupted before win resumed: none of its trials ran, and it " \
               "is stored as it was (finished, 3 trials); run the cell again to resume it " \
               "(%%hpo --name win --resume)" in said, said
        assert snapshot(study_storage) == before
        _, listed = execute(kc, "%hpo list")
        assert "win: finished · 3/3 trials · 3 completed" in cell_text(listed)

        reply, _ = execute(kc, CELL.format(trials=5), timeout=120)
        assert reply["status"] == "ok", reply
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    after = snapshot(study_storage)
    assert after["study"][0][1] == "finished" and after["study"][0][6] is None
    assert after["trials"][:3] == before["trials"] and len(after["trials"]) == 5
    assert after["reports"][:3] == before["reports"] and len(after["reports"]) == 5


HOLD = textwrap.dedent("""
    import sys
    from jupyter_hpo import Real
    from jupyter_hpo.objective import FunctionObjective
    from jupyter_hpo.options import StudyOptions
    from jupyter_hpo.study import Study

    def quadratic(config, report):
        report(epoch=1, loss=(config["x"] - 0.4) ** 2)

    study = Study(FunctionObjective(quadratic, "loss"), {"x": Real(0, 1)}, StudyOptions(
        metric="loss", mode="min", trials=5, storage=sys.argv[1], name="win", resume=True))
    print("built", flush=True)  # leased, its loop not started
    sys.stdin.read()
""")


def test_a_process_killed_while_a_resume_is_set_up_leaves_it_interrupted_and_resumable(
        study_storage):
    """SIGKILL of a process that has leased the study for a resume and not started it: the
    study reads as interrupted, with how to resume it, every trial as it was, and resumes."""
    stored_first_run(study_storage)
    before = snapshot(study_storage)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(study_storage)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "built\n"
        assert snapshot(study_storage)["study"][0][1] == "running"  # leased
    finally:
        holder.kill()
        holder.wait(30)
    listed = subprocess.run([sys.executable, "-m", "jupyter_hpo", "list", "--storage",
                             str(study_storage)], capture_output=True, text=True, check=True)
    assert listed.stdout.startswith("win: interrupted (its kernel stopped while it ran; resume "
                                    "it with %%hpo --name win --resume"), listed.stdout
    assert "· 3/3 trials · 3 completed" in listed.stdout, listed.stdout
    killed = snapshot(study_storage)
    assert killed["trials"] == before["trials"] and killed["reports"] == before["reports"]
    unleased = [value for column, value in enumerate(killed["study"][0]) if column not in (1, 6)]
    assert unleased == [value for column, value in enumerate(before["study"][0])
                        if column not in (1, 6)]  # all but its state and owner, settings too

    study = tune(quadratic, SPACE, metric="loss", mode="min", trials=5, storage=str(
        study_storage), name="win", resume=True)
    assert study.state.value == "finished" and study.counts()["completed"] == 5
    after = snapshot(study_storage)
    assert after["study"][0][1] == "finished" and after["study"][0][6] is None
    assert after["trials"][:3] == before["trials"] and len(after["trials"]) == 5


def test_stopping_a_built_resume_before_it_starts_gives_it_back(study_storage):
    """``stop()`` of a resumed study that never started (what the magic does on an interrupt)
    writes back its state, settings and stop reason and frees its lease; it resumes again."""
    stored_first_run(study_storage)
    before = snapshot(study_storage)
    options = StudyOptions(metric="loss", mode="min", trials=5, storage=str(study_storage),
                           name="win", resume=True, seed=1)  # another seed: its settings
    study = Study(FunctionObjective(quadratic, "loss"), SPACE, options)
    assert snapshot(study_storage) != before  # leased and running
    study.stop()
    assert study.resumed_from is not None and study.resumed_from.state.value == "finished"
    assert snapshot(study_storage) == before
    again = Study(FunctionObjective(quadratic, "loss"), SPACE, options).run()
    assert len(again.trials) == 5 and snapshot(study_storage)["trials"][:3] == before["trials"]


def main_thread_in(*names: str) -> bool:
    """Whether the main thread is now in a call of each of the functions ``names``."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    calls = set()
    while frame is not None:
        calls.add(frame.f_code.co_name)
        frame = frame.f_back
    return set(names) <= calls


def test_ctrl_c_as_a_resumed_study_starts_gives_it_back(study_storage):
    """Ctrl-C in ``run()`` before the resumed study started (here while it waits for the
    file's write lock, which the test holds, to store the resume's settings): the study is
    stored as it was, not left leased and running, and resumes again."""
    stored_first_run(study_storage)
    before = snapshot(study_storage)
    options = StudyOptions(metric="loss", mode="min", trials=5, storage=str(study_storage),
                           name="win", resume=True, seed=1)
    study = Study(FunctionObjective(quadratic, "loss"), SPACE, options)
    lock = sqlite3.connect(study_storage, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")

    def interrupt_while_it_waits() -> None:
        try:
            wait_until(lambda: main_thread_in("_store_resumed_settings", "_begin_immediate"),
                       "the study waited to store its settings")
            _thread.interrupt_main()  # what Ctrl-C raises in the main thread
        finally:
            lock.execute("ROLLBACK")
            lock.close()

    helper = threading.Thread(target=interrupt_while_it_waits)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            study.run()
    finally:
        helper.join()
    assert study.start_time is None and study.stop_reason == "interrupted before it started"
    assert snapshot(study_storage) == before
    again = Study(FunctionObjective(quadratic, "loss"), SPACE, options).run()
    assert len(again.trials) == 5 and snapshot(study_storage)["trials"][:3] == before["trials"]
