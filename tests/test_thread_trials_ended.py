"""A forced stop, or the trial timeout, ends a thread trial's code, which a graceful stop leaves
to its next report: the thread is sent ``TrialAbandoned``, never inside the library's calls from
it, and an exception sent but not raised yet is taken back when the trial's code ends first."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_hpo import Categorical, Real, TrialAbandoned, TrialStatus, report, tune
from jupyter_hpo.executors._thread_stop import ThreadGate
from jupyter_hpo.executors._thread_timeout import TimeoutWatch
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Space
from jupyter_hpo.study import Study
from jupyter_hpo.trial import Trial, TrialStopped

pytestmark = pytest.mark.timeout(60)


def in_thread(target, *args):
    """Run ``target(*args)`` in a new thread; return the thread and what it raised."""
    raised: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def started_study(fn, **options):
    study = Study(FunctionObjective(fn, "loss"), Space({"x": Real(0, 1)}), metric="loss",
                  mode="min", trials=1, workers=1, executor="thread", **options)
    study.start()
    while not study.trials or study.trials[0].status is not TrialStatus.RUNNING:
        time.sleep(0.01)
    return study


def test_a_forced_stop_ends_a_thread_trial_that_never_reports():
    ended = threading.Event()

    def spins(config):
        try:
            n = 0
            while True:
                n += 1
        finally:
            ended.set()

    study = started_study(spins)
    time.sleep(0.1)
    study.stop(force=True)
    assert ended.wait(10), "the trial's code ran on after the forced stop"
    assert study.trials[0].status is TrialStatus.CANCELLED
    assert study.trials[0].error == "force-stopped by the user"


def test_a_graceful_stop_still_waits_for_the_next_report():
    reported, go_on = threading.Event(), threading.Event()
    after_wait: list[str] = []

    def slow_epoch(config):
        report(epoch=1, loss=1.0)
        reported.set()
        go_on.wait(10)
        after_wait.append("ran")
        report(epoch=2, loss=0.5)

    study = started_study(slow_epoch)
    assert reported.wait(10)
    study.stop()
    time.sleep(0.2)
    go_on.set()
    assert study.wait(10)
    assert after_wait == ["ran"]  # not cut short: the report after it is what stopped it
    assert [r["loss"] for r in study.trials[0].reports] == [1.0, 0.5]


def test_a_stop_during_a_library_call_is_raised_as_the_call_returns():
    gates: list[ThreadGate] = []  # the gate of the thread that runs the trial
    inside, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def library_call():
        inside.set()
        release.wait(10)
        finished.append("whole")
        return 42

    def trial_code():
        gates.append(ThreadGate())
        gates[0].guard(library_call)()
        finished.append("after")

    thread, raised = in_thread(trial_code)
    assert inside.wait(10)
    gates[0].abandon()
    time.sleep(0.1)
    release.set()
    thread.join(10)
    assert finished == ["whole"]
    assert len(raised) == 1 and type(raised[0]) is TrialAbandoned
    assert isinstance(raised[0], TrialStopped)  # what the trial's code may already catch


def test_an_exception_sent_and_not_raised_yet_is_taken_back_by_close():
    """The trial's code is in one long call into C when it is abandoned, and the trial is
    closed before that call returns: the exception must not land in what the thread does
    next (the next trial it runs)."""
    gates: list[ThreadGate] = []
    held, ready = threading.Lock(), threading.Event()
    held.acquire()
    went_on: list[str] = []

    def trial_then_next():
        gates.append(ThreadGate())
        ready.set()
        held.acquire()  # in C: nothing is raised until it returns
        sum(i * i for i in range(100_000))  # what the thread runs next: the next trial
        went_on.append("next")

    thread, raised = in_thread(trial_then_next)
    assert ready.wait(10)
    time.sleep(0.05)
    gates[0].abandon()
    gates[0].close()
    held.release()
    thread.join(10)
    assert raised == [] and went_on == ["next"]


def test_abandoning_a_trial_whose_code_ended_sends_nothing():
    gates: list[ThreadGate] = []
    done = threading.Event()
    went_on: list[str] = []

    def trial_then_next():
        gates.append(ThreadGate())
        gates[0].close()
        done.set()
        time.sleep(0.2)
        went_on.append("next")

    thread, raised = in_thread(trial_then_next)
    assert done.wait(10)
    gates[0].abandon()
    thread.join(10)
    assert raised == [] and went_on == ["next"]


def spins_when_one(config):
    if config["i"] == 1:
        n = 0
        while True:  # never reports, never returns
            n += 1
    report(epoch=1, loss=float(config["i"]))


def test_a_thread_trial_past_its_timeout_fails_where_its_code_was():
    study = tune(spins_when_one, {"i": Categorical(0, 1, 2)}, metric="loss", mode="min",
                 searcher="grid", workers=1, executor_options={"trial_timeout": 0.3})
    assert [t.status for t in study.trials] == \
        [TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.COMPLETED]
    assert study.trials[1].error.startswith("exceeded the trial timeout of 0.3s (the time its "
                                            "code ran, not counting report())")
    assert "while True:  # never reports" in study.trials[1].traceback


def test_the_time_inside_library_calls_does_not_count_toward_the_timeout():
    """A trial paused inside ``report`` (Hyperband's promotion variant) or waiting for a
    decision is not running its own code: its clock stops, as the process executor's does."""
    watch = TimeoutWatch(0.3)
    gates: list[ThreadGate] = []
    waited, spun = threading.Event(), []

    def trial_code():
        gates.append(ThreadGate())
        watch.watch(trial, gates[0])
        gates[0].guard(time.sleep)(0.8)  # inside report: not counted
        waited.set()
        while True:  # its own code: counted, and ended past 0.3 s
            spun.append(1)
            time.sleep(0.01)

    trial = Trial(trial_id=7, config={})
    thread, raised = in_thread(trial_code)
    thread.join(10)
    assert waited.is_set() and spun  # not ended while it waited
    assert len(raised) == 1 and type(raised[0]) is TrialAbandoned
    assert watch.unwatch(trial) and 0.3 < trial.timeout_used < 0.8


def test_trial_timeout_in_a_hpo_cell_with_threads(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    ipython_shell.run_cell_magic(
        "hpo", "--quiet --searcher grid --metric loss --mode min --trial-timeout 0.3",
        "i = Categorical(0, 1)\nwhile i == 1:\n    pass\nloss = float(i)\n")
    study = ipython_shell.user_ns["_hpo"]
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED, TrialStatus.FAILED]
    assert "exceeded the trial timeout of 0.3s" in study.trials[1].error


def test_stop_trial_force_ends_one_thread_trial_that_never_reports(tmp_path):
    """``stop_trial(id, force=True)`` ends that trial's code (its ``finally`` runs), records
    it ``cancelled`` with its reports, frees its thread for the next trial, and leaves the
    study running; stored results are intact."""
    ended, spinning = threading.Event(), threading.Event()
    threads: dict[int, str] = {}

    def spins_once(config):
        threads[config["i"]] = threading.current_thread().name
        report(epoch=1, loss=float(config["i"]))
        if config["i"] == 0:
            try:
                spinning.set()
                while True:  # never reports again
                    pass
            finally:
                ended.set()

    study = Study(FunctionObjective(spins_once, "loss"), Space({"i": Categorical(0, 1, 2)}),
                  metric="loss", mode="min", trials=3, workers=1, executor="thread",
                  searcher="grid", storage=str(tmp_path / "runs.db"), name="spin")
    study.start()
    assert spinning.wait(10)
    study.stop_trial(0)  # graceful: it would wait for a report that never comes
    time.sleep(0.3)
    assert not ended.is_set() and study.trials[0].status is TrialStatus.RUNNING
    assert study.stop_trial(0, force=True)
    assert ended.wait(10), "the trial's code ran on after stop_trial(0, force=True)"
    assert study.wait(10)
    first = study.trials[0]
    assert first.status is TrialStatus.CANCELLED and first.error == "stopped by the user"
    assert [r["loss"] for r in first.reports] == [0.0]
    assert [t.status for t in study.trials[1:]] == [TrialStatus.COMPLETED] * 2
    assert threads[1] == threads[0]  # the same thread ran the next trial
    stored = Study.load("spin", storage=str(tmp_path / "runs.db"))
    assert [t.status for t in stored.trials] == [TrialStatus.CANCELLED,
                                                TrialStatus.COMPLETED, TrialStatus.COMPLETED]
    assert [[r["loss"] for r in t.reports] for t in stored.trials] == [[0.0], [1.0], [2.0]]


def test_stop_trial_force_refuses_a_force_that_is_not_a_bool():
    study = tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
                 trials=1)
    with pytest.raises(TypeError, match=r"stop_trial\(force=\.\.\.\) is True or False, not 1"):
        study.stop_trial(0, 1)
