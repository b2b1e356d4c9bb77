"""The parser: one pass over a cell that finds, names, evaluates and checks its annotations
and compiles the cell with each annotation replaced by a lookup in the trial's config.

Its parts are mixins of ``_CellParser``, each in a module of its own: ``_positions`` (where
an error is, raised or collected), ``_comments`` (``# hpo:`` comments), ``_naming`` (a
hyperparameter's name), ``_evaluation`` (its domain) and ``_magic_lines`` (IPython magics in
the cell)."""

from __future__ import annotations

import ast
import builtins
from inspect import CO_COROUTINE
from types import CodeType
from typing import Any

from ..errors import HPOSyntaxError, python_lines
from ..space import Domain
from ..trial import unnamed_report_message
from ._aliases import plain_constructor_calls
from ._comments import CommentAnnotations
from ._conditions import CellConditions
from ._evaluation import AnnotationDomains
from ._magic_lines import MagicLines
from ._max_t import infer_counts
from ._naming import AnnotationNames, _assigned_variable, _unpacked_targets
from ._notes import overwritten_notes
from ._positions import CellPositions
from ._reach import unreached_reporters
from ._template import (
    _NESTED_MESSAGE,
    CELL_NAMES,
    CONSTRUCTORS,
    RESULT_NAME,
    CellDiagnostics,
    CellTemplate,
    DiagnosedAnnotation,
    ReportingFunction,
    _Found,
)
from ._tree import PEER_NAMES, _is_report_call, _lookup, _Scan, _scan, _suggest
from ._tune_calls import TUNE_IN_CELL, tune_calls


def parse_cell(source: str, namespace: dict[str, Any] | None = None,
               filename: str = "<hpo-cell>") -> CellTemplate:
    """Parse and compile ``source``; raise :class:`HPOSyntaxError` pointing at the bad line.

    ``namespace`` (the user namespace) is where annotation arguments that are not literals,
    such as ``Int(16, MAX_UNITS)``, are looked up.
    """
    template = _CellParser(source, dict(namespace or {}), filename, collect=False).parse()
    assert template is not None  # without collect=True, the first error was raised
    return template


def diagnose_cell(source: str) -> CellDiagnostics:
    """Every annotation and every error of ``source``, without a kernel.

    The same parser as :func:`parse_cell`, but errors are collected (in cell order) instead of
    raising the first. With no namespace, only literal arguments are evaluated: an annotation
    whose argument names a variable (``Int(16, MAX_UNITS)``) is reported with its source text
    as its domain and is not an error.
    """
    parser = _CellParser(source, None, "<hpo-cell>", collect=True)
    parser.parse()
    errors = sorted(parser.errors, key=lambda e: (e.cell_lineno or 0, e.cell_col or 0))
    return CellDiagnostics(parser.diagnosed, errors)


class _CellParser(CellPositions, CommentAnnotations, MagicLines, AnnotationNames,
                  AnnotationDomains):
    """One parse of one cell, shared by :func:`parse_cell` (raise the first error) and
    :func:`diagnose_cell` (``collect`` every error; ``env`` None: evaluate literals only)."""

    def __init__(self, source: str, env: dict[str, Any] | None, filename: str,
                 collect: bool) -> None:
        self.source = source
        # Python reads \r\n and \r as \n; so does everything below, tokenize included.
        self.text = source.replace("\r\n", "\n").replace("\r", "\n") if "\r" in source \
            else source
        self.lines = python_lines(self.text)
        self.env = None if env is None else {**env, **CONSTRUCTORS}
        self.filename, self.collect = filename, collect
        self.errors: list[HPOSyntaxError] = []
        self.diagnosed: list[DiagnosedAnnotation] = []
        self._raw: dict[int, bytes | None] = {}
        self._root: ast.AST = ast.Module(body=[], type_ignores=[])  # the cell's tree

    # -- the passes

    def parse(self) -> CellTemplate | None:
        tree = self._tree()
        if tree is None:
            return None
        plain_constructor_calls(tree, self.env)
        self._root = tree
        scan = _scan(tree)
        for call in tune_calls(tree, self.env, scan.defined):  # before its space is read
            self.fail(self.error(TUNE_IN_CELL, call))
        found: list[_Found] = []
        slots: list[tuple[Any, str, int | None, str, ast.AST]] = []
        variables: list[tuple[str, ast.AST]] = []  # (variable assigned a value, the value)

        by_line = self._assignments_by_line(scan.assignments)
        comments = self._comment_tokens()
        for lineno, expr, col in self._comments(comments):
            try:
                item, stmt = self._comment_annotation(lineno, expr, col, by_line)
            except HPOSyntaxError as exc:
                self.fail(exc)
                continue
            found.append(item)
            slots.append((stmt, "value", None, item.name, item.node))
            variables.append((item.name, item.node))
        for error in self._misspelt_markers(comments):
            self.fail(error)

        self._unpacked = _unpacked_targets(scan.assignments)
        outer = {id(site.enclosing) for site in scan.sites if site.enclosing is not None}
        for site in scan.sites:
            if site.enclosing is not None:
                self.fail(self.error(_NESTED_MESSAGE, site.call))
        for site in scan.sites:
            if site.enclosing is not None or id(site.call) in outer:
                continue
            try:
                name, form = self._code_name(site.call, site.parent)
                domain = self._evaluate(site.call, name)
            except HPOSyntaxError as exc:
                self.fail(exc)
                continue
            variable = self._bound_variable(site.call, site.parent)
            found.append(_Found(name, form, domain, site.call, site.call, variable=variable))
            slots.append((site.parent, site.field, site.index, name, site.call))
            if variable is not None:
                variables.append((variable, site.call))

        self._check_unknown_constructors(scan)
        self._check_unnamed_reports(scan)
        self._check_magic_lines(tree)
        found.sort(key=lambda f: f.position)
        self._check_duplicates(found)
        self._check_cell_names(variables)
        if found:
            self._attach_conditions(tree, found)
        if self.collect:
            self.diagnosed = [self._diagnosed(f) for f in found]

        counts = infer_counts(tree, {id(f.node): f.domain for f in found}, self.env)
        notes = [] if self.collect else overwritten_notes(
            tree, [(f.variable, f.node.lineno) for f in found if f.variable == f.name])
        unreached = [] if self.collect or scan.report_callbacks else unreached_reporters(tree)
        last = tree.body[-1] if tree.body else None
        has_result = isinstance(last, ast.Expr) and not _is_report_call(last.value)
        for parent, name, index, hp_name, node in slots:
            if index is None:
                setattr(parent, name, _lookup(hp_name, node))
            else:
                getattr(parent, name)[index] = _lookup(hp_name, node)
        if has_result:
            assert isinstance(last, ast.Expr)
            target = ast.copy_location(ast.Name(id=RESULT_NAME, ctx=ast.Store()), last)
            tree.body[-1] = ast.copy_location(ast.Assign(targets=[target], value=last.value),
                                              last)
        code = self._compile(tree, scan)
        if code is None or self.collect:  # diagnostics need no template
            return None
        annotations = [f.annotation() for f in found]
        assigned = _assigned_variable(last) or (
            last.target.id if isinstance(last, ast.AugAssign)
            and isinstance(last.target, ast.Name) else None)
        own = {"reported_keys": list(scan.reported_keys), "calls_report": scan.calls_report,
               "reports_unpacked": scan.reports_unpacked, "text_keys": list(scan.text_keys),
               "report_callbacks": sorted(scan.report_callbacks)}
        functions = self._reporting_functions(scan, counts)
        shown = last.value.id if has_result and isinstance(last, ast.Expr) \
            and isinstance(last.value, ast.Name) else None
        hyperparameters = {f.name for f in found}
        return CellTemplate(self.source, self.filename, code, annotations, counts,
                            scan.reported_keys, scan.calls_report, has_result,
                            bool(code.co_flags & CO_COROUTINE),
                            None if assigned in hyperparameters else assigned,
                            scan.reports_unpacked, scan.text_keys,
                            sorted(scan.peer_reports), sorted(scan.report_callbacks),
                            sorted(scan.peer_callbacks), functions,
                            own if functions else {},
                            None if shown in hyperparameters else shown, notes=notes,
                            unreached_reporters=unreached)

    def _reporting_functions(self, scan: _Scan, counts: dict[str, float]
                             ) -> list[ReportingFunction]:
        """The notebook functions the cell calls that report for it (``train(lr)`` where an
        earlier cell's ``train`` calls ``report(...)``): their keys join the cell's own, as if
        the cell called report() itself, and the numbers they take by default for what the
        call leaves out (``epochs=9``) join ``counts`` where the cell assigns no such name.
        Only with the kernel's namespace (not for the editor's diagnostics, which have
        none)."""
        if self.env is None:
            return []
        from ._functions import function_reports

        try:
            found = function_reports(scan.other_calls, scan.defined, self.env)
        except Exception:  # noqa: BLE001 - an odd object in the notebook: the cell's own reports
            return []
        if not found.functions:
            return []
        scan.calls_report = True
        scan.reported_keys += [k for k in found.reported_keys if k not in scan.reported_keys]
        scan.text_keys += [k for k in found.text_keys if k not in scan.text_keys]
        scan.reports_unpacked = scan.reports_unpacked or found.unpacked
        scan.report_callbacks += found.report_callbacks
        for name, value in found.counts.items():
            counts.setdefault(name, value)
        return found.functions

    def _tree(self) -> ast.Module | None:
        nul = self.text.find("\x00")
        if nul >= 0:
            self.fail(self.at_index("the cell contains a NUL character (\\x00), which Python "
                                    "source cannot contain: delete it", nul))
            return None
        try:
            self.text.encode()
        except UnicodeEncodeError as exc:
            char = self.text[exc.start]
            self.fail(self.at_index(f"the cell contains the lone surrogate character "
                                    f"U+{ord(char):04X}, which is not valid Unicode text: "
                                    f"delete it", exc.start))
            return None
        try:
            return ast.parse(self.text, self.filename)
        except SyntaxError as exc:
            self.fail(self._indented_magic(exc.lineno) or self.syntax_error(exc,
                                                                            byte_offsets=False))
        except (RecursionError, MemoryError):
            self.fail(self.too_deep(None))
        return None

    def _compile(self, tree: ast.Module, scan: _Scan) -> CodeType | None:
        try:
            return compile(tree, self.filename, "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            error = self.syntax_error(exc, byte_offsets=True)
            if not any((e.cell_lineno, e.cell_col) == (error.cell_lineno, error.cell_col)
                       for e in self.errors):  # an annotation's error said it there already
                self.fail(error)
        except (RecursionError, MemoryError):
            self.fail(self.too_deep(scan.deepest or tree.body[0], scan.depth))
        return None

    def _attach_conditions(self, tree: ast.Module, found: list[_Found]) -> None:
        """Each annotation's condition from the ``if``s around it (see ``_conditions.py``),
        set on its domain; a test that cannot be read is reported once."""
        conditions = CellConditions(self, tree, found)
        domains: dict[str, Domain] = {}
        reported: set[int] = set()
        for f in found:
            try:
                f.when = conditions.condition_of(f, domains)
            except HPOSyntaxError as exc:
                if id(exc) not in reported:
                    reported.add(id(exc))
                    self.fail(exc)
                continue
            if f.domain is not None:
                f.domain.when = f.when
                domains[f.name] = f.domain

    def _check_unknown_constructors(self, scan: _Scan) -> None:
        """Flag calls to undefined names that look like misspelt space constructors (none
        after a ``from m import *``, which may define any of them)."""
        if scan.star_import:
            return
        env = self.env if self.env is not None else CONSTRUCTORS
        for call in scan.other_calls:
            name = call.func.id  # type: ignore[attr-defined]
            if name in env or name in scan.defined or hasattr(builtins, name):
                continue
            if self.env is None and name.islower() and name in PEER_NAMES:
                continue  # the editor cannot see earlier cells, which may import choice
            hint = _suggest(name)
            if hint:
                self.fail(self.error(f"unknown search space {name}(...): use Real, Int, "
                                     f"Categorical or Bool{hint}", call))

    def _check_unnamed_reports(self, scan: _Scan) -> None:
        """Flag ``report(value)``: the cell's ``report`` (unless it defines its own) takes
        values by name only, so the trial would fail at its first report."""
        if "report" in scan.defined:
            return
        for call in scan.unnamed_reports:
            self.fail(self.error(unnamed_report_message(len(call.args)), call))

    def _check_duplicates(self, found: list[_Found]) -> None:
        seen: dict[str, _Found] = {}
        for f in found:
            first = seen.setdefault(f.name, f)
            if first is not f:
                self.fail(self.error(
                    f"hyperparameter {f.name!r} is defined twice, at cell lines "
                    f"{first.node.lineno} and {f.node.lineno}: rename one of them or give "
                    f"it name='...'", f.node))

    def _check_cell_names(self, variables: list[tuple[str, ast.AST]]) -> None:
        """A variable that holds a hyperparameter may not take a name that each trial defines
        (``report``, ...): the cell would lose it. (A keyword argument's name hides nothing.)"""
        for name, node in variables:
            if name in CELL_NAMES:
                self.fail(self.error(
                    f"a hyperparameter cannot be assigned to {name!r}: each trial defines "
                    f"{name!r} as {CELL_NAMES[name]}; call the variable something else, e.g. "
                    f"{name}_choice", node))

    def _diagnosed(self, f: _Found) -> DiagnosedAnnotation:
        try:
            domain = repr(f.domain) if f.domain is not None else None
        except Exception:  # noqa: BLE001 - e.g. a choice too long to print
            domain = None
        if domain is None:
            domain = f.text if f.text is not None else self._source_text(f.call)
        return DiagnosedAnnotation(f.name, domain, f.form, *self.span(f.call),
                                   evaluated=f.domain is not None,
                                   when=None if f.when is None else f.when.source())
