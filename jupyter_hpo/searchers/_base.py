"""The Searcher protocol: proposes configurations and learns from their results.

A searcher is a plain, deterministic object, but one that may be used from several threads
at once: the study's controller asks for a proposal in its own thread (a model fit can take
seconds) while trial threads report. The public methods that tell the searcher something
(``observe``, ``remove``, ``restore``, ``enqueue``, ``resumed``) never wait for a proposal:
they put the operation into an inbox and apply the inbox right away when no ``suggest`` runs;
``suggest`` applies the inbox before it proposes and again when it is done. In one thread
every operation therefore takes effect at once, in call order, exactly as if there were no
inbox; across threads an operation that arrives while a proposal is being made takes effect
right after it, before the next proposal.

Subclasses implement the hooks ``_suggest``, ``_observe``, ``_remove`` and ``_restore``; the
base keeps the pending trials and reads results through ``loss`` and ``level`` (finite
numbers, lower is better), so no searcher looks at ``mode`` or checks for NaN itself.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from ..records import Direction, finite_number
from ..space import Space

_HUGE = 1e100


def model_value(loss: float) -> float:
    """``loss`` itself up to ±1e100; beyond, ``±1e100 * (1 + log10(|loss| / 1e100))``, which
    keeps the order but stays below ±3e102, so a model's squares and variances of a diverging
    training's losses (1e300) cannot overflow (scikit-optimize's GP failed with NaN there)."""
    if -_HUGE <= loss <= _HUGE:
        return loss
    return math.copysign(_HUGE * (1.0 + math.log10(abs(loss) / _HUGE)), loss)


class Searcher(ABC):
    """Proposes configurations; deterministic given ``seed`` and the order of the calls.

    ``suggest`` marks the proposal pending until ``observe(..., final=True)`` or ``remove``;
    model-based searchers use the pending set so concurrent workers get different proposals.
    """

    #: the name ``make_searcher`` knows the searcher by
    name: ClassVar[str] = "custom"
    #: the keyword options the constructor takes besides space, metric, mode and seed
    OPTIONS: ClassVar[tuple[str, ...]] = ()
    #: whether reports before a trial's end (rung results) teach the searcher anything; when
    #: not, ``observe`` ignores them at once (the report path stays a few microseconds)
    uses_progress: ClassVar[bool] = False
    #: whether a trial that Hyperband stopped at a rung (or left paused there) teaches the
    #: searcher its last result as if it were final; when not, the searcher learns only from
    #: the trials that ran to the end (``tpe``: learning from stopped trials made it worse
    #: than random search under Hyperband, see the README)
    learns_stopped: ClassVar[bool] = True
    #: whether the searcher is told which pending trials Hyperband's promotion variant has
    #: paused at a rung (``paused_pending``), e.g. not to fantasise them as running ones
    tracks_pauses: ClassVar[bool] = False
    #: whether a proposal makes many small BLAS and LAPACK calls (a GP's fit and predictions):
    #: the study then runs it with one BLAS thread (``controller/blas_threads.py``)
    uses_blas: ClassVar[bool] = False
    #: print each proposal (and, with Hyperband, each stop / pause / promote decision);
    #: every searcher takes ``debug_log=True`` (see ``make_searcher``)
    debug_log: bool = False

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None) -> None:
        self.direction = Direction.of(mode)
        self.space, self.metric, self.seed = space, metric, seed
        self.mode = self.direction.value  # "min" or "max", for code that reads the string
        self.rng = np.random.default_rng(seed)
        self.pending: dict[int, dict[str, Any]] = {}
        self.resource: str | None = None
        self.max_t: float | None = None
        self.rung_levels: list[float] = []
        #: the rung levels whose results teach the searcher (None: all of them); a scheduler
        #: that finds that a level's results do not predict the final ones leaves it out
        self.trusted_levels: frozenset[float] | None = None
        self.queued: list[dict[str, Any]] = []
        #: pending trials paused at a rung and not promoted since (with ``tracks_pauses``)
        self.paused_pending: set[int] = set()
        #: the worst final loss seen, what a failed trial counts as (see ``fail``)
        self.worst_loss: float | None = None
        self._failed: list[tuple[int, dict[str, Any]]] = []  # failed before any final loss
        self._lock = threading.Lock()
        self._inbox: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()

    # ------------------------------------------------------------------ reading results
    def loss(self, result: Mapping[str, Any]) -> float | None:
        """The metric of ``result`` as a finite value to minimise; ``None`` when it is
        missing, not a number (bools included), NaN or infinite. Beyond ±1e100 it is
        compressed (see ``model_value``)."""
        loss = self.direction.loss(result.get(self.metric))
        return None if loss is None else model_value(loss)

    def level(self, result: Mapping[str, Any]) -> float | None:
        """The resource of ``result`` as a finite number (``None`` without one, or before
        ``set_fidelity``)."""
        return None if self.resource is None else finite_number(result.get(self.resource))

    def set_fidelity(self, resource: str, max_t: float, rung_levels: list[float]) -> None:
        """Called by Hyperband: reports carry ``resource`` (up to ``max_t``) and decisions are
        made at ``rung_levels``, so a multi-fidelity searcher can model the resource too."""
        self.resource, self.max_t, self.rung_levels = resource, max_t, list(rung_levels)

    def trust_levels(self, levels: list[float]) -> None:
        """Learn only from results at these rung levels (and max_t) from now on; the results
        kept at other levels stay, unused while they are not trusted."""
        self._post(self._apply_trust, frozenset(float(level) for level in levels))

    def describe(self) -> str:
        """A short description for headers, e.g. ``"random search"``."""
        return f"{self.name} search"

    # ------------------------------------------------------------------ proposing
    def suggest(self, trial_id: int) -> dict[str, Any] | None:
        """A configuration for a new trial, or ``None`` when the space is exhausted.

        Everything told to the searcher before the call is applied first; what other threads
        tell it while it proposes waits in the inbox and is applied before this returns or,
        at the latest, before the next proposal."""
        try:
            with self._lock:
                self._apply_inbox()
                queued = bool(self.queued)
                if queued:
                    config = self.queued.pop(0)
                    if any(n not in config for n in self.space.active(config)):
                        config = self._complete(config, trial_id)
                else:
                    config = self._suggest(trial_id)
                if config is not None:
                    self.pending[trial_id] = config
        finally:
            self._drain()
        if self.debug_log and config is not None:
            from ..trial import log_line

            log_line(f"{self.name}: trial {trial_id} gets {config}"
                     f"{' (queued)' if queued else ''}")
        return config

    @abstractmethod
    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        """Subclasses propose here (under the lock; ``self.pending`` holds the other
        proposals still running)."""

    def _complete(self, partial: dict[str, Any], trial_id: int) -> dict[str, Any]:
        """A partial configuration that was enqueued, completed: its values, the rest from a
        proposal of this searcher (drawn at random where the proposal has none, e.g. for a
        hyperparameter the partial values make active). A searcher that remembers its
        proposals is told to forget this one when the result differs from it."""
        proposal = self._suggest(trial_id) or {}
        config = self.space.complete(partial, proposal, self.rng)
        if config != proposal:
            self._remove(trial_id)
        return config

    # ------------------------------------------------------------------ being told
    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        """Learn from a report (``final``: the trial has ended with this result)."""
        if final or self.uses_progress:
            self._post(self._apply_observe, trial_id, config, result, final)

    def remove(self, trial_id: int) -> None:
        """Forget a pending trial that was cancelled (its results teach nothing)."""
        self._post(self._apply_remove, trial_id)

    def paused(self, trial_id: int) -> None:
        """Hyperband's promotion variant paused the trial at a rung: it stays pending (it may
        be promoted; most never are and end with the study) but does not run. A searcher
        that fantasises running trials (``tracks_pauses``) leaves it out: skopt told dozens
        of paused trials to its model as lies at the best value so far."""
        if self.tracks_pauses:
            self._post(self._apply_paused, trial_id)

    def promoted(self, trial_id: int) -> None:
        """A paused trial goes on to its next rung: it runs again (see ``paused``)."""
        if self.tracks_pauses:
            self._post(self._apply_promoted, trial_id)

    def fail(self, trial_id: int, config: dict[str, Any]) -> None:
        """A trial failed (its training diverged to NaN, ran out of memory, raised): learn
        that ``config`` ends as badly as the worst final result seen (SMAC's crash cost), so
        a model does not keep proposing where trials fail (without it, bayesopt sent 35 of
        40 trials into a region where every one failed: unseen, it looked promising). Before
        the first final result, it is learnt when that comes."""
        self._post(self._apply_fail, trial_id, config)

    def restore(self, trial_id: int, config: dict[str, Any]) -> None:
        """A stored trial of a resumed study; its results follow through ``observe``.
        Searchers that remember their proposals (grid) mark ``config`` as taken."""
        self._post(self._apply_restore, trial_id, config)

    def enqueue(self, config: dict[str, Any]) -> None:
        """Propose ``config`` next, before anything of the searcher's own (e.g. the trials a
        resumed study re-runs)."""
        self._post(self._apply_enqueue, dict(config))

    def resumed(self, restored: int) -> None:
        """After ``restored`` stored trials: a fresh random stream, so that a resumed seeded
        study does not propose its first configurations again (still deterministic)."""
        self._post(self._apply_resumed, restored)

    # ------------------------------------------------------------------ hooks
    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        """Subclasses learn from a report here (``pending`` is already updated)."""

    def _remove(self, trial_id: int) -> None:
        """Subclasses forget what they kept about a failed or cancelled trial here."""

    def _restore(self, trial_id: int, config: dict[str, Any]) -> None:
        """Subclasses note a stored trial of a resumed study here."""

    # ------------------------------------------------------------------ the inbox
    def _post(self, apply: Callable[..., None], *args: Any) -> None:
        """Call ``apply(*args)`` (an ``_apply_*`` method) now, or queue it while another thread
        holds the lock. Every report of a trial passes here, so it is kept to a few
        attribute lookups: the method itself is queued, not its name to look up."""
        if not self._inbox and self._lock.acquire(blocking=False):
            try:  # nothing queued and no other thread inside: apply it now
                apply(*args)
            finally:
                self._lock.release()
            if self._inbox:
                self._drain()  # what other threads queued meanwhile
            return
        self._inbox.append((apply, args))
        self._drain()

    def _drain(self) -> None:
        """Apply the inbox unless another thread holds the lock. That thread drains after it
        releases the lock, and it does so after this thread's append: nothing is left behind.
        """
        while self._inbox and self._lock.acquire(blocking=False):
            try:
                self._apply_inbox()
            finally:
                self._lock.release()

    def _apply_inbox(self) -> None:
        """Apply every queued operation in order (the caller holds the lock)."""
        while self._inbox:
            apply, args = self._inbox.popleft()
            apply(*args)

    def _apply_observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                       final: bool) -> None:
        if final:
            self.pending.pop(trial_id, None)
            self.paused_pending.discard(trial_id)
        self._observe(trial_id, config, result, final)
        loss = self.loss(result) if final else None
        if loss is not None and (self.worst_loss is None or loss > self.worst_loss):
            self.worst_loss = loss
            failed, self._failed = self._failed, []
            for failed_id, failed_config in failed:
                self._apply_fail(failed_id, failed_config)

    def _apply_remove(self, trial_id: int) -> None:
        self.pending.pop(trial_id, None)
        self.paused_pending.discard(trial_id)
        self._remove(trial_id)

    def _apply_paused(self, trial_id: int) -> None:
        if trial_id in self.pending:  # not ended meanwhile
            self.paused_pending.add(trial_id)

    def _apply_promoted(self, trial_id: int) -> None:
        self.paused_pending.discard(trial_id)

    def _apply_fail(self, trial_id: int, config: dict[str, Any]) -> None:
        if self.worst_loss is None:
            self._apply_remove(trial_id)
            self._failed.append((trial_id, config))
            return
        result = {self.metric: self.direction.sign * self.worst_loss}
        if self.resource is not None and self.max_t is not None:
            result[self.resource] = self.max_t
        self._apply_observe(trial_id, config, result, True)

    def _apply_restore(self, trial_id: int, config: dict[str, Any]) -> None:
        self._restore(trial_id, config)

    def _apply_trust(self, levels: frozenset[float]) -> None:
        self.trusted_levels = levels

    def _apply_enqueue(self, config: dict[str, Any]) -> None:
        self.queued.append(config)

    def _apply_resumed(self, restored: int) -> None:
        if restored:
            self.rng = np.random.default_rng(None if self.seed is None
                                             else [self.seed, restored])

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        """Everything told so far applied; without the lock and the (empty) inbox."""
        with self._lock:
            self._apply_inbox()
            state = self.__dict__.copy()
        del state["_lock"], state["_inbox"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._inbox = deque()
