"""pandas tables of a study's results, with the fixed column names of the README.

They read a :class:`~jupyter_hpo.records.StudyRecord`, so live and loaded studies give the same
tables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .records import StudyRecord


#: Optuna's ``attrs`` names and what they are here
ALIASES = {"number": "trial_id", "state": "status", "params": "config", "value": "value",
           "user_attrs": "user", "datetime_start": "start", "datetime_complete": "end"}
GROUPS = ("trial_id", "status", "config", "value", "resource", "start", "end", "duration",
          "error", "user")
DEFAULT = ("trial_id", "status", "config", "value", "resource", "start", "duration", "error",
           "user")
#: columns of the two tables that a reported value of the same name does not replace
TRIAL_COLUMNS = ("trial_id", "status", "resource", "start", "end", "duration", "error")
CURVE_COLUMNS = ("trial_id", "time")
PREFIX = "report."


def metric_column(metric: str) -> str:
    """The column of ``trials_dataframe()`` that holds ``metric``: its name, or
    ``report.<metric>`` where the table has a column of that name (``--metric error``)."""
    clash = metric in TRIAL_COLUMNS or metric.startswith(("config.", "user.", PREFIX))
    return PREFIX + metric if clash else metric


def curve_column(key: str) -> str:
    """The column of ``training_curves()`` that holds the reported ``key``: its name, or
    ``report.<key>`` for ``report(time=...)`` and ``report(trial_id=...)``."""
    return PREFIX + key if key in CURVE_COLUMNS or key.startswith(PREFIX) else key


def curve_key(column: str) -> str:
    """The reported key that ``curve_column`` named ``column``."""
    return column.removeprefix(PREFIX)


def trials_dataframe(record: StudyRecord, attrs: Iterable[str] | None = None) -> pd.DataFrame:
    """trial_id, status, config.<name>..., <metric>, resource, start, duration, error and
    user.<key> per attribute set with ``trial.set`` (when some trial set one).

    A hyperparameter that was inactive in a trial (a conditional one whose condition did not
    hold) is NaN in its ``config.<name>`` column; a ``None`` choice stays ``None`` there. A
    metric named like one of the other columns (``error``, ``duration``) is the column
    ``report.<metric>`` (``metric_column``). ``attrs`` picks the columns, in its order: the
    groups ``trial_id``, ``status``, ``config``, the metric (or ``value``), ``resource``,
    ``start``, ``end``, ``duration``, ``error``, ``user``, Optuna's names for them
    (``number``, ``state``, ``params``, ``value``, ``user_attrs``, ``datetime_start``,
    ``datetime_complete``), or single columns (``config.lr``, ``user.note``). ``start`` and
    ``end`` are local times, as the notebook's clock shows them."""
    names, metric = list(record.space), metric_column(record.metric)
    keys: list[str] = []
    for trial in record.trials:
        for key in trial.user_attrs:
            if key not in keys:
                keys.append(key)
    groups = {"trial_id": ["trial_id"], "status": ["status"],
              "config": [f"config.{n}" for n in names], "value": [metric],
              "resource": ["resource"], "start": ["start"], "end": ["end"],
              "duration": ["duration"], "error": ["error"], "user": [f"user.{k}" for k in keys]}
    columns = _columns(attrs, groups, record.metric)
    now = time.time()
    rows = []
    for trial in record.trials:
        row = {"trial_id": trial.trial_id, "status": trial.status.value}
        row.update({f"config.{n}": trial.config.get(n, math.nan) for n in names})
        row[metric] = trial.best(record.metric, record.direction)
        row["resource"] = trial.last(record.resource)
        row["start"] = _local(trial.start_time)
        row["end"] = pd.NaT if trial.end_time is None else _local(trial.end_time)
        row["duration"] = trial.duration_at(now)
        row["error"] = trial.error
        row.update({f"user.{k}": trial.user_attrs.get(k, math.nan) for k in keys})
        rows.append({c: row[c] for c in columns})
    frame = pd.DataFrame(rows, columns=columns)
    _keep_none(frame, record, names)
    if metric in frame:
        frame[metric] = frame[metric].astype(float)
    if "resource" in frame:  # NaN where none was reported, so the column stays numeric
        frame["resource"] = pd.to_numeric(frame["resource"])
    return frame


def _keep_none(frame: pd.DataFrame, record: StudyRecord, names: list[str]) -> None:
    """Put back the ``None`` choices that pandas made NaN in a column of strings or numbers
    (``Categorical("l2", None)``), so that they are not read as inactive."""
    for name in names:
        column = f"config.{name}"
        values = [t.config.get(name, math.nan) for t in record.trials]
        if column in frame and any(v is None for v in values):
            frame[column] = pd.Series(values, index=frame.index, dtype=object)


def _local(seconds: float) -> pd.Timestamp:
    """Epoch ``seconds`` as this machine's wall-clock time (naive, as Optuna's tables)."""
    return pd.Timestamp(datetime.fromtimestamp(seconds))


def _columns(attrs: Iterable[str] | None, groups: dict[str, list[str]], metric: str
             ) -> list[str]:
    """The columns ``attrs`` asks for (see ``trials_dataframe``); a ValueError names an
    unknown one and lists the others."""
    if attrs is None:
        return [c for group in DEFAULT for c in groups[group]]
    if isinstance(attrs, str):
        attrs = (attrs,)
    given = attrs
    attrs = tuple(attrs) if isinstance(attrs, Iterable) else (attrs,)
    if not all(isinstance(a, str) for a in attrs):
        raise ValueError(f"attrs is {given!r}, but must be column names, e.g. "
                         f"attrs=('trial_id', 'value', 'params')")
    every = [c for group in GROUPS for c in groups[group]]
    columns: list[str] = []
    for attr in attrs:
        group = ALIASES.get(attr, attr)
        group = "value" if group == metric and metric_column(metric) == metric else group
        chosen = groups.get(group) if group in GROUPS else ([attr] if attr in every else None)
        if chosen is None:
            raise ValueError(f"attrs names {attr!r}, which is not a column of the trials: use "
                             f"{', '.join(g if g != 'value' else groups[g][0] for g in GROUPS)}, "
                             f"Optuna's {', '.join(ALIASES)}, or a column such as "
                             f"{every[2] if len(every) > 2 else 'config.<name>'}")
        columns.extend(c for c in chosen if c not in columns)
    return columns


def training_curves(record: StudyRecord) -> pd.DataFrame:
    """Long form: one row per report with trial_id, the resource, every key and time (a key
    named ``time`` or ``trial_id`` is the column ``report.<key>``)."""
    rows = []
    for trial in record.trials:
        for values, at in zip(trial.reports, trial.times):
            row = {"trial_id": trial.trial_id, record.resource: values.get(record.resource)}
            row.update((curve_column(k), v) for k, v in values.items())
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
