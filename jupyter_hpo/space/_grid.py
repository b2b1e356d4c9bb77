"""The grid of a space as an indexable sequence that is never built, conditional spaces
included.

Without conditions the grid is the Cartesian product of the domains' grids, read off the
mixed-radix digits of an index (the last hyperparameter varies fastest, as in
``itertools.product``). With conditions it is a union of products: the *controllers* (the
hyperparameters that conditions read) are enumerated first, in order and skipping inactive
ones, into *branches*; in each branch the other active hyperparameters form a product. An
index picks its branch by bisection over the branch sizes, then its point inside the
branch's product, so a grid of 10**12 points costs no more memory than the branches.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any

from ..errors import SpaceError

if TYPE_CHECKING:
    from ._space import Space

__all__ = ["MAX_BRANCHES", "GridIndex"]

MAX_BRANCHES = 1_000_000
"""The most combinations of controller values a conditional grid may enumerate."""


class GridIndex:
    """``len(index)`` points; ``index[i]`` is the ``i``-th (active hyperparameters only)."""

    def __init__(self, space: Space, points: int) -> None:
        names = list(space)
        self._names = names
        self._axes = {name: list(space[name].grid(points)) for name in names}
        controllers = {n for c in space.conditions.values() for n in c.names}
        branches: list[tuple[dict[str, Any], list[str]]] = [({}, [])]
        for name in names:  # controllers branch; the others only say whether they are active
            grown: list[tuple[dict[str, Any], list[str]]] = []
            for fixed, free in branches:
                if not space.is_active(name, fixed):
                    grown.append((fixed, free))
                elif name in controllers:
                    grown.extend(({**fixed, name: v}, free) for v in self._axes[name])
                else:
                    grown.append((fixed, [*free, name]))
            branches = grown
            if len(branches) > MAX_BRANCHES:
                raise SpaceError(f"the grid has more than {MAX_BRANCHES:,} combinations of the "
                                 f"hyperparameters that conditions read; use fewer grid points "
                                 f"or another searcher")
        self._branches = branches
        self._starts: list[int] = []
        total = 0
        for _, free in branches:
            self._starts.append(total)
            total += math.prod(len(self._axes[n]) for n in free)
        self._size = total

    @property
    def size(self) -> int:
        """How many points the grid has; unlike ``len()`` not bounded by ``sys.maxsize``."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self._size:
            raise IndexError(f"grid index is {index}, but must be in range({self._size})")
        b = bisect.bisect_right(self._starts, index) - 1
        while math.prod(len(self._axes[n]) for n in self._branches[b][1]) == 0:
            b += 1  # an empty branch (a domain without grid values) holds no point
        fixed, free = self._branches[b]
        rest = index - self._starts[b]
        values: dict[str, Any] = {}
        for name in reversed(free):
            axis = self._axes[name]
            rest, digit = divmod(rest, len(axis))
            values[name] = axis[digit]
        merged = {**fixed, **values}
        return {name: merged[name] for name in self._names if name in merged}
