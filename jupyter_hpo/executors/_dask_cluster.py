"""Where the Dask executor's trials run: a ``LocalCluster`` the study owns, or an existing
cluster given by its scheduler's address or by a ``distributed.Client``.

Only this module and :mod:`.dask` / :mod:`._dask_task` import ``distributed``, and only when a
study uses the Dask executor, so ``import jupyter_hpo`` stays light.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import HPOError
from ..resources import Slot

__all__ = ["CONNECT_TIMEOUT_S", "ClusterHandle", "capacity", "check_workers_import_us",
           "connect", "install_advice", "is_dask_client", "own_local_cluster",
           "scheduler_info", "trial_resources", "use_client", "workers_import_us"]

CONNECT_TIMEOUT_S = 5.0
"""How long connecting to a scheduler address may take before the study fails (seconds)."""

#: host:port with an optional network scheme, or the inproc:// address of a cluster in this
#: process (``Client(processes=False)``: ``inproc://10.0.0.5/4242/1``, host/pid/number)
_ADDRESS = re.compile(r"^(?:(?:(?:tcp|tls|ws|wss|ucx)://)?[\w.\-\[\]:]+:\d+"
                      r"|inproc://[\w.\-\[\]:]+/\d+/\d+)$")
_INSTALL = "the Dask executor needs `distributed`: pip install 'jupyter_hpo[dask]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise HPOError(_INSTALL) from exc
    return distributed


def is_dask_client(value: Any) -> bool:
    """Whether ``value`` is a ``distributed.Client`` (without importing ``distributed``)."""
    return any(c.__name__ == "Client" and c.__module__.startswith("distributed")
               for c in type(value).__mro__)


def scheduler_info(client: Any, workers: int = -1,
                   timeout: float = CONNECT_TIMEOUT_S) -> dict[str, Any]:
    """The scheduler's identity with ``workers`` of its workers (-1: all), asked of the
    scheduler now; versions of ``distributed`` before ``n_workers`` existed list them all.
    A ``TimeoutError`` after ``timeout`` seconds: a scheduler that stopped answering (hung,
    or cut off without its connection closing) must not hang the study's watcher.

    Not ``client.scheduler_info()``: that returns the client's cached copy, which the client's
    own periodic refresh (without workers) may overwrite between the fetch and the return, so
    that a live cluster reads as having no workers."""
    identity = client.scheduler.identity
    try:
        return dict(client.sync(identity, n_workers=workers, callback_timeout=timeout))
    except TypeError:
        return dict(client.sync(identity, callback_timeout=timeout))


def trial_resources(gpus_per_trial: float | None,
                    cpus_per_trial: float | None) -> dict[str, float]:
    """The Dask worker resources one trial needs: ``{"GPU": g, "CPU": c}`` (those given)."""
    need: dict[str, float] = {}
    for name, value, option in (("GPU", gpus_per_trial, "gpus_per_trial"),
                                ("CPU", cpus_per_trial, "cpus_per_trial")):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{option} is {value!r}, but must be a number > 0")
        need[name] = float(value)
    return need


@dataclass
class ClusterHandle:
    """A client connected to the cluster, what owns what, and how to name it."""

    client: Any
    address: str
    kind: str  # "LocalCluster", "Dask cluster", or the cluster's class (e.g. SLURMCluster)
    cluster: Any = None  # the LocalCluster the study owns (closed with it)
    owns_client: bool = True  # False for a Client the user passed (never closed)

    @property
    def name(self) -> str:
        return f"{self.kind} {self.address}"

    def dashboard_link(self) -> str | None:
        """The Dask dashboard's URL, or None when the scheduler serves none (no bokeh)."""
        try:
            services = scheduler_info(self.client, 0).get("services", {})
            if "dashboard" not in services:
                return None
            link = self.client.dashboard_link
        except Exception:  # noqa: BLE001 - a missing link must not break a study
            return None
        return link if isinstance(link, str) and link.startswith(("http://", "https://")) \
            else None

    def close(self) -> None:
        """Close what the study owns; a cluster given by the user is left running."""
        if self.owns_client:
            try:
                self.client.close(timeout=10)
            except Exception:  # closing a dead connection may fail
                logging.getLogger(__name__).debug("closing the Dask client failed",
                                                  exc_info=True)
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=20)
            except Exception:  # e.g. at interpreter exit, after Dask closed its own loop
                logging.getLogger(__name__).warning("closing the study's LocalCluster failed",
                                                    exc_info=True)


def own_local_cluster(slots: list[Slot], need: dict[str, float]) -> ClusterHandle:
    """A ``LocalCluster`` of one single-threaded worker process per slot, on 127.0.0.1.

    Each worker is started with its slot's environment (``CUDA_VISIBLE_DEVICES``,
    ``OMP_NUM_THREADS``) before CUDA can initialise, and declares the resources one trial
    needs, so trials are placed by Dask exactly as on a remote cluster. Ports are picked by
    the system, so several studies (and users) on one machine never collide. The worker
    processes ignore SIGINT (:class:`._dask_worker.StudyWorker`): they share the kernel's
    process group, and interrupting the kernel must cancel the trials, not kill their workers.
    """
    distributed = _distributed()
    from distributed.system import MEMORY_LIMIT

    from ._dask_worker import StudyWorker

    cluster = distributed.LocalCluster(
        n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1", scheduler_port=0,
        dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
        memory_limit=int(MEMORY_LIMIT // max(1, len(slots))), resources=need or None)
    try:
        template = cluster.new_spec
        for index, slot in enumerate(slots):
            options = {**template["options"], "env": slot.environment(),
                       "worker_class": StudyWorker}
            cluster.worker_spec[f"hpo-{index}"] = {"cls": template["cls"], "options": options}
        cluster.scale(len(slots))
        client = distributed.Client(cluster, set_as_default=False)
        client.wait_for_workers(len(slots), timeout=120)
    except BaseException:
        cluster.close()
        raise
    return ClusterHandle(client, cluster.scheduler_address, "LocalCluster", cluster)


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S) -> ClusterHandle:
    """A client of the scheduler at ``address``; an HPOError naming the address and the
    reason when it cannot be reached within ``timeout`` seconds."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise ValueError(f"address is {address!r}, but must be a Dask scheduler address such as "
                       f"tcp://host:8786")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"connect_timeout is {timeout!r}, but must be a number of seconds > 0")
    distributed = _distributed()
    address = address.strip()
    deadline = time.monotonic() + timeout
    try:
        _handshake(address, timeout)
        # one deadline for the whole attempt: the client gets what the probe left (a
        # scheduler that answered the probe answers it at once; the floor is for a slow one)
        left = max(deadline - time.monotonic(), min(timeout, 1.0))
        client = distributed.Client(address, timeout=left, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise HPOError(f"cannot reach the Dask cluster at {address} within {timeout:g}s "
                       f"({_reason(exc)}); is its scheduler running (`dask scheduler`) and is "
                       f"the address right?") from None
    return ClusterHandle(client, client.scheduler.address, "Dask cluster")


def _reason(exc: BaseException) -> str:
    """``Type: message`` of a failed connection, with what distributed's "timed out trying to
    connect" was caused by (a refused connection, say), which its own message leaves out."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__
    return text if cause is None or str(cause) in text else f"{text}: {cause}"


def _handshake(address: str, timeout: float) -> None:
    """A ``TimeoutError`` unless a Dask scheduler at ``address`` answers one connection within
    ``timeout`` seconds. ``Client`` waits for the scheduler's handshake without a limit, so a
    port that accepts connections but never answers (a hung scheduler, another service) hung
    the cell, deaf to interrupts. The probe runs in a thread of its own (the kernel's may run
    an event loop). A connection that fails (refused, closed by the other end) raises the
    probe's ``OSError`` here: ``Client`` would try again for as long, and say less."""
    import asyncio

    from distributed.comm import connect as open_comm
    from distributed.security import Security

    async def probe() -> None:
        comm = await asyncio.wait_for(  # a refused connection fails first, with its reason
            open_comm(address, timeout=timeout, **Security().get_connection_args("client")),
            timeout + 0.25)
        await comm.close()

    timed_out = threading.Event()
    failed: list[OSError] = []

    def run() -> None:
        try:
            asyncio.run(probe())
        except asyncio.TimeoutError:  # not a subclass of TimeoutError before Python 3.11
            timed_out.set()
        except OSError as exc:  # refused, or closed by the other end
            failed.append(exc)
        except Exception:  # anything else is left to Client to report
            logging.getLogger(__name__).debug("probing %s failed", address, exc_info=True)

    thread = threading.Thread(target=run, daemon=True, name="hpo-dask-handshake")
    thread.start()
    thread.join(timeout + 5)
    if timed_out.is_set() or thread.is_alive():
        raise TimeoutError("something accepts connections there, but no Dask scheduler "
                           "answered")
    if failed:
        raise failed[0]


def use_client(client: Any) -> ClusterHandle:
    """The cluster of a ``distributed.Client`` the user made; it is never closed by us."""
    _check_is_client(client)
    if getattr(client, "asynchronous", False):  # awaited or not: refused before its status
        address = getattr(getattr(client, "scheduler", None), "address", None)
        instead = (f"Client({address!r}) (the same cluster)" if address
                   else "a Client made without it")
        raise HPOError(f"the Dask client {client!r} was made with asynchronous=True, but the "
                       f"study drives the cluster from its own threads and needs a synchronous "
                       f"Client: pass {instead} instead")
    if getattr(client, "status", None) != "running":
        raise HPOError(f"the Dask client {client!r} is {getattr(client, 'status', 'unknown')}, "
                       f"but must be running: create a new Client")
    cluster = getattr(client, "cluster", None)
    kind = type(cluster).__name__ if cluster is not None else "Dask cluster"
    return ClusterHandle(client, client.scheduler.address, kind, owns_client=False)


def _check_is_client(client: Any) -> None:
    """A ``ValueError`` saying what to pass when ``client`` is no ``distributed.Client``: a
    cluster object or an address was told "Status.running, but must be running"."""
    distributed = _distributed()
    if isinstance(client, distributed.Client):
        return
    if isinstance(client, str):
        raise ValueError(f"client is {client!r}, a text, but must be a distributed.Client: "  # noqa: TRY004
                         f"pass the scheduler's address as address={client!r} (%%hpo "
                         f"--address), or client=Client({client!r})")
    if hasattr(client, "scheduler_address"):  # a LocalCluster, a SLURMCluster, ...
        raise ValueError(f"client is {client!r}, a cluster, but must be a distributed.Client: "
                         f"pass client=Client(cluster) (the study closes neither)")
    raise ValueError(f"client is {client!r} ({type(client).__name__}), but must be a "
                     f"distributed.Client")


def capacity(handle: ClusterHandle, need: dict[str, float],
             wait: float = CONNECT_TIMEOUT_S) -> int:
    """How many trials the cluster's workers can run at once (threads, and resources when a
    trial needs some). An HPOError when it has no workers after ``wait`` seconds, or when no
    worker has a resource a trial needs, naming the resource."""
    workers: dict[str, Any] = {}
    deadline = time.monotonic() + wait
    while True:
        workers = scheduler_info(handle.client).get("workers", {})
        if workers or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if not workers:
        raise HPOError(f"the {handle.name} has no workers: start some (`dask worker "
                       f"{handle.address} --nthreads 1`, or cluster.scale(n)) and run the study "
                       f"again")
    for resource, amount in need.items():
        best = max(float(w.get("resources", {}).get(resource, 0)) for w in workers.values())
        if best < amount:
            option = "--gpus-per-trial" if resource == "GPU" else "--cpus-per-trial"
            have = sorted({_resources_text(w) for w in workers.values()})
            raise HPOError(
                f"{option} {amount:g} needs Dask workers with the resource {resource}={amount:g}, "
                f"but none of the {len(workers)} workers of the {handle.name} has it (theirs: "
                f"{'; '.join(have)}). Start workers with `dask worker {handle.address} "
                f"--resources {resource}={amount:g}`, or drop {option}")
    total = 0
    for info in workers.values():
        slots = int(info.get("nthreads", 1))
        for resource, amount in need.items():
            slots = min(slots, int(float(info.get("resources", {}).get(resource, 0)) // amount))
        total += slots
    return max(1, total)


#: what each worker evaluates to tell whether it can import jupyter_hpo: a builtin's call,
#: so that asking needs nothing of jupyter_hpo on the worker
_FINDS_US = "__import__('importlib.util').util.find_spec('jupyter_hpo') is not None"


def check_workers_import_us(handle: ClusterHandle, timeout: float = CONNECT_TIMEOUT_S
                            ) -> set[str]:
    """An HPOError naming the workers of ``handle`` whose Python cannot import jupyter_hpo:
    a trial's task would fail there. A cluster that does not answer in time is left to the
    study's own checks. Returns the workers that can."""
    answers = workers_import_us(handle, None, timeout)
    missing = sorted(worker for worker, found in answers.items() if found is False)
    if not missing:
        return {worker for worker, found in answers.items() if found is True}
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3
                                      else "")
    which = "its workers" if len(missing) == len(answers) else \
        f"{len(missing)} of its {len(answers)} workers"
    raise HPOError(f"the {handle.name} cannot run trials: {which} ({shown}) "
                   f"cannot import jupyter_hpo, which runs each trial there. "
                   f"{install_advice(handle)}")


def workers_import_us(handle: ClusterHandle, workers: list[str] | None,
                      timeout: float = CONNECT_TIMEOUT_S) -> dict[str, Any]:
    """Whether each of ``workers`` (None: all) can import jupyter_hpo: ``True``, ``False``,
    or the error it raised; the workers that did not answer within ``timeout`` s are left
    out."""
    answers: dict[str, Any] = {}

    def ask() -> None:
        try:
            answers.update(handle.client.run(eval, _FINDS_US, workers=workers,
                                             on_error="return"))
        except Exception:  # e.g. a worker that left meanwhile: asked again
            logging.getLogger(__name__).debug("asking %s for jupyter_hpo failed", workers,
                                              exc_info=True)

    thread = threading.Thread(target=ask, daemon=True, name="hpo-dask-import-check")
    thread.start()
    thread.join(timeout)
    return dict(answers)


def install_advice(handle: ClusterHandle) -> str:
    """What to do about workers that cannot import jupyter_hpo."""
    from .. import __version__

    return (f"Install it in the workers' Python environment (pip install "
            f"jupyter_hpo=={__version__}, the version of this kernel) and restart them, or "
            f"start the workers from this kernel's environment (`dask worker "
            f"{handle.address}`)")


def _resources_text(info: dict[str, Any]) -> str:
    resources = info.get("resources") or {}
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "no resources"
