"""Read-only dicts for what trial records hold (configuration, reports, user attributes) and
what a study's settings (with the lists they hold) and queue hold, so that editing what a
study hands out cannot change its results or what it stores.

A ``ReadOnlyDict`` is a ``dict`` (``==`` with plain dicts, ``in``, iteration, ``json.dumps``,
pandas, ``{**config, "lr": 0.1}`` all work as before) whose edits raise a ``TypeError`` that
says how to get an editable copy. Its copies (``dict(d)``, ``d.copy()``, ``copy.copy``,
``copy.deepcopy``) are plain dicts, the caller's own; pickling keeps it read-only, so a
record stays one through pickle and cloudpickle. A record's values are shared, never copied,
between the live trial and every record taken of it, so freezing one costs what it did.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from .config_keys import ConfigKeyError

__all__ = ["CONFIG", "ENQUEUED", "QUEUED", "REPORT", "REPORTS", "SETTINGS", "USER_ATTRS",
           "ReadOnlyDict", "ReadOnlyList", "ReadOnlyReports", "read_only", "read_only_queue",
           "read_only_reports", "read_only_settings"]

# what a ReadOnlyDict is of: how its refusal names it, and the copy it suggests
CONFIG = "config"
REPORT = "report"
REPORTS = "reports"  # a record's tuple of them
USER_ATTRS = "user_attrs"
ENQUEUED = "enqueued"
SETTINGS = "settings"  # a study's (its nested option dicts too)
QUEUED = "queued"  # a configuration in a study's queue
_OF_STUDY = (SETTINGS, QUEUED)  # a study's, not a trial's
_SAID = {CONFIG: "config is read-only: copy it with dict(trial.config) to change it",
         REPORT: "reports are read-only: copy one with dict(trial.reports[i]) to change it",
         REPORTS: "reports are read-only: copy them with list(trial.reports) to change them "
                  "(one report with dict(trial.reports[i]))",
         USER_ATTRS: "user_attrs are read-only: copy them with dict(trial.user_attrs) to change "
                     "them",
         ENQUEUED: "enqueued configuration is read-only: copy it with dict(trial.enqueued) to "
                   "change it",
         SETTINGS: "settings are read-only: copy them with copy.deepcopy(study.settings) to "
                   "change them",
         QUEUED: "queued configuration is read-only: copy it with dict(study.queue[i]) to "
                 "change it (study.enqueue(config) queues another)"}


def _refusal(self: Any) -> str:
    """What an edit of a read-only dict, list or record's reports says: how to copy it."""
    trial_id, what = getattr(self, "_trial_id", None), getattr(self, "_what", "")
    owner = "a study's" if what in _OF_STUDY else "a trial's" if trial_id is None \
        else f"trial {trial_id}'s"
    said = _SAID.get(what, "values are read-only: copy them with dict(values) to change them")
    return f"{owner} {said}"


def _refuse(self: Any, *_: Any, **__: Any) -> NoReturn:
    """An edit of a read-only dict or list: a TypeError that says how to copy it."""
    raise TypeError(_refusal(self))


class ReadOnlyDict(dict):
    """A dict of a trial record that refuses edits with what to write instead."""

    __slots__ = ("_trial_id", "_what")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __missing__(self, key: Any) -> NoReturn:
        if getattr(self, "_what", "") == CONFIG:  # which keys it has, and the nearest one
            raise ConfigKeyError(key, self)
        raise KeyError(key)

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return read_only, (dict(self), getattr(self, "_trial_id", None),
                           getattr(self, "_what", ""))


class ReadOnlyList(list):
    """A list a study's settings hold (an option's list of values): refuses edits as a
    ``ReadOnlyDict`` does, and is ``==`` to the list it was made from."""

    __slots__ = ("_trial_id", "_what")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return _read_only_list, (list(self), getattr(self, "_what", ""))


def _read_only_list(values: Iterable[Any], what: str) -> ReadOnlyList:
    frozen = ReadOnlyList(values)
    frozen._trial_id, frozen._what = None, what
    return frozen


def read_only(values: Mapping[str, Any], trial_id: int | None, what: str) -> ReadOnlyDict:
    """``values`` as a new ``ReadOnlyDict`` of trial ``trial_id``'s ``what`` (``CONFIG``,
    ``REPORT``, ``USER_ATTRS`` or ``ENQUEUED``; a study's ``SETTINGS`` or ``QUEUED``)."""
    frozen = ReadOnlyDict(values)
    frozen._trial_id, frozen._what = trial_id, what
    return frozen


def read_only_settings(settings: Mapping[str, Any]) -> ReadOnlyDict:
    """A study's ``settings`` read-only, with the option dicts and lists they hold
    (``scheduler_options``, a list an option takes, ...); settings that are read-only already
    are shared."""
    if type(settings) is ReadOnlyDict:
        return settings
    return read_only({k: _read_only_value(v) for k, v in settings.items()}, None, SETTINGS)


def _read_only_value(value: Any) -> Any:
    """A value of a study's settings read-only: dicts and lists (and what they hold)."""
    if isinstance(value, dict):
        return read_only_settings(value)
    if isinstance(value, list) and type(value) is not ReadOnlyList:
        return _read_only_list((_read_only_value(v) for v in value), SETTINGS)
    return value


def read_only_queue(queue: Iterable[Mapping[str, Any]]) -> tuple[ReadOnlyDict, ...]:
    """A study's queued configurations as a tuple of read-only dicts (shared where they are
    read-only already)."""
    return tuple(c if type(c) is ReadOnlyDict else read_only(c, None, QUEUED) for c in queue)


#: what a list has and a tuple has not: on a record's reports, each says they are read-only
_LIST_EDITS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort",
                         "reverse"})


class ReadOnlyReports(tuple):
    """A record's reports: a tuple whose list edits (``append``, ``[i] = ...``) say that they
    are read-only and how to copy them, instead of "'tuple' object has no attribute"."""

    _trial_id: int | None = None
    _what = REPORTS

    def __getattr__(self, name: str) -> NoReturn:
        if name in _LIST_EDITS:  # still an AttributeError, as for any tuple
            raise AttributeError(_refusal(self))
        raise AttributeError(f"'tuple' object has no attribute {name!r}")

    __setitem__ = __delitem__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return read_only_reports, (tuple(self), self._trial_id)


def read_only_reports(reports: Iterable[Mapping[str, Any]],
                      trial_id: int | None) -> ReadOnlyReports:
    """``reports`` as a tuple of read-only dicts; those that are read-only already are shared,
    not copied (the live trial's, which ``report()`` made so)."""
    if not isinstance(reports, (list, tuple)):
        reports = list(reports)
    frozen = ReadOnlyReports(reports) if set(map(type, reports)) <= {ReadOnlyDict} else \
        ReadOnlyReports(r if type(r) is ReadOnlyDict else read_only(r, trial_id, REPORT)
                        for r in reports)  # all of them as report() made them, or not
    if trial_id is not None:
        frozen._trial_id = trial_id
    return frozen
