"""The study loop end to end: tune(), Study, the thread executor, objectives and result tables.

Every test runs real trials in real threads (the thread executor); objectives are trivial.
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
from datetime import datetime

import pandas as pd
import pytest

import jupyter_hpo
from jupyter_hpo import HPOError, Study, StudyFailedError, TrialStatus, TrialStopped, report, tune
from jupyter_hpo.annotate import parse_cell
from jupyter_hpo.errors import SpaceError
from jupyter_hpo.objective import CellObjective, FunctionObjective
from jupyter_hpo.space import Categorical, Int, Real, Space

MAX_T, GRACE, ETA = 9, 1, 3


def curve(q: float, epoch: int) -> float:
    """Synthetic learning curves: at every epoch a larger q is strictly better."""
    return 1 - 1.8 ** -(q * epoch)


def curve_objective(config, report):
    for epoch in range(1, MAX_T + 1):
        report(epoch=epoch, val_acc=curve(config["q"], epoch))


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


def statuses(study) -> set[str]:
    return {t.status.value for t in study.trials}


# --------------------------------------------------------------------------- Hyperband
def guaranteed_rung1_stops(qs: list[float], workers: int, eta: int) -> list[int]:
    """Trial ids that the stopping rule must stop at the first rung, whatever the thread timing.

    A trial recorded as the n-th value at a rung continues only if fewer than ceil(n / eta)
    of those n values are strictly better. Every trial reports epoch 1 before it can finish,
    and trial i starts only when at most ``workers - 1`` other trials run, so at least
    ``i - workers + 1`` earlier trials are already recorded at rung 1: n >= i - workers + 2.
    Of the trials that beat trial i over the whole study (``better``), at most N - n are
    recorded after it, so at least ``better - (N - n)`` are better when it is judged. It is
    therefore stopped for every possible n when better >= ceil(n / eta) + N - n for all
    n in [n_min, N]; that expression does not grow with n, so n = n_min is the worst case.
    """
    total = len(qs)
    stopped = []
    for i, q in enumerate(qs):
        better = sum(other > q for other in qs)
        n_min = max(1, i - workers + 2)
        needed = max(math.ceil(n / eta) + total - n for n in range(n_min, total + 1))
        if better >= needed:
            stopped.append(i)
    return stopped


def test_hyperband_stopping_stops_bad_trials_and_finds_best_q():
    study = tune(curve_objective, {"q": Real(0.1, 1)}, metric="val_acc", mode="max",
                 trials=50, workers=4, seed=0, scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": MAX_T, "grace_period": GRACE,
                                    "reduction_factor": ETA})
    assert study.state == "finished"
    assert len(study.trials) == 50
    assert all(t.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED) for t in study.trials)

    qs = [t.config["q"] for t in study.trials]
    must_stop = guaranteed_rung1_stops(qs, workers=4, eta=ETA)
    assert len(must_stop) >= 10  # the bound is not vacuous for this seed
    for tid in must_stop:
        trial = study.trials[tid]
        assert trial.status is TrialStatus.STOPPED
        assert trial.last("epoch") == GRACE
    assert study.counts()["stopped"] >= len(must_stop)

    for trial in study.trials:
        epochs = [r["epoch"] for r in trial.reports]
        assert epochs == list(range(1, len(epochs) + 1))
        if trial.status is TrialStatus.COMPLETED:
            assert epochs[-1] == MAX_T
        else:
            assert epochs[-1] in (1, 3)  # stopped right at a rung below max_t

    completed = [t for t in study.trials if t.status is TrialStatus.COMPLETED]
    best_q = max(t.config["q"] for t in completed)
    assert study.best_config == {"q": best_q}
    assert best_q == max(qs)  # the overall best is never beaten at a rung, so it completes
    assert study.best_value == pytest.approx(curve(best_q, MAX_T))


def test_a_subscriber_that_cannot_take_an_event_is_refused_and_a_failing_one_logged_once(caplog):
    """study.subscribe(3) or a callback without a parameter was accepted and then logged a
    traceback at every event of the study (8 for 3 trials); a callback that raises still
    does not stop the study, but is logged once."""
    study = Study(lambda config: config["x"], {"x": Real(0, 1)}, metric="v", mode="max",
                  trials=3)
    with pytest.raises(TypeError, match=r"^subscribe\(\) takes a function called as "
                                        r"callback\(event\) on every study event, not 3 \(int\)"):
        study.subscribe(3)
    with pytest.raises(TypeError, match=r"^subscribe\(\): .*<lambda> cannot be called as "
                                        r"callback\(event\): give it one parameter"):
        study.subscribe(lambda: None)

    def on_event(event):
        raise ValueError(f"no {event.kind}")

    study.subscribe(on_event)
    with caplog.at_level("ERROR", logger="jupyter_hpo"):
        study.run()
    assert study.state == "finished" and len(study.trials) == 3
    failures = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].getMessage().endswith(
        "<locals>.on_event failed at a 'study_started' event; the study goes on, and its later "
        "failures are not shown")
    assert "ValueError: no study_started" in caplog.text


def test_hyperband_promotion_finishes_with_nothing_running_or_paused():
    events = []
    study = Study(FunctionObjective(curve_objective, "val_acc"), Space({"q": Real(0.1, 1)}),
                  metric="val_acc", mode="max", trials=20, workers=4, seed=1,
                  scheduler="hyperband",
                  scheduler_options={"max_t": MAX_T, "grace_period": GRACE,
                                     "reduction_factor": ETA, "type": "promotion"})
    study.subscribe(lambda event: events.append(event.kind))
    study.run()
    assert study.state == "finished" and study.done
    assert len(study.trials) == 20
    counts = study.counts()
    assert counts["running"] == 0 and counts["paused"] == 0
    assert statuses(study) <= {"completed", "stopped"}
    assert "trial_paused" in events
    assert counts["completed"] >= 1
    assert study.best_trial.status is TrialStatus.COMPLETED
    assert study.best_trial.last("epoch") == MAX_T
    assert events[-1] == "study_finished"
    # paused threads wait on their own event: no list of the signals grows with the study
    assert study.controller.pause_signals is None


def test_a_trial_knows_the_metric_and_the_resource_each_report_carries():
    """What code that reports for a trial (the framework callbacks) reads to name its keys."""
    def fn(config, trial):
        report(step=1, acc=config["x"], keys=(trial.metric, trial.resource))

    study = tune(fn, {"x": Real(0, 1)}, metric="acc", mode="max", trials=2, resource="step")
    assert [t.reports[0]["keys"] for t in study.trials] == [("acc", "step")] * 2


# --------------------------------------------------------------------- report() errors
def test_report_outside_a_study_records_nothing_and_says_so_once(capsys, monkeypatch):
    """report() outside a trial raised RuntimeError, so a cell written to run without the
    magic (DESIGN: the comment form keeps it runnable) stopped at its first report."""
    monkeypatch.setattr(jupyter_hpo.trial, "_told", set())  # nothing said before
    assert report(epoch=1, val_acc=0.5) is None
    assert jupyter_hpo.trial.report(epoch=2, val_acc=0.75) is None
    assert capsys.readouterr().err == (
        "jupyter_hpo: report(epoch=1, val_acc=0.5) ran outside a study, so nothing is "
        "recorded: the cell runs as it would without jupyter_hpo (to tune it, run it with "
        "%%hpo; this is said once per cell)\n")


def test_a_misused_report_raises_an_error_that_pickles_as_any_other():
    """Its IPython hook (which cuts the traceback at the user's call) goes without it."""
    import pickle

    with pytest.raises(TypeError) as info:
        report(0.5)
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is TypeError and str(copy) == str(info.value)


@pytest.mark.parametrize("call, count", [
    (lambda c: report(c["x"]), "a value"),
    (lambda c: report(c["x"], 1), "2 values"),  # Optuna's trial.report(value, step)
    (lambda c: report({"loss": c["x"]}), "a value"),
])
def test_report_with_unnamed_values_says_to_name_them(call, count):
    with pytest.raises(StudyFailedError) as info:
        tune(call, {"x": Real(0, 1)}, metric="loss", mode="min", trials=3, seed=0)
    message = str(info.value)
    assert f"report() takes its values by name, e.g. report(epoch=epoch, val_loss=loss), but " \
           f"got {count} without a name" in message
    assert "report(**metrics)" in message and "positional" not in message


def test_a_trial_that_never_reports_the_metric_fails_when_it_ends_naming_it():
    def fn(config, report):
        report(epoch=1, loss=config["x"])
        report(epoch=2, loss=config["x"], lr=0.1)

    study = Study(FunctionObjective(fn, "val_acc"), Space({"x": Real(0, 1)}),
                  metric="val_acc", mode="max", trials=3, workers=1, seed=0)
    with pytest.raises(StudyFailedError):
        study.run()
    trial = study.trials[0]
    assert trial.status is TrialStatus.FAILED
    assert trial.error == ("ReportError: the trial ended without reporting 'val_acc' (it "
                           "reported epoch, loss, lr), so it has no value to rank: call "
                           "report(val_acc=...) or pick another metric (%%hpo --metric, "
                           "tune(metric=...))")
    assert len(trial.reports) == 2  # what it reported is kept


def test_reports_without_the_metric_between_those_with_it_are_kept_and_rank_nothing():
    """A training loss every epoch and the validation metric every third epoch: the trials
    run, Hyperband decides at its rungs on the metric, the best is the best metric value."""
    def fn(config, report):
        for epoch in range(1, MAX_T + 1):
            if epoch % 3:
                report(epoch=epoch, train_loss=1 / epoch)
            else:
                report(epoch=epoch, train_loss=1 / epoch, val_acc=curve(config["q"], epoch))
        return {"test_acc": config["q"]}  # a result without the metric is kept too

    study = tune(fn, {"q": Real(0, 1)}, metric="val_acc", mode="max", trials=12, workers=1,
                 seed=0, scheduler="hyperband", scheduler_options={"max_t": MAX_T})
    assert {t.status for t in study.trials} == {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    stopped = [t for t in study.trials if t.status is TrialStatus.STOPPED]
    assert {len(t.reports) for t in stopped} == {3}  # cut at rung 3, where val_acc came
    best = max(study.trials, key=lambda t: t.best("val_acc", "max") or -1)
    assert study.best_trial.trial_id == best.trial_id
    assert study.best_value == curve(best.config["q"], MAX_T)
    assert study.best_trial.reports[-1] == {"test_acc": best.config["q"]}


def test_a_misspelt_metric_fails_at_the_first_report_saying_what_was_meant():
    def fn(config, report):
        report(epoch=1, val_acuracy=config["x"])
        raise AssertionError("not reached: the report above raises")

    study = Study(FunctionObjective(fn, "val_accuracy"), Space({"x": Real(0, 1)}),
                  metric="val_accuracy", mode="max", trials=3, workers=1, seed=0)
    with pytest.raises(StudyFailedError):
        study.run()
    assert study.trials[0].error.startswith(
        "ReportError: report() got epoch, val_acuracy, but the study optimises 'val_accuracy': "
        "did you mean report(val_accuracy=...) instead of val_acuracy=...?")
    assert study.trials[0].reports == ()


def test_a_report_with_a_value_named_by_an_empty_string_fails_the_trial():
    def fn(config, report):
        report(**{"epoch": 1, "loss": config["x"], " ": 2.0})

    study = Study(FunctionObjective(fn, "loss"), Space({"x": Real(0, 1)}), metric="loss",
                  mode="min", trials=3, workers=1)
    with pytest.raises(StudyFailedError):
        study.run()
    assert study.trials[0].error == ("ReportError: report() got a value named ' ': name each "
                                     "value, e.g. report(loss=...)")


def test_a_returned_dict_without_the_metric_fails_the_trial_that_never_reported_it():
    study = Study(FunctionObjective(lambda config: {"loss": config["x"]}, "val_acc"),
                  Space({"x": Real(0, 1)}), metric="val_acc", mode="max", trials=3, workers=1)
    with pytest.raises(StudyFailedError):
        study.run()
    assert study.trials[0].error.startswith(
        "ReportError: the trial ended without reporting 'val_acc' (it reported loss)")


def test_hyperband_without_the_resource_key_fails_the_trial():
    def fn(config, report):
        report(val_acc=config["x"])

    study = Study(FunctionObjective(fn, "val_acc"), Space({"x": Real(0, 1)}),
                  metric="val_acc", mode="max", trials=3, workers=1, seed=0,
                  scheduler="hyperband", scheduler_options={"max_t": 9})
    with pytest.raises(StudyFailedError, match="'epoch'"):
        study.run()
    assert "'epoch'" in study.trials[0].error and "Hyperband" in study.trials[0].error


def test_hyperband_without_max_t_is_an_error_before_any_trial():
    with pytest.raises(ValueError, match="max_t"):
        tune(curve_objective, {"q": Real(0.1, 1)}, metric="val_acc", trials=2,
             scheduler="hyperband")


def test_tune_needs_a_mode_it_cannot_infer():
    with pytest.raises(ValueError, match="mode"):
        tune(lambda config: 1.0, {"x": Real(0, 1)}, metric="banana", trials=1)
    assert tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="val_loss",
                trials=1).mode == "min"


@pytest.mark.parametrize("names, mode", [
    (["val_loss", "valLoss", "valloss", "error_rate", "test-mape", "rmse", "nll", "ppl", "wer",
      "brier", "latency_ms", "neg_r2", "negative_reward"], "min"),
    (["val_acc", "trainAcc", "testaccuracy", "top1_acc", "auroc", "mAP", "r2_score", "bleu",
      "dice", "psnr", "neg_mean_squared_error", "neg_log_loss", "NegativeMSE"], "max"),
    (["banana", "objective", "value", "neg", "epochs_done"], None),
])
def test_the_mode_is_inferred_from_the_words_of_the_metrics_name(names, mode):
    """The last word that says it decides (``mape`` is an error, not ``map``); a first word
    ``neg`` turns it round, as scikit-learn's scorers are negated errors (minimising
    ``neg_mean_squared_error`` would search for the worst model)."""
    from jupyter_hpo import infer_mode

    assert {name: infer_mode(name) for name in names} == dict.fromkeys(names, mode)


# ------------------------------------------------------------------------- failures
def test_tune_refuses_bad_arguments_before_any_trial_with_what_to_do():
    with pytest.raises(TypeError, match=r"unknown option schedular=\.\.\.; did you mean "
                                        r"scheduler=\.\.\.\?"):
        tune(lambda config: 1.0, {"x": Real(0, 1)}, metric="loss", schedular="fifo")
    cases = [({"max_t": 9}, r"max_t is a scheduler option: pass scheduler_options=\{'max_t'"),
             ({"trial_timeout": 5}, r"trial_timeout is an executor option: pass executor_"),
             ({"searcher": "grid", "points": 3}, r"points is an option of the grid searcher")]
    for given, where in cases:
        with pytest.raises(TypeError, match=where):
            tune(lambda config: 1.0, {"x": Real(0, 1)}, metric="loss", **given)
    with pytest.raises(TypeError, match=r"the objective '<lambda>' takes \(\), but is called "
                                        r"as fn\(config\)"):
        tune(lambda: 1.0, {"x": Real(0, 1)}, metric="loss", trials=1)
    with pytest.raises(SpaceError, match=r"the space is a list \(\[Real\(0, 1\)\]\), but must "
                                         r"map names to domains"):
        tune(lambda config: 1.0, [Real(0, 1)], metric="loss", trials=1)
    with pytest.raises(SpaceError, match=r"the space is empty, so every trial would run the same "
                                         r"configuration: give at least one hyperparameter"):
        tune(lambda config: 1.0, {}, metric="loss", trials=1)

    def fn(config, report, device=None):  # the keywords it names are passed: it is accepted
        report(loss=config["x"])

    assert tune(fn, {"x": Real(0, 1)}, metric="loss", trials=2).state == "finished"


def test_fixed_values_in_tunes_space_reach_every_config_and_are_not_searched():
    seen = []

    def fn(config):
        seen.append(config)
        return config["x"] * config["scale"]

    study = tune(fn, {"x": Real(0, 1), "scale": 2, "name": "mlp", "flag": False, "none": None},
                 metric="loss", mode="min", trials=4, workers=1, seed=0)
    assert [sorted(c) for c in seen] == [["flag", "name", "none", "scale", "x"]] * 4
    assert all((c["scale"], c["name"], c["flag"], c["none"]) == (2, "mlp", False, None)
               for c in seen)
    assert list(study.space) == ["x"]  # only the hyperparameter is searched and stored
    assert set(study.best_config) == {"x"}
    assert study.best_value == min(2 * c["x"] for c in seen)
    # the same through Study(fn, space, ...), and a space of fixed values alone says so
    assert Study(fn, {"x": Real(0, 1), "scale": 3}, metric="loss", mode="min",
                 trials=1).objective.fixed == {"scale": 3}
    with pytest.raises(SpaceError, match=r"the space has only fixed values \(epochs, scale\), "
                                         r"so every trial would run the same configuration"):
        tune(fn, {"epochs": 9, "scale": 2}, metric="loss", trials=1)


def test_a_fixed_epochs_in_tunes_space_is_hyperbands_max_t_as_in_a_cell():
    def fn(config, report):
        for epoch in range(1, config["epochs"] + 1):
            report(epoch=epoch, loss=curve(config["q"], epoch))

    space = {"q": Real(0, 1), "epochs": 9}
    for scheduler in ("auto", "hyperband"):
        study = tune(fn, space, metric="loss", mode="min", trials=12, workers=1, seed=0,
                     scheduler=scheduler)
        assert study.options.scheduler_options["max_t"] == 9
        assert max(len(t.reports) for t in study.trials) == 9
        assert min(len(t.reports) for t in study.trials) < 9  # some trial was stopped early
    given = tune(fn, space, metric="loss", mode="min", trials=2, workers=1, seed=0,
                 scheduler_options={"max_t": 27})
    assert given.options.scheduler_options["max_t"] == 27  # a given max_t wins
    fifo = tune(fn, {"q": Real(0, 1), "num_epochs": 3, "epochs": 3}, metric="loss",
                mode="min", trials=2, scheduler="fifo")
    assert "max_t" not in fifo.options.scheduler_options  # FIFO takes no max_t


def test_tune_says_how_to_stop_early_when_trials_report_a_resource_without_a_maximum(capsys):
    def fn(config, report):
        for step in range(1, 6):
            report(step=step, loss=curve(config["q"], step))

    tune(fn, {"q": Real(0, 1)}, metric="loss", mode="min", trials=2, resource="step")
    assert ("jupyter_hpo: the trials reported step up to 5, but without a maximum every trial "
            "ran to its end: put {'steps': 5} in the space (a fixed value) or pass "
            "scheduler_options={'max_t': 5} to stop poor trials early") in capsys.readouterr().out
    study = tune(fn, {"q": Real(0, 1), "steps": 5}, metric="loss", mode="min", trials=2,
                 resource="step")
    assert study.options.scheduler_options["max_t"] == 5
    assert "without a maximum" not in capsys.readouterr().out
    tune(lambda config: config["q"], {"q": Real(0, 1)}, metric="loss", mode="min", trials=2)
    assert "without a maximum" not in capsys.readouterr().out  # nothing to stop early


def test_an_objective_returning_nothing_fails_with_the_message_alone():
    study = Study(FunctionObjective(lambda config: None, "loss"), Space({"x": Real(0, 1)}),
                  metric="loss", mode="min", trials=3, workers=1, seed=0)
    with pytest.raises(StudyFailedError):
        study.run()
    # no frame of the trial's own code is involved: the traceback is the message alone
    assert study.trials[0].traceback == (
        "jupyter_hpo.errors.HPOError: the objective returned None and never called report(): "
        "return the value of 'loss' or report it\n")


def test_failing_trial_is_recorded_with_traceback_and_others_continue():
    def fn(config, trial):
        if trial.trial_id == 1:
            raise ValueError("broken trial number one")
        return config["x"]

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=5, workers=2,
                 seed=0)
    failed = study.trials[1]
    assert failed.status is TrialStatus.FAILED
    assert failed.error == "ValueError: broken trial number one"
    assert 'raise ValueError("broken trial number one")' in failed.traceback
    assert __file__ in failed.traceback
    assert "executors" not in failed.traceback  # the library's own frames are hidden
    others = [t for t in study.trials if t is not failed]
    assert all(t.status is TrialStatus.COMPLETED for t in others)
    assert study.state == "finished" and study.best_trial is not failed
    assert study.best_value == max(t.config["x"] for t in others)


def test_first_trials_failing_the_same_way_fail_the_study():
    def fn(config):
        raise ZeroDivisionError("always the same")

    study = Study(FunctionObjective(fn, "score"), Space({"x": Real(0, 1)}),
                  metric="score", mode="max", trials=10, workers=1, seed=0)
    with pytest.raises(StudyFailedError) as info:
        study.run()
    assert study.state == "failed"
    assert study.error is info.value
    assert len(study.trials) == 3  # no trial starts after the third failure
    message = str(info.value)
    assert message.count('raise ZeroDivisionError("always the same")') == 1
    assert message.count("Traceback (most recent call last)") == 1
    assert "first 3 trials" in message


def test_tune_raises_study_failed_error_for_repeated_failures():
    def fn(config):
        raise KeyError("missing column")

    with pytest.raises(StudyFailedError, match="missing column"):
        tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=8, workers=2)


def test_errors_that_differ_only_in_their_numbers_fail_the_study():
    def fn(config):  # the same bug, with a size that depends on the configuration
        units = int(config["units"])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied (32x{units} and 128x10)")

    with pytest.raises(StudyFailedError, match=r"same error \(but for the numbers in it\)"):
        tune(fn, {"units": Int(16, 256)}, metric="loss", mode="min", trials=8, seed=0)


def test_errors_that_differ_in_the_padding_of_printed_arrays_fail_the_study():
    import numpy as np

    xs = iter([0.3, 0.36180915, 0.25, 0.7, 0.1, 0.2, 0.4, 0.6])  # "[0.3, 0.6]", "[0.36, 0.72 ]"

    def fn(config):
        values = np.array([x := next(xs), 2 * x])
        raise ValueError(f"the result {values!r} is not one number")

    with pytest.raises(StudyFailedError, match=r"same error \(but for the numbers in it\)"):
        tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=8, workers=1, seed=0)


def test_different_errors_do_not_fail_the_study():
    calls = []
    lock = threading.Lock()
    errors = [ValueError("first"), KeyError("second"), ZeroDivisionError("third")]

    def fn(config):
        with lock:
            n = len(calls)
            calls.append(n)
        if n < len(errors):
            raise errors[n]
        return config["x"]

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=6, workers=1,
                 seed=0)
    assert study.state == "finished" and study.error is None
    assert [t.status.value for t in study.trials] == ["failed"] * 3 + ["completed"] * 3
    assert len({t.error for t in study.trials[:3]}) == 3


def test_a_study_whose_every_trial_failed_differently_fails_naming_each_error():
    reasons = ["out of paper", "disk full", "bad weather", "no coffee"]

    def fn(config, trial):
        raise RuntimeError(f"trial {trial.trial_id} broke: {reasons[trial.trial_id]}")

    with pytest.raises(StudyFailedError) as caught:
        tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=4, workers=2)
    text = str(caught.value)
    assert text.startswith("all 4 trials failed (4 different errors), so no trial reported "
                           "'score':")
    for i, reason in enumerate(reasons):
        assert f"RuntimeError: trial {i} broke: {reason} (trial {i})" in text
    assert "Trial 0's traceback:\nTraceback (most recent call last)" in text
    study = caught.value.study  # the trials stay in reach though tune() returned nothing
    assert study.state == "failed" and study.counts()["failed"] == 4
    assert study.stop_reason == "every trial failed"  # what %hpo list and show say
    assert study.best_trial is None and study.best_value is None and study.best_config is None


def test_a_failing_study_groups_the_trials_of_each_error():
    def fn(config, trial):
        raise (KeyError("left") if trial.trial_id % 2 else ValueError("right"))

    with pytest.raises(StudyFailedError) as caught:  # 2 errors: the repeated rule never fires
        tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=9, workers=1)
    text = str(caught.value)
    assert "all 9 trials failed (2 different errors)" in text
    assert "ValueError: right (trials 0, 2, 4, 6, 8)" in text
    assert "KeyError: 'left' (trials 1, 3, 5, 7)" in text


def test_a_study_out_of_time_with_only_failures_fails_too():
    def fn(config):
        time.sleep(0.2)
        raise RuntimeError("no GPU left")

    with pytest.raises(StudyFailedError) as caught:  # the repeated rule would need 10 trials
        tune(fn, {"x": Real(0, 1)}, metric="loss", mode="min", time_limit=0.3, workers=1,
             max_initial_failures=10, storage=None)
    study = caught.value.study
    assert study.stop_reason == "time limit reached" and study.state == "failed"
    n = len(study.trials)
    assert str(caught.value).startswith(f"all {n} trials failed (1 error), so no trial "
                                        f"reported 'loss':\n  RuntimeError: no GPU left (trial")


def test_a_stopped_study_whose_trials_failed_is_not_a_failed_study():
    def fn(config, trial):
        if trial.trial_id == 1:
            trial_study.stop()
        raise RuntimeError(f"broken {trial.trial_id}")

    trial_study = Study(fn, {"x": Real(0, 1)}, metric="loss", mode="min", trials=10,
                        workers=1, storage=None, max_initial_failures=5)
    trial_study.run()  # the user stopped it: that ended it, not the failures
    assert trial_study.state == "finished" and trial_study.error is None
    assert trial_study.counts()["failed"] == 2


# ------------------------------------------------------------------ budget and stopping
@pytest.mark.parametrize("workers", [1, 3])
def test_trial_budget_is_respected_exactly(workers):
    calls = []
    lock = threading.Lock()

    def fn(config):
        with lock:
            calls.append(config)
        return config["x"]

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=7, workers=workers)
    assert len(study.trials) == 7 and len(calls) == 7
    assert study.counts()["completed"] == 7
    assert [t.trial_id for t in study.trials] == list(range(7))


def test_grid_smaller_budget_than_grid_runs_budget():
    study = tune(lambda config: config["u"], {"u": Int(1, 3), "v": Categorical("a", "b")},
                 metric="score", mode="max", trials=4, searcher="grid")
    assert len(study.trials) == 4


def endless(config, trial, report):
    """Trials 0 and 1 finish at once; the others report until they are stopped."""
    if trial.trial_id < 2:
        return config["x"]
    for step in range(1, 20_000):
        report(epoch=step, score=config["x"])
        time.sleep(0.001)
    return config["x"]


def test_time_limit_stops_the_study_and_keeps_finished_trials():
    study = tune(endless, {"x": Real(0, 1)}, metric="score", mode="max", workers=2,
                 time_limit=0.3, seed=0)
    assert study.state == "finished"
    assert [t.status.value for t in study.trials] == ["completed", "completed",
                                                      "cancelled", "cancelled"]
    for trial in study.trials[2:]:
        assert "time limit" in trial.error
        assert trial.reports  # they ran, and their reports are kept
    assert study.best_value == max(t.best("score", "max") for t in study.trials)


def test_stop_from_another_thread_keeps_completed_and_cancels_running():
    study = Study(FunctionObjective(endless, "score"), Space({"x": Real(0, 1)}),
                  metric="score", mode="max", trials=100, workers=2, seed=0)
    study.start()

    def stop_once_the_long_trials_report():
        if wait_until(lambda: len(study.trials) >= 4
                      and all(t.reports for t in study.trials[2:4])):
            study.stop()

    stopper = threading.Thread(target=stop_once_the_long_trials_report)
    stopper.start()
    stopper.join(timeout=20)
    assert study.wait(timeout=10)
    assert study.state == "finished"
    assert len(study.trials) == 4  # the budget of 100 was not used up
    assert [t.status.value for t in study.trials] == ["completed", "completed",
                                                      "cancelled", "cancelled"]
    assert all(t.end_time is not None for t in study.trials)
    assert study.counts()["running"] == 0


def test_stop_before_start_and_stop_after_finish_are_harmless():
    study = Study(FunctionObjective(lambda c: c["x"], "score"), Space({"x": Real(0, 1)}),
                  metric="score", mode="max", trials=2)
    study.stop()
    assert study.done and study.trials == ()
    with pytest.raises(RuntimeError, match=r"stopped before it started \(stopped by the user\)"):
        study.run()
    finished = tune(lambda c: c["x"], {"x": Real(0, 1)}, metric="score", mode="max", trials=2)
    finished.stop()
    assert finished.state == "finished" and finished.counts()["completed"] == 2


def test_stop_with_a_reason_that_is_no_string_says_what_was_meant():
    """study.stop(3) was taken, its reason lost; a trial id, a flag or another object is a
    TypeError naming what to write, and the study is not stopped by it."""
    study = Study(FunctionObjective(lambda c: c["x"], "score"), Space({"x": Real(0, 1)}),
                  metric="score", mode="max", trials=2)
    with pytest.raises(TypeError, match=r"not 3: stop_trial\(3\) stops trial 3 alone"):
        study.stop(3)
    with pytest.raises(TypeError, match=r"not True: stop\(force=True\) ends the running"):
        study.stop(True)
    with pytest.raises(TypeError, match=r"not \['x'\] \(list\): e.g. stop\('good enough'\)"):
        study.stop(["x"])
    with pytest.raises(TypeError, match=r"force=...\) is True or False, not 'yes'"):
        study.stop("enough", force="yes")
    assert study.state == "created"
    study.run()
    assert study.counts()["completed"] == 2


def test_stop_trial_cancels_only_that_trial():
    def fn(config, trial, report):
        if trial.trial_id != 0:
            return config["x"]
        for step in range(1, 20_000):
            report(epoch=step, score=config["x"])
            time.sleep(0.001)
        return config["x"]

    study = Study(FunctionObjective(fn, "score"), Space({"x": Real(0, 1)}),
                  metric="score", mode="max", trials=5, workers=2, seed=0)
    study.start()
    assert wait_until(lambda: bool(study.trials and study.trials[0].reports))
    study.stop_trial(0)
    assert study.wait(timeout=10)
    assert study.state == "finished"
    assert [t.status.value for t in study.trials] == ["cancelled"] + ["completed"] * 4
    with pytest.raises(HPOError, match="no trial 99"):
        study.stop_trial(99)


def test_user_except_exception_does_not_swallow_trial_stopped():
    swallowed = []

    def fn(config, report):
        for epoch in range(1, MAX_T + 1):
            try:
                report(epoch=epoch, val_acc=curve(config["q"], epoch))
            except Exception as exc:  # noqa: BLE001 - the point of the test
                swallowed.append(exc)

    # Grid order is the Categorical's order, so q decreases: with one worker each trial after
    # the first is judged at rung 1 against better ones only (n = 2, 3, 4: 1, 2, 3 better, at
    # least ceil(n / 3)) and must be stopped there.
    study = tune(fn, {"q": Categorical(1.0, 0.5, 0.3, 0.2)}, metric="val_acc", mode="max",
                 searcher="grid", workers=1, scheduler="hyperband",
                 scheduler_options={"max_t": MAX_T, "grace_period": GRACE,
                                    "reduction_factor": ETA})
    assert swallowed == []
    assert [t.status.value for t in study.trials] == ["completed"] + ["stopped"] * 3
    for trial in study.trials[1:]:
        assert [r["epoch"] for r in trial.reports] == [1]
    assert issubclass(TrialStopped, BaseException) and not issubclass(TrialStopped, Exception)


# --------------------------------------------------------------------------- results
SPACE = {"lr": Real(1e-3, 1e-1, log=True), "units": Int(4, 64), "act": Categorical("relu", "tanh")}


def table_objective(config, trial, report):
    for epoch in range(1, 4):
        if trial.trial_id == 2 and epoch == 2:
            raise RuntimeError("diverged")
        acc = 1 - config["lr"] / epoch - (0.01 if config["act"] == "tanh" else 0.0)
        report(epoch=epoch, val_acc=acc, train_loss=1 / (epoch * config["units"]))


@pytest.fixture(scope="module")
def table_study():
    return tune(table_objective, SPACE, metric="val_acc", mode="max", trials=6, workers=2,
                seed=3)


def test_trials_dataframe_columns_and_values(table_study):
    df = table_study.trials_dataframe()
    assert list(df.columns) == ["trial_id", "status", "config.lr", "config.units", "config.act",
                                "val_acc", "resource", "start", "duration", "error"]
    assert len(df) == 6
    assert pd.api.types.is_datetime64_any_dtype(df["start"])
    for row, trial in zip(df.to_dict("records"), table_study.trials):
        assert row["trial_id"] == trial.trial_id
        assert row["status"] == trial.status.value
        assert {k[len("config."):]: v for k, v in row.items() if k.startswith("config.")} \
            == trial.config
        assert row["val_acc"] == max(r["val_acc"] for r in trial.reports)
        assert row["resource"] == trial.reports[-1]["epoch"]
        assert row["start"] == datetime.fromtimestamp(trial.start_time)  # local time
        assert row["duration"] == pytest.approx(trial.end_time - trial.start_time)
        assert row["duration"] >= 0
    assert dict(zip(df["trial_id"], df["status"]))[2] == "failed"
    assert df.loc[df["trial_id"] == 2, "error"].item() == "RuntimeError: diverged"
    assert df.loc[df["trial_id"] == 2, "resource"].item() == 1
    assert (df.loc[df["trial_id"] != 2, "error"] == "").all()
    assert (df.loc[df["trial_id"] != 2, "resource"] == 3).all()


def test_training_curves_one_row_per_report(table_study):
    curves = table_study.training_curves()
    assert list(curves.columns) == ["trial_id", "epoch", "val_acc", "train_loss", "time"]
    assert len(curves) == sum(len(t.reports) for t in table_study.trials)
    for trial in table_study.trials:
        rows = curves[curves["trial_id"] == trial.trial_id]
        assert rows[["epoch", "val_acc", "train_loss"]].to_dict("records") == list(trial.reports)
        assert (rows["time"] >= 0).all() and rows["time"].is_monotonic_increasing
        assert (rows["time"] <= table_study.elapsed).all()


def test_incumbent_over_time_is_monotone_and_ends_at_best(table_study):
    inc = table_study.incumbent_over_time()
    assert list(inc.columns) == ["time", "trial_id", "best_value"]
    assert len(inc) >= 1
    assert inc["time"].is_monotonic_increasing
    assert all(b > a for a, b in zip(inc["best_value"], inc["best_value"][1:]))
    assert inc["best_value"].iloc[-1] == table_study.best_value
    assert inc["trial_id"].iloc[-1] == table_study.best_trial.trial_id
    for row in inc.itertuples(index=False):
        assert row.best_value in [r["val_acc"] for r in table_study.trials[row.trial_id].reports]


def test_incumbent_that_fails_is_not_kept_as_the_best():
    def fn(config, trial, report):
        if trial.trial_id == 0:
            report(epoch=1, score=100.0)
            raise RuntimeError("crashed after a great first epoch")
        report(epoch=1, score=float(trial.trial_id))

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=4, workers=1)
    assert study.trials[0].status is TrialStatus.FAILED
    assert study.best_trial is study.trials[3] and study.best_value == 3.0
    inc = study.incumbent_over_time()
    assert all(b > a for a, b in zip(inc["best_value"], inc["best_value"][1:]))
    assert 0 not in set(inc["trial_id"])
    assert inc["best_value"].iloc[-1] == study.best_value


def test_function_result_dict_and_number():
    study = tune(lambda config: {"score": config["x"], "other": 1}, {"x": Real(0, 1)},
                 metric="score", mode="max", trials=3, seed=0)
    assert all(t.reports == ({"score": t.config["x"], "other": 1},) for t in study.trials)
    bad = Study(FunctionObjective(lambda config: "nope", "score"), Space({"x": Real(0, 1)}),
                metric="score", mode="max", trials=3)
    with pytest.raises(StudyFailedError, match="returned 'nope'"):
        bad.run()


def test_an_async_objective_runs_to_its_end_in_each_trial():
    async def train(config):
        for epoch in range(1, 4):
            await asyncio.sleep(0.001)
            report(epoch=epoch, loss=config["x"] / epoch)
        return {"loss": config["x"] / 3, "done": 1}

    for executor in ("thread", "process"):
        study = tune(train, {"x": Real(0, 1)}, metric="loss", trials=3, seed=0,
                     executor=executor)
        assert study.counts()["completed"] == 3
        assert all([r["loss"] for r in t.reports] == [t.config["x"] / e for e in (1, 2, 3, 3)]
                   for t in study.trials)


# ----------------------------------------------------------------------- concurrency
def test_at_most_workers_trials_run_at_once_and_they_overlap():
    lock = threading.Lock()
    running = [0]
    peak = [0]
    barrier = threading.Barrier(4, timeout=10)

    def fn(config):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            barrier.wait()  # four trials must be running together to get past this
            time.sleep(0.005)
        finally:
            with lock:
                running[0] -= 1
        return config["x"]

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=12, workers=4)
    assert study.counts()["completed"] == 12
    assert peak[0] == 4


def test_workers_limit_with_sleeping_objectives():
    lock = threading.Lock()
    running = [0]
    peak = [0]
    together = threading.Barrier(3, timeout=30)  # breaks unless 3 trials run at once

    def fn(config, report, trial):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if trial.trial_id < 3:
                together.wait()
            for epoch in range(1, 4):
                time.sleep(0.002)
                report(epoch=epoch, score=config["x"])
        finally:
            with lock:
                running[0] -= 1

    study = tune(fn, {"x": Real(0, 1)}, metric="score", mode="max", trials=20, workers=3)
    assert study.counts()["completed"] == 20
    assert peak[0] == 3  # three at once, never four


# ---------------------------------------------------------------------- CellObjective
class Marker:
    """An object each trial creates, to see which trial namespaces stay alive."""


CELL = """\
import weakref
x = Real(0.0, 1.0)
counter = counter + 1
shared_log.append({"trial_id": trial.trial_id, "trial": trial, "config": dict(config),
                   "x": x, "device": device, "report": report})
marker = Marker()
markers.append(weakref.ref(marker))
report(score=x)
"""


def test_cell_objective_runs_each_trial_in_a_shallow_copy():
    user_ns = {"counter": 10, "shared_log": [], "markers": [], "Marker": Marker}
    template = parse_cell(CELL, user_ns)
    study = Study(CellObjective(template, user_ns, "score"), template.space, metric="score",
                  mode="max", trials=6, workers=2, seed=0, keep_namespaces=1)
    study.run()
    assert study.counts()["completed"] == 6

    # Rebinding names in a trial never touches the user namespace...
    assert user_ns["counter"] == 10
    for name in ("x", "marker", "trial", "config", "device", "report", "weakref"):
        assert name not in user_ns
    # ...but the copy is shallow: mutable objects are shared.
    log = user_ns["shared_log"]
    assert len(log) == 6

    for entry in log:
        trial = study.trials[entry["trial_id"]]
        assert entry["trial"].trial_id == trial.trial_id  # the live trial of that record
        assert entry["config"] == trial.config == {"x": entry["x"]}
        assert str(entry["device"]) == trial.device
        assert entry["report"] is jupyter_hpo.report
    assert sorted(e["trial_id"] for e in log) == list(range(6))

    best_ns = study.best_namespace
    assert best_ns is not None
    assert best_ns["x"] == study.best_config["x"]
    assert best_ns["trial"].trial_id == study.best_trial.trial_id
    assert best_ns["counter"] == 11
    assert best_ns["shared_log"] is log

    def alive():
        gc.collect()
        return [ref() for ref in user_ns["markers"] if ref() is not None]

    assert wait_until(lambda: len(alive()) == 1)
    assert alive() == [best_ns["marker"]]


def test_cell_objective_without_report_uses_last_expression():
    user_ns = {"offset": 5}
    template = parse_cell("k = Int(1, 4)\nk * 10 + offset\n", user_ns)
    study = Study(CellObjective(template, user_ns, "value"), template.space, metric="value",
                  mode="max", trials=5, workers=2, seed=2)
    study.run()
    for trial in study.trials:
        assert trial.reports == ({"value": 10.0 * trial.config["k"] + 5},)
    assert study.best_namespace["k"] == study.best_config["k"]


def test_cell_objective_failure_points_at_the_cell_line():
    user_ns = {}
    template = parse_cell("x = Real(0, 1)\ny = 1\nz = undefined_name + x\n", user_ns)
    study = Study(CellObjective(template, user_ns, "z"), template.space, metric="z",
                  mode="max", trials=3, workers=1, seed=0)
    with pytest.raises(StudyFailedError, match="undefined_name"):
        study.run()
    assert study.state == "failed"
    trial = study.trials[0]
    assert trial.error == "NameError: name 'undefined_name' is not defined"
    assert '<hpo-cell>", line 3' in trial.traceback


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_bad_report_fails_the_trial_with_a_traceback_that_ends_at_the_cell_line(executor):
    user_ns = {}
    template = parse_cell("x = Real(0, 1)\nfor epoch in range(1, 3):\n"
                          "    report(epoch=epoch, score=float('nan') if x > 2 else 'high')\n",
                          user_ns)
    study = Study(CellObjective(template, user_ns, None), template.space, metric="score",
                  mode="max", trials=2, workers=1, seed=0, executor=executor)
    with pytest.raises(StudyFailedError):
        study.run()
    trial = study.trials[0]
    assert trial.error == ("ReportError: report(): the metric 'score' is 'high' (str), but must "
                           "be a finite number")
    lines = trial.traceback.rstrip().splitlines()
    frames = [line for line in lines if line.startswith("  File ")]
    # the cell's line is the last frame: report()'s own checks are not shown
    assert frames[-1] == '  File "<hpo-cell>", line 3, in <module>'
    assert lines[-1] == f"jupyter_hpo.trial.{trial.error}"
    assert "jupyter_hpo" not in "".join(lines[:-1])


def test_best_trial_stopped_early_keeps_its_variables():
    # A trial stopped early (by the scheduler or, here, the user) can still be the best one;
    # its state where it stopped (``model`` at its next report, epoch 2) must be kept.
    cell = ("x = Real(0, 1)\nfor epoch in range(1, 10):\n    model = ('weights', x, epoch)\n"
            "    report(epoch=epoch, score=x if epoch < 3 else x / 10)\n")
    template = parse_cell(cell, {})
    study = Study(CellObjective(template, {}, "score"), template.space, metric="score",
                  mode="max", trials=1, seed=0, scheduler="fifo")
    study.subscribe(lambda event: study.stop_trial(0) if event.kind == "report" else None)
    study.run()
    trial = study.trials[0]
    assert trial.status.value == "cancelled" and study.best_trial is trial
    assert study.best_namespace is not None
    assert study.best_namespace["model"] == ("weights", trial.config["x"], 2)


def test_a_grid_smaller_than_the_budget_says_the_study_ends_with_it(capsys):
    space = {"x": Real(0, 1), "act": Categorical("relu", "tanh")}
    study = tune(lambda c: c["x"], space, metric="loss", trials=30, searcher="grid",
                 points_to_evaluate=[{"x": 0.3, "act": "relu"}])
    assert len(study.trials) == 11
    assert ("jupyter_hpo: the grid has only 10 points and the study asks for 30 trials: it ends "
            "after 11 (more values per real or wide integer hyperparameter: --searcher-opt "
            "points=N, searcher_options={'points': N}; now 5)") in capsys.readouterr().out
    choices = Study(FunctionObjective(lambda c: 1.0, "loss"), Space({"act": space["act"]}),
                    metric="loss", trials=3, searcher="grid")
    ends = "the grid has only 2 points and the study asks for 3 trials: it ends after 2"
    assert choices.notes == [ends]
    for trials in (10, None):
        enough = Study(FunctionObjective(lambda c: 1.0, "loss"), Space(space), metric="loss",
                       trials=trials, searcher="grid")
        assert not any("grid" in note for note in enough.notes)


def test_a_grid_larger_than_the_budget_says_which_values_it_never_tries(capsys):
    """``--searcher grid --trials 6`` over a grid of 10 ran the first 6 points in order (C
    only at its three lowest values) without a word."""
    space = {"C": Real(0.01, 10, log=True), "gamma": Categorical("scale", "auto")}
    study = tune(lambda c: c["C"], space, metric="loss", trials=6, searcher="grid")
    assert sorted({t.config["C"] for t in study.trials}) == Real(0.01, 10, log=True).grid(5)[:3]
    assert ("jupyter_hpo: the grid has 10 points and the study runs 6 trials: it runs the first "
            "6 in the grid's order (the last hyperparameter varies fastest), so C is never "
            "1.778, 10; give --trials 10 (or leave it out) to run the whole grid, or "
            "--searcher-opt shuffle=True (searcher_options={'shuffle': True}) to spread the "
            "trials over it") in capsys.readouterr().out
    for options in ({"trials": 10}, {"trials": 6, "searcher_options": {"shuffle": True}}):
        quiet = Study(FunctionObjective(lambda c: 1.0, "loss"), Space(space), metric="loss",
                      searcher="grid", **options)
        assert not any("grid" in note for note in quiet.notes)


def test_thread_pool_reuses_threads_for_sequential_trials():
    study = tune(lambda config: config["x"], Space({"x": Real(0, 1)}), metric="value",
                 mode="max", trials=30, workers=1, seed=0)
    assert len(study.trials) == 30
    assert len(study.executor._threads) == 1


def test_a_space_smaller_than_the_budget_says_its_configurations_will_run_again(capsys):
    space = {"opt": Categorical("adam", "sgd"), "act": Categorical("relu", "tanh")}
    study = tune(lambda c: len(c["opt"]), space, metric="loss", trials=6, searcher="random",
                 seed=0)
    note = ("jupyter_hpo: the space has only 4 configurations and the study runs 6 trials: the "
            "random searcher will run some of them more than once (--searcher grid, "
            "searcher='grid', runs each once)")
    assert note in capsys.readouterr().out
    configs = [tuple(sorted(t.config.items())) for t in study.trials]
    assert len(configs) == 6 and len(set(configs)) <= 4  # what the note warned of
    timed = Study(FunctionObjective(lambda c: 1.0, "loss"), Space(space), metric="loss",
                  time_limit=1.0)
    assert timed.notes == [note.replace("jupyter_hpo: ", "").replace(
        "runs 6 trials", "runs trials until its time limit").replace("random", "auto")]
    from jupyter_hpo.searchers import make_searcher

    grid = make_searcher("grid", Space(space), "loss", "min")
    for quiet in ({"trials": 4}, {"trials": 20, "searcher": "grid"},
                  {"trials": 20, "searcher": grid},
                  {"trials": 20, "space": {**space, "lr": Real(0.1, 1.0)}}):
        options = {"trials": 20, **quiet}
        other = Study(FunctionObjective(lambda c: 1.0, "loss"),
                      Space(options.pop("space", space)), metric="loss", **options)
        assert not any("configuration" in n for n in other.notes), quiet


def _reports_steps(config, report):
    for step in range(1, 4):
        report(step=step, loss=config["x"] / step)


def test_a_report_without_hyperbands_resource_names_the_key_that_counts_progress():
    with pytest.raises(StudyFailedError, match=r"Hyperband needs the resource 'epoch' in every "
                                               r"report, .*: %%hpo --resource step, "
                                               r"tune\(resource='step'\)"):
        tune(_reports_steps, {"x": Real(0, 1)}, metric="loss", trials=3,
             scheduler="hyperband", scheduler_options={"max_t": 3})
    study = tune(_reports_steps, {"x": Real(0, 1)}, metric="loss", trials=3, resource="step",
                 scheduler="hyperband", scheduler_options={"max_t": 3})
    assert all(t.reports[-1]["step"] >= 1 for t in study.trials)


def test_tune_warns_when_the_mode_is_against_the_metrics_name(capsys, tmp_path):
    """tune(metric="loss", mode="max") ran silently; the warning is printed once, kept in the
    study's notes, and a resumed study (told at its start) does not repeat it."""
    import warnings

    storage = tmp_path / "runs.db"
    study = jupyter_hpo.tune(lambda c: {"loss": c["x"]}, {"x": jupyter_hpo.Real(0, 1)},
                             metric="loss", mode="maximize", trials=1, storage=storage,
                             name="m")
    assert study.notes == [
        ("maximising loss as asked (mode max), although its name reads like a value to "
        "minimise (mode min): if max is meant, warnings.filterwarnings('ignore', "
        "category=jupyter_hpo.ModeWarning) silences this")]
    assert capsys.readouterr().out.count("as asked") == 1
    resumed = jupyter_hpo.tune(lambda c: {"loss": c["x"]}, {"x": jupyter_hpo.Real(0, 1)},
                               metric="loss", mode="max", trials=2, storage=storage, name="m",
                               resume=True)
    assert not any("as asked" in note for note in resumed.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", jupyter_hpo.ModeWarning)  # the user's own filters apply
        with pytest.raises(jupyter_hpo.ModeWarning, match="maximising loss as asked"):
            jupyter_hpo.tune(lambda c: {"loss": c["x"]}, {"x": jupyter_hpo.Real(0, 1)},
                             metric="loss", mode="max", trials=1)
