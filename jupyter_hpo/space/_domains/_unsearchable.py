"""What a new study's domains cannot search: NaN or domain choices, lone collections, huge Ints."""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ...errors import SpaceError
from ._base import Domain
from ._categorical import Categorical
from ._numeric import Int

__all__ = ["refuse_unsearchable"]


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
