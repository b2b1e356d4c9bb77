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
"""

from __future__ import annotations

import difflib
import functools
import io
import math
import numbers
from typing import TYPE_CHECKING, Any

from .results import curve_column, curve_key, metric_column
from .space import INACTIVE, Categorical, Int

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .space import Domain
    from .study import Study

__all__ = ["KINDS", "importances", "plot"]

KINDS = ("history", "curves", "parallel", "contour", "importance", "importance-duration",
         "incumbent")
STATUS_STYLE = {  # colour and line style per trial status: the dashboard's conventions
    "completed": ("tab:blue", "-"),
    "stopped": ("tab:gray", "--"),
    "cancelled": ("tab:orange", "-."),
    "failed": ("tab:red", ":"),
    "interrupted": ("tab:purple", ":"),
    "running": ("tab:green", "-"),
    "paused": ("tab:olive", "-"),
}
UNFINISHED = ("running", "paused")
GRID = 80  # contour resolution per axis


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


# ---------------------------------------------------------------------------- helpers
def _axes(ax: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = _figure_class()(figsize=(7.5, 4.2), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


@functools.cache
def _figure_class() -> type:
    """A ``Figure`` that renders itself as a PNG for IPython's display."""
    from matplotlib.figure import Figure

    class StudyFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    return StudyFigure


def _metric_label(study: Study) -> str:
    return f"{study.metric} ({study.direction.describe()})"


def _cmap(study: Study) -> str:
    return "viridis_r" if study.direction.sign > 0 else "viridis"


def _no_value(study: Study) -> str:
    """Why no trial has a value: none has reported one yet, or every one failed (how many,
    and the first error)."""
    from .study._reading import no_value_text

    return no_value_text(study.trials, study.metric)


def _table(study: Study) -> Any:
    return study.trials_dataframe().sort_values("trial_id").reset_index(drop=True)


def _valued(study: Study, *, failed: bool = False) -> Any:
    """Trials with a value of the metric, in trial order (failed ones only if ``failed``)."""
    frame = _table(study)
    frame = frame[frame[metric_column(study.metric)].notna()]
    if not failed:
        frame = frame[frame["status"] != "failed"]
    if frame.empty:
        raise ValueError(f"study {study.name!r}: {_no_value(study)}: nothing to plot")
    return frame


def _best_trial_id(study: Study, frame: Any) -> Any:
    """The study's incumbent, or the best non-failed row of ``frame`` without one."""
    incumbents = study.incumbent_over_time()
    if not incumbents.empty:
        return incumbents["trial_id"].iloc[-1]
    value = metric_column(study.metric)
    frame = frame[(frame["status"] != "failed") & frame[value].notna()]
    if frame.empty:
        return None
    losses = frame[value] * study.direction.sign
    return frame["trial_id"].loc[losses.idxmin()]


def _encoded(study: Study, frame: Any, names: list[str]) -> Any:
    """The configurations of ``frame`` in the unit cube, one column per name; a
    hyperparameter that was inactive in a trial (NaN in the table) is at ``INACTIVE``."""
    import numpy as np

    columns = [[INACTIVE if _missing(v) else float(study.space[n].to_unit(v))
                for v in frame[f"config.{n}"].tolist()] for n in names]
    return np.array(columns, dtype=float).reshape(len(names), len(frame)).T


def _missing(value: Any) -> bool:
    """An inactive hyperparameter's cell of the table."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _ticks(domain: Domain, count: int = 5) -> tuple[list[float], list[Any]]:
    """Ticks of ``domain`` (choices, decades or even steps) with their unit-cube positions."""
    if isinstance(domain, Categorical):  # distinct already, and maybe unhashable (lists)
        return [float(domain.to_unit(v)) for v in domain.choices], list(domain.choices)
    if domain.log:
        decades = [10.0 ** k for k in range(math.ceil(math.log10(domain.lo)),
                                            math.floor(math.log10(domain.hi)) + 1)]
        decades = [d for d in decades if 0.08 < domain.to_unit(d) < 0.92]  # clear of the ends
        inner = decades[::math.ceil(len(decades) / (count - 2))] if decades else \
            [domain.from_unit(0.5)]
        values = [domain.lo] + [round(d) if isinstance(domain, Int) else d
                                for d in inner] + [domain.hi]
    else:
        values = [domain.from_unit(i / (count - 1)) for i in range(count)]
    values = list(dict.fromkeys(values))
    return [float(domain.to_unit(v)) for v in values], values


# ---------------------------------------------------------------------------- the plots
def _history(study: Study, ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    frame = _valued(study, failed=True)
    value = metric_column(study.metric)
    for status in STATUS_STYLE:
        group = frame[frame["status"] == status]
        if group.empty:
            continue
        failed = status == "failed"
        ax.scatter(group["trial_id"], group[value], s=22 if failed else 18,
                   marker="x" if failed else "o", color=STATUS_STYLE[status][0],
                   label="failed (not counted)" if failed else status, zorder=3)
    counted = frame[frame["status"] != "failed"]
    if not counted.empty:
        sign = study.direction.sign
        best = (counted[value] * sign).cummin() * sign
        ax.step(counted["trial_id"], best, where="post", color="black", linewidth=1.8,
                label="best so far", zorder=2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # never trial 0.5
    ax.set_xlabel("trial")
    ax.set_ylabel(_metric_label(study))
    ax.set_title(f"Optimisation history of {study.name}: best {study.metric} of each trial")
    ax.legend(fontsize=8)


def _curves(study: Study, ax: Any, metric: str) -> None:
    from matplotlib.lines import Line2D

    curves = study.training_curves()
    if metric != study.metric:
        _check_reported(study, curves, metric)
    column = curve_column(metric)
    if curves.empty or column not in curves:
        if metric == study.metric:  # why: none reported yet, or every trial failed first
            raise ValueError(f"study {study.name!r}: {_no_value(study)}: no learning curves "
                             f"to plot")
        raise ValueError(f"study {study.name!r} has no reports of {metric} yet: no "
                         f"learning curves to plot")
    _check_numeric(study, curves, metric)
    if metric == study.metric and \
            curves[curves[column].notna()].groupby("trial_id").size().max() < 2:
        _history(study, ax)  # one value a trial: no curves, so the values by trial
        ax.set_title(f"{study.name}: each trial reported one {study.metric} (no learning "
                     f"curves), by trial")
        return
    table = _table(study)
    statuses = dict(zip(table["trial_id"], table["status"]))
    best = _best_trial_id(study, table)
    x_key = study.resource if study.resource in curves and \
        curves[study.resource].notna().any() else None
    seen: list[str] = []
    best_style = None
    for trial_id, group in curves.groupby("trial_id", sort=True):
        group = group[group[column].notna()]
        if x_key:
            group = group[group[x_key].notna()]
        if group.empty:
            continue
        status = statuses.get(trial_id, "completed")
        color, style = STATUS_STYLE.get(status, ("tab:blue", "-"))
        if status not in seen:
            seen.append(status)
        xs = group[x_key] if x_key else range(1, len(group) + 1)
        marker = "o" if len(group) == 1 else None
        if trial_id == best:
            best_style = style
            ax.plot(xs, group[column], style, color="black", linewidth=2.4,
                    marker=marker, markersize=4, zorder=4, gid=f"trial-{trial_id}")
        else:
            ax.plot(xs, group[column], style, color=color, linewidth=1.0, alpha=0.65,
                    marker=marker, markersize=3, zorder=2, gid=f"trial-{trial_id}")
    handles = [Line2D([], [], color=STATUS_STYLE[s][0], linestyle=STATUS_STYLE[s][1], label=s)
               for s in STATUS_STYLE if s in seen]
    if best_style is not None:
        handles.append(Line2D([], [], color="black", linestyle=best_style, linewidth=2.4,
                              label=f"best (trial {best})"))
    ax.set_xlabel(x_key or "report")
    ax.set_ylabel(_metric_label(study) if metric == study.metric else metric)
    other = "" if metric == study.metric else f" ({metric}; best by {study.metric})"
    ax.set_title(f"Learning curves of {study.name}{other}, by outcome")
    ax.legend(handles=handles, fontsize=8)


def _check_reported(study: Study, curves: Any, metric: Any) -> None:
    """A ``metric`` that the study's trials never reported (or the resource, the x axis): say
    which values they did."""
    reported = [curve_key(c) for c in curves.columns
                if c not in ("trial_id", "time", study.resource)]
    if metric in reported:
        return
    listed = f"its trials reported {', '.join(reported) or 'nothing yet'}"
    if not isinstance(metric, str):
        raise TypeError(f"metric is {metric!r}, but must be the name of a reported value: "
                         f"{listed}")
    if metric == study.resource:
        raise ValueError(f"{metric!r} is the resource, the curves' x axis, not a value to "
                         f"draw: {listed}")
    close = difflib.get_close_matches(metric, reported, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"study {study.name!r} has no reports of {metric!r}: {listed}{hint}")


def _numeric(values: Any) -> bool:
    """Whether ``values`` (a column of reports) hold a number and nothing but numbers."""
    present = values.dropna()
    return not present.empty and all(isinstance(v, numbers.Real) for v in present)


def _check_numeric(study: Study, curves: Any, metric: str) -> None:
    """A reported value that the curves cannot draw: never a number, or not only numbers."""
    values = curves[curve_column(metric)].dropna()
    if _numeric(values):
        return
    drawable = [curve_key(c) for c in curves.columns if c not in ("trial_id", "time",
                                                                  study.resource)
                and _numeric(curves[c])]
    bad = next((v for v in values if not isinstance(v, numbers.Real)), None)
    what = f"every report of {metric!r} is NaN or None" if values.empty else \
        f"{metric!r} is not a number in every report (one is {bad!r}, {type(bad).__name__})"
    raise ValueError(f"{what}: the learning curves draw numbers; study {study.name!r} "
                     f"reported {', '.join(drawable) or 'none'} as numbers")


def _parallel(study: Study, ax: Any) -> None:
    import numpy as np
    from matplotlib import colormaps, colors
    from matplotlib.cm import ScalarMappable

    frame = _valued(study)
    names = list(study.space)
    values = frame[metric_column(study.metric)].to_numpy(dtype=float)
    lo, hi = float(values.min()), float(values.max())
    metric_unit = (values - lo) / (hi - lo) if hi > lo else np.full(len(values), 0.5)
    points = np.column_stack([_encoded(study, frame, names), metric_unit])
    norm = colors.Normalize(lo, hi) if hi > lo else colors.Normalize(lo - 0.5, hi + 0.5)
    cmap = colormaps[_cmap(study)]
    xs = np.arange(len(names) + 1)
    ax.vlines(xs, 0.0, 1.0, color="0.3", linewidth=0.8, zorder=1)
    order = np.argsort(-study.direction.sign * values)  # the best drawn last
    for i in order:
        ax.plot(xs, points[i], color=cmap(norm(values[i])), alpha=0.75, linewidth=1.0,
                zorder=2, gid=f"trial-{frame['trial_id'].iloc[i]}")
    for x, name in enumerate(names):
        for position, value in zip(*_ticks(study.space[name])):
            ax.text(x + 0.04, position, _short(value), fontsize=7, va="center")
    for position in (0.0, 0.5, 1.0) if hi > lo else (0.5,):  # one value: drawn at the middle
        ax.text(len(names) + 0.04, position, _short(lo + position * (hi - lo)), fontsize=7,
                va="center")
    inactive = [x for x in range(len(names)) if (points[:, x] == INACTIVE).any()]
    for x in inactive:  # conditional hyperparameters: trials where they were not used
        ax.text(x + 0.04, INACTIVE, "inactive", fontsize=7, va="center", style="italic")
    log = [n for n in names if getattr(study.space[n], "log", False)]
    ax.set_xticks(xs, names + [study.metric])
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(names) + 0.6)
    ax.set_ylim(INACTIVE - 0.1 if inactive else -0.05, 1.05)
    ax.set_title(f"Parallel coordinates of {study.name} ({len(frame)} trials)"
                 + (f"; log scale: {', '.join(log)}" if log else ""))
    ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                       label=_metric_label(study))


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


def _contour_params(study: Study, params: tuple[str, str] | None) -> tuple[str, str]:
    """``params`` checked, or the two most important numeric hyperparameters."""
    names = list(study.space)
    if params is not None:
        if isinstance(params, str):  # "lr,units", as %hpo plot contour --params lr,units
            params = tuple(p.strip() for p in params.split(","))
        if not isinstance(params, (tuple, list)):
            raise ValueError(f"params must be two hyperparameters of the study "
                             f"({', '.join(names)}), e.g. params=({names[0]!r}, "
                             f"{names[-1]!r}), not {params!r} ({type(params).__name__})")
        params = tuple(params)
        if len(params) != 2 or params[0] == params[1] or any(p not in study.space
                                                             for p in params):
            raise ValueError(f"params must be two different hyperparameters of the study "
                             f"({', '.join(names)}), got {params!r}")
        return params[0], params[1]
    numeric = [n for n in names if not isinstance(study.space[n], Categorical)]
    if len(numeric) < 2:
        hint = "" if len(names) < 2 else (
            f": name two (categorical ones too) with study.plot('contour', "
            f"params=({names[0]!r}, {names[1]!r}))")
        raise ValueError(f"a contour plot needs two numeric hyperparameters; study "
                         f"{study.name!r} has {', '.join(names) or 'none'}{hint}")
    try:
        ranked = [n for n in importances(study) if n in numeric]
    except ValueError:  # too few finished trials to rank: keep the space's order
        ranked = numeric
    if study.space.conditional:  # the most important pair that is active together in 3 trials
        try:
            frame = _valued(study)
        except ValueError:
            return ranked[0], ranked[1]
        pair = _active_pair(frame, ranked)
        if pair is None and len(frame) >= 3 and _active_pair(frame, ranked, 1) is None:
            other = _active_pair(frame, names)
            hint = "" if other is None else (
                f": name two that are, categorical ones too, with study.plot('contour', "
                f"params={other!r})")
            raise ValueError(f"a contour plot needs two numeric hyperparameters active "
                             f"together in at least 3 trials with a value of {study.metric}; "
                             f"in study {study.name!r} no two of {', '.join(numeric)} are "
                             f"(each is active only where other hyperparameters take certain "
                             f"values){hint}")
        if pair is not None:
            return pair
    return ranked[0], ranked[1]  # too few trials yet: _contour says so


def _active_pair(frame: Any, names: list[str], least: int = 3) -> tuple[str, str] | None:
    """The first two of ``names`` (in order) active together in at least ``least`` rows of
    ``frame``."""
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            together = sum(not (_missing(x) or _missing(y)) for x, y in
                           zip(frame[f"config.{a}"], frame[f"config.{b}"]))
            if together >= least:
                return a, b
    return None


def _contour_axis(domain: Domain, count: int) -> tuple[Any, Any]:
    """Grid coordinates along one axis in the domain's units and in the unit cube."""
    import numpy as np

    if isinstance(domain, Categorical):
        grid = np.linspace(0.0, 1.0, count)
        return grid, grid
    lo, hi = float(domain.lo), float(domain.hi)
    real = np.geomspace(lo, hi, count) if domain.log else np.linspace(lo, hi, count)
    return real, np.array([domain.to_unit(v) for v in real], dtype=float)


def _contour(study: Study, ax: Any, params: tuple[str, str] | None) -> None:
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    params = _contour_params(study, params)
    frame = _valued(study)
    both = [not (_missing(a) or _missing(b)) for a, b in
            zip(frame[f"config.{params[0]}"], frame[f"config.{params[1]}"])]
    frame = frame[both]  # trials in which both hyperparameters were active
    if len(frame) < 3:
        raise ValueError(f"a contour plot needs at least 3 trials with a value of "
                         f"{study.metric} (and {params[0]} and {params[1]} active); study "
                         f"{study.name!r} has {len(frame)}")
    domains = [study.space[p] for p in params]
    unit_points = _encoded(study, frame, list(params))
    values = frame[metric_column(study.metric)].to_numpy(dtype=float)
    (rx, ux), (ry, uy) = (_contour_axis(d, GRID) for d in domains)
    gux, guy = np.meshgrid(ux, uy)
    nearest = griddata(unit_points, values, (gux, guy), method="nearest")
    try:
        linear = griddata(unit_points, values, (gux, guy), method="linear")
    except (QhullError, ValueError):  # collinear points: the nearest-neighbour surface only
        linear = np.full_like(nearest, np.nan)
    lo, hi = float(values.min()), float(values.max())  # the surface stays within them
    pad = max(abs(lo) * 1e-6, 1e-12)
    levels = MaxNLocator(12).tick_values(lo, hi) if hi > lo else [lo - pad, hi + pad]
    gx, gy = np.meshgrid(rx, ry)
    outside = np.isnan(linear)
    filled = None
    if outside.any():  # beyond the trials (outside their hull): each point's nearest trial,
        # faded, so a corner no trial came near does not look like a measured optimum; drawn
        # whole, under the interpolation, so no gap is left along the hull
        filled = ax.contourf(gx, gy, nearest, levels=levels, cmap=_cmap(study), alpha=0.3)
        ax.text(0.01, 0.01, "faded: no trial around, the nearest trial's value",
                transform=ax.transAxes, fontsize=7, color="dimgray", va="bottom")
    if not outside.all():  # between the trials: interpolated, in full colour
        filled = ax.contourf(gx, gy, linear, levels=levels, cmap=_cmap(study))

    def coordinates(domain: Domain, column: str) -> Any:
        if isinstance(domain, Categorical):
            return np.array([domain.to_unit(v) for v in frame[column]], dtype=float)
        return frame[column].to_numpy(dtype=float)

    px, py = (coordinates(d, f"config.{p}") for d, p in zip(domains, params))
    ax.scatter(px, py, s=14, color="white", edgecolor="black", linewidth=0.5, label="trials")
    best = np.flatnonzero(frame["trial_id"].to_numpy() == _best_trial_id(study, frame))
    if best.size:
        ax.scatter(px[best], py[best], s=110, marker="*", color="red",
                   label=f"best (trial {frame['trial_id'].iloc[best[0]]})", zorder=4)
    for axis, domain, name, setter in zip((ax.xaxis, ax.yaxis), domains, params,
                                          (ax.set_xscale, ax.set_yscale)):
        if isinstance(domain, Categorical):
            positions, choices = _ticks(domain)
            axis.set_ticks(positions, [str(c) for c in choices])
        elif domain.log:
            setter("log")
    ax.set_xlabel(params[0])
    ax.set_ylabel(params[1])
    ax.set_title(f"{study.metric} over {params[0]} and {params[1]} ({study.name}, "
                 f"{len(frame)} trials)")
    ax.legend(fontsize=8, loc="upper right")
    ax.figure.colorbar(filled, ax=ax, label=_metric_label(study))


def _incumbent(study: Study, ax: Any) -> None:
    frame = study.incumbent_over_time()
    if frame.empty:
        raise ValueError(f"study {study.name!r} has no incumbent yet: {_no_value(study)}")
    curves = study.training_curves()
    end = float(frame["time"].iloc[-1])
    if not curves.empty and curves["time"].notna().any():
        end = max(end, float(curves["time"].max()))
    times = list(frame["time"]) + [end]
    values = list(frame["best_value"]) + [float(frame["best_value"].iloc[-1])]
    ax.step(times, values, where="post", color="black", linewidth=1.8)
    ax.scatter(frame["time"], frame["best_value"], s=16, color="tab:blue", zorder=3,
               label="improvement")
    previous = None
    for t, trial_id, value in zip(frame["time"], frame["trial_id"], frame["best_value"]):
        if trial_id != previous:  # one label per run of improvements by the same trial
            ax.annotate(str(trial_id), (t, value), textcoords="offset points", xytext=(3, 4),
                        fontsize=7)
        previous = trial_id
    ax.set_xlabel("seconds since the study started")
    ax.set_ylabel(f"best {_metric_label(study)}")
    ax.set_title(f"Incumbent of {study.name} over wall time (labels: the leading trial)")
