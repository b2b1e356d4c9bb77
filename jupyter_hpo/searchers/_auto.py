"""The default searcher, ``auto``: Gaussian-process Bayesian optimisation (``bayesopt``), with
two options off by default: expected improvement weighed by predicted training cost early in a
study, and a share of random proposals.

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

A GP left to itself prefers slower configurations where they end better (more random
features, wider and deeper nets), so a study trains fewer of them in the same time. Under the
``auto`` scheduler, which times every trial on the study's clock, EI is divided by the
predicted seconds per epoch to the power ``cost_power`` (1: EI per second, Snoek et al. 2012),
and that power is cooled linearly to 0, plain EI, as the epochs trained reach ``cost_horizon``
(20) max_t-trainings (CArBO, Lee et al. 2020, cools by the budget spent; a study does not know
its budget, so this cools by the training done). The cost is a ridge regression of the log
seconds per epoch on the encoded configuration, fitted on the trials timed so far (from 5 on).
On 10 seeds of the 25 benchmarks of ``benchmarks/search_quality.py`` the sum of the final
regrets fell from 3.739 to 3.584 and on 20 seeds of 8 held-out ones from 1.220 to 1.124, each
by less than one standard error (``benchmarks/RESULTS.md``, "Cost-aware proposals"). It is
off by default (``cost_power`` 0): a real study's timings are wall time, never the same twice,
so a seeded study with the weighting on does not repeat its proposals, and a gain within the
noise does not pay for that. Without timings (another scheduler, FIFO, a resumed study's
stored trials) proposals are bayesopt's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..space import Space
from ._bayesopt import BayesOptSearcher
from ._options import check_float

_MIN_COSTS = 5  # timed trials before proposals weigh cost
_RIDGE = 1.0  # ridge penalty of the cost regression (encodings lie in the unit cube)


class AutoSearcher(BayesOptSearcher):
    """``bayesopt`` under the name the defaults use: EI per predicted cost early in a study
    (``cost_power``, ``cost_horizon``), with an optional share of random proposals."""

    name = "auto"
    OPTIONS = (*BayesOptSearcher.OPTIONS, "random_fraction", "cost_power", "cost_horizon")
    #: smaller batches than bayesopt's under Hyperband: with the auto scheduler, batches of all
    #: the trials observed ended worse on the benchmarks (benchmarks/RESULTS.md)
    default_batch_fraction = 0.3
    #: its batches keep twice their size in candidates, as the default was measured with
    max_batch_pool = None
    #: a new best ends a batch however few trials were observed, and the first fits follow the
    #: geometric schedule with random restarts, as the default was measured with
    new_best_ends_batch_from = 0
    second_fit_from = 0

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str | None = None, num_init_random: int = 5,
                 opt_skip_period: int | None = None, opt_skip_init_length: int | None = None,
                 num_candidates: int = 500, debug_log: bool = False,
                 gp_resource_kernel: str | None = None,
                 opt_skip_num_max_resource: bool = False,
                 batch_fraction: float | None = None,
                 random_fraction: float = 0.0, cost_power: float = 0.0,
                 cost_horizon: float = 20.0) -> None:
        super().__init__(space, metric, mode, seed, kernel=kernel,
                         num_init_random=num_init_random, opt_skip_period=opt_skip_period,
                         opt_skip_init_length=opt_skip_init_length,
                         num_candidates=num_candidates, debug_log=debug_log,
                         gp_resource_kernel=gp_resource_kernel,
                         opt_skip_num_max_resource=opt_skip_num_max_resource,
                         batch_fraction=batch_fraction)
        self.random_fraction = check_float("random_fraction", random_fraction, 0.0, 1.0)
        self._coins = np.random.default_rng()  # only without a seed (see _random_turn)
        self.cost_power = check_float("cost_power", cost_power, 0.0, 4.0)
        self.cost_horizon = check_float("cost_horizon", cost_horizon, 0.0, math.inf,
                                        lo_open=True, hi_open=True)
        # trial -> (encoded configuration, log seconds per unit of resource, resource reached)
        self._costs: dict[int, tuple[np.ndarray, float, float]] = {}
        self._cost_fit: tuple[int, np.ndarray | None] = (-1, None)  # (version, coefficients)
        self._cost_version = 0
        self._trained = 0.0  # the resource of every timed trial, summed
        self._cooled = False  # the weighting has cooled off: timings teach nothing more

    def describe(self) -> str:
        random = f", {self.random_fraction:.0%} random" if self.random_fraction else ""
        cost = ""
        if self.cost_power and len(self._costs) >= _MIN_COSTS:
            power = self._cost_exponent()
            cost = (f", expected improvement per predicted second of training to the power "
                    f"{power:.2f} (cooled from {self.cost_power:g} to plain EI as the epochs "
                    f"trained reach {self.cost_horizon:g} full trainings)" if power > 0 else
                    f", plain expected improvement (per predicted second of training until "
                    f"{self.cost_horizon:g} full trainings' epochs)")
        return f"auto: {super().describe()}{random}{cost}"

    # ------------------------------------------------------------------ costs
    @property
    def learns_costs(self) -> bool:
        """Whether the scheduler should time trials for it (only with ``cost_power`` > 0)."""
        return self.cost_power > 0

    def observe_cost(self, trial_id: int, config: dict[str, Any], resource: float,
                     seconds: float) -> None:
        """A trial took ``seconds`` per unit of resource, measured up to ``resource`` (told
        by the auto scheduler from the study's clock)."""
        if self.cost_power and not self._cooled and config and math.isfinite(seconds) \
                and seconds >= 0:
            self._post(self._apply_cost, trial_id, config, float(resource), float(seconds))

    def _apply_cost(self, trial_id: int, config: dict[str, Any], resource: float,
                    seconds: float) -> None:
        encoded = self._codes_of(trial_id, config)[1]
        before = self._costs.get(trial_id)
        self._trained += resource - (before[2] if before else 0.0)
        self._costs[trial_id] = (encoded, math.log(max(seconds, 1e-9)), resource)
        self._cost_version += 1
        self._cooled = self._cost_exponent() <= 0

    def _cost_exponent(self) -> float:
        """``cost_power`` cooled linearly to 0 as the epochs trained reach ``cost_horizon``
        max-resource trainings (the study's budget is not known: this is the training done)."""
        if not self._costs or self.max_t is None:
            return 0.0
        return self.cost_power * max(0.0, 1.0 - self._trained / self.max_t / self.cost_horizon)

    def _acquisition_weights(self, candidates: np.ndarray) -> np.ndarray | None:
        """EI per predicted cost to the power ``_cost_exponent`` (Snoek et al. 2012; cooled
        as in CArBO, Lee et al. 2020): the cost is a ridge regression of the log seconds per
        unit of resource on the encoded configuration, fitted on the timed trials."""
        if len(self._costs) < _MIN_COSTS:
            return None
        power = self._cost_exponent()
        if power <= 0:
            return None
        coefficients = self._cost_model()
        predicted = np.maximum(candidates, 0.0) @ coefficients[1:] + coefficients[0]
        return np.exp(-power * (predicted - predicted.min()))

    def _cost_model(self) -> np.ndarray:
        """Intercept and slopes of log seconds per unit of resource on the encoding."""
        version, coefficients = self._cost_fit
        if version != self._cost_version or coefficients is None:
            x = np.array([entry[0] for entry in self._costs.values()])
            y = np.array([entry[1] for entry in self._costs.values()])
            x = np.where(x < 0, 0.0, x)  # an inactive column counts as its lowest value
            centre = x.mean(axis=0)
            xc = x - centre
            slopes = np.linalg.solve(xc.T @ xc + _RIDGE * np.eye(x.shape[1]),
                                     xc.T @ (y - y.mean()))
            coefficients = np.concatenate([[y.mean() - centre @ slopes], slopes])
            self._cost_fit = (self._cost_version, coefficients)
        return coefficients

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
