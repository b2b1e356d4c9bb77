"""Exception hierarchy: one root, ``HPOError``, so callers can catch everything we raise."""

from __future__ import annotations

import functools
import os
import re
import types
import unicodedata
from typing import Any

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class HPOError(Exception):
    """Root of every error raised by jupyter_hpo."""


class ModeWarning(UserWarning):
    """A study told to maximise a metric whose name reads like a loss (or to minimise one
    that reads like an accuracy); ``warnings.filterwarnings("ignore", category=ModeWarning)``
    silences it where that is meant."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def in_package(filename: str) -> bool:
    """Whether ``filename`` is a module of jupyter_hpo (``<...>`` names cells and such)."""
    return not filename.startswith("<") and os.path.abspath(filename).startswith(_PACKAGE)


def shown_at_call(exc: BaseException) -> BaseException:
    """``exc``, shown by IPython with its traceback cut at the user's call: the frames of
    jupyter_hpo below it (``report()``'s own, for ``report(0.5)``) say nothing its message
    does not. Other tracebacks (Python's own) show them as ever."""
    exc._render_traceback_ = _ShownAtCall(exc)  # type: ignore[attr-defined] - IPython's hook
    return exc


class _ShownAtCall:
    """IPython's ``_render_traceback_`` hook of an exception of ``shown_at_call``. It is
    pickled without the exception, so the exception pickles as any other (a copy elsewhere
    is shown as any other: IPython formats it itself when the hook raises)."""

    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[Any, ...]:
        return _ShownAtCall, (None,)

    def __call__(self) -> list[str]:
        from IPython import get_ipython

        exc = self.exc
        if exc is None:
            raise LookupError("no exception to show")
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append(tb)
            tb = tb.tb_next
        while len(frames) > 1 and in_package(frames[-1].tb_frame.f_code.co_filename):
            frames.pop()
        cut = None
        for frame in reversed(frames):
            cut = types.TracebackType(cut, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
        return get_ipython().InteractiveTB.structured_traceback(type(exc), exc, cut)


class SpaceError(HPOError, ValueError):
    """A search-space constructor got arguments that cannot describe a domain."""


class HPOSyntaxError(HPOError, SyntaxError):
    """A ``%%hpo`` cell or annotation is malformed; the message points at the cell line.

    ``cell_lineno``/``cell_end_lineno`` are 1-based cell lines and ``cell_col``/``cell_end_col``
    0-based character columns (the end is exclusive); ``reason`` is the message without the
    location. ``str(err)`` is the message, the cell line and carets under the range (one caret
    when the range spans several lines).
    """

    def __init__(self, message: str, source: str = "", lineno: int | None = None,
                 col: int | None = None, end_col: int | None = None, *,
                 end_lineno: int | None = None) -> None:
        self.reason = message
        self.cell_lineno = lineno
        self.cell_col = col
        self.cell_end_lineno = lineno if end_lineno is None else end_lineno
        if end_col is None and col is not None:
            end_col = col + 1
        self.cell_end_col = end_col
        one_line = end_lineno is None or end_lineno == lineno
        text = format_location(message, source, lineno, col, end_col if one_line else None)
        super().__init__(text)

    def __str__(self) -> str:
        return self.args[0]


class StudyFailedError(HPOError):
    """The study failed: its first trials all failed with the same error, every trial failed,
    a trial could not start or the study loop broke. ``study`` is the study (its trials, for
    their errors) when ``Study.run()`` or ``tune()`` raised it."""

    study: Any = None


@functools.lru_cache(maxsize=8)
def python_lines(source: str, keepends: bool = False) -> tuple[str, ...]:
    """The lines of ``source`` as Python numbers them: only ``\\n``, ``\\r\\n`` and ``\\r`` end
    a line (``str.splitlines`` also splits at ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
    ``\\x85``, U+2028 and U+2029, which Python keeps inside a line)."""
    lines = _LINE.findall(source)
    if not keepends:
        lines = [line.rstrip("\r\n") for line in lines]
    return tuple(lines)


def rewritten_span(written: str, ran: str, lineno: int) -> tuple[int, int] | None:
    """The columns to underline on line ``lineno`` of ``written`` when IPython rewrote that
    line into ``ran`` (``%time ...`` runs as ``get_ipython().run_line_magic(...)``, whose
    columns mean nothing in what the user wrote): the whole line from its indentation. None
    when the line ran as written, only without its indentation (see ``indent_removed``), or
    the two sources do not line up."""
    lines, ran_lines = python_lines(written), python_lines(ran)
    if len(lines) != len(ran_lines) or not 1 <= lineno <= len(lines) \
            or lines[lineno - 1] == ran_lines[lineno - 1] \
            or indent_removed(written, ran, lineno):
        return None
    return whole_line_span(written, lineno)


def indent_removed(written: str, ran: str, lineno: int) -> int:
    """How many characters of indentation IPython removed from line ``lineno`` of ``written``
    where the rest of the line ran as written (``transform_cell`` takes a cell's first line's
    indentation off every line that starts with it, so an indented cell body runs dedented):
    what to add to a column of ``ran`` to get the column as written. 0 for a line that ran as
    written or was rewritten otherwise, or when the two sources do not line up."""
    lines, ran_lines = python_lines(written), python_lines(ran)
    if len(lines) != len(ran_lines) or not 1 <= lineno <= len(lines):
        return 0
    line, ran_line = lines[lineno - 1], ran_lines[lineno - 1]
    cut = len(line) - len(ran_line)
    if cut > 0 and line[cut:] == ran_line and line[:cut].strip(" \t") == "":
        return cut
    return 0


def cell_magic_line(written: str, ran: str) -> int | None:
    """The line of ``written`` that IPython ran as a cell magic, when it made all of
    ``written`` one call (``%%name line`` as its first line that is not blank, indented or not,
    becomes ``get_ipython().run_cell_magic('name', 'line', 'the lines below')``, whose columns
    mean nothing in what the user wrote); None for any other rewrite."""
    ran = ran.strip("\n")  # the magic puts back the blank lines IPython took off the top
    if len(python_lines(ran)) != 1 or not ran.startswith("get_ipython().run_cell_magic("):
        return None
    lines = python_lines(written)
    first = next((n for n, line in enumerate(lines, 1) if line.strip()), None)
    return first if first is not None and lines[first - 1].lstrip().startswith("%%") else None


def whole_line_span(text: str, lineno: int) -> tuple[int, int]:
    """The columns of line ``lineno`` of ``text`` from its indentation to its end, the span
    shown for a line IPython rewrote."""
    line = python_lines(text)[lineno - 1]
    return len(line) - len(line.lstrip()), len(line.rstrip())


def _shown(text: str) -> str:
    """``text`` as echoed under an error: characters that would break or hide the line (line
    separators, NUL, other controls) are written as escapes; tabs are kept."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else ascii(c)[1:-1] for c in text)


def format_location(message: str, source: str, lineno: int | None, col: int | None,
                    end_col: int | None = None) -> str:
    """Return ``message`` followed by the offending cell line and a caret under the column."""
    if lineno is None:
        return message
    lines = python_lines(source)
    head = f"cell line {lineno}: {message}"
    if not 1 <= lineno <= len(lines):
        return head
    line = lines[lineno - 1]
    col = max(0, col or 0)
    end = col + 1 if end_col is None or end_col <= col else end_col
    pad = "".join("\t" if c == "\t" else " " * _columns(c) for c in _shown(line[:col]))
    pad += " " * (col - len(line))  # past the end of the line (an error at end of input)
    width = sum(map(_columns, _shown(line[col:end]))) + max(0, end - max(col, len(line)))
    return f"{head}\n    {_shown(line)}\n    {pad}{'^' * max(width, 1)}"


def _columns(char: str) -> int:
    """How many columns ``char`` takes in a monospaced font: 2 for East Asian wide and
    full-width characters, 0 for combining marks, else 1 (as Python's own tracebacks count)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


_PLAIN_WORD = re.compile(r"[\w.+\-/:@=,%]+")


def command_word(text: str) -> str:
    """``text`` as one word of a ``%hpo`` / ``%%hpo`` line: as it is, or in quotes when it
    holds spaces, quotes or the like (the line is split into words keeping quotes, which the
    magic then removes), so that a command a message suggests runs as written; also one
    that starts with ``-`` (``"-x"``), which would be read as an option."""
    if _PLAIN_WORD.fullmatch(text) and not text.startswith("-"):
        return text
    quote = "'" if '"' in text and "'" not in text else '"'
    return quote + text + quote


class StorageError(HPOError):
    """A storage cannot be used: not ours, damaged, too new, read-only, or gone. Every error
    that a storage raises is one (``sqlite3`` errors never escape), and its message names the
    storage and says what to do."""


class StorageDamagedError(StorageError):
    """The storage file is not a SQLite file or its pages are damaged; nothing was written."""


class StorageLockedError(StorageError):
    """Another process kept the storage file locked for longer than the storage's timeout
    (an open write transaction, a program holding an exclusive lock); nothing was written,
    and the same request may succeed later."""


class StorageReadOnlyError(StorageError):
    """The storage can be read but not written (permission denied); nothing was written."""


class StorageGoneError(StorageError):
    """The storage file was deleted or replaced by another file after it was opened; it is not
    recreated and nothing is written anywhere else. ``how`` is ``"deleted"`` or
    ``"replaced by another file"``."""

    def __init__(self, message: str, *, location: str = "", how: str = "deleted") -> None:
        super().__init__(message)
        self.location = location
        self.how = how


class DuplicateStudyError(StorageError):
    """A study of that name already exists in the storage."""


class StudyNotFoundError(StorageError, LookupError):
    """The storage holds no study of that name."""


class StudyStateError(StorageError):
    """The study's state does not allow the operation: another live process runs it (resume,
    delete) or it is not running (a stop request)."""
