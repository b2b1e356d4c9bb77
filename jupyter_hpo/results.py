"""pandas tables of a study's results, with the fixed column names of the README.

They read a :class:`~jupyter_hpo.records.StudyRecord`, so live and loaded studies give the same
tables.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .records import StudyRecord


def trials_dataframe(record: StudyRecord) -> pd.DataFrame:
    """trial_id, status, config.<name>..., <metric>, resource, start, duration, error.

    A hyperparameter that was inactive in a trial (a conditional one whose condition did not
    hold) is NaN in its ``config.<name>`` column."""
    names = list(record.space)
    now = time.time()
    rows = []
    for trial in record.trials:
        row = {"trial_id": trial.trial_id, "status": trial.status.value}
        row.update({f"config.{n}": trial.config.get(n, math.nan) for n in names})
        row[record.metric] = trial.best(record.metric, record.direction)
        row["resource"] = trial.last(record.resource)
        row["start"] = pd.Timestamp(trial.start_time, unit="s")
        row["duration"] = trial.duration_at(now)
        row["error"] = trial.error
        rows.append(row)
    columns = (["trial_id", "status"] + [f"config.{n}" for n in names]
               + [record.metric, "resource", "start", "duration", "error"])
    frame = pd.DataFrame(rows, columns=columns)
    frame[record.metric] = frame[record.metric].astype(float)
    return frame


def training_curves(record: StudyRecord) -> pd.DataFrame:
    """Long form: one row per report with trial_id, the resource, every key and time."""
    rows = []
    for trial in record.trials:
        for values, at in zip(trial.reports, trial.times):
            row = {"trial_id": trial.trial_id, record.resource: values.get(record.resource)}
            row.update(values)
            row["time"] = at
            rows.append(row)
    keys: list[str] = ["trial_id", record.resource]
    seen = set(keys)
    for row in rows:
        for key in row:
            if key not in seen and key != "time":
                keys.append(key)
                seen.add(key)
    return pd.DataFrame(rows, columns=keys + ["time"])


def incumbent_over_time(record: StudyRecord) -> pd.DataFrame:
    """time, trial_id, best_value: one row each time the best value improved."""
    return pd.DataFrame(list(record.incumbent_history),
                        columns=["time", "trial_id", "best_value"])
