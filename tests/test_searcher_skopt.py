"""The skopt searcher: scikit-optimize's Optimizer behind the Searcher protocol."""

from __future__ import annotations

import statistics

import pytest
from searcher_harness import (
    branin,
    branin_space,
    mixed_loss,
    mixed_space,
    run_fifo,
    wins_against_random,
)

from jupyter_hpo.searchers import make_searcher

pytestmark = pytest.mark.usefixtures("one_blas_thread")  # as in a study


def test_gp_beats_random_search_on_branin():
    # 22 trials (10 random, then 12 guided by the GP) on 5 seeds: the GP's best is below
    # random search's on (nearly) every seed and its median best is far lower.
    wins, ours, theirs = wins_against_random("skopt", branin, branin_space(), 22, range(5))
    assert wins >= 4
    assert ours < 0.5 * theirs


@pytest.mark.parametrize("estimator", ["ET", "RF", "GBRT"])
def test_tree_models_propose_better_points_than_random_once_fitted(estimator):
    # After 10 random starts, what a tree model proposes is much better on median than what
    # random search proposes over the same trials (seeds 0-2 pooled).
    ours, theirs = [], []
    for seed in range(3):
        ours += run_fifo("skopt", mixed_loss, mixed_space(), 22, seed,
                         base_estimator=estimator, acq_func="EI")[10:]
        theirs += run_fifo("random", mixed_loss, mixed_space(), 22, seed)[10:]
    assert statistics.median(ours) < 0.75 * statistics.median(theirs)


def test_same_seed_gives_the_same_proposals():
    first = run_fifo("skopt", branin, branin_space(), 14, seed=3, workers=2)
    again = run_fifo("skopt", branin, branin_space(), 14, seed=3, workers=2)
    assert first == again
    assert run_fifo("skopt", branin, branin_space(), 14, seed=4, workers=2) != first


@pytest.mark.parametrize("estimator", ["GP", "ET"])
def test_pending_trials_get_distinct_proposals(estimator):
    searcher = make_searcher("skopt", mixed_space(), "loss", "min", 0, base_estimator=estimator,
                             n_initial_points=3)
    for trial_id in range(4):  # fit a model first
        config = searcher.suggest(trial_id)
        searcher.observe(trial_id, config, {"loss": mixed_loss(config)}, final=True)
    proposals = [searcher.suggest(trial_id) for trial_id in range(4, 10)]  # 6 workers ask
    assert len({tuple(sorted(c.items())) for c in proposals}) == 6
    assert all(isinstance(c["units"], int) and c["act"] in ("relu", "tanh", "sigmoid")
               for c in proposals)


def test_maximising_uses_the_negated_metric():
    values = run_fifo("skopt", lambda c, e: -branin(c), branin_space(), 20, 0, mode="max")
    assert max(values[10:]) > max(values[:10])


def test_single_value_dimensions_are_held_constant():
    from jupyter_hpo import Categorical, Int, Real, Space

    space = Space({"x": Real(-5.0, 10.0), "depth": Int(3, 3), "act": Categorical("relu")})
    searcher = make_searcher("skopt", space, "loss", "min", 0, n_initial_points=2)
    for trial_id in range(4):
        config = searcher.suggest(trial_id)
        assert config["depth"] == 3 and config["act"] == "relu"
        searcher.observe(trial_id, config, {"loss": (config["x"] - 1.0) ** 2}, final=True)
    only = make_searcher("skopt", Space({"depth": Int(3, 3)}), "loss", "min", 0)
    assert only.suggest(0) == {"depth": 3}


def test_its_repeated_point_warning_is_silenced_without_an_error_filter_raising_it():
    """skopt warns "The objective has been evaluated at point ... before" when its model
    proposes a point it has seen (here: every choice of a three-value space has been tried);
    the searcher silences it in its own thread only, also under an "error" filter (pytest's
    -W error), which the user's other warnings still obey."""
    import warnings

    from jupyter_hpo import Categorical, Space

    searcher = make_searcher("skopt", Space({"act": Categorical("a", "b", "c")}), "loss", "min",
                             0, n_initial_points=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        for trial_id in range(6):
            config = searcher.suggest(trial_id)
            searcher.observe(trial_id, config, {"loss": "abc".index(config["act"])}, final=True)
        with pytest.raises(UserWarning, match="the user's own"):
            warnings.warn("the user's own")
    assert caught == []
