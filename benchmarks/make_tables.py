"""Learning-curve tables for the search-quality benchmark, from real training runs.

Each table is a kind of model on one dataset that ships with scikit-learn or is generated (no
network), for configurations drawn at random from the kind's space (``TABLE_SPACES`` in
``search_quality.py``): ``mlp`` small PyTorch MLPs (digits, breast_cancer), ``gbm`` gradient
boosting in stages of 10 trees (hastie, breast_cancer, wine), ``forest`` a random forest grown 4
trees an epoch (digits, breast_cancer), ``net`` small scikit-learn MLPs (synth, digits), ``cnn``
small PyTorch conv nets (digits' 8x8 images). After every epoch (30) it records the validation error, the validation log-loss and the wall seconds
the epoch took. Each table gets a time budget; the workers train configurations in a fixed
order until it runs out, so the table holds every configuration that finished. Tables are
stored as ``benchmarks/tables/<kind>_<dataset>.npz`` (curves as float16) and replayed by
``jupyter_hpo.simulation.TableBenchmark``; the Spearman rank correlations between the metric
at epochs 1, 3, 9 and at epoch 30 say whether the curves cross.

    python benchmarks/make_tables.py --tables gbm_hastie --minutes 12 --workers 1
    python benchmarks/make_tables.py --probe 5 --tables forest_digits   # seconds per config
    python benchmarks/make_tables.py --correlations                     # of the stored tables

Any other pair of a kind and a dataset (``iris``, ``wine``, ``digits``, ``breast_cancer``,
``hastie``, ``synth``) makes a table the benchmark replays with ``--table``:

    python benchmarks/make_tables.py --tables gbm_iris --minutes 3 --workers 2 --out /tmp/t
    python benchmarks/search_quality.py --table /tmp/t/gbm_iris.npz --seeds 10
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from search_quality import TABLE_SPACES, TABLES
from table_kinds import DATASETS, EPOCHS, load_data, train_forest, train_gbm, train_net

TABLE_DIR = Path(__file__).resolve().parent / "tables"
DEFAULT_MINUTES = {"mlp_digits": 11.0, "mlp_breast_cancer": 3.0, "gbm_hastie": 12.0,
                   "forest_digits": 10.0, "net_synth": 10.0, "gbm_breast_cancer": 10.0,
                   "gbm_wine": 4.0, "net_digits": 4.0, "forest_breast_cancer": 4.0,
                   "net_breast_cancer": 3.0, "forest_wine": 3.0, "gbm_synth": 4.0,
                   "mlp_wine": 3.0, "cnn_digits": 15.0}
OTHER_MINUTES = 4.0  # a table of another kind and dataset than those above
CHECK_EPOCHS = (1, 3, 9)
IMAGE_DATASETS = ("digits",)  # square images, flattened: what a ``cnn`` table trains on
Trainer = Callable[[dict[str, Any], tuple[np.ndarray, ...], int],
                   tuple[np.ndarray, np.ndarray, np.ndarray]]


def train_mlp(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small PyTorch MLP (Adam, minibatches): per-epoch validation error, log-loss, seconds."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x_train, y_train, x_val, y_val = (torch.from_numpy(a) for a in data)
    classes = int(y_train.max()) + 1
    layers: list[nn.Module] = []
    width_in = x_train.shape[1]
    for _ in range(config["depth"]):
        layers += [nn.Linear(width_in, config["width"]), nn.ReLU(), nn.Dropout(config["dropout"])]
        width_in = config["width"]
    model = nn.Sequential(*layers, nn.Linear(width_in, classes))
    optimiser = torch.optim.Adam(model.parameters(), lr=config["lr"])
    return _fit(model, optimiser, (x_train, y_train, x_val, y_val), config["batch_size"], seed)


def train_cnn(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small PyTorch conv net on square images (digits: 8x8), SGD with momentum 0.9 and
    weight decay: per-epoch validation error, log-loss, seconds."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    side = math.isqrt(data[0].shape[1])
    x_train, x_val = (torch.from_numpy(a).reshape(-1, 1, side, side) for a in data[0::2])
    y_train, y_val = (torch.from_numpy(a) for a in data[1::2])
    channels, layers, size = config["channels"], [], side
    for layer in range(config["conv_layers"]):
        layers += [nn.Conv2d(1 if layer == 0 else channels, channels, 3, padding=1), nn.ReLU()]
        if size >= 4:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    model = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(config["dropout"]),
                          nn.Linear(channels * size * size, int(y_train.max()) + 1))
    optimiser = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9,
                                weight_decay=config["weight_decay"])
    return _fit(model, optimiser, (x_train, y_train, x_val, y_val), config["batch_size"], seed)


def _fit(model: Any, optimiser: Any, data: tuple[Any, ...], batch_size: int, seed: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train ``model`` EPOCHS epochs of shuffled minibatches; per epoch the validation error,
    log-loss (non-finite: 1e4) and seconds."""
    import torch
    from torch import nn

    x_train, y_train, x_val, y_val = data
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    errors, losses, seconds = (np.empty(EPOCHS) for _ in range(3))
    for epoch in range(EPOCHS):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for batch in order.split(batch_size):
            optimiser.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            loss = float(loss_fn(logits, y_val))
            errors[epoch] = float((logits.argmax(1) != y_val).float().mean())
        seconds[epoch] = time.perf_counter() - started
        losses[epoch] = loss if np.isfinite(loss) else 1e4
    return errors, np.minimum(losses, 1e4), seconds


TRAINERS: dict[str, Trainer] = {"mlp": train_mlp, "gbm": train_gbm, "forest": train_forest,
                                "net": train_net, "cnn": train_cnn}


def _worker(args: tuple[str, int, int, float, list[dict[str, Any]], set[int]]
            ) -> list[tuple[int, Any]]:
    """Train this worker's share of the configurations not in ``skip`` until the deadline, at
    least one (a deadline that passed while the data loaded still gives a row)."""
    from threadpoolctl import threadpool_limits

    table, rank, workers, deadline, configs, skip = args
    kind, dataset = table.split("_", 1)
    _one_torch_thread(kind)
    data = load_data(dataset)
    done = []
    with threadpool_limits(1):
        for index in [i for i in range(len(configs)) if i not in skip][rank::workers]:
            if done and time.time() >= deadline:
                break
            done.append((index, TRAINERS[kind](configs[index], data, index)))
    return done


def _one_torch_thread(kind: str) -> None:
    """PyTorch kinds train on one thread: their tiny batches only lose time to more."""
    if kind in ("mlp", "cnn"):
        import torch

        torch.set_num_threads(1)


def _configs(kind: str, count: int) -> list[dict[str, Any]]:
    """The fixed, seeded list of configurations a table of ``kind`` trains in order."""
    space = TABLE_SPACES[kind]()
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(count)]


def _train(table: str, seconds: float, workers: int, configs: list[dict[str, Any]],
           skip: set[int]) -> list[tuple[int, Any]]:
    """Rows trained in ``seconds`` on ``workers`` processes (inline for one worker)."""
    deadline = time.time() + seconds
    jobs = [(table, r, workers, deadline, configs, skip) for r in range(workers)]
    if workers == 1:
        return _worker(jobs[0])
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [row for part in pool.map(_worker, jobs) for row in part]


def make_table(table: str, seconds: float, workers: int, extend: bool = False,
               max_configs: int = 20_000, directory: Path | None = None) -> Path:
    """Train configurations of ``table`` (``<kind>_<dataset>``) for ``seconds`` on ``workers``
    processes and save them in ``directory`` (``TABLE_DIR``); with ``extend``, keep the
    existing rows and train further ones."""
    kind = table.split("_", 1)[0]
    space = TABLE_SPACES[kind]()
    configs = _configs(kind, max_configs)
    directory = TABLE_DIR if directory is None else directory
    path = directory / f"{table}.npz"
    rows: list[tuple[int, Any]] = []
    spent = 0.0
    if extend and path.exists():
        with np.load(path) as old:
            rows = [(int(i), (old["error"][k], old["logloss"][k], old["seconds"][k]))
                    for k, i in enumerate(old["index"])]
            spent = float(old["generation_seconds"])
    started = time.perf_counter()
    rows += _train(table, seconds, workers, configs, {i for i, _ in rows})
    spent += time.perf_counter() - started
    rows.sort(key=lambda row: row[0])
    kept = [configs[i] for i, _ in rows]
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        **{name: np.array([c[name] for c in kept]) for name in space},
        index=np.array([i for i, _ in rows]),
        error=np.array([r[1][0] for r in rows], dtype=np.float16),
        logloss=np.array([r[1][1] for r in rows], dtype=np.float16),
        seconds=np.array([r[1][2] for r in rows], dtype=np.float16),
        generation_seconds=np.array(spent),
        info=np.array(f"{table}: {len(rows)} {kind} configurations x {EPOCHS} epochs, "
                      f"{spent:.0f} s on {workers} processes, {os.cpu_count()} cores, "
                      f"{platform.machine()}, one thread per process"),
    )
    print(f"{table}: {len(rows)} configurations, {spent:.0f} s on {workers} processes in all "
          f"-> {path} ({path.stat().st_size / 1e3:.0f} KB)", flush=True)
    if len(rows) > 2:  # whether the curves cross
        for metric in ("error", "logloss"):
            rho = rank_correlations(path, metric)
            print(f"  {metric}: Spearman epoch " + " / ".join(map(str, CHECK_EPOCHS))
                  + f" vs {EPOCHS}: " + " / ".join(f"{rho[e]:.2f}" for e in CHECK_EPOCHS),
                  flush=True)
    return path


def rank_correlations(path: Path, metric: str) -> dict[int, float]:
    """Spearman correlation over all rows between ``metric`` at CHECK_EPOCHS and at the last
    epoch: near 1, early rankings predict the final one; low, the curves cross."""
    from scipy.stats import spearmanr

    with np.load(path) as data:
        curves = data[metric].astype(np.float64)
    return {e: float(spearmanr(curves[:, e - 1], curves[:, -1]).statistic)
            for e in CHECK_EPOCHS}


def describe(name: str) -> str:
    """One markdown row for benchmark ``name``: rows, metric, best/median at max_t, mean
    training time, generation time, size, rank correlations."""
    file, metric, _, _ = TABLES[name]
    path = TABLE_DIR / file
    with np.load(path) as data:
        final = data[metric][:, -1].astype(np.float64)
        rows = len(final)
        train = float(data["seconds"].astype(np.float64).sum(axis=1).mean())
        spent = float(data["generation_seconds"])
    rho = rank_correlations(path, metric)
    return (f"| {name} (`{file}`) | {rows} | {metric} | {final.min():.4g} / {np.median(final):.4g} | "
            f"{train:.2f} s | {spent:.0f} s | {path.stat().st_size / 1e3:.0f} KB | "
            + " / ".join(f"{rho[e]:.2f}" for e in CHECK_EPOCHS) + " |")


def probe(table: str, count: int) -> None:
    """Train the first ``count`` configurations of ``table`` and print the seconds each took."""
    kind, dataset = table.split("_", 1)
    data = load_data(dataset)
    _one_torch_thread(kind)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for index, config in enumerate(_configs(kind, count)):
            started = time.perf_counter()
            TRAINERS[kind](config, data, index)
            print(f"{table} #{index}: {time.perf_counter() - started:.2f} s {config}", flush=True)


def table_name(text: str) -> str:
    """An argparse type: ``<kind>_<dataset>`` for a kind with a trainer and a dataset
    ``load_data`` knows."""
    kind, _, dataset = text.partition("_")
    if kind not in TRAINERS or dataset not in DATASETS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not <kind>_<dataset> with a kind of {', '.join(TRAINERS)} and a "
            f"dataset of {', '.join(DATASETS)} (e.g. gbm_iris)")
    if kind == "cnn" and dataset not in IMAGE_DATASETS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a cnn table needs images; of the datasets only "
            f"{', '.join(IMAGE_DATASETS)} holds them (e.g. cnn_digits)")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", type=table_name, default=list(DEFAULT_MINUTES),
                        help="<kind>_<dataset> (default: the benchmark's own tables); another "
                             f"pair trains {OTHER_MINUTES:g} minutes unless --minutes says")
    parser.add_argument("--minutes", type=float, nargs="*", default=None,
                        help="one budget per table (default: DEFAULT_MINUTES)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=TABLE_DIR, metavar="DIR",
                        help="where the tables go (default benchmarks/tables; a table of "
                             "another pair than the benchmark's runs with search_quality.py "
                             "--table FILE)")
    parser.add_argument("--max-configs", type=int, default=20_000, metavar="N",
                        help="train at most the first N configurations of the seeded list (a "
                             "table of N rows however fast the machine is)")
    parser.add_argument("--extend", action="store_true",
                        help="keep the existing rows and train further configurations")
    parser.add_argument("--probe", type=int, default=0, metavar="N",
                        help="only time the first N configurations of each table")
    parser.add_argument("--correlations", action="store_true",
                        help="only print the markdown rows of the stored tables")
    args = parser.parse_args(argv)
    minutes = args.minutes or [DEFAULT_MINUTES.get(t, OTHER_MINUTES) for t in args.tables]
    if len(minutes) != len(args.tables):
        parser.error(f"--minutes has {len(minutes)} values, but --tables names "
                     f"{len(args.tables)} tables")
    if args.correlations:
        print("| benchmark (table) | rows | metric | best / median at epoch 30 | mean training time | "
              "generation | size | Spearman epoch 1 / 3 / 9 vs 30 |")
        print("| --- | ---: | --- | --- | ---: | ---: | ---: | --- |")
        for name, (file, *_) in TABLES.items():
            if (TABLE_DIR / file).exists():
                print(describe(name))
        return 0
    for table, budget in zip(args.tables, minutes):
        if args.probe:
            probe(table, args.probe)
        else:
            make_table(table, 60 * budget, args.workers, extend=args.extend,
                       max_configs=args.max_configs, directory=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
