"""The ``%%hpo`` cell magic and the ``%hpo`` line magic: a thin front end over :class:`Study`."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .annotate import CellTemplate, parse_cell
from .api import infer_mode
from .errors import HPOError, HPOSyntaxError
from .objective import INJECTED_NAMES, CellObjective
from .storage import Storage
from .study import Study

DEFAULT_TRIALS = 20
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)h)?\s*(?:(\d+(?:\.\d*)?)m)?\s*"
                       r"(?:(\d+(?:\.\d*)?)s?)?\s*$")
_NOT_YET = {
    "address": "--address",
}
EXPORT_FORMATS = (".csv", ".parquet", ".json")
_HYPERBAND_ONLY = ("type", "grace_period", "reduction_factor", "brackets", "max_t")


def parse_duration(text: str, option: str = "--time-limit") -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30m"``, ``"1h"`` or ``"1h30m"``."""
    match = _DURATION.match(text or "")
    if not text or not text.strip() or match is None or not any(match.groups()):
        raise UsageError(f"{option} {text!r} is not a duration: use seconds (90), 90s, "
                         f"30m, 1h or 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise UsageError(f"{option} {text!r} must be longer than 0 seconds")
    return total


def parse_option_value(text: str) -> Any:
    """``--searcher-opt`` values: Python literals where they parse, else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


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
    @argument("--scheduler", choices=["fifo", "hyperband"], default="fifo",
              help="fifo runs every trial to the end; hyperband stops or pauses poor trials")
    @argument("--type", choices=["stopping", "promotion"],
              help="hyperband variant (default stopping)")
    @argument("--grace-period", type=float, help="hyperband: first rung (default 1)")
    @argument("--reduction-factor", type=float, help="hyperband: eta (default 3)")
    @argument("--brackets", type=int, help="hyperband: number of brackets (default 1)")
    @argument("--max-t", type=float, help="hyperband: maximum resource (default: `epochs = N` "
                                          "in the cell)")
    @argument("--resource", default="epoch", help="resource key in report() (default epoch)")
    @argument("--searcher", default="random",
              help="random, grid, skopt, tpe, bayesopt, bohb or rl (default random)")
    @argument("--searcher-opt", action="append", default=[], metavar="KEY=VALUE",
              help="searcher option, repeatable (e.g. grid: points=5; skopt: "
                   "base_estimator=ET, acq_func=LCB; bayesopt: kernel=exp-decay-sum)")
    @argument("--seed", type=int, help="seed for searcher and scheduler")
    @argument("--workers", type=int, help="concurrent trials (default 1, or one per GPU slot "
                                          "with --gpus-per-trial)")
    @argument("--executor", choices=["thread", "process", "dask"], default="thread",
              help="where trials run: threads of the kernel (default) or worker processes")
    @argument("--trial-timeout", help="process executor: fail a trial that runs longer than "
                                      "this (90, 90s, 30m, 1h)")
    @argument("--address", help="dask scheduler address (not available yet)")
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
        self._check_options(args)
        source = self.shell.transform_cell(cell) if self.shell else cell
        template = self._parse(source)
        metric, mode = self._metric_and_mode(args, template)
        study = self._build_study(args, template, metric, mode)
        run = _Run(study, None, not args.no_apply, args.output)
        if not args.quiet:
            from .widgets.dashboard import Dashboard

            run.dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study),
                                      header=self._header(args, study, template))
            run.dashboard.display()
        self.runs[study.name] = run
        self.shell.user_ns[args.output] = study
        study.start()
        if args.background:
            if run.dashboard is not None:
                run.dashboard.start_background_refresh()
            print(f"jupyter_hpo: {study.name} runs in the background; `%hpo wait "
                  f"{study.name}` joins it, `%hpo stop {study.name}` stops it")
            return
        self._join(run)

    def _check_options(self, args: Any) -> None:
        for key, label in _NOT_YET.items():
            if getattr(args, key):
                raise UsageError(f"{label} is not available in this version of jupyter_hpo")
        if args.executor == "dask":
            raise UsageError("--executor dask is not available in this version; use --executor "
                             "thread (the default) or --executor process")
        if args.trial_timeout is not None and args.executor != "process":
            raise UsageError("--trial-timeout needs --executor process: a thread cannot be "
                             "killed (with threads, use --time-limit for the whole study)")
        if args.scheduler == "fifo":
            given = [f"--{k.replace('_', '-')}" for k in _HYPERBAND_ONLY
                     if getattr(args, k) is not None]
            if given:
                raise UsageError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'}"
                                 f" to --scheduler hyperband (the scheduler is fifo)")
        if args.trials is not None and args.trials < 1:
            raise UsageError(f"--trials is {args.trials}, but must be >= 1")
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers is {args.workers}, but must be >= 1")
        if args.resume and not args.name:
            raise UsageError("--resume needs --name NAME: the study to continue (`%hpo list` "
                             "shows the stored ones)")
        if args.resume and _no_storage(args.storage):
            raise UsageError("--resume needs a storage file, but --storage is none")
        if not args.output.isidentifier():
            raise UsageError(f"-o {args.output!r} is not a valid variable name")
        if args.name is not None and args.name in self.runs \
                and not self.runs[args.name].study.done:
            raise UsageError(f"a study named {args.name!r} is still running: stop it with "
                             f"`%hpo stop {args.name}` or pick another --name")
        for opt in args.searcher_opt:
            if "=" not in opt:
                raise UsageError(f"--searcher-opt {opt!r} must look like KEY=VALUE, "
                                 f"e.g. points=5")

    def _parse(self, source: str) -> CellTemplate:
        filename = "<hpo-cell>"
        try:
            filename = self.shell.compile.cache(source)
        except (AttributeError, TypeError):
            pass
        try:
            return parse_cell(source, self.shell.user_ns, filename)
        except HPOSyntaxError as exc:
            raise UsageError(f"HPOSyntaxError at {exc}") from None

    def _metric_and_mode(self, args: Any, template: CellTemplate) -> tuple[str, str]:
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
        if args.scheduler == "hyperband":
            if not template.calls_report:
                raise UsageError("Hyperband stops trials at report() calls, but the cell never "
                                 "calls report(): add report(epoch=..., metric=...) to the "
                                 "training loop or use --scheduler fifo")
            if template.reported_keys and args.resource not in template.reported_keys:
                raise UsageError(f"Hyperband needs the resource {args.resource!r} in report(), "
                                 f"but the cell reports {', '.join(template.reported_keys)}: "
                                 f"add {args.resource}=... or pass --resource NAME")
            if args.max_t is None and template.max_t is None:
                raise UsageError("Hyperband needs the maximum resource: write `epochs = N` in "
                                 "the cell or pass --max-t N")
        return metric, mode

    def _build_study(self, args: Any, template: CellTemplate, metric: str,
                     mode: str) -> Study:
        trials = args.trials
        time_limit = parse_duration(args.time_limit) if args.time_limit else None
        storage = None
        try:
            if not _no_storage(args.storage):
                storage = Storage(args.storage)
            if args.resume and trials is None and time_limit is None:
                stored = storage.get(args.name).settings  # keep the stored budget
                trials, time_limit = stored.get("trials"), stored.get("time_limit")
        except HPOError as exc:
            raise UsageError(str(exc)) from None
        if trials is None and time_limit is None and args.searcher != "grid":
            trials = DEFAULT_TRIALS
        searcher_options = {}
        for opt in args.searcher_opt:
            key, value = opt.split("=", 1)
            searcher_options[key.strip().replace("-", "_")] = parse_option_value(value.strip())
        scheduler_options = {}
        if args.scheduler == "hyperband":
            scheduler_options = {
                "max_t": args.max_t if args.max_t is not None else template.max_t,
                "grace_period": args.grace_period, "reduction_factor": args.reduction_factor,
                "brackets": args.brackets, "type": args.type,
            }
        executor_options = {}
        if args.trial_timeout is not None:
            executor_options["trial_timeout"] = parse_duration(args.trial_timeout,
                                                               "--trial-timeout")
        try:
            objective = CellObjective(template, self.shell.user_ns, metric)
            if args.executor == "process":
                objective = objective.for_process()  # fails now if a variable cannot pickle
            return Study(objective, template.space, metric=metric, mode=mode,
                         scheduler=args.scheduler, searcher=args.searcher,
                         searcher_options=searcher_options,
                         scheduler_options=scheduler_options, trials=trials,
                         time_limit=time_limit, workers=args.workers, seed=args.seed,
                         resource=args.resource, name=args.name, capture_output=True,
                         executor=args.executor, gpus_per_trial=args.gpus_per_trial,
                         cpus_per_trial=args.cpus_per_trial,
                         executor_options=executor_options, storage=storage,
                         resume=args.resume)
        except (ValueError, HPOError) as exc:
            raise UsageError(str(exc)) from None

    def _header(self, args: Any, study: Study, template: CellTemplate) -> str:
        sched = args.scheduler
        if sched == "hyperband":
            s = study.scheduler
            sched = (f"hyperband ({s.type}, η={s.eta:g}, grace {s.grace_period:g}, "
                     f"max_t {s.max_t:g}, {s.num_brackets} bracket(s))")
        budget = []
        if study.budget is not None:
            budget.append(f"{study.budget} trials")
        if study.time_limit is not None:
            budget.append(f"{study.time_limit:g}s")
        return f"{sched} · {args.searcher} search · budget {' / '.join(budget) or 'grid'}"

    # ---------------------------------------------------------------- joining
    def _join(self, run: _Run) -> None:
        """Block until the study ends, serving dashboard buttons; Ctrl-C stops it gracefully."""
        study, interrupted = run.study, False
        try:
            self._block(run)
        except KeyboardInterrupt:
            interrupted = True
            study.stop()
            print(f"jupyter_hpo: interrupted; stopping {study.name} (running trials stop at "
                  f"their next report; interrupt again to force)")
            try:
                self._block(run)
            except KeyboardInterrupt:
                study.stop(force=True)
        self._conclude(run)
        if interrupted:
            raise KeyboardInterrupt
        if study.error is not None:
            raise UsageError(f"StudyFailedError: {study.error}")

    def _block(self, run: _Run) -> None:
        from .widgets.kernel_poll import serving_ui_events

        with serving_ui_events() as poll:
            while not run.study.done:
                poll(0.05)
                if run.dashboard is not None:
                    run.dashboard.refresh()

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

    def _apply(self, study: Study) -> str:
        """Put the best trial's variables into the user namespace; say what was applied."""
        trial = study.best_trial
        if trial is None:
            return "no trial has reported a value yet; nothing applied"
        ns = study.best_namespace
        user_ns = self.shell.user_ns
        if ns is None:
            user_ns.update(trial.config)
            what = "its hyperparameters (the trial's other variables are not kept)"
        else:
            for key, value in ns.items():
                if key.startswith("__") or key in INJECTED_NAMES:
                    continue
                if user_ns.get(key, _MISSING) is not value:
                    user_ns[key] = value
            what = "its variables"
        config = ", ".join(f"{k}={_short(v)}" for k, v in trial.config.items())
        return (f"applied trial {trial.trial_id} ({study.metric}={study.best_value:.6g}), "
                f"{what}: {config}")

    # ------------------------------------------------------------------- %hpo
    @magic_arguments()
    @argument("command", choices=["list", "show", "stop", "best", "apply", "wait", "plot",
                                  "export", "delete"], help="what to do")
    @argument("args", nargs="*", help="show/stop/best/apply/wait/delete [NAME]; plot KIND "
                                      "[NAME]; export [NAME] FILE (.csv, .parquet or .json)")
    @argument("--trial", type=int, help="with stop: stop only this trial")
    @argument("--storage", help="SQLite file to read (default: jupyter_hpo.db in the working "
                                "directory, or $JUPYTER_HPO_STORAGE)")
    @line_magic("hpo")
    def hpo_line(self, line: str) -> Any:
        """Manage studies: list, show, stop [--trial ID], best, apply, wait, plot KIND,
        export FILE, delete; a NAME picks the study (default: the latest)."""
        args = parse_argstring(self.hpo_line, line)
        try:
            return self._line_command(args)
        except HPOError as exc:
            raise UsageError(str(exc)) from None

    def _line_command(self, args: Any) -> Any:
        command, rest = args.command, list(args.args)
        if command == "list":
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
        if command in ("stop", "wait"):
            self._control(command, self._run(name), args.trial)
        elif command == "delete":
            self._delete(name, args.storage)
        elif command == "show":
            self._show(name, args.storage)
        elif command == "best":
            self._best(self._study(name, args.storage))
        elif command == "apply":
            print(f"jupyter_hpo: {self._apply(self._study(name, args.storage))}")
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

    def _control(self, command: str, run: _Run, trial: int | None) -> None:
        if command == "wait":
            self._join(run)
        elif trial is not None:
            run.study.stop_trial(trial)
            print(f"jupyter_hpo: trial {trial} of {run.study.name} stops at its next report")
        else:
            run.study.stop()
            print(f"jupyter_hpo: {run.study.name} is stopping")

    def _run(self, name: str | None) -> _Run:
        if not self.runs:
            raise UsageError("no study has run in this kernel yet: start one with %%hpo")
        if name is None:
            return list(self.runs.values())[-1]
        if name not in self.runs:
            raise UsageError(f"no study named {name!r} runs in this kernel; studies: "
                             f"{', '.join(self.runs)}")
        return self.runs[name]

    def _storage(self, location: str | None) -> Storage:
        return Storage(location)

    def _study(self, name: str | None, storage: str | None) -> Study:
        """The study ``name`` of this kernel, else the stored one (default: the latest)."""
        if name is None and self.runs and storage is None:
            return list(self.runs.values())[-1].study
        if name is not None and name in self.runs and storage is None:
            return self.runs[name].study
        store = self._storage(storage)
        if name is None:
            studies = store.studies()
            if not studies:
                raise UsageError(f"no study has run in this kernel and {store.path} holds "
                                 f"none: start one with %%hpo")
            name = max(studies, key=lambda s: s.updated).name
        return Study.load(name, store)

    def _show(self, name: str | None, storage: str | None) -> None:
        from .widgets.dashboard import Dashboard

        run = None
        if storage is None and self.runs and (name is None or name in self.runs):
            run = self._run(name)
        if run is None:  # a stored study: a static dashboard
            study = self._study(name, storage)
            dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study))
            dashboard.display()
            dashboard.finish()
            return
        if run.dashboard is None:
            run.dashboard = Dashboard(run.study, on_apply_best=lambda: self._apply(run.study))
        run.dashboard.display()
        if run.study.done:
            run.dashboard.finish()
        else:
            run.dashboard.start_background_refresh()

    def _delete(self, name: str | None, storage: str | None) -> None:
        if name is None:
            raise UsageError("%hpo delete needs the NAME of the study to delete")
        run = self.runs.get(name)
        if run is not None and not run.study.done:
            raise UsageError(f"study {name!r} is running in this kernel: stop it first with "
                             f"`%hpo stop {name}`")
        store = run.study.storage if run is not None and run.study.storage and storage is None \
            else self._storage(storage)
        count = store.delete(name)
        self.runs.pop(name, None)
        print(f"jupyter_hpo: deleted study {name!r} and its {count} trials from {store.path}")

    def _list(self, storage: str | None) -> None:
        """This kernel's studies, then the stored ones (with their state)."""
        lines = []
        for name, run in self.runs.items():
            s = run.study
            best = "" if s.best_value is None else f", best {s.metric}={s.best_value:.6g}"
            where = f" [{s.storage.path}]" if s.storage is not None else " [not stored]"
            lines.append(f"{name}: {s.state}, {len(s.trials)} trials{best} (this kernel)"
                         f"{where}")
        store = self._storage(storage)
        for stored in store.studies():
            if stored.name in self.runs and self.runs[stored.name].study.storage is not None \
                    and self.runs[stored.name].study.storage.path == store.path:
                continue
            best = "" if stored.best_value is None \
                else f", best {stored.metric}={stored.best_value:.6g}"
            lines.append(f"{stored.name}: {stored.shown_state}, {stored.trials} trials{best} "
                         f"[{store.path}]")
        print("\n".join(lines) if lines else f"no studies in this kernel or in {store.path}")

    def _best(self, study: Study) -> None:
        trial = study.best_trial
        if trial is None:
            print(f"{study.name}: no trial has reported {study.metric} yet")
            return
        print(f"{study.name}: best {study.metric}={study.best_value:.6g} "
              f"(trial {trial.trial_id}, {trial.status.value})")
        for key, value in trial.config.items():
            print(f"  {key} = {value!r}")


def _no_storage(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("none", "")


def export(study: Study, target: str) -> None:
    """Write a study's trials: CSV or Parquet (``trials_dataframe()``), or JSON with every
    trial's configuration and reports."""
    import json

    from .storage import encode_value

    suffix = target.lower().rsplit(".", 1)[-1]
    if suffix == "json":
        data = {"name": study.name, "metric": study.metric, "mode": study.mode,
                "resource": study.resource, "state": study.state,
                "best_trial": None if study.best_trial is None else study.best_trial.trial_id,
                "trials": [{"trial_id": t.trial_id, "status": t.status.value,
                            "config": encode_value(t.config), "start": t.start_time,
                            "end": t.end_time, "error": t.error,
                            "reports": [dict(encode_value(r), time=at) for r, at
                                        in zip(t.reports, study.report_times(t.trial_id))]}
                           for t in study.trials]}
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
        return
    frame = study.trials_dataframe()
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


_MISSING = object()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
