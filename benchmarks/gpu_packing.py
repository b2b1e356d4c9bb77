"""Trials per hour of a small MLP study at 1, 0.5 and 0.25 GPUs per trial (process executor).

Packing several small trials onto one GPU is the point of fractional ``--gpus-per-trial``: a
small model leaves most of a GPU idle. Without a GPU this script says so and exits.

    python benchmarks/gpu_packing.py [--trials 16] [--epochs 20]
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import time


def train(config, report, device, epochs=20):
    """A 3-layer MLP on synthetic data (no download), ``epochs`` passes of 50 batches."""
    import torch

    torch.manual_seed(0)
    generator = torch.Generator(device="cpu").manual_seed(1)
    features = torch.randn(20_000, 256, generator=generator).to(device)
    labels = (features[:, :8].sum(dim=1) > 0).long()
    width = config["width"]
    model = torch.nn.Sequential(torch.nn.Linear(256, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, 2)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    for epoch in range(1, epochs + 1):
        for batch in torch.randperm(len(features), device=device).split(400):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(features[batch]), labels[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (model(features).argmax(1) == labels).float().mean().item()
        report(epoch=epoch, acc=accuracy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    from jupyter_hpo import Int, Real, Space, tune
    from jupyter_hpo.resources import detect_gpus

    gpus = detect_gpus()
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, GPUs: {gpus}")
    if gpus == 0:
        print("No GPU available: nothing measured (run this on a machine with a GPU).")
        return 0
    import torch

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    space = Space({"lr": Real(1e-4, 1e-2, log=True), "width": Int(256, 1024)})
    print("\n| GPUs per trial | concurrent trials | trials | wall (s) | trials/hour |")
    print("| --- | --- | --- | --- | --- |")
    for share in (1, 0.5, 0.25):
        started = time.perf_counter()
        study = tune(functools.partial(train, epochs=args.epochs), space, metric="acc", mode="max", trials=args.trials,
                     executor="process", gpus_per_trial=share, workers=None, seed=0,
                     scheduler="fifo", searcher="random")
        wall = time.perf_counter() - started
        done = study.counts()["completed"]
        print(f"| {share:g} | {study.workers} | {done}/{args.trials} | {wall:.1f} | "
              f"{3600 * done / wall:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
