"""Pyplot figures that a cell's trials leave open.

With the inline backend, every pyplot figure still open when a cell ends is drawn under it: a
training loop that makes a figure per trial (``plt.figure()``, ``plt.subplots()``) without
closing it put one figure per trial below the dashboard. While a ``%%hpo`` cell waits for its
study, only its trials run code, so the figures opened meanwhile are theirs and are closed when
the study has ended (the best trial's applied ``fig`` still draws itself)."""

from __future__ import annotations

import sys


def open_figures() -> set[int]:
    """The numbers of pyplot's open figures (none when pyplot was never imported)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def close_figures_since(before: set[int]) -> None:
    """Close the pyplot figures opened since ``open_figures()`` returned ``before``."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in set(pyplot.get_fignums()) - before:
        pyplot.close(number)
