"""The resource that ``report()`` carries: a trial ends as completed at Hyperband's max_t, and
a bad, falling or repeated resource is refused or warned about (see the README's "report()")."""

from __future__ import annotations

import math
import threading

import pytest

from jupyter_hpo import Study, TrialCompleted, TrialStatus, TrialStopped, tune
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.schedulers import AdaptiveScheduler, FIFOScheduler, HyperbandScheduler
from jupyter_hpo.searchers import RandomSearcher, make_searcher
from jupyter_hpo.space import Real, Space
from jupyter_hpo.trial import Decision

C, S, P, D = Decision.CONTINUE, Decision.STOP, Decision.PAUSE, Decision.DONE
SPACE = Space({"x": Real(0, 1)})


def scheduler(cls=HyperbandScheduler, **options):
    options.setdefault("max_t", 4)
    s = cls(RandomSearcher(SPACE, "loss", "min", seed=0), "loss", "min", seed=0, **options)
    for trial_id in range(3):
        s.suggest(trial_id)
    return s


def decide(s, trial_id, epoch, loss):
    return s.on_trial_result(trial_id, {"epoch": epoch, "loss": loss})


# ============================================================================ scheduler decisions
@pytest.mark.parametrize("cls", [HyperbandScheduler, AdaptiveScheduler])
def test_a_report_at_or_past_max_t_is_done_however_it_ranks(cls):
    s = scheduler(cls, reduction_factor=2)     # rungs 1, 2, 4
    assert [decide(s, 0, epoch, 0.5) for epoch in (1, 2)] == [C, C]
    assert decide(s, 0, 4, 0.1) is D
    # trial 1 leads at rungs 1 and 2 (n=2, ceil(2/2)=1, better 0) and is worse than trial 0
    # at max_t: no cut is made there, it is done
    assert [decide(s, 1, epoch, 0.4) for epoch in (1, 2)] == [C, C]
    assert decide(s, 1, 4, 0.9) is D
    # past max_t (a loop longer than --max-t): done as well, recorded at rungs 1, 2 and 4
    assert decide(s, 2, 7, 0.05) is D
    assert [2 in recorded for recorded in s.rungs[0].values()] == [True, True, True]


def test_a_report_past_max_t_that_a_rung_cuts_is_stopped_not_done():
    s = scheduler(reduction_factor=2)                       # rungs 1, 2, 4
    assert decide(s, 0, 1, 0.1) is C
    # trial 1 skips to 5 with a worse loss: rung 1 (n=2, ceil(2/2)=1, better 1) cuts it
    assert decide(s, 1, 5, 0.9) is S


def test_promotion_does_not_pause_a_trial_that_jumps_to_max_t():
    s = scheduler(reduction_factor=2, type="promotion")     # rungs 1, 2, 4
    assert decide(s, 0, 1, 0.1) is P
    assert decide(s, 1, 6, 0.9) is D           # it would pause at rung 1; it reached max_t
    assert s.paused_trials() == [0]


def test_a_report_at_max_t_without_the_metric_continues():
    # as Ray's ASHA: the report that ends a trial is one the rungs can rank
    s = scheduler(reduction_factor=2)
    assert s.on_trial_result(0, {"epoch": 4, "train_loss": 0.3}) is C
    assert decide(s, 0, 4, 0.3) is D


def test_fifo_never_ends_a_trial():
    s = FIFOScheduler(RandomSearcher(SPACE, "loss", "min", seed=0), "loss", "min")
    s.suggest(0)
    assert [decide(s, 0, epoch, 0.1) for epoch in (1, 10, 1000)] == [C, C, C]


def test_a_falling_or_repeated_resource_changes_no_rung():
    s = scheduler(max_t=9, reduction_factor=3)              # rungs 1, 3, 9
    assert decide(s, 0, 3, 0.1) is C           # rungs 1 and 3
    assert decide(s, 1, 3, 0.05) is C          # n=2, ceil(2/3)=1, better 0: kept
    # trial 0 goes back to epoch 1 and repeats 3 with worse losses: its rung values stay
    assert decide(s, 0, 1, 0.9) is C
    assert decide(s, 0, 3, 0.9) is C
    assert s.rungs[0][1][0] == s.rungs[0][3][0] == 0.1
    # the same falling report from a trial new at rung 1 would have been cut there
    assert decide(s, 2, 1, 0.9) is S           # n=3, ceil(3/3)=1, better 2
    assert "changes no rung" in s.out_of_order_note()
    fifo = FIFOScheduler(RandomSearcher(SPACE, "loss", "min"), "loss", "min")
    assert "does not use the resource" in fifo.out_of_order_note()


def test_debug_log_says_a_trial_is_done(capsys):
    searcher = make_searcher("random", SPACE, "loss", "min", seed=0, debug_log=True)
    s = HyperbandScheduler(searcher, "loss", "min", max_t=3, reduction_factor=3)
    s.suggest(0)
    capsys.readouterr()
    assert decide(s, 0, 3, 0.5) is D
    assert "reached rung 3 (epoch=3) with loss=0.5, rank 1 of 1 there -> done (max_t 3 " \
           "reached: completed)" in capsys.readouterr().out


# ============================================================================ trials end at max_t
def epochs_past_max_t(config, report):
    """Ten epochs, more than the study's max_t; says what ran after each report."""
    for epoch in range(1, 11):
        report(epoch=epoch, loss=config["x"] + 1 / epoch)
        print(f"after epoch {epoch}")
    print("after the loop")
    return {"loss": -1.0}  # never reached under Hyperband


def check_completed_at_max_t(study, max_t=4):
    """Every trial ran to max_t, was completed there and ran no further: report() returned at
    max_t and ended the trial at the next report, which is not recorded."""
    for trial in study.trials:
        assert trial.status is TrialStatus.COMPLETED, (trial.trial_id, trial.status)
        assert [r["epoch"] for r in trial.reports] == list(range(1, max_t + 1))
        output = study.trial_output(trial.trial_id)
        assert f"after epoch {max_t}" in output
        assert f"after epoch {max_t + 1}" not in output and "after the loop" not in output
    frame = study.trials_dataframe()
    assert set(frame["status"]) == {"completed"} and set(frame["resource"]) == {max_t}
    best = min(study.trials, key=lambda t: t.config["x"])
    assert study.best_trial.trial_id == best.trial_id
    assert study.best_value == pytest.approx(best.config["x"] + 1 / max_t)


def test_thread_trials_past_max_t_end_completed_there(tmp_path):
    storage = str(tmp_path / "runs.db")
    study = tune(epochs_past_max_t, SPACE, metric="loss", mode="min", trials=3, seed=0,
                 workers=2, scheduler="hyperband", name="past-max-t", capture_output=True,
                 scheduler_options={"max_t": 4, "grace_period": 4}, storage=storage)
    check_completed_at_max_t(study)
    stored = Study.load("past-max-t", storage)
    assert [t.status for t in stored.trials] == [TrialStatus.COMPLETED] * 3
    assert [len(t.reports) for t in stored.trials] == [4] * 3
    assert stored.counts()["completed"] == 3


def test_the_default_scheduler_ends_trials_at_an_explicit_max_t():
    study = tune(epochs_past_max_t, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 scheduler_options={"max_t": 4}, capture_output=True)
    check_completed_at_max_t(study)


def test_fifo_trials_run_past_what_hyperband_would_cut():
    study = tune(epochs_past_max_t, SPACE, metric="loss", mode="min", trials=1, seed=0,
                 scheduler="fifo", capture_output=True)
    (trial,) = study.trials
    assert trial.status is TrialStatus.COMPLETED and len(trial.reports) == 11  # + its result
    assert "after the loop" in study.trial_output(trial.trial_id)


def test_a_trial_that_catches_the_end_at_max_t_is_still_completed_there():
    def stubborn(config, report):
        try:
            for epoch in range(1, 10):
                report(epoch=epoch, loss=config["x"])
        except TrialStopped as end:
            assert isinstance(end, TrialCompleted)
        report(epoch=99, loss=-5.0)  # reports again: ends it again, and is not recorded
        return {"loss": -10.0}

    study = tune(stubborn, SPACE, metric="loss", mode="min", trials=1, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 3})
    (trial,) = study.trials
    assert trial.status is TrialStatus.COMPLETED
    assert [r["epoch"] for r in trial.reports] == [1, 2, 3]
    assert "called report() again after it was told it had reached max_t" \
        in study.trial_output(0)


def test_code_after_a_loop_that_ends_at_max_t_runs_and_the_trial_completes():
    """The common case, `epochs = N` both the loop's length and max_t: report() at max_t
    returns, so what follows the loop (an evaluation, the model kept for the notebook) runs."""
    def trains_then_evaluates(config, report, trial):
        for epoch in range(1, 4):
            report(epoch=epoch, loss=config["x"] + 1 / epoch)
        trial.set(test_loss=config["x"] / 2)
        print("after the loop")

    study = tune(trains_then_evaluates, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 3}, capture_output=True)
    for trial in study.trials:
        assert trial.status is TrialStatus.COMPLETED
        assert [r["epoch"] for r in trial.reports] == [1, 2, 3]
        assert trial.user_attrs == {"test_loss": trial.config["x"] / 2}
        assert "after the loop" in study.trial_output(trial.trial_id)


def test_code_after_a_loop_that_catches_the_end_at_max_t_runs_and_the_trial_completes():
    def evaluates_after_training(config, report, trial):
        try:
            for epoch in range(1, 10):
                report(epoch=epoch, loss=config["x"])
        except TrialCompleted:
            pass
        trial.set(test_loss=config["x"] / 2)  # "test_acc = evaluate(model)" after training
        return {"loss": -10.0}  # not a report after max_t: dropped

    study = tune(evaluates_after_training, SPACE, metric="loss", mode="min", trials=1, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 3})
    (trial,) = study.trials
    assert trial.status is TrialStatus.COMPLETED
    assert [r["epoch"] for r in trial.reports] == [1, 2, 3]
    assert trial.user_attrs == {"test_loss": trial.config["x"] / 2}
    assert study.problems == [] and study.trial_output(0) == ""



def test_a_forced_stop_while_a_trial_runs_its_code_after_max_t_keeps_it_completed():
    """stop(force=True) ends running trials as cancelled, but one that reached max_t and is
    running its code after the loop (an evaluation) was done: it stays completed."""
    evaluating, release = threading.Event(), threading.Event()

    def trains_then_evaluates(config, report):
        for epoch in (1, 2):
            report(epoch=epoch, loss=config["x"])
        evaluating.set()
        release.wait(10)

    study = Study(FunctionObjective(trains_then_evaluates, "loss"), SPACE, metric="loss",
                  mode="min", trials=1, seed=0, scheduler="hyperband",
                  scheduler_options={"max_t": 2})
    study.start()
    try:
        assert evaluating.wait(10)
        study.stop(force=True)
    finally:
        release.set()
    (trial,) = study.trials
    assert trial.status is TrialStatus.COMPLETED and trial.error == ""
    assert [r["epoch"] for r in trial.reports] == [1, 2]
    assert study.best_trial is trial

# ============================================================================ bad resources
@pytest.mark.parametrize("value, said", [
    (-1, "is -1, but must be a finite number >= 0 ("),
    (-0.5, "is -0.5, but must be a finite number >= 0 ("),
    (math.nan, "is nan (float), but must be a finite number (a resource is a number >= 0: "),
    (math.inf, "is inf (float), but must be a finite number (a resource is a number >= 0: "),
    ("3", ("is '3' (str), but must be a number, not text: report e.g. float(value) (a "
           "resource is a number >= 0: ")),
], ids=repr)
@pytest.mark.parametrize("scheduler_name", ["hyperband", "fifo"])
def test_a_bad_resource_fails_its_trial_saying_what_it_must_be(value, said, scheduler_name):
    def objective(config, report, trial):
        report(epoch=0, loss=1.0)
        report(epoch=value if trial.trial_id == 0 else 1, loss=config["x"])

    options = {"max_t": 3} if scheduler_name == "hyperband" else {}
    study = tune(objective, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 scheduler=scheduler_name, scheduler_options=options)
    bad, good = study.trials
    assert bad.status is TrialStatus.FAILED
    assert f"report(): the resource 'epoch' {said}it counts the trial's progress, e.g. the " \
           f"epochs done, from 0 up)" in bad.error
    assert [r["epoch"] for r in bad.reports] == [0]  # what it reported before is kept
    assert good.status is TrialStatus.COMPLETED      # epoch 0 is a resource like any other


@pytest.mark.parametrize("reports, said", [
    ([(2, 0.5), (1, 0.4), (0, 0.3)], "reported epoch=1 after epoch=2"),
    ([(1, 0.5), (1, 0.4), (1, 0.3)], "reported loss at epoch=1 twice"),
], ids=["falls", "repeats"])
def test_a_falling_or_repeated_resource_is_warned_of_once_per_trial(reports, said):
    def objective(config, report):
        for epoch, loss in reports:
            report(epoch=epoch, loss=loss + config["x"])

    study = tune(objective, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 9, "grace_period": 9})
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2
    assert [[r["epoch"] for r in t.reports] for t in study.trials] == \
           [[e for e, _ in reports]] * 2  # kept in the curves
    note = "the resource should grow with each report; Hyperband keeps at each rung the value"
    assert [p.split(":")[0] for p in study.problems] == [f"trial {t} {said}" for t in (0, 1)]
    assert all(note in p and p.endswith("(said once per trial)") for p in study.problems)
    assert study.trial_output(0).count(said) == 1


def test_a_metric_reported_apart_from_other_values_at_one_resource_is_no_repeat():
    def objective(config, report):
        for epoch in range(2):
            report(epoch=epoch, train_loss=0.5)
            report(epoch=epoch, loss=config["x"])

    study = tune(objective, SPACE, metric="loss", mode="min", trials=1, seed=0,
                 scheduler="fifo")
    assert study.trials[0].status is TrialStatus.COMPLETED
    assert study.problems == []
