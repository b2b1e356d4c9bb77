"""Pyplot figures that a cell's trials leave open.

With the inline backend, every pyplot figure still open when a cell ends is drawn under it (and
closed): a training loop that makes a figure per trial (``plt.figure()``, ``plt.subplots()``)
without closing it put one figure per trial below the dashboard. While a ``%%hpo`` cell waits
for its study, only its trials run code, so the figures opened meanwhile are theirs and are
closed when the study has ended (the best trial's applied ``fig`` still draws itself).

A ``--background`` study's trials draw while the notebook's other cells run, and each of those
cells would draw the trials' figures under itself and close them under the trials' hands. So
while background studies run, pyplot figures made in a trial's thread are noted (a
``figure.hooks`` entry, matplotlib's hook for new pyplot figures), left out of the inline
backend's drawing at the end of every cell and kept open, and closed at the end of the first
cell after the last background study has ended."""

from __future__ import annotations

import sys
import weakref
from typing import Any

from ..trial import current_trial

HOOK = "jupyter_hpo.magic._figures:note_trial_figure"
_trial_figures: weakref.WeakSet[Any] = weakref.WeakSet()


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


def note_trial_figure(figure: Any) -> None:
    """A ``figure.hooks`` entry: remember a figure that pyplot made in a trial's thread."""
    if current_trial() is not None:
        _trial_figures.add(figure)


class BackgroundFigures:
    """Keeps the figures of background studies' trials out of the notebook's cells (see the
    module docstring): one per shell, started with each background study."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.studies: list[Any] = []  # background studies started; ended ones are dropped
        self._hidden: dict[Any, Any] = {}  # figure number -> manager, during the drawing

    def add(self, study: Any) -> None:
        """Keep ``study``'s trial figures out of the cells until it has ended."""
        if not self.studies:
            callbacks = self.shell.events.callbacks["post_execute"]
            callbacks.insert(0, self._hide)  # before the inline backend draws
            callbacks.append(self._restore)  # after it has drawn and closed
        self.studies.append(study)
        _install_hook()

    def _hide(self) -> None:
        """Take the trials' figures out of pyplot's list while the inline backend draws."""
        _install_hook()  # pyplot may have been imported since the study started
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return
        figures = helpers.Gcf.figs
        for number, manager in list(figures.items()):
            if manager.canvas.figure in _trial_figures:
                self._hidden[number] = figures.pop(number)

    def _restore(self) -> None:
        """Give the trials their figures back; once every background study has ended, close
        them and stop watching."""
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        hidden, self._hidden = self._hidden, {}
        if helpers is not None:
            for number, manager in hidden.items():
                helpers.Gcf.figs.setdefault(number, manager)
        self.studies = [study for study in self.studies if not study.done]
        if self.studies:
            return
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for figure in list(_trial_figures):
                pyplot.close(figure)
        _trial_figures.clear()
        callbacks = self.shell.events.callbacks["post_execute"]
        for callback in (self._hide, self._restore):
            if callback in callbacks:
                callbacks.remove(callback)
        _remove_hook()


def _install_hook() -> None:
    """Add ``note_trial_figure`` to matplotlib's ``figure.hooks`` (when matplotlib is loaded:
    a trial that imports pyplot first makes its first figures unnoted)."""
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None and HOOK not in matplotlib.rcParams["figure.hooks"]:
        matplotlib.rcParams["figure.hooks"] = [*matplotlib.rcParams["figure.hooks"], HOOK]


def _remove_hook() -> None:
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None and HOOK in matplotlib.rcParams["figure.hooks"]:
        matplotlib.rcParams["figure.hooks"] = [
            hook for hook in matplotlib.rcParams["figure.hooks"] if hook != HOOK]
