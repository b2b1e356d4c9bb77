"""Pure renderers from a Study to PNG, HTML and text; the dashboard and the summary share them.

Nothing here touches widgets, so that the same pictures and tables appear live and in the
static summary that a saved notebook keeps.
"""

from __future__ import annotations

import html
import io
import math
from typing import Any

from ..trial import Trial

__all__ = ["curves_figure", "curves_png", "format_duration", "incumbent_html", "progress", "status_line",
           "table_html", "table_rows", "text_summary", "trial_output_text"]

_LINE_STYLES = {
    "stopped": {"color": "#8c959f", "linestyle": "--", "linewidth": 0.8, "alpha": 0.7},
    "failed": {"color": "#cf222e", "linestyle": ":", "linewidth": 0.8},
    "cancelled": {"color": "#bf8700", "linestyle": "-.", "linewidth": 0.8, "alpha": 0.7},
    "interrupted": {"color": "#bf8700", "linestyle": "-.", "linewidth": 0.8, "alpha": 0.7},
}
_STATUS_COLOURS = {"completed": "#1a7f37", "stopped": "#8c959f", "cancelled": "#bf8700",
                   "failed": "#cf222e", "running": "#0969da", "paused": "#8250df",
                   "interrupted": "#bf8700"}


def format_duration(seconds: float | None) -> str:
    """``0:05``, ``12:31``, ``1:02:03``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = round(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress(study: Any) -> tuple[float, float | None]:
    """Fraction of the budget spent (trials or time, whichever is further) and an estimate
    of the seconds left (None when it cannot be estimated)."""
    fractions = []
    if study.budget is not None:
        finished = sum(1 for t in list(study.trials)
                       if t.status.finished and t.status.value != "interrupted")
        fractions.append(finished / study.budget)
    if study.time_limit is not None:
        fractions.append(min(1.0, study.elapsed / study.time_limit))
    if study.done:
        return 1.0, 0.0
    if not fractions:
        return 0.0, None
    fraction = min(1.0, max(fractions))
    if fraction <= 0:
        return 0.0, None
    return fraction, study.elapsed * (1 - fraction) / fraction


def status_line(study: Any) -> str:
    """One line: state, trials by status, elapsed and remaining time, best value."""
    counts = study.counts()
    _fraction, left = progress(study)
    parts = [f"{study.name}: {study.state}"]
    total = getattr(study, "spent", len(study.trials))
    budget = f"/{study.budget}" if study.budget is not None else ""
    parts.append(f"{total}{budget} trials")
    parts.extend(f"{n} {status}" for status, n in counts.items() if n)
    parts.append(f"{format_duration(study.elapsed)} elapsed")
    if not study.done and left is not None:
        parts.append(f"~{format_duration(left)} left")
    if study.best_value is not None:
        parts.append(f"best {study.metric}={study.best_value:.6g} "
                     f"(trial {study.best_trial.trial_id})")
    return " · ".join(parts)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else format_duration(seconds)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_rows(study: Any, sort_by: str = "metric", descending: bool | None = None,
               limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings, not escaped) of the results table, sorted."""
    trials = list(study.trials)
    names = list(study.space)
    show_device = any(t.resources != "cpu" for t in trials)
    header = ["trial", "status", *names, study.metric, study.resource,
              *(["device"] if show_device else []), "duration", "error"]
    sign = 1 if study.mode == "max" else -1

    def key(trial: Trial) -> tuple:
        if sort_by == "metric":
            value = trial.best(study.metric, study.mode)
            return (value is not None, sign * value if value is not None else 0.0)
        if sort_by == "duration":
            return (True, trial.duration)
        return (True, trial.trial_id)

    if descending is None:
        descending = sort_by in ("metric", "duration")
    trials.sort(key=key, reverse=descending)
    if limit is not None:
        trials = trials[:limit]
    rows = []
    for trial in trials:
        best = trial.best(study.metric, study.mode)
        rows.append([str(trial.trial_id), trial.status.value,
                     *(_format_value(trial.config.get(n)) for n in names),
                     "" if best is None else _format_value(best),
                     _format_value(trial.last(study.resource, "")),
                     *([trial.resources] if show_device else []),
                     _seconds(trial.duration),
                     trial.error.splitlines()[-1] if trial.error else ""])
    return header, rows


def table_html(study: Any, sort_by: str = "metric", descending: bool | None = None,
               limit: int | None = 50) -> str:
    """The results table as escaped HTML (the best trial's row in bold)."""
    header, rows = table_rows(study, sort_by, descending, limit)
    best_id = str(study.best_trial.trial_id) if study.best_trial is not None else None
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>"
                   for h in header)
    body = []
    for row in rows:
        weight = "bold" if row[0] == best_id else "normal"
        colour = _STATUS_COLOURS.get(row[1], "inherit")
        cells = []
        for i, cell in enumerate(row):
            style = f"padding:2px 8px;color:{colour}" if i == 1 else "padding:2px 8px"
            cells.append(f"<td style='{style}'>{html.escape(cell)}</td>")
        body.append(f"<tr style='font-weight:{weight}'>{''.join(cells)}</tr>")
    more = len(study.trials) - len(rows)
    note = (f"<div style='color:#57606a'>{more} more trial(s) not shown; "
            f"<code>_hpo.trials_dataframe()</code> has them all</div>" if more > 0 else "")
    return (f"<table class='jupyter-hpo-table' style='border-collapse:collapse;"
            f"font-size:12px'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table>{note}")


def incumbent_html(study: Any) -> str:
    """The best trial so far: value and configuration, escaped."""
    trial = study.best_trial
    if trial is None:
        return "<i>no result yet</i>"
    config = "".join(f"<li><code>{html.escape(k)} = {html.escape(_format_value(v))}</code></li>"
                     for k, v in trial.config.items())
    return (f"<b>best {html.escape(study.metric)} = {study.best_value:.6g}</b> "
            f"(trial {trial.trial_id}, {html.escape(trial.status.value)})"
            f"<ul style='margin:2px 0'>{config}</ul>")


def trial_output_text(trial: Any, output: str = "") -> str:
    """What a trial printed (``output``), then its traceback if it failed."""
    text = output
    if trial.traceback:
        text += ("\n" if text else "") + trial.traceback
    elif trial.error:
        text += ("\n" if text else "") + trial.error
    return text or "(no output)"


def _curve(study: Any, trial: Trial) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i, values in enumerate(list(trial.reports), start=1):
        y = values.get(study.metric)
        try:
            y = float(y)
        except (TypeError, ValueError):
            continue
        x = values.get(study.resource, i)
        try:
            xs.append(float(x))
        except (TypeError, ValueError):
            xs.append(float(i))
        ys.append(y)
    return xs, ys


def curves_figure(study: Any, width: float = 7.0, height: float = 3.2, dpi: int = 80) -> Any:
    """Learning curves, one line per trial: running in colour, stopped dashed grey, failed
    dotted red, cancelled dash-dot amber, the incumbent bold black (a matplotlib Figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    best = study.best_trial
    trials = list(study.trials)
    if all(len(trial.reports) <= 1 for trial in trials):
        _plot_values_by_trial(axes, study, trials)
        figure.tight_layout()
        return figure
    for trial in trials:
        xs, ys = _curve(study, trial)
        if not xs or trial is best:
            continue
        style = _LINE_STYLES.get(trial.status.value,
                                 {"color": f"C{trial.trial_id % 10}", "linestyle": "-",
                                      "linewidth": 1.0, "alpha": 0.8})
        axes.plot(xs, ys, marker="." if len(xs) == 1 else None, gid=f"trial-{trial.trial_id}",
                  **style)
    if best is not None:
        xs, ys = _curve(study, best)
        axes.plot(xs, ys, color="black", linewidth=2.4, gid=f"trial-{best.trial_id}",
                  marker="o" if len(xs) == 1 else None, label=f"best: trial {best.trial_id}")
        axes.legend(loc="best", fontsize=8)
    has_resource = any(study.resource in r for t in list(study.trials) for r in t.reports)
    axes.set_xlabel(study.resource if has_resource else "report")
    axes.set_ylabel(study.metric)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _plot_values_by_trial(axes: Any, study: Any, trials: list[Trial]) -> None:
    """Studies with one result per trial: the metric against the trial number, coloured by
    status, the incumbent marked, and the best-so-far line."""
    points = [(t.trial_id, ys[0], t.status.value) for t in trials
              for ys in [_curve(study, t)[1]] if ys]
    for trial_id, value, status in points:
        axes.plot([trial_id], [value], linestyle="none", marker="o", markersize=4,
                  color=_STATUS_COLOURS.get(status, "#0969da"), gid=f"trial-{trial_id}")
    best_so_far, best = [], None
    for _, value, _ in points:
        if best is None or (value > best if study.mode == "max" else value < best):
            best = value
        best_so_far.append(best)
    if points:
        axes.step([p[0] for p in points], best_so_far, where="post", color="black",
                  linewidth=1.5, label="best so far", gid="best-so-far")
        axes.legend(loc="best", fontsize=8)
    axes.set_xlabel("trial")
    axes.set_ylabel(study.metric)
    axes.grid(alpha=0.3)


def curves_png(study: Any) -> bytes:
    """The learning curves as PNG bytes."""
    buffer = io.BytesIO()
    curves_figure(study).savefig(buffer, format="png")
    return buffer.getvalue()


def text_summary(study: Any) -> str:
    """The plain-text summary: status line, best configuration, top trials."""
    lines = [status_line(study)]
    if study.best_trial is not None:
        config = ", ".join(f"{k}={_format_value(v)}" for k, v in study.best_trial.config.items())
        lines.append(f"best: trial {study.best_trial.trial_id}: {config}")
    header, rows = table_rows(study, limit=10)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
    if study.error is not None:
        lines.append(f"StudyFailedError: {str(study.error).splitlines()[0]}")
    return "\n".join(lines)
