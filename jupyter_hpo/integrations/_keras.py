"""Keras 3: a callback that reports the logs of every epoch of ``model.fit``."""

from __future__ import annotations

from typing import Any

from ..trial import Trial, TrialCompleted, TrialReleased, TrialStopped
from ._common import Metrics, claim, metric_names, send

try:
    import keras
except ImportError as exc:  # not installed, or a backend that is not (tensorflow by default)
    raise ImportError(f"KerasReportCallback needs Keras 3 and one of its backends ({exc}): "
                      f"pip install keras torch, and set KERAS_BACKEND=torch (or jax, "
                      f"tensorflow) before keras is imported") from exc

if int(keras.__version__.split(".")[0]) < 3:
    raise ImportError(f"KerasReportCallback needs Keras 3, but keras {keras.__version__} is "
                      f"installed: pip install 'keras>=3'")

__all__ = ["KerasReportCallback"]

_HINT = " (Keras logs val_ values only when fit() is given validation_data= or " \
        "validation_split=)"


class KerasReportCallback(keras.callbacks.Callback):
    """Report the logs of every epoch of ``model.fit`` to the running trial, so a Keras
    training loop joins the study with one line: ``model.fit(..., callbacks=[
    KerasReportCallback()])``.

    Each epoch sends every number Keras logged (``loss``, ``val_loss``, compiled metrics), or
    those named by ``metrics`` (``["val_loss"]``, or ``{"name to report": "Keras's name"}``),
    with the study's resource (``epoch`` unless ``--resource`` renames it) counted from 1.
    When the study stops the trial, training ends as ``EarlyStopping`` ends it (the epoch's
    other callbacks run, and the ``on_train_end`` of those listed before this one: put it
    last) and then ``fit`` raises ``TrialStopped``: the code after it does not run, as after
    a ``report()`` that stops a loop of your own. Past Hyperband's max_t (at the report after it)
    training ends the same way but ``fit`` returns, as after ``EarlyStopping``: the trial goes on to the code after it
    and ends completed.
    """

    def __init__(self, metrics: Metrics = None) -> None:
        super().__init__()
        self._names = metric_names(metrics)
        self._trial: Trial | None = None
        self._training: Any = None  # the model that fit() trains (set_model's, at its start)
        self._stop: BaseException | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._trial = claim(self._trial, "KerasReportCallback", "model.fit()")
        self._training, self._stop = self.model, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        trial = claim(self._trial, "KerasReportCallback", "model.fit()")
        if trial is None:  # outside a study: training goes on as without the callback
            return
        logs = logs or {}
        hint = "" if any(key.startswith("val_") for key in logs) else _HINT
        try:
            send(trial, "KerasReportCallback", logs, self._names, epoch + 1, hint)
        except TrialCompleted:  # past max_t: fit ends after this epoch and returns
            self._training.stop_training = True
        except (TrialStopped, TrialReleased) as stop:  # ended below, once Keras has ended
            self._stop = stop                          # the epoch and the training
            self._training.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            raise stop
