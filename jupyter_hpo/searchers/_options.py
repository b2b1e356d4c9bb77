"""Validation of searcher and scheduler options (``--searcher-opt key=value``, ``--max-t``)
with one kind of message: the option, its value and the rule."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as an int, or a ValueError saying it must be an integer >= ``lo``
    (and <= ``hi``)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        rule = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} is {value!r}, but must be an integer {rule}")
    return int(value)


def check_float(name: str, value: Any, lo: float, hi: float, lo_open: bool = False,
                hi_open: bool = False) -> float:
    """``value`` as a float in the interval, or a ValueError naming the interval. Bools,
    non-numbers, NaN and infinities are refused."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open
                                                           else value <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name} is {value!r}, but must be a number in {interval}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is True or False, else a ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} is {value!r}, but must be True or False")  # noqa: TRY004 - option errors are ValueErrors
    return value


def check_choice(name: str, value: Any, choices: Sequence[str],
                 ignore_case: bool = False) -> str:
    """The entry of ``choices`` that ``value`` names (case-insensitively with
    ``ignore_case``), or a ValueError listing them."""
    if isinstance(value, str):
        for choice in choices:
            if value == choice or (ignore_case and value.lower() == choice.lower()):
                return choice
    raise ValueError(f"{name} is {value!r}, but must be one of {', '.join(choices)}")


def check_seed(value: Any) -> int | None:
    """A seed: None or an integer >= 0."""
    return None if value is None else check_int("seed", value, 0)
