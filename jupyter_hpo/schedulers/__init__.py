"""Schedulers decide which trials run, stop, pause or resume; ``make_scheduler`` builds one."""

from __future__ import annotations

from typing import Any

from ..searchers import Searcher
from ._base import Scheduler, Suggestion
from ._fifo import FIFOScheduler
from ._hyperband import HyperbandScheduler

__all__ = [
    "SCHEDULERS",
    "FIFOScheduler",
    "HyperbandScheduler",
    "Scheduler",
    "Suggestion",
    "make_scheduler",
]

SCHEDULERS: dict[str, type[Scheduler]] = {"fifo": FIFOScheduler, "hyperband": HyperbandScheduler}


def make_scheduler(scheduler: str | Scheduler, searcher: Searcher, metric: str, mode: str,
                   resource: str = "epoch", **options: Any) -> Scheduler:
    """A scheduler object from a name (``"fifo"``, ``"hyperband"``) and its options."""
    if isinstance(scheduler, Scheduler):
        return scheduler
    cls = SCHEDULERS.get(scheduler)
    if cls is None:
        raise ValueError(f"scheduler is {scheduler!r}, but must be one of {sorted(SCHEDULERS)}")
    if cls is FIFOScheduler:
        extra = sorted(k for k, v in options.items() if v is not None and k != "seed"
                       and k != "max_t")
        if extra:
            raise ValueError(f"{', '.join(extra)} only apply to the hyperband scheduler")
        return FIFOScheduler(searcher, metric, mode, resource)
    options = {k: v for k, v in options.items() if v is not None}
    return HyperbandScheduler(searcher, metric, mode, resource, **options)
