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
from collections.abc import Callable
from typing import Any

from ..trial import current_trial

HOOK = "jupyter_hpo.magic._figures:note_trial_figure"
#: what a cell that draws with matplotlib (or a library on it) likely contains
_PLOTS = re.compile(r"matplotlib|pyplot|\bplt\.|seaborn|\bsns\.|\.plot\(")
_trial_figures: weakref.WeakSet[Any] = weakref.WeakSet()
_drawing = threading.Lock()  # held while the inline backend draws a cell's figures
_original_show: Any = None  # the inline backend's show while ours stands in its place


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
    """A ``figure.hooks`` entry: remember a figure that pyplot made in a trial's thread, and
    list it in pyplot's figures now, under the lock that a cell's drawing holds. Hooks run
    just before pyplot lists the figure itself: a drawing that began in between saw it
    neither as listed nor as a trial's and drew it under the cell (a fresh-clone CI run had
    one such image under the %%hpo cell). Listing it twice is harmless."""
    if current_trial() is not None:
        _trial_figures.add(figure)
        with _drawing:  # a drawing under way ends first: it closes every listed figure
            helpers = sys.modules.get("matplotlib._pylab_helpers")
            manager = getattr(figure.canvas, "manager", None)
            if helpers is not None and manager is not None:
                helpers.Gcf.set_active(manager)


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
        if not self.studies:  # first: the inline backend's callback then draws with ours
            self.shell.events.callbacks["post_execute"].insert(0, self._watch)
        self.studies.append(study)
        if "matplotlib" not in sys.modules and _PLOTS.search(source):
            with contextlib.suppress(ImportError):
                importlib.import_module("matplotlib")
        _install_hook()
        _install_show()

    def _watch(self) -> None:
        """A ``post_execute`` callback: keep the hook and the inline backend's ``show`` ours
        (pyplot may have been imported since the study started); once every background study
        has ended, close the trials' figures and stop watching."""
        _install_hook()
        _install_show()
        self.studies = [study for study in self.studies if not study.done]
        if self.studies:
            return
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            for figure in list(_trial_figures):
                pyplot.close(figure)
        _trial_figures.clear()
        callbacks = self.shell.events.callbacks["post_execute"]
        if self._watch in callbacks:
            callbacks.remove(self._watch)
        _remove_hook()
        _restore_show()


def _install_show() -> None:
    """Put ``_show_without_trials`` in the inline backend's place of ``show``, which its
    ``flush_figures`` (the ``post_execute`` callback that draws and closes a cell's figures)
    looks up when it runs, so whichever cell ends draws the trials' figures neither in this
    round nor later, whatever the order of the callbacks. The flags the backend keeps on
    ``show`` move with it."""
    global _original_show
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    if inline is None or getattr(inline.show, "_hides_trials", False):
        return
    original = _original_show = inline.show

    def show(close: Any = None, block: Any = None) -> Any:
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return original(close, block)
        with _drawing:  # a trial's new figure waits in the hook until this drawing is over
            return _without_trials(helpers.Gcf.figs, lambda: original(close, block))

    show.__doc__ = original.__doc__
    show._hides_trials = True  # type: ignore[attr-defined]
    for flag in ("_draw_called", "_to_draw"):
        if hasattr(original, flag):
            setattr(show, flag, getattr(original, flag))
    inline.show = show


def _restore_show() -> None:
    """Give the inline backend its own ``show`` back, with the flags it keeps on it."""
    global _original_show
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    original, _original_show = _original_show, None
    if inline is None or original is None or not getattr(inline.show, "_hides_trials", False):
        return
    for flag in ("_draw_called", "_to_draw"):
        if hasattr(inline.show, flag):
            setattr(original, flag, getattr(inline.show, flag))
    inline.show = original


def _without_trials(figures: dict[Any, Any], draw: Callable[[], Any]) -> Any:
    """``draw()`` (the inline backend's drawing and closing of pyplot's figures) with the
    trials' figures taken out of pyplot's list meanwhile."""
    hidden = {number: manager for number, manager in list(figures.items())
              if manager.canvas.figure in _trial_figures}
    for number in hidden:
        figures.pop(number, None)
    try:
        return draw()
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
