"""Framework overhead of jupyter_hpo next to Optuna, measured in one run.

    python benchmarks/overhead.py            # full run (under a minute on 2 idle cores)
    python benchmarks/overhead.py --quick    # small counts, for the smoke test

1. ``report()`` round trip with the Hyperband decision (thread executor, one worker): every
   ``jupyter_hpo.report(epoch=e, acc=...)`` call inside a real Study is timed with
   ``time.perf_counter_ns``. Optuna's counterpart is ``trial.report(value, step)`` followed by
   ``trial.should_prune()`` with ``HyperbandPruner`` and in-memory storage, timed together.
   Each trial's accuracy curve rises with the epoch and later trials are better, so no trial
   leaves the top 1/eta of a rung and every trial sends all its reports in both frameworks.
2. Wall time of whole studies of trivial trials (the objective returns at once): jupyter_hpo's
   ``tune`` against Optuna's ``study.optimize`` with in-memory storage.

Prints the machine and a Markdown table: measurement | jupyter_hpo | optuna | ratio, where
ratio = jupyter_hpo / optuna (below 1: jupyter_hpo is faster).
"""

from __future__ import annotations

import argparse
import gc
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


@dataclass
class Sizes:
    latency_trials: int
    latency_reports: int
    trivial_trials: int
    hyperband_epochs: int


FULL = Sizes(latency_trials=20, latency_reports=500, trivial_trials=2000, hyperband_epochs=3)
QUICK = Sizes(latency_trials=4, latency_reports=50, trivial_trials=200, hyperband_epochs=3)

SPACE = {"x": Real(-10.0, 10.0)}


def accuracy(trial_number: int, epoch: int, max_t: int) -> float:
    """A learning curve that rises with the epoch; a later trial beats every earlier one."""
    return trial_number + 1.0 - 1.0 / (1.0 + epoch * 10.0 / max_t)


def quantiles_us(samples_ns: list[int]) -> tuple[float, float]:
    """Median and 99th percentile (nearest rank) in microseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered) / 1000.0, p99 / 1000.0


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
                 workers=1, scheduler="hyperband",
                 scheduler_options={"max_t": reports, "grace_period": 1,
                                    "reduction_factor": ETA})
    counts = study.counts()
    if counts["completed"] != trials or len(samples) != trials * reports:
        raise RuntimeError(f"expected {trials} completed trials with {reports} reports each, "
                           f"got {counts} and {len(samples)} reports")
    return samples


def optuna_report_latency(trials: int, reports: int) -> list[int]:
    samples: list[int] = []

    def objective(trial):
        trial.suggest_float("x", -10.0, 10.0)
        value = 0.0
        for epoch in range(1, reports + 1):
            value = accuracy(trial.number, epoch, reports)
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
    study.optimize(objective, n_trials=trials)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) != trials or len(samples) != trials * reports:
        raise RuntimeError(f"expected {trials} completed Optuna trials with {reports} reports "
                           f"each, got {len(complete)} and {len(samples)} reports")
    return samples


# ------------------------------------------------------------- whole studies, trivial trials
def timed(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def jh_fifo(trials: int) -> None:
    study = tune(lambda config: (config["x"] - 1.0) ** 2, SPACE, metric="loss", mode="min",
                 trials=trials, seed=0)
    assert study.counts()["completed"] == trials


def jh_hyperband(trials: int, epochs: int) -> None:
    def objective(config):
        for epoch in range(1, epochs + 1):
            report(epoch=epoch, loss=(config["x"] - 1.0) ** 2 / epoch)

    study = tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
                 scheduler="hyperband",
                 scheduler_options={"max_t": epochs, "reduction_factor": ETA})
    assert len(study.trials) == trials and all(t.status.finished for t in study.trials)


def optuna_plain(trials: int, sampler: optuna.samplers.BaseSampler) -> None:
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda trial: (trial.suggest_float("x", -10.0, 10.0) - 1.0) ** 2,
                   n_trials=trials)
    assert len(study.trials) == trials


def optuna_hyperband(trials: int, epochs: int) -> None:
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
    study = optuna.create_study(direction="minimize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials)
    assert len(study.trials) == trials


# ---------------------------------------------------------------------------- output
def machine() -> str:
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"jupyter_hpo {jupyter_hpo.__version__}, optuna {optuna.__version__}")


def row(name: str, ours: float, theirs: float) -> str:
    return f"| {name} | {ours:.4g} | {theirs:.4g} | {ours / theirs:.3g} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    # Warm up imports and code paths of both frameworks outside the timings.
    jh_report_latency(2, 10)
    optuna_report_latency(2, 10)
    jh_fifo(10)
    jh_hyperband(10, sizes.hyperband_epochs)
    optuna_plain(10, optuna.samplers.RandomSampler(seed=0))
    optuna_hyperband(10, sizes.hyperband_epochs)

    n_trials, n_reports = sizes.latency_trials, sizes.latency_reports
    gc.collect()
    jh_median, jh_p99 = quantiles_us(jh_report_latency(n_trials, n_reports))
    gc.collect()
    op_median, op_p99 = quantiles_us(optuna_report_latency(n_trials, n_reports))

    n, epochs = sizes.trivial_trials, sizes.hyperband_epochs
    small = n // 10
    jh_small_s = timed(lambda: jh_fifo(small))
    op_small_s = timed(lambda: optuna_plain(small, optuna.samplers.RandomSampler(seed=0)))
    jh_fifo_s = timed(lambda: jh_fifo(n))
    op_random_s = timed(lambda: optuna_plain(n, optuna.samplers.RandomSampler(seed=0)))
    op_tpe_s = timed(lambda: optuna_plain(n, optuna.samplers.TPESampler(seed=0)))
    jh_hb_s = timed(lambda: jh_hyperband(n, epochs))
    op_hb_s = timed(lambda: optuna_hyperband(n, epochs))

    print("## Overhead (benchmarks/overhead.py)")
    print()
    print(f"Machine: {machine()}")
    print()
    print("| measurement | jupyter_hpo | optuna | ratio |")
    print("| --- | --- | --- | --- |")
    print(row("report() + Hyperband decision, median (µs)", jh_median, op_median))
    print(row("report() + Hyperband decision, p99 (µs)", jh_p99, op_p99))
    print(row(f"{small} trivial trials, wall (s): FIFO + random vs RandomSampler",
              jh_small_s, op_small_s))
    print(row(f"{n} trivial trials, wall (s): FIFO + random vs RandomSampler",
              jh_fifo_s, op_random_s))
    print(row(f"{n} trivial trials, wall (s): FIFO + random vs TPESampler (optuna's default)",
              jh_fifo_s, op_tpe_s))
    print(row(f"{n} trivial trials, {epochs} reports each, wall (s): Hyperband vs "
              f"RandomSampler + HyperbandPruner", jh_hb_s, op_hb_s))
    print()
    print("ratio = jupyter_hpo / optuna: below 1 means jupyter_hpo spends less time.")
    print(f"report() rows: {n_trials} trials x {n_reports} reports, one worker thread, "
          f"Hyperband stopping (grace 1, eta {ETA}, max_t {n_reports}) with no trial stopped; "
          f"optuna: trial.report(value, step) + trial.should_prune() with HyperbandPruner, "
          f"timed together.")
    print("Trivial trials: the objective returns (x - 1)**2 at once (Hyperband: reports it for "
          f"epochs 1..{epochs}); one worker; wall time of tune() / create_study() + optimize().")
    print(f"Per trivial trial: jupyter_hpo FIFO {jh_small_s / small * 1e6:.0f} µs at {small} "
          f"trials, {jh_fifo_s / n * 1e6:.0f} µs at {n}; Hyperband {jh_hb_s / n * 1e6:.0f} µs. "
          f"optuna RandomSampler {op_small_s / small * 1e6:.0f} µs at {small}, "
          f"{op_random_s / n * 1e6:.0f} µs at {n}; TPESampler {op_tpe_s / n * 1e6:.0f} µs; "
          f"HyperbandPruner {op_hb_s / n * 1e6:.0f} µs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
