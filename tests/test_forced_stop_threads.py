"""A forced stop ends a thread trial's code, which a graceful stop leaves to its next report:
the thread is sent ``TrialAbandoned``, never inside the library's calls from it, and an
exception sent but not raised yet is taken back when the trial's code ends first."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_hpo import Real, TrialStatus, report
from jupyter_hpo.executors._thread_stop import ThreadGate, TrialAbandoned
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Space
from jupyter_hpo.study import Study
from jupyter_hpo.trial import TrialStopped

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
