"""search_quality.py --table: learning-curve tables from elsewhere, with their space read from
the file's kind or inferred from its columns, run against the peers like the built-in ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jupyter_hpo import Categorical, Int, Real

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "search_quality.py"


@pytest.fixture
def external(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import external_tables
    import search_quality

    return external_tables, search_quality


def write_table(path: Path, rows: int = 400, seed: int = 0) -> Path:
    """A table of another tool's making: a log-uniform learning rate, a uniform momentum, a
    depth of consecutive integers, batch sizes, an optimiser's name; a loss that falls with
    the epochs towards a configuration's final value, and an accuracy that rises."""
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-4, -1, rows)
    momentum = rng.uniform(0.5, 0.99, rows)
    depth = rng.integers(1, 6, rows)
    batch = rng.choice([16, 64, 256], rows)
    optimiser = rng.choice(["adam", "sgd"], rows)
    final = (0.1 + 0.05 * (np.log10(lr) + 2.5) ** 2 + 0.02 * (depth - 3) ** 2
             + 0.1 * (momentum - 0.9) ** 2 + 0.03 * (optimiser == "sgd"))
    epochs = np.arange(1, 21)
    loss = final[:, None] + np.exp(-epochs[None, :] * lr[:, None] * 100)
    seconds = np.repeat((0.5 + depth * 0.1)[:, None], len(epochs), axis=1)
    np.savez(path, lr=lr, momentum=momentum, depth=depth, batch_size=batch, optimiser=optimiser,
             val_loss=loss, val_acc=1.0 - loss / 2, seconds=seconds)
    return path


def test_a_space_is_inferred_from_the_columns_of_another_tools_table(external, tmp_path):
    external_tables, search_quality = external
    path = write_table(tmp_path / "curves.npz")
    found = external_tables.table_benchmarks(str(path), search_quality.TABLE_SPACES)
    assert set(found) == {"curves-val_loss", "curves-val_acc"}
    _, metric, mode, space = found["curves-val_loss"]
    assert (metric, mode) == ("val_loss", "min")
    lr, momentum, depth = space["lr"], space["momentum"], space["depth"]
    assert isinstance(lr, Real) and lr.log and 1e-4 <= lr.lo < 2e-4 and 0.09 < lr.hi <= 0.1
    assert isinstance(momentum, Real) and not momentum.log
    assert isinstance(depth, Int) and (depth.lo, depth.hi) == (1, 5)
    assert isinstance(space["batch_size"], Categorical)
    assert space["batch_size"].choices == (16, 64, 256)
    assert space["optimiser"].choices == ("adam", "sgd")
    # the simulation replays the rows: a row's own configuration gives its own curve
    bench = search_quality.TableBenchmark.load(path, space, metric="val_acc", mode="max")
    with np.load(path) as data:
        row = {name: data[name][7].item() for name in space}
        assert bench.evaluate(row, 20)[0] == pytest.approx(float(data["val_acc"][7, -1]))


def test_a_make_tables_file_of_a_known_kind_gets_that_kinds_space(external, tmp_path):
    external_tables, search_quality = external
    source = ROOT / "benchmarks" / "tables" / "gbm_wine.npz"
    found = external_tables.table_benchmarks(f"{source}:error", search_quality.TABLE_SPACES)
    assert list(found) == ["gbm_wine-error"]
    assert found["gbm_wine-error"][3] == search_quality.gbm_space()


@pytest.mark.parametrize("spec, message", [
    ("{dir}/none.npz", "no file"),
    ("{table}:accuracy", "has no metric 'accuracy'"),
    ("{table}:val_loss:down", "the mode is 'down', but must be min or max"),
    ("{junk}", "is not a readable .npz table"),
    ("{noseconds}", "has no (rows, epochs) array 'seconds'"),
])
def test_a_bad_table_spec_says_what_is_wrong(external, tmp_path, spec, message):
    external_tables, search_quality = external
    table = write_table(tmp_path / "t.npz", rows=20)
    (tmp_path / "junk.npz").write_text("not a table")
    np.savez(tmp_path / "noseconds.npz", lr=np.ones(3), loss=np.ones((3, 2)))
    spec = spec.format(dir=tmp_path, table=table, junk=tmp_path / "junk.npz",
                       noseconds=tmp_path / "noseconds.npz")
    with pytest.raises(ValueError, match="--table .*" + __import__("re").escape(message)):
        external_tables.table_benchmarks(spec, search_quality.TABLE_SPACES)


def test_search_quality_runs_every_method_on_a_table_given_by_file(tmp_path):
    path = write_table(tmp_path / "curves.npz")
    markdown = tmp_path / "sq.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--jobs", "1",
                           "--table", f"{path}:val_acc:max", "--markdown", str(markdown)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    saved = markdown.read_text()
    assert "### curves-val_acc: normalised regret" in saved
    assert "branin-mf" not in saved  # only the tables given run
    assert f"optimum {np.load(path)['val_acc'][:, -1].max():.4g} val_acc" in saved
    rows = [line for line in saved.splitlines() if line.startswith("| random (FIFO) |")]
    regrets = [float(cell) for cell in rows[0].strip("| ").split("|")[1:]]
    assert all(0.0 <= r <= 1.0 for r in regrets) and regrets[-1] < 1.0  # maximised, not min


def test_a_variant_runs_the_defaults_study_with_other_options(tmp_path):
    """--variant NAME=JSON: the default's study with these Study options, on the same seeds;
    with no options it is the default, with another searcher and scheduler that method."""
    import json

    finals = tmp_path / "finals.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "2", "--budget", "3", "--jobs", "1",
         "--no-suggest-times", "--benchmarks", "branin-mf", "--plot", str(tmp_path / "p.png"),
         "--finals", str(finals), "--methods", "default (auto)", "random (FIFO)", "same",
         "plain", "--variant", "same={}",
         "--variant", 'plain={"searcher": "random", "scheduler": "fifo"}'],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    regrets = json.loads(finals.read_text())["branin-mf"]
    assert regrets["same"] == regrets["default (auto)"]
    assert regrets["plain"] == regrets["random (FIFO)"]
    assert regrets["plain"] != regrets["same"]
    assert regrets["same"]["seeds"] == [0, 1]
    refused = subprocess.run([sys.executable, str(SCRIPT), "--variant", "x=[1]"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert refused.returncode == 2 and "a JSON object of Study options" in refused.stderr


def test_seeds_from_first_seed_pair_with_an_earlier_run(tmp_path):
    """--first-seed N runs seeds N, N+1, ...: seed 1 alone gives the regrets seed 1 gave in a
    run of seeds 0-1, and compare_finals.py pairs the two files by seed."""
    import json

    def finals(name: str, *args: str) -> Path:
        path = tmp_path / f"{name}.json"
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--budget", "3", "--jobs", "1", "--no-suggest-times",
             "--benchmarks", "branin-mf", "--plot", str(tmp_path / "p.png"), "--finals",
             str(path), "--methods", "default (auto)", "random (FIFO)", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return path

    both, later = finals("both", "--seeds", "2"), finals("later", "--seeds", "1",
                                                          "--first-seed", "1")
    runs = json.loads(both.read_text())["branin-mf"]
    alone = json.loads(later.read_text())["branin-mf"]
    for method in ("default (auto)", "random (FIFO)"):
        assert alone[method]["seeds"] == [1]
        assert alone[method]["final"] == runs[method]["final"][1:]
    compare = ROOT / "benchmarks" / "compare_finals.py"
    done = subprocess.run([sys.executable, str(compare), "default (auto)", "random (FIFO)",
                           str(both), str(later)], capture_output=True, text=True,
                          timeout=60, check=False)
    diff = [r - d for d, r in zip(runs["default (auto)"]["final"], runs["random (FIFO)"]["final"])]
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("seeds 0-1 (2), 1 benchmark:")
    assert f"difference {diff[0] / 2 + diff[1] / 2:+.3f}" in done.stdout
    refused = subprocess.run([sys.executable, str(compare), "default (auto)", "nothing",
                              str(both)], capture_output=True, text=True, timeout=60,
                             check=False)
    assert refused.returncode == 2 and "the files hold ['default (auto)', 'random (FIFO)']" \
        in refused.stderr


def test_search_quality_refuses_a_bad_table_or_an_unknown_benchmark(tmp_path):
    for args, message in ((["--table", str(tmp_path / "none.npz")], "no file"),
                          (["--benchmarks", "no-such"], "unknown benchmarks ['no-such']")):
        done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120, check=False)
        assert done.returncode == 2 and message in done.stderr, done.stderr


def test_make_tables_makes_a_table_of_another_dataset_that_the_benchmark_runs(external,
                                                                              tmp_path, capsys):
    import make_tables

    assert make_tables.main(["--tables", "gbm_iris", "--minutes", "10", "--max-configs", "3",
                             "--workers", "1", "--out", str(tmp_path)]) == 0
    path = tmp_path / "gbm_iris.npz"
    out = capsys.readouterr().out
    assert "gbm_iris: 3 configurations" in out  # the correlations need more than two rows
    assert "error: Spearman epoch 1 / 3 / 9 vs 30" in out
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--jobs", "1",
                           "--table", f"{path}:logloss"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "### gbm_iris-logloss: normalised regret" in done.stdout
    with pytest.raises(SystemExit) as exit_info:
        make_tables.main(["--tables", "gbm_moons"])
    assert exit_info.value.code == 2
    assert "'gbm_moons' is not <kind>_<dataset>" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        make_tables.main(["--tables", "cnn_wine"])  # 13 features: no image to convolve
    assert exit_info.value.code == 2
    assert "a cnn table needs images; of the datasets only digits" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["sgd_synth", "hgb_diabetes", "torch_noisy", "rff_quantiles"])
def test_held_out_tables_make_tables_the_benchmark_replays_row_for_row(external, tmp_path,
                                                                       kind):
    """Each held-out kind writes a table whose space is inferred from its columns (the
    schedules and losses as categories) and whose rows the benchmark replays as recorded; the
    same seed trains the same curves again."""
    import held_out_tables

    from jupyter_hpo.simulation import TableBenchmark

    external_tables, search_quality = external
    path = held_out_tables.make_table(kind, seconds=300, directory=tmp_path, max_rows=3)
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    benchmarks = external_tables.table_benchmarks(str(path), search_quality.TABLE_SPACES)
    metrics = {"hgb_diabetes": ("mse", "mae")}.get(kind, ("error", "logloss"))
    assert sorted(benchmarks) == sorted(f"{kind}-{metric}" for metric in metrics)
    _, metric, mode, space = benchmarks[f"{kind}-{metrics[0]}"]
    assert mode == "min" and arrays["seconds"].shape == (3, 30)
    if kind == "sgd_synth":
        assert isinstance(space["loss"], Categorical)
    bench = TableBenchmark.load(path, space, metric=metric)
    for row in range(3):
        config = {name: arrays[name][row].item() for name in space}
        assert bench.evaluate(config, 30)[0] == pytest.approx(float(arrays[metric][row, -1]))
    _, sample, train = held_out_tables.KINDS[kind]
    first = sample(np.random.default_rng(0))
    again = train(first, held_out_tables.KINDS[kind][0](), 0)[metric]
    np.testing.assert_allclose(again.astype(np.float16), arrays[metric][0])
