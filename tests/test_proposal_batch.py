"""Batches of proposals from one acquisition (``searchers/_proposal_batch.py``): each pick's
posterior is the GP conditioned on the earlier picks, and the bayesopt searcher makes a fresh
acquisition when the batch is used up, when a new best arrives where EI is taken, or when the
level EI is taken at changes."""

from __future__ import annotations

import numpy as np
import pytest
from searcher_harness import mixed_loss, mixed_space

from jupyter_hpo.searchers import make_searcher
from jupyter_hpo.searchers._bayesopt_parts import expected_improvement
from jupyter_hpo.searchers._gp import GaussianProcess, Kernel
from jupyter_hpo.searchers._proposal_batch import ProposalBatch
from jupyter_hpo.space import Int, Space

LEVELS = [1, 3, 9, 27]


def _gp_and_batch(kernel: str, has_resource: bool, size: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    width = 3 + int(has_resource)
    gp = GaussianProcess(Kernel(kernel, 3, has_resource))
    gp.kernel.theta = gp.kernel.initial + rng.normal(0.0, 0.3, len(gp.kernel.initial))
    x = rng.random((25, width))
    gp.condition(x, np.sin(5 * x[:, 0]) + x[:, 1])
    inputs = rng.random((60, width))
    mean, variance, factors = gp.posterior(inputs)
    incumbent = float(np.min(gp.fitted_mean()))
    batch = ProposalBatch(inputs[:, :3], inputs, mean, variance, factors.copy(), gp.kernel,
                          gp.diagonal, incumbent, size, context=None, best=incumbent)
    return gp, inputs, batch


@pytest.mark.parametrize("kernel, has_resource", [("matern52", False), ("matern52", True),
                                                  ("exp-decay-combined", True)])
def test_each_pick_sees_the_gp_conditioned_on_the_earlier_picks(kernel, has_resource):
    gp, inputs, batch = _gp_and_batch(kernel, has_resource)
    gp.predict(np.random.default_rng(5).random((90, inputs.shape[1])))  # other work arrays
    mean, std = gp.predict(inputs)
    np.testing.assert_allclose(batch.mean, mean, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(batch.variance), std, atol=1e-6)
    picked = []
    for _ in range(4):
        ei = expected_improvement(batch.incumbent, batch.mean, np.sqrt(batch.variance))
        ei[picked] = -np.inf
        index = batch.pick(lambda i: True)
        assert index == int(np.argmax(ei))  # the largest EI under the earlier fantasies
        picked.append(index)
        fantasy = gp.fantasised(inputs[picked])
        fantasy_mean, fantasy_std = fantasy.predict(inputs)
        np.testing.assert_allclose(batch.mean, fantasy_mean, atol=1e-6)
        np.testing.assert_allclose(np.sqrt(np.maximum(batch.variance, 1e-12)), fantasy_std,
                                   atol=1e-5)
    assert len(set(picked)) == 4


def test_a_batch_gives_at_most_its_size_and_skips_what_is_rejected():
    _, _, batch = _gp_and_batch("matern52", False, size=3)
    first_choice = int(np.argmax(batch.expected_improvement()))
    picks = [batch.pick(lambda i: i != first_choice) for _ in range(4)]
    assert picks[3] is None and None not in picks[:3]
    assert first_choice not in picks and len(set(picks[:3])) == 3
    assert batch.made == 3 and batch.left == 0


def _observe(searcher, trial_id, config, epochs):
    for epoch in epochs:
        searcher.observe(trial_id, config, {"epoch": epoch, "loss": mixed_loss(config, epoch)})
    searcher.observe(trial_id, config, {"epoch": epochs[-1],
                                        "loss": mixed_loss(config, epochs[-1])}, final=True)


def _hyperband_searcher(trials: int, seed: int = 0, name: str = "bayesopt", **options):
    searcher = make_searcher(name, mixed_space(), "loss", "min", seed,
                             num_candidates=100, **options)
    searcher.set_fidelity("epoch", 27, LEVELS)
    rng = np.random.default_rng(seed)
    for trial_id in range(trials):
        _observe(searcher, trial_id, mixed_space().sample(rng), (1, 3))
    return searcher


def _worse_than_everything(searcher, trial_id):
    """A proposal observed at rungs 1 and 3 with losses that beat no result there."""
    config = searcher.suggest(trial_id)
    for epoch in (1, 3):
        searcher.observe(trial_id, config, {"epoch": epoch, "loss": 100.0})
    searcher.observe(trial_id, config, {"epoch": 3, "loss": 100.0}, final=True)
    return config


@pytest.mark.parametrize("name, size", [("auto", 18), ("bayesopt", 60)])
def test_with_hyperband_one_acquisition_serves_a_share_of_the_trials_observed(name, size):
    """The auto searcher's batches serve 30% of the trials observed (18 of 60), bayesopt's
    (MOBSTER) all of them; each pick is a distinct configuration; a used-up batch makes way
    for a fresh acquisition."""
    searcher = _hyperband_searcher(60, name=name)
    configs = [searcher.suggest(60)]
    batch = searcher._batch
    assert batch is not None and batch.made + batch.left == size
    configs += [searcher.suggest(trial_id) for trial_id in range(61, 60 + size)]
    assert searcher._batch is batch and batch.left == 0
    assert len({tuple(sorted(c.items())) for c in configs}) == size
    searcher.suggest(60 + size)
    assert searcher._batch is not batch  # used up: a fresh acquisition


def test_results_that_beat_nothing_keep_the_batch():
    searcher = _hyperband_searcher(60)
    _worse_than_everything(searcher, 60)
    batch = searcher._batch
    for trial_id in range(61, 64):
        _worse_than_everything(searcher, trial_id)
    assert searcher._batch is batch and batch.made == 4


@pytest.mark.parametrize("name, trials", [("bayesopt", 100), ("auto", 60)])
def test_a_new_best_where_ei_is_taken_makes_a_fresh_acquisition(name, trials):
    searcher = _hyperband_searcher(trials, name=name)
    config = searcher.suggest(trials)
    batch = searcher._batch
    assert batch is not None and batch.context[0] == 3.0  # EI is taken at rung 3
    searcher.observe(trials, config, {"epoch": 1, "loss": -100.0})  # a new best at rung 1 only
    assert searcher._batch is batch
    searcher.observe(trials, config, {"epoch": 3, "loss": -100.0})
    assert searcher._batch is None
    searcher.suggest(trials + 1)
    assert searcher._batch is not batch and searcher._batch.made == 1


def test_bayesopt_keeps_its_batch_at_a_new_best_before_100_trials_were_observed():
    """MOBSTER's early batches are small and soon used up: before 100 trials were observed a
    new best where EI is taken does not end one (the auto searcher's does, test above)."""
    searcher = _hyperband_searcher(98)
    config = searcher.suggest(98)
    batch = searcher._batch
    searcher.observe(98, config, {"epoch": 3, "loss": -100.0})  # 99 trials observed
    assert searcher._batch is batch
    config = searcher.suggest(99)
    assert searcher._batch is batch and batch.made == 2
    searcher.observe(99, config, {"epoch": 3, "loss": -200.0})  # the 100th trial observed
    assert searcher._batch is None


def test_a_new_target_level_makes_a_fresh_acquisition():
    searcher = _hyperband_searcher(60)
    _worse_than_everything(searcher, 60)
    batch = searcher._batch
    for trial_id in range(61, 66):  # five results at rung 9 move the target level there
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"epoch": 9, "loss": 100.0})
    assert searcher._target_level() == 9.0
    searcher.suggest(66)
    assert searcher._batch is not batch and searcher._batch.context[0] == 9.0


@pytest.mark.parametrize("options, fifo", [({"batch_fraction": 0.0}, False), ({}, True)])
def test_a_fresh_acquisition_for_every_proposal_with_fraction_0_and_by_default_with_fifo(
        options, fifo):
    if fifo:
        searcher = make_searcher("bayesopt", mixed_space(), "loss", "min", 0,
                                 num_candidates=100, **options)
        rng = np.random.default_rng(0)
        for trial_id in range(60):
            config = mixed_space().sample(rng)
            searcher.observe(trial_id, config, {"loss": mixed_loss(config, 27)}, final=True)
    else:
        searcher = _hyperband_searcher(60, **options)
    batches = []
    for trial_id in range(60, 64):
        searcher.suggest(trial_id)
        batches.append(searcher._batch)
        assert searcher._batch.made + searcher._batch.left == 1
    assert len({id(b) for b in batches}) == 4


def test_batched_proposals_are_deterministic_and_never_repeat_a_configuration():
    space = Space({"a": Int(0, 3), "b": Int(0, 3)})  # 16 configurations in all

    def run(seed):
        searcher = make_searcher("bayesopt", space, "loss", "min", seed, num_candidates=50,
                                 batch_fraction=0.5)
        searcher.set_fidelity("epoch", 27, LEVELS)
        proposals = []
        for trial_id in range(16):
            config = searcher.suggest(trial_id)
            proposals.append(tuple(sorted(config.items())))
            loss = (config["a"] - 2) ** 2 + (config["b"] - 1) ** 2
            searcher.observe(trial_id, config, {"epoch": 1, "loss": loss}, final=True)
        return proposals

    first = run(3)
    assert run(3) == first
    assert len(set(first)) == 16  # every configuration once: picks skip observed ones


def test_batch_fraction_is_checked():
    with pytest.raises(ValueError, match=r"batch_fraction is 1.5, but must be a number in "
                                         r"\[0.0, 1.0\]"):
        make_searcher("bayesopt", mixed_space(), "loss", "min", 0, batch_fraction=1.5)


def test_a_pickled_searcher_goes_on_with_its_batch():
    """Studies pickle their searcher to resume: the batch travels with it, so the copy takes
    the same next picks."""
    import pickle

    searcher = _hyperband_searcher(60)
    searcher.suggest(60)
    copy = pickle.loads(pickle.dumps(searcher))
    assert [searcher.suggest(t) for t in range(61, 64)] == [copy.suggest(t) for t in range(61, 64)]
    assert copy._batch.made == 4


def test_debug_log_says_which_proposals_come_from_a_batch(capsys):
    searcher = _hyperband_searcher(60, debug_log=True)
    searcher.suggest(60)
    searcher.suggest(61)
    out = capsys.readouterr().out
    assert "hyperparameters refitted" in out  # the fresh acquisition explains itself
    assert "pick 2 of the last acquisition's batch (up to 60): EI " in out  # all 60 observed
    predicted = float(out.split("pick 2 of")[1].split("(predicted ")[1].split(" +-")[0])
    assert 0.0 < predicted < 15.0  # in the loss's units (mixed_loss is 1.2-12), not z-scores


@pytest.mark.parametrize("hyperband", [False, True])
def test_the_last_untried_configuration_is_found_beyond_the_batch_pool(hyperband):
    """The batch keeps only the best candidates by EI; when every one of them was tried, the
    proposal still comes from the rest of the ranking, not at random."""
    space = Space({"x": Int(0, 9)})
    searcher = make_searcher("bayesopt", space, "loss", "min", 0, num_init_random=2)
    if hyperband:
        searcher.set_fidelity("epoch", 27, LEVELS)
    for trial_id, x in enumerate(range(9)):  # all but x = 9, the worst by the trend
        result = {"loss": float((x - 3) ** 2)}
        if hyperband:
            result["epoch"] = 1
        searcher.observe(trial_id, {"x": x}, result, final=True)
    assert searcher.suggest(9) == {"x": 9}
