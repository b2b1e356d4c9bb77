"""Hyperparameter importance (a random forest's mean decrease in impurity) and its bar plot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._plot_common import UNFINISHED, _encoded, _no_value, _table
from .results import metric_column

if TYPE_CHECKING:
    from .study import Study

__all__ = ["_importance", "importances"]


def importances(study: Study, target: str = "metric") -> dict[str, float]:
    """Importance of each hyperparameter for the metric or the duration, largest first."""
    import numpy as np

    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise ImportError("hyperparameter importance needs scikit-learn: "
                          "pip install scikit-learn") from None
    if target not in ("metric", "duration"):
        raise ValueError(f"target is {target!r}, but must be 'metric' or 'duration'")
    value = metric_column(study.metric)
    column = value if target == "metric" else "duration"
    table = _table(study)
    unfinished = table["status"].isin(UNFINISHED)
    frame = table[~unfinished & (table["status"] != "failed") & table[value].notna()
                  & table[column].notna()]
    names = list(study.space)
    if not names:
        raise ValueError(f"study {study.name!r} has no hyperparameters to rank")
    if len(frame) < 2:
        running = int(unfinished.sum())
        later = f"; {running} more still running or paused: try again when they have ended" \
            if running else ""
        why = f" ({_no_value(study)})" if frame.empty and not running else ""
        kind, needed = ("importance", f"a value of {study.metric}") if target == "metric" \
            else ("importance-duration", f"a duration and a value of {study.metric}")
        raise ValueError(f"{kind} needs at least 2 finished trials with {needed} (failed ones "
                         f"do not count); study {study.name!r} has {len(frame)}{why}{later}")
    x = _encoded(study, frame, names)
    y = frame[column].to_numpy(dtype=float)
    forest = RandomForestRegressor(n_estimators=64, max_depth=64, random_state=0)
    forest.fit(x, y)
    raw = np.asarray(forest.feature_importances_, dtype=float)
    total = float(raw.sum())
    shares = raw / total if total > 0 else np.full(len(names), 1.0 / len(names))
    return dict(sorted(zip(names, shares.tolist()), key=lambda kv: -kv[1]))


def _importance(study: Study, ax: Any, target: str) -> None:
    shares = importances(study, target)
    names = list(shares)[::-1]  # largest on top
    ax.barh(names, [shares[n] for n in names],
            color="tab:blue" if target == "metric" else "tab:orange")
    for y, name in enumerate(names):
        ax.text(shares[name], y, f" {shares[name]:.2f}", va="center", fontsize=8)
    what = f"{study.metric}" if target == "metric" else "trial duration"
    ax.set_xlabel(f"importance for {what} (mean decrease in impurity, sums to 1)")
    ax.set_xlim(0, max(shares.values()) * 1.15 + 1e-9)
    ax.set_title(f"Hyperparameter importance for {what} ({study.name})")
