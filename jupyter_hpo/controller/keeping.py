"""What a study keeps of its trials beyond their records, within bounds.

- **Namespaces**: the variables of the ``keep_namespaces`` best finished trials (thread
  executor), so ``study.apply(trial_id)`` can put a trial's variables (its ``model``, ...) into
  the notebook, not only its hyperparameters. More would hold every trial's model in memory.
  Worker processes and Dask workers keep their trials' themselves; the best trial's, fetched
  when the study ends, is kept here with its note (``take``).
- **Checkpoint files**: see :func:`jupyter_hpo.checkpoints.kept`; the others are removed.

The controller calls these under its lock (they only touch dicts and records); files are
deleted by the caller afterwards, outside the lock.
"""

from __future__ import annotations

from typing import Any

from ..checkpoints import KEEP_BEST, Checkpoint, kept
from ..options import DEFAULT_KEEP_NAMESPACES
from ..records import Direction

__all__ = ["DEFAULT_KEEP_NAMESPACES", "TrialKeeper"]



class TrialKeeper:
    """Namespaces of the best trials and the checkpoint files worth keeping."""

    def __init__(self, metric: str, direction: Direction,
                 keep_namespaces: int = DEFAULT_KEEP_NAMESPACES,
                 keep_checkpoints: bool = False) -> None:
        self.metric, self.direction = metric, direction
        self.keep_namespaces, self.keep_checkpoints = keep_namespaces, keep_checkpoints
        self._namespaces: dict[int, dict[str, Any]] = {}
        self._notes: dict[int, str] = {}  # what a fetch left out, or why it brought nothing

    # ------------------------------------------------------------------ namespaces
    def keep_namespace(self, trial: Any, namespace: dict[str, Any] | None,
                       trials: list[Any], best_id: int | None) -> None:
        """Keep ``trial``'s namespace if it is among the best; drop the worst beyond the
        bound (the incumbent's is never dropped)."""
        if namespace is None or self.keep_namespaces < 1:
            return
        self._namespaces[trial.trial_id] = namespace
        if len(self._namespaces) <= self.keep_namespaces:
            return
        def rank(trial_id: int) -> tuple[int, float]:
            if trial_id == best_id:
                return (0, 0.0)
            value = trials[trial_id].best(self.metric, self.direction)
            return (1, self.direction.sign * value) if value is not None else (2, 0.0)
        for trial_id in sorted(self._namespaces, key=rank)[self.keep_namespaces:]:
            del self._namespaces[trial_id]

    def kept_namespaces(self) -> dict[int, dict[str, Any]]:
        """The namespaces kept now, by trial id."""
        return dict(self._namespaces)

    def adopt_namespace(self, trial_id: int, namespace: dict[str, Any]) -> None:
        """Keep a namespace that an earlier run of the study in this kernel kept (a resume):
        the next ``keep_namespace`` bounds them all again."""
        if self.keep_namespaces > 0:
            self._namespaces[trial_id] = namespace

    def forget_namespace(self, trial_id: int) -> None:
        self._namespaces.pop(trial_id, None)

    def namespace(self, trial_id: int | None) -> dict[str, Any] | None:
        return None if trial_id is None else self._namespaces.get(trial_id)

    def take(self, trial_id: int, variables: dict[str, Any] | None, note: str) -> None:
        """Keep what was fetched of ``trial_id`` from its worker (the best trial's, when the
        study ends): its variables, if any came back, and the note on them."""
        if variables is not None:
            self._namespaces[trial_id] = variables
        if note:
            self._notes[trial_id] = note

    def note(self, trial_id: int) -> str:
        return self._notes.get(trial_id, "")

    # ------------------------------------------------------------------ checkpoints
    def prune(self, trials: list[Any]) -> list[tuple[Any, Checkpoint]]:
        """The trials whose checkpoint is no longer kept, with it; the caller clears
        ``trial.checkpoint`` and deletes the files."""
        keep = kept(trials, self.metric, self.direction, self.keep_checkpoints, KEEP_BEST)
        return [(t, t.checkpoint) for t in trials
                if t.checkpoint is not None and t.trial_id not in keep]
