"""Executors run trials: in threads of the kernel, in worker processes or as tasks on a Dask
cluster (same protocol). ``distributed`` is imported only when a Dask executor is made."""

from __future__ import annotations

from typing import Any

from ._base import Executor, FetchedNamespace, TrialHooks, TrialOutcome
from .dask import DaskExecutor
from .process import ProcessExecutor
from .thread import ThreadExecutor

__all__ = ["EXECUTORS", "DaskExecutor", "Executor", "FetchedNamespace", "ProcessExecutor",
           "ThreadExecutor", "TrialHooks", "TrialOutcome", "check_options", "make_executor"]

EXECUTORS: dict[str, type[Executor]] = {"thread": ThreadExecutor, "process": ProcessExecutor,
                                        "dask": DaskExecutor}
_PLANNED: dict[str, str] = {}


def make_executor(name: str, **options: Any) -> Executor:
    """An executor from its name and options; options it does not take are named in the
    error, with the executors that do take them."""
    if name in _PLANNED:
        raise ValueError(_PLANNED[name])
    cls = EXECUTORS.get(name)
    if cls is None:
        from ..other_names import other_choice

        raise ValueError(f"executor is {name!r}, but must be one of {', '.join(EXECUTORS)}"
                         f"{other_choice('executor', name, EXECUTORS)}")
    check_options(name, options)
    return cls(**{k: v for k, v in options.items() if v is not None or k in _COMMON})


_COMMON = {"slots", "workers", "capture_output"}  # what every executor takes


def check_options(name: str, options: dict[str, Any]) -> None:
    """Refuse options (not None) that the executor ``name`` does not take, naming the
    executors that do; the ``%%hpo`` line is checked with it before the cell is read."""
    cls = EXECUTORS[name]
    extra = sorted(k for k, v in options.items() if k not in _COMMON and k not in cls.OPTIONS
                   and v is not None)
    unknown = [k for k in extra if not any(k in c.OPTIONS for c in EXECUTORS.values())]
    if unknown:
        raise ValueError(_unknown_options(name, unknown))
    if extra:
        takers = sorted(n for n, c in EXECUTORS.items() if set(extra) <= set(c.OPTIONS))
        where = f"the {' or '.join(takers)} executor" if takers else "no executor"
        raise ValueError(f"{', '.join(extra)} only appl{'ies' if len(extra) == 1 else 'y'} to "
                         f"{where}, but the executor is {name}")


def _unknown_options(name: str, unknown: list[str]) -> str:
    """Options that no executor takes (a typo, another library's name): what each executor
    takes, and the nearest option name."""
    import difflib

    known = sorted({o for c in EXECUTORS.values() for o in c.OPTIONS})
    near = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.6)
    takes = "; ".join(f"{n}: {', '.join(c.OPTIONS) or 'none'}" for n, c in EXECUTORS.items())
    return (f"executor_options has {', '.join(unknown)}, which no executor takes (the "
            f"executor is {name}; the options each takes: {takes})"
            f"{f'; did you mean {near[0]}?' if near else ''}")
