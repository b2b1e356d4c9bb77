"""Compute slots handed to trials: which GPUs (and how many CPU threads) a trial may use.

A study has one slot per concurrent trial. With ``gpus_per_trial=0.5`` on a 2-GPU machine there
are four slots, two per GPU; a process worker is bound to its slot for life (so
``CUDA_VISIBLE_DEVICES`` is set before CUDA initialises), a thread trial takes a free slot and
gets ``device = torch.device("cuda:<gpu>")``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from .errors import HPOError

__all__ = ["FAKE_GPUS_ENV", "Slot", "default_device", "detect_gpus", "plan_slots", "slots_note"]

FAKE_GPUS_ENV = "JUPYTER_HPO_FAKE_GPUS"


@dataclass(frozen=True)
class Slot:
    """What one concurrent trial may use: GPU ids (physical) and a CPU thread count."""

    gpus: tuple[int, ...] = ()
    cpus: float | None = None

    @property
    def label(self) -> str:
        """``GPU 1``, ``GPUs 0,1`` or ``cpu``: what the dashboard shows."""
        if not self.gpus:
            return "cpu"
        ids = ",".join(map(str, self.gpus))
        return f"GPU{'s' if len(self.gpus) > 1 else ''} {ids}"

    def environment(self) -> dict[str, str]:
        """Environment variables for a worker process bound to this slot."""
        env: dict[str, str] = {}
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, self.gpus))
        if self.cpus is not None:
            threads = str(max(1, int(self.cpus)))
            env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        return env

    def device(self, remapped: bool) -> Any:
        """The ``device`` a trial in this slot sees. In a worker process whose
        ``CUDA_VISIBLE_DEVICES`` is set (``remapped``), its first GPU is ``cuda:0``."""
        if not self.gpus:
            return default_device()
        index = 0 if remapped else self.gpus[0]
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "device"):
            return torch.device(f"cuda:{index}")
        return f"cuda:{index}"


def default_device() -> Any:
    """``torch.device("cpu")`` when torch is already imported, else the string ``"cpu"``.

    torch is never imported here: a cell that uses torch has imported it, and torch accepts
    the string form (``model.to("cpu")``) too.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "device"):
        return torch.device("cpu")
    return "cpu"


def detect_gpus() -> int:
    """Number of GPUs: ``$JUPYTER_HPO_FAKE_GPUS`` if set (for tests), else torch's count,
    else the lines of ``nvidia-smi -L``, else 0."""
    fake = os.environ.get(FAKE_GPUS_ENV)
    if fake is not None:
        try:
            return max(0, int(fake))
        except ValueError:
            raise HPOError(f"{FAKE_GPUS_ENV}={fake!r} must be a whole number of GPUs") from None
    count = _torch_gpu_count()
    if count:
        return count
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10,
                                 check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))


def _torch_gpu_count() -> int | None:
    """torch's CUDA device count, or None without torch (or with a broken CUDA set-up)."""
    try:
        import torch

        return int(torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - any failure means "ask nvidia-smi instead"
        return None


def plan_slots(workers: int | None, gpus_per_trial: float | None = None,
               cpus_per_trial: float | None = None, gpu_count: int | None = None,
               cpu_count: int | None = None) -> list[Slot]:
    """The slots of a study: ``workers`` of them, fewer when GPUs or CPUs run out.

    ``workers=None`` means "as many as the resources allow" (one without resource options).
    """
    if workers is not None and workers < 1:
        raise HPOError(f"workers is {workers}, but must be >= 1")
    cpus = _check_cpus(cpus_per_trial)
    _check_number("gpus_per_trial", gpus_per_trial)
    if not gpus_per_trial:
        slots = [Slot((), cpus)] * (workers or _cpu_capacity(cpus, cpu_count) or 1)
    else:
        slots = _gpu_slots(gpus_per_trial, cpus, gpu_count)
        if workers is not None:
            slots = slots[:workers]
    capacity = _cpu_capacity(cpus, cpu_count)
    if capacity is not None:
        slots = slots[:max(1, capacity)]
    return slots


def slots_note(workers: int | None, gpus_per_trial: float | None,
               cpus_per_trial: float | None, slots: int,
               cpu_count: int | None = None) -> str | None:
    """Why fewer trials run at once than ``workers`` asked for, or why a trial gets more CPU
    threads than the machine has; None when the plan is what was asked."""
    cpus = cpu_count or os.cpu_count() or 1
    if cpus_per_trial and cpus_per_trial > cpus:
        return (f"--cpus-per-trial {cpus_per_trial:g} is more than the {cpus} CPUs of this "
                f"machine: one trial runs at a time, with {cpus_per_trial:g} threads")
    if workers is None or slots >= workers:
        return None
    runs = f"{slots} trial{'s run' if slots != 1 else ' runs'} at once"
    capacity = _cpu_capacity(cpus_per_trial, cpus)
    if capacity is not None and capacity <= slots:
        return (f"--workers {workers}: {runs}, as many as {cpus} CPUs allow with "
                f"--cpus-per-trial {cpus_per_trial:g}")
    return f"--workers {workers}: {runs}, as many as the GPUs hold with --gpus-per-trial " \
           f"{gpus_per_trial:g}"


def _check_cpus(cpus_per_trial: float | None) -> float | None:
    if cpus_per_trial is None:
        return None
    _check_number("cpus_per_trial", cpus_per_trial)
    if not cpus_per_trial > 0:
        raise HPOError(f"cpus_per_trial is {cpus_per_trial}, but must be > 0")
    if not math.isfinite(cpus_per_trial):  # a worker's OMP_NUM_THREADS would be infinite
        raise HPOError(f"cpus_per_trial is {cpus_per_trial}, but must be a finite number > 0: "
                       f"the CPU threads each trial uses, e.g. cpus_per_trial=2 (this machine "
                       f"has {os.cpu_count() or 1})")
    return float(cpus_per_trial)


def _check_number(name: str, value: Any) -> None:
    """Refuse a value that is not a number (``"2"`` from a config file, ``True``), which would
    fail the comparisons below with Python's own TypeError."""
    import numbers

    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise HPOError(f"{name} is {value!r} ({type(value).__name__}), but must be a number, "
                       f"e.g. {name}=1")


def _cpu_capacity(cpus: float | None, cpu_count: int | None) -> int | None:
    if cpus is None:
        return None
    return int((cpu_count or os.cpu_count() or 1) // cpus)


def _gpu_slots(per_trial: float, cpus: float | None, count: int | None) -> list[Slot]:
    """Slots for ``per_trial`` GPUs each on ``count`` GPUs (None: detect them)."""
    if not per_trial > 0:
        raise HPOError(f"gpus_per_trial is {per_trial:g}, but must be > 0 (or 0 for none)")
    share = round(1 / per_trial) if per_trial < 1 else 1
    if per_trial < 1 and not math.isclose(share * per_trial, 1.0, rel_tol=1e-6) \
            or per_trial >= 1 and not float(per_trial).is_integer():
        raise HPOError(f"gpus_per_trial is {per_trial:g}, but must be a whole number or a "
                       f"fraction 1/k such as 0.5, 0.25 or 0.2, so that trials fill a GPU "
                       f"exactly")
    count = detect_gpus() if count is None else count
    if count == 0:
        raise HPOError(f"gpus_per_trial is {per_trial:g}, which needs a GPU, but none was found "
                       f"(torch sees none and nvidia-smi is missing); leave gpus_per_trial out "
                       f"to run on the CPU, or set {FAKE_GPUS_ENV}=N to test without GPUs")
    if per_trial < 1:
        return [Slot((gpu,), cpus) for gpu in range(count) for _ in range(share)]
    need = int(per_trial)
    if need > count:
        raise HPOError(f"gpus_per_trial is {need}, which needs {need} GPUs, but this machine "
                       f"has {count}")
    return [Slot(tuple(range(i * need, (i + 1) * need)), cpus) for i in range(count // need)]
