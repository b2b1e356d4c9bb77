"""Trials that misbehave under the thread and process executors: each failure stays with its
trial, says what went wrong, and the study's other results are kept."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from test_process_executor import reports_forever

from jupyter_hpo import Categorical, Real, Study, TrialCompleted, TrialStatus, TrialStopped, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Space

pytestmark = pytest.mark.timeout(120)

EXECUTORS = ["thread", "process"]


def keeps_training_after_stop(config, report):
    """A careless loop whose bare ``except`` also catches the scheduler's ``TrialStopped``."""
    for epoch in range(1, 10):
        try:
            report(epoch=epoch, loss=config["q"] + 1 / epoch)
        except BaseException:  # noqa: BLE001, S110 - the point of the test
            pass
    return config["q"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_trial_that_swallows_its_stop_ends_as_stopped_and_is_told_why(executor):
    # grid order is the Categorical's, so with one worker every trial after the first meets
    # better results at rung 1 and is stopped there
    study = tune(keeps_training_after_stop, {"q": Categorical(0.0, 0.5, 0.6, 0.7)},
                 metric="loss", mode="min", searcher="grid", workers=1, executor=executor,
                 scheduler="hyperband",
                 scheduler_options={"max_t": 9, "grace_period": 1, "reduction_factor": 3})
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] + [TrialStatus.STOPPED] * 3
    for trial in study.trials[1:]:
        assert [r["epoch"] for r in trial.reports] == [1]  # nothing after the stop is kept
        assert study.trial_output(trial.trial_id).count("caught TrialStopped") == 1
    assert study.best_trial.trial_id == 0


def moves_away(config, trial):
    """Reads where it runs, then changes the working directory and the environment."""
    trial.set(cwd=os.getcwd(), env=os.environ.get("HPO_TEST_LEFTOVER"))
    os.chdir(config["to"])
    os.environ["HPO_TEST_LEFTOVER"] = "set by an earlier trial"
    return 1.0


def test_a_process_trial_starts_where_the_kernel_is_whatever_earlier_trials_changed(tmp_path):
    # one worker runs all three trials, one after another
    study = tune(moves_away, {"to": Categorical(str(tmp_path), "/", "/tmp")}, metric="loss",
                 mode="min", trials=3, workers=1, executor="process", searcher="grid")
    seen = [(t.user_attrs["cwd"], t.user_attrs["env"]) for t in study.trials]
    assert seen == [(os.getcwd(), None)] * 3


def leaves_a_removed_folder(config):
    """Works in a temporary folder and leaves it removed as its working directory."""
    import tempfile

    folder = tempfile.mkdtemp()
    os.chdir(folder)
    os.rmdir(folder)
    return float(config["i"])


def test_a_process_trial_after_one_that_removed_its_working_directory_runs():
    study = tune(leaves_a_removed_folder, {"i": Categorical(0, 1, 2)}, metric="loss",
                 mode="min", trials=3, workers=1, executor="process", searcher="grid")
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 3


def test_more_workers_than_trials_start_only_the_processes_the_trials_need():
    study = Study(FunctionObjective(reports_forever, "loss"), Space({"x": Real(0, 1)}),
                  metric="loss", mode="min", trials=2, workers=6, executor="process")
    study.start()
    try:
        while not all(t.reports for t in study.trials) or len(study.trials) < 2:
            time.sleep(0.02)
        assert len(study.executor.pids()) == 2
    finally:
        study.stop(force=True)


def allocates_too_much(config):
    if config["i"] == 1:
        bytearray(2 ** 62)  # more than any machine has: MemoryError, with no message
    if config["i"] == 2:
        raise ValueError  # no message either
    return float(config["i"])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_error_without_a_message_and_running_out_of_memory_say_what_happened(executor):
    study = tune(allocates_too_much, {"i": Categorical(0, 1, 2)}, metric="loss", mode="min",
                 searcher="grid", workers=1, executor=executor)
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] + [TrialStatus.FAILED] * 2
    assert study.trials[1].error.startswith("MemoryError: the trial ran out of memory: ")
    assert study.trials[2].error == "ValueError"


SCRIPT = '''
from jupyter_hpo import Categorical, tune

def train(config):
    raise ValueError(f"diverged at lr={config['lr']}")

try:
    tune(train, {"lr": Categorical(0.1)}, metric="loss", mode="min", trials=1,
         executor="process")
except Exception as error:
    print(error.study.trials[0].traceback)
'''


def test_a_scripts_function_failing_in_a_worker_shows_the_scripts_lines(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=100, check=True)
    assert f'File "{script}", line 5, in train' in done.stdout
    assert """raise ValueError(f"diverged at lr={config['lr']}")""" in done.stdout


def lingers_after_its_stop(config, report, trial):
    """Trial 1 is stopped by Hyperband at rung 1, catches it and lingers until released."""
    for epoch in range(1, 10):
        try:
            report(epoch=epoch, loss=config["q"] + 1 / epoch)
        except TrialCompleted:  # trial 0 reached max_t: it ends there
            raise
        except BaseException:  # caught, then raised again after the wait
            trial.set(caught=True)
            while not RELEASE.wait(0.01):
                pass
            raise
    return config["q"]


RELEASE = threading.Event()


def test_a_users_stop_after_hyperbands_keeps_the_trial_stopped():
    """Stop trial pressed while a trial Hyperband stopped has not ended yet: it ends
    ``stopped`` (the scheduler's decision, which its searcher learns from), not
    ``cancelled``."""
    RELEASE.clear()
    study = Study(FunctionObjective(lingers_after_its_stop, "loss"),
                  Space({"q": Categorical(0.0, 0.5)}), metric="loss", mode="min", trials=2,
                  workers=1, searcher="grid", scheduler="hyperband",
                  scheduler_options={"max_t": 9, "grace_period": 1, "reduction_factor": 3})
    study.start()
    try:
        while not (len(study.trials) == 2 and study.trials[1].user_attrs.get("caught")):
            time.sleep(0.01)
        assert study.stop_trial(1)
    finally:
        RELEASE.set()
    study.wait()
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED, TrialStatus.STOPPED]


def cleans_up_after_its_stop(config, report, trial):
    """Trial 1 is stopped by Hyperband at rung 1 and cleans up (``except TrialStopped``) until
    the file ``config["release"]`` exists: a wait that works across processes too."""
    for epoch in range(1, 10):
        try:
            report(epoch=epoch, loss=config["q"] + 1 / epoch)
        except TrialCompleted:  # trial 0 reached max_t: it ends there
            raise
        except TrialStopped:
            trial.set(cleaning_up=True)
            while not os.path.exists(config["release"]):
                time.sleep(0.01)
            raise
    return config["q"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_forced_stop_while_a_trial_hyperband_stopped_cleans_up_keeps_it_stopped(executor,
                                                                                tmp_path):
    """stop(force=True) ends running trials as cancelled, but one that Hyperband had stopped
    and whose code was still cleaning up was stopped already: it stays ``stopped``, with its
    reports up to the stop, and a resume does not run it again."""
    release = tmp_path / "release"
    study = Study(FunctionObjective(cleans_up_after_its_stop, "loss"),
                  Space({"q": Categorical(0.0, 0.5), "release": Categorical(str(release))}),
                  metric="loss", mode="min", trials=2, workers=1, searcher="grid",
                  executor=executor, scheduler="hyperband",
                  scheduler_options={"max_t": 9, "grace_period": 1, "reduction_factor": 3})
    study.start()
    try:
        while not (len(study.trials) == 2 and study.trials[1].user_attrs.get("cleaning_up")):
            time.sleep(0.01)
        study.stop(force=True)
    finally:
        release.touch()
    assert study.done
    first, stopped = study.trials
    assert first.status is TrialStatus.COMPLETED
    assert stopped.status is TrialStatus.STOPPED and stopped.error == ""
    assert [r["epoch"] for r in stopped.reports] == [1]
    assert not stopped.study_stopped and not stopped.runs_again
    assert list(study.trials_dataframe()["status"]) == ["completed", "stopped"]
