"""The worker class of the study's own ``LocalCluster``: a ``distributed.Worker`` whose process
ignores SIGINT.

The LocalCluster's nannies run in the kernel and spawn their worker processes in the kernel's
process group, so interrupting the kernel (the stop button, Ctrl-C: SIGINT to the whole group)
reached them too and killed them mid-trial with ``KeyboardInterrupt``. The kernel handles
interrupts (running trials are cancelled at their next report), as with the process
executor's workers (:mod:`._worker`). The nanny pickles this class by reference, so each
worker process it starts, a restarted one included, makes its worker from it.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import Worker

__all__ = ["StudyWorker"]


class StudyWorker(Worker):
    """A Dask worker that leaves interrupts to the kernel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ignore_interrupts()
        super().__init__(*args, **kwargs)


def ignore_interrupts() -> None:
    """Ignore SIGINT in this process (from its main thread, where a nanny makes the worker)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
