"""Pure renderers from a study to text and HTML; the live dashboard and the static summary
share them (the curves are in :mod:`.curves`).

Each takes a Study, a StudyRecord or a :class:`~.digest.StudyDigest` (what the dashboard
passes, so that one snapshot serves a whole refresh) and nothing here touches widgets. What
they produce is bounded whatever the size of the study: the table shows its top rows and says
how many more there are, long values and outputs are cut, and every user string (names,
configurations, errors, tracebacks, printed output, problems) is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from ..records import TrialStatus, trials_text
from ..space import shown_value, without_address
from .digest import KEPT_BEST, StudyDigest, record_of, trial_of

if TYPE_CHECKING:
    from ..records import StudyRecord, TrialRecord

__all__ = ["ERROR_SHOWN", "OUTPUT_SHOWN", "TABLE_CSS", "TABLE_ROWS", "best_trial",
           "config_value", "describe_settings", "digest_of", "error_html", "error_text",
           "format_duration", "incumbent_html", "problems_html", "progress", "shorten",
           "status_line", "table_html", "table_rows", "text_summary", "trial_output_text"]

TABLE_ROWS = 25
"""Rows of the results table shown live and in the summary; a note counts the others."""
OUTPUT_SHOWN = 20_000
"""Characters of a trial's output (and of its traceback) shown; the oldest are cut."""
VALUE_SHOWN = 80
"""Characters of one configuration value or error line shown in the table."""
PROBLEMS_SHOWN = 5
"""Most recent problem messages shown; a note counts the earlier ones."""
ERROR_SHOWN = 5000
"""Characters of a failed study's error shown in the summary: its first line (why) and its
end (the traceback's last frames and the exception, or the errors it names)."""

_STATUS_COLOURS = {"completed": "#1a7f37", "stopped": "#8c959f", "cancelled": "#bf8700",
                   "failed": "#cf222e", "running": "#0969da", "paused": "#8250df",
                   "interrupted": "#bf8700"}


def digest_of(source: Any) -> StudyDigest:
    """``source`` itself if it is a StudyDigest, else a new digest of its record (a Study is
    read through ``snapshot()``, once)."""
    if isinstance(source, StudyDigest):
        return source
    record = record_of(source)
    digest = StudyDigest(record.metric, record.direction, record.resource)
    digest.update(record)
    return digest


def best_trial(record: StudyRecord) -> TrialRecord | None:
    """The incumbent, found without scanning every trial."""
    history = record.incumbent_history
    return trial_of(record, history[-1][1]) if history else None


def format_duration(seconds: float | None) -> str:
    """``0:05``, ``12:31``, ``1:02:03``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = round(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shorten(text: str, limit: int = VALUE_SHOWN) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def progress(source: Any) -> tuple[float, float | None]:
    """Fraction of the budget spent (trials or time, whichever is further) and an estimate
    of the seconds left (None when it cannot be estimated)."""
    digest = digest_of(source)
    record = digest.record
    if record.done:
        return 1.0, 0.0
    fractions = []
    if record.budget is not None:
        counts = digest.finished_counts
        finished = sum(counts.values()) - digest.run_again
        fractions.append(finished / record.budget)
    if record.time_limit is not None:
        fractions.append(min(1.0, record.elapsed / record.time_limit))
    if not fractions:
        return 0.0, None
    fraction = min(1.0, max(fractions))
    if fraction <= 0:
        return 0.0, None
    return fraction, record.elapsed * (1 - fraction) / fraction


def state_text(record: StudyRecord) -> str:
    """``running``, ``stopping (stopped from JupyterLab by alice)``, ``finished (time limit
    reached)``: the state and, once the study was stopped, why."""
    from ..listing import state_text as said

    return said(record.state, record.stop_reason, record.name)


def status_line(source: Any) -> str:
    """One line: state (and why it stopped), trials by status, elapsed and remaining time, the
    best value. Plain text (escape it for HTML)."""
    digest = digest_of(source)
    record = digest.record
    _fraction, left = progress(digest)
    parts = [f"{record.name}: {state_text(record)}"]
    parts.append(trials_text(digest.spent, record.budget, digest.counts()))
    parts.append(f"{format_duration(record.elapsed)} elapsed")
    if not record.done and left is not None:
        parts.append(f"~{format_duration(left)} left")
    best = best_trial(record)
    if best is not None and record.best_value is not None:
        parts.append(f"best {record.metric}={record.best_value:.6g} (trial {best.trial_id})")
    return " · ".join(parts)


def _format_value(value: Any) -> str:
    """A table cell: 4 significant digits; an object without its memory address."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return shorten(without_address(str(value)))


def config_value(value: Any) -> str:
    """A value of the best configuration as Python writes it, in full (``0.0002084139890``,
    ``'relu'``), without memory addresses (``<function tanh>``); cut at CONFIG_SHOWN
    (:func:`~jupyter_hpo.space.shown_value`, which the applied trial's line uses too)."""
    return shown_value(value)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else format_duration(seconds)


def _ranked(digest: StudyDigest, sort_by: str, limit: int | None) -> list[TrialRecord]:
    """Trials in table order: by metric, best first (trials that failed or have no value
    after the others, by id); by duration, longest first; by trial id, ascending. With a
    ``limit`` of at most KEPT_BEST only the candidates are sorted, not every trial."""
    record = digest.record
    trials = record.trials
    if sort_by == "trial":
        return list(trials if limit is None else trials[:limit])
    bounded = limit is not None and limit <= KEPT_BEST
    now = record.updated or None
    if sort_by == "duration":
        if bounded:
            chosen = [trial_of(record, i) for i in digest.longest_finished(limit)]
            chosen += digest.unfinished
        else:
            chosen = list(trials)
        chosen.sort(key=lambda t: (-_duration(t, now), t.trial_id))
        return chosen if limit is None else chosen[:limit]
    sign = digest.direction.sign

    def valued(trial: TrialRecord) -> bool:
        return trial.status is not TrialStatus.FAILED and digest.best_value(trial) is not None

    if bounded:
        candidates = [trial_of(record, i) for i in digest.best_finished(limit)]
        candidates += [t for t in digest.unfinished if valued(t)]
        if len(candidates) < limit:  # few trials have a value: the others follow, by id
            others = []
            for trial in trials:
                if not valued(trial):
                    others.append(trial)
                    if len(others) == limit:
                        break
            candidates += others
    else:
        candidates = list(trials)
    good = sorted((t for t in candidates if valued(t)),
                  key=lambda t: (sign * digest.best_value(t), t.trial_id))
    rest = sorted((t for t in candidates if not valued(t)), key=lambda t: t.trial_id)
    ordered = good + rest
    return ordered if limit is None else ordered[:limit]


def _duration(trial: TrialRecord, now: float | None) -> float:
    return trial.duration if now is None else trial.duration_at(now)


def table_rows(source: Any, sort_by: str = "metric", limit: int | None = None
               ) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings, not escaped) of the results table: ``sort_by`` is
    ``metric`` (best first), ``duration`` (longest first) or ``trial`` (by id)."""
    digest = digest_of(source)
    record = digest.record
    names = list(record.space)
    show_device = digest.shows_device
    header = ["trial", "status", *names, record.metric, record.resource,
              *(["device"] if show_device else []), "duration", "error"]
    now = record.updated or None
    rows = []
    for trial in _ranked(digest, sort_by, limit):
        best = digest.best_value(trial)
        error = trial.error.splitlines()[-1] if trial.error.strip() else ""
        rows.append([str(trial.trial_id), trial.status.value,
                     *(_format_value(trial.config[n]) if n in trial.config else "–"
                       for n in names),  # – : inactive (a conditional hyperparameter)
                     "" if best is None else _format_value(best),
                     _format_value(trial.last(record.resource, "")),
                     *([trial.resources] if show_device else []),
                     _seconds(_duration(trial, now)), shorten(error)])
    return header, rows


_CELL = "padding:2px 8px;white-space:nowrap"
_SCROLL = "overflow-x:auto;max-width:100%"
_TABLE = "border-collapse:collapse;font-size:12px"
_MORE = "color:#57606a"

TABLE_CSS = (f".jupyter-hpo-table-scroll {{{_SCROLL}}} .jupyter-hpo-table {{{_TABLE}}} "
             f".jupyter-hpo-table th {{text-align:left;{_CELL}}} "
             f".jupyter-hpo-table td {{{_CELL}}} "
             f".jupyter-hpo-table tr.jupyter-hpo-best {{font-weight:bold}} "
             + " ".join(f".jupyter-hpo-table td.jupyter-hpo-{status} {{color:{colour}}}"
                        for status, colour in _STATUS_COLOURS.items())
             + f" .jupyter-hpo-more {{{_MORE}}}")
"""The style of ``table_html(..., inline=False)``, given once to the page (the live dashboard
shows it in a hidden widget) instead of in every cell of every update."""


def table_html(source: Any, sort_by: str = "metric", limit: int = TABLE_ROWS,
               inline: bool = True) -> str:
    """The top ``limit`` rows of the results table as escaped HTML (the best trial's row in
    bold), and how many trials are not shown. Cells do not wrap and a table wider than the
    output scrolls sideways, so every column (the error last) can be read whatever the number
    of hyperparameters. ``inline``: the style is in each element, as a saved notebook needs
    it; else only class names say it (``TABLE_CSS``), a third of the size, for the updates of
    the live dashboard."""
    digest = digest_of(source)
    record = digest.record
    header, rows = table_rows(digest, sort_by, limit)
    best = best_trial(record)
    best_id = str(best.trial_id) if best is not None else None
    th = f"<th style='text-align:left;{_CELL}'>" if inline else "<th>"
    head = "".join(f"{th}{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        if inline:
            weight = "bold" if row[0] == best_id else "normal"
            colour = _STATUS_COLOURS.get(row[1], "inherit")
            starts = [f"<td style='{_CELL}'>", f"<td style='{_CELL};color:{colour}'>"]
            tr = f"<tr style='font-weight:{weight}'>"
        else:
            starts = ["<td>", f"<td class='jupyter-hpo-{html.escape(row[1])}'>"]
            tr = "<tr class='jupyter-hpo-best'>" if row[0] == best_id else "<tr>"
        cells = "".join(f"{starts[i == 1]}{html.escape(cell)}</td>" for i, cell in enumerate(row))
        body.append(f"{tr}{cells}</tr>")
    more = digest.total - len(rows)
    more_style = f" style='{_MORE}'" if inline else ""
    note = (f"<div class='jupyter-hpo-more'{more_style}>{more:,} more trial(s) not shown; "
            f"<code>_hpo.trials_dataframe()</code> has them all</div>" if more > 0 else "")
    scroll, table = (f" style='{_SCROLL}'", f" style='{_TABLE}'") if inline else ("", "")
    return (f"<div class='jupyter-hpo-table-scroll'{scroll}><table class='jupyter-hpo-table'"
            f"{table}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"</div>{note}")


def incumbent_html(source: Any) -> str:
    """The best trial so far: value and configuration, escaped."""
    record = source.record if isinstance(source, StudyDigest) else record_of(source)
    trial = best_trial(record)
    if trial is None or record.best_value is None:
        return "<i>no result yet</i>"
    config = "".join(f"<li><code>{html.escape(str(k))} = {html.escape(config_value(v))}"
                     f"</code></li>" for k, v in trial.config.items())
    return (f"<b>best {html.escape(record.metric)} = {record.best_value:.6g}</b> "
            f"(trial {trial.trial_id}, {html.escape(trial.status.value)})"
            f"<ul style='margin:2px 0'>{config}</ul>")


def error_text(source: Any) -> str:
    """Why the study failed: ``StudyFailedError: `` and its error as the cell's error says it
    (the first line, then the traceback or the errors it names), cut in the middle to
    ERROR_SHOWN characters; "" for a study that did not fail. Plain text."""
    record = source.record if isinstance(source, StudyDigest) else record_of(source)
    error = record.error.strip()
    if not error:
        return ""
    if len(error) > ERROR_SHOWN:
        first, _, rest = error.partition("\n")
        first = shorten(first, 500)
        kept = rest[-(ERROR_SHOWN - len(first)):]
        error = (f"{first}\n[... {len(rest) - len(kept):,} characters of the error not "
                 f"shown]\n{kept}")
    return f"StudyFailedError: {error}"


def error_html(source: Any) -> str:
    """:func:`error_text` in a red block (escaped); "" for a study that did not fail."""
    text = error_text(source)
    if not text:
        return ""
    return (f"<pre class='jupyter-hpo-error' style='color:#cf222e;white-space:pre-wrap;"
            f"margin:4px 0'>{html.escape(text)}</pre>")


def problems_html(problems: list[str], total: int | None = None) -> str:
    """A warning box with the most recent problems (escaped); empty when there are none."""
    if not problems:
        return ""
    total = len(problems) if total is None else total
    shown = problems[-PROBLEMS_SHOWN:]
    items = "".join(f"<li>{html.escape(shorten(p, 500))}</li>" for p in shown)
    earlier = total - len(shown)
    note = f"<div>and {earlier:,} earlier</div>" if earlier > 0 else ""
    return (f"<div class='jupyter-hpo-problems' style='background:#fff8c5;border:1px solid "
            f"#d4a72c;padding:2px 8px;margin:2px 0'><b>⚠ problems</b>"
            f"<ul style='margin:2px 0'>{items}</ul>{note}</div>")


def _tail(text: str, what: str) -> str:
    if len(text) <= OUTPUT_SHOWN:
        return text
    return (f"[... {len(text) - OUTPUT_SHOWN:,} earlier characters of the {what} not shown]\n"
            f"{text[-OUTPUT_SHOWN:]}")


def trial_output_text(trial: Any, output: str = "") -> str:
    """What a trial printed (``output``), then its traceback if it failed; each cut to its
    last OUTPUT_SHOWN characters."""
    text = _tail(output, "output")
    error = trial.traceback or trial.error
    if error:
        text += ("\n" if text else "") + _tail(error, "traceback")
    return text or "(no output)"


def text_summary(source: Any, limit: int = 10, with_error: bool = True) -> str:
    """The plain-text summary: status line, why the study failed (if it did, unless not
    ``with_error``), best configuration, the top trials."""
    digest = digest_of(source)
    record = digest.record
    lines = [status_line(digest)]
    error = error_text(digest) if with_error else ""
    if error:
        lines.append(error)
    best = best_trial(record)
    if best is not None:
        config = ", ".join(f"{k}={config_value(v)}" for k, v in best.config.items())
        lines.append(f"best: trial {best.trial_id}: {config}")
    header, rows = table_rows(digest, limit=limit)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
    if digest.total > len(rows):
        lines.append(f"({digest.total - len(rows):,} more trials not shown)")
    return "\n".join(lines)


def describe_settings(study: Any) -> str:
    """Scheduler, searcher and budget, for a dashboard shown without a header."""
    scheduler = getattr(study, "scheduler", None)
    describe = getattr(scheduler, "describe", None)
    settings = getattr(study, "settings", None) or {}
    text = describe() if callable(describe) else settings.get("scheduler") or ""
    searcher = settings.get("searcher")
    parts = [str(text)] if text else []
    if searcher:
        parts.append(f"{searcher} search")
    budget = []
    if settings.get("trials") is not None:
        budget.append(f"{settings['trials']} trials")
    if settings.get("time_limit") is not None:
        budget.append(f"{settings['time_limit']:g}s")
    if budget:
        parts.append(f"budget {' / '.join(budget)}")
    return " · ".join(parts)
