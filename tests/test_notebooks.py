"""The example notebooks run headless in a real kernel (nbclient) and do what they say.

Each notebook is executed from an in-memory copy with one extra cell appended that prints the
kernel's state as JSON, so the assertions look at the studies and the notebook variables, not
only at the printed text. The files on disk are never written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.timeout(300)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
QUICKSTART = NOTEBOOKS / "quickstart.ipynb"
SEARCHERS = NOTEBOOKS / "searchers_and_schedulers.ipynb"
PERSISTENCE = NOTEBOOKS / "persistence_and_analysis.ipynb"
README = NOTEBOOKS.parent / "README.md"
CONDITIONAL = NOTEBOOKS / "conditional_and_checkpoints.ipynb"

QUICKSTART_FACTS = """import json
_nb_df = _hpo.trials_dataframe()
print("FACTS " + json.dumps({
    "state": _hpo.state,
    "counts": _hpo.counts(),
    "rows": len(_nb_df),
    "best_config": _hpo.best_config,
    "best_value": _hpo.best_value,
    "df_best": float(_nb_df["val_acc"].max()),
    "applied": {"lr": lr, "hidden": hidden, "dropout": dropout, "activation": activation},
    "model_is_best_trials": model is _hpo.best_namespace["model"],
    "model_hidden": model[0].out_features,
    "model_activation": type(model[1]).__name__,
    "model_dropout": model[2].p,
    "test_acc": test_acc,
    "test_acc_again": accuracy(model, X_test, y_test),
}))
"""

SEARCHERS_FACTS = """import json
def _nb_study(s):
    curves = s.training_curves()
    df = s.trials_dataframe()
    return {"state": s.state, "counts": s.counts(), "trials": len(s.trials),
            "epochs_run": len(curves), "best_config": s.best_config, "best_value": s.best_value,
            "stopped_at": sorted(int(r) for r in df.loc[df["status"] == "stopped", "resource"]),
            "max_epoch": int(curves["epoch"].max()) if curves["epoch"].notna().any() else None,
            "df_best": float(df[s.metric].max()),
            "last_incumbent": float(s.incumbent_over_time()["best_value"].iloc[-1])}
print("FACTS " + json.dumps({
    "fifo": _nb_study(fifo), "hb": _nb_study(hb), "rs": _nb_study(rs),
    "hb_scheduler": [type(hb.scheduler).__name__, hb.scheduler.type, hb.scheduler.eta,
                     hb.scheduler.grace_period, hb.scheduler.max_t],
    "applied": {"lr": lr, "wd": wd, "x": int(x), "y": int(y)},
    "reward_at_xy": float(Z[y, x]),
    "z_max": float(Z.max()),
}))
"""


PERSISTENCE_FACTS = """import json, os
_nb_loaded = Study.load("digits-mlp")
_nb_df = _hpo.trials_dataframe()
print("FACTS " + json.dumps({
    "stopped_state": stored.state, "stopped_trials": len(stored.trials),
    "stopped_configs": [t.config for t in stored.trials],
    "stopped_reruns": sum(1 for t in stored.trials if t.runs_again),
    "resumed_configs": [t.config for t in _hpo.trials],
    "spent": _hpo.spent, "state": _hpo.state, "statuses": _hpo.counts(),
    "loaded_trials": len(_nb_loaded.trials), "loaded_state": _nb_loaded.state,
    "loaded_best": _nb_loaded.best_value, "best": _hpo.best_value,
    "storage": store.path, "env_storage": os.environ.get("JUPYTER_HPO_STORAGE"),
    "csv_rows": len(pd.read_csv("digits_mlp.csv")),
    "stopped_early": int((_nb_df["status"] == "stopped").sum()),
}))
"""


CONDITIONAL_FACTS = """import json, os
_nb_df = _hpo.trials_dataframe()
print("FACTS " + json.dumps({
    "state": _hpo.state, "counts": _hpo.counts(), "executor": _hpo.executor.name,
    "scheduler": [type(_hpo.scheduler).__name__, _hpo.scheduler.type],
    "configs": [dict(t.config) for t in _hpo.trials],
    "resumed": {str(t.trial_id): t.user_attrs.get("resumed_at") for t in _hpo.trials},
    "epochs": {str(t.trial_id): [r["epoch"] for r in t.reports] for t in _hpo.trials},
    "nan_hidden_for_cnn": bool(_nb_df.loc[_nb_df["config.arch"] == "cnn",
                                          "config.hidden"].isna().all()),
    "nan_kernel_for_mlp": bool(_nb_df.loc[_nb_df["config.arch"] == "mlp",
                                          "config.kernel"].isna().all()),
    "checkpoint_files": sorted(os.listdir(_hpo.checkpoint_dir)),
    "with_checkpoint": sorted(t.checkpoint.file for t in _hpo.trials if t.checkpoint),
    "best": _hpo.best_trial.trial_id, "test_acc": test_acc,
    "best5": [t.trial_id for t in sorted(
        (t for t in _hpo.trials if t.status.value in ("completed", "stopped", "cancelled")),
        key=lambda t: _hpo.direction.sign * t.best(_hpo.metric, _hpo.direction))][:5],
}))
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _execute(path: Path, facts_source: str, workdir: Path) -> tuple[nbformat.NotebookNode, dict]:
    before = _digest(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(facts_source))
    client = NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    assert _digest(path) == before, f"executing {path.name} changed the file on disk"
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                   if o.output_type == "stream")
    line = next(line for line in text.splitlines() if line.startswith("FACTS "))
    nb.cells.pop()
    return nb, json.loads(line[len("FACTS "):])


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    return _execute(QUICKSTART, QUICKSTART_FACTS, tmp_path_factory.mktemp("quickstart"))


@pytest.fixture(scope="module")
def searchers(tmp_path_factory):
    return _execute(SEARCHERS, SEARCHERS_FACTS, tmp_path_factory.mktemp("searchers"))


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("conditional")
    return (*_execute(CONDITIONAL, CONDITIONAL_FACTS, workdir), workdir)


@pytest.fixture(scope="module")
def persistence(tmp_path_factory):
    return _execute(PERSISTENCE, PERSISTENCE_FACTS, tmp_path_factory.mktemp("persistence"))


def _code_cell(nb, starts_with: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts_with)]
    assert len(cells) == 1, f"expected one code cell starting with {starts_with!r}"
    return cells[0]


def _hpo_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%hpo")]


def _stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _has_png(cell) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.outputs
               if o.output_type in ("display_data", "execute_result"))


def _assert_static_summary(cell) -> None:
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in displays)
    assert any("image/png" in o.data and o.data["image/png"] for o in displays)
    tables = [o.data["text/html"] for o in displays if "text/html" in o.data]
    assert any("jupyter-hpo-table" in t for t in tables)
    assert all("text/plain" in o.data for o in displays)


@pytest.mark.parametrize("path", [QUICKSTART, SEARCHERS, PERSISTENCE, CONDITIONAL],
                         ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and code[0].source.strip() == "%load_ext jupyter_hpo"
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


# ---------------------------------------------------------------------------- quickstart
def test_quickstart_runs_every_cell(quickstart):
    nb, _ = quickstart
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(isinstance(c.execution_count, int) for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_quickstart_hyperband_study_finishes_and_stops_trials_early(quickstart):
    nb, facts = quickstart
    assert facts["state"] == "finished"
    counts = facts["counts"]
    assert facts["rows"] == 30
    assert counts["completed"] + counts["stopped"] == 30
    assert counts["stopped"] > 0 and counts["completed"] > 0
    assert counts["failed"] == 0
    assert facts["best_value"] == pytest.approx(facts["df_best"])
    assert "maximising val_acc" in _stream_text(_hpo_cells(nb)[0])


def test_quickstart_hpo_cell_shows_static_summary(quickstart):
    nb, _ = quickstart
    (cell,) = _hpo_cells(nb)
    _assert_static_summary(cell)


def test_quickstart_best_variables_and_model_are_applied(quickstart):
    _, facts = quickstart
    best = facts["best_config"]
    assert set(best) == {"lr", "hidden", "dropout", "activation"}
    assert facts["applied"] == best
    assert facts["model_is_best_trials"]
    assert facts["model_hidden"] == best["hidden"]
    assert facts["model_activation"] == {"relu": "ReLU", "tanh": "Tanh"}[best["activation"]]
    assert facts["model_dropout"] == pytest.approx(best["dropout"])
    assert 1e-3 <= best["lr"] <= 1e-1 and 16 <= best["hidden"] <= 128


def test_quickstart_best_model_is_accurate_on_the_test_set(quickstart):
    nb, facts = quickstart
    assert facts["test_acc"] > 0.8
    assert facts["test_acc_again"] == pytest.approx(facts["test_acc"])
    cell = _code_cell(nb, 'print(f"lr=')
    assert f"test accuracy of the best trial's model: {facts['test_acc']:.3f}" \
        in _stream_text(cell)


def test_quickstart_shows_the_trials_table(quickstart):
    nb, _ = quickstart
    cell = _code_cell(nb, "df = _hpo.trials_dataframe()")
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert "config.hidden" in result.data["text/html"]
    assert "val_acc" in result.data["text/html"]


# ------------------------------------------------------------- searchers and schedulers
def test_searchers_notebook_runs_every_cell(searchers):
    nb, _ = searchers
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(isinstance(c.execution_count, int) for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_fifo_runs_every_trial_to_the_end(searchers):
    _, facts = searchers
    fifo = facts["fifo"]
    assert fifo["state"] == "finished"
    assert fifo["counts"]["completed"] == fifo["trials"] == 30
    assert fifo["counts"]["stopped"] == 0
    assert fifo["epochs_run"] == 30 * 10
    assert fifo["max_epoch"] == 10


def test_hyperband_stops_trials_at_rungs_and_runs_fewer_epochs(searchers):
    _, facts = searchers
    hb, fifo = facts["hb"], facts["fifo"]
    assert facts["hb_scheduler"][1:] == ["stopping", 3, 1, 10]
    assert hb["state"] == "finished"
    assert hb["trials"] == 30
    assert hb["counts"]["stopped"] > 0
    assert hb["counts"]["completed"] + hb["counts"]["stopped"] == 30
    assert set(hb["stopped_at"]) <= {1, 3, 9}
    assert hb["epochs_run"] < fifo["epochs_run"]
    assert hb["epochs_run"] == 10 * hb["counts"]["completed"] + sum(hb["stopped_at"])


def test_fifo_and_hyperband_cells_show_static_summaries(searchers):
    nb, _ = searchers
    cells = _hpo_cells(nb)
    assert len(cells) == 3
    for cell in cells:
        _assert_static_summary(cell)


def test_learning_curves_plot_and_epoch_counts_are_printed(searchers):
    nb, facts = searchers
    cell = _code_cell(nb, "fig, axes = plt.subplots(1, 2")
    assert _has_png(cell)
    text = _stream_text(cell)
    for name in ("FIFO", "Hyperband"):
        study = facts["fifo" if name == "FIFO" else "hb"]
        line = next(line for line in text.splitlines() if line.startswith(name))
        assert f"{study['counts']['stopped']:2} stopped early" in line
        assert f"{study['epochs_run']:3} epochs in total" in line


def test_random_search_finds_a_point_near_the_higher_peak(searchers):
    _, facts = searchers
    rs = facts["rs"]
    assert rs["state"] == "finished"
    assert rs["counts"]["completed"] == rs["trials"] == 150
    assert rs["best_value"] == pytest.approx(rs["df_best"])
    assert rs["last_incumbent"] == pytest.approx(rs["best_value"])
    assert rs["best_value"] <= facts["z_max"] + 1e-12
    assert rs["best_value"] > 0.75  # the lower peak reaches only about 0.73


def test_random_search_plots_surface_and_best_so_far(searchers):
    nb, _ = searchers
    assert _has_png(_code_cell(nb, 'df = rs.trials_dataframe().sort_values("trial_id")'))


def test_searchers_notebook_applies_the_best_variables(searchers):
    nb, facts = searchers
    applied = facts["applied"]
    # lr and wd were applied by both studies; hb ran last, so they hold its best trial's values
    assert {"lr": applied["lr"], "wd": applied["wd"]} == facts["hb"]["best_config"]
    assert {"x": applied["x"], "y": applied["y"]} == facts["rs"]["best_config"]
    assert facts["reward_at_xy"] == pytest.approx(facts["rs"]["best_value"])
    last = _code_cell(nb, "x, y, Z[y, x]")
    assert f"({applied['x']}, {applied['y']}," in last.outputs[0].data["text/plain"]


def test_persistence_notebook_resumes_the_stopped_study_to_its_budget(persistence):
    nb, facts = persistence
    # the default file: $JUPYTER_HPO_STORAGE, else jupyter_hpo.db in the notebook's folder
    assert facts["storage"] == (facts["env_storage"] or facts["storage"]) and \
        (facts["env_storage"] or facts["storage"].endswith("persistence0/jupyter_hpo.db"))
    assert facts["stopped_state"] == "finished" and 10 <= facts["stopped_trials"] < 30
    # the resumed study kept every stored trial and ran only the rest of the budget
    assert facts["resumed_configs"][:facts["stopped_trials"]] == facts["stopped_configs"]
    assert facts["spent"] == 30 and facts["state"] == "finished"
    # the trials the stop cut off ran again (not counted: their re-runs are)
    total = 30 + facts["stopped_reruns"]
    assert facts["loaded_trials"] == total and facts["loaded_state"] == "finished"
    assert facts["loaded_best"] == pytest.approx(facts["best"])
    assert facts["stopped_early"] > 0  # Hyperband stopped trials in both runs
    assert facts["csv_rows"] == total
    listing = _stream_text(_code_cell(nb, "%hpo list"))
    assert "digits-mlp: finished" in listing


@pytest.mark.parametrize("call", ['_hpo.plot("history")', '_hpo.plot("curves")',
                                  '_hpo.plot("parallel")', '_hpo.plot("contour"',
                                  '_hpo.plot("importance")', '_hpo.plot("importance-duration")',
                                  "%hpo plot incumbent"])
def test_persistence_notebook_draws_every_plot(persistence, call):
    nb, _ = persistence
    assert _has_png(_code_cell(nb, call))


# ------------------------------------------------- conditional spaces and checkpoints
def test_conditional_notebook_runs_every_cell(conditional):
    nb, _, _ = conditional
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(isinstance(c.execution_count, int) for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    _assert_static_summary(_hpo_cells(nb)[0])


def test_conditional_notebook_samples_each_architecture_with_its_own_hyperparameters(
        conditional):
    _, facts, _ = conditional
    assert facts["state"] == "finished" and facts["counts"]["failed"] == 0
    archs = {c["arch"] for c in facts["configs"]}
    assert archs == {"mlp", "cnn"}
    for config in facts["configs"]:
        expected = {"arch", "lr"} | ({"channels", "kernel"} if config["arch"] == "cnn"
                                     else {"hidden"})
        assert set(config) == expected
        assert config.get("channels", 4) % 4 == 0 and config.get("hidden", 32) % 32 == 0
    assert facts["nan_hidden_for_cnn"] and facts["nan_kernel_for_mlp"]


def test_conditional_notebook_promoted_process_trials_resume_from_checkpoints(conditional):
    nb, facts, _ = conditional
    assert facts["executor"] == "process" and facts["scheduler"] == ["HyperbandScheduler",
                                                                     "promotion"]
    resumed = {tid: at for tid, at in facts["resumed"].items() if at is not None}
    assert resumed and facts["counts"]["completed"] >= 1
    for tid, at in resumed.items():
        epochs = facts["epochs"][tid]
        assert at in (2, 4) and epochs == list(range(1, len(epochs) + 1))
    # only the 5 best finished trials keep a checkpoint file, stopped ones included
    assert facts["checkpoint_files"] == facts["with_checkpoint"]
    # trial-<id>-<random>.pt: a checkpoint file is never rewritten
    assert all(f.endswith(".pt") for f in facts["checkpoint_files"])
    owners = sorted(int(f.split("-")[1]) for f in facts["checkpoint_files"])
    assert facts["best"] in owners and owners == sorted(facts["best5"])
    assert facts["counts"]["stopped"] > 0 and len(facts["checkpoint_files"]) == 5
    show = _stream_text(_code_cell(nb, "%hpo show digits-arch"))
    assert f"checkpoints of digits-arch: {len(facts['checkpoint_files'])} file" in show


def test_conditional_notebook_restores_the_best_model_in_a_fresh_kernel(conditional):
    nb, facts, workdir = conditional
    cell = _code_cell(nb, "# a fresh kernel needs only this cell")
    in_notebook = _stream_text(cell)
    assert f"restored trial {facts['best']} (" in in_notebook
    assert f"test accuracy {facts['test_acc']:.3f}" in in_notebook and facts["test_acc"] > 0.85
    fresh = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell.source)])
    NotebookClient(fresh, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    assert _stream_text(fresh.cells[0]) == in_notebook


def _readme_blocks(*headings: str) -> list[str]:
    """The README's Python code blocks under these headings, in the README's order (a line
    such as ``# cell 1`` inside a block is code, not a heading)."""
    import re

    text = README.read_text()
    blocks = list(re.finditer(r"```python\n(.*?)```", text, re.DOTALL))
    outside = re.sub(r"```.*?```", lambda m: " " * len(m.group(0)), text, flags=re.DOTALL)
    titles = [(m.start(), m.group(1)) for m in re.finditer(r"^#+ (.*)$", outside, re.MULTILINE)]
    return [m.group(1).rstrip("\n") for m in blocks
            if [title for start, title in titles if start < m.start()][-1] in headings]


def test_the_readmes_quick_start_runs_as_written(tmp_path):
    """Every code block of "A 20-line example", "Training functions of other cells" and
    "Python API" runs in one notebook as written (only the quick start's --trials is made
    smaller): the example's cell trained with train_one_epoch and evaluate, which the README
    never defined, and the Python API's objective reported val_acc=..., an Ellipsis."""
    blocks = _readme_blocks("A 20-line example", "Training functions of other cells",
                            "Python API")
    assert len(blocks) == 8 and blocks[2].startswith("%%hpo --trials 40")
    blocks[2] = blocks[2].replace("--trials 40", "--trials 6", 1)
    blocks.insert(4, "quick = [_hpo.state, len(_hpo.trials), evaluate(model) > 0.5]")
    facts = ("import json\nprint('FACTS ' + json.dumps({'quick': quick, "
             "'functions': [_hpo.state, len(_hpo.trials)], "
             "'api': [study.state, len(study.trials), study.best_value]}))")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(b) for b in [*blocks, facts]]
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = _stream_text(nb.cells[-1])
    facts = json.loads(text[text.index("FACTS ") + 6:])
    assert facts["quick"] == ["finished", 6, True]
    assert facts["functions"] == ["finished", 20]
    assert facts["api"][:2] == ["finished", 50] and 0.5 < facts["api"][2] < 1


def _run_readme_cells(cells: list[str], facts: str, workdir: Path) -> dict:
    """Run ``cells`` and then ``facts`` (which prints ``FACTS {json}``) in one notebook, as a
    user who copied them would; no cell may raise. Returns the facts."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [*cells, "import json\n" + facts]]
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    text = _stream_text(nb.cells[-1])
    return json.loads(text[text.index("FACTS ") + 6:])


def test_the_readmes_model_sections_run_as_written(tmp_path, monkeypatch):
    """The blocks of "Marking hyperparameters", "Conditional hyperparameters", "Searchers",
    "Checkpoints", "Stopping a study from another process" and "Resuming" run in one notebook
    after the quick start's data and helpers, each %%hpo cell with a few trials: the
    conditional cell trained with make_cnn and make_mlp, which the README never defined, and
    ended in `...` with no report(). A block that is a cell's first line gets the quick
    start's cell under it, as the README's "...the same cell..." asks. The studies are kept
    where a user's are, in jupyter_hpo.db of the working directory, which the README's stop
    request names."""
    monkeypatch.delenv("JUPYTER_HPO_STORAGE")
    quick = _readme_blocks("A 20-line example")
    body = quick[2].split("\n", 1)[1]
    stepped, = _readme_blocks("Marking hyperparameters")
    helpers, conditional, when_space = _readme_blocks("Conditional hyperparameters")
    checkpoints, = _readme_blocks("Checkpoints")
    sum_kernel, seeds_spelling = _readme_blocks("Searchers")
    stop, = _readme_blocks("Stopping a study from another process")
    resume, = _readme_blocks("Resuming")
    assert "--trials 40" in conditional and "--workers 2" in checkpoints
    assert "--trials 40" in resume and "...the same cell..." in resume
    stepped_cell = (f"%%hpo --trials 3 --searcher random --seed 1 -o stepped\n{stepped}\n"
                    "report(epoch=1, score=units + dropout)")
    when_cell = (f"{when_space}\nfrom jupyter_hpo import tune\nwhen = tune(lambda config: "
                 "len(config), space, metric='n', mode='max', trials=6, seed=0)")
    make_model = ("make_model = lambda: torch.nn.Sequential(torch.nn.Linear(64, 64), "
                  "torch.nn.ReLU(), torch.nn.Linear(64, 10))")  # as the README's text says
    stopped = ("stopped = [_hpo.state.value, _hpo.stop_reason, "
               "sum(t.status.value != 'cancelled' for t in _hpo.trials)]")
    cells = [
        *quick[:2], helpers, conditional.replace("--trials 40", "--trials 4 --workers 2", 1),
        "conditional = _hpo", stepped_cell, when_cell, make_model,
        checkpoints.replace("--workers 2", "--workers 2 --trials 3", 1),
        "promoted = _hpo",
        f"{sum_kernel} --trials 3 -o sum_kernel\n{body}",
        f"{seeds_spelling} --trials 3 -o seeds\n{body}",
        f"%%hpo --name mlp --trials 40 --background\n{body}", stop, "%hpo wait mlp",
        stopped,
        resume.replace("--trials 40", "--trials 6").replace("...the same cell...", body),
    ]
    facts = _run_readme_cells(cells, """print('FACTS ' + json.dumps({
    'conditional': [conditional.state.value, [t.config for t in conditional.trials]],
    'stepped': [t.config for t in stepped.trials],
    'when': [t.config for t in when.trials],
    'promoted': [promoted.state.value, len(promoted.trials),
                 max(t.reports[-1]['epoch'] for t in promoted.trials),
                 promoted.best_trial.restore()['epoch'] - promoted.best_trial.reports[-1]['epoch'],
                 sorted(promoted.best_trial.restore())],
    'searchers': [sum_kernel.state.value, len(sum_kernel.trials), seeds.state.value],
    'stopped': stopped,
    'resumed': [_hpo.name, _hpo.state.value, _hpo.stop_reason,
                sum(t.status.value != 'cancelled' for t in _hpo.trials)]}))""", tmp_path)
    state, configs = facts["conditional"]
    assert state == "finished" and len(configs) == 4
    for config in configs:
        assert ("hidden" in config) == (config["arch"] == "mlp")
        assert ("channels" in config) == ("kernel" in config) == (config["arch"] == "cnn")
        assert ("pool" in config) == (config.get("kernel", 0) > 5)
    assert all(c["units"] % 32 == 0 and round(c["dropout"] * 10, 9) % 1 == 0
               for c in facts["stepped"])
    assert len(facts["when"]) == 6
    assert all(("kernel" in c) == (c["arch"] == "cnn") != ("hidden" in c)
               for c in facts["when"])
    # the best trial reaches max_t (27) as the study closes; it restores its last epoch's model
    assert facts["promoted"] == ["finished", 3, 27, 0, ["epoch", "model"]]
    assert facts["searchers"] == ["finished", 3, "finished"]
    *stopped, ran = facts["stopped"]
    assert stopped == ["finished", "stopped from a terminal (alice)"]
    # the resume runs the trials its stop cancelled again, up to the 6 trials it asks for
    assert facts["resumed"] == ["mlp", "finished", "", max(6, ran)]


def test_the_readmes_framework_callbacks_run_as_written(tmp_path):
    """The blocks of "Framework callbacks" run in one notebook, each %%hpo cell with a few
    trials: they trained on X_train, train_loader, LitModel and dtrain, which the README never
    defined, after an import of all four callbacks that fails without all four frameworks
    (Keras without its backend set)."""
    setup, keras, lightning, lightgbm, xgboost = _readme_blocks("Framework callbacks")
    cells = ["%load_ext jupyter_hpo", setup,
             keras.replace("%%hpo", "%%hpo --trials 2", 1), "keras_study = _hpo",
             lightning.replace("%%hpo", "%%hpo --trials 2", 1), "lightning_study = _hpo",
             lightgbm.replace("%%hpo", "%%hpo --trials 2", 1), "lightgbm_study = _hpo",
             xgboost.replace('mode="min",', 'mode="min", trials=4,', 1)]
    facts = _run_readme_cells(cells, """print('FACTS ' + json.dumps({name: [
    s.state.value, len(s.trials), s.metric, s.resource,
    max(t.reports[-1][s.resource] for t in s.trials)]
    for name, s in [('keras', keras_study), ('lightning', lightning_study),
                    ('lightgbm', lightgbm_study), ('xgboost', study)]}))""", tmp_path)
    assert facts == {"keras": ["finished", 2, "val_loss", "epoch", 20],
                     "lightning": ["finished", 2, "val_loss", "epoch", 20],
                     "lightgbm": ["finished", 2, "val_loss", "iteration", 200],
                     "xgboost": ["finished", 4, "eval-logloss", "epoch", 100]}


def test_the_readmes_dask_examples_run_as_written(tmp_path):
    """The runnable lines of "Dask clusters" work on a LocalCluster: the %%hpo first lines over
    the cell of "Training functions of other cells", and tune() over the train function of
    "Python API" with the space the README names; `train` and `space` were never defined
    there. (An existing cluster's address cannot be reached here.) The Python API's
    trials_dataframe(attrs=...) shows the columns its comment says: config.units, not the
    config.hidden and user.parameters of another example."""
    lines = _readme_blocks("Dask clusters")[0].splitlines()
    tune_lines = _readme_blocks("Dask clusters")[1].splitlines()
    train_cell, hpo_cell = _readme_blocks("Training functions of other cells")
    body = hpo_cell.split("\n", 1)[1]
    api, attrs = _readme_blocks("Python API")[:2]
    table, comment = attrs.splitlines()
    assert "# a LocalCluster" in lines[0] and lines[2].endswith("named client")
    assert "executor=client" in tune_lines[0] and "workers=4" in tune_lines[1]
    client = ("from distributed import Client, LocalCluster\n"
              "client = Client(LocalCluster(n_workers=2, threads_per_worker=1))")
    cells = ["%load_ext jupyter_hpo", train_cell,
             lines[0].replace("--workers 4", "--workers 2 --trials 4", 1) + "\n" + body,
             "local = _hpo", client,
             lines[2].replace("%%hpo", "%%hpo --trials 4", 1) + "\n" + body,
             "named = _hpo", api, f"columns = list({table}.columns)",
             'space = {"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256)}',
             "with_client = " + tune_lines[0].replace("client)", "client, trials=4)", 1),
             "with_local = " + tune_lines[1].replace("workers=4", "workers=2, trials=4", 1),
             "client.close()"]
    facts = _run_readme_cells(cells, """print('FACTS ' + json.dumps([columns, *(
    [s.state.value, len(s.trials), str(s.options.executor)[:7], s.metric]
    for s in (local, named, with_client, with_local))]))""", tmp_path)
    assert facts.pop(0) == comment.split()[1:]  # the columns that the README's comment shows
    assert facts == [["finished", 4, "dask", "loss"], ["finished", 4, "<Client", "loss"],
                     ["finished", 4, "<Client", "val_acc"], ["finished", 4, "dask", "val_acc"]]
