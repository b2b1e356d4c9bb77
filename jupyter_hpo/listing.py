"""How a study is said in one line, so that ``%hpo list``, ``jupyter-hpo list``, the
dashboard's status line (``%hpo show``) and the terminal's ``show`` say the same thing: its
state (and why it stopped, or how to resume it), the budget spent and the trials per status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import command_word
from .records import StudyState, StudySummary, trials_text

__all__ = ["live_line", "state_note", "state_text", "stored_line", "summary_line"]


def state_note(state: StudyState, stop_reason: str, name: str) -> str:
    """What the state needs said: why the study stopped, or of a study whose kernel stopped
    while it ran, how to resume it (the JupyterLab panel shows it below the state)."""
    if state is StudyState.INTERRUPTED:
        return (f"its kernel stopped while it ran; resume it with %%hpo --name "
                f"{command_word(name)} --resume")
    return stop_reason


def state_text(state: StudyState, stop_reason: str, name: str) -> str:
    """``running``, ``finished (time limit reached)``, or for a study whose kernel stopped
    while it ran ``interrupted (its kernel stopped while it ran; resume it with %%hpo --name
    NAME --resume)``."""
    note = state_note(state, stop_reason, name)
    return f"{state} ({note})" if note else str(state)


def summary_line(name: str, state: StudyState, stop_reason: str, spent: int,
                 budget: int | None, counts: Mapping[str, int], metric: str,
                 best_value: float | None) -> str:
    """``mlp: finished (interrupted) · 4/10 trials · 3 completed · 1 cancelled · best
    loss=0.12``: one study of a listing."""
    best = "" if best_value is None else f" · best {metric}={best_value:.6g}"
    return (f"{name}: {state_text(state, stop_reason, name)} · "
            f"{trials_text(spent, budget, counts)}{best}")


def stored_line(summary: StudySummary) -> str:
    """``summary_line`` of a stored study (no trial is loaded)."""
    return summary_line(summary.name, summary.state, summary.stop_reason or
                        _last_line(summary.error), summary.spent, summary.budget,
                        summary.counts, summary.metric, summary.best_value)


def live_line(study: Any) -> str:
    """``summary_line`` of a study of this process (a ``Study``)."""
    error = "" if study.error is None else str(study.error)
    return summary_line(study.name, study.state, study.stop_reason or _last_line(error),
                        study.spent, study.budget, study.counts(), study.metric,
                        study.best_value)


def _last_line(error: str) -> str:
    """A study's error in a listing: its last line (of a traceback, the exception)."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return lines[-1] if lines else ""
