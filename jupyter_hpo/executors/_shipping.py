"""Pickling an objective for worker processes so that tracebacks there show notebook lines.

cloudpickle ships functions and classes defined in the notebook by value and names their code
``<dynamic-code>`` (for payloads that do not depend on where the code was defined), so a
failure in a helper defined in another cell read ``File "<dynamic-code>", line 2, in helper``
without the line. Code compiled from a notebook cell (IPython keeps the cell's source in
``linecache``, without a file behind it) is shipped instead with its file name and the cell's
lines, which the worker puts back into its own ``linecache``; code of a file shipped by value
(a script's functions, in its ``__main__``) keeps its file name, whose lines the worker reads.

A trial's configuration is pickled the same way, once per trial, with references to the objects
the shipped objective holds: a choice that the objective holds too (``Categorical(relu, ...)``,
``relu`` a notebook function the cell reads) is that same object in the worker, so ``act is
relu`` holds there as in a thread, and the choice is not copied for each trial. Other values
(a ``lambda`` written in the choices of ``tune()``'s space) are copied.
"""

from __future__ import annotations

import io
import linecache
import marshal
import os
import pickle
import types
from collections.abc import Callable
from typing import Any

from ._tracebacks import cell_label, remember_cell_label

__all__ = ["Shipment", "dumps", "first_unpicklable", "loads", "loads_with", "unsendable",
           "unsendable_result"]


def dumps(obj: Any) -> bytes:
    """``cloudpickle.dumps(obj)``, keeping the file name and source lines of notebook code."""
    buffer = io.BytesIO()
    _pickler(buffer).dump(obj)
    return buffer.getvalue()


class Shipment:
    """``obj`` pickled for a worker (``data``), and the objects that pickle holds, so that
    ``dumps_with`` can refer to them (see the module's docstring)."""

    def __init__(self, obj: Any) -> None:
        buffer = io.BytesIO()
        pickler = _pickler(buffer)
        pickler.dump(obj)
        self.data = buffer.getvalue()
        # id -> (position in the pickle's memo, object): holding the objects keeps their ids
        # theirs for as long as this shipment lives
        self._held: dict[int, tuple[int, Any]] = pickler.memo.copy()

    def dumps_with(self, value: Any) -> bytes:
        """``value`` pickled as ``dumps`` does, each object that ``obj`` holds as a reference
        to its copy in the worker (``loads_with`` there)."""
        buffer = io.BytesIO()
        _pickler(buffer, self._held).dump(value)
        return buffer.getvalue()


def first_unpicklable(values: dict[str, Any], pickles: Callable[[Any], Any]
                      ) -> tuple[str, Any, Exception] | None:
    """The first ``(key, value, error)`` of ``values`` whose value ``pickles`` fails on (a
    message names it), or None."""
    for key, value in values.items():
        try:
            pickles(value)
        except Exception as error:  # noqa: BLE001 - any pickling failure names the value
            return key, value, error
    return None


def unsendable(call: str, values: dict[str, Any], exc: Exception, advice: str,
               pickles: Callable[[Any], Any]) -> str:
    """Why ``values`` (of ``report()``, ``trial.set()`` or a trial's result) cannot reach the
    kernel, naming the first that ``pickles`` fails on: a thread trial keeps any value, a
    trial in a worker process (or on a Dask worker) only what pickles."""
    from ..trial import _short

    found = first_unpicklable(values, pickles)
    if found is not None:
        key, value, error = found
        return (f"{call}: {key!r} is {_short(value)} ({type(value).__name__}), which cannot be "
                f"sent to the kernel from a worker process ({type(error).__name__}: {error}): "
                f"{advice}, or run the trials in threads with --executor thread")
    return (f"{call}: the values cannot be sent to the kernel from a worker process "
            f"({type(exc).__name__}: {exc}): {advice}")


def unsendable_result(result: Any, exc: Exception, pickles: Callable[[Any], Any]) -> str:
    """Why a trial's result (what the objective returned) cannot reach the kernel."""
    if isinstance(result, dict) and all(isinstance(key, str) for key in result):
        return unsendable("the trial's result", result, exc, "return numbers, strings or "
                          "other picklable values", pickles)
    return (f"the trial's result cannot be sent back to the kernel "
            f"({type(exc).__name__}: {exc})")


def loads(data: bytes) -> tuple[Any, dict[int, Any]]:
    """In the worker: the object of a ``Shipment`` and the objects its pickle holds, by
    position (what ``loads_with`` resolves references with)."""
    unpickler = pickle.Unpickler(io.BytesIO(data))
    obj = unpickler.load()
    return obj, unpickler.memo.copy()


def loads_with(data: bytes, held: dict[int, Any]) -> Any:
    """In the worker: a value pickled by ``Shipment.dumps_with``, its references resolved to
    the objects ``loads`` gave."""
    return _Unpickler(io.BytesIO(data), held).load()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, held: dict[int, Any]) -> None:
        super().__init__(file)
        self.held = held

    def persistent_load(self, pid: Any) -> Any:
        return self.held[pid]


def _pickler(buffer: io.BytesIO, held: dict[int, tuple[int, Any]] | None = None) -> Any:
    """A cloudpickle pickler that keeps the file name and source lines of notebook code and,
    with ``held``, writes each of those objects as a reference to its position."""
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            if type(value) is types.CodeType:
                entry = linecache.cache.get(value.co_filename)
                if entry is not None and len(entry) == 4 and entry[1] is None:  # a cell's
                    return _code_in_file, (marshal.dumps(value), value.co_filename,
                                           tuple(entry[2]), cell_label(value.co_filename))
                if os.path.isfile(value.co_filename):  # a script's: the worker reads its lines
                    return _code_in_file, (marshal.dumps(value), value.co_filename, ())
            return super().reducer_override(value)

    class _ReferringPickler(_Pickler):
        def persistent_id(self, value: Any) -> int | None:
            entry = held.get(id(value))
            return entry[0] if entry is not None and entry[1] is value else None

    cls = _ReferringPickler if held else _Pickler
    return cls(buffer, protocol=cloudpickle.DEFAULT_PROTOCOL)


def _code_in_file(data: bytes, filename: str, lines: tuple[str, ...],
                  label: str | None = None) -> types.CodeType:
    """In the worker: the shipped code object, its cell's lines in ``linecache`` (a file's
    code comes without them: ``linecache`` reads the file) and its cell's label (``Cell
    In[3]``) for tracebacks."""
    if label:
        remember_cell_label(filename, label)
    if lines:
        linecache.cache.setdefault(filename, (sum(map(len, lines)), None, list(lines),
                                              filename))
    return marshal.loads(data)  # our own payload, from the kernel that made it
