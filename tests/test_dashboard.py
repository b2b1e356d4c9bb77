"""The dashboard, driven through its real ipywidgets objects and a real Study."""

from __future__ import annotations

import base64
import threading
import time

import pytest
from IPython.utils.capture import capture_output

from jupyter_hpo import Study, report
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Categorical, Real, Space
from jupyter_hpo.widgets import render
from jupyter_hpo.widgets.dashboard import Dashboard, summary_bundles

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def ipython(ipython_shell):
    return ipython_shell


def curve(config):
    for epoch in range(1, 10):
        report(epoch=epoch, acc=1 - 1.8 ** -(config["q"] * epoch))


def make_study(fn=curve, trials=20, workers=2, space=None, **options) -> Study:
    space = space or Space({"q": Real(0.1, 1.0)})
    options.setdefault("scheduler", "hyperband")
    if options["scheduler"] == "hyperband":
        options.setdefault("scheduler_options", {"max_t": 9})
    return Study(FunctionObjective(fn, "acc"), space, metric="acc", mode="max", trials=trials,
                 workers=workers, seed=0, **options)


def run_with(dashboard: Dashboard, study: Study) -> None:
    study.start()
    while not study.done:
        study.wait(0.02)
        dashboard.refresh()
    dashboard.finish()


def test_display_has_widget_view_and_text_fallback():
    study = make_study()
    dashboard = Dashboard(study, header="unit test")
    with capture_output() as captured:
        dashboard.display()
    data = captured.outputs[0].data
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        dashboard.widget.model_id
    assert study.name in data["text/plain"] and "0/20 trials" in data["text/plain"]
    assert "unit test" in dashboard.header.value
    assert "thread worker" in dashboard.header.value and "GIL" in dashboard.header.value


def test_finished_dashboard_shows_results_and_disables_stop_buttons():
    study = make_study()
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert dashboard.progress.value == 1.0 and dashboard.progress.bar_style == "success"
    assert dashboard.stop_study_button.disabled and dashboard.stop_trial_button.disabled
    assert f"trial {study.best_trial.trial_id}" in dashboard.incumbent.value
    assert f"{study.best_value:.6g}" in dashboard.incumbent.value
    assert dashboard.table.value.count("<tr") == 1 + 20
    assert "finished" in dashboard.status.value and "stopped" in dashboard.status.value
    assert bytes(dashboard.curves.value).startswith(b"\x89PNG")


def test_updates_are_coalesced_however_many_reports_arrive():
    study = make_study(trials=60, workers=4)
    dashboard = Dashboard(study, interval=3600)
    dashboard.refresh()
    renders_before = dashboard.renders
    study.start()
    while not study.done:
        study.wait(0.005)
        assert dashboard.refresh() is False
    assert dashboard.events > 200
    assert dashboard.renders == renders_before
    dashboard.finish()
    assert dashboard.renders == renders_before + 1


def test_a_change_is_drawn_once_the_wait_has_passed():
    study = make_study(trials=4, workers=1)
    dashboard = Dashboard(study, interval=0.0)
    assert dashboard.refresh() is True
    assert dashboard.refresh() is False  # nothing changed since
    study.run()
    # the wait grows with the cost of a redraw (10x), so poll until it has passed
    deadline = time.monotonic() + 30
    while not dashboard.refresh():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert dashboard.refresh() is False
    assert "4/4 trials" in dashboard.status.value


def test_stop_study_button_stops_a_running_study():
    def slow(config):
        for epoch in range(1, 200):
            time.sleep(0.01)
            report(epoch=epoch, acc=config["q"])

    study = make_study(slow, trials=50, scheduler="fifo")
    dashboard = Dashboard(study)
    study.start()
    while len(study.trials) < 2:
        time.sleep(0.01)
    dashboard.stop_study_button.click()
    assert study.wait(30)
    assert "stopping" in dashboard.message.value
    assert len(study.trials) < 50
    assert study.counts()["running"] == 0 and study.counts()["cancelled"] >= 1


def test_stop_trial_button_stops_the_chosen_trial_only():
    release = threading.Event()

    def slow(config):
        for epoch in range(1, 400):
            time.sleep(0.005)
            report(epoch=epoch, acc=config["q"])
            if epoch > 20 and release.is_set():
                return

    study = make_study(slow, trials=2, scheduler="fifo")
    dashboard = Dashboard(study)
    study.start()
    while len(study.trials) < 2:
        time.sleep(0.01)
    dashboard.refresh(force=True)
    assert list(dashboard.trial_picker.options) == [0, 1]
    dashboard.trial_picker.value = 1
    dashboard.stop_trial_button.click()
    release.set()
    assert study.wait(30)
    assert study.trials[1].status.value == "cancelled"
    assert study.trials[0].status.value == "completed"
    assert "trial 1" in dashboard.message.value


def test_apply_best_button_calls_back_and_shows_the_escaped_message():
    study = make_study(trials=3)
    applied = []
    dashboard = Dashboard(study, on_apply_best=lambda: applied.append(1) or "applied <q>")
    study.run()
    dashboard.apply_button.click()
    assert applied == [1]
    assert dashboard.message.value == "applied &lt;q&gt;"


def test_table_values_are_html_escaped_and_sortable():
    def fn(config):
        report(acc={"<script>alert(1)</script>": 0.2, "a&b": 0.9}[config["name"]])

    space = Space({"name": Categorical("<script>alert(1)</script>", "a&b")})
    study = make_study(fn, trials=6, space=space, scheduler="fifo", searcher="grid")
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    table = dashboard.table.value
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "a&amp;b" in table
    # sorted by best metric first: the 0.9 row comes before the 0.2 row
    assert table.index("a&amp;b") < table.index("&lt;script&gt;")
    dashboard.sort_by.value = "trial"
    _header, rows = render.table_rows(study, sort_by="trial")
    assert [r[0] for r in rows] == [str(i) for i in range(len(study.trials))]
    assert dashboard.table.value.index(">0<") < dashboard.table.value.index(">1<")


def test_curves_mark_stopped_trials_and_the_incumbent():
    study = make_study(trials=30, workers=4)
    study.run()
    figure = render.curves_figure(study)
    lines = {line.get_gid(): line for line in figure.axes[0].get_lines()}
    assert len(lines) == 30
    best = lines[f"trial-{study.best_trial.trial_id}"]
    assert best.get_linewidth() > 2 and best.get_color() == "black"
    stopped = [t for t in study.trials if t.status.value == "stopped"]
    assert stopped
    for trial in stopped:
        assert lines[f"trial-{trial.trial_id}"].get_linestyle() == "--"
        assert len(lines[f"trial-{trial.trial_id}"].get_xdata()) < 9
    assert figure.axes[0].get_xlabel() == "epoch" and figure.axes[0].get_ylabel() == "acc"


def test_trial_output_and_tracebacks_are_viewable_per_trial():
    def noisy(config):
        print(f"hello from q={config['q']:.3f}")
        if config["q"] > 0.5:
            raise ValueError("q too large")
        report(epoch=1, acc=config["q"])

    study = make_study(noisy, trials=8, scheduler="fifo", capture_output=True,
                       max_initial_failures=100)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    failed = next(t for t in study.trials if t.status.value == "failed")
    ok = next(t for t in study.trials if t.status.value == "completed")
    dashboard.output_picker.value = failed.trial_id
    assert "hello from q=" in dashboard.output_view.value
    assert "ValueError: q too large" in dashboard.output_view.value
    dashboard.output_picker.value = ok.trial_id
    assert f"hello from q={ok.config['q']:.3f}" in dashboard.output_view.value
    assert "Traceback" not in dashboard.output_view.value


def test_study_error_is_shown_once():
    def broken(config):
        raise KeyError("missing column")

    study = make_study(broken, trials=10, scheduler="fifo")
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert study.state == "failed"
    assert dashboard.error.layout.display is None
    assert dashboard.error.value.count("StudyFailedError") == 1
    assert dashboard.progress.bar_style == "danger"


def test_static_summary_has_png_html_and_text():
    study = make_study(trials=10)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    with capture_output() as captured:
        dashboard.show_summary()
    kinds = [set(output.data) for output in captured.outputs]
    assert {"image/png", "text/plain"} in kinds and {"text/html", "text/plain"} in kinds
    image, table = summary_bundles(study)
    assert base64.b64decode(image["image/png"]).startswith(b"\x89PNG")
    assert "jupyter-hpo-table" in table["text/html"]
    best = study.best_trial
    assert f"best: trial {best.trial_id}: q={best.config['q']:.4g}" in table["text/plain"]


def test_background_refresh_finishes_the_dashboard():
    study = make_study(trials=10)
    dashboard = Dashboard(study, interval=0.05)
    study.start()
    dashboard.start_background_refresh(period=0.02)
    assert study.wait(30)
    dashboard._refresher.join(10)
    assert dashboard.stop_study_button.disabled
    assert dashboard.progress.value == 1.0


def test_progress_estimates_time_left_from_the_budget():
    study = make_study(trials=4)
    assert render.progress(study) == (0.0, None)
    study.run()
    assert render.progress(study) == (1.0, 0.0)
    assert render.format_duration(3725) == "1:02:05" and render.format_duration(65) == "1:05"


def test_one_result_per_trial_is_drawn_against_the_trial_number():
    def reward(config):
        return config["q"]

    study = Study(FunctionObjective(reward, "acc"), Space({"q": Real(0, 1)}), metric="acc",
                  mode="max", trials=12, seed=0)
    study.run()
    axes = render.curves_figure(study).axes[0]
    lines = {line.get_gid(): line for line in axes.get_lines()}
    assert axes.get_xlabel() == "trial"
    assert all(f"trial-{t.trial_id}" in lines for t in study.trials)
    best_so_far = list(lines["best-so-far"].get_ydata())
    assert best_so_far == sorted(best_so_far) and best_so_far[-1] == study.best_value
