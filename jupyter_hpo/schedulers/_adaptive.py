"""The default scheduler, ``auto``: Hyperband's early stopping where early results predict the
final ones, and less or none of it where they do not.

Early stopping pays when a trial's rank after a few epochs predicts its final rank; when
learning curves cross (a validation log-loss that rises again as a model overfits, a boosting
model whose first stages rank configurations differently from its last) it throws away the
late bloomers and ends worse than plain random search. Which kind a problem is cannot be
known in advance, so this scheduler measures it while the study runs, on trials that went on:
the first ``min_pairs`` trials and then a share ``full_fraction`` of the others run to max_t
whatever their rungs say, and so does every trial that no active rung has judged. On those
trials, a sample that early results did not select, it computes the Spearman rank correlation
ρ between each rung's value and the value at max_t. Each rung then keeps a share of the
trials that reach it that follows ρ: all of them at ρ <= ``rho_low``, Hyperband's top 1/η at
ρ >= ``rho_high``, linearly in between. With ``extrapolate`` (off by default: on the
benchmarks it ranked crossing curves better but did not end better), a trial's value at the
second rung and above is also extrapolated along its fall since the rung below: value +
β·(value - value a rung below), β a line through the measured trials' gains after the rung
against that fall, the simplest learning-curve model (a boosting model still falling fast has
more to gain). Where that ranks the measured trials better than the value alone (a
leave-one-out ρ higher by ``EXTRAPOLATION_MARGIN``), the rung ranks trials by it and its ρ is
that one. With ``curve_model`` (off by default), a rung from the second on may instead rank
trials by their value at max_t predicted by a pooled learning-curve model (``_curve_model``:
``a + b·exp(-k·t/max_t)``, the rate k fitted on the measured trials' whole curves, a and b each
trial's own from its reports so far), on the same rule: where its leave-one-out ρ on the
measured trials beats the value's by ``CURVE_MARGIN`` (and the extrapolation's, when both
are on). With ``curve_model="trial"`` each trial has its own rate (``_rate_model``: the one
that best fits the measured curves together with its own reports so far), judged the same way
with ``TRIAL_RATE_MARGIN``. Before a rung
has ``min_pairs`` measurements it keeps a share ``unmeasured_keep`` (the better half: a hedge
between Hyperband's third and no cut).
That hedge is also a prior: a ρ measured on n trials counts as the average of n trials that
showed it and ``prior_pairs`` that showed the ρ at which a rung keeps ``unmeasured_keep``, since
on 6 trials ρ's standard error is about 0.5 and one unlucky measurement would otherwise switch
the cuts off (or to Hyperband's) for the rest of a short study.
Until ``min_pairs`` of these trials reach max_t (most of a short study), a rung's ρ is
measured against the highest rung that ``min_pairs`` of them reached, so that curves that
cross by then stop the cuts sooner. This is asynchronous successive halving (ASHA) whose cuts
adapt, in the spirit of PASHA (Bohdal et al., 2023), which grows the maximum resource while the
rankings of the top rungs disagree; here the evidence is the rank correlation with the final
value.

A searcher that models rung results (``bayesopt``, multi-fidelity as in MOBSTER) is told to use
only the rungs that cut and max_t, so values that predict nothing do not mislead its model.
It also times each trial on the study's clock (``Scheduler.clock``; simulated in benchmarks)
for a searcher whose ``learns_costs`` is true (the ``auto`` searcher with ``cost_power`` > 0,
which weighs its proposals by their predicted cost): ``observe_cost`` is told the seconds per
unit of resource at each rung level and max_t.

Without ``max_t`` (no ``epochs = N`` in the cell, no ``--max-t``) there are no rungs:
``make_scheduler`` gives a FIFO scheduler that says why (``AutoFIFOScheduler``).

This module holds the scheduler's options and its trial hooks (which trials run to max_t, the
cut at each rung, the cost timing); measuring ρ and setting the cuts, the models a rung may
rank by and the reason/describe text are mixins in the ``_adaptive_*.py`` modules beside it.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from ..records import finite_number
from ..searchers import Searcher
from ..searchers._options import check_bool, check_float, check_int
from ..trial import Decision
from ._adaptive_curves import CurveMixin
from ._adaptive_cuts import CutsMixin
from ._adaptive_describe import DescribeMixin
from ._curve_model import curve_predictions, curve_residuals
from ._fifo import FIFOScheduler
from ._hyperband import HyperbandScheduler
from ._rate_model import RateModel, check_curve_model

__all__ = ["AdaptiveScheduler", "AutoFIFOScheduler"]


class AdaptiveScheduler(DescribeMixin, CutsMixin, CurveMixin, HyperbandScheduler):
    """ASHA (stopping, one bracket) whose cut at each rung follows the measured rank
    correlation between that rung and max_t (see the module docstring)."""

    name = "auto"
    OPTIONS = ("max_t", "grace_period", "reduction_factor", "seed", "min_pairs",
               "full_fraction", "rho_low", "rho_high", "unmeasured_keep", "prior_pairs",
               "extrapolate", "curve_model")
    needs_resource = False  # without report() or the resource, trials simply run to the end
    #: how much higher the extrapolation's leave-one-out ρ must be than the value's for a rung
    #: to rank by it: on a few trials one of two noisy estimates is often higher by chance
    EXTRAPOLATION_MARGIN = 0.1
    #: the same for the pooled curve model (``curve_model``), whose ρ moves more from one
    #: measured trial to the next (its shape is refitted too): with 0.1, studies where the
    #: value ranked well enough switched to it on noise (RESULTS.md, "A pooled learning-curve
    #: model")
    CURVE_MARGIN = 0.3
    #: the same for ``curve_model="trial"``, whose ρ moves less (a rate per trial fits the
    #: measured curves' spread; RESULTS.md, "A rate per configuration or per trial")
    TRIAL_RATE_MARGIN = 0.1

    def __init__(self, searcher: Searcher, metric: str, mode: str, resource: str = "epoch",
                 max_t: float | None = None, grace_period: float = 1,
                 reduction_factor: float = 3, seed: int | None = None, min_pairs: int = 6,
                 full_fraction: float = 0.1, rho_low: float = 0.2,
                 rho_high: float = 0.7, unmeasured_keep: float = 0.5,
                 prior_pairs: float = 3, extrapolate: bool = False,
                 curve_model: bool | str = False) -> None:
        if max_t is None:
            raise ValueError("early stopping needs max_t, the largest resource a trial reaches: "
                             "write `epochs = N` in the cell or pass --max-t N (with tune(): "
                             "scheduler_options={'max_t': N}; without early-stopping options "
                             "the auto scheduler runs every trial to the end)")
        super().__init__(searcher, metric, mode, resource, max_t=max_t,
                         grace_period=grace_period, reduction_factor=reduction_factor,
                         brackets=1, type="stopping", seed=seed)
        self.min_pairs = check_int("min_pairs", min_pairs, 3)
        self.full_fraction = check_float("full_fraction", full_fraction, 0.0, 1.0)
        self.rho_low = check_float("rho_low", rho_low, -1.0, 1.0)
        self.rho_high = check_float("rho_high", rho_high, -1.0, 1.0)
        if self.rho_high <= self.rho_low:
            raise ValueError(f"rho_high is {rho_high}, but must be larger than rho_low "
                             f"({rho_low})")
        self.unmeasured_keep = check_float("unmeasured_keep", unmeasured_keep, 0.0, 1.0,
                                           lo_open=True)
        self.prior_pairs = check_float("prior_pairs", prior_pairs, 0.0, math.inf,
                                       hi_open=True)
        #: the ρ at which a rung keeps ``unmeasured_keep``: what is assumed before measuring
        self.prior_rho = self.rho_low + (self.rho_high - self.rho_low) \
            * (1.0 - self.unmeasured_keep) / (1.0 - 1.0 / self.eta)
        self.cut_levels = [lv for lv in self.rung_levels if lv < self.max_t]
        self.extrapolate = check_bool("extrapolate", extrapolate)
        #: cut level -> the rung level below it (None for the first): the slope between the two
        #: is what ``extrapolate`` uses
        self.previous: dict[float, float | None] = {
            lv: (self.cut_levels[i - 1] if i else None) for i, lv in enumerate(self.cut_levels)}
        #: cut level -> β: trials are ranked there by value + β·(value - value a rung below),
        #: a line fitted on the measured trials; 0 ranks by the value alone
        self.slope: dict[float, float] = {lv: 0.0 for lv in self.cut_levels}
        self.curve_model = check_curve_model(curve_model)
        #: cut level -> index in ``_curve_model.RATES`` of the pooled model's rate when the
        #: rung ranks trials by the value the model predicts at max_t, else None
        self.rate: dict[float, int | None] = {lv: None for lv in self.cut_levels}
        #: cut level -> ρ of the value alone, when a model ranks better (for reason())
        self.plain_correlation: dict[float, float] = {}
        #: cut level -> sorted (model's score, trial) of the trials recorded there, kept while
        #: that level ranks by a model (β not 0, or a rate)
        self._scores: dict[float, list[tuple[float, int]]] = {}
        #: ``curve_model``: trial -> its reports so far, (resources, losses) in increasing
        #: resource; dropped when it ends
        self._curves: dict[int, tuple[list[float], list[float]]] = {}
        #: ``curve_model``: measured trial -> the fit's residual over its whole curve per rate
        self._residuals: dict[int, np.ndarray] = {}
        #: ``curve_model``: cut level -> trial -> its value at max_t predicted per rate from
        #: its reports up to that level
        self._predicted: dict[float, dict[int, np.ndarray]] = {
            lv: {} for lv in self.cut_levels}
        #: ``curve_model="trial"``: cut level -> trial -> its reports' residuals per rate up
        #: to that level; and cut level -> the rate model fitted there
        self._own: dict[float, dict[int, np.ndarray]] = {lv: {} for lv in self.cut_levels}
        self._rate_models: dict[float, RateModel] = {}
        self._rung_set = set(self.rung_levels)
        #: rung level -> share of the trials reaching it that go on (1/η: Hyperband's cut;
        #: ``unmeasured_keep`` until the rung's ρ is measured)
        self.keep: dict[float, float] = {lv: self.unmeasured_keep for lv in self.cut_levels}
        #: rung level -> Spearman ρ with the value at max_t (None: not enough trials yet)
        self.correlation: dict[float, float | None] = {lv: None for lv in self.cut_levels}
        #: rung level -> ρ weighed with the prior (``prior_pairs``), which sets the keep share
        self.weighed_correlation: dict[float, float | None] = {
            lv: None for lv in self.cut_levels}
        self._full: set[int] = set()  # trials that run to max_t whatever their rungs say
        self._unjudged: set[int] = set()  # trials no active cut has judged
        self._finals: dict[int, float] = {}  # unjudged trials that reached max_t -> loss
        #: cut level -> unjudged trials that reached it -> loss; None once every cut level's
        #: correlation is measured against max_t
        self._free: dict[float, dict[int, float]] | None = {lv: {} for lv in self.cut_levels}
        #: cut level -> the level its correlation is measured against (max_t once it can be)
        self.reference: dict[float, float] = {}
        self._pair_counts: dict[float, int] = {}  # cut level -> pairs its ρ was measured on
        self._free_new = False
        self._added = 0
        self._started: dict[int, float] = {}  # trial -> clock when it started
        self._first: dict[int, tuple[float, float]] = {}  # trial -> (resource, clock) first

    # ------------------------------------------------------------------ trials
    def _on_trial_add(self, trial_id: int, config: dict[str, Any]) -> None:
        super()._on_trial_add(trial_id, config)
        self._added += 1
        self._unjudged.add(trial_id)
        if self.clock is not None and getattr(self.searcher, "learns_costs", False):
            self._started[trial_id] = self.clock()
        if len(self._full) < max(self.min_pairs, self.full_fraction * self._added):
            self._full.add(trial_id)

    def _cut(self, trial_id: int, level: float, loss: float,
             pairs: list[tuple[float, int]]) -> bool:
        if level >= self.max_t:
            return False
        if self._free is not None and trial_id in self._unjudged:
            self._free[level][trial_id] = loss
            self._free_new = True
        if self.curve_model and self.previous[level] is not None:
            resources, losses = self._curves[trial_id]
            upto = bisect.bisect_right(resources, level)
            t, y = np.array(resources[:upto]), np.array(losses[:upto])
            self._predicted[level][trial_id] = curve_predictions(t, y, self.max_t)
            if self.curve_model == "trial":
                self._own[level][trial_id] = curve_residuals(t, y, self.max_t)
        if level in self._scores:
            pairs = self._scores[level]
            loss = self._score(trial_id, level)
            bisect.insort(pairs, (loss, trial_id))
        if trial_id in self._full:
            return False
        keep = self.keep[level]
        if keep >= 1:
            return False
        self._unjudged.discard(trial_id)
        better = bisect.bisect_left(pairs, (loss,))
        return better >= math.ceil(len(pairs) * keep - 1e-9)

    def on_trial_result(self, trial_id: int, result: dict[str, Any]) -> Decision:
        if self.curve_model:
            self._record(trial_id, result)
        decision = super().on_trial_result(trial_id, result)
        if trial_id in self._started:
            self._time(trial_id, result)
        if self._free_new:
            self._free_new = False
            self._adapt()
        if trial_id in self._unjudged and trial_id not in self._finals:
            r = finite_number(result.get(self.resource))
            loss = self.direction.loss(result.get(self.metric))
            if r is not None and loss is not None and r >= self.max_t:
                self._finals[trial_id] = loss
                self._measured(trial_id)
                self._adapt()
        return decision

    def _time(self, trial_id: int, result: dict[str, Any]) -> None:
        """Tell a searcher that learns costs (``observe_cost``) a trial's seconds per unit of
        resource at each rung level and max_t: measured between its first report and this
        one (which leaves out the time before its first report: imports, data loading), or
        from its start while it has reported once."""
        r = finite_number(result.get(self.resource))
        if r is None or r <= 0:
            return
        assert self.clock is not None
        now = self.clock()
        first = self._first.setdefault(trial_id, (r, now))
        if r < self.max_t and r not in self._rung_set:
            return
        seconds = (now - first[1]) / (r - first[0]) if r > first[0] \
            else (now - self._started[trial_id]) / r
        self.searcher.observe_cost(trial_id, self.configs.get(trial_id, {}),  # type: ignore[attr-defined]
                                   r, seconds)

    def on_trial_complete(self, trial_id: int, result: dict[str, Any] | None) -> None:
        """An unjudged trial that ended below max_t after its last rung also gives a final
        value: a loop over ``range(epochs)`` reports epochs 0 to N - 1 and never reaches
        max_t = N (an early-stopping callback in the training code ends it sooner)."""
        super().on_trial_complete(trial_id, result)
        if trial_id in self._unjudged and trial_id not in self._finals and result \
                and self.cut_levels:
            r = finite_number(result.get(self.resource))
            loss = self.direction.loss(result.get(self.metric))
            if r is not None and loss is not None and r >= self.cut_levels[-1]:
                self._finals[trial_id] = loss
                self._measured(trial_id)
                self._adapt()
        self._ended(trial_id)

    def on_trial_error(self, trial_id: int) -> None:
        super().on_trial_error(trial_id)
        self._ended(trial_id)

    def on_trial_remove(self, trial_id: int) -> None:
        super().on_trial_remove(trial_id)
        self._ended(trial_id)

    def _ended(self, trial_id: int) -> None:
        """A trial meant to run to max_t that ended without a final value (it failed, was
        cancelled or stopped by the user) leaves its place to the next new trial, so that
        the measurement still gets ``min_pairs`` of them."""
        if trial_id in self._full and trial_id not in self._finals:
            self._full.discard(trial_id)
        self._started.pop(trial_id, None)
        self._first.pop(trial_id, None)
        self._curves.pop(trial_id, None)


class AutoFIFOScheduler(FIFOScheduler):
    """What ``auto`` is without max_t: FIFO, with a description that says why."""

    name = "auto"

    def describe(self) -> str:
        return (f"auto: every trial runs to the end (early stopping needs the largest resource, "
                f"`epochs = N` in the cell, --max-t N or tune()'s scheduler_options="
                f"{{'max_t': N}}, and report({self.resource}=...) in the training loop)")
