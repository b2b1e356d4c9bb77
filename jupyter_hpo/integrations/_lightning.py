"""PyTorch Lightning: a callback that reports ``trainer.callback_metrics`` after every
training epoch of ``trainer.fit``."""

from __future__ import annotations

from typing import Any

from ..trial import Trial, TrialCompleted
from ._common import Metrics, claim, metric_names, send

try:
    import lightning.pytorch as pl
except ImportError:
    try:
        import pytorch_lightning as pl
    except ImportError as exc:
        raise ImportError(f"LightningReportCallback needs PyTorch Lightning ({exc}): pip "
                          f"install lightning") from exc

__all__ = ["LightningReportCallback"]

_HINT = " (Lightning reports what LightningModule.log() logs; log training_step's values " \
        "with on_epoch=True)"


class LightningReportCallback(pl.Callback):
    """Report the metrics of every training epoch of ``trainer.fit`` to the running trial,
    so a Lightning training joins the study with one line: ``Trainer(callbacks=[
    LightningReportCallback()])``.

    Each epoch sends every number in ``trainer.callback_metrics`` (what ``self.log`` logged:
    the epoch's training values, the last validation's values), or those named by
    ``metrics`` (``["val_loss"]``, or ``{"name to report": "logged name"}``), with the study's
    resource (``epoch`` unless ``--resource`` renames it) counted from 1. The epoch is
    reported once all of it is logged, also what ``LightningModule.on_train_epoch_end`` logs
    (Lightning calls that after the callbacks' own ``on_train_epoch_end``): when the next
    epoch starts, or when training ends. When the study stops the trial, ``fit`` raises
    ``TrialStopped`` before the next epoch trains, through Lightning's own handling of an
    exception (callbacks' ``on_exception``, teardown), and the code after it does not run.
    Past Hyperband's max_t (at the report after it) the same, but the trial ends completed;
    when max_t is ``max_epochs`` training ends there anyway and ``fit`` returns.
    """

    def __init__(self, metrics: Metrics = None) -> None:
        super().__init__()
        self._names = metric_names(metrics)
        self._trial: Trial | None = None
        self._finished: int | None = None  # the epoch that ended and is not reported yet

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._trial = claim(self._trial, "LightningReportCallback", "trainer.fit()")
        self._finished = None

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._finished = trainer.current_epoch + 1

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        try:
            self._report(trainer)
        except TrialCompleted:  # past max_t as training ends: fit returns
            pass

    def _report(self, trainer: Any) -> None:
        count, self._finished = self._finished, None
        if count is None:
            return
        trial = claim(self._trial, "LightningReportCallback", "trainer.fit()")
        if trial is None:  # outside a study: training goes on as without the callback
            return
        send(trial, "LightningReportCallback", trainer.callback_metrics, self._names, count,
             _HINT)
