"""Schedulers decide which trials run, stop, pause or resume; ``make_scheduler`` builds one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..searchers import Searcher, nearest_options
from ._adaptive import AdaptiveScheduler, AutoFIFOScheduler
from ._base import Scheduler, Suggestion
from ._fifo import FIFOScheduler
from ._hyperband import HyperbandScheduler

__all__ = [
    "SCHEDULERS",
    "AdaptiveScheduler",
    "AutoFIFOScheduler",
    "FIFOScheduler",
    "HyperbandScheduler",
    "Scheduler",
    "Suggestion",
    "make_scheduler",
    "scheduler_class",
]

SCHEDULERS: dict[str, type[Scheduler]] = {"auto": AdaptiveScheduler, "fifo": FIFOScheduler,
                                          "hyperband": HyperbandScheduler}


def make_scheduler(scheduler: str | Scheduler, searcher: Searcher, metric: str, mode: str,
                   resource: str = "epoch", **options: Any) -> Scheduler:
    """A scheduler object from a name (``"auto"``, ``"fifo"``, ``"hyperband"``) and its
    options.

    Options given as ``None`` take the scheduler's defaults; an option the scheduler does not
    take (its class's ``OPTIONS``) is an error that says which scheduler takes it. ``auto``
    with no option but ``seed`` and no ``max_t`` has no rungs: it is FIFO."""
    if isinstance(scheduler, Scheduler):
        return scheduler
    options = {k: v for k, v in options.items() if v is not None}
    cls = scheduler_class(scheduler, options)
    if cls is AdaptiveScheduler and set(options) <= {"seed"}:
        return AutoFIFOScheduler(searcher, metric, mode, resource, **options)
    return cls(searcher, metric, mode, resource, **options)


def scheduler_class(name: str, options: Iterable[str] = ()) -> type[Scheduler]:
    """The scheduler class registered under ``name``, which must take every option named in
    ``options`` (a ValueError says which scheduler takes an option, or the nearest name)."""
    cls = SCHEDULERS.get(name)
    if cls is None:
        from ..other_names import other_choice

        raise ValueError(f"scheduler is {name!r}, but must be one of {sorted(SCHEDULERS)}"
                         f"{other_choice('scheduler', name, SCHEDULERS)}")
    unknown = sorted(set(options) - set(cls.OPTIONS))
    if unknown:
        raise ValueError(_unknown_options(name, cls, unknown))
    return cls


def _unknown_options(name: str, cls: type[Scheduler], unknown: list[str]) -> str:
    """E.g. "grace_period, max_t only apply to the hyperband scheduler"."""
    by_owners: dict[tuple[str, ...], list[str]] = {}
    for option in unknown:
        owners = tuple(other for other, c in SCHEDULERS.items() if option in c.OPTIONS)
        by_owners.setdefault(owners, []).append(option)
    parts = []
    for owners, options in by_owners.items():
        listed = ", ".join(options)
        verb = "applies" if len(options) == 1 else "apply"
        if owners:
            parts.append(f"{listed} only {verb} to the {' and '.join(owners)} scheduler"
                         f"{'s' if len(owners) > 1 else ''}")
        else:
            takes = ", ".join(cls.OPTIONS) or "none"
            parts.append(f"the {name} scheduler does not take {listed} (its options: {takes})"
                         f"{nearest_options(options, list(cls.OPTIONS))}")
    return "; ".join(parts)
