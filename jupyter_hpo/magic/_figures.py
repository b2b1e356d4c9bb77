"""Pyplot figures that a cell's trials make, show or leave open.

With the inline backend, every pyplot figure still open when a cell ends is drawn under it (and
closed): a training loop that makes a figure per trial (``plt.figure()``, ``plt.subplots()``)
without closing it put one figure per trial below the dashboard. While a ``%%hpo`` cell waits
for its study, only its trials run code, so the figures opened meanwhile are theirs and are
closed when the study has ended (the best trial's applied ``fig`` still draws itself).

While studies run, pyplot figures made in a trial's thread are noted with their trial (a
``figure.hooks`` entry, matplotlib's hook for new pyplot figures; matplotlib is loaded first
when the cell plots), and the inline backend's ``show`` is ours: ``plt.show()`` in a trial
shows and closes that trial's figures only (the backend's showed and closed every open figure,
so with two thread workers one trial took the figures the other was still drawing), and
anywhere else it leaves the trials' figures out. A ``--background`` study's trials draw while
the notebook's other cells run, and each of those cells would draw the trials' figures under
itself and close them under the trials' hands, so those are kept open, and closed at the end of
the first cell after the last background study has ended."""

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
_trial_figures: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # -> trial
_drawing = threading.Lock()  # held while the inline backend draws a cell's figures
_swapping = threading.Lock()  # held while ``show`` is put in place or given back
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
    """A ``figure.hooks`` entry: remember a figure that pyplot made in a trial's thread, with
    its trial, and list it in pyplot's figures now, under the lock that a cell's drawing holds.
    Hooks run just before pyplot lists the figure itself: a drawing that began in between saw
    it neither as listed nor as a trial's and drew it under the cell (a fresh-clone CI run had
    one such image under the %%hpo cell). Listing it twice is harmless. Two threads that make
    a figure at once both take the next free number, and pyplot listed the second under it in
    place of the first, which no ``plt.show()`` found again: a number another figure holds by
    now gives way to a free one. The backend is loaded by now, so a trial that imported pyplot
    first gets our ``show`` here."""
    trial = current_trial()
    if trial is not None:
        _trial_figures[figure] = trial
        _install_show()
        with _drawing:  # a drawing under way ends first: it closes every listed figure
            helpers = sys.modules.get("matplotlib._pylab_helpers")
            manager = getattr(figure.canvas, "manager", None)
            if helpers is not None and manager is not None:
                listed = helpers.Gcf.figs.get(manager.num)
                if listed is not None and listed is not manager:
                    manager.num = max(helpers.Gcf.figs) + 1
                helpers.Gcf.set_active(manager)


class TrialFigures:
    """Keeps the studies' trial figures apart (see the module docstring) while any study of
    the shell runs: one per shell, told of each study as it starts."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.studies: list[Any] = []  # studies started; ended ones are dropped

    def add(self, study: Any, source: str) -> None:
        """Keep ``study``'s trial figures apart until it has ended. A cell that plots
        (``source``) has matplotlib loaded first, so that the figures of trials that import
        pyplot themselves are noted too."""
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
        (pyplot may have been imported since the study started); once every study has ended,
        close the trials' figures and stop watching."""
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


def _backend() -> Any:
    """The backend pyplot has loaded, whose ``show`` ``plt.show()`` calls (None before
    pyplot has chosen one)."""
    return getattr(sys.modules.get("matplotlib.pyplot"), "_backend_mod", None)


def _install_show() -> None:
    """Put our ``show`` in the inline backend's place: in its module, where its
    ``flush_figures`` (the ``post_execute`` callback that draws and closes a cell's figures)
    looks it up when it runs, so whichever cell ends draws the trials' figures neither in this
    round nor later, whatever the order of the callbacks; and in pyplot's backend, which
    ``plt.show()`` calls. The flags the backend keeps on ``show`` move with it."""
    global _original_show
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    if inline is None:
        return
    with _swapping:
        if not getattr(inline.show, "_hides_trials", False):
            inline.show = _trial_show(inline.show)
            _original_show = inline.show.original
        backend = _backend()
        if backend is not None and getattr(backend, "show", None) is _original_show:
            backend.show = inline.show


def _trial_show(original: Callable[..., Any]) -> Callable[..., Any]:
    """The inline backend's ``original`` show, for a trial's thread its figures only."""

    def show(close: Any = None, block: Any = None) -> Any:
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return original(close, block)
        trial = current_trial()
        if trial is not None:
            return _show_own(helpers.Gcf, trial, close)
        with _drawing:  # a trial's new figure waits in the hook until this drawing is over
            return _without_trials(helpers.Gcf.figs, lambda: original(close, block))

    show.__doc__ = original.__doc__
    show.original = original  # type: ignore[attr-defined]
    show._hides_trials = True  # type: ignore[attr-defined]
    for flag in ("_draw_called", "_to_draw"):
        if hasattr(original, flag):
            setattr(show, flag, getattr(original, flag))
    return show


def _show_own(figures: Any, trial: Any, close: bool | None) -> None:
    """What the inline backend's ``show`` does, for the open figures of ``trial`` only:
    display each (to the trial's output, as the study captures it) and close them unless
    ``close`` (default: the backend's ``close_figures`` setting) says otherwise. Figures of
    other trials and of the notebook are left as they are."""
    from IPython.display import display
    from matplotlib import pyplot
    from matplotlib_inline.config import InlineBackend

    if close is None:
        close = InlineBackend.instance().close_figures
    with _drawing:  # a cell's drawing, which takes the trials' figures out meanwhile, ends
        own = [manager.canvas.figure for manager in figures.get_all_fig_managers()
               if _trial_figures.get(manager.canvas.figure) is trial]
        try:
            for figure in own:
                display(figure)
        finally:
            if close:
                for figure in own:
                    pyplot.close(figure)


def _restore_show() -> None:
    """Give the inline backend (and pyplot's) its own ``show`` back, with the flags it
    keeps on it."""
    global _original_show
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    with _swapping:
        original, _original_show = _original_show, None
        if inline is None or original is None \
                or not getattr(inline.show, "_hides_trials", False):
            return
        ours = inline.show
        for flag in ("_draw_called", "_to_draw"):
            if hasattr(ours, flag):
                setattr(original, flag, getattr(ours, flag))
        inline.show = original
        backend = _backend()
        if backend is not None and getattr(backend, "show", None) is ours:
            backend.show = original


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
