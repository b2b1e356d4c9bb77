"""The live dashboard of a study: progress, curves, incumbent, table, buttons, trial output.

It only subscribes to study events: an event marks the view dirty (cheap, in the trial's
thread) and ``refresh()`` redraws at most once per ``interval`` seconds, so hundreds of
trials reporting quickly cost one redraw a second, not one per report.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from IPython.display import display, update_display

from . import render

__all__ = ["Dashboard"]

_SORT_OPTIONS = [("best metric", "metric"), ("trial id", "trial"), ("duration", "duration")]


class Dashboard:
    """Widgets for one study. Build and display it on the kernel's main thread."""

    def __init__(self, study: Any, on_apply_best: Callable[[], str | None] | None = None,
                 header: str = "", interval: float = 1.0,
                 fallback_interval: float = 10.0) -> None:
        self.study = study
        self.on_apply_best = on_apply_best
        self.interval = interval
        self.fallback_interval = fallback_interval
        self.renders = 0
        self.events = 0
        self._dirty = True
        self._last_render = 0.0
        self._last_fallback = 0.0
        self._render_cost = 0.0
        self._finished = False
        self._lock = threading.Lock()
        self._display_id: str | None = None
        self._refresher: threading.Thread | None = None
        self._build(header)
        self._unsubscribe = study.subscribe(self._on_event)

    # ------------------------------------------------------------------ widgets
    def _build(self, header: str) -> None:
        executor = self.study.executor
        note = {"thread": " (trials share the GIL)",
                "process": " (each trial in its own process)"}.get(executor.name, "")
        gpus = sorted({s.label for s in executor.slots if s.gpus})
        on = f" on {', '.join(gpus)}" if gpus else ""
        self.header = w.HTML(f"<b>jupyter_hpo · {html.escape(self.study.name)}</b> · "
                             f"{html.escape(header)} · {html.escape(executor.describe())}"
                             f"{note}{on}")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="",
                                        bar_style="info", layout=w.Layout(width="40%"))
        self.status = w.HTML()
        self.error = w.HTML(layout=w.Layout(display="none"))
        self.curves = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.incumbent = w.HTML()
        self.sort_by = w.Dropdown(options=_SORT_OPTIONS, value="metric", description="sort by",
                                  layout=w.Layout(width="220px"))
        self.table = w.HTML()
        self.stop_study_button = w.Button(description="Stop study", button_style="danger",
                                          icon="stop", tooltip="no new trials; running ones "
                                          "stop at their next report")
        self.trial_picker = w.Dropdown(options=[], description="trial",
                                       layout=w.Layout(width="160px"))
        self.stop_trial_button = w.Button(description="Stop trial", button_style="warning",
                                          tooltip="stop the chosen trial at its next report")
        self.apply_button = w.Button(description="Apply best", button_style="success",
                                     tooltip="put the best trial's variables into the notebook")
        self.message = w.HTML()
        self.output_picker = w.Dropdown(options=[], description="trial",
                                        layout=w.Layout(width="160px"))
        self.output_view = w.HTML()
        output_box = w.VBox([self.output_picker, self.output_view])
        self.outputs = w.Accordion(children=[output_box], selected_index=None)
        self.outputs.set_title(0, "Trial output and tracebacks")

        self.stop_study_button.on_click(lambda _: self.stop_study())
        self.stop_trial_button.on_click(lambda _: self.stop_trial())
        self.apply_button.on_click(lambda _: self.apply_best())
        self.sort_by.observe(lambda _: self._mark_and_render(), names="value")
        self.output_picker.observe(lambda _: self._render_output(), names="value")

        buttons = w.HBox([self.stop_study_button, self.trial_picker, self.stop_trial_button,
                          self.apply_button, self.message])
        self.widget = w.VBox([
            self.header, w.HBox([self.progress, self.status]), self.error, buttons,
            w.HBox([self.curves, self.incumbent]), self.sort_by, self.table, self.outputs,
        ])

    # ------------------------------------------------------------------ actions
    def stop_study(self) -> None:
        """What the Stop-study button does."""
        self.study.stop()
        self.message.value = "stopping: running trials stop at their next report"
        self._mark_and_render()

    def stop_trial(self) -> None:
        """What the Stop-trial button does: stop the trial chosen in the picker."""
        trial_id = self.trial_picker.value
        if trial_id is None:
            self.message.value = "no running trial to stop"
            return
        self.study.stop_trial(trial_id)
        self.message.value = f"stopping trial {trial_id} at its next report"
        self._mark_and_render()

    def apply_best(self) -> None:
        """What the Apply-best button does."""
        if self.on_apply_best is None:
            self.message.value = "apply is not available here"
            return
        self.message.value = html.escape(self.on_apply_best() or "")

    # ------------------------------------------------------------------ display
    def display(self) -> None:
        """Show the dashboard with a text/plain fallback for frontends without widgets."""
        self._render()
        self._display_id = f"jupyter-hpo-{id(self)}"
        display(self._bundle(), raw=True, display_id=self._display_id)

    def _bundle(self) -> dict[str, Any]:
        return {"application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id},
                "text/plain": render.status_line(self.study)}

    def _on_event(self, event: Any) -> None:
        self.events += 1
        self._dirty = True

    def _mark_and_render(self) -> None:
        self._dirty = True
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Redraw if something changed and the last redraw is old enough; True if redrawn.

        The wait between redraws grows with their cost, so large studies stay responsive.
        """
        now = time.monotonic()
        wait = max(self.interval, 10 * self._render_cost)
        if not force and (not self._dirty or now - self._last_render < wait):
            self._update_progress()
            return False
        self._render()
        return True

    def _update_progress(self) -> None:
        fraction, _ = render.progress(self.study)
        self.progress.value = fraction
        self.status.value = html.escape(render.status_line(self.study))

    def _render(self) -> None:
        with self._lock:
            started = time.monotonic()
            self._dirty = False
            study = self.study
            self._update_progress()
            if study.error is not None:
                first = str(study.error).splitlines()[0]
                self.error.value = (f"<pre style='color:#cf222e;white-space:pre-wrap'>"
                                    f"StudyFailedError: {html.escape(first)}</pre>")
                self.error.layout.display = None
            self.curves.value = render.curves_png(study)
            self.incumbent.value = render.incumbent_html(study)
            self.table.value = render.table_html(study, sort_by=self.sort_by.value)
            running = [t.trial_id for t in list(study.trials) if not t.status.finished]
            if list(self.trial_picker.options) != running:
                self.trial_picker.options = running
            self.stop_trial_button.disabled = not running or self._finished
            ids = [t.trial_id for t in list(study.trials)]
            if len(self.output_picker.options) != len(ids):
                self.output_picker.options = ids
            self._render_output()
            self.renders += 1
            self._last_render = time.monotonic()
            self._render_cost = self._last_render - started
            if self._display_id and (self._finished or self._last_render - self._last_fallback
                                     >= self.fallback_interval):
                self._last_fallback = self._last_render
                update_display(self._bundle(), raw=True, display_id=self._display_id)

    def _render_output(self) -> None:
        trial_id = self.output_picker.value
        if trial_id is None or trial_id >= len(self.study.trials):
            self.output_view.value = ""
            return
        text = render.trial_output_text(self.study.trials[trial_id],
                                        self.study.trial_output(trial_id))
        self.output_view.value = (f"<pre style='max-height:300px;overflow:auto;"
                                  f"white-space:pre-wrap'>{html.escape(text)}</pre>")

    # ----------------------------------------------------------------- lifecycle
    def start_background_refresh(self, period: float = 0.5) -> None:
        """Keep redrawing from a daemon thread while the study runs in the background."""
        def loop() -> None:
            while not self.study.done:
                self.study.wait(period)
                self.refresh()
            self.finish()

        self._refresher = threading.Thread(target=loop, name=f"hpo-dashboard-{self.study.name}",
                                           daemon=True)
        self._refresher.start()

    def finish(self) -> None:
        """Final redraw; the stop buttons are disabled once the study has ended."""
        if self._finished:
            return
        self._finished = True
        self.stop_study_button.disabled = True
        self.stop_trial_button.disabled = True
        self.progress.bar_style = "danger" if self.study.error is not None else "success"
        self._unsubscribe()
        self._render()

    def show_summary(self) -> None:
        """Display a static summary (PNG of the curves, HTML table, text) that a saved
        notebook keeps without a kernel."""
        for bundle in summary_bundles(self.study):
            display(bundle, raw=True)


def summary_bundles(study: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two display bundles: the curves (image/png) and the results (text/html), each with
    a text/plain fallback."""
    import base64

    png = base64.b64encode(render.curves_png(study)).decode("ascii")
    text = render.text_summary(study)
    table = (f"<div><b>{html.escape(render.status_line(study))}</b></div>"
             f"{render.incumbent_html(study)}{render.table_html(study)}")
    return ({"image/png": png, "text/plain": f"<learning curves of {study.name}>"},
            {"text/html": table, "text/plain": text})
