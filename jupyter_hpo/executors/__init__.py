"""Executors run trials: in threads now; processes and Dask follow the same protocol."""

from __future__ import annotations

from ._base import Executor, TrialHooks, TrialOutcome
from .thread import ThreadExecutor

__all__ = ["EXECUTORS", "Executor", "ThreadExecutor", "TrialHooks", "TrialOutcome"]

EXECUTORS: dict[str, type[Executor]] = {"thread": ThreadExecutor}
