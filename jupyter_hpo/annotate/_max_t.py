"""Hyperband's maximum resource read from the cell: ``max_t = N`` or the resource's count
(``epochs = N``, ``num_epochs = N``, ...; ``steps = N`` for ``--resource step``) at its top
level (``max_t`` wins when several are there).

``N`` may be an int literal, arithmetic on numbers and names (``epochs = EPOCHS``,
``epochs = 2 * base``) whose values come from the notebook or from earlier top-level
assignments of the cell, or a hyperparameter (``epochs = Int(5, 50)``: its largest value).
Nothing is called while reading it: only names, numbers and arithmetic are evaluated.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

from ..records import is_number
from ..space import Categorical, Domain, Int, Real
from ._tree import _BINARY, _UNARY, _constructor_name, unparse

__all__ = ["infer_counts", "unread_count"]

_MAX_EXPONENT = 64


class _Unknown(Exception):
    """The expression is not plain arithmetic on known numbers."""


def infer_counts(tree: ast.Module, domains: Mapping[int, Domain | None],
                 env: Mapping[str, Any] | None) -> dict[str, float]:
    """The value each top-level name of the cell is first assigned, where it could be a
    maximum resource (a positive number; a hyperparameter's largest value): the candidates
    for ``max_t`` (see ``CellTemplate.max_t_for``). ``domains`` maps the ``id`` of each
    annotated node to its domain; ``env`` is the notebook's namespace (None: literals only)."""
    known: dict[str, Any] = {}  # top-level names of the cell with a number so far (None:
    found: dict[str, float] = {}  # assigned something else, so the notebook's value is stale)
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            else stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value is not None \
            else None
        if not isinstance(target, ast.Name):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    known[node.id] = None
            continue
        assert isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
        name = target.id
        if id(stmt.value) in domains:
            value = _largest(domains[id(stmt.value)])
        else:
            try:
                value = _evaluate(stmt.value, known, env or {})
            except (_Unknown, ArithmeticError, ValueError, TypeError, RecursionError):
                value = None
        known[name] = value
        if name not in found:
            resource = _resource(value)
            if resource is not None:
                found[name] = resource
    return found


def _evaluate(node: ast.AST, known: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and is_number(node.value):
        return node.value
    if isinstance(node, ast.Name):
        value = known[node.id] if node.id in known else env.get(node.id)
        if not is_number(value):
            raise _Unknown(node.id)
        return value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, known, env), _evaluate(node.right, known, env)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise _Unknown("a power too large to compute")  # 10 ** 10 ** 9 would take minutes
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, known, env))
    raise _Unknown(type(node).__name__)


def _largest(domain: Domain | None) -> Any:
    """The largest value a hyperparameter takes (an epochs budget that is searched)."""
    if isinstance(domain, (Int, Real)):
        return domain.hi
    if isinstance(domain, Categorical):
        numbers_ = [c for c in domain.choices if is_number(c)]
        return max(numbers_) if len(numbers_) == len(domain.choices) else None
    return None


def _resource(value: Any) -> float | None:
    """``value`` as a maximum resource: a finite number > 0 (an int when it is whole)."""
    try:
        if not is_number(value) or not math.isfinite(value) or value <= 0:
            return None
        return int(value) if float(value).is_integer() else float(value)
    except OverflowError:  # an int beyond floats (Int(0, 10**400)): no resource
        return None


def unread_count(source: str, names: tuple[str, ...]) -> str | None:
    """Why the cell's first top-level ``NAME = ...`` for one of ``names`` (``epochs``,
    ``max_t``, ...) gave no maximum resource, as the end of an error: "the cell's `epochs = 0`
    (cell line 2) is not a number > 0"; None when the cell assigns none of them. Without it,
    Hyperband asked to "write `epochs = N` in the cell" of a cell that had one."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            else stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value is not None \
            else None
        if not isinstance(target, ast.Name) or target.id not in names:
            continue
        assert isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
        text = ast.get_source_segment(source, stmt.value) or unparse(stmt.value)
        try:
            value = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            why = f"the notebook holds no number {text}" if isinstance(stmt.value, ast.Name) \
                else "its largest value is not a finite number > 0" \
                if _constructor_name(stmt.value) else (
                    "its value is not known before the trial runs (only numbers, notebook "
                    "variables and arithmetic on them are read, nothing is called)")
        else:
            if isinstance(value, str):
                why = f"it is text: write {target.id} = {value.strip()} without quotes" \
                    if is_number(_as_number(value)) else "it is text, not a number"
            elif isinstance(value, bool) or not is_number(value):
                why = f"{value!r} is not a number"
            else:
                why = "it is not a finite number > 0"
        return f"the cell's `{target.id} = {text}` (cell line {stmt.lineno}) is not one: {why}"
    return None


def _as_number(text: str) -> Any:
    """``text`` as a number, or None."""
    try:
        return float(text)
    except ValueError:
        return None
