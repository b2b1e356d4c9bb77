"""The Python API: ``tune(fn, space, ...)`` runs a study without the magic."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from .errors import HPOError
from .objective import FunctionObjective
from .options import StudyOptions, check_keywords, infer_mode, missing_metric
from .records import StudyState
from .short_loop import short_loop_note
from .space import Domain, Space
from .study import Study
from .study._study import NOT_STARTED
from .trial_log import TrialLog

__all__ = ["infer_mode", "tune"]


def tune(fn: Callable[..., Any] | None = None,
         space: Mapping[str, Domain] | Space | None = None, *positional: Any,
         metric: str | None = None, mode: str | None = None, trials: int | None = None,
         **options: Any) -> Study:
    """Run ``fn(config)`` over ``space`` and return the finished :class:`Study`.

    ``fn`` returns the metric (or a dict of metrics), or calls ``jupyter_hpo.report(...)``
    during training (it may also take ``report``, ``trial`` and ``device`` arguments). The
    other options are the fields of :class:`~jupyter_hpo.options.StudyOptions`
    (``scheduler``, ``searcher``, ``workers``, ``time_limit``, ``seed``, ``storage``, ...).
    Without ``trials`` or ``time_limit``, 20 trials run (the whole grid for
    ``searcher="grid"``). Nothing is stored unless ``storage`` is given.
    ``points_to_evaluate`` are run first (partial ones completed by the searcher),
    ``warm_start`` feeds a stored study's results to the searcher first; what that did is
    printed (and kept in ``study.notes``).
    """
    if positional:
        raise TypeError(_positional_options(positional))
    check_keywords(options, "tune()")  # first: reward_attr= (AutoGluon's) says: metric=,
    # param_space= (Ray Tune's) says: the second argument
    if space is None:
        raise TypeError("tune() needs the search space, its second argument: tune(fn, "
                        "{'lr': Real(1e-4, 1e-1, log=True)}, metric=..., ...)")
    if metric is None:
        raise TypeError(missing_metric("tune()"))
    study_options = StudyOptions(metric=metric, mode=mode, trials=trials, **options)
    try:
        study = Study(FunctionObjective(fn, metric), space, study_options)
    except HPOError as exc:  # its message names %%hpo's flags and %hpo's commands
        message = python_spelling(str(exc), study_options)
        if study_options.resume and message.startswith(f"no study named {study_options.name!r}"):
            message += "; to start a new study, leave out resume=True"
        if message != str(exc) and len(exc.args) == 1 and not isinstance(exc, SyntaxError):
            exc.args = (message,)
        raise
    trial_log = TrialLog(study)
    try:
        for note in study.notes:
            print(f"jupyter_hpo: {note}")
        study.subscribe(trial_log)
        study.run()
    except KeyboardInterrupt:  # the study stopped gracefully: say where it is and re-raise
        if study.start_time is None:  # it never started: a resume is stored as it was
            _not_started(study)
            raise
        trial_log.study_finished()
        if study.storage is not None and study.options.name:
            print(f"jupyter_hpo: {study.name} is stored; tune(..., name={study.name!r}, "
                  f"resume=True) with the same storage runs its cancelled trials again and "
                  f"the rest of its budget")
        raise
    trial_log.study_finished()
    if study.unstored:
        print(f"jupyter_hpo: {study.unstored}")
    for note in (_no_max_t_note(study), short_loop_note(study, magic=False)):
        if note:
            print(f"jupyter_hpo: {note}")
    return study


def _positional_options(values: tuple[Any, ...]) -> str:
    """Why ``tune(fn, space, "loss", "min", 20)`` is refused, with the keywords meant (a name
    is the metric, min or max the mode, a whole number the trials)."""
    meant = []
    for value in values:
        if isinstance(value, str) and value.lower() in ("min", "max") and "mode" not in meant:
            meant.append("mode")
        elif isinstance(value, str) and "metric" not in meant:
            meant.append("metric")
        elif isinstance(value, int) and not isinstance(value, bool) and "trials" not in meant:
            meant.append("trials")
        else:
            meant.append("...")
    written = ", ".join(f"{key}={value!r}" if key != "..." else "..."
                        for key, value in zip(meant, values, strict=True))
    given = f"{len(values)} more {'was' if len(values) == 1 else 'were'} given"
    return (f"tune() takes fn and space as its only positional arguments, and {given} "
            f"({', '.join(map(repr, values))}): the options are keywords, e.g. tune(fn, space, "
            f"{written})")


def _not_started(study: Study) -> None:
    """Ctrl-C came before ``study`` started: it ends unstarted (a new study is removed from
    storage, a resumed one given back as it was), which is said."""
    if study.state is StudyState.CREATED:
        study.stop(NOT_STARTED, force=True)
    if study.resumed_from is not None:
        print(f"jupyter_hpo: interrupted before {study.name} resumed: none of its trials ran, "
              f"and it is stored as it was ({study.resumed_from.state}); tune(..., "
              f"name={study.name!r}, resume=True) with the same storage resumes it")


def _no_max_t_note(study: Study) -> str:
    """What to add when the trials reported the resource but the auto scheduler had no max_t,
    so it stopped nothing: a user who reports epochs expects early stopping."""
    from .records import TrialStatus

    options = study.options
    if options.scheduler != "auto" or "max_t" in options.scheduler_options \
            or study.stop_reason not in ("", "time limit reached"):  # a user stopped it
        return ""
    ended = [t for t in study.trials if t.status is TrialStatus.COMPLETED]
    reached = [r[study.resource] for t in ended for r in t.reports
               if isinstance(r.get(study.resource), (int, float))]
    if len(reached) <= len(ended):  # one report a trial: nothing to stop early
        return ""
    from .annotate import max_t_names

    most = max(reached)
    shown = int(most) if float(most).is_integer() else most
    return (f"the trials reported {study.resource} up to {shown}, but without a maximum every "
            f"trial ran to its end: put {{{max_t_names(study.resource)[1]!r}: {shown}}} in the "
            f"space (a fixed value) or pass scheduler_options={{'max_t': {shown}}} to stop poor "
            f"trials early")


def python_spelling(message: str, options: StudyOptions) -> str:
    """A storage message written for ``%%hpo`` in ``tune()``'s keywords, with its ``%hpo``
    commands as terminal commands on the same file."""
    from .cli import PROG
    from .storage._common import in_python_words

    message = in_python_words(message)
    location = getattr(options.storage, "location", options.storage)
    where = f" --storage {shlex.quote(os.fspath(location))}" \
        if isinstance(location, (str, os.PathLike)) else ""
    word = r"(\"[^\"]*\"|'[^']*'|[^\s`);]+)"
    message = re.sub(rf"--name {word} --resume",
                     lambda m: f"tune(..., name={m[1].strip(chr(34) + chr(39))!r}, "
                               f"resume=True)", message)
    message = message.replace("another --name", "another name=")
    message = re.sub(r"--warm-start (\S+) \(tune\(warm_start=(.+?)\)\)",
                     lambda m: f"tune(..., name=..., warm_start={m[2]})", message)
    return re.sub(rf"(?<!%)%hpo (\w+) {word}", lambda m: f"{PROG} {m[1]} {m[2]}{where}",
                  message)


