"""What a trial runs: a compiled ``%%hpo`` cell or a Python function."""

from __future__ import annotations

import ast
import asyncio
import inspect
import linecache
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

from .annotate import CELL_NAMES, CONFIG_NAME, RESULT_NAME, CellTemplate
from .errors import HPOError
from .records import is_number
from .trial import (
    Trial,
    TrialStopped,
    _short,
    checkpoint,
    not_a_number,
    plain_value,
    plain_values,
    report,
    restore,
)
from .trial_shell import TrialShell, ipython_line, ipython_shell_of

FOUND_KEY = "__hpo_found__"  # a trial's namespace as it was before the cell ran
SHELL_NAME = "get_ipython"  # a trial's is a TrialShell's (see trial_shell.py)
INJECTED_NAMES = (*CELL_NAMES, SHELL_NAME, CONFIG_NAME, RESULT_NAME, FOUND_KEY)
# names through which a cell may read or bind any variable (``%time acc = ...`` becomes a call
# of get_ipython().run_line_magic with the statement as text)
_DYNAMIC = frozenset({"exec", "eval", "globals", "vars", "locals", "get_ipython"})
_MISSING = object()


@dataclass
class TrialOutput:
    """What a finished objective hands back: a final result (if any) and its namespace."""

    result: dict[str, Any] | None = None
    namespace: dict[str, Any] | None = None


class CellObjective:
    """Executes the compiled cell in a shallow copy of the user namespace plus injected names.

    The notebook variables the cell reads are pinned when the objective is made (the study's
    cell runs): a ``--background`` study's trials keep reading them as they were then while
    the notebook's next cells rebind or delete them, as worker processes do with the values
    shipped to them."""

    binds_variables = True
    """A trial leaves its variables (its ``TrialOutput.namespace``) for ``apply``."""

    def __init__(self, template: CellTemplate, user_ns: dict[str, Any], metric: str) -> None:
        self.template, self.user_ns, self.metric = template, user_ns, metric
        self.filename = template.filename
        self.cell_name = template.cell_name  # tracebacks say "Cell In[3], cell line 5"
        read = _names_read(template.source)
        #: IPython's exit()/quit(), which shut the kernel down: a trial gets _no_exit instead
        self.exits = sorted(name for name in read & {"exit", "quit"}
                            if _is_ipython_exit(user_ns.get(name)))
        self.pinned = {name: user_ns[name] for name in read & user_ns.keys()
                       if name not in INJECTED_NAMES and name not in self.exits}
        # a cell without report() whose result is the --metric variable: the notebook's own
        # variable of that name is left out of a trial's namespace unless the cell reads it,
        # so that a trial that does not assign it has no result instead of the notebook's
        self.drops_metric = not template.calls_report and metric not in read \
            and not read & _DYNAMIC
        self.uses_shell = SHELL_NAME in read  # IPython syntax: %time ..., !ls, x?
        self.reads_input = "input" in read and "input" not in user_ns

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled in a worker (process or Dask): cloudpickle names shipped code
        ``<dynamic-code>``, so the cell's code gets its own file name back and its source goes
        into ``linecache``: tracebacks there show the cell's lines, as in the kernel."""
        self.__dict__.update(state)
        template = self.template
        template.code = _in_file(template.code, template.filename)
        lines = template.source.splitlines(keepends=True)
        linecache.cache[template.filename] = (len(template.source), None, lines,
                                              template.filename)

    def run(self, trial: Trial, device: Any) -> TrialOutput:
        ns = dict(self.user_ns)
        ns.update(self.pinned)
        if self.drops_metric:
            ns.pop(self.metric, None)
        config = dict(trial.config)
        injected = {"report": report, "trial": trial, "config": config, "device": device,
                    "checkpoint": checkpoint, "restore": restore}
        shell = ipython_shell_of(ns) if self.uses_shell else None
        if shell is not None:  # the cell's magics read and set the trial's variables
            injected[SHELL_NAME] = TrialShell(shell, ns).get_ipython
        if self.reads_input:
            injected["input"] = _no_input
        for name in self.exits:
            injected[name] = _no_exit(name)
        ns.update(injected)
        ns[CONFIG_NAME] = config
        ns[FOUND_KEY] = dict(ns)  # what the cell found: what it binds anew is its own
        try:
            self.template.execute(ns)
        except TrialStopped as stop:
            stop.namespace = ns  # a stopped trial may still be the best: keep its state
            raise
        return TrialOutput(self._final_result(ns, trial), ns)

    def for_process(self) -> CellObjective:
        """A copy that carries only the notebook variables the cell reads, each checked to
        pickle, so it can be shipped to a worker process; the choices of the cell's
        hyperparameters, which the copy holds too (each trial's configuration refers to them),
        are checked as well."""
        for annotation in self.template.annotations:
            for choice in getattr(annotation.domain, "choices", ()):
                _check_picklable(choice, f"the choice {_short(choice)} "
                                         f"({type(choice).__name__}) of the hyperparameter "
                                         f"{annotation.name!r}", _CHOICE_ADVICE)
        if self.uses_shell and ipython_shell_of(self.user_ns) is not None:
            raise HPOError(_in_kernel_only(self.template.source))
        shipped = {}
        for name in sorted(self.pinned):
            if name.startswith("__"):
                continue
            value = self.pinned[name]
            _check_picklable(value, f"the notebook variable {name!r} "
                                    f"({type(value).__name__}) that the cell reads")
            shipped[name] = value
        shipped_objective = CellObjective(self.template, shipped, self.metric)
        shipped_objective.exits = self.exits  # the notebook's exit(), not the worker's
        return shipped_objective

    def _final_result(self, ns: dict[str, Any], trial: Trial) -> dict[str, Any] | None:
        """A cell without ``report`` gives its last expression or the ``--metric`` variable;
        a cell with it must have called it in this trial (else the trial has no value)."""
        if self.template.calls_report:
            if not trial.reports:
                raise HPOError(f"this trial ended without calling report(), so it has no "
                               f"value of {self.metric!r}: {self._why_no_report()}")
            return None
        value = plain_value(ns.get(RESULT_NAME)) if self.template.has_result_expr else None
        if isinstance(value, dict):
            return plain_values(value)
        if not is_number(value):
            if self._left_unassigned(ns):
                raise HPOError(self._unassigned_message(ns[self.metric]))
            value = plain_value(ns.get(self.metric))
        if not is_number(value):
            raise HPOError(self._no_number(ns))
        return {self.metric: value}

    def _why_no_report(self) -> str:
        """Why a trial of a cell that calls report() may not have: the cell's functions that
        hold every report() call are never called, or the call is on some paths only."""
        functions = [] if self.template.report_functions \
            else self.template.unreached_reporters
        if functions:
            names = " and ".join(f"`{name}`" for name in functions)
            return (f"report() is only called inside {names}, which this cell never calls; "
                    f"call {functions[0]}(...) in the cell")
        return (f"the cell calls report() only on some paths (inside an if, or a loop that "
                f"ran no iteration?); make every trial report {self.metric}")

    def _left_unassigned(self, ns: dict[str, Any]) -> bool:
        """Whether the ``--metric`` variable still holds the notebook's own object: a cell
        that reads it and assigns it only on some paths did not assign it in this trial. Not
        for Python ints, which the interpreter shares (a count of 0 may be a fresh result)."""
        mine = ns.get(self.metric, _MISSING)
        return mine is ns.get(FOUND_KEY, {}).get(self.metric, _MISSING) and mine is not _MISSING \
            and not isinstance(mine, int)

    def _unassigned_message(self, value: Any) -> str:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else f"{shown[:37]}..."
        return (f"the cell never calls report(), so its result is the cell's variable "
                f"{self.metric!r}, but this trial did not assign it: it still holds the "
                f"notebook's own {shown}, which the cell reads (does it assign "
                f"{self.metric} only on some paths, e.g. inside an if?). Assign "
                f"{self.metric} on every path, or call report({self.metric}=...)")

    def _no_number(self, ns: dict[str, Any]) -> str:
        """Why a cell without ``report`` gave no result: what its ``--metric`` variable or its
        last expression held instead, or that it has neither."""
        if self.metric in ns:
            what, value = f"the cell's variable {self.metric!r}", ns[self.metric]
            how = f"assign e.g. {self.metric} = {{}}"
        elif self.template.has_result_expr:
            what, value = "the cell's last expression", ns.get(RESULT_NAME)
            how = "end the cell with e.g. {}"
        else:
            return (f"the cell never calls report() and produced no number for {self.metric!r}: "
                    f"end the cell with an expression giving the metric, assign a variable "
                    f"named {self.metric!r}, or call report({self.metric}=...)")
        return (f"the cell never calls report(), so its result is {what}, which is "
                f"{not_a_number(value, how)}")


class FunctionObjective:
    """Calls ``fn(config)``, passing ``report``/``trial``/``device``/``checkpoint``/``restore``
    too if ``fn`` takes them."""

    binds_variables = False  # the function's variables end with its call

    def __init__(self, fn: Callable[..., Any], metric: str,
                 fixed: Mapping[str, Any] | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"the objective is {fn!r}, but must be a callable taking a config")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(f"the objective {getattr(fn, '__name__', fn)!r} is a generator "
                            f"function (it uses yield), so a trial would get a generator and "
                            f"no value: report each value with report(epoch=..., "
                            f"{metric}=...) instead of yield (name report as a parameter: "
                            f"def fn(config, report)) and return the final value or nothing")
        if isinstance(fn, type) and not issubclass(fn, numbers.Number):
            name = fn.__name__
            ray = (f"; a Ray Tune Trainable's setup(config) and step() are written here as "
                   f"the function's start and its loop, calling report(epoch=..., "
                   f"{metric}=...) at each step") if callable(getattr(fn, "step", None)) else ""
            raise TypeError(f"the objective {name!r} is a class, so each trial would get an "
                            f"instance of it and no value: pass a function, def train(config): "
                            f"... that returns or reports {metric!r}, or an instance whose "
                            f"__call__(config) does, {name}(...){ray}")
        self.fn, self.metric = fn, metric
        self.fixed: dict[str, Any] = dict(fixed or {})
        """Values every configuration holds as they are (the space's constants)."""
        self.filename = _code_file(fn)
        signature = inspect.signature(fn)
        self._extras = [n for n in ("report", "trial", "device", "checkpoint", "restore")
                        if n in signature.parameters]
        try:
            signature.bind({}, **{n: None for n in self._extras})
        except TypeError:
            name = getattr(fn, "__name__", fn)
            optuna = "" if list(signature.parameters)[:1] != ["trial"] else (
                f"; an Optuna objective(trial) that calls trial.suggest_float('lr', ...) is "
                f"written here as def {name}(config) reading config['lr'], with the space "
                f"given to tune(): space={{'lr': Real(1e-5, 1e-1, log=True)}}")
            autogluon = "reporter" in signature.parameters
            hint = (f"; AutoGluon's train_fn(args, reporter) is written here as def "
                    f"{name}(config, report): config['lr'] for args.lr, and report(epoch=..., "
                    f"accuracy=...) for reporter(...), with the space given to tune() "
                    f"instead of @ag.args") if autogluon else \
                f"{optuna}{_by_keyword(name, signature)}"
            raise TypeError(f"the objective {name!r} takes {signature}, but is called as "
                            f"fn(config) (with report, trial, device, checkpoint, restore as "
                            f"keywords if it names them): give it one positional parameter "
                            f"for the configuration, e.g. def fn(config): ...{hint}") from None

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled in a worker: a function shipped by value now lives in another file (its
        traceback starts at its first frame there)."""
        self.__dict__.update(state)
        self.filename = _code_file(self.fn)

    def for_process(self) -> FunctionObjective:
        """This objective, checked to pickle (with cloudpickle) for a worker process; when it
        does not, the message names the variable it reads that does not (a global, a
        variable of an enclosing function, a default, the object of a method)."""
        import cloudpickle

        try:
            cloudpickle.dumps(self.fn)
        except Exception as exc:  # any pickling failure gets the same advice
            raise HPOError(_unpicklable_function(self.fn, exc)) from exc
        return self

    def run(self, trial: Trial, device: Any) -> TrialOutput:
        extras = {"report": report, "trial": trial, "device": device, "checkpoint": checkpoint,
                  "restore": restore}
        value = self.fn({**self.fixed, **trial.config}, **{n: extras[n] for n in self._extras})
        if inspect.iscoroutine(value):  # an async def objective, run as an async cell is
            value = asyncio.run(value)  # trials run in worker threads, where no loop runs
        value = plain_value(value)
        if value is None:
            if not trial.reports:
                raise HPOError(f"the objective returned None and never called report(): return "
                               f"the value of {self.metric!r} or report it")
            return TrialOutput()
        if isinstance(value, dict):
            return TrialOutput(plain_values(value))
        if not is_number(value):
            raise HPOError(f"the objective returned {value!r}; return a number (the value of "
                           f"{self.metric!r}) or a dict of metrics")
        return TrialOutput({self.metric: value})


def _no_input(prompt: object = "") -> str:
    """``input()`` in a trial's cell, which no one is there to answer."""
    shown = "" if prompt == "" else _short(prompt)
    raise HPOError(f"input({shown}) in a trial: trials run unattended, several at once, "
                   f"so none can wait for typed input (it would hold its worker, and the "
                   f"kernel, until someone answers); set the value in the cell, or read it "
                   f"with input() in a cell before the %%hpo cell")


def _is_ipython_exit(value: object) -> bool:
    """Whether ``value`` is IPython's ``exit``/``quit`` (an ``ExitAutocall``), which asks the
    kernel to shut down."""
    try:
        from IPython.core.autocall import ExitAutocall
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    return isinstance(value, ExitAutocall)


def _no_exit(name: str) -> Callable[..., None]:
    """``exit()`` or ``quit()`` in a trial's cell: in a notebook they shut the kernel down a
    moment later, ending the study and every trial with it; the trial fails instead."""
    def refused(*_args: object, **_kwargs: object) -> None:
        raise HPOError(f"{name}() in a trial: in a notebook it shuts the kernel down, and with "
                       f"it the study and its running trials, so this trial fails instead; to "
                       f"end a trial early, return from a function around its code or raise "
                       f"an exception, and to stop the study press Stop study (or %hpo stop)")

    return refused


def _in_kernel_only(source: str) -> str:
    """Why a cell with IPython syntax cannot run in a worker process, at its line."""
    lineno, written = ipython_line(source) or (1, "get_ipython()")
    return (f"cell line {lineno}, {written}, is IPython syntax, which runs only in the kernel, "
            f"but worker processes run Python without IPython: write that line in plain "
            f"Python (or remove it), or run the trials in threads with --executor thread")


def _by_keyword(name: str, signature: inspect.Signature) -> str:
    """How to pass the configuration to a function that takes the hyperparameters by name
    (``def train(lr, units)`` or ``def train(**config)``); empty for other signatures."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for p in signature.parameters.values()
             if p.kind in kinds and p.name not in ("config", "trial", "report", "device",
                                                   "checkpoint", "restore")]
    if not name.isidentifier() or not names and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        return ""
    takes = f"its hyperparameters ({', '.join(names)})" if names else "the configuration's keys"
    return (f"; to call it with {takes} as keyword arguments, pass "
            f"lambda config: {name}(**config) as the objective")


def _code_file(fn: Callable[..., Any]) -> str:
    return getattr(getattr(fn, "__code__", None), "co_filename", "<function>")


def _in_file(code: CodeType, filename: str) -> CodeType:
    """``code`` and the code objects it holds (functions, comprehensions) in ``filename``."""
    consts = tuple(_in_file(c, filename) if isinstance(c, CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def may_bind(source: str, name: str) -> bool:
    """Whether the cell may assign ``name`` (False only when it surely does not: no
    assignment, loop, ``with``, import, definition or ``del`` of it, and no ``exec``,
    ``globals()``, ``import *`` or IPython magic, ``%time acc = ...``, that could)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.Name) and node.id in _DYNAMIC:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                alias.name == "*" or (alias.asname or alias.name.split(".")[0]) == name
                for alias in node.names):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name == name:
            return True
    return False


def _names_read(source: str) -> set[str]:
    """The names the cell reads from its namespace (the notebook's): at its top level, and in
    its functions, classes and comprehensions where a name is no variable of their own. A
    function's own variable of a notebook variable's name (``def f(): model = ...``) was
    counted too, so process workers were sent that notebook variable, and one that cannot be
    pickled refused the cell. Code ``symtable`` cannot read (top-level ``await``): every name
    it loads, a superset."""
    import symtable

    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {node.id for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    read = {sym.get_name() for sym in table.get_symbols() if sym.is_referenced()}
    inner = list(table.get_children())
    while inner:
        scope = inner.pop()
        read |= {sym.get_name() for sym in scope.get_symbols()
                 if sym.is_referenced() and sym.is_global()}
        inner += scope.get_children()
    return read


def _unpicklable_function(fn: Any, exc: Exception) -> str:
    """Why ``fn`` cannot be sent to a worker process: the first value it refers to that does
    not pickle, by name, and what to do instead."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    short = getattr(fn, "__name__", name)
    culprit = next(((what, value, err) for what, value in _referred(fn)
                    for err in [_pickle_error(value)] if err is not None), None)
    threads = "or run the trials in threads with executor='thread' (--executor thread)"
    if culprit is None:
        return (f"the objective {name!r} cannot be sent to a worker process "
                f"({type(exc).__name__}: {exc}). Create what it holds inside it, {threads}")
    what, value, err = culprit
    return (f"the objective {name!r} cannot be sent to a worker process: {what}, "
            f"{_short(value)} ({type(value).__name__}), which cannot be pickled "
            f"({type(err).__name__}: {err}). Create that object inside {short} (give what "
            f"makes it, a path or a number, as a fixed value of the space), {threads}")


def _referred(fn: Any) -> list[tuple[str, Any]]:
    """What function ``fn`` refers to beside its code, each as (what it is, value): the
    object of a bound method, the variables of enclosing functions, defaults, and the
    globals its code (and the code of functions defined in it) reads."""
    found: list[tuple[str, Any]] = []
    owner = getattr(fn, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        found.append((f"it is a method of a {type(owner).__name__} object", owner))
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found.append((f"it reads {var!r}, a variable of the function that made it",
                          cell.cell_contents))
        except ValueError:  # a cell not filled yet
            continue
    for var, value in inspect.signature(fn).parameters.items():
        if value.default is not inspect.Parameter.empty:
            found.append((f"its parameter {var!r} defaults to an object", value.default))
    global_names = getattr(fn, "__globals__", {})
    codes, seen = [code], set()
    while codes:
        current = codes.pop()
        for var in current.co_names:
            if var in global_names and var not in seen \
                    and not inspect.ismodule(global_names[var]):
                seen.add(var)
                found.append((f"it reads the global variable {var!r}", global_names[var]))
        codes += [c for c in current.co_consts if isinstance(c, CodeType)]
    return found


def _pickle_error(value: Any) -> Exception | None:
    """The error of pickling ``value`` with cloudpickle, or None when it pickles."""
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the answer
        return exc
    return None


_CHOICE_ADVICE = ("Choose among names or numbers and create the object from the choice "
                  "inside the cell")


def _check_picklable(value: Any, what: str, advice: str = "Create it inside the cell") -> None:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # any pickling failure gets the same advice
        raise HPOError(f"{what} cannot be sent to a worker process ({type(exc).__name__}: "
                       f"{exc}). {advice}, or run the trials in threads with "
                       f"--executor thread") from exc
