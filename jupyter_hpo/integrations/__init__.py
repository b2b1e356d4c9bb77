"""Callbacks that hook a framework's training loop into the study with one line, as Optuna's
pruning callbacks and Ray Tune's ``TuneReportCallback`` do: each epoch (or boosting round)
they ``report()`` the framework's metrics with the study's resource, and a trial the study
stops ends there.

Each callback imports its framework when it is first used (``from jupyter_hpo.integrations
import KerasReportCallback``), so ``import jupyter_hpo`` needs none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports
    from ._keras import KerasReportCallback
    from ._lightgbm import LightGBMReportCallback
    from ._lightning import LightningReportCallback
    from ._xgboost import XGBoostReportCallback

#: each callback -> its module; a %%hpo cell that calls one of these reports through it
CALLBACKS = {
    "KerasReportCallback": "_keras",
    "LightningReportCallback": "_lightning",
    "LightGBMReportCallback": "_lightgbm",
    "XGBoostReportCallback": "_xgboost",
}

__all__ = ["KerasReportCallback", "LightGBMReportCallback", "LightningReportCallback",
           "XGBoostReportCallback"]


def __getattr__(name: str) -> Any:
    module = CALLBACKS.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_hpo.integrations' has no attribute {name!r} "
                             f"(its callbacks: {', '.join(CALLBACKS)})")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *CALLBACKS])
