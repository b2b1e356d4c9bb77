"""Executors run trials: in threads now; processes and Dask follow the same protocol."""

from __future__ import annotations

from ._base import Executor, TrialHooks, TrialOutcome
from .thread import ThreadExecutor

__all__ = ["Executor", "ThreadExecutor", "TrialHooks", "TrialOutcome", "EXECUTORS"]

EXECUTORS: dict[str, type[Executor]] = {"thread": ThreadExecutor}
