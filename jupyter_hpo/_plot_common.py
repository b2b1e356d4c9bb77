"""What the plots of a study share: figure, labels, colour map, trials table, encoding, ticks."""

from __future__ import annotations

import functools
import io
import math
from typing import TYPE_CHECKING, Any

from .results import metric_column
from .space import INACTIVE, Categorical, Int

if TYPE_CHECKING:
    from .space import Domain
    from .study import Study

__all__ = ["GRID", "STATUS_STYLE", "UNFINISHED", "_axes", "_best_trial_id", "_cmap", "_encoded",
           "_metric_label", "_missing", "_no_value", "_short", "_table", "_ticks", "_valued"]


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
    """An inactive hyperparameter's cell of the table: NaN (``None`` is a choice, as in
    ``Categorical(None, 4)``)."""
    return isinstance(value, float) and math.isnan(value)


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
