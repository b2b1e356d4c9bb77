"""Optuna's, Ray Tune's, AutoGluon's and scikit-learn's names for what a study or a trial calls
otherwise here say what to write, and what they say works."""

from __future__ import annotations

import copy
import pickle

import pytest

import jupyter_hpo as jh
from jupyter_hpo import Real
from jupyter_hpo.other_names import STUDY_NAMES, TRIAL_NAMES, OtherNamesHint


@pytest.fixture(scope="module")
def study():
    def train(config, checkpoint):
        for epoch in range(1, 4):
            checkpoint({"epoch": epoch})
            jh.report(epoch=epoch, loss=config["x"] + 1 / epoch)

    return jh.tune(train, {"x": Real(0, 1)}, metric="loss", trials=4, seed=0)


def written(instead: str) -> str | None:
    """The expression an entry names first ("study.best_trial (and ...)" -> study.best_trial),
    None for one that changes the study (enqueue, set), writes a file (to_csv) or is no
    expression."""
    for text in (instead.split(" (")[0], instead.split(" ")[0]):
        try:
            compile(text, "<entry>", "eval")
        except SyntaxError:
            continue
        return None if any(call in text for call in ("enqueue(", ".set(", ".to_csv(")) \
            else text
    return None


@pytest.mark.parametrize("name", sorted(STUDY_NAMES))
def test_a_study_says_what_another_librarys_name_is_here(study, name):
    library, instead = STUDY_NAMES[name]
    with pytest.raises(AttributeError) as raised:
        getattr(study, name)
    assert str(raised.value) == (f"'Study' object has no attribute {name!r} ({library}'s "
                                 f"name): use {instead}" if library else
                                 f"'Study' object has no attribute {name!r}: use {instead}")
    expression = written(instead) or ""
    if expression.startswith(("study.", "len(study")):  # what it says to write works
        eval(expression, {"study": study})
    assert not hasattr(study.snapshot(), name)  # a record says the same


def test_the_seeds_and_a_readers_names_for_the_results_say_where_they_are(study):
    """BigDL-Nano's search_summary(), AutoGluon's get_best_task_id() and the results table
    as people name it got a bare AttributeError (or "did you mean 'trials'?")."""
    for name, says in (("search_summary", "(BigDL-Nano's name): use study.trials_dataframe()"),
                       ("get_best_task_id", "(AutoGluon's name): use study.best_trial.trial_id"),
                       ("trials_df", ": use study.trials_dataframe()")):
        with pytest.raises(AttributeError) as raised:
            getattr(study, name)
        assert str(raised.value).startswith(f"'Study' object has no attribute {name!r} {says}"
                                            if says[0] == "(" else
                                            f"'Study' object has no attribute {name!r}{says}")


@pytest.mark.parametrize("name", sorted(TRIAL_NAMES))
def test_a_trial_record_says_what_another_librarys_name_is_here(study, name):
    library, instead = TRIAL_NAMES[name]
    trial = study.best_trial
    with pytest.raises(AttributeError, match=rf"'TrialRecord' object has no attribute "
                                             rf"'{name}' \({library}'s name\): use "):
        getattr(trial, name)
    expression = written(instead) or ""
    if expression.startswith("trial."):
        eval(expression, {"trial": trial, "metric": "loss", "mode": "min"})


def test_inside_a_trial_optunas_calls_say_what_to_write():
    seen = {}

    def train(config, trial):
        for name in ("suggest_float", "should_prune", "set_user_attr", "params", "number"):
            try:
                getattr(trial, name)
            except AttributeError as error:
                seen[name] = str(error)
        trial.set(key=1)  # what set_user_attr's message says
        return config["x"]

    study = jh.tune(train, {"x": Real(0, 1)}, metric="loss", trials=1)
    assert seen["suggest_float"].startswith("'Trial' object has no attribute 'suggest_float' "
                                            "(Optuna's name): use a domain in the space given "
                                            "to tune() (space={'lr': Real(1e-5, 1e-1, ")
    assert "report(...) raises TrialStopped" in seen["should_prune"]
    assert seen["set_user_attr"].endswith("use trial.set(key=value)")
    assert seen["params"].endswith("use trial.config")
    assert seen["number"].endswith("use trial.trial_id")
    assert study.trials[0].user_attrs == {"key": 1}


def test_an_optuna_objective_is_refused_with_how_it_is_written_here():
    def objective(trial):
        return trial.suggest_float("lr", 1e-5, 1e-1, log=True)

    with pytest.raises(TypeError, match=r"takes \(trial\), but is called as fn\(config\) .*; an "
                                        r"Optuna objective\(trial\) that calls "
                                        r"trial.suggest_float\('lr', ...\) is written here as "
                                        r"def objective\(config\) reading config\['lr'\]"):
        jh.tune(objective, {"lr": Real(1e-5, 1e-1, log=True)}, metric="loss", trials=1)


def test_an_autogluon_train_fn_is_refused_with_how_it_is_written_here():
    """``def train_fn(args, reporter)`` was told to pass ``lambda config:
    train_fn(**config)``, as if args and reporter were hyperparameters."""
    def train_fn(args, reporter):
        reporter(epoch=1, accuracy=args.lr)

    with pytest.raises(TypeError) as info:
        jh.tune(train_fn, {"lr": Real(1e-5, 1e-1, log=True)}, metric="accuracy", trials=1)
    assert str(info.value).endswith(
        "; AutoGluon's train_fn(args, reporter) is written here as def train_fn(config, "
        "report): config['lr'] for args.lr, and report(epoch=..., accuracy=...) for "
        "reporter(...), with the space given to tune() instead of @ag.args")
    assert "lambda config" not in str(info.value)


def test_misspellings_name_the_nearest_attribute_and_nothing_else_changes(study):
    with pytest.raises(AttributeError, match=r"no attribute 'best_confg'; did you mean "
                                             r"'best_config'\?$"):
        _ = study.best_confg
    with pytest.raises(AttributeError, match=r"no attribute 'confg'; did you mean 'config'\?$"):
        _ = study.best_trial.confg
    with pytest.raises(AttributeError, match=r"^'Study' object has no attribute 'zzz'$"):
        _ = study.zzz
    assert getattr(study, "_repr_html_", None) is None and not hasattr(study, "__wrapped__")
    trial = study.best_trial
    assert pickle.loads(pickle.dumps(trial)).config == trial.config
    assert copy.deepcopy(trial).reports == trial.reports


@pytest.mark.parametrize("call, says", [
    (lambda s: s.apply(trial=0),
     ("Study.apply() got an unexpected keyword argument 'trial' (did you mean trial_id= instead "
     "of trial=?); it takes apply(trial_id=None, namespace=None)")),
    (lambda s: s.trials_dataframe(columns=["x"]),
     ("Study.trials_dataframe() got an unexpected keyword argument 'columns'; it takes "
     "trials_dataframe(attrs=None)")),
    (lambda s: s.wait(timeout_s=1),
     ("Study.wait() got an unexpected keyword argument 'timeout_s' (did you mean timeout= "
     "instead of timeout_s=?); it takes wait(timeout=None)")),
    (lambda s: s.apply(0, {}, 3),
     ("Study.apply() got too many positional arguments; it takes "
     "apply(trial_id=None, namespace=None)")),
])
def test_a_study_method_given_a_wrong_argument_names_itself_and_what_it_takes(study, call,
                                                                               says):
    """Python's TypeError named the internal class that defines the method
    ("StudyReading.apply() got an unexpected keyword argument 'trial'")."""
    with pytest.raises(TypeError) as info:
        call(study)
    assert str(info.value) == says
    assert study.apply(trial_id=study.best_trial.trial_id, namespace={}).startswith("applied")


def test_a_type_error_inside_a_study_method_is_its_own():
    """Only a call's wrong arguments are reworded; a TypeError of the method's work is not."""
    from jupyter_hpo.study._calls import public_calls

    @public_calls
    class Reader:
        def total(self, values):
            return sum(values)

    with pytest.raises(TypeError, match=r"^unsupported operand type"):
        Reader().total(["a"])
    with pytest.raises(TypeError, match=r"^Reader.total\(\) is missing a required "
                                        r"argument: 'values'; it takes total\(values\)$"):
        Reader().total()


def test_a_property_that_fails_keeps_its_own_error():
    class Broken(OtherNamesHint):
        @property
        def best_config(self):
            return self.settings["config"]  # no settings: AttributeError inside the property

    with pytest.raises(AttributeError, match="'Broken' object has no attribute 'settings'"):
        _ = Broken().best_config


# ---------------------------------------------------------------- scheduler, searcher, executor
def objective(config):
    return config["x"]


def tune_error(**choice) -> str:
    with pytest.raises(ValueError) as info:
        jh.tune(objective, {"x": Real(0, 1)}, metric="loss", mode="min", trials=2,
                storage="none", **choice)
    return str(info.value)


@pytest.mark.parametrize("choice, says", [
    ({"scheduler": "asha"}, "'asha' (Ray Tune's and Syne Tune's name) here is 'hyperband'"),
    ({"scheduler": "ASHA"}, "'ASHA' (Ray Tune's and Syne Tune's name) here is 'hyperband'"),
    ({"scheduler": "Hyperband"}, "; did you mean 'hyperband'?"),
    ({"scheduler": "hyperbnd"}, "; did you mean 'hyperband'?"),
    ({"scheduler": "bayesopt"}, "'bayesopt' is a searcher: searcher='bayesopt'"),
    ({"searcher": "optuna"}, "'optuna' here is 'tpe' (Optuna's default sampler)"),
    ({"searcher": "hyperband"}, "'hyperband' is a scheduler: scheduler='hyperband'"),
    ({"searcher": "bayseopt"}, "; did you mean 'bayesopt'?"),
    ({"executor": "mp"}, "'mp' here is 'process'"),
    ({"executor": "threads"}, "'threads' here is 'thread'"),
])
def test_another_librarys_scheduler_searcher_or_executor_name_says_what_it_is_here(choice,
                                                                                  says):
    message = tune_error(**choice)
    assert message.startswith(f"{next(iter(choice))} is {next(iter(choice.values()))!r}, but "
                              f"must be one of")
    assert message.endswith(says) or f"{says} (" in message or f"{says}," in message


def test_a_name_nothing_resembles_gets_only_the_list():
    assert tune_error(searcher="xyz").endswith("'skopt', 'tpe']")


@pytest.mark.parametrize("kind", ["scheduler", "searcher", "executor"])
def test_every_name_in_the_tables_points_to_a_name_that_exists(kind):
    """The first quoted name each entry gives is one that tune() takes, for that kind or, where
    the entry says so, for the other."""
    from jupyter_hpo.executors import EXECUTORS
    from jupyter_hpo.other_names import EXECUTOR_NAMES, SCHEDULER_NAMES, SEARCHER_NAMES
    from jupyter_hpo.schedulers import SCHEDULERS
    from jupyter_hpo.searchers import SEARCHERS

    table = {"scheduler": SCHEDULER_NAMES, "searcher": SEARCHER_NAMES,
             "executor": EXECUTOR_NAMES}[kind]
    for name, (_, meaning) in table.items():
        first = meaning.split("'")[1]
        other = "the searcher" in meaning or "the scheduler" in meaning
        known = {"scheduler": SCHEDULERS, "searcher": SEARCHERS, "executor": EXECUTORS}[kind]
        assert first in (set(SCHEDULERS) | set(SEARCHERS) if other else known), (name, meaning)
        assert name not in known  # an entry never shadows a real name


def test_the_magic_says_it_for_its_choices_too(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    result = ipython_shell.run_cell("%%hpo --scheduler asha --storage none --quiet\n"
                                    "x = Real(0, 1)\nfor epoch in range(1, 3):\n"
                                    "    report(epoch=epoch, loss=x)")
    assert "invalid choice: 'asha'" in str(result.error_in_exec)
    assert "here is 'hyperband'" in str(result.error_in_exec)
    result = ipython_shell.run_cell("%%hpo --executor processes --storage none --quiet\n"
                                    "x = Real(0, 1)\nloss = x")
    assert str(result.error_in_exec).endswith("'processes' here is 'process'")


@pytest.mark.parametrize("options, says", [
    ({"scheduler": "hyperband", "scheduler_options": {"max_t": 3, "eta": 3}},
     "did you mean reduction_factor instead of eta?"),
    ({"scheduler": "auto", "scheduler_options": {"max_epochs": 3}},
     "did you mean max_t instead of max_epochs?"),
    ({"searcher": "bayesopt", "searcher_options": {"n_initial_points": 3}},
     "did you mean num_init_random instead of n_initial_points?"),
])
def test_another_librarys_option_name_names_ours(options, says):
    assert tune_error(**options).endswith(says)


@pytest.mark.parametrize("option, says", [
    ({"n_trials": 3}, "n_trials is Optuna's name: did you mean trials=...?"),
    ({"num_samples": 3}, "num_samples is Ray Tune's name: did you mean trials=...?"),
    ({"n_jobs": 2}, "n_jobs is Optuna's name: did you mean workers=...?"),
    ({"timeout": 5}, "timeout is Optuna's name: did you mean time_limit=...?"),
    ({"direction": "minimize"}, "direction is Optuna's name: did you mean mode=...?"),
    ({"sampler": "tpe"}, "sampler is Optuna's name: did you mean searcher=...?"),
    ({"jobs": 2}, "jobs means workers: did you mean workers=...?"),
    ({"epochs": 20}, ("epochs means max_t: max_t is a scheduler option: pass "
                      "scheduler_options={'max_t': ...}")),
    ({"eta": 3}, ("eta is the Hyperband paper's name: reduction_factor is a scheduler option: "
                  "pass scheduler_options={'reduction_factor': ...}")),
    ({"enqueue": [{"x": 0.5}]},  # the magic's --enqueue; it gave no hint
     "enqueue is %%hpo's name: did you mean points_to_evaluate=...?"),
])
def test_tune_names_its_option_for_another_librarys(option, says):
    with pytest.raises(TypeError) as info:
        jh.tune(objective, {"x": Real(0, 1)}, metric="loss", mode="min", storage="none",
                **option)
    assert f"unknown option {next(iter(option))}=...; {says}" in str(info.value)


@pytest.mark.parametrize("option, says", [
    ({"n_trials": 3}, "n_trials is Optuna's name: did you mean trials=...?"),
    ({"timeout": 5}, "timeout is Optuna's name: did you mean time_limit=...?"),
    ({"trails": 3}, "did you mean trials=...?"),
    ({"max_t": 9}, "max_t is a scheduler option: pass scheduler_options={'max_t': ...}"),
])
def test_study_names_its_option_as_tune_does(option, says):
    """Study(train, space, n_trials=3) said "StudyOptions.__init__() got an unexpected keyword
    argument 'n_trials'", a class the user never wrote, with no hint."""
    with pytest.raises(TypeError) as info:
        jh.Study(objective, {"x": Real(0, 1)}, metric="loss", mode="min", **option)
    assert str(info.value).startswith(f"Study() got an unknown option {next(iter(option))}=...; "
                                      f"{says}")
    with pytest.raises(TypeError, match=r"^Study\(\) needs metric=\.\.\., the name of the "
                                        r"value to optimise"):
        jh.Study(objective, {"x": Real(0, 1)}, mode="min")


@pytest.mark.parametrize("option, says", [
    ({"reward_attr": "accuracy"}, "reward_attr is AutoGluon's name: did you mean metric=...?"),
    ({"target_metric": "accuracy"},
     "target_metric is BigDL-Nano's name: did you mean metric=...?"),
    ({"metric": "accuracy", "time_attr": "epoch"},
     "time_attr is AutoGluon's name: did you mean resource=...?"),
    ({"metric": "accuracy", "time_out": 60},
     "time_out is AutoGluon's name: did you mean time_limit=...?"),
    ({"metric": "accuracy", "n_parallels": 2},
     "n_parallels is BigDL-Nano's name: did you mean workers=...?"),
])
def test_tune_names_the_seeds_options_even_without_a_metric(option, says):
    """An AutoGluon user's tune(train, space, reward_attr="accuracy", ...) got Python's
    "tune() missing 1 required keyword-only argument: 'metric'", not what to write."""
    with pytest.raises(TypeError) as info:
        jh.tune(objective, {"x": Real(0, 1)}, mode="max", storage="none", **option)
    assert f"unknown option {list(option)[-1]}=...; {says}" in str(info.value)
    with pytest.raises(TypeError, match=r"^tune\(\) needs metric=\.\.\., the name of the value "
                                        r"to optimise that fn reports or returns"):
        jh.tune(objective, {"x": Real(0, 1)}, mode="max", storage="none")
    with pytest.raises(ValueError, match=r"^resource is \{'num_cpus': 2, 'num_gpus': 0\}, "
                                         r"AutoGluon's resources per trial: here write "
                                         r"cpus_per_trial=2, gpus_per_trial=0; resource names"):
        jh.tune(objective, {"x": Real(0, 1)}, metric="loss", storage="none",
                resource={"num_cpus": 2, "num_gpus": 0})


@pytest.mark.parametrize("written, meant", [
    ("--n-trials 3", "--trials"), ("--num-samples 3", "--trials"), ("--n-jobs 2", "--workers"),
    ("--timeout 5", "--time-limit"), ("--direction min", "--mode"), ("--sampler tpe", "--searcher"),
    ("--pruner hyperband", "--scheduler"), ("--eta 3", "--reduction-factor"),
    ("--max-epochs 3", "--max-t"), ("--trails 3", "--trials"),
    ("--db x.db", "--storage"), ("--sqlite x.db", "--storage"), ("--study s", "--name"),
    ("--jobs 2", "--workers"), ("--epochs 3", "--max-t"), ("--algo tpe", "--searcher"),
    ("--maximize", "--mode max"), ("--minimize", "--mode min"), ("--no-dashboard", "--quiet"),
    ("--async", "--background"), ("--seed-value 3", "--seed"),
    ("--budget 5", "--trials (a number of trials) or --time-limit (a duration)"),
    ("--min-pairs 3", "--scheduler-opt min_pairs=..."),
    ("--n-startup-trials 3", "--searcher-opt n_startup=... (an option of tpe)"),
    ("--kernel matern52", "--searcher-opt kernel=... (an option of bayesopt and auto)"),
])
def test_the_magic_names_its_option_for_another_librarys(ipython_shell, written, meant):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    result = ipython_shell.run_cell(f"%%hpo {written} --storage none --quiet\n"
                                    "x = Real(0, 1)\nloss = x")
    option = written.split()[0]
    assert f"did you mean {meant} instead of {option}?" in str(result.error_in_exec)


def test_an_unknown_option_with_no_near_one_names_none(ipython_shell):
    """Only names that are close count: --verbose is like none of ours (compared with their
    dashes, as before, --db was "--seed" and --sqlite "--quiet")."""
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    result = ipython_shell.run_cell("%%hpo --verbose --storage none --quiet\n"
                                    "x = Real(0, 1)\nloss = x")
    assert str(result.error_in_exec) == "unrecognized arguments: --verbose"


def test_every_flag_alias_names_a_flag_of_the_magic():
    from jupyter_hpo.magic._magics import HPOMagics, _options_of
    from jupyter_hpo.other_names import FLAG_NAMES

    flags = _options_of(HPOMagics.hpo)
    assert all(meant.split()[0] in flags for meant in FLAG_NAMES.values())
    assert not {"--" + name.replace("_", "-") for name in FLAG_NAMES} & set(flags)


def test_every_option_alias_names_an_option_that_exists():
    """Each other library's name points to an option of tune(), a scheduler or a searcher,
    and none is itself an option of tune() or of a scheduler."""
    import dataclasses

    from jupyter_hpo.options import StudyOptions
    from jupyter_hpo.other_names import OPTION_NAMES
    from jupyter_hpo.schedulers import SCHEDULERS
    from jupyter_hpo.searchers import SEARCHERS, searcher_class

    top = {f.name for f in dataclasses.fields(StudyOptions)}
    top |= {o for cls in SCHEDULERS.values() for o in cls.OPTIONS}
    searchers = {o for name in SEARCHERS for o in searcher_class(name).OPTIONS}
    assert {ours for _, ours in OPTION_NAMES.values()} <= top | searchers
    assert not set(OPTION_NAMES) & top
    # another searcher's own option (tpe's, skopt's, bohb's) is named only where it is unknown
    assert set(OPTION_NAMES) & searchers == {"n_ei_candidates", "n_initial_points",
                                             "num_samples"}


def test_a_cell_without_hyperparameters_says_where_it_wrote_another_librarys_space(
        ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    ipython_shell.user_ns["tune"] = type("Tune", (), {"loguniform": staticmethod(min)})
    try:
        result = ipython_shell.run_cell("%%hpo --storage none --quiet\n"
                                        "lr = tune.loguniform(1e-4, 1e-1)\nloss = lr")
    finally:
        del ipython_shell.user_ns["tune"]
    message = str(result.error_in_exec)
    assert message.startswith("the cell has no hyperparameters: mark them inline")
    assert message.endswith("; cell line 2 calls tune.loguniform(...), Ray Tune's way of "
                            "writing a search space: write Real(..., log=True) there instead")


def test_a_cell_with_autogluons_spaces_says_to_write_ours(ipython_shell):
    """``lr = ag.space.Real(lower=1e-4, upper=1e-1, log=True)``, as the seeds write a space,
    got only "the cell has no hyperparameters"."""
    import types

    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    space = types.SimpleNamespace(Real=lambda **kw: kw["lower"], Int=lambda **kw: kw["lower"])
    ipython_shell.user_ns["ag"] = types.SimpleNamespace(space=space)
    try:
        result = ipython_shell.run_cell(
            "%%hpo --storage none --quiet\nunits = 64\n"
            "lr = ag.space.Real(lower=1e-4, upper=1e-1, log=True)\nloss = lr")
    finally:
        del ipython_shell.user_ns["ag"]
    assert str(result.error_in_exec).endswith(
        "; cell line 3 calls ag.space.Real(...), AutoGluon's way of writing a search space: "
        "write Real(...) (which takes lower= and upper= too) there instead")
