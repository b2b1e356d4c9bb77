"""Compute slots handed to trials; the thread executor runs everything on one device."""

from __future__ import annotations

import sys
from typing import Any


def default_device() -> Any:
    """``torch.device("cpu")`` when torch is already imported, else the string ``"cpu"``.

    torch is never imported here: a cell that uses torch has imported it, and torch accepts
    the string form (``model.to("cpu")``) too.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "device"):
        return torch.device("cpu")
    return "cpu"
