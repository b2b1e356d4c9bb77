"""IPython magics inside a ``%%hpo`` cell: a second ``%%hpo``, another cell magic below it,
and a hyperparameter written in a line magic (``%time lr = Real(0, 1)``), which IPython hands
to the magic as text, so that the parser would not see it. A mixin of the parser
(``_CellParser``)."""

from __future__ import annotations

import ast
from typing import Any

from ..errors import HPOSyntaxError, python_lines
from ._aliases import plain_constructor_calls
from ._comments import _HPO_COMMENT
from ._tree import _constructor_name

__all__ = ["MagicLines"]


class MagicLines:
    """How the parser reads the magics IPython turned into calls in the cell."""

    def _indented_magic(self, lineno: int | None) -> HPOSyntaxError | None:
        """The second-``%%hpo`` error for line ``lineno`` when it is an indented ``%%hpo``
        line, which IPython 9 makes an indented call of the line magic ``%hpo``: Python's
        "unexpected indent" there would hide what is wrong."""
        lines = python_lines(self.text)
        if lineno is None or not 1 <= lineno <= len(lines):
            return None
        line = lines[lineno - 1]
        if not line.lstrip().startswith("get_ipython().run_line_magic("):
            return None
        try:
            statement = ast.parse(line.strip()).body
        except (SyntaxError, RecursionError, MemoryError):
            return None
        magic = _magic_call(statement[0].value, "run_line_magic") \
            if len(statement) == 1 and isinstance(statement[0], ast.Expr) else None
        if magic is None or magic[0] != "%hpo":
            return None
        return self.at(_second_magic_message(magic[1], "IPython would run this line in every "
                                                       "trial (as the line magic %hpo, which "
                                                       "fails)"),
                       lineno, len(line) - len(line.lstrip()), lineno, len(line.rstrip()))

    def _check_magic_lines(self, tree: ast.Module) -> None:
        """Flag a second ``%%hpo`` (right below the first, IPython makes the whole cell that
        cell magic's call; further down, a call of the line magic ``%hpo``) and a
        hyperparameter written in a line magic (``%time lr = Real(0, 1)``): IPython hands the
        line to the magic as text, so the annotation would not be seen."""
        for node in ast.walk(tree):
            magic = _magic_call(node, "run_cell_magic")
            if magic is not None and magic[0] == "hpo":  # right below the first %%hpo
                self.fail(self.error(_second_magic_message(
                    magic[1], "IPython would hand it the lines below this one as text, so "
                              "this study would see no hyperparameters"), node))
                continue
            if magic is not None:  # another cell magic right below %%hpo (%%time)
                self.fail(self.error(
                    f"%%{magic[0]} below %%hpo: IPython runs a cell magic only on a cell's "
                    f"first line, and here it would take the lines below it as its text, so "
                    f"this study would see no hyperparameters; remove %%{magic[0]} (a line "
                    f"magic such as %time applies to one line of the cell)", node))
                continue
            magic = _magic_call(node, "run_line_magic")
            if magic is not None and magic[0] == "%hpo":  # a second %%hpo further down
                self.fail(self.error(_second_magic_message(
                    magic[1], "IPython would run this line in every trial (as the line magic "
                              "%hpo, which fails)"), node))
                continue
            if magic is None or not _marks_hyperparameter(magic[1], self.env, tree):
                continue
            name, line = magic
            self.fail(self.error(
                f"a hyperparameter inside a line magic is not seen: IPython hands "
                f"`%{name} {line}` to %{name} as text; put the assignment on a line of its "
                f"own and apply %{name} to a line that uses it", node))


def _second_magic_message(options: str, why: str) -> str:
    """The error for a second ``%%hpo`` (with ``options``) inside a ``%%hpo`` cell, where
    ``why`` says what IPython would do with it there."""
    options = f" {options.strip()}" if options.strip() else ""
    return (f"a second %%hpo{options}: the cell already runs as a study from its first line, "
            f"and {why}; remove it and put its options on the first line")


def _magic_call(node: ast.AST, method: str) -> tuple[str, str] | None:
    """``(magic name, its line)`` for IPython's transform of a magic into a call of
    ``method``: ``get_ipython().run_line_magic('name', 'line')`` for ``%name line``, and
    ``get_ipython().run_cell_magic('name', 'line', 'body')`` for a cell whose first line is
    ``%%name line`` (the whole cell becomes that call); None for anything else."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == method and len(node.args) >= 2):
        return None
    name, line = node.args[0], node.args[1]
    if isinstance(name, ast.Constant) and isinstance(name.value, str) \
            and isinstance(line, ast.Constant) and isinstance(line.value, str):
        return name.value, line.value
    return None


def _marks_hyperparameter(code: str, env: dict[str, Any] | None, cell: ast.Module) -> bool:
    """Whether ``code`` (a magic's line in ``cell``) holds a space constructor call, also
    through an alias the cell imports, or an ``# hpo:`` comment."""
    if _HPO_COMMENT.search(code):
        return True
    words = code.split()
    for start in range(len(words)):  # the code after the magic's options (%timeit -n1 ...)
        try:
            line = ast.parse(" ".join(words[start:]))
            break
        except (SyntaxError, ValueError):
            continue
    else:
        return False
    imports = [node for node in cell.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    tree = ast.Module(body=[*imports, *line.body], type_ignores=[])
    plain_constructor_calls(tree, env)
    return any(_constructor_name(node) for node in ast.walk(tree))
