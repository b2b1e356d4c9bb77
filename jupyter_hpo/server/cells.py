"""A notebook cell's ``%%hpo`` diagnostics, as the editor shows them.

The magic parses the cell *body*, the lines after ``%%hpo ...``, after IPython's input
transformations (``!ls``, ``%time`` lines become calls), below empty lines that stand for
the ``%%hpo`` line and the blank lines above it, if any; line numbers in its messages count
from the cell's first line as line 1, as the editor numbers them, and so do the positions
(``HPOSyntaxError at cell line 3: ...`` is at line 3).
"""

from __future__ import annotations

from typing import Any

from ..annotate import diagnose_cell
from ..errors import (
    cell_magic_line,
    indent_removed,
    python_lines,
    rewritten_span,
    whole_line_span,
)
from ..magic._text import MAGIC_LINE, misplaced_message

__all__ = ["MAGIC", "cell_diagnostics"]

MAGIC = "%%hpo"


def _as_run(text: str, keep_lines: bool = True) -> str | None:
    """``text`` as IPython runs it (``shell.transform_cell``), when its transformer keeps every
    line where it was (or ``keep_lines`` is False); else None (also when IPython cannot
    transform it)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    try:
        ran = TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is taken as written
        return None
    return ran if not keep_lines or len(python_lines(ran)) == len(python_lines(text)) else None


def _transformed(body: str) -> str:
    """The body as the magic sees it, where lines stay in place, or where a cell magic right
    below ``%%hpo`` (a second one, ``%%time``) makes all of it that magic's call (which the
    parser refuses, at that line); else the body as written."""
    ran = _as_run(body, keep_lines=False)
    if ran is None or len(python_lines(ran)) == len(python_lines(body)):
        return body if ran is None else ran
    return ran if cell_magic_line(body, ran) is not None else body


def _is_magic(line: str) -> bool:
    """Whether ``line`` is ``%%hpo`` with or without options (indentation allowed)."""
    text = line.lstrip()
    return text.startswith(MAGIC) and text[len(MAGIC):][:1] in ("", " ", "\t", "\n", "\r")


def _misplaced(lines: list[str], first: int) -> dict[str, Any] | None:
    """The error for the first ``%%hpo`` line below line ``first`` (the cell's first line that
    is not blank) that IPython would call as the line magic ``%hpo``, or None."""
    below = [i for i in range(first + 1, len(lines)) if _is_magic(lines[i])]
    if not below:
        return None
    ran = _as_run("".join(lines[first:]))  # not a %%hpo inside a string, say
    if ran is not None:  # else trust the lines
        runs = python_lines(ran)
        below = [i for i in below if "run_line_magic('%hpo'" in runs[i - first]]
    if not below:
        return None
    line = lines[below[0]].rstrip("\r\n")
    col = len(line) - len(line.lstrip())
    message = misplaced_message(line.strip()[len(MAGIC):])
    return {"lineno": below[0] + 1, "col": col, "end_lineno": below[0] + 1,
            "end_col": len(line), "message": message, "reason": message}


def _options_error(line: str, lineno: int) -> dict[str, Any] | None:
    """The magic's error for the options on the ``%%hpo`` line ``line`` (an unknown or
    misspelt option, a value of the wrong type, a choice it does not have), or None. A line
    with IPython's ``$name`` or ``{expression}`` is not checked: the kernel expands those."""
    from IPython.core.error import UsageError

    from ..magic import parse_cell_options

    text = line.rstrip("\r\n")
    options = text.strip()[len(MAGIC):]
    if not options.strip() or "$" in options or "{" in options:
        return None
    try:
        parse_cell_options(options)
    except UsageError as exc:
        col = len(text) - len(text.lstrip()) + len(MAGIC)
        col += len(options) - len(options.lstrip())
        message = str(exc)
        return {"lineno": lineno, "col": col, "end_lineno": lineno,
                "end_col": len(text.rstrip()), "message": message, "reason": message}
    return None


def cell_diagnostics(source: str) -> dict[str, Any]:
    """``{"magic": bool, "annotations": [...], "errors": [...]}`` for a cell's source.

    A cell whose first line that is not blank is ``%%hpo`` is parsed as the magic parses it; a
    cell with ``%%hpo`` further down gets the magic's error on that line; any other cell gets
    ``magic: False`` and nothing else. Lines are 1-based lines of the whole cell, columns
    0-based characters (end exclusive); each error's ``message`` is what the magic prints.
    """
    lines = python_lines(source, keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return {"magic": False, "annotations": [], "errors": []}
    if not _is_magic(lines[first]):
        misplaced = _misplaced(lines, first)
        return {"magic": misplaced is not None, "annotations": [],
                "errors": [misplaced] if misplaced else []}
    above = "\n" * first + MAGIC_LINE  # the lines above the body, blank ones too
    body = above + "".join(lines[first + 1:])  # numbered as the magic numbers them
    transformed = above + _transformed(body[len(above):])
    diagnostics = diagnose_cell(transformed).to_dict()
    for annotation in diagnostics["annotations"]:
        # an indented body runs dedented: its columns as written
        annotation["col"] += indent_removed(body, transformed, annotation["lineno"])
        annotation["end_col"] += indent_removed(body, transformed, annotation["end_lineno"])
    magic = cell_magic_line(body, transformed)  # the whole body is that line's cell magic
    for error in diagnostics["errors"]:
        reason, lineno = error["message"], error["lineno"]
        if magic is not None:
            lineno = error["lineno"] = error["end_lineno"] = magic
            error["col"], error["end_col"] = whole_line_span(body, magic)
        error["reason"] = reason
        error["message"] = (f"HPOSyntaxError at cell line {lineno}: {reason}"
                            if lineno is not None else f"HPOSyntaxError at {reason}")
        end_lineno = error["end_lineno"] or lineno or 1
        error["col"] = error["col"] or 0
        if error["end_col"] is None:
            error["end_col"] = error["col"] + 1
        if lineno is not None and magic is None:  # an indented body runs dedented
            error["col"] += indent_removed(body, transformed, lineno)
            error["end_col"] += indent_removed(body, transformed, end_lineno)
        error["end_lineno"] = end_lineno
        error["lineno"] = lineno or 1
        span = None if lineno is None else rewritten_span(body, transformed, lineno)
        if span is not None:  # a line IPython rewrote (%time ...): the line as written
            error["col"], error["end_col"] = span
            error["end_lineno"] = error["lineno"]
    options = _options_error(lines[first], first + 1)
    if options is not None:  # the kernel stops at the options before it reads the cell
        diagnostics["errors"].insert(0, options)
    return {"magic": True, **diagnostics}
