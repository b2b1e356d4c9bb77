"""Which storage files the server shows, and the one check that keeps every path it opens
inside the server's root.

A storage is named to the browser by its path relative to the server's root (``runs.db``,
``project/jupyter_hpo.db``). Files are found by walking the root to a configurable depth:
every file called ``jupyter_hpo.db`` (the default storage) and every ``*.db``/``*.sqlite``
file whose SQLite header carries our application id, plus ``$JUPYTER_HPO_STORAGE``. Nothing is
ever created: a path that does not exist is not opened (opening a missing file would create an
empty database), and a path that resolves outside the root (``..``, an absolute path, a
symbolic link that points out) is refused. What the panel only reads (listings, a study's
view) is read through a storage opened read-only, so that opening JupyterLab never writes to
a file, nor migrates one of an older schema (which an older jupyter_hpo would then refuse).
"""

from __future__ import annotations

import os
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..storage import DEFAULT_FILE, SQLiteStorage
from ..storage._schema import APPLICATION_ID

__all__ = ["OutsideRootError", "StorageFiles", "is_ours", "transient_file_globs"]

_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SKIPPED_FOLDERS = {"node_modules", "__pycache__", "site-packages"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
DISCOVERY_TTL = 2.0  # seconds a walk of the root is reused (the panel asks every second)
LOCK_TIMEOUT = 2.0  # seconds a request waits for a storage file another process keeps locked


def transient_file_globs(extra: str | None = None) -> list[str]:
    """File-name patterns of the files that come and go while a study runs: those SQLite keeps
    next to a storage file while it writes (``-wal``, ``-shm``, ``-journal``, for every storage
    suffix and for ``extra``'s name) and a checkpoint being written
    (``trial-3-1a2b3c4d.pkl.*.partial``, renamed to ``trial-3-1a2b3c4d.pkl`` when complete)."""
    names = [f"*{suffix}" for suffix in _SUFFIXES]
    if extra and not extra.endswith(_SUFFIXES):
        names.append(os.path.basename(extra))
    sqlite = [f"{name}-{kind}" for name in names for kind in ("wal", "shm", "journal")]
    return [*sqlite, "trial-*.partial"]


class OutsideRootError(ValueError):
    """A storage path that is not inside the server's root (refused with 403)."""


def is_ours(path: str) -> bool:
    """Whether ``path`` starts with a SQLite header whose application id is jupyter_hpo's
    (read from the 100-byte header; SQLite itself is not opened)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return False
    return (len(header) == 100 and header.startswith(_SQLITE_MAGIC)
            and struct.unpack(">I", header[68:72])[0] == APPLICATION_ID)


@dataclass(frozen=True)
class _Opened:
    storage: SQLiteStorage
    inode: tuple[int, int]


_Key = tuple[str, bool]  # a file's absolute path, and whether it is opened only to read


class StorageFiles:
    """The storage files under ``root`` (to ``depth`` folders down), opened on demand and kept
    open while the file on disk stays the same file. ``lock_timeout``: seconds a request waits
    for a file that another process keeps locked before it answers with the error."""

    def __init__(self, root: str, depth: int = 2, extra: str | None = None,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.root = os.path.realpath(root)
        self.depth = depth
        self.extra = extra
        self.lock_timeout = lock_timeout
        self._opened: dict[_Key, _Opened] = {}
        self._lock = threading.Lock()
        self._discovered: tuple[float, list[str]] | None = None

    # ------------------------------------------------------------------ paths
    def resolve(self, relative: str) -> str:
        """The absolute path of the storage ``relative`` (a path relative to the root);
        ``OutsideRootError`` if it leaves the root, ``FileNotFoundError`` if it is missing."""
        if not isinstance(relative, str) or not relative.strip():
            raise OutsideRootError("a storage path is required (relative to the server's root)")
        if "\x00" in relative:
            raise OutsideRootError(f"the storage path {relative!r} is not a valid path")
        candidate = os.path.realpath(os.path.join(self.root, os.path.expanduser(relative)))
        if os.path.commonpath([candidate, self.root]) != self.root or candidate == self.root:
            raise OutsideRootError(f"the storage {relative!r} is outside the server's root "
                                   f"({self.root}): only files inside it can be opened")
        if not os.path.isfile(candidate):
            raise FileNotFoundError(f"there is no storage file {relative!r} in the server's "
                                    f"root")
        return candidate

    def relative(self, path: str) -> str:
        """``path`` relative to the root, with ``/`` separators (how the browser names it)."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def environment_file(self) -> tuple[str | None, str | None]:
        """``$JUPYTER_HPO_STORAGE`` as ``(relative path, None)`` when it is an existing file
        inside the root, ``(None, why not)`` when it is set but cannot be shown, or
        ``(None, None)`` when it is not set."""
        value = self.extra
        if not value:
            return None, None
        path = value
        for prefix in ("sqlite:///", "file://"):
            path = path.removeprefix(prefix)
        absolute = os.path.realpath(os.path.join(self.root, os.path.expanduser(path)))
        if os.path.commonpath([absolute, self.root]) != self.root:
            return None, (f"$JUPYTER_HPO_STORAGE ({value}) is outside the server's root "
                          f"({self.root}), so its studies are not shown")
        if not os.path.isfile(absolute):
            return None, None  # nothing stored there yet
        return self.relative(absolute), None

    def discover(self, fresh: bool = False) -> list[str]:
        """Every storage file under the root, as relative paths, sorted; hidden folders and
        ``node_modules`` are skipped, and so are symbolic links that leave the root. A walk
        is reused for ``DISCOVERY_TTL`` seconds unless ``fresh``."""
        with self._lock:
            cached = self._discovered
        if not fresh and cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL:
            return list(cached[1])
        found = self._walk()
        with self._lock:
            self._discovered = (time.monotonic(), found)
        return list(found)

    def _walk(self) -> list[str]:
        found: set[str] = set()
        for folder, folders, files in os.walk(self.root, followlinks=False):
            depth = 0 if folder == self.root else len(Path(folder).relative_to(self.root).parts)
            folders[:] = sorted(f for f in folders
                                if not f.startswith(".") and f not in _SKIPPED_FOLDERS
                                and depth < self.depth)
            for name in files:
                if name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                if name == DEFAULT_FILE or (name.endswith(_SUFFIXES) and is_ours(path)):
                    real = os.path.realpath(path)
                    if os.path.commonpath([real, self.root]) == self.root:
                        found.add(self.relative(path))
        own, _ = self.environment_file()
        if own is not None:
            found.add(own)
        return sorted(found)

    # ------------------------------------------------------------------ opening
    def open(self, relative: str, read_only: bool = False) -> SQLiteStorage:
        """The storage of the file ``relative``, opened only to read with ``read_only`` (errors
        as :meth:`resolve`; a file that is not a usable storage raises the storage's own
        ``StorageError``)."""
        path = self.resolve(relative)
        stat = os.stat(path)
        inode = (stat.st_dev, stat.st_ino)
        with self._lock:
            opened = self._opened.get((path, read_only))
            if opened is not None and opened.inode == inode:
                return opened.storage
        # outside the lock: it may check the file
        storage = SQLiteStorage(path, timeout=self.lock_timeout, read_only=read_only)
        with self._lock:
            self._opened[(path, read_only)] = _Opened(storage, inode)
        return storage

    def forget(self, relative: str) -> None:
        """Drop the open storages of ``relative`` (after it was found deleted or replaced)."""
        path = os.path.realpath(os.path.join(self.root, relative))
        with self._lock:
            for read_only in (False, True):
                self._opened.pop((path, read_only), None)

    def fingerprint(self, paths: list[str]) -> tuple[tuple[str, int, int], ...]:
        """Modification times and sizes of ``paths`` and their ``-wal`` files: changes when
        any study in them changes (what the watch request waits for). An empty ``-wal`` holds
        nothing, and counts as none: a read-only listing leaves one behind where no other
        connection had the file open, which must not wake the watch."""
        out = []
        for relative in paths:
            base = os.path.join(self.root, relative)
            for path in (base, base + "-wal"):
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                if path != base and not stat.st_size:
                    continue
                out.append((path, stat.st_mtime_ns, stat.st_size))
        return tuple(out)
