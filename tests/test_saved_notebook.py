"""What a saved notebook keeps of ``%hpo show``: a notebook executed headless in a new kernel
(nbclient), read as a frontend without widgets reads it (GitHub, nbconvert, VS Code's preview)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

import jupyter_hpo as jh
from jupyter_hpo import Real

pytestmark = pytest.mark.timeout(180)


def run_notebook(*sources: str, workdir) -> list[list[dict]]:
    """Execute the cells in a new kernel; every cell's outputs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return [cell.outputs for cell in nb.cells]


def without_widgets(outputs: list[dict]) -> dict[str, str]:
    """What a frontend without widgets shows of a cell, by MIME type (the texts joined): of a
    widget's output, only its text/plain fallback."""
    shown: dict[str, str] = {}
    for output in outputs:
        data = dict(output.get("data", {}))
        if data.pop("application/vnd.jupyter.widget-view+json", None) is not None:
            data = {"text/plain": data.get("text/plain", "")}
        for mime, value in data.items():
            shown[mime] = shown.get(mime, "") + value
    return shown


def test_hpo_show_of_a_stored_study_leaves_its_summary_in_the_saved_notebook(tmp_path,
                                                                           study_storage):
    """``%hpo show NAME`` in a new kernel kept only the dashboard's widget and a status line:
    without a kernel, no curves, no best configuration, no table."""
    study = jh.tune(lambda c: {"loss": (c["x"] - 0.3) ** 2}, {"x": Real(0, 1)},
                    metric="loss", mode="min", trials=5, name="<b>stored</b>", seed=0,
                    storage=study_storage)
    best = study.best_trial
    _load, show = run_notebook("%load_ext jupyter_hpo", "%hpo show '<b>stored</b>'",
                               workdir=tmp_path)
    shown = without_widgets(show)
    assert shown.get("image/png")
    assert "jupyter-hpo-table" in shown["text/html"]
    assert "&lt;b&gt;stored&lt;/b&gt;: finished" in shown["text/html"]
    assert f"x = {best.config['x']!r}" in shown["text/html"]
    assert f"best: trial {best.trial_id}: x={best.config['x']!r}" in shown["text/plain"]


def test_hpo_show_of_a_study_that_ended_in_this_kernel_shows_its_summary_again(tmp_path):
    cell = "%%hpo --name here --metric loss --mode min --trials 3 --seed 0\nx = Real(0, 1)\nloss = x"
    _load, ran, show = run_notebook("%load_ext jupyter_hpo", cell, "%hpo show here",
                                    workdir=tmp_path)
    summary, again = without_widgets(ran), without_widgets(show)
    assert again.get("image/png") and "jupyter-hpo-table" in again["text/html"]
    assert again["text/html"] == summary["text/html"]


APPLIED = """%%hpo --name applied --metric loss --mode min --trials 4 --seed 0
lr = Real(1e-5, 1e-1, log=True)
act = Categorical(relu, abs)
loss = act(-lr) + lr
"""


def test_the_applied_trials_values_are_those_of_the_summary(tmp_path):
    """The line of the trial applied at the end rounded values to 4 digits (lr=0.0002084 of
    0.00020841398900843847) while the summary above it showed them in full: a learning rate
    copied from it was another number. A notebook function shows without its address."""
    cells = run_notebook("%load_ext jupyter_hpo", "def relu(v):\n    return max(v, 0.0)",
                         APPLIED, "print(repr(lr))", workdir=tmp_path)
    _load, _define, ran, value = cells
    summary = without_widgets(ran)["text/plain"]
    best = next(line for line in summary.splitlines() if line.startswith("best: trial "))
    number, config = best.split(": ", 2)[1:]  # "best: trial 2: lr=..., act=<function relu>"
    printed = "".join(o.get("text", "") for o in ran if o["output_type"] == "stream")
    applied = next(line for line in printed.splitlines() if "applied trial" in line)
    assert f"applied {number} " in applied and applied.endswith(config), (applied, best)
    lr = config.split(",")[0].removeprefix("lr=")
    assert value[0]["text"].strip() == lr  # the notebook's lr, as the line writes it
    assert "act=<function relu>" in config and " at 0x" not in applied


FAILING = """%%hpo --name broken --metric loss --mode min --trials 4 --seed 0
x = Real(0, 1)
raise ValueError("no data <here>")
loss = x
"""


def texts(outputs: list[dict]) -> str:
    """Every text a cell's outputs hold: streams, and each MIME type a frontend may show."""
    return "".join(o.get("text", "") + "".join(v for k, v in o.get("data", {}).items()
                                              if k.startswith("text/"))
                   for o in outputs)


def test_a_failed_studys_cell_shows_its_error_once_without_an_empty_plot(tmp_path):
    """A study whose trials all failed showed its traceback twice, in the summary and in the
    cell's error below it, and an empty plot of curves no trial had drawn. Now the summary
    says "failed" and the error, below it, says why once, at the cell's line; a saved
    notebook shown as HTML (nbconvert, GitHub) shows that error text too."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in
                                         ("%load_ext jupyter_hpo", FAILING)])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    shown = without_widgets(outputs)
    assert "broken: failed" in shown["text/html"] and "jupyter-hpo-error" not in shown["text/html"]
    assert "image/png" not in shown
    assert texts(outputs).count("Traceback (most recent call last)") == 1
    printed = "".join(o["text"] for o in outputs if o.get("name") == "stderr")
    assert ("UsageError: StudyFailedError: the first 3 trials all failed with the same error, "
            "so the study stopped. Trial 0's traceback:\nTraceback (most recent call last):\n"
            "  Cell In[2], cell line 3\n    raise ValueError(\"no data <here>\")\n"
            "ValueError: no data <here>\n") in printed


# its trials wait until the notebook creates FLAG, so the study ends while a later cell runs
BACKGROUND = """%%hpo --name bg --metric loss --mode min --trials 3 --seed 0 --background
import os, time
x = Real(0, 1)
while not os.path.exists(FLAG):
    time.sleep(0.02)
for epoch in range(1, 4):
    report(epoch=epoch, loss=x / epoch)
"""

# the end as a user sees it: the study has ended, and so has its dashboard's refresh thread
END_BACKGROUND = """import threading, time
open(FLAG, "w").close()
_hpo.wait()
while any(t.name == "hpo-dashboard-bg" for t in threading.enumerate()):
    time.sleep(0.05)
"""


def test_a_background_study_leaves_its_summary_under_its_own_cells(tmp_path):
    """A --background study never joined with %hpo wait left no summary at all: its cell
    (and that of a %hpo show while it ran) kept the widget and one status line, so a saved
    notebook showed no curves, no best configuration and no table. The end fills the
    placeholders those cells show; the cell that runs then shows nothing of it."""
    flag = repr(str(tmp_path / "go"))
    _load, _flag, cell, show, end = run_notebook(
        "%load_ext jupyter_hpo", f"FLAG = {flag}", BACKGROUND, "%hpo show bg", END_BACKGROUND,
        workdir=tmp_path)
    for outputs in (cell, show):
        shown = without_widgets(outputs)
        assert shown.get("image/png") and "jupyter-hpo-table" in shown["text/html"]
        assert "bg: finished · 3/3 trials" in shown["text/html"]
        assert "best: trial " in shown["text/plain"]
        assert "is shown here when it ends" not in shown["text/plain"]
    assert not end  # the summary went to the placeholders, not under the running cell


FAILING_BACKGROUND = FAILING.replace("--trials 4", "--trials 4 --background")


def test_a_failed_background_studys_cell_says_why_it_failed(tmp_path):
    """Trials that fail at once end the study before or just after its cell returns: its
    placeholders get the summary with the study's error, as that cell raises none (%hpo
    wait, which raises the error, puts it there again from its own cell, for frontends that
    read only the messages of the cell that runs, and shows it once itself)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in
                                         ("%load_ext jupyter_hpo", FAILING_BACKGROUND,
                                          "%hpo wait broken")])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    background, wait = (without_widgets(cell.outputs) for cell in nb.cells[1:])
    assert "broken: failed" in background["text/html"]
    assert "ValueError: no data &lt;here&gt;" in background["text/html"].split(
        "class='jupyter-hpo-error'", 1)[1]
    assert "is shown here when it ends" not in background["text/plain"]
    assert "broken: failed" in wait["text/html"] and "jupyter-hpo-error" not in wait["text/html"]
    assert "image/png" not in background and "image/png" not in wait  # no curves to draw
    assert texts(nb.cells[2].outputs).count("Traceback (most recent call last)") == 1
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "UsageError: StudyFailedError: the first 3 trials all failed" in printed
