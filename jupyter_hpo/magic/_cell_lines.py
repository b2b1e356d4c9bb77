"""The ``%%hpo`` cell's body as it is parsed and compiled: lines above it stand for the lines
of the notebook cell above the body, so that "cell line N" in messages and tracebacks is the
line the notebook's editor shows as N (line 1 being the cell's first line, blank or not)."""

from __future__ import annotations

import ast
import re
from typing import Any

from ._text import MAGIC_LINE

_BREAK = re.compile(r"\r\n|\r|\n")


def numbered_cell(shell: Any, cell: str) -> tuple[str, str]:
    """``(written, source)``: the body ``cell`` as written and as IPython transformed it
    (``shell.transform_cell``), each below as many empty lines as the notebook cell has lines
    above the body (the ``%%hpo`` line and any blank lines above it)."""
    above = "\n" * blank_lines_above(shell, cell) + MAGIC_LINE
    if shell is None:
        return above + cell, above + cell
    return above + cell, above + _with_leading_lines(cell, shell.transform_cell(cell))


def blank_lines_above(shell: Any, cell: str) -> int:
    """How many blank lines the notebook cell that runs ``%%hpo`` with body ``cell`` has above
    its ``%%hpo`` line. IPython drops them before it finds the cell magic, so the magic never
    sees them; the raw cell it keeps in its history (``input_hist_raw``, stored before the cell
    runs, in IPython 8 and 9) has them. 0 when the raw cell is not this magic's cell (the magic
    called as ``get_ipython().run_cell_magic(...)``, a cell run without history)."""
    try:
        raw = shell.history_manager.input_hist_raw[-1]
    except (AttributeError, IndexError, TypeError):
        return 0
    if not isinstance(raw, str):
        return 0
    lines = raw.splitlines(keepends=True)  # as IPython's leading_empty_lines splits them
    blank = next((i for i, line in enumerate(lines) if line and not line.isspace()), 0)
    if not lines or not lines[blank].lstrip().startswith("%%") \
            or not _runs_body(shell, raw, cell):  # not a cell of this magic's
        return 0
    return len(_BREAK.findall("".join(lines[:blank])))  # lines as the editor counts them


def _runs_body(shell: Any, raw: str, cell: str) -> bool:
    """Whether IPython runs ``raw`` as a call of the ``hpo`` cell magic with body ``cell``
    (the history keeps the raw cell without its trailing newlines)."""
    try:
        tree = ast.parse(shell.transform_cell(raw))
    except Exception:  # noqa: BLE001 - a raw cell IPython cannot transform is not this one
        return False
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return False
    call = tree.body[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute) \
            or call.func.attr != "run_cell_magic" or len(call.args) != 3 \
            or not all(isinstance(arg, ast.Constant) for arg in call.args):
        return False
    name, body = call.args[0].value, call.args[2].value
    return name == "hpo" and isinstance(body, str) and body.rstrip("\n") == cell.rstrip("\n")


def _with_leading_lines(cell: str, source: str) -> str:
    """``source``, IPython's transform of ``cell``, with the blank lines it dropped from the
    top put back, so that cell lines in messages and tracebacks count as the editor numbers
    the lines below ``%%hpo``, blank lines at the top too."""
    def leading(text: str) -> int:
        return text[:len(text) - len(text.lstrip())].count("\n")

    return "\n" * max(leading(cell) - leading(source), 0) + source
