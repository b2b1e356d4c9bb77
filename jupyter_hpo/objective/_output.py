"""What a finished objective hands back to the executor that ran its trial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TrialOutput:
    """What a finished objective hands back: a final result (if any) and its namespace."""

    result: dict[str, Any] | None = None
    namespace: dict[str, Any] | None = None
