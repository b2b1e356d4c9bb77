"""XGBoost: a callback that reports the evaluations of every boosting round of
``xgb.train`` (or the scikit-learn models' ``fit``, ``xgb.cv``)."""

from __future__ import annotations

from typing import Any

from ..trial import TrialCompleted
from ._common import Metrics, metric_names, running_trial, send

try:
    import xgboost
except ImportError as exc:
    raise ImportError(f"XGBoostReportCallback needs XGBoost ({exc}): pip install xgboost "
                      f"(or xgboost-cpu, a much smaller download without GPU support)") from exc

__all__ = ["XGBoostReportCallback"]

_HINT = " (XGBoost evaluates the data sets given as evals= to xgb.train, eval_set= to fit())"


class XGBoostReportCallback(xgboost.callback.TrainingCallback):
    """Report the evaluations of every boosting round to the running trial, so an XGBoost
    training joins the study with one line: ``xgb.train(..., callbacks=[
    XGBoostReportCallback()])`` (or ``XGBClassifier(callbacks=[...])``).

    Each round sends every evaluation as ``<data set>-<metric>`` (``eval-logloss``,
    ``validation_0-rmse``; with ``xgb.cv`` the mean over the folds, and the standard deviation
    as ``<data set>-<metric>-std``), or those named by ``metrics`` (``["eval-logloss"]``, or
    ``{"name to report": "<data set>-<metric>"}``), with the study's resource (``epoch``
    unless ``--resource`` renames it, e.g. ``--resource iteration``) counted from 1. When the
    study stops the trial, training raises ``TrialStopped`` (XGBoost lets it through), and
    the code after it does not run. Past Hyperband's max_t (at the report after it) training
    ends after that round and returns the model, as XGBoost's early stopping does: the trial
    goes on to the code after it and ends completed, its report at max_t its last.
    """

    def __init__(self, metrics: Metrics = None) -> None:
        super().__init__()
        self._names = metric_names(metrics)

    def before_training(self, model: Any) -> Any:
        running_trial("XGBoostReportCallback", "XGBoost")  # outside a study: say so at once
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        trial = running_trial("XGBoostReportCallback", "XGBoost")
        if trial is None:  # outside a study: training goes on as without the callback
            return False
        logged: dict[str, Any] = {}
        for data, metrics in evals_log.items():
            for metric, history in metrics.items():
                value = history[-1]
                if isinstance(value, tuple):  # xgb.cv: (mean, standard deviation)
                    logged[f"{data}-{metric}"], logged[f"{data}-{metric}-std"] = value
                else:
                    logged[f"{data}-{metric}"] = value
        try:
            send(trial, "XGBoostReportCallback", logged, self._names, epoch + 1,
                 "" if logged else _HINT)
        except TrialCompleted:  # past max_t: True ends training after this round
            return True
        return False
