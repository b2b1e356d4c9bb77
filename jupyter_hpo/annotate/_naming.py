"""The name of each hyperparameter written in the code: its assignment's target, its keyword,
its parameter or dict key, or ``name=``; and the variable that holds its value. A mixin of
the parser (``_CellParser``)."""

from __future__ import annotations

import ast

from ._tree import _constructor_name, _short_repr
from ._unnamed import unnamed_message

__all__ = ["AnnotationNames"]


class AnnotationNames:
    """How the parser names a constructor call in the code."""

    _unpacked: dict[int, list[str]]
    _root: ast.AST

    def _explicit_name(self, call: ast.Call) -> str | None:
        for kw in call.keywords:
            if kw.arg == "name":
                if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                    raise self.error("name= must be a string literal, e.g. name='lr'", kw.value)
                if not kw.value.value.isidentifier():
                    raise self.error(f"name={_short_repr(kw.value.value)} is not a valid Python "
                                     f"identifier", kw.value)
                return kw.value.value
        return None

    def _bound_variable(self, call: ast.Call, parent: ast.AST | None) -> str | None:
        """The variable the cell assigns ``call``'s value to (``x = ...``, ``(x := ...)``,
        ``x, y = ..., ...``), None for a value inside an expression."""
        if isinstance(parent, ast.NamedExpr) and parent.value is call:
            return parent.target.id
        names = self._unpacked.get(id(parent)) if isinstance(parent, ast.Tuple) else None
        if names is not None:
            return names[parent.elts.index(call)]
        return _assigned_variable(parent)

    def _code_name(self, call: ast.Call, parent: ast.AST | None) -> tuple[str, str]:
        explicit = self._explicit_name(call)
        if explicit:
            return explicit, "explicit"
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is call:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                return targets[0].id, "assignment"
        if isinstance(parent, ast.keyword) and parent.arg:
            return parent.arg, "keyword"
        if isinstance(parent, ast.NamedExpr) and parent.value is call:
            return parent.target.id, "assignment"
        named = _default_of(call, parent) or _dict_key_of(call, parent)
        if named is not None:
            return named
        names = self._unpacked.get(id(parent)) if isinstance(parent, ast.Tuple) else None
        if names is not None:
            return names[parent.elts.index(call)], "tuple assignment"
        ctor = _constructor_name(call)
        if isinstance(parent, ast.IfExp) and call is not parent.test:
            article = "an" if str(ctor)[:1] in "AEIOU" else "a"
            raise self.error(f"{article} {ctor}(...) in a conditional expression (x = {ctor}(...) "
                             f"if cond else 0.1) cannot be a hyperparameter: write an if "
                             f"statement (if cond: x = {ctor}(...), else: x = 0.1), which makes "
                             f"x a hyperparameter only where cond holds (cond may only read the "
                             f"cell's hyperparameters)", call)
        raise self.error(unnamed_message(str(ctor), call, parent, self._root), call)


def _default_of(call: ast.Call, parent: ast.AST | None) -> tuple[str, str] | None:
    """The parameter whose default value ``call`` is (``def f(lr=Real(...))``, lambdas too)."""
    if not isinstance(parent, ast.arguments):
        return None
    for i, default in enumerate(parent.kw_defaults):
        if default is call:
            return parent.kwonlyargs[i].arg, "default"
    positional = [*parent.posonlyargs, *parent.args]
    for i, default in enumerate(parent.defaults):
        if default is call:
            return positional[len(positional) - len(parent.defaults) + i].arg, "default"
    return None


def _dict_key_of(call: ast.Call, parent: ast.AST | None) -> tuple[str, str] | None:
    """The string key (an identifier) whose value ``call`` is in a dict display
    (``{"lr": Real(...)}``)."""
    if not isinstance(parent, ast.Dict):
        return None
    for key, value in zip(parent.keys, parent.values):
        if value is call and isinstance(key, ast.Constant) and isinstance(key.value, str) \
                and key.value.isidentifier():
            return key.value, "dict key"
    return None


def _unpacked_targets(assignments: list[ast.Assign | ast.AnnAssign]) -> dict[int, list[str]]:
    """For each ``a, b = x, y`` (names only, as many as values): id of the value tuple ->
    the names, so ``x, y = Real(...), Int(...)`` names each hyperparameter by its target."""
    unpacked = {}
    for node in assignments:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 \
                or not isinstance(node.value, ast.Tuple):
            continue
        target = node.targets[0]
        if isinstance(target, (ast.Tuple, ast.List)) \
                and all(isinstance(t, ast.Name) for t in target.elts) \
                and len(target.elts) == len(node.value.elts):
            unpacked[id(node.value)] = [t.id for t in target.elts if isinstance(t, ast.Name)]
    return unpacked


def _assigned_variable(node: ast.AST | None) -> str | None:
    """The one variable an assignment statement binds (``x = ...``, ``x: T = ...``), if any."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target: ast.AST = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None
