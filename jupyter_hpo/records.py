"""The state model that live and stored studies share: frozen records, states, the direction.

As in Optuna's ``FrozenTrial`` and ``StudyDirection``: a trial or a study is read as an
immutable record, so the dashboard, the recorder, the tables, the plots and ``Study.load`` all
read the same thing whether the study runs in this kernel or was loaded from storage. The
direction normalises metric values once, so searchers and schedulers always minimise a finite
"loss" and never look at ``mode`` themselves.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .other_names import STUDY_NAMES, TRIAL_NAMES, OtherNamesHint
from .read_only import (
    CONFIG,
    ENQUEUED,
    USER_ATTRS,
    ReadOnlyDict,
    ReadOnlyReports,
    read_only,
    read_only_queue,
    read_only_reports,
    read_only_settings,
)

if TYPE_CHECKING:
    from .checkpoints import Checkpoint
    from .space import Space

__all__ = ["Direction", "StudyRecord", "StudyState", "StudySummary", "TrialRecord",
           "TrialStatus", "finite_number", "incumbents_of", "is_number", "runs_again",
           "trials_text"]


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool; NaN and infinities count)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite_number(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number (not a bool), else ``None``."""
    kind = type(value)
    if kind is float:  # the common cases first, without the ABC checks below
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # 10**400: no float holds it
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _TextEnum(str, Enum):
    """A string enum that prints as its value (``f"{state}"`` gives ``finished``)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Direction(_TextEnum):
    """Whether the metric is minimised or maximised; ``loss`` maps values to "lower is better"."""

    MIN = "min"
    MAX = "max"

    @classmethod
    def of(cls, mode: str | Direction) -> Direction:
        """``"min"``/``"minimize"`` or ``"max"``/``"maximize"`` (any case), or a Direction."""
        if isinstance(mode, Direction):
            return mode
        text = str(mode).strip().lower() if isinstance(mode, str) else None
        aliases = {"min": cls.MIN, "minimize": cls.MIN, "minimise": cls.MIN,
                   "max": cls.MAX, "maximize": cls.MAX, "maximise": cls.MAX}
        if text not in aliases:
            raise ValueError(f"mode is {mode!r}, but must be 'min' or 'max'")
        return aliases[text]

    @property
    def sign(self) -> float:
        return 1.0 if self is Direction.MIN else -1.0

    def loss(self, value: Any) -> float | None:
        """The value to minimise, or ``None`` for a missing, non-numeric or non-finite value."""
        number = finite_number(value)
        if number is None or self is Direction.MIN:
            return number
        return -number

    def better(self, a: float, b: float | None) -> bool:
        """Whether ``a`` is strictly better than ``b`` (anything beats ``None``)."""
        return b is None or self.sign * a < self.sign * b

    def best(self, values: Iterable[Any]) -> float | None:
        """The best finite value of ``values``, or ``None``."""
        best = None
        for value in values:
            number = finite_number(value)
            if number is not None and self.better(number, best):
                best = number
        return best

    def describe(self) -> str:
        return "higher is better" if self is Direction.MAX else "lower is better"


class TrialStatus(_TextEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (TrialStatus.RUNNING, TrialStatus.PAUSED)


def runs_again(trial: Any) -> bool:
    """Whether a resume runs ``trial`` (a record or a live trial) again, as a new trial with
    its configuration (from its checkpoint when it saved one): it was ``interrupted`` (its
    kernel died while it ran), or ``cancelled`` by a stop of the whole study (Stop study,
    Ctrl-C, ``%hpo stop``, ``study.stop()``, a stop request), not on its own (Stop trial,
    ``%hpo stop --trial``) and not by the study's time limit. Such trials do not count
    against the budget: their re-runs do."""
    return trial.status is TrialStatus.INTERRUPTED or (
        trial.status is TrialStatus.CANCELLED and bool(getattr(trial, "study_stopped", False)))


class StudyState(_TextEnum):
    """``created`` -> ``running`` (-> ``stopping``) -> ``finished`` or ``failed``; a stored
    study whose kernel died while it ran reads as ``interrupted``."""

    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self in (StudyState.FINISHED, StudyState.FAILED, StudyState.INTERRUPTED)

    @property
    def active(self) -> bool:
        """Running or stopping: trials may still report."""
        return self in (StudyState.RUNNING, StudyState.STOPPING)


class ReportsReader:
    """What a trial's ``reports`` say, and its ``id``: shared by the live ``Trial`` and its
    record."""

    trial_id: int
    reports: Any

    @property
    def id(self) -> int:
        """The trial's number in its study (``trial_id``): ``trial.id`` in a cell."""
        return self.trial_id

    def last(self, key: str, default: Any = None) -> Any:
        """The last reported value of ``key``."""
        for values in reversed(self.reports):
            if key in values:
                return values[key]
        return default

    def best(self, metric: str, direction: Direction | str) -> float | None:
        """The best reported value of ``metric`` under ``direction`` ("min" or "max")."""
        return Direction.of(direction).best(r.get(metric) for r in self.reports)


class SettingsReader:
    """What a study's ``direction`` and ``settings`` say: shared by the live ``Study``, its
    record and a storage's summary of it."""

    direction: Direction
    settings: Mapping[str, Any]

    @property
    def mode(self) -> str:
        return self.direction.value

    @property
    def budget(self) -> int | None:
        return self.settings.get("trials")

    @property
    def time_limit(self) -> float | None:
        return self.settings.get("time_limit")


_READ_ONLY = {ReadOnlyDict}  # the one type of a record's reports (``set(map(type, ...))``)


@dataclass(frozen=True, eq=False)
class TrialRecord(ReportsReader, OtherNamesHint):
    """One trial as it was when the record was taken. ``times`` holds the seconds since the
    study started at which each report arrived; ``start_time``/``end_time`` are epoch seconds.
    ``user_attrs`` are what the trial set with ``trial.set(key=value)``; ``checkpoint`` is its
    last saved state (``restore()`` loads it); ``enqueued`` the (partial) configuration it was
    enqueued with, None when the searcher proposed it. Its ``config``, ``reports``,
    ``user_attrs`` and ``enqueued`` are read-only dicts (``read_only``): editing a record that
    a study handed out cannot change the study (``dict(trial.config)`` is a copy to edit)."""

    other_names = TRIAL_NAMES  # Optuna's trial.params, ... say what to write
    trial_id: int
    config: Mapping[str, Any]
    status: TrialStatus
    reports: tuple[Mapping[str, Any], ...] = ()
    times: tuple[float, ...] = ()
    start_time: float = 0.0
    end_time: float | None = None
    error: str = ""
    traceback: str = ""
    device: str = "cpu"
    resources: str = "cpu"
    bracket: int = 0
    slot: int = 0
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    enqueued: Mapping[str, Any] | None = None
    study_stopped: bool = False
    """``cancelled`` because the whole study was stopped (not on its own, with Stop trial):
    a resume runs it again, as an ``interrupted`` one (``runs_again``)."""

    def __post_init__(self) -> None:
        """Make what the record holds read-only, whoever built it (a live trial, storage);
        dicts that are read-only already are shared, not copied."""
        trial_id, seal = self.trial_id, object.__setattr__
        if type(self.config) is not ReadOnlyDict:
            seal(self, "config", read_only(self.config, trial_id, CONFIG))
        reports = self.reports
        if type(reports) is not ReadOnlyReports or not set(map(type, reports)) <= _READ_ONLY:
            seal(self, "reports", read_only_reports(reports, trial_id))
        if type(self.times) is not tuple:
            seal(self, "times", tuple(self.times))
        if type(self.user_attrs) is not ReadOnlyDict:
            seal(self, "user_attrs", read_only(self.user_attrs, trial_id, USER_ATTRS))
        if self.enqueued is not None and type(self.enqueued) is not ReadOnlyDict:
            seal(self, "enqueued", read_only(self.enqueued, trial_id, ENQUEUED))

    @property
    def runs_again(self) -> bool:
        """Whether a resume runs this trial again: it was interrupted (its kernel died) or
        cancelled by a stop of the whole study."""
        return runs_again(self)

    def restore(self, map_location: Any = None) -> Any:
        """The object the trial saved last with ``checkpoint(obj)`` (e.g. its model), also
        from a stored study in a fresh kernel. ``map_location`` is passed to ``torch.load``
        (``"cpu"`` to load a GPU model on a machine without one)."""
        from .checkpoints import load
        from .errors import HPOError

        if self.checkpoint is None:
            raise HPOError(f"trial {self.trial_id} has no checkpoint: it never called "
                           f"checkpoint(obj), or its checkpoint was removed because it was "
                           f"stopped early, failed or is not among the best trials (keep every "
                           f"one with --keep-checkpoints)")
        return load(self.checkpoint, map_location)

    def duration_at(self, now: float) -> float:
        return (self.end_time if self.end_time is not None else now) - self.start_time

    @property
    def duration(self) -> float:
        """Seconds from start to end (to now while it runs)."""
        import time

        return self.duration_at(time.time())


def status_counts(trials: Iterable[Any]) -> dict[str, int]:
    """Number of ``trials`` (live trials or records) per status, every status listed."""
    counts = {s.value: 0 for s in TrialStatus}
    for trial in trials:
        counts[trial.status.value] += 1
    return counts


def incumbents_of(trials: Iterable[TrialRecord], metric: str,
                  direction: Direction) -> tuple[tuple[float, int, float], ...]:
    """``(time, trial_id, value)`` each time the best value improved, replaying the reports of
    trials that did not fail in the order they arrived (ties: the earlier trial keeps it)."""
    events = sorted((at, trial.trial_id, i, value)
                    for trial in trials if trial.status is not TrialStatus.FAILED
                    for i, (at, report) in enumerate(zip(trial.times, trial.reports))
                    if (value := finite_number(report.get(metric))) is not None)
    best: float | None = None
    out = []
    for at, trial_id, _, value in events:
        if direction.better(value, best):
            best = value
            out.append((at, trial_id, value))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class StudySummary(SettingsReader):
    """One line of a storage's list of studies (no trials): what a studies panel shows."""

    name: str
    metric: str
    direction: Direction
    resource: str
    state: StudyState
    trials: int
    best_value: float | None
    created: float
    updated: float
    elapsed: float = 0.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""
    stop_reason: str = ""
    owner: str | None = None
    study_id: int | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    """Trials per status, as ``StudyRecord.counts()`` gives them (every status listed)."""
    spent: int = 0
    """Trials that count against the budget, as ``StudyRecord.spent``."""

    def __post_init__(self) -> None:
        """Its settings read-only, as a study's are (shared when they are already)."""
        object.__setattr__(self, "settings", read_only_settings(self.settings))


def trials_text(spent: int, budget: int | None, counts: Mapping[str, int]) -> str:
    """``4/10 trials · 3 completed · 1 failed · 2 interrupted``: the budget spent and the
    trials per status, said the same way by the dashboard, ``%hpo list`` and the terminal; a
    budget below the trials run (a resume with a smaller ``--trials``) is said as such, not as
    ``2/1 trials``."""
    parts = [f"{spent} trials" if budget is None else f"{spent}/{budget} trials"
             if spent <= budget else f"{spent} trials (budget {budget})"]
    parts.extend(f"{n} {status}" for status, n in counts.items() if n)
    return " · ".join(parts)


@dataclass(frozen=True, eq=False)
class StudyRecord(SettingsReader, OtherNamesHint):
    """A whole study as it was when the record was taken: settings, state and every trial.

    Duck-compatible with the live :class:`~jupyter_hpo.study.Study` where tables, plots and
    the dashboard read it (``name``, ``metric``, ``mode``, ``trials``, ``best_trial``, ...).
    """

    other_names = STUDY_NAMES  # Optuna's best_params, ... say what to write
    name: str
    metric: str
    direction: Direction
    resource: str
    space: Space
    settings: Mapping[str, Any]
    state: StudyState
    trials: tuple[TrialRecord, ...]
    elapsed: float = 0.0
    error: str = ""
    stop_reason: str = ""
    created: float = 0.0
    updated: float = 0.0
    owner: str | None = None
    study_id: int | None = None
    incumbents: tuple[tuple[float, int, float], ...] | None = None
    queue: tuple[Mapping[str, Any], ...] = ()
    """Configurations enqueued (``study.enqueue``) that no trial has started yet."""

    def __post_init__(self) -> None:
        """Its settings and queued configurations read-only, whoever built it (a live study,
        storage), so that editing a record cannot change what a study runs with or stores."""
        object.__setattr__(self, "settings", read_only_settings(self.settings))
        object.__setattr__(self, "queue", read_only_queue(self.queue))

    @property
    def done(self) -> bool:
        return self.state.finished

    @cached_property
    def incumbent_history(self) -> tuple[tuple[float, int, float], ...]:
        """``(time, trial_id, value)`` per improvement of the best value."""
        if self.incumbents is not None:
            return self.incumbents
        return incumbents_of(self.trials, self.metric, self.direction)

    @cached_property
    def best_trial(self) -> TrialRecord | None:
        """The trial with the best reported value among those that did not fail."""
        history = self.incumbent_history
        return self.trial(history[-1][1]) if history else None

    @property
    def best_value(self) -> float | None:
        return self.incumbent_history[-1][2] if self.incumbent_history else None

    @property
    def best_config(self) -> dict[str, Any] | None:
        return None if self.best_trial is None else dict(self.best_trial.config)

    def trial(self, trial_id: int) -> TrialRecord:
        """The trial ``trial_id`` (any integer type: a numpy one read from a table too); a
        ValueError naming the ids there are."""
        if is_trial_id(trial_id):
            position = int(trial_id)
            if 0 <= position < len(self.trials) and self.trials[position].trial_id == position:
                return self.trials[position]  # ids are positions, as a study numbers them
            for trial in self.trials:
                if trial.trial_id == position:
                    return trial
        raise ValueError(no_trial_text(self.name, trial_id, [t.trial_id for t in self.trials]))

    @property
    def spent(self) -> int:
        """Trials that count against the budget (interrupted ones, and those cancelled by a
        stop of the whole study, are run again instead: ``runs_again``)."""
        return sum(1 for t in self.trials if not runs_again(t))

    def counts(self) -> dict[str, int]:
        """Number of trials per status (every status listed)."""
        return status_counts(self.trials)

    def report_times(self, trial_id: int) -> list[float]:
        return list(self.trial(trial_id).times)

    def summary(self) -> StudySummary:
        return StudySummary(self.name, self.metric, self.direction, self.resource, self.state,
                            len(self.trials), self.best_value, self.created, self.updated,
                            self.elapsed, self.settings, self.error, self.stop_reason,
                            self.owner, self.study_id, self.counts(), self.spent)

    # ------------------------------------------------------------- tables, plots
    def trials_dataframe(self, attrs: Iterable[str] | None = None) -> Any:
        """One row per trial (pandas; see the README for the columns); ``attrs`` picks
        columns (see ``Study.trials_dataframe``)."""
        from .results import trials_dataframe

        return trials_dataframe(self, attrs)

    def training_curves(self) -> Any:
        """One row per report: trial_id, the resource, every reported key, time."""
        from .results import training_curves

        return training_curves(self)

    def incumbent_over_time(self) -> Any:
        """``time``, ``trial_id``, ``best_value``: one row per improvement."""
        from .results import incumbent_over_time

        return incumbent_over_time(self)

    def plot(self, kind: str = "history", **options: Any) -> Any:
        """A matplotlib figure of this record (see ``Study.plot``)."""
        from .plots import plot

        return plot(self, kind, **options)


def is_trial_id(value: Any) -> bool:
    """Whether ``value`` is an integer that may be a trial id (numpy's from a table
    included; a bool is not one)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def no_trial_text(name: str | None, trial_id: Any, ids: list[int]) -> str:
    """Why ``trial_id`` names no trial of study ``name``, whose trials are ``ids``: a
    negative id does not count from the end (ids are not positions: they start at 0, as
    Optuna's trial numbers do), and an id is a whole number, not a string or a float."""
    study = "the study" if name is None else f"study {name!r}"
    listed = (f"0..{ids[-1]}" if ids == list(range(len(ids))) else ", ".join(map(str, ids))) \
        if ids else "none yet"
    if not is_trial_id(trial_id):
        written = f"; write {int(float(trial_id))}" if _whole(trial_id) else ""
        return (f"a trial id is a whole number, not {reprlib.repr(trial_id)} "
                f"({type(trial_id).__name__})"
                f"{written}: the trials of {study} are {listed}")
    if trial_id < 0 and ids:
        return (f"{study} has no trial {trial_id}: trial ids start at 0 and a negative one "
                f"does not count from the end (its trials: {listed}; the last is {ids[-1]})")
    return f"{study} has no trial {trial_id} (its trials: {listed})"


def _whole(value: Any) -> bool:
    """Whether ``value`` is a float or a string that writes a whole number (``2.0``,
    ``"2"``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool) and math.isfinite(number) and number.is_integer()
