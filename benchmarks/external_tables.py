"""Learning-curve tables from elsewhere, for ``search_quality.py --table FILE[:METRIC[:MODE]]``.

A table is an ``.npz`` file in ``make_tables.py``'s layout: one 1-D array per hyperparameter
(a value per row), one (rows, epochs) array per metric, and ``seconds`` of the same shape (what
each epoch took). A file named ``<kind>_<dataset>.npz`` for a kind ``make_tables.py`` trains
(``gbm_iris.npz``) is replayed with that kind's space; any other file gets a space inferred
from its columns, so tables made by other tools run too: text and booleans, and integers with
at most eight values that are not consecutive (batch sizes), are categorical; other integers
are ``Int``, other numbers ``Real``, over the range the rows cover, on a log scale where the
rows look drawn log-uniformly (about half of them below the range's geometric midpoint).
Every metric is minimised unless the spec says ``max``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_hpo import Categorical, Int, Real, Space

#: arrays of make_tables.py's files that are neither hyperparameters nor metrics
BOOKKEEPING = frozenset({"index", "seconds", "generation_seconds", "info"})
_FEW_VALUES = 8  # at most this many distinct values that are not consecutive: categorical

Table = tuple[Path, str, str, Space]  # (file, metric, mode, space)


def table_benchmarks(spec: str, known_spaces: Mapping[str, Callable[[], Space]]
                     ) -> dict[str, Table]:
    """The benchmarks one ``FILE[:METRIC[:MODE]]`` names, by benchmark name
    (``<file stem>-<metric>``): one per metric of the file when ``METRIC`` is left out.
    Raises ``ValueError`` saying what is wrong with the spec or the file."""
    path_text, _, rest = spec.partition(":")
    metric, _, mode = rest.partition(":")
    mode = mode or "min"
    if mode not in ("min", "max"):
        raise ValueError(f"--table {spec}: the mode is {mode!r}, but must be min or max")
    path = Path(path_text)
    if not path.is_file():
        raise ValueError(f"--table {spec}: no file {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"--table {spec}: {path} is not a readable .npz table ({exc})") \
            from exc
    seconds = arrays.get("seconds")
    if seconds is None or seconds.ndim != 2:
        raise ValueError(f"--table {spec}: {path} has no (rows, epochs) array 'seconds' (the "
                         f"time each epoch took); it has {sorted(arrays)}")
    metrics = [name for name, a in arrays.items()
               if name not in BOOKKEEPING and a.shape == seconds.shape]
    if metric and metric not in metrics:
        raise ValueError(f"--table {spec}: {path} has no metric {metric!r} (a (rows, epochs) "
                         f"array like 'seconds'); its metrics: {', '.join(metrics) or 'none'}")
    columns = {name: a for name, a in arrays.items()
               if name not in BOOKKEEPING and a.shape == (seconds.shape[0],)}
    space = _space_of(path, columns, known_spaces)
    return {f"{path.stem}-{m}": (path, m, mode, space) for m in ([metric] if metric else metrics)}


def _space_of(path: Path, columns: Mapping[str, np.ndarray],
              known_spaces: Mapping[str, Callable[[], Space]]) -> Space:
    """The kind's space for ``<kind>_<dataset>.npz`` when its hyperparameters are in the file,
    else one inferred from the columns."""
    kind = path.stem.split("_", 1)[0]
    if kind in known_spaces:
        space = known_spaces[kind]()
        if set(space) <= set(columns):
            return space
    if not columns:
        raise ValueError(f"{path} has no hyperparameter columns (1-D arrays with a value per "
                         f"row)")
    return infer_space(columns)


def infer_space(columns: Mapping[str, np.ndarray]) -> Space:
    """A space covering the rows' values, one domain per column (see the module docstring)."""
    return Space({name: _domain(np.asarray(values)) for name, values in columns.items()})


def _domain(values: np.ndarray) -> Any:
    if values.dtype.kind not in "iuf":  # text, booleans, objects
        return Categorical(*sorted(set(values.tolist()), key=repr))
    finite = values[np.isfinite(values)].astype(np.float64)
    distinct = np.unique(finite)
    if len(distinct) < 2:
        raise ValueError(f"a hyperparameter column holds {len(distinct)} distinct finite "
                         f"value(s), so it has no range to search")
    integral = bool(np.all(distinct == np.round(distinct)))
    if integral and len(distinct) <= _FEW_VALUES and np.any(np.diff(distinct) != 1):
        return Categorical(*(int(v) for v in distinct))
    lo, hi = float(distinct[0]), float(distinct[-1])
    log = lo > 0 and _drawn_log_uniformly(finite, lo, hi)
    if integral and (values.dtype.kind in "iu" or len(distinct) > 2):
        return Int(int(lo), int(hi), log=log)
    return Real(lo, hi, log=log)


def _drawn_log_uniformly(values: np.ndarray, lo: float, hi: float) -> bool:
    """Whether the share of values below the geometric midpoint of [lo, hi] is nearer to a
    log-uniform draw's (one half) than to a uniform draw's."""
    midpoint = float(np.sqrt(lo * hi))
    below = float(np.mean(values < midpoint))
    uniform = (midpoint - lo) / (hi - lo)
    return abs(below - 0.5) < abs(below - uniform)
