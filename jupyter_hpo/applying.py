"""Putting a trial into the notebook: ``study.apply(trial_id)`` and ``%hpo apply``.

With the thread executor the variables of the best few trials are kept (``keep_namespaces``),
so applying one of them sets the variables its cell bound (its ``model``, ...), as the end of a
study does for the best trial; what the trial found in the notebook is left as the notebook has
it now. With worker processes and Dask, the worker that ran a trial keeps its variables: the
best trial's are fetched when the study ends (any finished trial's while the workers live);
those that do not pickle are left out and named, and the hyperparameters are set in any case.
Otherwise (a trial whose variables were not kept or could not be fetched, a study loaded from
storage) its hyperparameters are set, with why, and its checkpoint, if it saved one, is named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import HPOError
from .space import shown_value

if TYPE_CHECKING:
    from .study import Study

__all__ = ["apply_trial", "notebook_namespace"]

_MISSING = object()


def notebook_namespace() -> dict[str, Any]:
    """The namespace of the running IPython kernel, else ``__main__``'s."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.user_ns
    import __main__

    return vars(__main__)


def apply_trial(study: Study, trial_id: int | None, namespace: dict[str, Any],
                holder: str = "study") -> str:
    """Set trial ``trial_id``'s variables (or hyperparameters) in ``namespace`` (the best
    trial by default); return what was done, naming the study by ``holder``, the variable
    that holds it (``_hpo`` after a ``%%hpo`` cell), so the code it shows runs as written."""
    from .objective import FOUND_KEY
    from .records import TrialStatus

    best = study.best_trial
    if trial_id is None:
        if best is None:
            trials = study.trials
            failed = [t.trial_id for t in trials if t.status is TrialStatus.FAILED]
            if failed:
                return (f"no trial has reported a value: {len(failed)} of {len(trials)} trials "
                        f"failed ({holder}.trials[{failed[0]}].error says why); nothing applied")
            if study.done and study.stop_reason:  # --time-limit 10 (seconds), say
                return (f"no trial reported a value before the study ended "
                        f"({study.stop_reason}); nothing applied")
            return "no trial has reported a value yet; nothing applied"
        trial = best
    else:
        try:
            trial = study.trial_records([trial_id])[0]
        except (HPOError, ValueError, IndexError, TypeError) as exc:
            raise HPOError(str(exc)) from None
    fetched = study.variables_of(trial.trial_id)
    kept, variables = fetched.variables, study.settings.get("variables", {})
    config, missing = dict(trial.config), []
    listed = ", ".join(f"{k}={_short(v)}" for k, v in config.items())
    if kept is None:
        config, missing = _objects_of(config, namespace)
        listed, unset = _set_variables(config, variables, namespace)
        missing[:0] = unset
        why = []
        if fetched.note:
            why.append(fetched.note)
        elif study.controller is not None and trial.trial_id in study.controller.restored:
            why.append("it ran before the study was resumed: its other variables are gone")
        elif study.controller is not None \
                and not getattr(study.objective, "binds_variables", True):
            why.append("the objective is a function, whose variables end with its call")
        elif trial.status is TrialStatus.FAILED:
            why.append("it failed, and a failed trial's variables are not kept")
        elif study.controller is not None and study.executor is not None \
                and study.executor.name == "thread":
            why.append(f"its other variables were not kept: only the "
                       f"{study.options.keep_namespaces} best trials' are")
        elif study.controller is not None:
            why.append("its other variables stayed in its worker process")
        if trial.checkpoint is not None:
            why.append(f"{holder}.trials[{trial.trial_id}].restore() returns its checkpoint")
        what = f"its hyperparameters ({'; '.join(why)}):" if why else "its hyperparameters:"
    else:
        found = kept.get(FOUND_KEY, {})
        for key, value in kept.items():
            if key.startswith("__") or found.get(key, _MISSING) is value:
                continue  # not the cell's: what the trial found (the notebook's or ours)
            if namespace.get(key, _MISSING) is not value:
                namespace[key] = value
        if FOUND_KEY not in kept:  # a worker's: one left out still gets its hyperparameter
            _set_variables({name: value for name, value in config.items()
                            if variables.get(name, name) not in kept}, variables, namespace)
            missing.append(fetched.note)
        what = "its variables, with"  # the hyperparameters' values follow
    value = trial.best(study.metric, study.direction)
    shown = _no_value(trial) if value is None else \
        f"{study.metric}={value:.6g}{_after_its_best(trial, study, value, kept is not None)}"
    done = f"{listed}{''.join(missing)}" if listed else "".join(missing).removeprefix("; ")
    return f"applied trial {trial.trial_id} ({shown}), {what} {done}"


def _no_value(trial: Any) -> str:
    """What a trial without a value is, in ``applied trial N (...)``: a failed one says its
    error, so that applying it by mistake (``--trial`` of a failed trial) is noticed."""
    from .records import TrialStatus

    if trial.status is not TrialStatus.FAILED or not trial.error:
        return "no value"
    lines = trial.error.strip().splitlines()
    return f"no value: it failed with {lines[-1][:100] if lines else 'an error'}"


def _after_its_best(trial: Any, study: Study, best: float, kept: bool) -> str:
    """Where a trial whose value fell after its best report had its best, and what its last
    report gave (its model and other variables, or its checkpoint, are those of its end, not
    of its best report); empty when the last report is the best."""
    from .records import finite_number

    reports = [r for r in trial.reports if finite_number(r.get(study.metric)) is not None]
    last = finite_number(reports[-1][study.metric]) if reports else None
    found = [i for i, r in enumerate(reports) if finite_number(r[study.metric]) == best]
    if len(reports) < 2 or last == best or not found:
        return ""
    best_at = found[0]

    def at(index: int) -> str:
        step = reports[index].get(study.resource)
        return f"report {index + 1}" if step is None else f"{study.resource} {step:g}" \
            if isinstance(step, (int, float)) else f"{study.resource} {step}"

    saved = trial.checkpoint is not None and trial.checkpoint.reports == len(trial.reports) - 1
    ends = ", which its variables are from" if kept else \
        ", which its checkpoint is from" if saved else ""
    return f" at {at(best_at)}, its best; {last:.6g} at its last, {at(len(reports) - 1)}{ends}"


def _set_variables(config: dict[str, Any], variables: dict[str, str | None],
                   namespace: dict[str, Any]) -> tuple[str, list[str]]:
    """Set each hyperparameter's variable in ``namespace``: the cell's variable of the same
    name, or the one ``variables`` (the study's ``settings["variables"]``) names; one the cell
    uses inside an expression has none and is not set. Returns the list of what was set and a
    sentence for what was not."""
    shown, inside = [], []
    for name, value in config.items():
        variable = variables.get(name, name)
        if variable is None:
            inside.append(f"{name}={_short(value)}")
            continue
        namespace[variable] = value
        shown.append(f"{variable}={_short(value)}"
                     + (f" ({name})" if variable != name else ""))
    if not inside:
        return ", ".join(shown), []
    how = ("these values inside expressions, not as variables of their own" if len(inside) > 1
           else "this value inside an expression, not as a variable of its own")
    return ", ".join(shown), [f"; {', '.join(inside)} not set: the cell uses {how}"]


def _objects_of(config: dict[str, Any], namespace: dict[str, Any]
                ) -> tuple[dict[str, Any], list[str]]:
    """``config`` with each value storage kept only by its ``repr`` replaced by the notebook's
    object of that ``repr``, and a sentence for each one not found (left out, not set as
    text)."""
    from .storage import StoredRepr
    from .stored_objects import find_object

    found, missing = {}, []
    for name, value in config.items():
        if not isinstance(value, StoredRepr):
            found[name] = value
            continue
        ok, obj, hint = find_object(str(value), namespace)
        if ok:
            found[name] = obj
        else:
            missing.append(f"; {name} not set: the storage file keeps it only as its repr "
                           f"{value!s}, an object it cannot hold: {hint}")
    return found, missing


def _short(value: Any) -> str:
    """A hyperparameter's value as the dashboard and the saved summary show it: in full, as
    Python writes it (a learning rate copied from the line is the one the trial ran with)."""
    return shown_value(value)
