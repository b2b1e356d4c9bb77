"""What other HPO libraries call the attributes of a study or a trial that are named otherwise
here, so that ``study.best_params`` (Optuna), ``result_grid.get_best_result()`` (Ray Tune) or
``scheduler.get_best_config()`` (AutoGluon) written out of habit says what to write instead of
a bare ``AttributeError``; other misspellings name the nearest attribute. Likewise for the
names of schedulers and searchers (``scheduler="asha"``, ``searcher="optuna"``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar

#: name -> (the library that uses it, or "", what to write here)
STUDY_NAMES: dict[str, tuple[str, str]] = {
    "best_params": ("Optuna", "study.best_config"),
    "best_trials": ("Optuna", "study.best_trial (one metric, one best trial)"),
    "get_trials": ("Optuna", "study.trials"),
    "n_trials": ("Optuna", "len(study.trials)"),
    "optimize": ("Optuna", ("tune(fn, space, ...), which runs a study (a Study(...) runs with "
                           ".run())")),
    "enqueue_trial": ("Optuna", "study.enqueue(config)"),
    "set_user_attr": ("Optuna", ("trial.set(key=value) inside the objective (attributes belong "
                                "to trials here)")),
    "user_attrs": ("Optuna", ("the user.<key> columns of study.trials_dataframe() (each trial's "
                             "trial.user_attrs)")),
    "best_trial_id": ("", "study.best_trial.trial_id"),
    "get_best_result": ("Ray Tune", ("study.best_trial (and study.best_config, "
                                    "study.best_value)")),
    "get_dataframe": ("Ray Tune", "study.trials_dataframe()"),
    "dataframe": ("Ray Tune", "study.trials_dataframe()"),
    "results": ("Ray Tune", "study.trials"),
    "results_df": ("Ray Tune", "study.trials_dataframe()"),
    "best_result": ("Ray Tune", ("study.best_trial.reports[-1] (the best value: "
                                "study.best_value)")),
    "best_checkpoint": ("Ray Tune", ("study.best_trial.checkpoint (study.best_trial.restore() "
                                    "loads it)")),
    "get_best_config": ("AutoGluon", "study.best_config"),
    "get_best_reward": ("AutoGluon", "study.best_value"),
    "get_training_curves": ("AutoGluon", ("study.training_curves() (a table) or "
                                         "study.plot('curves')")),
    "training_history": ("AutoGluon", "study.training_curves()"),
    "join_jobs": ("AutoGluon", "study.wait()"),
    "get_best_task_id": ("AutoGluon", "study.best_trial.trial_id"),
    "search_summary": ("BigDL-Nano", ("study.trials_dataframe() (one row per trial; %hpo show "
                                      "NAME shows the study's summary)")),
    "trials_df": ("", "study.trials_dataframe()"),
    "best_params_": ("scikit-learn", "study.best_config"),
    "best_score_": ("scikit-learn", "study.best_value"),
    "cv_results_": ("scikit-learn", "study.trials_dataframe()"),
    "leaderboard": ("AutoGluon", ("study.trials_dataframe() (a row per trial, the "
                                 "metric a column of its own to sort by)")),
    "results_table": ("", "study.trials_dataframe()"),
    "results_dataframe": ("", "study.trials_dataframe()"),
    "to_dataframe": ("", "study.trials_dataframe()"),
    "to_pandas": ("", "study.trials_dataframe()"),
    "df": ("", "study.trials_dataframe()"),
    "best_score": ("", "study.best_value"),
    "best_metric": ("", "study.best_value"),
    "best_model": ("", ("the best trial's variables, which %%hpo puts into the notebook "
                        "(study.best_namespace), or study.best_trial.restore() for its "
                        "checkpoint")),
    "best_estimator_": ("scikit-learn", ("the best trial's variables, which %%hpo puts into the "
                                        "notebook (study.apply(); study.best_namespace)")),
    # the dashboard's button and the %hpo commands, as methods
    "apply_best": ("", ("study.apply() (the dashboard's Apply best; study.apply(trial_id) "
                        "another trial)")),
    "export": ("", ("study.trials_dataframe().to_csv('trials.csv') (%hpo export NAME "
                    "trials.csv in a notebook)")),
    "show": ("", ("%hpo show NAME in a notebook, or study.best_summary() and "
                  "study.trials_dataframe()")),
}

_SUGGEST = ("Optuna", ("a domain in the space given to tune() (space={'lr': Real(1e-5, 1e-1, "
                      "log=True)}, Int, Categorical) or marked in the %%hpo cell; the trial's "
                      "value is config['lr']"))

#: the same for a trial, its record and the ``trial`` a running objective gets
TRIAL_NAMES: dict[str, tuple[str, str]] = {
    "number": ("Optuna", "trial.trial_id"),
    "params": ("Optuna", "trial.config"),
    "state": ("Optuna", "trial.status"),
    "value": ("Optuna", ("trial.best(metric, mode) (its best reported value) or "
                        "trial.reports[-1] (its last report)")),
    "values": ("Optuna", "trial.best(metric, mode) or trial.reports[-1]"),
    "intermediate_values": ("Optuna", ("trial.reports (one dict per report(), with the "
                                      "resource)")),
    "datetime_start": ("Optuna", "trial.start_time (epoch seconds)"),
    "datetime_complete": ("Optuna", "trial.end_time (epoch seconds)"),
    "set_user_attr": ("Optuna", "trial.set(key=value)"),
    "suggest_float": _SUGGEST,
    "suggest_int": _SUGGEST,
    "suggest_categorical": _SUGGEST,
    "suggest_uniform": _SUGGEST,
    "suggest_loguniform": _SUGGEST,
    "suggest_discrete_uniform": _SUGGEST,
    "should_prune": ("Optuna", ("nothing instead: report(...) raises TrialStopped when the "
                               "scheduler stops the trial, which ends it there")),
    "report": ("Optuna", ("report(epoch=step, <metric>=value), imported from jupyter_hpo or "
                         "taken as a parameter: def fn(config, report)")),
    "last_result": ("Ray Tune", "trial.reports[-1]"),
    "metrics": ("Ray Tune", "trial.reports[-1]"),
    "metrics_dataframe": ("Ray Tune", ("study.training_curves() (a row per report of every "
                                      "trial)")),
}


#: scheduler names of other libraries -> (the libraries that use it, what it is here)
SCHEDULER_NAMES: dict[str, tuple[str, str]] = {
    "asha": ("Ray Tune's and Syne Tune's", "'hyperband', whose default type 'stopping' is ASHA"),
    "async_hyperband": ("Ray Tune's", "'hyperband' (asynchronous, as ASHA)"),
    "asynchyperband": ("Ray Tune's", "'hyperband' (asynchronous, as ASHA)"),
    "hyperband_stopping": ("Syne Tune's", "'hyperband' (type 'stopping', its default)"),
    "hyperband_promotion": ("Syne Tune's", ("'hyperband' with type 'promotion' (--type "
                                            "promotion, scheduler_options={'type': "
                                            "'promotion'})")),
    "successive_halving": ("Optuna's", "'hyperband' (one bracket, its default)"),
    "sha": ("", "'hyperband' (one bracket, its default, is successive halving)"),
    "median": ("Ray Tune's and Optuna's", ("'auto' (which stops early where early results "
                                          "are found to predict final ones) or 'hyperband' "
                                          "(there is no median rule)")),
    "median_stopping": ("Ray Tune's", "'auto' or 'hyperband' (there is no median rule)"),
    "mobster": ("Syne Tune's", "'hyperband' with the searcher 'bayesopt'"),
    "bohb": ("", "the searcher 'bohb', with the scheduler 'hyperband'"),
    "none": ("", "'fifo', which runs every trial to the end"),
}

#: searcher names of other libraries -> (the libraries that use it, what it is here)
SEARCHER_NAMES: dict[str, tuple[str, str]] = {
    "optuna": ("", "'tpe' (Optuna's default sampler)"),
    "hyperopt": ("", "'tpe' (Hyperopt's algorithm)"),
    "bo": ("", "'bayesopt' (a Gaussian process) or 'skopt'"),
    "bayesian": ("", "'bayesopt' (a Gaussian process) or 'skopt'"),
    "bayesian_optimization": ("", "'bayesopt' (a Gaussian process) or 'skopt'"),
    "gp": ("", "'bayesopt' (a Gaussian process) or 'skopt'"),
    "random_search": ("", "'random'"),
    "grid_search": ("", "'grid'"),
    "kde": ("Syne Tune's", "'bohb' (kernel density models per rung)"),
    "mobster": ("Syne Tune's", "'bayesopt' with the scheduler 'hyperband'"),
}

#: Optuna's plot functions (which BigDL-Nano's hpo.visualization re-exports), without their
#: ``plot_``, and other names for the plots -> (whose, the kind here)
PLOT_NAMES: dict[str, tuple[str, str]] = {
    "optimization_history": ("Optuna's and BigDL-Nano's", "history"),
    "intermediate_values": ("Optuna's and BigDL-Nano's", "curves"),
    "param_importances": ("Optuna's and BigDL-Nano's", "importance"),
    "parallel_coordinate": ("Optuna's and BigDL-Nano's", "parallel"),
    "learning_curves": ("", "curves"),
    "training_curves": ("AutoGluon's", "curves"),
}

#: executor names people reach for -> what they are here
EXECUTOR_NAMES: dict[str, tuple[str, str]] = {
    "processes": ("", "'process'"),
    "multiprocessing": ("", "'process'"),
    "mp": ("", "'process'"),
    "threads": ("", "'thread'"),
    "threading": ("", "'thread'"),
    "distributed": ("", "'dask' (a Dask cluster through distributed)"),
}

#: the two arguments of tune() as other libraries name them -> (whose name, or "", ours)
ARGUMENT_NAMES: dict[str, tuple[str, str]] = {
    "param_space": ("Ray Tune's", "space"),
    "config": ("Ray Tune's", "space"),
    "config_space": ("Syne Tune's", "space"),
    "search_space": ("", "space"),
    "search_spaces": ("scikit-optimize's", "space"),
    "param_distributions": ("scikit-learn's", "space"),
    "objective": ("", "fn"),
    "trainable": ("Ray Tune's", "fn"),
    "train_fn": ("AutoGluon's", "fn"),
    "func": ("", "fn"),
    "function": ("", "fn"),
}

#: options of tune(), %%hpo, the schedulers and the searchers as other libraries (or the
#: Hyperband paper) name them -> (whose name, or "", ours)
OPTION_NAMES: dict[str, tuple[str, str]] = {
    "n_trials": ("Optuna's", "trials"),
    "reward_attr": ("AutoGluon's", "metric"),
    "target_metric": ("BigDL-Nano's", "metric"),
    "time_attr": ("AutoGluon's", "resource"),
    "time_out": ("AutoGluon's", "time_limit"),
    "search_options": ("AutoGluon's", "searcher_options"),
    "n_parallels": ("BigDL-Nano's", "workers"),
    "num_samples": ("Ray Tune's", "trials"),
    "num_trials": ("AutoGluon's", "trials"),
    "n_jobs": ("Optuna's", "workers"),
    "max_concurrent_trials": ("Ray Tune's", "workers"),
    "n_workers": ("Syne Tune's", "workers"),
    "num_workers": ("", "workers"),
    "timeout": ("Optuna's", "time_limit"),
    "time_budget_s": ("Ray Tune's", "time_limit"),
    "max_wallclock_time": ("Syne Tune's", "time_limit"),
    "direction": ("Optuna's", "mode"),
    "sampler": ("Optuna's", "searcher"),
    "search_alg": ("Ray Tune's", "searcher"),
    "pruner": ("Optuna's", "scheduler"),
    "study_name": ("Optuna's", "name"),
    "load_if_exists": ("Optuna's", "resume"),
    "random_state": ("", "seed"),
    "eta": ("the Hyperband paper's", "reduction_factor"),
    "max_epochs": ("", "max_t"),
    "max_resource": ("", "max_t"),
    "max_budget": ("", "max_t"),
    "r_max": ("", "max_t"),
    "min_t": ("", "grace_period"),
    "min_resource": ("", "grace_period"),
    "min_budget": ("", "grace_period"),
    "r_min": ("", "grace_period"),
    "db": ("", "storage"),
    "database": ("", "storage"),
    "db_path": ("", "storage"),
    "sqlite": ("", "storage"),
    "study": ("", "name"),
    "jobs": ("", "workers"),
    "parallel": ("", "workers"),
    "parallelism": ("", "workers"),
    "concurrency": ("", "workers"),
    "max_concurrent": ("Ray Tune's", "workers"),
    "epochs": ("", "max_t"),
    "num_epochs": ("", "max_t"),
    "n_epochs": ("", "max_t"),
    "algo": ("Hyperopt's", "searcher"),
    "algorithm": ("", "searcher"),
    "search_algorithm": ("", "searcher"),
    "early_stopping": ("", "scheduler"),
    "monitor": ("Keras's and Lightning's", "metric"),
    "n_startup_trials": ("Optuna's", "n_startup"),
    "n_initial_points": ("scikit-optimize's", "num_init_random"),
    "n_ei_candidates": ("Optuna's", "num_candidates"),
    "enqueue": ("%%hpo's", "points_to_evaluate"),
}


#: words written as ``%%hpo`` options that mean one of its flags with a value, or a flag only
#: the magic has (tune() has no dashboard) -> what to write
FLAG_NAMES: dict[str, str] = {
    "maximize": "--mode max",
    "maximise": "--mode max",
    "minimize": "--mode min",
    "minimise": "--mode min",
    "no_dashboard": "--quiet",
    "no_widgets": "--quiet",
    "no_display": "--quiet",
    "no_progress_bar": "--quiet",
    "silent": "--quiet",
    "async": "--background",
    "no_wait": "--background",
    "nowait": "--background",
    "continue": "--resume",
    "objective": "--metric",
    "budget": "--trials (a number of trials) or --time-limit (a duration)",
}


def other_choice(kind: str, value: Any, choices: Iterable[str]) -> str:
    """What an unknown scheduler, searcher or executor name (``kind``) means here, as the end
    of an error message: another library's name, a scheduler given as a searcher (or the
    other way round), or the nearest spelling of one of ``choices``; ``""`` when there is
    nothing to say."""
    if not isinstance(value, str):
        return ""
    choices = list(choices)
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key in choices:
        return f"; did you mean {key!r}?"
    tables = {"scheduler": SCHEDULER_NAMES, "searcher": SEARCHER_NAMES,
              "executor": EXECUTOR_NAMES}
    library, meaning = tables[kind].get(key, ("", ""))
    if meaning:
        return f"; {value!r} ({library} name) here is {meaning}" if library \
            else f"; {value!r} here is {meaning}"
    other = {"scheduler": "searcher", "searcher": "scheduler"}.get(kind)
    if other and key in _registry(other):
        return f"; {key!r} is a {other}: {other}={key!r} (--{other} {key})"
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _registry(kind: str) -> Iterable[str]:
    """The names ``make_scheduler`` or ``make_searcher`` know."""
    if kind == "scheduler":
        from .schedulers import SCHEDULERS

        return SCHEDULERS
    from .searchers import SEARCHERS

    return SEARCHERS


def missing_attribute(obj: Any, name: str, names: dict[str, tuple[str, str]]
                      ) -> AttributeError:
    """The error for ``obj.name``: what to write when another library uses ``name``, else the
    nearest public attribute, if one is close."""
    message = f"{type(obj).__name__!r} object has no attribute {name!r}"
    if not name.startswith("_"):
        if name in names:
            library, instead = names[name]
            message += f" ({library}'s name): use {instead}" if library \
                else f": use {instead}"
        else:
            public = [a for a in dir(obj) if not a.startswith("_")]
            close = difflib.get_close_matches(name, public, n=1, cutoff=0.7)
            if close:
                message += f"; did you mean {close[0]!r}?"
    error = AttributeError(message)
    error.name = name  # Python's own "Did you mean" would repeat the hint (it needs obj too)
    return error


class OtherNamesHint:
    """A mixin whose missing public attributes raise ``missing_attribute``'s error with the
    names in ``other_names``."""

    other_names: ClassVar[dict[str, tuple[str, str]]] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # dunder probes (pickle, IPython's display) stay cheap
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if hasattr(type(self), name):  # a property that raised AttributeError: its own error
            return object.__getattribute__(self, name)
        raise missing_attribute(self, name, self.other_names)
