"""Keeping the kernel's interrupt (SIGINT) from cutting a block of the magic in half."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Callable[[], bool]]:
    """Keep SIGINT (the kernel's interrupt) from raising inside the block; yields a function
    that says whether one came. Outside the main thread it defers nothing."""
    received = threading.Event()

    def keep(signum: int, frame: Any) -> None:
        received.set()

    try:
        previous = signal.signal(signal.SIGINT, keep)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield received.is_set
        return
    try:
        yield received.is_set
    finally:
        signal.signal(signal.SIGINT, previous)

