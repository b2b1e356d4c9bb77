"""How the magics declare their options: one that takes one value refuses to be given twice
(``Once``), a typed one reads its value without quotes, and ``--mode`` takes ``tune()``'s
spellings."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..records import Direction
from ._text import unquoted


def _mode(text: str) -> str:
    """``--mode``: ``min`` or ``max``, also spelt as ``tune()`` takes them (``maximize``)."""
    try:
        return Direction.of(unquoted(text)).value
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from 'min', "
                                         f"'max')") from None


_GIVEN = "_given_once"  # the namespace's record of the Once options given (see _parse)


class Once(argparse.Action):
    """argparse's ``store`` for an option that takes one value: given a second time it is a
    UsageError, where argparse kept the last one silently (``--storage none --storage x.db``
    wrote to x.db). The repeatable options (``action="append"``) are not Once."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        given = namespace.__dict__.setdefault(_GIVEN, {})
        if self.dest in given:
            flag = max(self.option_strings, key=len)  # --mode, also when written --mo
            raise UsageError(f"{flag} given twice ({given[self.dest]}, then {values}): give "
                             f"it once")
        given[self.dest] = values
        setattr(namespace, self.dest, values)


def once(*names: str, **options: Any) -> Any:
    """``magic_arguments.argument`` for an option that takes one value (``Once``); a typed
    one reads its value without the quotes around it, as the string options do (``--trials
    "5"`` was "invalid int value: '"5"'")."""
    if "type" in options:
        options["type"] = _unquoting(options["type"])
    return argument(*names, action=Once, **options)


def _unquoting(convert: Any) -> Any:
    """``convert`` applied to its text without one pair of quotes around it; named as
    ``convert`` is, which argparse's "invalid int value" says."""
    import functools

    @functools.wraps(convert)
    def converted(text: str) -> Any:
        return convert(unquoted(text))

    return converted
