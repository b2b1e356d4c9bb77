"""Stepped domains (``Int(0, 256, step=32)``, ``Real(0, 1, step=0.1)``), the seeds' bound
keywords (``lower=``/``upper=``) and ``max_t = N`` in a cell."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_hpo import tune
from jupyter_hpo.annotate import parse_cell
from jupyter_hpo.errors import HPOSyntaxError, SpaceError
from jupyter_hpo.space import Int, Real, Space
from jupyter_hpo.storage import describe_space, space_from_description

STEPPED = [Int(0, 256, step=32), Real(0, 1, step=0.1), Real(-1, 1, step=0.25),
           Int(3, 9, step=3), Real(1e-3, 5e-3, step=1e-3)]


def values_of(domain):
    return domain.grid(10_000)


def test_stepped_values_are_exactly_the_steps():
    assert values_of(Int(0, 256, step=32)) == [0, 32, 64, 96, 128, 160, 192, 224, 256]
    assert values_of(Real(0, 1, step=0.1)) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                                0.9, 1.0]
    assert values_of(Real(1e-3, 5e-3, step=1e-3)) == [0.001, 0.002, 0.003, 0.004, 0.005]
    assert all(type(v) is float for v in values_of(Real(0, 1, step=0.5)))
    assert all(type(v) is int for v in values_of(Int(0, 4, step=2)))


@pytest.mark.parametrize("domain", STEPPED, ids=repr)
def test_every_point_of_the_cube_maps_to_a_step(domain):
    allowed = set(values_of(domain))
    rng = np.random.default_rng(0)
    for u in [*rng.random(500), 0.0, 1.0, -0.3, 1.7]:
        assert domain.from_unit(u) in allowed
    assert {domain.sample(rng) for _ in range(2000)} == allowed  # uniform over the steps


@pytest.mark.parametrize("domain", STEPPED, ids=repr)
def test_stepped_round_trip_and_contains(domain):
    for value in values_of(domain):
        assert domain.contains(value)
        assert domain.from_unit(domain.to_unit(value)) == value
    assert not domain.contains(domain.lo + domain.step / 2)
    assert not domain.contains(domain.hi + domain.step)


def test_stepped_grid_spreads_over_the_steps():
    assert Int(0, 256, step=32).grid(3) == [0, 128, 256]
    assert Real(0, 1, step=0.1).grid(1) == [0.5]
    assert len(Real(0, 1, step=0.01).grid(5)) == 5


def test_step_one_int_is_the_plain_int():
    assert repr(Int(0, 10, step=1)) == "Int(0, 10)" and Int(0, 10, step=1) == Int(0, 10)
    assert Int(1, 100, log=True, step=1).log


@pytest.mark.parametrize("call, message", [
    (lambda: Int(0, 250, step=32),
     ("Int: hi=250 is not on the step: hi - lo must be a multiple of step=32 "
     "(e.g. hi=224 or hi=256)")),
    (lambda: Real(0, 1, step=0.3), ("hi - lo must be a multiple of step=0.3 (e.g. hi=0.9 or "
                                   "hi=1.2)")),
    (lambda: Real(0, 1, step=2), ("Real: hi=1 is not on the step: hi - lo must be a multiple "
                                  "of step=2 (e.g. hi=2.0, or a step of at most 1)")),
    (lambda: Int(3, 4, step=2), "step=2 (e.g. hi=5, or a step of at most 1)"),
    (lambda: Real(1, 10, log=True, step=1.0), "step=1.0 cannot be combined with log=True"),
    (lambda: Int(0, 10, step=0), "Int: step is 0, but must be > 0"),
    (lambda: Real(0, 1, step=-0.1), "Real: step is -0.1, but must be > 0"),
    (lambda: Int(0, 10, step=2.5), "Int: step is 2.5, which is not a whole number"),
    (lambda: Real(0, 1, step="a"), "Real: step is 'a', but must be a number"),
])
def test_bad_steps_name_the_value_and_the_rule(call, message):
    with pytest.raises(SpaceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_lower_and_upper_keywords():
    assert Int(lower=16, upper=128) == Int(16, 128)
    assert Real(lower=1e-6, upper=1, log=True) == Real(1e-6, 1, log=True)
    assert Real(0, upper=0.75) == Real(0, 0.75)
    with pytest.raises(SpaceError, match="Int: lo=1 and lower=2 are the same bound"):
        Int(1, 5, lower=2)
    with pytest.raises(SpaceError, match=r"Real needs both bounds, e\.g\. Real\(0, 10\) or "
                                         r"Real\(lower=0, upper=10\), but hi \(upper=\)"):
        Real(lower=0)


def test_stepped_space_survives_storage_description():
    space = Space({"units": Int(0, 256, step=32), "p": Real(0, 0.5, step=0.05)})
    assert space_from_description(describe_space(space)) == space
    text = {k: v for k, v in describe_space(space)["units"].items() if k != "repr"}
    assert text == {"type": "Int", "lo": 0, "hi": 256, "log": False, "step": 32}


def test_cell_annotations_with_steps_and_keywords():
    template = parse_cell("units = Int(lower=32, upper=256, step=32)\n"
                          "p = 0.2  # hpo: Real(0, 0.5, step=0.1)\n"
                          "report(score=units * p)\n")
    assert template.space["units"] == Int(32, 256, step=32, name="units")
    assert template.space["p"] == Real(0, 0.5, step=0.1, name="p")


def test_cell_step_errors_point_at_the_line():
    with pytest.raises(HPOSyntaxError) as info:
        parse_cell("x = 1\nunits = Int(0, 250, step=32)\n")
    assert info.value.cell_lineno == 2
    assert "bad annotation for 'units': Int: hi=250 is not on the step" in str(info.value)
    with pytest.raises(HPOSyntaxError, match=r"the default 0.25 of 'p' is not on the step of "
                                             r"Real\(0, 0.5, step=0.1\)"):
        parse_cell("p = 0.25  # hpo: Real(0, 0.5, step=0.1)\n")


@pytest.mark.parametrize("source, max_t", [
    ("max_t = 9\nfor e in range(max_t):\n    pass\n", 9),
    ("epochs = 20\nmax_t = 9\n", 9),
    ("max_t = 9\nepochs = 20\n", 9),
    ("epochs = 20\n", 20),
    ("max_t = 2.5\nepochs = 4\n", 2.5),  # a resource need not be whole (a data fraction)
    ("max_t = True\nepochs = 4\n", 4),
    ("if True:\n    max_t = 9\n", None),
])
def test_max_t_at_the_top_level_is_the_maximum_resource(source, max_t):
    assert parse_cell(source).max_t == max_t


@pytest.mark.parametrize("searcher", ["random", "grid", "tpe", "skopt", "bayesopt", "bohb", "rl"])
def test_every_searcher_proposes_values_on_the_step(searcher):
    space = {"units": Int(0, 96, step=32), "p": Real(0, 0.5, step=0.1), "lr": Real(1e-3, 1e-1)}
    options = {"searcher_options": {"points": 3}} if searcher == "grid" else {}
    study = tune(lambda c: c["units"] / 96 + c["p"] + c["lr"], space, metric="score",
                 mode="max", trials=14, seed=1, searcher=searcher, **options)
    assert len(study.trials) == 14
    for trial in study.trials:
        assert trial.config["units"] in (0, 32, 64, 96)
        assert trial.config["p"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
