"""The bayesopt searcher: our Gaussian-process BO, multi-fidelity (MOBSTER-like) with
Hyperband."""

from __future__ import annotations

import statistics

import pytest
from searcher_harness import (
    branin,
    branin_space,
    mixed_loss,
    mixed_space,
    run_fifo,
    run_hyperband,
    wins_against_random,
)

from jupyter_hpo.searchers import make_searcher


def test_beats_random_search_on_branin():
    # 25 trials (5 random starts) on 5 seeds: 5/5 wins seen, median best 0.41 against 1.77.
    wins, ours, theirs = wins_against_random("bayesopt", branin, branin_space(), 25, range(5))
    assert wins >= 4
    assert ours < 0.5 * theirs


def test_with_hyperband_beats_random_hyperband_for_the_same_epochs():
    # 300 epochs on 4 workers, 5 seeds: the multi-fidelity GP (config x resource) found
    # 0.08-0.40 where random + Hyperband found 0.41-0.79.
    ours = [run_hyperband("bayesopt", mixed_loss, mixed_space(), 300, s)[0] for s in range(5)]
    theirs = [run_hyperband("random", mixed_loss, mixed_space(), 300, s)[0] for s in range(5)]
    assert sum(a < b for a, b in zip(ours, theirs)) >= 4
    assert statistics.median(ours) < 0.7 * statistics.median(theirs)


@pytest.mark.parametrize("kernel", ["matern52-res-warp", "exp-decay-sum"])
def test_multi_fidelity_kernels_learn_from_the_rungs(kernel):
    # a short budget: what matters is that the kernel fits and guides (better than random's
    # median over the same proposals), not a full comparison
    ours = run_hyperband("bayesopt", mixed_loss, mixed_space(), 120, 0, kernel=kernel)[0]
    searcher = make_searcher("bayesopt", mixed_space(), "loss", "min", 0, kernel=kernel)
    searcher.set_fidelity("epoch", 27, [1, 3, 9, 27])
    for trial_id in range(8):
        config = searcher.suggest(trial_id)
        for epoch in (1, 3):
            searcher.observe(trial_id, config, {"epoch": epoch, "loss": mixed_loss(config, epoch)})
    assert {level for _, level in searcher.data} == {1, 3}
    assert searcher.suggest(8) is not None and searcher._fits >= 1
    assert ours < 2.0


def test_same_seed_same_proposals_and_pending_trials_get_distinct_ones():
    first = run_fifo("bayesopt", branin, branin_space(), 12, seed=2, workers=3)
    assert run_fifo("bayesopt", branin, branin_space(), 12, seed=2, workers=3) == first
    searcher = make_searcher("bayesopt", mixed_space(), "loss", "min", 0, num_init_random=3)
    for trial_id in range(3):
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"loss": mixed_loss(config)}, final=True)
    proposals = [searcher.suggest(trial_id) for trial_id in range(3, 9)]  # 6 workers ask
    assert len({tuple(sorted(c.items())) for c in proposals}) == 6


def test_debug_log_explains_each_decision(capsys):
    run_fifo("bayesopt", branin, branin_space(), 7, 0, num_init_random=5, debug_log=True)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("bayesopt:")]
    assert len(lines) == 2  # trials 6 and 7 were chosen by the model
    assert "observations" in lines[0] and "EI" in lines[0] and "lengthscales" in lines[0]


@pytest.mark.parametrize("options, message", [
    ({"kernel": "rbf"}, ("kernel is 'rbf', but must be one of matern52, matern52-res-warp, "
                        "exp-decay-sum")),
    ({"num_init_random": 0}, "num_init_random is 0, but must be an integer >= 1"),
    ({"opt_skip_period": 0}, "opt_skip_period is 0"),
    ({"debug_log": "yes"}, "debug_log is 'yes', but must be True or False"),
])
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(ValueError) as info:
        make_searcher("bayesopt", branin_space(), "loss", "min", 0, **options)
    assert message in str(info.value)


def test_usable_from_the_magic_with_hyperband(ipython_shell):
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_hpo")
    ip.run_cell_magic("hpo", "--quiet --searcher bayesopt --scheduler hyperband --trials 14 "
                             "--workers 2 --seed 0 --searcher-opt kernel=exp-decay-sum "
                             "--searcher-opt num_init_random=4",
                      "x = Real(0, 1)\nepochs = 9\nfor epoch in range(1, epochs + 1):\n"
                      "    report(epoch=epoch, loss=(x - 0.3) ** 2 + 1 / epoch)\n")
    study = ip.user_ns["_hpo"]
    assert study.state == "finished" and len(study.trials) == 14
    searcher = study.scheduler.searcher
    assert searcher.kernel_name == "exp-decay-sum" and searcher.resource == "epoch"
    assert searcher._fits >= 1
