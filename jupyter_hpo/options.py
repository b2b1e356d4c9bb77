"""One options object for ``tune()`` and ``%%hpo``: what a study runs with, checked once.

The magic only turns its command line into a :class:`StudyOptions`; ``tune()`` builds one from
keyword arguments; :class:`~jupyter_hpo.study.Study` validates it and builds the searcher, the
scheduler and the executor from it. Each of those checks its own options (their messages name
the value and the rule); this module checks what belongs to the study itself.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from .records import Direction

if TYPE_CHECKING:
    from .executors import Executor
    from .schedulers import Scheduler
    from .searchers import Searcher
    from .space import Space
    from .storage import BaseStorage

__all__ = ["DEFAULT_RESOURCE", "DEFAULT_TRIALS", "PROGRESS_KEYS", "StudyOptions", "check_keywords",
           "infer_mode", "missing_metric", "parse_duration"]

DEFAULT_TRIALS = 20
DEFAULT_KEEP_NAMESPACES = 3
"""Trials whose variables are kept for ``apply`` (the best ones: in the kernel with threads,
in each worker with processes and Dask)."""
#: report() keys that count a training's progress: ``%%hpo``'s resource when the line names none
#: and the cell reports no ``epoch``
PROGRESS_KEYS = frozenset({"step", "steps", "global_step", "iteration", "iter", "it", "round",
                           "boosting_round", "n_iter", "batch", "update"})
#: words of a metric's name that say it is minimised or maximised (``val_loss``, ``valLoss``,
#: ``test-mape``, ``top1_acc``); the last such word of the name decides (``error_rate``)
_MIN_WORDS = frozenset({
    "loss", "losses", "err", "error", "errors", "mse", "mae", "rmse", "msle", "rmsle", "mape",
    "smape", "nll", "logloss", "regret", "perplexity", "ppl", "cost", "time", "runtime",
    "latency", "duration", "wer", "cer", "brier", "distance", "divergence", "kl", "fid", "bpd",
    "bpc", "ece"})
_MAX_WORDS = frozenset({
    "acc", "accuracy", "auc", "auroc", "auprc", "roc", "f1", "fscore", "score", "precision",
    "recall", "r2", "reward", "rewards", "return", "returns", "map", "ndcg", "iou", "miou",
    "dice", "psnr", "ssim", "bleu", "rouge", "meteor", "mcc", "kappa", "top1", "top5", "elbo",
    "likelihood", "loglik", "throughput", "sharpe", "profit", "sensitivity", "specificity",
    "jaccard", "ap"})
#: a first word that negates the rest, as scikit-learn's scorers do (``neg_mean_squared_error``
#: is maximised)
_NEGATIONS = frozenset({"neg", "negative", "minus"})
#: parts of names written as one word (``valloss``, ``testaccuracy``), when no word decides
_MIN_PATTERN = re.compile(r"loss|err|mse|mae|mape|regret|perplexity|cost|time|latency",
                          re.IGNORECASE)
_MAX_PATTERN = re.compile(r"acc|auc|f1|score|precision|recall|r2|reward|return|map|ndcg|iou",
                          re.IGNORECASE)
_WORD = re.compile(r"[A-Z]?[a-z]+\d*|[A-Z]+\d*(?![a-z])|\d+")
#: one part of a duration, a number and its unit ("1.5h", "30 min", "2 hours", "90")
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*,?", re.IGNORECASE)
_UNITS = {**dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), 1.0),
          **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
          **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
          **dict.fromkeys(("d", "day", "days"), 86400.0)}
_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$")  # [h:]mm:ss


def infer_mode(metric: str) -> str | None:
    """``"min"`` or ``"max"`` as a metric's name says, else ``None``: the last word of the
    name that says it (``val_loss``, ``error_rate`` -> min; ``top1_acc``, ``r2_score`` -> max),
    else a part of it (``valloss``); a first word ``neg`` turns it round, as in scikit-learn's
    scorers (``neg_mean_squared_error`` and ``neg_log_loss`` are maximised)."""
    words = [w.lower() for w in _WORD.findall(metric)]
    negated = bool(words) and words[0] in _NEGATIONS
    mode = None
    for word in reversed(words[1:] if negated else words):
        stem = word.rstrip("0123456789") or word
        if word in _MIN_WORDS or stem in _MIN_WORDS:
            mode = "min"
        elif word in _MAX_WORDS or stem in _MAX_WORDS:
            mode = "max"
        if mode is not None:
            break
    if mode is None:
        mode = "min" if _MIN_PATTERN.search(metric) else \
            "max" if _MAX_PATTERN.search(metric) else None
    if mode is None or not negated:
        return mode
    return "max" if mode == "min" else "min"


def mode_against_name(metric: str, mode: str | None) -> list[str]:
    """A note (as a ``ModeWarning``, which the user's warning filters may silence or turn
    into an error) when ``mode``, given explicitly, is the opposite of what the metric's name
    says (``infer_mode``): ``val_loss`` maximised, ``val_acc`` minimised. The filters are read
    as they stand, not through ``catch_warnings(record=True)``, whose swap of the process's
    warning state lost or took the warnings of studies set up in other threads meanwhile."""
    from .errors import ModeWarning
    from .warning_filters import filter_action

    said = infer_mode(metric) if isinstance(metric, str) else None
    if mode not in ("min", "max") or said is None or said == mode:
        return []
    doing, reads = ("maximising", "minimise") if mode == "max" else ("minimising", "maximise")
    text = (f"{doing} {metric} as asked (mode {mode}), although its name reads like a value "
            f"to {reads} (mode {said}): if {mode} is meant, warnings.filterwarnings('ignore', "
            f"category=jupyter_hpo.ModeWarning) silences this")
    action = filter_action(ModeWarning, text, stacklevel=2)  # as issued by our caller
    if action == "error":
        raise ModeWarning(text)
    return [] if action == "ignore" else [text]


def parse_duration(text: str | float, option: str = "time_limit") -> float:
    """Seconds in ``90``, ``"90"``, ``"90s"``, ``"30m"``, ``"30 min"``, ``"1.5h"``,
    ``"1h30m"``, ``"2 hours"``, ``"1d"`` or ``"1:30:00"`` (units in any case)."""
    if isinstance(text, numbers.Real) and not isinstance(text, bool):
        seconds = float(text)
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{option} is {text!r}, but must be a finite number of seconds > 0")
        return seconds
    if isinstance(text, str):
        _refuse_a_clock_past_60(text, option)
    total = _duration_seconds(text) if isinstance(text, str) else None
    if total is None:
        raise ValueError(f"{option} {text!r} is not a duration: use seconds (90), 90s, 30m, "
                         f"1.5h, 1h30m, 2 hours or 1:30:00")
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"{option} {text!r} must be longer than 0 seconds")
    return total


def _refuse_a_clock_past_60(text: str, option: str) -> None:
    """Refuse ``1:70`` (read as 130 s) and ``1:75:00``: a clock's seconds, and its minutes
    after hours, count to 59, so such a value is a typo, not a duration."""
    clock = _CLOCK.match(text)
    if clock is None:
        return
    hours, minutes, seconds = clock.groups()
    if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        part = "seconds" if float(seconds) >= 60 else "minutes"
        raise ValueError(f"{option} {text.strip()!r}: the {part} of a clock time ([h:]mm:ss) "
                         f"count to 59; write e.g. 1:30 for 90 seconds, 1:30:00 for 90 minutes, "
                         f"or units (130s, 90m)")


def _duration_seconds(text: str) -> float | None:
    """The seconds ``text`` spells, or None when it is no duration."""
    clock = _CLOCK.match(text)
    if clock is not None:
        hours, minutes, seconds = clock.groups()
        return float(hours or 0) * 3600 + float(minutes) * 60 + float(seconds)
    total, position, units = 0.0, 0, []
    while position < len(text) and text[position:].strip():
        part = _DURATION_PART.match(text, position)
        if part is None or part.end() == position or part.group(2).lower() not in _UNITS:
            return None
        unit = _UNITS[part.group(2).lower()]
        if units and unit >= units[-1]:  # "30m 1h", "5 5": not a duration
            return None
        units.append(unit)
        total += float(part.group(1)) * unit
        position = part.end()
    return total if units else None


def _check_int(name: str, value: Any, lo: int, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} is {value!r}, but must be an integer >= {lo}")
    return int(value)


_OPTION_DICTS = ("scheduler_options", "searcher_options", "executor_options")
#: what an option left out (``None``) means in a new study; a resumed one takes the stored one
_DEFAULTS = {"scheduler": "auto", "searcher": "auto", "resource": "epoch"}
DEFAULT_RESOURCE = _DEFAULTS["resource"]
DEFAULT_SCHEDULER = _DEFAULTS["scheduler"]


@dataclass(frozen=True)
class StudyOptions:
    """Everything a study is configured with (see the README's option table).

    ``scheduler``/``searcher``/``executor``/``storage`` are names (or locations) or ready
    objects; ``executor`` may also be a ``distributed.Client`` (trials run on its cluster). ``validated()`` returns a copy with ``mode`` settled (inferred from the metric's
    name when possible) and the default budget filled in.

    ``points_to_evaluate``: configurations (possibly partial) to run first, in order;
    ``warm_start``: a stored study (its name in ``storage``, a ``Study`` or a
    ``StudyRecord``) whose results the searcher learns from before the first proposal;
    ``keep_checkpoints``: keep every trial's checkpoint (not only those of the best and the
    unfinished trials); ``keep_namespaces``: how many of the best trials' variables are kept
    for ``study.apply`` (in the kernel with threads; in each worker with processes and Dask,
    whose best trial's come back when the study ends).

    ``None`` for ``scheduler``/``searcher`` (``"auto"``), their options (none), ``resource``
    (``"epoch"``), ``mode`` and ``seed`` means "not given": a resumed study takes those from
    its stored settings (``resumed_from``), a new one the defaults (``validated``).
    """

    metric: str
    mode: str | None = None
    trials: int | None = None
    time_limit: float | str | None = None
    scheduler: str | Scheduler | None = None
    scheduler_options: Mapping[str, Any] | None = None
    searcher: str | Searcher | None = None
    searcher_options: Mapping[str, Any] | None = None
    seed: int | None = None
    workers: int | None = None
    executor: str | Executor = "thread"
    executor_options: Mapping[str, Any] | None = field(default_factory=dict)
    gpus_per_trial: float | None = None
    cpus_per_trial: float | None = None
    resource: str | None = None
    name: str | None = None
    storage: str | BaseStorage | None = None
    resume: bool = False
    capture_output: bool = False
    max_initial_failures: int = 3
    points_to_evaluate: Sequence[Mapping[str, Any]] = ()
    warm_start: Any = None
    keep_checkpoints: bool = False
    keep_namespaces: int = DEFAULT_KEEP_NAMESPACES

    @property
    def direction(self) -> Direction:
        if self.mode is None:
            raise ValueError(f"cannot tell whether to minimise or maximise {self.metric!r}: "
                             f"pass mode='min' or mode='max'")
        return Direction.of(self.mode)

    def validated(self) -> StudyOptions:
        """A checked copy: a ValueError naming the value and the rule for anything wrong."""
        unset = {key: {} for key in _OPTION_DICTS if getattr(self, key) is None}
        unset.update({key: value for key, value in _DEFAULTS.items()
                      if getattr(self, key) is None})
        if unset:  # None, the usual "no options" of a keyword argument: the defaults
            return replace(self, **unset).validated()
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise ValueError(f"metric is {self.metric!r}, but must be the name of a reported "
                             f"value, e.g. 'val_acc'")
        if isinstance(self.resource, Mapping) and {"num_cpus", "num_gpus"} & set(self.resource):
            given = {"num_cpus": "cpus_per_trial", "num_gpus": "gpus_per_trial"}
            ours = ", ".join(f"{given[k]}={v!r}" for k, v in self.resource.items() if k in given)
            raise ValueError(f"resource is {self.resource!r}, AutoGluon's resources per trial: "
                             f"here write {ours}; resource names the reported value that "
                             f"counts the training's progress, e.g. 'epoch'")
        if not isinstance(self.resource, str) or not self.resource.strip():
            raise ValueError(f"resource is {self.resource!r}, but must be the name of the "
                             f"reported resource, e.g. 'epoch'")
        if self.metric == self.resource:
            raise ValueError(f"the metric and the resource are both {self.metric!r}: report the "
                             f"metric under another name")
        mode = self.mode if self.mode is not None else infer_mode(self.metric)
        direction = replace(self, mode=mode).direction
        trials = _check_int("trials", self.trials, 1)
        time_limit = None if self.time_limit is None else parse_duration(self.time_limit)
        try:
            _check_int("workers", self.workers, 1)
        except ValueError as exc:
            if isinstance(self.workers, int) and self.workers < 0:  # joblib's n_jobs=-1
                raise ValueError(f"{exc} (-1 for every CPU is joblib's and Optuna's n_jobs "
                                 f"convention; here give the number of trials to run at "
                                 f"once, e.g. {os.cpu_count() or 1}, this machine's CPU "
                                 f"count)") from None
            raise
        _check_int("seed", self.seed, 0)
        _check_int("max_initial_failures", self.max_initial_failures, 1, allow_none=False)
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()
                                      or not self.name.isprintable() or len(self.name) > 200):
            raise ValueError(f"name is {self.name!r}, but must be a non-empty printable string "
                             f"of at most 200 characters")
        if self.resume and not self.name:
            raise ValueError("resume=True needs the name of the study to continue (`%hpo list` "
                             "shows the stored ones)")
        if isinstance(self.storage, str) and not self.storage.strip():
            raise ValueError(f"storage is {self.storage!r}: pass the file to keep the study in "
                             f"(storage='runs.db'), or storage=None (or 'none') to keep "
                             f"nothing; an empty value, such as an unset environment variable's,"
                             f" kept nothing without a word")
        for what in _OPTION_DICTS:
            if not isinstance(getattr(self, what), Mapping):
                raise ValueError(f"{what} is {getattr(self, what)!r}, but must be a dict")  # noqa: TRY004
        self._check_components()
        points = self.points_to_evaluate
        if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Sequence) \
                or not all(isinstance(p, Mapping) for p in points):
            raise ValueError(f"points_to_evaluate is {points!r}, but must be a list of dicts of "
                             f"hyperparameter values, e.g. [{{'lr': 0.01}}]")
        if not isinstance(self.keep_checkpoints, bool):
            raise ValueError(f"keep_checkpoints is {self.keep_checkpoints!r}, but must be True "  # noqa: TRY004
                             f"or False")
        _check_int("keep_namespaces", self.keep_namespaces, 0, allow_none=False)
        if isinstance(self.warm_start, str) and not self.warm_start.strip():
            raise ValueError("warm_start is '', but must name a stored study")
        if trials is None and time_limit is None and self.searcher != "grid":
            trials = DEFAULT_TRIALS
        return replace(self, mode=direction.value, trials=trials, time_limit=time_limit,
                       name=self.name.strip() if self.name else None,
                       points_to_evaluate=tuple(dict(p) for p in points))

    def _check_components(self) -> None:
        """Refuse a scheduler, searcher or executor that is neither a name nor an object of
        its kind (a class instead of an instance, a number), and options or a searcher given
        beside a scheduler object, which holds its own."""
        from .executors import EXECUTORS, Executor
        from .executors._dask_cluster import is_dask_client
        from .schedulers import SCHEDULERS, Scheduler
        from .searchers import SEARCHERS, Searcher

        kinds = (("scheduler", Scheduler, SCHEDULERS), ("searcher", Searcher, SEARCHERS),
                 ("executor", Executor, EXECUTORS))
        for what, base, names in kinds:
            value = getattr(self, what)
            if isinstance(value, (str, base)) or what == "executor" and is_dask_client(value):
                continue
            if isinstance(value, type) and issubclass(value, base):
                raise ValueError(f"{what} is the class {value.__name__}, but must be a name or "  # noqa: TRY004
                                 f"an object: pass {value.__name__}(...)")
            article = "an" if base.__name__[0] in "AEIOU" else "a"
            cluster = (" (a Dask cluster: pass a client of it, executor=Client(cluster); the "
                       "study closes neither)") if what == "executor" \
                and hasattr(value, "scheduler_address") else ""
            raise ValueError(f"{what} is {value!r} ({type(value).__name__}), but must be one of "
                             f"{', '.join(repr(n) for n in names)} or {article} {base.__name__} "
                             f"object{cluster}")
        if isinstance(self.scheduler, Scheduler):
            name = type(self.scheduler).__name__
            if self.scheduler_options:
                raise ValueError(f"scheduler_options given with a scheduler object ({name}); "
                                 f"pass them to its constructor instead")
            if self.searcher != "auto" and self.searcher is not self.scheduler.searcher:
                raise ValueError(f"searcher given with a scheduler object ({name}), which holds "
                                 f"its own searcher: pass the searcher to the scheduler's "
                                 f"constructor instead")
            if self.searcher_options:
                raise ValueError(f"searcher_options given with a scheduler object ({name}); "
                                 f"pass them to its searcher's constructor instead")

    def settings(self) -> dict[str, Any]:
        """What storage keeps of the options (names of objects, not the objects)."""
        data = {k: getattr(self, k) for k in ("trials", "time_limit", "seed", "workers",
                                               "gpus_per_trial", "cpus_per_trial",
                                               "keep_checkpoints", "keep_namespaces")}
        if self.warm_start is not None:
            data["warm_start"] = self.warm_start if isinstance(self.warm_start, str) \
                else getattr(self.warm_start, "name", repr(self.warm_start))
        for key in ("scheduler_options", "searcher_options", "executor_options"):
            data[key] = dict(getattr(self, key))
        for key in ("scheduler", "searcher", "executor"):
            value = getattr(self, key)
            data[key] = value if isinstance(value, str) else _component_name(value)
        return data

    def resumed_from(self, stored: Any) -> tuple[StudyOptions, list[str]]:
        """These options for resuming ``stored`` (a ``StudyRecord`` or ``StudySummary``): the
        study goes on as it ran, so what was left out (``None``) comes from its stored
        settings: the scheduler and searcher, their options, the seed, the mode and the
        resource. Options of the scheduler (searcher) that is stored are merged with those
        given, key by key (those given win); another scheduler (searcher) than the stored one
        starts from its own defaults. Returns the options and what was taken, for the
        study's note (empty when nothing but defaults was)."""
        from .schedulers import SCHEDULERS
        from .searchers import SEARCHERS

        settings, taken, changes = stored.settings, [], {}
        if self.resource is None:
            changes["resource"] = stored.resource
        if self.mode is None and self.metric == stored.metric:
            changes["mode"] = stored.direction.value
        if self.seed is None and settings.get("seed") is not None:
            changes["seed"] = settings["seed"]
            taken.append(f"seed {settings['seed']}")
        for kind, known in (("scheduler", SCHEDULERS), ("searcher", SEARCHERS)):
            if kind == "searcher" and not isinstance(self.scheduler, (str, type(None))):
                break  # a scheduler object holds its own searcher
            name, before = getattr(self, kind), settings.get(kind)
            if name is None and isinstance(before, str) and before in known:
                name = changes[kind] = before
                if before != "auto":
                    taken.append(f"{kind} {before!r}")
            key = f"{kind}_options"
            given, stored_options = getattr(self, key), settings.get(key) or {}
            if name is None or name != before or not isinstance(stored_options, Mapping):
                continue
            merged = {**stored_options, **(given or {})}
            kept = {k: v for k, v in stored_options.items() if k not in (given or {})}
            if kept:
                words = ", ".join(f"{k}={v!r}" for k, v in kept.items())
                taken.append(f"{kind} options {words}")
            changes[key] = merged
        return replace(self, **changes), taken

    # ------------------------------------------------------------ components
    def make_scheduler(self, space: Space) -> Scheduler:
        """The scheduler with its searcher (each checks its own options)."""
        from .schedulers import make_scheduler
        from .searchers import make_searcher

        direction = self.direction
        if not isinstance(self.scheduler, str):
            return self.scheduler
        _check_option_names(self.scheduler, self.searcher, self.scheduler_options,
                            self.searcher_options)
        searcher = make_searcher(self.searcher, space, self.metric, direction.value, self.seed,
                                 **dict(self.searcher_options))
        options = dict(self.scheduler_options)
        if self.seed is not None and "seed" in _scheduler_options(self.scheduler):
            options.setdefault("seed", self.seed)
        return make_scheduler(self.scheduler, searcher, self.metric, direction.value,
                              self.resource, **options)

    def make_executor(self) -> Executor:
        """The executor, with one slot per concurrent trial."""
        from .executors import make_executor
        from .executors._dask_cluster import is_dask_client
        from .resources import plan_slots

        if is_dask_client(self.executor) or self.executor == "dask":
            # The cluster's workers hold the GPUs and CPUs: the executor maps the options to
            # Dask worker resources (and plans local slots only for a cluster it starts).
            options = dict(self.executor_options)
            if is_dask_client(self.executor):
                options["client"] = self.executor
            return make_executor("dask", workers=self.workers, capture_output=True,
                                 gpus_per_trial=self.gpus_per_trial,
                                 cpus_per_trial=self.cpus_per_trial, **options)
        if not isinstance(self.executor, str):
            if self.executor_options:
                raise ValueError("executor_options given with an executor object; pass them to "
                                 "its constructor instead")
            return self.executor
        slots = plan_slots(self.workers, self.gpus_per_trial, self.cpus_per_trial)
        return make_executor(self.executor, slots=slots, capture_output=self.capture_output,
                             **dict(self.executor_options))

    def slots_note(self, executor: Executor) -> str | None:
        """Why ``executor`` runs fewer trials at once than asked (this machine's CPUs or GPUs),
        for the study's notes; None for a cluster's or a user's own executor."""
        from .resources import slots_note

        if not isinstance(self.executor, str) \
                or self.executor == "dask" and not getattr(executor, "owns_cluster", False):
            return None
        note = slots_note(self.workers, self.gpus_per_trial, self.cpus_per_trial,
                          executor.workers)
        cpus = os.cpu_count() or 1
        if note is None and self.executor == "process" and not self.gpus_per_trial \
                and executor.workers > 2 * cpus:
            note = (f"--workers {executor.workers}: {executor.workers} worker processes on the "
                    f"{cpus} CPUs of this machine, each with its own Python and libraries in "
                    f"memory; trials that compute share the CPUs, so they take longer each "
                    f"(--cpus-per-trial 1 runs as many at once as there are CPUs)")
        return note


def _check_option_names(scheduler: str, searcher: Any, scheduler_options: Mapping[str, Any],
                        searcher_options: Mapping[str, Any]) -> None:
    """The scheduler's and searcher's own checks of their option names, before the options
    are passed on as keywords (where ``seed`` or ``resource`` collide with arguments)."""
    from .schedulers import scheduler_class
    from .searchers import searcher_class

    scheduler_class(scheduler, scheduler_options)
    if isinstance(searcher, str):
        searcher_class(searcher, searcher_options)
    elif searcher_options:
        raise ValueError(f"searcher options {sorted(searcher_options)} given with a searcher "
                         f"object; pass them to its constructor instead")


def _component_name(value: Any) -> str:
    """What storage keeps of an object option: ``dask`` for a Dask client, else its class."""
    from .executors._dask_cluster import is_dask_client

    return "dask" if is_dask_client(value) else type(value).__name__


def _scheduler_options(name: str) -> tuple[str, ...]:
    from .schedulers import SCHEDULERS

    cls = SCHEDULERS.get(name)
    return tuple(getattr(cls, "OPTIONS", ())) if cls is not None else ()


def check_keywords(options: Mapping[str, Any], caller: str) -> None:
    """A TypeError naming an option of ``caller`` (``tune()``, ``Study()``) that is no field of
    :class:`StudyOptions`, with the nearest known one (a typo, another library's name)."""
    from .other_names import ARGUMENT_NAMES, OPTION_NAMES

    known = [f.name for f in fields(StudyOptions)]
    for name in options:
        if name in ARGUMENT_NAMES and name not in known:  # not "did you mean keep_namespaces?"
            whose, ours = ARGUMENT_NAMES[name]
            what = "the search space, its second argument" if ours == "space" else \
                "the function to optimise, its first argument"
            raise TypeError(f"{caller} got {name}=...{f' ({whose} name)' if whose else ''}, "
                            f"which it takes as {what}: write {caller[:-1]}fn, "
                            f"{{'lr': Real(1e-4, 1e-1, log=True)}}, metric=..., ...)")
        if name not in known:
            hint = _component_option(name, options)
            whose, ours = OPTION_NAMES.get(name, ("", ""))
            meant = _component_option(ours, options) or (
                f"did you mean {ours}=...? " if ours in known else "") if ours else ""
            if not hint and meant:  # another library's name: n_jobs, timeout, eta, ...
                hint = (f"{name} is {whose} name: " if whose else f"{name} means {ours}: ") \
                    + meant
            if not hint:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {near[0]}=...? " if near else ""
            raise TypeError(f"{caller} got an unknown option {name}=...; {hint}its options are "
                            f"{', '.join(known)}")


def _component_option(name: str, options: Mapping[str, Any]) -> str:
    """Where an option of a scheduler, an executor or the chosen searcher goes
    (``max_t=27`` is ``scheduler_options={"max_t": 27}``); empty if it is none of those."""
    from .executors import EXECUTORS
    from .schedulers import SCHEDULERS
    from .searchers import searcher_class

    for kind, classes in (("scheduler", SCHEDULERS.values()), ("executor", EXECUTORS.values())):
        if any(name in cls.OPTIONS for cls in classes):
            article = "an" if kind == "executor" else "a"
            return f"{name} is {article} {kind} option: pass {kind}_options={{{name!r}: ...}}; "
    searcher = options.get("searcher") or "auto"
    try:
        in_searcher = isinstance(searcher, str) and name in searcher_class(searcher).OPTIONS
    except (ImportError, ValueError):
        in_searcher = False
    if in_searcher:
        return (f"{name} is an option of the {searcher} searcher: pass "
                f"searcher_options={{{name!r}: ...}}; ")
    return ""


def missing_metric(caller: str) -> str:
    """What ``caller`` (``tune()``, ``Study()``) says when it is given no metric."""
    return (f"{caller} needs metric=..., the name of the value to optimise that fn reports or "
            f"returns (e.g. metric='val_acc')")
