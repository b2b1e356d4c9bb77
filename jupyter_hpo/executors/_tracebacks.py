"""A failed trial's traceback as a notebook user reads it: from the first frame of the user's
code on (jupyter_hpo's frames hidden), and with notebook cells named as IPython names them
(``Cell In[3], line 4, in train``) instead of by the file names IPython gives them
(``/tmp/ipykernel_42/1234.py``). The ``%%hpo`` cell's own frames say ``cell line N``, counted
as every other message about the cell counts them: the cell's first line (``%%hpo``, or a
blank line above it) is line 1, as in the editor."""

from __future__ import annotations

import traceback
from typing import Any

from ..config_keys import ConfigKeyError
from ..errors import HPOError, in_package
from ._suggestions import with_name_suggestion

__all__ = ["cell_label", "remember_cell_label", "user_traceback"]

#: the labels of notebook cells whose code was shipped to this process (a worker's), by file
_SHIPPED: dict[str, str] = {}


def cell_label(filename: str) -> str | None:
    """``Cell In[3]`` for code that IPython compiled from the notebook's cell 3 (or that was
    shipped from there to this worker), None for a file or other code."""
    label = _SHIPPED.get(filename)
    if label is not None:
        return label
    try:
        from IPython import get_ipython

        shell = get_ipython()
        named = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # noqa: BLE001 - no IPython, or one without the cell names
        return None
    return f"{named[0]} {named[1]}" if named else None


def remember_cell_label(filename: str, label: str) -> None:
    """In a worker: code of ``filename`` came from the notebook cell ``label``."""
    _SHIPPED.setdefault(filename, label)


def user_traceback(exc: BaseException, objective: Any = None) -> str:
    """The traceback of ``exc``, raised by a trial of ``objective``, from the first frame of
    the objective's code on, so our frames are hidden. For our own errors (``HPOError``:
    ``report()``'s checks, ...) and a missing key of the trial's config it also ends at the
    user's call, since the frames inside jupyter_hpo say nothing the message does not. Frames
    of notebook cells name the cell; a misspelt name says which it meant (``Did you mean:
    'report'?``), on every Python."""
    filename = getattr(objective, "filename", None)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    tb = tb or exc.__traceback__
    limit = None
    if isinstance(exc, (HPOError, ConfigKeyError)):
        frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(tb)]
        while frames and in_package(frames[-1]):
            frames.pop()
        if not frames:  # raised by jupyter_hpo about what the trial did: the message says it
            return "".join(traceback.format_exception_only(type(exc), exc))
        limit = len(frames)
    shown = traceback.TracebackException(type(exc), exc, tb, limit=limit, compact=True)
    if isinstance(exc, HPOError):
        _drop_told_cause(shown, exc)
    if isinstance(exc, ConfigKeyError):  # the KeyError users catch, as the error line says
        if hasattr(shown, "exc_type_str"):  # Python 3.13+
            shown.exc_type_str = "KeyError"
        else:
            shown.exc_type = KeyError
    own = getattr(objective, "cell_name", None)
    _name_cells(shown, {filename: f"Cell {own}"} if own and filename else {}, set())
    return with_name_suggestion("".join(shown.format()), exc)


def _drop_told_cause(shown: traceback.TracebackException, exc: HPOError) -> None:
    """Leave out the exception chained to one of our errors when its message already names it
    (``checkpoint(): ... cannot be saved (TypeError: cannot pickle '_thread.lock' object)``):
    its frames are jupyter_hpo's and the pickler's, which tell a user nothing more."""
    cause = exc.__cause__ or exc.__context__
    if cause is not None and f"{type(cause).__name__}: {cause}" in str(exc):
        shown.__cause__ = shown.__context__ = None


class _CellFrames(traceback.StackSummary):
    """Frames whose first line names a notebook cell where Python would name its file."""

    own: dict[str, str]  # the %%hpo cell's file -> its label: "cell line N"

    def format_frame_summary(self, frame_summary: traceback.FrameSummary) -> str:
        text = super().format_frame_summary(frame_summary)
        filename, lineno = frame_summary.filename, frame_summary.lineno
        label = self.own.get(filename)
        line = "cell line" if label else "line"
        label = label or cell_label(filename)
        if label is None or lineno is None or not text.startswith("  File "):
            return text
        where = f"  {label}, {line} {lineno}"
        if frame_summary.name != "<module>":
            where += f", in {frame_summary.name}"
        return where + "\n" + text.partition("\n")[2]


def _name_cells(shown: traceback.TracebackException, own: dict[str, str],
                seen: set[int]) -> None:
    """Give ``shown`` and the exceptions chained to it (causes, contexts, a group's members)
    frames that name notebook cells."""
    if id(shown) in seen:
        return
    seen.add(id(shown))
    stack = _CellFrames(shown.stack)
    stack.own = own
    shown.stack = stack
    for other in (shown.__cause__, shown.__context__, *(getattr(shown, "exceptions", None) or ())):
        if other is not None:
            _name_cells(other, own, seen)
