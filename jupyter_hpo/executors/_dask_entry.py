"""The function of a trial's Dask task, which any worker can unpickle, with jupyter_hpo or
without: it imports :func:`._dask_task.run_trial` when it runs. A worker that cannot (one
that joined the cluster after the study checked its workers) then fails the task with an
``ImportError`` that names it, which the kernel turns into what to install, and the worker
stays in the cluster. ``run_trial`` itself, pickled by reference, would not unpickle there:
Dask took that for a broken connection and dropped the worker, and the trial ran again
elsewhere without a word of why."""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "lacking_worker", "trial_task"]

MISSING = "jupyter_hpo cannot be imported on the Dask worker"
"""How the task's ``ImportError`` begins; the worker's address follows."""


def trial_task(*args: Any) -> str:
    """Run ``run_trial(*args)`` on this worker; an ``ImportError`` naming the worker when it
    cannot import jupyter_hpo. Self-contained: it travels by value (see below)."""
    try:
        from jupyter_hpo.executors._dask_task import run_trial
    except ImportError as exc:
        from distributed import get_worker

        raise ImportError(f"{MISSING} {get_worker().address} ({exc})") from None
    return run_trial(*args)


# A name that cannot be looked up makes pickle fail and cloudpickle (Dask's fallback) send the
# function by value, with no reference to this module.
trial_task.__qualname__ = "trial_task.<by value>"


def lacking_worker(exc: BaseException | None) -> str | None:
    """The address of the worker whose task raised ``exc`` because it lacks jupyter_hpo."""
    text = str(exc) if isinstance(exc, ImportError) else ""
    if not text.startswith(MISSING + " "):
        return None
    return text[len(MISSING) + 1:].split(" ", 1)[0] or None
