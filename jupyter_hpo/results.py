"""pandas tables of a study's results, with the fixed column names of the README."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .study import Study


def trials_dataframe(study: Study) -> pd.DataFrame:
    """trial_id, status, config.<name>..., <metric>, resource, start, duration, error."""
    names = list(study.space)
    rows = []
    for trial in list(study.trials):
        row = {"trial_id": trial.trial_id, "status": trial.status.value}
        row.update({f"config.{n}": trial.config.get(n) for n in names})
        row[study.metric] = trial.best(study.metric, study.mode)
        row["resource"] = trial.last(study.resource)
        row["start"] = pd.Timestamp(trial.start_time, unit="s")
        row["duration"] = trial.duration
        row["error"] = trial.error
        rows.append(row)
    columns = (["trial_id", "status"] + [f"config.{n}" for n in names]
               + [study.metric, "resource", "start", "duration", "error"])
    frame = pd.DataFrame(rows, columns=columns)
    frame[study.metric] = frame[study.metric].astype(float)
    return frame


def training_curves(study: Study) -> pd.DataFrame:
    """Long form: one row per report with trial_id, the resource, every key and time."""
    rows = []
    for trial in list(study.trials):
        times = study.report_times(trial.trial_id)
        for values, t in zip(list(trial.reports), times):
            row = {"trial_id": trial.trial_id, study.resource: values.get(study.resource)}
            row.update(values)
            row["time"] = t
            rows.append(row)
    keys: list[str] = ["trial_id", study.resource]
    for row in rows:
        keys += [k for k in row if k not in keys and k != "time"]
    return pd.DataFrame(rows, columns=keys + ["time"])


def incumbent_over_time(study: Study) -> pd.DataFrame:
    """time, trial_id, best_value: one row each time the best value improved."""
    return pd.DataFrame(list(study._incumbents), columns=["time", "trial_id", "best_value"])
