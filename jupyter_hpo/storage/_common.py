"""What every storage shares: leases, default names, the state a study is shown in, and the
messages that say what went wrong and what to do, so that both storages say the same thing."""

from __future__ import annotations

import difflib
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import replace
from types import SimpleNamespace

from ..errors import (
    DuplicateStudyError,
    StorageError,
    StudyNotFoundError,
    StudyStateError,
    command_word,
)
from ..records import StudyState, TrialRecord, TrialStatus, runs_again

LEASE_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a lease is free (a live process on this machine
keeps its lease as long as it beats; a dead one loses it at once)."""

DEFAULT_PREFIX = "study-"
INTERRUPTED_ERROR = "its kernel stopped while it ran"

Clock = Callable[[], float]


def owner_id() -> str:
    """``host:pid`` of this process: who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_alive(owner: str | None, heartbeat: float | None, now: float) -> bool:
    """Whether the process named by ``owner`` (``host:pid``) still runs the study: on this
    machine a process that has exited loses its lease at once; otherwise the lease lasts
    ``LEASE_TIMEOUT`` seconds after the last heartbeat."""
    if not owner:
        return False
    host, _, pid_text = owner.rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OSError):
            pass
    return heartbeat is not None and now - heartbeat < LEASE_TIMEOUT


def shown_state(state: StudyState, owner: str | None, heartbeat: float | None,
                now: float) -> StudyState:
    """The state to show: a study stored as running whose process is gone is ``interrupted``."""
    if state.active and not lease_alive(owner, heartbeat, now):
        return StudyState.INTERRUPTED
    return state


def shown_trials(trials: Iterable[TrialRecord], state: StudyState,
                 heartbeat: float | None) -> tuple[TrialRecord, ...]:
    """The trials to show: in a study shown ``interrupted``, one stored as running or paused
    is ``interrupted`` too, ended at the study's last heartbeat (as a resume records it), and
    so is one stored ``cancelled`` by the stop of the whole study that the kernel's end cut
    short (a restart interrupts the kernel before it ends it)."""
    if state is not StudyState.INTERRUPTED:
        return tuple(trials)
    return tuple(replace(t, status=TrialStatus.INTERRUPTED, error=INTERRUPTED_ERROR,
                         end_time=_interrupted_end(t, heartbeat))
                 if cut_short(t.status, t.study_stopped) else t for t in trials)


def cut_short(status: TrialStatus, study_stopped: bool) -> bool:
    """Whether a trial of a study whose kernel ended while it ran was cut short by that end:
    it was running or paused, or cancelled by the stop of the whole study."""
    return not status.finished or (status is TrialStatus.CANCELLED and study_stopped)


def _interrupted_end(trial: TrialRecord, heartbeat: float | None) -> float:
    if trial.end_time is not None:
        return trial.end_time
    return max(trial.start_time, trial.start_time if heartbeat is None else heartbeat)


def shown_counts(groups: Iterable[tuple[str, bool, int]], state: StudyState
                 ) -> tuple[dict[str, int], int]:
    """Trials per status and the trials spent of the budget, from ``(status,
    study_stopped, count)`` groups of stored trials, shown as ``shown_trials`` shows them:
    what a listing says without loading the trials."""
    counts = {s.value: 0 for s in TrialStatus}
    spent = 0
    for status, study_stopped, n in groups:
        trial = TrialStatus(status)
        if state is StudyState.INTERRUPTED and cut_short(trial, study_stopped):
            trial = TrialStatus.INTERRUPTED
        counts[trial.value] += n
        if not runs_again(SimpleNamespace(status=trial, study_stopped=bool(study_stopped))):
            spent += n
    return counts, spent


def stored_state(state: StudyState) -> StudyState:
    """What is written for ``state``: ``stopping`` is kept as ``running`` (the study still
    runs), and so is ``interrupted``, which is only ever derived from a dead lease (a resume
    that failed to start writes back the state it read, then gives up its lease)."""
    if state in (StudyState.STOPPING, StudyState.INTERRUPTED):
        return StudyState.RUNNING
    return state


def first_free_name(taken: Iterable[str], prefix: str = DEFAULT_PREFIX) -> str:
    """``study-N`` with the smallest N >= 1 not in ``taken``."""
    taken = set(taken)
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def check_name(name: str | None) -> None:
    """A study name is ``None`` (choose one) or non-empty text."""
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise StorageError(f"the study name is {name!r}, but must be non-empty text (or None "
                           f"for study-N)")


# ------------------------------------------------------------------------- messages
def name_taken(location: str, name: str, running_by: str | None = None
               ) -> DuplicateStudyError:
    """The study ``name`` exists; ``running_by`` names the live process that runs it (which
    neither a resume nor a delete may interrupt)."""
    word = command_word(name)
    if running_by is not None:
        return DuplicateStudyError(
            f"a study named {name!r} already exists in {location} and is running ({running_by})"
            f": pick another --name, or wait until it has ended and continue it with --name "
            f"{word} --resume (`%hpo show {word}` shows its progress)")
    return DuplicateStudyError(
        f"a study named {name!r} already exists in {location}: continue it with --name "
        f"{word} --resume, pick another --name, or remove it with %hpo delete {word}")


def running_by(state: StudyState, owner: str | None, heartbeat: float | None, now: float,
               me: str) -> str | None:
    """Who runs a stored study now: 'in this process', 'in another kernel (OWNER)', or None
    when it is not running (ended, or its process is gone)."""
    if not state.active or not lease_alive(owner, heartbeat, now):
        return None
    return "in this process" if owner == me else f"in another kernel, {owner}"


#: the most stored names a "no study named ..." message lists (a sweep may store hundreds)
NAMES_SHOWN = 10


def not_found(location: str, name: str, names: list[str]) -> StudyNotFoundError:
    """The error for a study ``name`` that ``location`` does not hold, listing its studies
    (all of them, or of many those named most like ``name``) and the one it most likely
    meant; its ``listing`` is the message without that guess (``%hpo`` guesses among its
    kernel's studies too)."""
    if not names:
        stored = "it holds no studies yet"
    elif len(names) <= NAMES_SHOWN:
        stored = f"stored studies: {', '.join(names)}"
    else:
        like = difflib.get_close_matches(name, names, n=NAMES_SHOWN, cutoff=0.0)
        stored = (f"it holds {len(names)} studies, these {len(like)} named most like it: "
                  f"{', '.join(like)} (`%hpo list` shows them all)")
    listing = f"no study named {name!r} in {location}; {stored}"
    close = nearest_name(name, names)
    error = StudyNotFoundError(listing + (f"; did you mean {close[0]!r}?" if close else ""))
    error.listing = listing
    return error


def nearest_name(name: str, names: list[str]) -> list[str]:
    """The stored name ``name`` was most likely meant to be: a close spelling (not study-6
    for mine), else one that differs in case, in two letters swapped (``mpl``: ``mlp``, which
    the spelling's ratio, 0.67, missed) or in its separators (``my study``: ``my-study``)."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if close:
        return close

    def bare(text: str) -> str:
        return re.sub(r"[\s_\-.]+", "", text.lower())

    def swapped(other: str) -> bool:
        differ = [i for i, (a, b) in enumerate(zip(name, other)) if a != b]
        return len(name) == len(other) and len(differ) == 2 and differ[1] == differ[0] + 1 \
            and name[differ[0]] == other[differ[1]] and name[differ[1]] == other[differ[0]]

    return [n for n in names if bare(n) == bare(name) or swapped(n)][:1]


def in_python_words(message: str) -> str:
    """A storage message that says ``--storage`` (``%%hpo``'s, the terminal's) with the
    keyword ``storage=`` of ``tune()`` and ``Study.load``, where the error was met."""
    return message.replace("another file with --storage", "another file as storage=") \
        .replace("pass another --storage", "pass another storage=")


def from_environment(message: str) -> str:
    """``message``, about the file that ``$JUPYTER_HPO_STORAGE`` names, saying that the path
    is that variable's: the cell or call that failed named no file."""
    value = os.environ.get("JUPYTER_HPO_STORAGE", "")
    return (f"{message}; this path is the default storage, from the environment variable "
            f"JUPYTER_HPO_STORAGE={value!r}: set it to a storage file, or unset it for "
            f"jupyter_hpo.db in the working directory")


def missing_file(path: str, name: str | None, default: bool = False, hint: str = ""
                 ) -> StudyNotFoundError:
    """The error for a study looked up in a storage file that does not exist (a typo in its
    path, another working folder) or holds no tables (empty): it names the file, what it is,
    and how to point at another. ``default``
    says the file is the default one; ``hint`` is appended."""
    named = "no study" if name is None else f"no study named {name!r}"
    state = "does not exist"
    if os.path.isfile(path):  # an empty file (touch), or one whose tables are not written yet
        state = "is empty" if os.path.getsize(path) == 0 else "holds no studies yet"
    return StudyNotFoundError(
        f"{named} in {path}{' (the default file)' if default else ''}, which {state}: "
        f"no study was stored there; pass the file it was stored in (the storage= of tune(), "
        f"the --storage of %%hpo and %hpo){hint}")


def held_elsewhere(name: str, owner: str, heartbeat: float | None, now: float,
                   doing: str) -> StudyStateError:
    seen = f", last seen {now - heartbeat:.0f} s ago" if heartbeat is not None else ""
    return StudyStateError(
        f"cannot {doing} study {name!r}: it is being run by another kernel ({owner}{seen}); "
        f"wait for it to finish or stop it (%hpo stop {command_word(name)}); `%hpo show "
        f"{command_word(name)}` shows its "
        f"progress from here")


def running_here(name: str) -> StudyStateError:
    return StudyStateError(f"study {name!r} is running in this process: stop it first with "
                           f"`%hpo stop {command_word(name)}`")


def not_running(name: str, state: StudyState) -> StudyStateError:
    why = {StudyState.INTERRUPTED: "interrupted: its kernel stopped; resume it with "
                                   f"--name {command_word(name)} --resume",
           StudyState.CREATED: "created but not started"}.get(state, state.value)
    return StudyStateError(f"cannot stop study {name!r}: it is not running (it is {why}), so "
                           f"there is nothing to stop")


def lease_lost(name: str, owner: str) -> StudyStateError:
    return StudyStateError(f"study {name!r} is now run by another process ({owner}): this "
                           f"process lost its lease and no longer writes it")
