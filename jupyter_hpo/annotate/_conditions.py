"""Conditional annotations: an annotation under ``if``/``elif``/``else`` is active only when its
branch runs, and the branch's test must be known before the trial runs.

For each annotation the ``if`` statements (and ``x if test else y`` expressions) around it are
read from the outermost in: being in the body adds the test, being in ``orelse`` adds its
negation (so ``elif`` and ``else`` negate the tests before them). A test must compare
hyperparameters of the cell with literal values (see ``space/_conditions.py``); each variable
it reads must be

- assigned from an annotation (``arch = Categorical(...)`` or ``arch = "mlp"  # hpo: ...``),
- assigned nowhere else in the cell (otherwise its value at the ``if`` is not the sampled one),
- assigned before the ``if``, in the same block or one around it (so it is set, and active,
  whenever the ``if`` runs).

Anything else is an ``HPOSyntaxError`` at the test that says why. A test that is never true
for the hyperparameters' values (a typo such as ``arch == "cnnn"``) is one too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import HPOSyntaxError, SpaceError
from ..space import Condition, ConditionError, Domain, check_condition, condition_from_node

if TYPE_CHECKING:
    from ._parser import _CellParser
    from ._template import _Found

__all__ = ["CellConditions"]

_Parent = tuple[ast.AST, str, "int | None"]


class CellConditions:
    """The conditions of one cell's annotations (``found``, sorted by position)."""

    def __init__(self, parser: _CellParser, tree: ast.Module, found: list[_Found]) -> None:
        self.parser, self.found = parser, found
        self.parents: dict[int, _Parent] = {}
        self.stores: dict[str, list[ast.AST]] = {}
        self._walk(tree)
        # variable -> (hyperparameter, the statement that binds it)
        self.bindings: dict[str, tuple[str, ast.stmt]] = {}
        for f in found:
            parent = self.parents.get(id(f.node))
            stmt = parent[0] if parent else None
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is f.node:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if len(targets) == 1 and isinstance(targets[0], ast.Name):
                    self.bindings[targets[0].id] = (f.name, stmt)
        self._tests: dict[int, Condition | HPOSyntaxError] = {}

    def _walk(self, tree: ast.Module) -> None:
        stack: list[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.stores.setdefault(node.id, []).append(node)
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    self.parents[id(value)] = (node, name, None)
                    stack.append(value)
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            self.parents[id(item)] = (node, name, i)
                            stack.append(item)

    def _ancestors(self, node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST, str]]:
        """``(child, parent, field)`` from ``node`` up to the module."""
        while id(node) in self.parents:
            parent, name, _ = self.parents[id(node)]
            yield node, parent, name
            node = parent

    # ------------------------------------------------------------------ per annotation
    def condition_of(self, f: _Found, domains: dict[str, Domain]) -> Condition | None:
        """The condition under which ``f`` is active (None: always); ``domains`` are the
        hyperparameters before it. Raises ``HPOSyntaxError`` at the test that fails."""
        self._no_explicit_when(f)
        parts: list[Condition] = []
        for child, parent, name in self._ancestors(f.node):
            if isinstance(parent, ast.match_case) and name == "body":
                raise self.parser.error("annotations under match/case cannot be conditional "
                                        "hyperparameters: use if/elif/else", f.node)
            if isinstance(parent, (ast.If, ast.IfExp)) and name in ("body", "orelse"):
                test = self._test(parent)
                parts.append(test if name == "body" else test.negated())
            del child
        if not parts:
            return None
        condition = Condition.all_of(parts[::-1])  # outermost first
        if condition.kind == "true":
            return None
        if all(n in domains for n in condition.names):
            try:
                check_condition(f.name, condition, domains)
            except SpaceError as exc:
                raise self.parser.error(f"bad condition for {f.name!r}: {exc}",
                                        self._innermost_test(f)) from None
        return condition

    def _no_explicit_when(self, f: _Found) -> None:
        for keyword in f.call.keywords:
            if keyword.arg == "when":
                raise self.parser.error(
                    f"in a %%hpo cell a condition is written as an `if` around the annotation "
                    f"(`if arch == \"cnn\":` then `{f.name} = ...` inside it), not as when=",
                    keyword.value if f.form != "comment" else f.node)

    def _innermost_test(self, f: _Found) -> ast.AST:
        for _, parent, name in self._ancestors(f.node):
            if isinstance(parent, (ast.If, ast.IfExp)) and name in ("body", "orelse"):
                return parent.test
        return f.node

    # ------------------------------------------------------------------ per test
    def _test(self, branch: ast.If | ast.IfExp) -> Condition:
        """The test of ``branch`` as a Condition over hyperparameter names (read once)."""
        cached = self._tests.get(id(branch))
        if cached is None:
            try:
                cached = self._read_test(branch)
            except HPOSyntaxError as exc:
                cached = exc
            self._tests[id(branch)] = cached
        if isinstance(cached, HPOSyntaxError):
            raise cached
        return cached

    def _read_test(self, branch: ast.If | ast.IfExp) -> Condition:
        statement = branch if isinstance(branch, ast.stmt) else self._statement_of(branch)
        for node in ast.walk(branch.test):
            if isinstance(node, ast.Name) and node.id in self.bindings:
                self._check_variable(node, statement)
        variables = {v: hp for v, (hp, _) in self.bindings.items()}
        try:
            return condition_from_node(branch.test, variables)
        except ConditionError as exc:
            raise self.parser.error(str(exc), exc.node or branch.test) from None

    def _check_variable(self, name: ast.Name, statement: ast.AST) -> None:
        """``name`` (read by the test of ``statement``) must be bound once, before, in the
        same block or one around it."""
        hp, binding = self.bindings[name.id]
        stores = self.stores.get(name.id, [])
        if len(stores) > 1:
            lines = sorted({s.lineno for s in stores})  # type: ignore[attr-defined]
            raise self.parser.error(
                f"the condition reads {name.id}, which the cell assigns more than once (lines "
                f"{', '.join(map(str, lines))}), so its value at this `if` is not known "
                f"before the trial runs: assign the hyperparameter once", name)
        block = self.parents.get(id(binding))
        for child, parent, field in self._ancestors(statement):
            if block is not None and parent is block[0] and field == block[1]:
                index = self.parents[id(child)][2]
                if index is not None and block[2] is not None and index > block[2]:
                    return
                raise self.parser.error(
                    f"the condition reads {name.id}, which is assigned after this `if` (line "
                    f"{binding.lineno}): assign the hyperparameter {hp!r} first", name)
        raise self.parser.error(
            f"the condition reads {name.id}, which is assigned at line {binding.lineno} inside "
            f"another block, so it may be unset (or inactive) when this `if` runs: assign it "
            f"before the `if`, in the same block or one around it", name)

    def _statement_of(self, node: ast.AST) -> ast.AST:
        for _, parent, _ in self._ancestors(node):
            if isinstance(parent, ast.stmt):
                return parent
        return node

