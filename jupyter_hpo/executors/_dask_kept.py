"""A Dask trial's kept variables: fetched from its worker at the end, forgotten at shutdown."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ._base import FetchedNamespace
from ._dask_cluster import CONNECT_TIMEOUT_S, scheduler_info
from ._kept import left_out_note, not_kept, restored

__all__ = ["FETCH_TIMEOUT_S", "KeptVariablesMixin"]

FETCH_TIMEOUT_S = 30.0
"""How long a worker may take to send a trial's variables before the kernel gives up."""


class KeptVariablesMixin:
    """How DaskExecutor brings a trial's variables back from its worker, and drops them there."""

    def fetch_namespace(self, trial_id: int) -> FetchedNamespace:
        """Trial ``trial_id``'s variables from the Dask worker that ran it (see
        ``Executor.fetch_namespace``)."""
        from ._dask_task import fetch_kept

        with self._lock:
            address = self._holders.get(trial_id)
        if self._closed:
            return FetchedNamespace(None, "its other variables stayed on its Dask worker, and "
                                          "the study has ended: only the best trial's are "
                                          "brought back when a study ends")
        if self._lost:
            return FetchedNamespace(None, f"its other variables were lost with the Dask "
                                          f"cluster ({self._lost})")
        if address is None or self.keep_count < 1:
            return FetchedNamespace(None, not_kept(self.keep_count))
        try:
            alive = address in _bounded(lambda: scheduler_info(self.client)["workers"])
            if not alive:
                return FetchedNamespace(None, f"its other variables were lost with its Dask "
                                              f"worker {address}, which left the cluster: it "
                                              f"died or was restarted")
            data, left_out = _bounded(lambda: self.client.run(
                fetch_kept, self._token, trial_id, workers=[address])[address])
        except TimeoutError:
            return FetchedNamespace(None, f"its Dask worker {address} did not send its other "
                                          f"variables within {FETCH_TIMEOUT_S:g}s")
        except Exception as exc:  # noqa: BLE001 - the worker or the cluster went away
            return FetchedNamespace(None, f"its other variables could not be fetched from its "
                                          f"Dask worker {address} ({type(exc).__name__}: "
                                          f"{exc})")
        if data is None:
            return FetchedNamespace(None, not_kept(self.keep_count)
                                    + ", and a restarted worker none")
        try:
            variables = restored(data)
        except Exception as exc:  # noqa: BLE001 - e.g. a class the kernel cannot import
            return FetchedNamespace(None, f"its other variables could not be read in the "
                                          f"kernel ({type(exc).__name__}: {exc})")
        return FetchedNamespace(variables, left_out_note(left_out, f"Dask worker {address}"))

    def _forget_kept(self) -> None:
        """At shutdown, on a cluster the study does not own: its workers drop the variables
        they kept for it (the cluster outlives the study)."""
        from ._dask_task import forget_kept

        with self._lock:
            held = bool(self._holders)
            workers = sorted(self._workers - set(self._lacking)) if self._lacking else None
        if held and not self.owns_cluster and not self._lost:
            with contextlib.suppress(Exception):  # a timeout, or the cluster went away
                _bounded(lambda: self.client.run(forget_kept, self._token, workers=workers),
                         CONNECT_TIMEOUT_S)  # not on workers that cannot unpickle it


def _bounded(call: Any, timeout: float = FETCH_TIMEOUT_S) -> Any:
    """``call()`` in a thread of its own, given up (``TimeoutError``) after ``timeout``
    seconds: a worker or scheduler that stopped answering must not hang the study's end."""
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            box.append((False, exc))

    thread = threading.Thread(target=run, daemon=True, name="hpo-dask-fetch")
    thread.start()
    thread.join(timeout)
    if not box:
        raise TimeoutError(f"no answer within {timeout:g}s")
    ok, value = box[0]
    if not ok:
        raise value
    return value
