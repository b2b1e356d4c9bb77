"""The ``%%hpo`` cell magic and the ``%hpo`` line magic: text in, a study out, and display.

The magic only parses its command line and the cell into :class:`StudyOptions` (the study
checks them) and shows what happens; everything else is the Python API's. Heavy modules
(numpy, pandas, the study) are imported when a study runs, so ``%load_ext`` stays fast.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .errors import HPOError, HPOSyntaxError
from .options import DEFAULT_TRIALS, StudyOptions, infer_mode, parse_duration
from .records import StudyState

if TYPE_CHECKING:
    from .annotate import CellTemplate
    from .storage import BaseStorage
    from .study import Study

__all__ = ["HPOMagics", "export", "parse_duration", "parse_option_value"]

EXPORT_FORMATS = (".csv", ".parquet", ".json")
_SCHEDULER_FLAGS = {"type": "type", "grace_period": "grace-period",
                    "reduction_factor": "reduction-factor", "brackets": "brackets",
                    "max_t": "max-t"}
_STUDY_FLAGS = ("workers", "trials", "time_limit", "seed", "cpus_per_trial", "gpus_per_trial",
                "trial_timeout", "name", "resource", "metric", "keep_namespaces", "warm_start")


def parse_option_value(text: str) -> Any:
    """``--searcher-opt`` values: Python literals where they parse, else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _cli(message: str) -> str:
    """An options error in the magic's own spelling: ``workers is 0`` -> ``--workers is 0``."""
    for key in (*_STUDY_FLAGS, *_SCHEDULER_FLAGS):
        flag = "--" + key.replace("_", "-")
        message = re.sub(rf"(?<![\w-]){key}(?= is | only appl| needs |, )", flag, message)
    message = re.sub(r"the (\w+) and (\w+) schedulers", r"--scheduler \1 and \2", message)
    return re.sub(r"the (\w+) scheduler", r"--scheduler \1", message)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Callable[[], bool]]:
    """Keep SIGINT (the kernel's interrupt) from raising inside the block; yields a function
    that says whether one came. Outside the main thread it defers nothing."""
    received = threading.Event()

    def keep(signum: int, frame: Any) -> None:
        received.set()

    try:
        previous = signal.signal(signal.SIGINT, keep)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield received.is_set
        return
    try:
        yield received.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Run:
    """A study started by the magic, with how it should end."""

    study: Study
    dashboard: Any
    apply: bool
    out_name: str


@magics_class
class HPOMagics(Magics):
    """``%%hpo`` runs the cell as a hyperparameter study; ``%hpo`` manages studies."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.runs: dict[str, _Run] = {}

    # ------------------------------------------------------------------ %%hpo
    @magic_arguments()
    @argument("--metric", help="reported value to optimise (inferred when the cell reports "
                               "one metric)")
    @argument("--mode", choices=["min", "max"], help="minimise or maximise the metric (inferred "
                                                      "for names like *loss*, *err* -> min, "
                                                      "*acc*, *auc*, *f1*, *score* -> max)")
    @argument("--trials", type=int, help=f"number of trials (default {DEFAULT_TRIALS}, the "
                                         f"whole grid for --searcher grid)")
    @argument("--time-limit", help="stop the study after this long: 90, 90s, 30m, 1h30m")
    @argument("--scheduler", choices=["auto", "fifo", "hyperband"], default="auto",
              help="auto (default) stops poor trials where early epochs predict the final "
                   "result, as measured while the study runs; fifo runs every trial to the "
                   "end; hyperband stops or pauses poor trials")
    @argument("--type", choices=["stopping", "promotion"],
              help="hyperband variant (default stopping)")
    @argument("--grace-period", type=float, help="hyperband: first rung (default 1)")
    @argument("--reduction-factor", type=float, help="hyperband: eta (default 3)")
    @argument("--brackets", type=int, help="hyperband: number of brackets (default 1)")
    @argument("--max-t", type=float, help="hyperband: maximum resource (default: `epochs = N` "
                                          "in the cell)")
    @argument("--resource", default="epoch", help="resource key in report() (default epoch)")
    @argument("--searcher", default="auto",
              help="auto (default: bayesopt), random, grid, skopt, tpe, bayesopt, bohb or rl")
    @argument("--searcher-opt", action="append", default=[], metavar="KEY=VALUE",
              help="searcher option, repeatable (e.g. grid: points=5; skopt: "
                   "base_estimator=ET, acq_func=LCB; bayesopt: kernel=exp-decay-sum)")
    @argument("--seed", type=int, help="seed for searcher and scheduler")
    @argument("--workers", type=int, help="concurrent trials (default 1, or one per GPU slot "
                                          "with --gpus-per-trial)")
    @argument("--executor", choices=["thread", "process", "dask"], default="thread",
              help="where trials run: threads of the kernel (default), worker processes, or "
                   "tasks on a Dask cluster (a LocalCluster of --workers processes without "
                   "--address)")
    @argument("--trial-timeout", help="process executor: fail a trial that runs longer than "
                                      "this (90, 90s, 30m, 1h)")
    @argument("--address", help="dask executor: the scheduler of an existing cluster "
                                "(tcp://host:8786), or the name of a distributed.Client in the "
                                "notebook")
    @argument("--gpus-per-trial", type=float, help="GPUs per trial: 1, 2, ... or a fraction "
                                                   "0.5, 0.25 that packs trials onto a GPU")
    @argument("--cpus-per-trial", type=float, help="CPU threads per trial (caps concurrent "
                                                   "trials at CPUs / this)")
    @argument("--name", help="study name (default study-N, the first N free in the storage)")
    @argument("--storage", help="SQLite file that keeps the study (default jupyter_hpo.db in the "
                                "working directory, or $JUPYTER_HPO_STORAGE; `none`: keep "
                                "nothing)")
    @argument("--resume", action="store_true",
              help="continue the stored study --name (after a kernel restart or crash)")
    @argument("--enqueue", action="append", default=[], metavar="CONFIG",
              help="a configuration to run first, as a dict, e.g. '{\"lr\": 0.01}' "
                   "(repeatable; missing hyperparameters are filled in by the searcher)")
    @argument("--warm-start", metavar="NAME",
              help="a stored study whose results the searcher learns from first (not counted "
                   "in the budget)")
    @argument("--keep-checkpoints", action="store_true",
              help="keep every trial's checkpoint (default: only the best trials' and those "
                   "of unfinished trials)")
    @argument("--keep-namespaces", type=int, metavar="K",
              help="keep the variables of the K best trials for %%hpo apply --trial "
                   "(thread executor; default 3)")
    @argument("--background", action="store_true", help="return at once; %%hpo wait joins")
    @argument("-o", dest="output", default="_hpo",
              help="variable that receives the Study (default _hpo)")
    @argument("--no-apply", action="store_true",
              help="do not put the best trial's variables into the notebook")
    @argument("--quiet", action="store_true", help="no dashboard")
    @cell_magic
    def hpo(self, line: str, cell: str) -> None:
        """Run the cell as a hyperparameter study.

        Mark hyperparameters inline: ``lr = Real(1e-4, 1e-1, log=True)``, ``units=Int(16,
        256)``, ``Categorical("relu", "tanh")``, ``Bool()``, or ``lr = 1e-3  # hpo: Real(...)``.
        Inside the cell, ``report(epoch=..., val_acc=...)`` sends metrics, and ``trial``,
        ``config`` and ``device`` are defined. When the study ends the best trial's variables
        are in the notebook and the Study is in ``_hpo``.
        """
        args = parse_argstring(self.hpo, line)
        if not args.output.isidentifier():
            raise UsageError(f"-o {args.output!r} is not a valid variable name")
        if args.name is not None and args.name in self.runs \
                and not self.runs[args.name].study.done:
            raise UsageError(f"a study named {args.name!r} is still running: stop it with "
                             f"`%hpo stop {args.name}` or pick another --name")
        source = self.shell.transform_cell(cell) if self.shell else cell
        # Setting up (imports, storage, the dashboard) is not interrupted half-way: an
        # interrupt meanwhile is kept and acted on once the study is in a consistent state.
        with deferred_interrupts() as interrupted:
            template = self._parse(source)
            study = self._build_study(args, template)
            run = _Run(study, None, not args.no_apply, args.output)
            self.runs.pop(study.name, None)  # the latest study is the last entry
            self.runs[study.name] = run
            self.shell.user_ns[args.output] = study
            try:
                if not args.quiet and not interrupted():
                    from .widgets.dashboard import Dashboard

                    run.dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study),
                                              header=lambda: self._header(study, args))
                    run.dashboard.display()
                if not interrupted():
                    study.start()
            except BaseException:
                self._abandon(run)  # e.g. a display error: nothing is left half-started
                raise
        if interrupted():
            if study.state is StudyState.CREATED:
                self._abandon(run)
                raise KeyboardInterrupt
            self._join(run, interrupted=True)
            return
        if args.background:
            if run.dashboard is not None:
                run.dashboard.start_background_refresh()
            print(f"jupyter_hpo: {study.name} runs in the background; `%hpo wait "
                  f"{study.name}` joins it, `%hpo stop {study.name}` stops it")
            return
        self._join(run)

    def _parse(self, source: str) -> CellTemplate:
        from .annotate import parse_cell

        filename = "<hpo-cell>"
        try:
            filename = self.shell.compile.cache(source)
        except (AttributeError, TypeError):
            pass
        try:
            return parse_cell(source, self.shell.user_ns, filename)
        except HPOSyntaxError as exc:
            raise UsageError(f"HPOSyntaxError at {exc}") from None

    def _metric_and_mode(self, args: Any, template: CellTemplate) -> tuple[str, str | None]:
        """The metric and mode from the options or, where they are missing, from the cell."""
        if not template.annotations:
            raise UsageError("the cell has no hyperparameters: mark them inline, e.g. "
                             "`lr = Real(1e-4, 1e-1, log=True)` or `lr = 1e-3  # hpo: Real(...)`")
        keys = [k for k in template.reported_keys if k != args.resource]
        metric = args.metric
        if metric is None:
            if not template.calls_report:
                raise UsageError("the cell never calls report(): pass --metric NAME (the "
                                 "variable or last expression that holds the result) and --mode")
            if len(keys) != 1:
                raise UsageError(f"the cell reports {', '.join(keys) or 'no metric'}: pick the "
                                 f"one to optimise with --metric")
            metric = keys[0]
        elif template.calls_report and template.reported_keys and metric not in keys:
            raise UsageError(f"--metric {metric} is not among the values the cell reports "
                             f"({', '.join(keys)})")
        mode = args.mode
        if mode is None:
            mode = infer_mode(metric)
            if mode is None:
                raise UsageError(f"cannot tell whether to minimise or maximise {metric!r}: "
                                 f"pass --mode min or --mode max")
            print(f"jupyter_hpo: {'maximising' if mode == 'max' else 'minimising'} {metric} "
                  f"(--mode {mode} inferred from its name)")
        return metric, mode

    def _options(self, args: Any, template: CellTemplate) -> StudyOptions:
        """The study's options from the command line and the cell."""
        from .schedulers import SCHEDULERS
        from .storage import open_storage

        metric, mode = self._metric_and_mode(args, template)
        scheduler_class = SCHEDULERS[args.scheduler]
        if getattr(scheduler_class, "needs_resource", False):
            if not template.calls_report:
                raise UsageError(f"{args.scheduler} stops trials at report() calls, but the cell "
                                 f"never calls report(): add report(epoch=..., metric=...) to "
                                 f"the training loop or use --scheduler fifo")
            if template.reported_keys and args.resource not in template.reported_keys:
                raise UsageError(f"{args.scheduler} needs the resource {args.resource!r} in "
                                 f"report(), but the cell reports "
                                 f"{', '.join(template.reported_keys)}: add {args.resource}=... "
                                 f"or pass --resource NAME")
        scheduler_options = {key: getattr(args, key) for key in _SCHEDULER_FLAGS
                             if getattr(args, key) is not None}
        reports_resource = template.calls_report and (not template.reported_keys
                                                      or args.resource in template.reported_keys)
        if "max_t" not in scheduler_options and template.max_t is not None \
                and "max_t" in getattr(scheduler_class, "OPTIONS", ("max_t",)) \
                and (getattr(scheduler_class, "needs_resource", False) or reports_resource):
            scheduler_options["max_t"] = template.max_t
        searcher_options = {}
        for opt in args.searcher_opt:
            if "=" not in opt:
                raise UsageError(f"--searcher-opt {opt!r} must look like KEY=VALUE, "
                                 f"e.g. points=5")
            key, value = opt.split("=", 1)
            searcher_options[key.strip().replace("-", "_")] = parse_option_value(value.strip())
        executor_options: dict[str, Any] = {}
        executor: Any = args.executor
        if args.address is not None and args.executor != "dask":
            raise UsageError(f"--address applies to --executor dask, but the executor is "
                             f"{args.executor}: add --executor dask")
        try:
            if args.address is not None:
                cluster = self._cluster(args.address)
                if isinstance(cluster, str):
                    executor_options["address"] = cluster
                else:
                    executor = cluster  # a distributed.Client: trials run on its cluster
            if args.trial_timeout is not None:
                executor_options["trial_timeout"] = parse_duration(args.trial_timeout,
                                                                   "--trial-timeout")
            time_limit = parse_duration(args.time_limit, "--time-limit") \
                if args.time_limit is not None else None
            storage = open_storage(args.storage)
        except (ValueError, HPOError) as exc:
            raise UsageError(_cli(str(exc))) from None
        if args.resume and not args.name:
            raise UsageError("--resume needs --name NAME: the study to continue (`%hpo list` "
                             "shows the stored ones)")
        if args.resume and storage is None:
            raise UsageError("--resume needs a storage file, but --storage is none")
        if args.warm_start and storage is None:
            raise UsageError("--warm-start reads a stored study, but --storage is none")
        points = [_enqueued(text) for text in args.enqueue]
        extra: dict[str, Any] = {}
        if args.keep_namespaces is not None:
            extra["keep_namespaces"] = args.keep_namespaces
        return StudyOptions(
            metric=metric, mode=mode, trials=args.trials, time_limit=time_limit,
            scheduler=args.scheduler, scheduler_options=scheduler_options,
            searcher=args.searcher, searcher_options=searcher_options, seed=args.seed,
            workers=args.workers, executor=executor, executor_options=executor_options,
            gpus_per_trial=args.gpus_per_trial, cpus_per_trial=args.cpus_per_trial,
            resource=args.resource, name=args.name, storage=storage, resume=args.resume,
            capture_output=True, points_to_evaluate=points, warm_start=args.warm_start,
            keep_checkpoints=args.keep_checkpoints, **extra)

    def _cluster(self, address: str) -> Any:
        """``--address``: a scheduler address (returned as it is), or the name of a
        ``distributed.Client`` in the notebook (the client is returned)."""
        from .executors._dask_cluster import is_dask_client

        value = self.shell.user_ns.get(address) if address.isidentifier() else None
        if value is not None:
            if not is_dask_client(value):
                raise ValueError(f"--address {address} names a {type(value).__name__}, but must "
                                 f"be a scheduler address (tcp://host:8786) or a "
                                 f"distributed.Client")
            return value
        return address

    def _build_study(self, args: Any, template: CellTemplate) -> Study:
        from .objective import CellObjective
        from .study import Study

        options = self._options(args, template)
        try:
            objective = CellObjective(template, self.shell.user_ns, options.metric)
            if args.executor in ("process", "dask"):
                objective = objective.for_process()  # fails now if a variable cannot pickle
            study = Study(objective, template.space, options)
        except (ValueError, HPOError) as exc:
            raise UsageError(_cli(str(exc))) from None
        for note in study.notes:
            print(f"jupyter_hpo: {note}")
        return study

    @staticmethod
    def _header(study: Study, args: Any) -> str:
        scheduler = study.scheduler
        describe = getattr(scheduler, "describe", None)
        text = describe() if callable(describe) else args.scheduler
        budget = []
        if study.budget is not None:
            budget.append(f"{study.budget} trials")
        if study.time_limit is not None:
            budget.append(f"{study.time_limit:g}s")
        searcher = scheduler.searcher.describe() if hasattr(scheduler, "searcher") \
            else f"{args.searcher} search"
        return f"{text} · {searcher} · budget {' / '.join(budget) or 'grid'}"

    @staticmethod
    def _abandon(run: _Run) -> None:
        """End a study that could not start: nothing is left stored as running."""
        run.study.stop("interrupted before it started", force=True)
        run.study.wait(5)
        if run.dashboard is not None:
            run.dashboard.finish()

    # ---------------------------------------------------------------- joining
    def _join(self, run: _Run, interrupted: bool = False) -> None:
        """Block until the study ends, serving dashboard buttons; Ctrl-C stops it gracefully,
        a second Ctrl-C at once (``interrupted``: the first one came already)."""
        study = run.study
        try:
            if interrupted:
                raise KeyboardInterrupt
            self._block(run)
        except KeyboardInterrupt:
            interrupted = True
            study.stop("interrupted")
            print(f"jupyter_hpo: interrupted; stopping {study.name} (running trials stop at "
                  f"their next report; interrupt again to force)")
            try:
                self._block(run)
            except KeyboardInterrupt:
                study.stop("interrupted twice", force=True)
                study.wait(5)
        with deferred_interrupts() as interrupted_again:  # the final drawing, uncut
            self._conclude(run)
        if interrupted or interrupted_again():
            raise KeyboardInterrupt
        if study.error is not None:
            raise UsageError(f"StudyFailedError: {study.error}")

    def _block(self, run: _Run) -> None:
        from .widgets.kernel_poll import serving_ui_events

        with serving_ui_events() as poll:
            while not run.study.done:
                poll(0.05)  # an interrupt lands here, or in the wait below
                if run.dashboard is not None:
                    with deferred_interrupts() as interrupted:  # drawing may import
                        run.dashboard.refresh()                # matplotlib: never cut it
                    if interrupted():
                        raise KeyboardInterrupt
        run.study.wait()  # the study is stored

    def _conclude(self, run: _Run) -> None:
        study = run.study
        if run.dashboard is not None:
            run.dashboard.finish()
        self.shell.user_ns[run.out_name] = study
        message = self._apply(study) if run.apply else None
        if run.dashboard is not None:
            run.dashboard.show_summary()
        if message:
            print(f"jupyter_hpo: {message}")

    def _apply(self, study: Study, trial_id: int | None = None) -> str:
        """Put a trial's variables (the best's by default) into the notebook; say what."""
        from .applying import apply_trial

        try:
            return apply_trial(study, trial_id, self.shell.user_ns)
        except HPOError as exc:
            raise UsageError(str(exc)) from None

    # ------------------------------------------------------------------- %hpo
    @magic_arguments()
    @argument("command", choices=["list", "show", "stop", "best", "apply", "wait", "plot",
                                  "export", "delete"], help="what to do")
    @argument("args", nargs="*", help="show/stop/best/apply/wait/delete [NAME]; plot KIND "
                                      "[NAME]; export [NAME] FILE (.csv, .parquet or .json)")
    @argument("--trial", type=int, help="with stop: stop only this trial; with apply: apply "
                                        "this trial instead of the best")
    @argument("--storage", help="SQLite file to read (default: jupyter_hpo.db in the working "
                                "directory, or $JUPYTER_HPO_STORAGE)")
    @line_magic("hpo")
    def hpo_line(self, line: str) -> Any:
        """Manage studies: list, show, stop [--trial ID], best, apply [--trial ID], wait,
        plot KIND, export FILE, delete; a NAME picks the study (default: the latest)."""
        args = parse_argstring(self.hpo_line, line)
        try:
            return self._line_command(args)
        except HPOError as exc:
            raise UsageError(str(exc)) from None

    def _line_command(self, args: Any) -> Any:
        command, rest = args.command, list(args.args)
        if args.trial is not None and command not in ("stop", "apply"):
            raise UsageError(f"--trial only applies to %hpo stop and %hpo apply, not to "
                             f"%hpo {command}")
        if command == "list":
            if rest:
                raise UsageError(f"%hpo list takes no NAME (got {' '.join(rest)})")
            self._list(args.storage)
            return None
        if command == "plot":
            if not rest:
                from .plots import KINDS

                raise UsageError(f"%hpo plot needs a kind: {', '.join(KINDS)}")
            kind, rest = rest[0], rest[1:]
        if command == "export":
            if not rest or not rest[-1].lower().endswith(EXPORT_FORMATS):
                raise UsageError(f"%hpo export [NAME] FILE: FILE must end in "
                                 f"{', '.join(EXPORT_FORMATS)}")
            target, rest = rest[-1], rest[:-1]
        if len(rest) > 1:
            raise UsageError(f"%hpo {command}: too many arguments: {' '.join(rest)}")
        name = rest[0] if rest else None
        if command == "stop":
            self._stop(name, args.trial, args.storage)
        elif command == "wait":
            self._join(self._run(name))
        elif command == "delete":
            self._delete(name, args.storage)
        elif command == "show":
            self._show(name, args.storage)
        elif command == "best":
            self._best(self._study(name, args.storage))
        elif command == "apply":
            print(f"jupyter_hpo: {self._apply(self._study(name, args.storage), args.trial)}")
        elif command == "plot":
            from IPython.display import display

            try:
                figure = self._study(name, args.storage).plot(kind)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            display(figure)
        elif command == "export":
            study = self._study(name, args.storage)
            export(study, target)
            print(f"jupyter_hpo: wrote {len(study.trials)} trials of {study.name} to {target}")
        return None

    def _stop(self, name: str | None, trial: int | None, storage: str | None) -> None:
        """Stop a study (or one trial) of this kernel; a stored study that another kernel
        runs is asked to stop through its storage."""
        if storage is None and (name is None and self.runs or name in self.runs):
            study = self._run(name).study
            if study.done:
                print(f"jupyter_hpo: {study.name} has already ended ({study.state}); "
                      f"nothing to stop")
                return
            if trial is not None:
                if study.stop_trial(trial):
                    print(f"jupyter_hpo: trial {trial} of {study.name} stops at its next "
                          f"report")
                else:
                    print(f"jupyter_hpo: trial {trial} of {study.name} has already ended")
                return
            study.stop("stopped with %hpo stop")
            print(f"jupyter_hpo: {study.name} is stopping (running trials stop at their next "
                  f"report)")
            return
        if name is None:
            raise UsageError("no study has run in this kernel: %hpo stop NAME stops a stored "
                             "study that another kernel runs")
        if trial is not None:
            raise UsageError(f"--trial works for studies of this kernel only; {name!r} is not "
                             f"one (stop the whole study, or stop the trial in its kernel)")
        store = self._storage(storage)
        store.request_stop(name, by=f"%hpo stop in the kernel with process id {os.getpid()}")
        print(f"jupyter_hpo: asked {name} to stop through {store.location}; its kernel stops it "
              f"within a second")

    def _run(self, name: str | None) -> _Run:
        if not self.runs:
            raise UsageError("no study has run in this kernel yet: start one with %%hpo")
        if name is None:
            return list(self.runs.values())[-1]
        if name not in self.runs:
            raise UsageError(f"no study named {name!r} runs in this kernel; studies: "
                             f"{', '.join(self.runs)}")
        return self.runs[name]

    def _storage(self, location: str | None) -> BaseStorage:
        from .storage import open_storage

        store = open_storage(location)
        if store is None:
            raise UsageError("--storage none keeps nothing, so there is nothing to read")
        return store

    def _study(self, name: str | None, storage: str | None) -> Study:
        """The study ``name`` of this kernel, else the stored one (default: the latest)."""
        from .study import Study

        if storage is None and self.runs and (name is None or name in self.runs):
            return self._run(name).study
        store = self._storage(storage)
        if name is None:
            studies = store.list_studies()
            if not studies:
                raise UsageError(f"no study has run in this kernel and {store.location} holds "
                                 f"none: start one with %%hpo")
            name = max(studies, key=lambda s: s.updated).name
        return Study.load(name, store)

    def _show(self, name: str | None, storage: str | None) -> None:
        from .widgets.dashboard import Dashboard

        if storage is None and self.runs and (name is None or name in self.runs):
            run = self._run(name)
            _print_checkpoints(run.study)
            if run.dashboard is None:
                run.dashboard = Dashboard(run.study,
                                          on_apply_best=lambda: self._apply(run.study))
            run.dashboard.display()
            if run.study.done:
                run.dashboard.finish()
            else:
                run.dashboard.start_background_refresh()
            return
        study = self._study(name, storage)  # a stored study: a static dashboard
        _print_checkpoints(study)
        dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study))
        dashboard.display()
        dashboard.finish()

    def _delete(self, name: str | None, storage: str | None) -> None:
        if name is None:
            raise UsageError("%hpo delete needs the NAME of the study to delete")
        run = self.runs.get(name)
        if run is not None and not run.study.done:
            raise UsageError(f"study {name!r} is running in this kernel: stop it first with "
                             f"`%hpo stop {name}`")
        store = run.study.storage if run is not None and run.study.storage is not None \
            and storage is None else self._storage(storage)
        count = store.delete_study(name)
        self.runs.pop(name, None)
        print(f"jupyter_hpo: deleted study {name!r} and its {count} trials from "
              f"{store.location}")

    def _list(self, storage: str | None) -> None:
        """This kernel's studies, then the stored ones (with their state)."""
        lines = []
        shown = set()
        for name, run in self.runs.items():
            s = run.study
            best = "" if s.best_value is None else f", best {s.metric}={s.best_value:.6g}"
            where = f" [{s.storage.location}]" if s.storage is not None else " [not stored]"
            lines.append(f"{name}: {s.state}, {len(s.trials)} trials{best} (this kernel)"
                         f"{where}")
            if s.storage is not None:
                shown.add((s.storage.location, name))
        store = self._storage(storage)
        for stored in store.list_studies():
            if (store.location, stored.name) in shown:
                continue
            best = "" if stored.best_value is None \
                else f", best {stored.metric}={stored.best_value:.6g}"
            lines.append(f"{stored.name}: {stored.state}, {stored.trials} trials{best} "
                         f"[{store.location}]")
        print("\n".join(lines) if lines else f"no studies in this kernel or in {store.location}")

    def _best(self, study: Study) -> None:
        trial = study.best_trial
        if trial is None:
            print(f"{study.name}: no trial has reported {study.metric} yet")
            return
        print(f"{study.name}: best {study.metric}={study.best_value:.6g} "
              f"(trial {trial.trial_id}, {trial.status})")
        for key, value in trial.config.items():
            print(f"  {key} = {value!r}")


def export(study: Study, target: str) -> None:
    """Write a study's trials: CSV or Parquet (``trials_dataframe()``), or JSON with every
    trial's configuration and reports."""
    import json

    from .storage import encode_value

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


def _enqueued(text: str) -> dict[str, Any]:
    """``--enqueue`` text: a JSON object or a Python dict literal (quoted or not)."""
    import json

    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    try:
        value = json.loads(text)
    except ValueError:
        value = parse_option_value(text)
    if not isinstance(value, dict):
        raise UsageError(f"--enqueue {text!r} must be a dict of hyperparameter values, e.g. "
                         f"--enqueue '{{\"lr\": 0.01}}'")
    return value


def _print_checkpoints(study: Study) -> None:
    """The disk use of a study's checkpoints (``%hpo show``)."""
    files, size = study.checkpoint_use()
    if not files:
        return
    keep = "every trial's" if (study.settings or {}).get("keep_checkpoints") \
        else "those of unfinished trials and of the 5 best"
    print(f"jupyter_hpo: checkpoints of {study.name}: {files} file{'s' if files != 1 else ''}, "
          f"{_size(size)} in {study.checkpoint_dir} (kept: {keep})")


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"
