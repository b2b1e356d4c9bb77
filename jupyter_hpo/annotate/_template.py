"""What a parsed cell is: its annotations, the compiled template and the diagnostics an editor
gets, and the names the parser shares (the constructors, the injected config and result)."""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field, replace
from types import CodeType
from typing import Any

from ..errors import HPOError, HPOSyntaxError, python_lines
from ..space import Bool, Categorical, Condition, Domain, Int, Real, Space

__all__ = ["CELL_NAMES", "CONFIG_NAME", "CONSTRUCTORS", "MAX_T_NAME", "MAX_T_NAMES", "RESULT_NAME",
           "Annotation", "CellDiagnostics", "CellTemplate", "DiagnosedAnnotation",
           "ReportingFunction", "max_t_names"]

CONSTRUCTORS: dict[str, type[Domain]] = {
    "Real": Real, "Int": Int, "Categorical": Categorical, "Bool": Bool,
}
#: the names each trial of a cell finds defined, and what they are (a hyperparameter may not
#: take one: it would hide it from the cell)
CELL_NAMES = {
    "report": "report(), which sends the trial's metrics",
    "trial": "the running trial",
    "config": "the trial's configuration",
    "device": "the trial's device",
    "checkpoint": "checkpoint(), which saves the trial's state",
    "restore": "restore(), which loads a saved state",
}
CONFIG_NAME = "__hpo_config__"
RESULT_NAME = "__hpo_result__"
MAX_T_NAME = "epochs"


def max_t_names(resource: str = "epoch") -> tuple[str, ...]:
    """The top-level assignments that give Hyperband's maximum resource for report()'s
    ``resource`` key, the first one found wins: ``max_t = N`` (which names nothing else), then
    the resource's count as training code spells it (``epochs``, the seeds' spelling, then
    ``num_epochs``, ``n_epochs``, ``max_epochs``; with ``--resource step`` first ``steps``,
    ``num_steps``, ...)."""
    names = ["max_t"]
    for key in (resource, "epoch"):  # a renamed resource still takes ``epochs = N``
        plural = key + ("es" if key.endswith(("s", "x", "sh", "tch")) else "s")
        names += [n for n in (plural, f"num_{plural}", f"n_{plural}", f"max_{plural}")
                  if n not in names]
    return tuple(names)


#: the names that give max_t with the default resource, ``epoch``
MAX_T_NAMES = max_t_names()




@dataclass
class Annotation:
    """One hyperparameter found in the cell.

    The position is that of the code a trial's value replaces (the constructor call, or the
    literal of a ``# hpo:`` comment annotation), as ``ast`` gives it: 1-based lines, columns
    in UTF-8 bytes.
    """

    name: str
    domain: Domain
    lineno: int
    col: int
    end_lineno: int
    end_col: int
    form: str  # "assignment", "keyword", "explicit", "comment", "default", "dict key" or
    # "tuple assignment"
    default: Any = None
    has_default: bool = False
    #: the variable the cell assigns the value to (``kernel = Int(1, 2, name="k")``), None
    #: for a value inside an expression (``layers.append(Int(...))``, a dict value)
    variable: str | None = None


@dataclass(frozen=True)
class ReportingFunction:
    """A notebook function that the cell calls and that reports for it: ``train(lr)`` at
    cell line ``lineno``, where ``train`` (or a function it calls: ``function`` is the chain,
    ``train -> fit``) calls ``report(...)``. ``readable``: whether its source could be read
    (else which keys it reports is not known); ``unpacked``: whether it passes values through
    ``report(**values)`` (or passes ``report`` on instead of calling it)."""

    lineno: int
    called: str
    function: str
    readable: bool = True
    unpacked: bool = False


@dataclass
class CellTemplate:
    """A parsed cell: the space, where each hyperparameter came from, and the compiled code."""

    source: str
    filename: str
    code: CodeType
    annotations: list[Annotation]
    #: what each top-level name is first assigned where it could be a maximum resource
    counts: dict[str, float] = field(default_factory=dict)
    reported_keys: list[str] = field(default_factory=list)
    calls_report: bool = False
    has_result_expr: bool = False
    is_async: bool = False  # top-level ``await`` / ``async for`` / ``async with``
    #: the variable the cell's last statement assigns (``loss = ...``), if it is one variable
    #: and not a hyperparameter: the result of a cell without ``report`` or ``--metric``
    last_assigned: str | None = None
    #: whether a report() call passes values through ``**``: ``reported_keys`` may then miss
    #: some of the keys the cell reports
    reports_unpacked: bool = False
    #: reported keys that the cell gives a literal that is not a number (``phase='train'``):
    #: never the metric
    text_keys: list[str] = field(default_factory=list)
    #: (line, receiver) of calls such as ``trial.report(...)`` (Optuna's way) or
    #: ``tune.report(...)`` (Ray Tune's) instead of ``report(...)``, in line order
    peer_reports: list[tuple[int, str]] = field(default_factory=list)
    #: (line, name) of framework callbacks made in the cell (``KerasReportCallback(...)``):
    #: they call report() with the study's resource, whatever its name, and the metrics
    #: their ``metrics=`` names (all the framework logs without it: then
    #: ``reports_unpacked``)
    report_callbacks: list[tuple[int, str]] = field(default_factory=list)
    #: (line, name) of other libraries' training callbacks (Optuna's
    #: ``KerasPruningCallback(trial, ...)``, Ray Tune's ``TuneReportCallback``), in line order
    peer_callbacks: list[tuple[int, str]] = field(default_factory=list)
    #: the notebook functions the cell calls that call report() (the kernel's parse only:
    #: ``diagnose_cell`` has no namespace); their keys are among ``reported_keys``, and
    #: ``calls_report`` is set for them
    report_functions: list[ReportingFunction] = field(default_factory=list)
    #: the fields above as the cell's own report() calls alone give them (empty without
    #: report functions), see ``without_report_functions``
    own_reports: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the variable a cell ends with as a bare name (``score = f(...)`` then ``score``), if it
    #: is not a hyperparameter: the result of a cell without ``report`` or ``--metric``
    result_name: str | None = None
    #: the notebook's name of the cell (``In[3]``) for tracebacks, None outside a notebook
    cell_name: str | None = None
    #: what the cell does that it likely does not mean, each "cell line N: ...": the magic
    #: prints them and runs the study (see ``_notes.py``)
    notes: list[str] = field(default_factory=list)
    #: the cell's functions that hold all its report() calls when the cell never calls them
    #: (see ``_reach.py``): a trial's error names them
    unreached_reporters: list[str] = field(default_factory=list)

    def without_report_functions(self) -> CellTemplate:
        """This template as if the notebook functions the cell calls did not report for it:
        only the cell's own report() calls count."""
        return replace(self, report_functions=[], own_reports={}, **self.own_reports)

    @property
    def space(self) -> Space:
        return Space({a.name: a.domain for a in self.annotations})

    @property
    def defaults(self) -> dict[str, Any]:
        """The literal values of ``# hpo:`` comment annotations."""
        return {a.name: a.default for a in self.annotations if a.has_default}

    def execute(self, namespace: dict[str, Any]) -> None:
        """Run the compiled cell with ``namespace`` as its globals.

        A cell with top-level ``await`` compiles to a coroutine, which runs to completion in a
        new event loop (``asyncio.run``): trials run in worker threads or processes, where no
        loop is running.
        """
        if not self.is_async:
            exec(self.code, namespace)  # noqa: S102 - running the user's own cell is the point
            return
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            running = False
        else:
            running = True
        if not running:  # outside the except block: the cell's own errors chain to nothing
            asyncio.run(eval(self.code, namespace))  # the user's own cell
            return
        raise HPOError("the cell uses top-level await, so it must run in a thread without a "
                       "running event loop, but this thread runs one: run it from a worker "
                       "thread or process")

    def render(self, config: dict[str, Any]) -> str:
        """The cell source with each annotation replaced by its value in ``config``.

        Comment annotations keep their comment and only change the literal, so rendering the
        defaults gives back the original cell.
        """
        lines = [line.encode() for line in python_lines(self.source, keepends=True)]
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

    def max_t_for(self, resource: str) -> float | None:
        """Hyperband's maximum resource as the cell gives it for ``resource`` (see
        ``max_t_names``), or None."""
        return next((self.counts[name] for name in max_t_names(resource)
                     if name in self.counts), None)

    @property
    def max_t(self) -> float | None:
        """The maximum resource with the default resource key, ``epoch``."""
        return self.max_t_for("epoch")


@dataclass(frozen=True)
class DiagnosedAnnotation:
    """An annotation as :func:`diagnose_cell` reports it to an editor.

    The range is the constructor call (inside the comment for the comment form): 1-based
    lines, 0-based character columns, end exclusive. ``domain`` is the domain's ``repr``, or
    the call's source text when an argument names a variable only the kernel knows
    (``evaluated`` is then False). ``when`` is the condition under which the hyperparameter
    is active (the ``if`` around it), or None.
    """

    name: str
    domain: str
    form: str
    lineno: int
    col: int
    end_lineno: int
    end_col: int
    evaluated: bool = True
    when: str | None = None


@dataclass
class CellDiagnostics:
    """Every annotation and every error :func:`diagnose_cell` found in a cell."""

    annotations: list[DiagnosedAnnotation]
    errors: list[HPOSyntaxError]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for the Jupyter server extension)."""
        return {
            "annotations": [asdict(a) for a in self.annotations],
            "errors": [{"message": e.reason, "lineno": e.cell_lineno, "col": e.cell_col,
                        "end_lineno": e.cell_end_lineno, "end_col": e.cell_end_col}
                       for e in self.errors],
        }


_NESTED_MESSAGE = ("a search space cannot contain another one: for a hyperparameter that only "
                   "matters for some values of another, put its annotation under "
                   "`if other == value:`")
_TOO_DEEP = "the cell is nested too deeply for Python's parser"


@dataclass
class _Found:
    """An annotation being built: ``node`` is the code a trial's value replaces (its position
    in ``lineno``/``col``), ``call`` the constructor call, ``domain`` None while an argument
    is unknown (diagnostics only), ``text`` the comment's expression."""

    name: str
    form: str
    domain: Domain | None
    node: ast.expr
    call: ast.Call
    text: str | None = None
    default: Any = None
    has_default: bool = False
    when: Condition | None = None  # active only when this holds (annotations under `if`)
    variable: str | None = None  # the variable the value is assigned to (see Annotation)

    @property
    def position(self) -> tuple[int, int]:
        return self.node.lineno, self.node.col_offset

    def annotation(self) -> Annotation:
        node = self.node
        assert self.domain is not None  # parse_cell has a kernel namespace: always evaluated
        return Annotation(self.name, self.domain, node.lineno, node.col_offset,
                          node.end_lineno or node.lineno, node.end_col_offset or node.col_offset,
                          self.form, self.default, self.has_default, self.variable)
