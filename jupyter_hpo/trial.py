"""Live trials, scheduler decisions, and the ``report()`` function trials call."""

from __future__ import annotations

import difflib
import math
import numbers
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from .errors import HPOError, shown_at_call
from .other_names import TRIAL_NAMES, OtherNamesHint
from .read_only import CONFIG, ENQUEUED, USER_ATTRS, read_only, read_only_reports
from .records import ReportsReader, TrialRecord, TrialStatus, finite_number
from .terminal import TerminalText

if TYPE_CHECKING:
    from .checkpoints import Checkpoint

__all__ = ["Decision", "ReportError", "Trial", "TrialAbandoned", "TrialCompleted", "TrialReleased",
           "TrialStatus", "TrialStopped", "check_report", "checkpoint", "current_trial",
           "log_line", "report", "restore"]


class TrialStopped(BaseException):
    """Raised inside a trial by ``report()`` when the scheduler or the user stops it.

    It derives from ``BaseException`` so that a user's ``except Exception`` does not swallow it.
    """


class TrialCompleted(TrialStopped):
    """Raised inside a trial by ``report()`` called again after the trial reached the
    scheduler's max_t (Hyperband's largest resource): the report at max_t returned, so the code
    after a loop that ends there runs; one after it ends the trial's code as a stop does (so
    ``except TrialStopped`` catches it too), unrecorded, and the trial counts as completed, its
    report at max_t its final one."""


class TrialAbandoned(TrialStopped):
    """Raised in a thread trial's code, at its next line of Python, when a forced stop
    (``study.stop(force=True)``, a second interrupt) or ``trial_timeout`` ended the trial while
    its code ran on without reporting: a thread cannot be killed, so it is told this way."""


class TrialReleased(BaseException):
    """Raised inside a trial by ``report()`` when the trial pauses (Hyperband's promotion
    variant) after saving its state with ``checkpoint()``: its code ends and its worker is
    free for another trial; when it is promoted it runs again and continues from
    ``restore()``."""


class ReportError(HPOError, ValueError):
    """A ``report()`` carried a value the study cannot use; the trial fails with this message."""


class Decision(str, Enum):
    """A scheduler's answer to a report."""

    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"
    #: the trial reached the scheduler's largest resource (max_t): it ends as completed
    DONE = "done"


@dataclass(eq=False)
class Trial(ReportsReader, OtherNamesHint):
    """One evaluation of one configuration, while it runs; ``freeze()`` gives its record.

    ``reports`` grows with every ``report()`` and ``report_times`` with it (seconds since the
    study started); the study changes them under its lock.
    """

    other_names = TRIAL_NAMES  # Optuna's trial.suggest_float, ... say what to write
    trial_id: int
    config: dict[str, Any]
    status: TrialStatus = TrialStatus.RUNNING
    reports: list[dict[str, Any]] = field(default_factory=list)
    report_times: list[float] = field(default_factory=list)
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    error: str = ""
    traceback: str = ""
    device: Any = "cpu"
    resources: str = "cpu"
    slot: int = 0
    bracket: int = 0
    output: TerminalText = field(default_factory=TerminalText, repr=False)
    last_resource: float | None = field(default=None, repr=False)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    enqueued: dict[str, Any] | None = None
    #: cancelled by a stop of the whole study (not on its own): a resume runs it again
    study_stopped: bool = False
    checkpoint_dir: str | None = field(default=None, repr=False)
    #: the study's metric and resource key, which each report must carry (read by code that
    #: reports for the trial, such as the framework callbacks of ``jupyter_hpo.integrations``)
    metric: str = ""
    resource: str = "epoch"
    restore_from: Checkpoint | None = field(default=None, repr=False)
    #: saved since the last report: it becomes ``checkpoint`` with the next report (whose
    #: epoch it holds) or when the trial ends, so that a stored checkpoint always comes with
    #: the report that follows it
    new_checkpoint: Checkpoint | None = field(default=None, repr=False)
    timeout_used: float = field(default=0.0, repr=False)  # seconds of runs before a pause
    _side: SideHook | None = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return (self.end_time or time.time()) - self.start_time

    def set(self, **attrs: Any) -> None:
        """Keep user attributes with the trial, e.g. ``trial.set(train_loss=0.3,
        note="diverged")``: stored with the study and shown as ``user.<key>`` columns of
        ``trials_dataframe()``. Only while the trial runs (from any of its threads)."""
        for key in attrs:
            if not key:
                raise ValueError("trial.set() needs attribute names, e.g. trial.set(note='ok')")
        side = self._side
        if side is None:
            raise HPOError(f"trial.set() works only while trial {self.trial_id} runs")
        side("set", dict(attrs))

    def write_output(self, text: str) -> None:
        """Keep what the trial printed, as a terminal shows it (progress bars redraw their
        line) and at most ``OUTPUT_LIMIT`` characters (the newest)."""
        self.output.write(text)

    def freeze(self) -> TrialRecord:
        """A read-only record of the trial as it is now."""
        trial_id = self.trial_id
        return TrialRecord(trial_id, read_only(self.config, trial_id, CONFIG), self.status,
                           read_only_reports(self.reports, trial_id),
                           tuple(self.report_times), self.start_time,
                           self.end_time, self.error, self.traceback, str(self.device),
                           self.resources, self.bracket, self.slot,
                           read_only(self.user_attrs, trial_id, USER_ATTRS), self.checkpoint,
                           None if self.enqueued is None
                           else read_only(self.enqueued, trial_id, ENQUEUED),
                           self.study_stopped)


_PLAIN = (float, int, str, bool, type(None))


def plain_value(value: Any) -> Any:
    """A numpy scalar, 0-d array or 0-d tensor (``loss`` rather than ``loss.item()``) as the
    Python number it holds, so that a report keeps no array (nor a GPU tensor and its graph)
    alive, and any other real number (a ``Fraction``, a finite ``Decimal``, which is not a
    ``numbers.Real`` but converts to a float as exactly as one) as a float, so that storage
    keeps it as a number; any other value as it is."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return int(value) if isinstance(value, numbers.Integral) else float(value)
        except (OverflowError, TypeError, ValueError):  # checked (and refused) as it is
            return value
    if isinstance(value, Decimal):
        number = float(value) if value.is_finite() else math.nan
        return number if math.isfinite(number) else value  # NaN, too large: refused as it is
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return item()
        except Exception:  # noqa: BLE001 - not a scalar after all: checked as it is
            return value
    return value


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each numpy or torch scalar as a Python number (see ``plain_value``)."""
    return {key: plain_value(value) for key, value in values.items()}


def as_number(value: Any) -> float | None:
    """``value`` as a float, or ``None`` for non-finite values and non-numbers."""
    return finite_number(value)


def check_report(values: dict[str, Any], metric: str, resource: str,
                 needs_resource: bool) -> tuple[float | None, float | None]:
    """The metric and the resource of ``values`` as floats, or :class:`ReportError` unless
    ``values`` is a report the study can use: the metric a finite number, the resource
    (required with ``needs_resource``) a finite number >= 0 (one that goes down or repeats is
    accepted: ``resource_out_of_order`` says so). A report
    without the metric is kept but ranks nothing (value ``None``: a training loss logged every
    epoch, the validation metric every few), unless it is empty or one of its keys looks like
    the metric misspelt (``val_los``); a trial that never reports the metric fails when it
    ends (``never_reported``)."""
    blank = next((key for key in values if not str(key).strip()), None)
    if blank is not None:
        raise ReportError(f"report() got a value named {blank!r}: name each value, e.g. "
                          f"report({metric}=...)")
    if metric not in values:
        if not values:
            raise ReportError(f"report() got no values: call report({metric}=...)")
        near = difflib.get_close_matches(metric, [str(k) for k in values], n=1, cutoff=0.8)
        if near:
            raise ReportError(f"report() got {', '.join(map(str, values))}, but the study "
                              f"optimises {metric!r}: did you mean report({metric}=...) instead "
                              f"of {near[0]}=...? (or pick another metric: %%hpo --metric, "
                              f"tune(metric=...))")
        value = None
    else:
        value = _check_number(metric, values[metric], "the metric")
    if resource not in values:
        if needs_resource:
            from .options import PROGRESS_KEYS

            counts = [k for k in values if k in PROGRESS_KEYS]
            other = counts[0] if len(counts) == 1 else "NAME"
            raise ReportError(f"report() got {', '.join(map(str, values))}, but Hyperband needs "
                              f"the resource {resource!r} in every report, e.g. report("
                              f"{resource}={resource}, {metric}=...); or name the key that "
                              f"counts the progress: %%hpo --resource {other}, "
                              f"tune(resource={other!r})")
        return value, None
    return value, _check_resource(resource, values[resource])


#: what a resource is, said when one is refused
RESOURCE_RULE = "it counts the trial's progress, e.g. the epochs done, from 0 up"


def _check_resource(key: str, value: Any) -> float:
    """The resource as a float: a finite number >= 0 (epoch 0 included), else ReportError."""
    number = finite_number(value)
    if number is None:
        raise ReportError(f"report(): the resource {key!r} is {not_a_number(value)} (a "
                          f"resource is a number >= 0: {RESOURCE_RULE})")
    if number < 0:
        raise ReportError(f"report(): the resource {key!r} is {_short(value)}, but must be a "
                          f"finite number >= 0 ({RESOURCE_RULE})")
    return number


def resource_out_of_order(values: Mapping[str, Any], resource: float, key: str, metric: str,
                          last_resource: float | None,
                          previous: Mapping[str, Any] | None) -> str | None:
    """What is wrong with a report whose ``resource`` went down (below ``last_resource``) or
    repeats the ``previous`` report's with the metric again (Optuna's repeated step), e.g.
    "reported epoch=3 after epoch=5"; ``None`` when it grew. Two reports at one resource that
    split the values (a training loss, then the metric) are fine."""
    if last_resource is None:
        return None
    shown = _short(values[key], 30)
    if resource < last_resource:
        last = int(last_resource) if last_resource.is_integer() else last_resource
        return f"reported {key}={shown} after {key}={_short(last, 30)}"
    if resource == last_resource and previous is not None and metric in values \
            and metric in previous and finite_number(previous.get(key)) == resource:
        return f"reported {metric} at {key}={shown} twice"
    return None


def never_reported(metric: str, reports: Sequence[Mapping[str, Any]]) -> str:
    """Why a trial whose reports (and result) never held the metric failed."""
    keys = list(dict.fromkeys(str(k) for r in reports for k in r))
    got = f"reported {', '.join(keys)}" if keys else "reported nothing"
    return (f"the trial ended without reporting {metric!r} (it {got}), so it has no value "
            f"to rank: call report({metric}=...) or pick another metric (%%hpo --metric, "
            f"tune(metric=...))")


def _check_number(key: str, value: Any, what: str) -> float:
    number = finite_number(value)
    if number is None:
        raise ReportError(f"report(): {what} {key!r} is {not_a_number(value)}")
    return number


def not_a_number(value: Any, how: str = "report e.g. {}") -> str:
    """``value`` and what a result must be instead ("array([...]) (ndarray), but must be one
    number, not an array of shape (3,): report e.g. value.mean().item()"; ``how`` says where
    the one-number expression goes)."""
    rule = "a finite number"
    if isinstance(value, bool):
        rule = "a number, not True or False"
    elif isinstance(value, int):
        rule = "a number that fits in a float"
    elif isinstance(value, complex):
        rule = "a real number, not a complex one (which has no order to rank trials by)"
    elif isinstance(value, str) and finite_number(_as_float(value)) is not None:
        rule = f"a number, not text: {how.format('float(value)')}"
    elif isinstance(getattr(value, "shape", None), tuple):  # an array or a tensor
        shape = tuple(value.shape)
        one = "value.item()" if math.prod(shape) == 1 else "value.mean().item()"
        rule = f"one number, not an array of shape {shape}: {how.format(one)}"
    return f"{_short(value)} ({type(value).__name__}), but must be {rule}"


def _as_float(text: str) -> float | None:
    """``text`` as a float when Python reads it as one (``"0.5"``), else None."""
    try:
        return float(text)
    except ValueError:
        return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}...{text[-12:]} ({len(text)} characters)"


ReportHook = Callable[[dict[str, Any]], None]
SideHook = Callable[[str, Any], None]
"""What a trial tells its study besides reports: ``("set", attrs)`` and ``("checkpoint",
Checkpoint)``; never on the report path."""
_local = threading.local()
_running = [0]  # trials whose code runs in this process now (their contexts entered)
_running_lock = threading.Lock()


class _TrialContext:
    """Binds a trial and its report hook (and side hook) to the current thread while the trial
    runs."""

    def __init__(self, trial: Trial, hook: ReportHook, side: SideHook | None = None) -> None:
        self.trial, self.hook, self.side = trial, hook, side

    def __enter__(self) -> _TrialContext:  # noqa: PYI034 - final class
        self._previous = getattr(_local, "context", None)
        _local.context = self
        with _running_lock:
            _running[0] += 1
        if self.side is not None:
            self.trial._side = self.side
        return self

    def __exit__(self, *exc: object) -> None:
        _local.context = self._previous
        with _running_lock:
            _running[0] -= 1
        if self.side is not None:
            self.trial._side = None


def log_line(text: str) -> None:
    """Print ``text`` where the notebook shows it, also from a trial's thread (whose own
    prints go to that trial's output): searchers' and schedulers' ``debug_log`` lines."""
    context = getattr(_local, "context", None)
    _local.context = None
    try:
        print(text, flush=True)
    finally:
        _local.context = context


def current_trial() -> Trial | None:
    """The trial running in this thread, or ``None`` outside a trial."""
    context = getattr(_local, "context", None)
    return context.trial if context else None


def report(*unnamed: Any, **values: Any) -> None:
    """Send metrics of the running trial, by name: ``report(epoch=3, val_acc=0.91)``.

    Raises ``TrialStopped`` when the scheduler (or the user) stops the trial; a stop by the
    user takes effect here, after these values are recorded. A paused trial blocks here until
    it is promoted. Values without a name are refused with how to name them. Outside a study
    (the cell run without ``%%hpo``) it records nothing and says so once per cell, so that
    the cell runs as it would without jupyter_hpo.
    """
    if unnamed:
        raise shown_at_call(TypeError(unnamed_report_message(len(unnamed))))
    context = _context("report")
    if context is None:
        shown = ", ".join(f"{key}={_short(value, 30)}" for key, value in values.items())
        say_outside_study(f"report({shown})", "nothing is recorded")
        return
    for value in values.values():  # ``values`` is this call's own dict: plain ones go as they are
        if type(value) not in _PLAIN:
            values = plain_values(values)
            break
    context.hook(values)


def unnamed_report_message(count: int) -> str:
    """Why ``report(value)`` is refused and what to write (also the cell parser's message)."""
    values = "a value" if count == 1 else f"{count} values"
    return (f"report() takes its values by name, e.g. report(epoch=epoch, val_loss=loss), "
            f"but got {values} without a name: name each one (a dict of metrics is passed "
            f"as report(**metrics); Optuna's trial.report(value, step) is "
            f"report(epoch=step, <metric>=value))")


_NOTHING = object()


def checkpoint(obj: Any = _NOTHING, /, **objects: Any) -> None:
    """Save ``obj`` (a model, a ``state_dict``, a dict of them, any picklable object) as the
    running trial's checkpoint, replacing its previous one: torch objects with ``torch.save``,
    others with cloudpickle; ``checkpoint(model=m, optimizer=o)`` saves the dict of them.
    ``restore()`` gives it back when the trial resumes (promoted by Hyperband after freeing its
    worker, or run again by ``--resume`` after a crash), and ``study.trials[i].restore()``
    after the study. Save before ``report()``: a trial that pauses at a report can free its
    worker only if its checkpoint is that recent. Outside a study it saves nothing (and says
    so once per cell), as ``report()`` records nothing there."""
    from .checkpoints import save

    if obj is _NOTHING and not objects:
        raise shown_at_call(TypeError(
            "checkpoint() needs what to save, e.g. checkpoint(model.state_dict()) or "
            "checkpoint(model=model.state_dict(), optimizer=opt.state_dict())"))
    if obj is not _NOTHING and objects:
        raise shown_at_call(TypeError(
            f"checkpoint() takes one object or named ones, not both: name the first one "
            f"too, e.g. checkpoint(state=..., {', '.join(f'{k}=...' for k in objects)})"))
    if obj is _NOTHING:
        obj = objects
    context = _context("checkpoint")
    if context is None:
        say_outside_study("checkpoint()", "nothing is saved")
        return
    trial = context.trial
    if trial.checkpoint_dir is None or context.side is None:
        raise HPOError("checkpoint() needs a study that keeps checkpoints")
    context.side("checkpoint", save(obj, trial.checkpoint_dir, trial.trial_id,
                                    len(trial.reports)))


def restore(map_location: Any = None) -> Any:
    """The object the running trial saved last with ``checkpoint(obj)``, or ``None`` when it
    starts from scratch (as it does outside a study). ``map_location`` is passed to
    ``torch.load``."""
    from .checkpoints import load

    context = _context("restore")
    source = None if context is None else context.trial.restore_from
    return None if source is None else load(source, map_location)


def _context(what: str) -> _TrialContext | None:
    """The running trial's context; None outside a study. In a thread other than a trial's
    own while trials run (a data loader's, a callback's) a ``RuntimeError`` instead: what it
    reports there would be lost."""
    context = getattr(_local, "context", None)
    if context is None and trials_running():
        where = threading.current_thread()
        if where is not threading.main_thread() and not where.name.startswith("hpo-"):
            raise shown_at_call(RuntimeError(_in_other_thread(what, where.name)))
    return context


def trials_running() -> bool:
    """Whether trials run in this process now (their code, in threads of their own)."""
    return _running[0] > 0


_told: set[tuple[str, Any]] = set()  # (function, cell) said to run outside a study


def say_outside_study(call: str, outcome: str) -> None:
    """Say once per cell (per run of a notebook cell; once in a script) that ``call`` (a
    function of jupyter_hpo or a framework callback) ran outside a study, where it does
    nothing, so that the cell runs as without jupyter_hpo."""
    cell: Any = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        cell = None if shell is None else (id(shell), shell.execution_count)
    except ImportError:
        pass
    key = (call.partition("(")[0], cell)
    if key in _told:
        return
    _told.add(key)
    print(f"jupyter_hpo: {call} ran outside a study, so {outcome}: the cell runs as it "
          f"would without jupyter_hpo (to tune it, run it with %%hpo; this is said once "
          f"per cell)", file=sys.stderr, flush=True)


def _in_other_thread(what: str, thread: str) -> str:
    return (f"{what}() was called in the thread {thread!r}, which is not a trial's own "
            f"thread (a thread the trial started, a data loader's or a callback's): call it "
            f"from the trial's code itself, e.g. collect the values in that thread and report "
            f"them from the training loop")
