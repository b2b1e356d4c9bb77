"""Datasets and training runs for the learning-curve tables that ``make_tables.py`` makes.

Every trainer takes a configuration, the data and a seed and returns, per epoch, the
validation error, the validation log-loss and the wall seconds the epoch took. Scikit-learn
runs on one thread; the data are bundled with scikit-learn or generated (no network).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

EPOCHS = 30
GBM_STAGES = 10  # boosting stages per epoch
FOREST_TREES = 4  # trees added per epoch
MAX_LOSS = 1e4
#: classification data that ship with scikit-learn (``load_<name>``) or are generated
DATASETS = ("hastie", "synth", "iris", "wine", "digits", "breast_cancer")


def load_data(dataset: str) -> tuple[np.ndarray, ...]:
    """Standardised (x_train, y_train, x_val, y_val), validation 1/3, stratified, seed 0."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if dataset == "hastie":  # binary, y = [sum x_i^2 > chi2 median]: additive, noise-free
        x, y = datasets.make_hastie_10_2(n_samples=1500, random_state=0)
        y = (y > 0).astype(np.int64)
    elif dataset == "synth":  # 3 classes, 20 features, 3% label noise
        x, y = datasets.make_classification(n_samples=1500, n_features=20, n_informative=10,
                                            n_redundant=4, n_classes=3, flip_y=0.03,
                                            random_state=0)
    elif dataset in DATASETS:
        x, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    else:
        raise ValueError(f"no dataset {dataset!r}; datasets: {', '.join(DATASETS)}")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=1 / 3, random_state=0,
                                                      stratify=y)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train).astype(np.float32), y_train.astype(np.int64),
            scaler.transform(x_val).astype(np.float32), y_val.astype(np.int64))


def _scores(proba: np.ndarray, y_val: np.ndarray) -> tuple[float, float]:
    """Validation error and log-loss (probabilities clipped at 1e-15) of ``proba``."""
    error = float(np.mean(proba.argmax(1) != y_val))
    picked = np.clip(proba[np.arange(len(y_val)), y_val], 1e-15, 1.0)
    loss = float(-np.mean(np.log(picked)))
    return error, min(loss, MAX_LOSS) if np.isfinite(loss) else MAX_LOSS


def train_gbm(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient boosting, GBM_STAGES stages an epoch: one fit, the curve from
    ``staged_predict_proba``; an epoch's seconds are its share of the fit plus its scoring."""
    from sklearn.ensemble import GradientBoostingClassifier

    x_train, y_train, x_val, y_val = data
    started = time.perf_counter()
    model = GradientBoostingClassifier(n_estimators=EPOCHS * GBM_STAGES, random_state=seed,
                                       **config).fit(x_train, y_train)
    fit_share = (time.perf_counter() - started) / EPOCHS
    errors, losses, seconds = (np.empty(EPOCHS) for _ in range(3))
    started = time.perf_counter()
    for stage, proba in enumerate(model.staged_predict_proba(x_val), start=1):
        if stage % GBM_STAGES == 0:
            epoch = stage // GBM_STAGES - 1
            errors[epoch], losses[epoch] = _scores(proba, y_val)
            seconds[epoch] = fit_share + time.perf_counter() - started
            started = time.perf_counter()
    return errors, losses, seconds


def train_forest(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random forest grown by FOREST_TREES trees an epoch (``warm_start``)."""
    from sklearn.ensemble import RandomForestClassifier

    x_train, y_train, x_val, y_val = data
    model = RandomForestClassifier(n_estimators=0, warm_start=True, random_state=seed,
                                   n_jobs=1, **config)
    errors, losses, seconds = (np.empty(EPOCHS) for _ in range(3))
    for epoch in range(EPOCHS):
        started = time.perf_counter()
        model.n_estimators += FOREST_TREES
        model.fit(x_train, y_train)
        errors[epoch], losses[epoch] = _scores(model.predict_proba(x_val), y_val)
        seconds[epoch] = time.perf_counter() - started
    return errors, losses, seconds


def train_net(config: dict[str, Any], data: tuple[np.ndarray, ...], seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small scikit-learn MLP (Adam), one ``partial_fit`` pass over the data an epoch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, y_train, x_val, y_val = data
    model = MLPClassifier(hidden_layer_sizes=(config["width"],) * config["depth"],
                          learning_rate_init=config["lr"], alpha=config["alpha"],
                          batch_size=config["batch_size"], random_state=seed)
    classes = np.unique(y_train)
    errors, losses, seconds = (np.empty(EPOCHS) for _ in range(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for epoch in range(EPOCHS):
            started = time.perf_counter()
            model.partial_fit(x_train, y_train, classes=classes)
            errors[epoch], losses[epoch] = _scores(model.predict_proba(x_val), y_val)
            seconds[epoch] = time.perf_counter() - started
    return errors, losses, seconds
