"""From the ``%%hpo`` command line and the parsed cell to a :class:`Study`: the metric and mode,
the study's options, the cluster of ``--address``, the header line."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import HPOError, HPOSyntaxError, command_word
from ..integrations import CALLBACKS
from ..options import (
    DEFAULT_RESOURCE,
    PROGRESS_KEYS,
    StudyOptions,
    infer_mode,
    parse_duration,
)
from ._text import (
    SCHEDULER_FLAGS,
    cli_message,
    enqueued_config,
    key_values,
    listed,
    on_storage,
)

if TYPE_CHECKING:
    from ..annotate import CellTemplate, ReportingFunction
    from ..study import Study


class CellOptions:
    """What ``%%hpo`` reads from its command line and its cell (a part of ``HPOMagics``)."""

    shell: Any

    def _parse(self, source: str, written: str | None = None) -> CellTemplate:
        """The cell's template from ``source`` (the body as IPython transformed it); an error on
        a line IPython rewrote (``%time ...``, a second ``%%hpo``) shows that line as
        ``written``."""
        from ..annotate import parse_cell

        filename, number = "<hpo-cell>", running_cell_number(self.shell)
        try:  # IPython names the cell's code In[number] (the number of the cell that runs)
            filename = self.shell.compile.cache(source, number or 0)
        except (AttributeError, TypeError):
            number = None
        try:
            template = parse_cell(source, self.shell.user_ns, filename)
        except HPOSyntaxError as exc:
            raise UsageError(f"HPOSyntaxError at {_as_written(exc, source, written)}") from None
        if isinstance(number, int):
            template.cell_name = f"In[{number}]"
        for note in template.notes:  # the cell runs as written
            print(f"jupyter_hpo: {note}")
        return template

    @staticmethod
    def _resource(args: Any, template: CellTemplate) -> str | None:
        """Set ``args.resource`` when the line left it out: ``epoch``, or the one key the cell
        reports that is named like a count of progress (``report(step=s, loss=l)``); the note
        that says which was inferred, if one was."""
        if args.resource is not None:
            return None
        args.resource = DEFAULT_RESOURCE
        keys = template.reported_keys
        if not keys or template.reports_unpacked or args.resource in keys \
                or template.report_callbacks:  # which report the study's resource
            return None
        counts = [k for k in keys if k in PROGRESS_KEYS and k not in template.space]
        if len(counts) != 1:
            return None
        args.resource = counts[0]
        return f"{counts[0]} counts the training's progress (--resource {counts[0]} inferred " \
               f"from its name)"

    @staticmethod
    def _cell_result_kept(args: Any, template: CellTemplate) -> CellTemplate:
        """``template``, or without its report functions where ``--metric`` names a variable
        the cell assigns that none of them reports (``acc = train(lr, hpo=False)`` with
        ``--metric acc``, where ``train`` reports only when asked): the trial's result is then
        the cell's variable, as for a cell without report(). Not for a scheduler that stops
        trials at reports, nor where the cell calls report() itself."""
        from ..schedulers import SCHEDULERS

        if args.metric is None or not template.report_functions \
                or template.own_reports.get("calls_report") or template.reports_unpacked \
                or args.metric in template.reported_keys \
                or getattr(SCHEDULERS.get(args.scheduler), "needs_resource", False) \
                or not _may_bind(template.source, args.metric):
            return template
        return template.without_report_functions()

    def _metric_and_mode(self, args: Any, template: CellTemplate
                         ) -> tuple[str, str | None, str | None]:
        """The metric and mode from the options or, where they are missing, from the cell,
        and the note that says what was inferred (printed once the study is built)."""
        _check_metric_name(args)
        if not template.annotations:
            from ..annotate._tree import peer_space_call

            raise UsageError("the cell has no hyperparameters: mark them inline, e.g. "
                             "`lr = Real(1e-4, 1e-1, log=True)` or `lr = 1e-3  # hpo: Real(...)`"
                             + peer_space_call(template.source))
        if template.peer_callbacks and not template.calls_report:
            from ..annotate._tree import PEER_CALLBACKS

            line, name = template.peer_callbacks[0]
            whose, ours = PEER_CALLBACKS[name]
            instead = f"{ours}()" if ours else \
                f"your framework's callback ({', '.join(f'{c}()' for c in CALLBACKS)})"
            raise UsageError(f"the cell never calls report(): cell line {line} uses {name}, "
                             f"{whose} way of reporting a framework's training; here give "
                             f"the training {instead} from jupyter_hpo.integrations instead, "
                             f"which reports each epoch to the trial")
        keys = [k for k in template.reported_keys if k != args.resource]
        unpacked = template.reports_unpacked  # report(**values): more keys than these
        if args.resource != DEFAULT_RESOURCE and template.reported_keys and not unpacked \
                and args.resource not in template.reported_keys \
                and not template.report_callbacks:
            near = [key for key in template.reported_keys
                    if key.lower() == args.resource.lower().replace("-", "_")]
            advice = _resume_hint(args, "resource") or (
                f": did you mean --resource {near[0]}?" if near else
                ": name the one that counts the training's progress (epochs, steps)")
            raise UsageError(f"{_as_given(args, 'resource')} is not among the values the "
                             f"cell reports ({', '.join(template.reported_keys)}){advice}")
        if args.metric is not None and args.metric == args.resource and keys:
            raise UsageError(f"--metric {args.metric} is the resource (the progress report() "
                             f"counts, --resource {args.resource}), not a result to optimise: "
                             f"the cell's other values are {', '.join(keys)} (if "
                             f"{args.resource} is the result, pass --resource with the key "
                             f"that counts the progress)")
        metric, from_last_line = args.metric, False
        whence = its = ""  # where the result of a cell without report() comes from
        if metric is None and not template.calls_report:
            if template.peer_reports:
                from ..annotate._tree import PEER_REPORTS

                line, receiver = template.peer_reports[0]
                raise UsageError(f"the cell never calls report(): cell line {line} calls "
                                 f"{receiver}.report(...), {PEER_REPORTS[receiver]} way; here "
                                 f"each trial calls report() itself, with its values by name: "
                                 f"report(epoch=step, loss=value)")
            shown = template.result_name if template.has_result_expr \
                and template.result_name is not None \
                and _may_bind(template.source, template.result_name) else None
            if shown is None and (template.has_result_expr or template.last_assigned is None):
                raise UsageError("the cell never calls report(): pass --metric NAME and "
                                 "--mode min or max, where NAME is a variable the cell assigns "
                                 "or any name for the value of its last expression (e.g. "
                                 "--metric acc --mode max)")
            metric, from_last_line = shown or template.last_assigned, True
            whence, its = ("the variable the cell ends with", "the variable it ends with") \
                if shown else ("the variable the cell's last line assigns",
                               "the variable its last line assigns")
        if metric is None:
            if len(keys) != 1 and unpacked and template.report_callbacks:
                line, callback = template.report_callbacks[0]
                raise UsageError(f"the cell reports through {callback} (cell line {line}), "
                                 f"which reports what the framework logs, so the metric to "
                                 f"optimise is not known before it runs: pass --metric NAME "
                                 f"(e.g. --metric val_loss), or name what it reports with "
                                 f"{callback}(metrics=...)")
            hidden = [f for f in template.report_functions if not f.readable or f.unpacked]
            if len(keys) != 1 and unpacked and hidden:
                raise UsageError(_hidden_keys_message(hidden[0]))
            if len(keys) != 1 and unpacked:
                known = f" (besides {', '.join(keys)})" if keys else ""
                raise UsageError(f"the cell passes values to report() through **{known}, so "
                                 f"the metric to optimise is not known before it runs: pass "
                                 f"--metric NAME")
            hyperparameters = set(template.space)
            texts = [k for k in keys if k in template.text_keys]  # report(phase='train')
            results = [k for k in keys if k not in hyperparameters and k not in texts]
            if keys and len(texts) == len(keys):
                raise UsageError(f"the cell reports no number: it gives {listed(texts)} a "
                                 f"value that is not one (text, None, a container); report "
                                 f"the value to optimise, e.g. report(loss=loss)")
            if len(results) == 1 and len(keys) > 1:  # report(acc=acc, lr=lr) logs lr
                what = "the value the cell reports that is not a hyperparameter ("
                if texts:
                    logged = any(k in hyperparameters for k in keys)
                    are_not = "is not a number" if len(texts) == 1 else "are not numbers"
                    what = (f"the only number the cell reports"
                            f"{' that is not a hyperparameter' if logged else ''} "
                            f"({listed(texts)} {are_not}; ")
                print(f"jupyter_hpo: optimising {results[0]}, {what}--metric NAME picks "
                      f"another)")
            if results:  # the candidates are the values that are not hyperparameters
                keys = results
            counts = [k for k in keys if k in PROGRESS_KEYS]
            if len(keys) > 1 and len(keys) - len(counts) == 1:  # report(step=s, it=i, loss=l)
                metric = next(k for k in keys if k not in PROGRESS_KEYS)
                print(f"jupyter_hpo: optimising {metric}, the value the cell reports that does "
                      f"not count the progress ({listed(counts)}; --metric NAME picks another)")
                keys = [metric]
            if len(keys) != 1:
                raise UsageError(f"the cell reports {', '.join(keys) or 'no metric'}: pick the "
                                 f"one to optimise with --metric")
            metric = keys[0]
        elif template.calls_report and template.reported_keys and not unpacked \
                and metric not in keys:
            raise UsageError(f"{_as_given(args, 'metric')} is not among the values the cell "
                             f"reports ({', '.join(keys)}){_misspelt_metric(metric, keys)}"
                             f"{_resume_hint(args, 'metric')}")
        elif not template.calls_report and not template.has_result_expr \
                and not _may_bind(template.source, metric):
            raise UsageError(f"--metric {metric}: the cell never calls report(), does not end "
                             f"with an expression and never assigns {metric}, so no trial "
                             f"would have a result (a notebook variable {metric} is not one): "
                             f"assign it ({metric} = ...), end the cell with the expression "
                             f"that gives it, or call report({metric}=...)")
        mode, note = args.mode, None
        if mode is None:
            mode = infer_mode(metric)
            if mode is None and from_last_line:
                raise UsageError(f"the cell never calls report(), so its result is {metric!r}, "
                                 f"{its}; cannot tell whether to "
                                 f"minimise or maximise it: pass --mode min or --mode max "
                                 f"(and --metric NAME for another variable)")
            if mode is None:
                swapped = "" if args.metric is not None or infer_mode(args.resource) is None \
                    else (f" (--resource {args.resource} makes {args.resource!r} the count of "
                          f"training progress, so the value left to optimise is {metric!r}: "
                          f"did you mean --metric {args.resource}?)")
                raise UsageError(f"cannot tell whether to minimise or maximise {metric!r}: "
                                 f"pass --mode min or --mode max{swapped}")
            source = f"{whence}; " if from_last_line else ""
            note = (f"{'maximising' if mode == 'max' else 'minimising'} {metric} "
                    f"({source}--mode {mode} inferred from its name)")
        elif from_last_line:
            note = f"optimising {metric}, {whence} (--metric NAME picks another)"
        return metric, mode, note

    def _options(self, args: Any, template: CellTemplate) -> tuple[StudyOptions, str | None]:
        """The study's options from the command line and the cell, and the note on what was
        inferred of the metric and mode."""
        from ..schedulers import SCHEDULERS
        from ..storage import open_storage

        _check_output_name(args, template)
        stored = _stored_settings(args)
        inferred_resource = self._resource(args, template)
        metric, mode, note = self._metric_and_mode(args, template)
        if inferred_resource is not None:
            note = inferred_resource if note is None else f"{note}; {inferred_resource}"
        scheduler, searcher = _method(args, stored)
        scheduler_class = SCHEDULERS[scheduler]
        if getattr(scheduler_class, "needs_resource", False):
            if not template.calls_report:
                raise UsageError(f"{scheduler} stops trials at report() calls, but the cell "
                                 f"never calls report(): add report({args.resource}=..., "
                                 f"{metric}=...) to the training loop or use --scheduler fifo")
            if template.reported_keys and not template.reports_unpacked \
                    and args.resource not in template.reported_keys \
                    and not template.report_callbacks:
                raise UsageError(f"{scheduler} needs the resource {args.resource!r} in "
                                 f"report(), but the cell reports "
                                 f"{', '.join(template.reported_keys)}: add {args.resource}=... "
                                 f"or pass --resource NAME")
        line = check_line_options(args, scheduler, searcher)
        scheduler_options = line.scheduler_options
        stored_options = {} if stored is None or stored.settings.get("scheduler") != scheduler \
            else stored.settings.get("scheduler_options") or {}
        reports_resource = template.calls_report and (
            not template.reported_keys or template.reports_unpacked
            or args.resource in template.reported_keys or bool(template.report_callbacks))
        max_t = template.max_t_for(args.resource)
        if max_t is None and "max_t" not in {**stored_options, **scheduler_options} \
                and getattr(scheduler_class, "needs_resource", False):
            from ..annotate import max_t_names
            from ..annotate._max_t import unread_count

            unread = unread_count(template.source, max_t_names(args.resource))
            if unread is not None:  # not "write `epochs = N`" to a cell that has one
                raise UsageError(f"Hyperband needs --max-t, the largest {args.resource} a "
                                 f"trial reaches: {unread}; or pass --max-t N")
        if max_t is None and "max_t" not in {**stored_options, **scheduler_options} \
                and args.resource != "epoch" \
                and getattr(scheduler_class, "needs_resource", False):
            from ..annotate import max_t_names

            raise UsageError(f"Hyperband needs --max-t, the largest {args.resource} a "
                             f"trial reaches: write `{max_t_names(args.resource)[1]} = N` in "
                             f"the cell or pass --max-t N")
        if "max_t" not in {**stored_options, **scheduler_options} and max_t is not None \
                and "max_t" in getattr(scheduler_class, "OPTIONS", ("max_t",)) \
                and (getattr(scheduler_class, "needs_resource", False) or reports_resource):
            scheduler_options["max_t"] = max_t
        executor_options: dict[str, Any] = {}
        if line.trial_timeout is not None:
            executor_options["trial_timeout"] = line.trial_timeout
        executor: Any = args.executor
        try:
            if args.address is not None:
                cluster = self._cluster(args.address)
                if isinstance(cluster, str):
                    executor_options["address"] = cluster
                else:
                    executor = cluster  # a distributed.Client: trials run on its cluster
            storage = open_storage(args.storage)
        except (ValueError, HPOError) as exc:
            raise UsageError(cli_message(str(exc))) from None
        extra: dict[str, Any] = {}
        if args.keep_namespaces is not None:
            extra["keep_namespaces"] = args.keep_namespaces
        return StudyOptions(
            metric=metric, mode=mode, trials=args.trials, time_limit=line.time_limit,
            scheduler=args.scheduler, scheduler_options=scheduler_options,
            searcher=args.searcher, searcher_options=line.searcher_options, seed=args.seed,
            workers=args.workers, executor=executor, executor_options=executor_options,
            gpus_per_trial=args.gpus_per_trial, cpus_per_trial=args.cpus_per_trial,
            resource=args.resource, name=args.name, storage=storage, resume=args.resume,
            capture_output=True, points_to_evaluate=line.points, warm_start=args.warm_start,
            keep_checkpoints=args.keep_checkpoints, **extra), note

    def _cluster(self, address: str) -> Any:
        """``--address``: a scheduler address (returned as it is), or the name of a
        ``distributed.Client`` in the notebook (the client is returned)."""
        from ..executors._dask_cluster import is_dask_client

        value = self.shell.user_ns.get(address) if address.isidentifier() else None
        if value is not None:
            if not is_dask_client(value):
                raise ValueError(f"--address {address} names a {type(value).__name__}, but must "
                                 f"be a scheduler address (tcp://host:8786) or a "
                                 f"distributed.Client")
            return value
        if address.isidentifier():  # no scheme, no port: meant as a notebook variable
            raise ValueError(f"--address {address}: no variable {address!r} is defined in the "
                             f"notebook; pass a scheduler address (tcp://host:8786) or the name "
                             f"of a distributed.Client created in an earlier cell")
        return address

    def _build_study(self, args: Any, template: CellTemplate) -> Study:
        from ..objective import CellObjective
        from ..study import Study

        template = self._cell_result_kept(args, template)
        options, inferred = self._options(args, template)
        try:
            objective = CellObjective(template, self.shell.user_ns, options.metric)
            if args.executor in ("process", "dask"):
                objective = objective.for_process()  # fails now if a variable cannot pickle
            study = Study(objective, template.space, options)
        except (ValueError, HPOError) as exc:
            raise UsageError(on_storage(cli_message(str(exc), options.searcher_options),
                                        args.storage)) from None
        for note in (inferred, *study.notes) if inferred else study.notes:  # after any refusal
            print(f"jupyter_hpo: {note}")
        study.save_hint = f"export them with %hpo export {command_word(study.name)} file.csv"
        return study

    @staticmethod
    def _header(study: Study, args: Any) -> str:
        scheduler = study.scheduler
        describe = getattr(scheduler, "describe", None)
        text = describe() if callable(describe) else study.settings.get("scheduler")
        budget = []
        if study.budget is not None:
            budget.append(f"{study.budget} trials")
        if study.time_limit is not None:
            budget.append(f"{study.time_limit:g}s")
        searcher = scheduler.searcher.describe() if hasattr(scheduler, "searcher") \
            else f"{study.settings.get('searcher')} search"
        return f"{text} · {searcher} · budget {' / '.join(budget) or 'grid'}"


@dataclass
class LineOptions:
    """What the ``%%hpo`` line alone says, read and checked (see ``check_line_options``)."""

    scheduler_options: dict[str, Any]
    searcher_options: dict[str, Any]
    time_limit: float | None
    trial_timeout: float | None
    points: list[dict[str, Any]]


def _stored_settings(args: Any) -> Any:
    """For ``--resume``: the stored study's summary (its settings), with the line's
    ``--metric``, ``--mode`` and ``--resource`` that were left out set to the stored ones (a
    resume continues the study as it ran; the study itself takes the stored scheduler,
    searcher, their options and seed, ``StudyOptions.resumed_from``). None for a new study,
    or when there is no such study (the study's own resume then says so)."""
    from ..storage import open_storage

    if not args.resume or not args.name:
        return None
    try:
        storage = open_storage(args.storage)
        stored = None if storage is None else storage.find_study(args.name.strip())
    except (ValueError, HPOError, OSError):
        return None  # said where the study is resumed
    if stored is None:
        return None
    args.stored_keys = {key for key in ("metric", "resource") if getattr(args, key) is None}
    if args.metric is None:
        args.metric = stored.metric
    if args.mode is None and args.metric == stored.metric:
        args.mode = stored.direction.value
    if args.resource is None:
        args.resource = stored.resource
    return stored


def _method(args: Any, stored: Any) -> tuple[str, str]:
    """The scheduler and searcher the study runs: the line's, else a resumed study's stored
    ones (names this version knows), else ``auto``."""
    from ..schedulers import SCHEDULERS
    from ..searchers import SEARCHERS

    names = []
    for kind, known in (("scheduler", SCHEDULERS), ("searcher", SEARCHERS)):
        name = getattr(args, kind)
        before = None if stored is None else stored.settings.get(kind)
        if name is None:
            name = before if isinstance(before, str) and before in known else "auto"
        names.append(name)
    return names[0], names[1]


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


def _check_output_name(args: Any, template: CellTemplate) -> None:
    """Refuse ``-o NAME`` where the cell sets NAME in the notebook (a hyperparameter's
    variable, or a name it binds at its top level: the best trial's variables are applied
    with every executor, fetched from the worker with processes and Dask): applying the best
    trial at the end set it after the study was bound there, so ``-o x`` left the best x in
    x and the study nowhere."""
    if args.no_apply:
        return
    name = args.output
    line = next((a.lineno for a in template.annotations if a.variable == name),
                None)
    what = f"the hyperparameter {name}" if line is not None else name
    if line is None:
        line = _top_level_line(template.source, name)
    if line is not None:
        raise UsageError(f"-o {name}: the cell sets {what} (cell line {line}), and applying "
                         f"the best trial puts the cell's {name} into the notebook after the "
                         f"study, which would not stay in {name}: pick another name for the "
                         f"study (-o study) or add --no-apply")


def _top_level_line(source: str, name: str) -> int | None:
    """The first cell line that binds ``name`` in the notebook's namespace (an assignment,
    a loop, ``with ... as``, an import, a def or class; not a function's own variables)."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    lines, todo = [], [tree]
    while todo:
        for child in ast.iter_child_nodes(todo.pop()):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                lines += [child.lineno] if child.name == name else []
                continue  # their bodies bind their own names
            if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                  ast.GeneratorExp)):
                continue
            if isinstance(child, ast.Name) and child.id == name \
                    and isinstance(child.ctx, ast.Store) \
                    or isinstance(child, ast.alias) \
                    and (child.asname or child.name.split(".")[0]) == name:
                lines.append(getattr(child, "lineno", None) or 0)
            todo.append(child)
    return min(lines) if lines else None


def _check_metric_name(args: Any) -> None:
    """Refuse a blank ``--metric ""`` or ``--resource ""``, which the cell's checks would name
    as an empty word ("never assigns , so ...", "--resource  is not among ...")."""
    for key in ("metric", "resource"):  # --metric ' loss' as --name 'mlp ' is: the word
        value = getattr(args, key)
        if isinstance(value, str) and value.strip():
            setattr(args, key, value.strip())
    if args.metric is not None and not args.metric.strip():
        raise UsageError(f"--metric is {args.metric!r}, but must be the name of the value to "
                         f"optimise, as the cell reports or assigns it: e.g. --metric val_loss "
                         f"(or leave --metric out to let the cell's report() tell)")
    if args.resource is not None and not args.resource.strip():
        raise UsageError(f"--resource is {args.resource!r}, but must be the key of report() "
                         f"that counts the training's progress: e.g. --resource step (or leave "
                         f"--resource out: epoch, or the one key the cell reports named like "
                         f"a count of progress)")


def _as_given(args: Any, key: str) -> str:
    """How an error names the ``--metric`` or ``--resource`` a study runs with: as the flag
    when the line gave it, else as what ``--resume`` took from the stored study (a user who
    never wrote ``--metric loss`` was told "--metric loss is not among ...")."""
    value = getattr(args, key)
    if key in getattr(args, "stored_keys", ()):
        return f"the {key} {value}, which {args.name} was stored with and --resume keeps,"
    return f"--{key} {value}"


def _resume_hint(args: Any, key: str) -> str:
    """After :func:`_as_given`'s stored ``key``: how to run the cell with another one."""
    if key not in getattr(args, "stored_keys", ()):
        return ""
    return (f"; for another {key}, start a new study with another --name and --warm-start "
            f"{args.name}, which learns from its trials")


def _hidden_keys_message(function: ReportingFunction) -> str:
    """Why the metric of a cell that reports through a notebook function is not known before
    the cell runs: the function's source cannot be read, or it reports through ``**``."""
    via = "" if function.function == function.called else f" (in {function.function})"
    if function.readable:
        why = "passing its values through ** (or passing report on)"
    else:
        why = "but its source cannot be read (defined by exec(), or its file is gone)"
    return (f"the cell calls {function.called}() at cell line {function.lineno}, which calls "
            f"report(){via} {why}, so the metric to optimise is not known before the cell "
            f"runs: pass --metric NAME (e.g. --metric val_loss), and --mode min or max unless "
            f"its name tells")


def _may_bind(source: str, name: str) -> bool:
    """``objective.may_bind``, imported when a cell is checked (not at ``%load_ext``)."""
    from ..objective import may_bind  # the trial's module, imported when a study runs

    return may_bind(source, name)


def _as_written(error: HPOSyntaxError, source: str, written: str | None) -> HPOSyntaxError:
    """``error`` pointing at the line as the user wrote it when IPython rewrote that line (the
    whole line underlined, as the editor does) or took its indentation off (an indented body:
    the same range, at its columns as written), else ``error`` itself. Where IPython made the
    whole cell one call (a second ``%%hpo`` right below the first is a cell magic), the error
    is on that magic's line."""
    from ..errors import cell_magic_line, indent_removed, rewritten_span, whole_line_span

    lineno = error.cell_lineno
    if written is None or lineno is None:
        return error
    magic = cell_magic_line(written, source)
    if magic is not None:
        lineno, span = magic, whole_line_span(written, magic)
    else:
        end_lineno = error.cell_end_lineno or lineno
        cut, end_cut = (indent_removed(written, source, lineno),
                        indent_removed(written, source, end_lineno))
        if (cut or end_cut) and error.cell_col is not None:
            end_col = None if error.cell_end_col is None else error.cell_end_col + end_cut
            return HPOSyntaxError(error.reason, written, lineno, error.cell_col + cut, end_col,
                                  end_lineno=end_lineno)
        span = rewritten_span(written, source, lineno)
    if span is None:
        return error
    return HPOSyntaxError(error.reason, written, lineno, *span)


def running_cell_number(shell: Any) -> int | None:
    """The number N of the notebook cell that runs now (``In[N]``): the innermost frame of code
    that IPython compiled for a cell names it. ``shell.execution_count`` is that number in
    IPython 8 but the next one in IPython 9, which counts the cell before running it."""
    name_of = getattr(getattr(shell, "compile", None), "format_code_name", None)
    frame = sys._getframe(1)
    while name_of is not None and frame is not None:
        named = name_of(frame.f_code.co_filename)
        found = re.fullmatch(r"In\[(\d+)\]", named[1]) if named else None
        if found:
            return int(found[1])
        frame = frame.f_back
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def _abbreviates(short: str, long: str) -> bool:
    """Whether ``short`` is ``long`` cut short (``val_acc`` for ``val_accuracy``, ``acc``
    for ``accuracy``): a beginning of it, of 3 characters or more."""
    return 3 <= len(short) < len(long) and long.lower().startswith(short.lower())


def _misspelt_metric(metric: str, keys: list[str]) -> str:
    """"; did you mean ..." when a reported key looks like ``--metric`` misspelt (or the
    other way round): the two ways to make them agree."""
    import difflib

    close = difflib.get_close_matches(metric, keys, n=1, cutoff=0.75) or [
        key for key in keys if key.lower() == metric.lower().replace("-", "_")][:1] or [
        key for key in keys if _abbreviates(metric, key) or _abbreviates(key, metric)][:1]
    if not close:
        return ""
    if not metric.isidentifier():  # val-loss: report(val-loss=...) is no Python
        return f": did you mean --metric {close[0]}?"
    return (f": did you mean report({metric}=...) instead of {close[0]}=... in the cell, or "
            f"--metric {close[0]}?")
