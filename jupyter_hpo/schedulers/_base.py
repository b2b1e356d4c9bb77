"""The Scheduler protocol: decides what runs next and answers every report.

A scheduler owns its searcher (as in Syne Tune). A driver that does one thing at a time calls
``suggest``; a controller that must answer reports while a model is being fitted calls the
parts separately: ``promote`` (fast; a paused trial to resume) and ``add_trial`` (fast) under
its decision lock, ``searcher.suggest`` (possibly slow) outside it, in its own thread. Reports
reach the searcher through its non-blocking ``observe``, so ``on_trial_result`` never waits
for a proposal in progress.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..records import Direction
from ..searchers import Searcher
from ..trial import Decision


@dataclass(frozen=True)
class Suggestion:
    """Either start a new trial with ``config`` or resume the paused trial ``resume_trial``."""

    config: dict[str, Any] | None = None
    resume_trial: int | None = None

    @classmethod
    def start(cls, config: dict[str, Any]) -> Suggestion:
        return cls(config=config)

    @classmethod
    def resume(cls, trial_id: int) -> Suggestion:
        return cls(resume_trial=trial_id)


class Scheduler(ABC):
    """Owns a searcher; pure, synchronous and deterministic, so a simulated clock can drive it.

    The driver calls ``suggest`` (or ``promote``, ``searcher.suggest`` and ``add_trial``) when
    a worker is free, ``on_trial_result`` on every report and one of ``on_trial_complete`` /
    ``on_trial_error`` / ``on_trial_remove`` when a trial ends. Metric values are read through
    ``direction.loss``: finite, lower is better, ``None`` for anything else.
    """

    #: the name ``make_scheduler`` knows the scheduler by
    name: ClassVar[str] = "custom"
    #: the keyword options the constructor takes besides searcher, metric, mode and resource
    OPTIONS: ClassVar[tuple[str, ...]] = ()
    #: whether every report must carry the resource (e.g. ``epoch``) for the scheduler to work
    needs_resource: ClassVar[bool] = False
    #: the study's clock (seconds; simulated in benchmarks), set by the study for schedulers
    #: that weigh how long trials take; ``None`` outside a study
    clock: Callable[[], float] | None = None

    def __init__(self, searcher: Searcher, metric: str, mode: str,
                 resource: str = "epoch") -> None:
        self.direction = Direction.of(mode)
        self.searcher, self.metric, self.resource = searcher, metric, resource
        self.mode = self.direction.value  # "min" or "max", for code that reads the string
        self.configs: dict[int, dict[str, Any]] = {}

    def describe(self) -> str:
        """A one-line description for headers, e.g. ``"fifo"``."""
        return self.name

    # ------------------------------------------------------------------ what runs next
    def suggest(self, trial_id: int, can_start_new: bool = True) -> Suggestion | None:
        """What the next free worker should do; ``None`` when there is nothing to run now.

        The synchronous composition of the parts: a promotion if there is one, else (when
        ``can_start_new``) the searcher's proposal registered with ``add_trial``."""
        resume = self.promote(closing=not can_start_new)
        if resume is not None:
            return Suggestion.resume(resume)
        if not can_start_new:
            return None
        config = self.searcher.suggest(trial_id)
        if config is None:
            return None
        self.add_trial(trial_id, config)
        return Suggestion.start(config)

    def promote(self, closing: bool = False) -> int | None:
        """A paused trial to resume now (the promotion is recorded), or ``None``; ``closing``
        when no new trial will start (the budget is spent), so rungs will not fill further."""
        return None

    def add_trial(self, trial_id: int, config: dict[str, Any]) -> None:
        """Register a configuration the searcher proposed for ``trial_id``, which starts now."""
        self.configs[trial_id] = config
        self._on_trial_add(trial_id, config)

    def _on_trial_add(self, trial_id: int, config: dict[str, Any]) -> None:
        """Hook for schedulers that track new trials (e.g. assign a bracket)."""

    def bracket(self, trial_id: int) -> int:
        """The Hyperband bracket of a trial (0 for schedulers without brackets)."""
        return 0

    def paused_trials(self) -> list[int]:
        """Trials waiting for a promotion (only the promotion variant of Hyperband has any)."""
        return []

    def out_of_order_note(self) -> str:
        """What this scheduler does with a report whose resource went down or repeated, for
        the warning that says so (``Controller``)."""
        return (f"the {self.name} scheduler does not use the resource, so only the trial's "
                f"curve shows it")

    # ------------------------------------------------------------------ trial events
    @abstractmethod
    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        """Answer one report: ``CONTINUE``, ``PAUSE``, ``STOP`` (ended early) or ``DONE``
        (the trial reached the largest resource: it ends as completed)."""

    def on_trial_complete(self, trial_id: int, result: dict[str, Any] | None) -> None:
        """The trial ended normally (``result``: its last report, if any)."""
        self.searcher.observe(trial_id, self.configs.get(trial_id, {}), result or {}, final=True)

    def on_trial_error(self, trial_id: int) -> None:
        """The trial failed: the searcher counts its configuration as the worst result."""
        self.searcher.fail(trial_id, self.configs.get(trial_id, {}))

    def on_trial_remove(self, trial_id: int) -> None:
        """The trial was cancelled by the user or the study's budget."""
        self.searcher.remove(trial_id)

    # ------------------------------------------------------------------ resuming
    def readmit(self, trial_id: int, config: dict[str, Any], reports: list[dict[str, Any]],
                bracket: int = 0) -> Decision:
        """``trial_id`` re-runs an interrupted trial of a resumed study from its checkpoint,
        with the interrupted trial's ``reports`` up to it: it joins the ``bracket`` that trial
        ran in and the reports are answered again, so the scheduler knows where it stood (its
        rungs); returns ``PAUSE`` when it stands paused at a rung (it waits for a promotion
        without running), else ``CONTINUE`` (it runs on from the checkpoint)."""
        self.configs[trial_id] = config
        self._on_trial_restore(trial_id, config, bracket)
        decision = Decision.CONTINUE
        for result in reports:
            decision = self._replay(trial_id, result, decision)
        return Decision.PAUSE if decision is Decision.PAUSE else Decision.CONTINUE

    def _replay(self, trial_id: int, result: dict[str, Any], before: Decision) -> Decision:
        """Hook: answer a carried-over report of a re-run (``before``: the answer to the
        report before it, which the trial went on from)."""
        return self.on_trial_result(trial_id, result)

    def restore(self, trial_id: int, config: dict[str, Any], reports: list[dict[str, Any]],
                status: str, bracket: int = 0) -> None:
        """Replay a stored, finished trial of a resumed study: its reports fill the rungs and
        teach the searcher as if it had just run (the decisions are ignored)."""
        self.configs[trial_id] = config
        self.searcher.restore(trial_id, config)
        self._on_trial_restore(trial_id, config, bracket)
        for result in reports:
            self.on_trial_result(trial_id, result)
        if status in ("completed", "stopped"):
            self.on_trial_complete(trial_id, reports[-1] if reports else None)
        elif status == "failed":
            self.on_trial_error(trial_id)
        else:
            self.on_trial_remove(trial_id)

    def _on_trial_restore(self, trial_id: int, config: dict[str, Any], bracket: int) -> None:
        """Hook: a stored trial comes back (in the ``bracket`` it ran in)."""
