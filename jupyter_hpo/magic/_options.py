"""From the ``%%hpo`` command line and the parsed cell to a :class:`Study`: the study's options,
the cluster of ``--address``, the header line (the metric and mode: ``_metric_mode``; the line's
own checks: ``_line_options``)."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import HPOError, HPOSyntaxError, command_word
from ..options import StudyOptions
from ._line_options import LineOptions, check_line_options
from ._metric_mode import CellMetric
from ._text import cli_message, on_storage

if TYPE_CHECKING:
    from ..annotate import CellTemplate
    from ..study import Study

__all__ = ["CellOptions", "LineOptions", "check_line_options", "running_cell_number"]


class CellOptions(CellMetric):
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
