"""Parse a ``%%hpo`` cell into a :class:`CellTemplate`: its search space and compiled code.

Annotations are found with ``ast`` (and ``tokenize`` for ``# hpo:`` comments), evaluated once
to validate them before any trial starts, and replaced by lookups in the per-trial config so
the cell is compiled once and executed per trial.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import tokenize
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from .errors import HPOSyntaxError, SpaceError
from .space import Bool, Categorical, Domain, Int, Real, Space

__all__ = [
    "CONFIG_NAME",
    "CONSTRUCTORS",
    "RESULT_NAME",
    "Annotation",
    "CellTemplate",
    "parse_cell",
]

CONSTRUCTORS: dict[str, type[Domain]] = {
    "Real": Real, "Int": Int, "Categorical": Categorical, "Bool": Bool,
}
CONFIG_NAME = "__hpo_config__"
RESULT_NAME = "__hpo_result__"
_NESTED_MESSAGE = ("a search space cannot contain another one (conditional spaces are not "
                   "supported)")
MAX_T_NAME = "epochs"
_PEER_NAMES = {
    "Float": "Real", "Uniform": "Real", "LogUniform": "Real(..., log=True)",
    "Loguniform": "Real(..., log=True)", "Integer": "Int", "Randint": "Int",
    "Choice": "Categorical", "Choices": "Categorical", "Boolean": "Bool",
}


@dataclass
class Annotation:
    """One hyperparameter found in the cell."""

    name: str
    domain: Domain
    lineno: int
    col: int
    end_lineno: int
    end_col: int
    form: str  # "assignment", "keyword", "explicit" or "comment"
    default: Any = None
    has_default: bool = False


@dataclass
class CellTemplate:
    """A parsed cell: the space, where each hyperparameter came from, and the compiled code."""

    source: str
    filename: str
    code: CodeType
    annotations: list[Annotation]
    max_t: int | None = None
    reported_keys: list[str] = field(default_factory=list)
    calls_report: bool = False
    has_result_expr: bool = False

    @property
    def space(self) -> Space:
        return Space({a.name: a.domain for a in self.annotations})

    @property
    def defaults(self) -> dict[str, Any]:
        """The literal values of ``# hpo:`` comment annotations."""
        return {a.name: a.default for a in self.annotations if a.has_default}

    def render(self, config: dict[str, Any]) -> str:
        """The cell source with each annotation replaced by its value in ``config``.

        Comment annotations keep their comment and only change the literal, so rendering the
        defaults gives back the original cell.
        """
        lines = [line.encode() for line in self.source.splitlines(keepends=True)]
        edits = sorted(self.annotations, key=lambda a: (a.lineno, a.col), reverse=True)
        for a in edits:
            if a.name not in config:
                continue
            value = config[a.name]
            if a.has_default and type(value) is type(a.default) and value == a.default:
                continue  # keep the literal as written (``1e-3`` rather than ``0.001``)
            text = repr(value).encode()
            first, last = lines[a.lineno - 1], lines[a.end_lineno - 1]
            merged = first[: a.col] + text + last[a.end_col:]
            lines[a.lineno - 1: a.end_lineno] = [merged]
        return b"".join(lines).decode()


def _error(message: str, source: str, node: ast.AST | None) -> HPOSyntaxError:
    if node is None:
        return HPOSyntaxError(message, source)
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    end_col = getattr(node, "end_col_offset", None)
    if getattr(node, "end_lineno", lineno) != lineno:
        end_col = None
    line = source.splitlines()[lineno - 1] if lineno else ""
    col, end_col = _char_cols(line, col, end_col)
    return HPOSyntaxError(message, source, lineno, col, end_col)


def _char_cols(line: str, *byte_cols: int | None) -> tuple[int | None, ...]:
    """Convert ``ast``'s UTF-8 byte offsets into character columns for the caret."""
    raw = line.encode()
    return tuple(None if c is None else len(raw[:c].decode(errors="replace")) for c in byte_cols)


def _constructor_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in CONSTRUCTORS:
        return node.func.id
    return None


class _Finder(ast.NodeVisitor):
    """Collects constructor calls with their parents, defined names and ``report`` keys."""

    def __init__(self) -> None:
        self.calls: list[tuple[ast.Call, ast.AST | None]] = []
        self.defined: set[str] = set()
        self.reported_keys: list[str] = []
        self.calls_report = False
        self.other_calls: list[ast.Call] = []
        self._parents: list[ast.AST] = []

    def generic_visit(self, node: ast.AST) -> None:
        self._parents.append(node)
        super().generic_visit(node)
        self._parents.pop()

    def visit_Call(self, node: ast.Call) -> None:
        parent = self._parents[-1] if self._parents else None
        if _constructor_name(node):
            self.calls.append((node, parent))
        elif isinstance(node.func, ast.Name):
            self.other_calls.append(node)
            if node.func.id == "report":
                self.calls_report = True
                for kw in node.keywords:
                    if kw.arg and kw.arg not in self.reported_keys:
                        self.reported_keys.append(kw.arg)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.defined.add(node.id)

    def _define(self, node: ast.AST) -> None:
        self.defined.add(node.name)  # type: ignore[attr-defined]
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _define

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self.defined.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import


class _Replace(ast.NodeTransformer):
    """Swaps annotation nodes for ``__hpo_config__[name]`` lookups."""

    def __init__(self, replacements: dict[int, str]) -> None:
        self.replacements = replacements

    def visit(self, node: ast.AST) -> ast.AST:
        name = self.replacements.get(id(node))
        if name is None:
            return super().visit(node)
        lookup = ast.Subscript(value=ast.Name(id=CONFIG_NAME, ctx=ast.Load()),
                               slice=ast.Constant(value=name), ctx=ast.Load())
        return ast.copy_location(lookup, node)


def _comments(source: str) -> dict[int, tuple[str, int]]:
    """``{line: (expression text, column)}`` for every ``# hpo:`` comment."""
    found: dict[int, tuple[str, int]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        body = tok.string[1:].strip()
        if body.lower().startswith("hpo:"):
            expr = body[4:].strip()
            col = tok.start[1] + tok.string.index(expr) if expr else tok.start[1]
            found[tok.start[0]] = (expr, col)
    return found


def parse_cell(source: str, namespace: dict[str, Any] | None = None,
               filename: str = "<hpo-cell>") -> CellTemplate:
    """Parse and compile ``source``; raise :class:`HPOSyntaxError` pointing at the bad line.

    ``namespace`` (the user namespace) is where annotation arguments that are not literals,
    such as ``Int(16, MAX_UNITS)``, are looked up.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        raise HPOSyntaxError(f"invalid Python syntax: {exc.msg}", source, exc.lineno,
                             col) from None
    env = dict(namespace or {})
    env.update(CONSTRUCTORS)
    finder = _Finder()
    finder.visit(tree)
    annotations: list[Annotation] = []
    replacements: dict[int, str] = {}

    statements = [n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign))]
    for lineno, (expr, col) in sorted(_comments(source).items()):
        annotation, stmt = _comment_annotation(source, lineno, expr, col, statements, env)
        annotations.append(annotation)
        replacements[id(stmt.value)] = annotation.name

    nested = {id(arg) for call, _ in finder.calls
              for arg in ast.walk(call) if arg is not call}
    for call, _ in finder.calls:
        if id(call) in nested:
            raise _error(_NESTED_MESSAGE, source, call)
    for call, parent in finder.calls:
        name, form = _code_annotation_name(source, call, parent)
        domain = _evaluate(source, call, env, name)
        annotations.append(Annotation(name, domain, call.lineno, call.col_offset,
                                      call.end_lineno or call.lineno,
                                      call.end_col_offset or call.col_offset, form))
        replacements[id(call)] = name

    _check_unknown_constructors(source, finder, env)
    annotations.sort(key=lambda a: (a.lineno, a.col))
    _check_duplicates(source, annotations)

    max_t = _max_t(tree, replacements)
    has_result = bool(tree.body) and isinstance(tree.body[-1], ast.Expr) \
        and not _is_report_call(tree.body[-1].value)
    tree = _Replace(replacements).visit(tree)
    if has_result:
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name(id=RESULT_NAME, ctx=ast.Store())], value=last.value),
            last)
    ast.fix_missing_locations(tree)
    code = compile(tree, filename, "exec")
    return CellTemplate(source, filename, code, annotations, max_t, finder.reported_keys,
                        finder.calls_report, has_result)


def _is_report_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "report"


def _explicit_name(source: str, call: ast.Call) -> str | None:
    for kw in call.keywords:
        if kw.arg == "name":
            if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                raise _error("name= must be a string literal, e.g. name='lr'", source, kw.value)
            if not kw.value.value.isidentifier():
                raise _error(f"name={kw.value.value!r} is not a valid Python identifier",
                             source, kw.value)
            return kw.value.value
    return None


def _code_annotation_name(source: str, call: ast.Call, parent: ast.AST | None) -> tuple[str, str]:
    explicit = _explicit_name(source, call)
    if explicit:
        return explicit, "explicit"
    if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is call:
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            return targets[0].id, "assignment"
    if isinstance(parent, ast.keyword) and parent.arg:
        return parent.arg, "keyword"
    ctor = _constructor_name(call)
    raise _error(f"cannot tell which hyperparameter this {ctor}(...) is: assign it to one "
                 f"variable (x = {ctor}(...)), pass it as a keyword argument (f(x={ctor}(...))) "
                 f"or give it a name ({ctor}(..., name='x'))", source, call)


def _evaluate(source: str, call: ast.Call, env: dict[str, Any], name: str) -> Domain:
    """Build the domain by evaluating the constructor call; errors point at the call."""
    ctor = _constructor_name(call) or "the annotation"
    expr = ast.Expression(body=call)
    try:
        domain = eval(compile(expr, "<hpo-annotation>", "eval"), env)
    except SpaceError as exc:
        raise _error(f"bad annotation for {name!r}: {exc}", source, call) from None
    except TypeError as exc:
        raise _error(f"bad annotation for {name!r}: {ctor}() {_strip_qualname(exc)}",
                     source, call) from None
    except NameError as exc:
        raise _error(f"bad annotation for {name!r}: {exc}; define it in an earlier cell",
                     source, call) from None
    except Exception as exc:  # noqa: BLE001 - any failure of user code in the arguments
        raise _error(f"bad annotation for {name!r}: {type(exc).__name__}: {exc}",
                     source, call) from None
    domain.name = name
    return domain


def _strip_qualname(exc: TypeError) -> str:
    text = str(exc)
    return text.split("() ", 1)[1] if "() " in text else text


def _comment_annotation(source: str, lineno: int, expr: str, col: int,
                        statements: list[ast.AST], env: dict[str, Any]) -> tuple[Annotation, Any]:
    line = source.splitlines()[lineno - 1]
    if not expr:
        raise HPOSyntaxError("'# hpo:' must be followed by a space, e.g. "
                             "'# hpo: Real(1e-4, 1e-1, log=True)'", source, lineno, col)
    try:
        call = ast.parse(expr, mode="eval").body
    except SyntaxError as exc:
        raise HPOSyntaxError(f"invalid '# hpo:' annotation: {exc.msg}", source, lineno,
                             col + max(0, (exc.offset or 1) - 1)) from None
    ast.increment_lineno(call, lineno - 1)
    for node in ast.walk(call):
        if hasattr(node, "col_offset"):
            node.col_offset += len(line[:col].encode())
            node.end_col_offset = (node.end_col_offset or 0) + len(line[:col].encode())
    ctor = call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else None
    if ctor not in CONSTRUCTORS:
        hint = _suggest(ctor) if ctor else ""
        raise _error(f"unknown search space {expr!r} in '# hpo:' comment: use Real, Int, "
                     f"Categorical or Bool{hint}", source, call)
    inner = next((n for n in ast.walk(call) if n is not call and _constructor_name(n)), None)
    if inner is not None:
        raise _error(_NESTED_MESSAGE, source, inner)
    candidates = [s for s in statements
                  if s.lineno <= lineno <= (s.end_lineno or s.lineno) and s.value is not None]
    stmt = max(candidates, key=lambda s: (s.lineno, s.col_offset), default=None)
    targets = [] if stmt is None else (stmt.targets if isinstance(stmt, ast.Assign)
                                       else [stmt.target])
    if stmt is None or len(targets) != 1 or not isinstance(targets[0], ast.Name):
        raise _error("a '# hpo:' comment must end an assignment to one variable, e.g. "
                     "'lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)'", source, call)
    if _constructor_name(stmt.value):
        raise _error("this line already has a search space: drop either the '# hpo:' comment "
                     "or the constructor", source, call)
    name = _explicit_name(source, call) or targets[0].id
    domain = _evaluate(source, call, env, name)
    value_node = stmt.value
    try:
        default, has_default = ast.literal_eval(value_node), True
    except ValueError:
        default, has_default = None, False
    if has_default and not domain.contains(default):
        raise _error(f"the default {default!r} of {name!r} is outside {domain!r}", source,
                     value_node)
    annotation = Annotation(name, domain, value_node.lineno, value_node.col_offset,
                            value_node.end_lineno or value_node.lineno,
                            value_node.end_col_offset or value_node.col_offset, "comment",
                            default, has_default)
    return annotation, stmt


def _suggest(name: str) -> str:
    if name in _PEER_NAMES:
        return f" (did you mean {_PEER_NAMES[name]}?)"
    close = difflib.get_close_matches(name, list(CONSTRUCTORS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_unknown_constructors(source: str, finder: _Finder, env: dict[str, Any]) -> None:
    """Flag calls to undefined names that look like misspelt space constructors."""
    for call in finder.other_calls:
        name = call.func.id  # type: ignore[attr-defined]
        if name in env or name in finder.defined or hasattr(builtins, name):
            continue
        hint = _suggest(name)
        if hint:
            raise _error(f"unknown search space {name}(...): use Real, Int, Categorical or "
                         f"Bool{hint}", source, call)


def _check_duplicates(source: str, annotations: list[Annotation]) -> None:
    seen: dict[str, Annotation] = {}
    for a in annotations:
        first = seen.setdefault(a.name, a)
        if first is not a:
            line = source.splitlines()[a.lineno - 1]
            col, end = _char_cols(line, a.col, a.end_col if a.end_lineno == a.lineno else None)
            raise HPOSyntaxError(
                f"hyperparameter {a.name!r} is defined twice, at cell lines {first.lineno} and "
                f"{a.lineno}: rename one of them or give it name='...'", source, a.lineno,
                col, end)


def _max_t(tree: ast.Module, replacements: dict[int, str]) -> int | None:
    """``epochs = N`` at the top level of the cell gives Hyperband's maximum resource."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == MAX_T_NAME \
                and id(stmt.value) not in replacements \
                and isinstance(stmt.value, ast.Constant) and type(stmt.value.value) is int:
            return stmt.value.value
    return None
