"""Exception hierarchy: one root, ``HPOError``, so callers can catch everything we raise."""

from __future__ import annotations


class HPOError(Exception):
    """Root of every error raised by jupyter_hpo."""


class SpaceError(HPOError, ValueError):
    """A search-space constructor got arguments that cannot describe a domain."""


class HPOSyntaxError(HPOError, SyntaxError):
    """A ``%%hpo`` cell or annotation is malformed; the message points at the cell line."""

    def __init__(self, message: str, source: str = "", lineno: int | None = None,
                 col: int | None = None, end_col: int | None = None) -> None:
        self.reason = message
        self.cell_lineno = lineno
        self.cell_col = col
        text = format_location(message, source, lineno, col, end_col)
        super().__init__(text)

    def __str__(self) -> str:
        return self.args[0]


class StudyFailedError(HPOError):
    """The study stopped because its first trials all failed with the same error."""


def format_location(message: str, source: str, lineno: int | None, col: int | None,
                    end_col: int | None = None) -> str:
    """Return ``message`` followed by the offending cell line and a caret under the column."""
    if lineno is None:
        return message
    lines = source.splitlines()
    head = f"cell line {lineno}: {message}"
    if not 1 <= lineno <= len(lines):
        return head
    line = lines[lineno - 1]
    col = max(0, col or 0)
    width = 1
    if end_col is not None and end_col > col:
        width = end_col - col
    return f"{head}\n    {line}\n    {' ' * col}{'^' * width}"


class StorageError(HPOError):
    """A storage cannot be used: not ours, damaged, too new, read-only, or gone. Every error
    that a storage raises is one (``sqlite3`` errors never escape), and its message names the
    storage and says what to do."""


class StorageDamagedError(StorageError):
    """The storage file is not a SQLite file or its pages are damaged; nothing was written."""


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
