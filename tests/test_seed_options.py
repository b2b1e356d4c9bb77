"""The seeds' searcher options: ``gp_resource_kernel`` and the exponential-decay kernels,
``opt_skip_num_max_resource``, and ``debug_log`` (the best observed value, Hyperband's stop /
pause / promote decisions, every searcher's proposals)."""

from __future__ import annotations

import re

import pytest
from searcher_harness import branin, branin_space, mixed_loss, mixed_space

from jupyter_hpo import Real, tune
from jupyter_hpo.searchers import make_searcher

pytestmark = pytest.mark.usefixtures("one_blas_thread")  # as in a study

LEVELS = [1, 3, 9]


def curve(config, epoch):
    return mixed_loss(config, epoch)


def train(config, report):
    for epoch in range(1, 10):
        report(epoch=epoch, loss=curve(config, epoch))


@pytest.mark.parametrize("kernel", ["exp-decay-combined", "exp-decay-delta1"])
def test_exp_decay_kernels_of_the_seeds_run_with_hyperband(kernel):
    study = tune(train, mixed_space(), metric="loss", mode="min", trials=24, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 9}, searcher="bayesopt",
                 searcher_options={"gp_resource_kernel": kernel, "num_init_random": 4})
    assert study.counts()["failed"] == 0 and len(study.trials) == 24
    searcher = study.scheduler.searcher
    assert searcher.kernel_name == kernel and searcher._gp.kernel.kind == kernel
    if kernel == "exp-decay-combined":  # delta is learnt, in (0, 1]
        assert 0 < searcher._gp.kernel.part("delta")[0] <= 1
    else:
        assert "delta" not in searcher._gp.kernel.slices


def test_gp_resource_kernel_is_the_kernel_option():
    searcher = make_searcher("bayesopt", branin_space(), "loss", "min", 0,
                             gp_resource_kernel="exp-decay-sum")
    assert searcher.kernel_name == "exp-decay-sum"
    with pytest.raises(ValueError, match="kernel is 'matern52' and gp_resource_kernel is "
                                         "'exp-decay-sum', but they name the same option"):
        make_searcher("bayesopt", branin_space(), "loss", "min", 0, kernel="matern52",
                      gp_resource_kernel="exp-decay-sum")
    with pytest.raises(ValueError, match="kernel is 'rbf', but must be one of matern52, "
                                         "matern52-res-warp, exp-decay-sum, exp-decay-combined, "
                                         "exp-decay-delta1"):
        make_searcher("bayesopt", branin_space(), "loss", "min", 0, gp_resource_kernel="rbf")


def fed(searcher, trials, top_every):
    """Trials that reach rungs 1 and 3; every ``top_every``-th one also max_t (9)."""
    searcher.set_fidelity("epoch", 9, LEVELS)
    for trial_id in range(trials):
        config = searcher.suggest(trial_id)
        last = 9 if trial_id % top_every == 0 else 3
        for epoch in (1, 3, last):
            searcher.observe(trial_id, config, {"epoch": epoch, "loss": curve(config, epoch)})
        searcher.observe(trial_id, config, {"epoch": last, "loss": curve(config, last)},
                         final=True)
    return searcher


def test_opt_skip_num_max_resource_refits_only_for_new_results_at_max_t():
    options = {"num_init_random": 2, "opt_skip_init_length": 0, "num_candidates": 50,
               "batch_fraction": 0}  # refit options are checked at each fresh acquisition
    skipping = fed(make_searcher("bayesopt", mixed_space(), "loss", "min", 0,
                                 opt_skip_num_max_resource=True, **options), 12, 4)
    every = fed(make_searcher("bayesopt", mixed_space(), "loss", "min", 0, **options), 12, 4)
    # results at max_t came from trials 0, 4 and 8: refits when each was new (plus the first)
    assert every._fits == 10 and skipping._fits == 3
    with pytest.raises(ValueError, match="opt_skip_num_max_resource is 'yes', but must be True "
                                         "or False"):
        make_searcher("bayesopt", mixed_space(), "loss", "min", 0,
                      opt_skip_num_max_resource="yes")


def test_debug_log_prints_the_best_observed_value(capsys):
    study = tune(lambda c: branin(c), branin_space(), metric="loss", mode="min", trials=9,
                 seed=0, searcher="bayesopt",
                 searcher_options={"num_init_random": 5, "debug_log": True})
    lines = [line for line in capsys.readouterr().out.splitlines() if "observations" in line]
    assert len(lines) == 4
    values = [t.best("loss", "min") for t in study.trials]
    for n, line in enumerate(lines, start=5):  # each line: the best of the results so far
        shown = float(re.search(r"best observed loss (\S+)", line).group(1))
        assert shown == pytest.approx(min(values[:n]), rel=1e-3)


def test_debug_log_prints_hyperband_decisions(capsys):
    space = {"x": Real(0, 1)}

    def train(config, report):
        for epoch in range(1, 10):
            report(epoch=epoch, loss=config["x"] / epoch)

    study = tune(train, space, metric="loss", mode="min", trials=12, seed=1,
                 scheduler="hyperband", scheduler_options={"max_t": 9, "type": "promotion"},
                 searcher="random", searcher_options={"debug_log": True})
    out = capsys.readouterr().out
    assert len(re.findall(r"^random: trial \d+ gets \{'x': ", out, re.MULTILINE)) == 12
    pauses = re.findall(r"^hyperband: trial (\d+) reached rung 1 \(epoch=1\) with loss=\S+, "
                        r"rank \d+ of \d+ there -> pause", out, re.MULTILINE)
    promotions = re.findall(r"^hyperband: promote trial (\d+) from rung (\d+) \(rank (\d+) of "
                            r"(\d+) there\)", out, re.MULTILINE)
    assert len(pauses) == 12 and promotions
    promoted = {int(t) for t, *_ in promotions}
    reached_3 = {t.trial_id for t in study.trials if t.last("epoch") >= 3}
    assert promoted >= reached_3 - {0}  # whoever got past rung 1 was promoted (or ran alone)
    stopping = tune(train, space, metric="loss", mode="min", trials=12, seed=1,
                    scheduler="hyperband", scheduler_options={"max_t": 9},
                    searcher_options={"debug_log": True})
    out = capsys.readouterr().out
    stops = re.findall(r"^hyperband: trial (\d+) reached rung \d .* -> stop \(not in the top "
                       r"1/3\)$", out, re.MULTILINE)
    assert {int(t) for t in stops} == {t.trial_id for t in stopping.trials
                                       if t.status == "stopped"}


def test_debug_log_goes_to_the_notebook_not_to_a_trial(ipython_shell, capsys):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    ipython_shell.run_cell_magic(
        "hpo", "--scheduler hyperband --max-t 3 --trials 3 --seed 0 --quiet "
        "--searcher-opt debug_log=True",
        "x = Real(0, 1)\nfor epoch in range(1, 4):\n    report(epoch=epoch, loss=x / epoch)\n")
    study = ipython_shell.user_ns["_hpo"]
    assert "hyperband: trial 0 reached rung 1" in capsys.readouterr().out
    assert not any("hyperband:" in study.trial_output(t.trial_id) for t in study.trials)


def test_seed_spellings_through_the_magic(ipython_shell):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell_magic(
        "hpo", "--scheduler hyperband --trials 8 --seed 0 --quiet --searcher bayesopt "
        "--searcher-opt gp_resource_kernel=exp-decay-delta1 --searcher-opt num_init_random=3 "
        "--searcher-opt opt_skip_num_max_resource=True",
        "lr = Real(lower=1e-3, upper=1e-1, log=True)\n"
        "units = Int(lower=0, upper=96, step=32)\n"
        "p = 0.2  # hpo: Real(0, 0.5, step=0.1)\n"
        "max_t = 9\n"
        "for epoch in range(1, max_t + 1):\n"
        "    report(epoch=epoch, loss=(lr - 0.01) ** 2 + units / 1000 + p / epoch)\n")
    study = ip.user_ns["_hpo"]
    assert study.scheduler.max_t == 9 and study.counts()["failed"] == 0
    searcher = study.scheduler.searcher
    assert searcher.kernel_name == "exp-decay-delta1" and searcher.opt_skip_num_max_resource
    for trial in study.trials:
        assert trial.config["units"] in (0, 32, 64, 96)
        assert trial.config["p"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
        assert 1e-3 <= trial.config["lr"] <= 1e-1
