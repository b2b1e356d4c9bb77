"""The note after a study whose training loops all ended below the auto scheduler's rungs:
a max_t larger than the loop (``epochs = 20`` over ``range(1, 6)``) left it nothing to
measure, so it stopped no trial, silently."""

from __future__ import annotations

from typing import Any

__all__ = ["short_loop_note"]


def short_loop_note(study: Any, magic: bool) -> str:
    """What to change when the default scheduler stopped nothing because every trial ended
    before its last rung below max_t (so no trial gave the final value it measures early
    epochs against); empty otherwise. ``magic``: say the cell's and ``%%hpo``'s way, else
    ``tune()``'s."""
    from .records import TrialStatus
    from .schedulers import AdaptiveScheduler

    scheduler = study.scheduler
    if not isinstance(scheduler, AdaptiveScheduler) or not scheduler.cut_levels \
            or study.stop_reason not in ("", "time limit reached"):
        return ""
    trials = study.trials
    if any(t.status is TrialStatus.STOPPED for t in trials) or sum(
            t.status is TrialStatus.COMPLETED for t in trials) < scheduler.min_pairs:
        return ""
    reached = [r[study.resource] for t in trials for r in t.reports
               if isinstance(r.get(study.resource), (int, float))]
    last_rung = scheduler.cut_levels[-1]
    if not reached or max(reached) >= last_rung:
        return ""
    most = _number(max(reached))
    fix = (f"`epochs = {most}` in the cell or --max-t {most}" if magic else
           f"scheduler_options={{'max_t': {most}}} (or {{'epochs': {most}}} in the space)")
    return (f"no trial was stopped early: every trial ended by {study.resource} {most}, "
            f"before {_number(last_rung)} (the last rung below max_t {_number(scheduler.max_t)}),"
            f" so the auto scheduler never saw a final value to measure the early ones against "
            f"and ran each trial to its end; give the {study.resource} the training loop ends "
            f"at as max_t: {fix}")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
