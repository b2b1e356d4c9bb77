"""Pyplot figures that a cell's trials leave open.

With the inline backend, every pyplot figure still open when a cell ends is drawn under it (and
closed): a training loop that makes a figure per trial (``plt.figure()``, ``plt.subplots()``)
without closing it put one figure per trial below the dashboard. While a ``%%hpo`` cell waits
for its study, only its trials run code, so the figures opened meanwhile are theirs and are
closed when the study has ended (the best trial's applied ``fig`` still draws itself).

A ``--background`` study's trials draw while the notebook's other cells run, and each of those
cells would draw the trials' figures under itself and close them under the trials' hands. So
while background studies run, pyplot figures made in a trial's thread are noted (a
``figure.hooks`` entry, matplotlib's hook for new pyplot figures; matplotlib is loaded first
when the cell plots), left out of the inline backend's drawing at the end of every cell and
kept open, and closed at the end of the first cell after the last background study has ended."""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
import threading
import weakref
from typing import Any

from ..trial import current_trial

HOOK = "jupyter_hpo.magic._figures:note_trial_figure"
#: what a cell that draws with matplotlib (or a library on it) likely contains
_PLOTS = re.compile(r"matplotlib|pyplot|\bplt\.|seaborn|\bsns\.|\.plot\(")
_trial_figures: weakref.WeakSet[Any] = weakref.WeakSet()
_drawing = threading.Lock()  # held while the inline backend draws a cell's figures


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
    """A ``figure.hooks`` entry: remember a figure that pyplot made in a trial's thread. Hooks
    run before pyplot lists the figure, so waiting here while a cell's figures are drawn keeps
    a figure made meanwhile out of that drawing (which ends by closing every listed one)."""
    if current_trial() is not None:
        _trial_figures.add(figure)
        with _drawing:
            pass


class BackgroundFigures:
    """Keeps the figures of background studies' trials out of the notebook's cells (see the
    module docstring): one per shell, started with each background study."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.studies: list[Any] = []  # background studies started; ended ones are dropped

    def add(self, study: Any, source: str) -> None:
        """Keep ``study``'s trial figures out of the cells until it has ended. A cell that
        plots (``source``) has matplotlib loaded first, so that the figures of trials that
        import pyplot themselves are noted too."""
        if not self.studies:  # first, so it draws before the inline backend's own callback
            self.shell.events.callbacks["post_execute"].insert(0, self._draw_cell_figures)
        self.studies.append(study)
        if "matplotlib" not in sys.modules and _PLOTS.search(source):
            with contextlib.suppress(ImportError):
                importlib.import_module("matplotlib")
        _install_hook()

    def _draw_cell_figures(self) -> None:
        """Have the inline backend draw (and close) the cell's figures with the trials'
        taken out of pyplot's list meanwhile: its own callback, later in the same round, then
        has nothing left to draw. Once every background study has ended, close the trials'
        figures and stop watching."""
        _install_hook()  # pyplot may have been imported since the study started
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        callbacks = self.shell.events.callbacks["post_execute"]
        if inline is not None and helpers is not None and inline.flush_figures in callbacks:
            with _drawing:
                _draw_without_trials(inline, helpers.Gcf.figs)
        self.studies = [study for study in self.studies if not study.done]
        if self.studies:
            return
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for figure in list(_trial_figures):
                pyplot.close(figure)
        _trial_figures.clear()
        if self._draw_cell_figures in callbacks:
            callbacks.remove(self._draw_cell_figures)
        _remove_hook()


def _draw_without_trials(inline: Any, figures: dict[Any, Any]) -> None:
    """The inline backend's drawing (and closing) of pyplot's figures, with the trials'
    figures taken out of pyplot's list meanwhile."""
    hidden = {number: manager for number, manager in list(figures.items())
              if manager.canvas.figure in _trial_figures}
    for number in hidden:
        figures.pop(number, None)
    try:
        inline.flush_figures()
    finally:
        for number, manager in hidden.items():
            figures.setdefault(number, manager)


def _hooks() -> Any:
    """matplotlib's rcParams when it is loaded and has ``figure.hooks`` (3.7 and later)."""
    matplotlib = sys.modules.get("matplotlib")
    params = getattr(matplotlib, "rcParams", None)
    return params if params is not None and "figure.hooks" in params else None


def _install_hook() -> None:
    """Add ``note_trial_figure`` to matplotlib's ``figure.hooks`` (when matplotlib is loaded:
    a trial that imports pyplot first makes its first figures unnoted)."""
    params = _hooks()
    if params is not None and HOOK not in params["figure.hooks"]:
        params["figure.hooks"] = [*params["figure.hooks"], HOOK]


def _remove_hook() -> None:
    params = _hooks()
    if params is not None and HOOK in params["figure.hooks"]:
        params["figure.hooks"] = [hook for hook in params["figure.hooks"] if hook != HOOK]
