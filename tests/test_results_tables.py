"""The results tables and plots of studies whose metric or reported values are named like
the tables' own columns (``--metric error``, ``report(time=...)``)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import jupyter_hpo as jh
from jupyter_hpo import Real
from jupyter_hpo.plots import KINDS
from jupyter_hpo.study import Study

SPACE = {"x": Real(0.0, 1.0), "y": Real(0.0, 1.0)}


def errors(config):
    """A classification error that falls with the epochs; each report also says how long
    the epoch took and under which id the user's own logger filed it."""
    for epoch in range(1, 4):
        jh.report(epoch=epoch, error=config["x"] / epoch + config["y"], time=10.0 * epoch,
                  trial_id=99)


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "s.db"
    live = jh.tune(errors, SPACE, metric="error", trials=6, seed=1, storage=path, name="err")
    return live, Study.load("err", path)


def test_a_metric_named_error_keeps_the_error_column_and_its_own(studies):
    for study in studies:
        frame = study.trials_dataframe()
        assert list(frame.columns) == ["trial_id", "status", "config.x", "config.y",
                                       "report.error", "resource", "start", "duration", "error"]
        best = {t.trial_id: t.best("error", "min") for t in study.trials}
        assert dict(zip(frame["trial_id"], frame["report.error"])) == pytest.approx(best)
        assert set(frame["error"]) == {""}  # no trial failed
        assert frame["report.error"].min() == pytest.approx(study.best_value)
        assert list(study.trials_dataframe(attrs=("value", "error")).columns) == \
            ["report.error", "error"]


def test_reported_time_and_trial_id_keep_the_tables_own_columns(studies):
    for study in studies:
        curves = study.training_curves()
        assert list(curves.columns) == ["trial_id", "epoch", "error", "report.time",
                                        "report.trial_id", "time"]
        assert sorted(set(curves["trial_id"])) == [t.trial_id for t in study.trials]
        assert list(curves["report.time"]) == [10.0, 20.0, 30.0] * len(study.trials)
        assert set(curves["report.trial_id"]) == {99}
        # the table's time: when each report came, in seconds since the study started
        assert list(curves["time"]) == pytest.approx(
            [at for trial in study.trials for at in trial.times])


def test_every_plot_draws_a_metric_named_like_a_column(studies):
    for study in studies:
        for kind in KINDS:
            assert study.plot(kind) is not None
        ax = study.plot("curves", metric="time").axes[0]
        assert {tuple(line.get_ydata()) for line in ax.get_lines()} == {(10.0, 20.0, 30.0)}
        with pytest.raises(ValueError, match="its trials reported error, time, trial_id"):
            study.plot("curves", metric="tme")


KILLED = """
import os, sys, threading
sys.path.insert(0, {root!r})
import jupyter_hpo as jh
from jupyter_hpo import Real
from jupyter_hpo.storage import SQLiteStorage

reported = threading.Event()

def train(config):
    for epoch in range(1, 1000):
        jh.report(epoch=epoch, loss=config["x"] / epoch)
        if epoch == 2:
            reported.set()
        threading.Event().wait(0.01)

study = jh.Study(train, {{"x": Real(0, 1)}}, metric="loss", trials=4, workers=2, seed=0,
                 storage={path!r}, name="killed")
study.start()
reported.wait(60)
storage = SQLiteStorage({path!r})
while not any(len(t.reports) >= 2 for t in storage.load_study("killed").trials):
    threading.Event().wait(0.05)
os._exit(0)  # the kernel dies while both trials run
"""


def test_a_study_whose_kernel_died_reads_interrupted_not_running(tmp_path):
    """``Study.load`` after the kernel died: its table says ``interrupted`` with a fixed
    duration and the reason, and the curves draw those trials as interrupted."""
    path = tmp_path / "s.db"
    root = str(Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", KILLED.format(root=root, path=str(path))],
                   check=True, timeout=120)
    study = Study.load("killed", path)
    assert study.state == "interrupted"
    frame = study.trials_dataframe()
    assert set(frame["status"]) == {"interrupted"} and len(frame) == 2
    assert set(frame["error"]) == {"its kernel stopped while it ran"}
    assert list(Study.load("killed", path).trials_dataframe()["duration"]) == \
        list(frame["duration"])  # ended: it does not keep growing
    labels = {t.get_text() for t in study.plot("curves").axes[0].get_legend().get_texts()}
    assert "interrupted" in labels and "running" not in labels


def test_start_and_end_are_the_local_wall_clock_time(monkeypatch):
    """A notebook five and a half hours east of UTC reads its trials' start and end in its
    own time, as Optuna's ``datetime_start`` (they were UTC, without saying so)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        study = jh.tune(lambda c: c["x"], SPACE, metric="loss", trials=2, seed=0)
        frame = study.trials_dataframe(attrs=("start", "end"))
        for trial, start, end in zip(study.trials, frame["start"], frame["end"]):
            assert start.to_pydatetime() == datetime.fromtimestamp(trial.start_time)
            assert end.to_pydatetime() == datetime.fromtimestamp(trial.end_time)
            assert start - pd.Timestamp(trial.start_time, unit="s") > pd.Timedelta(hours=5)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_resource_column_is_numeric_also_where_no_trial_reported_one():
    """One value per trial (no report per epoch): the column was of Python ``None``s, an
    ``object`` column that pandas' arithmetic and plots refuse; it is NaN now, as missing
    numbers are in the other columns."""
    study = jh.tune(lambda config: config["x"], SPACE, metric="loss", mode="min", trials=3)
    frame = study.trials_dataframe()
    assert frame["resource"].dtype == float and frame["resource"].isna().all()
    assert jh.tune(errors, SPACE, metric="error", trials=2).trials_dataframe()[
        "resource"].tolist() == [3, 3]


def test_a_none_choice_stays_none_and_only_an_inactive_one_is_nan(tmp_path):
    """``Categorical("l2", None)`` (scikit-learn's ``penalty=None``, ``max_depth=None``): pandas
    made the ``None`` of a column of strings or numbers NaN, which reads as an inactive
    hyperparameter; it stays ``None``, live and loaded, and NaN marks inactive ones only."""
    space = {"penalty": jh.Categorical("l2", None), "depth": jh.Categorical(None, 3),
             "c": Real(0.0, 1.0, when={"penalty": "l2"})}
    path = tmp_path / "s.db"
    live = jh.tune(lambda config: config.get("c", 0.5), space, metric="loss",
                   searcher="grid", searcher_options={"points": 2}, storage=path, name="none")
    assert len(live.trials) == 6  # (l2 with 2 values of c, or None) x 2 depths
    for study in (live, Study.load("none", path)):
        frame = study.trials_dataframe()
        for name in ("penalty", "depth", "c"):
            expected = [t.config.get(name, "inactive") for t in study.trials]
            got = ["inactive" if isinstance(v, float) and math.isnan(v) else v
                   for v in frame[f"config.{name}"]]
            assert got == expected, name
        assert None in set(frame["config.penalty"]) and None in set(frame["config.depth"])
