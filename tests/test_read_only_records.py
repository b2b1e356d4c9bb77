"""Trial records that a study hands out are read-only: an edit raises a TypeError that says
how to copy what was edited, and never changes the study's best configuration, its tables or
its storage, in a live (thread), a ``tune()`` and a loaded study; reading them works as with
plain dicts (see the README's "Live and stored studies"). A study's settings and queued
configurations are read-only the same way."""

from __future__ import annotations

import copy
import json
import pickle
import threading

import cloudpickle
import pandas as pd
import pytest

from jupyter_hpo import Real, Study, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.records import TrialRecord, TrialStatus
from jupyter_hpo.trial import Trial

SPACE = {"x": Real(0.0, 1.0)}


def trains(config, report, trial):
    trial.set(note="as run")
    for epoch in (1, 2, 3):
        report(epoch=epoch, loss=config["x"] / epoch)


def said(trial_id: int, what: str) -> str:
    """The start of the refusal of an edit of trial ``trial_id``'s ``what``."""
    return rf"^trial {trial_id}'s {what} read-only: copy "


def refuses_edits(trial) -> None:
    """Every way to edit what ``trial`` (a record) holds raises and says how to copy it."""
    t = trial.trial_id
    config = (rf"^trial {t}'s config is read-only: copy it with dict\(trial\.config\) to "
              rf"change it$")
    with pytest.raises(TypeError, match=config):
        trial.config["x"] = 99.0
    with pytest.raises(TypeError, match=config):
        trial.config.update(x=99.0)
    with pytest.raises(TypeError, match=config):
        del trial.config["x"]
    with pytest.raises(TypeError, match=config):
        trial.config.pop("x")
    with pytest.raises(TypeError, match=config):
        trial.config.setdefault("y", 1)
    with pytest.raises(TypeError, match=config):
        trial.config.clear()
    with pytest.raises(TypeError, match=rf"{said(t, 'reports are')}one with "
                                        rf"dict\(trial\.reports\[i\]\) to change it$"):
        trial.reports[-1]["loss"] = -5.0
    with pytest.raises(TypeError, match=said(t, "reports are")):
        trial.reports[0].update(loss=-5.0)
    with pytest.raises(TypeError, match=said(t, "reports are")):
        trial.reports[0].popitem()
    reports = (rf"{said(t, 'reports are')}them with list\(trial\.reports\) to change them "
               rf"\(one report with dict\(trial\.reports\[i\]\)\)$")
    with pytest.raises(AttributeError, match=reports):  # a tuple: nothing can be added
        trial.reports.append({"epoch": 4, "loss": -5.0})
    with pytest.raises(AttributeError, match=reports):
        trial.reports.sort(key=len)
    with pytest.raises(TypeError, match=reports):
        trial.reports[0] = {"epoch": 4, "loss": -5.0}
    with pytest.raises(TypeError, match=reports):
        del trial.reports[0]
    assert not hasattr(trial.reports, "append")  # still a tuple to code that asks
    assert trial.reports == tuple(trial.reports) and list(trial.reports) == [*trial.reports]
    with pytest.raises(AttributeError, match=reports):
        pickle.loads(pickle.dumps(trial.reports)).append({})
    with pytest.raises(TypeError, match=rf"{said(t, 'user_attrs are')}them with "
                                        rf"dict\(trial\.user_attrs\) to change them$"):
        trial.user_attrs["note"] = "edited"
    with pytest.raises(TypeError, match=said(t, "user_attrs are")):
        trial.user_attrs |= {"note": "edited"}


def results_of(study) -> tuple:
    """What a study shows of its results: best configuration, value and trial, both tables."""
    return (study.best_config, study.best_value, study.best_trial.trial_id,
            study.trials_dataframe(), study.training_curves(),
            [(dict(t.config), [dict(r) for r in t.reports], dict(t.user_attrs))
             for t in study.trials])


def same_results(study, before: tuple) -> None:
    best_config, best_value, best_id, table, curves, trials = results_of(study)
    assert (best_config, best_value, best_id) == before[:3]
    pd.testing.assert_frame_equal(table.drop(columns="duration"),
                                  before[3].drop(columns="duration"))
    pd.testing.assert_frame_equal(curves, before[4])
    assert trials == before[5]


def edit_everything(study) -> None:
    """Try every edit on each trial the study hands out: its trials, best trial, snapshot."""
    for trial in (*study.trials, study.best_trial, *study.snapshot().trials,
                  *study.trial_records([0])):
        refuses_edits(trial)


def test_editing_what_a_tune_study_and_its_stored_copy_hand_out_changes_nothing(tmp_path):
    path = tmp_path / "runs.db"
    study = tune(trains, SPACE, metric="loss", mode="min", trials=4, seed=0,
                 storage=str(path), name="edits")
    before = results_of(study)
    assert before[0] == {"x": study.trials[before[2]].config["x"]}
    edit_everything(study)
    same_results(study, before)

    loaded = Study.load("edits", str(path))
    same_results(loaded, before)
    edit_everything(loaded)
    same_results(loaded, before)
    same_results(Study.load("edits", str(path)), before)  # storage never saw an edit


def test_editing_the_records_of_a_running_thread_study_changes_nothing():
    """A running trial's record shares its reports with the live trial: they refuse edits
    too, so the study's own reports stay as the trial made them."""
    reported, release = threading.Event(), threading.Event()

    def waits_after_two_reports(config, report):
        for epoch in (1, 2):
            report(epoch=epoch, loss=config["x"])
        reported.set()
        release.wait(10)
        report(epoch=3, loss=config["x"] / 3)

    study = Study(FunctionObjective(waits_after_two_reports, "loss"), SPACE, metric="loss",
                  mode="min", trials=1, seed=0)
    study.start()
    try:
        assert reported.wait(10)
        (running,) = study.trials
        assert running.status is TrialStatus.RUNNING
        before = results_of(study)
        edit_everything(study)
        same_results(study, before)
    finally:
        release.set()
    assert study.wait(10)
    (trial,) = study.trials
    assert [r["loss"] for r in trial.reports] == [running.config["x"]] * 2 + [
        running.config["x"] / 3]
    assert study.best_config == dict(running.config)


def test_records_read_as_plain_dicts_do():
    study = tune(trains, SPACE, metric="loss", mode="min", trials=2, seed=0)
    trial = study.best_trial
    x = trial.config["x"]
    assert trial.config == {"x": x} and {"x": x} == trial.config and "x" in trial.config
    assert list(trial.config) == ["x"] and dict(trial.config.items()) == {"x": x}
    assert trial.reports[-1] == {"epoch": 3, "loss": x / 3}
    assert trial.user_attrs == {"note": "as run"}

    mine = dict(trial.config)  # a copy is the caller's to edit
    mine["x"] = 5.0
    assert {**trial.config, "lr": 0.1} == {"x": x, "lr": 0.1}
    assert trial.config | {"lr": 0.1} == {"x": x, "lr": 0.1}
    for copied in (trial.config.copy(), copy.copy(trial.config), copy.deepcopy(trial.config)):
        assert type(copied) is dict and copied == {"x": x}
        copied["x"] = 5.0
    assert study.best_config == {"x": x}

    assert json.loads(json.dumps(trial.config)) == {"x": x}
    assert json.loads(json.dumps(list(trial.reports))) == [dict(r) for r in trial.reports]
    assert pd.DataFrame([t.config for t in study.trials])["x"].tolist() == [
        t.config["x"] for t in study.trials]
    assert pd.DataFrame(list(trial.reports))["epoch"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_a_pickled_record_reads_the_same_and_stays_read_only(dumps, loads):
    study = tune(trains, SPACE, metric="loss", mode="min", trials=2, seed=0)
    snapshot = loads(dumps(study.snapshot()))
    assert snapshot.best_config == study.best_config
    for mine, theirs in zip(snapshot.trials, study.trials, strict=True):
        assert (mine.config, mine.reports, mine.user_attrs) == (
            theirs.config, theirs.reports, theirs.user_attrs)
        refuses_edits(mine)
    trial = loads(dumps(study.best_trial))
    assert trial.config == study.best_config
    refuses_edits(trial)


def test_a_record_built_from_plain_dicts_is_read_only_and_freezing_shares_reports():
    record = TrialRecord(7, {"x": 0.5}, TrialStatus.COMPLETED,
                         [{"epoch": 1, "loss": 0.5}], [0.1], user_attrs={"note": "n"},
                         enqueued={"x": 0.5})
    refuses_edits(record)
    assert record.times == (0.1,)
    with pytest.raises(TypeError, match=r"^trial 7's enqueued configuration is read-only: "
                                        r"copy it with dict\(trial\.enqueued\) to change it$"):
        record.enqueued["x"] = 1.0
    study = tune(trains, SPACE, metric="loss", mode="min", trials=1, seed=0)
    (live,) = study.controller.trials
    (frozen,) = study.trials
    assert all(a is b for a, b in zip(frozen.reports, live.reports, strict=True))
    assert isinstance(live, Trial) and frozen.config is not live.config


def test_a_studys_settings_and_queue_refuse_edits_and_storage_keeps_what_it_ran_with(tmp_path):
    path = str(tmp_path / "runs.db")
    study = tune(trains, SPACE, metric="loss", mode="min", trials=1, seed=0, storage=path,
                 name="settings", scheduler="hyperband", scheduler_options={"max_t": 3},
                 points_to_evaluate=[{"x": 0.1}, {"x": 0.2}, {"x": 0.3}])
    settings = (r"^a study's settings are read-only: copy them with "
                r"copy\.deepcopy\(study\.settings\) to change them$")
    queued = (r"^a study's queued configuration is read-only: copy it with "
              r"dict\(study\.queue\[i\]\) to change it \(study\.enqueue\(config\) queues "
              r"another\)$")
    loaded = Study.load("settings", path)
    for owner in (study, study.snapshot(), loaded, loaded.snapshot()):
        with pytest.raises(TypeError, match=settings):
            owner.settings["trials"] = 100
        with pytest.raises(TypeError, match=settings):
            owner.settings.update(seed=1)
        with pytest.raises(TypeError, match=settings):
            owner.settings["scheduler_options"]["max_t"] = 9
        assert owner.queue == ({"x": 0.2}, {"x": 0.3})
        with pytest.raises(TypeError, match=queued):
            owner.queue[0]["x"] = 0.9
        assert owner.settings["scheduler_options"] == {"max_t": 3} and owner.budget == 1
    mine = copy.deepcopy(study.settings)  # a deep copy is the caller's to edit
    mine["scheduler_options"]["max_t"] = 9
    assert type(mine["scheduler_options"]) is dict and study.settings["scheduler_options"] == {
        "max_t": 3}
    assert json.loads(json.dumps(study.settings)) == study.settings
    assert loads_again(study.settings) == study.settings
    assert Study.load("settings", path).settings == study.settings  # storage saw no edit


def loads_again(value):
    """``value`` through pickle: still read-only."""
    copied = pickle.loads(pickle.dumps(value))
    with pytest.raises(TypeError, match="read-only"):
        copied["trials"] = 5
    return copied


def test_the_lists_a_studys_settings_hold_refuse_edits_too():
    """Dicts in a study's settings were read-only, lists not: ``settings["x"].append(...)``
    changed what the study ran with. They stay ``==`` to plain lists, dump to JSON, and are
    read-only again after pickling; a deep copy is the caller's plain list."""
    from jupyter_hpo.read_only import read_only_settings

    given = {"levels": [1, 3, {"of": [9]}], "searcher_options": {"points": [[0.1], [0.2]]}}
    settings = read_only_settings(given)
    said_so = (r"^a study's settings are read-only: copy them with "
               r"copy\.deepcopy\(study\.settings\) to change them$")
    levels, points = settings["levels"], settings["searcher_options"]["points"]
    edits = (lambda: levels.append(27), lambda: levels.__setitem__(0, 2),
             lambda: levels.extend([5]), lambda: levels.sort(), lambda: levels.pop(),
             lambda: levels.__delitem__(0), lambda: levels.__iadd__([5]),
             lambda: points[0].append(0.3), lambda: levels[2]["of"].insert(0, 1))
    for edit in edits:
        with pytest.raises(TypeError, match=said_so):
            edit()
    assert settings == given and levels == [1, 3, {"of": [9]}]
    assert json.loads(json.dumps(settings)) == given
    copied = pickle.loads(pickle.dumps(settings))
    with pytest.raises(TypeError, match=said_so):
        copied["levels"].append(27)
    mine = copy.deepcopy(settings)
    mine["levels"].append(27)
    assert type(mine["levels"]) is list and settings["levels"] == [1, 3, {"of": [9]}]
