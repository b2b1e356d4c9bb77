"""Constructor calls written through the package or under another name (``jh.Real(...)``,
``jupyter_hpo.space.Int(...)``, ``R(...)`` after ``from jupyter_hpo import Real as R``) are
rewritten to the plain name (``Real(...)``), so the parser finds them as it finds ``Real(...)``
instead of running them as ordinary code, where they would give the trial a domain object
instead of a value. A name counts only where it is bound to jupyter_hpo: by an import in the
cell, or in the notebook's namespace."""

from __future__ import annotations

import ast
from types import ModuleType
from typing import Any

from ._template import CONSTRUCTORS

_MODULES = ("jupyter_hpo", "jupyter_hpo.space")


def plain_constructor_calls(tree: ast.AST, env: dict[str, Any] | None) -> None:
    """Rewrite, in place, the ``func`` of every call of a constructor through a module alias
    or a renamed import to the constructor's own name."""
    modules, renamed = _bindings(tree, env)
    if not modules and not renamed:
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        ctor = None
        if isinstance(func, ast.Name):
            ctor = renamed.get(func.id)
        elif isinstance(func, ast.Attribute) and func.attr in CONSTRUCTORS \
                and _dotted(func.value, modules):
            ctor = func.attr
        if ctor is not None:
            node.func = ast.copy_location(ast.Name(id=ctor, ctx=ast.Load()), func)


def _bindings(tree: ast.AST, env: dict[str, Any] | None
              ) -> tuple[dict[str, str], dict[str, str]]:
    """Names bound to jupyter_hpo's modules (name -> module) and to its constructors under
    another name (name -> constructor), from the cell's imports and the namespace."""
    modules: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for name, value in (env or {}).items():
        if isinstance(value, ModuleType) and value.__name__ in _MODULES:
            modules[name] = value.__name__
        elif isinstance(value, type) and name not in CONSTRUCTORS:
            ctor = next((c for c, cls in CONSTRUCTORS.items() if cls is value), None)
            if ctor is not None:
                renamed[name] = ctor
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _MODULES:
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:  # import jupyter_hpo.space binds jupyter_hpo
                        modules["jupyter_hpo"] = "jupyter_hpo"
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "jupyter_hpo":
                for alias in node.names:
                    if alias.name == "space":
                        modules[alias.asname or "space"] = "jupyter_hpo.space"
            if node.module in _MODULES:
                for alias in node.names:
                    if alias.name in CONSTRUCTORS and alias.asname \
                            and alias.asname != alias.name:
                        renamed[alias.asname] = alias.name
    return modules, renamed


def _dotted(node: ast.AST, modules: dict[str, str]) -> bool:
    """Whether ``node`` (``jh``, ``jupyter_hpo.space``) names one of jupyter_hpo's modules."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in modules:
        return False
    return ".".join([modules[node.id], *reversed(parts)]) in _MODULES
