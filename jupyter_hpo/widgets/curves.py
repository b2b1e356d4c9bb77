"""The learning curves as a matplotlib figure (and PNG), drawing a bounded amount.

Whatever the number of trials and reports, a figure draws at most ``MAX_CURVES`` lines
(every trial's while there are no more) of at most ``CURVE_POINTS`` points each: the incumbent (bold black), the running trials, the best finished ones and an evenly
spaced sample of the others; the title says how many trials are not drawn. A study whose
trials report once is drawn as points against the trial number (at most ``SCATTER_POINTS``)
with the best-so-far line.

The PNG has a transparent background and colours that read on white and on dark
backgrounds alike (text, ticks and frame in ``TEXT_GREY``, the incumbent black with a white
edge), so the static summary a saved notebook keeps is no bright rectangle in a dark theme of
JupyterLab, Notebook 7, VS Code or GitHub, which show an output image as it is drawn. No
``needs_background`` metadata is set: JupyterLab would paint a light background behind it.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING, Any

from ..records import TrialStatus
from .digest import StudyDigest, downsample, trial_of
from .render import best_trial, digest_of

if TYPE_CHECKING:
    from ..records import TrialRecord

__all__ = ["BEST_CURVES", "BLANK_PNG", "CURVE_POINTS", "MAX_CURVES", "RUNNING_CURVES",
           "SAMPLED_CURVES", "SCATTER_POINTS", "TEXT_GREY", "curves_figure", "curves_png",
           "load_matplotlib", "select_curves"]

RUNNING_CURVES = 20
BEST_CURVES = 15
SAMPLED_CURVES = 20
CURVE_POINTS = 200
SCATTER_POINTS = 2000
MAX_CURVES = 1 + RUNNING_CURVES + BEST_CURVES + SAMPLED_CURVES
_SCATTER_BEST = 200  # of which the best values, always drawn
TEXT_GREY = "#767676"
"""The figure's text, ticks and frame: a contrast of 4.5 on white, 3.6 to 4.2 on the dark
backgrounds of JupyterLab (#111111), VS Code (#1f1f1f) and GitHub (#0d1117)."""
_EDGE = "white"  # around the incumbent's black line: it stands out on a dark background too


def _blank_png() -> bytes:
    """A PNG of one transparent pixel, made without matplotlib (not imported yet then)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1 x 1, 8-bit RGBA
    pixels = zlib.compress(b"\x00" + b"\x00" * 4)  # the row's filter byte, then the pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(
        b"IEND", b"")


BLANK_PNG = _blank_png()
"""What the dashboard's curves image shows until their first drawing: an image without
data is shown by browsers as a broken image, for the seconds the first drawing takes."""

_LINE_STYLES = {
    "stopped": {"color": "#8c959f", "linestyle": "--", "linewidth": 0.8, "alpha": 0.7},
    "failed": {"color": "#cf222e", "linestyle": ":", "linewidth": 0.8},
    "cancelled": {"color": "#bf8700", "linestyle": "-.", "linewidth": 0.8, "alpha": 0.7},
    "interrupted": {"color": "#bf8700", "linestyle": "-.", "linewidth": 0.8, "alpha": 0.7},
}
_POINT_COLOURS = {"completed": "#1a7f37", "stopped": "#8c959f", "cancelled": "#bf8700",
                  "failed": "#cf222e", "running": "#0969da", "paused": "#8250df",
                  "interrupted": "#bf8700"}


def select_curves(digest: StudyDigest) -> list[TrialRecord]:
    """The trials whose curves are drawn, the incumbent last (so it is drawn on top): the
    running trials (their best first), the best finished ones, and an evenly spaced sample
    of the rest."""
    record = digest.record
    trials = record.trials
    best = best_trial(record)
    chosen: dict[int, TrialRecord] = {}

    def take(trial: TrialRecord | None) -> None:
        if trial is not None and trial.reports and trial.trial_id not in chosen \
                and (best is None or trial.trial_id != best.trial_id):
            chosen[trial.trial_id] = trial

    if len(trials) <= MAX_CURVES:  # few trials: every one
        for trial in trials:
            take(trial)
        return [*chosen.values(), *([best] if best is not None and best.reports else [])]
    sign = digest.direction.sign
    running = sorted(digest.unfinished, key=lambda t: (
        digest.best_value(t) is None, sign * (digest.best_value(t) or 0.0), t.trial_id))
    for trial in running[:RUNNING_CURVES]:
        take(trial)
    for trial_id in digest.best_finished(BEST_CURVES + 1):
        take(trial_of(record, trial_id))
    n = len(trials)
    if n > len(chosen) + 1:
        for i in range(SAMPLED_CURVES):
            take(trials[round(i * (n - 1) / max(1, SAMPLED_CURVES - 1))])
    out = list(chosen.values())
    if best is not None and best.reports:
        out.append(best)
    return out


def load_matplotlib() -> tuple[Any, Any]:
    """Matplotlib's Figure and Agg canvas (imported on first use: ``%load_ext`` stays fast)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def curves_figure(source: Any, width: float = 7.0, height: float = 3.2, dpi: int = 80) -> Any:
    """Learning curves (a matplotlib Figure) of the digest's drawn value (the metric unless
    the dashboard's menu chose another): running in colour, stopped dashed grey, failed
    dotted red, cancelled dash-dot amber, the incumbent bold black."""
    Figure, FigureCanvasAgg = load_matplotlib()
    digest = digest_of(source)
    figure = Figure(figsize=(width, height), dpi=dpi, facecolor="none")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(facecolor="none")
    if digest.max_reports <= 1:
        _plot_values_by_trial(axes, digest)
        axes.set_ylabel(digest.metric)
    else:
        _plot_curves(axes, digest)
        axes.set_ylabel(digest.drawn)
    axes.grid(alpha=0.3)
    _grey_text(axes)
    figure.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.16)
    return figure


def _grey_text(axes: Any) -> None:
    """Labels, ticks, frame and legend in TEXT_GREY, the legend without a background."""
    axes.tick_params(colors=TEXT_GREY)
    axes.xaxis.label.set_color(TEXT_GREY)
    axes.yaxis.label.set_color(TEXT_GREY)
    for spine in axes.spines.values():
        spine.set_edgecolor(TEXT_GREY)
    legend = axes.get_legend()
    if legend is not None:
        legend.get_frame().set_facecolor("none")
        legend.get_frame().set_edgecolor(TEXT_GREY)
        for text in legend.get_texts():
            text.set_color(TEXT_GREY)


def _edged(width: float) -> list[Any]:
    """Path effects that draw a line over a white edge ``width`` points wider."""
    from matplotlib import patheffects

    return [patheffects.Stroke(linewidth=width, foreground=_EDGE), patheffects.Normal()]


def _plot_curves(axes: Any, digest: StudyDigest) -> None:
    selected = select_curves(digest)
    best = best_trial(digest.record)
    for trial in selected:
        xs, ys = downsample(*digest.curve(trial), CURVE_POINTS)
        if not xs:
            continue
        if best is not None and trial.trial_id == best.trial_id:
            by = "" if digest.drawn == digest.metric else f" by {digest.metric}"
            axes.plot(xs, ys, color="black", linewidth=2.4, gid=f"trial-{trial.trial_id}",
                      marker="o" if len(xs) == 1 else None, path_effects=_edged(4.4),
                      label=f"best{by}: trial {trial.trial_id}")
            axes.legend(loc="best", fontsize=8)
            continue
        style = _LINE_STYLES.get(trial.status.value,
                                 {"color": f"C{trial.trial_id % 10}", "linestyle": "-",
                                  "linewidth": 1.0, "alpha": 0.8})
        axes.plot(xs, ys, marker="." if len(xs) == 1 else None, gid=f"trial-{trial.trial_id}",
                  **style)
    digest.keep_curves(t.trial_id for t in selected)
    hidden = digest.total - len(selected)
    if hidden > 0:
        title = axes.set_title(f"{hidden:,} of {digest.total:,} trials not drawn (drawn: the "
                               f"best, running, {BEST_CURVES} next best, a sample)",
                               loc="left", fontsize=8, color=TEXT_GREY)
        title.set_gid("not-drawn")
    axes.set_xlabel(digest.resource if digest.has_resource else "report")


def _plot_values_by_trial(axes: Any, digest: StudyDigest) -> None:
    """Studies with one result per trial: the metric against the trial number, coloured by
    status, and the best-so-far line."""
    points = []
    for trial in digest.record.trials:
        value = digest.best_value(trial)
        if value is not None:
            points.append((trial.trial_id, value, trial.status.value))
    drawn = points
    if len(points) > SCATTER_POINTS:
        sign = digest.direction.sign
        best = sorted(range(len(points)), key=lambda i: sign * points[i][1])[:_SCATTER_BEST]
        rest = SCATTER_POINTS - len(best)
        sample = {round(i * (len(points) - 1) / (rest - 1)) for i in range(rest)}
        drawn = [points[i] for i in sorted(sample | set(best))]
    by_status: dict[str, tuple[list[int], list[float]]] = {}
    for trial_id, value, status in drawn:
        xs, ys = by_status.setdefault(status, ([], []))
        xs.append(trial_id)
        ys.append(value)
    for status, (xs, ys) in by_status.items():
        axes.plot(xs, ys, linestyle="none", marker="o", markersize=4,
                  color=_POINT_COLOURS.get(status, "#0969da"), gid=f"status-{status}",
                  label=status)
    steps_x, steps_y, best = [], [], None
    for trial_id, value, status in points:
        if status != TrialStatus.FAILED.value and digest.direction.better(value, best):
            best = value
            steps_x.append(trial_id)
            steps_y.append(value)
    if steps_x:
        if steps_x[-1] != points[-1][0]:
            steps_x.append(points[-1][0])
            steps_y.append(best)
        axes.step(steps_x, steps_y, where="post", color="black", linewidth=1.5,
                  label="best so far", gid="best-so-far", path_effects=_edged(3.5),
                  zorder=1.9)  # under the points: its white edge would hide them
        axes.legend(loc="best", fontsize=8)
    hidden = digest.total - len(drawn)
    if hidden > 0:
        title = axes.set_title(f"{hidden:,} of {digest.total:,} trials not drawn (drawn: "
                               f"the {_SCATTER_BEST} best and a sample)" if len(points) >
                               SCATTER_POINTS else f"{hidden:,} trials without a value",
                               loc="left", fontsize=8, color=TEXT_GREY)
        title.set_gid("not-drawn")
    axes.set_xlabel("trial")


def curves_png(source: Any) -> bytes:
    """The learning curves as PNG bytes."""
    buffer = io.BytesIO()
    curves_figure(source).savefig(buffer, format="png")
    return buffer.getvalue()
