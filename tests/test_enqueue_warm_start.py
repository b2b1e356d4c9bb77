"""Known configurations first (``study.enqueue``, ``points_to_evaluate``, ``%%hpo --enqueue``)
and warm starts from a stored study (``warm_start=``, ``%%hpo --warm-start``)."""

from __future__ import annotations

import threading
from dataclasses import astuple

import pytest

from jupyter_hpo import Categorical, Int, Real, Study, tune
from jupyter_hpo.errors import StudyFailedError
from jupyter_hpo.records import StudyState, TrialStatus
from jupyter_hpo.storage import InMemoryStorage, SQLiteStorage, StudyUpdate

SPACE = {"lr": Real(1e-3, 1e-1, log=True), "units": Int(8, 64, step=8),
         "act": Categorical("relu", "tanh")}


def score(config):
    return config["units"] / 64 - abs(config["lr"] - 0.01) * 10 + (config["act"] == "tanh")


# --- enqueue ------------------------------------------------------------------------------

@pytest.mark.parametrize("searcher", ["random", "grid", "tpe", "bayesopt", "rl"])
def test_points_to_evaluate_run_first_in_order_and_partial_ones_are_completed(searcher):
    points = [{"lr": 0.01, "units": 64, "act": "tanh"}, {"lr": 0.05}, {"act": "relu", "units": 8}]
    study = tune(score, SPACE, metric="score", mode="max", trials=6, seed=0, searcher=searcher,
                 points_to_evaluate=points,
                 searcher_options={"points": 2} if searcher == "grid" else {})
    first = [dict(t.config) for t in study.trials[:3]]
    assert first[0] == points[0]
    assert first[1]["lr"] == 0.05 and set(first[1]) == set(SPACE)
    assert (first[2]["act"], first[2]["units"]) == ("relu", 8) and set(first[2]) == set(SPACE)
    assert [t.enqueued for t in study.trials[:3]] == points
    assert all(t.enqueued is None for t in study.trials[3:])
    assert len(study.trials) == 6  # they count against the budget


def test_grid_keeps_its_points_when_a_partial_configuration_is_enqueued():
    space = {"a": Categorical(1, 2), "b": Categorical("x", "y")}
    study = tune(lambda c: c["a"], space, metric="score", mode="max", searcher="grid",
                 points_to_evaluate=[{"a": 2}])
    grid = [dict(t.config) for t in study.trials[1:]]
    assert grid == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"},
                    {"a": 2, "b": "y"}]


def test_a_list_enqueued_for_a_tuple_choice_runs_that_choice():
    """JSON text (``--enqueue '{"layers": [128, 64]}'``) has no tuples: a list with the items
    of a tuple choice means that choice."""
    space = {"layers": Categorical((64,), (128, 64)), "x": Real(0, 1)}
    study = Study(lambda c: len(c["layers"]) + c["x"], space, metric="loss", mode="min",
                  trials=3, points_to_evaluate=[{"layers": [128, 64], "x": 0.5}])
    study.enqueue({"layers": [64]})
    study.run()
    assert study.trials[0].config == {"layers": (128, 64), "x": 0.5}
    assert study.trials[1].config["layers"] == (64,)
    with pytest.raises(ValueError, match=r"has layers=\[32\], which is outside"):
        study.space.check_partial(study.space.matched_choices({"layers": [32]}))


def test_enqueued_values_have_the_types_the_searchers_give():
    """A Real gets a float and an Int an int whatever number was written (``1`` for a Real,
    ``2.0`` from JSON or a numpy number for an Int), and a choice is the space's own object."""
    import numpy as np

    layers = (128, 64)
    space = {"x": Real(0, 1), "n": Int(1, 4), "m": Int(0, 8, step=2),
             "layers": Categorical((64,), layers)}
    points = [{"x": 1, "n": 2.0, "m": np.int64(4), "layers": (128, 64)},
              {"x": np.float32(0.5), "n": np.int64(3), "layers": [128, 64]}]
    study = Study(lambda c: c["x"], space, metric="loss", mode="min", trials=3,
                  points_to_evaluate=points)
    study.enqueue({"x": 0, "n": np.float64(4.0)})
    study.run()
    first, second, third = (study.trials[i].config for i in range(3))
    assert (first["x"], first["n"], first["m"]) == (1.0, 2, 4)
    assert (second["x"], second["n"], third["x"], third["n"]) == (0.5, 3, 0.0, 4)
    for config in (first, second, third):
        assert type(config["x"]) is float and type(config["n"]) is int
        assert type(config["m"]) is int and config["layers"] in space["layers"].choices
    assert first["layers"] is layers and second["layers"] is layers


def test_study_enqueue_while_it_runs():
    release = threading.Event()

    def slow(config):
        release.wait(10)
        return score(config)

    from jupyter_hpo.objective import FunctionObjective

    study = Study(FunctionObjective(slow, "score"), SPACE, metric="score", mode="max",
                  trials=4, workers=1, seed=0)
    study.start()
    study.enqueue({"lr": 0.02, "units": 16, "act": "relu"})
    study.enqueue({"act": "tanh"})
    assert study.queue == ({"lr": 0.02, "units": 16, "act": "relu"}, {"act": "tanh"})
    release.set()
    study.wait()
    assert dict(study.trials[1].config) == {"lr": 0.02, "units": 16, "act": "relu"}
    assert study.trials[2].config["act"] == "tanh" and study.queue == ()
    with pytest.raises(Exception, match="the study has ended"):
        study.enqueue({"act": "relu"})


@pytest.mark.parametrize("point, message", [
    ({"lrr": 0.1}, (r"points_to_evaluate\[0\] names 'lrr', which is not a hyperparameter "
                    r"of the study \(its hyperparameters: lr, units, act\)")),
    ({"lr": 5.0}, r"has lr=5.0, which is outside Real\(0.001, 0.1, log=True\)"),
    ({"units": 12}, r"has units=12, which is not on the step of Int\(8, 64, step=8\)"),
    ({"units": 80}, r"has units=80, which is outside Int\(8, 64, step=8\)"),
    ({"units": 16.5}, r"has units=16.5, which is not an integer: Int\(8, 64, step=8\) takes"),
    ({"lr": "0.01"}, (r"has lr='0.01', which is not a number: Real\(0.001, 0.1, log=True\) "
                      r"takes a number from 0.001 to 0.1 \(write 0.01 without quotes\)")),
    ({"units": None}, (r"has units=None, which is not a number: Int\(8, 64, step=8\) takes "
                       r"a whole number from 8 to 64$")),  # both were "outside"
    ("lr=0.1", "must be a list of dicts"),
])
def test_bad_points_name_the_value_and_the_rule(point, message):
    points = point if isinstance(point, str) else [point]
    with pytest.raises(ValueError, match=message):
        tune(score, SPACE, metric="score", mode="max", trials=2, points_to_evaluate=points)


def test_conditional_points_need_what_their_condition_reads():
    space = {"arch": Categorical("mlp", "cnn"), "kernel": Int(3, 7, when="arch == 'cnn'")}
    with pytest.raises(ValueError, match="kernel is only used when arch == 'cnn': give arch"):
        tune(lambda c: 1.0, space, metric="score", mode="max", points_to_evaluate=[{"kernel": 5}])
    study = tune(lambda c: c.get("kernel", 0), space, metric="score", mode="max", trials=3,
                 points_to_evaluate=[{"arch": "cnn", "kernel": 5}, {"arch": "mlp"}])
    assert [dict(t.config) for t in study.trials[:2]] == [{"arch": "cnn", "kernel": 5},
                                                         {"arch": "mlp"}]


def test_the_queue_is_stored_and_resumed_once(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")
    points = [{"units": 8}, {"units": 16}, {"units": 24}, {"units": 32}]
    gate = threading.Event()

    def first_waits(config):
        gate.wait(10)
        return score(config)

    from jupyter_hpo.objective import FunctionObjective

    study = Study(FunctionObjective(first_waits, "score"), SPACE, metric="score", mode="max",
                  trials=10, workers=1, seed=0, storage=storage, name="q",
                  points_to_evaluate=points)
    study.start()
    study.stop("stopped early")  # trial 0 runs on, the rest of the queue stays
    gate.set()
    study.wait()
    stored = storage.load_study("q")
    assert len(stored.trials) == 1 and [dict(c) for c in stored.queue] == points[1:]
    resumed = tune(score, SPACE, metric="score", mode="max", trials=6, seed=0,
                   storage=storage, name="q", resume=True, points_to_evaluate=points)
    units = [t.config["units"] for t in resumed.trials]
    assert units[:4] == [8, 16, 24, 32]  # each point once: the stored queue, not again
    assert "4 of the configurations to evaluate first were run or queued by this study " \
        "already" in " ".join(resumed.notes)
    assert resumed.queue == () and storage.load_study("q").queue == ()


# --- warm start ---------------------------------------------------------------------------

def old_study(storage, name="old", space=None, trials=12, **options):
    return tune(score, space or SPACE, metric="score", mode="max", trials=trials, seed=1,
                storage=storage, name=name, **options)


def test_warm_start_feeds_stored_results_without_spending_the_budget(tmp_path, capsys):
    storage = SQLiteStorage(tmp_path / "runs.db")
    old_study(storage)
    study = tune(score, SPACE, metric="score", mode="max", trials=3, seed=2, storage=storage,
                 name="new", searcher="tpe", searcher_options={"n_startup": 5},
                 warm_start="old")
    assert len(study.trials) == 3 and study.spent == 3
    searcher = study.scheduler.searcher
    assert sorted(i for i in searcher.results if i < 0) == list(range(-12, 0))
    out = capsys.readouterr().out
    assert "jupyter_hpo: warm start from 'old': 12 of its 12 trials given to the tpe searcher " \
           "as prior observations (not counted in the budget)" in out
    # with 12 prior results, tpe proposes from its model at once (n_startup=5)
    assert study.trials[0].config != tune(score, SPACE, metric="score", mode="max", trials=1,
                                          seed=2, searcher="tpe").trials[0].config
    assert Study.load("new", storage).settings["warm_start"] == "old"


def test_warm_start_says_what_it_skipped(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")
    wide = dict(SPACE, lr=Real(1e-4, 1.0, log=True), extra=Int(1, 3))
    base = {"units": 16, "act": "relu", "extra": 2}
    points = [dict(base, lr=0.5), dict(base, lr=0.9), dict(base, lr=0.01), dict(base, lr=0.02)]

    def fails_on_units_24(config):
        if config["units"] == 24:
            raise RuntimeError("boom")
        return score(config)

    tune(fails_on_units_24, wide, metric="score", mode="max", trials=5, seed=1,
         storage=storage, name="old", points_to_evaluate=[*points, dict(base, units=24,
                                                                         lr=0.03)])
    study = tune(score, SPACE, metric="score", mode="max", trials=1, storage=storage,
                 name="new", searcher="random", warm_start="old")
    note = study.notes[-1]
    assert "warm start from 'old': 3 of its 5 trials given to the random searcher as prior " \
           "observations (not counted in the budget), 1 of them failed trials, learnt as " \
           "ending as badly as the worst result" in note
    assert "random search does not learn from results, so they change nothing" in note
    assert "skipped 2: 2 outside this space (trial 0: lr=0.5 is outside " \
           "Real(0.001, 0.1, log=True); trial 1: lr=0.9 is outside" in note
    assert "not in this study's space, so left out of its configurations: extra" in note


def test_warm_start_teaches_failures_as_the_worst_result_unless_nothing_finished(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")

    def fails_on_tanh(config):
        if config["act"] == "tanh":
            raise RuntimeError("diverged")
        return score(config)

    old = tune(fails_on_tanh, SPACE, metric="score", mode="max", trials=10, seed=3,
               storage=storage, name="old")
    failed = {-1 - i: t.config for i, t in enumerate(old.trials) if t.error}
    finished = [score(t.config) for t in old.trials if not t.error]
    assert failed and finished
    study = tune(score, SPACE, metric="score", mode="max", trials=1, seed=2, storage=storage,
                 name="new", searcher="tpe", warm_start="old")
    results = study.scheduler.searcher.results
    assert sorted(i for i in results if i < 0) == list(range(-10, 0))  # the failed ones too
    for trial_id, config in failed.items():  # as bad as the worst (tpe minimises -score)
        assert results[trial_id] == (config, pytest.approx(-min(finished)))
    assert f"{len(failed)} of them failed trials, learnt as ending as badly as the worst " \
           f"result" in study.notes[-1]

    def broken(config):
        raise NameError("name 'modle' is not defined")

    with pytest.raises(StudyFailedError):
        tune(broken, SPACE, metric="score", mode="max", trials=4, seed=3, storage=storage,
             name="broken")
    study = tune(score, SPACE, metric="score", mode="max", trials=1, storage=storage,
                 name="after-fix", searcher="tpe", warm_start="broken")
    assert not [i for i in study.scheduler.searcher.results if i < 0]  # broken, not bad regions
    stored = len(Study.load("broken", storage).trials)  # the study stops after 3 alike
    assert f"0 of its {stored} trials given" in study.notes[-1]
    assert f"skipped {stored}: {stored} failed" in study.notes[-1]


def test_warm_start_needs_the_same_metric_and_mode(tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")
    old_study(storage, trials=2)
    with pytest.raises(Exception, match="cannot warm-start from 'old': it optimised 'score', "
                                        "but this study optimises 'loss'"):
        tune(score, SPACE, metric="loss", mode="min", storage=storage, warm_start="old")
    with pytest.raises(Exception, match="it was to maximise 'score', but this study is to "
                                        "minimise it"):
        tune(score, SPACE, metric="score", mode="min", storage=storage, warm_start="old")
    with pytest.raises(Exception, match="no study named 'nope'"):
        tune(score, SPACE, metric="score", mode="max", storage=storage, warm_start="nope")


def test_a_refused_warm_start_leaves_nothing_stored(tmp_path):
    """A warm start refused (another mode, a name not stored, not a study) is refused before
    the new study is stored: the corrected call runs under the same name (the half-made study
    stayed behind, "already exists"), and a resumed study keeps its settings."""
    storage = SQLiteStorage(tmp_path / "runs.db")
    old_study(storage, trials=2)
    for source, mode in (("old", "min"), ("nope", "max"), (5, "max")):
        with pytest.raises(Exception, match="cannot warm-start|no study named 'nope'|"
                                            "warm_start is 5 \\(int\\)"):
            tune(score, SPACE, metric="score", mode=mode, trials=2, storage=storage,
                 name="new", warm_start=source)
        assert [s.name for s in storage.list_studies()] == ["old"]
    tune(score, SPACE, metric="score", mode="max", trials=2, storage=storage, name="new",
         warm_start="old")
    with pytest.raises(Exception, match="no study named 'nope'"):
        tune(score, SPACE, metric="score", mode="max", trials=4, storage=storage, name="new",
             resume=True, warm_start="nope")
    stored = Study.load("new", storage)
    assert stored.settings["warm_start"] == "old" and stored.settings["trials"] == 2
    again = tune(score, SPACE, metric="score", mode="max", trials=4, storage=storage,
                 name="new", resume=True)  # warm-starts from "old" again, as it was stored
    assert len(again.trials) == 4 and "warm start from 'old'" in " ".join(again.notes)


def test_an_interrupt_after_the_study_was_stored_removes_it(tmp_path, monkeypatch):
    """Ctrl-C while the study is set up after it was stored (here: while its warm start is
    told to the searcher) removes a new study, so the same cell runs again."""
    import jupyter_hpo.warmstart

    storage = SQLiteStorage(tmp_path / "runs.db")
    old_study(storage, trials=2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(jupyter_hpo.warmstart, "warm_start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(score, SPACE, metric="score", mode="max", trials=2, storage=storage, name="new",
             warm_start="old")
    assert [s.name for s in storage.list_studies()] == ["old"]


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
@pytest.mark.parametrize("ended", ["finished", "interrupted"])
def test_an_interrupt_while_a_resume_is_set_up_leaves_the_study_as_it_was(tmp_path, monkeypatch,
                                                                          kind, ended):
    """Ctrl-C after a resume leased the study (which reads running from then on, see
    test_stop_requests.py) gives it back as it was: its state, settings and trials, no lease."""
    import jupyter_hpo.warmstart

    storage = SQLiteStorage(tmp_path / "runs.db") if kind == "sqlite" else InMemoryStorage()
    old_study(storage, trials=2)
    old_study(storage, name="new", trials=2)
    if ended == "interrupted":  # as a kernel that died while it ran leaves it
        record = storage.acquire_study("new")
        storage.write(record.study_id, StudyUpdate(state=StudyState.RUNNING,
                                                   elapsed=record.elapsed))
        storage.release_study(record.study_id)
    before = storage.load_study("new")
    assert before.state is StudyState(ended)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(jupyter_hpo.warmstart, "warm_start", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(score, SPACE, metric="score", mode="max", trials=4, storage=storage, name="new",
             resume=True, warm_start="old")
    after = storage.load_study("new")
    assert (after.state, after.elapsed, after.error, after.stop_reason, after.owner) == \
        (before.state, before.elapsed, before.error, before.stop_reason, None)
    assert after.settings == before.settings
    assert [astuple(t) for t in after.trials] == [astuple(t) for t in before.trials]


def test_warm_start_from_a_study_object_and_multi_fidelity(tmp_path):
    def train(config, report):
        for epoch in range(1, 10):
            report(epoch=epoch, score=score(config) * epoch / 9)

    old = tune(train, SPACE, metric="score", mode="max", trials=8, seed=0,
               scheduler="hyperband", scheduler_options={"max_t": 9})
    study = tune(train, SPACE, metric="score", mode="max", trials=2, seed=0,
                 scheduler="hyperband", scheduler_options={"max_t": 9}, searcher="bohb",
                 searcher_options={"min_points_in_model": 2}, warm_start=old)
    levels = study.scheduler.searcher.observations
    assert any(trial_id < 0 for rung in levels.values() for trial_id in rung)
    assert len(study.trials) == 2



def test_warm_start_gives_tpe_only_the_trials_that_ran_to_the_end(tmp_path):
    """tpe learns from no trial Hyperband stopped (see test_searcher_tpe.py), so a warm start
    leaves a stored study's stopped trials out of it too, and says so; bayesopt takes them."""
    def train(config, report):
        for epoch in range(1, 10):
            report(epoch=epoch, score=score(config) * epoch / 9)

    storage = SQLiteStorage(tmp_path / "runs.db")
    old = tune(train, SPACE, metric="score", mode="max", trials=12, seed=0, storage=storage,
               name="old", scheduler="hyperband", scheduler_options={"max_t": 9})
    completed = [t for t in old.trials if t.status is TrialStatus.COMPLETED]
    stopped = [t for t in old.trials if t.status is TrialStatus.STOPPED]
    assert completed and stopped
    study = tune(train, SPACE, metric="score", mode="max", trials=1, seed=0, storage=storage,
                 name="new", scheduler="hyperband", scheduler_options={"max_t": 9},
                 searcher="tpe", warm_start="old")
    assert len([i for i in study.scheduler.searcher.results if i < 0]) == len(completed)
    assert (f"skipped {len(stopped)}: {len(stopped)} stopped early (tpe learns only from "
            f"trials that ran to the end)") in study.notes[-1]
    study = tune(train, SPACE, metric="score", mode="max", trials=1, seed=0, storage=storage,
                 name="newer", searcher="bayesopt", warm_start="old")
    assert f"{len(completed) + len(stopped)} of its 12 trials given" in study.notes[-1]


# --- the magic ----------------------------------------------------------------------------

CELL = """lr = Real(1e-3, 1e-1, log=True)
units = Int(8, 64, step=8)
act = Categorical("relu", "tanh")
report(score=units / 64 - abs(lr - 0.01) * 10 + (act == "tanh"))
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def test_magic_enqueue_and_warm_start(ip, capsys):
    ip.run_cell_magic("hpo", "--name first --trials 4 --seed 0 --quiet "
                             "--enqueue '{\"lr\": 0.01, \"units\": 64, \"act\": \"tanh\"}' "
                             "--enqueue \"{'units': 8}\"", CELL)
    first = ip.user_ns["_hpo"]
    assert dict(first.trials[0].config) == {"lr": 0.01, "units": 64, "act": "tanh"}
    assert first.trials[1].config["units"] == 8 and first.trials[1].enqueued == {"units": 8}
    capsys.readouterr()
    ip.run_cell_magic("hpo", "--name second --trials 2 --seed 0 --quiet --searcher tpe "
                             "--warm-start first", CELL)
    assert "jupyter_hpo: warm start from 'first': 4 of its 4 trials given to the tpe " \
           "searcher" in capsys.readouterr().out
    assert len(ip.user_ns["_hpo"].trials) == 2


def test_magic_refuses_a_bad_enqueue(ip):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=r"--enqueue '\[1, 2\]' must be a dict"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --enqueue '[1, 2]'", CELL)
    with pytest.raises(UsageError, match="names 'units2', which is not a hyperparameter"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --enqueue '{\"units2\": 8}'", CELL)
    with pytest.raises(UsageError) as caught:  # the domain as written, not with its name=
        ip.run_cell_magic("hpo", "--trials 1 --quiet --enqueue '{\"units\": 999}'", CELL)
    assert str(caught.value).endswith("has units=999, which is outside Int(8, 64, step=8)")


def test_more_enqueued_configurations_than_trials_are_said_and_kept_for_a_resume(tmp_path):
    """The configurations past the budget were left out without a word."""
    points = [{"lr": 0.01}, {"lr": 0.02}, {"lr": 0.03}, {"lr": 0.04}]
    storage = tmp_path / "runs.db"
    study = tune(score, SPACE, metric="score", mode="max", trials=2, seed=0, storage=storage,
                 name="q", points_to_evaluate=points)
    assert [t.enqueued for t in study.trials] == points[:2]
    assert ("4 configurations are enqueued but the study runs 2 trials: the last 2 ({'lr': "
            "0.03}, {'lr': 0.04}) will not run; give a larger --trials (trials=) to run them (a "
            "stored study keeps them queued: resuming it with more trials runs them)") \
        in study.notes
    resumed = tune(score, SPACE, metric="score", mode="max", trials=3, storage=storage,
                   name="q", resume=True)
    assert [t.enqueued for t in resumed.trials] == points[:3]
    assert ("2 configurations are enqueued but the study runs 1 more trial: the last one "
            "({'lr': 0.04}) will not run; give a larger --trials (trials=) to run it (a stored "
            "study keeps it queued: resuming it with more trials runs it)") in resumed.notes
    enough = tune(score, SPACE, metric="score", mode="max", trials=4, points_to_evaluate=points)
    assert not any("enqueued" in note for note in enough.notes)


def test_magic_says_which_enqueued_configurations_the_trials_leave_out(ip, capsys):
    ip.run_cell_magic("hpo", "--trials 1 --quiet --enqueue '{\"units\": 8}' "
                             "--enqueue '{\"units\": 16}'", CELL)
    assert ("jupyter_hpo: 2 configurations are enqueued but the study runs 1 trial: the last "
            "one ({'units': 16}) will not run") in capsys.readouterr().out


def square(v):
    return v * v


def test_warm_start_matches_the_notebooks_functions_of_another_kernel(tmp_path):
    """The stored trials' functions are taken as the new space's functions of the same
    names, their memory addresses aside (a new kernel defines them anew)."""
    import types

    storage = SQLiteStorage(tmp_path / "runs.db")
    tune(lambda c: c["fn"](c["x"]), {"fn": Categorical(square, abs), "x": Real(-1, 1)},
         metric="loss", trials=6, seed=0, storage=storage, name="old")
    again = types.FunctionType(square.__code__, square.__globals__, "square")
    again.__qualname__ = square.__qualname__
    study = tune(lambda c: c["fn"](c["x"]), {"fn": Categorical(again, abs), "x": Real(-1, 1)},
                 metric="loss", trials=1, seed=0, storage=storage, name="new",
                 searcher="random", warm_start="old")
    assert "6 of its 6 trials given to the random searcher" in study.notes[-1], study.notes
    # a changed domain (one more choice) is not the stored one: its choices are still found
    study = tune(lambda c: c["fn"](c["x"]),
                 {"fn": Categorical(again, abs, round), "x": Real(-1, 1)}, metric="loss",
                 trials=1, seed=0, storage=storage, name="wider", searcher="random",
                 warm_start="old")
    assert "6 of its 6 trials given to the random searcher" in study.notes[-1], study.notes


def test_a_stored_configuration_of_another_kernel_can_be_enqueued(tmp_path):
    """``Study.load(...).best_config`` in a new kernel holds a function as its repr; enqueued
    (or given as points_to_evaluate), it runs the new kernel's function of that name."""
    import types

    storage = SQLiteStorage(tmp_path / "runs.db")
    tune(lambda c: c["fn"](c["x"]), {"fn": Categorical(square, abs), "x": Real(-1, 1)},
         metric="loss", trials=4, seed=0, storage=storage, name="old")
    best = Study.load("old", storage).best_config
    assert isinstance(best["fn"], str)  # read without the space: the repr
    again = types.FunctionType(square.__code__, square.__globals__, "square")
    again.__qualname__ = square.__qualname__
    space = {"fn": Categorical(again, abs), "x": Real(-1, 1)}
    study = tune(lambda c: c["fn"](c["x"]), space, metric="loss", trials=1, seed=0,
                 points_to_evaluate=[best])
    expected = abs if best["fn"] == repr(abs) else again
    assert study.trials[0].config["fn"] is expected
    assert study.trials[0].config["x"] == best["x"]
