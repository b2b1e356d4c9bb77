"""The plots of a study over its hyperparameters: parallel coordinates and the contour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._plot_common import (
    GRID,
    _best_trial_id,
    _cmap,
    _encoded,
    _metric_label,
    _missing,
    _short,
    _ticks,
    _valued,
)
from ._plot_importance import importances
from .results import metric_column
from .space import INACTIVE, Categorical

if TYPE_CHECKING:
    from .space import Domain
    from .study import Study

__all__ = ["_contour", "_parallel"]


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
