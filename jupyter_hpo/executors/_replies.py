"""What a trial in another process (a worker process, a Dask task) does with the kernel's answer
to its ``report()``: the same in both, so the two executors cannot drift apart."""

from __future__ import annotations

from typing import Any

from ..trial import TrialCompleted, TrialReleased, TrialStopped, current_trial


def follow_reply(reply: Any, values: dict[str, Any]) -> None:
    """Keep the trial's copy of its reports in step with the study's, then go on (return),
    stop (``TrialStopped``), end as completed after max_t (``TrialCompleted``: the code ends
    as at a stop), pause for a later promotion (``TrialReleased``) or raise the error the kernel
    sent back (e.g. a report the study refused)."""
    # the study recorded the report ("complete" answers one past max_t, which it did not)
    if reply in ("continue", "stop"):
        trial = current_trial()
        if trial is not None:
            trial.reports.append(values)
    if reply == "stop":
        raise TrialStopped()
    if reply == "complete":
        raise TrialCompleted()
    if reply == "release":
        raise TrialReleased()
    if isinstance(reply, tuple) and reply[0] == "error":
        raise reply[1]
