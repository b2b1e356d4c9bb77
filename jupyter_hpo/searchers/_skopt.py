"""scikit-optimize's ``Optimizer`` as a searcher (GP, random forest, extra trees or GBRT).

Asynchronous use: while trials are pending, the proposal comes from a copy of the optimizer
told a constant lie for every pending point (the best value so far, skopt's ``cl_min``), so
concurrent workers get different configurations.
"""

from __future__ import annotations

import math
from typing import Any

from ..space import Categorical, Int, Space
from ._base import Searcher
from ._options import check_int

ESTIMATORS = ("GP", "RF", "ET", "GBRT")
ACQUISITIONS = ("EI", "LCB", "PI", "gp_hedge")


class SkoptSearcher(Searcher):
    """Bayesian optimisation with ``skopt.Optimizer``; final results only (FIFO use)."""

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 base_estimator: str = "GP", acq_func: str = "gp_hedge",
                 n_initial_points: int = 10, acq_optimizer: str = "auto",
                 n_points: int = 1000) -> None:
        super().__init__(space, metric, mode, seed)
        from skopt import Optimizer

        estimator = str(base_estimator).upper()
        if estimator not in ESTIMATORS:
            raise ValueError(f"base_estimator is {base_estimator!r}, but must be one of "
                             f"{', '.join(ESTIMATORS)}")
        acquisition = {a.lower(): a for a in ACQUISITIONS}.get(str(acq_func).lower())
        if acquisition is None:
            raise ValueError(f"acq_func is {acq_func!r}, but must be one of "
                             f"{', '.join(ACQUISITIONS)}")
        if acq_optimizer not in ("auto", "sampling", "lbfgs"):
            raise ValueError(f"acq_optimizer is {acq_optimizer!r}, but must be auto, sampling "
                             f"or lbfgs")
        self.base_estimator, self.acq_func = estimator, acquisition
        self.n_initial_points = check_int("n_initial_points", n_initial_points, 1)
        self.n_points = check_int("n_points", n_points, 10)
        self._names = list(space)
        model: Any = estimator
        if estimator == "GBRT":
            model = _gbrt(self._draw_seed())
        self.optimizer = Optimizer(
            [_dimension(space[name]) for name in self._names], base_estimator=model,
            acq_func=acquisition, acq_optimizer=acq_optimizer,
            n_initial_points=self.n_initial_points, random_state=self._draw_seed(),
            acq_optimizer_kwargs={"n_points": self.n_points, "n_restarts_optimizer": 2})
        self._sign = 1.0 if mode == "min" else -1.0

    def _draw_seed(self) -> int:
        return int(self.rng.integers(2 ** 31 - 1))

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        optimizer = self.optimizer
        pending = [self._point(c) for c in self.pending.values()]
        if pending:
            optimizer = optimizer.copy(random_state=self._draw_seed())
            lie = min(optimizer.yi) if optimizer.yi else 0.0
            optimizer.tell(pending, [lie] * len(pending))
        point = optimizer.ask()
        taken = pending + list(self.optimizer.Xi)
        for _ in range(20):  # tree models can repeat a point: keep proposals distinct
            if point not in taken:
                break
            point = optimizer.space.rvs(random_state=self._draw_seed())[0]
        return self._config(point)

    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        super().observe(trial_id, config, result, final)
        value = result.get(self.metric) if final else None
        if value is None or not config:
            return
        try:
            value = float(value)
        except (TypeError, ValueError):
            return
        if not math.isnan(value):  # NaN results teach nothing
            self.optimizer.tell(self._point(config), self._sign * value)

    def _point(self, config: dict[str, Any]) -> list[Any]:
        return [self.space[n].index(config[n]) if isinstance(self.space[n], Categorical)
                else config[n] for n in self._names]

    def _config(self, point: list[Any]) -> dict[str, Any]:
        config = {}
        for name, value in zip(self._names, point):
            domain = self.space[name]
            if isinstance(domain, Categorical):
                config[name] = domain.choices[int(value)]
            elif isinstance(domain, Int):
                config[name] = int(value)
            else:
                config[name] = float(value)
        return config


def _dimension(domain: Any) -> Any:
    """The skopt dimension of a domain (categoricals by index, so any object works)."""
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    if isinstance(domain, Categorical):
        return SkCategorical(list(range(len(domain.choices))))
    prior = "log-uniform" if domain.log else "uniform"
    if isinstance(domain, Int):
        return Integer(domain.lo, domain.hi, prior=prior)
    return Real(domain.lo, domain.hi, prior=prior)


def _gbrt(seed: int) -> Any:
    """skopt's GBRT quantile regressor, patched for current scikit-learn (which no longer
    sees it as a regressor) and numpy 2 (which removed ``np.in1d``, used by its predict)."""
    from sklearn.ensemble import GradientBoostingRegressor
    from skopt.learning import GradientBoostingQuantileRegressor

    class QuantileGBRT(GradientBoostingQuantileRegressor):
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.estimator_type = "regressor"
            return tags

        def predict(self, X: Any, return_std: bool = False,
                    return_quantiles: bool = False) -> Any:
            if not return_std:
                return super().predict(X, return_std=False, return_quantiles=return_quantiles)
            low, mean, high = (self.regressors_[self.quantiles.index(q)].predict(X)
                               for q in (0.16, 0.5, 0.84))
            return mean, (high - low) / 2.0

    return QuantileGBRT(base_estimator=GradientBoostingRegressor(n_estimators=30,
                                                                  loss="quantile"),
                        random_state=seed)
