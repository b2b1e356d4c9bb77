"""``python -m jupyter_hpo``: the terminal commands over a real SQLite file, run as a user runs
them (a real interpreter per command; studies made by ``tune()`` and by another process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import jupyter_hpo
from jupyter_hpo import Real, Study, tune
from jupyter_hpo.records import StudyState
from jupyter_hpo.storage import SQLiteStorage

pytestmark = pytest.mark.timeout(120)

ENV = {**os.environ, "PYTHONPATH": str(Path(jupyter_hpo.__file__).resolve().parent.parent)}


def hpo(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_hpo WORDS...`` in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "jupyter_hpo", *words], check=False, cwd=cwd,
                          env=ENV, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # a script's: delete asks no question


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A file holding the finished study ``mlp`` (4 trials)."""
    path = tmp_path / "runs.db"
    tune(lambda config: (config["lr"] - 0.25) ** 2, {"lr": Real(0, 1)}, metric="loss",
         trials=4, seed=0, storage=str(path), name="mlp")
    return path


def test_studies_that_scripts_ran_are_stored_finished_with_every_trial(tmp_path):
    """A script's tune() imports IPython while its study's writer thread asks whether the
    kernel is shutting down: that question raised an ImportError, which stopped the writing
    after the first write (the study read as interrupted with 1 of its 12 trials). A race, so
    three scripts run: most of them lost their study before."""
    path = tmp_path / "runs.db"
    names = ["first", "second", "third"]
    for name in names:
        subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from jupyter_hpo import Categorical, Real, tune
            def objective(config, report):
                if config["x"] > 0.7:
                    raise ValueError("a failed trial")
                report(epoch=1, loss=config["x"])
            tune(objective, {{"x": Real(0, 1), "act": Categorical("relu", "tanh")}},
                 metric="loss", trials=12, seed=1, storage={str(path)!r}, name={name!r})
            """)], env=ENV, check=True, capture_output=True, timeout=120)
    listed = hpo(tmp_path, "list", "--storage", str(path))
    record = SQLiteStorage(path).load_study("first")
    failed = sum(t.error.startswith("ValueError") for t in record.trials)
    assert sorted(listed.stdout.splitlines()) == sorted(
        f"{name}: finished · 12/12 trials · {12 - failed} completed · {failed} failed · "
        f"best loss={record.best_value:g}" for name in names)


def test_help_names_every_command_and_a_missing_command_is_a_usage_error(tmp_path):
    shown = hpo(tmp_path, "--help")
    assert shown.returncode == 0
    for command in ("list", "show", "best", "stop", "delete", "export"):
        assert command in shown.stdout
    assert "exit codes: 0 done, 1 refused (the message says why and what to do), 2 a wrong " \
           "command line." in shown.stdout
    assert "python -m jupyter_hpo COMMAND --help describes a command's arguments" in shown.stdout
    deleting = hpo(tmp_path, "delete", "--help").stdout
    assert "with its trials and checkpoints, for good (export it first" in \
        " ".join(deleting.split())
    bare = hpo(tmp_path)
    assert bare.returncode == 2
    assert "required: COMMAND" in bare.stderr
    nameless = hpo(tmp_path, "stop")
    assert nameless.returncode == 2
    assert "required: NAME" in nameless.stderr


def test_list_show_best_and_export_read_a_study_that_tune_stored(stored):
    best = Study.load("mlp", str(stored)).best_value
    listed = hpo(stored.parent, "list", "--storage", str(stored))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == f"mlp: finished · 4/4 trials · 4 completed · best loss={best:.6g}\n"
    shown = hpo(stored.parent, "show", "mlp", "--storage", str(stored))
    assert shown.returncode == 0, shown.stderr
    assert f"mlp: best loss={best:.6g}" in shown.stdout
    rows = [line.split() for line in shown.stdout.splitlines()]
    assert [row[:2] for row in rows if row[0].isdigit()] == [[str(i), "completed"]
                                                             for i in range(4)]
    latest = hpo(stored.parent, "best", "--storage", str(stored))
    assert latest.returncode == 0
    assert latest.stdout.startswith(f"mlp: best loss={best:.6g}")
    written = hpo(stored.parent, "export", "mlp", "trials.csv", "--storage", str(stored))
    assert written.returncode == 0, written.stderr
    assert len((stored.parent / "trials.csv").read_text().splitlines()) == 5


def test_export_over_the_storage_itself_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "runs.json"
    tune(lambda config: config["lr"], {"lr": Real(0, 1)}, metric="loss", trials=2, seed=0,
         storage=str(path), name="mlp")
    before = path.read_bytes()
    written = hpo(tmp_path, "export", "mlp", "runs.json", "--storage", str(path))
    assert written.returncode == 1
    assert "runs.json is a SQLite database" in written.stderr
    assert "e.g. runs-trials.json" in written.stderr
    assert path.read_bytes() == before


def test_a_missing_file_is_an_error_and_is_not_created(tmp_path):
    missing = tmp_path / "typo.db"
    listed = hpo(tmp_path, "list", "--storage", str(missing))
    assert listed.returncode == 1
    assert f"{missing} does not exist" in listed.stderr
    default = hpo(tmp_path, "show", "mlp")
    assert default.returncode == 1
    assert "the default file; pass --storage PATH" in default.stderr
    in_missing_folder = hpo(tmp_path, "list", "--storage", str(tmp_path / "runs" / "a.db"))
    assert in_missing_folder.returncode == 1
    assert (f"{tmp_path / 'runs' / 'a.db'} does not exist (nor does its folder): no study has "
            f"been stored there") in in_missing_folder.stderr  # not "cannot create"
    empty = hpo(tmp_path, "list", "--storage", "")  # said "--storage none", not typed
    assert empty.returncode == 1
    assert "--storage '' keeps nothing, so there is nothing to read" in empty.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_an_unknown_name_is_an_error_naming_the_nearest(stored):
    before = stored.read_bytes()
    for command in ("show", "stop", "delete"):
        done = hpo(stored.parent, command, "mpl", "--storage", str(stored))
        assert done.returncode == 1
        assert "no study named 'mpl'" in done.stderr
        assert "did you mean 'mlp'?" in done.stderr
    assert stored.read_bytes() == before
    assert len(Study.load("mlp", str(stored)).trials) == 4


def run_endless(path: Path, name: str) -> subprocess.Popen[str]:
    """Another process whose tune() runs the endless study ``name`` in ``path`` (it prints
    ``DONE <stop reason>`` when stopped), once the study is stored running."""
    runner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from jupyter_hpo import Real, report, tune
        def endless(config):
            for epoch in range(1, 100_000):
                time.sleep(0.01)
                report(epoch=epoch, loss=config["x"])
        study = tune(endless, {{"x": Real(0, 1)}}, metric="loss", trials=5,
                     storage={str(path)!r}, name={name!r})
        print("DONE", study.stop_reason, flush=True)
        """)], env=ENV, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (path.exists() and (found := SQLiteStorage(path).find_study(name))
               and found.state is StudyState.RUNNING):
        if runner.poll() is not None or time.monotonic() > deadline:
            runner.kill()  # an endless study is never left running
            pytest.fail(f"the study {name} was not stored running (exit code {runner.wait()})")
        time.sleep(0.05)
    return runner


def test_stop_stops_a_study_that_another_process_runs_and_delete_waits_for_it(tmp_path):
    path = tmp_path / "runs.db"
    runner = run_endless(path, "long")
    try:
        refused = hpo(tmp_path, "delete", "long", "--storage", str(path))
        assert refused.returncode == 1
        assert "python -m jupyter_hpo stop long" in refused.stderr
        assert "%hpo" not in refused.stderr
        asked = hpo(tmp_path, "stop", "long", "--storage", str(path))
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout.startswith("asked long to stop")
        out, _ = runner.communicate(timeout=60)
    finally:
        runner.kill()
    assert out.startswith("DONE stopped from a terminal (")
    again = hpo(tmp_path, "stop", "long", "--storage", str(path))
    assert again.returncode == 1
    assert "it is not running (it is finished)" in again.stderr
    deleted = hpo(tmp_path, "delete", "long", "--storage", str(path))
    assert deleted.returncode == 0, deleted.stderr
    assert SQLiteStorage(path).list_studies() == []


def delete_at_a_terminal(cwd: Path, words: list[str], typed: bytes
                         ) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_hpo delete WORDS...`` whose input is a terminal (a pty) where
    ``typed`` is typed."""
    import pty

    master, slave = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "jupyter_hpo", "delete", *words],
                                   cwd=cwd, env=ENV, stdin=slave, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        os.close(slave)
        os.write(master, typed)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_delete_asks_at_a_terminal_and_scripts_skip_the_question(stored):
    """delete removed a study for good without a question; at a terminal it now asks (as
    rm -i), anything but y keeps the study, --yes skips the question, and input that is not
    a terminal (a script, a pipe) deletes as before."""
    words = ["mlp", "--storage", str(stored)]
    kept = delete_at_a_terminal(stored.parent, words, b"n\n")
    assert kept.stdout.startswith("delete study 'mlp' (finished, 4 trials, best loss=")
    assert kept.stdout.endswith("for good? [y/N] (--yes skips this question) ")
    assert kept.returncode == 1 and "study 'mlp' was not deleted (the answer was not y); " \
        f"export it first to keep its table: python -m jupyter_hpo export mlp mlp.csv " \
        f"--storage {stored}" in kept.stderr
    assert delete_at_a_terminal(stored.parent, words, b"\x04").returncode == 1  # Ctrl-D
    assert [s.name for s in SQLiteStorage(stored).list_studies()] == ["mlp"]
    missing = delete_at_a_terminal(stored.parent, ["mpl", "--storage", str(stored)], b"")
    assert missing.stdout == "" and "no study named 'mpl'" in missing.stderr  # not asked
    deleted = delete_at_a_terminal(stored.parent, words, b"y\n")
    assert deleted.returncode == 0 and "deleted study 'mlp' and its 4 trials" in deleted.stdout
    for name in ("a", "b"):
        tune(lambda config: config["lr"], {"lr": Real(0, 1)}, metric="loss", trials=1,
             storage=str(stored), name=name)
    assert delete_at_a_terminal(stored.parent, ["a", "--yes", "--storage", str(stored)],
                                b"").stdout == f"deleted study 'a' and its 1 trials from {stored}\n"
    scripted = hpo(stored.parent, "delete", "b", "--storage", str(stored))  # stdin: no tty
    assert scripted.returncode == 0 and scripted.stdout.startswith("deleted study 'b'")
    assert SQLiteStorage(stored).list_studies() == []


def test_output_into_a_closed_pipe_ends_without_a_traceback(stored):
    command = [sys.executable, "-m", "jupyter_hpo", "show", "mlp", "--storage", str(stored)]
    reader, writer = os.pipe()
    os.close(reader)  # as `| head -1` does once it has its line
    try:
        done = subprocess.run(command, check=False, cwd=stored.parent, env=ENV, stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert done.stderr == ""


def test_jupyter_hpo_runs_the_console_script_whose_messages_name_it(stored):
    """``jupyter hpo`` (Jupyter runs the ``jupyter-hpo`` script beside it) answers in its own
    spelling, ``python -m jupyter_hpo`` in its."""
    jupyter = Path(sys.executable).parent / "jupyter"
    done = subprocess.run([str(jupyter), "hpo", "stop", "mlp", "--storage", str(stored)],
                          check=False, env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("jupyter-hpo stop: error: cannot stop study 'mlp'")
    usage = subprocess.run([str(jupyter), "hpo", "--help"], check=False, env=ENV,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: jupyter-hpo ")
    assert "python -m" not in usage.stdout
    module = hpo(stored.parent, "stop", "mlp", "--storage", str(stored))
    assert module.stderr.startswith("python -m jupyter_hpo stop: error: cannot stop study")


def test_a_misspelt_or_notebook_command_names_what_to_write(stored):
    before = stored.read_bytes()
    for words, hint in ((["lst"], "did you mean list?"), (["LIST"], "did you mean list?"),
                        (["rm", "mlp"], "did you mean delete?"),
                        (["kill", "mlp"], "did you mean stop?"),
                        (["plot", "mlp"], ("plot is a %hpo command of a notebook; from a "
                                           "terminal, python -m jupyter_hpo show NAME")),
                        (["apply", "mlp"], "Study.load(NAME, PATH) has .best_config"),
                        (["resume", "mlp"], "resume=True"),
                        (["runs.db", "list"], ("the command comes first: python -m jupyter_hpo "
                                               "list --storage runs.db"))):
        done = hpo(stored.parent, *words)
        assert done.returncode == 2, words
        assert f"invalid choice: '{words[0]}'" in done.stderr and hint in done.stderr, words
    assert stored.read_bytes() == before


def test_words_a_command_does_not_take_are_refused_with_its_own_usage(stored):
    for words, usage, hint in (
            (["list", "mlp"], "list [-h] [--storage PATH]",
             "unrecognized arguments: mlp (list takes no NAME: it lists every study"),
            (["show", "my", "study"], "show [-h] [--storage PATH] [NAME]",
             ('unrecognized arguments: study (show takes one NAME; a name with spaces goes in '
              'quotes: show "my study")')),
            (["best", "mlp", "--trial", "3"], "best [-h] [--storage PATH] [NAME]",
             "unrecognized arguments: --trial 3 (best takes --storage PATH and no --trial"),
            (["export", "mlp"], "export [-h] [--storage PATH] [NAME] FILE",
             ("the following arguments are required: FILE (ending in .csv, .parquet, .json), "
              "e.g. python -m jupyter_hpo export mlp mlp.csv"))):
        done = hpo(stored.parent, *words, "--storage", str(stored))
        assert done.returncode == 2, words
        assert done.stderr.startswith(f"usage: python -m jupyter_hpo {usage}\n"), done.stderr
        assert f"python -m jupyter_hpo {words[0]}: error: {hint}" in done.stderr


def test_storage_may_come_before_the_command_and_export_takes_the_latest_study(stored):
    listed = hpo(stored.parent, "--storage", str(stored), "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("mlp: finished · 4/4 trials · 4 completed")
    twice = hpo(stored.parent, "--storage", str(stored), "list", "--storage", "other.db")
    assert twice.returncode == 2
    assert "--storage is given twice" in twice.stderr
    latest = hpo(stored.parent, "export", "latest.csv", "--storage", str(stored))
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout == "wrote 4 trials of mlp to latest.csv\n"
    assert len((stored.parent / "latest.csv").read_text().splitlines()) == 5


@pytest.mark.parametrize("words", [("list", "--storage", "{stored}", "--storage", "other.db"),
                                   ("--storage", "{stored}", "--storage", "other.db", "list")])
def test_storage_given_twice_on_one_side_of_the_command_is_refused(stored, words):
    """``list --storage runs.db --storage other.db`` read other.db without a word (the check
    of --storage given twice saw only one before and one after the command)."""
    done = hpo(stored.parent, *(word.format(stored=stored) for word in words))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.endswith(f"error: --storage is given twice ({stored}, then other.db): "
                                f"give it once\n")
    assert not (stored.parent / "other.db").exists()


def test_export_never_writes_over_a_file_that_is_no_export(stored):
    data = stored.parent / "data.csv"
    data.write_text("sepal,petal\n1.0,2.0\n")
    refused = hpo(stored.parent, "export", "mlp", "data.csv", "--storage", str(stored))
    assert refused.returncode == 1
    assert refused.stderr.startswith("python -m jupyter_hpo export: error: data.csv exists and "
                                     "holds something other than exported trials")
    assert data.read_text() == "sepal,petal\n1.0,2.0\n"
    for note in ("", " (replacing the earlier export there)"):
        done = hpo(stored.parent, "export", "mlp", "mlp.csv", "--storage", str(stored))
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"wrote 4 trials of mlp to mlp.csv{note}\n"


def test_stop_of_a_study_whose_process_was_killed_says_how_to_resume_it(tmp_path):
    """The message told a terminal user to "resume it with --name 'my run' --resume", flags
    of %%hpo that no command line here takes."""
    path = tmp_path / "runs.db"
    runner = run_endless(path, "my run")
    runner.kill()  # as a crash or an OOM kill would
    runner.wait(timeout=60)
    refused = hpo(tmp_path, "stop", "my run", "--storage", str(path))
    assert refused.returncode == 1
    assert ("it is not running (it is interrupted: its kernel stopped; resume it with %%hpo "
            "--name \"my run\" --resume on its cell's first line, or tune(..., name='my run', "
            "resume=True) with the same storage), so there is nothing to stop") in refused.stderr


def test_parquet_export_writes_choices_of_mixed_kinds_as_text(tmp_path):
    """scikit-learn's ``max_features`` mixes text, numbers and None: pyarrow refused such a
    column ("Expected bytes, got a 'float' object") with a traceback and no file; the export
    writes each choice as text, None and an inactive value missing, other columns as they are."""
    path = tmp_path / "runs.db"
    space = {"max_features": jupyter_hpo.Categorical("sqrt", 0.5, None),
             "depth": jupyter_hpo.Categorical(None, 3),
             "leaf": jupyter_hpo.Int(1, 2, when={"depth": 3})}
    study = tune(lambda config: config.get("leaf", 0), space, metric="loss", searcher="grid",
                 storage=str(path), name="forest")
    written = hpo(tmp_path, "export", "forest", "forest.parquet", "--storage", str(path))
    assert written.returncode == 0, written.stderr
    frame = pd.read_parquet(tmp_path / "forest.parquet")
    as_text = {None: None, "sqrt": "sqrt", 0.5: "0.5"}
    for name, expected in (("max_features", lambda c: as_text[c["max_features"]]),
                           ("depth", lambda c: c["depth"]), ("leaf", lambda c: c.get("leaf"))):
        assert [None if pd.isna(v) else v for v in frame[f"config.{name}"]] == [
            expected(t.config) for t in study.trials], name
