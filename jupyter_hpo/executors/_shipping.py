"""Pickling an objective for worker processes so that tracebacks there show notebook lines.

cloudpickle ships functions and classes defined in the notebook by value and names their code
``<dynamic-code>`` (for payloads that do not depend on where the code was defined), so a
failure in a helper defined in another cell read ``File "<dynamic-code>", line 2, in helper``
without the line. Code compiled from a notebook cell (IPython keeps the cell's source in
``linecache``, without a file behind it) is shipped instead with its file name and the cell's
lines, which the worker puts back into its own ``linecache``.
"""

from __future__ import annotations

import io
import linecache
import marshal
import types
from typing import Any

__all__ = ["dumps"]


def dumps(obj: Any) -> bytes:
    """``cloudpickle.dumps(obj)``, keeping the file name and source lines of notebook code."""
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            if type(value) is types.CodeType:
                entry = linecache.cache.get(value.co_filename)
                if entry is not None and len(entry) == 4 and entry[1] is None:  # a cell's
                    return _code_in_file, (marshal.dumps(value), value.co_filename,
                                           tuple(entry[2]))
            return super().reducer_override(value)

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _code_in_file(data: bytes, filename: str, lines: tuple[str, ...]) -> types.CodeType:
    """In the worker: the shipped code object, its cell's lines in ``linecache``."""
    linecache.cache.setdefault(filename, (sum(map(len, lines)), None, list(lines), filename))
    return marshal.loads(data)  # our own payload, from the kernel that made it
