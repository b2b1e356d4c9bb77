"""What every framework callback shares: the running trial, the metrics to send and the one
``report()`` per epoch (or boosting round) with the study's resource key."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import is_number
from ..trial import (
    ReportError,
    Trial,
    TrialStatus,
    current_trial,
    plain_value,
    report,
    say_outside_study,
    trials_running,
)

#: which of the framework's metrics a callback sends: ``None`` every number it logs; a name or
#: names (sent under those names); or ``{name to report: framework's name}`` to rename
Metrics = str | Iterable[str] | Mapping[str, str] | None


def metric_names(metrics: Metrics) -> dict[str, str] | None:
    """``metrics`` as ``{name to report: framework's name}`` (``None``: all), checked now so
    that a wrong argument fails where the callback is made, not an epoch later."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        metrics = [metrics]
    pairs = list(metrics.items()) if isinstance(metrics, Mapping) \
        else [(name, name) for name in metrics]
    for key, name in pairs:
        if not isinstance(key, str) or not isinstance(name, str) or not key or not name:
            raise TypeError(f"metrics= takes names (strings), e.g. metrics=['val_loss'] or "
                            f"metrics={{'val_loss': 'val_loss'}} (name to report: the "
                            f"framework's name), but got {key!r}: {name!r}")
    if not pairs:
        raise ValueError("metrics= is empty, so nothing would be reported: leave it out to "
                         "report every metric the framework logs, or name the ones to report")
    return dict(pairs)


def running_trial(callback: str, framework: str) -> Trial | None:
    """The trial this thread runs; ``None`` outside a study (the training run once without
    ``%%hpo``), where the callback lets it train as without jupyter_hpo and says so once per
    cell, as ``report()`` does; a ``RuntimeError`` in a thread of its own while trials run,
    where what it reports would be lost."""
    trial = current_trial()
    if trial is not None:
        return trial
    thread = threading.current_thread()
    if trials_running() and thread is not threading.main_thread() \
            and not thread.name.startswith("hpo-"):
        raise RuntimeError(f"{callback} reports each epoch to the running trial, but "
                           f"{framework} trains in the thread {thread.name!r}, which is not a "
                           f"trial's own: train in the thread that runs the %%hpo cell or the "
                           f"function of jupyter_hpo.tune(), where the callback finds its trial")
    say_outside_study(callback, "nothing is reported")
    return None


def claim(owner: Trial | None, callback: str, framework: str) -> Trial | None:
    """The running trial (``None`` outside a study), which a callback that keeps the state of
    one training (Keras's, Lightning's) takes for the training that starts; a
    ``RuntimeError`` when ``owner``, another trial, still trains with it: one object made in
    an earlier cell and shared by the trials that run at once in threads would report and
    stop for the wrong training."""
    trial = running_trial(callback, framework)
    if trial is not None and owner is not None and owner is not trial \
            and owner.status in (TrialStatus.RUNNING, TrialStatus.PAUSED):
        raise RuntimeError(f"{callback}: this callback object trains for trial "
                           f"{owner.trial_id} and trial {trial.trial_id} at once (it was made "
                           f"once, outside the trials, and they share it): make one per "
                           f"training inside the %%hpo cell or the function run by "
                           f"jupyter_hpo.tune(), e.g. callbacks=[{callback}()] in the call "
                           f"that trains")
    return trial


def send(trial: Trial, callback: str, logged: Mapping[str, Any], names: dict[str, str] | None,
         count: int, hint: str = "") -> None:
    """``report()`` the ``names`` of ``logged`` (every number in it when ``names`` is None)
    with the study's resource at ``count``; a chosen metric that was not logged, or a study
    metric that is not among the values, is a ``ReportError`` that lists what was logged
    (``hint``, where given, says how the framework logs more)."""
    resource = trial.resource
    when = f"{resource} {count}"
    if names is None:
        values = {key: plain_value(value) for key, value in logged.items()}
        values = {key: value for key, value in values.items() if is_number(value)}
    else:
        missing = [name for name in names.values() if name not in logged]
        if missing:
            raise ReportError(f"{callback}: no {' or '.join(map(repr, missing))} was logged at "
                              f"{when} (logged: {_listed(logged)}){hint}; choose among those "
                              f"with metrics=")
        values = {key: plain_value(logged[name]) for key, name in names.items()}
    values.pop(resource, None)
    if trial.metric and trial.metric not in values:
        chosen = "" if names is None else \
            f" (chosen with metrics= of those logged: {_listed(logged)})"
        raise ReportError(f"{callback}: the study optimises {trial.metric!r}, but the values "
                          f"at {when} are {_listed(values)}{chosen}{hint}; report it under "
                          f"that name with metrics={{"
                          f"{trial.metric!r}: '<logged name>'}}, or pick one of them as the "
                          f"study's metric (%%hpo --metric, tune(metric=...))")
    report(**{resource: count}, **values)


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "nothing"
