"""The domains: one hyperparameter's values, validated, sampled, mapped to [0, 1] and gridded.

Every domain maps to one coordinate of the unit cube so model-based searchers can work on
``[0, 1]^d`` whatever the mix of real, integer and categorical hyperparameters.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..errors import SpaceError

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    import numpy as np

__all__ = ["Bool", "Categorical", "Domain", "Int", "Real"]


def _check_number(kind: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be a number")
    if not math.isfinite(value):
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be finite")
    return value


class Domain(ABC):
    """One hyperparameter's set of values; ``name`` is filled in from the annotation."""

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise SpaceError(f"name is {name!r}, but must be a Python identifier")
        self.name = name

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value."""

    @abstractmethod
    def to_unit(self, value: Any) -> float:
        """Map a value to [0, 1]."""

    @abstractmethod
    def from_unit(self, u: float) -> Any:
        """Map a point of [0, 1] back to a value (the inverse of ``to_unit``)."""

    @abstractmethod
    def grid(self, points: int) -> list[Any]:
        """Up to ``points`` values spread over the domain (all values of a small domain)."""

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` belongs to the domain."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class _Numeric(Domain):
    kind = "Real"

    def __init__(self, lo: float, hi: float, log: bool = False, name: str | None = None) -> None:
        super().__init__(name)
        lo = _check_number(self.kind, "lo", lo)
        hi = _check_number(self.kind, "hi", hi)
        if not isinstance(log, bool):
            raise SpaceError(f"{self.kind}: log is {log!r}, but must be True or False")
        if lo >= hi and not (self.kind == "Int" and lo == hi):
            raise SpaceError(f"{self.kind}: bounds are reversed or empty: lo={lo!r} must be "
                             f"{'<=' if self.kind == 'Int' else '<'} hi={hi!r}")
        if log and lo <= 0:
            raise SpaceError(f"{self.kind}: log=True needs lo > 0, but lo is {lo!r}")
        self.lo, self.hi, self.log = lo, hi, log

    def _warp(self, x: float) -> float:
        return math.log(x) if self.log else float(x)

    def _unwarp(self, y: float) -> float:
        return math.exp(y) if self.log else y

    def _unit(self, value: float) -> float:
        a, b = self._warp(self.lo), self._warp(self.hi)
        return 0.0 if b == a else min(1.0, max(0.0, (self._warp(value) - a) / (b - a)))

    def _from_unit_float(self, u: float) -> float:
        u = min(1.0, max(0.0, float(u)))
        if u in (0.0, 1.0):
            return float(self.hi if u else self.lo)
        a, b = self._warp(self.lo), self._warp(self.hi)
        return self._unwarp(a + u * (b - a))

    def __repr__(self) -> str:
        log = ", log=True" if self.log else ""
        name = f", name={self.name!r}" if self.name else ""
        return f"{self.kind}({self.lo!r}, {self.hi!r}{log}{name})"


class Real(_Numeric):
    """A float in ``[lo, hi]``, uniform or (``log=True``) log-uniform."""

    kind = "Real"

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(rng.random())

    def to_unit(self, value: float) -> float:
        return self._unit(value)

    def from_unit(self, u: float) -> float:
        return min(self.hi, max(self.lo, self._from_unit_float(u)))

    def grid(self, points: int) -> list[float]:
        if points < 1:
            raise SpaceError(f"grid points is {points}, but must be >= 1")
        if points == 1:
            return [self.from_unit(0.5)]
        return [self.from_unit(i / (points - 1)) for i in range(points)]

    def contains(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and self.lo <= value <= self.hi


class Int(_Numeric):
    """An integer in ``[lo, hi]`` (both included), uniform or log-uniform."""

    kind = "Int"

    def __init__(self, lo: int, hi: int, log: bool = False, name: str | None = None) -> None:
        for what, v in (("lo", lo), ("hi", hi)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise SpaceError(f"Int: {what} is {v!r}, but must be an integer "
                                 f"(use Real for floats)")
        super().__init__(int(lo), int(hi), log, name)

    def sample(self, rng: np.random.Generator) -> int:
        return self.from_unit(rng.random())

    def _cell_bounds(self) -> tuple[float, float]:
        # Integers own equal-width cells of the (warped) cube, so sampling is uniform.
        return self._warp(self.lo - 0.5), self._warp(self.hi + 0.5)

    def to_unit(self, value: int) -> float:
        a, b = self._cell_bounds()
        return min(1.0, max(0.0, (self._warp(value) - a) / (b - a)))

    def from_unit(self, u: float) -> int:
        a, b = self._cell_bounds()
        x = self._unwarp(a + min(1.0, max(0.0, float(u))) * (b - a))
        return int(min(self.hi, max(self.lo, round(x))))

    def grid(self, points: int) -> list[int]:
        if points < 1:
            raise SpaceError(f"grid points is {points}, but must be >= 1")
        if self.hi - self.lo + 1 <= points:
            return list(range(self.lo, self.hi + 1))
        if points == 1:
            return [round(self._from_unit_float(0.5))]
        values = [round(self._from_unit_float(i / (points - 1))) for i in range(points)]
        return sorted(set(values))

    def contains(self, value: Any) -> bool:
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and self.lo <= value <= self.hi)


class Categorical(Domain):
    """One of a fixed list of choices (any Python values, compared by equality)."""

    def __init__(self, *choices: Any, name: str | None = None) -> None:
        super().__init__(name)
        if len(choices) == 1 and isinstance(choices[0], (list, tuple)):
            choices = tuple(choices[0])
        if not choices:
            raise SpaceError("Categorical needs at least one choice, e.g. "
                             "Categorical('relu', 'tanh')")
        self.choices = tuple(choices)
        # Lookup tables keep building the domain and index() linear in the number of choices:
        # (type, value) -> first index (a choice of the same type and value is a duplicate) and
        # value -> first index (equal values of any type: 1 == 1.0 == True). Unhashable choices
        # are compared one by one.
        self._exact: dict[tuple[type, Any], int] = {}
        self._loose: dict[Any, int] = {}
        self._unhashable: list[int] = []
        for i, c in enumerate(self.choices):
            try:
                first = self._exact.setdefault((type(c), c), i)
            except TypeError:
                first = None
            if first == i and not self._unhashable:  # new and hashable: the usual case
                self._loose.setdefault(c, i)
                continue
            first = self._find(c, exact=True)
            if first is not None and first < i:
                raise SpaceError(f"Categorical: choice {c!r} appears more than once (positions "
                                 f"{first} and {i}), but the choices must be distinct")
            try:
                self._loose.setdefault(c, i)
            except TypeError:
                self._unhashable.append(i)

    def _find(self, value: Any, exact: bool) -> int | None:
        """The first index of a choice equal to ``value`` (and of its type if ``exact``)."""
        def same(c: Any) -> bool:
            return bool(c == value) and (not exact or type(c) is type(value))

        try:
            i = self._exact.get((type(value), value)) if exact else self._loose.get(value)
        except TypeError:  # an unhashable value is compared with every choice
            return next((j for j, c in enumerate(self.choices) if same(c)), None)
        if i is not None and not same(self.choices[i]):  # found by identity only (NaN)
            return next((j for j, c in enumerate(self.choices) if same(c)), None)
        for j in self._unhashable:  # an unhashable choice may equal a hashable value
            if i is not None and j > i:
                break
            if same(self.choices[j]):
                return j
        return i

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def index(self, value: Any) -> int:
        i = self._find(value, exact=True)
        if i is None:
            i = self._find(value, exact=False)
        if i is None:
            raise SpaceError(f"{value!r} is not one of the choices {self.choices!r}")
        return i

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        i = int(min(1.0, max(0.0, float(u))) * len(self.choices))
        return self.choices[min(i, len(self.choices) - 1)]

    def grid(self, points: int) -> list[Any]:
        return list(self.choices)

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except SpaceError:
            return False
        return True

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Categorical({', '.join(map(repr, self.choices))}{name})"


class Bool(Categorical):
    """``False`` or ``True``."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(False, True, name=name)

    def __repr__(self) -> str:
        return f"Bool(name={self.name!r})" if self.name else "Bool()"
