"""Storage of studies: the ``BaseStorage`` interface and its implementations."""

from __future__ import annotations

from ._base import BaseStorage, StudyUpdate
from ._sqlite import (
    DEFAULT_FILE,
    SCHEMA_VERSION,
    Storage,
    StorageError,
    StoredStudy,
    StoredTrial,
    default_storage_path,
    describe_space,
    dumps_config,
    dumps_values,
    encode_value,
    space_from_description,
)

__all__ = ["DEFAULT_FILE", "SCHEMA_VERSION", "BaseStorage", "Storage", "StorageError",
           "StoredStudy", "StoredTrial", "StudyUpdate", "default_storage_path",
           "describe_space", "dumps_config", "dumps_values", "encode_value",
           "space_from_description"]
