"""jupyter_hpo: hyperparameter optimisation inside Jupyter with a ``%%hpo`` cell magic.

``%load_ext jupyter_hpo`` registers the magics; ``tune()`` is the same engine for scripts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports
    from .api import infer_mode, tune
    from .errors import HPOError, HPOSyntaxError, ModeWarning, SpaceError, StudyFailedError
    from .space import Bool, Categorical, Int, Real, Space
    from .study import Study, StudyEvent
    from .trial import (
        Decision,
        Trial,
        TrialAbandoned,
        TrialCompleted,
        TrialStatus,
        TrialStopped,
        checkpoint,
        report,
        restore,
    )

# Public names are imported on first use (PEP 562), so that `%load_ext jupyter_hpo` and the
# process executor's workers do not pay for numpy, pandas and the rest until they need them.
_EXPORTS = {
    "infer_mode": "api", "tune": "api",
    "HPOError": "errors", "HPOSyntaxError": "errors", "SpaceError": "errors",
    "StudyFailedError": "errors", "ModeWarning": "errors",
    "Bool": "space", "Categorical": "space", "Int": "space", "Real": "space", "Space": "space",
    "Study": "study", "StudyEvent": "study",
    "Decision": "trial", "Trial": "trial", "TrialStatus": "trial", "TrialStopped": "trial",
    "TrialCompleted": "trial", "TrialAbandoned": "trial",
    "report": "trial", "checkpoint": "trial", "restore": "trial",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_hpo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    "Bool", "Categorical", "Decision", "HPOError", "HPOSyntaxError", "Int", "ModeWarning", "Real",
    "Space",
    "SpaceError", "Study", "StudyEvent", "StudyFailedError", "Trial", "TrialAbandoned",
    "TrialCompleted",
    "TrialStatus", "TrialStopped", "checkpoint", "infer_mode", "load_ipython_extension", "report", "restore",
    "tune", "unload_ipython_extension",
]


def load_ipython_extension(ipython) -> None:
    """Register ``%%hpo`` and ``%hpo`` (called by ``%load_ext jupyter_hpo``), and the input
    transformer that lets an indented ``%%hpo`` below the first line say where it goes.

    ``report``, ``checkpoint`` and ``restore`` are defined in the notebook where no variable
    of that name is (a user's own is never replaced), hidden from ``%who``: a training
    function written in an earlier cell can call ``report(...)`` when a %%hpo cell calls it.
    Outside a trial they raise the error that says so."""
    from .magic import HPOMagics
    from .magic._indented import dedent_misplaced_hpo
    from .trial import checkpoint, report, restore

    ipython.register_magics(HPOMagics)
    transformers = getattr(ipython, "input_transformers_post", None)
    if transformers is not None and dedent_misplaced_hpo not in transformers:
        transformers.append(dedent_misplaced_hpo)
    functions = {"report": report, "checkpoint": checkpoint, "restore": restore}
    user_ns = getattr(ipython, "user_ns", None)
    if user_ns is not None:
        free = {name: value for name, value in functions.items() if name not in user_ns}
        if free:
            ipython.push(free, interactive=False)


def unload_ipython_extension(ipython) -> None:
    """Remove the input transformer and the functions the extension defined in the notebook
    (those still its own); IPython undoes the rest itself."""
    from .magic._indented import dedent_misplaced_hpo
    from .trial import checkpoint, report, restore

    transformers = getattr(ipython, "input_transformers_post", None)
    if transformers is not None and dedent_misplaced_hpo in transformers:
        transformers.remove(dedent_misplaced_hpo)
    functions = {"report": report, "checkpoint": checkpoint, "restore": restore}
    user_ns = getattr(ipython, "user_ns", {})
    hidden = getattr(ipython, "user_ns_hidden", {})
    for name, value in functions.items():
        if user_ns.get(name) is value:
            del user_ns[name]
            hidden.pop(name, None)
