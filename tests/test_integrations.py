"""The framework callbacks of ``jupyter_hpo.integrations`` with the real frameworks (Keras 3 on
torch, Lightning, LightGBM, XGBoost): what each reports every epoch, Hyperband stopping a poor
trial through it, ``tune()``, the ``%%hpo`` cell's reading of them, and use outside a trial.
The data is scikit-learn's bundled breast-cancer set; every training is a few epochs long."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported

import logging
import re
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from sklearn.datasets import load_breast_cancer

import jupyter_hpo
from jupyter_hpo import Categorical, Real, StudyFailedError, TrialStatus, tune
from jupyter_hpo.integrations import (
    KerasReportCallback,
    LightGBMReportCallback,
    LightningReportCallback,
    XGBoostReportCallback,
)

pytestmark = [pytest.mark.timeout(240),  # Keras on torch and Lightning warn on every epoch
              pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*LeafSpec.*")]

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ["keras", "lightning", "lightgbm", "xgboost"]
EPOCHS = 4
GOOD_LR, POOR_LR = 0.3, 1e-4  # one epoch tells them apart in every framework
#: the name of the validation loss each framework logs, as its callback reports it
VAL_LOSS = {"keras": "val_loss", "lightning": "val_loss", "lightgbm": "valid-binary_logloss",
            "xgboost": "eval-logloss"}

_X, _y = load_breast_cancer(return_X_y=True)
_X = ((_X - _X.mean(0)) / _X.std(0)).astype("float32")
_y = _y.astype("float32")
X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = _X[:400], _y[:400], _X[400:], _y[400:]


# --------------------------------------------------------------------------- trainings
def fit_keras(lr: float, callbacks: list, epochs: int = EPOCHS, validate: bool = True
              ) -> list[dict[str, float]]:
    """Train; what Keras itself recorded each epoch (its History)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(lr), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X_TRAIN, Y_TRAIN, epochs=epochs, batch_size=64, verbose=0,
                        validation_data=(X_VAL, Y_VAL) if validate else None,
                        callbacks=callbacks).history
    return [{key: values[i] for key, values in history.items()} for i in range(epochs)]


def fit_lightning(lr: float, callbacks: list, epochs: int = EPOCHS) -> list[dict[str, float]]:
    """Train; the metrics of each epoch as the LightningModule saw them at its end, with
    ``epoch_index``, which it logs in its own ``on_train_epoch_end``."""
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")

    class Model(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(30, 1)
            self.records: list[dict[str, float]] = []

        def loss(self, batch):
            return torch.nn.functional.binary_cross_entropy_with_logits(
                self.net(batch[0]).squeeze(1), batch[1])

        def training_step(self, batch, _):
            loss = self.loss(batch)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", self.loss(batch))

        def on_train_epoch_end(self) -> None:
            self.log("epoch_index", float(self.current_epoch))
            self.records.append({**{k: float(v) for k, v in
                                    self.trainer.callback_metrics.items()},
                                 "epoch_index": float(self.current_epoch)})

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.tensor(X_TRAIN), torch.tensor(Y_TRAIN)), batch_size=64)
    val = DataLoader(TensorDataset(torch.tensor(X_VAL), torch.tensor(Y_VAL)), batch_size=256)
    model = Model()
    trainer = pl.Trainer(max_epochs=epochs, callbacks=callbacks, accelerator="cpu", devices=1,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(model, data, val)
    return model.records


def fit_lightgbm(lr: float, callbacks: list, epochs: int = EPOCHS) -> list[dict[str, float]]:
    """Train; LightGBM's own record of each round's evaluation."""
    import lightgbm as lgb

    evals: dict = {}
    lgb.train({"objective": "binary", "learning_rate": lr, "num_threads": 1, "verbose": -1},
              lgb.Dataset(X_TRAIN, Y_TRAIN), num_boost_round=epochs,
              valid_sets=[lgb.Dataset(X_VAL, Y_VAL)], valid_names=["valid"],
              callbacks=[lgb.record_evaluation(evals), *callbacks])
    return [{"valid-binary_logloss": v} for v in evals["valid"]["binary_logloss"]]


def fit_xgboost(lr: float, callbacks: list, epochs: int = EPOCHS) -> list[dict[str, float]]:
    """Train; XGBoost's own record of each round's evaluation."""
    import xgboost as xgb

    evals: dict = {}
    xgb.train({"objective": "binary:logistic", "eta": lr, "nthread": 1},
              xgb.DMatrix(X_TRAIN, Y_TRAIN), num_boost_round=epochs,
              evals=[(xgb.DMatrix(X_TRAIN, Y_TRAIN), "train"), (xgb.DMatrix(X_VAL, Y_VAL), "eval")],
              evals_result=evals, callbacks=callbacks, verbose_eval=False)
    return [{f"{data}-{metric}": values[i] for data in evals for metric, values in
             evals[data].items()} for i in range(epochs)]


FIT = {"keras": fit_keras, "lightning": fit_lightning, "lightgbm": fit_lightgbm,
       "xgboost": fit_xgboost}
CALLBACK = {"keras": KerasReportCallback, "lightning": LightningReportCallback,
            "lightgbm": LightGBMReportCallback, "xgboost": XGBoostReportCallback}


def objective(framework: str, **callback_options):
    """A tune() objective that trains with the framework's callback and keeps, as trial
    attributes, what the framework recorded and what ``fit`` raised."""
    def train(config, trial):
        callback = CALLBACK[framework](**callback_options)
        try:
            recorded = FIT[framework](config["lr"], [callback])
        except BaseException as exc:
            trial.set(raised=type(exc).__name__)
            raise
        trial.set(recorded=recorded)
    return train


# --------------------------------------------------------------------------- tune()
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_epoch_is_reported_with_what_the_framework_logged(framework):
    """Every number logged, under the framework's names, with the study's resource (here
    renamed ``step``) counted from 1; Lightning's epoch includes what the LightningModule
    logs in its own on_train_epoch_end (reported once that ran, not an epoch late)."""
    study = tune(objective(framework), {"lr": Real(0.1, 0.5)}, metric=VAL_LOSS[framework],
                 mode="min", trials=1, resource="step", scheduler="fifo")
    trial = study.trials[0]
    assert trial.status is TrialStatus.COMPLETED, trial.error
    recorded = trial.user_attrs["recorded"]
    assert [r["step"] for r in trial.reports] == list(range(1, EPOCHS + 1))
    for report, logged in zip(trial.reports, recorded, strict=True):
        assert report == {"step": report["step"], **{k: pytest.approx(v, rel=1e-6)
                                                      for k, v in logged.items()}}
    if framework == "lightning":
        assert [r["epoch_index"] for r in trial.reports] == [0, 1, 2, 3]
    if framework == "keras":
        assert set(trial.reports[0]) == {"step", "loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_hyperband_stops_a_poor_trial_in_training_and_keeps_its_reports(framework):
    """The poor trial is stopped at the first rung: fit raises TrialStopped itself (the
    framework neither swallows nor replaces it), the code after fit does not run, the trial
    is ``stopped`` with its one report; the good one trains to max_t, where fit returns. The metric is reported
    under a name of the study's choosing (metrics={"score": ...}), and nothing else is."""
    study = tune(objective(framework, metrics={"score": VAL_LOSS[framework]}),
                 {"lr": Real(POOR_LR, GOOD_LR, log=True)}, metric="score", mode="min",
                 trials=2, workers=1, points_to_evaluate=[{"lr": GOOD_LR}, {"lr": POOR_LR}],
                 scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": EPOCHS, "grace_period": 1})
    good, poor = study.trials
    assert good.status is TrialStatus.COMPLETED, good.error
    assert [r["epoch"] for r in good.reports] == list(range(1, EPOCHS + 1))
    assert set(good.reports[0]) == {"epoch", "score"}
    assert poor.status is TrialStatus.STOPPED, poor.error
    assert [r["epoch"] for r in poor.reports] == [1]
    assert poor.reports[0]["score"] > good.reports[0]["score"]
    assert poor.user_attrs == {"raised": "TrialStopped"}
    assert study.best_trial.trial_id == good.trial_id
    # at max_t training ended the framework's way: fit returned and the code after it ran
    assert len(good.user_attrs["recorded"]) == EPOCHS and "raised" not in good.user_attrs


@pytest.mark.parametrize("framework", ["lightning", "lightgbm"])
def test_a_trial_paused_by_the_promotion_variant_waits_in_the_callback(framework):
    """Paused at a rung inside the callback, a promoted trial trains on from where it was."""
    study = tune(objective(framework), {"lr": Real(POOR_LR, GOOD_LR, log=True)},
                 metric=VAL_LOSS[framework], mode="min", trials=4, workers=2, seed=0,
                 scheduler="hyperband", searcher="random",
                 scheduler_options={"max_t": EPOCHS, "grace_period": 1, "type": "promotion"})
    assert {t.status for t in study.trials} <= {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    for trial in study.trials:
        assert [r["epoch"] for r in trial.reports] == list(range(1, len(trial.reports) + 1))
    finished = [t for t in study.trials if t.status is TrialStatus.COMPLETED]
    assert finished and all(len(t.reports) == EPOCHS for t in finished)
    for trial in finished:  # reported as the framework recorded it, across the pauses
        assert [r[VAL_LOSS[framework]] for r in trial.reports] == pytest.approx(
            [r[VAL_LOSS[framework]] for r in trial.user_attrs["recorded"]], rel=1e-6)


def test_keras_ends_a_stopped_trial_as_early_stopping_does():
    """Keras finishes the epoch (the other callbacks' on_epoch_end run) and ends training
    (on_train_end of the callbacks listed before ours) before fit raises TrialStopped."""
    import keras

    def train(config, trial):
        seen: list[str] = []
        before = keras.callbacks.LambdaCallback(on_train_end=lambda logs: seen.append("end"))
        after = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: seen.append(f"epoch {epoch + 1}"))
        try:
            fit_keras(config["lr"], [before, KerasReportCallback(), after])
        finally:
            trial.set(seen=seen)

    study = tune(train, {"lr": Real(POOR_LR, GOOD_LR, log=True)}, metric="val_loss",
                 mode="min", trials=2, workers=1,
                 points_to_evaluate=[{"lr": GOOD_LR}, {"lr": POOR_LR}], scheduler="hyperband",
                 searcher="random", scheduler_options={"max_t": EPOCHS, "grace_period": 1})
    poor = study.trials[1]
    assert poor.status is TrialStatus.STOPPED and len(poor.reports) == 1
    assert poor.user_attrs["seen"] == ["epoch 1", "end"]


def test_a_keras_callback_shared_by_trials_at_once_fails_the_later_one():
    """One callback object made outside the trials: trials that run one after the other may
    share it; two that train at once cannot (it holds one training's state)."""
    import keras

    shared = KerasReportCallback()
    barrier = threading.Barrier(2, timeout=30)
    refused = threading.Event()  # the trial that found the callback taken has failed

    def train(config, trial):
        if not config["together"]:
            fit_keras(config["lr"], [shared], epochs=2)
            return
        # the first to train holds the callback until the other has found it taken (a fixed
        # 0.5 s per epoch let the first end first when the other was slow to build its model)
        hold = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: refused.wait(30))
        barrier.wait()
        try:
            fit_keras(config["lr"], [shared, hold], epochs=2)
        except Exception:  # it failed: the other may end its training
            refused.set()
            raise

    space = {"lr": Real(0.1, 0.5), "together": Categorical(False, True)}
    one_by_one = tune(train, space, metric="val_loss", mode="min", trials=2, workers=1,
                      points_to_evaluate=[{"together": False}] * 2)
    assert [t.status for t in one_by_one.trials] == [TrialStatus.COMPLETED] * 2
    at_once = tune(train, space, metric="val_loss", mode="min", trials=2, workers=2,
                   points_to_evaluate=[{"together": True}] * 2)
    statuses = sorted(t.status.value for t in at_once.trials)
    assert statuses == ["completed", "failed"], [t.error for t in at_once.trials]
    failed = next(t for t in at_once.trials if t.status is TrialStatus.FAILED)
    assert "KerasReportCallback: this callback object trains for trial " in failed.error
    assert "make one per training inside the %%hpo cell" in failed.error


def failure(fn, metric: str) -> str:
    """The error of the one trial of a study that runs ``fn``, which fails."""
    with pytest.raises(StudyFailedError) as info:
        tune(fn, {"lr": Real(0.1, 0.5)}, metric=metric, mode="min", trials=1)
    return info.value.study.trials[0].error


@pytest.mark.parametrize("framework", ["keras", "lightgbm"])
def test_a_metric_that_was_not_logged_fails_the_trial_listing_what_was(framework):
    error = failure(objective(framework, metrics=["val_nope"]), "val_nope")
    assert error.startswith(f"ReportError: {CALLBACK[framework].__name__}: no 'val_nope' was "
                            f"logged at epoch 1 (logged: ")
    assert VAL_LOSS[framework] in error and "choose among those with metrics=" in error


def test_a_study_metric_keras_does_not_log_says_how_to_log_it():
    """Without validation data Keras logs no val_loss: the message says so."""
    def train(config):
        fit_keras(config["lr"], [KerasReportCallback()], epochs=1, validate=False)

    error = failure(train, "val_loss")
    assert "the study optimises 'val_loss', but the values at epoch 1 are accuracy, loss" in error
    assert "Keras logs val_ values only when fit() is given validation_data=" in error


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_callback_outside_a_study_lets_the_training_run_as_without_it(framework):
    """The training cell run once without %%hpo (as the comment form allows) trains every
    epoch, as report() there records nothing, instead of failing at its start."""
    records = FIT[framework](GOOD_LR, [CALLBACK[framework]()], epochs=2)
    assert len(records) == 2 and all(records)


def test_a_callback_outside_a_study_says_so_once():
    script = textwrap.dedent("""
        import lightgbm as lgb
        import numpy as np
        import xgboost as xgb
        from jupyter_hpo.integrations import LightGBMReportCallback, XGBoostReportCallback
        X = np.random.default_rng(0).normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
        for _ in range(2):
            lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
                      lgb.Dataset(X, y), 3, valid_sets=[lgb.Dataset(X, y)],
                      callbacks=[LightGBMReportCallback()])
            booster = xgb.train({"objective": "binary:logistic", "nthread": 1},
                                xgb.DMatrix(X, y), 3, evals=[(xgb.DMatrix(X, y), "eval")],
                                callbacks=[XGBoostReportCallback()], verbose_eval=False)
        print(booster.num_boosted_rounds())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3"]
    notes = [line for line in out.stderr.splitlines() if line.startswith("jupyter_hpo:")]
    assert notes == [f"jupyter_hpo: {name} ran outside a study, so nothing is reported: the "
                     f"cell runs as it would without jupyter_hpo (to tune it, run it with "
                     f"%%hpo; this is said once per cell)"
                     for name in ("LightGBMReportCallback", "XGBoostReportCallback")]


def test_a_callback_in_a_thread_of_its_own_while_trials_run_says_where_to_train():
    """Trials run, and a training in another thread would report to no trial: refused."""
    seen = []

    def train(config):
        def elsewhere():
            try:
                fit_lightgbm(config["lr"], [LightGBMReportCallback()], epochs=1)
            except RuntimeError as exc:
                seen.append(str(exc))

        helper = threading.Thread(target=elsewhere, name="trainer")
        helper.start()
        helper.join()
        jupyter_hpo.report(epoch=1, score=config["lr"])

    tune(train, {"lr": Real(0.1, 0.5)}, metric="score", mode="min", trials=1)
    assert seen == [("LightGBMReportCallback reports each epoch to the running trial, but "
                     "LightGBM trains in the thread 'trainer', which is not a trial's own: "
                     "train in the thread that runs the %%hpo cell or the function of "
                     "jupyter_hpo.tune(), where the callback finds its trial")]


def test_metrics_must_be_names():
    with pytest.raises(TypeError, match="metrics= takes names"):
        LightGBMReportCallback(metrics={"score": 3})
    with pytest.raises(ValueError, match="metrics= is empty"):
        XGBoostReportCallback(metrics=[])


def test_importing_jupyter_hpo_imports_no_framework():
    script = ("import sys, jupyter_hpo, jupyter_hpo.integrations, jupyter_hpo.annotate, "
              "jupyter_hpo.magic\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'lightning', "
              "'pytorch_lightning', 'lightgbm', 'xgboost', 'torch')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- %%hpo
@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    ipython_shell.user_ns.update(lgb=__import__("lightgbm"), X_TRAIN=X_TRAIN, Y_TRAIN=Y_TRAIN,
                                 X_VAL=X_VAL, Y_VAL=Y_VAL,
                                 LightGBMReportCallback=LightGBMReportCallback)
    return ipython_shell


@pytest.mark.parametrize("call, keys, unknown", [
    ("KerasReportCallback()", [], True),
    ("KerasReportCallback(metrics=names)", [], True),  # known only when it runs
    ("KerasReportCallback('val_loss')", ["val_loss"], False),
    ("jupyter_hpo.integrations.KerasReportCallback(metrics=['val_loss', 'val_accuracy'])",
     ["val_loss", "val_accuracy"], False),
    ("XGBoostReportCallback(metrics={'score': 'eval-auc'})", ["score"], False),
])
def test_a_callback_made_in_a_cell_counts_as_its_report(call, keys, unknown):
    from jupyter_hpo.annotate import parse_cell

    template = parse_cell(f"lr = Real(0, 1)\nfit(callbacks=[{call}])\n", None, "<cell>")
    assert template.calls_report and template.report_callbacks == [(2, call.split("(")[0]
                                                                   .split(".")[-1])]
    assert (template.reported_keys, template.reports_unpacked) == (keys, unknown)


LIGHTGBM_CELL = """lr = Real(1e-4, 0.3, log=True)
iterations = 6
booster = lgb.train({{"objective": "binary", "learning_rate": lr, "num_threads": 1,
                     "verbose": -1}}, lgb.Dataset(X_TRAIN, Y_TRAIN),
                    num_boost_round=iterations, valid_sets=[lgb.Dataset(X_VAL, Y_VAL)],
                    valid_names=["valid"], callbacks=[LightGBMReportCallback({metrics})])
"""


def test_a_cell_that_reports_through_a_callback_runs_as_a_study(ip):
    """The cell never calls report() itself: the callback counts as its report, its
    metrics= literal names the metric, and --resource names the key it reports."""
    cell = LIGHTGBM_CELL.format(metrics='{"val_loss": "valid-binary_logloss"}')
    with capture_output() as out:
        ip.run_cell_magic("hpo", "--trials 6 --scheduler hyperband --resource iteration "
                                 "--seed 0 --quiet", cell)
    study = ip.user_ns["_hpo"]
    assert "minimising val_loss" in out.stdout
    assert study.metric == "val_loss" and study.resource == "iteration"
    assert study.counts()["stopped"] > 0 and study.counts()["failed"] == 0
    for trial in study.trials:
        assert [r["iteration"] for r in trial.reports] == list(range(1, len(trial.reports) + 1))
    assert max(len(t.reports) for t in study.trials) == 6  # max_t from `iterations = 6`
    assert ip.user_ns["booster"].current_iteration() == 6


def test_a_callback_that_reports_all_it_logs_needs_the_metric_named(ip):
    with pytest.raises(UsageError, match=r"the cell reports through LightGBMReportCallback "
                                         r"\(cell line 7\), which reports what the framework "
                                         r"logs, .* pass --metric NAME"):
        ip.run_cell_magic("hpo", "--trials 2 --quiet", LIGHTGBM_CELL.format(metrics=""))


@pytest.mark.parametrize("call, says", [
    ("optuna_integration.KerasPruningCallback(trial, 'val_loss')",
     ("KerasPruningCallback, Optuna's way of reporting a framework's training; here give the "
      "training KerasReportCallback() from jupyter_hpo.integrations instead")),
    ("TuneReportCallback({'loss': 'val_loss'})",
     ("TuneReportCallback, Ray Tune's way of reporting a framework's training; here give the "
      "training your framework's callback (KerasReportCallback(), ")),
])
def test_another_librarys_callback_says_which_one_to_use(ip, call, says):
    cell = f"lr = Real(1e-4, 0.3, log=True)\nmodel = make(lr)\nmodel.fit(callbacks=[{call}])\n"
    with pytest.raises(UsageError, match=re.escape(f"cell line 4 uses {says}")):
        ip.run_cell_magic("hpo", "--trials 2 --metric val_loss --quiet", cell)
