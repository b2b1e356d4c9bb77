"""matplotlib figures of a study, drawn from its public tables only (so stored studies loaded
with ``Study.load`` plot exactly like live ones).

Figures are made with ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend); in a
notebook a returned figure displays itself.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

from .space import Categorical, Space

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .study import Study

__all__ = ["KINDS", "importances", "plot"]

KINDS = ("history", "curves", "parallel", "contour", "importance", "importance-duration",
         "incumbent")
STATUS_STYLE = {  # colour, line style: the dashboard's conventions
    "completed": ("tab:blue", "-"),
    "stopped": ("tab:gray", "--"),
    "cancelled": ("tab:orange", "-."),
    "failed": ("tab:red", ":"),
    "interrupted": ("tab:purple", ":"),
    "running": ("tab:green", "-"),
    "paused": ("tab:olive", "-"),
}


def plot(study: Study, kind: str, *, params: tuple[str, str] | None = None,
         ax: Any = None) -> Figure:
    """The figure of ``kind`` (one of ``KINDS``) for ``study``; ``params`` picks the two
    hyperparameters of a contour plot, ``ax`` draws into existing axes."""
    if kind not in KINDS:
        raise ValueError(f"unknown plot kind {kind!r}: use one of {', '.join(KINDS)}")
    if params is not None and kind != "contour":
        raise ValueError("params only applies to the contour plot")
    fig, ax = _axes(ax)
    if kind == "contour":
        _contour(study, ax, params)
    elif kind.startswith("importance"):
        _importance(study, ax, "duration" if kind == "importance-duration" else "metric")
    else:
        {"history": _history, "curves": _curves, "parallel": _parallel,
         "incumbent": _incumbent}[kind](study, ax)
    fig.tight_layout()
    return fig


def _axes(ax: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = _figure_class()(figsize=(7.5, 4.2), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


@functools.cache
def _figure_class() -> type:
    """A ``Figure`` that displays itself as a PNG in a notebook, also where pyplot (and with
    it the inline backend's display hook) was never imported."""
    from matplotlib.figure import Figure

    class StudyFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    return StudyFigure


def _direction(study: Study) -> str:
    return "higher is better" if study.mode == "max" else "lower is better"


def _valued(study: Study) -> Any:
    """Trials that reported the metric, failed ones excluded, in trial order."""
    frame = study.trials_dataframe()
    frame = frame[frame[study.metric].notna() & (frame["status"] != "failed")]
    if frame.empty:
        raise ValueError(f"study {study.name!r} has no trial that reported {study.metric} yet: "
                         f"nothing to plot")
    return frame.sort_values("trial_id")


def _history(study: Study, ax: Any) -> None:
    frame = _valued(study)
    for status, group in frame.groupby("status", sort=False):
        ax.scatter(group["trial_id"], group[study.metric], s=18, label=status,
                   color=STATUS_STYLE.get(status, ("tab:blue", "-"))[0])
    best = (frame[study.metric].cummax() if study.mode == "max"
            else frame[study.metric].cummin())
    ax.step(frame["trial_id"], best, where="post", color="black", linewidth=1.8,
            label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{study.metric} ({_direction(study)})")
    ax.set_title(f"Optimisation history of {study.name}")
    ax.legend(fontsize=8)


def _curves(study: Study, ax: Any) -> None:
    curves = study.training_curves()
    if curves.empty or study.metric not in curves:
        raise ValueError(f"study {study.name!r} has no reports of {study.metric} yet: no "
                         f"learning curves to plot")
    statuses = {t.trial_id: t.status.value for t in study.trials}
    best = study.best_trial.trial_id if study.best_trial is not None else None
    x_key = study.resource if curves[study.resource].notna().any() else None
    seen: set[str] = set()
    for trial_id, group in curves.groupby("trial_id", sort=True):
        group = group[group[study.metric].notna()]
        if group.empty:
            continue
        status = statuses.get(trial_id, "completed")
        color, style = STATUS_STYLE.get(status, ("tab:blue", "-"))
        xs = group[x_key] if x_key else range(1, len(group) + 1)
        is_best = trial_id == best
        ax.plot(xs, group[study.metric], style, color="black" if is_best else color,
                linewidth=2.2 if is_best else 1.0, alpha=1.0 if is_best else 0.6,
                marker="o" if len(group) == 1 else None, markersize=3,
                label=f"best (trial {trial_id})" if is_best
                else (status if status not in seen else None), zorder=3 if is_best else 2)
        if not is_best:
            seen.add(status)
    ax.set_xlabel(x_key or "report")
    ax.set_ylabel(f"{study.metric} ({_direction(study)})")
    ax.set_title(f"Learning curves of {study.name}, by outcome")
    ax.legend(fontsize=8)


def _unit(space: Space, name: str, value: Any) -> float:
    return float(space[name].to_unit(value))


def _encoded(study: Study, frame: Any, names: list[str]) -> Any:
    """The configurations of ``frame`` in the unit cube (one column per name)."""
    import numpy as np

    return np.array([[_unit(study.space, n, row[f"config.{n}"]) for n in names]
                     for _, row in frame.iterrows()], dtype=float)


def _ticks(study: Study, name: str, count: int = 3) -> tuple[list[float], list[str]]:
    """Tick positions in the unit cube and their labels in the domain's units."""
    domain = study.space[name]
    if isinstance(domain, Categorical):
        choices = domain.choices
        return [domain.to_unit(c) for c in choices], [str(c) for c in choices]
    positions = [i / (count - 1) for i in range(count)]
    return positions, [_short(domain.from_unit(u)) for u in positions]


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _parallel(study: Study, ax: Any) -> None:
    import numpy as np
    from matplotlib import cm, colors

    frame = _valued(study)
    names = list(study.space)
    values = frame[study.metric].to_numpy(dtype=float)
    lo, hi = float(values.min()), float(values.max())
    metric_unit = (values - lo) / (hi - lo) if hi > lo else np.full(len(values), 0.5)
    points = np.column_stack([_encoded(study, frame, names), metric_unit])
    norm = colors.Normalize(lo, hi)
    cmap = cm.viridis if study.mode == "max" else cm.viridis_r
    order = np.argsort(values if study.mode == "max" else -values)  # best drawn last
    xs = np.arange(len(names) + 1)
    for i in order:
        ax.plot(xs, points[i], color=cmap(norm(values[i])), alpha=0.7, linewidth=1.0)
    for x, name in enumerate(names):
        ax.axvline(x, color="0.3", linewidth=0.8)
        for position, label in zip(*_ticks(study, name)):
            ax.text(x + 0.04, position, label, fontsize=7, va="center")
    ax.axvline(len(names), color="0.3", linewidth=0.8)
    for position in (0.0, 1.0):
        ax.text(len(names) + 0.04, position, _short(lo + position * (hi - lo)), fontsize=7,
                va="center")
    ax.set_xticks(xs, names + [study.metric])
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) + 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"Parallel coordinates of {study.name} ({len(frame)} trials)")
    ax.figure.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                       label=f"{study.metric} ({_direction(study)})")


def importances(study: Study, target: str = "metric") -> dict[str, float]:
    """Each hyperparameter's importance for the metric (``target="metric"``) or for the
    trial's duration (``"duration"``): a random forest's mean decrease in impurity, as in
    Optuna's default evaluator; largest first, summing to 1."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    if target not in ("metric", "duration"):
        raise ValueError(f"target is {target!r}, but must be 'metric' or 'duration'")
    frame = study.trials_dataframe()
    frame = frame[frame["status"] != "failed"]
    if target == "metric":
        frame = frame[frame[study.metric].notna()]
    frame = frame[~frame["status"].isin(["running", "paused"])]
    names = list(study.space)
    if len(frame) < 2:
        raise ValueError(f"importance needs at least 2 finished trials with a "
                         f"{study.metric if target == 'metric' else 'duration'}; study "
                         f"{study.name!r} has {len(frame)}")
    x = _encoded(study, frame, names)
    y = frame[study.metric if target == "metric" else "duration"].to_numpy(dtype=float)
    forest = RandomForestRegressor(n_estimators=64, max_depth=64, random_state=0)
    forest.fit(x, y)
    raw = np.asarray(forest.feature_importances_, dtype=float)
    total = raw.sum()
    shares = raw / total if total > 0 else np.full(len(names), 1.0 / len(names))
    return dict(sorted(zip(names, shares.tolist()), key=lambda kv: -kv[1]))


def _importance(study: Study, ax: Any, target: str) -> None:
    shares = importances(study, target)
    names = list(shares)[::-1]  # largest on top
    ax.barh(names, [shares[n] for n in names],
            color="tab:blue" if target == "metric" else "tab:orange")
    for y, name in enumerate(names):
        ax.text(shares[name], y, f" {shares[name]:.2f}", va="center", fontsize=8)
    what = study.metric if target == "metric" else "trial duration"
    ax.set_xlabel(f"importance for {what}")
    ax.set_xlim(0, max(shares.values()) * 1.15 + 1e-9)
    ax.set_title(f"Hyperparameter importance for {what} ({study.name})")


def _contour(study: Study, ax: Any, params: tuple[str, str] | None) -> None:
    import numpy as np
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    names = list(study.space)
    numeric = [n for n in names if not isinstance(study.space[n], Categorical)]
    if params is None:
        if len(numeric) < 2:
            raise ValueError(f"a contour plot needs two numeric hyperparameters; study "
                             f"{study.name!r} has {', '.join(names)}: pass params=(a, b)")
        ranked = [n for n in importances(study) if n in numeric]
        params = (ranked[0], ranked[1])
    unknown = [p for p in params if p not in study.space]
    if len(params) != 2 or params[0] == params[1] or unknown:
        raise ValueError(f"params must be two different hyperparameters of the study "
                         f"({', '.join(names)}), got {params!r}")
    frame = _valued(study)
    if len(frame) < 3:
        raise ValueError(f"a contour plot needs at least 3 trials with a value; study "
                         f"{study.name!r} has {len(frame)}")
    points = _encoded(study, frame, list(params))
    values = frame[study.metric].to_numpy(dtype=float)
    grid = np.linspace(0.0, 1.0, 60)
    gx, gy = np.meshgrid(grid, grid)
    surface = griddata(points, values, (gx, gy), method="nearest")
    try:
        linear = griddata(points, values, (gx, gy), method="linear")
        surface = np.where(np.isnan(linear), surface, linear)
    except (QhullError, ValueError):  # collinear points: the nearest-neighbour surface stays
        pass
    filled = ax.contourf(gx, gy, surface, levels=12,
                         cmap="viridis" if study.mode == "max" else "viridis_r")
    ax.scatter(points[:, 0], points[:, 1], s=14, color="white", edgecolor="black",
               linewidth=0.5, label="trials")
    if study.best_trial is not None and study.best_trial.trial_id in set(frame["trial_id"]):
        best = frame[frame["trial_id"] == study.best_trial.trial_id]
        bp = _encoded(study, best, list(params))[0]
        ax.scatter([bp[0]], [bp[1]], s=90, marker="*", color="red", label="best")
    for axis, name in zip((ax.xaxis, ax.yaxis), params):
        positions, labels = _ticks(study, name, 5)
        axis.set_ticks(positions, labels)
    log = {p: " (log scale)" if getattr(study.space[p], "log", False) else "" for p in params}
    ax.set_xlabel(f"{params[0]}{log[params[0]]}")
    ax.set_ylabel(f"{params[1]}{log[params[1]]}")
    ax.set_title(f"{study.metric} over {params[0]} and {params[1]} ({study.name})")
    ax.legend(fontsize=8, loc="upper right")
    ax.figure.colorbar(filled, ax=ax, label=f"{study.metric} ({_direction(study)})")


def _incumbent(study: Study, ax: Any) -> None:
    frame = study.incumbent_over_time()
    if frame.empty:
        raise ValueError(f"study {study.name!r} has no incumbent yet: no trial reported "
                         f"{study.metric}")
    times = list(frame["time"]) + [max(study.elapsed, float(frame["time"].iloc[-1]))]
    values = list(frame["best_value"]) + [float(frame["best_value"].iloc[-1])]
    ax.step(times, values, where="post", color="black", linewidth=1.8)
    ax.scatter(frame["time"], frame["best_value"], s=16, color="tab:blue", zorder=3)
    previous = None
    for t, trial_id, value in zip(frame["time"], frame["trial_id"], frame["best_value"]):
        if trial_id != previous:  # label where a new trial takes the lead
            ax.annotate(str(trial_id), (t, value), textcoords="offset points", xytext=(3, 4),
                        fontsize=7)
        previous = trial_id
    ax.set_xlabel("seconds since the study started")
    ax.set_ylabel(f"best {study.metric} so far ({_direction(study)})")
    ax.set_title(f"Incumbent over wall time ({study.name}); labels: the leading trial")
