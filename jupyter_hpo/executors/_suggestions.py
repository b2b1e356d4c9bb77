""""Did you mean: 'report'?" for a trial's ``NameError``, which Python 3.12 adds to a traceback
but Python 3.10 and 3.11 add only when the interpreter itself prints one: a trial's failure
is formatted by ``traceback``, so there the misspelt ``Report(...)`` got no hint."""

from __future__ import annotations

import difflib
import sys
import traceback

__all__ = ["name_suggestion", "with_name_suggestion"]


def name_suggestion(exc: BaseException) -> str:
    """``". Did you mean: 'report'?"`` for a ``NameError`` whose name is close to one the
    code that raised it could see (its frame's locals, globals and builtins, as Python 3.12
    looks them up); ``""`` for other errors and when no name is close. Where Python gives a
    hint itself (3.12+), that one, so that a trial's error and its traceback say the same."""
    name = getattr(exc, "name", None)
    if not isinstance(exc, NameError) or isinstance(exc, UnboundLocalError) \
            or not isinstance(name, str):
        return ""
    own = _python_hint(exc) if sys.version_info >= (3, 12) else ""
    if own:
        return own
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    if not frames:
        return ""
    frame = frames[-1]
    seen = {**frame.f_builtins, **frame.f_globals, **frame.f_locals}
    seen.pop(name, None)
    close = difflib.get_close_matches(name, [n for n in seen if isinstance(n, str)], n=1)
    return f". Did you mean: {close[0]!r}?" if close else ""


def with_name_suggestion(formatted: str, exc: BaseException) -> str:
    """``formatted`` (``exc``'s traceback) with :func:`name_suggestion` at the end of its last
    line, unless Python put a hint there already (3.12+: the line is not the bare message)."""
    hint = name_suggestion(exc)
    if not hint:
        return formatted
    bare = f"{type(exc).__name__}: {_text(exc)}\n"
    if not formatted.endswith(bare):
        return formatted
    return formatted[:-1] + hint + "\n"


def _text(exc: BaseException) -> str:
    """``str(exc)``, or what ``traceback`` writes for an exception whose ``__str__`` fails."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - any failure of the user's __str__
        return "<exception str() failed>"


def _python_hint(exc: BaseException) -> str:
    """What Python's traceback adds after ``exc``'s message (``". Did you mean: 'x'?"``,
    ``". Did you forget to import 'sys'?"``), or ``""``."""
    shown = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
    line = "".join(shown.format_exception_only()).rstrip("\n")
    bare = f"{type(exc).__name__}: {_text(exc)}"
    return line[len(bare):] if line.startswith(bare) else ""
