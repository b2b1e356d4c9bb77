"""Searchers propose configurations; ``make_searcher`` builds one from a name and options."""

from __future__ import annotations

from typing import Any

from ..space import Space
from ._base import Searcher
from ._grid import GridSearcher
from ._random import RandomSearcher

__all__ = ["SEARCHERS", "GridSearcher", "RandomSearcher", "Searcher", "make_searcher"]

SEARCHERS: dict[str, type[Searcher]] = {"random": RandomSearcher, "grid": GridSearcher}


def make_searcher(searcher: str | Searcher, space: Space, metric: str, mode: str,
                  seed: int | None = None, **options: Any) -> Searcher:
    """A searcher object from a name (``"random"``, ``"grid"``) and its options."""
    if isinstance(searcher, Searcher):
        if options:
            raise ValueError(f"searcher options {sorted(options)} given with a searcher object; "
                             f"pass them to its constructor instead")
        return searcher
    cls = SEARCHERS.get(searcher)
    if cls is None:
        raise ValueError(f"searcher is {searcher!r}, but must be one of {sorted(SEARCHERS)}")
    try:
        return cls(space, metric, mode, seed, **options)
    except TypeError as exc:
        raise ValueError(f"searcher {searcher!r} does not take these options: {exc}") from None
