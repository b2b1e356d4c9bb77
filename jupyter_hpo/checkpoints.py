"""Trial checkpoints: ``checkpoint(obj)`` saves a trial's state, ``restore()`` gives it back.

Each checkpoint is a new file in the study's checkpoint folder, next to the storage file
(``runs.db`` keeps study 3's in ``runs.db.checkpoints/3/``; a study without a storage file
uses a temporary folder removed when the process exits), named ``trial-<id>-<random>.pkl``
(``.pt``) and written to a temporary file, then renamed. A file is never rewritten: the study
records a checkpoint only with the report that follows it and deletes the one it replaces once
the storage holds the new one (see ``controller/_trials.py``), so the checkpoint that storage
names is always on disk and always matches the reports stored with it. Torch
objects (a module, a tensor, an optimizer, or a dict/list/tuple holding one) are written with
``torch.save``, anything else with cloudpickle; both pickle classes defined in the notebook by
value, so ``restore()`` works in a fresh kernel without the class.

Which checkpoints are kept (see :func:`kept`): those of running, paused and interrupted trials
(they resume from them), and of the ``KEEP_BEST`` best finished trials; a trial that was stopped
early or failed, or that drops out of the best, loses its file, unless the study keeps every
checkpoint (``--keep-checkpoints``). Disk use is therefore bounded by the trials in flight plus
``KEEP_BEST``.

Nothing here runs on the report path: saving is the trial's own call, and the study learns of a
new checkpoint through a separate message.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import HPOError

__all__ = ["KEEP_BEST", "Checkpoint", "disk_use", "folder_for", "kept", "load", "remove",
           "remove_folder", "remove_orphans", "save", "temporary_folder"]

KEEP_BEST = 5
"""Finished trials whose checkpoints are kept (the best ones by the metric)."""

_temporary_root: list[str] = []  # this process's folder for studies without a storage file
_temporary_count = 0
_lock = threading.Lock()


@dataclass(frozen=True)
class Checkpoint:
    """A trial's saved state: the file, its size, how many reports the trial had made when it
    was saved, how it was written (``torch`` or ``pickle``) and when (epoch seconds)."""

    path: str
    bytes: int
    reports: int
    kind: str
    time: float

    @property
    def file(self) -> str:
        return os.path.basename(self.path)

    def to_json(self) -> dict[str, Any]:
        """What storage keeps (the file name: the folder follows the storage file)."""
        return {"file": self.file, "bytes": self.bytes, "reports": self.reports,
                "kind": self.kind, "time": self.time}

    @classmethod
    def from_json(cls, data: Any, folder: str) -> Checkpoint | None:
        if not isinstance(data, dict) or not isinstance(data.get("file"), str):
            return None
        return cls(os.path.join(folder, os.path.basename(data["file"])), int(data["bytes"]),
                   int(data["reports"]), str(data["kind"]), float(data["time"]))


def folder_for(storage_path: str, study_id: int) -> str:
    """The checkpoint folder of study ``study_id`` kept in the SQLite file ``storage_path``."""
    return os.path.join(f"{storage_path}.checkpoints", str(int(study_id)))


def temporary_folder() -> str:
    """A folder for a study without a storage file (made when a trial saves a checkpoint,
    removed with the others of this process when it exits)."""
    global _temporary_count
    with _lock:
        if not _temporary_root:
            _temporary_root.append(os.path.join(
                tempfile.gettempdir(), f"jupyter_hpo-checkpoints-{os.getpid()}-"
                                       f"{secrets.token_hex(4)}"))
        _temporary_count += 1
        return os.path.join(_temporary_root[0], str(_temporary_count))


@atexit.register
def _remove_temporary() -> None:
    for folder in _temporary_root:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ saving and loading
def partial_path(path: str) -> str:
    """Where a checkpoint for ``path`` is written before it is renamed to ``path`` (one per
    process and thread, so two writers never share one)."""
    return f"{path}.{os.getpid()}-{threading.get_ident()}.partial"


def save(obj: Any, folder: str, trial_id: int, reports: int) -> Checkpoint:
    """Write ``obj`` as a new checkpoint file of trial ``trial_id`` (its previous ones stay:
    the study deletes them once it has recorded this one)."""
    torch_like = _uses_torch(obj)
    path = os.path.join(folder, f"trial-{trial_id}-{secrets.token_hex(4)}."
                                f"{'pt' if torch_like else 'pkl'}")
    partial = partial_path(path)
    import cloudpickle

    try:
        os.makedirs(folder, exist_ok=True)
        with open(partial, "wb") as handle:
            if torch_like:
                import torch

                torch.save(obj, handle, pickle_module=cloudpickle)
            else:
                cloudpickle.dump(obj, handle)
        os.replace(partial, path)
    except BaseException as exc:
        try:
            os.unlink(partial)
        except OSError:
            pass
        if isinstance(exc, Exception):
            raise HPOError(_not_saved(obj, folder, exc)) from exc
        raise
    return Checkpoint(path, os.path.getsize(path), reports, "torch" if torch_like else "pickle",
                      time.time())


def _not_saved(obj: Any, folder: str, exc: Exception) -> str:
    """Why ``checkpoint(obj)`` failed and what to do, the same for every trial of a study
    (no file name in it), so that its first trials failing alike stop the study."""
    if isinstance(exc, OSError):  # a full disk, a folder that cannot be written
        why = exc.strerror or str(exc)
        return (f"checkpoint(): could not write to the checkpoint folder {folder} "
                f"({type(exc).__name__}: {why}): free space there or make it writable (it is "
                f"next to the study's storage file; another storage file moves it)")
    import cloudpickle

    from .executors._shipping import first_unpicklable
    from .trial import _short

    found = first_unpicklable(obj, cloudpickle.dumps) if isinstance(obj, dict) else None
    if found is not None:
        key, value, error = found
        what = f"{key!r} is {_short(value)} ({type(value).__name__}), which"
        exc = error
    else:
        what = f"the {type(obj).__name__}"
    return (f"checkpoint(): {what} cannot be saved ({type(exc).__name__}: {exc}): save what "
            f"pickles (a model's state_dict(), numbers, arrays) and make the rest again after "
            f"restore()")


def load(checkpoint: Checkpoint, map_location: Any = None) -> Any:
    """The object saved in ``checkpoint`` (``map_location`` as in ``torch.load``)."""
    if not os.path.exists(checkpoint.path):
        raise HPOError(f"the checkpoint {checkpoint.path} is gone (removed with its study, or "
                       f"the storage file and its .checkpoints folder were moved apart: keep "
                       f"them side by side)")
    try:
        if checkpoint.kind == "torch":
            import torch

            return torch.load(checkpoint.path, map_location=map_location, weights_only=False)
        import cloudpickle

        with open(checkpoint.path, "rb") as handle:
            return cloudpickle.load(handle)
    except (ImportError, AttributeError, EOFError, pickle.UnpicklingError, RuntimeError) as exc:
        why = _not_loaded(checkpoint, exc)
        if why is None:
            raise
        raise HPOError(why) from exc


def _not_loaded(checkpoint: Checkpoint, exc: BaseException) -> str | None:
    """Why a checkpoint's file cannot be read back here and what to do (the file is kept):
    a module or class its object needs is missing, or the file is damaged; None for an
    error of the object's own code, which is raised as it is."""
    start = f"cannot restore the checkpoint {checkpoint.path}: "
    keep = "; the file is kept, so restore() works once that is done"
    if isinstance(exc, ImportError):
        module = exc.name or str(exc)
        return (f"{start}its object needs the module {module!r}, which cannot be imported "
                f"here ({type(exc).__name__}: {exc}): install it, or add the folder of "
                f"{module}.py to sys.path, then call restore() again{keep}")
    if isinstance(exc, AttributeError):
        found = re.search(r"Can't get attribute '([^']+)' on <module '([^']+)'", str(exc))
        if found is None:
            return None
        name, module = found.groups()
        return (f"{start}its object is of the class (or function) {name} of the module "
                f"{module}, which is no longer defined there ({exc}): define {name} in "
                f"{module} again (or import the version of {module} that has it), then call "
                f"restore() again{keep}")
    damaged = isinstance(exc, (EOFError, pickle.UnpicklingError)) or (
        checkpoint.kind == "torch" and not zipfile.is_zipfile(checkpoint.path))
    if not damaged:
        return None
    return (f"{start}the file is damaged (truncated or overwritten: {type(exc).__name__}: "
            f"{exc}); a checkpoint file is never rewritten by jupyter_hpo, so it was changed "
            f"by something else: restore the file from a backup, or run the trial again "
            f"without it")


def _uses_torch(obj: Any, depth: int = 0) -> bool:
    """Whether ``obj`` is, or holds (in dicts, lists and tuples), a torch module, tensor or
    optimizer; torch is only looked at when it was imported already."""
    torch = sys.modules.get("torch")
    if torch is None or depth > 3:
        return False
    if isinstance(obj, (torch.nn.Module, torch.Tensor, torch.optim.Optimizer)):
        return True
    if isinstance(obj, dict):
        return any(_uses_torch(v, depth + 1) for v in list(obj.values())[:1000])
    if isinstance(obj, (list, tuple)):
        return any(_uses_torch(v, depth + 1) for v in obj[:1000])
    return False


# ------------------------------------------------------------------ what is kept
def remove(checkpoint: Checkpoint | None) -> None:
    """Delete a checkpoint's file (a file already gone is fine)."""
    if checkpoint is None:
        return
    try:
        os.unlink(checkpoint.path)
    except FileNotFoundError:
        pass


def kept(trials: Iterable[Any], metric: str, direction: Any, keep_all: bool = False,
         best: int = KEEP_BEST) -> set[int]:
    """The trial ids (among ``trials``, records or live trials with a ``checkpoint``) whose
    checkpoints stay: running, paused and interrupted trials, and the ``best`` best of the
    finished ones that did not fail, stopped ones included (the study's best trial may have
    been stopped: paused at a rung when the budget ran out, or cut after its best epoch);
    every one with ``keep_all``."""
    with_files = [t for t in trials if t.checkpoint is not None]
    if keep_all:
        return {t.trial_id for t in with_files}
    keep = {t.trial_id for t in with_files
            if t.status.value in ("running", "paused", "interrupted")
            or t.status.value == "cancelled" and getattr(t, "study_stopped", False)}
    finished = []
    for t in with_files:
        if t.status.value in ("completed", "cancelled", "stopped"):
            value = t.best(metric, direction)
            if value is not None:
                finished.append((direction.sign * value, t.trial_id))
    keep.update(trial_id for _, trial_id in sorted(finished)[:best])
    return keep


def disk_use(folder: str | None) -> tuple[int, int]:
    """``(files, bytes)`` of the checkpoints in ``folder``."""
    if not folder or not os.path.isdir(folder):
        return 0, 0
    files = total = 0
    for entry in os.scandir(folder):
        if entry.is_file() and not entry.name.endswith(".partial"):
            files += 1
            total += entry.stat().st_size
    return files, total


def remove_orphans(folder: str, referenced: set[str]) -> None:
    """Delete checkpoint files of a resumed study that no trial refers to (saved just before a
    crash, before the study stored that it had them; or half-written)."""
    if not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.is_file() and entry.name not in referenced:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def remove_folder(folder: str | None) -> None:
    """Delete a study's checkpoint folder (when the study is deleted)."""
    if folder and os.path.isdir(folder):
        shutil.rmtree(folder, ignore_errors=True)
        parent = os.path.dirname(folder)
        try:
            os.rmdir(parent)  # the storage's folder of checkpoints, when it is now empty
        except OSError:
            pass
