"""Warm starts: a stored study's results as prior observations of a new study's searcher.

The finished trials (completed or stopped early; completed only for a searcher that does not
learn from stopped trials, ``tpe``) of the source study are told to the searcher as if they had
just run, under trial ids below zero, before its first proposal; they are not
trials of the new study and do not count against its budget. A model-based searcher learns
from them (with Hyperband a multi-fidelity one from every report too); random and grid search
learn nothing from results, which the summary says. Its failed trials are told as failures
(``Searcher.fail``: as bad as the worst result), as a resumed study's are, when some trial of
it finished: a study whose every trial failed had a broken objective, not bad regions.

The spaces may differ: a configuration is used when, after dropping the hyperparameters the
new space does not have (and those its values make inactive), it is a complete configuration
of the new space. What was skipped, and why, is in the summary the study shows.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from .errors import HPOError, SpaceError
from .records import Direction, StudyRecord, TrialStatus

if TYPE_CHECKING:
    from .searchers import Searcher
    from .space import Space
    from .storage import BaseStorage

__all__ = ["check_source", "source_record", "warm_start"]

_FINISHED = (TrialStatus.COMPLETED, TrialStatus.STOPPED)


def check_source(source: StudyRecord, metric: str, direction: Direction) -> None:
    """Refuse a source study that optimised another metric or in the other direction."""
    if source.metric != metric:
        raise HPOError(f"cannot warm-start from {source.name!r}: it optimised "
                       f"{source.metric!r}, but this study optimises {metric!r}")
    if source.direction is not direction:
        raise HPOError(f"cannot warm-start from {source.name!r}: it was to {source.mode}imise "
                       f"{metric!r}, but this study is to {direction.value}imise it")


def warm_start(searcher: Searcher, source: StudyRecord, space: Space, metric: str,
               direction: Direction, resource: str) -> str:
    """Tell ``searcher`` the results of ``source``; return what was used and skipped."""
    check_source(source, metric, direction)
    skipped: Counter[str] = Counter()
    examples: list[str] = []
    dropped: set[str] = set()
    used = failures = 0
    any_finished = any(t.status in _FINISHED and t.best(metric, direction) is not None
                       for t in source.trials)
    # the failures last, so that each counts as the worst result of the whole study
    order = sorted(enumerate(source.trials), key=lambda item: item[1].status is TrialStatus.FAILED)
    for index, trial in order:
        failed = trial.status is TrialStatus.FAILED and any_finished
        if trial.status not in _FINISHED and not failed:
            skipped[f"{trial.status.value}"] += 1
            continue
        if not failed and trial.best(metric, direction) is None:
            skipped["without a value"] += 1
            continue
        if trial.status is TrialStatus.STOPPED and not searcher.learns_stopped:
            skipped[f"stopped early ({searcher.name} learns only from trials that ran to the "
                    f"end)"] += 1
            continue
        config, why = _fit(dict(trial.config), space, dropped)
        if config is None:
            skipped["outside this space"] += 1
            if len(examples) < 3:
                examples.append(f"trial {trial.trial_id}: {why}")
            continue
        if failed:
            searcher.fail(-1 - index, config)
            failures += 1
        else:
            _tell(searcher, -1 - index, config, trial.reports, resource)
        used += 1
    return _summary(source, searcher, used, failures, len(source.trials), skipped, examples,
                    dropped)


def source_record(source: Any, storage: BaseStorage | None, space: Space, metric: str,
                  direction: Direction) -> StudyRecord:
    """The study to warm-start from, checked: ``source`` is a study's name in ``storage``, a
    ``Study`` or a ``StudyRecord``. A study reads it before it stores itself, so that a
    refusal leaves nothing behind."""
    if isinstance(source, str):
        if storage is None:
            raise HPOError(f"warm_start={source!r} names a stored study, but this study has no "
                           f"storage to read it from: pass storage=... (or the Study)")
        record = storage.load_study(source, space=space)  # its objects as this space's
    elif hasattr(source, "snapshot"):
        record = source.snapshot()
    elif isinstance(source, StudyRecord):
        record = source
    else:
        raise HPOError(f"warm_start is {source!r} ({type(source).__name__}), but must be the "
                       f"name of a stored study, a Study or a StudyRecord")
    check_source(record, metric, direction)
    return record


def _fit(config: dict[str, Any], space: Space, dropped: set[str]
         ) -> tuple[dict[str, Any] | None, str]:
    """``config`` as a configuration of ``space``, or None and why not."""
    for name in [n for n in config if n not in space]:
        dropped.add(name)
        del config[name]
    for name in [n for n in config if not space.is_active(n, config)]:
        del config[name]
    config = dict(space.matched_choices(config))  # an object stored by its repr: its choice
    try:
        space.validate(config)
    except SpaceError as exc:
        return None, str(exc)
    return config, ""


def _tell(searcher: Searcher, trial_id: int, config: dict[str, Any],
          reports: Any, resource: str) -> None:
    """As the scheduler would: every report to a searcher that learns from progress (under
    Hyperband), then the last one as the final result."""
    if not reports:
        return
    if searcher.uses_progress and searcher.resource is not None:
        for values in reports:
            if resource in values:
                searcher.observe(trial_id, config, dict(values))
    searcher.observe(trial_id, config, dict(reports[-1]), final=True)


def _learns(searcher: Searcher) -> bool:
    from .searchers import Searcher

    return type(searcher)._observe is not Searcher._observe


def _summary(source: StudyRecord, searcher: Searcher, used: int, failures: int, total: int,
             skipped: Counter[str], examples: list[str], dropped: set[str]) -> str:
    text = (f"warm start from {source.name!r}: {used} of its {total} trials given to the "
            f"{searcher.name} searcher as prior observations (not counted in the budget)")
    if failures:
        text += (f", {failures} of them failed trials, learnt as ending as badly as the worst "
                 f"result")
    if not _learns(searcher):
        text += f"; {searcher.describe()} does not learn from results, so they change nothing"
    if skipped:
        parts = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        text += f"; skipped {sum(skipped.values())}: {parts}"
        if examples:
            text += f" ({'; '.join(examples)})"
    if dropped:
        text += (f"; not in this study's space, so left out of its configurations: "
                 f"{', '.join(sorted(dropped))}")
    return text
