"""The numeric domains, Real and Int: bounds, log scale, steps and their unit-cube cells."""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...errors import SpaceError
from ._arguments import _bound, _check_number, _whole
from ._base import Domain

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    import numpy as np

__all__ = ["Int", "Real"]


def _decimals(x: float) -> int:
    """Digits after the point in the shortest repr of ``x`` (``0.1`` -> 1, ``1e-05`` -> 5)."""
    exponent = Decimal(repr(float(x))).as_tuple().exponent
    return min(15, max(0, -exponent)) if isinstance(exponent, int) else 15


class _Numeric(Domain):
    """Bounds ``lo <= x <= hi`` (also as ``lower=``/``upper=``), a log scale or a ``step``.

    A stepped domain has the values ``lo, lo + step, ..., hi`` (``hi - lo`` must be a multiple
    of ``step``); each value owns an equal cell of the unit cube, so ``from_unit``, ``sample``
    and ``grid`` give values on the step only, whatever point of [0, 1] a searcher picks.
    """

    kind = "Real"

    def __init__(self, lo: float | None = None, hi: float | None = None, log: bool = False,
                 name: str | None = None, *, lower: float | None = None,
                 upper: float | None = None, step: float | None = None,
                 when: Any = None) -> None:
        super().__init__(name, when)
        lo = _check_number(self.kind, "lo", _bound(self.kind, "lo", "lower", lo, lower))
        hi = _check_number(self.kind, "hi", _bound(self.kind, "hi", "upper", hi, upper))
        if not isinstance(log, bool):
            step_hint = (f" (the third argument is log; a step is written step={log!r})"
                         if isinstance(log, numbers.Real) and log not in (0, 1) else "")
            raise SpaceError(f"{self.kind}: log is {log!r}, but must be True or False"
                             f"{step_hint}")
        if lo == hi and self.kind == "Real":
            raise SpaceError(f"Real: lo and hi are both {lo!r}, a range of one value: to keep "
                             f"the hyperparameter at {lo!r}, assign {lo!r} instead of a Real "
                             f"(or write Categorical({lo!r}))")
        if lo >= hi and not (self.kind == "Int" and lo == hi):
            raise SpaceError(f"{self.kind}: bounds are reversed or empty: lo={lo!r} must be "
                             f"{'<=' if self.kind == 'Int' else '<'} hi={hi!r}")
        if log and lo <= 0:
            raise SpaceError(f"{self.kind}: log=True needs lo > 0, but lo is {lo!r}")
        if not log and math.isinf(float(hi) - float(lo)):
            raise SpaceError(f"{self.kind}: the range from lo={lo!r} to hi={hi!r} is wider "
                             f"than the largest float (hi - lo overflows), so every value "
                             f"drawn would be a bound: narrow it")
        self.lo, self.hi, self.log = lo, hi, log
        if step is not None and not isinstance(step, bool) and isinstance(step, numbers.Real) \
                and type(step) not in (int, float) and math.isfinite(step):
            step = float(step)  # a numpy number, kept and stored as a float
        self.step = step
        self._count = 0  # values of a stepped domain (0: not stepped)
        if step is not None and not (self.kind == "Int" and step == 1):
            self._count = self._check_step(step)

    def _check_step(self, step: Any) -> int:
        """The number of values ``lo + k * step``; a SpaceError unless ``step`` fits."""
        step = _check_number(self.kind, "step", step)
        if step <= 0:
            raise SpaceError(f"{self.kind}: step is {step!r}, but must be > 0")
        if self.log:
            raise SpaceError(f"{self.kind}: step={step!r} cannot be combined with log=True "
                             f"(a log scale has no even steps)")
        n = (self.hi - self.lo) / step
        whole = round(n)
        if abs(n - whole) > 1e-9 * max(1.0, abs(n)):
            below, above = (self._on_step(self.lo + k * step)
                            for k in (math.floor(n), math.ceil(n)))
            ways = f"hi={below!r} or hi={above!r}" if n >= 1 else \
                f"hi={above!r}, or a step of at most {self.hi - self.lo!r}"  # lo itself: no range
            raise SpaceError(f"{self.kind}: hi={self.hi!r} is not on the step: hi - lo must be "
                             f"a multiple of step={step!r} (e.g. {ways})")
        return int(whole) + 1

    @property
    def stepped(self) -> bool:
        """Whether the domain takes only the values ``lo + k * step``."""
        return self._count > 0

    @property
    def step_count(self) -> int:
        """How many values a stepped domain has (0 when it is not stepped)."""
        return self._count

    def value_at(self, k: int) -> Any:
        """The ``k``-th value of a stepped domain, ``lo + k * step`` (0-based)."""
        return self._value_at(k)

    def index_of(self, value: float) -> int:
        """The position of ``value`` among a stepped domain's values."""
        return self._index_of(value)

    def _on_step(self, x: float) -> float:
        if self.kind == "Int":
            return round(x)
        digits = max(_decimals(self.lo), _decimals(self.step))
        return float(round(x, digits))

    def _value_at(self, k: int) -> Any:
        value = min(self.hi, max(self.lo, self._on_step(self.lo + k * self.step)))
        return int(value) if self.kind == "Int" else float(value)

    def _index_of(self, value: float) -> int:
        return min(self._count - 1, max(0, round((value - self.lo) / self.step)))

    def _stepped_to_unit(self, value: float) -> float:
        return (self._index_of(value) + 0.5) / self._count

    def _stepped_from_unit(self, u: float) -> Any:
        k = int(min(1.0, max(0.0, float(u))) * self._count)
        return self._value_at(min(k, self._count - 1))

    def _stepped_grid(self, points: int) -> list[Any]:
        if self._count <= points:
            return [self._value_at(k) for k in range(self._count)]
        if points == 1:
            return [self._value_at((self._count - 1) // 2)]
        ks = sorted({round(i * (self._count - 1) / (points - 1)) for i in range(points)})
        return [self._value_at(k) for k in ks]

    def _on_the_step(self, value: float) -> bool:
        n = (value - self.lo) / self.step
        return abs(n - round(n)) <= 1e-9 * max(1.0, abs(n))

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
        step = f", step={self.step!r}" if self.stepped else ""
        return f"{self.kind}({self.lo!r}, {self.hi!r}{log}{step}{self._extras()})"


class Real(_Numeric):
    """A float in ``[lo, hi]``, uniform or (``log=True``) log-uniform, or on a ``step``."""

    kind = "Real"

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(rng.random())

    def to_unit(self, value: float) -> float:
        return self._stepped_to_unit(value) if self._count else self._unit(value)

    def from_unit(self, u: float) -> float:
        if self._count:
            return self._stepped_from_unit(u)
        return float(min(self.hi, max(self.lo, self._from_unit_float(u))))  # Real(0, 1): 0.0

    def grid(self, points: int) -> list[float]:
        if points < 1:
            raise SpaceError(f"grid points is {points}, but must be >= 1")
        if self._count:
            return self._stepped_grid(points)
        if points == 1:
            return [self.from_unit(0.5)]
        return [self.from_unit(i / (points - 1)) for i in range(points)]

    def contains(self, value: Any) -> bool:
        return (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and self.lo <= value <= self.hi
                and (not self._count or self._on_the_step(value)))


class Int(_Numeric):
    """An integer in ``[lo, hi]`` (both included), uniform or log-uniform, or on a ``step``."""

    kind = "Int"

    def __init__(self, lo: int | None = None, hi: int | None = None, log: bool = False,
                 name: str | None = None, *, lower: int | None = None,
                 upper: int | None = None, step: int = 1, when: Any = None) -> None:
        lo, hi = _bound("Int", "lo", "lower", lo, lower), _bound("Int", "hi", "upper", hi, upper)
        given = {"lo": lo, "hi": hi, "step": step}
        lo, hi, step = (_whole(what, v, given) for what, v in given.items())
        super().__init__(lo, hi, log, name, step=step, when=when)

    def sample(self, rng: np.random.Generator) -> int:
        return self.from_unit(rng.random())

    def _cell_bounds(self) -> tuple[float, float]:
        # Integers own equal-width cells of the (warped) cube, so sampling is uniform.
        return self._warp(self.lo - 0.5), self._warp(self.hi + 0.5)

    def to_unit(self, value: int) -> float:
        if self._count:
            return self._stepped_to_unit(value)
        a, b = self._cell_bounds()
        return min(1.0, max(0.0, (self._warp(value) - a) / (b - a)))

    def from_unit(self, u: float) -> int:
        if self._count:
            return self._stepped_from_unit(u)
        a, b = self._cell_bounds()
        x = self._unwarp(a + min(1.0, max(0.0, float(u))) * (b - a))
        return int(min(self.hi, max(self.lo, round(x))))

    def grid(self, points: int) -> list[int]:
        if points < 1:
            raise SpaceError(f"grid points is {points}, but must be >= 1")
        if self._count:
            return self._stepped_grid(points)
        if self.hi - self.lo + 1 <= points:
            return list(range(self.lo, self.hi + 1))
        if points == 1:
            return [round(self._from_unit_float(0.5))]
        values = [min(self.hi, max(self.lo, round(self._from_unit_float(i / (points - 1)))))
                  for i in range(points)]  # a float beyond 2**53 rounds past the bounds
        return sorted(set(values))

    def contains(self, value: Any) -> bool:
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and self.lo <= value <= self.hi
                and (not self._count or (value - self.lo) % self.step == 0))
