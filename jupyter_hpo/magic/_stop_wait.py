"""Saying why a stopping study still holds the cell: trials in threads that do not report
again (a graceful stop ends them only at their next ``report()`` or their code's end)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..records import StudyState, TrialStatus

if TYPE_CHECKING:
    from ..study import Study

NOTE_AFTER_S = 5.0
"""How long a stopping study waits for its running trials before the cell says why."""


class StopWaitNote:
    """Prints once, when a study has been stopping for ``NOTE_AFTER_S`` and trials in threads
    still run, which trials it waits for and how to stop waiting."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.since: float | None = None
        self.said = False

    def check(self) -> None:
        """Call while the cell waits; prints the note at most once."""
        study = self.study
        if self.said or study.state is not StudyState.STOPPING \
                or getattr(study.executor, "name", None) != "thread":
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
            return
        if now - self.since < NOTE_AFTER_S:
            return
        running = [t.trial_id for t in study.trials if t.status is TrialStatus.RUNNING]
        if running:
            self.said = True
            print(stop_wait_note(study.name, study.stop_reason, running, now - self.since))


def stop_wait_note(name: str, reason: str, trial_ids: list[int], waited: float) -> str:
    """Which trials a stopping study waits for, why it cannot end them, and what to do."""
    which = f"trial {trial_ids[0]}" if len(trial_ids) == 1 \
        else f"trials {', '.join(map(str, trial_ids))}"
    times = "again" if reason == "interrupted" else "twice"  # the first one stopped it
    return (f"jupyter_hpo: {name} is stopping ({reason}) and is waiting for {which}, which "
            f"has not called report() in the {waited:.0f}s since: a trial running in a thread "
            f"stops at its next report() or when its code returns. To end it now, interrupt the "
            f"kernel {times} (or click Stop study twice): its code is then stopped at its next "
            f"line of Python (a long call into C, such as time.sleep or a compiled fit(), ends "
            f"first); with --executor "
            f"process (and --trial-timeout T) such a trial is killed instead")
