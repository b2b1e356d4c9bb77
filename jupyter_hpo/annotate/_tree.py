"""The cell's syntax tree, walked without recursion, and what can be read off it without a
kernel: constructor calls, defined names, ``report`` calls, literal annotation arguments."""

from __future__ import annotations

import ast
import difflib
import operator
from dataclasses import dataclass, field
from typing import Any

from ..integrations import CALLBACKS
from ._template import CONFIG_NAME, CONSTRUCTORS

PEER_NAMES = {
    "Float": "Real", "Uniform": "Real", "LogUniform": "Real(..., log=True)",
    "Loguniform": "Real(..., log=True)", "Integer": "Int", "Randint": "Int",
    "Choice": "Categorical", "Choices": "Categorical", "Boolean": "Bool",
    # Ray Tune's and Hyperopt's functions, called without their module
    "uniform": "Real", "quniform": "Real(..., step=...)", "loguniform": "Real(..., log=True)",
    "qloguniform": "Real(..., log=True)", "randint": "Int", "qrandint": "Int(..., step=...)",
    "lograndint": "Int(..., log=True)", "qlograndint": "Int(..., log=True)",
    "choice": "Categorical", "grid_search": "Categorical (and --searcher grid)",
}


@dataclass
class _Site:
    """A constructor call, where it sits in the tree and the constructor call around it."""

    call: ast.Call
    parent: ast.AST
    field: str
    index: int | None
    enclosing: ast.Call | None


@dataclass
class _Scan:
    sites: list[_Site] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)
    reported_keys: list[str] = field(default_factory=list)
    calls_report: bool = False
    reports_unpacked: bool = False  # a report(**values): its keys are known only at run time
    #: reported keys given a literal that is not a number somewhere (report(phase='train'))
    text_keys: list[str] = field(default_factory=list)
    #: (line, receiver) of calls such as trial.report(...) (Optuna's), tune.report(...) (Ray's)
    peer_reports: list[tuple[int, str]] = field(default_factory=list)
    #: (line, name) of framework callbacks made in the cell (KerasReportCallback(...)), which
    #: call report() with the study's resource and the framework's metrics
    report_callbacks: list[tuple[int, str]] = field(default_factory=list)
    #: (line, name) of other libraries' training callbacks (Optuna's KerasPruningCallback)
    peer_callbacks: list[tuple[int, str]] = field(default_factory=list)
    unnamed_reports: list[ast.Call] = field(default_factory=list)  # report(value)
    other_calls: list[ast.Call] = field(default_factory=list)
    star_import: bool = False  # from m import *: which names the cell defines is not known
    assignments: list[ast.Assign | ast.AnnAssign] = field(default_factory=list)
    depth: int = 0
    deepest: ast.AST | None = None


#: other libraries' training callbacks -> (whose they are, the one of
#: ``jupyter_hpo.integrations`` to use instead, or None for one per framework)
PEER_CALLBACKS = {
    "KerasPruningCallback": ("Optuna's", "KerasReportCallback"),
    "TFKerasPruningCallback": ("Optuna's", "KerasReportCallback"),
    "PyTorchLightningPruningCallback": ("Optuna's", "LightningReportCallback"),
    "LightGBMPruningCallback": ("Optuna's", "LightGBMReportCallback"),
    "XGBoostPruningCallback": ("Optuna's", "XGBoostReportCallback"),
    "TuneReportCallback": ("Ray Tune's", None),
    "TuneReportCheckpointCallback": ("Ray Tune's", None),
    "RayTrainReportCallback": ("Ray Train's", None),
}

#: objects whose ``.report(...)`` other libraries' training code calls -> whose way it is
PEER_REPORTS = {"trial": "Optuna's", "tune": "Ray Tune's", "session": "Ray Tune's",
                "train": "Ray Train's"}


def _not_a_number(value: ast.expr) -> bool:
    """Whether ``value`` is written as something no metric can be: text, None, a bool, a
    container or a function."""
    if isinstance(value, ast.Constant):
        return value.value is None or isinstance(value.value, (str, bytes, bool))
    return isinstance(value, (ast.JoinedStr, ast.Dict, ast.List, ast.Set, ast.Tuple,
                              ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp,
                              ast.Lambda))


def _constructor_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in CONSTRUCTORS:
        return node.func.id
    return None


def _called_name(func: ast.expr) -> str | None:
    """The last name of what a call calls: ``f`` for ``f(...)`` and ``module.f(...)``."""
    return func.id if isinstance(func, ast.Name) else func.attr \
        if isinstance(func, ast.Attribute) else None


def _callback_name(func: ast.expr) -> str | None:
    """The name of the framework callback that ``func`` names (``KerasReportCallback``,
    ``integrations.KerasReportCallback``), or None."""
    name = _called_name(func)
    return name if name in CALLBACKS else None


def _scan_callback(call: ast.Call, scan: _Scan, keys: set[str]) -> None:
    """A framework callback reports for the cell: the names its ``metrics=`` literal gives
    are reported keys; without one, which keys it reports is known only at run time."""
    scan.calls_report = True
    scan.report_callbacks.append((call.lineno, _callback_name(call.func) or ""))
    given = next((kw.value for kw in call.keywords if kw.arg == "metrics"),
                 call.args[0] if call.args else None)
    names: list[Any] | None = None
    if isinstance(given, ast.Constant) and isinstance(given.value, str):
        names = [given]
    elif isinstance(given, (ast.List, ast.Tuple, ast.Set)):
        names = list(given.elts)
    elif isinstance(given, ast.Dict):
        names = list(given.keys)
    if names is None or not all(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                for n in names):
        scan.reports_unpacked = True
        return
    for name in names:
        if name.value not in keys:
            keys.add(name.value)
            scan.reported_keys.append(name.value)


def _scan(tree: ast.AST) -> _Scan:
    """One pre-order pass over ``tree`` with an explicit stack: constructor calls, defined
    names, ``report`` calls, assignments and the deepest node."""
    scan = _Scan()
    keys: set[str] = set()
    stack: list[tuple[ast.AST, Any, str, int | None, int, ast.Call | None]] = \
        [(tree, None, "", None, 0, None)]
    while stack:
        node, parent, name, index, depth, enclosing = stack.pop()
        if depth > scan.depth and hasattr(node, "lineno"):
            scan.depth, scan.deepest = depth, node
        inside = enclosing
        if isinstance(node, ast.Call):
            if _constructor_name(node):
                scan.sites.append(_Site(node, parent, name, index, enclosing))
                inside = node
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "report" \
                    and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id in PEER_REPORTS:
                scan.peer_reports.append((node.lineno, node.func.value.id))
            elif _callback_name(node.func) is not None:
                _scan_callback(node, scan, keys)
            elif _called_name(node.func) in PEER_CALLBACKS:
                scan.peer_callbacks.append((node.lineno, _called_name(node.func) or ""))
            elif isinstance(node.func, ast.Name):
                scan.other_calls.append(node)
                if node.func.id == "report":
                    scan.calls_report = True
                    if node.args:
                        scan.unnamed_reports.append(node)
                    for kw in node.keywords:
                        if kw.arg is None:
                            scan.reports_unpacked = True
                        else:
                            if kw.arg not in keys:
                                keys.add(kw.arg)
                                scan.reported_keys.append(kw.arg)
                            if _not_a_number(kw.value) and kw.arg not in scan.text_keys:
                                scan.text_keys.append(kw.arg)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                scan.defined.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scan.defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scan.defined.add((alias.asname or alias.name).split(".")[0])
                scan.star_import = scan.star_import or alias.name == "*"
        elif isinstance(node, ast.arg):
            scan.defined.add(node.arg)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            if node.name:
                scan.defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            scan.assignments.append(node)
        children = []
        for child_field in node._fields:
            value = getattr(node, child_field, None)
            if isinstance(value, ast.AST):
                children.append((value, node, child_field, None, depth + 1, inside))
            elif isinstance(value, list):
                children.extend((item, node, child_field, i, depth + 1, inside)
                                for i, item in enumerate(value)
                                if isinstance(item, ast.AST) and type(item) is not ast.Constant)
        stack.extend(reversed(children))  # constants in lists (long literals) are leaves
    return scan


def _lookup(name: str, node: ast.AST) -> ast.Subscript:
    """``__hpo_config__[name]`` at ``node``'s position."""
    loc = {key: getattr(node, key) for key in ("lineno", "col_offset", "end_lineno",
                                               "end_col_offset")}
    return ast.Subscript(value=ast.Name(id=CONFIG_NAME, ctx=ast.Load(), **loc),
                         slice=ast.Constant(value=name, **loc), ctx=ast.Load(), **loc)


def _is_report_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "report"


# --- evaluating annotation arguments without a kernel ------------------------------------

class _NotLiteral(Exception):
    """An argument that only the kernel can evaluate (a variable, a call, ...)."""


_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_ITERABLE = (tuple, list, set, frozenset, dict, str, bytes)


def _literal(node: ast.AST, depth: int = 0) -> Any:
    """The value of a literal expression: constants, containers and arithmetic on numbers
    (small enough to compute at once); anything else raises :class:`_NotLiteral`."""
    if depth > 50:
        raise _NotLiteral
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items: list[Any] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                value = _literal(elt.value, depth + 1)
                if not isinstance(value, _ITERABLE):
                    raise _NotLiteral
                items.extend(value)
            else:
                items.append(_literal(elt, depth + 1))
        kind = {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)]
        return kind(items)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _NotLiteral
        return {_literal(k, depth + 1): _literal(v, depth + 1)
                for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _literal(node.operand, depth + 1)
        if not isinstance(operand, (int, float, complex)):
            raise _NotLiteral
        return _UNARY[type(node.op)](operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _literal(node.left, depth + 1), _literal(node.right, depth + 1)
        if not (isinstance(left, (int, float, complex))
                and isinstance(right, (int, float, complex))):
            raise _NotLiteral
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) \
                and abs(left) > 1 and abs(left).bit_length() * abs(right) > 10_000:
            raise _NotLiteral  # a huge number: leave it to the kernel
        return _BINARY[type(node.op)](left, right)
    raise _NotLiteral


def _literal_arguments(call: ast.Call) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            value = _literal(arg.value)
            if not isinstance(value, _ITERABLE):
                raise _NotLiteral
            args.extend(value)
        else:
            args.append(_literal(arg))
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise _NotLiteral
        kwargs[kw.arg] = _literal(kw.value)
    return args, kwargs


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - e.g. an int too long to print
        if isinstance(value, int):
            return f"<an int of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_OPTUNA_SUGGESTS = {
    "suggest_float": "Real (log=True for a log scale)", "suggest_uniform": "Real",
    "suggest_loguniform": "Real(..., log=True)", "suggest_discrete_uniform": "Real(..., step=...)",
    "suggest_int": "Int", "suggest_categorical": "Categorical",
}


def peer_space_call(source: str) -> str:
    """Where a cell writes its search space as another library does (``tune.loguniform(...)``
    of Ray Tune, ``hp.choice(...)`` of Hyperopt, ``trial.suggest_float(...)`` of Optuna), as
    the end of the message for a cell without hyperparameters; ``""`` if it does not."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        advice = peer_call_advice(node)
        if advice is not None:
            return f"; cell line {node.lineno} calls {advice}"
    return ""


def peer_call_advice(node: ast.AST) -> str | None:
    """``"tune.uniform(...), Ray Tune's way of writing a search space: write Real there
    instead"`` when ``node`` calls another library's search space; None otherwise."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    attr, value = node.func.attr, node.func.value
    owner = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", None)
    if attr in _OPTUNA_SUGGESTS:
        library, ours = "Optuna's", _OPTUNA_SUGGESTS[attr]
    elif attr in PEER_NAMES and owner in ("tune", "hp"):  # not np.random.uniform
        library = "Hyperopt's" if owner == "hp" else "Ray Tune's"
        ours = PEER_NAMES[attr]
    elif attr in CONSTRUCTORS and owner == "space" and _root_name(value) in ("ag", "autogluon"):
        library = "AutoGluon's"  # ag.space.Real(lower=..., upper=...), as the seeds write
        ours = f"{attr}(...) (which takes lower= and upper= too)"
    else:
        return None
    return (f"{unparse(node.func, f'...{attr}')}(...), {library} way of writing a search "
            f"space: write {ours} there instead")


def unparse(node: ast.AST, too_deep: str = "...") -> str:
    """``ast.unparse(node)``, or ``too_deep`` where the expression nests beyond the recursion
    limit (``ast.unparse`` recurses; a message must not fail on the code it describes)."""
    try:
        return ast.unparse(node)
    except RecursionError:
        return too_deep


def _root_name(node: ast.AST) -> str | None:
    """``ag`` of ``ag.space.Real``: the name an attribute chain starts from, if any."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _suggest(name: str) -> str:
    if name in PEER_NAMES:
        return f" (did you mean {PEER_NAMES[name]}?)"
    close = difflib.get_close_matches(name, list(CONSTRUCTORS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _strip_qualname(exc: TypeError) -> str:
    text = str(exc)
    return text.split("() ", 1)[1] if "() " in text else text


