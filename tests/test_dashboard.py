"""The dashboard, driven through its real ipywidgets objects and real (or recorded) studies.

Messages are counted where ipywidgets sends them: every widget's comm ``send`` (one call per
message to the frontend) and the dashboard's ``update_display`` calls. Time is a fake clock
wherever the dashboard's cadence matters, so no assertion depends on how fast this machine is.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import threading
import time
from collections import Counter
from types import SimpleNamespace

import ipywidgets as w
import pytest
from IPython.utils.capture import capture_output

from jupyter_hpo import Study, report
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.records import Direction, StudyRecord, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Categorical, Real, Space
from jupyter_hpo.study import StudyEvent
from jupyter_hpo.widgets import curves as curves_module
from jupyter_hpo.widgets import dashboard as dashboard_module
from jupyter_hpo.widgets import render
from jupyter_hpo.widgets.dashboard import Dashboard, summary_bundles

pytestmark = pytest.mark.timeout(120)

PAYLOAD = "<img src=x onerror=alert(1)>"
ESCAPED = html.escape(PAYLOAD)
MAX_LINES = curves_module.MAX_CURVES


@pytest.fixture(scope="module", autouse=True)
def ipython(ipython_shell):
    return ipython_shell


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def widgets_of(root: w.Widget):
    """Every widget of the dashboard's tree: boxes' children, accordions, layouts, styles."""
    seen, stack = set(), [root]
    while stack:
        widget = stack.pop()
        if not isinstance(widget, w.Widget) or widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        yield widget
        stack.extend(getattr(widget, "children", ()))
        stack.extend(getattr(widget, name, None) for name in ("layout", "style"))


class Sent:
    """Counts the messages the dashboard's widgets send (comm ``send`` calls) and its display
    updates, from ``with Sent(dashboard) as sent:`` on."""

    def __init__(self, dashboard: Dashboard, monkeypatch=None) -> None:
        self.dashboard = dashboard
        self.by_widget: Counter[str] = Counter()
        self.display_updates = 0
        self._restore = []
        self._monkeypatch = monkeypatch

    def __enter__(self):
        names = {id(getattr(self.dashboard, n)): n for n in vars(self.dashboard)
                 if isinstance(getattr(self.dashboard, n), w.Widget)}
        for widget in widgets_of(self.dashboard.widget):
            comm, name = widget.comm, names.get(id(widget), type(widget).__name__)
            original = comm.send

            def send(*args, _original=original, _name=name, **kwargs):
                self.by_widget[_name] += 1
                return _original(*args, **kwargs)

            comm.send = send
            self._restore.append((comm, original))
        if self._monkeypatch is not None:
            original_update = dashboard_module.update_display

            def update_display(*args, **kwargs):
                self.display_updates += 1
                return original_update(*args, **kwargs)

            self._monkeypatch.setattr(dashboard_module, "update_display", update_display)
        return self

    def __exit__(self, *exc) -> None:
        for comm, original in self._restore:
            comm.send = original

    @property
    def total(self) -> int:
        return sum(self.by_widget.values()) + self.display_updates


def table_ids(table: str) -> list[str]:
    """The first cell (the trial id) of every row of a results table."""
    rows = table.split("<tbody>")[1].split("<tr")[1:]
    return [row.split("</td>")[0].rsplit(">", 1)[1] for row in rows]


def table_column(table: str, column: int) -> list[str]:
    """The ``column``-th cell of every row of a results table."""
    rows = table.split("<tbody>")[1].split("<tr")[1:]
    return [html.unescape(row.split("<td")[column + 1].split("</td>")[0].split(">", 1)[1])
            for row in rows]


STATUSES = "|".join(s.value for s in TrialStatus)


def status_counts(status_line: str) -> Counter[str]:
    """The trials per status that the status line counts (``3 running · 2 completed``)."""
    return Counter({name: int(n) for n, name in
                    re.findall(rf"(\d+) ({STATUSES})\b", html.unescape(status_line))})


def curve(config):
    for epoch in range(1, 10):
        report(epoch=epoch, acc=1 - 1.8 ** -(config["q"] * epoch))


def make_study(fn=curve, trials=20, workers=2, space=None, **options) -> Study:
    space = space or Space({"q": Real(0.1, 1.0)})
    options.setdefault("scheduler", "hyperband")
    if options["scheduler"] == "hyperband":
        options.setdefault("scheduler_options", {"max_t": 9})
    options.setdefault("metric", "acc")
    return Study(FunctionObjective(fn, options["metric"]), space, mode="max", trials=trials,
                 workers=workers, seed=0, **options)


def run_with(dashboard: Dashboard, study: Study, clock: Clock | None = None) -> None:
    study.start()
    while not study.done:
        study.wait(0.02)
        if clock is not None:
            clock.advance(0.5)
        dashboard.refresh()
    dashboard.finish()


# ---------------------------------------------------------------- records built by hand
def trial_record(trial_id: int, status: str, values=(), config=None, **fields) -> TrialRecord:
    reports = tuple({"epoch": i + 1, "acc": v} for i, v in enumerate(values))
    return TrialRecord(trial_id, config or {"q": 0.5}, TrialStatus(status), reports,
                       tuple(float(i) for i in range(len(reports))), start_time=100.0 + trial_id,
                       end_time=None if status in ("running", "paused") else 110.0 + trial_id,
                       **fields)


def study_record(trials, name="recorded", state="finished", incumbents=None, **fields):
    return StudyRecord(name, "acc", Direction.MAX, "epoch", Space({"q": Real(0, 1)}),
                       {"trials": len(trials), "scheduler": "hyperband", "searcher": "random"},
                       StudyState(state), tuple(trials), elapsed=12.0, updated=200.0,
                       incumbents=incumbents, **fields)


class ChurningStudy:
    """A live study (duck-typed like Study) whose every snapshot differs from the last in
    everything the dashboard shows: every running trial reports, the oldest one ends, a new
    one starts, the best value improves, and every fifth step a problem is reported."""

    def __init__(self, workers: int = 6) -> None:
        self.name, self.metric, self.resource = "churn", "acc", "epoch"
        self.direction, self.space = Direction.MAX, Space({"q": Real(0, 1)})
        self.settings = {"trials": 400, "scheduler": "fifo", "searcher": "random"}
        self.executor = SimpleNamespace(name="thread", slots=[],
                                        describe=lambda: f"{workers} thread workers")
        self.scheduler, self.problems, self.done = None, [], False
        self.workers, self.step, self.events = workers, 0, 0
        self._subscribers = []
        self._finished: list[TrialRecord] = []
        self._running: list[dict] = []
        self._incumbents: list[tuple[float, int, float]] = []

    def subscribe(self, callback):
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _emit(self, kind, data=None):
        self.events += 1
        for callback in list(self._subscribers):
            callback(StudyEvent(kind, None, data or {}))

    def trial_output(self, trial_id: int, tail: int | None = None) -> str:
        return f"trial {trial_id} printed this at step {self.step}\n"

    def stop(self, why="stopped by the user", force=False):
        self.done = True

    def stop_trial(self, trial_id):
        return True

    def _advance(self) -> None:
        self.step += 1
        for trial in self._running:
            value = trial["id"] + len(trial["reports"]) / 1000
            trial["reports"].append({"epoch": len(trial["reports"]) + 1, "acc": value})
            self._emit("report")
            if not self._incumbents or value > self._incumbents[-1][2]:
                self._incumbents.append((float(self.step), trial["id"], value))
        if len(self._running) >= self.workers:
            trial = self._running.pop(0)
            status = ("completed", "stopped", "failed", "cancelled")[trial["id"] % 4]
            self._finished.append(self._freeze(trial, TrialStatus(status)))
            self._emit("trial_finished")
            if status == "failed" and self._incumbents and \
                    self._incumbents[-1][1] == trial["id"]:
                self._incumbents = [i for i in self._incumbents if i[1] != trial["id"]]
        trial_id = len(self._finished) + len(self._running)
        self._running.append({"id": trial_id, "reports": [], "q": (trial_id * 0.37) % 1})
        self._emit("trial_started")
        if self.step % 5 == 0:
            self._emit("problem", {"message": f"storage trouble #{self.step}"})

    def _freeze(self, trial: dict, status: TrialStatus) -> TrialRecord:
        return TrialRecord(trial["id"], {"q": trial["q"]}, status, tuple(trial["reports"]),
                           tuple(float(i) for i in range(len(trial["reports"]))),
                           start_time=float(trial["id"]),
                           end_time=None if not status.finished else float(self.step),
                           error="boom" if status is TrialStatus.FAILED else "")

    def snapshot(self) -> StudyRecord:
        if not self.done:
            self._advance()
        trials = self._finished + [self._freeze(t, TrialStatus.RUNNING) for t in self._running]
        return StudyRecord(self.name, self.metric, self.direction, self.resource, self.space,
                           self.settings, StudyState.FINISHED if self.done
                           else StudyState.RUNNING, tuple(trials), elapsed=float(self.step),
                           updated=float(self.step), incumbents=tuple(self._incumbents))


# ------------------------------------------------------------------------- display
def test_display_sends_no_widget_update_and_has_a_text_fallback():
    study = make_study()
    dashboard = Dashboard(study, header="unit test")
    with Sent(dashboard) as sent, capture_output() as captured:
        dashboard.display()
    assert sent.total == 0  # the initial values went out with the widgets themselves
    data = captured.outputs[0].data
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        dashboard.widget.model_id
    assert study.name in data["text/plain"] and "0/20 trials" in data["text/plain"]
    assert "unit test" in dashboard.header.value
    assert "thread worker" in dashboard.header.value and "GIL" in dashboard.header.value


def test_the_header_follows_the_auto_schedulers_description_while_the_study_runs():
    study = make_study(trials=40, workers=2, scheduler="auto", searcher="random",
                       scheduler_options={"max_t": 9, "min_pairs": 3})
    dashboard = Dashboard(study)
    assert "measuring whether early epochs predict the final result (0 of 3" \
        in dashboard.header.value
    run_with(dashboard, study)
    measured = study.scheduler.reason()
    assert "rank correlation" in measured and "between epochs 1 and 9" in measured
    assert html.escape(measured) in dashboard.header.value
    assert "measuring" not in dashboard.header.value


def test_finished_dashboard_shows_results_and_disables_stop_buttons():
    study = make_study(trials=30, workers=4)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert dashboard.progress.value == 1.0 and dashboard.progress.bar_style == "success"
    assert dashboard.stop_study_button.disabled and dashboard.stop_trial_button.disabled
    assert f"trial {study.best_trial.trial_id}" in dashboard.incumbent.value
    assert f"{study.best_value:.6g}" in dashboard.incumbent.value
    # the table keeps to its top rows, best first, and says how many are not shown
    assert dashboard.table.value.count("<tr") == 1 + render.TABLE_ROWS
    assert f"{30 - render.TABLE_ROWS:,} more trial(s) not shown" in dashboard.table.value
    assert table_ids(dashboard.table.value)[0] == str(study.best_trial.trial_id)
    assert "finished" in dashboard.status.value and "stopped" in dashboard.status.value
    assert bytes(dashboard.curves.value).startswith(b"\x89PNG")


def test_the_live_tables_updates_carry_class_names_and_the_style_is_sent_once():
    """Every update of the live results table carried the style of each of its cells (a
    table of 25 rows was about 11 kB; a 200-trial study sent 196 kB of them): the updates
    now carry class names, styled by the dashboard's hidden style widget, sent once. The
    saved summary's table keeps its style in each element (a notebook opened without a
    kernel has no such widget) and lists the same rows."""
    study = make_study(trials=30, workers=4)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    live, saved = dashboard.table.value, render.table_html(dashboard.digest)
    assert "style=" not in live and "style=" in saved
    assert len(live) < 0.4 * len(saved), (len(live), len(saved))
    assert table_ids(live) == table_ids(saved) and \
        table_column(live, 1) == table_column(saved, 1)
    best = str(study.best_trial.trial_id)
    assert f"<tr class='jupyter-hpo-best'><td>{best}</td>" in live
    styles = [widget.value for widget in widgets_of(dashboard.widget)
              if isinstance(widget, w.HTML) and widget.value.startswith("<style>")]
    assert styles == [dashboard_module._STYLE] and render.TABLE_CSS in styles[0]
    for name in ("jupyter-hpo-table td", "jupyter-hpo-best", "jupyter-hpo-failed"):
        assert name in render.TABLE_CSS


# ---------------------------------------------------------------- cost: messages
def test_a_burst_of_events_is_coalesced_into_one_refresh_per_interval():
    clock = Clock()
    study = make_study(trials=60, workers=4)
    dashboard = Dashboard(study, clock=clock)
    assert dashboard.refresh() is False  # the widgets were built showing the study as it is
    clock.advance(dashboard.interval)
    assert dashboard.refresh() is True
    study.run()  # hundreds of events while the clock stands still
    assert dashboard.events > 200
    with Sent(dashboard) as sent:
        assert [dashboard.refresh() for _ in range(50)] == [False] * 50
        assert sent.total == 0
        clock.advance(dashboard.interval)
        assert dashboard.refresh() is True
    assert sent.by_widget["status"] == 1 and "60/60 trials" in dashboard.status.value
    assert sent.by_widget["progress"] == 1 and dashboard.progress.value == 1.0


@pytest.mark.parametrize("step", [0.05, 0.5, 3.0])
def test_widget_messages_are_bounded_whatever_the_rate_of_change(step, monkeypatch):
    """Every snapshot differs in everything shown; refreshes are asked for every ``step``
    simulated seconds: the widgets still send at most burst + max_rate * t messages."""
    clock = Clock()
    study = ChurningStudy()
    dashboard = Dashboard(study, clock=clock)
    with capture_output():
        dashboard.display()
    dashboard.outputs.selected_index = 0  # the output view is open: it must follow too
    dashboard.output_picker.value = dashboard.output_picker.options[0]
    seconds = 60.0
    with Sent(dashboard, monkeypatch) as sent:
        for _ in range(round(seconds / step)):
            clock.advance(step)
            dashboard.refresh()
    assert sent.total <= dashboard.burst + dashboard.max_rate * seconds
    # ... and it is not quiet because it skipped work: everything kept being updated
    assert study.events > 100
    for widget in ("status", "progress", "table", "curves", "incumbent", "trial_picker",
                   "warnings", "output_view"):
        assert sent.by_widget[widget] >= 3, (widget, sent.by_widget)
    assert dashboard.drawings <= 1 + seconds / dashboard.curves_interval


def test_widget_messages_are_bounded_for_a_real_study_reporting_fast(monkeypatch):
    clock = Clock()

    def fast(config):
        for epoch in range(1, 51):
            time.sleep(0.0005)  # about 6,000 reports a second in all
            report(epoch=epoch, acc=config["q"] * epoch)

    study = make_study(fast, trials=200, workers=4, scheduler="fifo")
    dashboard = Dashboard(study, clock=clock)
    calls = 0
    with Sent(dashboard, monkeypatch) as sent:
        study.start()
        while not study.done:
            clock.advance(0.25)  # simulated time runs faster than the study: many refreshes
            dashboard.refresh()
            calls += 1
            time.sleep(0.001)
    assert dashboard.events >= 200 * 50
    assert sent.by_widget["status"] >= 2 and sent.by_widget["table"] >= 1
    assert sent.total <= dashboard.burst + dashboard.max_rate * calls * 0.25
    assert dashboard.renders <= 1 + calls * 0.25 / dashboard.interval


def test_the_table_the_status_line_and_the_best_trial_agree_after_every_refresh():
    """The table follows the study's events as the status line and the best box do, in the
    same refreshes: after each one, the table lists the trials the status line counts, by
    status, and shows the status line's best trial in bold (the table followed a 3 s timer:
    only its headers for the first seconds of a study, a finished trial still "running" in it
    while the status line counted it as completed)."""
    def slow(config):
        for epoch in range(1, 10):
            time.sleep(0.02)
            report(epoch=epoch, acc=1 - 1.8 ** -(config["q"] * epoch))

    clock = Clock()
    study = make_study(slow, trials=12, workers=3, scheduler="fifo")
    dashboard = Dashboard(study, clock=clock)
    study.start()
    checked = Counter()
    while not study.done:
        study.wait(0.05)
        clock.advance(dashboard.interval)
        if not dashboard.refresh():
            continue
        counts = status_counts(dashboard.status.value)
        assert Counter(table_column(dashboard.table.value, 1)) == counts, \
            (dashboard.status.value, dashboard.table.value)
        best = re.search(r"\(trial (\d+)\)", html.unescape(dashboard.status.value))
        if best:
            assert f"(trial {best[1]}," in dashboard.incumbent.value
            bold = dashboard.table.value.split("<tr class='jupyter-hpo-best'>")[1]
            assert table_ids("<tbody><tr>" + bold)[0] == best[1]
        checked["running" if counts["running"] else "other"] += 1
    dashboard.finish()
    assert checked["running"] >= 3  # it was checked while trials ran, not only at the end
    assert Counter(table_column(dashboard.table.value, 1)) == \
        status_counts(dashboard.status.value)


def test_nothing_is_sent_when_nothing_changed(monkeypatch):
    study = make_study(trials=10)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    drawn = dashboard.drawings
    with Sent(dashboard, monkeypatch) as sent:
        for _ in range(3):
            dashboard.refresh(force=True)
        dashboard.finish()
    assert sent.total == 0
    assert dashboard.drawings == drawn  # not drawn again: nothing changed


def test_the_curves_image_is_never_empty_before_the_first_drawing():
    """Until the curves are first drawn (an interval, and matplotlib's first import: seconds
    on a busy machine) the image holds a blank PNG: an image without data is shown by the
    browser as a broken image next to "no result yet"."""
    clock = Clock()
    dashboard = Dashboard(make_study(trials=2, workers=1), clock=clock)
    assert dashboard.drawings == 0
    assert bytes(dashboard.curves.value) == curves_module.BLANK_PNG
    assert curves_module.BLANK_PNG.startswith(b"\x89PNG\r\n\x1a\n")
    clock.advance(dashboard.interval)
    dashboard.refresh()
    assert dashboard.drawings == 1
    assert bytes(dashboard.curves.value) not in (b"", curves_module.BLANK_PNG)


def test_curves_are_drawn_only_when_they_change():
    clock = Clock()
    study = make_study(trials=8, workers=2)
    dashboard = Dashboard(study, clock=clock)
    clock.advance(dashboard.interval)
    dashboard.refresh()
    drawn = dashboard.drawings
    assert drawn == 1  # the (empty) curves, once
    for _ in range(5):  # nothing ran: the curves are the same
        clock.advance(10)
        dashboard.refresh()
    assert dashboard.drawings == drawn
    study.run()
    clock.advance(10)
    dashboard.refresh()
    assert dashboard.drawings == drawn + 1


def test_slow_drawing_is_drawn_less_often(monkeypatch):
    """When a figure takes long to draw, the curves wait longer than curves_interval: at
    most cpu_share of the time goes to drawing."""
    clock = Clock()
    real_png = dashboard_module.curves_png

    def slow_png(source):
        clock.advance(0.5)  # as if drawing took half a second
        return real_png(source)

    monkeypatch.setattr(dashboard_module, "curves_png", slow_png)
    study = ChurningStudy()
    dashboard = Dashboard(study, clock=clock, cpu_share=0.05)
    for _ in range(200):
        clock.advance(1.0)
        dashboard.refresh()
    elapsed = 200 * 1.0 + dashboard.drawings * 0.5
    assert 2 <= dashboard.drawings <= 1 + elapsed * 0.05 / 0.5


# ---------------------------------------------------------------- cost: drawing
def big_record(trials=3000, reports=400, running=30):
    shared = [tuple({"epoch": e, "acc": (k + 1) * (1 - 0.99 ** e)} for e in range(1, reports + 1))
              for k in range(10)]
    times = tuple(float(j) for j in range(reports))
    records = []
    for i in range(trials):
        status = TrialStatus.RUNNING if i >= trials - running else \
            (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED)[i % 3]
        records.append(TrialRecord(i, {"q": i / trials}, status, shared[i % 10], times,
                                   start_time=float(i),
                                   end_time=None if status is TrialStatus.RUNNING
                                   else float(i + 5)))
    incumbents = ((1.0, 9, shared[9][-1]["acc"]),)
    return study_record(records, state="running", incumbents=incumbents)


def test_curves_of_thousands_of_trials_draw_a_bounded_number_of_lines_and_points():
    record = big_record()
    axes = curves_module.curves_figure(record).axes[0]
    lines = {line.get_gid(): line for line in axes.get_lines()}
    assert len(lines) <= MAX_LINES
    assert max(len(line.get_xdata()) for line in lines.values()) <= curves_module.CURVE_POINTS
    # the incumbent, bold, and every running trial (up to RUNNING_CURVES) are among them
    assert lines["trial-9"].get_linewidth() > 2
    running = [t.trial_id for t in record.trials if t.status is TrialStatus.RUNNING]
    assert sum(f"trial-{i}" in lines for i in running) == curves_module.RUNNING_CURVES
    # the last point of a downsampled curve is the last report
    assert lines["trial-9"].get_xdata()[-1] == 400
    hidden = 3000 - len(lines)
    assert axes.get_title(loc="left").startswith(f"{hidden:,} of 3,000 trials not drawn")


def test_one_result_per_trial_of_many_trials_draws_a_bounded_number_of_points():
    trials = [trial_record(i, "completed", [((i * 7919) % 10007) / 10007]) for i in range(20_000)]
    record = study_record(trials)
    axes = curves_module.curves_figure(record).axes[0]
    lines = {line.get_gid(): line for line in axes.get_lines()}
    points = sum(len(line.get_xdata()) for gid, line in lines.items() if gid.startswith("status"))
    assert points <= curves_module.SCATTER_POINTS
    assert max(lines["status-completed"].get_ydata()) == record.best_value
    steps = list(lines["best-so-far"].get_ydata())
    assert steps == sorted(steps) and steps[-1] == record.best_value and len(steps) < 100
    assert axes.get_title(loc="left").startswith(f"{20_000 - points:,} of 20,000 trials")


def test_end_of_a_huge_study_draws_once_and_shows_bounded_html(monkeypatch):
    study = Study.from_record(big_record())
    dashboard = Dashboard(study)
    with Sent(dashboard, monkeypatch) as sent, capture_output() as captured:
        dashboard.display()
        dashboard.finish()
        dashboard.show_summary()
    assert dashboard.drawings == 1  # the summary reuses the final drawing
    assert sent.total <= len(dashboard_module._PRIORITY) + 2
    image, table = (output.data for output in captured.outputs[1:])
    assert base64.b64decode(image["image/png"]) == bytes(dashboard.curves.value)
    assert len(image["image/png"]) < 400_000
    assert table["text/html"].count("<tr") == 1 + render.TABLE_ROWS
    assert f"{3000 - render.TABLE_ROWS:,} more trial(s)" in table["text/html"]
    assert len(table["text/plain"].splitlines()) <= 15


# ------------------------------------------------------------------------- escaping
def test_every_user_string_is_escaped():
    def evil(config, trial):
        print(PAYLOAD)
        report(**{PAYLOAD: 0.5 + trial.trial_id, "epoch": 1})
        if trial.trial_id == 1:
            raise ValueError(PAYLOAD)

    study = make_study(evil, trials=3, workers=1, scheduler="fifo", metric=PAYLOAD,
                       name=PAYLOAD, capture_output=True, max_initial_failures=10,
                       space=Space({"label": Categorical(PAYLOAD, "plain")}))
    dashboard = Dashboard(study, header=PAYLOAD, on_apply_best=lambda: PAYLOAD)
    study.start()
    study.notify_problem(PAYLOAD)
    study.wait()
    dashboard.finish()
    dashboard.apply_button.click()
    dashboard.outputs.selected_index = 0
    texts = {}
    for trial_id in range(3):
        dashboard.output_picker.value = trial_id
        texts[trial_id] = dashboard.output_view.value
    assert "ValueError: " + ESCAPED in texts[1]
    assert all(ESCAPED in text for text in texts.values())
    _image, summary = summary_bundles(study)
    shown = {name: getattr(dashboard, name).value for name in
             ("header", "status", "warnings", "incumbent", "table", "message")}
    shown.update(outputs="".join(texts.values()), summary=summary["text/html"])
    for name, value in shown.items():
        assert PAYLOAD not in value, name
        assert ESCAPED in value, name
    # the failed trial's error, in the table, is escaped too
    assert f"ValueError: {ESCAPED}" in dashboard.table.value


def test_errors_and_tracebacks_of_recorded_studies_are_escaped():
    trials = [trial_record(0, "completed", [0.5], config={"q": PAYLOAD}),
              trial_record(1, "failed", [0.9], error=f"KeyError: {PAYLOAD}",
                           traceback=f"Traceback ...\nKeyError: {PAYLOAD}")]
    record = study_record(trials, name=PAYLOAD, error=f"{PAYLOAD}\nmore", stop_reason=PAYLOAD)
    study = Study.from_record(record)
    dashboard = Dashboard(study)
    dashboard.finish()
    dashboard.outputs.selected_index = 0
    dashboard.output_picker.value = 1
    for name in ("header", "status", "error", "incumbent", "table", "output_view"):
        value = getattr(dashboard, name).value
        assert PAYLOAD not in value and ESCAPED in value, name
    html_summary = summary_bundles(study)[1]["text/html"]
    assert f"StudyFailedError: {ESCAPED}\nmore</pre>" in html_summary
    assert PAYLOAD not in html_summary


def relu(x):
    return max(x, 0.0)


def tanh(x):
    return x


def test_the_best_configuration_is_shown_in_full_and_functions_without_their_address():
    """The incumbent and the summary's best line rounded the configuration to 4 digits (a
    best ``x = 1`` for 0.99987...), and function choices carried their memory address."""
    def fn(config):
        report(acc=(config["act"] is tanh) - abs(config["q"] - 0.3141))

    space = Space({"q": Real(0.1, 1.0), "act": Categorical(relu, tanh)})
    study = make_study(fn, trials=8, space=space, scheduler="fifo", searcher="random")
    study.run()
    best = study.best_trial
    q, act = best.config["q"], best.config["act"].__name__
    assert float(f"{q:.4g}") != q
    dashboard = Dashboard(study)
    dashboard.finish()
    _image, summary = summary_bundles(study)
    for shown in (dashboard.incumbent.value, summary["text/html"]):
        assert f"q = {q!r}" in shown and f"act = &lt;function {act}&gt;" in shown
    assert f"best: trial {best.trial_id}: q={q!r}, act=<function {act}>" in summary["text/plain"]
    for shown in (dashboard.table.value, summary["text/html"], summary["text/plain"]):
        assert " at 0x" not in shown and "function relu" in shown
    # the line of the applied trial and %hpo best show the same values (the line rounded q
    # to 4 digits, %hpo best gave the function's memory address)
    applied = study.apply(namespace={})
    assert f"q={q!r}, act=<function {act}>" in applied, applied
    best_lines = study.best_summary()
    assert f"  q = {q!r}\n  act = <function {act}>" in best_lines, best_lines


def test_a_long_value_is_cut_alike_in_the_summary_and_the_applied_line():
    long = tuple(range(200))
    study = make_study(lambda config: report(acc=len(config["sizes"])), trials=2,
                       space=Space({"sizes": Categorical(long, (1,))}), scheduler="fifo",
                       searcher="grid")
    study.run()
    _image, summary = summary_bundles(study)
    shown = render.config_value(long)
    assert len(shown) == 200 and shown.endswith("…") and shown.startswith("(0, 1, 2")
    assert f"sizes={shown}" in summary["text/plain"]
    assert f"sizes={shown}" in study.apply(namespace={})


# ------------------------------------------------------------ what the user is told
def test_the_stop_reason_is_shown():
    def slow(config):
        for epoch in range(1, 400):
            time.sleep(0.01)
            report(epoch=epoch, acc=config["q"])

    study = make_study(slow, trials=10, scheduler="fifo")
    dashboard = Dashboard(study)
    study.start()
    while not study.trials:
        time.sleep(0.01)
    study.stop("stopped from JupyterLab by alice")
    dashboard.refresh(force=True)
    assert "(stopped from JupyterLab by alice)" in dashboard.status.value
    study.wait()
    dashboard.finish()
    assert "finished (stopped from JupyterLab by alice)" in dashboard.status.value
    with capture_output() as captured:
        dashboard.show_summary()
    assert "stopped from JupyterLab by alice" in captured.outputs[1].data["text/plain"]


def test_time_limit_is_given_as_the_reason():
    def slow(config):
        for epoch in range(1, 1000):
            time.sleep(0.01)
            report(epoch=epoch, acc=config["q"])

    study = make_study(slow, trials=None, time_limit=0.3, scheduler="fifo")
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert "finished (time limit reached)" in dashboard.status.value


def test_problems_are_shown_in_a_warning_area():
    study = make_study(trials=4)
    study.notify_problem("storage trouble: database is locked")  # before the dashboard
    dashboard = Dashboard(study)
    assert "database is locked" in dashboard.warnings.value
    study.start()
    for i in range(8):
        study.notify_problem(f"storage trouble #{i}")
    study.wait()
    dashboard.finish()
    warnings = dashboard.warnings.value
    assert "storage trouble #7" in warnings and "storage trouble #3" in warnings
    assert "storage trouble #2" not in warnings  # only the latest are listed ...
    assert f"and {9 - render.PROBLEMS_SHOWN} earlier" in warnings  # ... and the rest counted
    assert dashboard.problem_count == 9


def test_no_warning_area_without_problems():
    study = make_study(trials=3)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert dashboard.warnings.value == ""


def test_a_loaded_study_shows_a_static_dashboard():
    live = make_study(trials=6)
    live.run()
    study = Study.from_record(live.snapshot())
    assert study.executor is None
    dashboard = Dashboard(study, on_apply_best=lambda: "applied")
    with capture_output() as captured:
        dashboard.display()
        dashboard.finish()
        dashboard.show_summary()
    assert "loaded from storage" in dashboard.header.value
    assert "hyperband" in dashboard.header.value and "6 trials" in dashboard.header.value
    assert dashboard.stop_study_button.disabled and dashboard.stop_trial_button.disabled
    assert "6/6 trials" in dashboard.status.value
    assert bytes(dashboard.curves.value).startswith(b"\x89PNG")
    assert dashboard.refresh() is False
    dashboard.stop_study()
    assert "nothing to stop" in dashboard.message.value
    dashboard.apply_button.click()
    assert dashboard.message.value == "applied"
    assert len(captured.outputs) == 3


# ------------------------------------------------------------------------- buttons
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
    assert study.stop_reason == "stopped from the dashboard"
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
    assert dashboard.message.value == ("stopping trial 1 at its next report (click again to "
                                       "end it now)")
    while study.trials[1].status.value != "cancelled":
        time.sleep(0.01)
    dashboard.refresh(force=True)  # trial 0 still runs: the message says what happened
    assert dashboard.message.value == "trial 1 stopped"
    # the table says it in the same refresh (its old row stayed "running" for up to 3 s)
    assert "1 cancelled" in dashboard.status.value
    statuses = dict(zip(table_ids(dashboard.table.value),
                        table_column(dashboard.table.value, 1)))
    assert statuses["1"] == "cancelled"
    release.set()
    assert study.wait(30)
    assert study.trials[0].status.value == "completed"
    dashboard.finish()  # the status line says how the study ended: no stale "trial 1 stopped"
    assert dashboard.message.value == ""


def hanging_study(trials: int):
    """A started study whose first trial reports once and then computes in Python for good
    (a thread trial a graceful stop waits for), its dashboard, and an event set when that
    trial's code has ended."""
    ended = threading.Event()

    def hangs(config):
        report(epoch=1, acc=config["q"])
        try:
            while True:  # never reports again
                pass
        finally:
            ended.set()

    study = make_study(hangs, trials=trials, workers=1, scheduler="fifo")
    dashboard = Dashboard(study)
    study.start()
    while not study.trials or not study.trials[0].reports:
        time.sleep(0.01)
    return study, dashboard, ended


def test_a_second_click_on_stop_trial_ends_a_thread_trial_that_does_not_report():
    study, dashboard, ended = hanging_study(trials=1)
    dashboard.refresh(force=True)
    dashboard.trial_picker.value = 0
    dashboard.stop_trial_button.click()
    time.sleep(0.3)
    assert not ended.is_set()  # the first click waits for its next report
    dashboard.stop_trial_button.click()
    assert dashboard.message.value == "stopping trial 0 now"
    assert ended.wait(10) and study.wait(10)
    assert study.trials[0].status.value == "cancelled"
    assert [r["acc"] for r in study.trials[0].reports] == [study.trials[0].config["q"]]


def test_a_second_click_on_stop_study_ends_a_thread_trial_that_does_not_report():
    study, dashboard, ended = hanging_study(trials=3)
    dashboard.stop_study_button.click()
    assert dashboard.message.value == ("stopping: running trials stop at their next report "
                                       "(click again to end them now)")
    time.sleep(0.3)
    assert not ended.is_set() and not study.done  # the first click waits for its next report
    dashboard.stop_study_button.click()
    assert dashboard.message.value == "stopping now: the code of the running trials is ended"
    assert ended.wait(10) and study.wait(10)
    assert [t.status.value for t in study.trials] == ["cancelled"]  # no trial started after
    assert [r["acc"] for r in study.trials[0].reports] == [study.trials[0].config["q"]]


def test_the_trial_picker_never_moves_to_another_trial_by_itself():
    clock = Clock()
    study = ChurningStudy(workers=3)
    dashboard = Dashboard(study, clock=clock)
    picked = dashboard.trial_picker.options[0]
    dashboard.trial_picker.value = picked
    for _ in range(10):  # the picked trial ends, others start
        clock.advance(5)
        dashboard.refresh()
    assert picked not in dashboard.trial_picker.options
    assert dashboard.trial_picker.value is None  # not some other trial, stopped by mistake
    assert dashboard.stop_trial_button.disabled
    dashboard.stop_trial_button.click()  # a click the frontend sent before it was disabled
    assert dashboard.message.value == "choose a running trial in the menu first"


def test_stop_trial_is_enabled_only_while_a_running_trial_is_chosen():
    """Running trials listed but none chosen: the button is disabled (it used to be enabled
    and answer "no running trial to stop" while the status said "2 running")."""
    clock = Clock()
    study = ChurningStudy(workers=2)
    dashboard = Dashboard(study, clock=clock)
    clock.advance(5)
    dashboard.refresh()
    assert len(dashboard.trial_picker.options) == 2 and dashboard.trial_picker.value is None
    assert "2 running" in dashboard.status.value
    assert dashboard.stop_trial_button.disabled
    dashboard.trial_picker.value = dashboard.trial_picker.options[-1]  # the user chooses
    assert not dashboard.stop_trial_button.disabled  # at once, not at the next refresh
    dashboard.trial_picker.value = None
    assert dashboard.stop_trial_button.disabled
    dashboard.trial_picker.value = picked = dashboard.trial_picker.options[-1]
    for _ in range(3):  # the chosen trial ends: unselected and disabled in the same refresh
        clock.advance(5)
        dashboard.refresh()
    assert picked not in dashboard.trial_picker.options
    assert dashboard.trial_picker.value is None and dashboard.stop_trial_button.disabled


def test_the_end_of_a_stopped_study_clears_the_stopping_message():
    """"stopping: ..." is true only until the study ends; the final dashboard (a
    --background one too) says why it ended in its status line, not "stopping"."""
    def slow(config):
        for epoch in range(1, 200):
            time.sleep(0.01)
            report(epoch=epoch, acc=config["q"])

    study = make_study(slow, trials=50, scheduler="fifo")
    dashboard = Dashboard(study, interval=0.05)
    study.start()
    dashboard.start_background_refresh(period=0.02)
    while len(study.trials) < 2:
        time.sleep(0.01)
    dashboard.stop_study_button.click()
    assert dashboard.message.value.startswith("stopping")
    assert study.wait(30)
    dashboard._refresher.join(10)
    assert "stopped from the dashboard" in dashboard.status.value
    assert dashboard.message.value == ""


def test_apply_best_button_calls_back_and_shows_the_escaped_message():
    study = make_study(trials=3)
    applied = []
    dashboard = Dashboard(study, on_apply_best=lambda: applied.append(1) or "applied <q>")
    study.run()
    dashboard.apply_button.click()
    assert applied == [1]
    assert dashboard.message.value == "applied &lt;q&gt;"


def test_table_is_sortable():
    def fn(config):
        report(acc={"low": 0.2, "high": 0.9}[config["name"]])

    space = Space({"name": Categorical("low", "high")})
    study = make_study(fn, trials=6, space=space, scheduler="fifo", searcher="grid")
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    names = table_column(dashboard.table.value, 2)
    assert names.index("high") < names.index("low")  # best metric first
    dashboard.sort_by.value = "trial"
    assert table_ids(dashboard.table.value) == [str(i) for i in range(len(study.trials))]


# ------------------------------------------------------------------ curves, output
def test_curves_mark_stopped_trials_and_the_incumbent():
    study = make_study(trials=30, workers=4)
    study.run()
    figure = curves_module.curves_figure(study)
    lines = {line.get_gid(): line for line in figure.axes[0].get_lines()}
    assert len(lines) == 30  # few trials: every one is drawn
    assert figure.axes[0].get_title(loc="left") == ""
    best = lines[f"trial-{study.best_trial.trial_id}"]
    assert best.get_linewidth() > 2 and best.get_color() == "black"
    stopped = [t for t in study.trials if t.status.value == "stopped"]
    assert stopped
    for trial in stopped:
        assert lines[f"trial-{trial.trial_id}"].get_linestyle() == "--"
        assert len(lines[f"trial-{trial.trial_id}"].get_xdata()) < 9
    assert figure.axes[0].get_xlabel() == "epoch" and figure.axes[0].get_ylabel() == "acc"


def test_one_result_per_trial_is_drawn_against_the_trial_number():
    def reward(config):
        return config["q"]

    study = Study(FunctionObjective(reward, "acc"), Space({"q": Real(0, 1)}), metric="acc",
                  mode="max", trials=12, seed=0)
    study.run()
    axes = curves_module.curves_figure(study).axes[0]
    lines = {line.get_gid(): line for line in axes.get_lines()}
    assert axes.get_xlabel() == "trial"
    points = lines["status-completed"]
    assert sorted(points.get_xdata()) == list(range(12))
    assert dict(zip(points.get_xdata(), points.get_ydata())) == {
        t.trial_id: t.reports[-1]["acc"] for t in study.trials}
    best_so_far = list(lines["best-so-far"].get_ydata())
    assert best_so_far == sorted(best_so_far) and best_so_far[-1] == study.best_value


def two_values(config):
    for epoch in range(1, 10):
        report(epoch=epoch, acc=1 - 1.8 ** -(config["q"] * epoch), train_loss=config["q"] / epoch,
               note="text")


def test_the_curves_menu_draws_another_reported_value_and_the_summary_the_metric():
    study = make_study(two_values, trials=8)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    menu = dashboard.curve_values
    assert menu.options == ("acc", "train_loss") and menu.value == "acc"  # numbers only
    assert menu.layout.display is None  # shown: there is a choice
    metric_png = bytes(dashboard.curves.value)
    menu.value = "train_loss"  # as a click in the frontend does
    assert bytes(dashboard.curves.value) != metric_png
    axes = curves_module.curves_figure(dashboard.digest).axes[0]
    assert axes.get_ylabel() == "train_loss"
    best = study.best_trial
    line = {ln.get_gid(): ln for ln in axes.get_lines()}[f"trial-{best.trial_id}"]
    assert list(line.get_ydata()) == [r["train_loss"] for r in best.reports]
    assert line.get_label() == f"best by acc: trial {best.trial_id}"
    with capture_output() as captured:  # a saved notebook keeps the metric's curves
        dashboard.show_summary()
    image = captured.outputs[0].data["image/png"]
    assert base64.b64decode(image) == curves_module.curves_png(study)
    menu.value = "acc"
    assert bytes(dashboard.curves.value) == metric_png


def test_the_curves_stay_those_of_the_menus_choice_after_the_summary():
    """The summary drew the metric's curves by switching the dashboard to them: the next
    redraw (a new sort order) showed the metric's curves under a menu that said train_loss."""
    study = make_study(two_values, trials=6)
    clock = Clock()
    dashboard = Dashboard(study, clock=clock)
    run_with(dashboard, study, clock)
    dashboard.curve_values.value = "train_loss"
    chosen_png = bytes(dashboard.curves.value)
    with capture_output() as captured:
        dashboard.show_summary()
    assert base64.b64decode(captured.outputs[0].data["image/png"]) == \
        curves_module.curves_png(study)  # the summary: the metric's
    clock.advance(60)
    dashboard.sort_by.value = "duration"
    assert dashboard.curve_values.value == "train_loss"
    assert bytes(dashboard.curves.value) == chosen_png


def test_the_curves_menu_is_hidden_without_a_choice():
    one = make_study(trials=4)
    dashboard = Dashboard(one)
    run_with(dashboard, one)
    assert dashboard.curve_values.options == ("acc",)
    assert dashboard.curve_values.layout.display == "none"


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
    assert failed.trial_id in dashboard.output_picker.options
    dashboard.output_picker.value = failed.trial_id
    assert dashboard.output_view.value == ""  # the view is closed: nothing is sent
    dashboard.outputs.selected_index = 0
    assert "hello from q=" in dashboard.output_view.value
    assert "ValueError: q too large" in dashboard.output_view.value
    dashboard.output_picker.value = ok.trial_id
    assert f"hello from q={ok.config['q']:.3f}" in dashboard.output_view.value
    assert "Traceback" not in dashboard.output_view.value


def test_long_output_is_cut_to_its_end():
    trial = trial_record(0, "failed", traceback="T" * 50_000)
    text = render.trial_output_text(trial, "a" * 30_000 + "the end")
    assert len(text) < 2 * render.OUTPUT_SHOWN + 200
    assert "earlier characters of the output not shown" in text
    assert "the end" in text and text.endswith("T")


def test_study_error_is_shown_once():
    def broken(config):
        raise KeyError("missing column")

    study = make_study(broken, trials=10, scheduler="fifo")
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    assert study.state == "failed"
    assert dashboard.error.value.count("StudyFailedError") == 1
    assert dashboard.progress.bar_style == "danger"
    # no trial reported a value: the empty plot drawn while it ran is cleared at its end
    assert bytes(dashboard.curves.value) == curves_module.BLANK_PNG


def test_the_summary_of_a_failed_study_says_why_it_failed():
    """A saved notebook's summary of a failed study said "failed" and showed the failed
    trials, but not the study's error: that was only in the text below (the cell's error)."""
    def broken(config):
        raise KeyError("missing column")

    study = make_study(broken, trials=10, scheduler="fifo")
    study.start()
    study.wait()
    _image, summary = summary_bundles(study)
    error = summary["text/html"].split("<pre class='jupyter-hpo-error'", 1)[1].split("</pre>")[0]
    assert "StudyFailedError: the first 3 trials all failed with the same error" in error
    assert "KeyError: &#x27;missing column&#x27;" in error  # the traceback's end
    assert summary["text/html"].index("jupyter-hpo-error") < \
        summary["text/html"].index("jupyter-hpo-table")
    text = summary["text/plain"]
    assert "StudyFailedError: the first 3 trials all failed" in text
    assert "KeyError: 'missing column'" in text
    # where the cell raises that error right below, the summary leaves it out (shown once);
    # no trial reported a value, so there are no curves to draw (an empty plot said nothing)
    curves, below = summary_bundles(study, with_error=False)
    assert curves is None and _image is None
    assert "jupyter-hpo-error" not in below["text/html"] and "Traceback" not in below["text/html"]
    assert "StudyFailedError" not in below["text/plain"] and "Traceback" not in below["text/plain"]
    assert "failed" in below["text/plain"].splitlines()[0]


def test_a_long_study_error_keeps_its_first_line_and_its_end():
    error = "the study loop failed (RuntimeError: boom):\n" + "frame\n" * 5000 + "RuntimeError: boom"
    study = Study.from_record(study_record([trial_record(0, "failed")], state="failed",
                                           error=error))
    text = render.error_text(study)
    assert text.startswith("StudyFailedError: the study loop failed (RuntimeError: boom):\n")
    assert text.endswith("frame\nRuntimeError: boom")
    assert "characters of the error not shown" in text
    assert len(text) < render.ERROR_SHOWN + 200
    assert render.error_text(study_record([trial_record(0, "completed", [0.5])])) == ""
    assert render.error_html(study_record([trial_record(0, "completed", [0.5])])) == ""


def test_static_summary_has_png_html_and_text():
    study = make_study(trials=10)
    dashboard = Dashboard(study)
    run_with(dashboard, study)
    with capture_output() as captured:
        dashboard.show_summary()
    kinds = [set(output.data) for output in captured.outputs]
    assert kinds == [{"image/png", "text/plain"}, {"text/html", "text/plain"}]
    image, table = summary_bundles(study)
    assert base64.b64decode(image["image/png"]).startswith(b"\x89PNG")
    assert "jupyter-hpo-table" in table["text/html"]
    best = study.best_trial
    assert f"best: trial {best.trial_id}: q={best.config['q']!r}" in table["text/plain"]


def test_the_summary_curves_are_transparent_with_an_edged_incumbent():
    """The summary's PNG was opaque white: a bright rectangle in a dark theme (frontends show
    an output image as drawn). Its background is transparent, its text grey (readable on
    white and on dark backgrounds) and the incumbent black on a white edge."""
    import io

    from PIL import Image

    study = make_study(trials=6)
    study.run()
    image, _table = summary_bundles(study)
    png = Image.open(io.BytesIO(base64.b64decode(image["image/png"]))).convert("RGBA")
    assert png.getpixel((0, 0))[3] == 0 and png.getpixel((png.width - 1, png.height - 1))[3] == 0
    axes = curves_module.curves_figure(study).axes[0]
    assert axes.xaxis.label.get_color() == curves_module.TEXT_GREY
    best = next(line for line in axes.get_lines()
                if line.get_gid() == f"trial-{study.best_trial.trial_id}")
    assert best.get_color() == "black" and best.get_path_effects()


def test_background_refresh_finishes_the_dashboard():
    study = make_study(trials=10)
    dashboard = Dashboard(study, interval=0.05)
    study.start()
    dashboard.start_background_refresh(period=0.02)
    assert study.wait(30)
    dashboard._refresher.join(10)
    assert not dashboard._refresher.is_alive()
    assert dashboard.stop_study_button.disabled
    assert dashboard.progress.value == 1.0 and "10/10 trials" in dashboard.status.value


def test_progress_estimates_time_left_from_the_budget():
    study = make_study(trials=4)
    assert render.progress(study) == (0.0, None)
    record = study_record([trial_record(0, "completed", [0.1]),
                           trial_record(1, "running", [0.2])], state="running")
    record = dataclasses.replace(record, settings={"trials": 4})
    assert render.progress(record) == (0.25, pytest.approx(36.0))  # 12 s for a quarter
    study.run()
    assert render.progress(study) == (1.0, 0.0)
    assert render.format_duration(3725) == "1:02:05" and render.format_duration(65) == "1:05"
