"""``tune()`` in a plain ``python script.py``: what a script's objective sees and what its
failures show, with each executor (real interpreters, real SQLite)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jupyter_hpo
from jupyter_hpo import Int, Real, Study, TrialStatus, tune
from jupyter_hpo.errors import DuplicateStudyError, StudyNotFoundError

pytestmark = pytest.mark.timeout(120)

ROOT = str(Path(jupyter_hpo.__file__).resolve().parent.parent)


def run_script(path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Write ``source`` to ``path`` and run it as ``python path args...`` in its folder."""
    path.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, str(path), *args], check=False, cwd=path.parent,
                          env=env, capture_output=True, text=True, timeout=100)


FAILING = """\
    import sys
    from jupyter_hpo import Real, tune

    def objective(config):
        raise ValueError("the script's own error")

    tune(objective, {"x": Real(0, 1)}, metric="loss", trials=2, executor=sys.argv[1],
         storage="runs.db", name="failing", max_initial_failures=10)
"""


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_failing_objective_of_a_script_shows_the_scripts_line(tmp_path, executor):
    script = tmp_path / "train_script.py"
    done = run_script(script, FAILING, executor)
    assert done.returncode == 1, done.stderr
    trial = Study.load("failing", str(tmp_path / "runs.db")).trials[0]
    assert trial.status is TrialStatus.FAILED
    assert f'File "{script}", line 5, in objective' in trial.traceback
    assert 'raise ValueError("the script\'s own error")' in trial.traceback
    assert "<dynamic-code>" not in trial.traceback


READS_ARGV = """\
    import sys
    from jupyter_hpo import Real, tune

    def objective(config):
        return config["x"] * float(sys.argv[2])

    study = tune(objective, {"x": Real(0, 1)}, metric="loss", trials=2,
                 executor=sys.argv[1], seed=0)
    print([t.status.value for t in study.trials], [t.error for t in study.trials])
"""


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_an_objective_reads_the_scripts_command_line_in_each_executor(tmp_path, executor):
    done = run_script(tmp_path / "argv_script.py", READS_ARGV, executor, "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['completed', 'completed'] ['', '']"


def test_tune_with_a_taken_name_says_how_in_python_and_the_command_it_gives_works(tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    space = {"x": Real(0, 1)}
    tune(lambda config: config["x"], space, metric="loss", trials=2, storage="runs.db",
         name="mlp")
    with pytest.raises(DuplicateStudyError) as taken:
        tune(lambda config: config["x"], space, metric="loss", trials=2, storage="runs.db",
             name="mlp")
    message = str(taken.value)
    assert "continue it with tune(..., name='mlp', resume=True), pick another name=" in message
    assert "%hpo" not in message and "--name" not in message
    assert len(Study.load("mlp", "runs.db").trials) == 2
    command = shlex.split(message.split("remove it with ")[1])
    assert command[:3] == ["python", "-m", "jupyter_hpo"]
    env = {**os.environ, "PYTHONPATH": ROOT}
    subprocess.run([sys.executable, *command[1:]], check=True, env=env, timeout=60)
    assert len(tune(lambda config: config["x"], space, metric="loss", trials=3,
                    storage="runs.db", name="mlp").trials) == 3


def test_resuming_a_study_that_is_not_stored_says_how_to_start_it(tmp_path):
    with pytest.raises(StudyNotFoundError, match=r"no study named 'new'.*; to start a new "
                                                 r"study, leave out resume=True$"):
        tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", trials=2,
             storage=str(tmp_path / "runs.db"), name="new", resume=True)


def test_study_load_of_a_missing_file_says_the_file_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_HPO_STORAGE", raising=False)
    with pytest.raises(StudyNotFoundError, match=rf"^no study named 'mlp' in "
                                                 rf"{re.escape(str(tmp_path / 'typo.db'))}, "
                                                 rf"which does not exist: .*pass the file it "
                                                 rf"was stored in"):
        Study.load("mlp", "typo.db")
    with pytest.raises(StudyNotFoundError, match=r"jupyter_hpo\.db \(the default file\), which "
                                                 r"does not exist"):
        Study.load("mlp")
    assert os.listdir(tmp_path) == []


def train_by_name(lr, units):
    return lr * units


def test_an_objective_taking_the_hyperparameters_by_name_is_told_how_to_pass_them():
    space = {"lr": Real(0, 1), "units": Int(1, 3)}
    with pytest.raises(TypeError) as refused:
        tune(train_by_name, space, metric="loss", trials=2)
    hint = "pass lambda config: train_by_name(**config) as the objective"
    assert str(refused.value).endswith(f"its hyperparameters (lr, units) as keyword "
                                       f"arguments, {hint}")
    study = tune(lambda config: train_by_name(**config), space, metric="loss", trials=2)
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETED] * 2
