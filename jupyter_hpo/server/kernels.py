"""Which notebook runs a study: a study's lease names its process (``host:pid``); when that
process is a kernel this server started, the kernel's session names the notebook.

Studies run by other servers, scripts or terminals keep just ``host:pid``.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["kernel_owners"]


def _kernel_pid(manager: Any) -> int | None:
    """The process id of a kernel started by this server (a local provisioner), else None."""
    provisioner = getattr(manager, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    if pid is None:
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


async def kernel_owners(kernel_manager: Any, session_manager: Any) -> dict[str, dict[str, Any]]:
    """``{"host:pid": {"kernel_id", "kernel_name", "path"}}`` for this server's kernels
    (``path`` is the notebook of the kernel's session, or None)."""
    host = socket.gethostname()
    owners: dict[str, dict[str, Any]] = {}
    try:
        kernel_ids = list(kernel_manager.list_kernel_ids())
    except Exception:  # noqa: BLE001 - no kernels known: nothing to name
        return owners
    paths: dict[str, str] = {}
    try:
        for session in await session_manager.list_sessions():
            kernel = session.get("kernel") or {}
            if kernel.get("id"):
                paths[kernel["id"]] = session.get("path")
    except Exception:  # noqa: BLE001, S110 - sessions are optional: kernels are still named
        pass
    for kernel_id in kernel_ids:
        try:
            manager = kernel_manager.get_kernel(kernel_id)
        except KeyError:
            continue
        pid = _kernel_pid(manager)
        if pid is not None:
            owners[f"{host}:{pid}"] = {"kernel_id": kernel_id,
                                       "kernel_name": getattr(manager, "kernel_name", None),
                                       "path": paths.get(kernel_id)}
    return owners
