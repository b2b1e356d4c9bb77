"""The Python API: ``tune(fn, space, ...)`` runs a study without the magic."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .objective import FunctionObjective
from .space import Domain, Space
from .study import Study

_MIN_PATTERN = re.compile(r"loss|err|mse|mae|rmse|regret|perplexity|cost|time|latency",
                          re.IGNORECASE)
_MAX_PATTERN = re.compile(r"acc|auc|f1|score|precision|recall|r2|reward|return|map|ndcg|iou",
                          re.IGNORECASE)


def infer_mode(metric: str) -> str | None:
    """``"min"`` for names like ``*loss*``/``*err*``, ``"max"`` for ``*acc*``/``*auc*``/
    ``*f1*``/``*score*``, else ``None``."""
    if _MIN_PATTERN.search(metric):
        return "min"
    if _MAX_PATTERN.search(metric):
        return "max"
    return None


def tune(fn: Callable[..., Any], space: Mapping[str, Domain] | Space, *, metric: str,
         mode: str | None = None, trials: int | None = None, **options: Any) -> Study:
    """Run ``fn(config)`` over ``space`` and return the finished :class:`Study`.

    ``fn`` returns the metric (or a dict of metrics), or calls ``jupyter_hpo.report(...)``
    during training (it may also take ``report``, ``trial`` and ``device`` arguments). The
    other options are those of :class:`Study` (``scheduler``, ``searcher``, ``workers``,
    ``time_limit``, ``seed``, ``scheduler_options``, ...). Without ``trials`` or
    ``time_limit``, 20 trials run (the whole grid for ``searcher="grid"``).
    """
    mode = mode or infer_mode(metric)
    if mode is None:
        raise ValueError(f"cannot tell whether to minimise or maximise {metric!r}: "
                         f"pass mode='min' or mode='max'")
    if trials is None and options.get("time_limit") is None and options.get("searcher") != "grid":
        trials = 20
    study = Study(FunctionObjective(fn, metric), Space(space), metric=metric, mode=mode,
                  trials=trials, **options)
    return study.run()
