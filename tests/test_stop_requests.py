"""Stopping a study from outside its process, through storage (what the JupyterLab panel and
``%hpo stop NAME`` in another kernel do)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jupyter_hpo import Real
from jupyter_hpo.errors import HPOError
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.options import StudyOptions
from jupyter_hpo.records import StudyState, TrialStatus
from jupyter_hpo.storage import SQLiteStorage
from jupyter_hpo.study import Study

SPACE = {"x": Real(0, 1)}


def wait_for(condition, what: str, timeout: float = 90) -> None:
    """Wait until ``condition()`` holds; the deadline only keeps a hang from lasting."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.02)


def endless(config, report):
    for epoch in range(1, 100_000):
        time.sleep(0.01)
        report(epoch=epoch, loss=config["x"])


def test_another_process_stops_a_running_study_through_storage(tmp_path):
    """The study picks the request up by itself, while no trial reports (trials held between
    their first and second report), and the trials stop at their next report, recorded."""
    path = tmp_path / "s.db"
    gate = threading.Event()

    def held(config, report):
        report(epoch=1, loss=config["x"])
        gate.wait(120)
        for epoch in range(2, 100_000):
            time.sleep(0.01)
            report(epoch=epoch, loss=config["x"])

    study = Study(FunctionObjective(held, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", trials=10, workers=2, storage=path,
                               name="long"))
    stopped = threading.Event()
    study.subscribe(lambda e: stopped.set() if e.kind == "study_finished" else None)
    study.start()
    try:
        wait_for(lambda: [len(t.reports) for t in study.trials] == [1, 1],
                 "the two trials did not report their first epoch")
        subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from jupyter_hpo.storage import SQLiteStorage
            SQLiteStorage({str(path)!r}).request_stop("long", by="alice in JupyterLab")
            """)], check=True)
        wait_for(lambda: study.state is StudyState.STOPPING,
                 "the study did not pick up the stop request stored by another process")
        assert study.stop_reason == "stopped from alice in JupyterLab"
        assert [len(t.reports) for t in study.trials] == [1, 1]  # no report carried it
    finally:
        gate.set()
    assert stopped.wait(90), "the stopped study did not end once its trials reported again"
    assert {t.status for t in study.trials} == {TrialStatus.CANCELLED}
    assert [len(t.reports) for t in study.trials] == [2, 2]  # stopped at the next report
    study.wait(10)
    stored = SQLiteStorage(path).load_study("long")
    assert stored.state is StudyState.FINISHED
    assert stored.stop_reason == "stopped from alice in JupyterLab"
    assert [len(t.reports) for t in stored.trials] == [2, 2]


def run_elsewhere(path) -> subprocess.Popen[str]:
    """Another process whose tune() runs the endless study ``elsewhere`` in ``path`` (it
    prints ``DONE <stop reason>`` when stopped), once the study is stored running."""
    runner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        import jupyter_hpo as jh
        def endless(config, report):
            for epoch in range(1, 100_000):
                time.sleep(0.01)
                report(epoch=epoch, loss=config["x"])
        study = jh.tune(endless, {{"x": jh.Real(0, 1)}}, metric="loss", trials=5,
                        storage={str(path)!r}, name="elsewhere")
        print("DONE", study.stop_reason, flush=True)
        """)], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (path.exists() and (found := SQLiteStorage(path).find_study("elsewhere"))
               and found.state is StudyState.RUNNING):
        if runner.poll() is not None or time.monotonic() > deadline:
            runner.kill()
            pytest.fail(f"the study elsewhere did not start (exit code {runner.poll()})")
        time.sleep(0.05)
    return runner


def test_percent_hpo_stop_asks_a_study_of_another_process_to_stop(ipython_shell, tmp_path,
                                                                 capsys):
    path = tmp_path / "s.db"
    runner = run_elsewhere(path)
    try:
        ip = ipython_shell
        ip.run_line_magic("load_ext", "jupyter_hpo")
        ip.run_line_magic("hpo", f"stop elsewhere --storage {path}")
        assert "asked elsewhere to stop" in capsys.readouterr().out
        out, _ = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 0
    assert "DONE stopped from %hpo stop in the kernel with process id" in out
    assert SQLiteStorage(path).load_study("elsewhere").state is StudyState.FINISHED


def test_percent_hpo_stop_of_a_finished_study_says_so(ipython_shell, capsys):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell_magic("hpo", "--quiet --trials 2 --name done-already",
                      "x = Real(0, 1)\nreport(loss=x)\n")
    capsys.readouterr()
    ip.run_line_magic("hpo", "stop done-already")
    out = capsys.readouterr().out
    assert "has already ended (finished); nothing to stop" in out
    assert "is stopping" not in out


def test_percent_hpo_apply_trial_applies_that_trial(ipython_shell, capsys):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell_magic("hpo", "--quiet --trials 4 --seed 3 --name pick",
                      "x = Real(0, 1)\nreport(loss=x)\n")
    study = ip.user_ns["_hpo"]
    other = next(t for t in study.trials if t.trial_id != study.best_trial.trial_id)
    ip.run_line_magic("hpo", f"apply pick --trial {other.trial_id}")
    assert ip.user_ns["x"] == other.config["x"] != study.best_config["x"]
    assert f"applied trial {other.trial_id}" in capsys.readouterr().out
    ip.run_line_magic("hpo", "apply pick")
    assert ip.user_ns["x"] == study.best_config["x"]


def test_study_load_stop_asks_the_process_that_runs_it(tmp_path):
    """Study.load("long", path).stop() from another process said the study "is read-only:
    continue it with resume=True", advice for running it, not for stopping it."""
    path = tmp_path / "s.db"
    runner = run_elsewhere(path)
    try:
        loaded = Study.load("elsewhere", path)
        with pytest.raises(HPOError, match=r"^study 'elsewhere' was loaded from storage: one "
                                           r"trial is stopped only by the process that runs "
                                           r"the study .*; from here, stop\(\) stops the whole"):
            loaded.stop_trial(0)  # said "read-only: continue it with resume=True"
        with pytest.raises(HPOError, match=r"^stop\(force=True\) ends the trials of study "
                                           r"'elsewhere' in the process that runs it"):
            loaded.stop(force=True)
        loaded.stop()
        out, _ = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 0
    assert out.startswith("DONE stopped from Study.stop() in another process (")
    with pytest.raises(HPOError, match=r"cannot stop study 'elsewhere': it is not running \(it "
                                       r"is finished\), so there is nothing to stop"):
        Study.load("elsewhere", path).stop()


def test_waiting_on_a_loaded_study_that_another_process_runs_says_it_cannot_join(tmp_path):
    """Study.load("elsewhere", path).wait() returned True at once while the study ran on in
    its process, so the tables read after it were a running study's; it says where to wait,
    and once the study has ended a new load waits no more."""
    path = tmp_path / "s.db"
    runner = run_elsewhere(path)
    try:
        loaded = Study.load("elsewhere", path)
        with pytest.raises(HPOError, match=r"^study 'elsewhere' was loaded from storage while "
                                           r"another process ran it, so wait\(\) here cannot "
                                           r"join it .*: wait in that process \(%hpo wait "
                                           r"elsewhere in its kernel\), or load it again once "
                                           r"it has ended"):
            loaded.wait()
        assert loaded.state is StudyState.RUNNING
        loaded.stop()
        out, _ = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert runner.returncode == 0 and out.startswith("DONE")
    assert Study.load("elsewhere", path).wait() is True


def test_a_stop_asked_while_a_resumed_study_is_set_up_stops_it_once_it_runs(tmp_path):
    """Between `--resume` leasing the study and its first write (the dashboard, the executor's
    start) a listing shows it running and `python -m jupyter_hpo stop` is taken, not refused
    as "not running (it is finished)"; the study stops once it runs and says who stopped it."""
    path = tmp_path / "s.db"
    options = {"metric": "loss", "mode": "min", "storage": path, "name": "again"}
    Study(FunctionObjective(lambda config: config["x"], "loss"), SPACE,
          StudyOptions(trials=1, **options)).run()
    study = Study(FunctionObjective(endless, "loss"), SPACE,
                  StudyOptions(trials=5, resume=True, **options))  # set up, not started
    listed = subprocess.run([sys.executable, "-m", "jupyter_hpo", "list", "--storage",
                             str(path)], capture_output=True, text=True, check=True)
    assert "running" in listed.stdout and "finished" not in listed.stdout, listed.stdout
    asked = subprocess.run([sys.executable, "-m", "jupyter_hpo", "stop", "again", "--storage",
                            str(path)], capture_output=True, text=True, check=False)
    assert asked.returncode == 0 and "asked again to stop" in asked.stdout, asked
    study.run()
    assert study.stop_reason.startswith("stopped from a terminal (")
    stored = SQLiteStorage(path).load_study("again")
    assert stored.state is StudyState.FINISHED and stored.stop_reason == study.stop_reason
    assert len(stored.trials) >= 1 and stored.trials[0].status is TrialStatus.COMPLETED
