"""The configurations a study runs before its searcher's own proposals, in order.

First the trials of a resumed study that were interrupted (run again with the same
configuration, continuing from their checkpoint when they saved one), then the configurations
the user enqueued (``study.enqueue``, ``points_to_evaluate``, ``%%hpo --enqueue``), which may be
partial: the searcher completes them. The user's part of the queue is stored with the study,
so a crash loses none of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..records import runs_again

if TYPE_CHECKING:
    from ..records import StudyRecord
    from ..space import Space

__all__ = ["Queued", "TrialQueue", "points_to_queue", "ran_again"]


@dataclass(frozen=True)
class Queued:
    """One queued configuration: ``rerun_of`` is the interrupted trial it runs again (its
    full configuration), or None for a configuration the user enqueued."""

    config: Mapping[str, Any]
    rerun_of: Any = None

    @property
    def enqueued(self) -> dict[str, Any] | None:
        """What the user enqueued (None for a re-run)."""
        return None if self.rerun_of is not None else dict(self.config)


class TrialQueue:
    """Re-runs first, then the user's configurations, each in the order they came."""

    def __init__(self) -> None:
        self._reruns: deque[Queued] = deque()
        self._user: deque[Queued] = deque()

    def __len__(self) -> int:
        return len(self._reruns) + len(self._user)

    def add_rerun(self, trial: Any) -> None:
        self._reruns.append(Queued(dict(trial.config), trial))

    def add(self, config: Mapping[str, Any]) -> None:
        self._user.append(Queued(dict(config)))

    def pop(self) -> Queued | None:
        if self._reruns:
            return self._reruns.popleft()
        return self._user.popleft() if self._user else None

    def push_front(self, item: Queued) -> None:
        """Put back an item whose trial did not start."""
        (self._reruns if item.rerun_of is not None else self._user).appendleft(item)

    def pending(self) -> tuple[dict[str, Any], ...]:
        """The user's configurations not started yet (what storage keeps)."""
        return tuple(dict(item.config) for item in self._user)

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether the user's part holds ``config`` already."""
        return any(dict(item.config) == dict(config) for item in self._user)


def ran_again(trials: Sequence[Any], space: Space) -> set[int]:
    """The interrupted ones among a resumed study's stored ``trials`` whose configuration a
    later trial ran: an earlier resume ran them again already (or the searcher proposed the
    same), so they are not run once more on every later resume."""
    def key(config: Mapping[str, Any]) -> tuple[float, ...] | None:
        try:
            return tuple(space.to_unit(config))
        except Exception:  # noqa: BLE001 - a stored value outside the space: never matched
            return None

    last: dict[tuple[float, ...], int] = {}
    for trial in trials:
        found = key(trial.config)
        if found is not None:
            last[found] = max(last.get(found, -1), trial.trial_id)
    out = set()
    for trial in trials:
        if runs_again(trial):
            found = key(trial.config)
            if found is not None and last[found] > trial.trial_id:
                out.add(trial.trial_id)
    return out


def points_to_queue(space: Space, points: Sequence[Mapping[str, Any]],
                    stored: StudyRecord | None) -> tuple[list[dict[str, Any]], str]:
    """``points_to_evaluate`` checked against ``space`` (a ``SpaceError`` names the point and
    the rule), without those a resumed study ran or queued already; and a note saying how
    many were left out."""
    seen = []
    if stored is not None:
        seen = [dict(t.enqueued) for t in stored.trials if t.enqueued is not None]
        seen += [dict(c) for c in stored.queue]
    kept, repeated = [], 0
    for i, point in enumerate(points):
        point = space.matched_choices(point)
        space.check_partial(point, f"points_to_evaluate[{i}]")
        if dict(point) in seen:
            repeated += 1
        else:
            kept.append(dict(point))
    note = (f"{repeated} of the configurations to evaluate first were run or queued by this "
            f"study already, so they were not queued again") if repeated else ""
    return kept, note
