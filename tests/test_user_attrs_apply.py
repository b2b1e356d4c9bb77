"""Choosing another trial: ``study.apply(trial_id)`` / ``%hpo apply --trial N``,
``trials_dataframe(attrs=...)``, and user attributes set with ``trial.set(key=value)``."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_hpo import Int, Real, Study, tune
from jupyter_hpo.errors import HPOError
from jupyter_hpo.storage import SQLiteStorage

SPACE = {"x": Real(0, 1), "n": Int(1, 4)}


def objective(config, trial):
    trial.set(double=2 * config["x"], tag=f"n={config['n']}")
    return config["x"] + config["n"]


# --- user attributes ----------------------------------------------------------------------

@pytest.mark.parametrize("executor", ["thread", "process"])
def test_user_attributes_are_stored_and_shown_as_user_columns(tmp_path, executor):
    storage = SQLiteStorage(tmp_path / "runs.db")
    study = tune(objective, SPACE, metric="score", mode="max", trials=4, seed=0,
                 executor=executor, workers=2, storage=storage, name="u")
    for trial in study.trials:
        assert dict(trial.user_attrs) == {"double": 2 * trial.config["x"],
                                          "tag": f"n={trial.config['n']}"}
    frame = Study.load("u", storage).trials_dataframe()
    assert list(frame.columns[-2:]) == ["user.double", "user.tag"]
    assert frame["user.double"].tolist() == pytest.approx(
        [2 * t.config["x"] for t in study.trials])


def test_trial_set_outside_a_running_trial_is_an_error():
    study = tune(lambda c, trial: c["x"], SPACE, metric="score", mode="max", trials=1)
    live = study.controller.trials[0]
    with pytest.raises(HPOError, match="trial.set\\(\\) works only while trial 0 runs"):
        live.set(a=1)


def test_a_value_that_cannot_reach_the_kernel_fails_the_process_trial():
    import threading

    def unpicklable(config, trial):
        trial.set(lock=threading.Lock())
        return 1.0

    from jupyter_hpo.objective import FunctionObjective

    study = Study(FunctionObjective(unpicklable, "score"), SPACE, metric="score", mode="max",
                  trials=1, executor="process")
    study.start()
    study.wait()
    (trial,) = study.trials
    assert trial.status == "failed"
    assert "trial.set(): the values cannot be sent to the kernel" in trial.error


# --- trials_dataframe(attrs=...) ------------------------------------------------------------

def test_attrs_picks_columns_in_order_with_optuna_names():
    study = tune(objective, SPACE, metric="score", mode="max", trials=3, seed=0)
    assert list(study.trials_dataframe(attrs=("trial_id", "config", "user")).columns) == \
        ["trial_id", "config.x", "config.n", "user.double", "user.tag"]
    assert list(study.trials_dataframe(attrs=("number", "value", "params", "state",
                                              "user_attrs", "datetime_start",
                                              "datetime_complete")).columns) == \
        ["trial_id", "score", "config.x", "config.n", "status", "user.double", "user.tag",
         "start", "end"]
    assert list(study.trials_dataframe(attrs=["score", "config.n", "user.tag"]).columns) == \
        ["score", "config.n", "user.tag"]
    frame = study.trials_dataframe(attrs=("end", "duration"))
    assert frame["end"].notna().all() and (frame["duration"] >= 0).all()
    with pytest.raises(ValueError, match="attrs names 'params2', which is not a column of the "
                                         "trials: use trial_id, status, config, score"):
        study.trials_dataframe(attrs=("params2",))


def test_default_columns_are_unchanged_without_user_attributes():
    study = tune(lambda c: c["x"], SPACE, metric="score", mode="max", trials=2)
    assert list(study.trials_dataframe().columns) == [
        "trial_id", "status", "config.x", "config.n", "score", "resource", "start",
        "duration", "error"]


# --- apply --------------------------------------------------------------------------------

CELL = """x = Real(0, 1)
n = Int(1, 4)
model = {"x": x, "n": n, "weights": [x] * n}
report(score=x + n)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def ranked(study):
    return sorted(study.trials, key=lambda t: -t.best("score", "max"))


def test_apply_a_kept_trial_sets_its_variables(ip, capsys):
    ip.run_cell_magic("hpo", "--trials 6 --seed 3 --quiet --no-apply", CELL)
    study = ip.user_ns["_hpo"]
    second, worst = ranked(study)[1], ranked(study)[-1]
    ip.run_line_magic("hpo", f"apply --trial {second.trial_id}")
    assert f"applied trial {second.trial_id}" in capsys.readouterr().out
    assert ip.user_ns["model"] is study.namespace_of(second.trial_id)["model"]
    assert ip.user_ns["x"] == second.config["x"]
    # a trial beyond the 3 best: its hyperparameters, and it says why
    message = study.apply(worst.trial_id, ip.user_ns)
    assert "its hyperparameters (its other variables were not kept: only the 3 best " \
           "trials' are)" in message
    assert ip.user_ns["x"] == worst.config["x"] and ip.user_ns["model"]["x"] != worst.config["x"]
    study.apply()  # the best trial by default
    assert ip.user_ns["model"] is study.best_namespace["model"]
    with pytest.raises(UsageError, match="has no trial 99"):
        ip.run_line_magic("hpo", "apply --trial 99")


def test_keep_namespaces_bounds_what_is_kept(ip):
    ip.run_cell_magic("hpo", "--trials 6 --seed 3 --quiet --keep-namespaces 5", CELL)
    study = ip.user_ns["_hpo"]
    kept = [t.trial_id for t in study.trials if study.namespace_of(t.trial_id) is not None]
    assert kept == sorted(t.trial_id for t in ranked(study)[:5])
    with pytest.raises(UsageError, match="--keep-namespaces is -1, but must be an integer >= 0"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --keep-namespaces -1", CELL)


def test_apply_with_processes_and_stored_studies_sets_hyperparameters(ip, tmp_path):
    storage = str(tmp_path / "runs.db")
    ip.run_cell_magic("hpo", f"--trials 3 --seed 1 --quiet --executor process --name p "
                             f"--storage {storage} --no-apply", CELL)
    study = ip.user_ns["_hpo"]
    ns = {}
    assert "its other variables stayed in its worker process" in study.apply(0, ns)
    assert ns == dict(study.trials[0].config)
    loaded = Study.load("p", storage)
    ns = {}
    assert "applied trial 2" in loaded.apply(2, ns) and ns == dict(loaded.trials[2].config)
