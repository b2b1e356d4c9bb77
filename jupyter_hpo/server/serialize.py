"""Records to JSON for the browser: a study's line in the panel and the whole study.

Everything goes through :func:`jupyter_hpo.storage.encode_value`, so configurations holding
Python objects arrive as their ``repr`` and every value is JSON. JSON has no NaN: a trial's
configuration and reports carry a value that is not a finite number as Python writes it
(``"nan"``, ``"inf"``, ``"-inf"``), so that the study view tells it from ``None``; best values,
times and incumbents carry it as ``null`` (no value). The browser renders every string it gets
here as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..listing import state_note
from ..records import StudyRecord, StudySummary, TrialRecord, finite_number
from ..storage import describe_space, encode_value

__all__ = ["study_json", "summary_json", "trial_json"]


def _json_value(value: Any, shown: bool = False) -> Any:
    """``value`` made JSON-safe: objects by ``repr``, NaN and infinities as ``None``, or with
    ``shown`` as Python's ``str`` of them (``"nan"``), for values the study view shows."""
    encoded = encode_value(value)
    if isinstance(encoded, float) and not math.isfinite(encoded):
        return str(encoded) if shown else None
    if isinstance(encoded, list):
        return [_json_value(v, shown) for v in encoded]
    if isinstance(encoded, dict) and not (len(encoded) == 1 and "__repr__" in encoded):
        return {k: _json_value(v, shown) for k, v in encoded.items()}
    if isinstance(encoded, dict):
        return encoded["__repr__"]
    return encoded


def _mapping(values: Mapping[str, Any], shown: bool = False) -> dict[str, Any]:
    return {str(k): _json_value(v, shown) for k, v in values.items()}


def summary_json(summary: StudySummary, storage: str) -> dict[str, Any]:
    """One study as the studies panel lists it."""
    return {
        "storage": storage,
        "name": summary.name,
        "metric": summary.metric,
        "mode": summary.mode,
        "resource": summary.resource,
        "state": summary.state.value,
        "trials": summary.trials,
        "spent": summary.spent,
        "counts": dict(summary.counts),
        "budget": summary.budget,
        "best_value": finite_number(summary.best_value),
        "created": summary.created,
        "updated": summary.updated,
        "elapsed": summary.elapsed,
        "owner": summary.owner,
        "error": summary.error,
        "stop_reason": summary.stop_reason,
        "state_note": state_note(summary.state, summary.stop_reason, summary.name),
        "settings": _mapping(summary.settings),
    }


def trial_json(trial: TrialRecord, metric: str, mode: str) -> dict[str, Any]:
    """One trial with its configuration, every report and the times they arrived."""
    return {
        "trial_id": trial.trial_id,
        "status": trial.status.value,
        "config": _mapping(trial.config, shown=True),
        "reports": [_mapping(r, shown=True) for r in trial.reports],
        "times": [finite_number(t) for t in trial.times],
        "best": finite_number(trial.best(metric, mode)),
        "start_time": trial.start_time,
        "end_time": trial.end_time,
        "error": trial.error,
        "traceback": trial.traceback,
        "device": trial.device,
        "resources": trial.resources,
        "bracket": trial.bracket,
    }


def study_json(record: StudyRecord, storage: str) -> dict[str, Any]:
    """A whole study: its line of the panel plus the search space, every trial, the trial
    counts per status and the incumbent history (``[time, trial_id, value]``)."""
    out = summary_json(record.summary(), storage)
    out.update(
        space={name: _mapping(entry) for name, entry in describe_space(record.space).items()},
        trials_detail=[trial_json(t, record.metric, record.mode) for t in record.trials],
        incumbents=[[at, trial_id, finite_number(value)]
                    for at, trial_id, value in record.incumbent_history],
        best_trial=None if record.best_trial is None else record.best_trial.trial_id,
        best_config=None if record.best_config is None else _mapping(record.best_config),
    )
    return out
