"""The parts of the controller that keep the results: the incumbent (best trial and its
history), the rule that stops a study whose first trials all fail the same way, and the frozen
records that snapshots read.

A mixin of :class:`~jupyter_hpo.controller.Controller`: the methods use its lock, trials and
settings; those whose name or docstring says "under the lock" expect the caller to hold it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import HPOError, StudyFailedError
from ..records import TrialRecord, TrialStatus, finite_number, is_trial_id, no_trial_text

if TYPE_CHECKING:
    from ..trial import Trial

__all__ = ["ResultsMixin"]


class ResultsMixin:
    """Incumbent, repeated failures and records of the controller's trials."""

    def _repeated_failure(self, trial: Trial) -> bool:
        """Under the lock: True (and ``error`` set) when the first trials all failed with the
        same error (up to its numbers: see ``error_shape``), so the study stops and shows it
        once. Constant time: once a trial ended well, or the errors differ, the rule can no
        longer apply."""
        if self.error or not self._only_failures:
            return False
        if trial.status is not TrialStatus.FAILED:
            if trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                self._only_failures = False
            return False
        self._first_failures.append(trial)
        if len({error_shape(t.error) for t in self._first_failures}) > 1:
            self._only_failures = False
            return False
        k = min(self.max_initial_failures, self.budget or self.max_initial_failures)
        if len(self._first_failures) < k:
            return False
        first = self._first_failures[0]
        detail = first.traceback or first.error
        if first.traceback and first.error and first.error not in first.traceback:
            detail = f"{first.traceback.rstrip()}\n({first.error})"  # e.g. why sys.exit(2)
        numbers = ("" if len({t.error for t in self._first_failures}) == 1
                   else " (but for the numbers in it)")
        failed = "the first trial failed" if k == 1 else \
            f"the first {k} trials all failed with the same error{numbers}"
        self.error = StudyFailedError(
            f"{failed}, so the study stopped. Trial {first.trial_id}'s traceback:\n{detail}")
        return True

    def _all_failed(self) -> StudyFailedError | None:
        """Under the lock, when the study ends on its own: an error when every trial failed
        (on different errors, or the repeated-failure rule would have stopped it), so a
        notebook's "Run All" stops there instead of going on without a result."""
        if not self.trials or any(t.status is not TrialStatus.FAILED for t in self.trials):
            return None
        by_error: dict[str, list[int]] = {}
        for trial in self.trials:
            by_error.setdefault(_last_line(trial.error), []).append(trial.trial_id)
        shown = [f"  {error} (trial{'s' if len(ids) > 1 else ''} "
                 f"{', '.join(map(str, ids[:5]))}{', ...' if len(ids) > 5 else ''})"
                 for error, ids in list(by_error.items())[:5]]
        more = len(by_error) - len(shown)
        first = self.trials[0]
        return StudyFailedError(
            f"all {len(self.trials)} trials failed ("
            f"{'1 error' if len(by_error) == 1 else f'{len(by_error)} different errors'}), so no "
            f"trial reported {self.metric!r}:\n" + "\n".join(shown)
            + (f"\n  and {more} more" if more > 0 else "")
            + f"\nTrial {first.trial_id}'s traceback:\n{first.traceback or first.error}")

    def _consider_incumbent(self, trial: Trial, values: dict[str, Any], at: float) -> bool:
        value = finite_number(values.get(self.metric))
        return value is not None and self._improve(trial, value, at)

    def _improve(self, trial: Trial, value: float, at: float) -> bool:
        """Under the lock: ``value`` of ``trial`` becomes the incumbent if it is better."""
        best = self.best_value
        if best is not None and not self._sign * value < self._sign * best:
            return False
        self.best_trial, self.best_value = trial, value
        self.incumbents.append((at, trial.trial_id, value))
        return True

    def _recompute_incumbent(self) -> None:
        """The incumbent failed: replay the other trials' reports in arrival order."""
        self.best_trial, self.best_value = None, None
        self.incumbents = []
        history = sorted((at, t.trial_id, i) for t in self.trials
                         if t.status is not TrialStatus.FAILED
                         for i, at in enumerate(t.report_times[:len(t.reports)]))
        for at, trial_id, i in history:
            trial = self.trials[trial_id]
            self._consider_incumbent(trial, trial.reports[i], at)

    def _trial(self, trial_id: int) -> Trial:
        """The trial ``trial_id`` (any integer type: a numpy one read from a table too); an
        HPOError that says which ids there are."""
        if not is_trial_id(trial_id) or not 0 <= trial_id < len(self.trials):
            raise HPOError(no_trial_text(None, trial_id, list(range(len(self.trials)))))
        return self.trials[int(trial_id)]

    def _check_trial_id(self, trial_id: Any) -> None:
        """Refuse an id that is no whole number before the lock is taken: its ``repr`` in the
        message may read the study (``study.apply(globals())`` holds the study), which takes
        the lock, and the call hung."""
        if not is_trial_id(trial_id):
            raise HPOError(no_trial_text(None, trial_id, list(range(len(self.trials)))))

    def records(self, trial_ids: Iterable[int] | None = None) -> list[TrialRecord]:
        """Frozen records of the trials (all, or those in ``trial_ids``), taken together."""
        if trial_ids is not None:
            trial_ids = list(trial_ids)
            for trial_id in trial_ids:
                self._check_trial_id(trial_id)
        with self._lock:
            return self.records_locked(trial_ids)

    def records_locked(self, trial_ids: Iterable[int] | None = None) -> list[TrialRecord]:
        """``records()`` for a caller that holds the lock. Finished trials' records are made
        once, so a snapshot of a large study copies a list and freezes only the running
        trials."""
        if trial_ids is None:
            out = list(self._records)
            for trial_id in self._alive:  # exactly the trials without a record yet
                out[trial_id] = self.trials[trial_id].freeze()
            return out
        out = []
        for trial_id in trial_ids:
            trial_id = self._trial(trial_id).trial_id
            record = self._records[trial_id]
            out.append(record if record is not None else self.trials[trial_id].freeze())
        return out


_SPACES = re.compile(r"[ \t]+")
_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def _last_line(error: str | None) -> str:
    """The line of an error message that names it (a traceback's last one)."""
    lines = [line for line in (error or "unknown error").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def error_shape(error: str | None) -> str | None:
    """``error`` with each number replaced by ``#``: the same bug in every trial often says
    something that depends on the configuration ("shapes (32x64 and 128x10)", "tried to
    allocate 2.00 GiB", "the objective returned (0.42, 1)") or an object's address; spaces
    are dropped too (numpy pads the numbers of an array to one width: "[0.36, 0.7 ]")."""
    return None if error is None else _SPACES.sub("", _NUMBER.sub("#", error))
