"""What the dashboard knows of a study, kept up to date from one snapshot to the next.

The dashboard reads one :class:`~jupyter_hpo.records.StudyRecord` per refresh. Finished trials
never change, so :class:`StudyDigest` reads each of them once (its best value, its place among
the best and the longest trials); unfinished trials are re-read from the report where the last
refresh left off. A refresh then costs what changed since the last one, not the size of the
study, and what is drawn or listed is bounded by the constants below.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..records import Direction, TrialStatus, finite_number, runs_again

if TYPE_CHECKING:
    from ..records import StudyRecord, TrialRecord

__all__ = ["KEPT_BEST", "StudyDigest", "downsample", "record_of"]

KEPT_BEST = 64
"""Finished trials kept in each ranking (best value, longest duration): enough for the table's
top rows and the curves of the best trials."""


def record_of(study: Any) -> StudyRecord:
    """A study's record: ``study.snapshot()`` for a live or loaded Study, the record itself for
    a StudyRecord."""
    snapshot = getattr(study, "snapshot", None)
    return snapshot() if callable(snapshot) else study


def trial_of(record: StudyRecord, trial_id: int) -> TrialRecord | None:
    """The trial ``trial_id`` of ``record``, found by position first (trials are kept in id
    order), without raising."""
    trials = record.trials
    if 0 <= trial_id < len(trials) and trials[trial_id].trial_id == trial_id:
        return trials[trial_id]
    return next((t for t in trials if t.trial_id == trial_id), None)


def downsample(xs: Sequence[float], ys: Sequence[float], limit: int) -> tuple[list[float],
                                                                             list[float]]:
    """At most ``limit`` (>= 2) evenly spaced points of a curve, its first and last included."""
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    picks = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return [xs[i] for i in picks], [ys[i] for i in picks]


@dataclass
class _Curve:
    """A trial's points (resource or report number, metric) read so far."""

    seen: int = 0
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


@dataclass
class _Unfinished:
    """Reports read so far of a trial that still runs, and the best value among them."""

    seen: int = 0
    best: float | None = None


class StudyDigest:
    """Counts, rankings and curves of a study, updated from successive records."""

    def __init__(self, metric: str, direction: Direction | str, resource: str) -> None:
        self.metric, self.resource = metric, resource
        self.drawn = metric  # the reported value the curves show (``set_drawn``)
        self._values: dict[str, None] = {metric: None}  # numeric reported keys, in order seen
        self.direction = Direction.of(direction)
        self.record: StudyRecord | None = None
        self.finished_counts: Counter[str] = Counter()
        #: finished trials that a resume runs again (``runs_again``): not counted as spent
        self.run_again = 0
        self.best_of: dict[int, float | None] = {}  # finished trials: their best value
        self.failed: list[int] = []  # finished failed trials, in the order they were read
        self.unfinished: list[TrialRecord] = []
        self.max_reports = 0
        self.has_resource = False
        self.shows_device = False
        self._best: list[tuple[float, int]] = []  # max-heap (-loss, -id) of the best finished
        self._longest: list[tuple[float, int]] = []  # min-heap (duration, -id) of the longest
        self._frontier = 0  # trials before this position are finished and read
        self._unfinished: dict[int, _Unfinished] = {}
        self._curves: dict[int, _Curve] = {}

    # ---------------------------------------------------------------- reading
    def update(self, record: StudyRecord) -> None:
        """Take the newest record: read the trials that finished since, and the new reports
        of those that still run."""
        self.record = record
        trials = record.trials
        unfinished: list[TrialRecord] = []
        contiguous = True
        for position in range(self._frontier, len(trials)):
            trial = trials[position]
            if trial.trial_id in self.best_of:
                pass
            elif trial.status.finished:
                self._read_finished(trial)
            else:
                contiguous = False
                unfinished.append(trial)
                self._read_unfinished(trial)
                continue
            if contiguous:
                self._frontier = position + 1
        self.unfinished = unfinished
        alive = {t.trial_id for t in unfinished}
        for trial_id in [t for t in self._unfinished if t not in alive]:
            del self._unfinished[trial_id]

    def _scan(self, trial: TrialRecord, start: int) -> float | None:
        """The best metric value of ``trial``'s reports from ``start`` on; notes the resource
        and the number of reports."""
        best = None
        reports = trial.reports
        known = self._values
        for values in reports[start:] if start else reports:
            value = finite_number(values.get(self.metric))
            if value is not None and self.direction.better(value, best):
                best = value
            if not self.has_resource and self.resource in values:
                self.has_resource = True
            for key, reported in values.items():
                if key not in known and key != self.resource \
                        and finite_number(reported) is not None:
                    known[key] = None
        self.max_reports = max(self.max_reports, len(reports))
        if trial.resources != "cpu":
            self.shows_device = True
        return best

    def _read_finished(self, trial: TrialRecord) -> None:
        best = self._scan(trial, 0)
        trial_id = trial.trial_id
        self.best_of[trial_id] = best
        self.finished_counts[trial.status.value] += 1
        self.run_again += runs_again(trial)
        self._unfinished.pop(trial_id, None)
        if trial.status is TrialStatus.FAILED:
            self.failed.append(trial_id)
        elif best is not None:
            _keep(self._best, (-self.direction.sign * best, -trial_id))
        if trial.end_time is not None:
            _keep(self._longest, (trial.end_time - trial.start_time, -trial_id))

    def _read_unfinished(self, trial: TrialRecord) -> None:
        state = self._unfinished.setdefault(trial.trial_id, _Unfinished())
        if len(trial.reports) > state.seen:
            best = self._scan(trial, state.seen)
            if best is not None and self.direction.better(best, state.best):
                state.best = best
            state.seen = len(trial.reports)

    # ---------------------------------------------------------------- facts
    def best_value(self, trial: TrialRecord) -> float | None:
        """The best reported value of ``trial`` (read once for finished trials)."""
        if trial.trial_id in self.best_of:
            return self.best_of[trial.trial_id]
        state = self._unfinished.get(trial.trial_id)
        if state is not None and state.seen == len(trial.reports):
            return state.best
        return trial.best(self.metric, self.direction)

    def has_values(self) -> bool:
        """Whether some trial reported a finite value of the metric (else its curves would
        be an empty plot)."""
        return any(v is not None for v in self.best_of.values()) \
            or any(state.best is not None for state in self._unfinished.values())

    def counts(self) -> dict[str, int]:
        """Trials per status (every status listed)."""
        counts = {s.value: self.finished_counts.get(s.value, 0) for s in TrialStatus}
        for trial in self.unfinished:
            counts[trial.status.value] += 1
        return counts

    @property
    def total(self) -> int:
        return 0 if self.record is None else len(self.record.trials)

    @property
    def spent(self) -> int:
        """Trials that count against the budget (interrupted ones, and those cancelled by a
        stop of the whole study, are run again)."""
        return self.total - self.run_again

    def best_finished(self, k: int) -> list[int]:
        """Ids of the (at most ``k`` <= KEPT_BEST) best finished trials that did not fail,
        best first (ties: the earlier trial first)."""
        return [-neg_id for _, neg_id in heapq.nlargest(k, self._best)]

    def longest_finished(self, k: int) -> list[int]:
        """Ids of the (at most ``k`` <= KEPT_BEST) longest finished trials, longest first."""
        return [-neg_id for _, neg_id in heapq.nlargest(k, self._longest)]

    # ---------------------------------------------------------------- curves
    @property
    def values(self) -> tuple[str, ...]:
        """The numbers the trials reported besides the resource: the metric, then the others
        (``train_loss`` beside ``val_loss``) in the order they first came."""
        return tuple(self._values)

    def set_drawn(self, value: str) -> None:
        """Draw the curves of another reported value (the metric's again with ``metric``)."""
        if value != self.drawn:
            self.drawn = value
            self._curves.clear()

    def curve(self, trial: TrialRecord) -> tuple[list[float], list[float]]:
        """The trial's points: the resource (else the report number) and the value drawn (the
        metric unless ``set_drawn`` chose another); read incrementally, kept only for trials
        passed to ``keep_curves``."""
        state = self._curves.setdefault(trial.trial_id, _Curve())
        reports = trial.reports
        for number in range(state.seen, len(reports)):
            values = reports[number]
            y = finite_number(values.get(self.drawn))
            if y is None:
                continue
            x = finite_number(values.get(self.resource, number + 1))
            state.xs.append(float(number + 1) if x is None else x)
            state.ys.append(y)
        state.seen = len(reports)
        return state.xs, state.ys

    def keep_curves(self, trial_ids: Iterable[int]) -> None:
        """Forget the points of every trial not in ``trial_ids`` (they were not drawn)."""
        keep = set(trial_ids)
        for trial_id in [t for t in self._curves if t not in keep]:
            del self._curves[trial_id]


def _keep(heap: list[tuple[float, int]], item: tuple[float, int]) -> None:
    """Add ``item`` to ``heap``, a min-heap that keeps the KEPT_BEST largest items."""
    if len(heap) < KEPT_BEST:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)
