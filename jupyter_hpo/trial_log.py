"""One log line per finished trial and one when the study ends, for ``tune()`` run from a
script or a terminal, where no dashboard shows progress (as Optuna logs each trial).

The lines go to the logger ``jupyter_hpo.tune`` at INFO. When neither it nor the root logger
has a handler, the first ``tune()`` gives it one that writes to ``sys.stderr`` (the stream of
the moment, so redirections such as pytest's capture keep working);
``logging.getLogger("jupyter_hpo.tune").setLevel(logging.WARNING)`` silences it, and a program
that configures logging itself gets the lines through its own handlers.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from .records import TrialStatus
from .space import shown_value

if TYPE_CHECKING:
    from .study import Study, StudyEvent
    from .trial import Trial

__all__ = ["LOGGER_NAME", "TrialLog", "tune_logger"]

LOGGER_NAME = "jupyter_hpo.tune"
_CONFIG_SHOWN = 6  # hyperparameters named in a trial's line; the rest are counted


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever ``sys.stderr`` is when a line is logged."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[jupyter_hpo] %(message)s"))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def tune_logger() -> logging.Logger:
    """``jupyter_hpo.tune``, given a stderr handler and INFO when logging is not configured."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers and not logging.getLogger().handlers:
        logger.addHandler(_StderrHandler())
        logger.propagate = False  # a root handler added later would print each line twice
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return logger


class TrialLog:
    """A study subscriber that logs each trial's end, the study's end and, as warnings, the
    problems the dashboard would show (a storage that can no longer be written)."""

    def __init__(self, study: Study, logger: logging.Logger | None = None) -> None:
        self.study, self.logger = study, logger or tune_logger()

    def __call__(self, event: StudyEvent) -> None:
        if event.kind == "trial_finished" and event.trial is not None:
            self.logger.info("%s", self.trial_line(event.trial))
        elif event.kind == "problem":  # storage trouble: what the dashboard would show
            self.logger.warning("%s", event.data["message"])

    def study_finished(self) -> None:
        """Log the study's end (called once ``run()`` returned: the event may come later)."""
        self.logger.info("%s", self.study_line())

    def trial_line(self, trial: Trial) -> str:
        """``trial 3 completed after 9 epochs: val_acc=0.9533 (best 0.9578, trial 1); lr=...``."""
        study, status = self.study, trial.status
        resource = trial.last(study.resource)
        at = "" if resource is None else f" {study.resource} {shown_value(resource)}"
        head = {TrialStatus.COMPLETED: f"completed{' after' + at if at else ''}",
                TrialStatus.STOPPED: f"stopped early{' at' + at if at else ''}",
                TrialStatus.CANCELLED: f"cancelled{' at' + at if at else ''}",
                TrialStatus.FAILED: "failed"}.get(status, str(status))
        line = f"trial {trial.trial_id} {head}"
        if status is TrialStatus.FAILED:
            return f"{line}: {trial.error.splitlines()[0] if trial.error else 'no error text'}"
        value = trial.best(study.metric, study.direction)
        if value is not None:
            line += f": {study.metric}={value:.6g}"
            best = study.best_trial  # the study's incumbent: failed trials' values never count
            best_value = None if best is None else best.best(study.metric, study.direction)
            if best_value is not None:
                line += f" (best {best_value:.6g}, trial {best.trial_id})"
        return f"{line}; {_config_text(trial.config)}"

    def study_line(self) -> str:
        """The study's status line and its best configuration."""
        from .widgets.render import status_line

        best = self.study.best_config
        tail = f"; best configuration: {_config_text(best)}" if best else ""
        return status_line(self.study) + tail


def _config_text(config: dict[str, Any]) -> str:
    """``lr=0.0012, units=64`` (the first few hyperparameters; how many more there are)."""
    shown = [f"{name}={shown_value(value)}" for name, value in
             list(config.items())[:_CONFIG_SHOWN]]
    more = len(config) - _CONFIG_SHOWN
    return ", ".join(shown) + (f", and {more} more" if more > 0 else "")
