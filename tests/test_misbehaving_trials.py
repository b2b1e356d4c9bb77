"""Trials that misbehave under the thread and process executors: each failure stays with its
trial, says what went wrong, and the study's other results are kept."""

from __future__ import annotations

import pytest

from jupyter_hpo import Categorical, TrialStatus, tune

pytestmark = pytest.mark.timeout(120)

EXECUTORS = ["thread", "process"]


def keeps_training_after_stop(config, report):
    """A careless loop whose bare ``except`` also catches the scheduler's ``TrialStopped``."""
    for epoch in range(1, 10):
        try:
            report(epoch=epoch, loss=config["q"] + 1 / epoch)
        except BaseException:  # noqa: BLE001, S110 - the point of the test
            pass
    return config["q"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_trial_that_swallows_its_stop_ends_as_stopped_and_is_told_why(executor):
    # grid order is the Categorical's, so with one worker every trial after the first meets
    # better results at rung 1 and is stopped there
    study = tune(keeps_training_after_stop, {"q": Categorical(0.0, 0.5, 0.6, 0.7)},
                 metric="loss", mode="min", searcher="grid", workers=1, executor=executor,
                 scheduler="hyperband",
                 scheduler_options={"max_t": 9, "grace_period": 1, "reduction_factor": 3})
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] + [TrialStatus.STOPPED] * 3
    for trial in study.trials[1:]:
        assert [r["epoch"] for r in trial.reports] == [1]  # nothing after the stop is kept
        assert study.trial_output(trial.trial_id).count("caught TrialStopped") == 1
    assert study.best_trial.trial_id == 0
