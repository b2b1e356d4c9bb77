"""A resume continues the study as it ran: the method options the resume leaves out (scheduler,
searcher, their options, seed, mode, resource) come from the stored settings; those given that
differ keep their own behaviour (another method: allowed and noted; another metric, mode or
resource: refused)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import jupyter_hpo as jh
from jupyter_hpo import Real, Study
from jupyter_hpo.errors import HPOError

SPACE = {"x": Real(0, 1)}


def objective(config):
    for step in range(1, 10):
        jh.report(step=step, score=config["x"] * step)


def first_run(path):
    return jh.tune(objective, SPACE, metric="score", mode="min", trials=4, seed=3,
                   resource="step", scheduler="hyperband",
                   scheduler_options={"max_t": 9, "grace_period": 2, "reduction_factor": 2},
                   searcher="random", storage=path, name="m")


def test_tune_resume_without_the_method_options_keeps_the_stored_ones(tmp_path, capsys):
    path = tmp_path / "r.db"
    first_run(path)
    before = Study.load("m", path).settings
    capsys.readouterr()
    resumed = jh.tune(objective, SPACE, metric="score", trials=6, storage=path, name="m",
                      resume=True)
    out = capsys.readouterr().out
    settings = Study.load("m", path).settings
    for key in ("scheduler", "searcher", "scheduler_options", "searcher_options", "seed"):
        assert settings[key] == before[key], key
    assert resumed.mode == "min" and resumed.resource == "step"  # not inferred from 'score'
    assert "another method" not in out
    assert ("m continues as it ran, with its stored seed 3; scheduler 'hyperband'; "
            "scheduler options max_t=9, grace_period=2, reduction_factor=2; searcher "
            "'random'") in out
    assert len(resumed.trials) == 6


def test_tune_resume_merges_given_scheduler_options_with_the_stored_ones(tmp_path):
    path = tmp_path / "r.db"
    first_run(path)
    jh.tune(objective, SPACE, metric="score", trials=5, storage=path, name="m", resume=True,
            scheduler_options={"grace_period": 1})
    settings = Study.load("m", path).settings
    assert settings["scheduler"] == "hyperband"
    assert settings["scheduler_options"] == {"max_t": 9, "grace_period": 1,
                                             "reduction_factor": 2}


def test_tune_resume_with_another_method_still_says_so(tmp_path, capsys):
    path = tmp_path / "r.db"
    first_run(path)
    capsys.readouterr()
    jh.tune(objective, SPACE, metric="score", trials=5, storage=path, name="m", resume=True,
            searcher="tpe")
    assert "m continues with another method than it ran with (searcher 'random' -> 'tpe')" \
        in capsys.readouterr().out
    assert Study.load("m", path).settings["searcher_options"] == {}


def test_tune_resume_with_another_mode_is_still_refused(tmp_path):
    path = tmp_path / "r.db"
    first_run(path)
    with pytest.raises(HPOError, match="the mode was 'min' and is now 'max'"):
        jh.tune(objective, SPACE, metric="score", mode="max", trials=5, storage=path,
                name="m", resume=True)


CELL = """
x = Real(0.1, 10, log=True)
epochs = 9
for epoch in range(1, epochs + 1):
    report(epoch=epoch, val_acc=1 - 1 / (epoch * x + 1), score=x)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def test_magic_resume_without_the_method_options_keeps_the_stored_ones(ip, study_storage,
                                                                      capsys):
    ip.run_cell_magic("hpo", "--name mlp --trials 4 --metric val_acc --scheduler hyperband "
                             "--type promotion --grace-period 2 --reduction-factor 2 "
                             "--max-t 8 --searcher random --seed 5 --quiet", CELL)
    before = Study.load("mlp", study_storage).settings
    capsys.readouterr()
    # the cell reports two values: without the stored --metric it was "pick one with --metric"
    ip.run_cell_magic("hpo", "--name mlp --trials 6 --resume --quiet", CELL)
    out = capsys.readouterr().out
    after = Study.load("mlp", study_storage).settings
    for key in ("scheduler", "searcher", "scheduler_options", "searcher_options", "seed"):
        assert after[key] == before[key], key
    assert after["scheduler_options"]["max_t"] == 8  # not the cell's epochs = 9
    assert "another method" not in out and "continues as it ran" in out
    study = ip.user_ns["_hpo"]
    assert len(study.trials) == 6 and study.metric == "val_acc"
    # given again with another value: allowed, and said, as before
    ip.run_cell_magic("hpo", "--name mlp --trials 7 --resume --reduction-factor 3 --quiet",
                      CELL)
    out = capsys.readouterr().out
    assert "mlp continues with another method than it ran with (scheduler options" in out
    after = Study.load("mlp", study_storage).settings
    assert after["scheduler_options"] == {**before["scheduler_options"],
                                          "reduction_factor": 3}
    assert after["searcher"] == "random" and after["seed"] == 5


def test_magic_resume_names_the_stored_metric_the_cell_no_longer_reports(ip, study_storage):
    """A resume takes the stored metric: a cell that reports another value was told "--metric
    loss is not among the values the cell reports (acc)", an option the user never wrote; the
    stored study is kept as it was."""
    ip.run_cell_magic("hpo", "--name kept --trials 2 --quiet", "x = Real(0, 1)\nreport(loss=x)\n")
    before = [(t.trial_id, t.status, t.last("loss")) for t in Study.load("kept", study_storage)
              .trials]
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--name kept --trials 4 --resume --quiet",
                          "x = Real(0, 1)\nreport(acc=x)\n")
    assert str(info.value) == (
        "the metric loss, which kept was stored with and --resume keeps, is not among the "
        "values the cell reports (acc); for another metric, start a new study with another "
        "--name and --warm-start kept, which learns from its trials")
    after = Study.load("kept", study_storage)
    assert [(t.trial_id, t.status, t.last("loss")) for t in after.trials] == before
    assert after.state == "finished"


def test_magic_refuses_a_blank_resource(ip):
    """``--resource ''`` said "--resource  is not among the values the cell reports (loss)"."""
    with pytest.raises(UsageError, match=r"^--resource is '', but must be the key of report\(\) "
                                         r"that counts the training's progress: e\.g\. "):
        ip.run_cell_magic("hpo", "--trials 2 --quiet --storage none --resource ''",
                          "x = Real(0, 1)\nreport(loss=x)\n")
