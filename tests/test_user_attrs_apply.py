"""Choosing another trial: ``study.apply(trial_id)`` / ``%hpo apply --trial N``,
``trials_dataframe(attrs=...)``, and user attributes set with ``trial.set(key=value)``."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_hpo import Int, Real, Study, tune
from jupyter_hpo.errors import HPOError
from jupyter_hpo.storage import SQLiteStorage

SPACE = {"x": Real(0, 1), "n": Int(1, 4)}


def objective(config, trial):
    trial.set(double=2 * config["x"], tag=f"n={config['n']}")
    return config["x"] + config["n"]


# --- user attributes ----------------------------------------------------------------------

@pytest.mark.parametrize("executor", ["thread", "process"])
def test_user_attributes_are_stored_and_shown_as_user_columns(tmp_path, executor):
    storage = SQLiteStorage(tmp_path / "runs.db")
    study = tune(objective, SPACE, metric="score", mode="max", trials=4, seed=0,
                 executor=executor, workers=2, storage=storage, name="u")
    for trial in study.trials:
        assert dict(trial.user_attrs) == {"double": 2 * trial.config["x"],
                                          "tag": f"n={trial.config['n']}"}
    frame = Study.load("u", storage).trials_dataframe()
    assert list(frame.columns[-2:]) == ["user.double", "user.tag"]
    assert frame["user.double"].tolist() == pytest.approx(
        [2 * t.config["x"] for t in study.trials])


def test_trial_set_outside_a_running_trial_is_an_error():
    study = tune(lambda c, trial: c["x"], SPACE, metric="score", mode="max", trials=1)
    live = study.controller.trials[0]
    with pytest.raises(HPOError, match="trial.set\\(\\) works only while trial 0 runs"):
        live.set(a=1)


def test_a_value_that_cannot_reach_the_kernel_fails_the_process_trial():
    import threading

    def unpicklable(config, trial):
        trial.set(lock=threading.Lock())
        return 1.0

    from jupyter_hpo.objective import FunctionObjective

    study = Study(FunctionObjective(unpicklable, "score"), SPACE, metric="score", mode="max",
                  trials=1, executor="process")
    study.start()
    study.wait()
    (trial,) = study.trials
    assert trial.status == "failed"
    assert "trial.set(): 'lock' is <unlocked _thread.lock object at " in trial.error
    assert trial.error.endswith("(lock), which cannot be sent to the kernel from a worker process "
                                "(TypeError: cannot pickle '_thread.lock' object): set numbers, "
                                "strings or other picklable values, or run the trials in threads "
                                "with --executor thread")


# --- trials_dataframe(attrs=...) ------------------------------------------------------------

def test_attrs_picks_columns_in_order_with_optuna_names():
    study = tune(objective, SPACE, metric="score", mode="max", trials=3, seed=0)
    assert list(study.trials_dataframe(attrs=("trial_id", "config", "user")).columns) == \
        ["trial_id", "config.x", "config.n", "user.double", "user.tag"]
    assert list(study.trials_dataframe(attrs=("number", "value", "params", "state",
                                              "user_attrs", "datetime_start",
                                              "datetime_complete")).columns) == \
        ["trial_id", "score", "config.x", "config.n", "status", "user.double", "user.tag",
         "start", "end"]
    assert list(study.trials_dataframe(attrs=["score", "config.n", "user.tag"]).columns) == \
        ["score", "config.n", "user.tag"]
    frame = study.trials_dataframe(attrs=("end", "duration"))
    assert frame["end"].notna().all() and (frame["duration"] >= 0).all()
    with pytest.raises(ValueError, match="attrs names 'params2', which is not a column of the "
                                         "trials: use trial_id, status, config, score"):
        study.trials_dataframe(attrs=("params2",))
    for attrs in (3, ("trial_id", 3)):  # was Python's "'int' object is not iterable"
        with pytest.raises(ValueError, match=r"^attrs is .*, but must be column names, e\.g\. "
                                             r"attrs=\('trial_id', 'value', 'params'\)$"):
            study.trials_dataframe(attrs=attrs)
    assert list(study.trials_dataframe(attrs=(a for a in ("number", "value"))).columns) == \
        ["trial_id", "score"]


def test_default_columns_are_unchanged_without_user_attributes():
    study = tune(lambda c: c["x"], SPACE, metric="score", mode="max", trials=2)
    assert list(study.trials_dataframe().columns) == [
        "trial_id", "status", "config.x", "config.n", "score", "resource", "start",
        "duration", "error"]


# --- apply --------------------------------------------------------------------------------

CELL = """x = Real(0, 1)
n = Int(1, 4)
model = {"x": x, "n": n, "weights": [x] * n}
report(score=x + n)
"""


@pytest.fixture(scope="module")
def ip(ipython_shell):
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    return ipython_shell


def ranked(study):
    return sorted(study.trials, key=lambda t: -t.best("score", "max"))


def test_apply_a_kept_trial_sets_its_variables(ip, capsys):
    ip.run_cell_magic("hpo", "--trials 6 --seed 3 --quiet --no-apply", CELL)
    study = ip.user_ns["_hpo"]
    second, worst = ranked(study)[1], ranked(study)[-1]
    ip.run_line_magic("hpo", f"apply --trial {second.trial_id}")
    assert f"applied trial {second.trial_id}" in capsys.readouterr().out
    assert ip.user_ns["model"] is study.namespace_of(second.trial_id)["model"]
    assert ip.user_ns["x"] == second.config["x"]
    # a trial beyond the 3 best: its hyperparameters, and it says why
    message = study.apply(worst.trial_id, ip.user_ns)
    assert "its hyperparameters (its other variables were not kept: only the 3 best " \
           "trials' are)" in message
    assert ip.user_ns["x"] == worst.config["x"] and ip.user_ns["model"]["x"] != worst.config["x"]
    study.apply()  # the best trial by default
    assert ip.user_ns["model"] is study.best_namespace["model"]
    with pytest.raises(UsageError, match="has no trial 99"):
        ip.run_line_magic("hpo", "apply --trial 99")


def test_a_trial_id_is_a_whole_number_from_zero_and_numpy_ones_from_tables_work(ip, tmp_path):
    """A trial id read from trials_dataframe() is a numpy integer, which a live study refused
    ("no trial np.int64(2)"); -1 said only "no trial -1". Negative ids do not count from the
    end (ids are not positions): the message says so and names the last id, the same in
    %hpo apply / stop --trial, study.apply / stop_trial and a loaded study's records."""
    ip.run_cell_magic("hpo", f"--trials 3 --seed 3 --quiet --name ids --storage "
                             f"{tmp_path / 'runs.db'}", CELL)
    study = ip.user_ns["_hpo"]
    frame = study.trials_dataframe()
    best = frame.trial_id[frame.score.idxmax()]
    assert type(best).__module__ == "numpy"
    assert f"applied trial {best}" in study.apply(best, {})
    assert study.report_times(best) == list(study.trials[int(best)].times)
    negative = (r"has no trial -1: trial ids start at 0 and a negative one does not count "
                r"from the end \(its trials: 0..2; the last is 2\)")
    for call in ("apply --trial -1", "apply ids --trial -1", "stop --trial -1",
                 "stop ids --trial -1"):  # the study has ended: the id is still checked
        with pytest.raises(UsageError, match=negative):
            ip.run_line_magic("hpo", call)
    with pytest.raises(UsageError, match=r"has no trial 7 \(its trials: 0..2\)"):
        ip.run_line_magic("hpo", "stop ids --trial 7")
    with pytest.raises(HPOError, match=negative):
        study.stop_trial(-1)
    with pytest.raises(ValueError, match=r"study 'ids' " + negative):
        Study.load("ids", tmp_path / "runs.db").snapshot().trial(-1)
    with pytest.raises(HPOError, match=r"a trial id is a whole number, not '1' \(str\); write "
                                       r"1: the trials of the study are 0..2"):
        study.apply("1", {})
    with pytest.raises(HPOError, match=r"a trial id is a whole number, not '2.0' \(str\); "
                                       r"write 2: the trials of the study are 0..2"):
        study.apply("2.0", {})  # the message itself raised ValueError: int('2.0')


def test_applying_a_failed_trial_says_that_it_failed(ip, capsys):
    """``%hpo apply --trial 0`` of a failed trial said "applied trial 0 (no value)", which
    does not tell a user who picked the wrong id that its hyperparameters made it fail."""
    cell = "x = Real(0, 1)\nif x < 0.2:\n    raise ValueError(f'diverged at x={x}')\nscore = x\n"
    ip.run_cell_magic("hpo", "--trials 3 --seed 3 --quiet --metric score --mode max "
                             "--enqueue '{\"x\": 0.1}'", cell)
    capsys.readouterr()
    ip.run_line_magic("hpo", "apply --trial 0")
    out = capsys.readouterr().out
    assert out.startswith("jupyter_hpo: applied trial 0 (no value: it failed with ValueError: "
                          "diverged at x=0.1), its hyperparameters (it failed, and a failed "
                          "trial's variables are not kept):")  # not "only the 3 best trials'"
    assert out.endswith(": x=0.1\n")
    assert ip.user_ns["x"] == 0.1


def test_keep_namespaces_bounds_what_is_kept(ip):
    ip.run_cell_magic("hpo", "--trials 6 --seed 3 --quiet --keep-namespaces 5", CELL)
    study = ip.user_ns["_hpo"]
    kept = [t.trial_id for t in study.trials if study.namespace_of(t.trial_id) is not None]
    assert kept == sorted(t.trial_id for t in ranked(study)[:5])
    with pytest.raises(UsageError, match="--keep-namespaces is -1, but must be an integer >= 0"):
        ip.run_cell_magic("hpo", "--trials 1 --quiet --keep-namespaces -1", CELL)


def test_apply_with_processes_and_stored_studies_sets_hyperparameters(ip, tmp_path):
    """After a process study, the best trial's variables came back from its worker (even with
    --no-apply, for a later apply); another trial's stayed in its worker, which has ended, so
    its hyperparameters are set, as for every trial of the stored study."""
    storage = str(tmp_path / "runs.db")
    ip.run_cell_magic("hpo", f"--trials 3 --seed 1 --quiet --executor process --name p "
                             f"--storage {storage} --no-apply", CELL)
    study = ip.user_ns["_hpo"]
    best, other = ranked(study)[0], ranked(study)[-1]
    ns = {}
    assert f"applied trial {best.trial_id} (score={best.best('score', 'max'):.6g}), its " \
           f"variables, with" in study.apply(best.trial_id, ns)
    assert ns == {**best.config, "model": study.best_namespace["model"]}
    assert ns["model"] == {"x": best.config["x"], "n": best.config["n"],
                           "weights": [best.config["x"]] * best.config["n"]}
    ns = {}
    assert "its other variables stayed in its worker process, which ended with the study: " \
           "only the best trial's are brought back" in study.apply(other.trial_id, ns)
    assert ns == dict(other.config)
    loaded = Study.load("p", storage)
    ns = {}
    assert "applied trial 2" in loaded.apply(2, ns) and ns == dict(loaded.trials[2].config)


def test_the_applied_message_names_the_checkpoint_through_the_notebooks_variable(ip, capsys):
    """After a %%hpo cell on worker processes the message pointed at
    ``study.trials[1].restore()``, a name the notebook does not have (the study is ``_hpo``
    or the -o name), in a sentence that ran into the hyperparameters' list."""
    cell = "x = Real(0, 1)\ncheckpoint(x=x)\nreport(score=x)\n"
    ip.run_cell_magic("hpo", "--trials 2 --seed 1 --quiet --executor process --storage none "
                             "-o res", cell)
    best = ip.user_ns["res"].best_trial
    assert f"applied trial {best.trial_id} (score={best.config['x']:.6g}), its variables, " \
        in capsys.readouterr().out  # fetched from its worker as the study ended
    ip.run_line_magic("hpo", f"apply --trial {1 - best.trial_id}")
    assert f"; res.trials[{1 - best.trial_id}].restore() returns its checkpoint): x=" \
        in capsys.readouterr().out


def test_the_applied_message_says_when_the_variables_are_from_after_the_best_report(ip, capsys):
    """A trial whose score peaked at epoch 2 and fell at epoch 3 was applied as "(score=0.8)"
    while its model, the one applied, was that of epoch 3, which scores less."""
    cell = ("x = Real(0.5, 1)\nfor epoch in range(1, 4):\n    model = ('weights', x, epoch)\n"
            "    report(epoch=epoch, score=2 * x if epoch == 2 else x)\n")
    ip.run_cell_magic("hpo", "--trials 3 --seed 2 --quiet --scheduler fifo --storage none",
                      cell)
    best = ip.user_ns["_hpo"].best_trial
    x = best.config["x"]
    assert (f"applied trial {best.trial_id} (score={2 * x:.6g} at epoch 2, its best; {x:.6g} "
            f"at its last, epoch 3, which its variables are from), its variables, with x=") \
        in capsys.readouterr().out
    assert ip.user_ns["model"] == ("weights", x, 3)
    ip.run_cell_magic("hpo", "--trials 2 --seed 2 --quiet --scheduler fifo --storage none",
                      cell.replace("2 * x if epoch == 2 else x", "x * epoch"))
    assert f"(score={3 * ip.user_ns['x']:.6g}), its variables" in capsys.readouterr().out
    saving = cell.replace("    report(", "    checkpoint(model)\n    report(")
    ip.run_cell_magic("hpo", "--trials 2 --seed 2 --quiet --scheduler fifo --storage none "
                             "--executor process", saving)
    best = ip.user_ns["_hpo"].best_trial
    assert (f"{best.config['x']:.6g} at its last, epoch 3, which its variables are from), its "
            f"variables, with x=") in capsys.readouterr().out  # fetched from its worker
    assert ip.user_ns["model"] == ("weights", best.config["x"], 3)
    assert best.restore() == ("weights", best.config["x"], 3)


RENAMED_CELL = """layers = []
x = Real(0, 1)
layers.append(Int(1, 4, name="depth"))
cfg = {"lr": Real(1e-4, 1e-1, log=True)}
kernel = Int(1, 3, name="kernel_size")
m = 0.9  # hpo: Real(0.5, 0.99, name="momentum")
report(score=x + layers[0] + cfg["lr"] + kernel + m)
"""


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_applied_hyperparameters_go_into_the_cells_variables(ip, tmp_path, executor):
    """A hyperparameter named apart from its variable sets that variable, one used inside an
    expression sets nothing (a worker's trial set ``depth``, ``lr`` and ``kernel_size``,
    names the cell never assigns), in the live study and in the stored one."""
    storage = str(tmp_path / "runs.db")
    ip.run_cell_magic("hpo", f"--trials 5 --seed 1 --quiet --executor {executor} --name r "
                             f"--storage {storage} --no-apply --keep-namespaces 0", RENAMED_CELL)
    for study in (ip.user_ns["_hpo"], Study.load("r", storage)):
        config, ns = study.trials[3].config, {}
        message = study.apply(3, ns)
        assert ns == {"x": config["x"], "kernel": config["kernel_size"],
                      "m": config["momentum"]}
        assert f"kernel={config['kernel_size']} (kernel_size)" in message
        assert (f"; depth={config['depth']}, lr={config['lr']!r} not set: the cell uses these "
                f"values inside expressions, not as variables of their own") in message
    assert Study.load("r", storage).settings["variables"] == {
        "depth": None, "lr": None, "kernel_size": "kernel", "momentum": "m"}


def test_a_stored_study_whose_hyperparameters_have_no_variables_says_so(ip, tmp_path):
    """Every hyperparameter used inside an expression: the message says none was set, without
    an empty list before it (it read "its hyperparameters: ; a=0.75 not set: ...")."""
    storage = str(tmp_path / "runs.db")
    ip.run_cell_magic("hpo", f"--trials 2 --seed 1 --quiet --name inside --storage {storage} "
                             f"--no-apply", "def f(a=Real(0, 1)):\n    return a\nreport(acc=f())\n")
    study = Study.load("inside", storage)
    message = study.apply(None, {})
    assert f"its hyperparameters: a={study.best_config['a']!r} not set: the cell uses this " \
           f"value inside an expression" in message


OBJECT_CELL = """act = Categorical(Relu, square, abs, Color.RED, OrderedDict, lambda v: v)
x = Real(0, 1)
report(score=x + (1 if act is abs else 0))
"""


def test_a_stored_study_applies_objects_kept_by_their_repr(ip, tmp_path, capsys):
    """Read in another kernel, a choice JSON cannot hold (a class, a function, an enum
    member) is put into the notebook as the object of that repr, looked up by its name, or
    left unset with what to do: never as its repr's text."""
    ip.run_cell("import enum\nfrom collections import OrderedDict\nclass Relu: pass\n"
                "def square(v): return v * v\nclass Color(enum.Enum):\n    RED = 1\n")
    storage = str(tmp_path / "objects.db")
    ip.run_cell_magic("hpo", f"--trials 12 --seed 2 --quiet --name objects --storage {storage} "
                             f"--no-apply", OBJECT_CELL)
    stored = Study.load("objects", storage)
    by_choice = {}
    for trial in stored.trials:
        by_choice.setdefault(str(trial.config["act"]).split(" at ")[0], trial.trial_id)
    assert len(by_choice) >= 5, by_choice  # the test needs most choices drawn
    expected = {"<class '__main__.Relu'>": "Relu", "<function square": "square",
                "<built-in function abs>": "abs", "<Color.RED: 1>": None,
                "<class 'collections.OrderedDict'>": "OrderedDict"}
    for text, trial_id in by_choice.items():
        ns, before = {}, object()
        ip.user_ns["act"] = before
        ip.run_line_magic("hpo", f"apply objects --storage {storage} --trial {trial_id}")
        capsys.readouterr()
        message = stored.apply(trial_id, ns)  # a notebook that defines nothing
        if text == "<function <lambda>":
            assert ip.user_ns["act"] is before  # left as it was, not set to the text
            assert "act not set: the storage file keeps it only as its repr <function " \
                   "<lambda> at 0x" in message and "a lambda has no name to look it up by" \
                   in message and "act" not in ns
            continue
        name = expected[text]
        wanted = ip.user_ns["Color"].RED if name is None else abs if name == "abs" \
            else ip.user_ns[name]
        assert ip.user_ns["act"] is wanted, text  # the notebook's own object
        if text in ("<built-in function abs>", "<class 'collections.OrderedDict'>"):
            assert ns["act"] is wanted  # found among builtins and imported modules
        else:
            assert "act" not in ns and "act not set" in message
            assert ("define or import the class Relu in the notebook" if name == "Relu" else
                    "define or import the function square" if name == "square" else
                    "define or import the member Color.RED") in message, message
    # the text is stored as a repr again, not as a plain string
    from jupyter_hpo.storage import StoredRepr, encode_value

    value = stored.trials[by_choice["<class '__main__.Relu'>"]].config["act"]
    assert isinstance(value, StoredRepr)
    assert encode_value(value) == {"__repr__": "<class '__main__.Relu'>"}


def test_looking_up_a_stored_choice_survives_attributes_that_raise():
    """The notebook may hold a module whose attributes load lazily and fail, or an object
    whose property raises: the lookup skips them and says what to do."""
    import types

    from jupyter_hpo.stored_objects import find_object

    class Lazy(types.ModuleType):
        def __getattr__(self, name):
            raise ImportError(f"cannot load {name}")

    found, _, hint = find_object("<function relu at 0x7f0012345678>",
                                 {"lazy": Lazy("lazy"), "np": pytest})
    assert not found and hint == ("define or import the function relu in the notebook and "
                                  "apply again")
    found, obj, _ = find_object("<function relu at 0x7f0012345678>",
                                {"lazy": Lazy("lazy"), "relu": objective})
    assert not found  # a function of another name is not taken for relu
    relu = types.FunctionType(objective.__code__, globals(), "relu")
    relu.__qualname__ = "relu"
    found, obj, _ = find_object(repr(relu).replace(hex(id(relu)), "0x7f0012345678"),
                                {"lazy": Lazy("lazy"), "relu": relu})
    assert found and obj is relu


def test_applying_a_trial_of_a_function_says_a_functions_variables_end_with_it():
    study = tune(lambda config: config["x"], {"x": Real(0, 1)}, metric="loss", mode="min",
                 trials=4, seed=0)
    namespace: dict = {}
    said = study.apply(namespace=namespace)
    assert ("its hyperparameters (the objective is a function, whose variables end with its "
            "call): x=") in said  # not "only the 3 best trials' are" kept: none are
    assert namespace == {"x": study.best_config["x"]}


def test_a_study_whose_trials_all_failed_says_so_where_its_best_is_asked(ip, capsys):
    """%hpo best and %hpo plot of a study whose trials all failed said "no trial has reported
    score yet", as if it were still running."""
    cell = "x = Real(0, 1)\nraise ValueError(f'diverged at x={x:.1f}')\nscore = x\n"
    with pytest.raises(UsageError):
        ip.run_cell_magic("hpo", "--trials 2 --seed 3 --quiet --metric score --name all-failed",
                          cell)
    study = ip.user_ns["_hpo"]
    first = study.trials[0]
    why = (f"no trial reported score without failing: 2 of 2 trials failed (trial 0: "
           f"{first.error.splitlines()[0]})")
    assert study.best_summary() == f"all-failed: {why}"
    with pytest.raises(ValueError) as info:
        study.plot("history")
    assert str(info.value) == f"study 'all-failed': {why}: nothing to plot"


def test_an_id_that_holds_the_study_is_refused_instead_of_hanging():
    """study.apply(globals()) (the notebook's namespace given as the trial id) hung the kernel:
    the message naming the bad id was written under the study's lock, and the id's repr read
    the study, which takes that lock. A mapping given as the id says to pass namespace=, and
    any id that is no whole number is refused before the lock (the deadline only keeps a hang
    from lasting)."""
    import threading

    study = tune(lambda c: c["x"], {"x": Real(0, 1)}, metric="loss", mode="min", trials=2)
    notebook = {"study": study}
    said = {}
    calls = {"apply": lambda: study.apply(notebook), "apply list": lambda: study.apply([study]),
             "stop_trial": lambda: study.stop_trial([study]),
             "namespace": lambda: study.apply(None, [])}

    def call_all():
        for name, call in calls.items():
            try:
                call()
            except (HPOError, TypeError) as exc:
                said[name] = str(exc)

    caller = threading.Thread(target=call_all, daemon=True)
    caller.start()
    caller.join(60)
    assert not caller.is_alive(), f"hung after {sorted(said)}"
    assert said["apply"] == ("apply() takes the trial id first, then the namespace: write "
                             "apply(namespace=globals()), or apply(ID, globals())")
    for name in ("apply list", "stop_trial"):
        assert said[name].startswith("a trial id is a whole number, not [<Study 'study")
        assert said[name].endswith("(list): the trials of the study are 0..1")
    assert said["namespace"] == ("apply() sets the trial's variables in namespace, which must "
                                 "be a dict such as globals(), not [] (list)")
    assert study.apply(namespace=notebook).startswith("applied trial ")
    assert notebook["x"] == study.best_config["x"]
