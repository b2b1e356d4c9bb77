"""Conditional spaces: hyperparameters under ``if``/``elif``/``else`` in a cell, or with
``when=`` in ``tune()``, are active only when their condition holds."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from jupyter_hpo import Study, tune
from jupyter_hpo.annotate import diagnose_cell, parse_cell
from jupyter_hpo.errors import HPOSyntaxError, SpaceError
from jupyter_hpo.space import INACTIVE, Bool, Categorical, Int, Real, Space
from jupyter_hpo.storage import SQLiteStorage, describe_space, space_from_description

SPACE = {
    "arch": Categorical("mlp", "cnn"),
    "lr": Real(1e-3, 1e-1, log=True),
    "kernel": Int(3, 7, when="arch == 'cnn'"),
    "channels": Int(8, 32, step=8, when={"arch": "cnn"}),
    "pool": Bool(when="arch == 'cnn' and kernel > 5"),
    "hidden": Int(16, 128, when="arch == 'mlp'"),
}

CELL = '''arch = Categorical("mlp", "cnn")
lr = Real(1e-3, 1e-1, log=True)
if arch == "cnn":
    kernel = Int(3, 7)
    channels = Int(8, 32, step=8)
    if kernel > 5:
        pool = Bool()
elif arch == "mlp":
    hidden = Int(16, 128)
    act = "relu"  # hpo: Categorical("relu", "tanh")
score = (kernel if arch == "cnn" else hidden / 32) + lr
'''


def expected_active(config):
    active = {"arch", "lr"}
    if config["arch"] == "cnn":
        active |= {"kernel", "channels"} | ({"pool"} if config["kernel"] > 5 else set())
    else:
        active |= {"hidden"}
    return active


# --- the space ----------------------------------------------------------------------------

def test_samples_hold_the_active_hyperparameters_only():
    space = Space(SPACE)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        config = space.sample(rng)
        assert set(config) == expected_active(config)
        space.validate(config)
        seen.add(frozenset(config))
    assert len(seen) == 3  # mlp; cnn without pool; cnn with pool


def test_an_unconditional_space_samples_as_before():
    plain = {"a": Real(0, 1), "b": Int(1, 9), "c": Categorical("x", "y")}
    first = Space(plain).sample(np.random.default_rng(3))
    rng = np.random.default_rng(3)
    assert first == {name: d.sample(rng) for name, d in plain.items()}


def test_unit_cube_imputes_inactive_and_round_trips():
    space = Space(SPACE)
    config = {"arch": "mlp", "lr": 0.001, "hidden": 64}
    u = space.to_unit(config)
    assert list(u[[2, 3, 4]]) == [INACTIVE] * 3 and 0 <= u[5] <= 1
    assert space.from_unit(u) == config
    # a point that makes kernel active where the model had it inactive: drawn, not clipped
    u[0] = space["arch"].to_unit("cnn")
    drawn = {space.from_unit(u, rng=np.random.default_rng(s))["kernel"] for s in range(40)}
    assert drawn == {3, 4, 5, 6, 7}
    assert space.from_unit(u)["kernel"] == 3  # without an rng: clipped into the domain


def test_grid_runs_over_active_combinations_only():
    space = Space(SPACE)
    configs = list(space.grid(2))
    keys = [tuple(sorted(c.items())) for c in configs]
    assert len(keys) == len(set(keys)) == space.grid_size(2)
    for config in configs:
        assert set(config) == expected_active(config)
    # mlp: lr x hidden; cnn: kernel 3: lr x channels, kernel 7: lr x channels x pool
    assert space.grid_size(2) == 2 * 2 + (2 * 2 + 2 * 2 * 2) == 16
    assert sum(c["arch"] == "mlp" for c in configs) == 4
    index = space.grid_index(2)
    assert [index[i] for i in range(len(index))] == configs


def test_unconditional_grid_is_the_product_in_order():
    import itertools

    plain = Space({"a": Int(1, 3), "b": Categorical("x", "y")})
    assert list(plain.grid()) == [dict(zip("ab", v))
                                  for v in itertools.product([1, 2, 3], ["x", "y"])]


def test_validate_and_check_partial():
    space = Space(SPACE)
    with pytest.raises(SpaceError, match=r"kernel=5 is given, but kernel is only used when "
                                         r"arch == 'cnn'"):
        space.validate({"arch": "mlp", "lr": 0.01, "hidden": 20, "kernel": 5})
    with pytest.raises(SpaceError, match=r"lacks hyperparameters \['kernel', 'channels'\]"):
        space.validate({"arch": "cnn", "lr": 0.01})
    space.check_partial({"arch": "cnn", "kernel": 6})
    space.check_partial({"lr": 0.05})
    with pytest.raises(SpaceError, match="names 'lrr', which is not a hyperparameter"):
        space.check_partial({"lrr": 0.1})
    with pytest.raises(SpaceError, match=r"has lr=5, which is outside Real"):
        space.check_partial({"lr": 5})
    with pytest.raises(SpaceError, match="kernel is only used when arch == 'cnn': give arch"):
        space.check_partial({"kernel": 5})
    with pytest.raises(SpaceError, match="and the configuration has arch='mlp'"):
        space.check_partial({"arch": "mlp", "kernel": 5})


def test_complete_fills_a_partial_configuration():
    space = Space(SPACE)
    proposal = {"arch": "mlp", "lr": 0.02, "hidden": 40}
    done = space.complete({"arch": "cnn", "kernel": 6}, proposal, np.random.default_rng(0))
    assert done["arch"] == "cnn" and done["kernel"] == 6 and done["lr"] == 0.02
    assert "hidden" not in done and set(done) == expected_active(done)
    space.validate(done)


@pytest.mark.parametrize("when, message", [
    ("b == 1", "reads 'b', which comes after it: list it first"),
    ("zz == 1", "reads 'zz', which is not a hyperparameter of the space"),
    ("a == 'z'", "is never true: a is one of 'x', 'y'"),
    ("r == 0.5", "compares the real-valued r with ==, but a sampled real is almost never"),
    ("r > 2", r"\(r > 2\) is never true for the values of r"),
    ("len(a) > 1", "the condition calls len"),
    ("a ==", "is not a Python expression"),
    (3, "when is 3, but must be an expression"),
])
def test_bad_conditions_name_the_value_and_the_rule(when, message):
    with pytest.raises(SpaceError, match=message):
        Space({"a": Categorical("x", "y"), "r": Real(0, 1), "c": Int(0, 3, when=when),
               "b": Int(0, 1)})


def test_conditions_read_back_from_their_text():
    for text in ["a == 'x'", "a != 'x'", "not flag", "n in (1, 2)", ("n >= 2 and (a == 'x' or "
                 "flag)")]:
        assert repr(Int(0, 1, when=text).when) == text
    assert Int(0, 1, when={"a": ["x", "y"], "n": 2}).when.source() == \
        "a in ('x', 'y') and n == 2"


def test_a_conditional_space_survives_storage():
    space = Space(SPACE)
    back = space_from_description(describe_space(space))
    assert back == space and back.conditions == space.conditions


# --- the cell -----------------------------------------------------------------------------

def test_cell_conditions_come_from_if_elif_else():
    space = parse_cell(CELL + "report(score=score)\n").space
    assert {n: str(c) for n, c in space.conditions.items()} == {
        "kernel": "arch == 'cnn'", "channels": "arch == 'cnn'",
        "pool": "arch == 'cnn' and kernel > 5",
        "hidden": "arch != 'cnn' and arch == 'mlp'", "act": "arch != 'cnn' and arch == 'mlp'"}
    assert parse_cell("x = Bool()\nif x:\n    a = Int(1, 2)\nelse:\n    b = Int(1, 2)\n"
                      ).space.conditions == {"a": Int(0, 1, when="x").when,
                                             "b": Int(0, 1, when="not x").when}


def test_if_expressions_and_names():
    space = parse_cell("arch = Categorical('a', 'b')\n"
                       "k = Int(3, 7, name='kernel') if arch == 'b' else 3\n").space
    assert str(space.conditions["kernel"]) == "arch == 'b'"


@pytest.mark.parametrize("source, line, message", [
    ("x = Real(0, 1)\nif DEBUG:\n    y = Int(1, 3)\n", 2,
     "the condition reads DEBUG, which is not a hyperparameter of this cell"),
    ("a = Categorical('p', 'q')\nif a == 'r':\n    y = Int(1, 3)\n", 2,
     "bad condition for 'y': the condition of 'y' (a == 'r') is never true: a is one of"),
    ("a = Categorical('p', 'q')\nif len(a) > 1:\n    y = Int(1, 3)\n", 2,
     "the condition calls len(), whose result is not known before the trial runs"),
    ("a = Categorical('p', 'q')\na = a.upper()\nif a == 'p':\n    y = Int(1, 3)\n", 3,
     "which the cell assigns more than once (lines 1, 2)"),
    ("if a == 'p':\n    y = Int(1, 3)\na = Categorical('p', 'q')\n", 1,
     "which is assigned after this `if` (line 3)"),
    ("for i in range(2):\n    a = Categorical('p', 'q')\nif a == 'p':\n    y = Int(1, 3)\n", 3,
     "which is assigned at line 2 inside another block"),
    ("x = Real(0, 1)\nif x == 0.5:\n    y = Int(1, 3)\n", 2, "compares the real-valued x with =="),
    ("a = Categorical('p', 'q')\nif a == OTHER:\n    y = Int(1, 3)\n", 2,
     "the condition compares a with OTHER"),
    ("a = Categorical('p', 'q')\nif a == 'p':\n    y = Int(1, 3, when='a')\n", 3,
     "a condition is written as an `if` around the annotation"),
    ("a = Categorical('p', 'q')\nmatch a:\n    case 'p':\n        y = Int(1, 3)\n", 4,
     "annotations under match/case cannot be conditional"),
    ("a = Categorical('p', 'q')\nif a in 'pq':\n    y = Int(1, 3)\n", 2,
     "`a in ...` needs a tuple of values"),
])
def test_conditions_that_cannot_be_resolved_are_errors_at_their_line(source, line, message):
    with pytest.raises(HPOSyntaxError, match=re.escape(message)) as info:
        parse_cell(source)
    assert info.value.cell_lineno == line
    (error,) = diagnose_cell(source).errors  # the editor gets the same error, once
    assert error.cell_lineno == line


def test_code_outside_annotated_branches_is_unconstrained():
    template = parse_cell("import os\nx = Real(0, 1)\nif os.environ.get('A'):\n    print(x)\n")
    assert not template.space.conditional


def test_diagnostics_report_each_condition():
    diagnosed = diagnose_cell(CELL)
    assert {a.name: a.when for a in diagnosed.annotations}["pool"] == \
        "arch == 'cnn' and kernel > 5"
    assert diagnosed.ok


# --- running ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def test_a_conditional_cell_runs_through_the_magic(ip):
    ip.run_cell_magic("hpo", "--metric score --mode max --trials 16 --seed 2 --quiet",
                      CELL + "report(score=score)\n")
    study = ip.user_ns["_hpo"]
    assert study.state == "finished" and len(study.trials) == 16
    assert study.counts()["completed"] == 16
    archs = set()
    for trial in study.trials:
        config = dict(trial.config)
        archs.add(config["arch"])
        assert set(config) - {"act"} == expected_active(config)
        assert ("act" in config) == (config["arch"] == "mlp")
    assert archs == {"mlp", "cnn"}
    frame = study.trials_dataframe()
    cnn = frame["config.arch"] == "cnn"
    assert frame.loc[cnn, "config.hidden"].isna().all()
    assert frame.loc[~cnn, "config.kernel"].isna().all()
    assert frame.loc[cnn, "config.kernel"].notna().all()
    assert ip.user_ns["arch"] == study.best_config["arch"]


def test_tune_with_when_and_stored_study(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")

    def objective(config):
        assert set(config) == expected_active(config)
        return config.get("kernel", 0) + config.get("hidden", 0) / 32 + config["lr"]

    study = tune(objective, SPACE, metric="score", mode="max", trials=12, seed=0,
                 storage=storage, name="cond")
    assert study.counts()["completed"] == 12
    loaded = Study.load("cond", storage)
    assert loaded.space.conditions == Space(SPACE).conditions
    assert [dict(t.config) for t in loaded.trials] == [dict(t.config) for t in study.trials]
    frame = loaded.trials_dataframe()
    assert math.isnan(frame.loc[frame["config.arch"] == "mlp", "config.kernel"].iloc[0])
    for kind in ("history", "curves", "parallel", "importance", "contour"):
        assert loaded.plot(kind) is not None
    resumed = tune(objective, SPACE, metric="score", mode="max", trials=14, seed=0,
                   storage=storage, name="cond", resume=True)
    assert len(resumed.trials) == 14


# --- every searcher -----------------------------------------------------------------------

SEARCHER_OPTIONS = {  # options that let the models start early in 16 trials
    "random": {}, "grid": {"points": 2}, "tpe": {"n_startup": 4}, "skopt": {"n_initial_points": 4},
    "bayesopt": {"num_init_random": 4}, "bohb": {"min_points_in_model": 2}, "rl": {},
}
CONDITIONAL_SEARCHERS = list(SEARCHER_OPTIONS)


def cnn_wins(config):
    """Best at arch=cnn, kernel=7, channels=32, pool=True; mlp is worse."""
    if config["arch"] == "cnn":
        return config["kernel"] + config["channels"] / 8 + 2 * config.get("pool", False) \
            - abs(math.log10(config["lr"]) + 2)
    return config["hidden"] / 64 - abs(math.log10(config["lr"]) + 2)


@pytest.mark.parametrize("searcher", CONDITIONAL_SEARCHERS)
def test_every_searcher_proposes_valid_conditional_configurations(searcher):
    space = Space(SPACE)
    study = tune(lambda c: (space.validate(c), cnn_wins(c))[1], SPACE, metric="score",
                 mode="max", trials=16, seed=3, searcher=searcher,
                 searcher_options=SEARCHER_OPTIONS[searcher])
    assert study.counts()["completed"] == len(study.trials) == 16, \
        [t.error for t in study.trials if t.error]
    assert {t.config["arch"] for t in study.trials} == {"mlp", "cnn"}
    for trial in study.trials:
        assert trial.config.get("channels", 8) in (8, 16, 24, 32)


def observed(searcher, n, seed=0):
    """``searcher`` told ``n`` random configurations of SPACE with their ``cnn_wins`` score."""
    rng = np.random.default_rng(seed)
    space = Space(SPACE)
    for i in range(n):
        config = space.sample(rng)
        searcher.observe(-1 - i, config, {"score": cnn_wins(config)}, final=True)
    return searcher


def test_tpe_models_a_conditional_hyperparameter_on_the_trials_that_used_it():
    from jupyter_hpo.searchers._tpe import TPESearcher

    searcher = observed(TPESearcher(Space(SPACE), "score", "max", seed=0, n_startup=5), 40)
    proposals = [searcher.suggest(i) for i in range(12)]
    for config in proposals:
        Space(SPACE).validate(config)
    cnn = [c for c in proposals if c["arch"] == "cnn"]
    assert len(cnn) >= 9 and sum(c["kernel"] >= 6 for c in cnn) >= len(cnn) * 2 // 3
    good = searcher._densities([c for c, _ in sorted(searcher.results.values(),
                                                     key=lambda r: r[1])[:5]])
    # the density of kernel is built from configurations that have one
    mlp, cnn = searcher._log_densities([{"arch": "mlp", "lr": 0.01, "hidden": 64},
                                        {"arch": "cnn", "lr": 0.01, "kernel": 7,
                                         "channels": 32, "pool": True}], good)
    assert mlp < cnn


def test_skopt_encodes_inactive_as_a_value_of_its_own():
    pytest.importorskip("skopt")
    from jupyter_hpo.searchers._skopt import SkoptSearcher

    space = Space(SPACE)
    searcher = SkoptSearcher(space, "score", "max", seed=0, n_initial_points=3)
    rng = np.random.default_rng(1)
    for _ in range(30):
        config = space.sample(rng)
        point = searcher._point(config)
        for dimension, value in zip(searcher._dimensions, point):
            assert value in dimension  # told points lie in their dimensions
        assert searcher._config(point) == config
    mlp = searcher._point({"arch": "mlp", "lr": 0.01, "hidden": 64})
    names = searcher._names
    assert mlp[names.index("kernel")] == INACTIVE and mlp[names.index("pool")] == 2
    observed(searcher, 12)
    for i in range(4):
        space.validate(searcher.suggest(i))


def test_bayesopt_imputes_inactive_columns_and_sees_only_real_configurations():
    from jupyter_hpo.searchers._bayesopt import BayesOptSearcher

    space = Space(SPACE)
    searcher = BayesOptSearcher(space, "score", "max", seed=0, num_init_random=3,
                                num_candidates=50)
    mlp = searcher._encode({"arch": "mlp", "lr": 0.01, "hidden": 64})
    # columns: arch (2, one-hot), lr, kernel, channels, pool (2, one-hot), hidden
    assert list(mlp[3:7]) == [INACTIVE, INACTIVE, 0.0, 0.0] and list(mlp[:2]) == [1.0, 0.0]
    rng = np.random.default_rng(0)
    candidates = searcher._snap(rng.random((40, searcher._width)) * 1.6 - 0.55)
    for row in candidates:  # every snapped candidate is the encoding of a configuration
        config = searcher._decode(row)
        space.validate(config)
        assert np.allclose(searcher._encode(config), row)
    observed(searcher, 10)
    proposals = [searcher.suggest(i) for i in range(6)]
    for config in proposals:
        space.validate(config)
    assert sum(c["arch"] == "cnn" for c in proposals) >= 4


def test_bohb_imputes_inactive_coordinates_from_configurations_that_have_them():
    from jupyter_hpo.searchers._bohb import BOHBSearcher

    space = Space(SPACE)
    searcher = BOHBSearcher(space, "score", "max", seed=0, min_points_in_model=2)
    encoded = searcher._encode({"arch": "mlp", "lr": 0.01, "hidden": 64})
    assert np.isnan(encoded[[2, 3, 4]]).all() and not np.isnan(encoded[[0, 1, 5]]).any()
    data = np.array([searcher._encode(space.sample(np.random.default_rng(s)))
                     for s in range(12)])
    imputed = searcher._impute(data)
    assert not np.isnan(imputed).any()
    kernels = data[:, 2][~np.isnan(data[:, 2])]
    assert set(imputed[:, 2]) <= set(kernels)  # values that active configurations had
    observed(searcher, 30)
    proposals = [searcher.suggest(i) for i in range(8)]
    for config in proposals:
        space.validate(config)
    assert sum(c["arch"] == "cnn" for c in proposals) >= 5


@pytest.mark.parametrize("searcher", ["bohb", "bayesopt"])
def test_multi_fidelity_searchers_with_hyperband_on_a_conditional_space(searcher):
    space = Space(SPACE)

    def train(config, report):
        for epoch in range(1, 10):
            report(epoch=epoch, score=cnn_wins(config) * (1 - 0.5 ** epoch))
        space.validate(config)

    study = tune(train, SPACE, metric="score", mode="max", trials=30, seed=0, searcher=searcher,
                 searcher_options=SEARCHER_OPTIONS[searcher], scheduler="hyperband",
                 scheduler_options={"max_t": 9})
    assert study.counts()["failed"] == 0 and study.counts()["stopped"] > 0


def test_rl_skips_decisions_for_inactive_hyperparameters():
    pytest.importorskip("torch")
    from jupyter_hpo.searchers._rl import RLSearcher

    space = Space(SPACE)
    searcher = RLSearcher(space, "score", "max", seed=0, controller_batch_size=4)
    actions = searcher._actions_of({"arch": "mlp", "lr": 0.01, "hidden": 64})
    assert actions[2:5] == [-1, -1, -1] and actions[0] == 0
    for i in range(8):
        config = searcher.suggest(i)
        space.validate(config)
        assert [a == -1 for a in searcher.actions[i]] == [n not in config for n in space]
    observed(searcher, 8)
    assert searcher.updates == 2  # the policy learnt from batches with skipped decisions
    import pickle

    again = pickle.loads(pickle.dumps(searcher))
    assert again.suggest(99) == searcher.suggest(99)
