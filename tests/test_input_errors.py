"""Bad input outside a ``%%hpo`` cell's body (``tune()``'s space and options, the ``Study``,
``%hpo`` commands, storage locations): each is refused with what to write instead."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.stats

from jupyter_hpo import Categorical, Int, Real
from jupyter_hpo.errors import SpaceError
from jupyter_hpo.space import Space


def _suggested(message: str) -> Space:
    """The first ``{'x': Domain(...)}`` the message suggests, built."""
    match = re.search(r"\{'x': (\w+\(.*?\))\}", message)
    assert match, message
    return Space({"x": eval(match[1], {"Real": Real, "Int": Int,
                                       "Categorical": Categorical})})


@pytest.mark.parametrize(("value", "meant"), [
    (range(10), Int(0, 9)),  # a range's stop is left out; Int's hi is included
    (range(16, 257, 16), Int(16, 256, step=16)),
    (np.arange(1, 10), Int(1, 9)),
    (np.linspace(0, 1, 5), Real(0.0, 1.0, step=0.25)),
    (np.logspace(-4, -1, 4), Real(1e-4, 0.1, log=True)),
    (np.array(["a", "b"]), Categorical("a", "b")),
    (scipy.stats.uniform(0.1, 0.4), Real(0.1, 0.5)),  # loc and scale
    (scipy.stats.loguniform(1e-4, 1e-1), Real(1e-4, 0.1, log=True)),
    (scipy.stats.randint(1, 9), Int(1, 8)),
])
def test_a_range_array_or_distribution_is_told_which_domain_it_is(value, meant):
    """These were told "search it as Categorical(range(0, 10))": one choice, the range."""
    with pytest.raises(SpaceError) as caught:
        Space({"x": value})
    assert "Categorical(range" not in str(caught.value)
    assert "Categorical(array" not in str(caught.value)
    assert repr(_suggested(str(caught.value))["x"]) == repr(meant)


def test_a_distribution_without_bounds_asks_for_them():
    with pytest.raises(SpaceError, match=r"scipy.stats.norm.*finite bounds.*Real\(lo, hi\)"):
        Space({"x": scipy.stats.norm(0, 1)})


def test_an_optuna_distribution_is_told_which_domain_it_is():
    import optuna  # a test dependency (the benchmarks compare against it)

    with pytest.raises(SpaceError) as caught:
        Space({"x": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
    assert repr(_suggested(str(caught.value))["x"]) == repr(Real(1e-4, 0.1, log=True))


def _quiet_tune(**options):
    import logging

    from jupyter_hpo import tune

    logging.getLogger("jupyter_hpo.tune").setLevel(logging.WARNING)
    return tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
                **options)


def test_a_wrong_index_of_study_trials_says_what_the_trials_are():
    """``study.trials[99]`` was "tuple index out of range" and ``trials['1']`` "tuple indices
    must be integers or slices, not str"."""
    import pickle

    from jupyter_hpo import Study

    study = _quiet_tune(trials=2, seed=0)
    assert study.trials[-1].trial_id == 1 and study.trials == tuple(study.trials)
    assert type(pickle.loads(pickle.dumps(study.trials))) is tuple
    with pytest.raises(IndexError, match=r"study.trials\[99\]: the study has 2 trials "
                                         r"\(ids 0..1\); study.trials\[-1\] is the last"):
        study.trials[99]
    with pytest.raises(TypeError, match=r"indexed by its id, an int: study.trials\[1\]"):
        study.trials["1"]
    with pytest.raises(TypeError, match=r"study.trials\[0\].config\['lr'\]"):
        study.trials["lr"]
    empty = Study(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min")
    with pytest.raises(IndexError, match="the study has no trial yet"):
        empty.trials[0]


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


@pytest.mark.parametrize(("line", "said"), [
    ("-n 5", "unrecognized arguments: -n 5; did you mean --trials instead of -n?"),
    ("-w 4", "did you mean --workers instead of -w?"),
    ("-s 3", "did you mean --seed instead of -s?"),
    ("-s hyperband", "did you mean --scheduler instead of -s?"),
    ("-m max", "did you mean --mode instead of -m?"),
    ("-q", "did you mean --quiet instead of -q?"),
])
def test_a_one_letter_option_of_the_cell_magic_names_the_long_one(ip, line, said):
    """``%%hpo -n 5`` said only "unrecognized arguments: -n 5"."""
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("hpo", f"{line} --storage none", "x = Real(0, 1)\nloss = x\n")
    assert said in str(caught.value)


@pytest.mark.parametrize(("line", "said"), [
    ("stop -t 3", "did you mean --trial instead of -t?"),
    ("list -s runs.db", "did you mean --storage instead of -s?"),
    ("plot contour -p x,y", "did you mean --params instead of -p?"),
    # these were told to write "%hpo best -- -n 5", as if -n were a study's NAME
    ("best -n 5", "; %hpo best has no option -n (its options: --storage; %hpo? describes them)"),
    ("best mlp -v", "; %hpo best has no option -v (its options: --storage;"),
    ("plot history mlp -q", ("%hpo plot has no option -q (its options: --metric, --params and "
                            "--storage;")),
    ("list -n 5", "; %hpo list has no option -n (its options: --storage;"),
    ("show --name mlp", ("; %hpo show takes the study's NAME as it is, without --name: "
                        "%hpo show mlp")),
])
def test_an_option_a_line_command_does_not_take_says_what_it_takes(ip, line, said):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("hpo", line)
    assert said in str(caught.value) and "goes after --" not in str(caught.value)


def test_a_bad_default_storage_names_the_environment_variable(tmp_path, monkeypatch):
    """``$JUPYTER_HPO_STORAGE`` naming a folder or another program's database was refused as
    if the cell had named that file ("pass another file with --storage"), where it named none."""
    import sqlite3

    from jupyter_hpo import Study
    from jupyter_hpo.errors import StorageError
    from jupyter_hpo.storage import open_storage

    monkeypatch.setenv("JUPYTER_HPO_STORAGE", str(tmp_path))
    with pytest.raises(StorageError, match=rf"is a folder: .*from the environment variable "
                                           rf"JUPYTER_HPO_STORAGE='{re.escape(str(tmp_path))}': "
                                           rf"set it to a storage file, or unset it"):
        open_storage(None, read_only=True)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    before = other.read_bytes()
    monkeypatch.setenv("JUPYTER_HPO_STORAGE", str(other))
    with pytest.raises(StorageError) as caught:
        Study.load("mlp")
    assert "database of another program" in str(caught.value)
    assert "pass another file as storage=" in str(caught.value)  # Python's word, not --storage
    assert "JUPYTER_HPO_STORAGE=" in str(caught.value)
    assert other.read_bytes() == before
    monkeypatch.delenv("JUPYTER_HPO_STORAGE")
    with pytest.raises(StorageError) as caught:  # a path given: no word of the variable
        Study.load("mlp", str(other))
    assert "JUPYTER_HPO_STORAGE" not in str(caught.value)


def test_tune_says_storage_for_a_file_that_is_not_a_storage(tmp_path):
    from jupyter_hpo.errors import StorageError

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(StorageError, match="not a SQLite file.*pass another file as storage="):
        _quiet_tune(trials=1, storage=str(notes))
    assert notes.read_text() == "my notes\n"


def test_reading_a_file_in_a_missing_folder_says_it_does_not_exist(ip, tmp_path):
    """``%hpo list --storage nowhere/runs.db`` said "cannot create ...", as if listing made
    files; python -m jupyter_hpo said "does not exist (nor does its folder)"."""
    from IPython.core.error import UsageError

    missing = tmp_path / "nowhere" / "runs.db"
    for line in (f"list --storage {missing}", f"show mlp --storage {missing}",
                 f"delete mlp --storage {missing}"):
        with pytest.raises(UsageError) as caught:
            ip.run_line_magic("hpo", line)
        assert str(caught.value) == (f"{missing} does not exist, nor does its folder "
                                     f"{missing.parent}: no study has been stored there; pass "
                                     f"the file the studies were stored in with --storage")
    assert not missing.parent.exists()


@pytest.mark.parametrize(("searcher", "options", "said"), [
    # the default searcher listed bayesopt's options and nothing else
    ("auto", {"n_startup": 3}, ("; n_startup is an option of the tpe searcher: pass "
                               "searcher='tpe' (%%hpo --searcher tpe) to use it")),
    ("random", {"acq_func": "LCB"}, ("; acq_func is an option of the skopt searcher: pass "
                                    "searcher='skopt'")),
])
def test_another_searchers_option_names_the_searcher_that_takes_it(searcher, options, said):
    with pytest.raises(ValueError) as caught:
        _quiet_tune(trials=1, searcher=searcher, searcher_options=options)
    assert str(caught.value).startswith(f"searcher {searcher!r} does not take these options")
    assert said in str(caught.value)


def test_every_plot_of_a_study_whose_trials_all_failed_says_why(tmp_path):
    """``curves`` said "has no reports of loss yet", ``importance`` "has 0" and
    ``incumbent`` "no trial that did not fail reported loss", where ``history`` said how many
    trials failed and with what."""
    from jupyter_hpo import Study
    from jupyter_hpo.errors import StudyFailedError

    def broken(config):
        raise RuntimeError("boom")

    study = Study(broken, {"x": Real(0, 1), "y": Real(0, 1)}, metric="loss", mode="min",
                  trials=3)
    with pytest.raises(StudyFailedError):
        study.run()
    for kind in ("history", "curves", "parallel", "contour", "importance", "incumbent"):
        with pytest.raises(ValueError) as caught:
            study.plot(kind)
        assert "3 of 3 trials failed (trial 0: RuntimeError: boom)" in str(caught.value), kind
    with pytest.raises(ValueError, match="^importance-duration needs at least 2 finished "
                                         "trials with a duration"):
        study.plot("importance-duration")  # it said "importance needs ..."


def test_a_study_name_with_letters_swapped_or_other_separators_names_the_stored_one(ip,
                                                                                    tmp_path):
    """``%hpo show mpl`` listed the stored studies but did not ask "did you mean 'mlp'?"."""
    from IPython.core.error import UsageError

    path = tmp_path / "runs.db"
    for name in ("mlp", "my-study", "CNN"):
        _quiet_tune(trials=1, storage=str(path), name=name)
    for typed, meant in (("mpl", "mlp"), ("my_study", "my-study"), ("cnn", "CNN")):
        with pytest.raises(UsageError) as caught:
            ip.run_line_magic("hpo", f"show {typed} --storage {path}")
        assert str(caught.value).endswith(f"; did you mean {meant!r}?")
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("hpo", f"show zzz --storage {path}")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize(("magic", "line", "said"), [
    ("line", "list --storage", ("argument --storage: expected one argument: write its value "
                               "after it, e.g. --storage runs.db")),
    ("line", "stop --trial", "expected one argument: write its value after it, e.g. --trial 3"),
    ("cell", "--trials", "expected one argument: write its value after it, e.g. --trials 20"),
    ("cell", "--scheduler", ("expected one argument: write its value after it (one of auto, "
                            "fifo, hyperband), e.g. --scheduler auto")),
    # an empty --storage was called "--storage none", which nobody wrote
    ("line", "show mlp --storage=", ("--storage is '': pass the file the studies were stored in "
                                    "(e.g. --storage runs.db), or leave out --storage")),
])
def test_an_option_without_its_value_says_what_to_write(ip, magic, line, said):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as caught:
        if magic == "line":
            ip.run_line_magic("hpo", line)
        else:
            ip.run_cell_magic("hpo", line, "x = Real(0, 1)\nloss = x\n")
    assert said in str(caught.value)


@pytest.mark.parametrize(("given", "said"), [
    # param_space= was told "did you mean keep_namespaces=...?"; config= was Python's
    # "missing 1 required positional argument: 'space'"
    ({"param_space": {"x": Real(0, 1)}}, ("tune() got param_space=... (Ray Tune's name), which "
                                         "it takes as the search space, its second argument")),
    ({"config": {"x": Real(0, 1)}}, ("got config=... (Ray Tune's name), which it takes as the "
                                    "search space")),
    ({"objective": abs}, ("got objective=..., which it takes as the function to optimise, its "
                         "first argument")),
])
def test_another_librarys_name_for_tunes_arguments_says_where_they_go(given, said):
    from jupyter_hpo import tune

    arguments = {"fn": abs} if "objective" not in given else {"space": {"x": Real(0, 1)}}
    with pytest.raises(TypeError) as caught:
        tune(**arguments, **given, metric="loss", mode="min", trials=1)
    assert str(caught.value).startswith("tune() ") and said in str(caught.value)
    with pytest.raises(TypeError, match=r"^tune\(\) needs the search space, its second "):
        tune(abs, metric="loss", mode="min", trials=1)


def test_the_dashboards_and_the_commands_names_as_study_methods_say_what_to_call():
    """``study.apply_best()`` (the dashboard's Apply best) and ``study.export(...)`` (``%hpo
    export``) were bare AttributeErrors."""
    from jupyter_hpo import Study

    study = Study(abs, {"x": Real(0, 1)}, metric="loss", mode="min")
    with pytest.raises(AttributeError, match=r"'apply_best': use study.apply\(\) \(the "
                                             r"dashboard's Apply best"):
        study.apply_best()
    with pytest.raises(AttributeError, match=r"'export': use study.trials_dataframe\(\)"
                                             r".to_csv\('trials.csv'\)"):
        study.export("trials.csv")


def test_tunes_options_given_by_position_say_their_keywords():
    """``tune(fn, space, "loss", "min", 20)`` was Python's "tune() takes 2 positional
    arguments but 5 were given"."""
    from jupyter_hpo import tune

    with pytest.raises(TypeError) as caught:
        tune(abs, {"x": Real(0, 1)}, "loss", "min", 20)
    assert str(caught.value) == (
        "tune() takes fn and space as its only positional arguments, and 3 more were given "
        "('loss', 'min', 20): the options are keywords, e.g. tune(fn, space, metric='loss', "
        "mode='min', trials=20)")



MISSPELT_KEY = ("KeyError: config has no key 'lrr'; its keys are 'lr', 'units'. "
                "Did you mean 'lr'?")


def _misspelt(config):
    return config["lrr"] * config["units"]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_misspelt_config_key_names_the_keys_and_the_nearest_one(executor):
    """``config["lrr"]`` in a function objective failed with a bare ``KeyError: 'lrr'``."""
    from jupyter_hpo import StudyFailedError, tune

    with pytest.raises(StudyFailedError) as caught:
        tune(_misspelt, {"lr": Real(0.01, 0.1), "units": Int(1, 4)}, metric="loss",
             mode="min", trials=1, executor=executor, max_initial_failures=1)
    text = str(caught.value).rstrip()
    assert text.splitlines()[-1] == MISSPELT_KEY, text
    assert 'config["lrr"]' in text and "config_keys" not in text  # the user's line, not ours


def test_the_configs_key_error_is_still_a_key_error_of_that_key():
    """Code that catches ``KeyError`` (``config.get`` fallbacks, ``e.args[0]``) is unchanged,
    the user's own dicts say what they said, and a config pickles as a dict."""
    import pickle

    from jupyter_hpo import tune

    seen = {}

    def catches(config):
        try:
            config["lrr"]
        except KeyError as exc:
            seen["key"] = exc.args[0]
        try:
            {"a": 1}["b"]
        except KeyError as exc:
            seen["own"] = str(exc)
        seen["copy"] = pickle.loads(pickle.dumps(config))
        return config["lr"]

    study = tune(catches, {"lr": Real(0.01, 0.1)}, metric="loss", mode="min", trials=1)
    assert seen["key"] == "lrr" and seen["own"] == "'b'"
    assert seen["copy"] == study.trials[0].config
    with pytest.raises(KeyError, match="config has no key 'LR'; its keys are 'lr'. Did you "
                                       "mean 'lr'"):
        study.trials[0].config["LR"]


def test_study_load_and_resume_name_the_nearest_stored_study(ip, tmp_path):
    """``Study.load("my-studdy")``, ``tune(..., resume=True)`` and ``%%hpo --resume`` listed
    the stored names but guessed none, as ``%hpo show`` and the terminal do."""
    from IPython.core.error import UsageError

    from jupyter_hpo import Study, tune

    path = str(tmp_path / "runs.db")
    for name in ("my-study", "mlp"):
        _quiet_tune(trials=1, storage=path, name=name)
    for typed, meant in (("my-studdy", "my-study"), ("mpl", "mlp"), ("My_Study", "my-study")):
        with pytest.raises(LookupError) as caught:
            Study.load(typed, storage=path)
        assert str(caught.value).endswith(f"stored studies: my-study, mlp; did you mean "
                                          f"{meant!r}?")
    with pytest.raises(LookupError, match=re.escape("; did you mean 'my-study'?")):
        tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
             trials=1, storage=path, name="my-studdy", resume=True)
    with pytest.raises(UsageError, match=re.escape("; did you mean 'my-study'?")):
        ip.run_cell_magic("hpo", f"--quiet --resume --name my-studdy --storage {path} "
                                 f"--metric loss --mode min", "x = Real(0, 1)\nloss = x\n")
    with pytest.raises(LookupError) as caught:
        Study.load("zzz", storage=path)
    assert "did you mean" not in str(caught.value)
    assert [len(Study.load(n, storage=path).trials) for n in ("my-study", "mlp")] == [1, 1]
