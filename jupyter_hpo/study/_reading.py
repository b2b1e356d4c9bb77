"""What a study says about itself, live or loaded: its state, trials, best trial and
tables. A mixin of :class:`~jupyter_hpo.study.Study` that reads the controller of a live
study and the record of a loaded one."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ..errors import StudyFailedError
from ..other_names import STUDY_NAMES, OtherNamesHint
from ..read_only import read_only_queue
from ..records import StudyRecord, StudyState, TrialRecord, TrialStatus, status_counts
from ..space import shown_value

if TYPE_CHECKING:
    from ..executors import Executor, FetchedNamespace
    from ..schedulers import Scheduler

__all__ = ["StudyReading", "TrialRecords"]


class TrialRecords(tuple):
    """``study.trials``: a tuple of records whose wrong index says what the trials are
    (``study.trials[99]`` was "tuple index out of range", ``trials['0']`` "tuple indices
    must be integers or slices, not str")."""

    def __getitem__(self, index: Any) -> Any:
        try:
            return super().__getitem__(index)
        except IndexError:
            if not self:
                raise IndexError(f"study.trials[{index!r}]: the study has no trial yet (a "
                                 f"trial is listed once it starts)") from None
            first, last = tuple.__getitem__(self, 0), tuple.__getitem__(self, -1)
            raise IndexError(f"study.trials[{index!r}]: the study has {len(self)} trials "
                             f"(ids {first.trial_id}..{last.trial_id}); study.trials[-1] is "
                             f"the last") from None
        except TypeError:
            if isinstance(index, str) and index.strip().lstrip("-").isdigit():
                raise TypeError(f"study.trials[{index!r}]: a trial is indexed by its id, an "
                                f"int: study.trials[{int(index)}]") from None
            raise TypeError(f"study.trials[{index!r}]: a trial is indexed by its id, an int "
                            f"(study.trials[0]); a hyperparameter of a trial is read from its "
                            f"config (study.trials[0].config['lr'])") from None

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple
        return tuple, (tuple(self),)


class StudyReading(OtherNamesHint):
    """Reading a study (see the module docstring)."""

    other_names = STUDY_NAMES  # Optuna's best_params, ... say what to write

    @property
    def state(self) -> StudyState:
        return self.controller.state if self.controller else self._record.state

    @property
    def done(self) -> bool:
        return self.controller.done if self.controller else True

    @property
    def error(self) -> StudyFailedError | None:
        if self.controller:
            return self.controller.error
        return StudyFailedError(self._record.error) if self._record.error else None

    @property
    def stop_reason(self) -> str:
        return self.controller.stop_reason if self.controller else self._record.stop_reason

    @property
    def stopped_at(self) -> float | None:
        """Seconds into the study at which it was asked to stop (live studies)."""
        return self.controller.stopped_at if self.controller else None

    @property
    def elapsed(self) -> float:
        return self.controller.elapsed if self.controller else self._record.elapsed

    @property
    def start_time(self) -> float | None:
        """When the study started, on its clock (a resumed study: shifted by the time it had
        already run, so ``elapsed`` counts both)."""
        return self.controller.start_time if self.controller else None

    @property
    def end_time(self) -> float | None:
        """When the study ended, on its clock (for a simulated clock: the simulated time)."""
        return self.controller.end_time if self.controller else None

    @property
    def workers(self) -> int | None:
        """Trials that run at once (live studies)."""
        return self.controller.workers if self.controller else None

    @property
    def executor(self) -> Executor | None:
        return self.controller.executor if self.controller else None

    @property
    def scheduler(self) -> Scheduler | None:
        return self.controller.scheduler if self.controller else None

    def snapshot(self) -> StudyRecord:
        """The whole study as a read-only record (a consistent copy while it runs)."""
        c = self.controller
        if c is None:
            return self._record
        with c._lock:
            trials = c.records_locked()
            state, elapsed, incumbents = c.state, c.elapsed, tuple(c.incumbents)
            error, stop_reason = c.error, c.stop_reason
            queue = c.queue.pending()
        return StudyRecord(self.name, self.metric, self.direction, self.resource, self.space,
                           self.settings, state, tuple(trials), elapsed,
                           "" if error is None else str(error), stop_reason, self.created,
                           time.time(), None, self.study_id, incumbents, queue)

    @property
    def trials(self) -> tuple[TrialRecord, ...]:
        """Every trial, as read-only records, in the order of their ids."""
        if self.controller is None:
            return TrialRecords(self._record.trials)
        return TrialRecords(self.controller.records())

    def trial_records(self, trial_ids: Iterable[int]) -> list[TrialRecord]:
        """Records of some trials, taken together."""
        if self.controller is None:
            return [self._record.trial(t) for t in trial_ids]
        return self.controller.records(list(trial_ids))

    def trial_output(self, trial_id: int, tail: int | None = None) -> str:
        """What a live trial printed (its last ``tail`` characters; stored studies keep no
        output)."""
        if self.controller is None:
            return ""
        return self.controller._trial(trial_id).output.tail(tail)

    @property
    def best_trial(self) -> TrialRecord | None:
        """The trial with the best reported value among those that did not fail; ``None``
        while no trial has reported the metric (a study just started, or whose trials all
        failed: ``best_summary()`` says which), as Ray Tune's ``get_best_trial`` (Optuna's
        ``best_trial`` raises ``ValueError`` instead), so that a running study can be read."""
        c = self.controller
        if c is None:
            return self._record.best_trial
        with c._lock:
            best = c.best_trial
            return None if best is None else c.records_locked([best.trial_id])[0]

    @property
    def best_value(self) -> float | None:
        """The best reported value of the metric, or ``None`` as ``best_trial``."""
        return self.controller.best_value if self.controller else self._record.best_value

    @property
    def best_config(self) -> dict[str, Any] | None:
        """The best trial's configuration (a new dict), or ``None`` as ``best_trial``."""
        best = self.best_trial
        return None if best is None else dict(best.config)

    def best_summary(self) -> str:
        """The best value, its trial and its configuration, one hyperparameter a line (what
        ``%hpo best`` and ``python -m jupyter_hpo best`` print)."""
        trial = self.best_trial
        if trial is None:
            return f"{self.name}: {no_value_text(self.trials, self.metric)}"
        head = (f"{self.name}: best {self.metric}={self.best_value:.6g} (trial "
                f"{trial.trial_id}, {trial.status})")
        return "\n".join([head, *(f"  {key} = {shown_value(value)}"
                                  for key, value in trial.config.items())])

    @property
    def best_namespace(self) -> dict[str, Any] | None:
        """The best trial's variables (live studies only; with processes and Dask, those
        brought back from its worker when the study ended)."""
        return self.controller.best_namespace if self.controller else None

    def namespace_of(self, trial_id: int) -> dict[str, Any] | None:
        """A trial's variables if they were kept (the best few with threads; the best
        trial's with processes and Dask, once the study has ended)."""
        return self.controller.namespace_of(trial_id) if self.controller else None

    def variables_of(self, trial_id: int) -> FetchedNamespace:
        """A trial's variables for ``apply``: kept ones, else fetched from its worker while
        the study's workers live; with a note on what was left out or why none came."""
        from ..executors._base import FetchedNamespace

        return self.controller.variables_of(trial_id) if self.controller \
            else FetchedNamespace(None)

    @property
    def queue(self) -> tuple[dict[str, Any], ...]:
        """Configurations enqueued (``enqueue``, ``points_to_evaluate``) not started yet, as
        read-only dicts (editing one would change nothing: ``enqueue`` queues another)."""
        if self.controller is None:
            return self._record.queue
        with self.controller._lock:
            pending = self.controller.queue.pending()
        return read_only_queue(pending)

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Run ``config`` next, before the searcher's own proposals (after what was enqueued
        before), as Optuna's ``enqueue_trial``. A partial configuration is completed by the
        searcher; a conditional hyperparameter needs the values its condition reads. It counts
        against the budget like any trial; stored studies keep it until a trial starts."""
        controller = self._live()
        config = self.space.matched_choices(config)
        self.space.check_partial(config, "the enqueued configuration")
        controller.enqueue(dict(config))

    def apply(self, trial_id: int | None = None,
              namespace: dict[str, Any] | None = None) -> str:
        """Put a trial (the best by default) into the notebook: all its variables when they
        were kept (thread executor: the best few trials; processes and Dask: the best trial,
        and any trial while the workers live), else its hyperparameters. Returns what was
        done. ``namespace`` defaults to the notebook's."""
        from ..applying import apply_trial, notebook_namespace

        if isinstance(trial_id, Mapping) and namespace is None:  # apply(globals())
            raise TypeError("apply() takes the trial id first, then the namespace: write "
                            "apply(namespace=globals()), or apply(ID, globals())")
        if namespace is not None and not isinstance(namespace, MutableMapping):
            call = " (call it: globals())" if namespace is globals else ""
            raise TypeError(f"apply() sets the trial's variables in namespace, which must be a "
                            f"dict such as globals(), not {shown_value(namespace)} "
                            f"({type(namespace).__name__}){call}")
        return apply_trial(self, trial_id, notebook_namespace() if namespace is None
                           else namespace)

    @property
    def spent(self) -> int:
        return self.controller.spent if self.controller else self._record.spent

    def counts(self) -> dict[str, int]:
        """Number of trials per status (every status listed)."""
        return status_counts(self.trials)

    def report_times(self, trial_id: int) -> list[float]:
        """Seconds since the study started at which each report of ``trial_id`` arrived."""
        return list(self.trial_records([trial_id])[0].times)

    def trials_dataframe(self, attrs: Iterable[str] | None = None) -> Any:
        """One row per trial (see the README for the columns); ``attrs`` picks columns, as
        Optuna's does (``("trial_id", "config", "user")``, ``("number", "value",
        "params")``, ...)."""
        return self.snapshot().trials_dataframe(attrs)

    def training_curves(self) -> Any:
        """One row per report: trial_id, the resource, every reported key, time."""
        return self.snapshot().training_curves()

    def incumbent_over_time(self) -> Any:
        """``time``, ``trial_id``, ``best_value``: one row per improvement."""
        return self.snapshot().incumbent_over_time()

    def plot(self, kind: str = "history", **options: Any) -> Any:
        """A matplotlib figure: ``history`` (the default), ``curves`` (``metric=`` another
        reported value), ``parallel``, ``contour``, ``importance``, ``importance-duration`` or
        ``incumbent`` (see the README)."""
        from ..plots import plot

        return plot(self.snapshot(), kind, **options)



def no_value_text(trials: Iterable[TrialRecord], metric: str) -> str:
    """Why a study has no best trial: its trials failed (how many, and the first error), or
    none has reported ``metric`` yet."""
    trials = list(trials)
    failed = [t for t in trials if t.status is TrialStatus.FAILED]
    if not failed:
        return f"no trial has reported {metric} yet"
    first = (failed[0].error or "no error text").splitlines()[0]
    return (f"no trial reported {metric} without failing: {len(failed)} of {len(trials)} "
            f"trials failed (trial {failed[0].trial_id}: {first})")
