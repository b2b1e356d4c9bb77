"""scikit-optimize's ``Optimizer`` as a searcher (GP, random forest, extra trees or GBRT).

Each proposal comes from a fresh ``Optimizer`` told every final result plus, for each trial
still running (not one paused at a rung of Hyperband's promotion variant), a constant lie (the
best value so far, skopt's ``cl_min``): one model fit per proposal, none per result, and
concurrent workers get different configurations. Dimensions with a single value are held
constant (skopt rejects them).

Stepped domains are skopt ``Integer`` dimensions over the index of the step, so every proposal
is on the step. A conditional hyperparameter gets one more value that stands for "inactive"
(SMAC's imputation): a categorical one an extra category, a numeric one its unit-cube
coordinate on ``Real(-0.5, 1)``, whose value -0.5 means inactive. Every configuration is told
as it ran (inactive hyperparameters at their "inactive" value), so the model sees what was
evaluated; a proposal is decoded in order, dropping hyperparameters its earlier values make
inactive, and an active one that the model put at "inactive" is drawn at random.
"""

from __future__ import annotations

from typing import Any

from ..space import INACTIVE, Categorical, Int, Space
from ..warning_filters import ignored_in_this_thread
from ._base import Searcher
from ._options import check_choice, check_int

ESTIMATORS = ("GP", "RF", "ET", "GBRT")
ACQUISITIONS = ("EI", "LCB", "PI", "gp_hedge")


class SkoptSearcher(Searcher):
    """Bayesian optimisation with ``skopt.Optimizer``; final results only (FIFO use)."""

    uses_blas = True  # GP fits and predictions: one BLAS thread while proposing

    name = "skopt"
    OPTIONS = ("base_estimator", "acq_func", "n_initial_points", "acq_optimizer", "n_points")
    tracks_pauses = True  # a paused trial is not lied about as a running one

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 base_estimator: str = "GP", acq_func: str = "gp_hedge",
                 n_initial_points: int = 10, acq_optimizer: str = "auto",
                 n_points: int = 1000) -> None:
        super().__init__(space, metric, mode, seed)
        import skopt  # noqa: F401  (a missing package is reported when the study starts)

        self.base_estimator = check_choice("base_estimator", base_estimator, ESTIMATORS,
                                           ignore_case=True)
        self.acq_func = check_choice("acq_func", acq_func, ACQUISITIONS, ignore_case=True)
        self.n_initial_points = check_int("n_initial_points", n_initial_points, 1)
        self.acq_optimizer = check_choice("acq_optimizer", acq_optimizer,
                                          ("auto", "sampling", "lbfgs"))
        self.n_points = check_int("n_points", n_points, 10)
        # GBRT is built for each fit from this seed (a name for the others), so that the
        # searcher pickles
        self._gbrt_seed = self._draw_seed() if self.base_estimator == "GBRT" else None
        self._constants = {name: _only_value(space[name]) for name in space
                           if _only_value(space[name]) is not _VARIES}
        self._names = [name for name in space if name not in self._constants]
        self._dimensions = [_dimension(space[name], name in space.conditions)
                            for name in self._names]
        self.points: list[list[Any]] = []
        self.values: list[float] = []

    def describe(self) -> str:
        return f"skopt search ({self.base_estimator}, {self.acq_func})"

    def _draw_seed(self) -> int:
        return int(self.rng.integers(2 ** 31 - 1))

    def fresh_optimizer(self, lies: list[list[Any]] = ()) -> Any:
        """A fresh ``skopt.Optimizer`` told every result and a constant lie per point of
        ``lies``, fitted once."""
        from skopt import Optimizer

        model = self.base_estimator if self._gbrt_seed is None else _gbrt(self._gbrt_seed)
        optimizer = Optimizer(
            self._dimensions, base_estimator=model, acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer, n_initial_points=self.n_initial_points,
            random_state=self._draw_seed(),
            acq_optimizer_kwargs={"n_points": self.n_points, "n_restarts_optimizer": 2})
        points = self.points + list(lies)
        if points:
            lie = min(self.values) if self.values else 0.0
            optimizer.tell(points, self.values + [lie] * len(lies))
        return optimizer

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if not self._names:  # every dimension has one value: one configuration
            return self._config([])
        pending = {other: self._point(c) for other, c in self.pending.items()}
        with ignored_in_this_thread("The objective has been evaluated at point"):
            optimizer = self.fresh_optimizer([point for other, point in pending.items()
                                              if other not in self.paused_pending])
            point = optimizer.ask()
        taken = list(pending.values()) + self.points
        for _ in range(20):  # tree models can repeat a point: keep proposals distinct
            if point not in taken:
                break
            point = optimizer.space.rvs(random_state=self._draw_seed())[0]
        return self._config(point)

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        loss = self.loss(result) if final and config and self._names else None
        if loss is not None:
            self.points.append(self._point(config))
            self.values.append(loss)

    def _point(self, config: dict[str, Any]) -> list[Any]:
        point: list[Any] = []
        for name in self._names:
            domain = self.space[name]
            conditional = name in self.space.conditions
            if name not in config:  # inactive: its own value
                point.append(len(domain.choices) if isinstance(domain, Categorical)
                             else INACTIVE)
            elif isinstance(domain, Categorical):
                point.append(domain.index(config[name]))
            elif conditional:
                point.append(float(domain.to_unit(config[name])))
            elif domain.stepped:
                point.append(domain.index_of(config[name]))
            else:
                point.append(config[name])
        return point

    def _config(self, point: list[Any]) -> dict[str, Any]:
        values = dict(zip(self._names, point))
        config: dict[str, Any] = {}
        for name, domain in self.space.items():
            if not self.space.is_active(name, config):
                continue
            if name in self._constants:
                config[name] = self._constants[name]
                continue
            value = values[name]
            conditional = name in self.space.conditions
            if isinstance(domain, Categorical):
                index = int(value)
                config[name] = domain.choices[index] if index < len(domain.choices) \
                    else domain.sample(self.rng)  # the model chose "inactive"
            elif conditional:
                config[name] = domain.sample(self.rng) if value < 0 \
                    else domain.from_unit(float(value))
            elif domain.stepped:
                config[name] = domain.value_at(int(value))
            elif isinstance(domain, Int):
                config[name] = int(value)
            else:
                config[name] = float(value)
        return config


_VARIES = object()


def _only_value(domain: Any) -> Any:
    """The single value a domain can take (``Int(3, 3)``, one choice), or ``_VARIES``."""
    if isinstance(domain, Categorical):
        return domain.choices[0] if len(domain.choices) == 1 else _VARIES
    if domain.lo == domain.hi:
        return int(domain.lo) if isinstance(domain, Int) else float(domain.lo)
    return _VARIES


def _dimension(domain: Any, conditional: bool = False) -> Any:
    """The skopt dimension of a domain: categoricals by index (so any object works), stepped
    numbers by the index of their step; a conditional one with a value for "inactive"."""
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    if isinstance(domain, Categorical):
        return SkCategorical(list(range(len(domain.choices) + int(conditional))))
    if conditional:
        return Real(INACTIVE, 1.0)
    if domain.stepped:
        return Integer(0, domain.step_count - 1)
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
