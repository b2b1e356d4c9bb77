"""Notes about a cell that runs, but not as its author likely meant: a hyperparameter's
variable assigned again at the top level before anything reads it (``x = Real(0, 1)`` and,
further down, ``x = 5``), which leaves the hyperparameter without effect on the trial. A note
never refuses the cell: the magic prints it and the study runs."""

from __future__ import annotations

import ast
from collections.abc import Iterable

__all__ = ["overwritten_notes"]

#: calls that may read any variable by its name
_DYNAMIC = frozenset({"eval", "exec", "globals", "locals", "vars"})


def overwritten_notes(tree: ast.Module, annotated: Iterable[tuple[str, int]]) -> list[str]:
    """For each ``(variable, line)`` of a hyperparameter assigned at the cell's top level: a
    note when a later top-level ``variable = ...`` replaces it before any statement reads it
    (also in that assignment's own value) and no function or class defined above reads it."""
    notes = []
    for variable, line in annotated:
        start = next((i for i, stmt in enumerate(tree.body)
                      if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno)), None)
        if start is None or not _assigns(tree.body[start], variable):
            continue
        for index in range(start + 1, len(tree.body)):
            stmt = tree.body[index]
            if _reads(stmt, variable):
                break
            if _assigns(stmt, variable) and not _deferred_read(tree.body[:start], variable):
                notes.append(f"cell line {stmt.lineno}: {variable} is assigned again before "
                             f"anything reads the hyperparameter {variable} (cell line "
                             f"{line}), so the value each trial searches has no effect; "
                             f"remove one of the two, or give one another name")
                break
    return notes


def _assigns(stmt: ast.stmt, variable: str) -> bool:
    """Whether ``stmt`` is a plain ``variable = ...`` (or ``variable: T = ...``)."""
    if isinstance(stmt, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == variable for t in stmt.targets)
    return isinstance(stmt, ast.AnnAssign) and stmt.value is not None \
        and isinstance(stmt.target, ast.Name) and stmt.target.id == variable


def _reads(stmt: ast.stmt, variable: str) -> bool:
    """Whether ``stmt`` may read ``variable``: a load of it anywhere inside, ``variable +=``,
    ``del``, or a call that reads variables by name (``eval``, ``locals()``)."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and node.id == variable \
                and not isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == variable:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _DYNAMIC:
            return True
    return False


def _deferred_read(body: list[ast.stmt], variable: str) -> bool:
    """Whether a function, lambda or class defined in ``body`` (the statements above the
    hyperparameter's) reads ``variable``: a call between the two reads the hyperparameter."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                 ast.ClassDef)) and _reads_inside(node, variable):
                return True
    return False


def _reads_inside(node: ast.AST, variable: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == variable and isinstance(n.ctx, ast.Load)
               for n in ast.walk(node))
