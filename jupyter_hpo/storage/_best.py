"""Each trial's best value, kept in ``trials.best`` (schema 5), so that a listing of studies
reads one number per trial instead of decoding every stored report (about 0.5 s per 100,000
reports, and the JupyterLab panel lists every second while a study runs).

The value is the one loading the study reads back: the reports as they are stored
(``encode_value``: numpy and torch scalars as numbers, objects by ``repr``), their finite
numbers only (no bools, NaN or infinities), the best under the study's mode. Each write
combines the best of the new reports with the stored one; a file of an earlier schema gets
it from its stored reports when it is migrated, and so do the trials that an older
jupyter_hpo marked (``best_pending``) at this version's first write to the file.
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


def fill_best_values(conn: sqlite3.Connection, *, marked_only: bool = False) -> int:
    """Set ``trials.best`` and ``trials.best_reports`` from the stored reports and clear
    ``trials.best_pending``: of every trial (the migration to schema 5, in its transaction),
    or with ``marked_only`` of the trials marked as written by an older jupyter_hpo (the
    repair before this version's first write). Returns how many trials were set. A report
    that cannot be decoded is passed over: loading its study says that the file is damaged."""
    picked = "WHERE t.best_pending = 1" if marked_only else ""
    best: dict[tuple[int, int], float | None] = {
        (study_id, trial_id): None
        for study_id, trial_id in conn.execute(f"SELECT study_id, trial_id FROM trials t "
                                               f"{picked}")}
    if not best:
        return 0
    studies: dict[int, tuple[str, Direction]] = {}
    for study_id, metric, mode in conn.execute("SELECT study_id, metric, mode FROM studies"):
        try:
            studies[study_id] = (metric, Direction.of(mode))
        except ValueError:
            continue
    counted = dict.fromkeys(best, 0)
    for study_id, trial_id, seq, values in conn.execute(
            f"SELECT r.study_id, r.trial_id, r.seq, r.\"values\" FROM reports r JOIN trials t "
            f"USING (study_id, trial_id) {picked}"):
        key = (study_id, trial_id)
        counted[key] = max(counted[key], int(seq) + 1)
        if study_id not in studies:
            continue
        metric, direction = studies[study_id]
        try:
            value = finite_number(decode_values(values).get(metric))
        except (TypeError, ValueError):
            continue
        if value is not None and direction.better(value, best[key]):
            best[key] = value
    conn.executemany("UPDATE trials SET best = ?, best_reports = ?, best_pending = 0 "
                     "WHERE study_id = ? AND trial_id = ?",
                     [(value, counted[key], *key) for key, value in best.items()])
    return len(best)
