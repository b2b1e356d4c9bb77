"""Study.plot: every kind draws the elements it promises, from live and stored studies."""

from __future__ import annotations

import time

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure

import jupyter_hpo as jh
from jupyter_hpo import Categorical, Int, Real
from jupyter_hpo.errors import StudyFailedError
from jupyter_hpo.plots import KINDS, importances
from jupyter_hpo.study import Study

SPACE = {"x": Real(1e-3, 1.0, log=True), "noise": Real(0.0, 1.0), "units": Int(1, 30),
         "act": Categorical("relu", "tanh")}


def train(config):
    time.sleep(config["units"] / 3000)  # the duration depends on units only
    for epoch in range(1, 10):
        if config["noise"] > 0.93 and epoch == 2:
            raise RuntimeError("diverged")
        jh.report(epoch=epoch, loss=abs(np.log10(config["x"]) + 1.5) + 1.0 / epoch)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return jh.tune(train, SPACE, metric="loss", trials=40, seed=2, scheduler="hyperband",
                   scheduler_options={"max_t": 9, "grace_period": 1},
                   storage=tmp_path_factory.mktemp("plots") / "s.db", name="plots")


def statuses(study):
    return {t.status.value for t in study.trials}


def test_the_study_has_every_outcome_to_draw(study):
    assert {"completed", "stopped", "failed"} <= statuses(study)


def test_history_shows_each_valued_trial_and_a_monotone_incumbent(study):
    fig = study.plot("history")
    ax = fig.axes[0]
    valued = [t for t in study.trials if t.status.value != "failed"
              and t.best("loss", "min") is not None]
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert points == len(valued)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "best so far"]
    assert np.all(np.diff(line.get_ydata()) <= 0)
    assert line.get_ydata()[-1] == pytest.approx(study.best_value)
    assert "lower is better" in ax.get_ylabel()


def test_curves_one_line_per_trial_coloured_by_outcome(study):
    ax = study.plot("curves").axes[0]
    reporting = [t for t in study.trials if any("loss" in r for r in t.reports)]
    assert len(ax.get_lines()) == len(reporting)
    labels = {text.get_text() for text in ax.get_legend().get_texts()}
    assert {"stopped", "failed"} <= labels
    assert f"best (trial {study.best_trial.trial_id})" in labels
    assert ax.get_xlabel() == "epoch"


def test_parallel_coordinates_have_an_axis_per_hyperparameter_and_the_metric(study):
    fig = study.plot("parallel")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(SPACE) + ["loss"]
    valued = [t for t in study.trials if t.status.value != "failed"
              and t.best("loss", "min") is not None]
    polylines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(SPACE) + 1]
    assert len(polylines) == len(valued)
    texts = {t.get_text() for t in ax.texts}
    assert {"relu", "tanh"} <= texts  # categorical ticks
    assert len(fig.axes) == 2  # the colour bar


def test_contour_interpolates_the_metric_over_two_parameters(study):
    fig = study.plot("contour", params=("x", "units"))
    ax = fig.axes[0]
    assert any(isinstance(c, QuadContourSet) for c in ax.collections) or \
        any(isinstance(a, QuadContourSet) for a in ax.get_children())
    assert ax.get_xlabel() == "x (log scale)" and ax.get_ylabel() == "units"
    default = study.plot("contour").axes[0]
    assert default.get_xlabel().startswith("x")  # the most important parameter first


def test_importance_ranks_what_drives_the_metric_and_the_duration(study):
    shares = importances(study)
    assert next(iter(shares)) == "x" and sum(shares.values()) == pytest.approx(1.0)
    assert shares["x"] > 3 * shares["noise"]
    by_time = importances(study, "duration")
    assert next(iter(by_time)) == "units"
    ax = study.plot("importance-duration").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "units"  # largest on top
    assert "trial duration" in ax.get_xlabel()
    assert len(study.plot("importance").axes[0].patches) == len(SPACE)


def test_incumbent_against_wall_time(study):
    ax = study.plot("incumbent").axes[0]
    (line,) = ax.get_lines()
    assert np.all(np.diff(line.get_xdata()) >= 0) and np.all(np.diff(line.get_ydata()) <= 0)
    leaders = study.incumbent_over_time()["trial_id"]
    assert len(ax.texts) == int((leaders != leaders.shift()).sum())


@pytest.mark.parametrize("kind", KINDS)
def test_a_stored_study_plots_like_the_live_one(study, kind):
    loaded = Study.load("plots", study.storage)
    assert isinstance(loaded.plot(kind), Figure)


def test_bad_requests_are_clear_errors(study, tmp_path):
    with pytest.raises(ValueError, match="unknown plot kind 'pie': use one of history"):
        study.plot("pie")
    with pytest.raises(ValueError, match=r"two different hyperparameters of the study "
                                         r"\(x, noise, units, act\)"):
        study.plot("contour", params=("x", "depth"))
    single = jh.tune(lambda c: c["a"], {"a": Real(0, 1)}, metric="loss", trials=1)
    with pytest.raises(ValueError, match="needs at least 2 finished trials"):
        single.plot("importance")
    with pytest.raises(ValueError, match="needs two numeric hyperparameters"):
        single.plot("contour")
    with pytest.raises(StudyFailedError):
        jh.tune(lambda c: 1 / 0, {"a": Real(0, 1)}, metric="loss", trials=1,
                storage=tmp_path / "f.db", name="failing")
    with pytest.raises(ValueError, match="no trial that reported loss"):
        Study.load("failing", tmp_path / "f.db").plot("history")
