"""Grid search: the Cartesian product of per-hyperparameter grids, in order."""

from __future__ import annotations

from typing import Any

from ..space import Space
from ._base import Searcher


class GridSearcher(Searcher):
    """Walks the grid once; ``points`` values per real (and large integer) hyperparameter.

    With ``shuffle=True`` the grid is visited in a seeded random order, which gives a useful
    picture early when the budget is smaller than the grid.
    """

    name = "grid"
    OPTIONS = ("points", "shuffle")

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 points: int = 5, shuffle: bool = False) -> None:
        super().__init__(space, metric, mode, seed)
        if int(points) < 1:
            raise ValueError(f"points is {points}, but must be >= 1")
        self.points = int(points)
        self._grid = list(space.grid(self.points))
        if shuffle:
            self._grid = [self._grid[i] for i in self.rng.permutation(len(self._grid))]
        self._next = 0
        self._taken: set[str] = set()

    def __len__(self) -> int:
        return len(self._grid)

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        while self._next < len(self._grid):
            self._next += 1
            config = self._grid[self._next - 1]
            if _key(config) not in self._taken:
                return dict(config)
        return None

    def _restore(self, trial_id: int, config: dict[str, Any]) -> None:
        """A resumed study does not run a stored grid point again."""
        self._taken.add(_key(config))


def _key(config: dict[str, Any]) -> str:
    return repr(sorted(config.items()))
