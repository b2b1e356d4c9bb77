"""jupyter_hpo: hyperparameter optimisation inside Jupyter with a ``%%hpo`` cell magic.

``%load_ext jupyter_hpo`` registers the magics; ``tune()`` is the same engine for scripts.
"""

from __future__ import annotations

from .api import infer_mode, tune
from .errors import HPOError, HPOSyntaxError, SpaceError, StudyFailedError
from .space import Bool, Categorical, Int, Real, Space
from .study import Study, StudyEvent
from .trial import Decision, Trial, TrialStatus, TrialStopped, report

__version__ = "0.1.0"

__all__ = [
    "Bool", "Categorical", "Decision", "HPOError", "HPOSyntaxError", "Int", "Real", "Space",
    "SpaceError", "Study", "StudyEvent", "StudyFailedError", "Trial", "TrialStatus",
    "TrialStopped", "infer_mode", "load_ipython_extension", "report", "tune",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython) -> None:
    """Register ``%%hpo`` and ``%hpo`` (called by ``%load_ext jupyter_hpo``)."""
    from .magic import HPOMagics

    ipython.register_magics(HPOMagics)


def unload_ipython_extension(ipython) -> None:
    """Nothing to undo beyond what IPython does itself."""
