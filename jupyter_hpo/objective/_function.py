"""The objective of a Python function, as ``tune()`` takes it: ``fn(config)``, with the
names a trial defines passed as keywords when it takes them."""

from __future__ import annotations

import asyncio
import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from ..config_keys import TrialConfig
from ..errors import HPOError
from ..records import is_number
from ..trial import Trial, checkpoint, plain_value, plain_values, report, restore
from ._output import TrialOutput
from ._pickling import _unpicklable_function


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
        value = self.fn(TrialConfig({**self.fixed, **trial.config}),
                        **{n: extras[n] for n in self._extras})
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
