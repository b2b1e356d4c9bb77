"""One BLAS thread while the study proposes a trial.

A model-based proposal (a GP fit and its predictions) makes many small BLAS and LAPACK calls.
With OpenBLAS's default threads, each call wakes worker threads that then spin, and in a
kernel whose other threads (the trials, the dashboard's loop) want the same cores the calls
wait on each other: a proposal of the default searcher that takes 3-7 ms alone took 0.2-0.7 s
between trials of a study in a 2-core kernel, which then ran under half as many trials. The
matrices of a proposal are small enough that one thread is as fast, so the study runs its
proposals with one (through threadpoolctl, as scikit-learn does) and restores the previous
limits afterwards; proposals of concurrent studies share one limit, kept until the last ends.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

from ..warning_filters import ignored_in_this_thread

__all__ = ["one_blas_thread"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_depth = 0  # proposals running now (several studies may propose at once)
_changed: list[tuple[Any, int]] = []  # (library, its limit before) set by the first of them
_libraries: list[Any] = []
_modules_seen = -1  # len(sys.modules) when the BLAS libraries were looked up


def _blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries, looked up again when modules
    were imported since (scipy's OpenBLAS loads with the first model-based proposal, torch's
    with the first trial that imports it)."""
    global _libraries, _modules_seen
    if len(sys.modules) != _modules_seen:
        from threadpoolctl import ThreadpoolController

        with ignored_in_this_thread():  # e.g. two OpenMP runtimes: not ours to report
            controller = ThreadpoolController()
        _libraries = list(controller.select(user_api="blas").lib_controllers)
        _modules_seen = len(sys.modules)
    return _libraries


def _set_limit(library: Any, threads: int) -> None:
    """Set one library's limit from this thread. threadpoolctl (3.8) lets only the first
    thread that set OpenBLAS's process-wide limit change it again while that thread lives,
    and silently ignores the others; a study proposes from whichever thread is free (the
    loop, a trial's), and the thread that restores the limit may not be the one that set it."""
    clear = getattr(type(library), "clear_controlling_thread", None)  # older: no owner
    if clear is not None:
        clear(force=True)
    try:
        library.set_num_threads(threads)
    finally:
        if clear is not None:
            clear(force=True)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit every loaded BLAS library to one thread inside the block (nested and concurrent
    blocks share the limit), then restore what was set before. A library already at one
    thread (``OPENBLAS_NUM_THREADS=1``) is left alone: the block then costs a few
    microseconds, which a proposal taken from a batch (tens of microseconds) feels."""
    global _depth
    with _lock:
        if _depth == 0:
            try:
                for library in _blas_libraries():
                    before = library.get_num_threads()
                    if before is not None and before != 1:
                        _set_limit(library, 1)
                        _changed.append((library, before))
            except Exception:  # a library threadpoolctl cannot drive: the proposal runs as is
                log.debug("jupyter_hpo: cannot limit the BLAS threads", exc_info=True)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                while _changed:
                    library, before = _changed.pop()
                    try:
                        _set_limit(library, before)
                    except Exception:  # as above: logged, the study goes on
                        log.debug("jupyter_hpo: cannot restore the BLAS threads",
                                  exc_info=True)
