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
from .study import Study

DEFAULT_TRIALS = 20
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)h)?\s*(?:(\d+(?:\.\d*)?)m)?\s*"
                       r"(?:(\d+(?:\.\d*)?)s?)?\s*$")
_NOT_YET = {
    "storage": "--storage (SQLite persistence)",
    "resume": "--resume",
    "address": "--address",
}
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
    @argument("--name", help="study name (default study-N)")
    @argument("--storage", help="SQLite file (not available yet)")
    @argument("--resume", action="store_true", help="resume a stored study (not available yet)")
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
                         executor_options=executor_options)
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
    @argument("command", choices=["list", "show", "stop", "best", "apply", "wait"],
              help="what to do")
    @argument("name", nargs="?", help="study name (default: the latest study)")
    @argument("--trial", type=int, help="with stop: stop only this trial")
    @line_magic("hpo")
    def hpo_line(self, line: str) -> None:
        """Manage studies of this kernel: list, show, stop [--trial ID], best, apply, wait."""
        args = parse_argstring(self.hpo_line, line)
        if args.command == "list":
            self._list()
            return
        run = self._run(args.name)
        if args.command == "stop":
            if args.trial is not None:
                try:
                    run.study.stop_trial(args.trial)
                except HPOError as exc:
                    raise UsageError(str(exc)) from None
                print(f"jupyter_hpo: trial {args.trial} of {run.study.name} stops at its next "
                      f"report")
            else:
                run.study.stop()
                print(f"jupyter_hpo: {run.study.name} is stopping")
        elif args.command == "wait":
            self._join(run)
        elif args.command == "best":
            self._best(run.study)
        elif args.command == "apply":
            print(f"jupyter_hpo: {self._apply(run.study)}")
        elif args.command == "show":
            if run.dashboard is None:
                from .widgets.dashboard import Dashboard

                run.dashboard = Dashboard(run.study, on_apply_best=lambda: self._apply(run.study))
            run.dashboard.display()
            if run.study.done:
                run.dashboard.finish()
            else:
                run.dashboard.start_background_refresh()

    def _run(self, name: str | None) -> _Run:
        if not self.runs:
            raise UsageError("no study has run in this kernel yet: start one with %%hpo")
        if name is None:
            return list(self.runs.values())[-1]
        if name not in self.runs:
            raise UsageError(f"no study named {name!r}; studies: {', '.join(self.runs)}")
        return self.runs[name]

    def _list(self) -> None:
        if not self.runs:
            print("no studies in this kernel")
            return
        for name, run in self.runs.items():
            s = run.study
            best = "" if s.best_value is None else f", best {s.metric}={s.best_value:.6g}"
            print(f"{name}: {s.state}, {len(s.trials)} trials{best}")

    def _best(self, study: Study) -> None:
        trial = study.best_trial
        if trial is None:
            print(f"{study.name}: no trial has reported {study.metric} yet")
            return
        print(f"{study.name}: best {study.metric}={study.best_value:.6g} "
              f"(trial {trial.trial_id}, {trial.status.value})")
        for key, value in trial.config.items():
            print(f"  {key} = {value!r}")


_MISSING = object()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)
