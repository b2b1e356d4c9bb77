"""One BLAS thread while a model-based searcher proposes, whatever the process's setting.

A GP's matrices are small (at most a few hundred rows): OpenBLAS splits them over its threads
anyway, and starting and spinning those threads costs more than the arithmetic (on two cores
an acquisition took about twice the CPU with OpenBLAS's default threads than with one). One
thread also makes a seeded study's proposals the same bits on machines with other core
counts. BLAS has one setting per process, so one thread at a time runs with the limit (others wait a
few milliseconds) and restores the setting it found; nested use in that thread keeps it. The
setting is changed directly, not through threadpoolctl's limiter, which ignores a thread other
than the one that set a limit first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["one_blas_thread"]

_lock = threading.RLock()
_depth = 0  # nesting in the thread that holds _lock
_blas: list[Any] | None = None  # threadpoolctl's controllers of the BLAS libraries loaded


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with one BLAS thread (numpy's and scipy's OpenBLAS, MKL, ...), then
    restore the setting in force before."""
    global _depth
    with _lock:
        if _depth:  # nested: the outer call restores
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        changed = []
        for library in _libraries():
            threads = library.get_num_threads()
            if threads is not None and threads != 1:
                _set_threads(library, 1)
                changed.append((library, threads))
        _depth = 1
        try:
            yield
        finally:
            _depth = 0
            for library, threads in changed:
                _set_threads(library, threads)


def _libraries() -> list[Any]:
    """The BLAS libraries numpy and scipy load (found once: looking takes ~2 ms)."""
    global _blas
    if _blas is None:
        import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, which the GP uses)
        from threadpoolctl import ThreadpoolController

        _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _blas


def _set_threads(library: Any, threads: int) -> None:
    # threadpoolctl >= 3.8 lets only one thread change OpenBLAS's setting while it lives;
    # its unconditional setter is the one this process-wide lock needs
    setter = getattr(library, "_real_set_num_threads", None) or library.set_num_threads
    setter(threads)
