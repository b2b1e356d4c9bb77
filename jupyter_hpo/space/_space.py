"""``Space``: an ordered mapping of hyperparameter names to domains, sampled, mapped to the
unit cube and gridded as a whole."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import SpaceError
from ._domains import Domain

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    import numpy as np

__all__ = ["Space"]


class Space(Mapping[str, Domain]):
    """An ordered mapping of hyperparameter names to domains."""

    def __init__(self, domains: Mapping[str, Domain] | None = None) -> None:
        self._domains: dict[str, Domain] = {}
        for name, domain in (domains or {}).items():
            if not isinstance(domain, Domain):
                raise SpaceError(f"the space entry {name!r} is {domain!r}, but must be "
                                 f"Real(...), Int(...), Categorical(...) or Bool()")
            self._domains[name] = domain

    def __getitem__(self, name: str) -> Domain:
        return self._domains[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._domains)

    def __len__(self) -> int:
        return len(self._domains)

    def __repr__(self) -> str:
        return f"Space({self._domains!r})"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {name: d.sample(rng) for name, d in self._domains.items()}

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        import numpy as np

        return np.array([d.to_unit(config[n]) for n, d in self._domains.items()], dtype=float)

    def from_unit(self, u: np.ndarray) -> dict[str, Any]:
        if len(u) != len(self._domains):
            raise SpaceError(f"point has {len(u)} coordinates, but the space has "
                             f"{len(self._domains)} dimensions")
        return {n: d.from_unit(x) for (n, d), x in zip(self._domains.items(), u)}

    def grid(self, points: int = 5) -> Iterator[dict[str, Any]]:
        """Cartesian product of every domain's grid, in a fixed order."""
        names = list(self._domains)
        axes = [self._domains[n].grid(points) for n in names]
        for values in itertools.product(*axes):
            yield dict(zip(names, values))

    def grid_size(self, points: int = 5) -> int:
        return math.prod(len(d.grid(points)) for d in self._domains.values())

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ``SpaceError`` unless ``config`` names every hyperparameter with a valid value."""
        missing = [n for n in self._domains if n not in config]
        if missing:
            raise SpaceError(f"config lacks hyperparameters {missing}")
        for n, d in self._domains.items():
            if not d.contains(config[n]):
                raise SpaceError(f"{n}={config[n]!r} is outside {d!r}")
