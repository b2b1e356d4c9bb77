"""``input()``, ``exit()`` and ``quit()`` in a trial's cell, which runs unattended in a
worker: the trial fails with a message that says why and what to do instead."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import HPOError
from ..trial import _short


def _no_input(prompt: object = "") -> str:
    """``input()`` in a trial's cell, which no one is there to answer."""
    shown = "" if prompt == "" else _short(prompt)
    raise HPOError(f"input({shown}) in a trial: trials run unattended, several at once, "
                   f"so none can wait for typed input (it would hold its worker, and the "
                   f"kernel, until someone answers); set the value in the cell, or read it "
                   f"with input() in a cell before the %%hpo cell")


def _is_ipython_exit(value: object) -> bool:
    """Whether ``value`` is IPython's ``exit``/``quit`` (an ``ExitAutocall``), which asks the
    kernel to shut down."""
    try:
        from IPython.core.autocall import ExitAutocall
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    return isinstance(value, ExitAutocall)


def _no_exit(name: str) -> Callable[..., None]:
    """``exit()`` or ``quit()`` in a trial's cell: in a notebook they shut the kernel down a
    moment later, ending the study and every trial with it; the trial fails instead."""
    def refused(*_args: object, **_kwargs: object) -> None:
        raise HPOError(f"{name}() in a trial: in a notebook it shuts the kernel down, and with "
                       f"it the study and its running trials, so this trial fails instead; to "
                       f"end a trial early, return from a function around its code or raise "
                       f"an exception, and to stop the study press Stop study (or %hpo stop)")

    return refused
