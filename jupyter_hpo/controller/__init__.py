"""The controller: the one loop that owns the scheduler (and its searcher) and turns trial
events into decisions (see ``_controller.py``)."""

from __future__ import annotations

from ._controller import Controller

__all__ = ["Controller"]
