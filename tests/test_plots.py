"""Study.plot: every kind draws the elements it promises, from live and stored studies."""

from __future__ import annotations

import math
import threading
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib import colormaps, colors
from matplotlib.collections import PathCollection
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure

import jupyter_hpo as jh
from jupyter_hpo import Categorical, Int, Real
from jupyter_hpo.errors import StudyFailedError
from jupyter_hpo.plots import KINDS, importances, plot
from jupyter_hpo.study import Study

SPACE = {"x": Real(1e-3, 1.0, log=True), "noise": Real(0.0, 1.0), "units": Int(1, 30),
         "act": Categorical("relu", "tanh")}


def train(config):
    """loss depends on x only; the duration and train_loss on units only; noise > 0.93 fails
    the trial."""
    time.sleep(config["units"] / 1500)  # at most 20 ms
    for epoch in range(1, 10):
        if config["noise"] > 0.93 and epoch == 2:
            raise RuntimeError("diverged")
        jh.report(epoch=epoch, loss=abs(np.log10(config["x"]) + 1.5) + 1.0 / epoch,
                  train_loss=config["units"] / 30 + 0.5 / epoch)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    # random search: importances are judged on a design that spreads every hyperparameter (a
    # model-based searcher gathers its trials where x is best, and x then varies little)
    return jh.tune(train, SPACE, metric="loss", trials=40, seed=2, scheduler="hyperband",
                   searcher="random", scheduler_options={"max_t": 9, "grace_period": 1},
                   storage=tmp_path_factory.mktemp("plots") / "s.db", name="plots")


@pytest.fixture(scope="module")
def maximised():
    """A FIFO study without reports that maximises a score of a and b."""
    space = {"a": Real(0.0, 1.0), "b": Int(1, 64, log=True), "opt": Categorical("sgd", "adam")}
    return jh.tune(lambda c: 1.0 - (c["a"] - 0.3) ** 2 + (c["opt"] == "adam") * 0.1, space,
                   metric="score", mode="max", trials=15, seed=5)


def with_value(study, failed=True):
    return [t for t in study.trials if t.best(study.metric, study.mode) is not None
            and (failed or t.status.value != "failed")]


def scatter_count(ax):
    return sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))


def test_the_study_has_every_outcome_to_draw(study):
    assert {"completed", "stopped", "failed"} <= {t.status.value for t in study.trials}
    assert any(t.status.value == "failed" and t.reports for t in study.trials)


def test_history_shows_each_trial_with_a_value_and_a_monotone_incumbent(study):
    ax = study.plot("history").axes[0]
    assert scatter_count(ax) == len(with_value(study))
    labels = {text.get_text() for text in ax.get_legend().get_texts()}
    assert {"completed", "stopped", "failed (not counted)", "best so far"} <= labels
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "best so far"]
    assert np.all(np.diff(line.get_ydata()) <= 0)
    assert line.get_ydata()[-1] == pytest.approx(study.best_value)
    assert list(line.get_xdata()) == [t.trial_id for t in with_value(study, failed=False)]
    assert "loss" in ax.get_ylabel() and "lower is better" in ax.get_ylabel()


def test_history_of_a_maximised_metric_rises(maximised):
    ax = maximised.plot("history").axes[0]
    (line,) = ax.get_lines()
    assert np.all(np.diff(line.get_ydata()) >= 0) and len(line.get_ydata()) == 15
    assert line.get_ydata()[-1] == pytest.approx(maximised.best_value)
    assert "higher is better" in ax.get_ylabel()


def test_curves_one_line_per_trial_coloured_by_outcome(study):
    ax = study.plot("curves").axes[0]
    reporting = [t for t in study.trials if any("loss" in r for r in t.reports)]
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert len(ax.get_lines()) == len(reporting) == len(lines)
    best = study.best_trial
    labels = {text.get_text() for text in ax.get_legend().get_texts()}
    assert labels == {t.status.value for t in reporting} | {f"best (trial {best.trial_id})"}
    emphasised = lines[f"trial-{best.trial_id}"]
    assert emphasised.get_linewidth() > max(ln.get_linewidth() for ln in lines.values()
                                            if ln is not emphasised)
    assert list(emphasised.get_xdata()) == [r["epoch"] for r in best.reports]
    stopped = next(t for t in reporting if t.status.value == "stopped")
    assert colors.same_color(lines[f"trial-{stopped.trial_id}"].get_color(), "tab:gray")
    assert ax.get_xlabel() == "epoch" and "lower is better" in ax.get_ylabel()


def test_curves_of_another_reported_value_keep_the_best_trial_by_the_metric(study):
    ax = study.plot("curves", metric="train_loss").axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    reporting = [t for t in study.trials if any("train_loss" in r for r in t.reports)]
    assert set(lines) == {f"trial-{t.trial_id}" for t in reporting}
    best = study.best_trial  # by loss, not by train_loss
    assert min(t.config["units"] for t in reporting) != best.config["units"]
    emphasised = lines[f"trial-{best.trial_id}"]
    assert list(emphasised.get_ydata()) == [r["train_loss"] for r in best.reports]
    assert emphasised.get_linewidth() == max(ln.get_linewidth() for ln in lines.values())
    assert ax.get_ylabel() == "train_loss" and "best by loss" in ax.get_title()
    again = study.plot("curves", metric="loss").axes[0]  # the metric itself: as by default
    assert again.get_ylabel() == study.plot("curves").axes[0].get_ylabel()


def test_the_default_plot_is_the_history(study):
    default, history = study.plot().axes[0], study.plot("history").axes[0]
    assert default.get_title() == history.get_title()
    assert scatter_count(default) == scatter_count(history) == len(with_value(study))


def test_parallel_coordinates_have_an_axis_per_hyperparameter_and_the_metric(study):
    fig = study.plot("parallel")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(SPACE) + ["loss"]
    valued = with_value(study, failed=False)
    lines = ax.get_lines()
    assert len(lines) == len(valued)
    assert all(len(ln.get_xdata()) == len(SPACE) + 1 for ln in lines)
    by_id = {t.trial_id: t for t in valued}
    some = by_id[int(lines[0].get_gid().split("-")[1])]
    expected = (math.log(some.config["x"]) - math.log(1e-3)) / (math.log(1.0) - math.log(1e-3))
    assert lines[0].get_ydata()[0] == pytest.approx(expected)  # x on a log scale
    texts = {t.get_text() for t in ax.texts}
    assert {"relu", "tanh", "0.001", "0.01", "0.1", "1"} <= texts  # choices and decades
    best = lines[-1]  # the best is drawn last, in the best colour
    assert best.get_gid() == f"trial-{study.best_trial.trial_id}"
    assert colors.same_color(best.get_color(), colormaps["viridis_r"](0.0))
    assert len(fig.axes) == 2 and "loss" in fig.axes[1].get_ylabel()


def test_contour_interpolates_the_metric_over_two_parameters(study):
    fig = study.plot("contour", params=("x", "units"))
    ax = fig.axes[0]
    filled = [c for c in ax.collections if isinstance(c, QuadContourSet)][-1]  # full colour
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "units"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    low, high = ax.get_xlim()
    assert low == pytest.approx(1e-3) and high == pytest.approx(1.0)
    assert ax.get_ylim() == pytest.approx((1, 30))
    assert scatter_count(ax) == len(with_value(study, failed=False)) + 1  # trials and the best
    values = [t.best("loss", "min") for t in with_value(study, failed=False)]
    assert min(values) - 1e-9 <= filled.zmin < filled.zmax <= max(values) + 1e-9
    assert min(filled.levels) <= min(values) and max(filled.levels) >= max(values)
    assert len(fig.axes) == 2  # the colour bar
    as_in_the_magic = study.plot("contour", params="x, units").axes[0]  # was x, ",", " ", ...
    assert (as_in_the_magic.get_xlabel(), as_in_the_magic.get_ylabel()) == ("x", "units")
    with pytest.raises(ValueError, match=r"^params must be two hyperparameters of the study "
                                         r"\(.*\), e\.g\. params=\('.*', '.*'\), not 3 \(int\)$"):
        study.plot("contour", params=3)  # was Python's "'int' object is not iterable"
    default = study.plot("contour").axes[0]
    assert default.get_xlabel() == "x"  # the most important numeric parameter first
    assert default.get_ylabel() in ("noise", "units")


def test_contour_fades_where_no_trial_was_near():
    """Outside the trials' hull the surface is each point's nearest trial: it was drawn in
    full colour, so a corner no trial came near showed the best value of a trial far away
    as if it had been measured there."""
    import numpy as np

    inside = [{"x": x, "y": y} for x, y in ((0.3, 0.3), (0.7, 0.3), (0.3, 0.7), (0.7, 0.7))]
    study = jh.tune(lambda c: c["x"] + c["y"], {"x": Real(0, 1), "y": Real(0, 1)},
                    metric="loss", trials=4, points_to_evaluate=inside)
    fig = study.plot("contour")
    ax = fig.axes[0]
    faded, full = [c for c in ax.collections if isinstance(c, QuadContourSet)]
    assert faded.get_alpha() == 0.3 and full.get_alpha() is None
    corners = np.concatenate([p.vertices for p in full.get_paths() if len(p.vertices)])
    assert corners.min() >= 0.3 - 1e-9 and corners.max() <= 0.7 + 1e-9  # the hull only
    assert "faded: no trial around, the nearest trial's value" in {t.get_text() for t in ax.texts}
    assert full.colorbar is not None and faded.colorbar is None  # the bar is full colour


def test_contour_with_a_categorical_axis_labels_its_choices(maximised):
    ax = maximised.plot("contour", params=("b", "opt")).axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sgd", "adam"]


def test_choices_that_cannot_be_hashed_are_drawn_as_their_text(tmp_path):
    """``Categorical((64,), [32, 32], {"width": 16})``: the axes that list choices used to
    fail with "unhashable type: 'list'"; a stored study draws them the same way."""
    space = {"layers": Categorical((64,), [32, 32], {"width": 16}), "x": Real(0, 1)}
    live = jh.tune(lambda c: len(c["layers"]) + c["x"], space, metric="loss", trials=6, seed=0,
                   storage=tmp_path / "s.db", name="layers")
    labels = ["(64,)", "[32, 32]", "{'width': 16}"]
    for study in (live, Study.load("layers", tmp_path / "s.db")):
        parallel = study.plot("parallel").axes[0]
        assert set(labels) <= {t.get_text() for t in parallel.texts}
        assert len(parallel.get_lines()) == 6
        contour = study.plot("contour", params=("x", "layers")).axes[0]
        assert [t.get_text() for t in contour.get_yticklabels()] == labels
        assert study.plot("importance") is not None


def test_importance_ranks_what_drives_the_metric_and_the_duration(study):
    shares = importances(study)
    assert list(shares) == sorted(shares, key=shares.get, reverse=True)
    assert next(iter(shares)) == "x" and sum(shares.values()) == pytest.approx(1.0)
    assert shares["x"] > 3 * shares["noise"]
    by_time = importances(study, "duration")
    assert next(iter(by_time)) == "units" and sum(by_time.values()) == pytest.approx(1.0)
    ax = study.plot("importance-duration").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "units"  # largest on top
    assert "trial duration" in ax.get_xlabel()
    ax = study.plot("importance").axes[0]
    widths = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert widths == pytest.approx(shares)


def test_incumbent_against_wall_time(study):
    ax = study.plot("incumbent").axes[0]
    (line,) = ax.get_lines()
    assert np.all(np.diff(line.get_xdata()) >= 0) and np.all(np.diff(line.get_ydata()) <= 0)
    assert line.get_ydata()[-1] == pytest.approx(study.best_value)
    improvements = study.incumbent_over_time()
    assert scatter_count(ax) == len(improvements)
    leaders = improvements["trial_id"]
    assert [t.get_text() for t in ax.texts] == \
        [str(i) for i in leaders[leaders != leaders.shift()]]
    assert ax.get_xlabel() == "seconds since the study started"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stored_study_plots_like_the_live_one(study, kind):
    loaded = Study.load("plots", study.storage)
    live, stored = study.plot(kind).axes[0], loaded.plot(kind).axes[0]
    assert isinstance(stored.figure, Figure)
    assert len(stored.get_lines()) == len(live.get_lines())
    assert scatter_count(stored) == scatter_count(live)
    assert stored.get_title() == live.get_title()


def test_figures_display_as_png_and_draw_into_given_axes(maximised):
    fig = maximised.plot("history")
    assert fig._repr_png_().startswith(b"\x89PNG")
    mine = Figure()
    ax = mine.add_subplot(1, 2, 2)
    assert plot(maximised, "importance", ax=ax) is mine and len(ax.patches) == 3


def test_the_plots_as_optuna_and_bigdl_nano_name_them_say_their_kind_here(study):
    """The BigDL-Nano seed draws plot_optimization_history(study),
    plot_intermediate_values(study) and plot_param_importances(study) (Optuna's functions);
    their names as kinds got only the list of kinds."""
    for name, says in (
            ("optimization_history", ("'optimization_history' (Optuna's and BigDL-Nano's "
                                      "name) is 'history' here")),
            ("plot_intermediate_values", ("'plot_intermediate_values' (Optuna's and "
                                          "BigDL-Nano's name) is 'curves' here")),
            ("param_importances", "(Optuna's and BigDL-Nano's name) is 'importance' here"),
            ("parallel_coordinate", "is 'parallel' here"),
            ("plot_contour", "'plot_contour' is 'contour' here")):
        with pytest.raises(ValueError) as raised:
            study.plot(name)
        assert str(raised.value).startswith(f"unknown plot kind {name!r}: use one of history")
        assert str(raised.value).endswith(says)


def test_bad_requests_are_clear_errors(study, tmp_path):
    with pytest.raises(ValueError, match="unknown plot kind 'pie': use one of history, curves"):
        study.plot("pie")
    with pytest.raises(ValueError, match="params only applies to the contour plot"):
        study.plot("history", params=("x", "units"))
    with pytest.raises(ValueError, match=r"unknown plot kind 'curve': .*; did you mean 'curves'"):
        study.plot("curve")
    with pytest.raises(ValueError, match="metric only applies to the curves plot, not to "
                                         "'history' \\(which shows the study's metric, loss\\)"):
        study.plot("history", metric="train_loss")
    with pytest.raises(ValueError, match="has no reports of 'train_los': its trials reported "
                                         "loss, train_loss; did you mean 'train_loss'"):
        study.plot("curves", metric="train_los")
    with pytest.raises(ValueError, match="'epoch' is the resource, the curves' x axis"):
        study.plot("curves", metric="epoch")
    with pytest.raises(TypeError, match="metric is 3, but must be the name of a reported"):
        study.plot("curves", metric=3)
    with pytest.raises(ValueError, match=r"two different hyperparameters of the study "
                                         r"\(x, noise, units, act\)"):
        study.plot("contour", params=("x", "depth"))
    with pytest.raises(ValueError, match="target is 'time'"):
        importances(study, "time")
    single = jh.tune(lambda c: c["a"], {"a": Real(0, 1)}, metric="loss", trials=1)
    with pytest.raises(ValueError, match="needs at least 2 finished trials"):
        single.plot("importance")
    with pytest.raises(ValueError, match="needs two numeric hyperparameters; study '.*' has a"):
        single.plot("contour")
    mixed = jh.tune(lambda c: c["a"], {"a": Real(0, 1), "act": Categorical("relu", "tanh")},
                    metric="loss", trials=3, seed=0)
    with pytest.raises(ValueError, match=r"has a, act: name two \(categorical ones too\) with "
                                         r"study.plot\('contour', params=\('a', 'act'\)\)"):
        mixed.plot("contour")
    assert mixed.plot("contour", params=("a", "act")) is not None  # what the message says works
    branches = jh.tune(lambda c: c.get("u", 0) + c.get("v", 0),
                       {"m": Categorical("a", "b"), "u": Real(0, 1, when={"m": "a"}),
                        "v": Real(1, 5, when={"m": "b"})}, metric="loss", trials=10, seed=0)
    with pytest.raises(ValueError) as info:  # u and v are never active in the same trial
        branches.plot("contour")
    assert str(info.value).endswith(
        f"in study {branches.name!r} no two of u, v are (each is active only where other "
        f"hyperparameters take certain values): name two that are, categorical ones too, "
        f"with study.plot('contour', params=('m', 'u'))")
    assert branches.plot("contour", params=("m", "u")) is not None  # what the message says
    two = jh.tune(lambda c: c["a"] + c["b"], {"a": Real(0, 1), "b": Real(0, 1)},
                  metric="loss", trials=2)
    with pytest.raises(ValueError, match="contour plot needs at least 3 trials .* has 2"):
        two.plot("contour")
    with pytest.raises(StudyFailedError):
        jh.tune(lambda c: 1 / 0, {"a": Real(0, 1), "b": Real(0, 1)}, metric="loss", trials=1,
                storage=tmp_path / "f.db", name="failing")
    failing = Study.load("failing", tmp_path / "f.db")
    for kind in KINDS:
        with pytest.raises(ValueError, match="loss|finished trials"):
            failing.plot(kind)


def test_a_single_value_is_labelled_once_and_trials_are_whole_numbers():
    """One trial (or one value of the metric): the history's axis shows trial numbers, not
    -0.04 ... 0.04, and the parallel plot's metric axis names the value once, where its line
    is, instead of the same number at the bottom, the middle and the top."""
    single = jh.tune(lambda c: c["a"], {"a": Real(0, 1)}, metric="loss", trials=1, seed=0)
    ax = single.plot("history").axes[0]
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
    ax = single.plot("parallel").axes[0]
    (line,) = ax.get_lines()
    on_metric_axis = [t for t in ax.texts if t.get_position()[0] > 1]
    assert [(t.get_text(), t.get_position()[1]) for t in on_metric_axis] == \
        [(f"{single.best_value:.3g}", line.get_ydata()[-1])]


def test_importance_of_a_study_still_running_says_to_wait_for_its_trials():
    release, started = threading.Event(), threading.Semaphore(0)

    def held(config):
        jh.report(epoch=1, loss=config["a"])
        started.release()
        release.wait(60)

    running = Study(held, {"a": Real(0, 1), "b": Real(0, 1)}, metric="loss", trials=2,
                    workers=2, seed=0)
    running.start()
    try:
        assert started.acquire(timeout=60) and started.acquire(timeout=60)
        with pytest.raises(ValueError, match=r"needs at least 2 finished trials .* has 0; 2 "
                                             r"more still running or paused: try again when "
                                             r"they have ended"):
            running.plot("importance")
    finally:
        release.set()
        running.wait()
    assert running.plot("importance") is not None


def test_curves_of_a_value_that_is_not_a_number_say_which_ones_are(tmp_path):
    """``report(..., phase="warmup", sizes=[64, 32], skipped=None)``: the curves of those said
    'setting an array element with a sequence', drew the text as categories, or said that
    nothing was reported; now each is a clear error that lists the values it can draw."""
    def train(config):
        for epoch in range(1, 4):
            jh.report(epoch=epoch, loss=config["x"] / epoch, phase=f"phase {epoch}",
                      sizes=[64, 32], skipped=None, lr=np.float32(0.1 / epoch),
                      improved=epoch % 2 == 1)

    jh.tune(train, {"x": Real(0, 1)}, metric="loss", trials=2, seed=0,
            storage=tmp_path / "s.db", name="mixed")
    study = Study.load("mixed", tmp_path / "s.db")
    drawable = "study 'mixed' reported loss, lr, improved as numbers"
    not_numbers = "is not a number in every report (one is"
    for metric, what in (("phase", f"'phase' {not_numbers} 'phase 1', str)"),
                         ("sizes", f"'sizes' {not_numbers} [64, 32], list)"),
                         ("skipped", "every report of 'skipped' is NaN or None")):
        with pytest.raises(ValueError) as info:
            study.plot("curves", metric=metric)
        assert str(info.value) == f"{what}: the learning curves draw numbers; {drawable}"
    for metric in ("lr", "improved"):
        assert len(study.plot("curves", metric=metric).axes[0].get_lines()) == 2


def test_curves_of_a_study_of_one_value_per_trial_draw_the_values_by_trial():
    """Each trial returned one value (cross-validation, no report per epoch): the curves drew
    a column of dots at x=1 labelled 'report'; they draw the values by trial now, as the
    dashboard does, and the title says why."""
    study = jh.tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
                    trials=4, seed=0)
    ax = study.plot("curves").axes[0]
    assert ax.get_title().endswith("each trial reported one loss (no learning curves), by "
                                   "trial")
    assert ax.get_xlabel() == "trial"
    drawn = [tuple(p) for c in ax.collections for p in c.get_offsets()]
    assert sorted(drawn) == sorted((t.trial_id, t.config["x"]) for t in study.trials)


def test_a_none_choice_is_drawn_as_a_choice_not_as_inactive():
    """``max_depth = Categorical(None, 2, 4)``: the trials with ``None`` were drawn at the
    parallel plot's "inactive" level and left out of the contour, as if not searched."""
    space = {"max_depth": Categorical(None, 2, 4), "n": Int(1, 9)}
    study = jh.tune(lambda c: (c["max_depth"] or 5) / 10 + c["n"] / 100, space,
                    metric="loss", searcher="grid", searcher_options={"points": 2})
    assert len(study.trials) == 6 and sum(t.config["max_depth"] is None
                                          for t in study.trials) == 2
    ax = study.plot("parallel").axes[0]
    assert "inactive" not in {t.get_text() for t in ax.texts}
    none_at = space["max_depth"].to_unit(None)
    for line in ax.get_lines():
        trial = study.trials[int(line.get_gid().split("-")[1])]
        assert line.get_ydata()[0] == pytest.approx(space["max_depth"].to_unit(
            trial.config["max_depth"]))
    assert any(line.get_ydata()[0] == pytest.approx(none_at) for line in ax.get_lines())
    contour = study.plot("contour", params=("max_depth", "n")).axes[0]
    assert contour.get_title().endswith(", 6 trials)")
    assert scatter_count(contour) == 6 + 1  # the trials and the best
