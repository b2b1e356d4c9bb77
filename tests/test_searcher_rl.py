"""The RL searcher: an LSTM controller trained with REINFORCE over discretised decisions."""

import statistics

import pytest
from searcher_harness import mixed_space, run_fifo, wins_against_random

from jupyter_hpo.searchers._rl import RLSearcher
from jupyter_hpo.space import Bool, Categorical, Int, Real, Space

TARGETS = ((1, 1.0), (4, 0.7), (2, 0.5), (5, 0.3), (0, 0.2))


def letters_space():
    return Space({f"c{i}": Categorical(*"abcdef") for i in range(len(TARGETS))})


def letters_loss(config, epoch=1.0):
    """Weighted squared distance of each letter's index to its target (optimum 0)."""
    return sum(w * ("abcdef".index(config[f"c{i}"]) - t) ** 2
               for i, (t, w) in enumerate(TARGETS))


def test_beats_random_search_on_a_categorical_problem():
    # 6**5 configurations, 80 trials, 20 seeds: the controller's best beats random's on
    # most seeds and its median best is far lower.
    wins, ours, theirs = wins_against_random("rl", letters_loss, letters_space(), 80,
                                             range(20))
    assert wins >= 15 and ours < 0.6 * theirs, (wins, ours, theirs)


def test_reinforce_moves_the_policy_towards_good_choices():
    searcher = RLSearcher(letters_space(), "loss", "min", seed=0)
    values = []
    for t in range(120):
        c = searcher.suggest(t)
        values.append(letters_loss(c))
        searcher.observe(t, c, {"loss": values[-1]}, final=True)
    assert searcher.updates == 30
    assert statistics.mean(values[-30:]) < 0.5 * statistics.mean(values[:30])


def test_maximisation_flips_the_reward():
    space = Space({"k": Categorical(*range(8))})
    searcher = RLSearcher(space, "acc", "max", seed=1)
    for t in range(80):
        c = searcher.suggest(t)
        searcher.observe(t, c, {"acc": float(c["k"])}, final=True)
    last = [searcher.suggest(100 + i)["k"] for i in range(20)]
    assert statistics.mean(last) > 5.5, last


def test_real_and_int_domains_are_discretised_into_bins():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "k": Int(1, 3), "u": Int(0, 100)})
    searcher = RLSearcher(space, "loss", "min", seed=0, num_bins=5)
    lr, k, u = searcher.choices
    assert len(lr) == 5 and lr[0] == pytest.approx(10 ** -3.7) and lr[2] == pytest.approx(
        10 ** -2.5)
    assert k == [1, 2, 3]
    assert u == [10, 30, 50, 70, 90]
    configs = [searcher.suggest(i) for i in range(30)]
    assert all(c["lr"] in lr and c["k"] in k and c["u"] in u for c in configs)


def test_same_seed_gives_identical_proposals():
    a = run_fifo("rl", letters_loss, letters_space(), 30, seed=5, workers=2)
    b = run_fifo("rl", letters_loss, letters_space(), 30, seed=5, workers=2)
    c = run_fifo("rl", letters_loss, letters_space(), 30, seed=6, workers=2)
    assert a == b and a != c


def test_pending_trials_get_distinct_proposals():
    space = Space({"a": Categorical("x", "y"), "b": Bool(), "k": Int(1, 3)})  # 12 configs
    searcher = RLSearcher(space, "loss", "min", seed=0)
    batch = [searcher.suggest(i) for i in range(8)]
    assert len({tuple(c.values()) for c in batch}) == 8


def test_results_of_unknown_trials_are_learnt_from():
    searcher = RLSearcher(mixed_space(), "loss", "min", seed=0, controller_batch_size=2)
    config = {"lr": 0.01, "units": 100, "act": "tanh", "dropout": 0.3}
    searcher.observe(7, config, {"loss": 1.0}, final=True)
    searcher.observe(8, dict(config, act="relu"), {"loss": 2.0}, final=True)
    assert searcher.updates == 1


def test_failed_trials_give_no_reward():
    searcher = RLSearcher(mixed_space(), "loss", "min", seed=0, controller_batch_size=1)
    searcher.suggest(0)
    searcher.remove(0)
    assert searcher.updates == 0 and searcher.pending == {} and searcher.actions == {}


def test_pickle_keeps_the_policy_and_the_optimiser_state():
    import pickle

    import torch

    searcher = RLSearcher(letters_space(), "loss", "min", seed=0, controller_batch_size=2)
    for trial_id in range(6):
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"loss": letters_loss(config)}, final=True)
    clone = pickle.loads(pickle.dumps(searcher))
    assert clone.updates == searcher.updates == 3

    def tensors(s):
        adam = s.optimizer.state_dict()["state"]
        return ([s.start, *s._weights()]
                + [v for state in adam.values() for v in state.values()])

    same = {f"c{i}": "a" for i in range(len(TARGETS))}
    for _ in range(2):
        mine, theirs = tensors(searcher), tensors(clone)
        assert len(mine) == len(theirs) > 10
        assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
        for s in (searcher, clone):  # the same two results: the same update
            s.observe(90, same, {"loss": 1.0}, final=True)
            s.observe(91, dict(same, c0="b"), {"loss": 2.0}, final=True)
    assert searcher.updates == clone.updates == 5
    assert [searcher.suggest(10 + i) for i in range(5)] == [clone.suggest(10 + i)
                                                             for i in range(5)]
