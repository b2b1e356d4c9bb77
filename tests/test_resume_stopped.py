"""Stop now, resume later: the trials that were running (or paused) when the whole study was
stopped come back on resume, from their checkpoint when they saved one, as interrupted ones
do after a crash; a trial the user stopped on its own stays cancelled."""

from __future__ import annotations

import sqlite3
import time

import jupyter_hpo as jh
from jupyter_hpo import Real, Study
from jupyter_hpo.listing import live_line
from jupyter_hpo.storage import SQLiteStorage

SPACE = {"x": Real(0, 1)}


def slow(config, report, trial, checkpoint, restore):
    """Nine epochs of 0.1 s; saves before each report; says where it resumed."""
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    trial.set(started_at=start)
    for epoch in range(start, 10):
        time.sleep(0.1)
        checkpoint({"epoch": epoch})
        report(epoch=epoch, loss=config["x"] + 1 / epoch)


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def stopped_study(path, stop_one=True):
    """Three trials run at once; trial 0 is stopped on its own, then the whole study."""
    study = Study(slow, SPACE, metric="loss", mode="min", trials=6, seed=0, workers=3,
                  storage=SQLiteStorage(path), name="s", scheduler="fifo")
    study.start()
    wait_for(lambda: len(study.trials) == 3 and all(len(t.reports) >= 3
                                                    for t in study.trials))
    if stop_one:
        study.stop_trial(0)
        wait_for(lambda: study.trials[0].status.value == "cancelled")
    study.stop()
    study.wait()
    return study


def test_trials_cancelled_by_stopping_the_study_come_back_on_resume(tmp_path):
    path = tmp_path / "s.db"
    first = stopped_study(path)
    # trial 0 stopped on its own; 1, 2 (and 3 if it took 0's worker in time) with the study
    n = len(first.trials)
    assert n in (3, 4) and [t.status.value for t in first.trials] == ["cancelled"] * n
    stored = {tid: bool(flag) for tid, flag in sqlite3.connect(path).execute(
        "SELECT trial_id, study_stopped FROM trials")}
    assert stored == {0: False, **{tid: True for tid in range(1, n)}}
    record = SQLiteStorage(path).load_study("s")
    assert record.spent == 1  # the others are run again, so they do not count
    assert first.spent == 1  # the live study and %hpo list count so too (they said n)
    assert live_line(first).startswith("s: finished (stopped by the user) · 1/6 trials")
    from jupyter_hpo.widgets.render import digest_of

    assert digest_of(record).spent == 1  # the dashboard's progress counts them so too
    assert all(t.checkpoint is not None for t in record.trials[1:3])  # kept for the resume

    resumed = jh.tune(slow, SPACE, metric="loss", storage=path, name="s", resume=True)
    trials = resumed.trials
    assert [t.status.value for t in trials[:n]] == ["cancelled"] * n
    back = [t.config for t in trials[1:n]]
    reruns = [t for t in trials[n:] if t.config in back]
    assert len(reruns) == n - 1 and all(t.status.value == "completed" for t in reruns)
    assert [t.config for t in reruns] == back  # before any new configuration
    assert all(t.user_attrs["started_at"] > 1 for t in reruns[:2])  # from their checkpoints
    assert all([r["epoch"] for r in t.reports] == list(range(1, 10)) for t in reruns)
    assert not any(t.config == trials[0].config for t in trials[n:])  # stopped on its own
    assert resumed.spent == 6 and len(trials) == 6 + n - 1

    # a later resume runs none of them once more
    again = jh.tune(slow, SPACE, metric="loss", storage=path, name="s", resume=True,
                    trials=7)
    assert len(again.trials) == 6 + n - 1 + 1


def test_a_time_limit_end_is_not_run_again(tmp_path):
    """The time budget was spent: what ran when it ended counts, as before."""
    path = tmp_path / "t.db"
    first = jh.tune(slow, SPACE, metric="loss", mode="min", trials=6, seed=0, workers=2,
                    time_limit=0.5, storage=path, name="t", scheduler="fifo")
    cancelled = [t for t in first.trials if t.status.value == "cancelled"]
    assert cancelled and not any(t.study_stopped for t in cancelled)
    resumed = jh.tune(slow, SPACE, metric="loss", storage=path, name="t", resume=True,
                      trials=len(first.trials) + 1, time_limit=60)
    assert not any(t.config == c.config for c in cancelled
                   for t in resumed.trials[len(first.trials):])


PROMOTION_STOP = """
import sys, time
from jupyter_hpo import Real, Study, tune

db, phase = sys.argv[1], sys.argv[2]

def fn(config, report, trial, checkpoint, restore):
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    trial.set(started_at=start)
    for epoch in range(start, 10):
        time.sleep(0.1)
        checkpoint(epoch=epoch, x=config["x"])
        report(epoch=epoch, loss=config["x"] + 1 / epoch)

if phase == "first":
    study = Study(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=9, seed=0,
                  workers=2, executor="process", scheduler="hyperband", searcher="random",
                  scheduler_options={"max_t": 9, "type": "promotion"}, storage=db,
                  name="promo")
    study.start()
    deadline = time.monotonic() + 60
    while not any(len(t.reports) >= 5 for t in study.trials):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    study.stop()
    study.wait()
else:  # the resume names none of the method's options
    tune(fn, {"x": Real(0, 1)}, metric="loss", storage=db, name="promo", workers=2,
         executor="process", resume=True)
"""


def test_a_stopped_promotion_study_resumes_each_trial_where_it_stood(tmp_path):
    """Stopped while trials wait at Hyperband's rungs and one runs on: as after a crash, the
    re-runs take their checkpoints and rungs over (paused ones wait at their rung, promoted
    only by their rank), and the resume keeps the stored promotion scheduler."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    db = str(tmp_path / "runs.db")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for phase in ("first", "resume"):
        done = subprocess.run([sys.executable, "-c", PROMOTION_STOP, db, phase], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        if phase == "first":
            first = Study.load("promo", db)
    cut = [t for t in first.trials if t.status == "cancelled"]
    assert cut and all(t.study_stopped for t in cut)
    assert all(t.status in ("cancelled", "stopped", "completed") for t in first.trials)
    study = Study.load("promo", db)
    assert study.settings["scheduler_options"] == {"max_t": 9, "type": "promotion"}
    reruns = study.trials[len(first.trials):][:len(cut)]
    assert [t.config for t in reruns] == [t.config for t in cut]
    for trial in reruns:
        epochs = [r["epoch"] for r in trial.reports]
        assert epochs == list(range(1, len(epochs) + 1))  # whole: none missing or repeated
        if trial.status == "stopped":
            assert epochs[-1] in (1, 3)  # never promoted: it ends at the rung it waited at
        else:
            assert trial.status == "completed" and epochs[-1] == 9
        if "started_at" in trial.user_attrs:  # it ran again: from its checkpoint
            assert trial.user_attrs["started_at"] > 1
    assert study.spent == 9
