"""The controller loop: reports never wait for proposals, faults end only their trial, bad
report values fail the trial with the key and value, and the study state is an enum.

Every test runs real trials in real threads (the thread executor).
"""

from __future__ import annotations

import sys
import threading
import time
from decimal import Decimal

import pytest

from jupyter_hpo import Study, tune
from jupyter_hpo.errors import StudyFailedError
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.options import StudyOptions
from jupyter_hpo.records import StudyRecord, StudyState, TrialStatus
from jupyter_hpo.schedulers import make_scheduler
from jupyter_hpo.searchers import RandomSearcher
from jupyter_hpo.space import Real, Space

SPACE = Space({"x": Real(0, 1)})


class GatedSearcher(RandomSearcher):
    """Random search whose proposal for trial ``gate_at`` blocks until ``release`` is set,
    like a model fit that takes seconds."""

    def __init__(self, *args, gate_at: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate_at = gate_at
        self.inside = threading.Event()
        self.release = threading.Event()

    def _suggest(self, trial_id):
        if trial_id == self.gate_at:
            self.inside.set()
            self.release.wait(30)
        return super()._suggest(trial_id)


def test_a_slow_suggest_does_not_delay_another_trials_reports():
    searcher = GatedSearcher(SPACE, "loss", "min", seed=0, gate_at=2)
    scheduler = make_scheduler("fifo", searcher, "loss", "min")
    latencies: list[float] = []
    during_suggest: list[bool] = []
    trial0_done = threading.Event()

    def objective(config, report, trial):
        if trial.trial_id == 0:
            report(loss=1.0)
            trial0_done.set()
            return
        if trial.trial_id == 1:
            trial0_done.wait(10)
            assert searcher.inside.wait(10)  # trial 2's proposal is being made now
            for step in range(20):
                began = time.perf_counter()
                report(loss=float(step))
                latencies.append(time.perf_counter() - began)
                during_suggest.append(not searcher.release.is_set())
            searcher.release.set()
            return
        report(loss=2.0)
        return

    study = Study(FunctionObjective(objective, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", trials=3, workers=2,
                               scheduler=scheduler))
    study.run()
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 3
    # All of trial 1's reports were answered while trial 2's proposal was still blocked...
    assert len(latencies) == 20 and all(during_suggest)
    # ...so none of them waited for it (it blocked for as long as they took, and more).
    assert max(latencies) < 1.0


def test_searcher_failure_ends_the_study_with_the_reason():
    class Broken(RandomSearcher):
        def _suggest(self, trial_id):
            if trial_id == 2:
                raise RuntimeError("model fit diverged")
            return super()._suggest(trial_id)

    searcher = Broken(SPACE, "loss", "min", seed=0)
    study = Study(FunctionObjective(lambda c: c["x"], "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", trials=5,
                               scheduler=make_scheduler("fifo", searcher, "loss", "min")))
    with pytest.raises(Exception, match="model fit diverged"):
        study.run()
    assert study.state is StudyState.FAILED
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2


@pytest.mark.parametrize("body, reason", [
    (lambda: sys.exit(3), "the trial called sys.exit(3)"),
    (lambda: sys.exit(), "the trial called sys.exit(None)"),
    (lambda: (_ for _ in ()).throw(KeyboardInterrupt), "the trial raised KeyboardInterrupt"),
])
def test_sys_exit_and_keyboard_interrupt_fail_only_their_trial(body, reason):
    def objective(config, trial):
        if trial.trial_id == 1:
            body()
        return config["x"]

    study = tune(objective, SPACE, metric="loss", mode="min", trials=4, workers=2, seed=0)
    statuses = [t.status for t in study.trials]
    assert statuses == [TrialStatus.COMPLETED, TrialStatus.FAILED] + [TrialStatus.COMPLETED] * 2
    assert study.trials[1].error.startswith(reason)
    assert study.state is StudyState.FINISHED


def test_a_generator_objective_is_refused_before_any_trial():
    def train(config):
        for epoch in range(3):
            yield {"loss": config["x"] / (epoch + 1)}

    with pytest.raises(TypeError, match=r"^the objective 'train' is a generator function \(it "
                                        r"uses yield\), so a trial would get a generator and no "
                                        r"value: report each value with report\(epoch=\.\.\., "
                                        r"loss=\.\.\.\) instead of yield"):
        tune(train, SPACE, metric="loss", mode="min", trials=2, storage=None)


def test_a_class_objective_is_refused_before_any_trial(tmp_path):
    """tune(Trainer, ...) called the class for each trial and failed every one with "the
    objective returned <Trainer object at 0x...>"; it is refused before anything is stored,
    with the function (or instance) to pass, and Ray Tune's Trainable is translated."""
    made = []

    class Trainer:
        def __init__(self, config):
            made.append(config)

        def step(self):
            return {"loss": 1.0}

    path = tmp_path / "runs.db"
    with pytest.raises(TypeError, match=r"^the objective 'Trainer' is a class, so each trial "
                                        r"would get an instance of it and no value: pass a "
                                        r"function, def train\(config\): \.\.\. that returns "
                                        r"or reports 'loss', or an instance whose "
                                        r"__call__\(config\) does, Trainer\(\.\.\.\); a Ray Tune "
                                        r"Trainable's setup\(config\) and step\(\)"):
        tune(Trainer, SPACE, metric="loss", mode="min", trials=2, storage=str(path),
             name="t")
    assert made == [] and not path.exists()


def test_a_study_without_objective_is_refused_when_started_and_not_left_stored(tmp_path):
    """Study(None, ...) (a decorator that returned None) started trials that each failed
    with "AttributeError: 'NoneType' object has no attribute 'run'" from inside the executor;
    starting it is refused, and the study it stored is removed (it never ran)."""
    from jupyter_hpo.storage import SQLiteStorage

    path = str(tmp_path / "runs.db")
    study = Study(None, SPACE, metric="loss", mode="min", trials=2, storage=path, name="n")
    assert SQLiteStorage(path).find_study("n") is not None
    with pytest.raises(TypeError, match=r"^study 'n' has no objective \(Study\(None, \.\.\.\)\), "
                                        r"so its thread executor has nothing to run: pass the "
                                        r"function that runs a trial, Study\(train, space, "
                                        r"\.\.\.\)"):
        study.run()
    assert study.trials == () and study.done
    assert SQLiteStorage(path).find_study("n") is None


def test_waiting_for_a_study_that_was_never_started_is_refused_at_once():
    """Study(...).wait() before run() or start() waited for ever (the study never ends on its
    own); it says what to call instead, and the study can still be run."""
    study = Study(lambda config: config["x"], SPACE, metric="loss", mode="min", trials=2)
    with pytest.raises(RuntimeError, match=r"^study 'study-\d+' has not started, so wait\(\) "
                                           r"would never return: run\(\) runs it to its end"):
        study.wait()
    study.run()
    assert study.wait() and len(study.trials) == 2


def test_argparse_in_a_trial_says_it_parsed_the_kernels_command_line(monkeypatch):
    """A script's parse_args() pasted into a cell reads the kernel's sys.argv (-f
    kernel.json) and exits with 2: the study's error says why instead of "SystemExit: 2"."""
    import argparse

    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])

    def objective(config):
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=config["x"])
        return parser.parse_args().lr

    with pytest.raises(StudyFailedError) as caught:
        tune(objective, SPACE, metric="loss", mode="min", trials=3, seed=0)
    text = str(caught.value)
    assert text.rstrip().endswith(
        "(the trial called sys.exit(2) from argparse, which parsed the kernel's own command "
        "line (sys.argv): in a notebook call parser.parse_args([]) (its output says what it "
        "refused))")
    assert "SystemExit: 2" in text


BAD_VALUES = [float("nan"), float("inf"), -float("inf"), "abc", None, [1, 2], 10 ** 400, True,
              {"a": 1}, b"1"]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_a_bad_metric_value_fails_the_trial_naming_key_and_value(value):
    def objective(config, report, trial):
        report(epoch=1, loss=value if trial.trial_id == 0 else config["x"])

    study = tune(objective, SPACE, metric="loss", mode="min", trials=3, seed=0)
    first = study.trials[0]
    assert first.status is TrialStatus.FAILED
    assert first.error.startswith("ReportError: report(): the metric 'loss' is ")
    assert repr(value)[:20] in first.error and "must be" in first.error
    assert first.reports == ()  # the bad report was not recorded
    assert [t.status for t in study.trials[1:]] == [TrialStatus.COMPLETED] * 2
    assert study.best_trial.trial_id in (1, 2)


@pytest.mark.parametrize("value", ["a", None, float("nan"), 10 ** 400, [3]], ids=repr)
def test_a_bad_resource_fails_the_trial(value):
    def objective(config, report, trial):
        report(epoch=value if trial.trial_id == 0 else 1, loss=config["x"])

    study = tune(objective, SPACE, metric="loss", mode="min", trials=2, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 3})
    assert study.trials[0].status is TrialStatus.FAILED
    assert "the resource 'epoch' is" in study.trials[0].error
    assert study.trials[1].status is TrialStatus.COMPLETED


def test_a_decreasing_resource_is_kept_with_a_warning():
    # (tests/test_resource_reports.py: what the warning says, once per trial)
    def objective(config, report):
        report(epoch=2, loss=1.0)
        report(epoch=1, loss=0.5)

    study = run_study(objective, trials=1)
    trial = study.trials[0]
    assert trial.status is TrialStatus.COMPLETED
    assert [r["epoch"] for r in trial.reports] == [2, 1]
    assert [p.split(":")[0] for p in study.problems] == ["trial 0 reported epoch=1 after epoch=2"]


def test_a_bad_value_swallowed_by_the_user_still_fails_the_trial():
    def objective(config, report):
        try:
            report(loss=float("nan"))
        except Exception:  # noqa: BLE001, S110 - what a careless training loop does
            pass
        report(loss=1.0)  # the trial is over: this report stops it

    study = run_study(objective, trials=1)
    assert study.trials[0].status is TrialStatus.FAILED
    assert "nan" in study.trials[0].error


@pytest.mark.parametrize("value, message", [
    (float("nan"), "the trial's result: the metric 'loss' is nan"),
    (10 ** 400, "the trial's result: the metric 'loss' is 1000"),
    ({"loss": None}, "the trial's result: the metric 'loss' is None"),
    ("abc", "the objective returned 'abc'"),
])
def test_a_bad_returned_result_fails_the_trial(value, message):
    study = run_study(lambda c: value, trials=1)
    assert study.trials[0].status is TrialStatus.FAILED
    assert message in study.trials[0].error
    assert study.state is StudyState.FAILED and study.error is not None


def test_numpy_and_torch_scalars_are_kept_as_python_numbers(tmp_path):
    """``report(loss=loss)`` with a 0-d tensor (or a numpy scalar or 0-d array) works as with
    ``loss.item()``: the report and the stored study hold floats, not the tensor."""
    import numpy as np
    import torch

    def objective(config, report):
        weight = torch.tensor(config["x"], requires_grad=True)
        loss = (weight - 0.3) ** 2
        report(epoch=np.int64(1), loss=loss, acc=np.array(0.5), lr=np.float32(0.25))
        return {"loss": loss.detach(), "steps": torch.tensor(3)}

    storage = str(tmp_path / "s.db")
    study = tune(objective, SPACE, metric="loss", mode="min", trials=3, seed=0,
                 storage=storage, name="scalars")
    assert study.counts()["completed"] == 3
    for trial in study.trials:
        expected = (trial.config["x"] - 0.3) ** 2
        first, result = trial.reports
        assert first == {"epoch": 1, "loss": pytest.approx(expected), "acc": 0.5, "lr": 0.25}
        assert result == {"loss": pytest.approx(expected), "steps": 3}
        assert {type(v) for r in trial.reports for v in r.values()} <= {int, float}
    stored = Study.load("scalars", storage)
    assert [t.reports for t in stored.trials] == [t.reports for t in study.trials]
    assert study.best_value == min(r["loss"] for t in study.trials for r in t.reports)
    cell_like = run_study(lambda c: np.float64(c["x"]) * np.ones(()), trials=2)
    assert cell_like.counts()["completed"] == 2


def test_other_real_numbers_are_kept_as_floats(tmp_path):
    """A metric reported as a Fraction (any numbers.Real) was accepted but stored as its repr,
    'Fraction(1, 3)': the stored study then had no best value and nothing to plot. A Decimal
    (not a numbers.Real, though float() converts it as exactly) was refused as "not a finite
    number", reported or returned."""
    from fractions import Fraction

    def objective(config, report):
        report(epoch=1, loss=Fraction(1, 3) + Fraction(int(10 * config["x"]), 10))
        report(epoch=Decimal(2), loss=Decimal("0.5") + Decimal(int(10 * config["x"])) / 10)
        return {"loss": Fraction(1, 4)}

    storage = str(tmp_path / "s.db")
    study = tune(objective, SPACE, metric="loss", mode="min", trials=3, seed=0,
                 storage=storage, name="fractions")
    assert {type(v) for t in study.trials for r in t.reports for v in r.values()} \
        <= {int, float}
    stored = Study.load("fractions", storage)
    assert [t.reports for t in stored.trials] == [t.reports for t in study.trials]
    assert stored.best_value == study.best_value == 0.25
    assert [t.reports[1]["epoch"] for t in study.trials] == [2.0] * 3
    returned = run_study(lambda c: Decimal("0.125"), trials=1)
    assert returned.best_value == 0.125


@pytest.mark.parametrize("value, hint", [
    ([0.5], "not an array of shape (1,): report e.g. value.item()"),
    ([0.5, 0.7], "not an array of shape (2,): report e.g. value.mean().item()"),
])
def test_an_array_metric_says_how_to_report_one_number(value, hint):
    import numpy as np

    def objective(config, report):
        report(loss=np.array(value))

    error = run_study(objective, trials=1).trials[0].error
    assert error.startswith("ReportError: report(): the metric 'loss' is array(")
    assert f"(ndarray), but must be one number, {hint}" in error


@pytest.mark.parametrize("value, refused", [
    (float("nan"), "nan (float), but must be a finite number"),
    (float("-inf"), "-inf (float), but must be a finite number"),
    (Decimal("NaN"), "Decimal('NaN') (Decimal), but must be a finite number"),
    (Decimal("Infinity"), "Decimal('Infinity') (Decimal), but must be a finite number"),
    (Decimal("1e400"), "Decimal('1E+400') (Decimal), but must be a finite number"),
    (True, "True (bool), but must be a number, not True or False"),
    ("0.5", "'0.5' (str), but must be a number, not text: report e.g. float(value)"),
    ("high", "'high' (str), but must be a finite number"),
    (1 + 2j, ("(1+2j) (complex), but must be a real number, not a complex one (which has no "
              "order to rank trials by)")),
])
def test_a_metric_that_is_not_a_real_number_fails_the_trial_saying_what_it_is(value, refused):
    error = run_study(lambda config, report: report(loss=value), trials=1).trials[0].error
    assert error == f"ReportError: report(): the metric 'loss' is {refused}"


def test_a_one_trial_study_that_failed_says_the_trial_failed():
    """It said "the first 1 trials all failed with the same error"."""
    with pytest.raises(StudyFailedError) as info:
        tune(lambda config: 1 / 0, SPACE, metric="loss", mode="min", trials=1)
    assert str(info.value).startswith("the first trial failed, so the study stopped. Trial 0's "
                                      "traceback:\nTraceback (most recent call last):\n")


def test_a_study_takes_a_plain_function_as_tune_does():
    """``Study(fn, space, ...)`` used to hang: the executor's thread died on the function (it
    has no ``run``), and the trial never ended."""
    study = Study(lambda config: config["x"], SPACE, metric="loss", mode="min", trials=3,
                  seed=0)
    study.run()
    assert study.counts()["completed"] == 3
    assert study.best_value == min(t.config["x"] for t in study.trials)
    with pytest.raises(TypeError, match="the objective is 3, but must be a function taking "
                                        "the configuration"):
        Study(3, SPACE, metric="loss", mode="min")


def test_report_from_a_thread_the_trial_started_says_where_to_call_it():
    seen = []

    def objective(config, report):
        def in_background():
            try:
                report(loss=1.0)
            except RuntimeError as exc:
                seen.append(str(exc))

        helper = threading.Thread(target=in_background, name="loader")
        helper.start()
        helper.join()
        return config["x"]

    assert run_study(objective, trials=1).counts()["completed"] == 1
    assert seen == [("report() was called in the thread 'loader', which is not a trial's own "
                     "thread (a thread the trial started, a data loader's or a callback's): "
                     "call it from the trial's code itself, e.g. collect the values in that "
                     "thread and report them from the training loop")]


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_exception_whose_str_fails_fails_its_trial_and_the_study_ends():
    def objective(config, trial):
        if trial.trial_id == 0:
            raise UnprintableError()
        return config["x"]

    study = run_study(objective, trials=3, seed=0)
    assert study.trials[0].status is TrialStatus.FAILED
    assert study.trials[0].error == "UnprintableError: <exception str() failed>"
    assert [t.status for t in study.trials[1:]] == [TrialStatus.COMPLETED] * 2


def test_study_state_is_an_enum_and_prints_as_its_value():
    study = tune(lambda c: c["x"], SPACE, metric="loss", mode="min", trials=2)
    assert study.state is StudyState.FINISHED and f"{study.state}" == "finished"
    assert study.state == "finished"  # still compares with the plain string
    assert repr(study).startswith("<Study") and "finished" in repr(study)


def test_snapshot_is_a_consistent_read_only_record():
    study = tune(lambda c: c["x"], SPACE, metric="loss", mode="max", trials=5, seed=1)
    record = study.snapshot()
    assert isinstance(record, StudyRecord)
    assert record.best_trial.trial_id == study.best_trial.trial_id
    assert record.best_value == max(t.config["x"] for t in record.trials)
    assert [t.trial_id for t in record.trials] == list(range(5))
    with pytest.raises(AttributeError):
        record.trials[0].status = TrialStatus.FAILED  # frozen
    assert record.trials_dataframe().shape[0] == 5


def test_stop_reason_is_kept():
    release = threading.Event()

    def objective(config, report):
        for epoch in range(1, 1000):
            release.wait(0.01)
            report(epoch=epoch, loss=config["x"])

    study = Study(FunctionObjective(objective, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", trials=3))
    study.start()
    study.stop("stopped from a test")
    assert study.wait(30)
    assert study.stop_reason == "stopped from a test"
    assert study.trials[0].status is TrialStatus.CANCELLED
    assert study.trials[0].error == "stopped from a test"


def test_time_limit_ends_a_study_of_fast_trials_at_the_limit():
    """Trials that end as fast as they are proposed never let the controller's loop wait, so
    the limit must be checked before each proposal: no trial starts once it has passed. The
    study's clock moves only as the trials spend time, so the count does not depend on how
    fast the machine is."""
    now = [0.0]

    def objective(config):
        now[0] += 0.125  # each trial takes an eighth of a second on the study's clock
        return config["x"]

    study = Study(FunctionObjective(objective, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", time_limit=0.5, workers=1),
                  clock=lambda: now[0])
    study.start()
    assert study.wait(120), "the study never ended: its loop ran on past the time limit"
    assert study.state is StudyState.FINISHED and study.stop_reason == "time limit reached"
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 4
    assert study.elapsed == 0.5


def test_overlapping_studies_restore_stdout_and_capture_per_trial():
    before_out, before_err = sys.stdout, sys.stderr
    gates = {"first": threading.Event(), "second": threading.Event()}

    def chatty(gate):
        def objective(config, trial):
            print(f"trial {trial.trial_id} of {gate} says hi")
            gates[gate].wait(10)
            return config["x"]
        return FunctionObjective(objective, "loss")

    options = StudyOptions(metric="loss", mode="min", trials=2, capture_output=True)
    first = Study(chatty("first"), SPACE, options)
    second = Study(chatty("second"), SPACE, options)
    first.start()
    second.start()
    gates["first"].set()
    assert first.wait(30)
    assert sys.stdout is not before_out  # the second study still captures its trials
    gates["second"].set()
    assert second.wait(30)
    assert sys.stdout is before_out and sys.stderr is before_err
    for name, study in (("first", first), ("second", second)):
        for trial in study.trials:
            assert study.trial_output(trial.trial_id) == \
                f"trial {trial.trial_id} of {name} says hi\n"


def run_study(objective, **options):
    """Run a study to its end without raising its error (so the trials can be inspected)."""
    study = Study(FunctionObjective(objective, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", **options))
    study.start()
    assert study.wait(60)
    return study


def test_bad_options_name_the_value_and_the_rule():
    cases = [
        ({"trials": 0}, "trials is 0, but must be an integer >= 1"),
        ({"trials": 2.5}, "trials is 2.5"),
        ({"workers": True}, "workers is True"),
        ({"time_limit": -1}, "time_limit is -1"),
        ({"time_limit": "3x"}, "not a duration"),
        ({"mode": "up"}, "mode is 'up', but must be 'min' or 'max'"),
        ({"seed": -1}, "seed is -1"),
        ({"resume": True}, "resume=True needs"),
        ({"resume": True, "name": "mlp"},
         ("resume=True needs the storage that holds the study: pass the file 'mlp' was stored "
          "in, e.g. storage='runs.db' (tune() keeps nothing unless given storage=)")),
        ({"executor": "dask", "executor_options": {"address": "nope"}},
         "address is 'nope', but must be a Dask scheduler address such as tcp://host:8786"),
        ({"executor": "thread", "executor_options": {"address": "tcp://127.0.0.1:8786"}},
         "address only applies to the dask executor, but the executor is thread"),
        ({"executor": "thread", "executor_options": {"trial_timeout": 0}},
         "trial_timeout is 0, but must be > 0 seconds"),
        ({"executor": "thread", "executor_options": {"trial_timeout": "90"}},
         "trial_timeout is '90', but must be a number of seconds > 0 (90, not '90'"),
        ({"executor": "process", "executor_options": {"trial_timeout": True}},
         "trial_timeout is True, but must be a number of seconds > 0"),
        ({"executor": "thread", "executor_options": {"foo": 1}},  # was "applies to no executor"
         ("executor_options has foo, which no executor takes (the executor is thread; the "
          "options each takes: thread: trial_timeout; process: trial_timeout; dask: address, "
          "client")),
        ({"executor": "process", "executor_options": {"timeout": 5}},
         ("which no executor takes (the executor is process; the options each takes: thread: "
          "trial_timeout; process: trial_timeout; dask: address, client, connect_timeout, "
          "gpus_per_trial, cpus_per_trial, trial_timeout); did you mean trial_timeout?")),
        ({"name": ""}, "name is ''"),
        ({"storage": " "}, ("storage is ' ': pass the file to keep the study in "  # kept none
                            "(storage='runs.db'), or storage=None (or 'none') to keep nothing")),
        ({"scheduler_options": 3}, "scheduler_options is 3, but must be a dict"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=None) as info:
            Study(FunctionObjective(lambda c: 1.0, "loss"), SPACE,
                  StudyOptions(metric="loss", **{"mode": "min", **options}))
        assert message in str(info.value), (options, str(info.value))


def test_none_for_an_options_dict_means_no_options():
    """``scheduler_options=None`` is the usual "no options" of a keyword argument (it was
    refused: "scheduler_options is None, but must be a dict")."""
    options = StudyOptions(metric="loss", mode="min", scheduler="hyperband",
                           scheduler_options=None, searcher_options=None,
                           executor_options=None).validated()
    assert (options.scheduler_options, options.searcher_options,
            options.executor_options) == ({}, {}, {})


def test_components_that_are_neither_names_nor_objects_are_refused_clearly(tmp_path):
    from jupyter_hpo.errors import StorageError
    from jupyter_hpo.executors import ThreadExecutor
    from jupyter_hpo.schedulers import HyperbandScheduler
    from jupyter_hpo.searchers import make_searcher

    scheduler = HyperbandScheduler(make_searcher("random", SPACE, "loss", "min"), "loss",
                                   "min", max_t=3)
    cases = [
        ({"scheduler": 3}, ("scheduler is 3 (int), but must be one of 'auto', 'fifo', "
                           "'hyperband' or a Scheduler object")),
        ({"scheduler": HyperbandScheduler}, ("scheduler is the class HyperbandScheduler, but "
                                            "must be a name or an object: pass "
                                            "HyperbandScheduler(...)")),
        ({"searcher": RandomSearcher}, "pass RandomSearcher(...)"),
        ({"searcher": 1.5}, "searcher is 1.5 (float), but must be one of 'random'"),
        ({"executor": ThreadExecutor}, "pass ThreadExecutor(...)"),
        ({"executor": None}, ("executor is None (NoneType), but must be one of 'thread', "
                             "'process', 'dask' or an Executor object")),
        ({"scheduler": scheduler, "searcher": "tpe"},
         "searcher given with a scheduler object (HyperbandScheduler), which holds its own"),
        ({"scheduler": scheduler, "scheduler_options": {"max_t": 9}},
         "scheduler_options given with a scheduler object"),
        ({"scheduler": scheduler, "searcher_options": {"num_init_random": 2}},
         "searcher_options given with a scheduler object"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError) as info:
            StudyOptions(metric="loss", mode="min", **options).validated()
        assert message in str(info.value), (options, str(info.value))
    StudyOptions(metric="loss", mode="min", scheduler=scheduler,
                 searcher=scheduler.searcher).validated()  # its own searcher, named again
    for storage, hint in ((3, ""), (False, " (to keep nothing, pass 'none')")):
        with pytest.raises(StorageError) as info:
            Study(FunctionObjective(lambda c: 1.0, "loss"), SPACE,
                  StudyOptions(metric="loss", mode="min", storage=storage))
        assert str(info.value) == (
            f"the storage location is {storage!r} ({type(storage).__name__}), but must be a "
            f"path, sqlite:///path, ':memory:', 'none' or a storage object such as "
            f"SQLiteStorage(path){hint}")


def test_mode_is_inferred_or_required():
    assert StudyOptions(metric="val_acc").validated().mode == "max"
    assert StudyOptions(metric="train_loss").validated().mode == "min"
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        StudyOptions(metric="widgets").validated()


def test_the_time_limit_ends_a_study_whose_proposals_are_slower_than_its_trials():
    class SlowSearcher(RandomSearcher):
        def _suggest(self, trial_id):
            time.sleep(0.02)  # the trials end while the next proposal is being made
            return super()._suggest(trial_id)

    space = Space({"x": Real(0, 1)})
    study = Study(FunctionObjective(lambda config: config["x"], "loss"), space, metric="loss",
                  mode="min", time_limit=0.3, workers=2,
                  searcher=SlowSearcher(space, "loss", "min", 0))
    study.start()
    assert study.wait(60), "the study never noticed its time limit"
    assert study.stop_reason == "time limit reached"
