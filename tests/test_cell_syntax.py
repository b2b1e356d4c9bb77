"""What notebook cells put under %%hpo besides plain Python: IPython's line magics, shell
escapes and help syntax, run in each trial as they run in a cell (a real IPython shell)."""

from __future__ import annotations

import queue

import pytest
from IPython.core.error import UsageError
from jupyter_client.manager import start_new_kernel
from test_kernel import execute


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def run(ip, line: str, cell: str):
    """Run a %%hpo cell and return its study."""
    ip.run_cell_magic("hpo", f"--quiet --seed 0 {line}", cell)
    return ip.user_ns["_hpo"]


def test_time_runs_a_comprehension_against_the_trials_variables(ip):
    """``%time`` ran its line with the notebook's namespace as globals, so a comprehension
    (its own scope) read the notebook's ``x``, not the trial's: NameError (IPython 9) or a
    printed traceback and no ``y`` (IPython 8)."""
    ip.user_ns.pop("x", None)
    study = run(ip, "--trials 2 --metric y --mode min",
                "x = Real(0, 1)\n%time y = sum([x * i for i in range(3)])\n")
    assert [t.status.value for t in study.trials] == ["completed", "completed"]
    assert all(t.reports[-1]["y"] == pytest.approx(3 * t.config["x"]) for t in study.trials)


def test_timeit_leaves_the_trials_variables_out_of_the_notebook(ip):
    """``%timeit`` copied the caller's variables into the notebook's namespace: each trial's
    (its ``report``, ``trial``, ``config`` and the cell's own) landed in the notebook, also
    with --no-apply, and trials running at once timed each other's."""
    for name in ("only_in_trials", "report", "trial", "config"):
        ip.user_ns.pop(name, None)
    study = run(ip, "--trials 2 --workers 2 --metric y --mode min --no-apply",
                "x = Real(0, 1)\nonly_in_trials = x\n%timeit -n1 -r1 only_in_trials * 2\n"
                "y = x\n")
    assert [t.status.value for t in study.trials] == ["completed", "completed"]
    assert "ms per loop" in study.trial_output(0) or "s per loop" in study.trial_output(0)
    assert not {"only_in_trials", "report", "trial", "config"} & ip.user_ns.keys()


def test_magics_see_the_trials_namespace_and_shell_escapes_its_variables(ip):
    """``%who`` lists the trial's variables, ``!echo {x}`` expands the trial's ``x`` and
    ``files = !ls`` binds in the trial; the notebook's ``get_ipython`` is not replaced."""
    ip.user_ns.pop("files", None)
    study = run(ip, "--trials 1 --metric n --mode min",
                "x = Real(0, 1)\nmarker_in_trial = 1\n%who\n!echo shell {x}\n"
                "files = !echo a; echo b\nn = len(files) + x\n")
    trial = study.trials[0]
    output = study.trial_output(trial.trial_id)
    assert trial.status.value == "completed", trial.error
    assert "marker_in_trial" in output and f"shell {trial.config['x']}" in output
    assert trial.reports[-1]["n"] == pytest.approx(2 + trial.config["x"])
    assert ip.user_ns["files"] == ["a", "b"]  # the best trial's variables, applied
    assert ip.user_ns["get_ipython"].__self__ is ip


@pytest.mark.parametrize(("line", "shown"), [
    ("%time y = x + 1", "cell line 3, %time y = x + 1, is IPython syntax"),
    ("!echo hi", "cell line 3, !echo hi, is IPython syntax"),
    ("files = !ls", "cell line 3, !ls, is IPython syntax"),
])
def test_ipython_syntax_with_process_workers_is_refused_at_its_line(ip, line, shown):
    """Worker processes have no IPython: the error named the shell's ``get_ipython``, which
    the cell never wrote ("the notebook variable 'get_ipython' ... Create it inside the
    cell")."""
    with pytest.raises(UsageError) as info:
        run(ip, "--trials 1 --executor process --metric y --mode min",
            f"x = Real(0, 1)\n{line}\ny = x\n")
    assert str(info.value).startswith(shown)
    assert "--executor thread" in str(info.value) and "get_ipython" not in str(info.value)


def test_input_in_a_trial_fails_it_instead_of_waiting_for_an_answer():
    """A real kernel whose client never answers, as when no one is at the notebook: the
    trial's input() sent an input request from its worker thread and waited for ever, so the
    cell never ended (and trials asking at once raced on the kernel's stdin socket)."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        execute(kc, "%load_ext jupyter_hpo")
        reply, _ = execute(kc, "%%hpo --quiet --trials 2 --metric y --mode min\nx = Real(0, 1)\n"
                               "answer = input('value? ')\ny = x\n", timeout=60)
        assert reply["status"] == "error"
        assert "input('value? ') in a trial: trials run unattended" in reply["evalue"]
        with pytest.raises(queue.Empty):
            kc.get_stdin_msg(timeout=0.1)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_exit_in_a_trial_fails_it_instead_of_shutting_the_kernel_down(ip, executor):
    """A trial read the notebook's ``exit``/``quit``, IPython's, which asks the kernel to shut
    down: the trial went on (and completed), and the kernel died a moment later with the
    study. Now each call fails its trial and says what to write instead."""
    from IPython.core.autocall import ExitAutocall

    assert isinstance(ip.user_ns["exit"], ExitAutocall)
    try:
        with pytest.raises(UsageError) as info:
            run(ip, f"--trials 2 --metric y --mode min --executor {executor}",
                "x = Real(0, 1)\nif x >= 0:\n    quit()\ny = x\n")
        assert "quit() in a trial: in a notebook it shuts the kernel down" in str(info.value)
        assert ip.exit_now is False
    finally:
        ip.exit_now = False


def test_a_variable_named_input_stays_the_cells_or_the_notebooks(ip):
    """``input`` as a variable (a model's input batch) is the notebook's or the cell's own: the
    trial reads the notebook's, and the best trial's own is applied, never the trial's guard."""
    ip.user_ns["input"] = 2.0
    try:
        study = run(ip, "--trials 2 --metric y --mode min", "x = Real(0, 1)\ny = x * input\n")
        assert [t.status.value for t in study.trials] == ["completed", "completed"]
        assert ip.user_ns["input"] == 2.0
        del ip.user_ns["input"]
        study = run(ip, "--trials 2 --metric y --mode min",
                    "x = Real(0, 1)\ninput = [x]\ny = input[0]\n")
        assert ip.user_ns["input"] == [study.best_config["x"]]
        del ip.user_ns["input"]
        study = run(ip, "--trials 2 --metric y --mode min",
                    "x = Real(0, 1)\nif x > 1:\n    input()\ny = x\n")
        assert [t.status.value for t in study.trials] == ["completed", "completed"]
        assert "input" not in ip.user_ns
    finally:
        ip.user_ns.pop("input", None)
