"""The process executor: real worker processes, their faults, GPU slots and clean shutdown."""

from __future__ import annotations

import ctypes
import os
import signal
import textwrap
import threading
import time

import psutil
import pytest
from jupyter_client.manager import start_new_kernel
from test_resource_reports import check_completed_at_max_t

from jupyter_hpo import Categorical, HPOError, Real, Study, TrialCompleted, TrialStatus
from jupyter_hpo.annotate import parse_cell
from jupyter_hpo.executors import EXECUTORS, ProcessExecutor
from jupyter_hpo.executors.process import describe_exit
from jupyter_hpo.objective import CellObjective, FunctionObjective
from jupyter_hpo.space import Space

pytestmark = pytest.mark.timeout(120)

FAULTS = ["ok", "raise", "ok", "exit", "ok", "segfault", "ok", "sigkill", "ok", "cuda_oom", "ok",
          "hang", "ok"]


def make_study(fn, space, **options):
    options.setdefault("executor", "process")
    return Study(FunctionObjective(fn, "loss"), Space(space), metric="loss", mode="min",
                 **options)


def live_children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll ``condition`` until it holds; the default deadline leaves room for worker
    processes that start slowly on a loaded machine (each imports its libraries)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --------------------------------------------------------------------------- objectives
def train(config, report):
    print(f"training x={config['x']:.6f}")
    for epoch in range(1, 5):
        print(f"epoch {epoch}")
        report(epoch=epoch, loss=config["x"] + 1 / epoch)


class OutOfMemoryError(RuntimeError):
    """Stands for ``torch.cuda.OutOfMemoryError`` (importing torch in a trial can take longer
    than the trial timeout on a busy machine)."""


def faulty(config, report):
    kind = FAULTS[config["i"]]
    report(epoch=1, loss=100.0 + config["i"])
    if kind == "raise":
        raise ValueError(f"bad trial {config['i']}")
    if kind == "exit":
        os._exit(3)
    if kind == "segfault":
        ctypes.string_at(0)
    if kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "cuda_oom":  # what torch raises, told apart by its name as torch's is; no
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")  # torch import
    if kind == "hang":
        time.sleep(60)
    return {"loss": float(config["i"]), "pid": os.getpid()}


def sleeper(config, report):
    if config["x"] < 0.5:
        print("sleeping", flush=True)
        time.sleep(60)
    return config["x"]


def reports_forever(config, report):
    epoch = 0
    while True:
        epoch += 1
        time.sleep(0.05)
        report(epoch=epoch, loss=config["x"])


def on_gpu(config, device):
    marker = os.path.join(config["dir"], str(os.getpid()))
    open(marker, "w").close()
    all_started = wait_until(lambda: len(os.listdir(config["dir"])) >= 4, timeout=30)
    return {"loss": config["x"], "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "device": str(device), "all_running_at_once": all_started}


# --------------------------------------------------------------------------------- tests
def test_process_executor_is_registered():
    assert EXECUTORS["process"] is ProcessExecutor


def test_far_more_worker_processes_than_cpus_are_noted_and_none_start_before_the_run():
    cpus = os.cpu_count() or 1
    many = Study(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
                 trials=1, workers=2 * cpus + 1, executor="process")
    said = (f"--workers {2 * cpus + 1}: {2 * cpus + 1} worker processes on the {cpus} CPUs of "
            f"this machine, each with its own Python and libraries in memory; trials that "
            f"compute share the CPUs, so they take longer each (--cpus-per-trial 1 runs as "
            f"many at once as there are CPUs)")
    assert many.notes == [said]
    assert not [c for c in psutil.Process().children(recursive=True)
                if "jupyter_hpo.executors" in " ".join(c.cmdline())]
    for workers, executor in ((2 * cpus, "process"), (2 * cpus + 1, "thread")):
        assert Study(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss",
                     mode="min", trials=1, workers=workers, executor=executor).notes == []


def test_study_with_reports_hyperband_stops_and_captured_output():
    # x rises trial by trial, so whatever order the two workers report in, each late trial
    # meets a rung holding better results (stopped) and trial 0 is best everywhere (completed)
    points = [{"x": i / 8} for i in range(8)]
    study = make_study(train, {"x": Real(0, 1)}, trials=8, workers=2, seed=3,
                       scheduler="hyperband", scheduler_options={"max_t": 4, "grace_period": 1},
                       points_to_evaluate=points)
    study.run()
    statuses = [t.status for t in study.trials]
    assert len(study.trials) == 8
    assert TrialStatus.STOPPED in statuses and TrialStatus.COMPLETED in statuses
    assert set(statuses) <= {TrialStatus.STOPPED, TrialStatus.COMPLETED}
    for trial in study.trials:
        x = trial.config["x"]
        assert [r["epoch"] for r in trial.reports] == list(range(1, len(trial.reports) + 1))
        assert [r["loss"] for r in trial.reports] == [x + 1 / e for e in
                                                      range(1, len(trial.reports) + 1)]
        output = study.trial_output(trial.trial_id)
        assert f"training x={x:.6f}" in output
        assert output.count("epoch ") == len(trial.reports)  # a stopped trial ran no further
        if trial.status is TrialStatus.STOPPED:
            assert len(trial.reports) < 4
        else:
            assert len(trial.reports) == 4
        assert trial.resources == "cpu" and trial.slot in (0, 1)
    best = min(study.trials, key=lambda t: min(r["loss"] for r in t.reports))
    assert study.best_trial.trial_id == best.trial_id


def past_max_t(config, report, trial):
    """Ten epochs, more than the study's max_t; says what ran after each report, and how many
    reports the trial's own copy holds when it ends."""
    try:
        for epoch in range(1, 11):
            report(epoch=epoch, loss=config["x"] + 1 / epoch)
            print(f"after epoch {epoch}")
    except TrialCompleted:
        print(f"ended as completed with {len(trial.reports)} reports")
        raise
    print("after the loop")


def check_ended_at_max_t(study, max_t=4):
    """Each trial was completed at max_t, as thread trials are; its worker's code ended at the
    report after it with ``TrialCompleted``."""
    check_completed_at_max_t(study, max_t)
    for trial in study.trials:
        assert f"after epoch {max_t}\nended as completed with {max_t} reports" \
            in study.trial_output(trial.trial_id)


def test_trials_past_max_t_end_completed_there():
    study = make_study(past_max_t, {"x": Real(0, 1)}, trials=2, seed=0,
                       scheduler="hyperband", scheduler_options={"max_t": 4, "grace_period": 4})
    study.run()
    check_ended_at_max_t(study)


def train_with_pid(config, report):
    for epoch in range(1, 4):
        report(epoch=epoch, loss=config["x"] / epoch, pid=os.getpid())


def reports_the_study_keys(config, trial, report):
    report(step=1, loss=config["x"], keys=f"{trial.metric} {trial.resource}")


def test_a_trial_in_a_worker_knows_the_metric_and_the_resource():
    study = make_study(reports_the_study_keys, {"x": Real(0, 1)}, trials=1, resource="step")
    study.run()
    assert study.trials[0].reports[0]["keys"] == "loss step"


def test_paused_trials_keep_their_process_and_resume_in_it():
    study = make_study(train_with_pid, {"x": Real(0, 1)}, trials=6, workers=2, seed=1,
                       scheduler="hyperband",
                       scheduler_options={"max_t": 3, "grace_period": 1, "type": "promotion"})
    study.run()
    assert all(t.status.finished for t in study.trials)
    promoted = [t for t in study.trials if len(t.reports) > 1]
    assert promoted
    for trial in study.trials:
        assert len({r["pid"] for r in trial.reports}) == 1
        assert [r["loss"] for r in trial.reports] == [trial.config["x"] / e for e in
                                                      range(1, len(trial.reports) + 1)]


def test_each_fault_fails_only_its_trial_and_the_study_goes_on():
    study = make_study(faulty, {"i": Categorical(*range(len(FAULTS)))}, searcher="grid",
                       workers=3, executor_options={"trial_timeout": 4})
    study.run()
    by_kind = {FAULTS[t.config["i"]]: t for t in study.trials if FAULTS[t.config["i"]] != "ok"}
    assert len(study.trials) == len(FAULTS)
    for kind, trial in by_kind.items():
        assert trial.status is TrialStatus.FAILED, (kind, trial.status, trial.error)
    assert by_kind["raise"].error == "ValueError: bad trial 1"
    assert "bad trial 1" in by_kind["raise"].traceback
    assert "faulty" in by_kind["raise"].traceback
    assert by_kind["exit"].error == ("the worker process exited with code 3 (os._exit or "
                                     "sys.exit in the trial?)")
    assert by_kind["segfault"].error == ("the worker process crashed with SIGSEGV "
                                         "(segmentation fault)")
    assert "Segmentation fault" in by_kind["segfault"].traceback  # faulthandler's stack dump
    assert by_kind["sigkill"].error == ("the worker process was killed (SIGKILL) - often the "
                                        "out-of-memory killer")
    assert by_kind["cuda_oom"].error.startswith("CUDA out of memory")
    assert "OutOfMemoryError" in by_kind["cuda_oom"].error
    assert by_kind["hang"].error.startswith("exceeded the trial timeout of 4s")
    ok = [t for t in study.trials if FAULTS[t.config["i"]] == "ok"]
    assert len(ok) == FAULTS.count("ok")
    for trial in ok:
        assert trial.status is TrialStatus.COMPLETED
        assert trial.reports[0] == {"epoch": 1, "loss": 100.0 + trial.config["i"]}
        assert trial.reports[-1]["loss"] == float(trial.config["i"])
    assert study.best_config == {"i": 0}
    assert study.best_value == 0.0
    assert study.state == "finished"


def test_a_worker_that_died_of_its_own_error_is_not_blamed_on_the_trial():
    """A worker that failed to read its configuration exited with code 1 and its traceback,
    and the trial's error asked whether the trial had called os._exit or sys.exit."""
    tail = ('Traceback (most recent call last):\n  File "/x/jupyter_hpo/executors/_worker.py", '
            'line 104, in serve\nAttributeError: Can\'t get attribute \'relu\'\n')
    assert describe_exit(1, tail) == ("the worker process exited with code 1 after an error "
                                      "outside the trial's code (its traceback follows)")
    assert describe_exit(1, "") == ("the worker process exited with code 1 (os._exit or "
                                    "sys.exit in the trial?)")


def test_stop_trial_ends_a_trial_that_never_reports():
    study = make_study(sleeper, {"x": Categorical(0.25, 0.75)}, searcher="grid", workers=2)
    study.start()
    try:
        sleeping = study.trials[0].trial_id
        assert wait_until(lambda: "sleeping" in study.trial_output(sleeping))
        study.stop_trial(sleeping)
        assert study.wait(timeout=10)
    finally:
        study.stop(force=True)
    assert study.trials[sleeping].status is TrialStatus.CANCELLED
    assert study.trials[1].status is TrialStatus.COMPLETED
    assert study.best_value == 0.75


def test_stop_and_shutdown_leave_no_worker_processes():
    before = live_children()
    study = make_study(reports_forever, {"x": Real(0, 1)}, trials=4, workers=2)
    study.start()
    try:
        assert wait_until(lambda: all(len(t.reports) >= 2 for t in study.trials))
        workers = study.executor.pids()
        assert len(workers) == 2 and set(workers) <= live_children()
        study.stop()
        assert study.wait(timeout=10)
    finally:
        study.stop(force=True)
    assert {t.status for t in study.trials} == {TrialStatus.CANCELLED}
    assert all(gone(pid) for pid in workers)
    assert live_children() <= before


def test_fake_two_gpus_run_four_half_gpu_trials_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_HPO_FAKE_GPUS", "2")
    study = make_study(on_gpu, {"x": Categorical(0.1, 0.2, 0.3, 0.4),
                                "dir": Categorical(str(tmp_path))},
                       searcher="grid", workers=None, gpus_per_trial=0.5)
    assert study.workers == 4
    study.run()
    results = [t.reports[-1] for t in study.trials]
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials)
    assert all(r["all_running_at_once"] for r in results)
    assert sorted(r["cuda_visible"] for r in results) == ["0", "0", "1", "1"]
    assert {r["device"] for r in results} == {"cuda:0"}  # remapped inside each worker
    for trial, result in zip(study.trials, results):
        assert trial.resources == f"GPU {result['cuda_visible']}"
        assert str(trial.device) == f"cuda:{result['cuda_visible']}"


def test_unpicklable_notebook_variable_is_named_and_thread_executor_suggested():
    namespace = {"lock": threading.Lock(), "scale": 2.0}
    source = "x = Real(0, 1)\nwith lock:\n    loss = scale * x\n"
    template = parse_cell(source, namespace)
    study = Study(CellObjective(template, namespace, "loss"), template.space, metric="loss",
                  mode="min", trials=2, executor="process")
    with pytest.raises(HPOError, match=r"variable 'lock' \(lock\) that the cell reads cannot "
                                       r"be sent to a worker process.*--executor thread"):
        study.start()
    assert study.done and study.state == "failed" and study.trials == ()
    assert "'lock'" in str(study.error)


def test_cell_objective_ships_only_the_variables_it_reads():
    namespace = {"lock": threading.Lock(), "scale": 2.0}
    template = parse_cell("x = Real(0, 1)\nloss = scale * x\n", namespace)
    study = Study(CellObjective(template, namespace, "loss"), template.space, metric="loss",
                  mode="min", trials=2, executor="process")
    study.run()
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2
    for trial in study.trials:
        assert trial.reports[-1] == {"loss": 2.0 * trial.config["x"]}


def test_a_functions_own_variable_is_not_taken_for_the_notebook_variable_of_its_name():
    """A notebook variable named as a variable of the cell's own function (``loader`` below)
    was sent to the workers, and one that cannot be pickled refused the cell: "the notebook
    variable 'loader' (lock) that the cell reads cannot be sent to a worker process"."""
    namespace = {"loader": threading.Lock(), "scale": 2.0, "model": threading.Lock()}
    source = ("x = Real(0, 1)\n"
              "def batches():\n    loader = [scale * x]\n    return loader\n"
              "class Net:\n    model = x\n"
              "loss = sum(batches()) + 0 * Net.model + sum(loader for loader in [0])\n")
    template = parse_cell(source, namespace)
    objective = CellObjective(template, namespace, "loss")
    assert set(objective.pinned) == {"scale"}
    study = Study(objective, template.space, metric="loss", mode="min", trials=2,
                  executor="process")
    study.run()
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2
    for trial in study.trials:
        assert trial.reports[-1] == {"loss": 2.0 * trial.config["x"]}
    reads = parse_cell("x = Real(0, 1)\ndef f():\n    return loader\nloss = f() + x\n",
                       namespace)
    assert set(CellObjective(reads, namespace, "loss").pinned) == {"loader"}


def test_a_notebook_function_class_or_lambda_as_a_choice_reaches_the_trial(ipython_shell):
    """The configuration went to the worker with plain pickle: a notebook function or class
    as a choice failed every trial ("Can't get attribute 'relu'", blamed on os._exit), and a
    lambda killed the kernel's thread for the worker, so the cell hung. It is cloudpickled now,
    and a choice the cell's variables hold is that same object in the worker."""
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell("def relu(a):\n    return a\n\nclass Net:\n    pass\n")
    cells = {"function": "act = Categorical(relu, 3)\nloss = 1.0 if act is relu else 2.0\n",
             "class": "act = Categorical(Net, 3)\nloss = 1.0 if act is Net else 2.0\n",
             "lambda": "act = Categorical(lambda a: a - 1.0, abs)\nloss = act(-1.0)\n"}
    for name, cell in cells.items():
        ip.run_cell_magic("hpo", f"--executor process --trials 2 --searcher grid --quiet "
                                 f"-o _hpo_choice_{name}", cell)
        study = ip.user_ns[f"_hpo_choice_{name}"]
        assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2, \
            [t.error for t in study.trials]
        assert sorted(t.reports[-1]["loss"] for t in study.trials) == [-2.0, 1.0] \
            if name == "lambda" else [1.0, 2.0]  # 1.0: act is relu (Net) in the worker


def test_a_choice_that_cannot_be_sent_is_named_before_any_trial():
    namespace = {"threading": threading}
    template = parse_cell("act = Categorical(threading.Lock(), 1)\nloss = 1.0\n", namespace)
    study = Study(CellObjective(template, namespace, "loss"), template.space, metric="loss",
                  mode="min", trials=2, executor="process")
    with pytest.raises(HPOError, match=r"the choice <unlocked _thread.lock object at \w+> "
                                       r"\(lock\) of the hyperparameter 'act' cannot be sent "
                                       r"to a worker process.*--executor thread"):
        study.start()
    assert study.done and study.state == "failed" and study.trials == ()


def call_choice(config):
    return config["f"]() if callable(config["f"]) else config["f"]


def test_a_configuration_that_cannot_be_sent_fails_only_its_trial():
    """tune()'s space is not shipped with the objective, so its choices go with each trial: a
    lambda works, and a lock fails its trial, naming it (it killed the kernel's thread for the
    worker, and the study waited for that trial forever)."""
    study = make_study(call_choice, {"f": Categorical(0.5, lambda: 0.25, threading.Lock(), 2.0)},
                       searcher="grid", workers=1)
    study.start()
    assert study.wait(timeout=60), "the study hung"
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2 + [
        TrialStatus.FAILED, TrialStatus.COMPLETED]
    assert [t.reports[-1]["loss"] for t in study.trials if t.reports] == [0.5, 0.25, 2.0]
    assert study.trials[2].error.startswith(
        "the configuration cannot be sent to the worker process: 'f' is <unlocked "
        "_thread.lock object at ")
    assert "(lock), which cannot be pickled (TypeError: cannot pickle '_thread.lock' " \
           "object)" in study.trials[2].error


def test_a_pool_larger_than_the_study_starts_threads_for_the_trials_it_runs():
    """--workers 100000 for 2 trials started a kernel thread per worker before the first
    trial, until Python could start no more ("RuntimeError: can't start new thread", with the
    threads started so far left behind); a worker's thread now starts with its first trial,
    as its process does."""
    counts = []

    def count(event):
        if event.kind == "trial_finished":
            counts.append(sum(t.name.startswith("hpo-process-worker-")
                              for t in threading.enumerate()))

    study = make_study(lambda config: config["x"], {"x": Real(0, 1)}, trials=3, workers=500)
    study.subscribe(count)
    study.run()
    assert study.counts()["completed"] == 3
    assert counts and max(counts) <= 3, counts


#: a study whose worker processes cannot start: every file descriptor of the script is taken
#: (a real limit, RLIMIT_NOFILE), so the socket to a new worker cannot be made
NO_DESCRIPTORS_LEFT = textwrap.dedent("""
    import os, resource
    import jupyter_hpo.executors._kept, jupyter_hpo.executors._output
    import jupyter_hpo.executors._shipping, jupyter_hpo.executors._tracebacks
    import cloudpickle, jupyter_hpo.executors._worker, multiprocessing.connection, subprocess
    from jupyter_hpo import Real, Study
    from jupyter_hpo.objective import FunctionObjective
    from jupyter_hpo.space import Space

    study = Study(FunctionObjective(lambda config: config["x"], "loss"),
                  Space({"x": Real(0, 1)}), metric="loss", mode="min", trials=2,
                  executor="process")
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, highest + 1))
    held = []
    while True:
        try:
            held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            break
    try:
        study.run()
    except Exception as exc:
        print("RAISED", type(exc).__name__)
    for fd in held:
        os.close(fd)
    for trial in study.trials:
        print("TRIAL", trial.status.value, trial.error)
""")


def test_a_worker_process_that_cannot_start_fails_its_trial_instead_of_hanging(tmp_path):
    """When the machine refused a new worker process (no file descriptor, process or memory
    left), the OSError ended the kernel's thread for that worker before the trial's end was
    told, and the study waited for the trial for good; the trial now fails saying why."""
    import subprocess
    import sys
    from pathlib import Path

    import jupyter_hpo

    env = {**os.environ, "PYTHONPATH": str(Path(jupyter_hpo.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", NO_DESCRIPTORS_LEFT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "RAISED StudyFailedError", done.stdout + done.stderr
    why = ("TRIAL failed could not start a worker process for the trial (OSError: [Errno 24] "
           "Too many open files): the machine has no process, memory or file descriptor left "
           "for it; run fewer trials at once (--workers, workers=) or end what holds them")
    assert lines[1:] == [why, why]


SHARED_LOCK = threading.Lock()


class LockedTrainer:
    def __init__(self):
        self.lock = threading.Lock()

    def train(self, config):
        return config["x"]


def test_a_function_that_cannot_be_sent_names_the_variable_it_reads():
    """tune(fn, executor="process") with fn reading a global lock said only "the objective
    'fn' cannot be sent ... Create it inside the cell" (there is no cell): it names the global,
    the variable of an enclosing function or the method's object that does not pickle, before
    any trial runs. (The functions are defined here, as in a notebook or a script's
    __main__, so that they are pickled by value, not by module and name.)"""
    def reads_a_global_lock(config):
        with SHARED_LOCK:
            return config["x"]

    def made():
        local_lock = threading.Lock()

        def inner(config):
            with local_lock:
                return config["x"]
        return inner

    for fn, what in ((reads_a_global_lock, ("it reads the global variable 'SHARED_LOCK', "
                                            "<unlocked _thread.lock object at ")),
                     (made(), ("it reads 'local_lock', a variable of the function that made "
                               "it, <unlocked _thread.lock object at ")),
                     (LockedTrainer().train, "it is a method of a LockedTrainer object, ")):
        study = make_study(fn, {"x": Real(0, 1)})
        with pytest.raises(HPOError) as refused:
            study.run()
        message = str(refused.value)
        assert "cannot be sent to a worker process: " + what in message, message
        assert "which cannot be pickled (TypeError: cannot pickle '_thread.lock' object). " \
               "Create that object inside " in message
        assert message.endswith("or run the trials in threads with executor='thread' "
                                "(--executor thread)")
        assert study.trials == ()


def report_a_lock(config, report):
    report(loss=config["x"], extra=threading.Lock())


def test_a_report_value_that_cannot_be_sent_names_its_key():
    """A thread trial keeps any reported value; a process trial failed with pickle's raw
    TypeError and a traceback through _worker.py and multiprocessing."""
    study = make_study(report_a_lock, {"x": Real(0, 1)}, trials=1)
    study.start()
    assert study.wait(timeout=60)
    (trial,) = study.trials
    assert trial.status is TrialStatus.FAILED
    assert trial.error.startswith("ReportError: report(): 'extra' is <unlocked _thread.lock "
                                  "object at ")
    assert trial.error.endswith("(lock), which cannot be sent to the kernel from a worker "
                                "process (TypeError: cannot pickle '_thread.lock' object): "
                                "report numbers, strings or other picklable values, or run "
                                "the trials in threads with --executor thread")
    assert "_worker.py" not in trial.traceback and "reduction.py" not in trial.traceback
    assert "report(loss=config[\"x\"], extra=threading.Lock())" in trial.traceback


def return_a_lock(config):
    return {"loss": config["x"], "guard": threading.Lock()}


def test_a_returned_value_that_cannot_be_sent_names_its_key():
    """A returned dict with a value that cannot be pickled names that value (it said only
    "the trial's result cannot be sent back to the kernel (TypeError: ...)")."""
    study = make_study(return_a_lock, {"x": Real(0, 1)}, trials=1)
    study.start()
    assert study.wait(timeout=60)
    (trial,) = study.trials
    assert trial.status is TrialStatus.FAILED
    assert trial.error.startswith("the trial's result: 'guard' is <unlocked _thread.lock "
                                  "object at ")
    assert trial.error.endswith("(lock), which cannot be sent to the kernel from a worker "
                                "process (TypeError: cannot pickle '_thread.lock' object): "
                                "return numbers, strings or other picklable values, or run "
                                "the trials in threads with --executor thread")


@pytest.mark.parametrize("cell", [
    # IPython makes display() a builtin for a notebook's code; a worker process has no shell,
    # and a cell calling display() failed there with NameError
    "x = Int(0, 9)\ndisplay({'x': x}, [x, x])\nreport(loss=x)\n",
    # without a shell, IPython's own display() printed the object bare and clear_output()
    # wrote terminal escape codes into the trial's output
    ("from IPython.display import clear_output, display\nimport IPython.display\n"
     "x = Int(0, 9)\nclear_output(wait=True)\ndisplay({'x': x})\n"
     "IPython.display.display([x, x])\nreport(loss=x)\n"),
], ids=["builtin", "ipython"])
def test_display_in_a_worker_process_writes_to_the_trial_output_as_in_a_thread(ipython_shell,
                                                                               cell):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    outputs = {}
    for executor in ("process", "thread"):
        ip.run_cell_magic("hpo", f"--quiet --trials 2 --seed 1 --executor {executor} "
                                 f"-o _hpo_display_{executor}", cell)
        study = ip.user_ns[f"_hpo_display_{executor}"]
        assert study.counts()["completed"] == 2
        outputs[executor] = [study.trial_output(t.trial_id) for t in study.trials]
        x = study.trials[0].config["x"]
        assert outputs[executor][0] == f"[display] {{'x': {x}}}\n[display] [{x}, {x}]\n"
    assert outputs["process"] == outputs["thread"]


def test_a_trial_failing_in_a_notebook_function_shows_its_cell_lines(ipython_shell):
    """cloudpickle names the code it ships by value <dynamic-code>: a helper defined in
    another cell failed in the worker as 'File "<dynamic-code>", line 2, in helper' without
    its line; the traceback now names the helper's cell and shows the line, as threads do."""
    from IPython.core.error import UsageError

    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell("def load_batch(sizes):\n    return sizes['train']\n\n"
                "class Trainer:\n    def fit(self):\n        raise ValueError('no data')\n")
    for body, line, error in (("report(loss=load_batch({}) * x)", "return sizes['train']",
                               "KeyError: 'train'"),
                              ("Trainer().fit()\nreport(loss=x)", "raise ValueError('no data')",
                               "ValueError: no data")):
        with pytest.raises(UsageError) as caught:
            ip.run_cell_magic("hpo", "--quiet --trials 3 --mode min --executor process",
                              f"x = Real(0, 1)\n{body}\n")
        text = str(caught.value)
        assert "<dynamic-code>" not in text and text.rstrip().endswith(error)
        assert f"\n    {line}\n" in text  # the helper's own line, from its cell
        assert "  Cell In[" in text.split(f"\n    {line}\n")[0].splitlines()[-1]


KERNEL_CELL = textwrap.dedent("""
    import os, time, psutil, jupyter_hpo
    from jupyter_hpo import Real

    def objective(config):
        print("in worker", os.getpid())
        return (config["x"] - 0.3) ** 2

    study = jupyter_hpo.tune(objective, {"x": Real(0, 1)}, metric="loss", trials=4,
                             workers=2, executor="process", seed=0)
    print("DONE", study.counts()["completed"],
          all("in worker" in study.trial_output(t.trial_id) for t in study.trials))

    def forever(config):
        print("running")
        time.sleep(600)

    background = jupyter_hpo.Study(jupyter_hpo.objective.FunctionObjective(forever, "loss"),
                                   jupyter_hpo.Space({"x": Real(0, 1)}), metric="loss",
                                   mode="min", trials=2, workers=2, executor="process").start()
    deadline = time.time() + 30
    while time.time() < deadline and not all(background.trial_output(t.trial_id) for t in background.trials):
        time.sleep(0.05)
    print("PIDS", *[p.pid for p in psutil.Process().children(recursive=True)])
""")


def kernel_output(kc, code: str, timeout: float = 60) -> str:
    msg_id = kc.execute(code)
    text, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(text)
    raise AssertionError(f"the kernel did not finish the cell within {timeout}s")


@pytest.mark.parametrize("sigkill", [False, True], ids=["shutdown", "sigkilled"])
def test_kernel_runs_a_notebook_function_and_leaves_no_orphans(sigkill):
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        output = kernel_output(kc, KERNEL_CELL)
        pids = [int(p) for p in output.split("PIDS", 1)[1].split()]
        assert len(pids) == 2 and all(not gone(pid) for pid in pids)  # trials are running
        if sigkill:  # as the OOM killer would: no atexit, no shutdown message
            os.kill(km.provisioner.process.pid, signal.SIGKILL)
            km.provisioner.process.wait()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=sigkill)
    assert "DONE 4 True" in output
    assert wait_until(lambda: all(gone(pid) for pid in pids), timeout=10), \
        [psutil.Process(p).cmdline() for p in pids if not gone(p)]


def test_workers_are_reused_across_trials():
    study = make_study(faulty, {"i": Categorical(0, 2, 4, 6, 8, 10)}, searcher="grid", workers=2)
    study.run()
    pids = {t.reports[-1]["pid"] for t in study.trials}
    assert len(pids) <= 2
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials)


def test_invalid_trial_timeout_is_rejected():
    with pytest.raises(ValueError, match="trial_timeout"):
        ProcessExecutor(trial_timeout=0)



def torch_oom(config, report):
    import torch

    report(epoch=1, loss=1.0)
    if config["i"] == 0:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return {"loss": float(config["i"]), "pid": os.getpid()}


def test_torch_cuda_out_of_memory_restarts_the_worker():
    study = make_study(torch_oom, {"i": Categorical(0, 1)}, searcher="grid", workers=1)
    study.run()
    oom, ok = study.trials
    assert oom.status is TrialStatus.FAILED and ok.status is TrialStatus.COMPLETED
    assert oom.error.startswith("CUDA out of memory (OutOfMemoryError: CUDA out of memory")
    assert oom.error.endswith("the worker process was restarted")


# ------------------------------------------------------------- the best trial's variables
MODEL_SETUP = """%load_ext jupyter_hpo
import threading
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
X_train, X_val, y_train, y_val = X[::2], X[1::2], y[::2], y[1::2]
shipped, make_lock = X_train, threading.Lock
"""

MODEL_CELL = """%%hpo --executor {executor} --trials 6 --workers 2 --seed 0 --metric val_acc --quiet
C = Real(1e-3, 10, log=True)
model = LogisticRegression(C=C, max_iter=200).fit(X_train, y_train)
ran = trial.trial_id
lock = make_lock()
import math
report(val_acc=model.score(X_val, y_val))
"""

MODEL_CHECK = """refit = LogisticRegression(C=_hpo.best_config["C"], max_iter=200).fit(X_train, y_train)
print("CHECK", ran == _hpo.best_trial.trial_id, C == _hpo.best_config["C"],
      np.allclose(model.coef_, refit.coef_), X_train is shipped, "lock" in globals(),
      "math" in globals())
"""


def check_best_model_came_back(kc, executor: str) -> None:
    """The fitted ``model`` of the best trial is in the notebook after a study on worker
    processes or Dask, with the rest of the cell's variables but the one that does not pickle
    (named, with the advice) and the modules it imported; the notebook's own data stays."""
    output = kernel_output(kc, MODEL_CELL.format(executor=executor), timeout=180)
    assert "its variables, with C=" in output, output
    assert ("as it cannot be pickled: lock (lock: TypeError: cannot pickle '_thread.lock' "
            "object) (--executor thread keeps every variable)") in output, output
    assert "CHECK True True True True False False" in kernel_output(kc, MODEL_CHECK)


def start_model_kernel(folder):
    """A kernel for the tests of this section, its studies kept in ``folder`` (a module's
    kernel starts before each test's own storage is set)."""
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(folder), env={
        **os.environ, "JUPYTER_HPO_STORAGE": str(folder / "studies.db")})
    try:
        kernel_output(kc, MODEL_SETUP)
    except BaseException:  # the fixture never yields it: nothing else would shut it down
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


def test_the_best_trials_model_comes_back_from_its_worker_process(model_kernel):
    check_best_model_came_back(model_kernel, "process")


CRASH_AFTER_BEST_CELL = """%%hpo --executor process --trials 4 --workers 1 --metric score --quiet
import os
x = Real(0, 1)
tid = trial.trial_id
if tid == 2:
    os._exit(3)
report(score=10 - tid)
"""


def test_a_worker_that_died_after_the_best_trial_gives_its_hyperparameters(model_kernel):
    """The best trial's worker process exits in a later trial: its variables are gone, the
    study ends as ever and applies the hyperparameters, saying why."""
    kernel_output(model_kernel, "tid = None")
    output = kernel_output(model_kernel, CRASH_AFTER_BEST_CELL)
    assert ("applied trial 0 (score=10), its hyperparameters (its other variables were lost "
            "with its worker process, which ended after the trial: it crashed, was killed or "
            "was replaced): x=") in output, output
    check = kernel_output(model_kernel, 'print("CHECK", tid, x == _hpo.best_config["x"], '
                                        '[t.status.value for t in _hpo.trials])')
    assert "CHECK None True ['completed', 'completed', 'failed', 'completed']" in check


BACKGROUND_CELL = """%%hpo --executor process --trials 4 --workers 2 --keep-namespaces 1 --metric score --quiet --background --name bg -o bg
import os, time
x = Real(0, 1)
tid = trial.trial_id
while tid == 1 and not os.path.exists(os.path.join({marks!r}, "go")):
    time.sleep(0.05)
report(score=10 - tid)
"""

WAIT_FOR_TRIAL_3 = """import time
deadline = time.monotonic() + 60
while time.monotonic() < deadline and (len(bg.trials) < 4 or bg.trials[3].status.value != "completed"):
    time.sleep(0.05)
print(bg.trials[1].status.value, bg.trials[3].status.value)
"""


def test_apply_while_the_workers_live_fetches_a_trials_variables(model_kernel, tmp_path):
    """``%hpo apply --trial N`` of a study still running fetches trial N's variables from the
    worker that holds them; that worker keeps only its --keep-namespaces best trials', and a
    running trial has none yet."""
    kc = model_kernel
    output = kernel_output(kc, BACKGROUND_CELL.format(marks=str(tmp_path)))
    assert "bg runs in the background" in output, output
    assert "running completed" in kernel_output(kc, WAIT_FOR_TRIAL_3)  # trial 1 waits
    # trials 0, 2 and 3 ran on the other worker, which keeps trial 0's, its best
    output = kernel_output(kc, "%hpo apply bg --trial 0\nprint('TID', tid)")
    assert "applied trial 0 (score=10), its variables, with x=" in output and "TID 0" in output
    output = kernel_output(kc, "%hpo apply bg --trial 2\nprint('TID', tid)")
    assert ("applied trial 2 (score=8), its hyperparameters (its other variables were not "
            "kept: each worker keeps only the 1 best trials' it ran (--keep-namespaces)): x=") \
        in output and "TID 0" in output
    output = kernel_output(kc, "%hpo apply bg --trial 1")
    assert "applied trial 1 (no value), its hyperparameters (it is running: its other " \
           "variables can be applied once it has ended): x=" in output
    (tmp_path / "go").touch()
    output = kernel_output(kc, "%hpo wait bg\nprint('TID', tid)")
    assert "applied trial 0 (score=10), its variables, with x=" in output and "TID 0" in output
