"""The %%hpo / %hpo magics in a real IPython shell (IPython.testing.globalipapp)."""

from __future__ import annotations

import re

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import jupyter_hpo
from jupyter_hpo import Real, Study, TrialStatus
from jupyter_hpo.magic import parse_cell_options, parse_duration

TOY = """
x = Real(0.1, 10, log=True)
act = Categorical("a", "b")
epochs = 9
history = []
for epoch in range(1, epochs + 1):
    acc = 1 - 1 / (epoch * x + 1) + (0.01 if act == "a" else 0.0)
    history.append(acc)
    report(epoch=epoch, val_acc=acc)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    shell = ipython_shell
    shell.run_line_magic("load_ext", "jupyter_hpo")
    return shell


def run(ip, line: str, cell: str):
    """Run a %%hpo cell and return the study it bound."""
    ip.run_cell_magic("hpo", line, cell)
    out = line.split("-o ", 1)[1].split()[0] if "-o " in line else "_hpo"
    return ip.user_ns[out]


def test_hyperband_cell_runs_and_applies_best(ip):
    for name in ("x", "act", "history", "acc"):
        ip.user_ns.pop(name, None)
    study = run(ip, "--scheduler hyperband --trials 30 --workers 4 --seed 0 --quiet", TOY)
    assert isinstance(study, Study) and study.state == "finished"
    assert len(study.trials) == 30
    assert study.counts()["stopped"] > 0
    assert study.metric == "val_acc" and study.mode == "max"
    best = study.best_trial
    assert ip.user_ns["x"] == best.config["x"] and ip.user_ns["act"] == best.config["act"]
    # The whole namespace of the best trial is applied, not only the hyperparameters.
    assert ip.user_ns["history"][-1] == pytest.approx(best.last("val_acc"))
    for name in ("trial", "device", "__hpo_config__", "__hpo_result__"):
        assert name not in ip.user_ns
    # `report` is the one %load_ext defined (for the notebook's own training functions)
    assert ip.user_ns.get("report", jupyter_hpo.report) is jupyter_hpo.report


def test_metric_and_mode_inferred_and_printed(ip, capsys):
    run(ip, "--trials 2 --quiet", "u = Real(0, 1)\nreport(train_loss=u)\n")
    assert "minimising train_loss" in capsys.readouterr().out
    assert ip.user_ns["_hpo"].mode == "min"


def test_a_refused_cell_prints_no_inferred_mode_before_its_error(ip, capsys):
    with pytest.raises(UsageError, match="which is outside Real"):
        ip.run_cell_magic("hpo", "--trials 2 --quiet --enqueue '{\"u\": 5}'",
                          "u = Real(0, 1)\nreport(train_loss=u)\n")
    assert "minimising" not in capsys.readouterr().out


@pytest.mark.parametrize("line,cell,metric", [
    ("--metric val_acc", "m = {'epoch': 1, 'val_acc': u}\nreport(**m)\n", "val_acc"),
    ("--metric val_acc", "report(epoch=1, loss=1 - u, **{'val_acc': u})\n", "val_acc"),
    ('--metric "val acc"', "report(epoch=1, **{'val acc': u})\n", "val acc"),
    ("--scheduler hyperband --max-t 3 --metric acc",
     "for e in range(1, 4):\n    report(**{'epoch': e, 'acc': u * e})\n", "acc"),
])
def test_values_passed_to_report_through_double_star_are_not_refused(ip, line, cell, metric):
    """report(**values) hides its keys until the cell runs: the keys written out beside it
    were taken for all of them ("--metric val_acc is not among the values the cell reports
    (loss)")."""
    study = run(ip, f"--trials 2 --quiet --seed 0 {line}", "u = Real(0, 1)\n" + cell)
    assert study.metric == metric and study.counts()["failed"] == 0
    assert all(t.reports and metric in t.reports[-1] for t in study.trials)


def test_without_metric_a_double_star_report_asks_for_it(ip):
    for cell, besides in (("report(**m)\n", ""), ("report(a=u, b=u, **m)\n", " (besides a, b)")):
        with pytest.raises(UsageError) as caught:
            ip.run_cell_magic("hpo", "--trials 1 --quiet", "u = Real(0, 1)\nm = {}\n" + cell)
        assert str(caught.value) == (f"the cell passes values to report() through **{besides}, "
                                     f"so the metric to optimise is not known before it runs: "
                                     f"pass --metric NAME")


def test_mode_is_also_taken_as_tune_spells_it(ip):
    for given, mode in (("maximize", "max"), ("MIN", "min"), ("maximise", "max")):
        assert run(ip, f"--trials 1 --quiet --mode {given}",
                   "u = Real(0, 1)\nreport(value=u)\n").mode == mode
    with pytest.raises(UsageError, match=r"argument --mode: invalid choice: 'best' \(choose "
                                         r"from 'min', 'max'\)"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --mode best", "u = Real(0, 1)\n")


def test_output_name_and_no_apply(ip):
    ip.user_ns["w"] = "untouched"
    study = run(ip, "--trials 3 --quiet -o mystudy --no-apply", "w = Real(0, 1)\nreport(score=w)\n")
    assert ip.user_ns["mystudy"] is study and ip.user_ns["w"] == "untouched"


@pytest.mark.parametrize("line, cell, what, lineno", [
    ("-o x", "x = Real(0, 1)\nreport(score=x)\n", "the hyperparameter x", 2),
    ("-o lr --executor process", "lr = 0.1  # hpo: Real(0, 1)\nreport(score=lr)\n",
     "the hyperparameter lr", 2),
    ("-o model", "x = Real(0, 1)\nmodel = [x]\nreport(score=x)\n", "model", 3),
    ("-o math", "import math\nx = Real(0, 1)\nreport(score=math.sqrt(x))\n", "math", 2),
    ("-o i", "x = Real(0, 1)\nfor i in range(2):\n    report(epoch=i + 1, score=x)\n", "i", 3),
])
def test_an_output_name_the_cell_sets_is_refused_before_any_trial(ip, line, cell, what, lineno):
    """Applying the best trial set the cell's variable after the study was bound to it: -o x
    left the best x in x, and the study was in no variable at all."""
    before = ip.user_ns.get("_hpo")
    name = line.split()[1]
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--trials 2 --quiet {line}", cell)
    assert str(info.value) == (
        f"-o {name}: the cell sets {what} (cell line {lineno}), and applying the best trial puts "
        f"the cell's {name} into the notebook after the study, which would not stay in {name}: "
        f"pick another name for the study (-o study) or add --no-apply")
    assert ip.user_ns.get("_hpo") is before


def test_an_output_name_the_cell_does_not_set_in_the_notebook_is_kept(ip):
    cell = ("x = Real(0, 1)\ndef f():\n    study = x\n    return study\n"
            "model = [x]\nreport(score=f())\n")
    assert isinstance(run(ip, "--trials 2 --quiet -o study", cell), Study)
    assert isinstance(run(ip, "--trials 2 --quiet -o model --no-apply", cell), Study)
    cell = "x = Real(0, 1)\nmodel = [x]\nreport(score=x)\n"  # process workers send it back
    with pytest.raises(UsageError, match=r"-o model: the cell sets model \(cell line 3\)"):
        ip.run_cell_magic("hpo", "--trials 2 --quiet -o model --executor process", cell)


def test_cell_without_report_uses_metric_variable(ip):
    study = run(ip, "--trials 8 --metric y --mode min --seed 1 --quiet",
                "x = 1.0  # hpo: Real(-2, 2)\ny = (x - 0.5) ** 2\n")
    assert study.best_value == min(t.last("y") for t in study.trials)
    assert ip.user_ns["x"] == study.best_config["x"]


def test_cell_without_report_or_metric_optimises_the_variable_its_last_line_assigns(ip, capsys):
    study = run(ip, "--trials 6 --seed 2 --quiet",
                "x = Real(-2, 2)\nval_loss = (x - 0.5) ** 2\n")
    assert "minimising val_loss (the variable the cell's last line assigns" in \
        capsys.readouterr().out
    assert study.metric == "val_loss" and study.mode == "min"
    assert [t.last("val_loss") for t in study.trials] == \
        [(t.config["x"] - 0.5) ** 2 for t in study.trials]
    study = run(ip, "--trials 3 --mode max --quiet", "x = Real(0, 1)\ngain = x\ngain *= 2\n")
    assert "optimising gain, the variable the cell's last line assigns" in \
        capsys.readouterr().out
    assert study.best_value == max(2 * t.config["x"] for t in study.trials)
    with pytest.raises(UsageError, match="its result is 'model', the variable its last line "
                                         "assigns; cannot tell whether to minimise or "
                                         "maximise it: pass --mode"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet", "x = Real(0, 1)\nmodel = x\n")
    with pytest.raises(UsageError, match="never calls report"):  # the last line is the space
        ip.run_cell_magic("hpo", "--trials 1 --quiet", "y = 2\nx = Real(0, 1)\n")


def test_a_cell_that_ends_with_the_variable_it_assigns_optimises_it(ip, capsys):
    """``score = cross_val_score(...).mean()`` then ``score`` on the last line, as a notebook
    cell shows its result, was refused with "pass --metric NAME and --mode"."""
    study = run(ip, "--trials 4 --seed 0 --quiet", "x = Real(0, 1)\nscore = 1 - (x - 0.4) ** 2\nscore\n")
    assert "maximising score (the variable the cell ends with; --mode max inferred" in \
        capsys.readouterr().out
    assert study.metric == "score" and study.mode == "max"
    assert [t.last("score") for t in study.trials] == \
        [1 - (t.config["x"] - 0.4) ** 2 for t in study.trials]
    assert ip.user_ns["score"] == study.best_value
    with pytest.raises(UsageError, match="its result is 'model', the variable it ends with; "
                                         "cannot tell whether to minimise or maximise it"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet", "x = Real(0, 1)\nmodel = x\nmodel\n")
    ip.user_ns["outside"] = 3.0  # a notebook variable the cell never assigns is no result
    with pytest.raises(UsageError, match="never calls report"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet", "x = Real(0, 1)\nloss = x\noutside\n")
    with pytest.raises(UsageError, match="never calls report"):  # a hyperparameter is none
        ip.run_cell_magic("hpo", "--trials 1 --quiet", "x = Real(0, 1)\nloss = x\nx\n")


def test_a_metric_given_as_the_resource_is_pointed_out(ip):
    """``--resource loss`` where ``--metric loss`` was meant left 'epoch' as the metric, and
    the refusal only asked for --mode."""
    cell = "x = Real(0, 1)\nfor epoch in range(3):\n    report(epoch=epoch, loss=x)\n"
    with pytest.raises(UsageError, match=r"maximise 'epoch': pass --mode min or --mode max "
                                         r"\(--resource loss makes 'loss' the count of training "
                                         r"progress, .* did you mean --metric loss\?\)"):
        ip.run_cell_magic("hpo", "--resource loss --trials 1 --quiet --storage none", cell)
    with pytest.raises(UsageError, match=r"maximise 'thing': pass --mode min or --mode max$"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --storage none",
                          cell.replace("loss=", "thing="))


def test_the_cell_reads_its_trial_id_and_config(ip):
    study = run(ip, "--trials 3 --seed 0 --quiet --metric loss",
                "x = Real(0, 1)\nreport(loss=x, id_seen=trial.id, x_seen=config['x'])\n")
    for t in study.trials:
        assert t.last("id_seen") == t.trial_id == t.id
        assert t.last("x_seen") == t.config["x"]


def test_cell_without_report_uses_last_expression(ip):
    study = run(ip, "--trials 4 --metric value --mode max --quiet",
                "k = Int(1, 5)\nk * 10\n")
    assert {t.last("value") for t in study.trials} == {10.0 * t.config["k"] for t in study.trials}


def test_a_cell_result_that_is_not_one_number_says_what_it_was(ip):
    ip.run_cell("import numpy as np")
    cases = [
        ("--metric acc --mode max", "acc = np.array([C, 2 * C])",
         (r"the cell never calls report\(\), so its result is the cell's variable 'acc', which "
         r"is array\(\[.*\]\) \(ndarray\), but must be one number, not an array of shape "
         r"\(2,\): assign e.g. acc = value.mean\(\).item\(\)")),
        ("--metric acc --mode max", "np.array([C])",
         (r"its result is the cell's last expression, which is array\(\[.*\]\) \(ndarray\), "
         r"but must be one number, not an array of shape \(1,\): end the cell with e.g. "
         r"value.item\(\)")),
        ("--metric acc --mode max", "label = 'high'",
         (r"--metric acc: the cell never calls report\(\), does not end with an expression and "
          r"never assigns acc, so no trial would have a result \(a notebook variable acc is "
          r"not one\)")),
        ("--metric acc --mode max", "if C > 2:\n    acc = C",
         r"the cell never calls report\(\) and produced no number for 'acc'"),
    ]
    ip.user_ns["acc"] = 0.5  # the notebook's own acc is never a trial's result
    for line, last, message in cases:
        with pytest.raises(UsageError, match=message):
            ip.run_cell_magic("hpo", f"--trials 2 --quiet {line}",
                              f"C = Real(0.1, 1)\n{last}\n")
    # a line magic may assign it: the cell runs, with its own acc as the result
    study = run(ip, "--trials 2 --quiet --metric acc --mode max",
                "C = Real(0.1, 1)\n%time acc = 2 * C\ndone = True\n")
    assert [t.last("acc") for t in study.trials] == [2 * t.config["C"] for t in study.trials]
    with pytest.raises(UsageError, match=r"pass --metric NAME and --mode min or max, where NAME "
                                         r"is a variable the cell assigns or any name for the "
                                         r"value of its last expression"):
        ip.run_cell_magic("hpo", "--trials 2 --quiet", "C = Real(0.1, 1)\nC * 2\n")


def test_a_trial_that_leaves_the_notebooks_metric_variable_unassigned_fails(ip):
    # the cell reads acc (so the notebook's acc stays in reach) and assigns it on one path
    ip.user_ns["acc"] = 0.93
    study = run(ip, "--trials 6 --quiet --metric acc --mode max --searcher random --seed 3",
                "C = Real(0, 1)\nprint('before:', acc)\nif C > 0.5:\n    acc = 2 * C\n")
    for t in study.trials:
        if t.config["C"] > 0.5:
            assert t.status is TrialStatus.COMPLETED and t.last("acc") == 2 * t.config["C"]
        else:
            assert t.status is TrialStatus.FAILED
            assert ("but this trial did not assign it: it still holds the notebook's own 0.93, "
                    "which the cell reads") in t.error
            assert "Assign acc on every path, or call report(acc=...)" in t.error
    assert {t.status for t in study.trials} == {TrialStatus.COMPLETED, TrialStatus.FAILED}
    assert ip.user_ns["acc"] != 0.93  # the best trial's own acc was applied
    # a count the cell assigns may be the very int object the notebook holds: still a result
    ip.user_ns["errors"] = 0
    study = run(ip, "--trials 2 --quiet --metric errors --mode min",
                "C = Real(0, 1)\nprint(errors)\nerrors = int(C > 2)\n")
    assert [t.last("errors") for t in study.trials] == [0, 0]


def test_grid_runs_whole_grid(ip):
    study = run(ip, "--searcher grid --quiet",
                "a = Categorical(1, 2, 3)\nb = Bool()\nreport(score=a + b)\n")
    assert sorted((t.config["a"], t.config["b"]) for t in study.trials) == \
        sorted((a, b) for a in (1, 2, 3) for b in (False, True))


@pytest.mark.parametrize("line, cell, message", [
    ("--quiet", "x = Real(1, 0)\nreport(acc=x)\n", "cell line 2"),
    ("--quiet --scheduler fifo --grace-period 2", "x = Real(0, 1)\nreport(acc=x)\n",
     "--grace-period only applies to --scheduler auto and hyperband"),
    ("--quiet --scheduler fifo --max-t 5", "x = Real(0, 1)\nreport(acc=x)\n",
     "--max-t only applies to --scheduler auto and hyperband"),
    ("--quiet --grace-period 2", "x = Real(0, 1)\nreport(acc=x)\n",
     "early stopping needs --max-t"),
    ("--quiet --bogus", "x = Real(0, 1)\nreport(acc=x)\n", "unrecognized arguments"),
    ("--quiet --trails 5 --sedd=3", "x = Real(0, 1)\nreport(acc=x)\n",
     ("unrecognized arguments: --trails 5 --sedd=3; did you mean --trials instead of "
      "--trails, --seed instead of --sedd? (%%hpo? lists the options)")),
    ("--quiet --scheduler hyperband", "x = Real(0, 1)\nreport(epoch=1, acc=x)\n",
     "epochs = N"),
    ("--quiet --scheduler hyperband --max-t 3", "x = Real(0, 1)\ny = x\n",
     "never calls report"),
    ("--quiet", "x = Real(0, 1)\nreport(epoch=1, foo=x)\n", "pass --mode min or --mode max"),
    ("--quiet", "x = Real(0, 1)\nreport(loss=x, acc=x)\n", "pick the one to optimise"),
    ("--quiet --metric nope", "x = Real(0, 1)\nreport(acc=x)\n", "not among the values"),
    ("--quiet --metric loss", "x = Real(0, 1)\nreport(epoch=1, los=x)\n",
     ("--metric loss is not among the values the cell reports (los): did you mean "
      "report(loss=...) instead of los=... in the cell, or --metric los?")),
    ("--quiet --metric val_acc", "x = Real(0, 1)\nreport(epoch=1, val_accuracy=x)\n",
     ("--metric val_acc is not among the values the cell reports (val_accuracy): did you mean "
      "report(val_acc=...) instead of val_accuracy=... in the cell, or --metric "
      "val_accuracy?")),
    ("--quiet --metric epoch --mode max", "x = Real(0, 1)\nreport(epoch=1, loss=x)\n",
     ("--metric epoch is the resource (the progress report() counts, --resource epoch), not a "
      "result to optimise: the cell's other values are loss")),
    ("--quiet --resource step", "x = Real(0, 1)\nreport(epoch=1, loss=x)\n",
     "--resource step is not among the values the cell reports (epoch, loss)"),
    ("--quiet", "x = 3\nreport(acc=x)\n", "no hyperparameters"),
    ("--quiet --time-limit 3x", "x = Real(0, 1)\nreport(acc=x)\n", "not a duration"),
    ("--quiet --address tcp://127.0.0.1:1", "x = Real(0, 1)\nreport(acc=x)\n",
     "--address applies to --executor dask, but the executor is thread"),
    ("--quiet --trial-timeout 0", "x = Real(0, 1)\nreport(acc=x)\n",
     "--trial-timeout '0' must be longer than 0 seconds"),
    ("--quiet --gpus-per-trial 0.3", "x = Real(0, 1)\nreport(acc=x)\n",
     "--gpus-per-trial is 0.3, but must be a whole number or a fraction 1/k"),
    ("--quiet --cpus-per-trial -1", "x = Real(0, 1)\nreport(acc=x)\n",
     "--cpus-per-trial is -1.0, but must be > 0"),
    ("--quiet --workers 0", "x = Real(0, 1)\nreport(acc=x)\n", "--workers is 0"),
    ("--quiet", "x = Real(0, 1)\nfor step in range(3):\n    trial.report(x, step)\nx\n",
     ("the cell never calls report(): cell line 4 calls trial.report(...), Optuna's way; here "
      "each trial calls report() itself, with its values by name: report(epoch=step, "
      "loss=value)")),
    ("--quiet", "x = Real(0, 1)\ntune.report(loss=x)\n",
     "cell line 3 calls tune.report(...), Ray Tune's way; here each trial calls report()"),
    ("--quiet --workers -1", "x = Real(0, 1)\nreport(acc=x)\n",
     ("--workers is -1, but must be an integer >= 1 (-1 for every CPU is joblib's and "
      "Optuna's n_jobs convention; here give the number of trials to run at once, e.g. ")),
    ("--quiet --searcher nope", "x = Real(0, 1)\nreport(acc=x)\n", "searcher is 'nope'"),
    ("--quiet --scheduler hyperband --max-t 9 --reduction-factor 1",
     "x = Real(0, 1)\nreport(epoch=1, acc=x)\n", "--reduction-factor is 1.0, but must be >= 2"),
    ("--quiet --scheduler-opt min_pairs", "x = Real(0, 1)\nreport(acc=x)\n",
     "--scheduler-opt 'min_pairs' must look like KEY=VALUE, e.g. min_pairs=8"),
    ("--quiet --max-t 9 --scheduler-opt min_pair=4",
     "x = Real(0, 1)\nreport(epoch=1, acc=x)\n",
     ("--scheduler auto does not take --scheduler-opt min_pair=... (its options: --max-t, "
      "--grace-period, --reduction-factor, --seed; --scheduler-opt min_pairs, full_fraction, "
      "rho_low, rho_high, unmeasured_keep, prior_pairs, extrapolate, curve_model); did "
      "you mean min_pairs instead of min_pair?")),
    ("--quiet --scheduler fifo --scheduler-opt foo=1 --scheduler-opt bar=2",
     "x = Real(0, 1)\nreport(acc=x)\n",
     ("--scheduler fifo does not take --scheduler-opt bar=..., --scheduler-opt foo=... (its "
      "options: --seed)")),
    ("--quiet --max-t 9 --scheduler-opt min_pairs=2",
     "x = Real(0, 1)\nreport(epoch=1, acc=x)\n",
     "--scheduler-opt min_pairs is 2, but must be an integer >= 3"),
    ("--quiet --scheduler fifo --scheduler-opt full_fraction=0.2",
     "x = Real(0, 1)\nreport(acc=x)\n",
     "--scheduler-opt full_fraction only applies to --scheduler auto"),
    ("--quiet --max-t 9 --grace-period 2 --scheduler-opt grace_period=3",
     "x = Real(0, 1)\nreport(epoch=1, acc=x)\n",
     "--scheduler-opt grace_period=... and --grace-period both set grace_period: keep one"),
    ("--quiet --max-t 9 --scheduler-opt resource=step",
     "x = Real(0, 1)\nreport(epoch=1, acc=x)\n",
     "; --resource is set for the whole study, not here: tune(resource=...), %%hpo --resource"),
    ("--quiet --searcher-opt seed=3", "x = Real(0, 1)\nreport(acc=x)\n",
     "; --seed is set for the whole study, not here: tune(seed=...), %%hpo --seed"),
    ("--quiet \u2014trials 3", "x = Real(0, 1)\nreport(acc=x)\n",
     ("unrecognized arguments: \u2014trials 3; did you mean --trials instead of \u2014trials "
      "(\u2014 is a dash that an editor or a chat app made of --: type two hyphens)?")),
    ("--quiet --name \u201cmy study\u201d", "x = Real(0, 1)\nreport(acc=x)\n",
     ("unrecognized arguments: study\u201d; the line has typographic quotes (\u201c \u201d), "
      "which are not quotes here: write straight ones, \" or '")),
    ("--quiet --mode \u2018max\u2019", "x = Real(0, 1)\nreport(acc=x)\n",
     "the line has typographic quotes (\u2018 \u2019)"),
    ("--quiet --enqueue '{\u201cx\u201d: 0.5}'", "x = Real(0, 1)\nreport(acc=x)\n",
     ("must be a dict of hyperparameter values, e.g. --enqueue '{\"lr\": 0.01}'; it has "
     "typographic quotes (\u201c \u201d)")),
    ("--quiet --enqueue '{\"x\": 0.5}' --enqueue '{\"x\": 5}'", "x = Real(0, 1)\nreport(acc=x)\n",
     "--enqueue number 2 has x=5, which is outside Real(0, 1"),
    # a blank metric was named as an empty word: "never assigns , so no trial ..."
    ("--quiet --metric ''", "x = Real(0, 1)\nloss = x\n",
     ("--metric is '', but must be the name of the value to optimise, as the cell reports or "
      "assigns it: e.g. --metric val_loss")),
    ("--quiet --metric ' '", "x = Real(0, 1)\nreport(acc=x)\n", "--metric is ' ', but must be"),
    # argparse reads a value that starts with - as an option: "expected one argument" alone
    ("--quiet --time-limit -5s", "x = Real(0, 1)\nreport(acc=x)\n",
     ("argument --time-limit: expected one argument (-5s starts with -, so it was read as an "
      "option: write --time-limit=-5s to give it as the value)")),
    ("--quiet --name -x", "x = Real(0, 1)\nreport(acc=x)\n", "write --name=-x to give it"),
    # an empty --storage kept nothing, as --storage none does, without a word
    ("--quiet --storage ''", "x = Real(0, 1)\nreport(acc=x)\n",
     ("--storage is '': pass the file to keep the study in (--storage runs.db), or --storage "
      "none to keep nothing")),
    ("--quiet --storage ' '", "x = Real(0, 1)\nreport(acc=x)\n", "--storage is ' ': pass"),
    # a searcher's options were named bare ("searcher 'grid' does not take these options:
    # point", "points is 0"), where a scheduler's say --scheduler-opt
    ("--quiet --searcher grid --searcher-opt point=3", "x = Real(0, 1)\nreport(acc=x)\n",
     ("--searcher grid does not take --searcher-opt point=... (its options: points, shuffle, "
      "debug_log); did you mean points instead of point?")),
    ("--quiet --searcher random --searcher-opt points=3 --searcher-opt shuffle=1",
     "x = Real(0, 1)\nreport(acc=x)\n",
     ("--searcher random does not take --searcher-opt points=..., --searcher-opt shuffle=... "
      "(its options: debug_log)")),
    ("--quiet --searcher grid --searcher-opt points=0", "x = Real(0, 1)\nreport(acc=x)\n",
     "--searcher-opt points is 0, but must be an integer >= 1"),
])
def test_bad_options_are_usage_errors(ip, line, cell, message):
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError, match=None) as info:
        ip.run_cell_magic("hpo", line, cell)
    assert message in str(info.value)
    assert ip.user_ns.get("_hpo") is before  # nothing ran, nothing was replaced


def test_gpus_per_trial_without_a_gpu_says_to_drop_the_flag(ip, monkeypatch):
    from jupyter_hpo.resources import FAKE_GPUS_ENV

    monkeypatch.setenv(FAKE_GPUS_ENV, "0")  # a machine without GPUs, also where one has them
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --gpus-per-trial 1", "x = Real(0, 1)\nreport(acc=x)\n")
    assert "--gpus-per-trial is 1, which needs a GPU, but none was found" in str(info.value)
    assert "drop --gpus-per-trial to run on the CPU" in str(info.value)


def test_hpo_below_the_first_line_says_to_move_it_to_the_top(ip, capsys):
    ip.user_ns.pop("below", None)
    result = ip.run_cell("# tune the learning rate\n%%hpo --trials 2 --metric loss\n"
                         "x = Real(0, 1)\nbelow = 'ran'\nreport(loss=x)\n")
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert message.startswith("%%hpo must be the first line of the cell")
    assert "Move %%hpo --trials 2 --metric loss to the top of the cell" in message
    assert "below" not in ip.user_ns  # the training code did not run as plain code


@pytest.mark.parametrize("cell", [
    "x = 1\n    %%hpo --trials 2 --metric loss\ny = Real(0, 1)\nbelow = 'ran'\n",
    "if True:\n    x = 1\n        %%hpo --trials 2 --metric loss\n    below = 'ran'\n",
    "for i in range(1):\n    %%hpo --trials 2 --metric loss\n    below = 'ran'\n"])
def test_an_indented_hpo_below_the_first_line_also_says_to_move_it(ip, cell):
    """IPython rewrites it as an indented call of the line magic; where no block expects the
    indentation that was Python's IndentationError on the rewritten line."""
    ip.user_ns.pop("below", None)
    result = ip.run_cell(cell)
    assert isinstance(result.error_in_exec, UsageError), result.error_before_exec
    assert str(result.error_in_exec).startswith("%%hpo must be the first line of the cell")
    assert "Move %%hpo --trials 2 --metric loss to the top" in str(result.error_in_exec)
    assert "below" not in ip.user_ns


def test_the_transformer_leaves_other_cells_alone(ip):
    from jupyter_hpo.magic._indented import dedent_misplaced_hpo

    assert dedent_misplaced_hpo in ip.input_transformers_post
    lines = ["x = 1\n", "    y = 2\n"]  # an IndentationError that is not ours stays
    assert dedent_misplaced_hpo(lines) is lines
    assert ip.run_cell("x = 1\n    y = 2\n").error_before_exec.__class__ is IndentationError


def test_unloading_removes_the_transformer_and_loading_adds_it_once(ip):
    from jupyter_hpo import load_ipython_extension, unload_ipython_extension
    from jupyter_hpo.magic._indented import dedent_misplaced_hpo

    unload_ipython_extension(ip)
    assert dedent_misplaced_hpo not in ip.input_transformers_post
    load_ipython_extension(ip)
    load_ipython_extension(ip)
    assert ip.input_transformers_post.count(dedent_misplaced_hpo) == 1


def test_quoted_option_values_lose_their_quotes(ip, tmp_path, capsys):
    """IPython splits a magic's line keeping quotes (as on Windows): a quoted name or a path
    with a space used to keep them (the name ``"my study"``, a file that could not be made)."""
    folder = tmp_path / "with space"
    folder.mkdir()
    storage = folder / "runs.db"
    study = run(ip, f'--quiet --trials 2 --seed 0 --storage "{storage}" --name "my study" '
                    f"--enqueue '{{\"x\": 0.5}}'", "x = Real(0, 1)\nreport(acc=x)\n")
    assert study.name == "my study" and study.storage.location == str(storage)
    assert study.trials[0].config == {"x": 0.5}
    capsys.readouterr()
    ip.run_line_magic("hpo", f"best 'my study' --storage \"{storage}\"")
    assert capsys.readouterr().out.startswith("my study: best acc=")


def test_quoted_numbers_lose_their_quotes_too(ip, capsys):
    """``--trials "3"`` was "argument --trials: invalid int value: '"3"'": the quotes came off
    the text options only."""
    study = run(ip, "--quiet --storage none --trials \"3\" --seed '4' --max-t '2' --workers '1' "
                    "--mode 'min'", "x = Real(0, 1)\nfor epoch in (1, 2):\n"
                                    "    report(epoch=epoch, loss=x)\n")
    assert len(study.trials) == 3 and study.settings["seed"] == 4 and study.mode == "min"
    assert study.settings["scheduler_options"]["max_t"] == 2
    with pytest.raises(UsageError, match=r"""^argument --trials: invalid int value: "'abc'"$"""):
        ip.run_cell_magic("hpo", "--quiet --storage none --trials 'abc'", "x = Real(0, 1)\n")


def test_a_comment_on_the_hpo_line_is_a_comment_as_in_a_shell(ip, capsys):
    """``%%hpo --trials 2  # quick run`` was refused ("unrecognized arguments: # quick run"),
    and an apostrophe in the comment as an unclosed quote."""
    study = run(ip, "--quiet --trials 2 --seed 0 --name '#1'  # quick run, don't keep",
                "x = Real(0, 1)\nreport(acc=x)\n")
    assert study.name == "#1" and len(study.trials) == 2
    capsys.readouterr()
    ip.run_line_magic("hpo", "best '#1'  # the one above")
    assert capsys.readouterr().out.startswith("#1: best acc=")
    assert parse_cell_options("--trials 3 #no space needed").trials == 3


def test_a_study_that_ended_before_any_report_says_why_nothing_was_applied(ip, capsys):
    """``--time-limit 10`` is 10 seconds, not minutes: a study that reached it before any
    trial reported said "no trial has reported a value yet", as if it were still running; it
    now says what ended it."""
    run(ip, "--quiet --trials 3 --time-limit 0.2 --metric loss --storage none",
        "import time\nx = Real(0, 1)\ntime.sleep(1)\nreport(loss=x)\n")
    assert ("jupyter_hpo: no trial reported a value before the study ended (time limit "
            "reached); nothing applied") in capsys.readouterr().out


@pytest.mark.parametrize("line, says", [
    ("--time-limit 10 min --trials 3", ("unrecognized arguments: min; --time-limit takes one "
                                        "word: write --time-limit 10min (or --time-limit "
                                        "\"10 min\")")),
    ("--searcher-opt lr 0.1", ("unrecognized arguments: 0.1; --searcher-opt takes KEY=VALUE "
                               "as one word: write --searcher-opt lr=0.1")),
    ("--name my big study --trials 2", ("unrecognized arguments: big study; --name takes one "
                                        "value: put quotes around one with spaces (--name "
                                        "\"my big study\")")),
    ("--metric val acc", ("unrecognized arguments: acc; --metric takes one name, a key of "
                          "report(): e.g. --metric val_acc")),
    ("--trials 5 10", "unrecognized arguments: 10"),
])
def test_words_after_an_options_value_say_how_to_write_the_value(line, says):
    """``--time-limit 10 min``, ``--searcher-opt lr 0.1`` and ``--name my study`` were
    "unrecognized arguments: min" (argparse's words): each now says how the option takes its
    value; a number's option (``--trials 5 10``) keeps argparse's message."""
    with pytest.raises(UsageError) as info:
        parse_cell_options(line)
    assert str(info.value) == says


@pytest.mark.parametrize("name", ["my study", "it's", 'the "big" one', "-x"])
def test_commands_that_messages_suggest_run_as_written_for_names_with_spaces(ip, tmp_path,
                                                                             capsys, name):
    """A message's ``--name NAME --resume`` and ``%hpo delete NAME`` quote a name that needs
    it (they gave ``%hpo delete my study``, which is two words)."""
    storage = tmp_path / "runs.db"
    cell = "x = Real(0, 1)\nreport(acc=x)\n"
    line = f"--quiet --seed 0 --storage {storage} --trials"
    quoted = "'" + name + "'" if '"' in name else f'"{name}"'
    run(ip, f"{line} 2 --name {quoted}", cell)
    with pytest.raises(UsageError) as info:
        run(ip, f"{line} 2 --name {quoted}", cell)
    message = str(info.value)
    resume = re.search(r"continue it with (--name .*? --resume)", message).group(1)
    delete = re.search(r"remove it with %hpo (delete .*)$", message).group(1)
    assert run(ip, f"{line} 3 {resume}", cell).name == name
    capsys.readouterr()
    ip.run_line_magic("hpo", delete)  # on the cell's --storage, which the message names
    assert capsys.readouterr().out.startswith(f"jupyter_hpo: deleted study {name!r} and its 3 ")


def test_a_suggested_command_acts_on_the_cells_storage_not_the_default_file(ip, tmp_path,
                                                                           study_storage):
    """A study of the same name in the default file and in the cell's --storage file: the
    `%hpo delete NAME` that the refusal suggested (without --storage) deleted the default
    file's study, after a kernel restart, when this kernel had not run the cell's."""
    import jupyter_hpo as jh

    other = tmp_path / "other runs.db"
    for storage in (study_storage, other):
        jh.tune(lambda c: {"loss": c["x"]}, {"x": Real(0, 1)}, metric="loss", trials=2,
                storage=storage, name="twin")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f'--quiet --trials 2 --storage "{other}" --name twin',
                          "x = Real(0, 1)\nreport(loss=x)\n")
    message = str(info.value)
    assert message.endswith(f'remove it with %hpo delete twin --storage "{other}"')
    ip.run_line_magic("hpo", re.search(r"remove it with %hpo (delete .*)$", message).group(1))
    assert [s.name for s in jh.storage.open_storage(str(other)).list_studies()] == []
    assert Study.load("twin", str(study_storage)).trials  # the default file's is untouched


def test_stopping_a_trial_of_a_study_not_in_this_kernel_says_why(ip, tmp_path):
    """``%hpo stop NAME --trial N``: a name no storage holds is not found (it said that --trial
    works for this kernel's studies only, as for a study another kernel runs)."""
    import jupyter_hpo as jh

    storage = tmp_path / "runs.db"
    jh.tune(lambda c: {"loss": c["x"]}, {"x": Real(0, 1)}, metric="loss", trials=2,
            storage=storage, name="elsewhere")
    with pytest.raises(UsageError, match=r"^no study named 'nosuch' in .*runs\.db"):
        ip.run_line_magic("hpo", f"stop nosuch --trial 3 --storage {storage}")
    with pytest.raises(UsageError, match=r"--trial works for studies of this kernel only; "
                                         r"'elsewhere' is not one"):
        ip.run_line_magic("hpo", f"stop elsewhere --trial 1 --storage {storage}")


def test_a_misspelt_line_magic_option_names_the_nearest_one(ip):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("hpo", "list --storrage runs.db")
    assert str(info.value) == ("unrecognized arguments: --storrage runs.db; did you mean "
                               "--storage instead of --storrage? (%hpo? lists the options)")
    with pytest.raises(UsageError, match=r"^unrecognized arguments: zzz$"):
        ip.run_cell_magic("hpo", "--quiet zzz", "x = Real(0, 1)\nreport(acc=x)\n")


@pytest.mark.parametrize("line,shown", [
    ("%time lr = Real(0, 1)", "`%time lr = Real(0, 1)` to %time"),
    ("%time lr = 0.1  # hpo: Real(0, 1)", "`%time lr = 0.1  # hpo: Real(0, 1)` to %time"),
    ("%timeit -n1 -r1 lr = jh.Real(0, 1)", "`%timeit -n1 -r1 lr = jh.Real(0, 1)` to %timeit"),
])
def test_a_hyperparameter_in_a_line_magic_is_refused_at_its_line(ip, line, shown):
    """IPython turns a line magic into a call with the line as a string: the annotation in it
    would be lost (the cell then had "no hyperparameters", or the trial got a Real object)."""
    cell = f"import jupyter_hpo as jh\nx = Int(1, 3)\n{line}\nreport(loss=x)\n"
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 1", cell)
    text = str(info.value)
    assert text.startswith("HPOSyntaxError at cell line 4: a hyperparameter inside a line "
                           "magic is not seen: IPython hands " + shown)
    assert "put the assignment on a line of its own" in text
    assert f"\n    {line}\n    {'^' * len(line)}" in text  # the line as written, not rewritten


@pytest.mark.parametrize("second", ["%%hpo --trials 5", "  %%hpo"])
def test_a_second_hpo_line_in_the_cell_is_refused_before_any_trial(ip, second):
    """IPython runs a %%hpo below the first line as the line magic %hpo in every trial: each
    one failed with the misplaced-magic error; now the cell is refused at that line."""
    cell = f"x = Real(0, 1)\nif x > 2:\n{second}\nreport(loss=x)\n" if second[0] == " " \
        else f"x = Real(0, 1)\n{second}\nreport(loss=x)\n"
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 3", cell)
    text = str(info.value)
    line = 4 if second[0] == " " else 3  # the %%hpo line is line 1
    assert text.startswith(f"HPOSyntaxError at cell line {line}: a second {second.strip()}: "
                           f"the cell already runs as a study from its first line")
    assert "remove it and put its options on the first line" in text
    assert f"\n    {second}\n" in text
    assert ip.user_ns.get("_hpo") is before  # no study ran


@pytest.mark.parametrize("blank, second", [
    ("", "%%hpo --trials 5"), ("\n", "%%hpo --trials 5"), ("", "  %%hpo")])
def test_a_second_hpo_right_below_the_first_is_refused_at_its_line(ip, blank, second):
    """There IPython runs it as a cell magic that takes the rest of the cell as text, so the
    magic said "the cell has no hyperparameters"; now it says what a later line's does."""
    cell = f"{blank}{second}\nx = Real(0, 1)\nz = x\n"
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 2", cell)
    text = str(info.value)
    line = cell.splitlines().index(second) + 2  # the %%hpo line is line 1
    assert text.startswith(f"HPOSyntaxError at cell line {line}: a second {second.strip()}: "
                           f"the cell already runs as a study from its first line")
    assert "remove it and put its options on the first line" in text
    indent = len(second) - len(second.lstrip())
    assert text.endswith(f"\n    {second}\n    {' ' * indent}{'^' * len(second.strip())}")
    assert ip.user_ns.get("_hpo") is before  # no study ran


def refusal(ip, line: str, cell: str) -> str:
    """The UsageError a ``%%hpo`` cell is refused with, asserting that no study ran (``_hpo``
    is what it was)."""
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", line, cell)
    assert ip.user_ns.get("_hpo") is before
    return str(info.value)


@pytest.mark.parametrize("comment", ["# hpo Real(0, 1)", "# hpo : Real(0,1)",
                                     "# hpo= Real(0, 1)", "# hop: Real(0, 1)",
                                     "# hpo - Real(0, 1)"])
def test_a_misspelt_hpo_marker_is_refused_before_any_trial(ip, comment):
    """The comment was ignored: the study searched y alone and x stayed 0.5, without a word."""
    message = refusal(ip, "--quiet --trials 2",
                      f"x = 0.5  {comment}\ny = Real(0, 1)\nreport(loss=x + y)\n")
    expr = comment[comment.index("Real"):]
    assert message.startswith(
        f"HPOSyntaxError at cell line 2: this comment looks like a hyperparameter annotation "
        f"but is not one: write `# hpo: {expr}`\n    x = 0.5  {comment}\n             ^")


def test_an_annotation_after_a_note_in_its_comment_is_refused_before_any_trial(ip):
    """lr = 1e-3  # learning rate # hpo: Real(...) left lr out of the search without a word."""
    message = refusal(ip, "--quiet --trials 2",
                      "lr = 1e-3  # learning rate # hpo: Real(1e-4, 1e-1, log=True)\n"
                      "units = Int(16, 64)\nreport(loss=lr * units)\n")
    assert message.startswith(
        "HPOSyntaxError at cell line 2: '# hpo:' must start the comment, or the comment is not "
        "an annotation: write `lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)  # learning rate`")


def test_a_keyword_given_twice_in_an_annotation_is_refused_before_any_trial(ip):
    """Real(0.1, 1, log=True, log=False) ran a linear search (the last log=) without a word."""
    message = refusal(ip, "--quiet --trials 2 --storage none",
                      "x = Real(0.1, 1, log=True, log=False)\nreport(loss=x)\n")
    assert message.startswith(
        "HPOSyntaxError at cell line 2: bad annotation for 'x': Real() got log= twice "
        "(log=True, then log=False): give it once")


@pytest.mark.parametrize("name, why", [
    ("for", "-o 'for' is a Python keyword: pick a variable name for the study, e.g. -o study"),
    ("get_ipython", "every magic and shell escape (%hpo, !ls) calls get_ipython()"),
    ("report", "jupyter_hpo defines report() in the notebook"),
    ("list", "it is Python's built-in list, which the notebook's code would no longer reach"),
])
def test_an_output_name_that_would_break_the_notebook_is_refused_before_any_trial(ip, name,
                                                                                  why):
    """-o get_ipython bound the study where every later magic calls get_ipython(): %hpo and
    !ls then failed with "'Study' object is not callable"; -o for put it where no code reads
    it."""
    before = {key: ip.user_ns.get(key) for key in (name, "_hpo")}
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet --trials 2 --storage none -o {name}",
                          "x = Real(0, 1)\nreport(loss=x)\n")
    assert why in str(info.value) and "-o study" in str(info.value)
    assert {key: ip.user_ns.get(key) for key in (name, "_hpo")} == before
    assert ip.run_cell("%who_ls").success  # a cell's magics still reach get_ipython()


def test_a_nan_choice_is_refused_at_its_line_before_any_trial(ip):
    """Categorical(float('nan'), 1.0) ran a trial and then failed the study with the
    searcher's internal traceback."""
    message = refusal(ip, "--quiet --trials 3 --storage none",
                      "x = 1.0\nfill = Categorical(float('nan'), 0.0)\nreport(loss=x)\n")
    assert message.startswith(
        "HPOSyntaxError at cell line 3: bad annotation for 'fill': Categorical: choice nan is "
        "NaN, which is not equal to itself")


def test_a_storage_path_with_a_trailing_slash_is_refused_before_any_trial(ip, tmp_path):
    """``--storage runs/`` (meant as a folder) stored the study in a new file named ``runs``."""
    message = refusal(ip, f"--quiet --trials 2 --storage {tmp_path / 'runs'}/",
                      "x = Real(0, 1)\nreport(loss=x)\n")
    assert message.startswith(f"the storage path {tmp_path / 'runs'}/ ends with /, which "
                              f"names a folder, but there is no folder ")
    assert list(tmp_path.iterdir()) == []


def test_help_asked_as_a_command_line_does_says_to_use_the_question_mark(ip):
    """``%%hpo --help`` said "unrecognized arguments: --help"."""
    for line in ("--help", "--trials 3 -h"):
        with pytest.raises(UsageError) as info:
            ip.run_cell_magic("hpo", f"{line} --storage none", "x = Real(0, 1)\nreport(loss=x)\n")
        assert str(info.value) == ("%%hpo? describes the options (a magic's help is asked with "
                                   "?, not --help)")
    with pytest.raises(UsageError, match=r"^%hpo\? describes the options"):
        ip.run_line_magic("hpo", "list --help")


def test_export_with_a_word_too_many_or_a_compressed_file_says_what_to_write(ip, tmp_path):
    """``%hpo export mlp out.csv extra`` suggested "%hpo export mlp out.csv extra.csv", and
    ``out.csv.gz`` "out.csv.csv"."""
    run(ip, f"--quiet --trials 2 --name ex --storage {tmp_path / 's.db'}",
        "x = Real(0, 1)\nreport(loss=x)\n")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("hpo", f"export ex {tmp_path / 'out.csv'} extra")
    assert str(info.value).startswith(f"%hpo export: too many arguments: ex {tmp_path / 'out.csv'} "
                                      f"extra (%hpo export [NAME] FILE)")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("hpo", "export ex out.csv.gz")
    assert str(info.value).endswith("'out.csv.gz' does not (e.g. %hpo export ex out.csv)")
    assert list(tmp_path.iterdir()) == [tmp_path / "s.db"]


@pytest.mark.parametrize("options, message", [
    ("--metric val-loss", ("--metric val-loss is not among the values the cell reports "
                          "(val_loss): did you mean --metric val_loss?")),
    ("--resource Epoch", ("--resource Epoch is not among the values the cell reports (val_loss, "
                         "epoch): did you mean --resource epoch?")),
])
def test_a_metric_or_resource_spelt_with_a_dash_or_capitals_names_the_key(ip, options, message):
    """``--metric val-loss`` suggested "report(val-loss=...)", which is no Python;
    ``--resource Epoch`` named no key."""
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet --trials 2 --storage none --mode min {options}",
                          "x = Real(0, 1)\nfor epoch in (1, 2):\n"
                          "    report(val_loss=x, epoch=epoch)\n")
    assert str(info.value) == message


def test_a_metric_with_spaces_around_it_is_the_word(ip):
    """``--metric ' loss'`` was refused as "--metric  loss is not among ... (loss)"."""
    study = run(ip, "--quiet --trials 2 --storage none --metric ' loss' --resource 'epoch '",
                "x = Real(0, 1)\nreport(loss=x, epoch=1)\n")
    assert study.metric == "loss" and study.resource == "epoch"


def test_hyperband_on_a_cell_without_report_names_its_own_keys(ip):
    """It said "add report(epoch=..., metric=...)", with the word metric for the metric."""
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 2 --storage none --scheduler hyperband "
                                 "--resource step", "x = Real(0, 1)\nval_loss = x\n")
    assert str(info.value) == ("hyperband stops trials at report() calls, but the cell never "
                               "calls report(): add report(step=..., val_loss=...) to the "
                               "training loop or use --scheduler fifo")


def test_delete_with_the_terminals_yes_says_it_does_not_ask(ip, tmp_path):
    """``%hpo delete mlp --yes`` said "unrecognized arguments: --yes"; the study is kept."""
    storage = tmp_path / "s.db"
    run(ip, f"--quiet --trials 2 --name gone --storage {storage}", "x = Real(0, 1)\nreport(loss=x)\n")
    for flag in ("--yes", "-y"):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("hpo", f"delete gone {flag} --storage {storage}")
        assert str(info.value) == ("%hpo delete deletes without asking (python -m jupyter_hpo "
                                   "delete asks at a terminal, which --yes skips): drop --yes")
    assert len(Study.load("gone", str(storage)).trials) == 2


def test_a_cell_whose_only_annotation_is_misspelt_is_pointed_at_it(ip):
    """It said "the cell has no hyperparameters: mark them inline ...", as if it had none."""
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 2", "x = 0.5  # hop: Real(0, 1)\n"
                                                        "report(loss=x)\n")
    text = str(info.value)
    assert text.startswith("HPOSyntaxError at cell line 2: this comment looks like")
    assert "no hyperparameters" not in text


def test_the_hpo_marker_in_capitals_marks_a_hyperparameter(ip):
    study = run(ip, "--quiet --trials 3 --seed 0",
                "x = 0.5  # HPO: Real(0, 1)\ny = Real(0, 1)\nreport(loss=x + y)\n")
    assert set(study.space) == {"x", "y"}


def test_a_value_reported_as_text_is_not_taken_for_the_metric(ip, capsys):
    """report(phase='train', note=f'...') logs text beside the metric: the metric is the one
    value the cell writes as something that can be a number."""
    study = run(ip, "--quiet --trials 2 --seed 0",
                "lr = Real(0.1, 1)\nfor epoch in range(1, 3):\n"
                "    report(epoch=epoch, loss=lr / epoch, phase='train', note=f'lr {lr}', "
                "tags=['a'], lr=lr)\n")
    assert study.metric == "loss" and study.mode == "min"
    assert study.trials[0].reports[-1]["phase"] == "train"
    assert ("optimising loss, the only number the cell reports that is not a hyperparameter "
            "(phase, note and tags are not numbers; --metric NAME picks another)"
            ) in capsys.readouterr().out
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 1",
                          "lr = Real(0.1, 1)\nreport(epoch=1, phase='train', done=True)\n")
    assert str(info.value) == ("the cell reports no number: it gives phase and done a value "
                               "that is not one (text, None, a container); report the value "
                               "to optimise, e.g. report(loss=loss)")


def test_a_reported_hyperparameter_is_not_taken_for_the_metric(ip, capsys):
    study = run(ip, "--quiet --trials 2 --seed 0",
                "lr = Real(0.1, 1)\nreport(acc=2 * lr, lr=lr)\n")
    assert study.metric == "acc" and study.mode == "max"
    assert ("optimising acc, the value the cell reports that is not a hyperparameter "
            "(--metric NAME picks another)") in capsys.readouterr().out
    with pytest.raises(UsageError, match="the cell reports loss, acc: pick the one"):
        ip.run_cell_magic("hpo", "--quiet --trials 1",
                          "lr = Real(0.1, 1)\nreport(loss=lr, acc=lr, lr=lr)\n")


def test_a_line_magic_without_a_hyperparameter_runs_in_the_trial(ip):
    study = run(ip, "--quiet --trials 2 --seed 0 --metric loss -o timed",
                "x = Real(0, 1)\n%time y = 2 * x\nreport(loss=y)\n")
    assert [t.status.value for t in study.trials] == ["completed", "completed"]
    assert all(t.reports[-1]["loss"] == 2 * t.config["x"] for t in study.trials)


def test_syntax_error_points_at_cell_line(ip):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet", "a = 1\nb = Real(0, 1, log=True)\nreport(acc=b)\n")
    text = str(info.value)
    assert "cell line 3" in text and "log=True needs lo > 0" in text  # %%hpo is line 1
    assert "    b = Real(0, 1, log=True)\n        ^^^^^^^^^^^^^^^^^^^^" in text


def test_blank_lines_at_the_top_of_the_cell_count_as_the_editor_and_its_diagnostics_count(ip):
    """IPython's transform drops blank lines at the top of a cell; the cell lines in the
    kernel's message are those of the cell as written (the editor's diagnostics say the
    same), and so are those of a trial's traceback."""
    from jupyter_hpo.server.cells import cell_diagnostics

    body = "\n\n  \na = 1\nb = Real(0, 1, log=True)\nreport(acc=b)\n"
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet", body)
    assert "HPOSyntaxError at cell line 6: bad annotation for 'b'" in str(info.value)
    said = cell_diagnostics(f"%%hpo --quiet\n{body}")
    assert [e["message"].split(":")[0] for e in said["errors"]] == [
        "HPOSyntaxError at cell line 6"], said
    assert [e["lineno"] for e in said["errors"]] == [6]  # the line the message names


def test_cell_lines_count_from_the_hpo_line_as_the_editor_and_ipython_count(ip):
    """Messages said "cell line N" counting from the line after %%hpo, one less than the
    line JupyterLab's editor shows (and IPython's traceback of the cell says): now line N of
    the cell as run, %%hpo line included, is the line each message names and echoes."""
    from jupyter_hpo.server.cells import cell_diagnostics

    cell = "%%hpo --quiet --trials 2 --storage none\nx = Real(0, 1)\ny = Int(3, 1)\nreport(a=x)\n"
    result = ip.run_cell(cell)
    text = str(result.error_in_exec)
    assert text.startswith("HPOSyntaxError at cell line 3: bad annotation for 'y'"), text
    assert f"\n    {cell.splitlines()[2]}\n" in text  # the line it names is the one it echoes
    said = cell_diagnostics(cell)["errors"]
    assert [(e["lineno"], e["message"].split(":")[0]) for e in said] == [
        (3, "HPOSyntaxError at cell line 3")]
    cell = ("%%hpo --quiet --trials 1 --storage none --metric loss\nx = Real(0, 1)\ny = 1\n"
            "raise KeyError(x)\nreport(loss=x)\n")
    ip.run_cell(cell)
    traceback = ip.user_ns["_hpo"].trials[0].traceback
    assert re.search(r"\n  Cell In\[\d+\], cell line 4\n    raise KeyError\(x\)\n", traceback), \
        traceback


@pytest.mark.parametrize("cell, note", [
    ("x = Real(0, 1)\ny = 2\nx = 5\nreport(loss=x + y)\n",
     ("jupyter_hpo: cell line 4: x is assigned again before anything reads the hyperparameter x "
     "(cell line 2), so the value each trial searches has no effect; remove one of the two, or "
     "give one another name\n")),
    ("x = 0.5  # hpo: Real(0, 1)\nx: float = 5\nreport(loss=x)\n",
     ("jupyter_hpo: cell line 3: x is assigned again before anything reads the hyperparameter x "
     "(cell line 2)")),
    ("x = Real(0, 1); y = x * 2; x = 5\nreport(loss=x + y)\n", None),  # read first
    ("def f():\n    return x\nx = Real(0, 1)\nx = 5\nreport(loss=f())\n", None),
    ("x = Real(0, 1)\ndef f():\n    return x\nx = 5\nreport(loss=f())\n", None),
    ("x = Real(0, 1)\nx += 1\nreport(loss=x)\n", None),
    ("x = Real(0, 1)\nx = x * 2\nreport(loss=x)\n", None),
    ("x = Real(0, 1)\nif x > 2:\n    x = 5\nreport(loss=x)\n", None),
])
def test_a_hyperparameter_assigned_again_before_it_is_read_gets_a_note(ip, capsys, cell, note):
    """``x = Real(0, 1)`` and later ``x = 5`` searched x without any effect, silently; the
    cell still runs as written."""
    study = run(ip, "--quiet --trials 2 --seed 0 --storage none --metric loss", cell)
    assert [t.status.value for t in study.trials] == ["completed"] * 2
    printed = capsys.readouterr().out
    if note is None:
        assert "assigned again" not in printed
    else:
        assert note in printed and printed.count("assigned again") == 1


TRAIN = ("x = Real(0, 1)\nepochs = 3\ndef train(x):\n    for epoch in range(1, epochs + 1):\n"
         "        report(epoch=epoch, loss=x)\n")


@pytest.mark.parametrize("tail, says", [
    ("", ("report() is only called inside `train`, which this cell never calls; call "
         "train(...) in the cell")),
    ("def main():\n    train(x)\n", ("report() is only called inside `train`, which this cell "
                                     "never calls")),
    ("run = [train]\n", "the cell calls report() only on some paths"),  # named: maybe called
    ("if x > 2:\n    train(x)\n", "the cell calls report() only on some paths"),
])
def test_a_trial_without_reports_says_which_function_the_cell_never_calls(ip, tail, says):
    """report() only inside a function the cell never calls got "the cell calls report() only
    on some paths (inside an if, ...)", which sent the user looking for an if."""
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 2 --storage none --scheduler hyperband "
                                 "--metric loss", TRAIN + tail)
    assert ("this trial ended without calling report(), so it has no value of 'loss': "
            + says) in str(info.value)
    study = run(ip, "--quiet --trials 2 --storage none --scheduler hyperband --metric loss",
                TRAIN + "train(x)\n")
    assert all(t.reports for t in study.trials) and study.counts()["failed"] == 0


@pytest.mark.parametrize("metric, mode, note", [
    ("val_loss", "max", ("jupyter_hpo: maximising val_loss as asked (mode max), although its "
                        "name reads like a value to minimise (mode min): if max is meant, "
                        "warnings.filterwarnings('ignore', category=jupyter_hpo.ModeWarning) "
                        "silences this\n")),
    ("test_rmse", "max", "maximising test_rmse as asked (mode max)"),
    ("val_acc", "min", ("minimising val_acc as asked (mode min), although its name reads like a "
                       "value to maximise (mode max)")),
    ("f1", "min", "minimising f1 as asked"),
    ("val_acc", "max", None),
    ("val_loss", "min", None),
    ("widgets", "max", None),  # a name that says nothing
])
def test_a_mode_against_the_metrics_name_gets_a_warning(ip, capsys, metric, mode, note):
    """``--mode max`` with ``--metric val_loss`` ran silently; the user was explicit, so the
    study runs, with a warning that a warnings filter silences where the mode is meant."""
    import warnings

    cell = f"x = Real(0, 1)\nreport({metric}=x)\n"
    line = f"--quiet --trials 1 --storage none --no-apply --metric {metric} --mode {mode}"
    assert run(ip, line, cell).mode == mode
    printed = capsys.readouterr().out
    assert (note in printed and printed.count("as asked") == 1) if note else \
        "as asked" not in printed
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=jupyter_hpo.ModeWarning)
        run(ip, line, cell)
    assert "as asked" not in capsys.readouterr().out


def test_repeated_failures_shown_once(ip):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--trials 10 --quiet",
                          "x = Real(0, 1)\nraise ValueError('bad data')\nreport(acc=x)\n")
    assert str(info.value).count("ValueError: bad data") == 1
    study = ip.user_ns["_hpo"]
    assert study.state == "failed" and len(study.trials) < 10


def test_background_wait_best_list_apply(ip, capsys):
    ip.user_ns.pop("z", None)
    ip.run_cell_magic("hpo", "--trials 6 --quiet --background --name bg -o bgstudy",
                      "import time\nz = Real(0, 1)\nfor epoch in range(3):\n"
                      "    time.sleep(0.02)\n    report(epoch=epoch, score=z)\n")
    study = ip.user_ns["bgstudy"]
    assert "z" not in ip.user_ns  # nothing applied before %hpo wait
    ip.run_line_magic("hpo", "wait bg")
    assert study.done and len(study.trials) == 6
    assert ip.user_ns["z"] == study.best_config["z"]
    capsys.readouterr()
    ip.run_line_magic("hpo", "best bg")
    ip.run_line_magic("hpo", "list")
    out = capsys.readouterr().out
    assert f"best score={study.best_value:.6g}" in out and "bg: finished · 6/6 trials" in out
    ip.user_ns["z"] = None
    ip.run_line_magic("hpo", "apply bg")
    assert ip.user_ns["z"] == study.best_config["z"]


def test_wait_on_an_ended_study_keeps_the_trial_applied_since(ip, capsys):
    """%hpo wait ends a study once: after the cell applied the best trial and the user applied
    another, waiting again leaves that one in the notebook and says the study has ended."""
    study = run(ip, "--trials 4 --seed 1 --quiet --name ended",
                "z = Real(0, 1)\nreport(score=z)\n")
    other = next(t for t in study.trials if t is not study.best_trial)
    ip.run_line_magic("hpo", f"apply ended --trial {other.trial_id}")
    capsys.readouterr()
    ip.run_line_magic("hpo", "wait ended")
    assert ip.user_ns["z"] == other.config["z"] != study.best_config["z"]
    assert capsys.readouterr().out == (
        f"jupyter_hpo: ended has already ended (finished): best score={study.best_value:.6g} "
        f"(trial {study.best_trial.trial_id}); `%hpo apply ended` puts the best trial's "
        f"variables into the notebook again, `%hpo show ended` draws its dashboard\n")


def test_a_line_command_option_an_editor_made_a_dash_says_so(ip):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("hpo", "list \u2014storage runs.db")
    assert str(info.value) == ("%hpo list: \u2014storage starts with \u2014, a dash that an "
                               "editor or a chat app made of --: type two hyphens (--storage)")


def test_a_study_not_found_names_this_kernels_studies(ip, tmp_path):
    """A name found neither in this kernel nor in the storage read: the error names the
    kernel's studies (kept in another file) and the nearest name; an empty --storage file
    says the kernel's studies are read without it."""
    run(ip, f"--trials 2 --quiet --name kept1 --storage {tmp_path / 'elsewhere.db'}",
        "z = Real(0, 1)\nreport(score=z)\n")
    for command in ("show kept", "delete kept"):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("hpo", command)
        message = str(info.value)
        assert message.startswith("no study named 'kept' in ") and "this kernel's studies: " \
            in message and "kept1" in message and message.endswith("; did you mean 'kept1'?")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("hpo", f"show --storage {tmp_path / 'other.db'}")
    assert str(info.value).startswith(f"{tmp_path / 'other.db'} holds no studies; this kernel's (")
    assert str(info.value).endswith(") are read without --storage")


def test_a_study_of_this_kernel_named_with_another_file_says_where_it_is(ip, tmp_path):
    """``%hpo best mine --storage other.db`` said "...; this kernel's studies: mine; did you mean
    'mine'?", the very name typed; ``%hpo stop mine --trial 1 --storage its-own.db`` said that
    'mine' was not a study of this kernel."""
    own, other = tmp_path / "own.db", tmp_path / "other.db"
    run(ip, f"--trials 2 --quiet --name mine --storage {own}", "z = Real(0, 1)\nreport(score=z)\n")
    for command in ("best mine", "show mine", "stop mine --trial 1"):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("hpo", f"{command} --storage {other}")
        message = str(info.value)
        assert message.startswith(f"no study named 'mine' in {other}")
        assert message.endswith(f"; 'mine' is a study of this kernel, stored in {own}: leave out "
                                f"--storage") and "did you mean" not in message
    with pytest.raises(UsageError, match=r"^study 'mine' has no trial 7 \(its trials: 0\.\.1\)$"):
        ip.run_line_magic("hpo", f"stop mine --trial 7 --storage {own}")
    with capture_output() as out:
        ip.run_line_magic("hpo", f"stop mine --trial 1 --storage {own}")
    assert out.stdout == "jupyter_hpo: mine has already ended (finished); nothing to stop\n"


def test_stop_background_study_and_trial(ip):
    ip.run_cell_magic("hpo", "--trials 50 --workers 2 --quiet --background --name slow",
                      "import time\nz = Real(0, 1)\nfor epoch in range(200):\n"
                      "    time.sleep(0.01)\n    report(epoch=epoch, score=z)\n")
    study = ip.user_ns["_hpo"]
    while not study.trials or study.trials[0].last("epoch") is None:
        study.wait(0.01)
    ip.run_line_magic("hpo", "stop slow --trial 0")
    ip.run_line_magic("hpo", "stop slow")
    ip.run_line_magic("hpo", "wait slow")
    assert study.trials[0].status is TrialStatus.CANCELLED
    assert all(t.status is TrialStatus.CANCELLED for t in study.trials)
    assert len(study.trials) < 50


def test_a_study_name_that_starts_with_a_dash_goes_after_double_dash(ip, capsys):
    """``%hpo show -x`` said only "unrecognized arguments: -x", and nothing said how to reach
    a study named -x; -- ends the options, as in a shell."""
    study = run(ip, "--quiet --trials 2 --seed 0 --name=-x", "x = Real(0, 1)\nreport(loss=x)\n")
    assert study.name == "-x"
    for line, unknown, meant in (("show -x", "-x", "%hpo show -- -x"),
                                 ("best -x", "-x", "%hpo best -- -x"),
                                 ("apply -x --trial 0", "-x", "%hpo apply --trial 0 -- -x"),
                                 ("export -x t.csv", "-x t.csv", "%hpo export -- -x t.csv"),
                                 ("plot history -x", "-x", "%hpo plot history -- -x")):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("hpo", line)
        assert str(info.value) == (f"unrecognized arguments: {unknown}; a study's NAME that "
                                   f"starts with - goes after --, which ends the options: {meant}")
    capsys.readouterr()
    ip.run_line_magic("hpo", "best -- -x")
    assert capsys.readouterr().out.startswith("-x: best loss=")
    ip.run_line_magic("hpo", "apply --trial 1 -- -x")
    assert ip.user_ns["x"] == study.trials[1].config["x"]
    with pytest.raises(UsageError) as info:  # a misspelt option is not taken for a name
        ip.run_line_magic("hpo", "show --storrage x.db")
    assert "did you mean --storage" in str(info.value) and "goes after --" not in str(info.value)


def test_line_magic_errors(ip):
    with pytest.raises(UsageError, match="no study named 'missing'"):
        ip.run_line_magic("hpo", "best missing")
    with pytest.raises(UsageError, match="invalid choice: 'frobnicate'") as raised:
        ip.run_line_magic("hpo", "frobnicate")
    assert "did you mean" not in str(raised.value)
    with pytest.raises(UsageError, match="invalid choice: 'lst'.*; did you mean %hpo list\\?"):
        ip.run_line_magic("hpo", "lst")
    with pytest.raises(UsageError, match="^%hpo needs a command: list, show, .* or delete"):
        ip.run_line_magic("hpo", "")
    with pytest.raises(UsageError, match="^--trials is an option of %%hpo, which runs a cell as "
                                         "a study: write %%hpo \\(two percent signs\\)"):
        ip.run_line_magic("hpo", "--trials 5 --workers 2")


def line_error(ip, line: str) -> str:
    """The message of the UsageError that ``%hpo line`` raises."""
    with pytest.raises(UsageError) as raised:
        ip.run_line_magic("hpo", line)
    return str(raised.value)


@pytest.mark.parametrize("line, hint", [
    ("resume mystudy", ("; to continue a stored study, run its cell again with %%hpo --name NAME "
                       "--resume (tune(..., name=NAME, resume=True))")),
    ("results mystudy", ("; %hpo show NAME shows a study's trials, %hpo export NAME FILE.csv "
                        "writes them")),
    ("run", "; to run a study, write %%hpo (two percent signs)"),
    ("rm mystudy", "; did you mean %hpo delete?"),
    ("kill", "; did you mean %hpo stop?"),
])
def test_line_commands_users_reach_for_say_what_to_write(ip, line, hint):
    message = line_error(ip, line)
    assert message.startswith(f"argument command: invalid choice: '{line.split()[0]}'")
    assert hint in message


@pytest.mark.parametrize("line, message", [
    ("help", ("%hpo has no help: %hpo? (a question mark at the end) shows its help, %%hpo? "
              "the options of a study; its commands: list, show, stop, best, apply, wait, "
              "plot, export or delete")),
    ("--help", "%hpo has no --help: %hpo? (a question mark at the end)"),  # "required: command"
    ("-h", "%hpo has no -h: %hpo?"),
    ("apply mystudy --trial abc", ("--trial takes a trial's id, a whole number (e.g. --trial "
                                   "3), not 'abc'; %hpo show lists the trials of a study")),
    ("stop --trial 1.5", "--trial takes a trial's id, a whole number (e.g. --trial 3), not '1.5'"),
    ("show ''", ("%hpo show: an empty word ('') where a NAME goes: write the study's name, or "
                 "leave it out for the latest study")),  # was an IndexError from our code
    ('export mystudy ""', ("%hpo export: an empty word ('') where a NAME or FILE goes: write "
                           "%hpo export NAME FILE, e.g. %hpo export mlp mlp.csv")),
])
def test_help_words_and_a_trial_that_is_no_number_say_what_to_write(ip, line, message):
    assert line_error(ip, line).startswith(message)


@pytest.mark.parametrize("line, message", [
    ("apply mystudy 3", ("%hpo apply: too many arguments: mystudy 3 (%hpo apply [NAME] "
                         "[--trial N]); a trial is named with --trial: %hpo apply mystudy "
                         "--trial 3")),
    ("stop mystudy 12", "a trial is named with --trial: %hpo stop mystudy --trial 12"),
    ("show my study", ("%hpo show: too many arguments: my study (%hpo show [NAME]); a study "
                       "name with spaces goes in quotes: %hpo show \"my study\"")),
    ("plot history a b", "%hpo plot: too many arguments: a b (%hpo plot [KIND] [NAME])"),
    ("export mystudy my results.csv", ("%hpo export: too many arguments: mystudy my (%hpo "
                                       "export [NAME] FILE); a study name or a FILE with spaces "
                                       "goes in quotes: %hpo export \"my study\" \"my "
                                       "results.csv\"")),
    ("apply mystudy --trial 1 2", ("too many arguments: mystudy 2 (%hpo apply [NAME] [--trial "
                                   "N]); --trial takes one trial number, and it was given "
                                   "--trial 1: %hpo apply mystudy --trial 1")),
])
def test_extra_words_after_a_line_command_say_what_it_takes(ip, line, message):
    assert message in line_error(ip, line)


def test_plot_with_a_name_where_the_kind_goes_says_the_order(ip):
    run(ip, "--trials 2 --name drawn", "x = Real(0, 1)\nreport(loss=x)\n")
    kinds = "history, curves, parallel, contour, importance, importance-duration, incumbent"
    for line, hint in (("plot drawn", ("the kind comes first, then the study's NAME (e.g. %hpo "
                                      "plot history drawn)")),
                       ("plot drawn curves", "(e.g. %hpo plot curves drawn)"),
                       ("plot histroy drawn", "; did you mean history?")):
        message = line_error(ip, line)
        assert message.startswith(f"unknown plot kind '{line.split()[1]}': use one of {kinds}")
        assert hint in message
    assert line_error(ip, "plot scatter drawn") == f"unknown plot kind 'scatter': use one of " \
                                                   f"{kinds}"  # the order was right
    # the code a plot's message shows names the notebook's variable that holds the study
    run(ip, "--trials 3 --name mixed", "C = Real(0.1, 1)\ngamma = Categorical('a', 'b')\n"
                                       "report(loss=C)\n")
    assert line_error(ip, "plot contour").endswith(
        "name two (categorical ones too) with _hpo.plot('contour', params=('C', 'gamma')) or "
        "%hpo plot contour --params C,gamma")
    with capture_output() as drawn:
        ip.run_line_magic("hpo", "plot contour --params C,gamma")
    assert [o.data["text/plain"].split()[0] for o in drawn.outputs] == ["<StudyFigure"]
    assert line_error(ip, "plot contour --params C,nope") == (  # the pair reaches the plot
        "params must be two different hyperparameters of the study (C, gamma), got ('C', "
        "'nope')")
    said = {"plot contour --params C": "--params takes two hyperparameters, e.g. --params "
                                       "lr,units (got 'C')",
            "plot history --params C,gamma": "--params only applies to %hpo plot contour, "
                                             "not to history",
            "best --params C,gamma": "--params only applies to %hpo plot contour, not to %hpo "
                                     "best"}
    for line, message in said.items():
        assert line_error(ip, line) == message
    # Optuna's (and BigDL-Nano's) name of a plot is not taken for a study's name
    assert line_error(ip, "plot optimization_history drawn") == (
        f"unknown plot kind 'optimization_history': use one of {kinds}; 'optimization_history' "
        f"(Optuna's and BigDL-Nano's name) is 'history' here")


def test_plot_draws_the_history_by_default_and_curves_of_another_reported_value(ip):
    run(ip, "--trials 3 --name two_values --metric loss --quiet",
        "x = Real(0, 1)\nfor epoch in range(1, 3):\n    report(epoch=epoch, loss=x, "
        "train_loss=x / epoch)\n")
    for line in ("plot", "plot curves two_values --metric train_loss"):
        with capture_output() as drawn:
            ip.run_line_magic("hpo", line)
        assert any("Figure size" in o.data.get("text/plain", "") for o in drawn.outputs)
    assert "did you mean 'train_loss'" in line_error(ip, "plot curves --metric train_los")
    assert line_error(ip, "plot history --metric train_loss") == (
        "--metric only applies to %hpo plot curves, not to history")
    assert line_error(ip, "best --metric train_loss").startswith(
        "--metric only applies to %hpo plot curves, not to %hpo best")


def test_list_of_a_file_that_does_not_exist_says_so_and_creates_nothing(ip, capsys, tmp_path):
    typo = tmp_path / "typo.db"
    ip.run_line_magic("hpo", f"list --storage {typo}")
    said = capsys.readouterr().out
    assert said.splitlines()[-1] == (f"{typo}: no such file (pass --storage with the file the "
                                     f"studies were stored in)")
    assert not typo.exists()


def test_help_lists_options(ip):
    doc = ip.find_cell_magic("hpo").__doc__
    for option in ("--metric", "--mode", "--trials", "--time-limit", "--scheduler", "--type",
                   "--grace-period", "--reduction-factor", "--brackets", "--max-t",
                   "--scheduler-opt", "--resource", "--searcher", "--searcher-opt", "--seed",
                   "--workers",
                   "--executor", "--background", "-o", "--no-apply", "--quiet"):
        assert option in doc
    # each usage names the magic as it is written (it read %hpo and %hpo_line)
    assert doc.split("\n")[2].startswith("  %%hpo [--metric METRIC]")
    assert ip.find_line_magic("hpo").__doc__.split("\n")[2].startswith("  %hpo [--trial TRIAL]")


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("0.5m", 30),
    ("1.5h", 5400), ("30min", 1800), ("90 sec", 90), ("2 hours", 7200), ("1H", 3600),
    ("10M", 600), ("1h 30m", 5400), ("1 hour, 30 minutes", 5400), ("1d", 86400),
    ("1:30:00", 5400), ("05:00", 300), (".5h", 1800), ("90:00", 5400), ("0:59.5", 59.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text, part", [("1:70", "seconds"), ("1:75:00", "minutes"),
                                        ("2:00:60", "seconds")])
def test_a_clock_time_past_59_is_refused_as_a_typo(text, part):
    """1:70 was read as 130 seconds without a word."""
    with pytest.raises(ValueError, match=f"time_limit '{text}': the {part} of a clock time "
                                         r"\(\[h:\]mm:ss\) count to 59; write e.g. 1:30"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["3x", "1e3", "30m 1h", "5 5", "h", "1hh", "-5", "", "1:xx"])
def test_what_is_not_a_duration_says_what_is(text):
    with pytest.raises(ValueError, match=r"is not a duration: use seconds \(90\), 90s, 30m, "
                                         r"1\.5h, 1h30m, 2 hours or 1:30:00"):
        parse_duration(text)


def test_process_executor_cell_ships_variables_and_applies_the_best_config(ip):
    ip.user_ns["offset"] = 0.5
    ip.user_ns.pop("x", None)
    cell = "import os\nx = Real(0, 1)\nprint('pid', os.getpid())\nreport(score=x + offset)\n"
    study = run(ip, "--quiet --executor process --workers 2 --trials 4 --seed 0", cell)
    assert study.state == "finished" and study.executor.name == "process"
    assert [t.status.value for t in study.trials] == ["completed"] * 4
    assert study.best_value == max(t.config["x"] for t in study.trials) + 0.5
    assert ip.user_ns["x"] == study.best_config["x"]  # the config is applied (no namespace)
    pids = {study.trial_output(t.trial_id).split()[1] for t in study.trials}
    assert str(__import__("os").getpid()) not in pids and len(pids) == 2  # both workers ran


def test_process_executor_names_an_unpicklable_variable(ip):
    import threading

    ip.user_ns["lock"] = threading.Lock()
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError, match="'lock'.*--executor thread"):
        ip.run_cell_magic("hpo", "--quiet --executor process",
                          "x = Real(0, 1)\nwith lock:\n    y = x\nreport(score=y)\n")
    assert ip.user_ns.get("_hpo") is before


def test_a_trial_of_a_reporting_cell_that_never_reported_fails(ip):
    """A cell that calls report() only on some paths: a trial that ends without a report has
    no value, and fails saying so (it was "completed", and a study in which no trial reported
    "finished" with nothing applied)."""
    cell = "x = Real(0, 1)\nif x > 0.5:\n    report(loss=x)\n"
    ip.run_cell_magic("hpo", "--quiet --trials 8 --seed 1 --mode min --storage none", cell)
    study = ip.user_ns["_hpo"]
    silent = [t for t in study.trials if not t.reports]
    assert silent and all(t.status is TrialStatus.FAILED for t in silent)
    assert "this trial ended without calling report(), so it has no value of 'loss'" \
        in silent[0].error
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials if t.reports)
    with pytest.raises(UsageError, match="the first 3 trials all failed with the same error"):
        ip.run_cell_magic("hpo", "--quiet --trials 5 --mode min --storage none",
                          cell.replace("0.5", "2"))


def test_a_study_whose_trials_all_failed_stops_run_all_naming_the_errors(ip, capsys):
    # a different error each time: the same one in every first trial stops the study earlier
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("hpo", "--quiet --trials 2 --mode min --storage none",
                          "x = Real(0, 1)\nside = ['left', 'right'][trial.trial_id]\n"
                          "raise ValueError(f'no data on the {side}')\nreport(y=x)\n")
    text = str(caught.value)
    assert text.startswith("StudyFailedError: all 2 trials failed (2 different errors)")
    assert "ValueError: no data on the left (trial 0)" in text
    assert "ValueError: no data on the right (trial 1)" in text
    assert "nothing applied" not in capsys.readouterr().out  # the error says it once
    study = ip.user_ns["_hpo"]
    assert study.state == "failed"
    assert "ValueError: no data on the left" in study.trials[0].error


def test_a_cell_that_rebinds_config_or_device_gets_its_own_values_applied(ip):
    ip.user_ns.pop("config", None)
    ip.user_ns["device"] = "mine"
    ip.run_cell_magic("hpo", "--quiet --trials 3 --mode min --storage none --seed 0",
                      "config = {'lr': Real(0, 1), 'units': Int(1, 4)}\n"
                      "loss = config['lr'] * config['units']\n")
    study = ip.user_ns["_hpo"]
    assert ip.user_ns["config"] == study.best_config  # the cell's dict, with the best values
    assert ip.user_ns["loss"] == study.best_value
    assert ip.user_ns["device"] == "mine"  # found defined by the trial, not rebound: kept
    from jupyter_hpo.trial import Trial

    assert not isinstance(ip.user_ns.get("trial"), Trial)  # what each trial found: not applied


def test_process_executor_runs_functions_and_classes_defined_in_the_notebook(ip):
    ip.run_cell("class Scaler:\n    def __init__(self, k):\n        self.k = k\n"
                "    def __call__(self, v):\n        return v * self.k\n"
                "def shifted(v):\n    return v + 1\nscale = Scaler(3)\n")
    cell = "x = Real(0, 1)\nreport(score=shifted(scale(x)))\n"
    study = run(ip, "--quiet --executor process --trials 3 --seed 1", cell)
    assert [t.status.value for t in study.trials] == ["completed"] * 3
    for trial in study.trials:
        assert trial.reports[-1]["score"] == trial.config["x"] * 3 + 1


def test_process_executor_tracebacks_show_the_cells_own_lines(ip):
    with pytest.raises(UsageError):
        ip.run_cell_magic("hpo", "--quiet --executor process --trials 3 --storage none",
                          "x = Real(0, 1)\ny = 1\nraise ValueError('boom')\nreport(acc=x)\n")
    traceback = ip.user_ns["_hpo"].trials[0].traceback
    assert re.search(r"\n  Cell In\[\d+\], cell line 4\n    raise ValueError\('boom'\)\n",
                     traceback), traceback
    assert "_worker.py" not in traceback and "<dynamic-code>" not in traceback


@pytest.mark.parametrize("cell, adaptive", [
    (("epochs = 9\nx = Real(0, 1)\nfor epoch in range(1, epochs + 1):\n"
     "    report(epoch=epoch, loss=x / epoch)\n"), True),
    ("epochs = 9\nx = Real(0, 1)\nloss = x\n", False),  # never reports: no rungs
    (("epochs = 9\nx = Real(0, 1)\nfor step in range(1, epochs + 1):\n"
     "    report(step=step, loss=x / step)\n"), True),  # the resource is step
    (("num_epochs = 9\nx = Real(0, 1)\nfor epoch in range(1, num_epochs + 1):\n"
     "    report(epoch=epoch, loss=x / epoch)\n"), True),
    (("epochs = 2\nmax_steps = 9\nx = Real(0, 1)\nfor step in range(1, max_steps + 1):\n"
     "    report(step=step, loss=x / step)\n"), True),  # the resource's own count first
    ("x = Real(0, 1)\nfor step in range(1, 10):\n    report(step=step, loss=x / step)\n",
     False),  # no max_t
    ("x = Real(0, 1)\nfor epoch in range(1, 10):\n    report(epoch=epoch, loss=x / epoch)\n",
     False),  # no max_t
])
def test_the_default_method_adapts_when_the_cell_gives_max_t(ip, cell, adaptive):
    from jupyter_hpo.schedulers import AdaptiveScheduler, AutoFIFOScheduler

    study = run(ip, "--trials 8 --workers 2 --seed 0 --quiet --metric loss --mode min", cell)
    assert study.state == "finished" and len(study.trials) == 8
    assert study.scheduler.searcher.name == "auto"
    if adaptive:
        assert isinstance(study.scheduler, AdaptiveScheduler) and study.scheduler.max_t == 9
        assert study.scheduler.describe().startswith("auto: hyperband stopping")
    else:
        assert isinstance(study.scheduler, AutoFIFOScheduler)
        assert "every trial runs to the end" in study.scheduler.describe()


@pytest.mark.parametrize("value, why", [
    ("0", "it is not a finite number > 0"),
    ("'10'", "it is text: write epochs = 10 without quotes"),
    ("EPOCHS_NOT_DEFINED", "the notebook holds no number EPOCHS_NOT_DEFINED"),
    ("Int(-3, 0)", "its largest value is not a finite number > 0"),
])
def test_hyperband_says_why_the_cells_epochs_is_no_max_t(ip, value, why):
    """A cell with ``epochs = 0`` (or ``'10'``) was told "write `epochs = N` in the cell or
    pass --max-t N", as if it had none."""
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--trials 2 --scheduler hyperband --quiet --storage none",
                          f"x = Real(0, 1)\nepochs = {value}\nfor epoch in range(1, 4):\n"
                          f"    report(epoch=epoch, loss=x / epoch)\n")
    assert str(info.value) == (f"Hyperband needs --max-t, the largest epoch a trial reaches: the "
                               f"cell's `epochs = {value}` (cell line 3) is not one: {why}; or "
                               f"pass --max-t N")
    assert ip.user_ns.get("_hpo") is before


def test_a_key_named_like_a_count_of_progress_is_the_resource(ip, capsys):
    """``report(step=s, loss=l)`` without --resource: ``step`` is the resource (it was taken
    for a second metric, and the refusal asked for --metric), and ``max_steps = N`` its
    max_t; the note says so. An explicit --resource, an ``epoch`` key or two such keys keep
    the default's meaning."""
    cell = ("max_steps = 9\nx = Real(0, 1)\nfor step in range(1, max_steps + 1):\n"
            "    report(step=step, loss=x / step)\n")
    study = run(ip, "--trials 4 --scheduler hyperband --seed 0 --quiet --storage none", cell)
    assert "step counts the training's progress (--resource step inferred from its name)" \
        in capsys.readouterr().out
    assert study.resource == "step" and study.scheduler.max_t == 9
    assert study.metric == "loss" and study.best_trial.reports[-1]["step"] == 9
    with pytest.raises(UsageError, match=r"^Hyperband needs --max-t, the largest step a trial "
                                         r"reaches: write `steps = N` in the cell or pass "
                                         r"--max-t N$"):
        ip.run_cell_magic("hpo", "--trials 1 --scheduler hyperband --quiet --storage none",
                          cell.replace("max_steps = 9", "limit = 9").replace("max_steps",
                                                                            "limit"))
    capsys.readouterr()
    study = run(ip, "--trials 2 --quiet --storage none",
                "x = Real(0, 1)\nreport(step=1, iteration=2, loss=x)\n")
    assert study.metric == "loss" and study.resource == "epoch"  # two counts: no resource
    assert "optimising loss, the value the cell reports that does not count the progress " \
           "(step and iteration; --metric NAME picks another)" in capsys.readouterr().out
    with pytest.raises(UsageError, match="reports loss, acc: pick the one to optimise"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --storage none",
                          "x = Real(0, 1)\nreport(step=1, loss=x, acc=x)\n")
    study = run(ip, "--trials 2 --quiet --storage none --resource epoch --metric loss",
                "x = Real(0, 1)\nreport(epoch=1, step=3, loss=x)\n")
    assert study.resource == "epoch"
    assert "--resource" not in capsys.readouterr().out


def test_scheduler_opt_sets_the_auto_schedulers_own_options(ip):
    """The auto scheduler's options that have no flag of their own (and any other scheduler
    option, in the scheduler's spelling or with dashes) come through --scheduler-opt."""
    cell = ("epochs = 9\nx = Real(0, 1)\nfor epoch in range(1, epochs + 1):\n"
            "    report(epoch=epoch, loss=x / epoch)\n")
    study = run(ip, "--trials 10 --workers 2 --seed 0 --quiet --scheduler-opt min_pairs=4 "
                    "--scheduler-opt full_fraction=0.5 --scheduler-opt unmeasured-keep=1 "
                    "--scheduler-opt grace_period=3", cell)
    scheduler = study.scheduler
    assert study.state == "finished" and len(study.trials) == 10
    assert (scheduler.min_pairs, scheduler.full_fraction, scheduler.unmeasured_keep,
            scheduler.grace_period, scheduler.max_t) == (4, 0.5, 1.0, 3, 9)
    assert scheduler.cut_levels == [3]
    assert "between epochs 3 and 9" in scheduler.describe()


# ------------------------------------------------------------------ the line's words
CELL = "x = Real(0, 1)\nloss = x\n"


@pytest.mark.parametrize("line, opens", [
    ("--quiet --name 'my study", "'my study"),
    ("--quiet --trials 2 --enqueue '{\"x\": 0.5}", "'{\"x\": 0.5}"),
    ('--quiet --storage "runs/all studies.db --trials 2', '"runs/all studies.db --trials 2'),
])
def test_an_unclosed_quote_on_the_hpo_line_says_where_it_opens(ip, line, opens):
    """shlex's bare ``ValueError: No closing quotation`` came out with its traceback."""
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", line, CELL)
    quote = opens[0]
    assert str(info.value).startswith(f"the %%hpo line has an unclosed {quote} quote: it opens "
                                      f"at {opens} and nothing closes it; put a {quote} where "
                                      f"the value ends")
    assert ip.user_ns.get("_hpo") is before


def test_an_unclosed_quote_on_the_line_magic_says_where_it_opens(ip):
    assert line_error(ip, "show 'x").startswith(
        "the %hpo line has an unclosed ' quote: it opens at 'x and nothing closes it")
    assert line_error(ip, 'delete --storage s.db "my study').startswith(
        "the %hpo line has an unclosed \" quote: it opens at \"my study and")


@pytest.mark.parametrize("line, message", [
    ("--mode max --mode min", "--mode given twice (max, then min): give it once"),
    ("--mode maximize --mode min", "--mode given twice (max, then min): give it once"),
    ("--scheduler fifo --scheduler hyperband",
     "--scheduler given twice (fifo, then hyperband): give it once"),
    ("--name a --name b", "--name given twice (a, then b): give it once"),
    ("--name 'my study' --name b", "--name given twice ('my study', then b): give it once"),
    ("--trials 2 --trials 2", "--trials given twice (2, then 2): give it once"),
    ("-o a -o b", "-o given twice (a, then b): give it once"),
    ("--storage none --storage x.db", "--storage given twice (none, then x.db): give it once"),
])
def test_an_option_given_twice_is_refused(ip, tmp_path, monkeypatch, line, message):
    """argparse kept the last one silently (``--storage none --storage x.db`` wrote to x.db)."""
    monkeypatch.chdir(tmp_path)
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet {line}", CELL)
    assert str(info.value) == message
    assert ip.user_ns.get("_hpo") is before and not (tmp_path / "x.db").exists()


def test_the_repeatable_options_stay_repeatable(ip):
    from jupyter_hpo.magic import parse_cell_options

    args = parse_cell_options("--enqueue '{\"x\": 0.1}' --enqueue \"{'x': 0.2}\" "
                              "--scheduler-opt min_pairs=4 --scheduler-opt full_fraction=0.5 "
                              "--searcher grid --searcher-opt points=3 --searcher-opt "
                              "shuffle=True")
    assert args.enqueue == ['{"x": 0.1}', "{'x': 0.2}"]
    assert args.scheduler_opt == ["min_pairs=4", "full_fraction=0.5"]
    assert args.searcher_opt == ["points=3", "shuffle=True"]


@pytest.mark.parametrize("config, message", [
    ('\'{"x": 0.5, "x": 0.6}\'',
     ("--enqueue '{\"x\": 0.5, \"x\": 0.6}' gives x twice (0.5, then 0.6): give each "
      "hyperparameter once")),
    ("\"{'x': 0.5, 'act': 'a', 'act': 'b'}\"", "gives act twice ('a', then 'b')"),
    ("\"{1: 0.5, 1.0: 0.6}\"", "gives 1 twice (0.5, then 0.6)"),
])
def test_an_enqueued_configuration_that_gives_a_key_twice_is_refused(ip, config, message):
    """json.loads and ast.literal_eval both keep a repeated key's last value silently."""
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet --metric loss --mode min --enqueue {config}",
                          "x = Real(0, 1)\nact = Categorical('a', 'b')\nloss = x\n")
    assert message in str(info.value)
    assert ip.user_ns.get("_hpo") is before


@pytest.mark.parametrize("option, example", [("--scheduler-opt", "min_pairs=8"),
                                             ("--searcher-opt", "points=5")])
def test_a_key_value_option_without_its_key_says_so(ip, option, example):
    """``--scheduler-opt =3`` was "--scheduler auto does not take  (its options: ...)", an
    option with an empty name."""
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet --metric loss --mode min {option} =3", CELL)
    assert str(info.value) == (f"{option} '=3' must look like KEY=VALUE (its KEY is missing), "
                               f"e.g. {example}")


@pytest.mark.parametrize("words, message", [
    ("--searcher grid --searcher-opt points=3 --searcher-opt points=5",
     "--searcher-opt points given twice (3, then 5): give it once"),
    ("--scheduler-opt min_pairs=4 --scheduler-opt min-pairs=8 --max-t 3",
     "--scheduler-opt min_pairs given twice (4, then 8): give it once"),
])
def test_a_key_value_option_with_its_key_given_twice_is_refused(ip, words, message):
    """``--searcher-opt points=3 --searcher-opt points=5`` ran the later one without a word,
    where ``--mode max --mode min`` is refused."""
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", f"--quiet --metric loss --mode min --storage none {words}",
                          CELL)
    assert str(info.value) == message
    assert ip.user_ns.get("_hpo") is before


def test_line_command_options_may_come_before_the_name_and_file(ip, tmp_path, capsys):
    """``%hpo show --storage s.db good`` said "unrecognized arguments: good"."""
    import jupyter_hpo as jh

    storage = tmp_path / "s.db"
    jh.tune(lambda c: {"loss": c["x"]}, {"x": Real(0, 1)}, metric="loss", trials=2,
            storage=storage, name="good")
    capsys.readouterr()
    ip.run_line_magic("hpo", f"best --storage {storage} good")
    assert capsys.readouterr().out.startswith("good: best loss=")
    target = tmp_path / "e.csv"
    ip.run_line_magic("hpo", f"export --storage {storage} good {target}")
    assert capsys.readouterr().out == f"jupyter_hpo: wrote 2 trials of good to {target}\n"
    assert target.read_text().count("\n") == 3  # the header and two trials
    assert "too many arguments: good extra" in line_error(
        ip, f"best --storage {storage} good extra")
    assert line_error(ip, f"best good --storage {storage} --storage x.db") == (
        f"--storage given twice ({storage}, then x.db): give it once")


def test_a_cell_that_calls_tune_is_refused_before_any_trial(ip):
    """tune()'s space was read as the cell's hyperparameters ('lr'), and then each trial ran a
    study of its own (or the cell was refused for another reason, its --metric)."""
    ip.user_ns["fit"] = lambda config: config["lr"]
    before = ip.user_ns.get("_hpo")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("hpo", "--quiet --trials 2 --metric loss",
                          "from jupyter_hpo import tune\n"
                          "study = tune(fit, {'lr': Real(0, 1)}, metric='loss', mode='min')\n")
    assert str(info.value).startswith("HPOSyntaxError at cell line 3: tune() runs a study of its "
                                      "own: in a %%hpo cell each trial would run a whole study")
    assert ip.user_ns.get("_hpo") is before  # no study was made


SHORT_LOOP = """
x = Real(0, 1)
epochs = {epochs}
for epoch in range(1, 7):  # a quick try, shorter than epochs
    report(epoch=epoch, loss=x + 1 / epoch)
"""


def test_a_loop_that_ends_before_the_last_rung_says_why_nothing_was_stopped(ip, capsys):
    """``epochs = 20`` over a loop of 6 epochs: the default scheduler never saw a trial reach
    its last rung (9), so it stopped none, silently; the cell says so and what to write."""
    study = run(ip, "--trials 8 --quiet --seed 0", SHORT_LOOP.format(epochs=20))
    assert study.counts()["stopped"] == 0 and study.counts()["completed"] == 8
    out = capsys.readouterr().out
    assert ("jupyter_hpo: no trial was stopped early: every trial ended by epoch 6, before 9 "
            "(the last rung below max_t 20), so the auto scheduler never saw a final value to "
            "measure the early ones against and ran each trial to its end; give the epoch the "
            "training loop ends at as max_t: `epochs = 6` in the cell or --max-t 6") in out
    run(ip, "--trials 8 --quiet --seed 0", SHORT_LOOP.format(epochs=6))
    assert "no trial was stopped early" not in capsys.readouterr().out
