"""The live dashboard of a study: progress, curves, incumbent, table, buttons, trial output.

What it costs is bounded whatever the number of trials and the rate of reports (measured in
``benchmarks/dashboard_overhead.py``):

- Study events only mark the view dirty (cheap, in the trial's thread). ``refresh()`` does
  the work at most once per ``interval`` seconds and reads one ``study.snapshot()`` per
  refresh; a :class:`~.digest.StudyDigest` reads each finished trial once.
- Every widget assignment is a message to the frontend, so a widget is only given a value
  that differs from the one it shows, and updates are paid from a token bucket: at most
  ``burst`` at once and ``max_rate`` a second on average, the longest-waiting first. In any
  ``t`` seconds the refreshes send at most ``burst + max_rate * t`` widget messages.
- The curves are redrawn only when what they show changed, at most every
  ``curves_interval`` seconds and less often when drawing is slow (at most ``cpu_share`` of the
  time goes to drawing). The table follows the study's events as the status line does: it is
  redrawn in the refresh that sees a trial start, report, end or become the best (so at most
  once per ``interval``, and once more at the end), and every ``table_interval`` seconds
  while only the running trials' durations changed; the status line, the best trial and the
  table are sent together or wait together, so they never disagree. The trial output follows
  every ``table_interval`` seconds, only while its view is open.
- What is drawn and listed is bounded (see :mod:`.curves` and :mod:`.render`), at the end of
  the study too: the final redraw and the static summary draw the same bounded figure once.
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
from .curves import BLANK_PNG, curves_png, load_matplotlib
from .digest import StudyDigest, trial_of
from .summary import curves_bundle, results_bundle, summary_bundles

__all__ = ["Dashboard", "summary_bundles"]

_SORT_OPTIONS = [("best metric", "metric"), ("trial id", "trial"), ("duration", "duration")]
_PICKED = 100  # trials listed at most in each trial picker
# When two updates have waited equally long, the first of these goes first.
_PRIORITY = ("error", "header", "status", "progress", "problems", "stop_study", "stop_trial",
             "trial_picker", "incumbent", "curves", "curve_values", "table", "output_picker",
             "output_view")
_PICKERS = ("trial_picker", "output_picker", "curve_values")
_TOGETHER = ("status", "incumbent", "table")  # sent in the same refresh, or none of them
_BUTTONS = ("stop_study", "stop_trial")


_DARK_PAGES = ("body[data-jp-theme-light='false']", "body.vscode-dark",
               "body[data-vscode-theme-kind='vscode-high-contrast']")
"""How a page says that its theme is dark: JupyterLab 4 and Notebook 7 mark
``<body data-jp-theme-light="false">``; VS Code's notebook webview, which has no such marker,
gives its body the class ``vscode-dark`` in a dark theme and ``data-vscode-theme-kind=
"vscode-high-contrast"`` in the dark high-contrast one (whose class, ``vscode-high-contrast``,
the light high-contrast theme carries too)."""

_STYLE = ("<style>" + ", ".join(f"{page} .jupyter-hpo-curves" for page in _DARK_PAGES)
          + " {filter: invert(1) hue-rotate(180deg)} " + render.TABLE_CSS + "</style>")
"""The dashboard's style, in a hidden widget sent once: the results table's (its updates
carry only class names, ``render.table_html(..., inline=False)``) and the curves'. The curves
are a PNG drawn in the kernel, which does not know the frontend's theme: in a dark theme
(``_DARK_PAGES``) the page shows it with its lightness inverted and its hues kept, so the grey
text gets lighter, the incumbent, drawn black, white, and the colours lighter shades of theirs
(the background is transparent and stays the page's); elsewhere it is shown as drawn, which
reads on light and dark backgrounds alike (see :mod:`.curves`)."""


def _keep_width() -> Any:
    """A button's layout: it keeps its width (and its label) in a row that is too narrow."""
    return w.Layout(flex="0 0 auto")


class Dashboard:
    """Widgets for one study, live or loaded. Build and display it on the kernel's main
    thread; ``refresh()`` may be called as often as one likes (it decides when to redraw)."""

    def __init__(self, study: Any, on_apply_best: Callable[[], str | None] | None = None,
                 header: str | Callable[[], str] = "", interval: float = 1.0,
                 fallback_interval: float = 10.0, *,
                 max_rate: float = 3.0, burst: int = 6, curves_interval: float = 2.0,
                 table_interval: float = 3.0, cpu_share: float = 0.03,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.study = study
        self.on_apply_best = on_apply_best
        self.interval, self.fallback_interval = interval, fallback_interval
        self.max_rate, self.burst = max_rate, burst
        self.curves_interval, self.table_interval = curves_interval, table_interval
        self.cpu_share = cpu_share
        self.live = getattr(study, "executor", None) is not None
        self.renders = 0  # refreshes that read a snapshot
        self.updates = 0  # widget updates sent (each one a message to the frontend)
        self.drawings = 0  # curve figures drawn
        self.events = 0
        self.problems: list[str] = list(getattr(study, "problems", None) or ())
        self.problem_count = len(self.problems)
        self.digest = StudyDigest(study.metric, study.direction, study.resource)
        self._clock = clock
        self._lock = threading.RLock()
        self._dirty = False
        self._finished = False
        self._tokens = float(burst)
        self._token_time = clock()
        self._next_refresh = 0.0
        self._stale: dict[str, float] = {}
        self._curves_due = 0.0
        self._table_due = 0.0
        self._table_state: tuple | None = None  # what the table shows: sort order, trials
        self._drawn: tuple | None = None  # what the curves image shows
        self._png: bytes = b""
        self._fallback_due = 0.0
        self._fallback_text = ""
        self._display_id: str | None = None
        self._reserved: list[_Placeholders] = []  # cells whose summary the end fills in
        #: once finished: the summary's bundles, with and without why the study failed
        self._summary: dict[bool, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        self._refresher: threading.Thread | None = None
        self._listing_values = False  # the curves' menu is being given its options
        self._listing_trials = False  # the trial menu is being given its options
        self._transient = False  # the message line says what happens until the study ends
        self._stopping_trial: int | None = None  # the trial Stop trial stops, until it ends
        self._stopping_study = False  # Stop study was clicked: a second click forces
        self.digest.update(study.snapshot())
        self._header_text = header if callable(header) else (lambda: header)
        self._build()
        self._unsubscribe = study.subscribe(self._on_event) if self.live else (lambda: None)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        now = self._clock()
        want = self._wanted(now, everything=True)

        def initial(slot: str) -> Any:
            return want[slot][1]

        self.header = w.HTML(initial("header"))
        value, style = initial("progress")
        self.progress = w.FloatProgress(value=value, min=0.0, max=1.0, bar_style=style,
                                        layout=w.Layout(width="40%", min_width="160px"))
        self.status = w.HTML(initial("status"), layout=w.Layout(flex="1 1 16em"))
        self.error = w.HTML(initial("error"))
        self.warnings = w.HTML(initial("problems"))
        self.curves = w.Image(value=BLANK_PNG, format="png",  # drawn at the first refresh
                              layout=w.Layout(max_width="640px"))
        self.curves.add_class("jupyter-hpo-curves")
        style = w.HTML(_STYLE, layout=w.Layout(display="none"))
        values = initial("curve_values")
        self.curve_values = w.Dropdown(  # another reported value's curves (train_loss, ...)
            options=values, value=self.digest.metric, description="curves of",
            layout=w.Layout(width="240px", display=None if len(values) > 1 else "none"))
        self.incumbent = w.HTML(initial("incumbent"))
        self.sort_by = w.Dropdown(options=_SORT_OPTIONS, value="metric", description="sort by",
                                  layout=w.Layout(width="220px"))
        self.table = w.HTML(initial("table"))
        self.stop_study_button = w.Button(description="Stop study", button_style="danger",
                                          icon="stop", disabled=initial("stop_study"),
                                          layout=_keep_width(),
                                          tooltip="no new trials; running ones stop at their "
                                                  "next report")
        self.trial_picker = w.Dropdown(options=initial("trial_picker"), value=None,
                                       description="trial",  # nothing chosen by itself
                                       layout=w.Layout(width="160px", flex="0 0 auto"))
        self.stop_trial_button = w.Button(description="Stop trial", button_style="warning",
                                          disabled=initial("stop_trial"), layout=_keep_width(),
                                          tooltip="stop the trial chosen in the menu at its "
                                                  "next report (choose a running trial first)")
        self.apply_button = w.Button(description="Apply best", button_style="success",
                                     layout=_keep_width(),
                                     tooltip="put the best trial's variables into the notebook")
        self.message = w.HTML()
        self.output_picker = w.Dropdown(options=initial("output_picker"), value=None,
                                        description="output of", layout=w.Layout(width="180px"))
        self.output_view = w.HTML()
        output_box = w.VBox([self.output_picker, self.output_view])
        self.outputs = w.Accordion(children=[output_box], selected_index=None)
        self.outputs.set_title(0, "Trial output and tracebacks")
        self._table_due = now + self.table_interval
        self._next_refresh = now + self.interval  # the widgets show the study as it is now
        self._stale = {"curves": now}

        self.stop_study_button.on_click(lambda _: self.stop_study())
        self.stop_trial_button.on_click(lambda _: self.stop_trial())
        self.apply_button.on_click(lambda _: self.apply_best())
        self.trial_picker.observe(lambda _: self._trial_chosen(), names="value")
        self.sort_by.observe(lambda _: self._redraw("table"), names="value")
        self.curve_values.observe(lambda change: self._draw_value(change["new"]), names="value")
        self.output_picker.observe(lambda _: self._redraw("output_view"), names="value")
        self.outputs.observe(lambda _: self._redraw("output_view"), names="selected_index")

        # rows wrap in a narrow output area (a narrow window, a side-by-side view): the
        # buttons keep their width and labels instead of being squeezed to slivers
        buttons = w.HBox([self.stop_study_button, self.trial_picker, self.stop_trial_button,
                          self.apply_button, self.message], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([
            style, self.header,
            w.HBox([self.progress, self.status], layout=w.Layout(flex_flow="row wrap")),
            self.error, self.warnings, buttons,
            w.HBox([w.VBox([self.curve_values, self.curves]), self.incumbent],
                   layout=w.Layout(flex_flow="row wrap")),
            self.sort_by, self.table,
            self.outputs,
        ])

    def _header_html(self) -> str:
        """Study, scheduler, searcher, budget and executor; the scheduler's part may change
        while the study runs (the ``auto`` scheduler says when and why it adapts)."""
        study = self.study
        header = self._header_text()
        parts = [f"<b>jupyter_hpo · {html.escape(study.name)}</b>"]
        if not header:
            header = render.describe_settings(study)
        if header:
            parts.append(html.escape(header))
        executor = getattr(study, "executor", None)
        if executor is None:
            parts.append("loaded from storage (read-only)")
        else:
            note = {"thread": " (trials share the GIL)",
                    "process": " (each trial in its own process)"}.get(executor.name, "")
            gpus = sorted({s.label for s in executor.slots if s.gpus})
            on = f" on {', '.join(gpus)}" if gpus else ""
            parts.append(f"{html.escape(executor.describe())}{note}{html.escape(on)}")
            link = getattr(executor, "dashboard_link", None)
            if isinstance(link, str) and link.startswith(("http://", "https://")):
                parts.append(f'<a href="{html.escape(link, quote=True)}" target="_blank" '
                             f'rel="noopener">Dask dashboard</a>')
        return " · ".join(parts)

    # ------------------------------------------------------------------ actions
    def stop_study(self) -> None:
        """What the Stop-study button does: stop the study gracefully; a second click while it
        is stopping ends its running trials' code now (as a second interrupt does)."""
        if not self.live or self.study.done:
            self._say("the study has ended; nothing to stop")
            return
        if self._stopping_study:
            self.study.stop("stopped from the dashboard", force=True)
            self._say("stopping now: the code of the running trials is ended", transient=True)
        else:
            self.study.stop("stopped from the dashboard")
            self._say("stopping: running trials stop at their next report (click again to "
                      "end them now)", transient=True)
            self._stopping_study = True
        self.refresh(force=True)

    def stop_trial(self) -> None:
        """What the Stop-trial button does: stop the trial chosen in the picker (a second
        click on a trial that is stopping ends its code now). The button is disabled until a
        running trial is chosen; a click that was sent before the frontend learnt that says
        what to do."""
        trial_id = self.trial_picker.value
        if trial_id is None or not self.live:
            self._say("choose a running trial in the menu first"
                      if self.live and self.trial_picker.options and not self._finished
                      else "no running trial to stop")
            return
        force = trial_id == self._stopping_trial  # a second click: it has not reported since
        if self.study.stop_trial(trial_id, force=force):
            self._say(f"stopping trial {trial_id} now" if force else
                      f"stopping trial {trial_id} at its next report (click again to end it "
                      f"now)", transient=True)
            self._stopping_trial = trial_id
        else:
            self._say(f"trial {trial_id} has already ended")
        self.refresh(force=True)

    def apply_best(self) -> None:
        """What the Apply-best button does."""
        if self.on_apply_best is None:
            self._say("apply is not available here")
            return
        self._say(self.on_apply_best() or "")

    def _say(self, text: str, transient: bool = False) -> None:
        """Show ``text`` next to the buttons; ``transient``: it describes what happens until
        the study ends (``stopping: ...``), so the end of the study clears it."""
        self._transient = transient
        value = html.escape(text)
        if self.message.value != value:
            self._spend()
            self.message.value = value

    # ------------------------------------------------------------------ display
    def display(self) -> None:
        """Show the dashboard with a text/plain fallback for frontends without widgets."""
        self._display_id = f"jupyter-hpo-{id(self)}"
        self._fallback_due = self._clock() + self.fallback_interval
        display(self._bundle(), raw=True, display_id=self._display_id)

    def _bundle(self) -> dict[str, Any]:
        self._fallback_text = render.status_line(self.digest)
        return {"application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id},
                "text/plain": self._fallback_text}

    def _on_event(self, event: Any) -> None:
        self.events += 1
        self._dirty = True
        if event.kind == "problem":
            self.problems.append(str(event.data.get("message", "")))
            self.problem_count += 1
            del self.problems[:-render.PROBLEMS_SHOWN]

    def _draw_value(self, value: str | None) -> None:
        """The user picked the reported value whose curves are drawn: draw them now."""
        if value is None or self._listing_values:
            return
        with self._lock:
            self.digest.set_drawn(value)
            self._curves_due = float("-inf")
            self._redraw("curves")

    def _trial_chosen(self) -> None:
        """The user chose a trial in the menu (or none): the Stop-trial button follows at
        once, whatever the token bucket holds (one message, for a user's action), from the
        trials the menu lists. The menu's own changes (a chosen trial that ended is
        unselected) are part of the refresh that makes them, which sets the button too."""
        if self._listing_trials:
            return
        with self._lock:
            disabled = (self.trial_picker.value not in self.trial_picker.options
                        or self._finished or not self.live)
            if self.stop_trial_button.disabled != disabled:
                self._apply("stop_trial", self.stop_trial_button, disabled)

    def _redraw(self, slot: str) -> None:
        """A user asked for ``slot`` (a new sort order, another trial's output): now."""
        with self._lock:
            self._stale.setdefault(slot, float("-inf"))
            self._table_due = float("-inf")  # the table, the pickers and the output view
            self.refresh(force=True)

    # ------------------------------------------------------------------ refresh
    def refresh(self, force: bool = False) -> bool:
        """Redraw what changed if the last refresh is ``interval`` seconds old (``force``:
        now); True if it read the study. Cheap when it is not time yet."""
        now = self._clock()
        if not force and (now < self._next_refresh or self._finished
                          or (not self._dirty and self.study.done and not self._stale)):
            return False
        with self._lock:
            if self._finished and not force:
                return False
            self._update(now, final=False, debt=force)
            return True

    def _update(self, now: float, final: bool, debt: bool = False) -> None:
        """Read one snapshot and send what changed, as the token bucket allows (``final``:
        everything; ``debt``: a user's action may overdraw the bucket)."""
        self._dirty = False
        self.digest.update(self.study.snapshot())
        self.renders += 1
        self._trial_stopped()
        self._tokens = min(float(self.burst),
                           self._tokens + (now - self._token_time) * self.max_rate)
        self._token_time = now
        want = self._wanted(now, everything=final)
        for slot in [s for s in self._stale if s not in want]:
            del self._stale[slot]
        order = sorted(want, key=lambda s: (self._stale.setdefault(s, now), _PRIORITY.index(s)))
        for slot in order:
            if slot not in self._stale:  # sent with the slots it goes together with
                continue
            slots = [s for s in order if s in _TOGETHER] if slot in _TOGETHER else [slot]
            if not final and self._tokens < len(slots) and not (debt and
                                                                self._tokens > -self.burst):
                break
            for together in slots:
                widget_name, value = want[together]
                self._apply(together, getattr(self, widget_name), value)
                del self._stale[together]
        self._next_refresh = now + self.interval
        if self._display_id is not None and (final or now >= self._fallback_due):
            self._fallback_due = now + self.fallback_interval
            if render.status_line(self.digest) != self._fallback_text and (final or
                                                                            self._tokens >= 1):
                self._spend()
                update_display(self._bundle(), raw=True, display_id=self._display_id)

    def _trial_stopped(self) -> None:
        """Once the trial that Stop trial stops has ended, the message says so instead of
        "stopping trial N at its next report" (which stayed until the study ended)."""
        stopping = self._stopping_trial
        if stopping is None or any(t.trial_id == stopping for t in self.digest.unfinished):
            return
        self._stopping_trial = None
        if self._transient and self.message.value.startswith(f"stopping trial {stopping} "):
            self._say(f"trial {stopping} stopped", transient=True)  # true until the end

    def _spend(self) -> None:
        self._tokens -= 1
        self.updates += 1

    def _apply(self, slot: str, widget: Any, value: Any) -> None:
        if slot == "curves":
            load_matplotlib()  # its first import is not part of what a drawing costs
            started = self._clock()
            value, self._drawn = value()
            finished = self._clock()
            self._png = value
            self.drawings += 1
            self._curves_due = finished + max(self.curves_interval,
                                              (finished - started) / self.cpu_share)
            if bytes(widget.value) == value:
                return
        self._spend()
        if slot == "progress":
            with widget.hold_sync():  # one message
                widget.value, widget.bar_style = value
        elif slot == "curve_values":
            self._listing_values = True  # the menu's own changes are no user's choice
            try:
                with widget.hold_sync():  # one message; shown once there is a choice
                    picked = widget.value
                    widget.options = value
                    widget.value = picked if picked in value else self.digest.metric
                    widget.layout.display = None if len(value) > 1 else "none"
            finally:
                self._listing_values = False
        elif slot in _PICKERS:
            self._listing_trials = slot == "trial_picker"
            try:
                with widget.hold_sync():  # one message; the choice is kept only if listed
                    picked = widget.value
                    widget.options = value
                    widget.value = picked if picked in value else None
            finally:
                self._listing_trials = False
        elif slot in _BUTTONS:
            widget.disabled = value
        else:
            widget.value = value

    def _wanted(self, now: float, everything: bool) -> dict[str, tuple[str, Any]]:
        """The slots whose widget shows something else than it should: slot -> (widget
        attribute, new value or, for the curves, a function that draws them)."""
        digest = self.digest
        record = digest.record
        fraction, _left = render.progress(digest)
        running = [t.trial_id for t in digest.unfinished][:_PICKED]
        # the trial the menu shows once it lists ``running``: a choice is kept while listed
        chosen = getattr(getattr(self, "trial_picker", None), "value", None)
        first_line = record.error.splitlines()[0] if record.error.strip() else ""
        values = {
            "header": ("header", self._header_html()),
            "status": ("status", html.escape(render.status_line(digest))),
            "progress": ("progress", (round(fraction, 2), "info" if not record.done else
                                      "danger" if record.error else "success")),
            "error": ("error", "" if not first_line else
                      f"<pre style='color:#cf222e;white-space:pre-wrap'>StudyFailedError: "
                      f"{html.escape(render.shorten(first_line, 2000))}</pre>"),
            "problems": ("warnings", render.problems_html(self.problems, self.problem_count)),
            "incumbent": ("incumbent", render.incumbent_html(digest)),
            "trial_picker": ("trial_picker", tuple(running)),
            # curves of another reported value: only where trials report more than once
            "curve_values": ("curve_values", digest.values if digest.max_reports > 1
                             else (digest.metric,)),
            "stop_study": ("stop_study_button", self._finished or not self.live),
            # enabled only while a running trial is chosen: a click says which trial stops
            "stop_trial": ("stop_trial_button", chosen not in running or self._finished
                           or not self.live),
        }
        timed = everything or now >= self._table_due
        if timed:
            self._table_due = now + self.table_interval
        sort_by = self.sort_by.value if hasattr(self, "sort_by") else "metric"
        table_state = (sort_by, _table_signature(digest))
        if timed or "table" in self._stale or table_state != self._table_state:
            self._table_state = table_state
            values["table"] = ("table", render.table_html(digest, sort_by=sort_by, inline=False))
            values["output_picker"] = ("output_picker", self._output_choices())
        if (timed or "output_view" in self._stale) and self._output_visible():
            values["output_view"] = ("output_view", self._output_html())
        drawn = _curves_signature(digest)
        if drawn != self._drawn and (everything or now >= self._curves_due):
            # a study that ended without a value of its metric: an empty plot says nothing
            empty = record.done and digest.drawn == digest.metric and not digest.has_values()
            values["curves"] = ("curves",
                                lambda: (BLANK_PNG if empty else curves_png(digest), drawn))
        if not hasattr(self, "widget"):  # building: every value is the initial one
            return values
        return {slot: (name, value) for slot, (name, value) in values.items()
                if slot == "curves" or _shows(getattr(self, name), slot) != value}

    def _output_choices(self) -> tuple[int, ...]:
        """A bounded list of trials worth reading: the running ones, the best, the latest
        failures, and the one picked."""
        digest = self.digest
        record = digest.record
        chosen = {t.trial_id for t in digest.unfinished[:_PICKED // 2]}
        chosen.update(digest.best_finished(10))
        chosen.update(digest.failed[-10:])
        best = render.best_trial(record)
        if best is not None:
            chosen.add(best.trial_id)
        picked = getattr(getattr(self, "output_picker", None), "value", None)
        if picked is not None:
            chosen.add(picked)
        return tuple(sorted(chosen))

    def _output_visible(self) -> bool:
        return hasattr(self, "outputs") and self.outputs.selected_index == 0 \
            and self.output_picker.value is not None

    def _output_html(self) -> str:
        trial_id = self.output_picker.value
        trial = trial_of(self.digest.record, trial_id)
        if trial is None:
            return ""
        text = render.trial_output_text(
            trial, self.study.trial_output(trial_id, tail=render.OUTPUT_SHOWN))
        return (f"<pre style='max-height:300px;overflow:auto;white-space:pre-wrap'>"
                f"{html.escape(text)}</pre>")

    # ----------------------------------------------------------------- lifecycle
    def start_background_refresh(self, period: float = 0.5) -> None:
        """Keep redrawing from a daemon thread while the study runs in the background (one
        thread however often the dashboard is shown again)."""
        if self._refresher is not None and self._refresher.is_alive():
            return

        def loop() -> None:
            while not self.study.done:
                self.study.wait(period)
                self.refresh()
            self.finish()

        self._refresher = threading.Thread(target=loop, name=f"hpo-dashboard-{self.study.name}",
                                           daemon=True)
        self._refresher.start()

    def finish(self) -> None:
        """Final redraw (bounded like every other); the stop buttons are disabled and a
        message about the stop under way (``stopping: ...``) is cleared: it has happened,
        and the status line says why the study ended. The placeholders of
        ``reserve_summary`` get the static summary. Called by whichever sees the end first:
        the background refresh thread, or the main thread joining the study; the other
        waits for it here."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._unsubscribe()
            self._update(self._clock(), final=True)
            if self._transient:
                self._say("")
            self._fill_placeholders()

    def show_summary(self, with_error: bool = True) -> None:
        """Display a static summary (PNG of the curves, HTML table, text) that a saved
        notebook keeps without a kernel; it reuses the final drawing. It shows the metric's
        curves (none when no trial reported the metric); the live curves stay those the menu
        has chosen. Without ``with_error`` it leaves out why the study failed, for a cell
        that raises that error right after (it is shown once). Placeholders of
        ``reserve_summary`` are filled again from this cell, for frontends that take a
        display's update only from the cell that runs (nbclient); they say why."""
        with self._lock:
            bundles = self._summary_bundles(with_error)
            self._fill_placeholders()
        for bundle in bundles:
            if bundle is not None:
                display(bundle, raw=True)

    def reserve_summary(self) -> None:
        """Display placeholders in the cell that runs now (a ``--background`` cell, or
        ``%hpo show`` of a running study) that the end of the study replaces with the static
        summary, so that cell's saved output shows how the study ended whether or not it is
        ever joined. Call on the main thread; the placeholders are filled by ``finish``."""
        placeholders = _Placeholders(tuple(
            f"jupyter-hpo-summary-{id(self)}-{len(self._reserved)}-{part}" for part in range(2)))
        waiting = (f"(the summary of {self.study.name}, its curves and results, is shown "
                   f"here when it ends)")
        for display_id, text in zip(placeholders.ids, (waiting, "")):
            display({"text/plain": text}, raw=True, display_id=display_id)
        with self._lock:
            self._reserved.append(placeholders)
            if self._finished:  # it ended meanwhile
                self._fill_placeholders()

    def _summary_bundles(self, with_error: bool = True
                         ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Under the lock: the summary's display bundles (see ``summary_bundles``), drawn
        once the dashboard has finished (the study's end is then fixed). The curves are drawn
        with matplotlib's object-oriented API (a Figure on an Agg canvas, no pyplot), as
        every refresh draws them, so this may run in the refresh thread."""
        if with_error in self._summary:
            return self._summary[with_error]
        other = self._summary.get(not with_error)
        if other is not None:
            curves = other[0]  # the same for both
        else:
            chosen = self.digest.drawn
            self.digest.set_drawn(self.digest.metric)
            png = self._png if self._drawn == _curves_signature(self.digest) else None
            try:
                curves = curves_bundle(self.digest, png)
            finally:
                self.digest.set_drawn(chosen)
        bundles = curves, results_bundle(self.digest, with_error)
        if self._finished:
            self._summary[with_error] = bundles
        return bundles

    def _fill_placeholders(self) -> None:
        """Under the lock, once finished: put the summary into every reserved placeholder,
        once per cell that runs when it is called. JupyterLab 4 and Notebook 7 update a
        display wherever it is shown, whatever cell's message updates it (and after its cell
        has ended); nbclient reads only the messages of the cell it runs, so the end seen
        while no cell runs reaches it only when ``%hpo wait`` or ``%hpo show`` fill the
        placeholders again (``show_summary``)."""
        if not self._reserved or not self._finished:
            return
        bundles = self._summary_bundles()
        running = _running_request()
        for placeholders in self._reserved:
            if running in placeholders.filled_from:
                continue
            placeholders.filled_from.add(running)
            for display_id, bundle in zip(placeholders.ids, bundles):
                update_display(bundle or {"text/plain": ""}, raw=True, display_id=display_id)


class _Placeholders:
    """Displays reserved for the summary (the curves, the results), and the requests (cells)
    whose messages have filled them."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        self.ids = ids
        self.filled_from: set[str | None] = set()


def _running_request() -> str | None:
    """The id of the request (cell) that a display made now answers: in the main thread the
    cell that runs, in another thread the latest cell the kernel started; None outside a
    kernel."""
    from IPython import get_ipython

    header = getattr(getattr(get_ipython(), "display_pub", None), "parent_header", None)
    return header.get("msg_id") if isinstance(header, dict) else None


def _shows(widget: Any, slot: str) -> Any:
    """What ``widget`` shows, in the form ``_wanted`` computes it."""
    if slot == "progress":
        return widget.value, widget.bar_style
    if slot in _PICKERS:
        return tuple(widget.options)
    if slot in _BUTTONS:
        return widget.disabled
    return widget.value


def _table_signature(digest: StudyDigest) -> tuple:
    """Changes whenever a trial starts, reports, ends or becomes the best: the events that
    change the table's rows (and the status line) as they happen."""
    best = render.best_trial(digest.record)
    return (digest.total, tuple(sorted(digest.finished_counts.items())),
            None if best is None else (best.trial_id, len(best.reports)),
            tuple((t.trial_id, len(t.reports), t.status.value) for t in digest.unfinished))


def _curves_signature(digest: StudyDigest) -> tuple:
    """Changes whenever the curves would be drawn differently."""
    return (digest.drawn, *_table_signature(digest))
