"""Grid search: the Cartesian product of per-hyperparameter grids, in order, never built.

The grid is indexed instead of listed (``Space.grid_index``): point ``i`` is read off the
mixed-radix digits of ``i`` (the last hyperparameter varies fastest, as in
``itertools.product``), so a grid of 10**12 points costs no more memory than one of ten. In a
conditional space the grid holds the active combinations only: inactive hyperparameters are
skipped, not multiplied in (see ``space/_grid.py``). ``shuffle=True`` visits the indices in the order
of a seeded pseudo-random permutation of ``range(n)``: a four-round Feistel network on the
smallest even number of bits that holds ``n - 1``, with cycle walking (indices that land
outside ``range(n)`` are encrypted again; fewer than four rounds of walking are expected).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..space import Categorical, Domain, Int, Real, Space
from ._base import Searcher
from ._options import check_bool, check_int

#: the most values one hyperparameter's grid may have
MAX_AXIS_VALUES = 1_000_000


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
        self.points = check_int("points", points, 1)
        self.shuffle = check_bool("shuffle", shuffle)
        for name, domain in space.items():
            bound = _axis_bound(domain, self.points)
            if bound > MAX_AXIS_VALUES:
                raise ValueError(f"the grid of {name!r} ({domain!r}) would have {bound:,} "
                                 f"values with points={self.points}, but at most "
                                 f"{MAX_AXIS_VALUES:,} per hyperparameter are allowed; use "
                                 f"fewer points or another searcher")
        self._index = space.grid_index(self.points)
        self._size = self._index.size
        self._permutation = _Permutation(self._size, self.rng) if self.shuffle else None
        self._next = 0
        self._taken: set[str] = set()

    @property
    def size(self) -> int:
        """How many points the grid has (``len()`` fails beyond ``sys.maxsize`` points)."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def describe(self) -> str:
        order = ", shuffled" if self.shuffle else ""
        return f"grid search ({self._size:,} points{order})"

    def point(self, index: int) -> dict[str, Any]:
        """The ``index``-th point of the grid in ``itertools.product`` order."""
        return self._index[index]

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        while self._next < self._size:
            index = self._next if self._permutation is None else \
                self._permutation(self._next)
            self._next += 1
            config = self.point(index)
            if _key(config) not in self._taken:
                return config
        return None

    def _complete(self, partial: dict[str, Any], trial_id: int) -> dict[str, Any]:
        """An enqueued partial configuration gets random values for the rest, so that no
        point of the grid is used up (or skipped) by it."""
        return self.space.complete(partial, {}, self.rng)

    def _restore(self, trial_id: int, config: dict[str, Any]) -> None:
        """A resumed study does not run a stored grid point again."""
        self._taken.add(_key(config))


def _axis_bound(domain: Domain, points: int) -> int:
    """At most how many values ``domain.grid(points)`` gives, without building it."""
    if isinstance(domain, Categorical):
        return len(domain.choices)
    if isinstance(domain, Int):
        return min(points, domain.hi - domain.lo + 1)
    if isinstance(domain, Real):
        return points
    return len(domain.grid(points))  # another kind of domain: it builds its own


class _Permutation:
    """A seeded pseudo-random permutation of ``range(n)`` that stores four keys, not ``n``
    numbers: a balanced Feistel network with cycle walking."""

    ROUNDS = 4

    def __init__(self, n: int, rng: Any) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        self.keys = [int(k) for k in rng.integers(0, 2 ** 63, size=self.ROUNDS)]

    def _round(self, key: int, value: int) -> int:
        size = (self.half + 7) // 8
        data = key.to_bytes(8, "little") + value.to_bytes(size, "little")
        digest = hashlib.blake2b(data, digest_size=min(64, max(8, size))).digest()
        return int.from_bytes(digest, "little") & self.mask

    def _encrypt(self, x: int) -> int:
        left, right = x >> self.half, x & self.mask
        for key in self.keys:
            left, right = right, left ^ self._round(key, right)
        return (left << self.half) | right

    def __call__(self, index: int) -> int:
        if not 0 <= index < self.n:
            raise IndexError(f"index is {index}, but must be in range({self.n})")
        x = self._encrypt(index)
        while x >= self.n:  # the domain is less than 4n, so this ends after a few steps
            x = self._encrypt(x)
        return x


def _key(config: dict[str, Any]) -> str:
    return repr(sorted(config.items()))
