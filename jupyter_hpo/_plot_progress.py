"""The plots of a study over time: the optimisation history, learning curves, the incumbent."""

from __future__ import annotations

import difflib
import numbers
from typing import TYPE_CHECKING, Any

from ._plot_common import STATUS_STYLE, _best_trial_id, _metric_label, _no_value, _table, _valued
from .results import curve_column, curve_key, metric_column

if TYPE_CHECKING:
    from .study import Study

__all__ = ["_curves", "_history", "_incumbent"]


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
