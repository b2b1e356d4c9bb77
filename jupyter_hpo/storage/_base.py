"""The storage interface: where studies are kept, in terms of the records of ``records.py``.

Optuna's ``BaseStorage`` is the model: a small set of operations that a live study (through
its recorder), the ``%hpo`` commands, the JupyterLab server extension and a cluster executor
all use, so that each implementation (in memory, SQLite) is interchangeable. Control from
outside the kernel goes through here too: ``request_stop`` leaves a request that the running
study's recorder picks up within a second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..records import Direction, StudyRecord, StudyState, StudySummary, TrialRecord

if TYPE_CHECKING:
    from ..space import Space

__all__ = ["BaseStorage", "StudyUpdate"]


@dataclass(frozen=True)
class StudyUpdate:
    """What changed in a running study since the last write, written in one transaction.

    ``trials`` are upserted whole; of each trial's reports only those from index
    ``reports_from[trial_id]`` on are new (the writer remembers what it wrote). ``state`` is
    ``None`` for a heartbeat that changes nothing else; ``queue`` (the enqueued configurations
    not started yet) is ``None`` when it did not change.
    """

    trials: tuple[TrialRecord, ...] = ()
    reports_from: Mapping[int, int] = field(default_factory=dict)
    state: StudyState | None = None
    elapsed: float = 0.0
    error: str = ""
    stop_reason: str = ""
    queue: tuple[Mapping[str, Any], ...] | None = None


class BaseStorage(ABC):
    """A place that keeps studies. Every method is safe to call from any thread; a study is
    *leased* to the process that runs it, so two kernels cannot run the same study."""

    location: str
    """Where the studies are (a file path, or ``":memory:"``), for messages."""

    owner: str
    """Who holds the leases this object takes: ``host:pid`` of this process."""

    read_only: bool = False
    """Whether the storage can only be read (every write raises ``StorageReadOnlyError``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    def checkpoint_dir(self, study_id: int) -> str:
        """The folder where study ``study_id`` keeps its trials' checkpoints. A storage
        without a file of its own gives one temporary folder per study (removed when the
        process exits); the SQLite storage keeps them next to its file."""
        from ..checkpoints import temporary_folder

        folders: dict[int, str] = self.__dict__.setdefault("_checkpoint_dirs", {})
        if study_id not in folders:
            folders[study_id] = temporary_folder()
        return folders[study_id]

    # ------------------------------------------------------------------ reading
    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """Every study, oldest first, without its trials; a study whose process died while it
        ran reads as ``interrupted``."""

    @abstractmethod
    def find_study(self, name: str) -> StudySummary | None:
        """The study called ``name``, or ``None``."""

    @abstractmethod
    def load_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        """The study called ``name`` with every trial and report (``StudyNotFoundError``
        listing the stored names if there is none). With ``space`` (the space of the cell or
        function that ran it), configuration values kept by ``repr`` come back as that
        space's categorical objects, and its domains replace the stored ones they equal."""

    # ------------------------------------------------------------------ running
    @abstractmethod
    def create_study(self, name: str | None, *, metric: str, direction: Direction,
                     resource: str, space: Space, settings: Mapping[str, Any]) -> StudyRecord:
        """Store a new study leased to this process. ``name=None`` takes ``study-N`` with the
        smallest free N, chosen atomically (concurrent creators get distinct names); a taken
        name raises ``DuplicateStudyError`` saying how to resume, rename or delete."""

    @abstractmethod
    def acquire_study(self, name: str, *, space: Space | None = None) -> StudyRecord:
        """Lease the stored study ``name`` to this process to resume it: its trials that were
        running or paused become ``interrupted``, an old stop request is cleared and the study
        reads as ``running`` at once (so it can be asked to stop while it is set up); refused
        (``StudyStateError``) while another live process holds it. ``space`` as in
        ``load_study``."""

    @abstractmethod
    def update_settings(self, study_id: int, settings: Mapping[str, Any]) -> None:
        """Record the settings a resumed study runs with (budget, searcher, ...)."""

    @abstractmethod
    def write(self, study_id: int, update: StudyUpdate) -> None:
        """Apply ``update`` atomically and renew this process's lease (a heartbeat). Reports
        already stored are kept (never overwritten). ``StudyNotFoundError`` if the study was
        deleted; ``StudyStateError`` if another process has taken the lease over."""

    @abstractmethod
    def release_study(self, study_id: int) -> None:
        """Give up this process's lease (the study can be resumed elsewhere)."""

    # ------------------------------------------------------------------ control
    @abstractmethod
    def request_stop(self, name: str, by: str) -> None:
        """Ask the running study ``name`` to stop; ``by`` says who asked (the study stops with
        the reason ``f"stopped from {by}"``). ``StudyNotFoundError`` if there is no such study,
        ``StudyStateError`` if it is not running (finished, failed, interrupted). A second
        request while the first is pending keeps the first."""

    @abstractmethod
    def stop_request(self, study_id: int) -> str | None:
        """Who asked the study to stop, or ``None`` if nobody did (polled by the recorder)."""

    @abstractmethod
    def delete_study(self, name: str) -> int:
        """Remove a finished study and its trials; refused while a live process runs it.
        Returns the number of trials removed."""
