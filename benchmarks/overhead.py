"""Framework overhead of jupyter_hpo next to Optuna, measured in one run.

    python benchmarks/overhead.py            # full run (about 30 s on 2 idle cores)
    python benchmarks/overhead.py --quick    # small counts, for the smoke test (a few seconds)

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

Prints the machine and a Markdown table: measurement | jupyter_hpo | optuna | ratio, where
ratio = jupyter_hpo / optuna (below 1: jupyter_hpo is faster).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
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


FULL = Sizes(latency_trials=20, latency_reports=500, start_trials=200, trivial_trials=2000,
             hyperband_epochs=3)
QUICK = Sizes(latency_trials=4, latency_reports=50, start_trials=20, trivial_trials=200,
              hyperband_epochs=3)

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


# ---------------------------------------------------------------------------- output
def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"jupyter_hpo {jupyter_hpo.__version__}, optuna {optuna.__version__}; "
            f"load average {load} (1, 5, 15 min) at the end of the run")


def row(name: str, ours: float, theirs: float) -> str:
    return f"| {name} | {ours:.4g} | {theirs:.4g} | {ours / theirs:.3g} |"


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
