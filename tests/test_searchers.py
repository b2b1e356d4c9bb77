"""Searchers driven directly: seeded sampling, grid enumeration, pending trials, make_searcher."""

import math

import numpy as np
import pytest

from jupyter_hpo.searchers import GridSearcher, RandomSearcher, Searcher, make_searcher
from jupyter_hpo.space import Bool, Categorical, Int, Real, Space


def mixed_space():
    return Space({"lr": Real(1e-4, 1e-1, log=True), "x": Real(0.0, 1.0), "units": Int(1, 4),
                  "act": Categorical("relu", "tanh", "gelu"), "bias": Bool()})


def draw(searcher, n, first_id=0):
    return [searcher.suggest(first_id + i) for i in range(n)]


# ------------------------------------------------------------------------- random searcher
def test_random_same_seed_gives_same_sequence():
    a = draw(RandomSearcher(mixed_space(), "acc", "max", seed=7), 30)
    b = draw(RandomSearcher(mixed_space(), "acc", "max", seed=7), 30)
    assert a == b


def test_random_different_seeds_give_different_sequences():
    a = draw(RandomSearcher(mixed_space(), "acc", "max", seed=1), 10)
    b = draw(RandomSearcher(mixed_space(), "acc", "max", seed=2), 10)
    assert a != b


def test_random_configs_are_distinct_and_inside_the_space():
    space = mixed_space()
    configs = draw(RandomSearcher(space, "acc", "max", seed=0), 200)
    for config in configs:
        assert list(config) == list(space)
        space.validate(config)
    assert len({c["x"] for c in configs}) == 200


def test_random_covers_every_part_of_the_space():
    configs = draw(RandomSearcher(mixed_space(), "acc", "max", seed=3), 600)
    # 600 uniform draws over 10 bins of [0, 1]: each bin expects 60, an empty one has
    # probability 0.9**600 ~ 3e-28.
    assert {int(c["x"] * 10) for c in configs} >= set(range(10))
    assert {c["units"] for c in configs} == {1, 2, 3, 4}
    assert {c["act"] for c in configs} == {"relu", "tanh", "gelu"}
    assert {c["bias"] for c in configs} == {False, True}


def test_random_log_scale_is_uniform_in_the_logarithm():
    configs = draw(RandomSearcher(mixed_space(), "acc", "max", seed=4), 1000)
    # log10(lr) is uniform on [-4, -1]; its midpoint -2.5 splits the draws in half, while a
    # linear-uniform sampler would put only (10**-2.5 - 1e-4) / (0.1 - 1e-4) ~ 3% below it.
    below = sum(math.log10(c["lr"]) < -2.5 for c in configs) / len(configs)
    assert 0.45 < below < 0.55
    # one decade per third of the draws: [-4, -3) holds about 1/3
    first_decade = sum(c["lr"] < 1e-3 for c in configs) / len(configs)
    assert 0.28 < first_decade < 0.39


def test_random_int_values_are_equally_likely():
    configs = draw(RandomSearcher(Space({"k": Int(1, 4)}), "acc", "max", seed=5), 2000)
    counts = [sum(c["k"] == k for c in configs) for k in (1, 2, 3, 4)]
    # each value expects 500; the end values own a full cell too (not half of one)
    assert all(430 < n < 570 for n in counts), counts


# ------------------------------------------------------------------------- pending trials
def test_suggest_marks_the_trial_pending_until_its_final_observation():
    searcher = RandomSearcher(mixed_space(), "acc", "max", seed=0)
    c0, c1, c2 = draw(searcher, 3)
    assert searcher.pending == {0: c0, 1: c1, 2: c2}
    searcher.observe(1, c1, {"acc": 0.3})
    assert set(searcher.pending) == {0, 1, 2}
    searcher.observe(1, c1, {"acc": 0.4}, final=True)
    assert set(searcher.pending) == {0, 2}
    searcher.remove(0)
    assert searcher.pending == {2: c2}


def test_remove_and_final_observe_of_unknown_trials_are_harmless():
    searcher = RandomSearcher(mixed_space(), "acc", "max", seed=0)
    c0 = searcher.suggest(0)
    searcher.remove(42)
    searcher.observe(43, {}, {"acc": 1.0}, final=True)
    searcher.remove(0)
    searcher.remove(0)
    assert searcher.pending == {}
    assert c0 is not None


def test_grid_exhausted_suggest_adds_nothing_to_pending():
    searcher = GridSearcher(Space({"a": Categorical("x", "y")}), "acc", "max")
    draw(searcher, 2)
    assert searcher.suggest(2) is None
    assert set(searcher.pending) == {0, 1}


# ------------------------------------------------------------------------- grid searcher
def grid_space():
    return Space({"act": Categorical("relu", "tanh", "gelu"), "units": Int(1, 2),
                  "x": Real(0.0, 1.0)})


def expected_grid():
    # 3 choices x 2 integers (range 1..2 has <= 3 values, so all of them) x 3 reals
    # (0, 0.5, 1 for points=3) = 18 points, in itertools.product order.
    return [{"act": a, "units": u, "x": x}
            for a in ("relu", "tanh", "gelu") for u in (1, 2) for x in (0.0, 0.5, 1.0)]


def test_grid_enumerates_every_point_once_in_order_then_returns_none():
    searcher = GridSearcher(grid_space(), "acc", "max", points=3)
    assert len(searcher) == 18
    configs = draw(searcher, 18)
    assert configs == expected_grid()
    assert searcher.suggest(18) is None
    assert searcher.suggest(19) is None


def test_grid_shuffle_visits_the_same_points_once_in_a_seeded_order():
    plain = expected_grid()
    shuffled = draw(GridSearcher(grid_space(), "acc", "max", seed=11, points=3, shuffle=True),
                    18)
    again = draw(GridSearcher(grid_space(), "acc", "max", seed=11, points=3, shuffle=True), 18)
    other = draw(GridSearcher(grid_space(), "acc", "max", seed=12, points=3, shuffle=True), 18)
    key = lambda c: (c["act"], c["units"], c["x"])
    assert sorted(map(key, shuffled)) == sorted(map(key, plain))
    assert len(set(map(key, shuffled))) == 18
    assert shuffled != plain
    assert shuffled == again
    assert other != shuffled


def test_grid_shuffled_searcher_is_exhausted_after_the_grid():
    searcher = GridSearcher(grid_space(), "acc", "max", seed=0, points=3, shuffle=True)
    assert None not in draw(searcher, 18)
    assert searcher.suggest(18) is None


def test_grid_points_per_integer_and_real_axis():
    searcher = GridSearcher(Space({"n": Int(1, 10), "r": Real(2.0, 4.0)}), "acc", "max",
                            points=3)
    configs = draw(searcher, len(searcher))
    # Int(1, 10) at 3 points: unit 0 -> 1, 0.5 -> 1 + 0.5 * 9 = 5.5 -> round -> 6, 1 -> 10;
    # Real(2, 4): 2, 3, 4.  3 x 3 = 9 points.
    assert len(searcher) == 9
    assert sorted({c["n"] for c in configs}) == [1, 6, 10]
    assert sorted({c["r"] for c in configs}) == [2.0, 3.0, 4.0]


def test_grid_single_point_takes_the_middle():
    searcher = GridSearcher(Space({"r": Real(0.0, 8.0)}), "acc", "max", points=1)
    assert draw(searcher, 2) == [{"r": 4.0}, None]


def test_grid_returns_copies_of_its_points():
    searcher = GridSearcher(Space({"a": Categorical("x", "y")}), "acc", "max", points=2)
    first = searcher.suggest(0)
    first["a"] = "changed"
    assert searcher.point(0) == {"a": "x"}


def test_grid_rejects_fewer_than_one_point():
    with pytest.raises(ValueError, match="points is 0, but must be an integer >= 1"):
        GridSearcher(grid_space(), "acc", "max", points=0)


def test_grid_of_a_trillion_points_is_indexed_not_built():
    space = Space({f"x{i}": Real(0.0, 1.0) for i in range(4)})
    searcher = GridSearcher(space, "acc", "max", points=1000)
    assert len(searcher) == 1000 ** 4
    assert draw(searcher, 3) == [{"x0": 0.0, "x1": 0.0, "x2": 0.0, "x3": x}
                                 for x in (0.0, 1 / 999, 2 / 999)]
    # the last point: every digit 999
    assert searcher.point(1000 ** 4 - 1) == {f"x{i}": 1.0 for i in range(4)}
    shuffled = GridSearcher(space, "acc", "max", seed=0, points=1000, shuffle=True)
    configs = draw(shuffled, 50)
    assert len({tuple(c.values()) for c in configs}) == 50
    for config in configs:
        space.validate(config)


def test_grid_of_more_points_than_sys_maxsize_runs_in_order_and_shuffled():
    # 32 hyperparameters of 5 values: 5**32 (about 2e22) points, beyond what len() can count
    space = Space({f"x{i}": Real(0.0, 1.0) for i in range(32)})
    searcher = GridSearcher(space, "acc", "max")
    assert searcher.size == space.grid_size() == 5 ** 32
    assert "23,283,064,365,386,962,890,625 points" in searcher.describe()
    assert draw(searcher, 2) == [{**dict.fromkeys(space, 0.0), "x31": x} for x in (0.0, 0.25)]
    shuffled = GridSearcher(space, "acc", "max", seed=0, shuffle=True)
    configs = draw(shuffled, 20)
    assert len({tuple(c.values()) for c in configs}) == 20
    for config in configs:
        space.validate(config)


def test_grid_refuses_an_axis_of_more_than_a_million_values():
    with pytest.raises(ValueError, match=r"the grid of 'x' \(Real\(0.0, 1.0\)\) would have "
                                         r"2,000,000 values with points=2000000, but at most "
                                         r"1,000,000 per hyperparameter are allowed"):
        GridSearcher(Space({"x": Real(0.0, 1.0)}), "acc", "max", points=2_000_000)
    # a wide integer range is fine with a few points, and so are a million values
    assert len(GridSearcher(Space({"n": Int(0, 10 ** 12)}), "acc", "max", points=5)) == 5
    assert len(GridSearcher(Space({"n": Int(1, 10 ** 6)}), "acc", "max",
                            points=10 ** 6)) == 10 ** 6


@pytest.mark.parametrize("points", [1e12, 2.0, "5", True, None])
def test_grid_points_must_be_an_integer(points):
    with pytest.raises(ValueError, match=f"points is {points!r}, but must be an integer >= 1"):
        GridSearcher(grid_space(), "acc", "max", points=points)


@pytest.mark.parametrize("n", [*range(1, 40), 100, 1000, 4097, 20011])
def test_grid_shuffle_is_a_permutation_of_every_size(n):
    from jupyter_hpo.searchers._grid import _Permutation

    order = [_Permutation(n, np.random.default_rng(n))(i) for i in range(n)]
    assert sorted(order) == list(range(n))
    if n >= 10:
        assert order != list(range(n))


def test_grid_skips_restored_points_and_proposes_enqueued_ones_first():
    searcher = GridSearcher(Space({"a": Categorical(1, 2, 3, 4)}), "acc", "max")
    searcher.restore(0, {"a": 1})
    searcher.restore(1, {"a": 3})
    searcher.enqueue({"a": 3})  # interrupted: it runs again
    assert draw(searcher, 4, first_id=2) == [{"a": 3}, {"a": 2}, {"a": 4}, None]


# ------------------------------------------------------------------------- protocol
def test_searchers_reject_an_unknown_mode():
    with pytest.raises(ValueError, match="mode is 'best'"):
        RandomSearcher(mixed_space(), "acc", "best")
    with pytest.raises(ValueError, match="mode is 'down'"):
        GridSearcher(mixed_space(), "acc", "down")


# ------------------------------------------------------------------------- make_searcher
def test_make_searcher_builds_by_name_with_options():
    random = make_searcher("random", mixed_space(), "acc", "max", seed=9)
    assert isinstance(random, RandomSearcher)
    assert random.seed == 9
    assert draw(random, 5) == draw(RandomSearcher(mixed_space(), "acc", "max", seed=9), 5)
    grid = make_searcher("grid", grid_space(), "loss", "min", points=2)
    assert isinstance(grid, GridSearcher)
    # 3 choices x 2 integers x 2 reals (0 and 1 for points=2) = 12
    assert len(grid) == 12
    assert grid.metric == "loss" and grid.mode == "min"


def test_make_searcher_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"searcher is 'bayes', but must be one of "
                                         r"\['auto', 'bayesopt', 'bohb', 'grid', 'random', "
                                         r"'rl', 'skopt', 'tpe'\]"):
        make_searcher("bayes", mixed_space(), "acc", "max")
    with pytest.raises(ValueError, match="searcher is 'Random'"):
        make_searcher("Random", mixed_space(), "acc", "max")


def test_make_searcher_rejects_options_the_searcher_does_not_take():
    with pytest.raises(ValueError, match="searcher 'random' does not take these options"):
        make_searcher("random", mixed_space(), "acc", "max", points=3)
    with pytest.raises(ValueError, match="searcher 'grid' does not take these options"):
        make_searcher("grid", mixed_space(), "acc", "max", acq_func="LCB")


def test_an_option_named_without_its_searchers_prefix_names_the_option_meant():
    """--searcher-opt lr=0.1 for the rl searcher listed its options without "did you mean
    controller_lr?", which a misspelt controler_lr got; a word that ends one option alone
    (lr, batch_size, learning_rate) names it, one that ends several (size) does not guess."""
    for given, meant in (("lr", "controller_lr"), ("learning_rate", "controller_lr"),
                         ("batch_size", "controller_batch_size")):
        with pytest.raises(ValueError, match=f"did you mean {meant} instead of {given}\\?"):
            make_searcher("rl", mixed_space(), "acc", "max", **{given: 1})
    with pytest.raises(ValueError, match="does not take these options: size") as refused:
        make_searcher("rl", mixed_space(), "acc", "max", size=4)
    assert "did you mean" not in str(refused.value)


def test_make_searcher_passes_a_searcher_object_through():
    searcher = GridSearcher(grid_space(), "acc", "max")
    assert make_searcher(searcher, grid_space(), "acc", "max") is searcher
    with pytest.raises(ValueError, match="with a searcher object"):
        make_searcher(searcher, grid_space(), "acc", "max", points=3)


def test_custom_searcher_subclass_works_through_the_protocol():
    class Fixed(Searcher):
        def _suggest(self, trial_id):
            return {"x": trial_id / 10} if trial_id < 2 else None

    searcher = Fixed(Space({"x": Real(0.0, 1.0)}), "acc", "max")
    assert draw(searcher, 3) == [{"x": 0.0}, {"x": 0.1}, None]
    assert set(searcher.pending) == {0, 1}


def test_a_failure_before_any_final_result_is_learnt_as_the_first_worst_one():
    class Recording(Searcher):
        def __init__(self, *args):
            super().__init__(*args)
            self.finals = []

        def _suggest(self, trial_id):
            return {"x": trial_id / 10}

        def _observe(self, trial_id, config, result, final):
            self.finals.append((trial_id, result))

    searcher = Recording(Space({"x": Real(0.0, 1.0)}), "acc", "max")
    draw(searcher, 4)
    searcher.fail(0, {"x": 0.0})  # nothing to compare with yet
    assert searcher.finals == [] and 0 not in searcher.pending
    searcher.observe(1, {"x": 0.1}, {"acc": 0.8}, final=True)
    searcher.observe(2, {"x": 0.2}, {"acc": 0.6}, final=True)
    searcher.fail(3, {"x": 0.3})
    assert searcher.finals == [(1, {"acc": 0.8}), (0, {"acc": 0.8}), (2, {"acc": 0.6}),
                               (3, {"acc": 0.6})]  # the worst accuracy when each was learnt
    assert not searcher.pending and searcher.worst_loss == -0.6


def test_model_based_search_learns_to_avoid_where_trials_fail():
    """Trials with lr > 0.1 diverge (a quarter of the log range): counted as the worst result,
    the default's GP leaves the region; forgotten (before), it proposed 35 of 40 trials
    there, a region it had never seen a result from."""
    from jupyter_hpo import tune

    def train(config):
        if config["lr"] > 0.1:
            raise FloatingPointError("the loss diverged to nan")
        return (math.log10(config["lr"]) - math.log10(0.05)) ** 2 + 0.1 * config["wd"]

    failed = {}
    for searcher in ("auto", "random"):
        failed[searcher] = sum(
            t.status.value == "failed"
            for seed in range(3)
            for t in tune(train, {"lr": Real(1e-4, 1.0, log=True), "wd": Real(0.0, 1.0)},
                          metric="loss", mode="min", trials=30, seed=seed, storage=None,
                          searcher=searcher, max_initial_failures=30).trials)
    assert failed["auto"] < failed["random"] / 2 < 15  # random: a quarter of 90 trials


@pytest.mark.parametrize("searcher", ["skopt", "tpe", "bayesopt", "bohb", "rl", "auto"])
@pytest.mark.parametrize("scale", [1e300, -1e300])
def test_model_based_searchers_learn_from_losses_near_the_float_limit(searcher, scale):
    """A diverging training reports 1e300: the models' squares of such losses overflowed
    (scikit-optimize then stopped the study with "Input contains NaN"). The losses reach the
    models compressed beyond 1e100, in the same order, and a study runs without warnings."""
    import warnings

    from jupyter_hpo import tune

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study = tune(lambda c: scale * (c["x"] + c["units"]), {"x": Real(0.5, 1.0),
                     "units": Int(1, 3)}, metric="loss", mode="min", trials=14,
                     searcher=searcher, seed=0)
    assert study.counts()["completed"] == 14
    assert study.best_value == min(scale * (t.config["x"] + t.config["units"])
                                   for t in study.trials)


def test_model_values_keep_the_order_and_stay_finite_to_square():
    from jupyter_hpo.searchers._base import model_value

    values = [-1.7e308, -1e300, -1e101, -1e100, -3.0, 0.0, 2.5, 1e100, 1e101, 1e200, 1.7e308]
    mapped = [model_value(v) for v in values]
    assert mapped == sorted(mapped) and len(set(mapped)) == len(mapped)
    assert mapped[3:8] == values[3:8]  # unchanged up to 1e100
    assert all(math.isfinite(v * v * 1000) for v in mapped)
