"""``%hpo export`` and ``%hpo show``'s checkpoint line: a study's trials to a file, sizes in
words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import HPOError

if TYPE_CHECKING:
    from ..study import Study

EXPORT_FORMATS = (".csv", ".parquet", ".json")
_SQLITE_HEADER = b"SQLite format 3\x00"


def export(study: Study, target: str) -> None:
    """Write a study's trials: CSV or Parquet (``trials_dataframe()``), or JSON with every
    trial's configuration and reports."""
    import json

    from ..storage import encode_value

    _refuse_a_database(target)
    record = study.snapshot()
    suffix = target.lower().rsplit(".", 1)[-1]
    if suffix == "json":
        best = record.best_trial
        data = {"name": record.name, "metric": record.metric, "mode": record.mode,
                "resource": record.resource, "state": record.state.value,
                "best_trial": None if best is None else best.trial_id,
                "trials": [{"trial_id": t.trial_id, "status": t.status.value,
                            "config": encode_value(dict(t.config)), "start": t.start_time,
                            "end": t.end_time, "error": t.error,
                            "reports": [dict(encode_value(dict(r)), time=at)
                                        for r, at in zip(t.reports, t.times)]}
                           for t in record.trials]}
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        return
    frame = record.trials_dataframe()
    if suffix == "csv":
        frame.to_csv(target, index=False)
        return
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise HPOError("Parquet export needs pyarrow: pip install pyarrow (or "
                       "jupyter_hpo[parquet]), or export to .csv / .json") from None
    frame = frame.copy()
    for column in frame.columns:  # categorical objects become their repr
        if frame[column].dtype == object and column.startswith("config."):
            frame[column] = [v if isinstance(v, (str, int, float, bool)) or v is None
                             else repr(v) for v in frame[column]]
    frame.to_parquet(target, index=False)


def _refuse_a_database(target: str) -> None:
    """Refuse to write over a SQLite file: a storage named ``runs.csv`` (``--storage``) and
    ``%hpo export mlp runs.csv`` would otherwise replace every stored study by one table."""
    try:
        with open(target, "rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError:  # missing (the usual case), a folder, unreadable: the write says why
        return
    if header == _SQLITE_HEADER:
        stem, dot, suffix = target.rpartition(".")
        raise HPOError(f"{target} is a SQLite database (a jupyter_hpo storage keeps its studies "
                       f"in one): writing the trials over it would destroy what it holds, so it "
                       f"was left untouched; export to another file, e.g. {stem}-trials{dot}"
                       f"{suffix}")


def print_checkpoints(study: Study) -> None:
    """The disk use of a study's checkpoints (``%hpo show``)."""
    files, size = study.checkpoint_use()
    if not files:
        return
    keep = "every trial's" if (study.settings or {}).get("keep_checkpoints") \
        else "those of unfinished trials and of the 5 best"
    print(f"jupyter_hpo: checkpoints of {study.name}: {files} file{'s' if files != 1 else ''}, "
          f"{size_text(size)} in {study.checkpoint_dir} (kept: {keep})")


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"
