"""Executors run trials: in threads of the kernel or in worker processes (same protocol)."""

from __future__ import annotations

from ._base import Executor, TrialHooks, TrialOutcome
from .process import ProcessExecutor
from .thread import ThreadExecutor

__all__ = ["EXECUTORS", "Executor", "ProcessExecutor", "ThreadExecutor", "TrialHooks",
           "TrialOutcome"]

EXECUTORS: dict[str, type[Executor]] = {"thread": ThreadExecutor, "process": ProcessExecutor}
