"""parse_cell: annotation forms, the compiled per-trial code, and errors pointing at the cell."""

from __future__ import annotations

import sys
import traceback

import pytest

import jupyter_hpo
from jupyter_hpo.annotate import CONFIG_NAME, RESULT_NAME, parse_cell
from jupyter_hpo.errors import HPOError, HPOSyntaxError, python_lines
from jupyter_hpo.space import Bool, Int, Real

FILENAME = "<hpo-test-cell>"


def parse(source, namespace=None):
    return parse_cell(source, namespace if namespace is not None else {}, FILENAME)


def run(template, config, namespace=None):
    """Execute the compiled cell the way a trial does: a fresh namespace with the config."""
    ns = dict(namespace or {})
    ns[CONFIG_NAME] = dict(config)
    exec(template.code, ns)
    return ns


def parse_error(source, namespace=None):
    with pytest.raises(HPOSyntaxError) as info:
        parse(source, namespace)
    return info.value


def check_location(err, source, lineno, underlined):
    """The message names cell line ``lineno``, echoes it, and puts carets under ``underlined``."""
    assert isinstance(err, HPOError) and isinstance(err, SyntaxError)
    assert err.cell_lineno == lineno
    head, echoed, carets = str(err).split("\n")
    assert head.startswith(f"cell line {lineno}: ")
    code_line = python_lines(source)[lineno - 1]  # as Python counts lines
    assert echoed == "    " + code_line
    assert carets.startswith("    ")
    marks = carets[4:]
    start = len(marks) - len(marks.lstrip(" "))
    assert set(marks[start:]) == {"^"}
    assert code_line[start:len(marks)] == underlined
    assert err.cell_col == start


# --- naming forms -------------------------------------------------------------------------

def test_assignment_target_names_the_hyperparameter():
    t = parse("x = 1\nlr = Real(1e-4, 1e-1, log=True)\n")
    (a,) = t.annotations
    assert (a.name, a.form, a.lineno) == ("lr", "assignment", 2)
    assert a.domain == Real(1e-4, 1e-1, log=True, name="lr")
    assert a.domain.name == "lr"
    assert list(t.space) == ["lr"]


def test_annotated_assignment_names_the_hyperparameter():
    t = parse("dropout: float = Real(0.0, 0.5)\n")
    assert [(a.name, a.form) for a in t.annotations] == [("dropout", "assignment")]


def test_keyword_argument_names_the_hyperparameter():
    t = parse("layer = f(units=Int(16, 256), p=Real(0, 0.5))\n")
    assert [(a.name, a.form) for a in t.annotations] == [("units", "keyword"), ("p", "keyword")]
    assert t.space["units"] == Int(16, 256, name="units")


def test_defaults_dict_keys_unpacking_and_walrus_name_the_hyperparameter():
    source = ("def build(width, lr=Real(1e-4, 1e-1, log=True), *, act=Categorical('a', 'b')):\n"
              "    return width, lr, act\n"
              "scale = lambda k=Int(1, 4): 2 * k\n"
              "cfg = {'units': Int(16, 256), **{'p': 0.5}}\n"
              "x, y = Real(0, 1), 3\n"
              "loss = (beta := Real(0, 2)) + x\n")
    t = parse(source)
    assert [(a.name, a.form) for a in t.annotations] == [
        ("lr", "default"), ("act", "default"), ("k", "default"), ("units", "dict key"),
        ("x", "tuple assignment"), ("beta", "assignment")]
    config = {"lr": 0.01, "act": "b", "k": 3, "units": 64, "x": 0.25, "beta": 1.5}
    ns = run(t, config)
    assert ns["build"](8) == (8, 0.01, "b") and ns["scale"]() == 6
    assert ns["cfg"] == {"units": 64, "p": 0.5} and (ns["x"], ns["y"]) == (0.25, 3)
    assert ns["loss"] == 1.75


def test_a_hyperparameter_unpacked_into_a_cell_name_is_refused():
    err = parse_error("report, y = Real(0, 1), 2\n")
    assert "a hyperparameter cannot be assigned to 'report'" in str(err)


def test_explicit_name_anywhere():
    t = parse('model = make(Categorical("relu", "tanh", name="act"), 3)\n')
    (a,) = t.annotations
    assert (a.name, a.form) == ("act", "explicit")
    assert a.domain.choices == ("relu", "tanh")


def test_explicit_name_wins_over_assignment_target():
    t = parse("x = Bool(name='use_bn')\n")
    assert [(a.name, a.form) for a in t.annotations] == [("use_bn", "explicit")]
    assert t.space["use_bn"] == Bool(name="use_bn")


def test_comment_form():
    t = parse("lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)\nprint(lr)\n")
    (a,) = t.annotations
    assert (a.name, a.form, a.lineno) == ("lr", "comment", 1)
    assert a.domain == Real(1e-4, 1e-1, log=True, name="lr")
    assert t.defaults == {"lr": 1e-3}


def test_comment_form_is_case_insensitive_and_accepts_name():
    t = parse("x = 'relu'  # HPO: Categorical('relu', 'tanh', name='act')\n")
    assert t.defaults == {"act": "relu"}


def test_comment_form_with_non_literal_value_has_no_default():
    t = parse("n = len('abcd')  # hpo: Int(1, 8)\n")
    assert t.defaults == {}
    assert run(t, {"n": 6})["n"] == 6


def test_comment_form_after_another_statement_on_the_line():
    source = 's = "é"; lr = 1e-3  # hpo: Real(1e-4, 1e-1)\n'
    t = parse(source)
    assert t.defaults == {"lr": 1e-3}
    ns = run(t, {"lr": 0.05})
    assert (ns["s"], ns["lr"]) == ("é", 0.05)
    assert t.render({"lr": 0.05}) == 's = "é"; lr = 0.05  # hpo: Real(1e-4, 1e-1)\n'


def test_hpo_text_inside_a_string_is_not_an_annotation():
    t = parse('doc = "# hpo: Real(0, 1)"\n')
    assert t.annotations == []


def test_all_forms_together_in_cell_order():
    source = (
        "lr      = Real(1e-4, 1e-1, log=True)\n"
        "hidden  = Int(16, 256, log=True)\n"
        "act     = Categorical('relu', 'tanh', 'gelu')\n"
        "dropout = 0.1            # hpo: Real(0.0, 0.5)\n"
        "layer = dict(p=Real(0, 1), kind=Bool(name='bn'))\n"
        "epochs  = 20\n"
    )
    t = parse(source)
    assert list(t.space) == ["lr", "hidden", "act", "dropout", "p", "bn"]
    assert [a.form for a in t.annotations] == \
        ["assignment", "assignment", "assignment", "comment", "keyword", "explicit"]
    assert [a.lineno for a in t.annotations] == [1, 2, 3, 4, 5, 5]
    assert t.max_t == 20


def test_namespace_supplies_non_literal_arguments():
    namespace = {"MAX_UNITS": 512}
    t = parse("units = Int(16, MAX_UNITS)\n", namespace)
    assert t.space["units"].hi == 512
    assert namespace == {"MAX_UNITS": 512}


# --- compiled code --------------------------------------------------------------------

@pytest.mark.parametrize("source, namespace", [
    ("import jupyter_hpo as jh\nlr = jh.Real(0, 1)\nn = jh.Int(1, 4)\n", {}),
    ("lr = jh.Real(0, 1)\nn = jh.space.Int(1, 4)\n", {"jh": jupyter_hpo}),
    ("import jupyter_hpo.space\nlr = jupyter_hpo.space.Real(0, 1)\nn = jupyter_hpo.Int(1, 4)\n",
     {}),
    ("from jupyter_hpo import space as sp\nlr = sp.Real(0, 1)\nn = sp.Int(1, 4)\n", {}),
    ("from jupyter_hpo import Real as R, Int as I\nlr = R(0, 1)\nn = I(1, 4)\n", {}),
    ("lr = R(0, 1)\nn = I(1, 4)\n", {"R": Real, "I": Int}),
])
def test_constructors_through_the_package_or_renamed_are_annotations(source, namespace):
    template = parse(source + "loss = lr * n\n", namespace)
    assert template.space == parse("lr = Real(0, 1)\nn = Int(1, 4)\n").space
    assert run(template, {"lr": 0.5, "n": 3}, namespace)["loss"] == 1.5


def test_constructors_of_other_modules_are_ordinary_code():
    class Other:
        @staticmethod
        def Real(lo, hi):
            return (lo, hi)

    template = parse("lr = other.Real(0, 1)\nu = Real(0, 2)\n", {"other": Other})
    assert list(template.space) == ["u"]
    assert run(template, {"u": 1.0}, {"other": Other})["lr"] == (0, 1)
    error = parse_error("import jupyter_hpo as jh\nx = jh.Real(1, 0)\n")
    assert error.cell_lineno == 2 and "bounds are reversed" in str(error)


def test_config_name_is_the_documented_one():
    assert CONFIG_NAME == "__hpo_config__"
    assert RESULT_NAME == "__hpo_result__"


def test_compiled_code_reads_the_config():
    source = (
        "lr = Real(1e-4, 1e-1, log=True)\n"
        "layer = dict(units=Int(16, 256))\n"
        "act = pick(Categorical('relu', 'tanh', name='act'))\n"
        "dropout = 0.1  # hpo: Real(0.0, 0.5)\n"
    )
    t = parse(source)
    config = {"lr": 0.02, "units": 64, "act": "tanh", "dropout": 0.25}
    ns = run(t, config, {"pick": lambda v: v.upper()})
    assert ns["lr"] == 0.02
    assert ns["layer"] == {"units": 64}
    assert ns["act"] == "TANH"
    assert ns["dropout"] == 0.25


def test_each_trial_gets_its_own_values_from_one_compilation():
    t = parse("x = Real(0, 10)\ny = x * 2\n")
    assert run(t, {"x": 1.5})["y"] == 3.0
    assert run(t, {"x": 4.0})["y"] == 8.0


def test_missing_config_value_is_a_key_error():
    t = parse("x = Real(0, 10)\n")
    with pytest.raises(KeyError, match="x"):
        run(t, {})


def test_comment_form_round_trip():
    source = "lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)\nscaled = lr * 10\n"
    t = parse(source)
    assert run(t, t.defaults)["scaled"] == pytest.approx(1e-2)
    assert t.render(t.defaults) == source
    config = {"lr": t.space["lr"].from_unit(0.5)}
    rendered = t.render(config)
    assert rendered.splitlines()[0] == f"lr = {config['lr']!r}  # hpo: Real(1e-4, 1e-1, log=True)"
    plain = {}
    exec(compile(rendered, "<rendered>", "exec"), plain)
    assert plain["lr"] == config["lr"]
    assert run(t, config)["lr"] == config["lr"]


def test_render_replaces_code_annotations_by_values():
    source = "lr = Real(1e-4, 1e-1)\nm = f(units=Int(16, 256), act=Categorical('a', 'b'))\n"
    t = parse(source)
    rendered = t.render({"lr": 0.01, "units": 32, "act": "b"})
    assert rendered == "lr = 0.01\nm = f(units=32, act='b')\n"


def test_render_leaves_annotations_missing_from_config():
    t = parse("lr = Real(1e-4, 1e-1)\nn = Int(1, 3)\n")
    assert t.render({"n": 2}) == "lr = Real(1e-4, 1e-1)\nn = 2\n"


def test_last_expression_becomes_the_result():
    t = parse("x = Real(0, 10)\nx * 3\n")
    assert t.has_result_expr
    assert run(t, {"x": 2.0})[RESULT_NAME] == 6.0


def test_no_result_when_last_statement_is_not_an_expression():
    t = parse("x = Real(0, 10)\ny = x\n")
    assert not t.has_result_expr
    assert RESULT_NAME not in run(t, {"x": 2.0})


def test_report_as_last_statement_is_not_the_result():
    t = parse("x = Real(0, 1)\nreport(epoch=1, loss=x)\n")
    assert not t.has_result_expr
    assert t.calls_report
    seen = []
    ns = run(t, {"x": 0.5}, {"report": lambda **kw: seen.append(kw)})
    assert seen == [{"epoch": 1, "loss": 0.5}]
    assert RESULT_NAME not in ns


def test_runtime_errors_point_at_the_cell_line():
    t = parse("x = Real(0, 1)\ny = 2\nz = 1 / (x - x)\n")
    with pytest.raises(ZeroDivisionError) as info:
        run(t, {"x": 0.5})
    frame = traceback.extract_tb(info.tb)[-1]
    assert (frame.filename, frame.lineno) == (FILENAME, 3)
    assert t.code.co_filename == FILENAME


# --- max_t and report keys --------------------------------------------------------------

def test_epochs_gives_max_t():
    assert parse("epochs = 20\nfor e in range(epochs):\n    pass\n").max_t == 20


@pytest.mark.parametrize("source, namespace, max_t", [
    ("epochs = EPOCHS\n", {"EPOCHS": 12}, 12),
    ("epochs = 2 * EPOCHS - 1\n", {"EPOCHS": 12}, 23),
    ("base = 4\nepochs = base ** 2\n", {}, 16),
    ("base = 4\nbase = 5\nepochs = base\n", {"base": 99}, 5),
    ("epochs = 2.5\n", {}, 2.5),
    ("epochs = 20 / 2\n", {}, 10),
    ("epochs = Int(5, 50)\n", {}, 50),
    ("epochs = 20  # hpo: Int(5, 50)\n", {}, 50),
    ("epochs = Categorical(9, 27, 3)\n", {}, 27),
    ("epochs = EPOCHS\nmax_t = 7\n", {"EPOCHS": 12}, 7),
    ("huge = 10 ** 10 ** 9\nepochs = 8\n", {}, 8),
    ("epochs: int = 30\n", {}, 30),  # not computed (it would take minutes)
])
def test_max_t_from_names_arithmetic_and_searched_epochs(source, namespace, max_t):
    found = parse(source, namespace).max_t
    assert found == max_t and type(found) is type(max_t)


@pytest.mark.parametrize("source, namespace", [
    ("n = 20\n", {}),
    ("epochs = True\n", {}),
    ("if True:\n    epochs = 20\n", {}),
    ("epochs = EPOCHS\n", {}),  # not defined in the notebook
    ("epochs = EPOCHS\n", {"EPOCHS": "12"}),
    ("epochs = len(schedule)\n", {"schedule": [1, 2]}),  # nothing is called to find it
    ("n = len(x)\nepochs = n\n", {"n": 99, "x": [1]}),  # the notebook's n is stale
    ("for n in range(3):\n    pass\nepochs = n\n", {"n": 99}),
    ("epochs = -3\n", {}),
    ("epochs = 1 / 0\n", {}),
    ("epochs = Categorical(9, 'all')\n", {}),
])
def test_no_max_t(source, namespace):
    assert parse(source, namespace).max_t is None


def test_reported_keys_in_order_without_duplicates():
    source = (
        "for epoch in range(3):\n"
        "    report(epoch=epoch, val_acc=0.5)\n"
        "report(epoch=3, val_acc=0.6, val_loss=0.1, **extra)\n"
    )
    t = parse(source)
    assert t.reported_keys == ["epoch", "val_acc", "val_loss"]
    assert t.calls_report


def test_cell_without_report():
    t = parse("x = Real(0, 1)\nx\n")
    assert t.reported_keys == []
    assert not t.calls_report


def test_method_named_report_is_not_a_report_call():
    t = parse("logger.report(a=1)\n")
    assert not t.calls_report
    assert t.reported_keys == []


# --- errors ---------------------------------------------------------------------------

def test_reversed_bounds():
    source = "x = 1\nlr = Real(1e-1, 1e-4)\n"
    err = parse_error(source)
    assert "bad annotation for 'lr': Real: bounds are reversed or empty: lo=0.1 must be < hi=0.0001" \
        in str(err)
    check_location(err, source, 2, "Real(1e-1, 1e-4)")


def test_reversed_int_bounds_as_keyword():
    source = "m = f(\n    units=Int(256, 16),\n)\n"
    err = parse_error(source)
    assert "bad annotation for 'units': Int: bounds are reversed" in str(err)
    check_location(err, source, 2, "Int(256, 16)")


def test_log_lower_bound_not_positive():
    source = "hidden = Int(0, 256, log=True)\n"
    err = parse_error(source)
    assert "Int: log=True needs lo > 0, but lo is 0" in str(err)
    check_location(err, source, 1, "Int(0, 256, log=True)")


def test_empty_categorical():
    source = "a = 1\nb = 2\nact = Categorical()\n"
    err = parse_error(source)
    assert "bad annotation for 'act': Categorical needs at least one choice" in str(err)
    check_location(err, source, 3, "Categorical()")


def test_unknown_constructor_suggests_real():
    source = "x = 1\nlr = Float(1e-4, 1e-1)\n"
    err = parse_error(source)
    assert "unknown search space Float(...): use Real, Int, Categorical or Bool" in str(err)
    assert "(did you mean Real?)" in str(err)
    check_location(err, source, 2, "Float(1e-4, 1e-1)")


@pytest.mark.parametrize("ctor,hint", [
    ("Integer(1, 5)", "did you mean Int?"),
    ("Choice('a', 'b')", "did you mean Categorical?"),
    ("LogUniform(1e-4, 1)", "did you mean Real(..., log=True)?"),
    ("Categorcal('a', 'b')", "did you mean Categorical?"),
])
def test_unknown_constructor_hints(ctor, hint):
    source = f"v = {ctor}\n"
    err = parse_error(source)
    assert hint in str(err)
    check_location(err, source, 1, ctor)


@pytest.mark.parametrize("call,hint", [
    ("loguniform(1e-4, 1e-1)", "did you mean Real(..., log=True)?"),
    ("uniform(0, 1)", "did you mean Real?"),
    ("randint(1, 10)", "did you mean Int?"),
    ("choice(['a', 'b'])", "did you mean Categorical?"),
    ("grid_search([1, 2])", "did you mean Categorical (and --searcher grid)?"),
])
def test_ray_tunes_functions_called_without_their_module_say_what_to_write(call, hint):
    source = f"x = Real(0, 1)\nv = {call}\n"
    err = parse_error(source)
    assert f"unknown search space {call.split('(')[0]}(...)" in str(err) and hint in str(err)
    check_location(err, source, 2, call)


def test_lowercase_peer_names_the_notebook_or_cell_defines_are_ordinary_calls():
    """choice, uniform, randint are common functions (random, numpy): defined in the
    notebook or the cell they are called, and the editor, which cannot see earlier cells,
    leaves them alone."""
    from jupyter_hpo.annotate import diagnose_cell

    source = "x = Real(0, 1)\nv = choice([x, 1])\n"
    assert len(parse(source, {"choice": min}).annotations) == 1
    assert len(parse("from random import choice\n" + source).annotations) == 1
    assert diagnose_cell(source).to_dict()["errors"] == []
    assert diagnose_cell("v = Integer(1, 5)\n").to_dict()["errors"]  # capitalised: still


@pytest.mark.parametrize("call", ["choice([x, 1])", "Integer(1, 3)"])
def test_a_star_import_in_the_cell_may_define_any_name(call):
    source = f"from somewhere import *\nx = Real(0, 1)\nv = {call}\n"
    assert [a.name for a in parse(source).annotations] == ["x"]


@pytest.mark.parametrize("source, says", [
    ("lr = tune.loguniform(1e-4, 1e-1)", ("cell line 1 calls tune.loguniform(...), Ray Tune's "
                                         "way of writing a search space: write Real(..., "
                                         "log=True) there instead")),
    ("import ray\nlr = ray.tune.choice([1, 2])", ("cell line 2 calls ray.tune.choice(...), Ray "
                                                  "Tune's way")),
    ("lr = hp.randint('lr', 5)", ("calls hp.randint(...), Hyperopt's way of writing a search "
                                 "space: write Int there instead")),
    ("n = trial.suggest_int('n', 1, 3)", ("calls trial.suggest_int(...), Optuna's way of "
                                         "writing a search space: write Int there instead")),
    ("x = np.random.uniform(0, 1)", ""),
    ("x = rng.choice([1, 2])", ""),
])
def test_a_search_space_written_as_another_library_writes_it_is_found(source, says):
    from jupyter_hpo.annotate._tree import peer_space_call

    found = peer_space_call(source)
    assert (says in found and found.startswith("; cell line ")) if says else found == ""


@pytest.mark.parametrize("comment, says", [
    ("tune.uniform(0, 1)", ("(tune.uniform(...), Ray Tune's way of writing a search space: "
                            "write Real there instead)")),
    ("hp.loguniform('lr', -9, -2)", ("(hp.loguniform(...), Hyperopt's way of writing a search "
                                     "space: write Real(..., log=True) there instead)")),
    ("trial.suggest_int('n', 1, 3)", ("(trial.suggest_int(...), Optuna's way of writing a "
                                      "search space: write Int there instead)")),
    ("np.random.uniform(0, 1)", "use Real, Int, Categorical or Bool\n"),
])
def test_a_comment_annotation_written_as_another_library_writes_it_says_what_to_write(
        comment, says):
    with pytest.raises(HPOSyntaxError) as err:
        parse(f"x = 1\nlr = 0.1  # hpo: {comment}\n")
    assert str(err.value).startswith(f"cell line 2: unknown search space {comment!r} in "
                                     f"'# hpo:' comment: use Real, Int, Categorical or Bool")
    assert says in str(err.value)


def test_a_peer_call_on_a_long_attribute_chain_is_named_in_a_kernel(ipython_recursion_limit):
    """A chain Python parses but ast.unparse cannot write back out (it recurses) still gets
    the advice: the message names the call by its last attribute."""
    owner = "trial" + ".a" * (sys.getrecursionlimit() // 2)
    with pytest.raises(HPOSyntaxError) as err:
        parse(f"lr = 0.1  # hpo: {owner}.suggest_float('lr', 0, 1)\n")
    assert "(...suggest_float(...), Optuna's way of writing a search space: write Real" \
        in str(err.value)


TUNE_SPACE = "{'lr': Real(1e-4, 1e-1, log=True)}"


@pytest.mark.parametrize("source, namespace, call", [
    (f"from jupyter_hpo import tune\nstudy = tune(fit, {TUNE_SPACE}, metric='loss')\n", {},
     f"tune(fit, {TUNE_SPACE}, metric='loss')"),
    (f"import jupyter_hpo as jh\nx = 1\nstudy = jh.tune(fit, {TUNE_SPACE}, metric='loss')\n",
     {}, f"jh.tune(fit, {TUNE_SPACE}, metric='loss')"),
    (f"best = tune(fit, {TUNE_SPACE}).best_value\n", {"tune": jupyter_hpo.tune},
     f"tune(fit, {TUNE_SPACE})"),
    (f"space = {TUNE_SPACE}\nstudy = jupyter_hpo.tune(fit, space)\n",
     {"jupyter_hpo": jupyter_hpo}, "jupyter_hpo.tune(fit, space)"),
])
def test_a_cell_that_calls_tune_is_refused_at_the_call(source, namespace, call):
    """The Real(...) of the space given to tune() were read as the cell's hyperparameters, and
    each trial of the cell's study ran a whole study of its own."""
    err = parse_error(source, {"fit": print, **namespace})
    lineno = next(n for n, line in enumerate(python_lines(source), 1) if call in line)
    check_location(err, source, lineno, call)
    assert err.reason.startswith("tune() runs a study of its own: in a %%hpo cell each trial "
                                 "would run a whole study, and the space given to tune() would "
                                 "be read as this cell's hyperparameters. Do one or the other: "
                                 "run tune() in a cell without %%hpo, or keep %%hpo and write "
                                 "the objective's code in this cell")


def test_a_tune_that_is_not_jupyter_hpos_is_the_cells_own_code():
    source = ("from ray import tune\nlr = Real(0, 1)\ntune.run(fit)\n"
              "def tune(x):\n    return x\ntune(lr)\n")
    assert [a.name for a in parse(source, {"fit": print, "tune": jupyter_hpo.tune}).annotations] \
        == ["lr"]


def test_names_defined_by_the_user_are_not_unknown_constructors():
    t = parse("def Float(a, b):\n    return a\nlr = Float(1, 2)\n")
    assert t.annotations == []
    assert parse("lr = Float(1, 2)\n", {"Float": float.__add__}).annotations == []
    assert parse("from math import floor as Float\nlr = Float(1.5)\n").annotations == []


def test_unknown_constructor_in_comment():
    source = "lr = 1e-3  # hpo: Float(1e-4, 1e-1)\n"
    err = parse_error(source)
    assert "unknown search space 'Float(1e-4, 1e-1)' in '# hpo:' comment" in str(err)
    assert "(did you mean Real?)" in str(err)
    check_location(err, source, 1, "Float(1e-4, 1e-1)")


def test_python_syntax_error():
    source = "x = 1\ny = 2 +* 3\n"
    err = parse_error(source)
    assert "invalid Python syntax" in str(err)
    check_location(err, source, 2, "*")


def test_unclosed_bracket_syntax_error():
    source = "x = 1\ny = (2,\nz = 3\n"
    err = parse_error(source)
    assert "invalid Python syntax: '(' was never closed" in str(err)
    check_location(err, source, 2, "(")


def test_syntax_error_in_comment_annotation():
    source = "a = 0\nlr = 1e-3  # hpo: Real(1e-4,, 1e-1)\n"
    err = parse_error(source)
    assert "invalid '# hpo:' annotation" in str(err)
    assert err.cell_lineno == 2
    _head, echoed, carets = str(err).splitlines()
    assert echoed == "    " + source.splitlines()[1]
    assert carets.index("^") > echoed.index("# hpo:")


@pytest.mark.parametrize("comment,underlined,note", [
    ("# hpo: Real(1e-4, 1e-1) learning rate", "learning rate", "learning rate"),
    ("# hpo: Real(1e-4, 1e-1), tune on a log scale", ", tune on a log scale",
     "tune on a log scale"),
])
def test_text_after_a_comment_annotation_is_told_to_go_after_a_hash(comment, underlined, note):
    """A note written after the annotation without its own ``#`` was "invalid '# hpo:'
    annotation: invalid syntax"; the message now says where a note goes."""
    source = f"a = 0\nlr = 1e-3  {comment}\n"
    err = parse_error(source)
    assert (f"text after the annotation Real(1e-4, 1e-1): a note goes after a # of its own: "
            f"`# hpo: Real(1e-4, 1e-1)  # {note}`") in str(err)
    check_location(err, source, 2, underlined)
    assert [a.name for a in parse(f"a = 0\nlr = 1e-3  # hpo: Real(1e-4, 1e-1)  # {note}\n")
            .annotations] == ["lr"]
    err = parse_error("lr = 1e-3  # hpo: Real(1e-4, 1e-1))\n")
    assert "an unmatched ')' after the annotation Real(1e-4, 1e-1): remove it" in str(err)
    check_location(err, "lr = 1e-3  # hpo: Real(1e-4, 1e-1))\n", 1, ")")


def test_empty_comment_annotation():
    source = "lr = 1e-3  # hpo:\n"
    err = parse_error(source)
    assert "'# hpo:' must be followed by a space" in str(err)
    assert err.cell_lineno == 1


#: comments that are an annotation but for a misspelt marker (word, separator, or both)
MISSPELT_MARKERS = [
    ("# hpo Real(0, 1)", "# hpo"), ("# hpo : Real(0,1)", "# hpo :"),
    ("# hpo= Real(0, 1)", "# hpo="), ("# hop: Real(0, 1)", "# hop:"),
    ("# hpo - Real(0, 1)", "# hpo -"), ("#hp0: Int(1, 3)", "#hp0:"),
    ("# phpo: Real(0, 1)", "# phpo:"), ("# Hpo Categorical('a', 'b')", "# Hpo"),
    ("# hp: Bool()", "# hp:"), ("# hpo.Real(0, 1)", "# hpo."),
]


@pytest.mark.parametrize("comment, marker", MISSPELT_MARKERS)
def test_a_misspelt_hpo_marker_is_refused_at_the_comment(comment, marker):
    """Such a comment was ignored without a word: the study searched y only and x kept 0.5."""
    source = f"x = 0.5  {comment}\ny = Real(0, 1)\n"
    err = parse_error(source)
    expr = comment[len(marker):].strip()
    assert err.reason == ("this comment looks like a hyperparameter annotation but is not one: "
                          f"write `# hpo: {expr}`")
    check_location(err, source, 1, marker)


def test_a_cell_whose_only_annotation_is_misspelt_is_told_where_it_is():
    source = "a = 1\nlr = 1e-3  # hop: Real(1e-4, 1e-1, log=True)\nreport(loss=lr)\n"
    err = parse_error(source)
    assert "write `# hpo: Real(1e-4, 1e-1, log=True)`" in err.reason
    check_location(err, source, 2, "# hop:")


@pytest.mark.parametrize("source, underlined, written", [
    ("lr = 1e-3  # learning rate # hpo: Real(1e-4, 1e-1, log=True)\n", "# hpo:",
     "lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)  # learning rate"),
    ("x = 0.5  # TODO widen #HPO:Real(0, 1)\n", "#HPO:", "x = 0.5  # hpo: Real(0, 1)  # TODO widen"),
    ("f(\n    p=0.1,  # dropout # hpo: Real(0, 0.5)\n)\n", "# hpo:",
     "p=0.1,  # hpo: Real(0, 0.5)  # dropout"),
])
def test_an_annotation_after_a_note_in_the_comment_is_refused_at_its_marker(source, underlined,
                                                                           written):
    """The comment was ignored without a word: its variable silently stayed out of the search
    (and a cell without another hyperparameter said it had none)."""
    lineno = next(i for i, line in enumerate(source.splitlines(), 1) if "hpo" in line.lower())
    for cell in (source, source + "y = Real(0, 1)\n"):
        err = parse_error(cell)
        assert err.reason == ("'# hpo:' must start the comment, or the comment is not an "
                              f"annotation: write `{written}`")
        check_location(err, cell, lineno, underlined)


@pytest.mark.parametrize("comment", ["## hpo: Real(0, 1)", "# see # hpo: the docs",
                                     "# hpo: Real(0, 1)  # wide # hpo: Real(0, 2)"])
def test_a_switched_off_or_prose_marker_later_in_a_comment_stays_a_comment(comment):
    source = f"x = 0.5  {comment}\ny = Real(0, 1)\n"
    names = [a.name for a in parse(source).annotations]
    assert names == (["x", "y"] if comment.startswith("# hpo:") else ["y"])
    assert [a.name for a in parse(f"# x = 0.5  # note # hpo: Real(0, 1)\n{source}")
            .annotations] == names


@pytest.mark.parametrize("comment", [
    "# hpo settings below", "# hyperparameters: lr and units", "# see hpo docs: Real numbers",
    "# https://example.org/hpo/Real(0,1)", "# Real(0, 1) would be too wide",
    "# hpo settings: Real(0, 1)", "# x = 0.5  # hop: Real(0, 1)", "# shop: Real(0, 1)",
    "# TODO: Real(0, 1)", "# top: Int(1, 3)", "## hpo: Real(0, 1)", "# hpoReal(0, 1)",
    "# hpo is Real(0, 1) below", "# hpo: the learning rate, Real(0, 1)",
])
def test_ordinary_comments_are_not_taken_for_misspelt_markers(comment):
    source = f"x = 0.5  {comment}\ny = Real(0, 1)\n"
    if comment.startswith("# hpo:"):  # the accepted form: its own errors, not a misspelling
        assert "looks like a hyperparameter annotation" not in parse_error(source).reason
        return
    assert [a.name for a in parse(source).annotations] == ["y"]


def test_duplicate_names_mention_both_lines():
    source = "lr = Real(0, 1)\nz = 3\nlr = Real(0, 2)\n"
    err = parse_error(source)
    assert "hyperparameter 'lr' is defined twice, at cell lines 1 and 3" in str(err)
    check_location(err, source, 3, "Real(0, 2)")


def test_duplicate_between_comment_and_explicit_name():
    source = "lr = 1e-3  # hpo: Real(1e-4, 1e-1)\nopt = make(Real(0, 1, name='lr'))\n"
    err = parse_error(source)
    assert "'lr' is defined twice, at cell lines 1 and 2" in str(err)
    check_location(err, source, 2, "Real(0, 1, name='lr')")


def test_duplicate_keyword_names():
    source = "a = f(p=Real(0, 1))\nb = f(p=Real(0, 1))\n"
    err = parse_error(source)
    assert "'p' is defined twice, at cell lines 1 and 2" in str(err)
    check_location(err, source, 2, "Real(0, 1)")


@pytest.mark.parametrize("source,underlined", [
    ("print(Real(0, 1))\n", "Real(0, 1)"),
    ("a, *b = Int(1, 3), 4, 5\n", "Int(1, 3)"),
    ("(a, b), c = (Int(1, 3), 4), 5\n", "Int(1, 3)"),
    ("d = {1: Real(0, 1)}\n", "Real(0, 1)"),
    ("d = {'not a name': Real(0, 1)}\n", "Real(0, 1)"),
    ("Bool()\n", "Bool()"),
])
def test_unnamed_annotation(source, underlined):
    err = parse_error(source)
    assert "cannot tell which hyperparameter this" in str(err)
    assert "give it a name" in str(err)
    check_location(err, source, 1, underlined)


@pytest.mark.parametrize("source,underlined,says", [
    ("lr = 0.1\nlr += Real(0, 1)\n", "Real(0, 1)",
     ("`lr += Real(...)` changes lr by a value, so the Real(...) has no variable of its own: "
      "assign it to one first (delta = Real(...), then lr += delta)")),
    ("lr = Real(0, 1),\n", "Real(0, 1)",
     ("the comma after Real(...) makes lr a tuple of one element, (Real(...),): remove the "
      "comma (lr = Real(...))")),
    ("for lr in Real(0, 1):\n    pass\n", "Real(0, 1)",
     "a for loop cannot run over Real(...), a search space"),
    ("x = Real(0, 1) * 2\n", "Real(0, 1)",
     ("Real(...) is part of x's value, so no variable holds the hyperparameter itself: assign "
      "it to a variable of its own first (x0 = Real(...), then x = x0 * 2)")),
    ("lr = 10 ** Real(-4, -1)\n", "Real(-4, -1)",
     ("(x = Real(...), then lr = 10 ** x) or give it a name (Real(..., name='x')); a log scale "
      "is written Real(lo, hi, log=True), with the bounds themselves, not their exponents")),
    ("fit(-Int(1, 3) + 1)\n", "Int(1, 3)", "Int(...) is part of an expression"),
    ("xs = [Real(0, 1) for _ in range(3)]\n", "Real(0, 1)",
     ("Real(...) inside a comprehension would be one hyperparameter for every item, but a "
      "hyperparameter has one value per trial")),
    ("f = lambda: Int(1, 3)\n", "Int(1, 3)",
     "or make it the lambda's default (lambda x=Int(...): ...), which names it x"),
    ("s = f\"lr={Real(0, 1)}\"\n", "Real(0, 1)",
     ("Real(...) inside an f-string has no variable of its own: assign it to one first (x = "
      "Real(...)) and write {x} in the f-string")),
])
def test_an_annotation_a_new_user_puts_in_an_expression_is_told_what_it_does(source, underlined,
                                                                           says):
    """``lr += Real(...)``, a stray trailing comma, arithmetic on a domain, a for loop over one
    and one in a comprehension, a lambda's body or an f-string were told "assign it to one
    variable (x = Real(...))", which such a line seems to do already: the message now says
    what the line does instead."""
    err = parse_error(source)
    assert says in str(err)
    check_location(err, source, python_lines(source).index(
        next(line for line in python_lines(source) if underlined in line)) + 1, underlined)


@pytest.mark.parametrize("source,underlined,article", [
    ("lr = Real(0, 1) if flag else 0.1\n", "Real(0, 1)", "a Real"),
    ("units = 64 if small else Int(16, 256)\n", "Int(16, 256)", "an Int"),
])
def test_a_conditional_expression_points_to_the_if_statement(source, underlined, article):
    err = parse_error(source)
    assert str(err).startswith(f"cell line 1: {article}(...) in a conditional expression")
    assert "write an if statement (if cond: x = " in str(err)
    check_location(err, source, 1, underlined)


@pytest.mark.parametrize("source,underlined", [
    ("x = Categorical(Int(1, 3), 5)\n", "Int(1, 3)"),
    ("x = Real(Int(1, 3), 5)\n", "Int(1, 3)"),
    ("x = 3  # hpo: Categorical(Int(1, 2), 3)\n", "Int(1, 2)"),
])
def test_nested_annotations(source, underlined):
    err = parse_error(source)
    assert "a search space cannot contain another one" in str(err)
    check_location(err, source, 1, underlined)


def test_non_literal_name():
    source = "nm = 'lr'\nx = f(Real(0, 1, name=nm))\n"
    err = parse_error(source)
    assert "name= must be a string literal" in str(err)
    check_location(err, source, 2, "nm")


def test_name_that_is_not_an_identifier():
    source = "x = Real(0, 1, name='learning rate')\n"
    err = parse_error(source)
    assert "name='learning rate' is not a valid Python identifier" in str(err)
    check_location(err, source, 1, "'learning rate'")


def test_undefined_name_in_annotation():
    source = "x = 1\nunits = Int(16, MAX_UNITS)\n"
    err = parse_error(source)
    assert "bad annotation for 'units': name 'MAX_UNITS' is not defined" in str(err)
    assert "define it in an earlier cell" in str(err)
    check_location(err, source, 2, "Int(16, MAX_UNITS)")


@pytest.mark.parametrize("source,name,where", [
    ("n = 256\nunits = Int(16, n)\n", "n", 1),
    ("for k in range(3):\n    pass\nunits = Int(1, k)\n", "k", 1),
    ("import math as m\nlr = Real(0, m.pi)\n", "m", 1),
    ("x = 1\nunits = 32  # hpo: Int(16, top)\ntop = 64\n", "top", 3),
])
def test_a_name_the_cell_sets_itself_says_the_space_is_read_first(source, name, where):
    """A bound the cell computes is not set when the space is read (before any trial)."""
    err = parse_error(source)
    assert (f"name '{name}' is not defined: the cell sets it (cell line {where}), but the "
            f"search space is read before the cell runs; define it in an earlier cell") in str(err)


@pytest.mark.parametrize("value,hint", [
    ("np.array(64.0)", " (a one-element ndarray: write float(...) or its .item())"),
    ("np.array([64])", " (a one-element ndarray: write float(...) or its .item())"),
    ("np.array([16, 64])", ""),
])
def test_a_one_element_array_as_a_bound_says_how_to_make_it_a_number(value, hint):
    import numpy as np

    err = parse_error(f"units = Real(16, {value})\n", {"np": np})
    assert str(err).splitlines()[0].endswith(f"but must be a number{hint}")


def test_undefined_name_in_comment_annotation():
    source = "units = 32  # hpo: Int(16, MAX_UNITS)\n"
    err = parse_error(source)
    assert "name 'MAX_UNITS' is not defined" in str(err)
    check_location(err, source, 1, "Int(16, MAX_UNITS)")


def test_wrong_constructor_arguments():
    source = "x = Real(0, 1, steps=0.1)\n"
    err = parse_error(source)
    assert ("bad annotation for 'x': Real() got an unknown argument steps=...: did you mean "
            "step=?; it takes Real(lo, hi, log=False") in str(err)
    check_location(err, source, 1, "Real(0, 1, steps=0.1)")


@pytest.mark.parametrize("source, underlined", [
    ("x = Real(0.1, 1, log=True, log=False)\n", "log=False"),
    ("x = 0.5  # hpo: Real(0.1, 1, log=True, log=False)\n", "log=False"),
    ("f(p=Int(1, 4, step=1, step=3))\n", "step=3"),
])
def test_a_keyword_given_twice_in_an_annotation_is_refused_at_the_second(source, underlined):
    """Python refuses f(a=1, a=2), but the annotation is read as a dict of keywords and never
    compiled: the last value was taken without a word (log=False: a linear search)."""
    from jupyter_hpo.annotate import diagnose_cell

    err = parse_error(source)
    key, first, second = ("log", "True", "False") if "log" in source else ("step", "1", "3")
    assert f"{'Int' if key == 'step' else 'Real'}() got {key}= twice ({key}={first}, then " \
           f"{key}={second}): give it once" in err.reason
    check_location(err, source, 1, underlined)
    (error,) = diagnose_cell(source).errors  # the editor gets it once, not also as Python's
    assert error.reason == err.reason


def test_report_with_unnamed_values_is_refused_at_its_line():
    source = "x = Real(0, 1)\nfor epoch in range(3):\n    report(x, epoch)\n"
    err = parse_error(source)
    assert "report() takes its values by name" in str(err) and "got 2 values" in str(err)
    check_location(err, source, 3, "report(x, epoch)")
    # a cell that defines its own report() may call it as it likes
    parse_cell("def report(*values):\n    pass\nx = Real(0, 1)\nreport(x)\n")


def test_failing_argument_expression():
    source = "x = Real(0, 1 / 0)\n"
    err = parse_error(source)
    assert "bad annotation for 'x': ZeroDivisionError" in str(err)
    check_location(err, source, 1, "Real(0, 1 / 0)")


def test_comment_annotation_errors_point_into_the_comment():
    source = "a = 1\nlr = 1e-3  # hpo: Real(1e-1, 1e-4)\n"
    err = parse_error(source)
    assert "bad annotation for 'lr': Real: bounds are reversed" in str(err)
    check_location(err, source, 2, "Real(1e-1, 1e-4)")


def test_comment_default_outside_domain():
    source = "lr = 5.0  # hpo: Real(1e-4, 1e-1)\n"
    err = parse_error(source)
    assert "the default 5.0 of 'lr' is outside Real(0.0001, 0.1" in str(err)
    check_location(err, source, 1, "5.0")


@pytest.mark.parametrize("source, why", [
    ("units = 0.5  # hpo: Int(0, 10)\n",
     "0.5 of 'units' is not an integer: Int(0, 10) takes whole numbers"),
    ("units = 16.0  # hpo: Int(0, 64, step=8)\n",  # not "is not on the step of ..."
     ("16.0 of 'units' is a float, not an integer: Int(0, 64, step=8) takes whole numbers "
     "(write 16)")),
    ("lr = '0.01'  # hpo: Real(0, 1)\n",
     ("'0.01' of 'lr' is not a number: Real(0, 1) takes a number from 0 to 1 (write 0.01 "
      "without quotes)")),
])
def test_a_comment_default_between_the_bounds_says_what_is_wrong_with_it(source, why):
    """``units = 0.5  # hpo: Int(0, 10)`` said "the default 0.5 of 'units' is outside Int(0,
    10)", which it is not."""
    err = parse_error(source)
    assert err.reason == f"the default {why}"
    check_location(err, source, 1, source.split(" =")[1].split("#")[0].strip())


def test_comment_not_on_an_assignment():
    source = "print(1)  # hpo: Real(1e-4, 1e-1)\n"
    err = parse_error(source)
    assert "a '# hpo:' comment must end an assignment to one variable" in str(err)
    check_location(err, source, 1, "Real(1e-4, 1e-1)")


def test_comment_and_constructor_on_one_line():
    source = "lr = Real(0, 1)  # hpo: Real(1e-4, 1e-1)\n"
    err = parse_error(source)
    assert "this line already has a search space" in str(err)
    check_location(err, source, 1, "Real(1e-4, 1e-1)")


def test_caret_counts_characters_not_bytes():
    source = 'label = "ünïcödé"; lr = Real(1, 0)\n'
    err = parse_error(source)
    check_location(err, source, 1, "Real(1, 0)")


@pytest.mark.parametrize("source,underlined", [
    ("report = Real(0, 1)\n", "Real(0, 1)"),
    ('device = "cpu"  # hpo: Categorical("cpu", "cuda")\n', '"cpu"'),
    ("trial: int = Int(1, 3)\n", "Int(1, 3)"),
    ("checkpoint = Int(1, 3, name='every')\n", "Int(1, 3, name='every')"),
])
def test_a_hyperparameter_cannot_take_a_name_each_trial_defines(source, underlined):
    err = parse_error(source)
    name = next(n for n in ("report", "device", "trial", "checkpoint") if n in source)
    assert f"a hyperparameter cannot be assigned to {name!r}: each trial defines {name!r} " \
        f"as " in str(err)
    assert f"call the variable something else, e.g. {name}_choice" in str(err)
    check_location(err, source, 1, underlined)


def test_a_keyword_argument_may_share_a_name_each_trial_defines():
    # only a variable of that name would hide it from the cell
    template = parse("fit(config=Real(0, 1))\nx = Int(1, 3, name='trial')\n")
    assert list(template.space) == ["config", "trial"]


def test_carets_line_up_under_wide_characters_and_combining_marks():
    # a monospaced font gives East Asian wide characters two columns and combining marks none
    err = parse_error("名前 = Real(1, 0)\n")
    _head, echoed, carets = str(err).split("\n")
    assert echoed == "    名前 = Real(1, 0)"
    assert carets == "    " + " " * 7 + "^" * 10
    err = parse_error('label = "e\u0301"; lr = Int(5, 1)\n')  # é as e + combining acute
    assert str(err).split("\n")[2] == "    " + " " * 18 + "^" * 9  # 19 code points
    err = parse_error('pet = Categorical("猫", "犬", "猫")\n')  # wide characters under carets
    _head, echoed, carets = str(err).split("\n")
    assert carets == "    " + " " * 6 + "^" * (len('Categorical("猫", "犬", "猫")') + 3)


def test_errors_are_raised_before_any_code_runs():
    ran = []
    with pytest.raises(HPOSyntaxError):
        parse("side_effect(1)\nx = Real(1, 0)\n", {"side_effect": ran.append})
    assert ran == []


# --- any input: only HPOSyntaxError, at a line of the cell ---------------------------------

def check_range(err, lineno, col, end_lineno=None, end_col=None):
    assert (err.cell_lineno, err.cell_col) == (lineno, col)
    if end_col is not None:
        assert (err.cell_end_lineno, err.cell_end_col) == (end_lineno or lineno, end_col)


@pytest.fixture
def ipython_recursion_limit():
    """The recursion limit a kernel runs with (IPython raises Python's 1000 to 3000)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(3000)
    yield
    sys.setrecursionlimit(previous)


def test_long_operator_chains_are_walked_without_recursion():
    terms = sys.getrecursionlimit() * 7 // 10  # deeper than a recursive ast.NodeVisitor goes
    chain = "+".join(["1"] * terms)
    t = parse(f"x = Real(0, 1)\ny = {chain}\nreport(loss=x + y)\n")
    assert t.reported_keys == ["loss"] and list(t.space) == ["x"]
    assert run(t, {"x": 0.5}, {"report": lambda **kw: None})["y"] == terms


def test_the_1500_term_sum_of_the_issue_parses_in_a_kernel(ipython_recursion_limit):
    t = parse("x = Int(1, 3)\ny = " + "+".join(["1"] * 1500) + "\n")
    assert run(t, {"x": 1})["y"] == 1500


def too_long_chain(prefix="y = "):
    return prefix + "+".join(["1"] * 3 * sys.getrecursionlimit())


@pytest.mark.parametrize("source,lineno", [
    (too_long_chain() + "\n", 1),
    ("a = 1\nb = 2\n" + too_long_chain() + "\nz = 3\n", 3),
    ("a = 1\ny = " + "+".join(["1"] * 100_000) + "\n", 2),
    ("y = a" + ".b" * 100_000 + "\n", 1),
    ("y = f" + "()" * 100_000 + "\n", 1),
    ("y = a" + "[0]" * 100_000 + "\n", 1),
    ("y = " + "-" * 100_000 + "1\n", 1),
    ("y = " + "not " * 100_000 + "1\n", 1),
    ("y = " + "lambda: " * 100_000 + "1\n", 1),
    ("y = " + "1 if 1 else " * 100_000 + "1\n", 1),
    ("y = " + "**".join(["2"] * 100_000) + "\n", 1),
], ids=["chain", "chain-line-3", "100k-sum", "attributes", "calls", "subscripts", "minus",
        "not", "lambda", "if-else", "power"])
def test_nesting_too_deep_for_python(source, lineno):
    err = parse_error(source)
    assert "the cell is nested too deeply for Python's parser" in str(err)
    assert "Split" in str(err)
    assert err.cell_lineno == lineno
    assert str(err).startswith(f"cell line {lineno}: ")


@pytest.mark.parametrize("opening,closing", [("(", ")"), ("[", "]"), ("{", "}")])
def test_deep_brackets(opening, closing):
    source = "x = 1\ny = " + opening * 100_000 + "1" + closing * 100_000 + "\n"
    err = parse_error(source)
    assert "too many nested parentheses" in str(err)
    assert err.cell_lineno == 2


def test_deep_nesting_inside_an_annotation_argument():
    source = too_long_chain("a = 1\nx = Int(1, ") + ")\n"
    err = parse_error(source, {})
    assert "nested too deeply" in str(err)
    assert err.cell_lineno == 2


def test_deep_indentation():
    source = "".join(" " * i + "if x:\n" for i in range(120)) + " " * 120 + "pass\n"
    err = parse_error(source)
    assert "too many levels of indentation" in str(err)
    assert 1 <= err.cell_lineno <= 121


@pytest.mark.parametrize("value", ["{[1]: 2}", "{[1]}", "[1] * 2", "f(1)", "{1: {2: [3]}}['x']"])
def test_comment_annotation_with_a_value_literal_eval_rejects(value):
    t = parse(f"x = {value}  # hpo: Int(1, 4)\n", {"f": abs})
    assert t.defaults == {}
    assert [(a.name, a.form) for a in t.annotations] == [("x", "comment")]


@pytest.mark.parametrize("source,lineno,underlined,message", [
    ("x = 1\nreturn 3\n", 2, "return 3", "'return' outside function"),
    ("x = 1\nif x:\n    return\n", 3, "return", "'return' outside function"),
    ("s = 'é'; return 3\n", 1, "return 3", "'return' outside function"),
    ("yield 1\n", 1, "yield 1", "'yield' outside function"),
    ("a = 1\nyield from g\n", 2, "yield from g", "'yield' outside function"),
    ("nonlocal x\n", 1, "nonlocal x", "nonlocal declaration not allowed at module level"),
    ("for i in x:\n    pass\nbreak\n", 3, "break", "'break' outside loop"),
    ("continue\n", 1, "continue", "'continue' not properly in loop"),
    ("from __future__ import braces\n", 1, "f", "not a chance"),
    ("def f(a, a):\n    pass\n", 1, "a", "duplicate argument 'a' in function definition"),
    ("x: int = 1\nglobal x\n", 2, "global x", "annotated name 'x' can't be global"),
    ("def f():\n    await g()\n", 2, "await g()", "'await' outside async function"),
])
def test_compile_time_syntax_errors(source, lineno, underlined, message):
    err = parse_error(source)
    assert f"invalid Python syntax: {message}" in str(err)
    check_location(err, source, lineno, underlined)


@pytest.mark.parametrize("source,lineno,says", [
    ("x = Real(0,\u00a01)\ny = 1\u00a0+ 2\n", 1,
     ("invalid non-printable character U+00A0 (a non-breaking space: type a plain space "
     "instead; the cell has 2 of them; pasted from a web page or a PDF?)")),
    ("act = Categorical(\u201crelu\u201d, 'tanh')\n", 1,
     ("invalid character '\u201c' (U+201C) (a typographic quote: use a straight one, \" or '; "
     "the cell has 2 of them")),
    ("x = Real(0, 1)\nloss = x \u2013 1\n", 2, "(an en dash: use - for a minus sign; pasted"),
    ("x = Real(0, 1)\u200b\n", 1, "(a zero-width space, invisible in the editor: delete it;"),
    ("\ufeffx = Real(0, 1)\n", 1, ("(a byte-order mark, which a file saved as UTF-8 with BOM "
     "starts with: delete it)")),
    ("lr = 1e-3  # hpo: Real(1e-4,\u00a01e-1)\n", 1, ("invalid '# hpo:' annotation: invalid "
     "non-printable character U+00A0 (a non-breaking space: type a plain space instead;")),
])
def test_a_pasted_character_says_what_it_is_and_what_to_type(source, lineno, says):
    """Python only names the code point of a typographic quote, a dash or an invisible space
    that a pasted line brings; the error says which it is and what to write instead."""
    err = parse_error(source)
    assert says in str(err)
    assert err.cell_lineno == lineno


def test_other_invalid_characters_keep_pythons_message():
    err = parse_error("x = Real(0, 1)\nloss = x \u20ac 1\n")
    assert str(err).splitlines()[0].endswith("invalid character '\u20ac' (U+20AC)")


def test_top_level_return_says_how_to_give_a_result():
    err = parse_error("x = Real(0, 1)\nreturn x\n")
    assert "report(...) or end the cell with an expression" in str(err)


def test_syntax_error_at_the_end_of_input_is_on_the_last_line():
    source = "x = 1\nif x:\n"
    err = parse_error(source)
    assert "expected an indented block" in str(err)
    assert err.cell_lineno == 2 and err.cell_col == len("if x:")


@pytest.mark.parametrize("source,lineno,col", [
    ("x = 1\ny = 2\x00 + 1\n", 2, 5),
    ("\x00", 1, 0),
    ("s = 'ab\x00c'\n", 1, 7),
    ("a = 1  # \x00\n", 1, 9),
    ("a = 1\rb = 'é\x00'\n", 2, 6),
    ("lr = 1e-3  # hpo: Real(0, 1)\n\x00", 2, 0),
])
def test_nul_character(source, lineno, col):
    err = parse_error(source)
    assert "the cell contains a NUL character (\\x00)" in str(err)
    check_range(err, lineno, col, lineno, col + 1)
    _head, echoed, carets = str(err).split("\n")
    assert "\\x00" in echoed and "\x00" not in str(err)
    assert carets.index("^") == echoed.index("\\x00") and carets.count("^") == 4


def test_lone_surrogate():
    err = parse_error("a = 1\nb = '\ud800'\n")
    assert "the cell contains the lone surrogate character U+D800" in str(err)
    check_range(err, 2, 5)


# --- line breaks as Python counts them ------------------------------------------------------

NOT_LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


def test_python_lines_splits_like_python():
    text = "a\rb\r\nc\nd" + "".join(NOT_LINE_BREAKS) + "e\n\nf"
    assert python_lines(text) == ("a", "b", "c", "d" + "".join(NOT_LINE_BREAKS) + "e", "", "f")
    assert "".join(python_lines(text, keepends=True)) == text
    assert python_lines("") == () and python_lines("x\n") == ("x",)


@pytest.mark.parametrize("char", NOT_LINE_BREAKS)
def test_characters_that_do_not_end_a_python_line(char):
    source = f"s = 'a{char}b'  # note{char}more\nlr = Real(1, 0)\n"
    err = parse_error(source)
    check_location(err, source, 2, "Real(1, 0)")
    source = f"s = 'a{char}b'  # note{char}\nlr = 5.0  # hpo: Real(0, 1)\n"
    err = parse_error(source)
    assert "the default 5.0 of 'lr' is outside" in str(err)
    check_location(err, source, 2, "5.0")
    t = parse(f"s = 'a{char}b'\nlr = 0.5  # hpo: Real(0, 1){char}\nn = Int(1, 3)\n")
    assert [(a.name, a.lineno) for a in t.annotations] == [("lr", 2), ("n", 3)]
    assert t.defaults == {"lr": 0.5}


@pytest.mark.parametrize("char", ["\u2028", "\x85", "\x0b", "\x1c"])
def test_non_printable_character_in_code_is_located_and_shown_escaped(char):
    source = f"a = 1\nb = 2 {char}\nc = 3\n"
    err = parse_error(source)
    assert f"invalid non-printable character U+{ord(char):04X}" in str(err)
    assert (err.cell_lineno, err.cell_col) == (2, 6)
    _head, echoed, carets = str(err).split("\n")
    escape = ascii(char)[1:-1]
    assert echoed == "    b = 2 " + escape
    assert carets == "    " + " " * 6 + "^" * len(escape)


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_carriage_return_line_breaks(newline):
    source = newline.join(["a = 1", "lr = Real(1, 0)", ""])
    err = parse_error(source)
    check_range(err, 2, 5, 2, 15)
    assert str(err).split("\n")[1] == "    lr = Real(1, 0)"
    source = newline.join(["a = 1", "b = 2", "lr = 5.0  # hpo: Real(0, 1)", ""])
    err = parse_error(source)
    assert "the default 5.0 of 'lr' is outside" in str(err)
    check_range(err, 3, 5, 3, 8)
    source = newline.join(["a = 1", "lr = 1e-3  # hpo: Real(1e-4, 1e-1)", "b = lr * 2", ""])
    t = parse(source)
    assert [(a.name, a.lineno) for a in t.annotations] == [("lr", 2)]
    assert t.render(t.defaults) == source
    assert t.render({"lr": 0.05}) == source.replace("1e-3", "0.05")
    assert run(t, {"lr": 0.05})["b"] == 0.1


def test_syntax_error_after_carriage_returns():
    err = parse_error("a = 1\rb = 2\rc = (\r")
    assert "'(' was never closed" in str(err)
    check_range(err, 3, 4)


def test_tab_before_the_caret_is_kept_so_the_caret_lines_up():
    source = "if True:\n\tx = Real(1, 0)\n"
    err = parse_error(source)
    _head, echoed, carets = str(err).split("\n")
    assert echoed == "    \tx = Real(1, 0)"
    assert carets == "    \t    " + "^" * len("Real(1, 0)")


# --- top-level await ---------------------------------------------------------------------

ASYNC_CELL = (
    "import asyncio\n"
    "x = Real(0, 10)\n"
    "await asyncio.sleep(0)\n"
    "async def double(v):\n"
    "    await asyncio.sleep(0)\n"
    "    return 2 * v\n"
    "y = await double(x)\n"
    "y + 1\n"
)


def execute(template, config, namespace=None):
    ns = dict(namespace or {})
    ns[CONFIG_NAME] = dict(config)
    template.execute(ns)
    return ns


def test_top_level_await():
    t = parse(ASYNC_CELL)
    assert t.is_async and t.has_result_expr and list(t.space) == ["x"]
    ns = execute(t, {"x": 1.5})
    assert ns["y"] == 3.0 and ns[RESULT_NAME] == 4.0


@pytest.mark.parametrize("body", [
    "async for v in agen():\n    total += v\n",
    "async with actx() as v:\n    total += v\n",
    "total += sum([v async for v in agen()])\n",
])
def test_top_level_async_for_and_with(body):
    helpers = (
        "import contextlib\n"
        "async def agen():\n    yield 1\n    yield 2\n"
        "@contextlib.asynccontextmanager\n"
        "async def actx():\n    yield 5\n"
    )
    t = parse(helpers + "total = Int(0, 3)\n" + body + "total\n")
    assert t.is_async
    assert execute(t, {"total": 1})[RESULT_NAME] in (4, 6)


def test_cells_without_await_are_not_async():
    t = parse("x = Real(0, 1)\nasync def f():\n    await g()\nx\n")
    assert not t.is_async
    assert execute(t, {"x": 0.5})[RESULT_NAME] == 0.5


def test_async_cell_through_the_objective():
    from jupyter_hpo.objective import CellObjective
    from jupyter_hpo.trial import Trial

    objective = CellObjective(parse(ASYNC_CELL), {}, "score")
    output = objective.run(Trial(0, {"x": 2.0}), "cpu")
    assert output.result == {"score": 5.0}
    assert output.namespace["y"] == 4.0


def test_async_cell_errors_propagate():
    t = parse("import asyncio\nx = Int(1, 3)\nawait asyncio.sleep(0)\n1 / 0\n")
    with pytest.raises(ZeroDivisionError) as raised:
        execute(t, {"x": 1})
    # raised outside our check for a running loop: no "During handling of ..." before it
    assert raised.value.__context__ is None


def test_async_cell_inside_a_running_event_loop_is_a_clear_error():
    import asyncio

    t = parse("import asyncio\nawait asyncio.sleep(0)\n")

    async def main():
        with pytest.raises(HPOError, match="top-level await, so it must run in a thread "
                                           "without a running event loop"):
            t.execute({})

    asyncio.run(main())


def test_values_too_long_to_print_do_not_break_messages():
    big = "0x" + "f" * 5000  # a literal Python parses but cannot print in decimal
    err = parse_error(f"x = {big}  # hpo: Int(1, 4)\n")
    assert "the default <an int of about 6021 digits> of 'x' is outside Int(1, 4" in str(err)
    err = parse_error(f"x = Int(1, {big})\n")
    assert "bad annotation for 'x': Int: hi is an integer of about 6021 digits, but must be " \
        "within the floats' range" in str(err)


@pytest.mark.parametrize("source, underlined, says", [
    ("act = Categorical(range(3))\nacc = act\n", "Categorical(range(3))",
     "Categorical(range(0, 3)) has one choice, the range itself, not its values"),
    ("n = Int(2**63 - 10, 2**63 - 1)\nacc = n\n", "Int(2**63 - 10, 2**63 - 1)",
     "reach past 2**53, where floats (in which the searchers work) are 2048 apart"),
])
def test_an_annotation_the_searchers_cannot_search_points_at_its_line(source, underlined, says):
    """A cell's annotations get the checks tune()'s space gets (the searcher failed with
    ZeroDivisionError, or every trial got the range object), at their line."""
    err = parse_error(source)
    check_location(err, source, 1, underlined)
    assert f"bad annotation for '{source[:source.index(' ')]}': " in str(err) and says in str(err)


def test_int_annotations_take_floats_that_are_whole_numbers():
    """``# hpo: Int(16, 2**8 / 1)`` and ``Int(1, 1e1)`` in a cell were refused as floats;
    ``Int(16, 256.5)`` says what to write instead."""
    t = parse("units = 64  # hpo: Int(16, 2**8 / 1)\nlayers = Int(1, 1e1)\n")
    assert t.space["units"] == Int(16, 256, name="units")
    assert t.space["layers"] == Int(1, 10, name="layers")
    assert type(t.space["units"].hi) is int
    err = parse_error("units = 64  # hpo: Int(16, 256.5)\n")
    assert "Int: hi is 256.5, which is not a whole number: for real values write " \
           "Real(16, 256.5), or round it: Int(16, round(256.5))" in str(err)
