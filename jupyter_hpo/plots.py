"""matplotlib figures of a study, drawn from its public tables only (so stored studies loaded
with ``Study.load`` plot exactly like live ones).

Figures are made with ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend); they
carry a ``_repr_png_`` so that a returned figure displays itself in a notebook even where
pyplot, and with it the inline backend's display hook, was never imported. Colour maps are
oriented so that brighter is always better, whatever the study's ``mode``.

Importances (``importances``, the ``importance`` plots, the contour plot's default pair) are
those of Optuna's mean-decrease-impurity evaluator: a random forest (64 trees, fixed seed)
fitted on the unit-cube configurations of the finished trials that did not fail, its
``feature_importances_`` normalised to sum to 1 (equal shares when the target is constant).
Failed trials never count towards the best value; the history plot shows their partial
values as crosses.

The plots are drawn by private modules beside this one: ``_plot_progress`` (history, curves,
incumbent), ``_plot_space`` (parallel, contour), ``_plot_importance``, ``_plot_common``.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from ._plot_common import GRID, STATUS_STYLE, UNFINISHED, _axes
from ._plot_importance import _importance, importances
from ._plot_progress import _curves, _history, _incumbent
from ._plot_space import _contour, _parallel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .study import Study

# GRID, STATUS_STYLE, UNFINISHED and kind_of_other_name were importable from here before
__all__ = ["GRID", "KINDS", "STATUS_STYLE", "UNFINISHED", "importances", "kind_of_other_name",
           "plot"]

KINDS = ("history", "curves", "parallel", "contour", "importance", "importance-duration",
         "incumbent")


def plot(study: Study, kind: str = "history", *, params: tuple[str, str] | None = None,
         metric: str | None = None, ax: Any = None) -> Figure:
    """Draw ``kind`` (see ``KINDS``; the optimisation history by default) for ``study``, into
    ``ax`` if given, to see how it went. ``metric`` draws the learning curves of another
    reported value (``train_loss`` beside the optimised ``val_loss``)."""
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind).lower(), KINDS, n=1, cutoff=0.6)
        ours = kind_of_other_name(kind)
        hint = f"; {ours}" if ours else f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown plot kind {kind!r}: use one of {', '.join(KINDS)}{hint}")
    if params is not None and kind != "contour":
        raise ValueError(f"params only applies to the contour plot, not to {kind!r}")
    if metric is not None and kind != "curves":
        raise ValueError(f"metric only applies to the curves plot, not to {kind!r} (which "
                         f"shows the study's metric, {study.metric})")
    own = ax is None
    fig, ax = _axes(ax)
    if kind == "contour":
        _contour(study, ax, params)
    elif kind == "curves":
        _curves(study, ax, study.metric if metric is None else metric)
    elif kind.startswith("importance"):
        _importance(study, ax, "duration" if kind == "importance-duration" else "metric")
    else:
        {"history": _history, "parallel": _parallel, "incumbent": _incumbent}[kind](study, ax)
    if own:
        fig.tight_layout()
    return fig


def kind_of_other_name(kind: Any) -> str:
    """Which kind a plot another library names is here ("'optimization_history' (Optuna's
    and BigDL-Nano's name) is 'history' here"; also ``plot_contour``); "" for none."""
    from .other_names import PLOT_NAMES

    key = str(kind).lower().replace("-", "_").removeprefix("plot_")
    whose, ours = PLOT_NAMES.get(key, ("", key if key in KINDS else ""))
    if not ours:
        return ""
    return f"{kind!r} ({whose} name) is {ours!r} here" if whose else f"{kind!r} is {ours!r} here"
