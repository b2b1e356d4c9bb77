"""The variable ``-o NAME`` binds the study to: refused where binding it breaks the notebook."""

from __future__ import annotations

import builtins
import keyword

from IPython.core.error import UsageError

__all__ = ["check_output_name"]

#: names the notebook relies on, and what binding a study there breaks
_RELIED_ON = {
    "get_ipython": "every magic and shell escape (%hpo, !ls) calls get_ipython(), so after "
                   "the study none of them would run",
    "report": "jupyter_hpo defines report() in the notebook for training functions of other "
              "cells",
    "checkpoint": "jupyter_hpo defines checkpoint() in the notebook for training functions of "
                  "other cells",
    "restore": "jupyter_hpo defines restore() in the notebook for training functions of other "
               "cells",
    "In": "IPython keeps the cells' input history there",
    "Out": "IPython keeps the cells' results there",
}


def check_output_name(name: str) -> None:
    """Refuse ``-o NAME`` that is no variable (``-o for``: the study went where no code can
    read it) or that would hide what the notebook relies on (``-o get_ipython`` broke every
    later magic, ``%hpo`` included; ``-o list`` Python's ``list``)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        why = "a Python keyword" if keyword.iskeyword(name) else "not a valid variable name"
        raise UsageError(f"-o {name!r} is {why}: pick a variable name for the study, e.g. "
                         f"-o study")
    if name in _RELIED_ON:
        why = _RELIED_ON[name]
    elif hasattr(builtins, name) and not name.startswith("_"):
        why = f"it is Python's built-in {name}, which the notebook's code would no longer reach"
    else:
        return
    raise UsageError(f"-o {name}: binding the study to {name} would hide what is there ({why}): "
                     f"pick another name for the study, e.g. -o study")
