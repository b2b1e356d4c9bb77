"""The configurations a study runs before its searcher's own proposals, in order.

First the trials of a resumed study that were interrupted (run again with the same
configuration, continuing from their checkpoint when they saved one), then the configurations
the user enqueued (``study.enqueue``, ``points_to_evaluate``, ``%%hpo --enqueue``), which may be
partial: the searcher completes them. The user's part of the queue is stored with the study,
so a crash loses none of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Queued", "TrialQueue"]


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
