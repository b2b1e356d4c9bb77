"""What storing a study in SQLite costs: jupyter_hpo with and without storage, next to Optuna
in memory and with its SQLite (RDB) storage, measured in the same run.

Three measurements:
1. the ``report()`` round trip (Hyperband decision included) of a trial whose study is stored,
   against the same study kept in memory: storage only marks the trial changed on the report
   path, a writer thread stores the batch;
2. whole studies of trivial trials (Hyperband, 9 epochs each) end to end, the final write
   included, against Optuna with ``HyperbandPruner`` in memory and with ``sqlite:///`` storage;
3. listing a file of many studies (``list_studies``: what ``%hpo list``, ``jupyter-hpo list``
   and the JupyterLab panel, every second while a study runs, read), and one study's line
   (``find_study``), with their trial counts per status, without loading the trials.

Run:  python benchmarks/storage_overhead.py            (or --quick for a smoke test)
      python benchmarks/storage_overhead.py --listing  (3. only, on files of >= 100,000
                                                        reports; PYTHONPATH=<an older
                                                        checkout> measures that version)
"""

from __future__ import annotations

import argparse
import functools
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
from jupyter_hpo.records import Direction, StudyState, TrialRecord, TrialStatus
from jupyter_hpo.space import Space
from jupyter_hpo.storage import SQLiteStorage, StudyUpdate

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


def listing_file(path: str, studies: int, trials: int) -> SQLiteStorage:
    """A file of ``studies`` ended studies of ``trials`` trials of EPOCHS reports each, with
    every status a listing counts."""
    storage = SQLiteStorage(path)
    statuses = [TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED,
                TrialStatus.CANCELLED, TrialStatus.INTERRUPTED]
    for s in range(studies):
        study = storage.create_study(f"study-{s}", metric="loss", direction=Direction.MIN,
                                     resource="epoch", space=Space(SPACE),
                                     settings={"trials": trials})
        records = tuple(TrialRecord(
            t, {"x": t / trials}, statuses[t % len(statuses)],
            tuple({"epoch": e, "loss": (t + 1) / e} for e in range(1, EPOCHS + 1)),
            tuple(float(e) for e in range(1, EPOCHS + 1)), 0.0, 1.0,
            study_stopped=t % 10 == 3) for t in range(trials))
        storage.write(study.study_id, StudyUpdate(records, {}, StudyState.FINISHED, 1.0))
    return storage


def timed_ms(call, repeats: int) -> tuple[float, float]:
    """Median and best of ``repeats`` calls, in ms."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


LISTING_FILES = ((1, 12_000), (10, 1_200), (200, 100), (1_000, 20))


def listing_only() -> int:
    """Time ``list_studies`` and ``find_study`` on files of many reports (section 3)."""
    import jupyter_hpo

    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; jupyter_hpo from {Path(jupyter_hpo.__file__).parent}, "
          f"storage schema {jupyter_hpo.storage.SCHEMA_VERSION}\n")
    print("| studies x trials (reports) | list_studies median / best (ms) | find_study "
          "median / best (ms) |")
    print("| --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for studies, trials in LISTING_FILES:
            store = listing_file(str(Path(folder) / f"{studies}x{trials}.db"), studies, trials)
            assert len(store.list_studies()) == studies
            listed = timed_ms(store.list_studies, 20)
            found = timed_ms(functools.partial(store.find_study, "study-0"), 50)
            print(f"| {studies:,} x {trials:,} ({studies * trials * EPOCHS:,}) | "
                  f"{listed[0]:.1f} / {listed[1]:.1f} | {found[0]:.2f} / {found[1]:.2f} |",
                  flush=True)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    parser.add_argument("--listing", action="store_true",
                        help="only the listings, on files of 108,000 to 180,000 reports")
    args = parser.parse_args(argv)
    if args.listing:
        return listing_only()
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
        listings = []
        for studies, per_study in ((5, 20), (100, 100)) if args.quick else \
                ((10, 1000), (200, 100), (1000, 20)):
            store = listing_file(fresh("listing"), studies, per_study)
            assert len(store.list_studies()) == studies
            listings.append((studies, per_study, timed_ms(store.list_studies, 20),
                             timed_ms(functools.partial(store.find_study, "study-0"), 50)))

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
    print(f"\nListing a file (ms, median / best; {EPOCHS} reports per trial)\n")
    print("| studies x trials | list_studies | find_study |")
    print("| --- | ---: | ---: |")
    for studies, per_study, (listed, listed_best), (found, found_best) in listings:
        print(f"| {studies:,} x {per_study:,} | {listed:.1f} / {listed_best:.1f} | "
              f"{found:.2f} / {found_best:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
