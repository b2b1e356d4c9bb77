"""The results tables and plots of studies whose metric or reported values are named like
the tables' own columns (``--metric error``, ``report(time=...)``)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

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
        assert curves["time"].max() < 10.0  # seconds since the study started


def test_every_plot_draws_a_metric_named_like_a_column(studies):
    for study in studies:
        for kind in KINDS:
            assert study.plot(kind) is not None
        ax = study.plot("curves", metric="time").axes[0]
        assert {tuple(line.get_ydata()) for line in ax.get_lines()} == {(10.0, 20.0, 30.0)}
        with pytest.raises(ValueError, match="its trials reported error, time, trial_id"):
            study.plot("curves", metric="tme")
