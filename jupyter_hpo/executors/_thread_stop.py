"""Ending a thread trial's code at once, for a forced stop: a thread cannot be killed, but it
can be sent an exception, which Python raises in it at the next line of Python it runs."""

from __future__ import annotations

import ctypes
import platform
import threading
from collections.abc import Callable
from typing import Any

from ..trial import TrialAbandoned


def _send(ident: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in the thread ``ident`` at its next line of Python; ``None`` takes back
    one that was sent and not raised yet."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                               None if exc is None else ctypes.py_object(exc))


#: sending an exception to a thread is CPython's C API; elsewhere a forced stop waits as before
CAN_SEND = platform.python_implementation() == "CPython"


class ThreadGate:
    """Where a forced stop may raise in a trial's thread: in the trial's own code, never inside
    the library's calls from it (``report``, ``trial.set``, checkpoints), whose state must
    stay whole. A stop that comes during such a call raises as the call returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ident = threading.get_ident()
        self._depth = 0  # library calls the trial's thread is inside
        self._open = True  # the trial's code has not ended
        self._sent = False
        self._abandoned = False

    def guard(self, call: Callable[..., Any], any_thread: bool = False) -> Callable[..., Any]:
        """``call``, made from the trial's thread, with no forced stop raised inside it
        (``any_thread``: it may be made from other threads too, where nothing is sent).

        Without a lock on this path (a report's): only the trial's thread changes the depth,
        and ``abandon`` sets its flag before it reads the depth, so one of the two always
        sees the other."""
        ident = self._ident

        def guarded(*args: Any) -> Any:
            if any_thread and threading.get_ident() != ident:
                return call(*args)
            self._depth += 1
            try:
                if self._abandoned:
                    self._raise_abandoned()
                return call(*args)
            finally:
                self._depth -= 1
                if self._abandoned and not self._depth:
                    self._raise_abandoned()  # replaces what the call returned or raised

        return guarded

    def _raise_abandoned(self) -> None:
        with self._lock:  # after abandon() has sent, if it sends: then take that back
            if self._sent:
                _send(self._ident, None)
                self._sent = False
        raise TrialAbandoned

    def in_trial_code(self) -> bool:
        """Whether the trial's thread runs the trial's own code now (not a library call)."""
        return self._open and self._depth <= 0

    def abandon(self) -> None:
        """The trial was ended by a forced stop: raise in its code now, or as it leaves the
        library call it is in."""
        with self._lock:
            if self._abandoned or not self._open:
                return
            self._abandoned = True
            if self._depth == 0 and CAN_SEND:
                _send(self._ident, TrialAbandoned)
                self._sent = True

    def close(self) -> None:
        """The trial's code ended (from its own thread): take back an exception not raised
        yet, so that it cannot land in the next trial this thread runs."""
        with self._lock:
            self._open = False
            if self._sent:
                _send(self._ident, None)
                self._sent = False
