"""Asynchronous Hyperband (ASHA): the stopping and promotion variants.

Rung levels are ``grace_period * reduction_factor**k <= max_t``. A trial's value at a rung is
"in the top 1/η" when fewer than ``ceil(n / η)`` of the ``n`` values recorded at that rung (its
own included) are strictly better; this is the same cut as the (1 - 1/η) quantile that Ray's
ASHA uses. Promotion uses ASHA's ``floor(n / η)`` so a rung must fill before it promotes.
Rungs record losses (``direction.loss`` of the metric: lower is better); a report whose metric
or resource is missing, not a number or not finite is recorded nowhere and continues.
A trial's value at a rung is the one of its first report with the metric at or past the rung:
a later report whose resource went down or repeated records nothing, so it cannot stop or
pause the trial (as Optuna ignores a repeated step). A report with the metric at
``resource >= max_t`` that no rung stops is ``DONE``: the trial ends there as completed, as
Ray's ASHA and Syne Tune end a trial at max_t.

Every decision is O(log n) in the trials of a rung (plus a list insertion, a memmove): each rung
keeps its recorded ``(loss, trial_id)`` pairs sorted, and the promotion variant also keeps its
paused trials sorted the same way. A paused trial is promotable when its rank among the rung's
pairs is below ``floor(n / η)``, so only the best paused trial of each rung needs checking.

With the searcher's ``debug_log`` each decision at a rung (continue, stop, pause) and each
promotion is printed with the trial's rank at the rung, as the seeds' ``debug_log`` does.
"""

from __future__ import annotations

import bisect
import math
import numbers
from typing import Any

import numpy as np

from ..records import finite_number
from ..searchers import Searcher
from ..searchers._options import check_choice, check_int, check_seed
from ..trial import Decision
from ._base import Scheduler

TYPES = ("stopping", "promotion")
#: the most rung levels a setting may give (grace_period * reduction_factor**k <= max_t)
MAX_RUNGS = 100


def _check_number(name: str, value: Any, lo: float, rule: str) -> float:
    """A finite real number (not a bool) ``> lo`` (``>= lo`` when ``rule`` says so)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} is {value!r}, but must be a finite number {rule}")
    if not (value >= lo if rule.startswith(">=") else value > lo):
        raise ValueError(f"{name} is {value!r}, but must be {rule}")
    return value


class HyperbandScheduler(Scheduler):
    """Stops (``type="stopping"``) or pauses and later promotes (``"promotion"``) trials."""

    name = "hyperband"
    OPTIONS = ("max_t", "grace_period", "reduction_factor", "brackets", "type", "seed")
    needs_resource = True

    def __init__(self, searcher: Searcher, metric: str, mode: str, resource: str = "epoch",
                 max_t: float | None = None, grace_period: float = 1,
                 reduction_factor: float = 3, brackets: int = 1, type: str = "stopping",
                 seed: int | None = None) -> None:
        super().__init__(searcher, metric, mode, resource)
        if max_t is None:
            raise ValueError("Hyperband needs max_t, the largest resource a trial reaches: "
                             "write `epochs = N` in the cell or pass --max-t N (with tune(): "
                             "{'epochs': N} in the space, a fixed value, or "
                             "scheduler_options={'max_t': N})")
        self.type = check_choice("type", type, TYPES)
        _check_number("max_t", max_t, 0, "> 0")
        _check_number("grace_period", grace_period, 0, "> 0")
        if grace_period > max_t:
            raise ValueError(f"grace_period is {grace_period}, but must be <= max_t ({max_t})")
        _check_number("reduction_factor", reduction_factor, 2, ">= 2")
        brackets = check_int("brackets", brackets, 1)
        seed = check_seed(seed)
        # k <= log(max_t / grace_period) / log(eta), computed without overflowing the ratio
        rungs = math.floor((math.log(max_t) - math.log(grace_period))
                           / math.log(reduction_factor) + 1e-9) + 1
        if rungs > MAX_RUNGS:
            raise ValueError(f"grace_period={grace_period}, reduction_factor={reduction_factor} "
                             f"and max_t={max_t} give {rungs} rung levels "
                             f"(grace_period * reduction_factor**k <= max_t), but at most "
                             f"{MAX_RUNGS} are allowed: raise grace_period or reduction_factor "
                             f"or lower max_t")
        self.max_t, self.grace_period, self.eta = max_t, grace_period, reduction_factor
        levels = []
        level = grace_period
        while level <= max_t * (1 + 1e-9) and len(levels) < MAX_RUNGS:
            levels.append(level)
            level *= reduction_factor
        self.rung_levels: list[float] = levels
        searcher.set_fidelity(resource, max_t, levels)
        below_max = [lv for lv in levels if lv < max_t]
        # One bracket per number of halvings, 0 included (Hyperband's s = 0: no early stops).
        max_brackets = len(below_max) + 1
        if brackets > max_brackets:
            raise ValueError(f"brackets is {brackets}, but with grace_period={grace_period}, "
                             f"reduction_factor={reduction_factor} and max_t={max_t} at most "
                             f"{max_brackets} bracket(s) exist (rungs {below_max})")
        self.num_brackets = brackets
        self._bracket_levels = [levels[b:] for b in range(self.num_brackets)]
        self._bracket_probs = self._bracket_distribution(len(below_max))
        self.rng = np.random.default_rng(seed)
        # bracket -> level -> {trial_id: loss}; insertion order is arrival order.
        self.rungs: list[dict[float, dict[int, float]]] = [
            {lv: {} for lv in bl} for bl in self._bracket_levels]
        # bracket -> level -> sorted (loss, trial_id) recorded there, so a rung decision is a
        # bisection instead of a scan of the rung.
        self._sorted: list[dict[float, list[tuple[float, int]]]] = [
            {lv: [] for lv in bl} for bl in self._bracket_levels]
        # bracket -> level -> sorted (loss, trial_id) of the trials paused there
        self._paused_sorted: list[dict[float, list[tuple[float, int]]]] = [
            {lv: [] for lv in bl} for bl in self._bracket_levels]
        self.promoted: list[dict[float, set[int]]] = [
            {lv: set() for lv in bl} for bl in self._bracket_levels]
        self.bracket_of: dict[int, int] = {}
        self._paused_at: dict[int, float] = {}
        self._stopped: set[int] = set()  # trials stopped at a rung that have not ended yet
        self._restoring: str | None = None  # the stored status of the trial being restored
        self._target: dict[int, int] = {}
        # trial -> how many of its bracket's levels it has been recorded at (a prefix, since
        # a trial's resource never decreases), so a report looks at one level, not all
        self._recorded: dict[int, int] = {}

    def describe(self) -> str:
        n = self.num_brackets
        return (f"hyperband ({self.type}, η={self.eta:g}, grace {self.grace_period:g}, "
                f"max_t {self.max_t:g}, {n} bracket{'s' if n > 1 else ''})")

    def _bracket_distribution(self, halvings: int) -> np.ndarray:
        """Hyperband's share of trials per bracket: ``eta**s / (s + 1)`` for ``s`` halvings."""
        weights = np.array([self.eta ** (halvings - b) / (halvings - b + 1)
                            for b in range(self.num_brackets)], dtype=float)
        return weights / weights.sum()

    def _on_trial_add(self, trial_id: int, config: dict[str, Any]) -> None:
        bracket = 0
        if self.num_brackets > 1:
            bracket = int(self.rng.choice(self.num_brackets, p=self._bracket_probs))
        self.bracket_of[trial_id] = bracket
        self._target[trial_id] = 0
        self._recorded[trial_id] = 0

    def _on_trial_restore(self, trial_id: int, config: dict[str, Any], bracket: int) -> None:
        self.bracket_of[trial_id] = min(max(int(bracket), 0), self.num_brackets - 1)
        self._target[trial_id] = 0
        self._recorded[trial_id] = 0

    def bracket(self, trial_id: int) -> int:
        return self.bracket_of.get(trial_id, 0)

    def bracket_levels(self, bracket: int) -> list[float]:
        return self._bracket_levels[bracket]

    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        if self.searcher.uses_progress:
            self.searcher.observe(trial_id, self.configs.get(trial_id, {}), result)
        r = finite_number(result.get(self.resource))
        loss = self.direction.loss(result.get(self.metric))
        if r is None or loss is None or trial_id not in self.bracket_of:
            return Decision.CONTINUE
        bracket = self.bracket_of[trial_id]
        rungs = self.rungs[bracket]
        levels = self._bracket_levels[bracket]
        decision = Decision.CONTINUE
        k = self._recorded[trial_id]
        reached = k
        while k < len(levels) and levels[k] <= r:
            level = levels[k]
            k += 1
            rungs[level][trial_id] = loss
            pairs = self._sorted[bracket][level]
            bisect.insort(pairs, (loss, trial_id))
            if self.type == "stopping" and self._cut(trial_id, level, loss, pairs):
                decision = Decision.STOP
        self._recorded[trial_id] = k
        if decision is Decision.STOP:
            self._stopped.add(trial_id)
        elif r >= self.max_t:  # done by this scheduler's measure: no pause at a lower rung
            decision = Decision.DONE
        if self.type == "promotion" and decision is Decision.CONTINUE:
            levels, k = self._bracket_levels[bracket], self._target[trial_id]
            if k < len(levels) and r >= levels[k] and levels[k] < self.max_t:
                self._pause(trial_id, bracket, levels[k])
                decision = Decision.PAUSE
                self.searcher.paused(trial_id)
        if self.searcher.debug_log and self._recorded[trial_id] > reached:
            self._log_rung(trial_id, result, levels[self._recorded[trial_id] - 1], loss,
                           decision)
        return decision

    def _log_rung(self, trial_id: int, result: dict[str, Any], level: float, loss: float,
                  decision: Decision) -> None:
        """``debug_log``: a trial's decision at the rung it reached."""
        from ..trial import log_line

        losses = self._sorted[self.bracket_of[trial_id]][level]
        rank = bisect.bisect_left(losses, (loss,)) + 1
        why = {Decision.STOP: f"stop (not in the top 1/{self.eta:g})",
               Decision.PAUSE: "pause (until it can be promoted)",
               Decision.DONE: f"done (max_t {self.max_t:g} reached: completed)",
               Decision.CONTINUE: "continue"}[decision]
        log_line(f"hyperband: trial {trial_id} reached rung {level:g} ({self.resource}="
                 f"{result.get(self.resource)}) with {self.metric}={result.get(self.metric)}, "
                 f"rank {rank} of {len(losses)} there -> {why}")

    def _cut(self, trial_id: int, level: float, loss: float,
             pairs: list[tuple[float, int]]) -> bool:
        """Whether the stopping variant stops ``trial_id`` at rung ``level`` (its ``(loss,
        trial_id)`` already in the rung's sorted ``pairs``): below max_t and not in the top
        1/eta."""
        return level < self.max_t and not self._in_top(loss, pairs)

    def _in_top(self, loss: float, pairs: list[tuple[float, int]]) -> bool:
        """Fewer than ceil(n / eta) of the n recorded losses are strictly lower."""
        better = bisect.bisect_left(pairs, (loss,))
        return better < math.ceil(len(pairs) / self.eta)

    def _pause(self, trial_id: int, bracket: int, level: float) -> None:
        """Record ``trial_id`` as paused at ``level`` (once, however often it reports there)."""
        if self._paused_at.get(trial_id) == level:
            return
        self._unpause(trial_id)
        self._paused_at[trial_id] = level
        bisect.insort(self._paused_sorted[bracket][level],
                      (self.rungs[bracket][level][trial_id], trial_id))

    def _unpause(self, trial_id: int) -> float | None:
        """Take ``trial_id`` off the paused lists; the level it was paused at, if any."""
        level = self._paused_at.pop(trial_id, None)
        if level is not None:
            bracket = self.bracket_of[trial_id]
            paused = self._paused_sorted[bracket][level]
            paused.pop(bisect.bisect_left(paused, (self.rungs[bracket][level][trial_id],
                                                   trial_id)))
        return level

    def _rank(self, trial_id: int, bracket: int, level: float) -> int:
        """How many pairs recorded at the rung come before the trial's (loss, trial_id)."""
        return bisect.bisect_left(self._sorted[bracket][level],
                                  (self.rungs[bracket][level][trial_id], trial_id))

    def promote(self, closing: bool = False) -> int | None:
        """The best promotable paused trial (highest rung first, then lowest loss), recorded
        as promoted to its next rung; ``None`` when no paused trial may go on yet. While
        ``closing`` (no new trial will start) a rung of fewer than eta values, which will
        never fill, promotes its best trial: the study's best trials still reach max_t."""
        trial_id = self._promotable(closing)
        if trial_id is not None:
            bracket = self.bracket_of[trial_id]
            level = self._unpause(trial_id)
            assert level is not None
            self.promoted[bracket][level].add(trial_id)
            self._target[trial_id] += 1
            self.searcher.promoted(trial_id)
            if self.searcher.debug_log:
                from ..trial import log_line

                rank = self._rank(trial_id, bracket, level) + 1
                log_line(f"hyperband: promote trial {trial_id} from rung {level:g} (rank {rank} "
                         f"of {len(self.rungs[bracket][level])} there)")
        return trial_id

    def _promotable(self, closing: bool = False) -> int | None:
        """The paused trial to promote next: highest rung first, then best value. A rung's
        best paused trial is the only one there that can be promotable: its rank among the
        rung's values (ties by trial id) must be below floor(n / eta), and while ``closing``
        below at least 1 (a rung of fewer than eta values, which would wait for ever)."""
        if not self._paused_at:  # the stopping variant never pauses: most calls end here
            return None
        least = 1 if closing else 0
        best: tuple[float, float, int] | None = None
        for bracket, rungs in enumerate(self._paused_sorted):
            for level, paused in rungs.items():
                if not paused:
                    continue
                loss, tid = paused[0]
                k = max(least, math.floor(len(self._sorted[bracket][level]) / self.eta))
                if self._rank(tid, bracket, level) < k:
                    candidate = (-level, loss, tid)
                    if best is None or candidate < best:
                        best = candidate
        return None if best is None else best[2]

    def paused_trials(self) -> list[int]:
        return list(self._paused_at)

    def out_of_order_note(self) -> str:
        return ("Hyperband keeps at each rung the value of a trial's first report at or past "
                "it, so this report changes no rung and cannot stop, pause or end the trial "
                "(it is kept in the trial's curve and table)")

    def restore(self, trial_id: int, config: dict[str, Any], reports: list[dict[str, Any]],
                status: str, bracket: int = 0) -> None:
        """A stored trial ends as it was stored: a completed one is learnt whatever its
        replayed reports paused or stopped (the promotion variant's replay pauses every trial
        at its first rung), a stopped one as stopped early (see ``on_trial_complete``)."""
        self._restoring = status
        try:
            super().restore(trial_id, config, reports, status, bracket)
        finally:
            self._restoring = None

    def _replay(self, trial_id: int, result: dict[str, Any], before: Decision) -> Decision:
        """A carried-over report of a re-run (``readmit``): the trial went on after a pause,
        so it had been promoted from that rung; a cut at a rung it had passed is not made
        again (it ran on then)."""
        if before is Decision.PAUSE:
            level = self._unpause(trial_id)
            if level is not None:
                self.promoted[self.bracket_of[trial_id]][level].add(trial_id)
                self._target[trial_id] += 1
                self.searcher.promoted(trial_id)
        decision = self.on_trial_result(trial_id, result)
        if decision is Decision.STOP:
            self._stopped.discard(trial_id)
            return Decision.CONTINUE
        return decision

    def _forget(self, trial_id: int) -> None:
        self._unpause(trial_id)
        self._stopped.discard(trial_id)

    def on_trial_complete(self, trial_id: int, result: dict[str, Any] | None) -> None:
        """A trial that ended; one stopped at a rung, or left paused there when the study
        ended, teaches a searcher that does not learn from those (``learns_stopped``)
        nothing: it is forgotten as a cancelled one is."""
        if self._restoring is not None:  # as stored: the replay's pauses are not the run's
            early = self._restoring == "stopped"
        else:
            early = trial_id in self._stopped or trial_id in self._paused_at
        self._forget(trial_id)
        if early and not self.searcher.learns_stopped:
            self.searcher.remove(trial_id)
            return
        super().on_trial_complete(trial_id, result)

    def on_trial_error(self, trial_id: int) -> None:
        self._forget(trial_id)
        super().on_trial_error(trial_id)

    def on_trial_remove(self, trial_id: int) -> None:
        self._forget(trial_id)
        super().on_trial_remove(trial_id)
