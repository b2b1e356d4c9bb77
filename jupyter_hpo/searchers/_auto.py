"""The default searcher, ``auto``: Gaussian-process Bayesian optimisation (``bayesopt``) with a
share of random proposals.

Over the search-quality benchmarks a GP is the searcher that ends best both without early
stopping (it models final results) and with it (it models rung results jointly over the
resource, as MOBSTER does); with the ``auto`` scheduler it learns only from the rungs whose
results predict the final ones. On rugged or noisy problems a GP can do worse than random
search, so a share ``random_fraction`` of the proposals are random (as BOHB and SMAC
interleave random configurations): a hedge that costs little where the model is right. It
takes ``bayesopt``'s options besides.
"""

from __future__ import annotations

from typing import Any

from ..space import Space
from ._bayesopt import BayesOptSearcher
from ._options import check_float


class AutoSearcher(BayesOptSearcher):
    """``bayesopt`` with a share of random proposals, under the name the defaults use."""

    name = "auto"
    OPTIONS = (*BayesOptSearcher.OPTIONS, "random_fraction")

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str | None = None, num_init_random: int = 5,
                 opt_skip_period: int | None = None, opt_skip_init_length: int | None = None,
                 num_candidates: int = 500, debug_log: bool = False,
                 gp_resource_kernel: str | None = None,
                 opt_skip_num_max_resource: bool = False,
                 random_fraction: float = 0.25) -> None:
        super().__init__(space, metric, mode, seed, kernel=kernel,
                         num_init_random=num_init_random, opt_skip_period=opt_skip_period,
                         opt_skip_init_length=opt_skip_init_length,
                         num_candidates=num_candidates, debug_log=debug_log,
                         gp_resource_kernel=gp_resource_kernel,
                         opt_skip_num_max_resource=opt_skip_num_max_resource)
        self.random_fraction = check_float("random_fraction", random_fraction, 0.0, 1.0)

    def describe(self) -> str:
        return f"auto: {super().describe()}, {self.random_fraction:.0%} random"

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if self.random_fraction and self.rng.random() < self.random_fraction:
            return self._distinct_random()
        return super()._suggest(trial_id)
