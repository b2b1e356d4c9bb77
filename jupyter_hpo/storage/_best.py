"""Each trial's best value, kept in ``trials.best`` (schema 5), so that a listing of studies
reads one number per trial instead of decoding every stored report (about 0.5 s per 100,000
reports, and the JupyterLab panel lists every second while a study runs).

The value is the one loading the study reads back: the reports as they are stored
(``encode_value``: numpy and torch scalars as numbers, objects by ``repr``), their finite
numbers only (no bools, NaN or infinities), the best under the study's mode. Each write
combines the best of the new reports with the stored one; a file of an earlier schema gets
it from its stored reports when it is migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import Direction, finite_number
from ._codec import decode_values, encode_value

__all__ = ["best_of", "combined", "fill_best_values"]


def best_of(reports: Iterable[Mapping[str, Any]], metric: str,
            direction: Direction) -> float | None:
    """The best finite value of ``metric`` in ``reports``, as they read back once stored."""
    return direction.best(encode_value(report.get(metric)) for report in reports)


def combined(direction: Direction) -> str:
    """The SQL that sets ``trials.best`` and ``trials.best_reports`` in an upsert that brings
    the best of the new reports in ``excluded.best`` and their end in
    ``excluded.best_reports``: the better value of the two (either one where the other is
    ``NULL``). It runs before the reports are inserted, so that the trigger
    ``reports_best_pending`` finds them counted."""
    pick = "MIN" if direction is Direction.MIN else "MAX"
    return (f"best = COALESCE({pick}(trials.best, excluded.best), trials.best, excluded.best), "
            f"best_reports = MAX(trials.best_reports, excluded.best_reports)")


def fill_best_values(conn: sqlite3.Connection) -> None:
    """Set ``trials.best`` of every trial from its stored reports (the migration to schema
    5, in its transaction). A report that cannot be decoded is passed over: loading its study
    says that the file is damaged."""
    studies: dict[int, tuple[str, Direction]] = {}
    for study_id, metric, mode in conn.execute("SELECT study_id, metric, mode FROM studies"):
        try:
            studies[study_id] = (metric, Direction.of(mode))
        except ValueError:
            continue
    best: dict[tuple[int, int], float] = {}
    conn.execute("UPDATE trials SET best_reports = (SELECT COALESCE(MAX(seq) + 1, 0) FROM "
                 "reports r WHERE r.study_id = trials.study_id AND r.trial_id = "
                 "trials.trial_id)")
    for study_id, trial_id, values in conn.execute(
            "SELECT study_id, trial_id, \"values\" FROM reports"):
        if study_id not in studies:
            continue
        metric, direction = studies[study_id]
        try:
            value = finite_number(decode_values(values).get(metric))
        except (TypeError, ValueError):
            continue
        key = (study_id, trial_id)
        if value is not None and direction.better(value, best.get(key)):
            best[key] = value
    conn.executemany("UPDATE trials SET best = ? WHERE study_id = ? AND trial_id = ?",
                     [(value, study_id, trial_id) for (study_id, trial_id), value in best.items()])
