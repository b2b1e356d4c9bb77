"""Workers that join a Dask cluster the study does not own: can they import jupyter_hpo?"""

from __future__ import annotations

import logging

from ._dask_cluster import CONNECT_TIMEOUT_S, install_advice, workers_import_us

__all__ = ["JoinedWorkersMixin"]

log = logging.getLogger(__name__)


class JoinedWorkersMixin:
    """How DaskExecutor checks a newly joined worker and keeps trials off one that lacks us."""

    def _check_joined(self, workers: set[str]) -> None:
        """The watcher's look at the workers: on a cluster the study does not own, a worker
        that joined since the study started is asked whether it can import jupyter_hpo,
        and gets no trials if it cannot."""
        with self._lock:
            self._workers = set(workers)
            new = [] if self.owns_cluster else \
                sorted(workers - self._checked - set(self._lacking))
        if not new:
            return
        answers = workers_import_us(self.handle, new, CONNECT_TIMEOUT_S)
        for worker, found in answers.items():
            if found is False:
                self._lacks_us(worker)
            else:  # it can, or it failed to say: a trial it takes says why
                with self._lock:
                    self._checked.add(worker)

    def _lacks_us(self, worker: str) -> str:
        """``worker`` cannot import jupyter_hpo: it gets no more trials, and the study says so
        once (a ``problem`` of the study); returns what it said."""
        message = (f"the Dask worker {worker} cannot import jupyter_hpo, which runs each trial "
                   f"there (it joined the {self.handle.name} after the study started): the "
                   f"study sends it no trials from now on. {install_advice(self.handle)}")
        with self._lock:
            said = self._lacking.get(worker)
            self._lacking.setdefault(worker, message)
        if said is None:
            tell = getattr(self._hooks, "on_executor_problem", None)
            if tell is not None:
                tell(message)  # the dashboard shows it, tune() logs it
            else:  # no trial has started yet
                log.warning("jupyter_hpo: %s", message)
        return message
