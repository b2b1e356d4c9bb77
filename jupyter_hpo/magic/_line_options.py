"""The ``%%hpo`` line alone, read and checked: options of the scheduler and searcher, limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..errors import HPOError
from ..options import StudyOptions, parse_duration
from ._metric_mode import _check_metric_name
from ._text import SCHEDULER_FLAGS, cli_message, enqueued_config, key_values

__all__ = ["LineOptions", "check_line_options"]



@dataclass
class LineOptions:
    """What the ``%%hpo`` line alone says, read and checked (see ``check_line_options``)."""

    scheduler_options: dict[str, Any]
    searcher_options: dict[str, Any]
    time_limit: float | None
    trial_timeout: float | None
    points: list[dict[str, Any]]


def check_line_options(args: Any, scheduler: str | None = None,
                       searcher: str | None = None) -> LineOptions:
    """The checks of a ``%%hpo`` line's options that need neither the cell nor the kernel:
    ``KEY=VALUE`` words and the scheduler's and searcher's option names, durations, numbers
    out of range, options that need another one. A UsageError in the magic's words; the magic
    makes them in the study's setup (which defers interrupts: they import the schedulers), the
    editor's diagnostics before the cell runs. ``scheduler``/``searcher``: the ones the study
    runs where the line leaves them out (a resumed study's), else ``auto``."""
    from ..executors import check_options as check_executor_options
    from ..schedulers import scheduler_class
    from ..searchers import SEARCHERS, searcher_class
    from ..storage import keeps_nothing

    _check_metric_name(args)
    scheduler = args.scheduler or scheduler or "auto"
    searcher = args.searcher or searcher or "auto"
    scheduler_options = {key: getattr(args, key) for key in SCHEDULER_FLAGS
                         if getattr(args, key) is not None}
    for key, value in key_values(args.scheduler_opt, "--scheduler-opt",
                                 "min_pairs=8").items():
        if key in scheduler_options:
            raise UsageError(f"--scheduler-opt {key}=... and --{SCHEDULER_FLAGS[key]} both "
                             f"set {key}: keep one")
        scheduler_options[key] = value
    searcher_options = key_values(args.searcher_opt, "--searcher-opt", "points=5")
    if args.address is not None and args.executor != "dask":
        raise UsageError(f"--address applies to --executor dask, but the executor is "
                         f"{args.executor}: add --executor dask")
    if args.resume and not args.name:
        raise UsageError("--resume needs --name NAME: the study to continue (`%hpo list` "
                         "shows the stored ones)")
    if args.storage is not None and not args.storage.strip():
        raise UsageError(f"--storage is {args.storage!r}: pass the file to keep the study in "
                         f"(--storage runs.db), or --storage none to keep nothing (an empty "
                         f"value kept nothing without a word)")
    if args.storage is not None and keeps_nothing(args.storage):
        if args.resume:
            raise UsageError("--resume needs a storage file, but --storage is none")
        if args.warm_start:
            raise UsageError("--warm-start reads a stored study, but --storage is none")
    try:
        trial_timeout = parse_duration(args.trial_timeout, "--trial-timeout") \
            if args.trial_timeout is not None else None
        time_limit = parse_duration(args.time_limit, "--time-limit") \
            if args.time_limit is not None else None
        numbers = {"keep_namespaces": args.keep_namespaces} \
            if args.keep_namespaces is not None else {}
        StudyOptions(metric="metric", mode="min", trials=args.trials, seed=args.seed,
                     workers=args.workers, name=args.name, **numbers).validated()
        check_executor_options(args.executor, {"trial_timeout": trial_timeout})
        scheduler_class(scheduler, scheduler_options)
        if searcher_options or searcher not in SEARCHERS:  # else no module to import
            searcher_class(searcher, searcher_options)
    except (ValueError, HPOError) as exc:
        raise UsageError(cli_message(str(exc), searcher_options)) from None
    points = [enqueued_config(text) for text in args.enqueue]
    return LineOptions(scheduler_options, searcher_options, time_limit, trial_timeout, points)
