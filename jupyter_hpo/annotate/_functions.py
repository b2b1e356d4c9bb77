"""Notebook functions that report for a cell: a ``%%hpo`` cell that calls ``train(lr)``, where
``train`` (defined in an earlier cell, or in the user's own module) calls ``report(...)``,
reports through it.

Only the kernel's parse (``parse_cell`` with the user namespace) looks: the editor's
diagnostics have no namespace. Nothing is executed: which functions call ``report`` is read
from their code objects (the global names their bytecode loads, nested code included), what
they report from their source (``inspect.getsource``, which finds a notebook cell's source in
``linecache``) parsed with ``ast``, as the cell's own ``report(...)`` calls are read. Functions
they call in turn are followed a few levels, each once.
"""

from __future__ import annotations

import ast
import dis
import functools
import inspect
import os
import sysconfig
import textwrap
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import Any

from ..integrations import CALLBACKS
from ._template import CELL_NAMES, CONSTRUCTORS, ReportingFunction

#: how many calls deep from the cell functions are followed, and how many are read at most
MAX_DEPTH = 4
MAX_FUNCTIONS = 100
_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_MISSING = object()


@dataclass
class FunctionReports:
    """What the notebook functions a cell calls report, merged: as the cell's own scan."""

    functions: list[ReportingFunction] = field(default_factory=list)
    reported_keys: list[str] = field(default_factory=list)
    text_keys: list[str] = field(default_factory=list)
    unpacked: bool = False  # keys known only at run time (**values, or no source)
    report_callbacks: list[tuple[int, str]] = field(default_factory=list)
    #: the numbers that the functions the cell calls take by default for parameters the
    #: cell's call leaves out (``train(lr)`` of ``def train(lr, epochs=9)``: ``epochs`` 9),
    #: candidates for Hyperband's maximum resource as the cell's own ``epochs = 9`` is
    counts: dict[str, float] = field(default_factory=dict)


def function_reports(calls: list[ast.Call], defined: set[str],
                     namespace: dict[str, Any]) -> FunctionReports:
    """The reports of the notebook functions that ``calls`` (the cell's calls of a name, in
    tree order) call, looked up in ``namespace``; names the cell binds itself (``defined``)
    are the cell's, not the notebook's."""
    found = FunctionReports()
    seen_names: set[str] = set()
    disagree: set[str] = set()
    read: dict[CodeType, _Read | None] = {}
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        assert isinstance(call.func, ast.Name)
        name = call.func.id
        if name in seen_names or name in defined or name in CELL_NAMES or name in CONSTRUCTORS:
            continue
        seen_names.add(name)
        value = namespace.get(name)
        function = _function_of(value)
        if function is None:
            continue
        reached = _reporting(function, name, read)
        if reached:
            for key, default in _defaults_left_out(value, call).items():
                if found.counts.setdefault(key, default) != default:
                    disagree.add(key)  # two functions' defaults: neither is the cell's
        for reporting, path in reached:
            found.functions.append(ReportingFunction(call.lineno, name, " -> ".join(path),
                                                     reporting.readable, reporting.unpacked))
            found.unpacked = found.unpacked or reporting.unpacked or not reporting.readable
            for key in reporting.keys:
                if key not in found.reported_keys:
                    found.reported_keys.append(key)
            found.text_keys += [k for k in reporting.text_keys if k not in found.text_keys]
            found.report_callbacks += [(call.lineno, c) for c in reporting.callbacks]
    found.counts = {k: v for k, v in found.counts.items() if k not in disagree}
    return found


def _defaults_left_out(value: Any, call: ast.Call) -> dict[str, float]:
    """The positive numbers that ``value`` (a function or a ``functools.partial``, whose
    signature has the values it binds) takes by default for the parameters ``call`` does not
    pass; nothing where a ``*args`` or ``**kwargs`` of the call may pass any."""
    from ._max_t import _resource

    if any(isinstance(a, ast.Starred) for a in call.args) \
            or any(k.arg is None for k in call.keywords):
        return {}
    try:
        parameters = list(inspect.signature(value).parameters.values())
    except (TypeError, ValueError):
        return {}
    passed = {k.arg for k in call.keywords}
    defaults: dict[str, float] = {}
    for index, parameter in enumerate(parameters):
        if parameter.default is inspect.Parameter.empty or parameter.name in passed \
                or parameter.kind in (inspect.Parameter.VAR_POSITIONAL,
                                      inspect.Parameter.VAR_KEYWORD):
            continue
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY and index < len(call.args):
            continue
        resource = _resource(parameter.default)
        if resource is not None:
            defaults[parameter.name] = resource
    return defaults


@dataclass
class _Read:
    """One function read: whether it reports, and what."""

    reports: bool
    readable: bool = True
    unpacked: bool = False
    keys: list[str] = field(default_factory=list)
    text_keys: list[str] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    callees: list[FunctionType] = field(default_factory=list)


def _reporting(start: FunctionType, called: str, read: dict[CodeType, _Read | None]
               ) -> list[tuple[_Read, list[str]]]:
    """Each function reached from ``start`` (itself included, breadth first, each once) that
    reports, with the chain of names that reaches it (from ``called``, the cell's name for
    ``start``)."""
    out: list[tuple[_Read, list[str]]] = []
    queue: list[tuple[FunctionType, list[str]]] = [(start, [called])]
    visited: set[CodeType] = set()
    while queue and len(visited) < MAX_FUNCTIONS:
        function, path = queue.pop(0)
        code = function.__code__
        if code in visited:  # recursion, or two ways to one helper
            continue
        visited.add(code)
        if code not in read:
            read[code] = _read(function)
        info = read[code]
        if info is None:
            continue
        if info.reports:
            out.append((info, path))
        if len(path) < MAX_DEPTH:
            queue.extend((callee, path if _name(callee) == path[-1]  # a decorated one
                          else [*path, _name(callee)]) for callee in info.callees)
    return out


def _read(function: FunctionType) -> _Read | None:
    """What ``function`` reports and the user's functions it calls, or None for a function of
    an installed package (or of jupyter_hpo), which is not the notebook's."""
    if not _users(function):
        return None
    loads = _global_loads(function.__code__)
    scope = function.__globals__
    reports = "report" in loads and _ours(scope.get("report", _MISSING), "report")
    callbacks = [n for n in CALLBACKS if n in loads and _ours(scope.get(n, _MISSING), n)]
    callees: list[FunctionType] = []
    for name in loads:
        callee = _function_of(scope.get(name, _MISSING))
        if callee is not None and callee is not function:
            callees.append(callee)
    wrapped = _function_of(getattr(function, "__wrapped__", None))
    if wrapped is not None:
        callees.append(wrapped)
    info = _Read(reports or bool(callbacks), callees=callees)
    if not info.reports:
        return info
    tree = _source_tree(function)
    if tree is None:
        info.readable = False
        return info
    from ._tree import _scan  # the cell's own reading of report() calls

    scan = _scan(tree)
    info.keys, info.text_keys = scan.reported_keys, scan.text_keys
    info.callbacks = [name for _, name in scan.report_callbacks]
    # report passed on, not called by name (callback=report): which keys is not known
    info.unpacked = scan.reports_unpacked or not scan.calls_report
    return info


def _function_of(value: Any) -> FunctionType | None:
    """The plain Python function a name holds (through ``functools.partial``), or None
    (classes, methods, builtins, anything else)."""
    for _ in range(8):
        if isinstance(value, functools.partial):
            value = value.func
        else:
            break
    return value if isinstance(value, FunctionType) else None


def _global_loads(code: CodeType) -> list[str]:
    """The global names ``code`` (and the code nested in it: functions, lambdas,
    comprehensions) loads, in order of first load."""
    names: dict[str, None] = {}
    stack = [code]
    seen: set[CodeType] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for instruction in dis.get_instructions(current):
            if instruction.opname in _LOADS and isinstance(instruction.argval, str):
                names.setdefault(instruction.argval)
        stack.extend(c for c in reversed(current.co_consts) if isinstance(c, CodeType))
    return list(names)


def _ours(value: Any, name: str) -> bool:
    """Whether a function's global ``name`` is jupyter_hpo's (or not defined where the function
    looks it up: a trial's report reaches it only if the notebook defines it, see
    ``load_ipython_extension``; the trial then says so)."""
    if value is _MISSING:
        return True
    return (getattr(value, "__module__", "") or "").split(".")[0] == "jupyter_hpo"


def _users(function: FunctionType) -> bool:
    """Whether ``function`` is the user's: defined in the notebook (or by exec), or in a file
    that is neither the standard library nor an installed package (nor jupyter_hpo)."""
    filename = function.__code__.co_filename
    if not filename or filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    return not path.startswith((_PACKAGE, *_installed()))


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(os.path.abspath(paths[key]) + os.sep
                 for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths)


def _source_tree(function: FunctionType) -> ast.AST | None:
    """The syntax tree of ``function``'s own source, or None when it cannot be read (defined
    by exec, its file gone) or parsed (a lambda in the middle of a line)."""
    try:
        source = inspect.getsource(function)
    except Exception:  # noqa: BLE001 - OSError, TypeError; IndexError for a changed file
        return None
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    first = tree.body[0] if len(tree.body) == 1 else None
    if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) \
            and first.name == function.__code__.co_name:
        return first
    if function.__code__.co_name == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        return lambdas[0] if len(lambdas) == 1 else None
    return None


def _name(function: FunctionType) -> str:
    return getattr(function, "__qualname__", None) or function.__code__.co_name
