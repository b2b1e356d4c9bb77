"""Search-space domains: validation, seeded sampling, unit-cube mapping, grids, Space."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_hpo.errors import HPOError, SpaceError
from jupyter_hpo.space import Bool, Categorical, Int, Real, Space

# --- construction and validation -------------------------------------------------------------

def test_space_error_is_a_value_error_and_an_hpo_error():
    with pytest.raises(ValueError):
        Real(1, 0)
    with pytest.raises(HPOError):
        Real(1, 0)


def test_real_keeps_its_arguments():
    d = Real(1e-4, 1e-1, log=True, name="lr")
    assert (d.lo, d.hi, d.log, d.name) == (1e-4, 1e-1, True, "lr")
    assert repr(d) == "Real(0.0001, 0.1, log=True, name='lr')"


def test_real_reversed_bounds():
    with pytest.raises(SpaceError, match=r"Real: bounds are reversed or empty: lo=1 must be < hi=0"):
        Real(1, 0)


def test_real_of_one_value_is_rejected_with_what_to_write():
    with pytest.raises(SpaceError, match=r"^Real: lo and hi are both 0.5, a range of one value: "
                                         r"to keep the hyperparameter at 0.5, assign 0.5 instead "
                                         r"of a Real \(or write Categorical\(0.5\)\)$"):
        Real(0.5, 0.5)


def test_real_wider_than_the_floats_is_rejected():
    """hi - lo overflowed to inf: every value drawn (and the grid's inner points) was hi."""
    with pytest.raises(SpaceError, match=r"Real: the range from lo=-1e\+308 to hi=1e\+308 is "
                                         r"wider than the largest float \(hi - lo overflows\)"):
        Real(-1e308, 1e308)
    wide = Real(-8e307, 8e307)
    values = [wide.sample(np.random.default_rng(seed)) for seed in range(20)]
    assert len(set(values)) == 20 and wide.grid(3) == [-8e307, 0.0, 8e307]


@pytest.mark.parametrize("cls", [Real, Int])
def test_bounds_beyond_the_floats_are_a_space_error(cls):
    with pytest.raises(SpaceError, match=rf"^{cls.__name__}: hi is an integer of about 401 digits, but "
                                         rf"must be within the floats' range"):
        cls(0, 10 ** 400)


def test_int_grid_beyond_two_to_the_53_stays_inside_the_bounds():
    d = Int(-10 ** 30, 10 ** 30)
    assert d.grid(3) == [-10 ** 30, 0, 10 ** 30]
    assert all(d.contains(v) for v in Int(1, 10 ** 20 + 1).grid(7))


def test_int_reversed_bounds_mentions_le():
    with pytest.raises(SpaceError, match=r"Int: bounds are reversed or empty: lo=5 must be <= hi=3"):
        Int(5, 3)


def test_int_single_value_is_allowed():
    d = Int(4, 4)
    assert d.sample(np.random.default_rng(0)) == 4
    assert d.grid(5) == [4]
    assert d.from_unit(d.to_unit(4)) == 4


@pytest.mark.parametrize("cls", [Real, Int])
@pytest.mark.parametrize("lo", [0, -1])
def test_log_needs_positive_lower_bound(cls, lo):
    with pytest.raises(SpaceError, match=rf"{cls.__name__}: log=True needs lo > 0, but lo is {lo}"):
        cls(lo, 10, log=True)


def test_log_flag_must_be_a_bool():
    with pytest.raises(SpaceError, match="log is 'yes', but must be True or False"):
        Real(1, 2, log="yes")


@pytest.mark.parametrize("bad", ["a", True])
def test_real_bounds_must_be_numbers(bad):
    with pytest.raises(SpaceError, match=rf"Real: lo is {bad!r}, but must be a number"):
        Real(bad, 1)


def test_a_missing_bound_says_how_to_give_it():
    with pytest.raises(SpaceError, match=r"Real needs both bounds.*but lo \(lower=\) is missing"):
        Real(None, 1)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_real_bounds_must_be_finite(bad):
    with pytest.raises(SpaceError, match="but must be finite"):
        Real(0, bad)


def test_int_bounds_must_be_integers():
    with pytest.raises(SpaceError, match=r"^Int: hi is 2.5, which is not a whole number: for "
                                         r"real values write Real\(1, 2.5\), or round it: "
                                         r"Int\(1, round\(2.5\)\)$"):
        Int(1, 2.5)
    with pytest.raises(SpaceError, match=r"^Int: step is 2.5, which is not a whole number: for "
                                         r"real values write Real\(0, 10, step=2.5\), or round "
                                         r"it: Int\(0, 10, step=round\(2.5\)\)$"):
        Int(0, 10, step=2.5)
    with pytest.raises(SpaceError, match=r"^Int: lo is 0.5, .* Int\(round\(0.5\), 10\)$"):
        Int(lower=0.5, upper=10)
    for bad in (math.inf, math.nan, "10", True):
        with pytest.raises(SpaceError, match=r"but must be an integer \(use Real for floats\)"):
            Int(1, bad)


def test_int_takes_floats_that_are_whole_numbers():
    """``Int(1, 1e3)`` and ``Int(16, 2**8 / 1)`` were refused as floats."""
    for domain, lo, hi, step in ((Int(1, 1e3), 1, 1000, 1), (Int(16, 2**8 / 1), 16, 256, 1),
                                 (Int(0.0, 100, step=10.0), 0, 100, 10),
                                 (Int(np.float64(2), np.float32(9)), 2, 9, 1)):
        assert (domain.lo, domain.hi, domain.step) == (lo, hi, step)
        assert {type(domain.lo), type(domain.hi), type(domain.step)} == {int}
    assert repr(Int(1, 1e3)) == "Int(1, 1000)" and Int(1, 1e3) == Int(1, 1000)
    space = Space({"units": Int(16, 2**8 / 1)})
    assert all(type(space.sample(np.random.default_rng(i))["units"]) is int for i in range(20))


def test_int_accepts_numpy_integers():
    d = Int(np.int64(1), np.int32(5))
    assert (d.lo, d.hi) == (1, 5)
    assert type(d.lo) is int


def test_real_keeps_numpy_bounds_and_step_as_python_floats():
    """So that the space can be stored (JSON) and prints as the user would write it."""
    d = Real(np.float32(0.5), np.float64(2.0), step=np.float32(0.5))
    assert (d.lo, d.hi, d.step) == (0.5, 2.0, 0.5)
    assert {type(d.lo), type(d.hi), type(d.step)} == {float}
    assert repr(d) == "Real(0.5, 2.0, step=0.5)"
    assert repr(Real(0, 1)) == "Real(0, 1)"  # plain numbers print as written


@pytest.mark.parametrize("name, shown", [(1, "an object of type int"), ("", "an empty string"),
                                         (None, "an object of type NoneType")])
def test_space_names_must_be_non_empty_strings(name, shown):
    with pytest.raises(SpaceError) as info:
        Space({name: Real(0, 1)})
    assert f"the space entry {name!r} is named by {shown}, but a name must be a non-empty " \
           "string (a key of the configuration)" in str(info.value)


def test_numpy_arrays_as_choices():
    """Arrays compare element by element, so ``choice == value`` is not a bool: building the
    domain used to raise numpy's "truth value of an array is ambiguous"."""
    import jupyter_hpo as jh

    choices = (np.array([1, 2]), np.array([3, 4, 5]), np.array([1, 3]))
    d = Categorical(*choices)
    assert [d.index(np.array(c)) for c in choices] == [0, 1, 2]
    assert d.contains(np.array([1, 3])) and not d.contains(np.array([1, 4]))
    assert not d.contains(np.array([1, 2, 3]))
    with pytest.raises(SpaceError, match="appears more than once"):
        Categorical(np.array([1, 2]), np.array([1, 2]))
    study = jh.tune(lambda c: float(c["w"].sum()), {"w": d}, metric="loss", trials=6, seed=0)
    assert study.counts()["completed"] == 6
    assert any(study.best_config["w"] is c for c in choices)


@pytest.mark.parametrize("searcher", ["auto", "random", "tpe", "grid"])
def test_torch_tensors_as_choices(searcher):
    """torch says "Boolean value of Tensor with more than one value is ambiguous" as a
    RuntimeError, not numpy's ValueError: Categorical(torch.zeros(2), torch.ones(2)) failed
    the study with that error from inside the searcher."""
    import torch

    import jupyter_hpo as jh

    choices = (torch.zeros(2), torch.ones(2), torch.tensor([1.0, 5.0]))
    d = Categorical(*choices)
    assert [d.index(c.clone()) for c in choices] == [0, 1, 2]
    assert d.contains(torch.tensor([1.0, 5.0])) and not d.contains(torch.ones(3))
    with pytest.raises(SpaceError, match="appears more than once"):
        Categorical(torch.ones(2), torch.ones(2))
    study = jh.tune(lambda c: float(c["w"].sum()), {"w": d}, metric="loss", trials=3, seed=0,
                    searcher=searcher)
    assert study.counts()["completed"] == 3
    assert any(study.best_config["w"] is c for c in choices)


def test_empty_categorical():
    with pytest.raises(SpaceError, match=r"Categorical needs at least one choice, e\.g\. Categorical\('relu', 'tanh'\)"):
        Categorical()


def test_categorical_duplicate_choice():
    with pytest.raises(SpaceError, match=r"choice 'relu' appears more than once"):
        Categorical("relu", "tanh", "relu")


@pytest.mark.parametrize("nan", [float("nan"), np.float32("nan")])
def test_a_new_study_refuses_a_nan_choice(nan):
    """NaN is not equal to itself: a study over Categorical(nan, 1.0) failed at the searcher's
    second proposal with its traceback ("nan is not one of the choices (nan, 1.0)")."""
    import jupyter_hpo as jh

    with pytest.raises(SpaceError, match=r"^Categorical: choice .*nan.* is NaN, which is not "
                                         r"equal to itself, .*write None or a string \('nan'\)"):
        jh.tune(lambda config: 1.0, {"x": Categorical(nan, 1.0)}, metric="loss", trials=3,
                storage="none")
    assert Categorical(None, "nan", 1.0).index(None) == 0


@pytest.mark.parametrize(("choices", "shown"), [
    ((Real(0, 1), Real(2, 3)), r"the choice Real\(0, 1\) is a domain"),
    (({"lr": Real(0, 1)}, {"lr": 0.1}),
     r"the choice \{'lr': Real\(0, 1\)\} holds the domain Real\(0, 1\)"),
])
def test_a_new_study_refuses_a_domain_as_a_choice(choices, shown):
    """Categorical(Real(0, 1), Real(2, 3)) gave each trial the Real object itself, not a
    number drawn from it, without a word; refused before any trial, with the conditional
    entry to write instead."""
    import jupyter_hpo as jh

    ran = []
    with pytest.raises(SpaceError, match=rf"^Categorical: {shown}, which the trial would get "
                                         r"as that object, not a value drawn from it: a search "
                                         r"space cannot contain another one: .* when="):
        jh.tune(ran.append, {"x": Categorical(*choices)}, metric="loss", trials=2,
                storage="none")
    assert ran == []


def test_a_nested_dict_space_is_told_to_flatten():
    """{'opt': {'lr': Real(0, 1)}} was told to search it as Categorical({'lr': Real(0, 1)}),
    which gives the trial the Real object; the hint now says the space is flat."""
    with pytest.raises(SpaceError, match=r"a nested space\? a space is flat: give each "
                                         r"hyperparameter its own entry, e\.g\. \{'opt\.lr': "
                                         r"Real\(0, 1\)\}"):
        Space({"opt": {"lr": Real(0, 1)}})


@pytest.mark.parametrize(("one", "kind"), [
    (range(3), "range"), ({"relu", "tanh"}, "set"), ((n for n in (8, 16)), "generator"),
    (np.array([8, 16, 32]), "ndarray"), ({"a": 1, "b": 2}.keys(), "dict_keys"),
])
def test_a_new_study_refuses_a_lone_collection_as_the_choices(one, kind):
    """Categorical([1, 2, 3]) has three choices, but Categorical(range(3)) (a set, a
    generator, a numpy array) had one, the collection itself, which every trial got."""
    import jupyter_hpo as jh

    ran = []
    with pytest.raises(SpaceError, match=rf"^Categorical\(.*\) has one choice, the {kind} "
                                         r"itself, not its values: pass the values as "
                                         r"arguments, Categorical\(\*values\), or as a list"):
        jh.tune(ran.append, {"x": Categorical(one)}, metric="loss", trials=2, storage="none")
    assert ran == []
    assert Categorical([1, 2, 3]).choices == (1, 2, 3)  # a list's items are the choices


def test_an_int_whose_integers_floats_cannot_tell_apart_is_refused():
    """Int(2**63 - 10, 2**63 - 1) failed the study's first proposal with ZeroDivisionError
    from inside the searcher (floats there are 2048 apart); refused with the offset to
    search. A range wider than the floats' gap, Int(0, 10**30), is searched as before, and so
    is a stepped one (its values are counted in integers)."""
    import jupyter_hpo as jh

    with pytest.raises(SpaceError, match=r"^Int: lo=9223372036854775798 and "
                                         r"hi=9223372036854775807 reach past 2\*\*53, where "
                                         r"floats \(in which the searchers work\) are 2048 "
                                         r"apart, .* search the offset, Int\(0, 9\), and add "
                                         r"9223372036854775798 to it"):
        jh.tune(lambda c: 1.0, {"n": Int(2 ** 63 - 10, 2 ** 63 - 1)}, metric="loss",
                trials=2, storage="none")
    wide = jh.tune(lambda c: float(c["n"] % 7), {"n": Int(0, 10 ** 30)}, metric="loss",
                   trials=3, seed=0, storage="none")
    assert all(0 <= t.config["n"] <= 10 ** 30 for t in wide.trials)
    stepped = jh.tune(lambda c: 1.0, {"n": Int(2 ** 63 - 10, 2 ** 63 - 1, step=3)},
                      metric="loss", trials=4, seed=0, storage="none", searcher="random")
    assert {t.config["n"] - (2 ** 63 - 10) for t in stepped.trials} <= {0, 3, 6, 9}  # exact


def test_a_study_stored_with_a_nan_choice_stays_readable(tmp_path):
    """Only a new study is refused: one that an earlier version stored with a NaN choice is
    read back as it was (the check in Categorical itself made it 'damaged')."""
    from jupyter_hpo import Study
    from jupyter_hpo.records import Direction
    from jupyter_hpo.space import Space
    from jupyter_hpo.storage import SQLiteStorage

    path = tmp_path / "old.db"
    SQLiteStorage(str(path)).create_study(
        "old", metric="loss", direction=Direction.MIN, resource="epoch",
        space=Space({"x": Categorical(float("nan"), 1.0)}), settings={})
    study = Study.load("old", str(path))
    assert list(study.space) == ["x"] and study.space["x"].choices[1] == 1.0


def test_categorical_equal_values_of_different_types_are_distinct():
    d = Categorical(1, True, 1.0)
    assert d.choices == (1, True, 1.0)
    assert d.index(True) == 1
    assert d.index(1.0) == 2


def test_categorical_accepts_one_list():
    assert Categorical(["a", "b"]).choices == ("a", "b")


class Counted:
    """A hashable choice that counts the ``==`` comparisons made on it."""

    comparisons = 0

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        Counted.comparisons += 1
        return isinstance(other, Counted) and self.value == other.value

    def __hash__(self):
        return hash(self.value)


def test_categorical_construction_and_lookup_are_linear():
    n = 3000
    Counted.comparisons = 0
    d = Categorical(*[Counted(i) for i in range(n)])
    assert Counted.comparisons < 5 * n  # a pairwise duplicate check makes n * (n - 1) / 2
    Counted.comparisons = 0
    assert [d.index(Counted(i)) for i in range(n)] == list(range(n))
    assert d.to_unit(Counted(n - 1)) == pytest.approx((n - 0.5) / n)
    assert Counted.comparisons < 10 * n


def test_categorical_of_many_literals():
    d = Categorical(*range(100_000))
    assert d.index(99_999) == 99_999 and d.from_unit(0.0) == 0
    strings = Categorical(*[f"s{i}" for i in range(100_000)])
    assert strings.contains("s4242") and not strings.contains("s100000")
    with pytest.raises(SpaceError, match=r"choice 77 appears more than once \(positions 77 and "
                                         r"100000\), but the choices must be distinct"):
        Categorical(*range(100_000), 77)


@pytest.mark.parametrize("choices,duplicate", [
    ((1, 1.0, True, 2, 1), "1"),
    ((1.0, 1, 1.0), "1.0"),
    ((True, 1, False, True), "True"),
    (([1], (1,), [1.0]), r"\[1.0\]"),  # unhashable: equal and of the same type
    (({"a": 1}, {"a": 1.0}), r"\{'a': 1.0\}"),
    (((1, [2]), (1, [2])), r"\(1, \[2\]\)"),
])
def test_categorical_duplicates_are_equal_values_of_one_type(choices, duplicate):
    with pytest.raises(SpaceError, match=f"choice {duplicate} appears more than once"):
        Categorical(*choices)


def test_categorical_index_prefers_the_same_type_then_any_equal_value():
    d = Categorical(1.0, "a", [1], True, 1)
    assert (d.index(1), d.index(1.0), d.index(True)) == (4, 0, 3)
    assert d.index([1]) == 2 and d.index([1.0]) == 2  # unhashable values still match
    assert Categorical(1.0, 2.0).index(1) == 0  # no int: the first equal value
    nan = float("nan")
    d = Categorical(nan, nan)  # NaN never equals itself, so it is not a duplicate...
    assert not d.contains(nan)  # ...and it cannot be found (a new study refuses it)
    with pytest.raises(SpaceError, match=r"\[2\] is not one of the choices"):
        Categorical([1], 2).index([2])


def test_importing_the_parser_does_not_import_numpy():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = ("import sys, jupyter_hpo.annotate, jupyter_hpo.space; "
            "assert 'numpy' not in sys.modules, 'numpy was imported'")
    result = subprocess.run([sys.executable, "-c", code], check=False, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_space_to_unit_still_returns_a_float_array():
    space = Space({"x": Real(0, 10), "c": Categorical("a", "b")})
    u = space.to_unit({"x": 5.0, "c": "b"})
    assert isinstance(u, np.ndarray) and u.dtype == float
    assert u.tolist() == [0.5, 0.75]


def test_domain_name_must_be_identifier():
    with pytest.raises(SpaceError, match=r"name is 'a b', but must be a Python identifier"):
        Real(0, 1, name="a b")
    with pytest.raises(SpaceError, match="must be a Python identifier"):
        Categorical("x", name="1st")


def test_bool_is_false_true():
    d = Bool(name="flag")
    assert d.choices == (False, True)
    assert d.name == "flag"
    assert repr(Bool()) == "Bool()"


@pytest.mark.parametrize("value", [True, False])
def test_bool_given_a_value_says_it_takes_none_instead_of_blaming_the_name(value):
    with pytest.raises(SpaceError, match=rf"Bool takes no value: Bool\(\) searches False and "
                                         rf"True \(got Bool\({value}\)\); to keep {value} "
                                         rf"fixed, assign {value}") as caught:
        Bool(value)
    assert "identifier" not in str(caught.value)


@pytest.mark.parametrize("args, shown", [((0, 1), "0, 1"), ((1,), "1")])
def test_bool_given_values_says_it_takes_none_and_names_categorical(args, shown):
    with pytest.raises(SpaceError, match=rf"Bool takes no values: Bool\(\) searches False and "
                                         rf"True \(got Bool\({shown}\)\); for other values "
                                         rf"write Categorical\({shown}\)") as caught:
        Bool(*args)
    assert "identifier" not in str(caught.value)


def test_a_domain_used_as_a_value_says_the_cell_runs_only_under_the_magic():
    import math

    uses = [lambda d: d + 1, lambda d: 2 * d, lambda d: d / 3, lambda d: -d, lambda d: d > 0.5,
            lambda d: math.log(d), lambda d: range(d), lambda d: round(d), lambda d: float(d)]
    for domain, example in ((Real(1e-4, 1e-1, log=True), ("x = 0.00316  # hpo: "
                                                          "Real(0.0001, 0.1, log=True)")),
                            (Int(16, 256, name="units"), ("units = 136  # hpo: Int(16, 256, "
                                                         "name='units')")),
                            (Categorical("relu", "tanh"), ("x = 'relu'  # hpo: "
                                                          "Categorical('relu', 'tanh')"))):
        for use in uses:
            with pytest.raises(TypeError) as caught:
                use(domain)
            assert str(caught.value) == (
                f"{domain!r} is a search space, not a value: a cell that assigns it runs only "
                f"as a study, with %%hpo as its first line (each trial then gets a value). To "
                f"run the cell on its own too, write a value with the space in a comment: "
                f"{example}")
    assert Real(0, 1) == Real(0, 1) and len({Real(0, 1), Real(0, 1)}) == 1 and bool(Real(0, 1))


def test_domains_compare_by_value():
    assert Real(0, 1, log=False) == Real(0, 1)
    assert Real(0, 1) != Int(0, 1)
    assert Categorical("a", "b") != Categorical("b", "a")
    assert len({Int(1, 3), Int(1, 3)}) == 1


# --- sampling ------------------------------------------------------------------------------

@pytest.mark.parametrize("domain", [
    Real(-2.0, 3.0), Real(1e-4, 1e-1, log=True), Int(16, 256), Int(1, 1000, log=True),
    Categorical("relu", "tanh", "gelu"), Bool(),
])
def test_seeded_sampling_is_reproducible(domain):
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [domain.sample(rng) for _ in range(50)]

    assert draw(7) == draw(7)
    assert len(set(draw(7))) > 1


def test_different_seeds_give_different_samples():
    d = Real(0, 1)
    a = [d.sample(np.random.default_rng(1)) for _ in range(5)]
    b = [d.sample(np.random.default_rng(2)) for _ in range(5)]
    assert a != b


@pytest.mark.parametrize("domain", [
    Real(-2.0, 3.0), Real(1e-4, 1e-1, log=True), Int(16, 256), Int(1, 1000, log=True),
    Int(-3, 3), Categorical("relu", "tanh", "gelu"), Bool(),
])
def test_samples_lie_in_the_domain(domain):
    rng = np.random.default_rng(0)
    for _ in range(500):
        assert domain.contains(domain.sample(rng))


def test_real_samples_are_floats_within_bounds():
    rng = np.random.default_rng(3)
    values = [Real(-2.0, 3.0).sample(rng) for _ in range(1000)]
    assert all(isinstance(v, float) and -2.0 <= v <= 3.0 for v in values)
    assert min(values) < -1.5 and max(values) > 2.5


@pytest.mark.parametrize("domain", [Real(0, 1), Real(1, 3), Real(1, 100, log=True)])
def test_a_real_with_integer_bounds_gives_floats_at_its_bounds(domain):
    """``from_unit`` at (or, by rounding, just past) a bound gave the bound itself, an int
    for ``Real(0, 1)``: bayesopt's proposals at a bound reached trials as ``x == 0`` (int)."""
    for u in (0.0, 1.0, -1e-12, 1.0 + 1e-12, 1e-300):
        assert isinstance(domain.from_unit(u), float)
    assert domain.from_unit(0.0) == domain.lo and domain.from_unit(1.0) == domain.hi


def test_int_samples_are_ints_covering_every_value():
    rng = np.random.default_rng(4)
    values = [Int(0, 3).sample(rng) for _ in range(2000)]
    assert all(type(v) is int for v in values)
    counts = np.bincount(values)
    assert len(counts) == 4
    assert all(400 < c < 600 for c in counts)


def test_log_real_sampling_spreads_over_decades():
    rng = np.random.default_rng(5)
    values = np.array([Real(1e-4, 1e-1, log=True).sample(rng) for _ in range(3000)])
    decades = np.floor(np.log10(values)).astype(int)
    counts = {k: int((decades == k).sum()) for k in (-4, -3, -2)}
    assert all(800 < c < 1200 for c in counts.values()), counts
    assert values.min() >= 1e-4 and values.max() <= 1e-1


def test_uniform_real_sampling_concentrates_in_top_decade():
    rng = np.random.default_rng(5)
    values = np.array([Real(1e-4, 1e-1).sample(rng) for _ in range(3000)])
    assert (values >= 1e-2).mean() > 0.85


def test_log_int_sampling_spreads_over_decades():
    rng = np.random.default_rng(6)
    values = np.array([Int(1, 1000, log=True).sample(rng) for _ in range(3000)])
    assert (values < 10).mean() > 0.2
    assert (values >= 100).mean() > 0.2


def test_categorical_sampling_hits_every_choice():
    rng = np.random.default_rng(8)
    d = Categorical("relu", "tanh", "gelu")
    values = [d.sample(rng) for _ in range(600)]
    assert {v: values.count(v) > 150 for v in d.choices} == {"relu": True, "tanh": True, "gelu": True}


# --- unit cube --------------------------------------------------------------------------

@pytest.mark.parametrize("domain,values", [
    (Real(-2.0, 3.0), [-2.0, -0.3, 0.0, 1.7, 3.0]),
    (Real(1e-4, 1e-1, log=True), [1e-4, 3e-4, 1e-3, 0.05, 1e-1]),
])
def test_real_round_trip(domain, values):
    for v in values:
        u = domain.to_unit(v)
        assert 0.0 <= u <= 1.0
        assert domain.from_unit(u) == pytest.approx(v, rel=1e-12, abs=1e-15)


def test_real_unit_ends_are_the_bounds():
    d = Real(1e-4, 1e-1, log=True)
    assert d.from_unit(0.0) == 1e-4
    assert d.from_unit(1.0) == 1e-1
    assert d.to_unit(1e-4) == 0.0
    assert d.to_unit(1e-1) == 1.0


def test_log_real_unit_is_linear_in_log():
    d = Real(1e-4, 1.0, log=True)
    assert d.to_unit(1e-2) == pytest.approx(0.5)
    assert d.from_unit(0.25) == pytest.approx(1e-3)


def test_from_unit_clips_outside_the_cube():
    assert Real(0, 1).from_unit(1.5) == 1.0
    assert Real(0, 1).from_unit(-0.5) == 0.0
    assert Int(1, 5).from_unit(2.0) == 5
    assert Categorical("a", "b").from_unit(-1) == "a"


@pytest.mark.parametrize("domain", [Int(-3, 7), Int(1, 300, log=True), Int(16, 256)])
def test_int_round_trip_every_value(domain):
    for v in range(domain.lo, domain.hi + 1):
        u = domain.to_unit(v)
        assert 0.0 < u < 1.0
        assert domain.from_unit(u) == v


def test_int_values_own_equal_cells():
    d = Int(0, 3)
    assert [d.from_unit(u) for u in (0.0, 0.24, 0.26, 0.49, 0.51, 0.74, 0.76, 1.0)] == \
        [0, 0, 1, 1, 2, 2, 3, 3]
    assert d.to_unit(0) == pytest.approx(0.125)


@pytest.mark.parametrize("domain", [Categorical("relu", "tanh", "gelu"), Categorical(1, 2.5, None), Bool()])
def test_categorical_round_trip(domain):
    for c in domain.choices:
        assert domain.from_unit(domain.to_unit(c)) == c
    units = [domain.to_unit(c) for c in domain.choices]
    assert units == sorted(units) and len(set(units)) == len(units)


@pytest.mark.parametrize("make, says", [
    (lambda: Real(low=1e-4, high=0.1), r"Real\(\) got an unknown argument low=\.\.\.: write lo"),
    (lambda: Real(1e-4, 0.1, log_scale=True), r"unknown argument log_scale=.*write log=True"),
    (lambda: Int(16, 256, q=16), r"Int\(\) got an unknown argument q=.*write step="),
    (lambda: Real(0, 1, stpe=0.1), r"unknown argument stpe=.*did you mean step=\?"),
    (lambda: Real(0, 1, default=0.5), r"has no default.*--enqueue"),
    (lambda: Bool(default=True), r"Bool\(\) got an unknown argument default=.*has no default"),
    (lambda: Categorical(choices=["a", "b"]), r"give the choices as arguments"),
    (lambda: Real(0, 1, condition="x > 1"), r"write when="),
    (lambda: Real(0, 1, False, "lr", 3), (r"Real\(\) got 5 arguments without names, but takes "
                                          r"at most 4 \(lo, hi, log, name\)")),
    (lambda: Int(1, 9, 2), (r"log is 2, but must be True or False \(the third argument is log; "
                            r"a step is written step=2\)")),
])
def test_an_argument_a_domain_does_not_take_says_what_to_write(make, says):
    with pytest.raises(SpaceError, match=says) as info:
        make()
    assert "_Numeric" not in str(info.value) and "__init__" not in str(info.value)


def test_a_domain_subclass_with_its_own_keyword_options_is_not_refused():
    class PriorReal(Real):
        def __init__(self, lo, hi, **options):
            self.prior = options.pop("prior", None)
            super().__init__(lo, hi, **options)

    domain = PriorReal(0, 1, prior="normal", log=False)
    assert domain.prior == "normal" and (domain.lo, domain.hi) == (0, 1)
    with pytest.raises(SpaceError, match=r"it takes PriorReal\(lo, hi, \*\*options\)"):
        PriorReal(0, 1, 2)


def test_domains_still_copy_and_pickle_after_the_argument_check():
    import copy
    import pickle

    for domain in (Real(0, 1, step=0.5), Int(1, 9, log=True), Categorical("a", "b", name="x"),
                   Bool(when="x == 'a'")):
        assert repr(pickle.loads(pickle.dumps(domain))) == repr(domain)
        assert repr(copy.deepcopy(domain)) == repr(domain)


def test_bool_round_trip_keeps_type():
    d = Bool()
    assert d.from_unit(d.to_unit(True)) is True
    assert d.from_unit(d.to_unit(False)) is False


def test_categorical_to_unit_of_unknown_value():
    with pytest.raises(SpaceError, match=r"'sigmoid' is not one of the choices \('relu', 'tanh'\)"):
        Categorical("relu", "tanh").to_unit("sigmoid")


def test_space_unit_round_trip():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256, log=True),
                   "act": Categorical("relu", "tanh"), "bn": Bool()})
    config = {"lr": 3e-3, "units": 100, "act": "tanh", "bn": True}
    u = space.to_unit(config)
    assert u.shape == (4,)
    back = space.from_unit(u)
    assert back["lr"] == pytest.approx(3e-3)
    assert {k: back[k] for k in ("units", "act", "bn")} == {"units": 100, "act": "tanh", "bn": True}


def test_space_from_unit_wrong_length():
    space = Space({"a": Real(0, 1), "b": Real(0, 1)})
    with pytest.raises(SpaceError, match="point has 3 coordinates, but the space has 2 dimensions"):
        space.from_unit(np.array([0.1, 0.2, 0.3]))


def test_seeded_space_sampling_is_reproducible_and_valid():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "act": Categorical("relu", "tanh")})
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    a = [space.sample(rng_a) for _ in range(20)]
    b = [space.sample(rng_b) for _ in range(20)]
    assert a == b
    for config in a:
        space.validate(config)
    assert list(a[0]) == ["lr", "units", "act"]


# --- grids --------------------------------------------------------------------------------

def test_real_grid_is_evenly_spaced():
    assert Real(0, 1).grid(5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_log_real_grid_is_geometric():
    assert Real(1e-3, 10, log=True).grid(5) == pytest.approx([1e-3, 1e-2, 1e-1, 1.0, 10.0])


def test_single_point_grid_is_the_middle():
    assert Real(0, 4).grid(1) == [2.0]
    assert Real(1e-4, 1.0, log=True).grid(1) == pytest.approx([1e-2])


def test_int_grid_small_domain_lists_every_value():
    assert Int(1, 3).grid(5) == [1, 2, 3]


def test_int_grid_large_domain():
    assert Int(0, 100).grid(5) == [0, 25, 50, 75, 100]
    assert Int(1, 1000, log=True).grid(4) == [1, 10, 100, 1000]


def test_categorical_grid_lists_every_choice():
    assert Categorical("a", "b", "c").grid(2) == ["a", "b", "c"]
    assert Bool().grid(5) == [False, True]


@pytest.mark.parametrize("domain", [Real(0, 1), Int(0, 10)])
def test_grid_needs_a_point(domain):
    with pytest.raises(SpaceError, match="grid points is 0, but must be >= 1"):
        domain.grid(0)


def test_space_grid_is_the_cartesian_product():
    space = Space({"x": Real(0, 1), "act": Categorical("relu", "tanh"), "n": Int(1, 2)})
    configs = list(space.grid(3))
    assert space.grid_size(3) == len(configs) == 3 * 2 * 2
    assert configs[0] == {"x": 0.0, "act": "relu", "n": 1}
    assert configs[-1] == {"x": 1.0, "act": "tanh", "n": 2}
    assert len({tuple(c.values()) for c in configs}) == len(configs)
    for config in configs:
        space.validate(config)


def test_grid_size_counts_deduplicated_int_points():
    space = Space({"n": Int(1, 1000, log=True), "b": Bool()})
    assert space.grid_size(20) == len(list(space.grid(20)))


def test_empty_space_grid_has_one_empty_config():
    assert list(Space().grid()) == [{}]
    assert Space().grid_size() == 1


# --- Space ------------------------------------------------------------------------------

def test_space_is_an_ordered_mapping():
    space = Space({"b": Int(1, 2), "a": Real(0, 1)})
    assert list(space) == ["b", "a"]
    assert len(space) == 2
    assert space["a"] == Real(0, 1)


def test_space_rejects_non_domains():
    with pytest.raises(SpaceError, match=r"the space entry 'lr' is 0.1, but must be Real\(...\)"):
        Space({"lr": 0.1})


@pytest.mark.parametrize("value,hint", [
    ((0, 1), "(a range? {'x': Real(0, 1)} or Int(0, 1))"),
    ((1e-4, 0.1), "(a range? {'x': Real(0.0001, 0.1)})"),
    ([16, 32, 64], "(choices? {'x': Categorical(16, 32, 64)})"),
    (("a", "b", "c", "d", "e"), "(choices? {'x': Categorical('a', 'b', 'c', 'd', ...)})"),
    (0.5, ("(a fixed value? leave it out of the space and set it in the objective, or search it "
          "as {'x': Categorical(0.5)})")),
    (Real, ("is Real, but must be Real(...), Int(...), Categorical(...) or Bool(): call it, "
           "e.g. {'x': Real(...)}")),
])
def test_a_space_entry_that_is_no_domain_gets_a_hint_of_what_was_meant(value, hint):
    with pytest.raises(SpaceError) as info:
        Space({"x": value})
    assert hint in str(info.value)


def test_validate_accepts_a_valid_config():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "act": Categorical("relu", "tanh")})
    space.validate({"lr": 1e-2, "units": 16, "act": "relu", "extra": 1})


def test_validate_reports_missing_names():
    space = Space({"lr": Real(0, 1), "units": Int(16, 256), "act": Bool()})
    with pytest.raises(SpaceError, match=r"config lacks hyperparameters \['units', 'act'\]"):
        space.validate({"lr": 0.5})


@pytest.mark.parametrize("config,message", [
    ({"lr": 2.0, "units": 16, "act": "relu"}, r"lr=2.0 is outside Real\(0, 1\)"),
    ({"lr": 0.5, "units": 300, "act": "relu"}, r"units=300 is outside Int\(16, 256\)"),
    ({"lr": 0.5, "units": 16.0, "act": "relu"}, r"units=16.0 is outside Int"),
    ({"lr": 0.5, "units": 16, "act": "gelu"}, r"act='gelu' is outside Categorical\('relu', 'tanh'\)"),
    ({"lr": "0.5", "units": 16, "act": "relu"}, r"lr='0.5' is outside"),
])
def test_validate_rejects_values_outside_the_domain(config, message):
    space = Space({"lr": Real(0, 1), "units": Int(16, 256), "act": Categorical("relu", "tanh")})
    with pytest.raises(SpaceError, match=message):
        space.validate(config)


def test_contains():
    assert Real(0, 1).contains(0.5) and not Real(0, 1).contains(1.5)
    assert Int(1, 3).contains(2) and not Int(1, 3).contains(2.0) and not Int(0, 3).contains(True)
    assert Categorical("a").contains("a") and not Categorical("a").contains("b")
    assert Bool().contains(True)


# --- how many configurations a space has -----------------------------------------------------
@pytest.mark.parametrize("domains, size", [
    ({"a": Categorical("x", "y"), "b": Bool()}, 4),
    ({"a": Categorical("x", "y"), "n": Int(1, 5)}, 10),
    ({"n": Int(1, 64, log=True)}, 64),
    ({"n": Int(2, 64, step=2), "r": Real(0.0, 1.0, step=0.25)}, 32 * 5),
    ({"arch": Categorical("mlp", "cnn"), "k": Categorical(3, 5, when="arch == 'cnn'")}, 3),
    ({"a": Categorical("x", "y"), "r": Real(0.0, 1.0)}, None),  # continuous
    ({"n": Int(0, 10**9)}, None),  # more values than the limit
    ({"c": Int(0, 2000), "k": Categorical(1, 2, when="c == 0")}, 2002),
    ({"c": Int(0, 200), "d": Int(0, 200), "k": Bool(when="c == 0 and d == 0")}, None),
])
def test_a_space_counts_its_configurations_when_it_has_finitely_many(domains, size):
    space = Space(domains)
    assert space.size() == size
    if size is not None and size <= 200:  # the count is what sampling can reach
        rng = np.random.default_rng(0)
        seen = {tuple(sorted(space.sample(rng).items())) for _ in range(4000)}
        assert len(seen) == size
