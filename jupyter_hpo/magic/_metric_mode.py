"""The metric and mode of a ``%%hpo`` cell: as given, inferred from the cell, or refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..integrations import CALLBACKS
from ..options import DEFAULT_RESOURCE, PROGRESS_KEYS, infer_mode
from ._text import listed

if TYPE_CHECKING:
    from ..annotate import CellTemplate, ReportingFunction

__all__ = ["CellMetric", "_check_metric_name"]


class CellMetric:
    """How ``%%hpo`` finds the metric, mode and resource a cell optimises (a part of
    ``CellOptions``)."""

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
