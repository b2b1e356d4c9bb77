"""How a hyperparameter's value is shown: in full, without memory addresses, cut at a length."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CONFIG_SHOWN", "shown_value", "without_address"]


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
