"""Framework overhead of jupyter_hpo next to Optuna, measured in one run.

    python benchmarks/overhead.py            # full run (about 2.5 min on 2 idle cores)
    python benchmarks/overhead.py --quick    # small counts, for the smoke test (about 20 s)

1. ``report()`` round trip with the Hyperband decision: every
   ``jupyter_hpo.report(epoch=e, acc=...)`` call inside a real Study is timed with
   ``time.perf_counter_ns`` where the objective runs - the kernel thread for the thread
   executor, the worker process for the process executor (1 and 2 workers; each trial prints
   its samples as one JSON line at its end, and the benchmark reads them from the captured
   ``study.trial_output(trial_id)``). Optuna's counterpart is ``trial.report(value, step)`` followed by
   ``trial.should_prune()`` with ``HyperbandPruner`` and in-memory storage, timed together,
   with ``n_jobs`` equal to jupyter_hpo's worker count. With one worker each trial's accuracy
   curve rises with the epoch and later trials are better; with two, trials run side by side
   and every trial reports the same curve (ties are never stopped or pruned). Either way no
   trial is stopped and every trial sends all its reports in both frameworks.
2. Trial start latency of the process executor (2 workers, trivial trials): the time from the
   kernel creating the trial (``trial.start_time``) to the objective's first line in the
   worker (it prints ``time.time()``), over the trials after the first two (warm pool), and the
   first trial's latency (cold pool: the workers are spawned). Optuna's counterpart, with
   ``n_jobs=2``: from ``trial.datetime_start`` to the objective's first line.
3. Wall time of whole studies of trivial trials (the objective returns at once): jupyter_hpo's
   ``tune`` (thread executor with one worker; process executor with 2 workers, pool start-up
   included) against Optuna's ``study.optimize`` (``n_jobs`` 1 or 2) with in-memory storage.

4. Start-up: ``%load_ext jupyter_hpo`` in a fresh IPython shell (IPython already imported,
   as in a kernel) against ``import optuna`` in the same kind of shell, median of fresh
   processes.
5. Stop latency, the promise that a stopped study ends "within 2 s plus one report interval":
   a study runs 2 trials side by side (thread or process executor, 2 workers) that report
   every R ms (10 and 200) or never; once both trials have reported (or, never reporting,
   started) and a random part of R more, another thread calls ``study.stop()``, and the
   time from that call to the return of the study's ``run()`` is measured (median and max
   of several studies). Trials would run ``stop_trial_s`` if not stopped. A trial that never
   reports is also stopped with ``study.stop()`` then, ``FORCE_AFTER_S`` later,
   ``study.stop(force=True)`` (the second interrupt), timed from the forced stop. Optuna's
   counterpart, during ``study.optimize(..., n_jobs=2)`` with the same trials: the other
   thread asks at the same moment, and a trial callback calls ``study.stop()`` (Optuna 5
   refuses it from a thread outside its optimize loop), timed to the return of
   ``optimize``. Optuna lets the running trials finish; it has no forced stop.

Prints the machine and a Markdown table: measurement | jupyter_hpo | optuna | ratio, where
ratio = jupyter_hpo / optuna (below 1: jupyter_hpo is faster), then the stop latency table.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

import jupyter_hpo
from jupyter_hpo import Real, report, tune

ETA = 3
PARALLEL = 2  # workers of the process executor, n_jobs of Optuna, in the parallel rows
SAMPLES_TAG = "HPO_BENCH_REPORT_NS"
START_TAG = "HPO_BENCH_STARTED"


@dataclass
class Sizes:
    latency_trials: int
    latency_reports: int
    start_trials: int
    trivial_trials: int
    hyperband_epochs: int
    stop_repeats: int
    stop_trial_s: float


FULL = Sizes(latency_trials=20, latency_reports=500, start_trials=200, trivial_trials=2000,
             hyperband_epochs=3, stop_repeats=7, stop_trial_s=3.0)
QUICK = Sizes(latency_trials=4, latency_reports=50, start_trials=20, trivial_trials=200,
              hyperband_epochs=3, stop_repeats=2, stop_trial_s=0.8)

SPACE = {"x": Real(-10.0, 10.0)}


def accuracy(trial_number: int, epoch: int, max_t: int) -> float:
    """A learning curve that rises with the epoch; a later trial beats every earlier one."""
    return trial_number + 1.0 - 1.0 / (1.0 + epoch * 10.0 / max_t)


def curve_owner(trial_number: int, workers: int) -> int:
    """Whose curve a trial reports: its own with one worker; trial 0's (a tie, never stopped
    whatever the interleaving) when trials run side by side."""
    return trial_number if workers == 1 else 0


def quantiles(samples: list[float], scale: float) -> tuple[float, float]:
    """Median and 99th percentile (nearest rank), each divided by ``scale``."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered) / scale, p99 / scale


def quantiles_us(samples_ns: list[int]) -> tuple[float, float]:
    """Median and 99th percentile (nearest rank) in microseconds."""
    return quantiles(samples_ns, 1000.0)


def tagged_lines(study: jupyter_hpo.Study, trial_id: int, tag: str) -> list[str]:
    """What follows ``tag`` on each line the trial printed (``study.trial_output``)."""
    prefix = tag + " "
    return [line[len(prefix):] for line in study.trial_output(trial_id).splitlines()
            if line.startswith(prefix)]


# ------------------------------------------------------------------ report() round trip
def jh_report_latency(trials: int, reports: int) -> list[int]:
    samples: list[int] = []

    def objective(config, trial):
        for epoch in range(1, reports + 1):
            value = accuracy(trial.trial_id, epoch, reports)
            t0 = time.perf_counter_ns()
            report(epoch=epoch, acc=value)
            samples.append(time.perf_counter_ns() - t0)

    study = tune(objective, SPACE, metric="acc", mode="max", trials=trials, seed=0,
                 workers=1, scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": reports, "grace_period": 1,
                                    "reduction_factor": ETA})
    counts = study.counts()
    if counts["completed"] != trials or len(samples) != trials * reports:
        raise RuntimeError(f"expected {trials} completed trials with {reports} reports each, "
                           f"got {counts} and {len(samples)} reports")
    return samples


def jh_process_report_latency(trials: int, reports: int, workers: int) -> list[int]:
    """Timed in the worker process; each trial prints its samples as one JSON line."""

    def objective(config, trial):
        samples = []
        try:
            for epoch in range(1, reports + 1):
                value = accuracy(curve_owner(trial.trial_id, workers), epoch, reports)
                t0 = time.perf_counter_ns()
                report(epoch=epoch, acc=value)
                samples.append(time.perf_counter_ns() - t0)
        finally:
            print(SAMPLES_TAG, json.dumps(samples))

    study = tune(objective, SPACE, metric="acc", mode="max", trials=trials, seed=0,
                 executor="process", workers=workers, scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": reports, "grace_period": 1,
                                    "reduction_factor": ETA})
    samples = [ns for t in study.trials for line in tagged_lines(study, t.trial_id, SAMPLES_TAG)
               for ns in json.loads(line)]
    counts = study.counts()
    if counts["completed"] != trials or len(samples) != trials * reports:
        raise RuntimeError(f"expected {trials} completed process trials with {reports} reports "
                           f"each, got {counts} and {len(samples)} reports")
    return samples


def optuna_report_latency(trials: int, reports: int, n_jobs: int = 1) -> list[int]:
    samples: list[int] = []

    def objective(trial):
        trial.suggest_float("x", -10.0, 10.0)
        value = 0.0
        for epoch in range(1, reports + 1):
            value = accuracy(curve_owner(trial.number, n_jobs), epoch, reports)
            t0 = time.perf_counter_ns()
            trial.report(value, epoch)
            pruned = trial.should_prune()
            samples.append(time.perf_counter_ns() - t0)
            if pruned:
                raise optuna.TrialPruned()
        return value

    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=reports,
                                            reduction_factor=ETA)
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) != trials or len(samples) != trials * reports:
        raise RuntimeError(f"expected {trials} completed Optuna trials with {reports} reports "
                           f"each, got {len(complete)} and {len(samples)} reports")
    return samples


# ------------------------------------------------------------------- trial start latency
def jh_start_latency(trials: int, workers: int) -> list[float]:
    """Seconds from the kernel creating each trial to its objective's first line in a worker
    process, in trial order."""

    def objective(config):
        started = time.time()
        print(START_TAG, repr(started))
        return (config["x"] - 1.0) ** 2

    study = tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
                 executor="process", workers=workers, scheduler="fifo", searcher="random")
    latencies = []
    for trial in sorted(study.trials, key=lambda t: t.trial_id):
        started = tagged_lines(study, trial.trial_id, START_TAG)
        if len(started) != 1:
            raise RuntimeError(f"trial {trial.trial_id} printed {len(started)} start times: "
                               f"{study.trial_output(trial.trial_id)!r}")
        latencies.append(float(started[0]) - trial.start_time)
    if study.counts()["completed"] != trials:
        raise RuntimeError(f"expected {trials} completed trials, got {study.counts()}")
    return latencies


def optuna_start_latency(trials: int, n_jobs: int) -> list[float]:
    """Seconds from ``trial.datetime_start`` to the objective's first line, in trial order."""
    started: dict[int, float] = {}

    def objective(trial):
        started[trial.number] = time.time()
        return (trial.suggest_float("x", -10.0, 10.0) - 1.0) ** 2

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
    if len(started) != trials:
        raise RuntimeError(f"expected {trials} Optuna trials, got {len(started)}")
    return [started[t.number] - t.datetime_start.timestamp()
            for t in sorted(study.trials, key=lambda t: t.number)]


# ------------------------------------------------------------- whole studies, trivial trials
def timed(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def jh_fifo(trials: int, executor: str = "thread", workers: int = 1) -> None:
    study = tune(lambda config: (config["x"] - 1.0) ** 2, SPACE, metric="loss", mode="min",
                 trials=trials, seed=0, executor=executor, workers=workers,
                 scheduler="fifo", searcher="random")
    assert study.counts()["completed"] == trials


def jh_hyperband(trials: int, epochs: int) -> None:
    def objective(config):
        for epoch in range(1, epochs + 1):
            report(epoch=epoch, loss=(config["x"] - 1.0) ** 2 / epoch)

    study = tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
                 scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": epochs, "reduction_factor": ETA})
    assert len(study.trials) == trials and all(t.status.finished for t in study.trials)


def optuna_plain(trials: int, sampler: optuna.samplers.BaseSampler, n_jobs: int = 1) -> None:
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda trial: (trial.suggest_float("x", -10.0, 10.0) - 1.0) ** 2,
                   n_trials=trials, n_jobs=n_jobs)
    assert len(study.trials) == trials


def optuna_hyperband(trials: int, epochs: int, storage: str | None = None) -> None:
    def objective(trial):
        x = trial.suggest_float("x", -10.0, 10.0)
        value = 0.0
        for epoch in range(1, epochs + 1):
            value = (x - 1.0) ** 2 / epoch
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs,
                                            reduction_factor=ETA)
    study = optuna.create_study(direction="minimize", pruner=pruner, storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials)
    assert len(study.trials) == trials


# -------------------------------------------------------------------------- stop latency
REPORT_INTERVALS_S = (0.01, 0.2)
FORCE_AFTER_S = 0.5
"""How long after ``study.stop()`` the forced stop comes (the user's second interrupt)."""
STOP_BUDGET = 10  # trials: more than run side by side, so only the stop ends a study
STOP_PROMISE_S = 2.0  # "within 2 s plus one report interval" (DESIGN.md, README)


def touch(folder: str, name: object) -> None:
    """Leave a marker file: the stopping thread waits for one from each running trial."""
    with open(os.path.join(folder, str(name)), "w"):
        pass


def sleep_until(deadline: float) -> None:
    """A trial that never reports: it only sleeps, in short steps, until ``deadline``."""
    while time.monotonic() < deadline:
        time.sleep(0.01)


def stopped_after(run: Callable[[], object], stop: Callable[[], float], folder: str,
                  delay: float) -> float:
    """Seconds from a stop to the return of ``run()``, which runs here. Another thread waits
    for a marker from each of the PARALLEL trials in ``folder`` and ``delay`` s more, then
    calls ``stop()``, which returns the ``perf_counter`` time of the request it timed."""
    requested: list[float] = []

    def stopper() -> None:
        deadline = time.monotonic() + 60.0
        while len(os.listdir(folder)) < PARALLEL and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        requested.append(stop())

    thread = threading.Thread(target=stopper, daemon=True, name="benchmark-stopper")
    thread.start()
    try:
        run()
        returned = time.perf_counter()
        thread.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not requested or requested[0] > returned:
        raise RuntimeError("the study ended before it was stopped: its trials ran out first "
                           "(raise stop_trial_s)")
    return returned - requested[0]


def jh_stop_latency(executor: str, interval: float | None, length: float, delay: float,
                    force: bool = False, code_ended: list[float] | None = None) -> float:
    """One study of trials that report every ``interval`` s (None: never) for ``length`` s,
    stopped with ``study.stop()`` (then ``stop(force=True)``, timed, when ``force``; the
    seconds from it until every trial's code had ended go to ``code_ended``)."""
    folder = tempfile.mkdtemp(prefix="hpo-bench-stop-")
    ended: list[float] = []  # when each trial's code ended (thread executor: after a force)
    forced_at: list[float] = []

    def objective(config, trial):
        try:
            if interval is None:
                touch(folder, trial.trial_id)
                sleep_until(time.monotonic() + length)
                return 0.0
            for step in range(1, round(length / interval) + 1):
                time.sleep(interval)
                report(epoch=step, loss=1.0 / step)
                if step == 1:
                    touch(folder, trial.trial_id)
            return 0.0
        finally:
            ended.append(time.perf_counter())

    study = jupyter_hpo.Study(objective, SPACE, metric="loss", mode="min", trials=STOP_BUDGET,
                              seed=0, executor=executor, workers=PARALLEL, scheduler="fifo",
                              searcher="random")

    def stop() -> float:
        if force:
            study.stop()
            time.sleep(FORCE_AFTER_S)
        requested = time.perf_counter()
        forced_at.append(requested)
        study.stop(force=force)
        return requested

    latency = stopped_after(study.run, stop, folder, delay)
    counts = study.counts()
    if counts["running"] or counts["paused"] or len(study.trials) != PARALLEL \
            or (interval is not None and counts["cancelled"] != PARALLEL):
        raise RuntimeError(f"expected {PARALLEL} trials, none left running (all cancelled "
                           f"when they report), got {counts}")
    if force:  # the trials' threads end their code after run() returned: wait for them
        deadline = time.monotonic() + length + 5.0
        while len(ended) < PARALLEL and time.monotonic() < deadline:
            time.sleep(0.01)
        if len(ended) < PARALLEL:
            raise RuntimeError(f"the code of {PARALLEL - len(ended)} trials still ran "
                               f"{length + 5:g} s after the forced stop")
        if code_ended is not None:
            code_ended.append(max(ended) - forced_at[0])
    return latency


def optuna_stop_latency(interval: float | None, length: float, delay: float) -> float:
    """Optuna's ``study.stop()`` during ``optimize(n_jobs=PARALLEL)`` with the trials of
    ``jh_stop_latency``: Optuna refuses it outside the optimize loop's threads, so the other
    thread asks and a trial callback (which runs as each trial ends) calls it; Optuna then
    starts no trial and lets the running ones finish."""
    folder = tempfile.mkdtemp(prefix="optuna-bench-stop-")
    asked = threading.Event()

    def objective(trial):
        trial.suggest_float("x", -10.0, 10.0)
        if interval is None:
            touch(folder, trial.number)
            sleep_until(time.monotonic() + length)
            return 0.0
        for step in range(1, round(length / interval) + 1):
            time.sleep(interval)
            trial.report(1.0 / step, step)
            if step == 1:
                touch(folder, trial.number)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return 0.0

    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner(),
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def stop() -> float:
        requested = time.perf_counter()
        asked.set()
        return requested

    def stop_when_asked(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if asked.is_set():
            study.stop()

    latency = stopped_after(lambda: study.optimize(objective, n_trials=STOP_BUDGET,
                                                   n_jobs=PARALLEL, callbacks=[stop_when_asked]),
                            stop, folder, delay)
    if len(study.trials) != PARALLEL:
        raise RuntimeError(f"expected {PARALLEL} Optuna trials, got {len(study.trials)}")
    return latency


@dataclass
class StopCase:
    """One row of the stop table: seconds per repetition (``optuna`` None: no counterpart)."""

    label: str
    ours: list[float]
    optuna: list[float] | None
    promise: str


def stop_cases(repeats: int, length: float) -> list[StopCase]:
    """Every stop measurement, ``repeats`` studies each; repetition ``i`` stops both
    frameworks at the same random point of the report interval."""
    delays = {interval: [random.Random(i).uniform(0.0, interval) for i in range(repeats)]
              for interval in REPORT_INTERVALS_S}

    def measure(fn: Callable[[float], float], interval: float | None) -> list[float]:
        gc.collect()
        return [fn(delay) for delay in (delays[interval] if interval else [0.0] * repeats)]

    cases = []
    versus = f"{PARALLEL} workers vs n_jobs={PARALLEL}"
    for interval in REPORT_INTERVALS_S:
        theirs = measure(lambda d, r=interval: optuna_stop_latency(r, length, d), interval)
        for executor in ("thread", "process"):
            ours = measure(lambda d, e=executor, r=interval: jh_stop_latency(e, r, length, d),
                           interval)
            cases.append(StopCase(f"stop(): {executor}, {versus}, report every "
                                  f"{interval * 1e3:.0f} ms", ours, theirs,
                                  f"within {STOP_PROMISE_S + interval:.3g} s"))
    theirs = measure(lambda d: optuna_stop_latency(None, length, d), None)
    for executor in ("thread", "process"):
        ours = measure(lambda d, e=executor: jh_stop_latency(e, None, length, d), None)
        cases.append(StopCase(f"stop(): {executor}, {versus}, never reports", ours, theirs,
                              "none (no report)"))
    code_ended: list[float] = []
    ours = measure(lambda d: jh_stop_latency("thread", None, length, d, force=True,
                                             code_ended=code_ended), None)
    cases.append(StopCase(f"stop(force=True) {FORCE_AFTER_S:g} s after stop(): thread, "
                          f"{versus}, never reports", ours, None, "at once"))
    cases.append(StopCase(f"stop(force=True), until the trials' code ended: thread, {versus}, "
                          f"never reports", code_ended, None, "at its next line of Python"))
    return cases


# ---------------------------------------------------------------------------- output
def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"jupyter_hpo {jupyter_hpo.__version__}, optuna {optuna.__version__}; "
            f"load average {load} (1, 5, 15 min) at the end of the run")


def row(name: str, ours: float, theirs: float) -> str:
    return f"| {name} | {ours:.4g} | {theirs:.4g} | {ours / theirs:.3g} |"


def stop_verdict(case: StopCase) -> str:
    """The promise of the row, and whether jupyter_hpo's slowest stop kept it."""
    if not case.promise.startswith("within "):
        return case.promise
    bound = float(case.promise.split()[1])
    return f"{case.promise}: {'met' if max(case.ours) <= bound else 'NOT met'}"


def print_stop_table(cases: list[StopCase], sizes: Sizes) -> None:
    """The stop latency table (seconds) and what its rows measure."""
    def cells(samples: list[float] | None) -> str:
        if samples is None:
            return "- | -"
        return f"{statistics.median(samples):.4g} | {max(samples):.4g}"

    print("| stop, seconds until run() returns | jupyter_hpo median | jupyter_hpo max | "
          "optuna median | optuna max | promise |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case in cases:
        print(f"| {case.label} | {cells(case.ours)} | {cells(case.optuna)} | "
              f"{stop_verdict(case)} |")
    print()
    print(f"Stop rows: {sizes.stop_repeats} studies per row, each {PARALLEL} trials side by side "
          f"that would run {sizes.stop_trial_s:g} s (a report every R ms, or none) with a "
          f"budget of {STOP_BUDGET}; study.stop() comes from another thread once every trial "
          f"has reported once (never reporting: started) and a random part of R later, the "
          f"same for both frameworks; timed from that call (from stop(force=True) in the row "
          f"before the last) to the return of Study.run(); the last row, from stop(force=True) "
          f"until the code of both trials had ended (in their threads). Optuna: at that moment the other thread asks, a "
          f"trial callback calls study.stop() (Optuna refuses it from other threads), timed to "
          f"the return of study.optimize(n_jobs={PARALLEL}); Optuna lets running trials "
          f"finish, so its figures are the rest of the trials. The same Optuna figures stand "
          f"in the thread and process rows. Promise: "
          f"{STOP_PROMISE_S:g} s plus one report interval (DESIGN.md); 'met' when jupyter_hpo's "
          f"max is within it.")


_STARTUP = """import time
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
began = time.perf_counter()
{statement}
print(time.perf_counter() - began)
"""


def startup_seconds(statement: str, runs: int) -> float:
    """Median seconds ``statement`` takes in fresh IPython shells (one process per run)."""
    import subprocess

    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _STARTUP.format(statement=statement)],
                             capture_output=True, text=True, check=True).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    # Warm up imports and code paths of both frameworks outside the timings (the process
    # executor's pools are new in every study, so its rows include no warm-up of workers).
    jh_report_latency(2, 10)
    optuna_report_latency(2, 10)
    optuna_report_latency(2, 10, PARALLEL)
    jh_fifo(10)
    jh_hyperband(10, sizes.hyperband_epochs)
    optuna_plain(10, optuna.samplers.RandomSampler(seed=0))
    optuna_plain(10, optuna.samplers.RandomSampler(seed=0), PARALLEL)
    optuna_hyperband(10, sizes.hyperband_epochs)
    jh_process_report_latency(1, 10, 1)

    n_trials, n_reports = sizes.latency_trials, sizes.latency_reports

    def latency(samples) -> tuple[float, float]:
        gc.collect()
        return quantiles_us(samples())

    jh_thread = latency(lambda: jh_report_latency(n_trials, n_reports))
    op_serial = latency(lambda: optuna_report_latency(n_trials, n_reports))
    jh_process_1 = latency(lambda: jh_process_report_latency(n_trials, n_reports, 1))
    jh_process_n = latency(lambda: jh_process_report_latency(n_trials, n_reports, PARALLEL))
    op_parallel = latency(lambda: optuna_report_latency(n_trials, n_reports, PARALLEL))
    report_rows = [("thread, 1 worker vs n_jobs=1", jh_thread, op_serial),
                   ("process, 1 worker vs n_jobs=1", jh_process_1, op_serial),
                   (f"process, {PARALLEL} workers vs n_jobs={PARALLEL}", jh_process_n,
                    op_parallel)]

    start_trials = sizes.start_trials
    gc.collect()
    jh_start = jh_start_latency(start_trials, PARALLEL)
    gc.collect()
    op_start = optuna_start_latency(start_trials, PARALLEL)
    jh_warm = quantiles(jh_start[PARALLEL:], 1e-3)
    op_warm = quantiles(op_start[PARALLEL:], 1e-3)

    n, epochs = sizes.trivial_trials, sizes.hyperband_epochs
    small = n // 10
    jh_small_s = timed(lambda: jh_fifo(small))
    op_small_s = timed(lambda: optuna_plain(small, optuna.samplers.RandomSampler(seed=0)))
    jh_proc_s = timed(lambda: jh_fifo(small, "process", PARALLEL))
    op_par_s = timed(lambda: optuna_plain(small, optuna.samplers.RandomSampler(seed=0),
                                          PARALLEL))
    jh_fifo_s = timed(lambda: jh_fifo(n))
    jh_proc_n_s = timed(lambda: jh_fifo(n, "process", PARALLEL))
    op_par_n_s = timed(lambda: optuna_plain(n, optuna.samplers.RandomSampler(seed=0), PARALLEL))
    op_random_s = timed(lambda: optuna_plain(n, optuna.samplers.RandomSampler(seed=0)))
    op_tpe_s = timed(lambda: optuna_plain(n, optuna.samplers.TPESampler(seed=0)))
    jh_hb_s = timed(lambda: jh_hyperband(n, epochs))
    op_hb_s = timed(lambda: optuna_hyperband(n, epochs))
    startup_runs = 3 if args.quick else 7
    jh_load = startup_seconds("shell.run_line_magic('load_ext', 'jupyter_hpo')", startup_runs)
    op_import = startup_seconds("import optuna", startup_runs)
    stops = stop_cases(sizes.stop_repeats, sizes.stop_trial_s)

    print("## Overhead (benchmarks/overhead.py)")
    print()
    print(f"Machine: {machine()}")
    print()
    print("| measurement | jupyter_hpo | optuna | ratio |")
    print("| --- | --- | --- | --- |")
    for label, (jh_median, jh_p99), (op_median, op_p99) in report_rows:
        print(row(f"report() + Hyperband decision, median (µs): {label}", jh_median, op_median))
        print(row(f"report() + Hyperband decision, p99 (µs): {label}", jh_p99, op_p99))
    parallel = f"process, {PARALLEL} workers vs n_jobs={PARALLEL}"
    print(row(f"trial start, warm pool, median (ms): {parallel}", jh_warm[0], op_warm[0]))
    print(row(f"trial start, warm pool, p99 (ms): {parallel}", jh_warm[1], op_warm[1]))
    print(row(f"trial start, cold pool, first trial (ms): {parallel}",
              jh_start[0] * 1e3, op_start[0] * 1e3))
    print(row(f"{small} trivial trials, wall (s): FIFO + random vs RandomSampler",
              jh_small_s, op_small_s))
    print(row(f"{small} trivial trials, wall (s): {parallel}, FIFO + random vs RandomSampler",
              jh_proc_s, op_par_s))
    print(row(f"{n} trivial trials, wall (s): FIFO + random vs RandomSampler",
              jh_fifo_s, op_random_s))
    print(row(f"{n} trivial trials, wall (s): {parallel}, FIFO + random vs RandomSampler",
              jh_proc_n_s, op_par_n_s))
    print(row(f"{n} trivial trials, wall (s): FIFO + random vs TPESampler (optuna's default)",
              jh_fifo_s, op_tpe_s))
    print(row(f"{n} trivial trials, {epochs} reports each, wall (s): Hyperband vs "
              f"RandomSampler + HyperbandPruner", jh_hb_s, op_hb_s))
    print(row("start-up (s): %load_ext jupyter_hpo vs import optuna, in a fresh IPython shell",
              jh_load, op_import))
    print()
    print("ratio = jupyter_hpo / optuna: below 1 means jupyter_hpo spends less time. Rows that "
          "name no executor: thread executor, one worker, optuna n_jobs=1.")
    print(f"report() rows: {n_trials} trials x {n_reports} reports, Hyperband stopping (grace 1, "
          f"eta {ETA}, max_t {n_reports}) with no trial stopped, timed where the objective runs "
          f"(in the worker process for the process executor); optuna: trial.report(value, "
          f"step) + trial.should_prune() with HyperbandPruner, timed together. The process "
          f"executor with 1 worker is set next to optuna's n_jobs=1 numbers of the thread row.")
    print(f"Trial start rows: {start_trials} trivial trials; warm pool: trials {PARALLEL} to "
          f"{start_trials - 1}, from trial.start_time (optuna: trial.datetime_start) to the "
          f"objective's first line; cold pool: trial 0 of a new study (jupyter_hpo spawns its "
          f"{PARALLEL} worker processes); its other cold trials: "
          + ", ".join(f"{x * 1e3:.4g} ms" for x in jh_start[1:PARALLEL]) + ".")
    print("Trivial trials: the objective returns (x - 1)**2 at once (Hyperband: reports it for "
          f"epochs 1..{epochs}); wall time of tune() / create_study() + optimize(), the process "
          f"executor's pool start-up included.")
    print(f"Per trivial trial: jupyter_hpo FIFO {jh_small_s / small * 1e6:.0f} µs at {small} "
          f"trials, {jh_fifo_s / n * 1e6:.0f} µs at {n}; Hyperband {jh_hb_s / n * 1e6:.0f} µs; "
          f"process executor ({PARALLEL} workers) {jh_proc_s / small * 1e6:.0f} µs at {small}, "
          f"{jh_proc_n_s / n * 1e6:.0f} µs at {n}. "
          f"optuna RandomSampler {op_small_s / small * 1e6:.0f} µs at {small}, "
          f"{op_random_s / n * 1e6:.0f} µs at {n}; n_jobs={PARALLEL} "
          f"{op_par_s / small * 1e6:.0f} µs at {small}, {op_par_n_s / n * 1e6:.0f} µs at {n}; "
          f"TPESampler {op_tpe_s / n * 1e6:.0f} µs; "
          f"HyperbandPruner {op_hb_s / n * 1e6:.0f} µs.")
    print()
    print_stop_table(stops, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
