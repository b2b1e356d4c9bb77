"""What storing a study in SQLite costs: jupyter_hpo with and without storage, next to Optuna
in memory and with its SQLite (RDB) storage, measured in the same run.

Two measurements:
1. the ``report()`` round trip (Hyperband decision included) of a trial whose study is stored,
   against the same study kept in memory: storage only marks the trial changed on the report
   path, a writer thread stores the batch;
2. whole studies of trivial trials (Hyperband, 9 epochs each) end to end, the final write
   included, against Optuna with ``HyperbandPruner`` in memory and with ``sqlite:///`` storage.

Run:  python benchmarks/storage_overhead.py            (or --quick for a smoke test)
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import optuna
from overhead import optuna_hyperband

from jupyter_hpo import Real, report, tune

SPACE = {"x": Real(-10.0, 10.0)}
EPOCHS = 9


def jh_study(trials: int, storage: str | None, latencies: list[int] | None = None) -> float:
    def objective(config):
        for epoch in range(1, EPOCHS + 1):
            t0 = time.perf_counter_ns()
            report(epoch=epoch, loss=(config["x"] - 1.0) ** 2 / epoch)
            if latencies is not None:
                latencies.append(time.perf_counter_ns() - t0)

    gc.collect()
    t0 = time.perf_counter()
    study = tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
                 scheduler="hyperband", searcher="random", scheduler_options={"max_t": EPOCHS},
                 storage=storage, name="bench" if storage else None)
    seconds = time.perf_counter() - t0
    if len(study.trials) != trials:
        raise RuntimeError(f"expected {trials} trials, got {len(study.trials)}")
    return seconds


def optuna_study(trials: int, storage: str | None) -> float:
    gc.collect()
    t0 = time.perf_counter()
    optuna_hyperband(trials, EPOCHS, storage)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    args = parser.parse_args(argv)
    trials = 40 if args.quick else 1000
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        def fresh(name: str) -> str:
            path = Path(folder) / f"{name}-{time.perf_counter_ns()}.db"
            return str(path)

        jh_study(10, fresh("warm"))
        optuna_study(10, "sqlite:///" + fresh("warm"))
        memory_lat: list[int] = []
        stored_lat: list[int] = []
        jh_memory = jh_study(trials, None, memory_lat)
        jh_stored = jh_study(trials, fresh("jh"), stored_lat)
        op_memory = optuna_study(trials, None)
        op_stored = optuna_study(trials, "sqlite:///" + fresh("optuna"))

    def us(samples: list[int], q: float) -> float:
        return statistics.quantiles(samples, n=100)[int(q * 100) - 1] / 1000

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, optuna {optuna.__version__}; load {load}\n")
    print(f"report() round trip, {trials} Hyperband trials x {EPOCHS} epochs (µs)\n")
    print("| study | median | p99 |")
    print("| --- | ---: | ---: |")
    print(f"| in memory | {us(memory_lat, 0.5):.2f} | {us(memory_lat, 0.99):.2f} |")
    print(f"| stored in SQLite | {us(stored_lat, 0.5):.2f} | {us(stored_lat, 0.99):.2f} |")
    print(f"\n{trials} trivial Hyperband trials end to end (s)\n")
    print("| | in memory | SQLite | SQLite / memory |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| jupyter_hpo | {jh_memory:.3f} | {jh_stored:.3f} | {jh_stored / jh_memory:.2f} |")
    print(f"| Optuna | {op_memory:.3f} | {op_stored:.3f} | {op_stored / op_memory:.2f} |")
    print(f"| jupyter_hpo / Optuna | {jh_memory / op_memory:.2f} | {jh_stored / op_stored:.2f} "
          f"| |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
