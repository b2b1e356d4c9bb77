"""Learning-curve tables of kinds the benchmark's own tables lack, to check the default on.

Four kinds, none of them in ``benchmarks/tables`` (which holds PyTorch and scikit-learn MLPs
with Adam, gradient boosting and random forests on classification data): a linear model
trained by SGD, a regression, a network trained by SGD with momentum on noisy labels, and a
kernel approximation. Each configuration is drawn at random (seeded) and trained for 30
epochs; after each epoch the validation metrics and the wall seconds are recorded in
``make_tables.py``'s ``.npz`` layout (one column per hyperparameter), so
``search_quality.py --table FILE`` replays them with a space inferred from the columns. The
tables stay out of the repository: they are held out, for measuring, not for tuning.

- ``sgd_synth``: ``SGDClassifier.partial_fit`` (an epoch is a pass) on generated 5-class data
  (3,000 samples, 40 features, 5% label noise): alpha, eta0, learning-rate schedule, loss,
  penalty, power_t. Curves hardly cross.
- ``hgb_diabetes``: ``HistGradientBoostingRegressor``, 10 iterations an epoch (one fit of 300,
  the curve from ``staged_predict``), on the diabetes data (442 samples); validation MSE and
  MAE. High learning rates overfit: early ranks are the reverse of the final ones.
- ``torch_noisy``: a PyTorch MLP trained by SGD with momentum (lr 1e-4 to 1) on generated
  binary data with 25% of the labels flipped (900 samples): fast learners overfit the noise
  late, slow ones bloom late.
- ``rff_quantiles``: random Fourier features (``RBFSampler``) and a logistic SGD model on
  3-class Gaussian quantiles with 4 irrelevant features (2,000 samples): gamma, features,
  alpha, eta0, schedule.

    python benchmarks/held_out_tables.py --out /tmp/newtables \\
        --tables sgd_synth hgb_diabetes rff_quantiles torch_noisy --minutes 4 4 4 7
    python benchmarks/search_quality.py --table /tmp/newtables/hgb_diabetes.npz ...
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from table_kinds import EPOCHS, MAX_LOSS

Data = tuple[np.ndarray, ...]
Curves = dict[str, np.ndarray]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _split(x: np.ndarray, y: np.ndarray, classify: bool = True) -> Data:
    """Standardised (x_train, y_train, x_val, y_val), validation 1/3, seed 0."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=1 / 3, random_state=0, stratify=y if classify else None)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train).astype(np.float32), y_train,
            scaler.transform(x_val).astype(np.float32), y_val)


def _scores(proba: np.ndarray, y_val: np.ndarray) -> tuple[float, float]:
    """Validation error and log-loss (probabilities clipped at 1e-15, NaN as uniform)."""
    proba = np.nan_to_num(proba, nan=1.0 / proba.shape[1])
    error = float(np.mean(proba.argmax(1) != y_val))
    picked = np.clip(proba[np.arange(len(y_val)), y_val], 1e-15, 1.0)
    loss = float(-np.mean(np.log(picked)))
    return error, min(loss, MAX_LOSS) if np.isfinite(loss) else MAX_LOSS


# ------------------------------------------------------------------------------ sgd_synth
def sgd_data() -> Data:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=3000, n_features=40, n_informative=12, n_redundant=8,
                               n_classes=5, n_clusters_per_class=2, flip_y=0.05,
                               class_sep=0.9, random_state=1)
    return _split(x, y)


def sgd_sample(rng: np.random.Generator) -> dict[str, Any]:
    return {"alpha": _log_uniform(rng, 1e-7, 1e-1), "eta0": _log_uniform(rng, 1e-5, 1.0),
            "learning_rate": str(rng.choice(["constant", "invscaling", "adaptive", "optimal"])),
            "loss": str(rng.choice(["log_loss", "modified_huber"])),
            "penalty": str(rng.choice(["l2", "l1", "elasticnet"])),
            "power_t": float(rng.uniform(0.1, 0.9))}


def sgd_train(config: dict[str, Any], data: Data, seed: int) -> Curves:
    """One ``partial_fit`` pass an epoch."""
    from sklearn.linear_model import SGDClassifier

    x_train, y_train, x_val, y_val = data
    return _partial_fit_epochs(SGDClassifier(random_state=seed, **config),
                               (x_train, y_train, x_val, y_val))


def _partial_fit_epochs(model: Any, data: Data, setup: float = 0.0) -> Curves:
    """One ``partial_fit`` pass of ``model`` an epoch, scored on the validation data after
    each; ``setup`` seconds are added to the first epoch's."""
    x_train, y_train, x_val, y_val = data
    classes = np.unique(y_train)
    error, logloss, seconds = (np.empty(EPOCHS) for _ in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(EPOCHS):
            started = time.perf_counter()
            model.partial_fit(x_train, y_train, classes=classes)
            error[epoch], logloss[epoch] = _scores(model.predict_proba(x_val), y_val)
            seconds[epoch] = time.perf_counter() - started + (setup if epoch == 0 else 0.0)
    return {"error": error, "logloss": logloss, "seconds": seconds}


# ---------------------------------------------------------------------------- hgb_diabetes
def hgb_data() -> Data:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x_train, y_train, x_val, y_val = _split(x, y, classify=False)
    return x_train, y_train / 100.0, x_val, y_val / 100.0


def hgb_sample(rng: np.random.Generator) -> dict[str, Any]:
    return {"learning_rate": _log_uniform(rng, 3e-3, 1.0),
            "max_leaf_nodes": round(_log_uniform(rng, 2, 64)),
            "min_samples_leaf": round(_log_uniform(rng, 1, 80)),
            "l2_regularization": _log_uniform(rng, 1e-4, 10.0),
            "max_features": float(rng.uniform(0.2, 1.0))}


def hgb_train(config: dict[str, Any], data: Data, seed: int) -> Curves:
    """One fit of 30 x 10 iterations, the curve from ``staged_predict``; an epoch's seconds
    are its share of the fit and of the scoring."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    x_train, y_train, x_val, y_val = data
    started = time.perf_counter()
    model = HistGradientBoostingRegressor(max_iter=EPOCHS * 10, early_stopping=False,
                                          random_state=seed, **config).fit(x_train, y_train)
    stages = list(model.staged_predict(x_val))
    last = [stages[min(10 * (epoch + 1), len(stages)) - 1] for epoch in range(EPOCHS)]
    share = (time.perf_counter() - started) / EPOCHS
    return {"mse": np.array([np.mean((p - y_val) ** 2) for p in last]),
            "mae": np.array([np.mean(np.abs(p - y_val)) for p in last]),
            "seconds": np.full(EPOCHS, share)}


# ----------------------------------------------------------------------------- torch_noisy
def torch_data() -> Data:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=900, n_features=16, n_informative=6, n_redundant=2,
                               n_classes=2, flip_y=0.25, class_sep=1.0, random_state=2)
    return _split(x, y)


def torch_sample(rng: np.random.Generator) -> dict[str, Any]:
    return {"lr": _log_uniform(rng, 1e-4, 1.0), "momentum": float(rng.uniform(0.0, 0.99)),
            "width": round(_log_uniform(rng, 8, 256)), "depth": int(rng.integers(1, 4)),
            "weight_decay": _log_uniform(rng, 1e-6, 1e-1),
            "batch_size": int(rng.choice([32, 64, 128, 256]))}


def torch_train(config: dict[str, Any], data: Data, seed: int) -> Curves:
    """SGD with momentum, minibatches; a diverged net counts as error 0.5, log-loss
    ``MAX_LOSS``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x_train, y_train, x_val, y_val = (torch.from_numpy(np.asarray(a)) for a in data)
    y_train, y_val = y_train.long(), y_val.long()
    layers: list[nn.Module] = []
    width_in = x_train.shape[1]
    for _ in range(config["depth"]):
        layers += [nn.Linear(width_in, config["width"]), nn.ReLU()]
        width_in = config["width"]
    model = nn.Sequential(*layers, nn.Linear(width_in, 2))
    optimiser = torch.optim.SGD(model.parameters(), lr=config["lr"],
                                momentum=config["momentum"],
                                weight_decay=config["weight_decay"])
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    error, logloss, seconds = (np.empty(EPOCHS) for _ in range(3))
    for epoch in range(EPOCHS):
        started = time.perf_counter()
        model.train()
        for batch in torch.randperm(len(x_train), generator=generator).split(
                config["batch_size"]):
            optimiser.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            loss = float(loss_fn(logits, y_val))
        finite = np.isfinite(loss)
        error[epoch] = float((logits.argmax(1) != y_val).float().mean()) if finite else 0.5
        logloss[epoch] = min(loss, MAX_LOSS) if finite else MAX_LOSS
        seconds[epoch] = time.perf_counter() - started
    return {"error": error, "logloss": logloss, "seconds": seconds}


# --------------------------------------------------------------------------- rff_quantiles
def rff_data() -> Data:
    from sklearn.datasets import make_gaussian_quantiles

    x, y = make_gaussian_quantiles(n_samples=2000, n_features=6, n_classes=3, random_state=3)
    noise = np.random.default_rng(3).normal(size=(len(x), 4))  # 4 irrelevant features
    return _split(np.hstack([x, noise]), y)


def rff_sample(rng: np.random.Generator) -> dict[str, Any]:
    return {"gamma": _log_uniform(rng, 1e-3, 10.0),
            "n_components": round(_log_uniform(rng, 16, 1024)),
            "alpha": _log_uniform(rng, 1e-7, 1e-1), "eta0": _log_uniform(rng, 1e-4, 1.0),
            "learning_rate": str(rng.choice(["constant", "invscaling", "adaptive"]))}


def rff_train(config: dict[str, Any], data: Data, seed: int) -> Curves:
    """Random Fourier features, then one logistic ``partial_fit`` pass an epoch (the first
    epoch's seconds include the features)."""
    from sklearn.kernel_approximation import RBFSampler
    from sklearn.linear_model import SGDClassifier

    x_train, y_train, x_val, y_val = data
    started = time.perf_counter()
    features = RBFSampler(gamma=config["gamma"], n_components=config["n_components"],
                          random_state=seed)
    f_train, f_val = features.fit_transform(x_train), features.transform(x_val)
    setup = time.perf_counter() - started
    model = SGDClassifier(loss="log_loss", alpha=config["alpha"], eta0=config["eta0"],
                          learning_rate=config["learning_rate"], random_state=seed)
    return _partial_fit_epochs(model, (f_train, y_train, f_val, y_val), setup)


Kind = tuple[Callable[[], Data], Callable[[np.random.Generator], dict[str, Any]],
             Callable[[dict[str, Any], Data, int], Curves]]
KINDS: dict[str, Kind] = {"sgd_synth": (sgd_data, sgd_sample, sgd_train),
                          "hgb_diabetes": (hgb_data, hgb_sample, hgb_train),
                          "torch_noisy": (torch_data, torch_sample, torch_train),
                          "rff_quantiles": (rff_data, rff_sample, rff_train)}


def make_table(name: str, seconds: float, directory: Path, max_rows: int = 20_000) -> Path:
    """Train configurations of ``name`` one after another on one thread for ``seconds`` (at
    most ``max_rows``) and save every one that finished as ``directory/<name>.npz``."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    load, sample, train = KINDS[name]
    data = load()
    rng = np.random.default_rng(0)
    configs: list[dict[str, Any]] = []
    curves: list[Curves] = []
    started = time.perf_counter()
    with threadpool_limits(1):
        while time.perf_counter() - started < seconds and len(configs) < max_rows:
            configs.append(sample(rng))
            curves.append(train(configs[-1], data, len(configs) - 1))
    spent = time.perf_counter() - started
    arrays = {key: np.array([c[key] for c in configs]) for key in configs[0]}
    for key in curves[0]:
        arrays[key] = np.array([c[key] for c in curves],
                               dtype=np.float32 if key == "seconds" else np.float16)
    arrays["seconds"] = np.maximum(arrays["seconds"], 1e-5)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.npz"
    np.savez_compressed(path, **arrays, index=np.arange(len(configs)),
                        generation_seconds=np.array(spent),
                        info=np.array(f"{name}: {len(configs)} rows, {spent:.0f} s, 1 thread"))
    print(f"{name}: {len(configs)} rows in {spent:.0f} s -> {path}", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--minutes", type=float, nargs="*", default=None,
                        help="one budget per table (default 4 each)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/newtables"), metavar="DIR")
    args = parser.parse_args(argv)
    minutes = args.minutes or [4.0] * len(args.tables)
    if len(minutes) != len(args.tables):
        parser.error(f"--minutes has {len(minutes)} values, but --tables names "
                     f"{len(args.tables)} tables")
    for name, budget in zip(args.tables, minutes):
        make_table(name, 60 * budget, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
