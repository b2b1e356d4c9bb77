"""What running trials on Dask costs, next to the process executor and to Optuna on Dask.

    python benchmarks/dask_overhead.py            # full run (a few minutes on 2 busy cores)
    python benchmarks/dask_overhead.py --quick    # small counts, for the smoke test

1. Transports (why the Dask executor uses ``distributed.Queue``): the round trip between a
   task on a LocalCluster worker and the kernel, over (a) two ``distributed.Queue`` s, the
   executor's choice; (b) the worker's ``log_event`` + the client's ``subscribe_topic`` up and
   a Queue down; (c) a direct RPC from the worker to a ``distributed.core.Server`` in the
   kernel (fastest, but it needs workers that can connect to the notebook's machine, which
   cluster networks often forbid: shown for reference only). ``Pub``/``Sub`` is gone from
   ``distributed``.
2. ``report()`` round trip with Hyperband's decision inside a real study, timed around each
   call where the objective runs (a Dask worker, or a worker process), 2 workers: the Dask
   executor and the process executor; Optuna's ``trial.report`` + ``trial.should_prune``
   (``HyperbandPruner``) in tasks on the same LocalCluster with a shared journal file storage.
3. Framework time per trivial trial (the objective returns at once), 1 worker: the marginal
   cost, (wall(N2) - wall(N1)) / (N2 - N1), so pool and cluster start-ups drop out.
4. Efficiency with 1, 2, 4 and 8 workers on trials that sleep 0.5 s: steady-state throughput
   (trials of a 2R-round study minus those of an R-round one, over the wall-time difference)
   against the ideal W / 0.5 trials/s. Optuna: ``study.optimize`` in W Dask tasks sharing a
   journal file storage. Cluster start-up (a LocalCluster of W processes) is listed apart.

Prints the machine and Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time

import optuna
from distributed import Client, LocalCluster, Queue, get_worker

import jupyter_hpo
from jupyter_hpo import Real, Study
from jupyter_hpo.objective import FunctionObjective
from jupyter_hpo.space import Space

TAG = "HPO_BENCH_SAMPLES"
optuna.logging.set_verbosity(optuna.logging.WARNING)


def cluster(workers: int) -> tuple[LocalCluster, Client, float]:
    started = time.perf_counter()
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                         silence_logs=logging.ERROR)
    client = Client(local, set_as_default=False)
    client.wait_for_workers(workers)
    return local, client, time.perf_counter() - started


def summary(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    return statistics.median(ordered) * 1e3, ordered[int(0.9 * (len(ordered) - 1))] * 1e3


# ----------------------------------------------------------------------- 1. transports
def queue_task(name: str, n: int) -> list[float]:
    up, down = Queue(f"{name}-up"), Queue(f"{name}-down")
    out = []
    for i in range(n):
        t = time.perf_counter()
        up.put(i)
        down.get()
        out.append(time.perf_counter() - t)
    return out


def event_task(name: str, n: int) -> list[float]:
    worker, down = get_worker(), Queue(f"{name}-down")
    out = []
    for i in range(n):
        t = time.perf_counter()
        worker.log_event(name, i)
        down.get()
        out.append(time.perf_counter() - t)
    return out


def rpc_task(address: str, n: int) -> list[float]:
    from distributed.core import ConnectionPool
    from distributed.utils import sync

    async def go() -> list[float]:
        pool = ConnectionPool()
        await pool.start()
        out = []
        for i in range(n):
            t = time.perf_counter()
            await pool(address).report(values=i)
            out.append(time.perf_counter() - t)
        await pool.close()
        return out

    return sync(get_worker().loop, go)


def transports(client: Client, n: int) -> list[tuple[str, list[float]]]:
    import queue

    from distributed.core import Server
    from distributed.utils import sync

    rows = []
    up, down = Queue("q-up", client=client), Queue("q-down", client=client)
    future = client.submit(queue_task, "q", n, pure=False)
    for _ in range(n):
        up.get()
        down.put("continue")
    rows.append(("two distributed.Queue (chosen)", future.result()[5:]))

    inbox: queue.SimpleQueue = queue.SimpleQueue()
    client.subscribe_topic("e", inbox.put)
    down = Queue("e-down", client=client)
    future = client.submit(event_task, "e", n, pure=False)
    for _ in range(n):
        inbox.get()
        down.put("continue")
    rows.append(("worker log_event + subscribe_topic up, Queue down", future.result()[5:]))

    async def answer(values=None):
        return "continue"

    async def serve():
        server = Server({"report": answer})
        await server.listen("tcp://127.0.0.1:0")
        return server

    server = sync(client.loop, serve)
    rows.append(("direct RPC worker -> kernel Server (reference)",
                 client.submit(rpc_task, server.address, n, pure=False).result()[5:]))
    sync(client.loop, server.close)
    return rows


# ------------------------------------------------------------------ 2. report() round trip
def timed_reports(config, report, epochs):
    samples = []
    for epoch in range(1, epochs + 1):
        t = time.perf_counter_ns()
        report(epoch=epoch, acc=0.5)  # every trial reports the same curve: none is stopped
        samples.append(time.perf_counter_ns() - t)
    print(TAG + json.dumps(samples))


def jupyter_hpo_reports(executor, trials: int, epochs: int) -> list[float]:
    options = {"executor": executor} if not isinstance(executor, str) else {
        "executor": executor, "workers": 2}
    study = Study(FunctionObjective(lambda c, report: timed_reports(c, report, epochs), "acc"),
                  Space({"x": Real(0, 1)}), metric="acc", mode="max", trials=trials,
                  scheduler="hyperband", searcher="random", scheduler_options={"max_t": epochs}, seed=0,
                  **options)
    study.run()
    samples = []
    for trial in study.trials:
        for line in study.trial_output(trial.trial_id).splitlines():
            if line.startswith(TAG):
                samples += [ns / 1e9 for ns in json.loads(line[len(TAG):])][2:]
    return samples


def optuna_reports(storage_path: str, name: str, trials: int, epochs: int) -> list[float]:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name=name,
                              storage=JournalStorage(JournalFileBackend(storage_path)))
    samples = []

    def objective(trial):
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            trial.report(0.5, epoch)
            trial.should_prune()
            samples.append(time.perf_counter() - t)
        return 0.5

    study.optimize(objective, n_trials=trials)
    return samples


def optuna_on_dask(client: Client, workers: int, trials_each: int, fn, *args) -> list:
    """``fn(storage, name, trials_each, *args)`` in ``workers`` Dask tasks over one journal
    file; returns their results."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    with tempfile.NamedTemporaryFile(suffix=".journal", delete=False) as file:
        path = file.name
    name = f"bench-{time.monotonic_ns()}"
    optuna.create_study(study_name=name, direction="maximize",
                        storage=JournalStorage(JournalFileBackend(path)),
                        pruner=optuna.pruners.HyperbandPruner(max_resource=50))
    futures = [client.submit(fn, path, name, trials_each, *args, pure=False)
               for _ in range(workers)]
    try:
        return client.gather(futures)
    finally:
        os.unlink(path)


# -------------------------------------------------------------- 3./4. whole studies
def sleep_trial(config, seconds):
    time.sleep(seconds)
    return config["x"]


def jupyter_hpo_study(executor, trials: int, seconds: float, workers: int) -> float:
    options = {"executor": executor} if not isinstance(executor, str) else {
        "executor": executor, "workers": workers}
    study = Study(FunctionObjective(lambda c: sleep_trial(c, seconds), "value"),
                  Space({"x": Real(0, 1)}), metric="value", mode="max", trials=trials,
                  seed=0, scheduler="fifo", searcher="random", **options)
    started = time.perf_counter()
    study.run()
    return time.perf_counter() - started


def optuna_sleep(storage_path: str, name: str, trials: int, seconds: float) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name=name,
                              storage=JournalStorage(JournalFileBackend(storage_path)))
    study.optimize(lambda trial: sleep_trial({"x": trial.suggest_float("x", 0, 1)}, seconds),
                   n_trials=trials)


def optuna_study(client: Client, workers: int, trials: int, seconds: float) -> float:
    started = time.perf_counter()
    optuna_on_dask(client, workers, trials // workers, optuna_sleep, seconds)
    return time.perf_counter() - started


def marginal(run, small: int, large: int) -> float:
    """Seconds per extra trial between a ``small`` and a ``large`` study."""
    return (run(large) - run(small)) / (large - small)


# ------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    args = parser.parse_args()
    quick = args.quick
    rounds = 1 if quick else 4
    worker_counts = [1, 2] if quick else [1, 2, 4, 8]
    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; jupyter_hpo {jupyter_hpo.__version__}, distributed "
          f"{sys.modules['distributed'].__version__}, optuna {optuna.__version__}")

    local, client, startup = cluster(2)
    print("\n### Transports: task <-> kernel round trip, LocalCluster of 2 processes\n")
    print("| transport | median ms | p90 ms |\n| --- | --- | --- |")
    for name, samples in transports(client, 60 if quick else 400):
        print("| {} | {:.2f} | {:.2f} |".format(name, *summary(samples)))

    trials, epochs = (4, 20) if quick else (12, 100)
    print(f"\n### report() round trip with the Hyperband decision, 2 workers, {trials} trials x "
          f"{epochs} reports\n")
    print("| where | median ms | p90 ms |\n| --- | --- | --- |")
    rows = [("jupyter_hpo, Dask executor (LocalCluster, 2 processes)",
             jupyter_hpo_reports(client, trials, epochs)),
            ("jupyter_hpo, process executor (2 workers)",
             jupyter_hpo_reports("process", trials, epochs)),
            ("Optuna, 2 Dask tasks, journal file storage (report + should_prune)",
             [s for part in optuna_on_dask(client, 2, trials // 2, optuna_reports, epochs)
              for s in part])]
    for name, samples in rows:
        print("| {} | {:.3f} | {:.3f} |".format(name, *summary(samples)))
    client.close()
    local.close()

    small, large = (4, 12) if quick else (20, 80)
    print(f"\n### Framework time per trivial trial, 1 worker (marginal, {small} vs {large} "
          f"trials)\n")
    print("| framework | ms per trial |\n| --- | --- |")
    local, client, _ = cluster(1)
    per_trial = [
        ("jupyter_hpo, Dask executor", marginal(
            lambda n: jupyter_hpo_study(client, n, 0.0, 1), small, large)),
        ("jupyter_hpo, process executor", marginal(
            lambda n: jupyter_hpo_study("process", n, 0.0, 1), small, large)),
        ("Optuna, 1 Dask task, journal file storage", marginal(
            lambda n: optuna_study(client, 1, n, 0.0), small, large))]
    for name, seconds in per_trial:
        print(f"| {name} | {seconds * 1e3:.1f} |")
    client.close()
    local.close()

    print(f"\n### Efficiency on 0.5 s trials (steady state: {rounds} vs {2 * rounds} rounds "
          f"of W trials; ideal W / 0.5 trials/s)\n")
    print("| workers | LocalCluster start s | Dask executor | process executor | "
          "Optuna on Dask |\n| --- | --- | --- | --- | --- |")
    for workers in worker_counts:
        local, client, startup = cluster(workers)
        ideal = workers / 0.5
        cells = []
        for executor in (client, "process", None):
            def run(n, executor=executor, client=client, workers=workers):
                if executor is None:
                    return optuna_study(client, workers, n, 0.5)
                return jupyter_hpo_study(executor, n, 0.5, workers)

            seconds = marginal(run, rounds * workers, 2 * rounds * workers)
            cells.append(f"{(1 / seconds) / ideal:.2f}")
        print(f"| {workers} | {startup:.1f} | " + " | ".join(cells) + " |")
        client.close()
        local.close()


if __name__ == "__main__":
    main()
