"""The domains: one hyperparameter's values, validated, sampled, mapped to [0, 1] and gridded.

Every domain maps to one coordinate of the unit cube so model-based searchers can work on
``[0, 1]^d`` whatever the mix of real, integer and categorical hyperparameters.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import re
import reprlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import SpaceError
from ._conditions import Condition, ConditionError, as_condition

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    from typing import Self  # Python 3.11

    import numpy as np

__all__ = ["CONFIG_SHOWN", "Bool", "Categorical", "Domain", "Int", "Real", "shown_value",
           "without_address"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def without_address(text: str) -> str:
    """A ``repr`` without the memory addresses in it (``<function f at 0x7f...>``), which
    change with every kernel: what stays the same for the same object after a restart."""
    return _ADDRESS.sub("", text)


CONFIG_SHOWN = 200
"""Characters of one hyperparameter value that ``shown_value`` shows."""


def shown_value(value: Any) -> str:
    """A hyperparameter's value as Python writes it, in full (``0.00020841398900843847``,
    ``'relu'``, ``(64, 32)``), without memory addresses (``<function tanh>``), cut at
    CONFIG_SHOWN characters (an ellipsis marks the cut): what the dashboard, the saved summary,
    ``%hpo best`` and the line of an applied trial show, so a value copied from any of them is
    the value the trial ran with."""
    text = without_address(repr(value))
    return text if len(text) <= CONFIG_SHOWN else text[:CONFIG_SHOWN - 1] + "…"


def _check_number(kind: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        one = getattr(value, "ndim", None) == 0 or getattr(value, "size", None) == 1 \
            or callable(getattr(value, "numel", None)) and value.numel() == 1
        hint = f" (a one-element {type(value).__name__}: write float(...) or its .item())" \
            if one and callable(getattr(value, "item", None)) else ""
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be a number{hint}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the floats (10**400)
        digits = int(int(value).bit_length() * math.log10(2)) + 1  # str() refuses 4300+
        raise SpaceError(f"{kind}: {what} is an integer of about {digits} digits, but must be "
                         f"within the floats' range (about ±1.8e308)") from None
    if not finite:
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be finite")
    return value if type(value) in (int, float) else float(value)  # numpy.float32(0.1), ...


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as a bool, also for numpy arrays and torch tensors (which compare element
    by element; torch says "Boolean value of Tensor with more than one value is ambiguous" as
    a RuntimeError, which failed the study in its searcher)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):  # "the truth value ... is ambiguous"
        shape = getattr(a, "shape", None)
        if shape is None or shape != getattr(b, "shape", None):
            return a is b
        try:
            return bool((a == b).all())
        except (TypeError, ValueError, RuntimeError, AttributeError):
            return a is b


def _elementwise(value: Any) -> bool:
    """Whether ``value == value`` is an array of truth values (a numpy array, a tensor): such
    a choice is compared with each value one by one, as a torch tensor hashes by identity."""
    try:
        return getattr(value == value, "shape", ()) != ()  # noqa: PLR0124 - by design
    except Exception:  # noqa: BLE001 - an object whose == fails: compared as it is
        return False


class Domain(ABC):
    """One hyperparameter's set of values; ``name`` is filled in from the annotation.

    ``when`` makes the hyperparameter conditional: it is active (sampled, part of the trial's
    config) only when the condition holds on the other hyperparameters, e.g.
    ``Int(3, 7, when="arch == 'cnn'")`` (see ``_conditions.py``). In a ``%%hpo`` cell the
    condition comes from the ``if`` the annotation sits under.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        _check_arguments(cls, args, kwargs)
        return super().__new__(cls)

    def __init__(self, name: str | None = None, when: Any = None) -> None:
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise SpaceError(f"name is {name!r}, but must be a Python identifier")
        self.name = name
        try:
            condition = as_condition(when)
        except ConditionError as exc:
            raise SpaceError(str(exc)) from None
        self.when: Condition | None = None if condition is None or condition.kind == "true" \
            else condition

    def unnamed_repr(self) -> str:
        """``repr`` without ``name=...``: for messages that name the hyperparameter already
        ("x=5, which is outside Real(0, 1)", not "... Real(0, 1, name='x')")."""
        plain = copy.copy(self)
        plain.name = None
        return repr(plain)

    def _extras(self) -> str:
        """``, when=..., name=...`` for ``repr``."""
        when = f", when={self.when.source()!r}" if self.when is not None else ""
        return when + (f", name={self.name!r}" if self.name else "")

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

    def _not_a_value(self, *_: Any) -> Any:
        """A domain used as a value (``lr * 2``, ``math.log(lr)``, ``range(units)``): the cell
        ran without ``%%hpo``, which would have given each trial a value."""
        value = self.grid(1)[0]
        shown = f"{value:.3g}" if isinstance(value, float) else repr(value)
        example = f"{self.name or 'x'} = {shown}  # hpo: {self!r}"
        raise TypeError(f"{self!r} is a search space, not a value: a cell that assigns it runs "
                        f"only as a study, with %%hpo as its first line (each trial then gets a "
                        f"value). To run the cell on its own too, write a value with the space "
                        f"in a comment: {example}")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_a_value
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _not_a_value
    __mod__ = __rmod__ = __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = _not_a_value
    __float__ = __int__ = __index__ = __round__ = _not_a_value
    __lt__ = __le__ = __gt__ = __ge__ = _not_a_value


def _bound(kind: str, short: str, long: str, value: Any, keyword: Any) -> Any:
    """One bound, given positionally (``lo``) or by the seeds' keyword (``lower=``)."""
    if value is None and keyword is None:
        raise SpaceError(f"{kind} needs both bounds, e.g. {kind}(0, 10) or "
                         f"{kind}(lower=0, upper=10), but {short} ({long}=) is missing")
    if value is not None and keyword is not None:
        raise SpaceError(f"{kind}: {short}={value!r} and {long}={keyword!r} are the same bound: "
                         f"give it once")
    return keyword if value is None else value


#: keywords of other libraries (Optuna, hyperopt, Ray Tune, AutoGluon) -> what to write here
_OTHER_KEYWORDS = {
    "low": "lo (or lower=)", "high": "hi (or upper=)", "min": "lo (or lower=)",
    "max": "hi (or upper=)", "log_scale": "log=True", "logscale": "log=True",
    "loguniform": "log=True", "log_uniform": "log=True", "q": "step=", "quantization": "step=",
    "step_size": "step=", "interval": "step=", "condition": "when=", "active_if": "when=",
}
_NO_DEFAULT = ("default", "init", "initial", "value", "default_value")


def _check_arguments(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse arguments the domain does not take with what to write instead, before Python's
    "_Numeric.__init__() got an unexpected keyword argument" (which names a private class)."""
    if not args and not kwargs:  # unpickling and copying call __new__ with nothing
        return
    kind = "Real" if cls.__name__ == "_Numeric" else cls.__name__
    parameters = _parameters(cls)
    keywords = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)  # a subclass's **options
    for key in kwargs:
        if key in keywords or any_keyword:
            continue
        if key in _NO_DEFAULT:
            hint = ("a hyperparameter has no default: the searcher picks every value. To run a "
                    "known configuration first, pass it with --enqueue '{\"lr\": 0.001}' "
                    "(tune(points_to_evaluate=[{...}]))")
        elif cls.__name__ in ("Categorical", "Bool") and key in ("choices", "values",
                                                                "options", "categories"):
            hint = f"give the choices as arguments: {kind}('relu', 'tanh') (or one list)"
        elif key in _OTHER_KEYWORDS and _OTHER_KEYWORDS[key].split("=")[0].split()[0] in keywords:
            hint = f"write {_OTHER_KEYWORDS[key]}"
        else:
            import difflib

            close = difflib.get_close_matches(key, keywords, n=1)
            hint = f"did you mean {close[0]}=?" if close else ""
        raise SpaceError(f"{kind}() got an unknown argument {key}=...: {hint + '; ' if hint else ''}"
                         f"it takes {_signature_text(kind, parameters)}")
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    if len(args) > len(positional) and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
        raise SpaceError(f"{kind}() got {len(args)} arguments without names, but takes at most "
                         f"{len(positional)} ({', '.join(p.name for p in positional)}): "
                         f"it takes {_signature_text(kind, parameters)}")


@functools.cache
def _parameters(cls: type) -> list[Any]:
    """The parameters of ``cls.__init__`` after ``self`` (read once per class)."""
    import inspect

    return list(inspect.signature(cls.__init__).parameters.values())[1:]


def _signature_text(kind: str, parameters: list[Any]) -> str:
    """e.g. ``Real(lo, hi, log=False, name=None, *, lower=None, upper=None, step=None, ...)``."""
    parts, starred = [], False
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            parts.append(f"{'*' if p.kind is p.VAR_POSITIONAL else '**'}{p.name}")
            starred = True
            continue
        if p.kind is p.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        default = p.default
        parts.append(p.name if default is p.empty or (default is None and p.name in ("lo", "hi"))
                     else f"{p.name}={default!r}")
    return f"{kind}({', '.join(parts)})"


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


def _whole(what: str, value: Any, given: dict[str, Any]) -> int:
    """Int's bound or step ``what`` as an int: a float that is a whole number (``1e3``,
    ``2**8 / 1``) is one; ``10.5`` is refused with what to write instead."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(value):
        if float(value).is_integer():
            return int(value)

        def call(kind: str, rounded: bool) -> str:
            parts = [f"round({v!r})" if rounded and k == what else repr(v)
                     for k, v in given.items() if k != "step"]
            if given["step"] != 1:
                step = given["step"]
                parts.append(f"step=round({step!r})" if rounded and what == "step"
                             else f"step={step!r}")
            return f"{kind}({', '.join(parts)})"

        raise SpaceError(f"Int: {what} is {value!r}, which is not a whole number: for real "
                         f"values write {call('Real', False)}, or round it: "
                         f"{call('Int', True)}")
    raise SpaceError(f"Int: {what} is {value!r}, but must be an integer (use Real for floats)")


class Categorical(Domain):
    """One of a fixed list of choices (any Python values, compared by equality)."""

    def __init__(self, *choices: Any, name: str | None = None, when: Any = None) -> None:
        super().__init__(name, when)
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
            elementwise = _elementwise(c)  # a tensor: hashed by identity, compared by value
            try:
                first = None if elementwise else self._exact.setdefault((type(c), c), i)
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
                if elementwise:
                    raise TypeError
                self._loose.setdefault(c, i)
            except TypeError:
                self._unhashable.append(i)

    def _find(self, value: Any, exact: bool) -> int | None:
        """The first index of a choice equal to ``value`` (and of its type if ``exact``)."""
        def same(c: Any) -> bool:
            return _equal(c, value) and (not exact or type(c) is type(value))

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

    def find_by_repr(self, text: str) -> tuple[bool, Any]:
        """``(True, choice)`` for the choice whose ``repr`` is ``text`` (how storage keeps an
        object JSON cannot hold), else for the one choice whose ``repr`` differs from it only
        in memory addresses (a function as another kernel defined it); ``(False, None)`` when
        there is none, or several (two lambdas)."""
        reprs = [repr(choice) for choice in self.choices]
        if text in reprs:
            return True, self.choices[reprs.index(text)]
        bare = without_address(text)
        alike = [c for c, shown in zip(self.choices, reprs, strict=True)
                 if without_address(shown) == bare]
        return (True, alike[0]) if len(alike) == 1 else (False, None)

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
        return f"Categorical({', '.join(map(repr, self.choices))}{self._extras()})"


class Bool(Categorical):
    """``False`` or ``True``."""

    def __init__(self, name: str | None = None, when: Any = None) -> None:
        if isinstance(name, bool):  # Bool(True), as if it took a default value
            raise SpaceError(f"Bool takes no value: Bool() searches False and True (got "
                             f"Bool({name})); to keep {name} fixed, assign {name} instead of "
                             f"a Bool, or write Categorical({name}) for a one-value choice")
        if name is not None and not isinstance(name, str):  # Bool(0, 1), as if it took values
            given = ", ".join(repr(value) for value in (name, when) if value is not None)
            raise SpaceError(f"Bool takes no values: Bool() searches False and True (got "
                             f"Bool({given})); for other values write Categorical({given})")
        super().__init__(False, True, name=name, when=when)

    def __repr__(self) -> str:
        return f"Bool({self._extras().removeprefix(', ')})"


def refuse_unsearchable(domains: Iterable[Domain]) -> None:
    """Refuse what a new study's domains cannot search: a NaN among ``Categorical`` choices
    (it equals nothing, itself included, so the searcher's second proposal failed, "nan is not
    one of the choices", with its traceback), a domain or a lone collection given as a choice
    (the trial got the object itself), and an ``Int`` whose integers floats cannot tell apart.
    Stored spaces are read without this check, so a study stored with one stays readable."""
    for domain in domains:
        if isinstance(domain, Int) and not domain.stepped:
            _refuse_beyond_floats(domain)
        for c in domain.choices if isinstance(domain, Categorical) else ():
            if _is_nan(c):
                raise SpaceError(f"Categorical: choice {c!r} is NaN, which is not equal to "
                                 f"itself, so a trial's value could never be matched to it: "
                                 f"write None or a string ('nan') for that choice")
            _refuse_domain_choice(c)
        if isinstance(domain, Categorical) and len(domain.choices) == 1:
            _refuse_lone_collection(domain.choices[0])


def _refuse_domain_choice(choice: Any) -> None:
    """A choice that is a domain (or a dict, list or tuple holding one) reached the trial as
    that object, ``Real(0, 1)`` instead of a number: choices are values, never searched."""
    inner = choice.values() if isinstance(choice, dict) else \
        choice if isinstance(choice, (list, tuple)) else ()
    domain = choice if isinstance(choice, Domain) else \
        next((v for v in inner if isinstance(v, Domain)), None)
    if domain is not None:
        what = "is a domain" if domain is choice else f"holds the domain {domain!r}"
        raise SpaceError(f"Categorical: the choice {choice!r} {what}, which the trial would get "
                         f"as that object, not a value drawn from it: a search space cannot "
                         f"contain another one: for a hyperparameter that only matters for "
                         f"some values of another, give it its own entry with when=, e.g. "
                         f"{{'opt': Categorical('sgd', 'adam'), 'lr': Real(0.001, 0.1, "
                         f"when=\"opt == 'sgd'\")}}")


def _refuse_lone_collection(choice: Any) -> None:
    """``Categorical(range(3))`` (or a set, a generator, a numpy array) has one choice, the
    collection itself, where a list's items are the choices: each trial got the same object."""
    from collections.abc import Iterator, MappingView

    lone = isinstance(choice, (range, set, frozenset, Iterator, MappingView)) or (
        type(choice).__module__.split(".")[0] in ("numpy", "pandas", "torch")
        and getattr(choice, "ndim", 0) >= 1)
    if lone:
        ordered = " (a set has no order: sorted(...) keeps a seeded study reproducible)" \
            if isinstance(choice, (set, frozenset)) else ""
        raise SpaceError(f"Categorical({reprlib.repr(choice)}) has one choice, the "
                         f"{type(choice).__name__} itself, not its values: pass the values as "
                         f"arguments, Categorical(*values), or as a list, "
                         f"Categorical(list(values)){ordered}")


def _refuse_beyond_floats(domain: Int) -> None:
    """Searchers map an ``Int`` through floats, which beyond 2**53 cannot tell neighbouring
    integers apart: a range narrower than that there failed the first proposal with
    ``ZeroDivisionError`` (or proposed few of its integers). A wider one, ``Int(0, 10**30)``
    (a seed, say), is searched as the floats allow."""
    lo, hi = domain.lo, domain.hi
    gap = math.ulp(float(max(abs(lo), abs(hi))))
    if gap > 1 and hi - lo < 2 ** 53:
        raise SpaceError(f"Int: lo={lo!r} and hi={hi!r} reach past 2**53, where floats (in "
                         f"which the searchers work) are {gap:g} apart, so not every one of the "
                         f"{hi - lo + 1} integers of the range can be proposed: search "
                         f"the offset, Int(0, {hi - lo}), and add {lo} to it in your code")


def _is_nan(value: Any) -> bool:
    """Whether ``value`` is a NaN number (float, numpy, Decimal), which equals nothing."""
    if isinstance(value, Decimal):
        return value.is_nan()
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isnan(value)
    except (OverflowError, TypeError, ValueError):  # an int too large for a float
        return False
