"""Calls of ``jupyter_hpo.tune()`` in a ``%%hpo`` cell. tune() runs a study of its own, so each
trial of the cell's study would run a whole study, and the ``Real(...)`` of the space it is
given would be read as the cell's own hyperparameters: the cell is refused at that call. A
name counts only where it is bound to jupyter_hpo's ``tune``: by an import in the cell, or in
the notebook's namespace (Ray Tune's ``tune`` module, a function of the user's named ``tune``,
are other things)."""

from __future__ import annotations

import ast
from types import ModuleType
from typing import Any

TUNE_IN_CELL = ("tune() runs a study of its own: in a %%hpo cell each trial would run a whole "
                "study, and the space given to tune() would be read as this cell's "
                "hyperparameters. Do one or the other: run tune() in a cell without %%hpo, or "
                "keep %%hpo and write the objective's code in this cell (Real(...) where its "
                "space has one, report(...) for its result)")


def tune_calls(tree: ast.AST, env: dict[str, Any] | None, defined: set[str]) -> list[ast.Call]:
    """The calls in ``tree`` of jupyter_hpo's ``tune``, in the order ``ast.walk`` meets them;
    ``defined`` holds the names the cell binds (a name the cell binds otherwise than by
    importing jupyter_hpo's tune is not it)."""
    functions, modules = _bindings(tree, env, defined)
    if not functions and not modules:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in functions \
                or isinstance(func, ast.Attribute) and func.attr == "tune" \
                and isinstance(func.value, ast.Name) and func.value.id in modules:
            found.append(node)
    return found


def _bindings(tree: ast.AST, env: dict[str, Any] | None, defined: set[str]
              ) -> tuple[set[str], set[str]]:
    """Names bound to jupyter_hpo's ``tune``, and names bound to the package jupyter_hpo."""
    functions: set[str] = set()
    modules: set[str] = set()
    for name, value in (env or {}).items():
        if name in defined:
            continue
        if isinstance(value, ModuleType) and value.__name__ == "jupyter_hpo":
            modules.add(name)
        elif callable(value) and getattr(value, "__module__", None) == "jupyter_hpo.api" \
                and getattr(value, "__name__", None) == "tune":
            functions.add(name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jupyter_hpo" or alias.name.startswith("jupyter_hpo.") \
                        and not alias.asname:
                    modules.add(alias.asname or "jupyter_hpo")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 \
                and node.module in ("jupyter_hpo", "jupyter_hpo.api"):
            for alias in node.names:
                if alias.name in ("tune", "*"):
                    functions.add(alias.asname or "tune")
    return functions, modules
