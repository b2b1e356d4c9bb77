"""``%%hpo`` cells that train with a framework callback instead of calling report(), in a real
IPython kernel (jupyter_client): Keras 3 (torch), Lightning, LightGBM and XGBoost."""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel
from test_kernel import check_output, execute

pytestmark = pytest.mark.timeout(300)

SETUP = """import os
os.environ["KERAS_BACKEND"] = "torch"
import logging, warnings
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
import torch
import lightning.pytorch as pl
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_breast_cancer
from jupyter_hpo.integrations import (KerasReportCallback, LightGBMReportCallback,
                                      LightningReportCallback, XGBoostReportCallback)
X, y = load_breast_cancer(return_X_y=True)
X = ((X - X.mean(0)) / X.std(0)).astype("float32"); y = y.astype("float32")
X_train, y_train, X_val, y_val = X[:400], y[:400], X[400:], y[400:]

class Logistic(pl.LightningModule):
    def __init__(self, lr):
        super().__init__()
        self.net, self.lr = torch.nn.Linear(30, 1), lr
    def loss(self, batch):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            self.net(batch[0]).squeeze(1), batch[1])
    def training_step(self, batch, _):
        return self.loss(batch)
    def validation_step(self, batch, _):
        self.log("val_loss", self.loss(batch))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

%load_ext jupyter_hpo
"""

# --workers 1 and the two configurations enqueued first: trial 0 (a good learning rate) sets
# the first rung, and trial 1 (a poor one) is stopped there whatever the machine's speed
ENQUEUE = """--workers 1 --seed 0 --scheduler hyperband --searcher random \
--enqueue '{"lr": 0.3}' --enqueue '{"lr": 0.0001}'"""

CELLS = {
    "keras": f"""%%hpo --trials 3 --metric val_loss {ENQUEUE} -o keras_study
import keras
lr = Real(1e-4, 0.3, log=True)
epochs = 3
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(keras.optimizers.SGD(lr), "binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=epochs, batch_size=64,
          verbose=0, callbacks=[KerasReportCallback()])
""",
    "lightning": f"""%%hpo --trials 3 {ENQUEUE} -o lightning_study
lr = Real(1e-4, 0.3, log=True)
max_epochs = 3
torch.manual_seed(0)
module = Logistic(lr)
trainer = pl.Trainer(max_epochs=max_epochs, accelerator="cpu", devices=1, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0,
                     callbacks=[LightningReportCallback(metrics={{"val_loss": "val_loss"}})])
trainer.fit(module, DataLoader(TensorDataset(torch.tensor(X_train), torch.tensor(y_train)),
                               batch_size=64),
            DataLoader(TensorDataset(torch.tensor(X_val), torch.tensor(y_val)), batch_size=256))
""",
    "lightgbm": f"""%%hpo --trials 3 --resource iteration {ENQUEUE} -o lightgbm_study
import lightgbm as lgb
lr = Real(1e-4, 0.3, log=True)
iterations = 3
booster = lgb.train({{"objective": "binary", "learning_rate": lr, "num_threads": 1,
                     "verbose": -1}}, lgb.Dataset(X_train, y_train),
                    num_boost_round=iterations, valid_sets=[lgb.Dataset(X_val, y_val)],
                    valid_names=["valid"],
                    callbacks=[LightGBMReportCallback({{"val_loss": "valid-binary_logloss"}})])
""",
    "xgboost": f"""%%hpo --trials 3 --metric eval-logloss {ENQUEUE} -o xgboost_study
import xgboost as xgb
lr = Real(1e-4, 0.3, log=True)
epochs = 3
booster = xgb.train({{"objective": "binary:logistic", "eta": lr, "nthread": 1}},
                    xgb.DMatrix(X_train, y_train), num_boost_round=epochs,
                    evals=[(xgb.DMatrix(X_val, y_val), "eval")], verbose_eval=False,
                    callbacks=[XGBoostReportCallback()])
""",
}

CHECK = """import json
def _facts(study):
    return {"metric": study.metric, "resource": study.resource, "state": study.state,
            "statuses": [t.status.value for t in study.trials],
            "reports": [[sorted(r) for r in t.reports] for t in study.trials],
            "counts": [[r[study.resource] for r in t.reports] for t in study.trials],
            "best": study.best_trial.trial_id, "lr": lr}
print("CHECK", json.dumps(_facts(NAME_study)))
"""

#: what the cell's study optimises, what it counts, and the keys of each report
EXPECTED = {
    "keras": ("val_loss", "epoch",
              ["accuracy", "epoch", "loss", "val_accuracy", "val_loss"]),
    "lightning": ("val_loss", "epoch", ["epoch", "val_loss"]),
    "lightgbm": ("val_loss", "iteration", ["iteration", "val_loss"]),
    "xgboost": ("eval-logloss", "epoch", ["epoch", "eval-logloss"]),
}


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply, _ = execute(kc, SETUP, timeout=180)
        assert reply["status"] == "ok", reply
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("framework", list(CELLS))
def test_a_hpo_cell_reports_through_the_framework_callback(kernel, framework):
    """Hyperband stops the poor trial at its first rung (its report kept), the good one trains
    to the end, each report carries the study's resource counted from 1, and the best trial's
    variables are the notebook's."""
    reply, _ = execute(kernel, CELLS[framework], timeout=180)
    assert reply["status"] == "ok", reply
    facts = check_output(*execute(kernel, CHECK.replace("NAME", framework)))
    metric, resource, keys = EXPECTED[framework]
    assert (facts["metric"], facts["resource"], facts["state"]) == (metric, resource, "finished")
    assert facts["statuses"][:2] == ["completed", "stopped"]
    assert facts["counts"][0] == [1, 2, 3] and facts["counts"][1] == [1]
    assert all(report == keys for trial in facts["reports"] for report in trial)
    assert facts["best"] != 1 and facts["lr"] != 0.0001
