"""A trial that the user stops keeps the report at which it is told to stop.

The user's stop (Stop button, Stop trial, ``%hpo stop``, Ctrl-C, ``study.stop()``) takes effect
at the trial's next ``report``: what its code measured and reported there is recorded (its
curve, the results table, the best trial, storage), then ``report`` raises ``TrialStopped``
and the trial ends ``cancelled``. The scheduler makes no decision on that report. A report
after the study's time limit is not recorded (the budget is spent), whoever stopped the trial.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel
from test_kernel import check_output, execute, wait_for_progress, wait_reply

from jupyter_hpo import Real, Space, Study, TrialStatus
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.records import StudyState
from jupyter_hpo.simulation import Simulation
from jupyter_hpo.storage import SQLiteStorage

pytestmark = pytest.mark.timeout(180)


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def reports_once_the_gate_opens(folder: str):
    """An objective that says it runs (``ready-<id>``), waits for ``gate``, then reports
    twice: the user stops it before the first of those reports."""

    def objective(config, trial, report):
        Path(folder, f"ready-{trial.trial_id}").touch()
        while not os.path.exists(os.path.join(folder, "gate")):
            time.sleep(0.005)
        report(epoch=1, score=config["x"])  # the report at which it learns that it stops
        report(epoch=2, score=config["x"] + 10)  # never reached
        return config["x"] + 20

    return objective


@pytest.mark.parametrize("executor", ["thread", "process"])
@pytest.mark.parametrize("stop", ["study", "trial"])
def test_a_stopped_study_keeps_the_report_at_which_its_trial_stopped(executor, stop, tmp_path):
    """Stopped before any trial had reported, the study still has the value its trial
    measured: in the trial's curve, the table, the best trial and the SQLite file (it used to
    end with no value: "no trial has reported a value")."""
    path = tmp_path / "s.db"
    study = Study(FunctionObjective(reports_once_the_gate_opens(str(tmp_path)), "score"),
                  Space({"x": Real(0, 1)}), metric="score", mode="max", trials=1,
                  seed=0, executor=executor, storage=path, name="stopped")
    study.start()
    assert wait_until(lambda: (tmp_path / "ready-0").exists())
    if stop == "study":
        study.stop()
    else:
        assert study.stop_trial(0)
    (tmp_path / "gate").touch()  # now it reports
    assert study.wait(60)
    x = study.trials[0].config["x"]

    trial = study.trials[0]
    assert trial.status is TrialStatus.CANCELLED
    assert [dict(r) for r in trial.reports] == [{"epoch": 1, "score": x}]
    assert study.best_value == x and study.best_trial.trial_id == 0
    assert study.best_config == {"x": x}
    row = study.trials_dataframe().set_index("trial_id").loc[0]
    assert (row["status"], row["score"], row["resource"]) == ("cancelled", x, 1)
    assert study.training_curves().query("trial_id == 0")["score"].tolist() == [x]
    assert study.incumbent_over_time()[["trial_id", "best_value"]].values.tolist() == [[0, x]]

    stored = SQLiteStorage(path).load_study("stopped")
    assert stored.state is StudyState.FINISHED
    assert [dict(r) for r in stored.trials[0].reports] == [{"epoch": 1, "score": x}]
    assert stored.trials[0].status is TrialStatus.CANCELLED
    assert stored.best_trial.trial_id == study.best_trial.trial_id
    assert stored.best_value == study.best_value


def keeps_training_after_stop(config, report):
    """A careless loop whose bare ``except`` also catches ``TrialStopped``."""
    for epoch in range(1, 6):
        try:
            report(epoch=epoch, score=config["x"] * epoch)
        except BaseException:  # noqa: BLE001, S110 - the point of the test
            pass


def test_only_the_first_report_after_the_stop_is_kept_when_the_code_swallows_it():
    study = Study(FunctionObjective(keeps_training_after_stop, "score"),
                  Space({"x": Real(0.1, 1)}), metric="score", mode="max", trials=1, seed=0,
                  scheduler="fifo")
    stopped = []

    def stop_after_the_second_report(event):
        if event.kind == "report" and len(event.trial.reports) == 2 and not stopped:
            stopped.append(study.stop_trial(0))

    study.subscribe(stop_after_the_second_report)
    study.run()
    trial = study.trials[0]
    assert stopped == [True]
    assert trial.status is TrialStatus.CANCELLED
    assert [r["epoch"] for r in trial.reports] == [1, 2, 3]  # the stop report, nothing after
    assert study.best_value == pytest.approx(trial.config["x"] * 3)
    assert study.trial_output(0).count("caught TrialStopped") == 1


# ------------------------------------------------------------------ simulated time: scheduler
class Curves:
    """loss(q, epoch) = 1.8^(-q * epoch), where a larger q learns faster; 2 s an epoch."""

    space = Space({"q": Real(0.1, 1.0)})
    metric, mode, max_t, resource, optimum = "loss", "min", 27, "epoch", 0.0

    def evaluate(self, config, epoch):
        return 1.8 ** -(config["q"] * epoch), 2.0


@pytest.mark.parametrize("kind", ["stopping", "promotion"])
def test_hyperband_makes_no_decision_on_the_report_at_which_the_user_stopped_a_trial(kind):
    """Rungs at epochs 3 and 9: the user stops trial 0 after its report at epoch 2, so its
    report at epoch 3 (a rung) is its last. It is recorded; Hyperband neither pauses it there
    (promotion: it would then wait for a promotion instead of ending) nor stops or records it
    there: it ends cancelled, as stopped by the user, and the others run as before."""
    sim = Simulation(Curves())
    study = sim.study(2, trials=6, seed=0, scheduler="hyperband",
                      scheduler_options={"grace_period": 3, "reduction_factor": 3,
                                         "type": kind})
    scheduler = study.controller.scheduler

    def stop_trial_0_at_epoch_2(now, trial):
        if trial.trial_id == 0 and trial.last("epoch") == 2:
            study.stop_trial(0)

    sim.run(study, on_report=stop_trial_0_at_epoch_2)
    trial = study.trials[0]
    assert study.state == "finished"
    assert trial.status is TrialStatus.CANCELLED
    assert [r["epoch"] for r in trial.reports] == [1, 2, 3]
    assert all(0 not in rung for rungs in scheduler.rungs for rung in rungs.values())
    assert 0 not in scheduler.paused_trials() and 0 not in scheduler.searcher.pending
    assert {t.status for t in study.trials[1:]} <= {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    assert study.counts()["running"] == study.counts()["paused"] == 0


@pytest.mark.parametrize("time_limit, kept", [(100.0, [1, 2, 3]), (5.0, [1, 2])])
def test_a_report_after_the_time_limit_is_not_kept_even_when_the_user_stopped_the_trial(
        time_limit, kept):
    """The user stops trial 0 after its report at t=4 s; its next report comes at t=6 s: kept
    before a time limit of 100 s, not after one of 5 s (the budget is spent: what is reported
    after it does not count, as the simulated benchmarks expect)."""
    sim = Simulation(Curves())
    study = sim.study(1, trials=1, seed=0, scheduler="fifo", time_limit=time_limit)

    def stop_at_epoch_2(now, trial):
        if trial.trial_id == 0 and trial.last("epoch") == 2:
            study.stop_trial(0)

    sim.run(study, on_report=stop_at_epoch_2)
    trial = study.trials[0]
    assert trial.status is TrialStatus.CANCELLED
    assert [r["epoch"] for r in trial.reports] == kept
    assert study.best_value == pytest.approx(Curves().evaluate(trial.config, kept[-1])[0])


def test_the_time_limit_alone_keeps_no_report_after_it():
    sim = Simulation(Curves())
    study = sim.run(sim.study(2, seed=0, scheduler="fifo", time_limit=7.0))
    assert study.stop_reason == "time limit reached"
    for trial in study.trials:
        assert trial.status is TrialStatus.CANCELLED
        assert [r["epoch"] for r in trial.reports] == [1, 2, 3]  # at 2, 4 and 6 s, not 8 s
        assert max(trial.times) < 7.0


# ------------------------------------------------------------------ a real kernel
STOPPED_CELL = """%%hpo --trials 4 --workers 2 --seed 0 --scheduler fifo --metric score --mode max {extra}
import os, time
x = Real(0, 1)
model = ("weights", x, 1)
report(epoch=1, score=x / 10)
open(os.path.join({folder!r}, f"ready-{{trial.trial_id}}"), "w").close()
while not os.path.exists(os.path.join({folder!r}, "gate")):
    time.sleep(0.01)
model = ("weights", x, 2)
report(epoch=2, score=x)  # the stop came before this report: it is kept
model = ("weights", x, 3)
report(epoch=3, score=100.0)
"""

RESULT = """import json
print("CHECK", json.dumps({"statuses": [t.status.value for t in _hpo.trials],
    "epochs": [[r["epoch"] for r in t.reports] for t in _hpo.trials],
    "xs": [t.config["x"] for t in _hpo.trials], "best": _hpo.best_value,
    "best_trial": _hpo.best_trial.trial_id, "best_status": _hpo.best_trial.status.value,
    "x": x, "model": list(model), "stored": [[r["epoch"] for r in t.reports]
        for t in type(_hpo).load(_hpo.name).trials]}))
"""


@pytest.fixture()
def kernel(tmp_path):
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        execute(kc, "%load_ext jupyter_hpo")
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def stream_text(messages: list[dict]) -> str:
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


@pytest.mark.parametrize("how", ["interrupt", "stop button", "%hpo stop"])
def test_a_study_stopped_in_the_notebook_keeps_and_applies_the_stop_reports(how, kernel,
                                                                            tmp_path):
    """Both running trials are stopped (Ctrl-C, the dashboard's Stop study button, ``%hpo
    stop`` of a --background study) while they wait between two reports: each keeps the
    report it then makes, the best of those is the study's best, and the notebook is left in
    that trial's state (its ``model`` at that report), by the end of the study and by
    ``%hpo apply``."""
    km, kc = kernel
    folder = str(tmp_path)
    extra = "--background" if how == "%hpo stop" else ""
    msg_id = kc.execute(STOPPED_CELL.format(extra=extra, folder=folder))
    ready = [tmp_path / "ready-0", tmp_path / "ready-1"]
    deadline = time.monotonic() + 60
    if how == "%hpo stop":  # --background: the cell returns at once
        reply, messages = wait_reply(kc, msg_id, timeout=60)
        assert reply["status"] == "ok", reply
        assert wait_until(lambda: all(p.exists() for p in ready), 60)
    else:
        messages = []
        while not all(p.exists() for p in ready):
            assert time.monotonic() < deadline, "the trials never reached their first report"
            messages += wait_for_progress(kc, msg_id, 0.1)
    if how == "interrupt":
        km.interrupt_kernel()
        said = "interrupted; stopping"
    elif how == "stop button":
        button = next(m["content"]["comm_id"] for m in messages
                      if m["msg_type"] == "comm_open"
                      and m["content"]["data"].get("state", {}).get("description")
                      == "Stop study")
        kc.shell_channel.send(kc.session.msg("comm_msg", {
            "comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}}))
        said = "stopping: running trials stop at their next report"
    else:
        reply, _ = execute(kc, "%hpo stop")
        assert reply["status"] == "ok", reply
        said = None
    while said is not None and said not in json.dumps([m["content"] for m in messages]):
        assert time.monotonic() < deadline, f"the kernel never said {said!r}"
        messages += wait_for_progress(kc, msg_id, 0.1)
    (tmp_path / "gate").touch()  # the trials report now, after the stop
    if how == "%hpo stop":
        reply, _ = execute(kc, "%hpo wait")
        assert reply["status"] == "ok", reply
    else:
        reply, _ = wait_reply(kc, msg_id, timeout=60)
        if how == "interrupt":
            assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        else:
            assert reply["status"] == "ok", reply

    result = check_output(*execute(kc, RESULT))
    assert result["statuses"] == ["cancelled", "cancelled"]  # no trial started after the stop
    assert result["epochs"] == [[1, 2], [1, 2]] == result["stored"]
    best = max(range(2), key=lambda i: result["xs"][i])
    assert result["best"] == result["xs"][best]  # the stop report's x, not its first x / 10
    assert result["best_trial"] == best and result["best_status"] == "cancelled"
    assert result["x"] == result["xs"][best]
    assert result["model"] == ["weights", result["xs"][best], 2]  # its state at that report

    reply, messages = execute(kc, "model = None\n%hpo best\n%hpo apply")
    assert reply["status"] == "ok", reply
    text = stream_text(messages)
    assert f"best score={result['best']:.6g} (trial {best}, cancelled)" in text
    assert f"applied trial {best} (score={result['best']:.6g}), its variables" in text
    result = check_output(*execute(kc, RESULT))
    assert result["model"] == ["weights", result["xs"][best], 2]
