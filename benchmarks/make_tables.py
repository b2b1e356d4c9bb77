"""Learning-curve tables for the search-quality benchmark, from real training runs.

Trains small PyTorch MLPs (CPU, one thread per process) on scikit-learn's bundled datasets
(no network) for configurations drawn at random from a five-dimensional space, and records,
after every epoch, the validation error, the validation log-loss and the wall seconds the
epoch took. Each dataset gets a time budget; the workers train configurations in a fixed
order until it runs out, so the table holds every configuration that finished. Tables are
stored as ``benchmarks/tables/<name>.npz`` (curves as float16) and replayed by
``jupyter_hpo.simulation.TableBenchmark``.

    python benchmarks/make_tables.py                      # digits 11 min + breast_cancer 3 min
    python benchmarks/make_tables.py --minutes 11 3 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from search_quality import table_space

EPOCHS = 30
TABLES = Path(__file__).resolve().parent / "tables"
DATASETS = ("digits", "breast_cancer")



def _data(dataset: str) -> tuple[np.ndarray, ...]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=1 / 3, random_state=0,
                                                      stratify=y)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train).astype(np.float32), y_train.astype(np.int64),
            scaler.transform(x_val).astype(np.float32), y_val.astype(np.int64))


def train(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-epoch validation error, validation log-loss and wall seconds of one training run."""
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
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    errors, losses, seconds = (np.empty(EPOCHS) for _ in range(3))
    for epoch in range(EPOCHS):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for batch in order.split(config["batch_size"]):
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


def _worker(args: tuple[str, int, int, float, list[dict[str, Any]], set[int]]
            ) -> list[tuple[int, Any]]:
    import torch

    torch.set_num_threads(1)
    dataset, rank, workers, deadline, configs, skip = args
    data = _data(dataset)
    done = []
    for index in [i for i in range(len(configs)) if i not in skip][rank::workers]:
        if time.time() >= deadline:
            break
        done.append((index, train(configs[index], data, seed=index)))
    return done


def make_table(dataset: str, seconds: float, workers: int, extend: bool = False,
               max_configs: int = 20_000) -> Path:
    """Train configurations of ``dataset`` for ``seconds`` on ``workers`` processes and save
    them; with ``extend``, keep the rows of the existing table and train further ones."""
    space = table_space()
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(max_configs)]
    path = TABLES / f"mlp_{dataset}.npz"
    rows: list[tuple[int, Any]] = []
    spent = 0.0
    if extend and path.exists():
        with np.load(path) as old:
            rows = [(int(i), (old["error"][k], old["logloss"][k], old["seconds"][k]))
                    for k, i in enumerate(old["index"])]
            spent = float(old["generation_seconds"])
    deadline = time.time() + seconds
    started = time.perf_counter()
    skip = {i for i, _ in rows}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_worker, [(dataset, r, workers, deadline, configs, skip)
                                   for r in range(workers)])
    spent += time.perf_counter() - started
    rows = sorted(rows + [row for part in parts for row in part], key=lambda row: row[0])
    kept = [configs[i] for i, _ in rows]
    TABLES.mkdir(exist_ok=True)
    np.savez_compressed(
        path,
        **{name: np.array([c[name] for c in kept]) for name in space},
        index=np.array([i for i, _ in rows]),
        error=np.array([r[1][0] for r in rows], dtype=np.float16),
        logloss=np.array([r[1][1] for r in rows], dtype=np.float16),
        seconds=np.array([r[1][2] for r in rows], dtype=np.float16),
        generation_seconds=np.array(spent),
        info=np.array(f"{dataset}: {len(rows)} MLP configurations x {EPOCHS} epochs, "
                      f"{spent:.0f} s on {workers} processes, {os.cpu_count()} cores, "
                      f"{platform.machine()}, torch 1 thread per process"),
    )
    print(f"{dataset}: {len(rows)} configurations, {spent:.0f} s on {workers} processes in all "
          f"-> {path.name} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs=2, default=(11.0, 3.0),
                        metavar=("DIGITS", "BREAST_CANCER"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--extend", action="store_true",
                        help="keep the existing rows and train further configurations")
    parser.add_argument("--only", choices=DATASETS, default=None, help="one dataset")
    args = parser.parse_args(argv)
    for dataset, minutes in zip(DATASETS, args.minutes):
        if args.only in (None, dataset):
            make_table(dataset, 60 * minutes, args.workers, extend=args.extend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
