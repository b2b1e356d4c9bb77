"""LightGBM: a callback that reports the evaluations of every boosting round of
``lgb.train`` (or ``LGBMModel.fit``, ``lgb.cv``)."""

from __future__ import annotations

from typing import Any

from ..trial import TrialCompleted
from ._common import Metrics, metric_names, running_trial, send

try:
    import lightgbm
except ImportError as exc:
    raise ImportError(f"LightGBMReportCallback needs LightGBM ({exc}): pip install "
                      f"lightgbm") from exc

__all__ = ["LightGBMReportCallback"]

_HINT = " (LightGBM evaluates the data sets given as valid_sets= to lgb.train, eval_set= " \
        "to fit())"


class LightGBMReportCallback:
    """Report the evaluations of every boosting round to the running trial, so a LightGBM
    training joins the study with one line: ``lgb.train(..., callbacks=[
    LightGBMReportCallback()])``.

    Each round sends every evaluation as ``<data set>-<metric>`` (``valid_0-binary_logloss``,
    ``training-auc``; with ``lgb.cv`` the mean over the folds as ``valid-<metric>``, and its
    standard deviation as ``valid-<metric>-stdv``), or those named by ``metrics`` (``["valid_0-l2"]``, or
    ``{"name to report": "<data set>-<metric>"}``), with the study's resource (``epoch``
    unless ``--resource`` renames it, e.g. ``--resource iteration``) counted from 1. When the
    study stops the trial, training raises ``TrialStopped`` (LightGBM lets it through), and
    the code after it does not run. Past Hyperband's max_t (at the report after it) training
    ends after that round and returns the model, as LightGBM's early stopping does: the trial
    goes on to the code after it and ends completed, its report at max_t its last.
    """

    #: after LightGBM's log_evaluation (10) and record_evaluation (20), so a stopped round is
    #: logged and recorded, and before early_stopping (30), so the round it ends on is reported
    order = 25
    before_iteration = False

    def __init__(self, metrics: Metrics = None) -> None:
        self._names = metric_names(metrics)
        # on the instance: lgb.train gives each callback without an ``order`` of its own
        # (``cb.__dict__``) one before every other, so the class's alone was never used
        self.order = type(self).order

    def __call__(self, env: lightgbm.callback.CallbackEnv) -> None:
        trial = running_trial("LightGBMReportCallback", "LightGBM")
        if trial is None:  # outside a study: training goes on as without the callback
            return
        logged: dict[str, Any] = {}
        for data, metric, value, _, *stdv in env.evaluation_result_list or ():
            # lgb.cv names its means ("cv_agg", "valid l2"): reported as valid-l2
            name = metric.replace(" ", "-") if data == "cv_agg" else f"{data}-{metric}"
            logged[name] = value
            if stdv:
                logged[f"{name}-stdv"] = stdv[0]
        try:
            send(trial, "LightGBMReportCallback", logged, self._names, env.iteration + 1,
                 "" if logged else _HINT)
        except TrialCompleted:  # past max_t: LightGBM ends training on its own early stop
            raise lightgbm.callback.EarlyStopException(
                env.iteration, env.evaluation_result_list or []) from None
