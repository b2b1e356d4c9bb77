"""The variables a worker keeps of the trials it ran, and what it sends back of one.

A trial that runs in a worker process (or on a Dask worker) binds its variables (``model``,
``history``, ...) there. The worker keeps those of its ``count`` best trials, ranked by the
study's metric as the thread executor's ``TrialKeeper`` ranks them in the kernel, so its memory
stays bounded; when the study ends the kernel fetches the best trial's (``Executor.
fetch_namespace``). Only what the cell bound is kept: not what it found (the notebook variables
shipped to it, ``report``, ``trial``, ...) and not modules. Nothing is sent per trial.
"""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass, field
from typing import Any

from ..records import Direction

__all__ = ["KeptNamespaces", "Sendable", "cell_variables", "keep_namespace", "left_out_note",
           "not_kept", "restored"]

_MISSING = object()


def cell_variables(namespace: dict[str, Any] | None) -> dict[str, Any] | None:
    """The variables the cell bound in ``namespace`` (a trial's), without modules."""
    if namespace is None:
        return None
    from ..objective import FOUND_KEY

    found = namespace.get(FOUND_KEY, {})
    return {key: value for key, value in namespace.items()
            if not key.startswith("__") and found.get(key, _MISSING) is not value
            and not isinstance(value, types.ModuleType)}


@dataclass
class Sendable:
    """A kept namespace pickled for the kernel: ``data`` (None: not kept here) and the
    variables left out because they do not pickle, as ``(name, type name, error)``."""

    data: bytes | None
    left_out: list[tuple[str, str, str]] = field(default_factory=list)

    def as_message(self) -> tuple[bytes | None, list[tuple[str, str, str]]]:
        return self.data, self.left_out


class KeptNamespaces:
    """The cell variables of the ``count`` best trials this worker ran (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[int, tuple[float | None, dict[str, Any]]] = {}

    def keep(self, trial_id: int, namespace: dict[str, Any] | None, values: list[Any],
             count: int, mode: str) -> None:
        """Keep ``trial_id``'s variables if they are among the ``count`` best by ``values``
        (its reported values of the metric) under ``mode``; drop the worst beyond."""
        variables = cell_variables(namespace)
        if variables is None or count < 1:
            return
        direction = Direction.of(mode)
        with self._lock:
            self._kept[trial_id] = (direction.best(values), variables)
            if len(self._kept) <= count:
                return

            def rank(item: tuple[int, tuple[float | None, dict[str, Any]]]
                     ) -> tuple[int, float, int]:  # ties: the first to reach it, as the study
                value = item[1][0]
                return (0, direction.sign * value, item[0]) if value is not None \
                    else (1, 0.0, item[0])

            for dropped, _ in sorted(self._kept.items(), key=rank)[count:]:
                del self._kept[dropped]

    def forget(self, trial_id: int) -> None:
        with self._lock:
            self._kept.pop(trial_id, None)

    def sendable(self, trial_id: int) -> Sendable:
        """``trial_id``'s variables pickled (cloudpickle, notebook code keeps its lines),
        without those that do not pickle."""
        from ._shipping import dumps

        with self._lock:
            entry = self._kept.get(trial_id)
        if entry is None:
            return Sendable(None)
        variables = dict(entry[1])
        try:
            return Sendable(dumps(variables))
        except Exception:  # noqa: BLE001 - find the ones that do not pickle, send the rest
            left_out = []
            for name, value in list(variables.items()):
                try:
                    dumps(value)
                except Exception as exc:  # noqa: BLE001 - any pickling failure leaves it out
                    left_out.append((name, type(value).__name__, f"{type(exc).__name__}: {exc}"))
                    del variables[name]
            try:
                return Sendable(dumps(variables), left_out)
            except Exception as exc:  # noqa: BLE001 - together they still fail: send none
                return Sendable(dumps({}), left_out + [
                    (name, type(value).__name__, f"{type(exc).__name__}: {exc}")
                    for name, value in variables.items()])


def keep_namespace(kept: KeptNamespaces, trial: Any, namespace: dict[str, Any] | None,
                   result: dict[str, Any] | None, count: int, mode: str) -> None:
    """In the worker, as a trial ends: keep its variables if they are among the best (ranked
    by its reports and final ``result``); keeping never fails the trial."""
    if namespace is None or count < 1:
        return
    values = [values.get(trial.metric) for values in trial.reports]
    if result:
        values.append(result.get(trial.metric))
    try:
        kept.keep(trial.trial_id, namespace, values, count, mode)
    except Exception:  # noqa: BLE001 - whatever went wrong, the trial ends as it ran
        kept.forget(trial.trial_id)


def not_kept(count: int) -> str:
    """Why a worker holds no variables of a trial: it keeps only its best few."""
    if count < 1:
        return "its other variables were not kept: --keep-namespaces is 0"
    return (f"its other variables were not kept: each worker keeps only the {count} best "
            f"trials' it ran (--keep-namespaces)")


def restored(data: bytes) -> dict[str, Any]:
    """In the kernel: the variables a worker sent."""
    import pickle

    variables = pickle.loads(data)  # sent by the study's own worker
    if not isinstance(variables, dict):
        raise TypeError(f"the worker sent {type(variables).__name__}, not a dict")
    return variables


def left_out_note(left_out: list[tuple[str, str, str]], where: str) -> str:
    """What the apply message says of the variables that could not come back."""
    if not left_out:
        return ""
    names = ", ".join(f"{name} ({kind}: {error})" for name, kind, error in left_out)
    return (f"; not brought back from its {where}, as {'they' if len(left_out) > 1 else 'it'} "
            f"cannot be pickled: {names} (--executor thread keeps every variable)")
