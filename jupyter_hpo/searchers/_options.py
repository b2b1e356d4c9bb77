"""Validation of searcher options (``--searcher-opt key=value``) with one kind of message."""

from __future__ import annotations

import math
import numbers
from typing import Any


def check_int(name: str, value: Any, lo: int) -> int:
    """``value`` as an int, or a ValueError saying it must be an integer >= ``lo``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} is {value!r}, but must be an integer >= {lo}")
    return int(value)


def check_float(name: str, value: Any, lo: float, hi: float, lo_open: bool = False,
                hi_open: bool = False) -> float:
    """``value`` as a float in the interval, or a ValueError naming the interval."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open
                                                           else value <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name} is {value!r}, but must be a number in {interval}")
    return float(value)
