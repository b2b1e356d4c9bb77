"""A notebook cell's ``%%hpo`` diagnostics, as the editor shows them.

The magic parses the cell *body*, the lines after ``%%hpo ...``, after IPython's input
transformations (``!ls``, ``%time`` lines become calls); line numbers in its messages count
from the body. The editor needs positions in the whole cell, so every line is shifted by the
magic's line count, while each message keeps the magic's own text
(``HPOSyntaxError at cell line 2: ...``).
"""

from __future__ import annotations

from typing import Any

from ..annotate import diagnose_cell
from ..errors import python_lines

__all__ = ["MAGIC", "cell_diagnostics"]

MAGIC = "%%hpo"


def _transformed(body: str) -> str:
    """The body as the magic sees it (``shell.transform_cell``), when IPython's transformer
    keeps every line where it was; else the body as written."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython is a dependency
        return body
    try:
        text = TransformerManager().transform_cell(body)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is parsed as written
        return body
    return text if len(python_lines(text)) == len(python_lines(body)) else body


def cell_diagnostics(source: str) -> dict[str, Any]:
    """``{"magic": bool, "annotations": [...], "errors": [...]}`` for a cell's source.

    A cell whose first line is not ``%%hpo`` gets ``magic: False`` and nothing else. Lines are
    1-based lines of the whole cell, columns 0-based characters (end exclusive); each error's
    ``message`` is what the magic prints.
    """
    lines = python_lines(source, keepends=True)
    if not lines or not lines[0].lstrip().startswith(MAGIC) \
            or lines[0].lstrip()[len(MAGIC):][:1] not in ("", " ", "\t", "\n", "\r"):
        return {"magic": False, "annotations": [], "errors": []}
    body = "".join(lines[1:])
    transformed = _transformed(body)
    diagnostics = diagnose_cell(transformed).to_dict()
    written, parsed = python_lines(body), python_lines(transformed)
    for annotation in diagnostics["annotations"]:
        annotation["lineno"] += 1
        annotation["end_lineno"] += 1
    for error in diagnostics["errors"]:
        reason, lineno = error["message"], error["lineno"]
        error["reason"] = reason
        error["message"] = (f"HPOSyntaxError at cell line {lineno}: {reason}"
                            if lineno is not None else f"HPOSyntaxError at {reason}")
        error["end_lineno"] = (error["end_lineno"] or lineno or 1) + 1
        error["lineno"] = (lineno or 1) + 1
        error["col"] = error["col"] or 0
        if error["end_col"] is None:
            error["end_col"] = error["col"] + 1
        if lineno is not None and 0 < lineno <= len(written) \
                and written[lineno - 1] != parsed[lineno - 1]:
            # a line IPython rewrote (%time ...): its columns are the rewrite's, so the
            # whole line as written is underlined
            error["col"], error["end_col"] = 0, len(written[lineno - 1].rstrip("\r\n"))
            error["end_lineno"] = error["lineno"]
    return {"magic": True, **diagnostics}
