"""Why a value or a function cannot be sent to a worker process (process and Dask executors):
the variable that does not pickle, by name, and what to do instead."""

from __future__ import annotations

import inspect
from types import CodeType
from typing import Any

from ..errors import HPOError
from ..trial import _short


def _unpicklable_function(fn: Any, exc: Exception) -> str:
    """Why ``fn`` cannot be sent to a worker process: the first value it refers to that does
    not pickle, by name, and what to do instead."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    short = getattr(fn, "__name__", name)
    culprit = next(((what, value, err) for what, value in _referred(fn)
                    for err in [_pickle_error(value)] if err is not None), None)
    threads = "or run the trials in threads with executor='thread' (--executor thread)"
    if culprit is None:
        return (f"the objective {name!r} cannot be sent to a worker process "
                f"({type(exc).__name__}: {exc}). Create what it holds inside it, {threads}")
    what, value, err = culprit
    return (f"the objective {name!r} cannot be sent to a worker process: {what}, "
            f"{_short(value)} ({type(value).__name__}), which cannot be pickled "
            f"({type(err).__name__}: {err}). Create that object inside {short} (give what "
            f"makes it, a path or a number, as a fixed value of the space), {threads}")


def _referred(fn: Any) -> list[tuple[str, Any]]:
    """What function ``fn`` refers to beside its code, each as (what it is, value): the
    object of a bound method, the variables of enclosing functions, defaults, and the
    globals its code (and the code of functions defined in it) reads."""
    found: list[tuple[str, Any]] = []
    owner = getattr(fn, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        found.append((f"it is a method of a {type(owner).__name__} object", owner))
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found.append((f"it reads {var!r}, a variable of the function that made it",
                          cell.cell_contents))
        except ValueError:  # a cell not filled yet
            continue
    for var, value in inspect.signature(fn).parameters.items():
        if value.default is not inspect.Parameter.empty:
            found.append((f"its parameter {var!r} defaults to an object", value.default))
    global_names = getattr(fn, "__globals__", {})
    codes, seen = [code], set()
    while codes:
        current = codes.pop()
        for var in current.co_names:
            if var in global_names and var not in seen \
                    and not inspect.ismodule(global_names[var]):
                seen.add(var)
                found.append((f"it reads the global variable {var!r}", global_names[var]))
        codes += [c for c in current.co_consts if isinstance(c, CodeType)]
    return found


def _pickle_error(value: Any) -> Exception | None:
    """The error of pickling ``value`` with cloudpickle, or None when it pickles."""
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the answer
        return exc
    return None


_CHOICE_ADVICE = ("Choose among names or numbers and create the object from the choice "
                  "inside the cell")


def _check_picklable(value: Any, what: str, advice: str = "Create it inside the cell") -> None:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # any pickling failure gets the same advice
        raise HPOError(f"{what} cannot be sent to a worker process ({type(exc).__name__}: "
                       f"{exc}). {advice}, or run the trials in threads with "
                       f"--executor thread") from exc
