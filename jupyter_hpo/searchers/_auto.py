"""The default searcher, ``auto``: Gaussian-process Bayesian optimisation (``bayesopt``), with
an optional share of random proposals.

Over the search-quality benchmarks a GP is the searcher that ends best both without early
stopping (it models final results) and with it (it models rung results jointly over the
resource, as MOBSTER does); with the ``auto`` scheduler it learns only from the rungs whose
results predict the final ones. A share ``random_fraction`` of the proposals can be random (as
BOHB and SMAC interleave random configurations), a hedge for rugged or noisy problems where a
model misleads; measured on the six learning-curve tables of ``benchmarks/search_quality.py``
(10 seeds) it did not pay (the sum of the final regrets 0.50 with a quarter random, 0.46
without), nor on all 25 (30 seeds: 10% or 20% random helped the held-out tables where many
configurations are near the optimum and cost as much elsewhere; ``benchmarks/RESULTS.md``),
so it is off by default. It takes ``bayesopt``'s options besides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..schedulers._adaptive import lower_bound, spearman
from ..space import Space
from ._bayesopt import BayesOptSearcher
from ._options import check_float


class AutoSearcher(BayesOptSearcher):
    """``bayesopt`` under the name the defaults use, with an optional share of random
    proposals."""

    name = "auto"
    OPTIONS = (*BayesOptSearcher.OPTIONS, "random_fraction", "random_when_poor",
               "fit_confidence")
    #: the model's predictions of the last this many final results judge its fit
    fit_window = 20
    #: judged only once this many predictions have met their final results
    fit_min_pairs = 6
    #: smaller batches than bayesopt's under Hyperband: with the auto scheduler, batches of all
    #: the trials observed ended worse on the benchmarks (benchmarks/RESULTS.md)
    default_batch_fraction = 0.3

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str | None = None, num_init_random: int = 5,
                 opt_skip_period: int | None = None, opt_skip_init_length: int | None = None,
                 num_candidates: int = 500, debug_log: bool = False,
                 gp_resource_kernel: str | None = None,
                 opt_skip_num_max_resource: bool = False,
                 batch_fraction: float | None = None,
                 random_fraction: float = 0.0, random_when_poor: float = 0.0,
                 fit_confidence: float = 0.8) -> None:
        super().__init__(space, metric, mode, seed, kernel=kernel,
                         num_init_random=num_init_random, opt_skip_period=opt_skip_period,
                         opt_skip_init_length=opt_skip_init_length,
                         num_candidates=num_candidates, debug_log=debug_log,
                         gp_resource_kernel=gp_resource_kernel,
                         opt_skip_num_max_resource=opt_skip_num_max_resource,
                         batch_fraction=batch_fraction)
        self.random_fraction = check_float("random_fraction", random_fraction, 0.0, 1.0)
        self.random_when_poor = check_float("random_when_poor", random_when_poor, 0.0, 1.0)
        self.fit_confidence = check_float("fit_confidence", fit_confidence, 0.0, 1.0,
                                          hi_open=True)
        self._coins = np.random.default_rng()  # only without a seed (see _random_turn)
        #: (the model's prediction before it saw the result, the final result) per trial
        self._fit_pairs: list[tuple[float, float]] = []
        self.fit_correlation: float | None = None  # Spearman ρ over the last fit_window
        self.poor_fit = False  # whether the model is not shown to rank finals above chance

    def describe(self) -> str:
        random = f", {self.random_fraction:.0%} random" if self.random_fraction else ""
        if self.random_when_poor and self.fit_correlation is not None:
            n = min(len(self._fit_pairs), self.fit_window)
            random += (f"; its predictions rank the last {n} final results with ρ "
                       f"{self.fit_correlation:.2f}: "
                       + (f"{self.random_when_poor:.0%} of proposals random until they rank "
                          f"them better than chance" if self.poor_fit else
                          "no random proposals"))
        return f"auto: {super().describe()}{random}"

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        if self.random_when_poor and config:
            self._judge_fit(trial_id, config, result, final)
        super()._observe(trial_id, config, result, final)

    def _judge_fit(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                   final: bool) -> None:
        """Before a trial's first result at max_t (or its final one without early stopping)
        teaches the model, pair it with what the model predicted for it: a held-out check of
        the fit (the model has seen the trial's earlier rungs, not this value)."""
        gp = self._gp
        if gp is None:
            return
        if self.resource is None:
            level, key = None, (trial_id, None)
            if not final:
                return
        else:
            r = self.level(result)
            if r is None or self.max_t is None or r < self.max_t:
                return
            level, key = self.max_t, (trial_id, float(self.max_t))
        loss = self.loss(result)
        if loss is None or key in self.data:
            return
        encoded = self._codes_of(trial_id, config)[1]
        mean = float(gp.predict(self._at(encoded[None, :], level))[0][0])
        y_mean, y_std = self._batch_scale
        self._fit_pairs.append((mean * y_std + y_mean, loss))
        recent = self._fit_pairs[-self.fit_window:]
        if len(recent) < self.fit_min_pairs:
            return
        rho = spearman(np.array(recent))
        self.fit_correlation = rho
        self.poor_fit = lower_bound(rho, len(recent), self.fit_confidence) <= 0.0

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if self._random_turn(trial_id, self.random_fraction) or (
                self.poor_fit and self._random_turn(trial_id, self.random_when_poor, 3)):
            return self._distinct_random()
        return super()._suggest(trial_id)

    def _random_turn(self, trial_id: int, share: float | None = None, stream: int = 2) -> bool:
        """Whether this trial gets a random configuration, with probability ``share``: a coin
        of its own per trial (from the seed, ``stream`` and the trial id), so the model's
        proposals draw the same random numbers as bayesopt's and a resumed study tosses the
        same coins (``share`` None: ``random_fraction``)."""
        share = self.random_fraction if share is None else share
        if not share:
            return False
        coins = self._coins if self.seed is None \
            else np.random.default_rng([self.seed, stream, trial_id])
        return bool(coins.random() < share)
