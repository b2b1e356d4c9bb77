"""What read-only trial records cost the paths that make them, in CPU time (the 2-core machine
is shared, so wall times there vary by more than the differences measured):

1. the ``report()`` round trip (thread CPU time around each call) of 1,000 trivial Hyperband
   trials of 9 epochs, in memory and stored in SQLite, as ``storage_overhead.py`` part 1 runs
   them, and the whole study's process CPU time;
2. ``Trial.freeze()`` of a finished trial of 9 reports (what the study does once per trial,
   and per snapshot for running ones);
3. ``Study.load`` of a stored study of 5,000 trials of 9 reports (what ``%hpo show`` in another
   kernel, the CLI and the JupyterLab study view read), best of 3, and its trials table.

Run:  python benchmarks/records_cost.py
      PYTHONPATH=<an older checkout> python benchmarks/records_cost.py   (that version)
      python benchmarks/records_cost.py --quick    (small counts: the smoke test's)
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import tempfile
import time
import timeit

from jupyter_hpo import Real, Study, report, tune

SPACE = {"x": Real(-10.0, 10.0)}
EPOCHS = 9


def study_cpu(trials: int, storage: str | None, latencies: list[int]) -> float:
    """Run the study; each report's thread CPU time goes to ``latencies`` (ns)."""
    def objective(config):
        for epoch in range(1, EPOCHS + 1):
            t0 = time.thread_time_ns()
            report(epoch=epoch, loss=(config["x"] - 1.0) ** 2 / epoch)
            latencies.append(time.thread_time_ns() - t0)

    gc.collect()
    t0 = time.process_time()
    tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
         scheduler="hyperband", searcher="random", scheduler_options={"max_t": EPOCHS},
         storage=storage, name="bench" if storage else None)
    return time.process_time() - t0


def fifo_study(trials: int, storage: str) -> Study:
    def objective(config):
        for epoch in range(1, EPOCHS + 1):
            report(epoch=epoch, loss=config["x"] / epoch)

    return tune(objective, SPACE, metric="loss", mode="min", trials=trials, seed=0,
                scheduler="fifo", storage=storage, name="big")


def main() -> None:
    import jupyter_hpo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    quick = parser.parse_args().quick
    trials, stored, freezes = (60, 200, 200) if quick else (1000, 5000, 20000)

    logging.getLogger("jupyter_hpo.tune").setLevel(logging.WARNING)  # a line per trial
    print(f"jupyter_hpo from {os.path.dirname(jupyter_hpo.__file__)}; "
          f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    row = {}
    with tempfile.TemporaryDirectory() as folder:
        for where, storage in (("memory", None), ("SQLite", os.path.join(folder, "s.db"))):
            latencies: list[int] = []
            row[f"study CPU, {where} (s)"] = study_cpu(trials, storage, latencies)
            row[f"report() median, {where} (µs)"] = statistics.median(latencies) / 1000
        path = os.path.join(folder, "big.db")
        study = fifo_study(stored, path)
        trial = study.controller.trials[0]
        row["freeze() (µs)"] = min(timeit.repeat(trial.freeze, number=freezes, repeat=7,
                                                 timer=time.process_time)) / freezes * 1e6
        loads = []
        for _ in range(3):
            gc.collect()
            t0 = time.process_time()
            loaded = Study.load("big", path)
            loads.append(time.process_time() - t0)
        row[f"Study.load {stored:,} x {EPOCHS} (s)"] = min(loads)
        t0 = time.process_time()
        for _ in range(10):
            loaded.trials_dataframe()
        row["trials_dataframe() of it (ms)"] = (time.process_time() - t0) / 10 * 1000
    print("| " + " | ".join(row) + " |")
    print("| " + " | ".join(f"{v:.3f}" for v in row.values()) + " |")


if __name__ == "__main__":
    main()
