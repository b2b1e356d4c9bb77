"""Conditions on hyperparameters: when a conditional hyperparameter is active.

ConfigSpace's conditions are the model: a hyperparameter is *active* only when its condition
holds on the values of other hyperparameters, e.g. ``kernel`` only when ``arch == "cnn"``.
A condition is written as a Python expression (in a ``%%hpo`` cell it is the test of the
``if`` the annotation sits under; with ``tune()`` it is ``when="arch == 'cnn'"``) and is
read statically into a small tree: comparisons of one hyperparameter with literal values
(``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``), a hyperparameter's truth
(``if use_bn:``), ``not``, ``and`` and ``or``. Anything else (a call, another variable, two
hyperparameters compared with each other) cannot be known before the trial runs and is a
:class:`ConditionError` that says why.

A condition that reads an inactive (absent) hyperparameter is false, so a hyperparameter under
an inactive one is inactive too.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Condition", "ConditionError", "as_condition", "condition_from_node"]

_OPERATORS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda a, b: a in b), ast.NotIn: ("not in", lambda a, b: a not in b),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=", "is": "is",
            "is not": "is not"}
_NEGATED = {"==": "!=", "!=": "==", "in": "not in", "not in": "in", "is": "is not",
            "is not": "is"}
_BY_SYMBOL = {symbol: function for symbol, function in _OPERATORS.values()}


class ConditionError(ValueError):
    """A condition that cannot be read statically; ``node`` is where (for cell locations)."""

    def __init__(self, message: str, node: ast.AST | None = None) -> None:
        super().__init__(message)
        self.node = node


class Condition:
    """A node of a condition tree: ``kind`` is ``compare``, ``truth``, ``not``, ``and``,
    ``or`` or ``true``; ``names`` are the hyperparameters it reads."""

    def __init__(self, kind: str, *, name: str | None = None, op: str | None = None,
                 value: Any = None, parts: tuple[Condition, ...] = ()) -> None:
        self.kind, self.name, self.op, self.value, self.parts = kind, name, op, value, parts
        names = {name} if name is not None else set()
        for part in parts:
            names |= part.names
        self.names: frozenset[str] = frozenset(names)

    # ------------------------------------------------------------------ building
    @classmethod
    def compare(cls, name: str, op: str, value: Any) -> Condition:
        return cls("compare", name=name, op=op, value=value)

    @classmethod
    def truth(cls, name: str) -> Condition:
        return cls("truth", name=name)

    @classmethod
    def all_of(cls, parts: list[Condition]) -> Condition:
        """The conjunction of ``parts`` (nested conjunctions and ``true`` parts flattened)."""
        flat: list[Condition] = []
        for part in parts:
            flat.extend(part.parts if part.kind == "and" else
                        () if part.kind == "true" else (part,))
        if not flat:
            return cls("true")
        return flat[0] if len(flat) == 1 else cls("and", parts=tuple(flat))

    def negated(self) -> Condition:
        """The negation: ``arch != 'cnn'`` for ``arch == 'cnn'``, ``not x`` otherwise."""
        if self.kind == "not":
            return self.parts[0]
        if self.kind == "compare" and self.op in _NEGATED:
            return Condition.compare(self.name, _NEGATED[self.op], self.value)  # type: ignore[arg-type]
        return Condition("not", parts=(self,))

    # ------------------------------------------------------------------ reading
    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether the condition is true on ``config``; false when a hyperparameter it reads
        is absent (inactive)."""
        for name in self.names:
            if name not in config:
                return False
        return self._evaluate(config)

    def _evaluate(self, config: Mapping[str, Any]) -> bool:
        kind = self.kind
        if kind == "compare":
            try:
                return bool(_BY_SYMBOL[self.op](config[self.name], self.value))
            except TypeError:  # e.g. None < 3: not true
                return False
        if kind == "truth":
            return bool(config[self.name])
        if kind == "not":
            return not self.parts[0]._evaluate(config)
        if kind == "and":
            return all(p._evaluate(config) for p in self.parts)
        if kind == "or":
            return any(p._evaluate(config) for p in self.parts)
        return True

    def atoms(self) -> list[Condition]:
        """The comparisons and truth tests in the tree."""
        if self.kind in ("compare", "truth"):
            return [self]
        return [atom for part in self.parts for atom in part.atoms()]

    def renamed(self, names: Mapping[str, str]) -> Condition:
        """The same condition with hyperparameters renamed (variables of a cell to names)."""
        if self.kind in ("compare", "truth"):
            return Condition(self.kind, name=names.get(self.name, self.name), op=self.op,
                             value=self.value)
        return Condition(self.kind, parts=tuple(p.renamed(names) for p in self.parts))

    def source(self) -> str:
        """The condition as a Python expression (what ``when=`` takes back)."""
        kind = self.kind
        if kind == "compare":
            return f"{self.name} {self.op} {self.value!r}"
        if kind == "truth":
            return str(self.name)
        if kind == "true":
            return "True"
        if kind == "not":
            return f"not {self.parts[0]._grouped()}"
        return f" {kind} ".join(part._grouped() for part in self.parts)

    def _grouped(self) -> str:
        text = self.source()
        return f"({text})" if self.kind in ("and", "or") else text

    def __repr__(self) -> str:
        return self.source()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.source() == other.source()

    def __hash__(self) -> int:
        return hash(self.source())


def as_condition(when: Any) -> Condition | None:
    """``when=`` of a domain as a Condition: a Condition, an expression
    (``"arch == 'cnn'"``), a mapping of names to a value or a list of values
    (``{"arch": "cnn"}``, ``{"arch": ["cnn", "rnn"]}``), or None (always active)."""
    if when is None or isinstance(when, Condition):
        return when
    if isinstance(when, str):
        try:
            tree = ast.parse(when.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConditionError(f"when={when!r} is not a Python expression ({exc.msg})") \
                from None
        return condition_from_node(tree.body, None)
    if isinstance(when, Mapping) and when:
        parts = []
        for name, value in when.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ConditionError(f"when= names {name!r}, which is not a hyperparameter name")
            many = isinstance(value, (list, tuple, set, frozenset))
            parts.append(Condition.compare(name, "in" if many else "==",
                                           tuple(value) if many else value))
        return Condition.all_of(parts)
    raise ConditionError(f"when is {when!r}, but must be an expression such as "
                         f"\"arch == 'cnn'\", a dict such as {{'arch': 'cnn'}}, or None")


def condition_from_node(node: ast.expr, variables: Mapping[str, str] | None) -> Condition:
    """Read an expression into a Condition. ``variables`` maps the names the expression may
    read to hyperparameter names (a cell's variables); ``None`` accepts any name as a
    hyperparameter (``when=`` strings, checked against the space later)."""
    return _Reader(variables).read(node)


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


class _Reader:
    def __init__(self, variables: Mapping[str, str] | None) -> None:
        self.variables = variables

    def read(self, node: ast.expr) -> Condition:
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.read(v) for v in node.values)
            return Condition("and" if isinstance(node.op, ast.And) else "or", parts=parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.read(node.operand).negated()
        if isinstance(node, ast.Name):
            return Condition.truth(self.hyperparameter(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return Condition("true") if node.value else Condition("true").negated()
        if isinstance(node, ast.Compare):
            return self.compare(node)
        raise ConditionError(f"{self.what(node)}: a condition must compare hyperparameters "
                             f"with literal values, e.g. `arch == \"cnn\"`, `units > 64` or "
                             f"`act in (\"relu\", \"gelu\")`", node)

    def compare(self, node: ast.Compare) -> Condition:
        parts = []
        left = node.left
        for op_node, right in zip(node.ops, node.comparators):
            symbol = _OPERATORS[type(op_node)][0]
            if isinstance(left, ast.Name) and not isinstance(right, ast.Name):
                name, value_node = self.hyperparameter(left), right
            elif isinstance(right, ast.Name) and not isinstance(left, ast.Name) \
                    and symbol not in ("in", "not in"):
                name, value_node, symbol = self.hyperparameter(right), left, _FLIPPED[symbol]
            elif isinstance(left, ast.Name) and isinstance(right, ast.Name):
                raise ConditionError(f"the condition compares {left.id} with {right.id}: a "
                                     f"condition must compare a hyperparameter with literal "
                                     f"values, not with another variable", node)
            else:
                culprit = right if _is_literal(left) else left
                raise ConditionError(f"{self.what(culprit)}: a condition must compare one "
                                     f"hyperparameter (a variable assigned from Real, Int, "
                                     f"Categorical or Bool) with literal values", culprit)
            try:
                value = ast.literal_eval(value_node)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise ConditionError(f"the condition compares {name} with "
                                     f"{ast.unparse(value_node)}, which is not a literal value "
                                     f"(a number, a string, True/False/None, or a tuple of "
                                     f"them), so it is not known before the trial runs",
                                     value_node) from None
            if symbol in ("in", "not in"):
                if not isinstance(value, (tuple, list, set, frozenset)):
                    raise ConditionError(f"`{name} {symbol} ...` needs a tuple of values, e.g. "
                                         f"{name} {symbol} (\"a\", \"b\")", value_node)
                value = tuple(value)
            parts.append(Condition.compare(name, symbol, value))
            left = right
        return Condition.all_of(parts)

    def hyperparameter(self, node: ast.Name) -> str:
        if self.variables is None:
            return node.id
        if node.id not in self.variables:
            raise ConditionError(f"the condition reads {node.id}, which is not a "
                                 f"hyperparameter of this cell, so its value is not known "
                                 f"before the trial runs: a condition that guards "
                                 f"annotations may only read variables assigned from Real, "
                                 f"Int, Categorical or Bool", node)
        return self.variables[node.id]

    @staticmethod
    def what(node: ast.AST) -> str:
        text = ast.unparse(node)
        text = text if len(text) <= 80 else text[:77] + "..."
        if isinstance(node, ast.Call):
            return f"the condition calls {ast.unparse(node.func)}(), whose result is not " \
                   f"known before the trial runs"
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return f"the condition reads {text}, which is not known before the trial runs"
        return f"the condition `{text}` cannot be read before the trial runs"
