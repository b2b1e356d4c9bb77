"""The kernel's end of a Dask trial's two queues: output, reports and answers, the outcome."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from ..errors import HPOError
from ..trial import TrialCompleted, TrialReleased, TrialStatus, TrialStopped
from ._base import TrialOutcome
from ._dask_cluster import CONNECT_TIMEOUT_S
from ._dask_faults import DIED, TrialRun

__all__ = ["RelayMixin"]

log = logging.getLogger(__name__)


class RelayMixin:
    """How DaskExecutor relays a running trial's messages and ends its task."""

    def _relay(self, run: TrialRun) -> None:
        """The kernel's end of one trial's queues: output, reports and its outcome."""
        trial = run.trial
        while not run.finished:
            try:
                message = run.up.get()  # no timeout: the scheduler logs each one as an error
            except BaseException:  # noqa: BLE001 - the connection is in trouble: the watcher decides
                if run.finished or self._closed:
                    break
                time.sleep(0.2)
                continue
            kind = message[0]
            if kind == "closed":
                break
            if kind == "output":
                trial.write_output(message[1])
            elif kind == "report":
                self._answer(run, message[1])
            elif kind == "side":
                try:
                    run.hooks.on_side(trial, message[1], message[2])
                except Exception:  # the trial goes on
                    log.exception("jupyter_hpo: trial %s's %s message", trial.trial_id,
                                  message[1])
            elif kind == "started":
                if run.worker is None:
                    run.worker = message[1]
                    trial.resources = self._label(message[1])
                else:  # Dask ran the task again: the worker that ran it died
                    self._put(run, "stop")
                    self._lose(run, f"{DIED} ({run.worker})")
            elif kind == "done":
                status, result, error, tb = message[1:5]
                if len(message) > 5 and message[5] is not None:  # its --trial-timeout used
                    trial.timeout_used = message[5]
                run.done = True
                if status in ("completed", "stopped") and run.worker is not None:
                    with self._lock:
                        self._holders[trial.trial_id] = run.worker
                status = TrialStatus.PAUSED if status == "released" else TrialStatus(status)
                self._finish(run, TrialOutcome(status, result, None, error, tb))

    def _label(self, worker: str) -> str:
        need = ", ".join(f"{k} {v:g}" for k, v in self.need.items())
        return f"{need + ' on ' if need else ''}{worker}"

    def _answer(self, run: TrialRun, values: dict[str, Any]) -> None:
        with run.lock:
            run.waiting, run.told_paused = True, False
        try:
            run.hooks.on_report(run.trial, values)
            reply: Any = "continue"
        except TrialCompleted:
            reply = "complete"
        except TrialStopped:
            reply = "stop"
        except TrialReleased:
            reply = "release"
        except Exception as exc:  # noqa: BLE001 - raised in the trial, as in a thread
            reply = ("error", _sendable(exc))
        with run.lock:
            run.waiting = False
            self._put(run, reply)

    @staticmethod
    def _put(run: TrialRun, message: Any) -> None:
        try:  # bounded: a scheduler that stopped answering must not hang the study
            run.down.put(message, callback_timeout=CONNECT_TIMEOUT_S)
        except Exception:  # the task or the cluster is gone
            log.debug("jupyter_hpo: could not answer trial %s", run.trial.trial_id,
                      exc_info=True)

    def _finish(self, run: TrialRun, outcome: TrialOutcome) -> None:
        """Hand the trial's outcome to the study, once, whoever sees it first."""
        with run.lock:
            if run.finished:
                return
            run.finished = True
        self._end_task(run)
        run.hooks.on_finish(run.trial, outcome)

    def _end_task(self, run: TrialRun) -> None:
        """Forget a task that has ended (or that the kernel gave up on) and close its queues."""
        with self._lock:
            if self._runs.get(run.trial.trial_id) is run:
                del self._runs[run.trial.trial_id]
            if run.done and run.worker is not None:
                self._free.append(run.worker)
        if not run.done and not self._lost:  # ended by the kernel (on a cluster that
            self._put(run, "stop")  # answers): a task still waiting stops, the relay ends
            with contextlib.suppress(Exception):  # the cluster may be gone
                run.up.put(("closed",), callback_timeout=CONNECT_TIMEOUT_S)
        for queue in (run.up, run.down):  # the scheduler drops them once the task let go too
            with contextlib.suppress(Exception):  # the cluster may be gone
                if queue is not None:
                    queue.close()
        with self._lock:  # a task that is still returning is waited for at shutdown
            self._ending = [f for f in self._ending if not f.done()]
            if not run.future.done():
                self._ending.append(run.future)
        if run.future.done():
            run.future.release()  # else Dask would run it again if its result got lost


def _sendable(exc: Exception) -> Exception:
    import cloudpickle

    try:
        cloudpickle.dumps(exc)
    except Exception:  # noqa: BLE001 - send what can be sent
        return HPOError(f"{type(exc).__name__}: {exc}")
    return exc
