"""The objective of a ``%%hpo`` cell: its compiled code, run per trial in a shallow copy of
the notebook's namespace plus the names a trial defines."""

from __future__ import annotations

import linecache
from types import CodeType
from typing import Any

from ..annotate import CELL_NAMES, CONFIG_NAME, RESULT_NAME, CellTemplate
from ..config_keys import TrialConfig
from ..errors import HPOError
from ..records import is_number
from ..trial import (
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
from ..trial_shell import TrialShell, ipython_line, ipython_shell_of
from ._cell_names import _DYNAMIC, _names_read
from ._output import TrialOutput
from ._pickling import _CHOICE_ADVICE, _check_picklable
from ._unattended import _is_ipython_exit, _no_exit, _no_input

FOUND_KEY = "__hpo_found__"  # a trial's namespace as it was before the cell ran
SHELL_NAME = "get_ipython"  # a trial's is a TrialShell's (see trial_shell.py)
INJECTED_NAMES = (*CELL_NAMES, SHELL_NAME, CONFIG_NAME, RESULT_NAME, FOUND_KEY)
_MISSING = object()


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
        config = TrialConfig(trial.config)  # config['lrr'] names the keys it has
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


def _in_kernel_only(source: str) -> str:
    """Why a cell with IPython syntax cannot run in a worker process, at its line."""
    lineno, written = ipython_line(source) or (1, "get_ipython()")
    return (f"cell line {lineno}, {written}, is IPython syntax, which runs only in the kernel, "
            f"but worker processes run Python without IPython: write that line in plain "
            f"Python (or remove it), or run the trials in threads with --executor thread")


def _in_file(code: CodeType, filename: str) -> CodeType:
    """``code`` and the code objects it holds (functions, comprehensions) in ``filename``."""
    consts = tuple(_in_file(c, filename) if isinstance(c, CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)
