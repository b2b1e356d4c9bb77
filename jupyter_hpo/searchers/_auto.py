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

from ..space import Space
from ._bayesopt import BayesOptSearcher
from ._options import check_float


class AutoSearcher(BayesOptSearcher):
    """``bayesopt`` under the name the defaults use, with an optional share of random
    proposals."""

    name = "auto"
    OPTIONS = (*BayesOptSearcher.OPTIONS, "random_fraction")
    #: smaller batches than bayesopt's under Hyperband: with the auto scheduler, batches of all
    #: the trials observed ended worse on the benchmarks (benchmarks/RESULTS.md)
    default_batch_fraction = 0.3
    #: its batches keep twice their size in candidates, as the default was measured with
    max_batch_pool = None

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str | None = None, num_init_random: int = 5,
                 opt_skip_period: int | None = None, opt_skip_init_length: int | None = None,
                 num_candidates: int = 500, debug_log: bool = False,
                 gp_resource_kernel: str | None = None,
                 opt_skip_num_max_resource: bool = False,
                 batch_fraction: float | None = None,
                 random_fraction: float = 0.0) -> None:
        super().__init__(space, metric, mode, seed, kernel=kernel,
                         num_init_random=num_init_random, opt_skip_period=opt_skip_period,
                         opt_skip_init_length=opt_skip_init_length,
                         num_candidates=num_candidates, debug_log=debug_log,
                         gp_resource_kernel=gp_resource_kernel,
                         opt_skip_num_max_resource=opt_skip_num_max_resource,
                         batch_fraction=batch_fraction)
        self.random_fraction = check_float("random_fraction", random_fraction, 0.0, 1.0)
        self._coins = np.random.default_rng()  # only without a seed (see _random_turn)

    def describe(self) -> str:
        random = f", {self.random_fraction:.0%} random" if self.random_fraction else ""
        return f"auto: {super().describe()}{random}"

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if self._random_turn(trial_id):
            return self._distinct_random()
        return super()._suggest(trial_id)

    def _random_turn(self, trial_id: int) -> bool:
        """Whether this trial gets a random configuration: a coin of its own per trial (from the
        seed and the trial id), so the model's proposals draw the same random numbers as
        bayesopt's and a resumed study tosses the same coins."""
        if not self.random_fraction:
            return False
        coins = self._coins if self.seed is None \
            else np.random.default_rng([self.seed, 2, trial_id])
        return bool(coins.random() < self.random_fraction)
