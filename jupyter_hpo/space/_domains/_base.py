"""The base class of the domains: name, condition, the unit-cube interface, no arithmetic."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ...errors import SpaceError
from .._conditions import Condition, ConditionError, as_condition
from ._arguments import _check_arguments

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    from typing import Self  # Python 3.11

    import numpy as np

__all__ = ["Domain"]


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
