"""A %%hpo cell that calls a training function of an earlier cell, which calls report(): the
cell reports through it (a real IPython shell, as tests/test_magic.py)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import jupyter_hpo
from jupyter_hpo.annotate import diagnose_cell

TRAIN = """
from jupyter_hpo import report
def train(lr, epochs=9):
    for epoch in range(1, epochs + 1):
        report(epoch=epoch, loss=(lr - 0.3) ** 2 + 1 / epoch)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    shell = ipython_shell
    shell.run_line_magic("load_ext", "jupyter_hpo")
    # loaded already by another module's tests (which may have taken `report` out since):
    # what %load_ext does in a fresh kernel
    jupyter_hpo.load_ipython_extension(shell)
    return shell


def define(ip, source: str) -> None:
    """Run ``source`` as a notebook cell (so its functions' sources are in linecache)."""
    result = ip.run_cell(source)
    assert result.success, result.error_in_exec


def run(ip, line: str, cell: str):
    ip.run_cell_magic("hpo", line, cell)
    return ip.user_ns["_hpo"]


@pytest.mark.parametrize("line,cell", [
    ("--trials 4 --scheduler hyperband --max-t 9", "lr = Real(0, 1)\ntrain(lr)\n"),
    # max_t 9 from `epochs = 9` in the cell
    ("--trials 4 --scheduler hyperband", "lr = Real(0, 1)\nepochs = 9\ntrain(lr, epochs)\n"),
    # max_t 9 from train's default, epochs=9, which the call leaves out
    ("--trials 4 --scheduler hyperband", "lr = Real(0, 1)\ntrain(lr)\n"),
    ("--trials 3", "lr = Real(0, 1)\nepochs = 9\ntrain(lr, epochs)\n"),  # FIFO
])
def test_a_notebook_function_that_calls_report_reports_for_the_cell(ip, capsys, line, cell):
    """The cell was refused: "the cell never calls report(): pass --metric NAME and --mode
    ..."."""
    define(ip, TRAIN)
    study = run(ip, f"{line} --seed 0 --quiet", cell)
    assert "minimising loss (--mode min inferred from its name)" in capsys.readouterr().out
    assert study.metric == "loss" and study.mode == "min"
    assert study.state == "finished"
    statuses = {t.status.value for t in study.trials}
    assert statuses <= {"completed", "stopped"}, [t.error for t in study.trials]
    assert max(len(t.reports) for t in study.trials) == 9
    assert all(t.reports[-1]["epoch"] == len(t.reports) for t in study.trials)
    if "hyperband" in line:
        assert "max_t 9" in study.scheduler.describe()
        assert "stopped" in statuses


def test_the_functions_it_calls_are_followed_and_recursion_ends(ip, capsys):
    define(ip, """
from jupyter_hpo import report
def score(lr, epoch):
    report(epoch=epoch, val_acc=1 - (lr - 0.3) ** 2 - 1 / epoch, phase="val")
def one_epoch(lr, epoch):
    score(lr, epoch)
def fit(lr, epoch=1):
    if epoch > 3:
        return
    one_epoch(lr, epoch)
    fit(lr, epoch + 1)  # recursion
""")
    study = run(ip, "--trials 3 --seed 0 --quiet", "lr = Real(0, 1)\nfit(lr)\n")
    assert "maximising val_acc" in capsys.readouterr().out
    assert study.metric == "val_acc" and study.mode == "max"
    assert [len(t.reports) for t in study.trials] == [3, 3, 3]


def test_a_call_deep_in_the_cell_and_through_a_partial_counts(ip):
    define(ip, TRAIN + "import functools\nshort = functools.partial(train, epochs=3)\n")
    study = run(ip, "--trials 2 --seed 0 --quiet",
                "lr = Real(0, 1)\nfor _ in range(1):\n    if True:\n        short(lr)\n")
    assert study.metric == "loss" and [len(t.reports) for t in study.trials] == [3, 3]


def test_the_resource_and_the_metric_are_checked_against_the_functions_keys(ip):
    define(ip, TRAIN)
    with pytest.raises(UsageError, match=r"--metric acc is not among the values the cell "
                                         r"reports \(loss\)"):
        run(ip, "--trials 2 --metric acc", "lr = Real(0, 1)\ntrain(lr)\n")
    define(ip, """
from jupyter_hpo import report
def train_steps(lr):
    for step in range(1, 4):
        report(step=step, loss=lr / step)
""")
    study = run(ip, "--trials 2 --seed 0 --quiet --scheduler hyperband --max-t 3",
                "lr = Real(0, 1)\ntrain_steps(lr)\n")
    assert study.resource == "step" and study.metric == "loss"


def test_a_function_whose_source_cannot_be_read_asks_for_the_metric(ip):
    define(ip, "from jupyter_hpo import report\n"
               "exec('def hidden(lr):\\n    for e in range(1, 3):\\n"
               "        report(epoch=e, loss=lr)\\n')\n")
    with pytest.raises(UsageError, match=r"the cell calls hidden\(\) at cell line 3, which "
                                         r"calls report\(\) but its source cannot be read.*"
                                         r"pass --metric NAME"):
        run(ip, "--trials 2", "lr = Real(0, 1)\nhidden(lr)\n")
    study = run(ip, "--trials 2 --seed 0 --quiet --metric loss --scheduler hyperband "
                    "--max-t 2", "lr = Real(0, 1)\nhidden(lr)\n")
    assert study.mode == "min" and [len(t.reports) for t in study.trials] == [2, 2]


def test_a_function_that_reports_through_double_star_asks_for_the_metric(ip):
    define(ip, "from jupyter_hpo import report\n"
               "def packed(lr):\n    report(**{'epoch': 1, 'loss': lr})\n")
    with pytest.raises(UsageError, match=r"calls packed\(\) at cell line 2, which calls "
                                         r"report\(\) passing its values through \*\*"):
        run(ip, "--trials 2", "packed(Real(0, 1, name='lr'))\n")


def test_a_function_with_its_own_report_is_not_taken_for_ours(ip):
    define(ip, "def train_own(lr):\n    report(loss=lr)\n")
    ip.user_ns["report"], kept = (lambda **values: None), ip.user_ns.get("report")
    try:
        with pytest.raises(UsageError, match="the cell never calls report"):
            run(ip, "--trials 2", "lr = Real(0, 1)\ntrain_own(lr)\n")
    finally:
        ip.user_ns["report"] = kept


def test_a_function_without_report_defined_says_what_to_import(ip):
    """The trials failed with a bare ``NameError: name 'report' is not defined``."""
    define(ip, "def train_bare(lr):\n    for e in range(1, 3):\n"
               "        report(epoch=e, loss=lr)\n")
    kept = ip.user_ns.pop("report", None)
    try:
        with pytest.raises(UsageError, match=r"the function train_bare \(cell In\[\d+\]\) "
                                             r"calls report, which the notebook does not "
                                             r"define.*add `from jupyter_hpo import report` "
                                             r"to that cell"):
            run(ip, "--trials 3 --seed 0", "lr = Real(0, 1)\ntrain_bare(lr)\n")
    finally:
        if kept is not None:
            ip.user_ns["report"] = kept


def test_load_ext_defines_report_where_the_name_is_free(ip):
    saved = {name: ip.user_ns.pop(name, None) for name in ("report", "checkpoint", "restore")}
    try:
        ip.user_ns["restore"] = "mine"
        jupyter_hpo.load_ipython_extension(ip)
        assert ip.user_ns["report"] is jupyter_hpo.report
        assert ip.user_ns["checkpoint"] is jupyter_hpo.checkpoint
        assert ip.user_ns["restore"] == "mine"  # the user's own variable is kept
        assert "report" in ip.user_ns_hidden  # not listed by %who
        result = ip.run_cell("report(loss=1)")
        assert result.success  # outside a study it records nothing, as without the extension
        jupyter_hpo.unload_ipython_extension(ip)
        assert "report" not in ip.user_ns and ip.user_ns["restore"] == "mine"
    finally:
        jupyter_hpo.load_ipython_extension(ip)  # the transformer back
        for name, value in saved.items():
            if value is not None:
                ip.user_ns[name] = value
            elif ip.user_ns.get(name) == "mine":
                del ip.user_ns[name]


def test_the_editor_diagnostics_do_not_read_the_notebook(ip):
    """No namespace there: a cell that calls a notebook function is neither an error nor
    different from before."""
    define(ip, TRAIN)
    diagnostics = diagnose_cell("lr = Real(0, 1)\ntrain(lr)\n")
    assert diagnostics.ok and [a.name for a in diagnostics.annotations] == ["lr"]


def test_a_metric_variable_the_cell_assigns_that_no_function_reports_is_the_result(ip):
    """``acc = train(lr, hpo=False)`` with --metric acc: train reports only when asked, so the
    cell's ``acc`` stays the result, as before functions counted."""
    define(ip, "from jupyter_hpo import report\n"
               "def train_maybe(lr, hpo=True):\n"
               "    if hpo:\n        report(epoch=1, loss=lr)\n"
               "    return 1 - lr\n")
    study = run(ip, "--trials 2 --seed 0 --quiet --metric acc --mode max",
                "lr = Real(0, 1)\nacc = train_maybe(lr, hpo=False)\n")
    assert [t.status.value for t in study.trials] == ["completed", "completed"]
    assert all(t.reports[-1]["acc"] == pytest.approx(1 - t.config["lr"]) for t in study.trials)
    with pytest.raises(UsageError, match=r"--metric acc is not among the values the cell "
                                         r"reports \(loss\)"):
        run(ip, "--trials 2 --metric acc", "lr = Real(0, 1)\ntrain_maybe(lr)\n")


def test_a_function_of_the_users_file_is_read_and_its_missing_import_named(ip, tmp_path,
                                                                          monkeypatch):
    (tmp_path / "hpo_fn_module.py").write_text(
        "def train_file(lr):\n    for e in range(1, 3):\n        report(epoch=e, loss=lr)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    define(ip, "from hpo_fn_module import train_file\n")
    with pytest.raises(UsageError, match=r"the function train_file \(.*hpo_fn_module\.py\) "
                                         r"calls report, which its module does not define"
                                         r".*add `from jupyter_hpo import report` to that "
                                         r"file") as refused:
        run(ip, "--trials 3 --seed 0", "lr = Real(0, 1)\ntrain_file(lr)\n")
    assert "the cell never calls report" not in str(refused.value)  # its keys were read


def test_decorated_functions_and_lambdas_are_read(ip):
    from jupyter_hpo.annotate import parse_cell

    define(ip, "import functools\nfrom jupyter_hpo import report\n"
               "def timed(fn):\n    @functools.wraps(fn)\n"
               "    def wrapper(*args, **kwargs):\n        return fn(*args, **kwargs)\n"
               "    return wrapper\n"
               "@timed\ndef decorated(lr):\n    report(epoch=1, val_f1=lr)\n"
               "lam = lambda lr: report(epoch=1, error=lr)\n")
    for called, key in (("decorated", "val_f1"), ("lam", "error")):
        template = parse_cell(f"lr = Real(0, 1)\n{called}(lr)\n", ip.user_ns)
        assert template.calls_report and template.reported_keys == ["epoch", key]
        assert [(f.lineno, f.called, f.function) for f in template.report_functions] \
            == [(2, called, called)]


def test_a_notebook_function_reports_from_a_worker_process(ip):
    """The function (and the notebook's ``report`` it calls) travels to the worker."""
    define(ip, "def train_anywhere(lr):\n    for e in range(1, 4):\n"
               "        report(epoch=e, loss=lr / e)\n")
    study = run(ip, "--trials 2 --seed 0 --quiet --executor process --workers 1 "
                    "--scheduler hyperband --max-t 3", "lr = Real(0, 1)\ntrain_anywhere(lr)\n")
    assert study.metric == "loss"
    assert {t.status.value for t in study.trials} <= {"completed", "stopped"}, \
        [t.error for t in study.trials]


def test_a_functions_default_gives_max_t_only_where_the_cell_leaves_it_out(ip):
    from jupyter_hpo.annotate import parse_cell

    define(ip, TRAIN + "def other(lr, epochs=5):\n    report(epoch=1, loss=lr)\n")
    assert parse_cell("lr = Real(0, 1)\ntrain(lr)\n", ip.user_ns).max_t == 9
    assert parse_cell("lr = Real(0, 1)\ntrain(lr, 3)\n", ip.user_ns).max_t is None
    assert parse_cell("lr = Real(0, 1)\ntrain(lr, epochs=3)\n", ip.user_ns).max_t is None
    assert parse_cell("lr = Real(0, 1)\nepochs = 4\ntrain(lr)\n", ip.user_ns).max_t == 4
    assert parse_cell("lr = Real(0, 1)\ntrain(lr)\nother(lr)\n", ip.user_ns).max_t is None
