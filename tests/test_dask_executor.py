"""The Dask executor on real clusters: LocalClusters of worker processes, and a scheduler and
workers started as subprocesses (``dask scheduler`` / ``dask worker``) on 127.0.0.1."""

from __future__ import annotations

import _thread
import asyncio
import collections
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import dask
import pytest
from distributed import Client, LocalCluster
from IPython.core.error import UsageError
from test_process_executor import (
    check_best_model_came_back,
    check_ended_at_max_t,
    kernel_output,
    past_max_t,
)

import jupyter_hpo
from jupyter_hpo import Categorical, HPOError, Int, Real, Study, TrialStatus, tune
from jupyter_hpo.errors import StudyFailedError
from jupyter_hpo.executors import DaskExecutor
from jupyter_hpo.executors._dask_cluster import scheduler_info
from jupyter_hpo.executors.dask import DIED
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Space

pytestmark = pytest.mark.timeout(240)

# Objectives defined here travel by value, so workers started as subprocesses (which cannot
# import this test module) run them too.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def running_tasks(client: Client) -> list[str]:
    """What the scheduler has processing plus what any worker still executes."""
    processing = [str(k) for keys in client.processing().values() for k in keys]
    executing = client.run(_executing_keys)
    return sorted(processing + [k for keys in executing.values() for k in keys])


def _executing_keys(dask_worker) -> list[str]:
    state = dask_worker.state
    return [str(ts.key) for ts in set(state.executing) | set(state.long_running)]


def make_study(fn, space, **options) -> Study:
    return Study(FunctionObjective(fn, "loss"), Space(space), metric="loss", mode="min",
                 **options)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two single-threaded worker processes that outlives each study."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture
def fresh(client):
    """The shared client with both workers up (a test may have restarted one; a restart
    took over 60 s on a loaded machine)."""
    client.wait_for_workers(2, timeout=180)
    yield client
    client.wait_for_workers(2, timeout=180)


# --------------------------------------------------------------------------- objectives
def curve(config, report):
    print(f"trial x={config['x']:.4f}")
    for epoch in range(1, 10):
        time.sleep(0.02)
        report(epoch=epoch, loss=config["x"] + 1 / epoch)


def faulty(config, report):
    report(epoch=1, loss=10.0 + config["i"])
    if config["i"] == 1:
        raise ValueError(f"bad trial {config['i']}")
    if config["i"] == 2:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.5)
    return {"loss": float(config["i"]), "pid": os.getpid()}


def instant(config):
    return {"loss": config["x"]}


def slow(config, report):
    for epoch in range(1, 200):
        time.sleep(0.05)
        report(epoch=epoch, loss=config["x"])


def deaf(config, report):
    """Trial 0 reports once, then computes for a minute without reporting."""
    report(epoch=1, loss=config["i"])
    if config["i"] == 0:
        time.sleep(60)
    slow({"x": 1.0}, report)


# --------------------------------------------------------------------------- LocalCluster
def test_magic_hyperband_on_an_owned_local_cluster(ipython_shell, monkeypatch):
    """%%hpo --executor dask: a LocalCluster of --workers processes with the GPU resource
    (faked GPUs), Hyperband stops trials, output and the header reach the dashboard, and the
    cluster is closed with the study."""
    from jupyter_hpo.widgets.dashboard import Dashboard

    monkeypatch.setenv("JUPYTER_HPO_FAKE_GPUS", "1")
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.user_ns["offset"] = 0.5  # a notebook variable the cell reads: it travels
    cell = ("import os\n"
            "x = Real(0.0, 1.0)\n"
            "epochs = 9\n"
            "print('on', os.environ.get('CUDA_VISIBLE_DEVICES'), device)\n"
            "for epoch in range(1, epochs + 1):\n"
            "    report(epoch=epoch, loss=x + offset / epoch)\n")
    ip.run_cell_magic("hpo", "--executor dask --workers 2 --gpus-per-trial 0.5 --trials 12 "
                             "--scheduler hyperband --seed 3 --quiet", cell)
    study = ip.user_ns["_hpo"]
    assert study.state.value == "finished" and study.error is None
    counts = study.counts()
    assert counts["completed"] >= 1 and counts["stopped"] >= 1
    assert counts["completed"] + counts["stopped"] == 12
    assert {t.resources.split(" on ")[0] for t in study.trials} == {"GPU 0.5"}
    workers = {t.resources.split(" on ")[1] for t in study.trials}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    for trial in study.trials:
        assert study.trial_output(trial.trial_id) == "on 0 cuda:0\n"
    assert ip.user_ns["x"] == study.best_config["x"]
    executor = study.executor
    assert executor.owns_cluster and executor.client.status == "closed"
    assert executor.handle.cluster.status.name == "closed"
    header = Dashboard(study).header.value
    assert "LocalCluster tcp://127.0.0.1:" in header
    assert executor.dashboard_link.startswith("http://127.0.0.1:")
    assert f'<a href="{executor.dashboard_link}"' in header
    executor.dashboard_link = 'http://127.0.0.1:1/"><script>alert(1)</script>'
    header = Dashboard(study).header.value
    assert "<script>" not in header and "&quot;&gt;&lt;script&gt;" in header


INTERRUPTED_CELL = """%%hpo --executor dask --workers 2 --trials 6 --scheduler fifo --seed 1 --quiet
import os, time
x = Real(0, 1)
try:  # the first trial to start kills its worker: the nanny starts a new one
    os.close(os.open(os.path.join(marks, "killed"), os.O_CREAT | os.O_EXCL))
    os.kill(os.getpid(), 9)
except FileExistsError:
    pass
for epoch in range(1, 31):
    time.sleep(0.3)
    report(epoch=epoch, loss=x + 1 / epoch)
    if epoch == 2:
        open(os.path.join(marks, f"running-{os.getpid()}"), "w").close()
"""


def test_interrupting_the_kernel_cancels_the_trials_on_its_own_local_cluster(tmp_path,
                                                                             monkeypatch):
    """The LocalCluster's worker processes are in the kernel's process group, so the stop
    button's SIGINT reaches them too: they (a worker the nanny restarted after a crash too)
    ignore it, and the running trials are cancelled at their next report, the best so far
    is applied and the cluster is closed; no worker dies with KeyboardInterrupt."""
    from jupyter_client.manager import start_new_kernel
    from test_kernel import check_output, execute, wait_reply

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    marks = tmp_path / "marks"
    marks.mkdir()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        execute(kc, f"%load_ext jupyter_hpo\nmarks = {str(marks)!r}")
        msg_id = kc.execute(INTERRUPTED_CELL)
        # two workers' pids have reported: the survivor's and the restarted worker's
        assert wait_until(lambda: len(list(marks.glob("running-*"))) == 2, 90)
        km.interrupt_kernel()
        reply, messages = wait_reply(kc, msg_id, timeout=60)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        text = "".join(m["content"].get("text", "") for m in messages
                       if m["msg_type"] == "stream")
        assert "KeyboardInterrupt" not in text and "Dask Worker process" not in text, text
        assert "jupyter_hpo: applied trial" in text, text
        result = check_output(*execute(kc, """import json
print("CHECK", json.dumps({"trials": [[t.status.value, t.error] for t in _hpo.trials],
    "best": _hpo.best_config, "x": x, "client": _hpo.executor.client.status,
    "cluster": _hpo.executor.handle.cluster.status.name}))
"""))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    statuses = [status for status, _ in result["trials"]]
    assert statuses.count("failed") == 1, result
    assert next(e for s, e in result["trials"] if s == "failed").startswith(DIED)
    # the two running when the interrupt came (one of them on the restarted worker)
    assert statuses.count("cancelled") == 2, result
    assert set(statuses) <= {"failed", "cancelled", "completed"}, result
    assert result["x"] == result["best"]["x"]
    assert result["client"] == "closed" and result["cluster"] == "closed"


def test_magic_with_a_client_in_the_notebook(ipython_shell, fresh):
    """--address NAME uses a Client of the notebook; a failing cell's traceback shows the
    cell's own lines and those of a notebook function it calls (cloudpickle ships that as
    <dynamic-code>, without lines); the client is left open."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.user_ns["dask_client"] = fresh
    ip.run_cell("def check(x):\n    if x == 2:\n        raise RuntimeError('no good: ' + str(x))\n")
    cell = ("x = Int(0, 3)\n"
            "display({'x': x})\n"  # IPython's builtin in the notebook; the worker's own here
            "from IPython.display import display as shown\n"  # IPython's own: the same there
            "shown([x])\n"
            "check(x)\n"
            "report(loss=x)\n")
    ip.run_cell_magic("hpo", "--executor dask --address dask_client --searcher grid --quiet "
                             "-o _hpo_dask_client", cell)
    study = ip.user_ns["_hpo_dask_client"]
    assert study.workers == 2 and "(LocalCluster tcp://127.0.0.1:" in study.executor.describe()
    failed = [t for t in study.trials if t.status is TrialStatus.FAILED]
    assert [t.config["x"] for t in failed] == [2]
    assert failed[0].error == "RuntimeError: no good: 2"
    assert "    check(x)\n" in failed[0].traceback  # the cell's line
    assert "raise RuntimeError('no good: ' + str(x))" in failed[0].traceback  # the function's
    assert "<dynamic-code>" not in failed[0].traceback
    # the cells are named as IPython names them, the %%hpo cell's lines as its messages count
    assert re.search(r"\n  Cell In\[\d+\], cell line 6\n    check\(x\)\n"
                     r"  Cell In\[\d+\], line 3, in check\n", failed[0].traceback), \
        failed[0].traceback
    assert study.counts()["completed"] == 3
    for trial in study.trials:  # display() in a worker process, as from a trial thread
        x = trial.config["x"]
        assert study.trial_output(trial.trial_id) == f"[display] {{'x': {x}}}\n[display] [{x}]\n"
    assert fresh.status == "running"
    with pytest.raises(UsageError, match="--address dask_study names a Study"):
        ip.user_ns["dask_study"] = study
        ip.run_cell_magic("hpo", "--executor dask --address dask_study --quiet", cell)
    with pytest.raises(UsageError, match="--address no_client_here: no variable 'no_client_here' "
                                         "is defined in the notebook"):
        ip.run_cell_magic("hpo", "--executor dask --address no_client_here --quiet", cell)


def test_an_asynchronous_client_is_refused_with_the_synchronous_one_to_pass(fresh):
    """A Client made with asynchronous=True (``await Client(..., asynchronous=True)`` in a
    notebook) returns awaitables the study's threads cannot use: refused before any trial,
    naming the synchronous Client of the same cluster; the client stays open."""
    address = fresh.scheduler.address

    async def refused() -> tuple[str, str, str]:
        async with Client(address, asynchronous=True, set_as_default=False) as async_client:
            with pytest.raises(HPOError) as caught:
                make_study(curve, {"x": Real(0, 1)}, executor=async_client, trials=2)
            unawaited = Client(address, asynchronous=True, set_as_default=False)
            with pytest.raises(HPOError) as before_start:  # not awaited: no scheduler yet
                make_study(curve, {"x": Real(0, 1)}, executor=unawaited, trials=2)
            async with unawaited:  # started and closed, so nothing is left for its __del__
                pass
            return str(caught.value), str(before_start.value), async_client.status

    message, unawaited, status = asyncio.run(refused())
    assert "was made with asynchronous=True" in message
    assert f"pass Client({address!r}) (the same cluster) instead" in message
    assert "was made with asynchronous=True" in unawaited
    assert "pass a Client made without it instead" in unawaited
    assert status == "running"


def test_a_cluster_or_an_address_given_as_the_client_says_what_to_pass(fresh):
    """executor_options={'client': cluster} said "the Dask client LocalCluster(...) is
    Status.running, but must be running: create a new Client"; a cluster, a text and another
    object each say what to pass, before any trial, and the cluster stays up."""
    cluster = fresh.cluster
    address = fresh.scheduler.address
    said = {}
    for key, value in (("cluster", cluster), ("text", address), ("other", 8786)):
        with pytest.raises(ValueError) as caught:
            make_study(curve, {"x": Real(0, 1)}, executor="dask", trials=2,
                       executor_options={"client": value}).run()
        said[key] = str(caught.value)
    assert said["cluster"] == (f"client is {cluster!r}, a cluster, but must be a "
                               f"distributed.Client: pass client=Client(cluster) (the study "
                               f"closes neither)")
    assert said["text"] == (f"client is {address!r}, a text, but must be a distributed.Client: "
                            f"pass the scheduler's address as address={address!r} (%%hpo "
                            f"--address), or client=Client({address!r})")
    assert said["other"] == "client is 8786 (int), but must be a distributed.Client"
    with pytest.raises(ValueError, match=r"\(LocalCluster\), but must be one of 'thread', "
                                         r"'process', 'dask' or an Executor object \(a Dask "
                                         r"cluster: pass a client of it, "
                                         r"executor=Client\(cluster\)"):
        make_study(curve, {"x": Real(0, 1)}, executor=cluster, trials=2)
    assert fresh.status == "running" and cluster.status.name == "running"
    assert running_tasks(fresh) == []


def test_promotion_pauses_free_the_worker(fresh):
    """Hyperband promotion on 2 workers: paused trials leave their worker thread (secede),
    so more than 2 trials are alive at once, and promoted ones go on."""
    events = []
    study = make_study(curve, {"x": Real(0, 1)}, executor=fresh, trials=9, seed=1,
                       scheduler="hyperband", searcher="random",
                       scheduler_options={"max_t": 9, "type": "promotion"})
    study.subscribe(lambda e: events.append((e.kind, e.trial.trial_id if e.trial else None)))
    study.run()
    kinds = [k for k, _ in events]
    assert "trial_paused" in kinds and "trial_resumed" in kinds
    alive = most = 0
    for kind, _ in events:
        alive += {"trial_started": 1, "trial_finished": -1}.get(kind, 0)
        most = max(most, alive)
    assert most > 2
    assert all(t.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED) for t in study.trials)
    assert any(len(t.reports) == 9 for t in study.trials)
    assert fresh.status == "running"  # a client given by the user is never closed
    assert running_tasks(fresh) == []


def test_trials_past_max_t_end_completed_there(fresh):
    study = make_study(past_max_t, {"x": Real(0, 1)}, executor=fresh, trials=2, seed=0,
                       scheduler="hyperband", scheduler_options={"max_t": 4, "grace_period": 4})
    study.run()
    check_ended_at_max_t(study)
    assert running_tasks(fresh) == []


def counting(config, report, trial, checkpoint, restore):
    """Nine epochs, a checkpoint before each report; says where it resumed, and on which
    worker process it ran."""
    state = restore()
    start = 1 if state is None else state["epoch"] + 1
    if state is not None:
        trial.set(resumed_at=start)
    trial.set(pid=os.getpid())
    for epoch in range(start, 10):
        checkpoint({"epoch": epoch, "x": config["x"]})
        report(epoch=epoch, loss=config["x"] / epoch)


def test_promoted_trials_continue_from_checkpoints_as_new_tasks(fresh, tmp_path):
    """With checkpoints, a paused trial ends its task (its worker is free) and a new task
    continues it from its checkpoint when it is promoted; trial.set reaches the kernel."""
    study = make_study(counting, {"x": Real(0, 1)}, executor=fresh, trials=9, seed=1,
                       scheduler="hyperband", storage=str(tmp_path / "runs.db"),
                       scheduler_options={"max_t": 9, "type": "promotion"})
    study.run()
    resumed = [t for t in study.trials if "resumed_at" in t.user_attrs]
    assert resumed and study.counts()["failed"] == 0
    for trial in study.trials:
        epochs = [r["epoch"] for r in trial.reports]
        assert epochs == list(range(1, len(epochs) + 1))
        assert "pid" in trial.user_attrs
    assert len({t.user_attrs["pid"] for t in study.trials}) <= 2  # the cluster's 2 workers
    assert study.best_trial.restore() == {"epoch": 9, "x": study.best_config["x"]}
    assert running_tasks(fresh) == []


def spins_when_one(config, report, trial):
    """Trial 1 computes in Python for good without reporting; the others report once."""
    trial.set(pid=os.getpid())
    if config["i"] == 1:
        n = 0
        while True:  # never reports, never returns
            n += 1
    report(epoch=1, loss=float(config["i"]))


def test_a_dask_trial_past_its_timeout_fails_where_its_code_was(fresh):
    """``trial_timeout`` with Dask: the task stops its own trial's code at its next line of
    Python, the trial fails with where it was, and the worker runs the next trial (it is not
    restarted: the trials' worker processes are the cluster's)."""
    pids = set(fresh.run(os.getpid).values())
    study = make_study(spins_when_one, {"i": Categorical(0, 1, 2)}, executor="dask",
                       executor_options={"client": fresh, "trial_timeout": 0.5},
                       searcher="grid", workers=1)
    study.run()
    assert [t.status for t in study.trials] == \
        [TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.COMPLETED]
    assert study.trials[1].error.startswith("exceeded the trial timeout of 0.5s (the time its "
                                            "code ran, not counting report())")
    assert "while True:  # never reports" in study.trials[1].traceback
    assert {t.user_attrs["pid"] for t in study.trials} <= pids
    assert set(fresh.run(os.getpid).values()) == pids
    assert running_tasks(fresh) == []


def busy(seconds: float) -> None:
    """Compute in Python for ``seconds`` (a sleep would be one call into C)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def checkpointed_epochs(config, report, checkpoint, restore):
    """0.25 s of computing an epoch, a checkpoint before each report, so that each pause ends
    the task and a promotion runs the trial on in a new one."""
    state = restore()
    for epoch in range(1 if state is None else state["epoch"] + 1, 5):
        busy(0.25)
        checkpoint({"epoch": epoch})
        report(epoch=epoch, loss=config["x"] / epoch)


def test_a_released_dask_trial_keeps_counting_its_time_in_its_next_task(fresh, tmp_path):
    """The promotion variant ends a paused trial's task; the one that runs it on counts from
    the time the trial used before. Rungs at epochs 1 and 2, max_t 4: a trial promoted to the
    end runs 0.25, 0.25 and 0.5 s in three tasks, each under the limit of 0.8 s, 1 s in all,
    so none of them ends its fourth epoch."""
    study = make_study(checkpointed_epochs, {"x": Real(0, 1)}, executor="dask",
                       executor_options={"client": fresh, "trial_timeout": 0.8},
                       trials=8, seed=0, scheduler="hyperband", storage=str(tmp_path / "r.db"),
                       max_initial_failures=8,
                       scheduler_options={"max_t": 4, "grace_period": 1,
                                          "reduction_factor": 2, "type": "promotion"})
    study.run()
    epochs = [len(t.reports) for t in study.trials]
    went_on = [t for t in study.trials if len(t.reports) >= 2]
    assert went_on and max(epochs) < 4, epochs
    for trial in study.trials:
        if trial.status is TrialStatus.FAILED:
            assert len(trial.reports) >= 2 and "exceeded the trial timeout of 0.8s" in \
                trial.error, (trial.reports, trial.error)
    assert any(t.status is TrialStatus.FAILED for t in went_on)
    assert running_tasks(fresh) == []


def reports_the_study_keys(config, trial, report):
    report(step=1, loss=config["x"], keys=f"{trial.metric} {trial.resource}")


def test_a_trial_on_a_dask_worker_knows_the_metric_and_the_resource(fresh):
    study = make_study(reports_the_study_keys, {"x": Real(0, 1)}, executor=fresh, trials=1,
                       resource="step")
    study.run()
    assert study.trials[0].reports[0]["keys"] == "loss step"


def test_killed_worker_fails_only_its_trial(fresh):
    """A worker SIGKILLed mid-trial fails that trial; a trial's exception keeps its
    traceback; the others complete on the surviving (and restarted) workers."""
    study = make_study(faulty, {"i": Int(0, 4)}, executor=fresh, searcher="grid", trials=5)
    study.run()
    by_id = {t.trial_id: t for t in study.trials}
    assert by_id[2].status is TrialStatus.FAILED and by_id[2].error.startswith(DIED)
    assert by_id[1].status is TrialStatus.FAILED
    assert by_id[1].error == "ValueError: bad trial 1"
    assert by_id[1].traceback.startswith("Traceback (most recent call last):\n  File ")
    assert "in faulty" in by_id[1].traceback and "run_trial" not in by_id[1].traceback
    for i in (0, 3, 4):
        assert by_id[i].status is TrialStatus.COMPLETED, by_id[i].error
    assert study.error is None and study.state.value == "finished"
    assert running_tasks(fresh) == []


def sleeps_first_on_old_workers(config, report, trial):
    """The first trial on each of the workers listed in ``config["marks"]/old`` sleeps (the
    test kills them meanwhile); every other trial ends at once."""
    marks = Path(config["marks"])
    trial.set(pid=os.getpid())
    report(epoch=1, loss=float(config["i"]))
    old = {int(pid) for pid in (marks / "old").read_text().split()}
    try:
        (marks / str(os.getpid())).touch(exist_ok=False)
    except FileExistsError:
        return
    if os.getpid() in old:
        time.sleep(60)


def test_trials_run_after_the_workers_holding_the_objective_died(fresh, caplog, tmp_path):
    """Dask keeps one copy of scattered data: when every worker that held the objective dies,
    the running trials fail, and the queued and later trials run on the restarted workers
    (the objective is sent again) instead of failing as cancelled. The first trial on each
    worker sleeps, whichever Dask starts first, so the third waits in Dask's queue."""
    old_pids = set(fresh.run(os.getpid).values())
    (tmp_path / "old").write_text(" ".join(map(str, old_pids)))
    space = {"i": Int(0, 4), "marks": Categorical(str(tmp_path))}
    study = make_study(sleeps_first_on_old_workers, space, executor=fresh, searcher="grid",
                       trials=5, workers=3)

    def kill_every_worker():
        def running() -> bool:
            return sum(bool(t.reports) and t.status is TrialStatus.RUNNING
                       for t in study.trials) == 2

        assert wait_until(running, timeout=60)
        for pid in old_pids:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_every_worker)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="jupyter_hpo"):
        study.run()
    killer.join()
    died = [t for t in study.trials if t.status is TrialStatus.FAILED]
    assert len(died) == 2 and all(t.error.startswith(DIED) for t in died)
    assert {t.user_attrs["pid"] for t in died} == old_pids  # one sleeper on each worker
    completed = [t for t in study.trials if t.status is TrialStatus.COMPLETED]
    assert len(completed) == 3, [(t.trial_id, t.status, t.error) for t in study.trials]
    assert all(t.user_attrs["pid"] not in old_pids for t in completed)
    assert "lost the objective's data" in caplog.text
    assert study.error is None and running_tasks(fresh) == []


def test_resources_no_worker_has(fresh):
    for option, value, resource in (("gpus_per_trial", 1, "GPU"), ("cpus_per_trial", 2, "CPU")):
        with pytest.raises(HPOError) as info:
            tune(curve, {"x": Real(0, 1)}, metric="loss", executor=fresh, **{option: value})
        message = str(info.value)
        flag = "--" + option.replace("_", "-")
        assert f"{flag} {value} needs Dask workers with the resource {resource}={value}" \
            in message
        assert "none of the 2 workers" in message and "no resources" in message
    assert running_tasks(fresh) == []


def reports_a_lock(config, report):
    report(epoch=1, loss=config["x"], guard=threading.Lock())


def returns_a_lock(config, report):
    report(epoch=1, loss=config["x"])
    return {"loss": config["x"], "guard": threading.Lock()}


@pytest.mark.parametrize("objective, call, advice", [
    (reports_a_lock, "report()", "report numbers"), (returns_a_lock, "the trial's result",
                                                     "return numbers")])
def test_a_value_that_cannot_be_pickled_is_named(fresh, objective, call, advice):
    """A reported or returned value that cannot be pickled fails its trial with a message
    naming it, as with the process executor (a report failed with distributed's chained
    serialisation traceback, naming no value)."""
    study = make_study(objective, {"x": Real(0, 1)}, executor=fresh, trials=3,
                       max_initial_failures=3)
    with pytest.raises(StudyFailedError, match="the first 3 trials all failed with the same "
                                               "error"):
        study.run()
    for trial in study.trials:
        assert trial.status is TrialStatus.FAILED
        assert f"{call}: 'guard' is <unlocked _thread.lock object at " in trial.error
        assert "cannot be sent to the kernel from a worker process (TypeError: cannot pickle "\
               "'_thread.lock' object)" in trial.error
        assert f"{advice}, strings or other picklable values, or run the trials in threads " \
               f"with --executor thread" in trial.error
        assert "msgpack" not in (trial.traceback or "")
    assert running_tasks(fresh) == []


def test_interrupt_cancels_the_tasks(fresh):
    """Ctrl-C during study.run(): running trials end cancelled and the scheduler has no task
    left."""
    study = make_study(slow, {"x": Real(0, 1)}, executor=fresh, workers=2, trials=6)
    lock, reports, sent = threading.Lock(), collections.Counter(), threading.Event()

    def on_event(event):
        """Ctrl-C once, when both trials have reported twice. The two trials' relay threads
        call this at once: counting and deciding under a lock, or both could count before
        either looked, see no fourth report and never interrupt (it happened under load)."""
        if event.kind != "report":
            return
        with lock:
            reports[event.trial.trial_id] += 1
            if sent.is_set() or len(reports) < 2 or min(reports.values()) < 2:
                return
            sent.set()
        _thread.interrupt_main()

    study.subscribe(on_event)
    with pytest.raises(KeyboardInterrupt):
        study.run()
    assert study.done and len(study.trials) == 2
    assert all(t.status is TrialStatus.CANCELLED for t in study.trials)
    assert wait_until(lambda: running_tasks(fresh) == [], 10)


def test_a_trial_whose_task_ended_before_its_relay_started_ends(fresh, monkeypatch):
    """The kernel's relay thread of a trivial trial runs only once its task has returned (a
    loaded machine): the outcome the task sent is still in its queue, and the study ends
    (the scheduler dropped the queue with it when the task let go of it first, and the
    trial stayed running for ever)."""
    relay = DaskExecutor._relay

    def late(self, run):
        run.future.result(timeout=60)  # its task has returned
        relay(self, run)

    monkeypatch.setattr(DaskExecutor, "_relay", late)
    study = make_study(instant, {"x": Real(0, 1)}, executor=fresh, workers=2, trials=3)
    study.start()
    try:
        assert study.wait(60), [t.status for t in study.trials]
    finally:
        study.stop(force=True)
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 3


def test_stop_trial_and_stop_study(fresh):
    """Stop trial on a trial that no longer reports: its task is cancelled and its worker
    restarted; Stop study then ends the other trial; nothing is left running."""
    study = make_study(deaf, {"i": Int(0, 1)}, executor=fresh, searcher="grid", workers=2,
                       trials=2)
    study.start()
    assert wait_until(lambda: all(t.reports for t in study.trials) and len(study.trials) == 2)
    assert study.stop_trial(0)
    assert wait_until(lambda: study.trials[0].status is TrialStatus.CANCELLED, 30)
    assert study.trials[1].status is TrialStatus.RUNNING
    study.stop()
    assert study.wait(90)  # it restarts a worker: 10 s alone, over 30 s on a loaded machine
    assert [t.status for t in study.trials] == [TrialStatus.CANCELLED] * 2
    assert study.state.value == "finished"
    assert wait_until(lambda: running_tasks(fresh) == [], 20)


# --------------------------------------------------------------------------- external
@pytest.fixture()
def refused_address():
    """A ``tcp://`` address that refuses connections for the whole test: its port stays bound
    here and never listens (a port found free and released could be taken by another
    process, which would answer)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"tcp://127.0.0.1:{held.getsockname()[1]}"


def scheduler_address(scheduler_file: Path) -> str | None:
    """The address in ``dask scheduler``'s file once its JSON is written whole (the file is
    there, empty, before its text is written)."""
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def external_cluster(tmp_path: Path, workers: int = 2):
    """``dask scheduler`` and ``dask worker`` (with nannies) as subprocesses on 127.0.0.1."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]), "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    scheduler_file = tmp_path / f"scheduler-{time.monotonic_ns()}.json"
    cli = [sys.executable, "-m", "distributed.cli"]
    processes = [subprocess.Popen(
        [*cli[:2], "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(scheduler_file)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        assert wait_until(lambda: scheduler_address(scheduler_file), 60), \
            "the scheduler did not start"
        address = scheduler_address(scheduler_file)
        processes.append(subprocess.Popen(
            [*cli[:2], "distributed.cli.dask_worker", address, "--nworkers", str(workers),
             "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=90)
        yield address, processes
    finally:
        kill_groups(processes)



def kill_groups(processes: list[subprocess.Popen]) -> None:
    """Kill each process's group (a worker's nanny and its children) and reap it."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

#: a ``dask worker`` whose Python cannot import jupyter_hpo (as if it were not installed
#: there: ``None`` in ``sys.modules`` is how Python marks a module that must not be imported)
WORKER_WITHOUT_US = ("import sys; sys.modules['jupyter_hpo'] = None; "
                     "from distributed.cli.dask_worker import main; main()")


def start_bare_worker(address: str) -> subprocess.Popen:
    """A ``dask worker`` named "bare" whose Python cannot import jupyter_hpo, joining the
    scheduler at ``address`` (in a process group of its own)."""
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_WITHOUT_US, address, "--nthreads", "1", "--host",
         "127.0.0.1", "--no-dashboard", "--no-nanny", "--name", "bare"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_workers_that_cannot_import_jupyter_hpo_are_named_before_any_trial(tmp_path):
    """A worker without jupyter_hpo could not unpickle a trial's task, which Dask takes for a
    broken connection: the worker left, and the study failed with "the Dask cluster went
    away ... (TimeoutError: No valid workers found)". They are named before any trial, with
    what to install, and the cluster is left as it was."""
    with external_cluster(tmp_path, workers=1) as (address, _):
        bare = start_bare_worker(address)
        try:
            with Client(address, timeout=30, set_as_default=False) as client:
                client.wait_for_workers(2, timeout=90)
                bare_address = next(a for a, w in scheduler_info(client)["workers"].items()
                                    if w.get("name") == "bare")
                with pytest.raises(HPOError) as refused:
                    make_study(curve, {"x": Real(0, 1)}, executor="dask", trials=2,
                               executor_options={"address": address})
                assert str(refused.value) == (
                    f"the Dask cluster {address} cannot run trials: 1 of its 2 workers "
                    f"({bare_address}) cannot import jupyter_hpo, which runs each trial there. "
                    f"Install it in the workers' Python environment (pip install "
                    f"jupyter_hpo=={jupyter_hpo.__version__}, the version of this kernel) and "
                    f"restart them, or start the workers from this kernel's environment "
                    f"(`dask worker {address}`)")
                assert len(scheduler_info(client)["workers"]) == 2 and bare.poll() is None
        finally:
            os.killpg(bare.pid, signal.SIGKILL)
            bare.wait(timeout=30)


#: the file whose creation lets trial 0 of ``held_until_released`` end (set by its test; the
#: objective travels by value, with it)
RELEASE = ""


def held_until_released(config, report, trial):
    """Trial 0 runs until the test creates ``RELEASE``; the others end at once."""
    report(epoch=1, loss=config["x"])
    deadline = time.monotonic() + 120  # a failed test must not leave it running for good
    while trial.trial_id == 0 and not os.path.exists(RELEASE) and time.monotonic() < deadline:
        time.sleep(0.02)
    report(epoch=2, loss=config["x"])


@contextlib.contextmanager
def cpu_cluster(tmp_path: Path):
    """``dask scheduler`` on 127.0.0.1, and ``start(name, bare=False)``, which starts a worker
    of one thread with the resource CPU=1 (one whose Python cannot import jupyter_hpo if
    ``bare``) and returns its process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]), "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    scheduler_file = tmp_path / "scheduler.json"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]

    def start(name: str, bare: bool = False) -> subprocess.Popen:
        command = ["-c", WORKER_WITHOUT_US] if bare else ["-m", "distributed.cli.dask_worker"]
        processes.append(subprocess.Popen(
            [sys.executable, *command, address, "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard", "--no-nanny", "--resources", "CPU=1", "--name", name],
            env={**env, "PYTHONPATH": ""} if bare else env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True))
        return processes[-1]

    try:
        assert wait_until(lambda: scheduler_address(scheduler_file), 60)
        address = scheduler_address(scheduler_file)
        yield address, start
    finally:
        kill_groups(processes)


def named_workers(client: Client) -> dict[str, str]:
    return {w.get("name"): a for a, w in scheduler_info(client)["workers"].items()}


def test_a_worker_without_jupyter_hpo_that_joins_later_is_named_and_gets_no_more_trials(
        tmp_path):
    """A worker that joins after the study checked the cluster's workers and cannot import
    jupyter_hpo: its task failed to unpickle there, Dask took that for a broken connection
    and dropped the worker, and the trial ran elsewhere without a word of why. Now the trial
    that landed there fails with the worker's address and what to install (as the check at
    the start says it), the worker stays, and the study's other trials run elsewhere.

    Trial 1 waits on the scheduler for the resource CPU=1, which the one good worker's trial 0
    holds, until the bare worker brings one: Dask gives it trial 1 as it joins."""
    global RELEASE
    RELEASE = str(tmp_path / "release")
    with cpu_cluster(tmp_path) as (address, start), \
            Client(address, timeout=30, set_as_default=False) as client:
        start("good")
        client.wait_for_workers(1, timeout=90)
        good = named_workers(client)["good"]
        study = make_study(held_until_released, {"x": Real(0, 1)}, executor="dask", trials=4,
                           workers=2, cpus_per_trial=1, executor_options={"address": address})
        study.start()
        assert wait_until(lambda: len(study.trials) == 2 and study.trials[0].reports, 60)
        start("bare", bare=True)
        assert wait_until(lambda: study.trials[1].status is TrialStatus.FAILED, 90)
        Path(RELEASE).touch()
        assert study.wait(90)
        workers = scheduler_info(client)["workers"]
        bare = named_workers(client)["bare"]
    message = (f"the Dask worker {bare} cannot import jupyter_hpo, which runs each trial there "
               f"(it joined the Dask cluster {address} after the study started): the study "
               f"sends it no trials from now on. Install it in the workers' Python environment "
               f"(pip install jupyter_hpo=={jupyter_hpo.__version__}, the version of this "
               f"kernel) and restart them, or start the workers from this kernel's environment "
               f"(`dask worker {address}`)")
    assert study.trials[1].error == message
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED, TrialStatus.FAILED,
                                                TrialStatus.COMPLETED, TrialStatus.COMPLETED]
    assert all(t.resources == f"CPU 1 on {good}" for i, t in enumerate(study.trials) if i != 1)
    assert len(workers) == 2  # the bare worker is still in the cluster
    assert study.problems == [message]  # said once (the dashboard shows it), though the
    # watcher asks the worker too


def test_a_trial_kept_from_a_worker_without_jupyter_hpo_moves_when_its_workers_leave(
        tmp_path):
    """Once a worker lacks jupyter_hpo, a trial may only run on the workers there were then;
    if they all leave before it starts, it is sent again, to those there are now, instead of
    waiting for them for good."""
    global RELEASE
    RELEASE = str(tmp_path / "release")  # never created: trial 0 runs until its worker dies
    with cpu_cluster(tmp_path) as (address, start), \
            Client(address, timeout=30, set_as_default=False) as client:
        first = start("first")
        client.wait_for_workers(1, timeout=90)
        study = make_study(held_until_released, {"x": Real(0, 1)}, executor="dask", trials=4,
                           workers=2, cpus_per_trial=1, executor_options={"address": address})
        study.start()
        assert wait_until(lambda: len(study.trials) == 2 and study.trials[0].reports, 60)
        start("bare", bare=True)
        assert wait_until(lambda: len(study.trials) == 3, 90)  # trial 1 failed on it
        start("second")
        assert wait_until(lambda: "second" in named_workers(client), 90)
        os.killpg(first.pid, signal.SIGKILL)  # trial 2 may only run there
        assert study.wait(90)
        second = named_workers(client)["second"]
    statuses = [t.status for t in study.trials]
    assert statuses == [TrialStatus.FAILED] * 2 + [TrialStatus.COMPLETED] * 2, statuses
    assert study.trials[0].error.startswith(DIED)
    assert "cannot import jupyter_hpo" in study.trials[1].error
    assert [t.resources for t in study.trials[2:]] == [f"CPU 1 on {second}"] * 2


def test_a_worker_without_jupyter_hpo_seen_joining_gets_no_trial(tmp_path):
    """The study's watcher asks each worker that joins whether it can import jupyter_hpo:
    one that cannot is named with what to install before it takes a trial, and gets none.
    One trial at a time, and trial 0 runs until the bare worker has been named, so that no
    trial is sent before (one that reaches it first fails, as the test above shows)."""
    global RELEASE
    RELEASE = str(tmp_path / "release")
    with external_cluster(tmp_path, workers=1) as (address, _):
        study = make_study(held_until_released, {"x": Real(0, 1)}, executor="dask",
                           trials=4, workers=1, executor_options={"address": address})
        study.start()
        bare = start_bare_worker(address)
        try:
            assert wait_until(lambda: study.problems, 90)  # the bare worker was named
            Path(RELEASE).touch()
            assert study.wait(120)
            with Client(address, timeout=30, set_as_default=False) as client:
                workers = scheduler_info(client)["workers"]
        finally:
            os.killpg(bare.pid, signal.SIGKILL)
            bare.wait(timeout=30)
    named = next(a for a, w in workers.items() if w.get("name") == "bare")
    said = (f"the Dask worker {named} cannot import jupyter_hpo, which runs each trial there "
            f"(it joined the Dask cluster {address} after the study started): the study sends "
            f"it no trials from now on. Install it in the workers' Python environment (pip "
            f"install jupyter_hpo=={jupyter_hpo.__version__}, the version of this kernel) and "
            f"restart them, or start the workers from this kernel's environment (`dask worker "
            f"{address}`)")
    assert study.problems == [said]
    assert study.counts()["completed"] == 4
    assert not any(named in t.resources for t in study.trials)


def test_external_cluster_by_address(tmp_path, ipython_shell):
    with external_cluster(tmp_path) as (address, processes):
        study = make_study(curve, {"x": Real(0, 1)}, executor="dask", trials=4, seed=0,
                           executor_options={"address": address})
        assert study.workers == 2  # the cluster's capacity: 2 workers of one thread
        assert study.executor.describe() == f"2 trials at once on Dask (Dask cluster " \
                                            f"{address})"
        study.run()
        assert study.counts()["completed"] == 4
        assert all(t.resources.startswith("tcp://127.0.0.1:") for t in study.trials)
        assert study.trial_output(0).startswith("trial x=")
        assert all(p.poll() is None for p in processes)  # never closed by the study
        with Client(address, timeout=10, set_as_default=False) as client:
            assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
            assert running_tasks(client) == []
            assert client.run_on_scheduler(_queues) == []  # every trial's queues released


def test_the_inproc_address_of_a_cluster_in_this_process():
    """``Client(processes=False)``'s scheduler has an ``inproc://host/pid/n`` address, no port:
    it names a cluster as well as tcp://host:port does, and once closed it is unreachable."""
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("inproc://")
        study = make_study(curve, {"x": Real(0, 1)}, executor="dask", trials=3, seed=0,
                           executor_options={"address": address})
        assert study.executor.describe() == f"2 trials at once on Dask (Dask cluster " \
                                            f"{address})"
        study.run()
        assert study.counts()["completed"] == 3
        assert cluster.scheduler.status.name == "running"  # never closed by the study
    with pytest.raises(HPOError, match=f"cannot reach the Dask cluster at {re.escape(address)}"):
        make_study(curve, {"x": Real(0, 1)}, executor="dask",
                   executor_options={"address": address, "connect_timeout": 1.0})


def test_the_watcher_sees_every_worker_while_the_client_refreshes_its_copy():
    """The watcher asks the scheduler for its workers; the client's own refresh of its cached
    identity (without workers, every few ms here) must never make a live worker look dead
    (it did about once in 50 reads, and every running trial then failed as its worker died)."""
    with dask.config.set({"distributed.client.scheduler-info-interval": "2ms"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                         dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster, set_as_default=False) as client:
        expected = set(cluster.scheduler.workers)
        assert len(expected) == 2
        seen = [set(scheduler_info(client).get("workers", {})) for _ in range(1500)]
    assert all(workers == expected for workers in seen)


def _queues(dask_scheduler) -> list[str]:
    return sorted(dask_scheduler.extensions["queues"].queues)


def started_midway(address: str, study_storage, name: str):
    """A study of 5 trials on the cluster at ``address``, once one trial has completed and a
    running one has reported."""
    study = make_study(first_quick, {"x": Real(0, 1)}, executor="dask",
                       executor_options={"address": address}, trials=5,
                       storage=str(study_storage), name=name)
    study.start()
    assert wait_until(lambda: study.counts()["completed"] >= 1 and
                      any(t.reports for t in study.trials if not t.status.finished), 60)
    return study


def test_cluster_disappearing_ends_the_study(tmp_path, study_storage):
    with external_cluster(tmp_path, workers=1) as (address, processes):
        study = started_midway(address, study_storage, "lost")
        os.killpg(processes[0].pid, signal.SIGKILL)  # the scheduler
        assert study.wait(60)
    assert study.state.value == "failed"
    assert str(study.error).startswith("the Dask cluster went away; the finished trials are "
                                       f"kept\nDask cluster {address} is unreachable (")
    assert study.stop_reason == "study stopped: the Dask cluster went away; the finished " \
                                "trials are kept"
    completed = [t for t in study.trials if t.status is TrialStatus.COMPLETED]
    assert len(completed) >= 1
    stored = Study.load("lost", str(study_storage))
    assert [t.trial_id for t in stored.trials if t.status is TrialStatus.COMPLETED] == \
        [t.trial_id for t in completed]
    assert "went away" in str(stored.error)


def test_a_scheduler_that_stops_answering_ends_the_study(tmp_path, study_storage):
    """A scheduler that hangs (stopped, or cut off without its connection closing) ends the
    study as one that went away does, keeping the finished trials: every call to it used to
    wait for good, so the study never ended."""
    with external_cluster(tmp_path, workers=1) as (address, processes):
        study = started_midway(address, study_storage, "hung")
        os.killpg(processes[0].pid, signal.SIGSTOP)  # the scheduler stops answering
        try:
            assert study.wait(120)
        finally:
            os.killpg(processes[0].pid, signal.SIGCONT)
    assert study.state.value == "failed"
    assert str(study.error).startswith("the Dask cluster went away; the finished trials are "
                                       f"kept\nDask cluster {address} is unreachable (")
    completed = [t.trial_id for t in study.trials if t.status is TrialStatus.COMPLETED]
    assert completed and all(t.status.finished for t in study.trials)
    stored = Study.load("hung", str(study_storage))
    assert [t.trial_id for t in stored.trials if t.status is TrialStatus.COMPLETED] == completed


def test_closing_the_users_cluster_ends_the_study_as_gone(study_storage):
    """The notebook closes its LocalCluster while the study runs on it: the study ends as one
    whose cluster went away (it ended with "could not start trial 2: in <TCP (closed)
    ConnectionPool.scatter ...>: Stream is closed"), and the finished trials are kept."""
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                           scheduler_port=0, dashboard_address="127.0.0.1:0",
                           silence_logs=logging.ERROR)
    with cluster, Client(cluster, set_as_default=False) as client:
        study = make_study(first_quick, {"x": Real(0, 1)}, executor=client, trials=5,
                           storage=str(study_storage), name="closed")
        study.start()
        assert wait_until(lambda: study.counts()["completed"] >= 1 and
                          any(t.reports for t in study.trials if not t.status.finished), 60)
        cluster.close()
        assert study.wait(60)
    assert study.state.value == "failed"
    assert str(study.error).startswith("the Dask cluster went away; the finished trials are "
                                       "kept\nLocalCluster tcp://127.0.0.1:")
    completed = [t.trial_id for t in study.trials if t.status is TrialStatus.COMPLETED]
    assert completed and all(t.status.finished for t in study.trials)
    stored = Study.load("closed", str(study_storage))
    assert [t.trial_id for t in stored.trials if t.status is TrialStatus.COMPLETED] == completed


def first_quick(config, report, trial):
    """Trial 0 ends at once; the others report for about 5 s."""
    for epoch in range(1, 3 if trial.trial_id == 0 else 100):
        time.sleep(0.05)
        report(epoch=epoch, loss=config["x"])


def test_unreachable_address_fails_fast_before_any_trial(ipython_shell, refused_address):
    """connect_timeout is what the connection waits, not Dask's own connect timeout, set to
    200 s here: a study that waited for Dask's would fail the 100 s check, which leaves any
    machine ample time for the 1 s asked (it is a bound on which timeout was used, not on
    speed)."""
    address = refused_address
    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "200s"}), \
            pytest.raises(HPOError) as info:
        make_study(curve, {"x": Real(0, 1)}, executor="dask",
                   executor_options={"address": address, "connect_timeout": 1.0})
    waited = time.monotonic() - started
    assert waited < 100, f"it waited {waited:.0f}s: Dask's connect timeout, not the 1 s asked"
    assert f"cannot reach the Dask cluster at {address} within 1s" in str(info.value)
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    with pytest.raises(UsageError, match=f"cannot reach the Dask cluster at {address}"):
        ip.run_cell_magic("hpo", f"--executor dask --address {address} --quiet",
                          "x = Real(0, 1)\nreport(loss=x)\n")
    with pytest.raises(UsageError, match="--address applies to --executor dask"):
        ip.run_cell_magic("hpo", f"--address {address} --quiet",
                          "x = Real(0, 1)\nreport(loss=x)\n")
    with pytest.raises(ValueError, match="must be a Dask scheduler address"):
        DaskExecutor(address="not an address")


@contextlib.contextmanager
def silent_listener():
    """A port that accepts connections and never answers (a hung scheduler, another
    service)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        accepted: list[socket.socket] = []
        server.settimeout(0.2)
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    accepted.append(server.accept()[0])

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
        finally:
            stop.set()
            thread.join()
            for conn in accepted:
                conn.close()


@pytest.mark.timeout(90)
def test_an_address_that_never_answers_fails_before_any_trial(ipython_shell):
    """distributed's Client waits for the scheduler's handshake without a limit: the cell hung
    for good (and deferred the interrupts meant to end it) instead of failing."""
    with silent_listener() as address:
        with pytest.raises(HPOError) as info:
            make_study(curve, {"x": Real(0, 1)}, executor="dask",
                       executor_options={"address": address, "connect_timeout": 1.0})
        assert str(info.value) == (
            f"cannot reach the Dask cluster at {address} within 1s (TimeoutError: something "
            f"accepts connections there, but no Dask scheduler answered); is its scheduler "
            f"running (`dask scheduler`) and is the address right?")
        ip = ipython_shell
        ip.run_line_magic("load_ext", "jupyter_hpo")
        with pytest.raises(UsageError, match="no Dask scheduler answered"):
            ip.run_cell_magic("hpo", f"--executor dask --address {address} --quiet",
                              "x = Real(0, 1)\nreport(loss=x)\n")


def test_unpicklable_variable_is_an_error_before_any_trial(ipython_shell):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.user_ns["guard"] = threading.Lock()
    ip.user_ns.pop("_hpo_dask_unpicklable", None)
    with pytest.raises(UsageError, match="notebook variable 'guard'"):
        ip.run_cell_magic("hpo", "--executor dask --quiet -o _hpo_dask_unpicklable",
                          "x = Real(0, 1)\nwith guard:\n    report(loss=x)\n")
    assert "_hpo_dask_unpicklable" not in ip.user_ns


def test_import_and_load_ext_do_not_import_dask():
    script = ("import sys, jupyter_hpo, jupyter_hpo.magic, jupyter_hpo.executors\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('dask', 'distributed')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------- the best trial's variables
def test_the_best_trials_model_comes_back_from_its_dask_worker(model_kernel):
    check_best_model_came_back(model_kernel, "dask")


def test_a_dask_worker_lost_after_the_best_trial_gives_its_hyperparameters(model_kernel):
    """The Dask worker that ran the best trial dies in a later trial (its nanny starts
    another): its variables are gone, the study ends as ever and applies the
    hyperparameters, saying why."""
    kernel_output(model_kernel, "tid = None")
    output = kernel_output(model_kernel, (
        "%%hpo --executor dask --trials 3 --workers 1 --metric score --quiet\n"
        "import os\n"
        "x = Real(0, 1)\n"
        "tid = trial.trial_id\n"
        "if tid == 1:\n"
        "    os._exit(3)\n"
        "report(score=10 - tid)\n"), timeout=180)
    assert "applied trial 0 (score=10), its hyperparameters (its other variables were lost " \
           "with its Dask worker tcp://127.0.0.1:" in output, output
    assert ", which left the cluster: it died or was restarted): x=" in output, output
    check = kernel_output(model_kernel, 'print("CHECK", tid, x == _hpo.best_config["x"], '
                                        '[t.status.value for t in _hpo.trials])')
    assert "CHECK None True ['completed', 'failed', 'completed']" in check


def test_a_connection_the_other_end_closes_is_tried_once_and_says_why():
    """A port whose listener hangs up after the client's greeting (another service, a
    scheduler going down) was connected to twice: the handshake probe's error was dropped and
    distributed's Client tried again for a whole connect_timeout more. The probe's own error
    ends the attempt now, with its reason (count the connections: no timing)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(0.2)
        accepted: list[int] = []
        stop = threading.Event()

        def hang_up() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    conn = server.accept()[0]
                    accepted.append(1)
                    with conn:
                        conn.settimeout(30)
                        conn.recv(1)  # the greeting began: the connection was made

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        try:
            with pytest.raises(HPOError, match=rf"cannot reach the Dask cluster at {address} "
                                               rf"within 5s \(CommClosedError: "):
                make_study(curve, {"x": Real(0, 1)}, executor="dask",
                           executor_options={"address": address, "connect_timeout": 5.0})
        finally:
            stop.set()
            thread.join()
        assert len(accepted) == 1
