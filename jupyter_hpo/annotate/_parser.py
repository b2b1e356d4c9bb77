"""The parser: one pass over a cell that finds, names, evaluates and checks its annotations
and compiles the cell with each annotation replaced by a lookup in the trial's config."""

from __future__ import annotations

import ast
import builtins
import sys
from inspect import CO_COROUTINE
from types import CodeType
from typing import Any

from ..errors import HPOSyntaxError, SpaceError, python_lines
from ..space import Domain, refuse_unsearchable
from ..trial import unnamed_report_message
from ._aliases import plain_constructor_calls
from ._characters import character_hint
from ._comments import _HPO_COMMENT, CommentAnnotations
from ._conditions import CellConditions
from ._max_t import infer_counts
from ._notes import overwritten_notes
from ._reach import unreached_reporters
from ._template import (
    _NESTED_MESSAGE,
    _TOO_DEEP,
    CELL_NAMES,
    CONSTRUCTORS,
    RESULT_NAME,
    CellDiagnostics,
    CellTemplate,
    DiagnosedAnnotation,
    ReportingFunction,
    _Found,
)
from ._tree import (
    PEER_NAMES,
    _constructor_name,
    _is_report_call,
    _literal_arguments,
    _lookup,
    _NotLiteral,
    _Scan,
    _scan,
    _short_repr,
    _strip_qualname,
    _suggest,
)
from ._tune_calls import TUNE_IN_CELL, tune_calls
from ._unnamed import unnamed_message


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


class _CellParser(CommentAnnotations):
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

    # -- errors and positions

    def fail(self, error: HPOSyntaxError) -> None:
        if not self.collect:
            raise error
        self.errors.append(error)

    def char_col(self, lineno: int, byte_col: int) -> int:
        """``ast``'s UTF-8 byte offset on ``lineno`` as a character column."""
        if lineno not in self._raw:
            line = self.lines[lineno - 1] if 1 <= lineno <= len(self.lines) else ""
            self._raw[lineno] = None if line.isascii() else line.encode()
        raw = self._raw[lineno]
        return byte_col if raw is None else len(raw[:byte_col].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int, int, int]:
        """``node``'s range: 1-based lines, 0-based character columns."""
        lineno, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        end_lineno = getattr(node, "end_lineno", None) or lineno
        end_col = getattr(node, "end_col_offset", None)
        return (lineno, self.char_col(lineno, col), end_lineno,
                self.char_col(end_lineno, col if end_col is None else end_col))

    def at(self, message: str, lineno: int, col: int, end_lineno: int | None = None,
           end_col: int | None = None) -> HPOSyntaxError:
        return HPOSyntaxError(message, self.text, lineno, col, end_col, end_lineno=end_lineno)

    def error(self, message: str, node: ast.AST) -> HPOSyntaxError:
        lineno, col, end_lineno, end_col = self.span(node)
        return self.at(message, lineno, col, end_lineno, end_col)

    def at_index(self, message: str, index: int) -> HPOSyntaxError:
        lineno = self.text.count("\n", 0, index) + 1
        col = index - (self.text.rfind("\n", 0, index) + 1)
        return self.at(message, lineno, col, lineno, col + 1)

    def syntax_error(self, exc: SyntaxError, byte_offsets: bool,
                     prefix: str = "invalid Python syntax", line_shift: int = 0,
                     col_shift: int = 0) -> HPOSyntaxError:
        """``exc`` located in the cell (an error at the end of input is put at the end of the
        last line). ``ast.parse`` gives character offsets, ``compile`` of a tree bytes."""
        count = max(1, len(self.lines))
        lineno = min(max(1, (exc.lineno or 1) + line_shift), count)
        line = self.lines[lineno - 1] if self.lines else ""
        past_end = (exc.lineno or 1) + line_shift > count

        def column(n: int, offset: int | None) -> int:
            if offset is None or offset < 1:
                return col_shift if n == lineno else 0
            col = self.char_col(n, offset - 1) if byte_offsets else offset - 1
            return min(col + (col_shift if n == lineno else 0), len(self.lines[n - 1]))

        col = len(line) if past_end else column(lineno, exc.offset)
        end_lineno, end_col = lineno, col + 1
        exc_end = (exc.end_lineno or 0) + line_shift
        if not past_end and exc.end_offset and exc_end >= lineno and exc_end <= count:
            end = column(exc_end, exc.end_offset)
            if exc_end > lineno or end > col:
                end_lineno, end_col = exc_end, end
        message = f"{prefix}: {exc.msg}{character_hint(exc.msg, self.text)}"
        if exc.msg in ("'return' outside function", "'yield' outside function"):
            message += (" (a %%hpo cell runs at the top level: report results with "
                        "report(...) or end the cell with an expression)")
        return self.at(message, lineno, col, end_lineno, end_col)

    def too_deep(self, node: ast.AST | None, depth: int = 0) -> HPOSyntaxError:
        if node is None:  # Python could not even build the tree: blame the longest line
            lineno = max(range(1, len(self.lines) + 1), key=lambda n: len(self.lines[n - 1]),
                         default=1)
            line = self.lines[lineno - 1] if self.lines else ""
            col = len(line) - len(line.lstrip())
            return self.at(f"{_TOO_DEEP}: Python ran out of stack building its syntax tree. "
                           f"Split long chains of operators, attributes, calls or brackets "
                           f"into several statements", lineno, col)
        what = f"nested {depth} levels deep" if depth else "nested too deeply"
        return self.error(f"{_TOO_DEEP}: the expression here is {what}, and Python gives up "
                          f"at about {sys.getrecursionlimit()} levels. Split it into several "
                          f"statements", node)

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

    def _evaluate(self, call: ast.Call, name: str) -> Domain | None:
        """Build the domain by evaluating the constructor call; errors point at the call.
        Without a kernel (``env`` None) only literal arguments are evaluated: None otherwise."""
        ctor = _constructor_name(call) or "the annotation"
        bad = f"bad annotation for {name!r}"
        repeated = _repeated_keyword(call)
        if repeated is not None:  # Python refuses it, but the call is never compiled
            first, second = repeated
            raise self.error(f"{bad}: {ctor}() got {second.arg}= twice ({first.arg}="
                             f"{self._source_text(first.value)}, then {second.arg}="
                             f"{self._source_text(second.value)}): give it once", second)
        try:
            try:  # literal arguments (the usual case) need neither compile nor a namespace
                args, kwargs = _literal_arguments(call)
            except _NotLiteral:
                if self.env is None:
                    return None
                code = compile(ast.Expression(body=call), "<hpo-annotation>", "eval")
                domain = eval(code, self.env)
            else:
                domain = CONSTRUCTORS[ctor](*args, **kwargs)
            refuse_unsearchable([domain])  # a new study's: a stored space may hold one
        except SpaceError as exc:
            raise self.error(f"{bad}: {exc}", call) from None
        except (RecursionError, MemoryError):
            raise self.too_deep(call) from None
        except SyntaxError as exc:  # e.g. await or yield in an argument
            raise self.error(f"{bad}: {exc.msg}", call) from None
        except TypeError as exc:
            raise self.error(f"{bad}: {ctor}() {_strip_qualname(exc)}", call) from None
        except NameError as exc:
            line = _assigned_line(self.text, getattr(exc, "name", None))
            where = "" if line is None else (
                f": the cell sets it (cell line {line}), but the search space is read before "
                f"the cell runs")
            raise self.error(f"{bad}: {exc}{where}; define it in an earlier cell",
                             call) from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code in the arguments
            raise self.error(f"{bad}: {type(exc).__name__}: {exc}", call) from None
        domain.name = name
        return domain

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

    def _source_text(self, node: ast.AST) -> str:
        lineno, col, end_lineno, end_col = self.span(node)
        if lineno == end_lineno:
            return self.lines[lineno - 1][col:end_col]
        return "\n".join([self.lines[lineno - 1][col:], *self.lines[lineno:end_lineno - 1],
                          self.lines[end_lineno - 1][:end_col]])

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


def _second_magic_message(options: str, why: str) -> str:
    """The error for a second ``%%hpo`` (with ``options``) inside a ``%%hpo`` cell, where
    ``why`` says what IPython would do with it there."""
    options = f" {options.strip()}" if options.strip() else ""
    return (f"a second %%hpo{options}: the cell already runs as a study from its first line, "
            f"and {why}; remove it and put its options on the first line")


def _repeated_keyword(call: ast.Call) -> tuple[ast.keyword, ast.keyword] | None:
    """The first keyword argument given twice in ``call`` and its earlier one, or None:
    ``Real(0.1, 1, log=True, log=False)`` took the last value without a word, since the
    annotation is evaluated as a dict of keywords instead of being compiled."""
    seen: dict[str, ast.keyword] = {}
    for kw in call.keywords:
        if kw.arg is None:
            continue
        if kw.arg in seen:
            return seen[kw.arg], kw
        seen[kw.arg] = kw
    return None


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


def _assigned_line(text: str, name: str | None) -> int | None:
    """The first cell line that binds ``name`` (an assignment, a loop, an import, a def),
    or None."""
    if not name:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    lines = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id == name
             and isinstance(node.ctx, ast.Store)
             or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
             and node.name == name
             or isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name]
    return min(lines, default=None)
