"""Storage of studies: the ``BaseStorage`` interface, its implementations, and
``open_storage``, the one place that turns what a user typed (``--storage``, ``storage=``)
into a storage.

- :class:`SQLiteStorage`: a SQLite file (WAL), shared by kernels and processes; leases, resume,
  stop requests from other processes, migrations of older files.
- :class:`InMemoryStorage`: this process's memory (``tune()`` runs and tests); ``":memory:"``
  names one per process.
"""

from __future__ import annotations

import os
import threading

from ..errors import (
    DuplicateStudyError,
    StorageDamagedError,
    StorageError,
    StorageGoneError,
    StorageLockedError,
    StorageReadOnlyError,
    StudyNotFoundError,
    StudyStateError,
)
from ._base import BaseStorage, StudyUpdate
from ._codec import (
    StoredRepr,
    decode_config,
    describe_space,
    dumps_config,
    dumps_values,
    encode_value,
    space_from_description,
)
from ._common import LEASE_TIMEOUT, lease_alive
from ._memory import InMemoryStorage
from ._schema import SCHEMA_VERSION
from ._sqlite import DEFAULT_FILE, SQLiteStorage, default_storage_path, storage_path

__all__ = ["DEFAULT_FILE", "LEASE_TIMEOUT", "SCHEMA_VERSION", "BaseStorage",
           "DuplicateStudyError", "InMemoryStorage", "SQLiteStorage",
           "StorageDamagedError", "StorageError", "StorageGoneError", "StorageLockedError",
           "StorageReadOnlyError",
           "StoredRepr", "StudyNotFoundError", "StudyStateError", "StudyUpdate",
           "decode_config", "default_storage_path", "describe_space", "dumps_config",
           "dumps_values", "encode_value", "lease_alive", "open_storage",
           "space_from_description", "storage_path"]

_MEMORY = (":memory:", "sqlite://", "sqlite:///:memory:")
_process_memory: list[InMemoryStorage] = []  # the one store every ":memory:" names
_process_memory_lock = threading.Lock()


def keeps_nothing(location: str) -> bool:
    """Whether ``location`` asks for no storage: ``"none"`` or ``""`` (any case, spaces
    ignored)."""
    return location.strip().lower() in ("none", "")


def open_storage(location: str | os.PathLike[str] | BaseStorage | None = None, *,
                 read_only: bool = False) -> BaseStorage | None:
    """The storage that ``location`` names (``read_only``: a file is opened for reading
    only, never written nor migrated, as listings open it; see :class:`SQLiteStorage`):

    - ``None``: the default file, ``$JUPYTER_HPO_STORAGE`` or ``jupyter_hpo.db`` in the
      working directory;
    - ``"none"`` or ``""`` (any case, spaces ignored): ``None``, keep nothing;
    - ``":memory:"`` (or ``sqlite://``): this process's :class:`InMemoryStorage`, the same
      one each time, so a study kept there can be listed, loaded and resumed until the
      process ends (``InMemoryStorage()`` makes a store of its own);
    - a path, ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
      ``file:///absolute/path``: a :class:`SQLiteStorage`;
    - a ``BaseStorage``: itself.

    Any other URL (``mysql://``, ``postgresql://``, ``redis://``, ``http://``) is a
    ``StorageError``: only SQLite files are supported.
    """
    if isinstance(location, BaseStorage):
        return location
    if location is None:
        return SQLiteStorage(None, read_only=read_only)  # $JUPYTER_HPO_STORAGE's errors say so
    text = os.fspath(location) if isinstance(location, (str, os.PathLike)) else None
    if not isinstance(text, str):
        hint = " (to keep nothing, pass 'none')" if location is False else ""
        raise StorageError(f"the storage location is {location!r} ({type(location).__name__}), "
                           f"but must be a path, sqlite:///path, ':memory:', 'none' or a "
                           f"storage object such as SQLiteStorage(path){hint}")
    if keeps_nothing(text):
        return None
    if text.strip() in _MEMORY:
        with _process_memory_lock:
            if not _process_memory:
                _process_memory.append(InMemoryStorage())
            return _process_memory[0]
    return SQLiteStorage(text, read_only=read_only)
