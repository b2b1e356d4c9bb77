"""The choice domains, Categorical and Bool: any Python values, found by equality."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import SpaceError
from ._base import Domain
from ._shown import without_address

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    import numpy as np

__all__ = ["Bool", "Categorical"]


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
