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
    None for one that changes the study (enqueue, set) or is no expression."""
    for text in (instead.split(" (")[0], instead.split(" ")[0]):
        try:
            compile(text, "<entry>", "eval")
        except SyntaxError:
            continue
        return None if "enqueue(" in text or ".set(" in text else text
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


def test_a_property_that_fails_keeps_its_own_error():
    class Broken(OtherNamesHint):
        @property
        def best_config(self):
            return self.settings["config"]  # no settings: AttributeError inside the property

    with pytest.raises(AttributeError, match="'Broken' object has no attribute 'settings'"):
        _ = Broken().best_config
