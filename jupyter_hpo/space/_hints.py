"""What a space entry that is not a domain was probably meant to be, as the end of the
``SpaceError`` that refuses it: a ``range``, a numpy array (``np.linspace``), a scipy.stats
distribution (scikit-learn's ``RandomizedSearchCV`` takes those), a tuple, a list, a class."""

from __future__ import annotations

import itertools
import math
import numbers
import reprlib
from collections.abc import Mapping
from typing import Any

from ._domains import Domain

__all__ = ["domain_hint"]


def domain_hint(name: str, value: Any) -> str:
    """What the entry ``name: value`` was probably meant to be (`` (a range? ...)``)."""
    if isinstance(value, type) and issubclass(value, Domain):
        return f": call it, e.g. {{{name!r}: {value.__name__}(...)}}"
    if isinstance(value, range):
        return _range_hint(name, value)
    if _is_distribution(value):
        return _distribution_hint(name, value)
    if type(value).__module__.startswith("optuna.distributions"):
        return _optuna_hint(name, value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 1:
        return _array_hint(name, value.tolist())
    if isinstance(value, tuple) and len(value) == 2 \
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        ints = f" or Int{value!r}" if all(isinstance(v, int) for v in value) else ""
        return f" (a range? {{{name!r}: Real{value!r}}}{ints})"
    if isinstance(value, Mapping) and any(isinstance(v, Domain) for v in value.values()):
        inner = next(k for k, v in value.items() if isinstance(v, Domain))
        return (f" (a nested space? a space is flat: give each hyperparameter its own entry, "
                f"e.g. {{'{name}.{inner}': {value[inner]!r}}}, and build the nested dict from "
                f"the config in the objective)")
    if isinstance(value, (list, tuple, set)) and value:
        return f" (choices? {{{name!r}: Categorical({_listed(list(value))})}})"
    return (" (a fixed value? leave it out of the space and set it in the objective, or "
            f"search it as {{{name!r}: Categorical({reprlib.repr(value)})}})")


def _listed(values: list[Any]) -> str:
    """The first values of ``values`` as arguments (``1, 2, 3, ...``)."""
    return ", ".join(repr(v) for v in values[:4]) + (", ..." if len(values) > 4 else "")


def _range_hint(name: str, value: range) -> str:
    """``range(1, 9)`` is ``Int(1, 8)``: Int includes both bounds, range not its stop."""
    if not value:
        return f" (an empty range: {value!r} holds no value)"
    lo, hi = min(value), max(value)
    step = f", step={abs(value.step)}" if abs(value.step) != 1 else ""
    return (f" (a range of integers? {{{name!r}: Int({lo}, {hi}{step})}}: Int includes both "
            f"bounds, where range leaves out its stop; or the choices "
            f"Categorical(*{value!r}))")


def _array_hint(name: str, values: list[Any]) -> str:
    """A 1-d array is a list of choices; evenly spaced numbers (``np.linspace``,
    ``np.arange``) are also a range with a step."""
    if not values:
        return " (an empty array holds no value)"
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    choices = f"{{{name!r}: Categorical({_listed(values)})}}, i.e. Categorical(*array)"
    if not numeric or len(values) < 3:
        return f" (choices? {choices})"
    lo, hi = values[0], values[-1]
    kind = "Int" if all(isinstance(v, int) for v in values) else "Real"
    if _evenly([b - a for a, b in itertools.pairwise(values)]):
        step = values[1] - values[0]
        stepped = "" if kind == "Int" and step == 1 else \
            f", step={step:g}" if kind == "Real" else f", step={step}"
        return (f" (a grid of {len(values)} evenly spaced values? {{{name!r}: {kind}({lo!r}, "
                f"{hi!r}{stepped})}}" + (f", or {kind}({lo!r}, {hi!r}) for every value "
                                         f"between" if stepped else "")
                + f"; or the choices {choices})")
    if lo > 0 and _evenly([b / a for a, b in itertools.pairwise(values)], above=1.0):  # np.logspace
        return (f" (log-spaced values? {{{name!r}: {kind}({lo!r}, {hi!r}, log=True)}} for "
                f"every value between; or the choices {choices})")
    return f" (choices? {choices})"


def _evenly(gaps: list[float], above: float = 0.0) -> bool:
    """Whether the differences (or ratios) between successive values are one constant
    greater than ``above``: the values increase evenly."""
    return gaps[0] > above and all(math.isclose(g, gaps[0], rel_tol=1e-9, abs_tol=1e-12)
                                   for g in gaps)


def _is_distribution(value: Any) -> bool:
    """Whether ``value`` is a frozen scipy.stats distribution (``uniform(0, 1)``)."""
    return type(value).__module__.startswith("scipy.stats") and hasattr(value, "support") \
        and hasattr(value, "dist")


def _distribution_hint(name: str, value: Any) -> str:
    """The domain of the same support: ``uniform(0.1, 0.4)`` is ``Real(0.1, 0.5)`` (loc and
    scale), ``loguniform(1e-4, 1e-1)`` a log Real, ``randint(1, 9)`` ``Int(1, 8)``."""
    kind = getattr(value.dist, "name", type(value.dist).__name__)
    intro = f" (scipy.stats.{kind}, a distribution as scikit-learn's RandomizedSearchCV takes"
    lo, hi = (float(b) for b in value.support())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (f"{intro}: a domain here has finite bounds, which {kind} has not: write "
                f"{{{name!r}: Real(lo, hi)}} over the values to search)")
    discrete = hasattr(value.dist, "pmf")
    if discrete:
        return f"{intro}: write {{{name!r}: Int({int(lo)}, {int(hi)})}}, both bounds included)"
    log = ", log=True" if kind in ("loguniform", "reciprocal") else ""
    if not log and kind != "uniform":
        return (f"{intro}: a domain here is uniform (or log-uniform) between bounds: write "
                f"{{{name!r}: Real({lo:g}, {hi:g})}} over the values to search)")
    return f"{intro}: write {{{name!r}: Real({lo:g}, {hi:g}{log})}})"


def _optuna_hint(name: str, value: Any) -> str:
    """Optuna's ``FloatDistribution(0, 1)`` is ``Real(0, 1)``, ``IntDistribution`` an
    ``Int``, ``CategoricalDistribution(choices)`` a ``Categorical``."""
    kind = type(value).__name__
    if hasattr(value, "choices"):
        meant = f"Categorical({_listed(list(value.choices))})"
    elif hasattr(value, "low") and hasattr(value, "high"):
        ours = "Int" if "Int" in kind else "Real"
        log = ", log=True" if getattr(value, "log", False) else ""
        step = getattr(value, "step", None)
        stepped = f", step={step!r}" if step not in (None, 1) else ""
        meant = f"{ours}({value.low!r}, {value.high!r}{log}{stepped})"
    else:
        return f" ({kind}, Optuna's: write a domain of this library, e.g. Real(lo, hi))"
    return f" ({kind}, Optuna's: write {{{name!r}: {meant}}})"
