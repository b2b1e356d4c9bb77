"""``%hpo export`` and ``%hpo show``'s checkpoint line: a study's trials to a file, sizes in
words."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from ..errors import HPOError

if TYPE_CHECKING:
    from ..study import Study

EXPORT_FORMATS = (".csv", ".parquet", ".json")
_SQLITE_HEADER = b"SQLite format 3\x00"
#: what the commands add when an export replaced an earlier one at the same path
REPLACED = " (replacing the earlier export there)"


def export(study: Study, target: str) -> bool:
    """Write a study's trials: CSV or Parquet (``trials_dataframe()``), or JSON with every
    trial's configuration and reports; whether it replaced an earlier export. A file that an
    export did not write is refused, untouched (a storage, the data a notebook trains on).
    The file is written whole or not at all (``_written_whole``)."""
    path = os.path.expanduser(target)  # ~/runs.csv: pandas expands it, open() does not
    replaced = _refuse_another_file(target)
    with _written_whole(path) as temporary:
        _write(study, target, temporary)
    return replaced


@contextmanager
def _written_whole(path: str) -> Iterator[str]:
    """A new file in ``path``'s folder to write, put in ``path``'s place (``os.replace``) once
    the write has ended, and removed if it raised: a full disk, a crash or a value that cannot
    be written never leaves half a file where an earlier export was. It ends in ``path``'s
    suffix (pandas infers the format from it) and gets the permissions a new file gets."""
    folder, base = os.path.split(path)
    stem, suffix = os.path.splitext(base)
    temporary = os.path.join(folder, f".{stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")
    with open(temporary, "xb"):
        pass
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.remove(temporary)
        raise


def _write(study: Study, target: str, path: str) -> None:
    """Write ``study``'s trials to ``path`` in the format ``target``'s suffix names."""
    import json

    from ..storage import encode_value

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
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        return
    frame = record.trials_dataframe()
    if suffix == "csv":
        frame.to_csv(path, index=False)
        return
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise HPOError("Parquet export needs pyarrow: pip install pyarrow (or "
                       "jupyter_hpo[parquet]), or export to .csv / .json") from None
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object and column.startswith("config."):
            frame[column] = _parquet_column(frame[column].tolist())
    frame.to_parquet(path, index=False)


def _parquet_column(values: list) -> list:
    """A ``config.<name>`` column that Parquet can hold: its values as they are when they are
    all text, all numbers or all bools, else each as text (``Categorical("sqrt", 0.5)``,
    which pyarrow refused with "Expected bytes, got a 'float' object"; tuples, functions).
    ``None`` and NaN (inactive) are left missing."""
    kinds = {bool if isinstance(v, bool) else float if isinstance(v, (int, float)) else type(v)
             for v in values if not _missing(v)}
    if len(kinds) <= 1 and kinds <= {str, float, bool}:
        return values
    return [None if _missing(v) else v if isinstance(v, str) else repr(v) for v in values]


def _missing(value: object) -> bool:
    """A ``None`` choice or an inactive hyperparameter (NaN): a missing value in Parquet."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _refuse_another_file(target: str) -> bool:
    """Refuse to write over a file that is not an earlier export (a SQLite storage named
    ``runs.csv`` would lose every stored study; ``data.csv`` the data it holds); whether
    ``target`` is an earlier export, which the new one replaces."""
    try:
        with open(os.path.expanduser(target), "rb") as handle:
            start = handle.read(4096)
    except OSError:  # missing (the usual case), a folder, unreadable: the write says why
        return False
    stem, dot, suffix = target.rpartition(".")
    instead = f"export to another file, e.g. {stem}-trials{dot}{suffix}"
    if start.startswith(_SQLITE_HEADER):
        raise HPOError(f"{target} is a SQLite database (a jupyter_hpo storage keeps its studies "
                       f"in one): writing the trials over it would destroy what it holds, so it "
                       f"was left untouched; {instead}")
    if not start or _is_export(target, suffix.lower(), start):
        return bool(start)
    first = start.split(b"\n", 1)[0][:40].decode("utf-8", "replace")
    raise HPOError(f"{target} exists and holds something other than exported trials (it "
                   f"begins {first!r}): writing the trials over it would destroy what it "
                   f"holds, so it was left untouched; {instead}, or delete {target} first")


def _is_export(target: str, suffix: str, start: bytes) -> bool:
    """Whether ``target`` looks like a file that ``export`` wrote (its first column, key or
    field: the start of the file in ``start``), so that exporting again may replace it."""
    if suffix == "csv":  # also trials_dataframe().to_csv(path), with its index first
        header = start.split(b"\n", 1)[0].rstrip(b"\r").split(b",")
        return b"trial_id" in header[:2]
    if suffix == "json":
        return start.startswith(b'{\n "name": ')
    try:
        from pyarrow import parquet

        return "trial_id" in parquet.read_schema(os.path.expanduser(target)).names
    except ImportError:  # the export itself says that Parquet needs pyarrow, before writing
        return True
    except Exception:  # noqa: BLE001 - not a Parquet file at all: not ours
        return False


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
