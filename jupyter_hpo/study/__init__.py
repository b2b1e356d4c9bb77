"""``Study``: the user-facing handle of a study, live (run by a controller) or loaded (see
``_study.py``)."""

from __future__ import annotations

from ._study import Study, StudyEvent

__all__ = ["Study", "StudyEvent"]
