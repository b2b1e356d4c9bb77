"""A trial that misspells a name (``Report(...)``, a variable) says which name it meant, as
Python 3.12 says it, also on Python 3.10 and 3.11, whose ``traceback`` module does not."""

from __future__ import annotations

import pytest

from jupyter_hpo import Study, StudyFailedError
from jupyter_hpo.annotate import parse_cell
from jupyter_hpo.objective import CellObjective, FunctionObjective
from jupyter_hpo.space import Real, Space


def failed_trial(source: str, user_ns: dict, executor: str = "thread"):
    """The first trial of a study of the cell ``source``, which fails."""
    template = parse_cell(source, user_ns)
    study = Study(CellObjective(template, user_ns, "loss"), template.space, metric="loss",
                  mode="min", trials=1, workers=1, seed=0, executor=executor)
    with pytest.raises(StudyFailedError):
        study.run()
    return study.trials[0]


@pytest.mark.parametrize(("source", "user_ns", "wrong", "meant"), [
    ("x = Real(0, 1)\nReport(epoch=1, loss=x)\n", {}, "Report", "report"),
    ("x = Real(0, 1)\nreprot(epoch=1, loss=x)\n", {}, "reprot", "report"),
    ("x = Real(0, 1)\nloss = x * len(train_loder)\n", {"train_loader": [1, 2]}, "train_loder",
     "train_loader"),
    ("x = Real(0, 1)\nlearning_rate = x\nloss = learning_rat * 2\n", {}, "learning_rat",
     "learning_rate"),
])
def test_a_misspelt_name_in_a_cell_says_which_name_it_meant(source, user_ns, wrong, meant):
    trial = failed_trial(source, user_ns)
    message = f"NameError: name {wrong!r} is not defined. Did you mean: {meant!r}?"
    assert trial.error == message
    assert trial.traceback.rstrip().splitlines()[-1] == message
    assert trial.traceback.count("Did you mean") == 1  # not twice on Python 3.12+


def test_a_misspelt_report_in_a_worker_process_says_which_name_it_meant():
    trial = failed_trial("x = Real(0, 1)\nReport(epoch=1, loss=x)\n", {}, executor="process")
    message = "NameError: name 'Report' is not defined. Did you mean: 'report'?"
    assert trial.error == message
    assert trial.traceback.rstrip().splitlines()[-1] == message


def test_a_function_objective_is_told_the_parameter_it_misspelt():
    def objective(config, report):
        Report(epoch=1, loss=config["x"])  # noqa: F821 - the misspelling under test

    study = Study(FunctionObjective(objective, "loss"), Space({"x": Real(0, 1)}),
                  metric="loss", mode="min", trials=1, workers=1, seed=0)
    with pytest.raises(StudyFailedError):
        study.run()
    assert study.trials[0].error.endswith("Did you mean: 'report'?")


def test_a_name_close_to_none_the_trial_sees_gets_no_guess():
    trial = failed_trial("x = Real(0, 1)\nloss = x + qzxwv\n", {})
    assert trial.error == "NameError: name 'qzxwv' is not defined"
    assert "Did you mean" not in trial.traceback
