"""A trial's configuration that says, for a key it does not hold, which keys it has and the
nearest one: ``config["lrr"]`` raises ``KeyError: config has no key 'lrr'; its keys are 'lr',
'units'. Did you mean 'lr'?`` where a plain dict said only ``KeyError: 'lrr'``.

The error is a ``KeyError`` (``except KeyError`` still catches it, ``exc.args[0]`` is still the
key) raised only by indexing the configuration itself, never by the user's own dicts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["ConfigKeyError", "TrialConfig"]

#: how many of the configuration's keys the message lists
KEYS_SHOWN = 10


class ConfigKeyError(KeyError):
    """A key the trial's configuration does not hold; its message names the keys it has."""

    def __init__(self, key: Any, keys: Iterable[Any] = ()) -> None:
        super().__init__(key)
        self.keys = list(keys)

    def __str__(self) -> str:
        key = self.args[0] if self.args else None
        keys = self.keys
        if not keys:
            return f"config has no key {key!r}; it is empty (the space has no hyperparameters)"
        shown = ", ".join(repr(k) for k in keys[:KEYS_SHOWN])
        more = f" and {len(keys) - KEYS_SHOWN} more" if len(keys) > KEYS_SHOWN else ""
        named = [k for k in keys if isinstance(k, str)]
        close = difflib.get_close_matches(key, named, n=1) if isinstance(key, str) else []
        if not close and isinstance(key, str):  # another case: LR for lr
            close = [k for k in named if k.lower() == key.lower()][:1]
        meant = f". Did you mean {close[0]!r}?" if close else ""
        return f"config has no key {key!r}; its keys are {shown}{more}{meant}"


class TrialConfig(dict):
    """The configuration a trial's code gets (``fn(config)``, a cell's ``config``): a plain
    dict, the trial's own copy, whose missing keys raise a :class:`ConfigKeyError`."""

    __slots__ = ()

    def __missing__(self, key: Any) -> Any:
        raise ConfigKeyError(key, self)
