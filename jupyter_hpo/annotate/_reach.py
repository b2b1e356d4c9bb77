"""Which of a cell's functions call ``report()`` although the cell never calls them: a trial of
such a cell ends without a report, and its error says so by name ("report() is only called
inside `train`, which this cell never calls") instead of guessing at an ``if``."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ._tree import _is_report_call

__all__ = ["unreached_reporters"]

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: calls that may reach any function by its name
_DYNAMIC = frozenset({"eval", "exec", "globals", "locals", "vars", "getattr"})


def unreached_reporters(tree: ast.Module) -> list[str]:
    """The top-level functions that hold every ``report()`` call of the cell when the cell's
    top-level code never names them, not even through another function it names (a callback
    passed by name counts as named); else ``[]``."""
    defs: dict[str, list[ast.AST]] = {}
    holders: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, _FUNCTIONS):
            defs.setdefault(stmt.name, []).append(stmt)
            if any(_is_report_call(node) for node in ast.walk(stmt)):
                holders.append(stmt.name)
        elif any(_is_report_call(node) for node in ast.walk(stmt)):
            return []  # a report() outside the cell's top-level functions
    if not holders:
        return []
    named = _names(stmt for stmt in tree.body if not isinstance(stmt, _FUNCTIONS))
    for stmt in tree.body:  # decorators and defaults run where the function is defined
        if isinstance(stmt, _FUNCTIONS):
            named |= _names([*stmt.decorator_list, *stmt.args.defaults,
                             *(d for d in stmt.args.kw_defaults if d is not None)])
    todo = list(named & defs.keys())
    while todo:  # what the functions the cell names name in turn
        for function in defs[todo.pop()]:
            found = _names([function]) - named
            named |= found
            todo += found & defs.keys()
    if named & _DYNAMIC:
        return []
    unreached = [name for name in dict.fromkeys(holders) if name not in named]
    return unreached if len(unreached) == len(set(holders)) else []


def _names(nodes: Iterable[ast.AST]) -> set[str]:
    """Every name read anywhere in ``nodes``."""
    return {node.id for tree in nodes for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
