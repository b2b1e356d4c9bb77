"""diagnose_cell: every annotation and every error of a cell, for an editor (no kernel)."""

from __future__ import annotations

import json

import pytest

from jupyter_hpo.annotate import DiagnosedAnnotation, diagnose_cell, parse_cell
from jupyter_hpo.errors import HPOSyntaxError


def span(source, lineno, text, occurrence=0):
    """The (line, col, end_line, end_col) of ``text`` on cell line ``lineno``, in characters."""
    line = source.split("\n")[lineno - 1]
    col = -1
    for _ in range(occurrence + 1):
        col = line.index(text, col + 1)
    return lineno, col, lineno, col + len(text)


def error_span(err):
    return err.cell_lineno, err.cell_col, err.cell_end_lineno, err.cell_end_col


def test_every_annotation_form_with_character_ranges():
    source = (
        's = "héllo ✓"; lr = Real(1e-4, 1e-1, log=True)\n'
        "units = Int(16, MAX_UNITS)\n"
        "layer = f(p=Real(0, 0.5))\n"
        'm = g(Categorical("a", "b", name="act"))\n'
        "dropout = 0.1  # hpo: Real(0.0, 0.5)\n"
        "flag = Bool()\n"
    )
    d = diagnose_cell(source)
    assert d.ok and d.errors == []
    assert d.annotations == [
        DiagnosedAnnotation("lr", "Real(0.0001, 0.1, log=True, name='lr')", "assignment",
                            *span(source, 1, "Real(1e-4, 1e-1, log=True)")),
        DiagnosedAnnotation("units", "Int(16, MAX_UNITS)", "assignment",
                            *span(source, 2, "Int(16, MAX_UNITS)"), evaluated=False),
        DiagnosedAnnotation("p", "Real(0, 0.5, name='p')", "keyword",
                            *span(source, 3, "Real(0, 0.5)")),
        DiagnosedAnnotation("act", "Categorical('a', 'b', name='act')", "explicit",
                            *span(source, 4, 'Categorical("a", "b", name="act")')),
        DiagnosedAnnotation("dropout", "Real(0.0, 0.5, name='dropout')", "comment",
                            *span(source, 5, "Real(0.0, 0.5)")),
        DiagnosedAnnotation("flag", "Bool(name='flag')", "assignment",
                            *span(source, 6, "Bool()")),
    ]


def test_a_range_over_several_lines():
    d = diagnose_cell("x = Real(\n    0, 1)\n")
    (a,) = d.annotations
    assert (a.lineno, a.col, a.end_lineno, a.end_col) == (1, 4, 2, 9)


def test_unknown_variables_are_not_errors_but_literal_mistakes_are():
    d = diagnose_cell("a = Int(16, MAX_UNITS)\nb = Int(MAX_UNITS, 8)\nc = Int(8, 4)\n")
    assert [(a.name, a.evaluated) for a in d.annotations] == [("a", False), ("b", False)]
    (err,) = d.errors
    assert err.reason == ("bad annotation for 'c': Int: bounds are reversed or empty: lo=8 "
                          "must be <= hi=4")


def test_no_user_code_runs():
    d = diagnose_cell("x = Int(1, __import__('os').getpid())\ny = Real(0, big())\n")
    assert [(a.name, a.domain, a.evaluated) for a in d.annotations] == [
        ("x", "Int(1, __import__('os').getpid())", False), ("y", "Real(0, big())", False)]


@pytest.mark.parametrize("expression,evaluated,domain", [
    ("Real(1e-4, 10**-1)", True, "Real(0.0001, 0.1, name='x')"),
    ("Int(-2 * 8, 2**8 + 1)", True, "Int(-16, 257, name='x')"),
    ("Categorical(*['a', 'b'], 'c')", True, "Categorical('a', 'b', 'c', name='x')"),
    ("Categorical([(1, 2), {'k': -1}])", True, "Categorical((1, 2), {'k': -1}, name='x')"),
    ("Int(0, 2**100_000)", False, "Int(0, 2**100_000)"),  # too big to compute in an editor
    ("Categorical(*'ab' * 10**9)", False, "Categorical(*'ab' * 10**9)"),
    ("Real(0, 1, **opts)", False, "Real(0, 1, **opts)"),
])
def test_literal_arguments_are_evaluated_without_a_kernel(expression, evaluated, domain):
    (a,) = diagnose_cell(f"x = {expression}\n").annotations
    assert (a.evaluated, a.domain) == (evaluated, domain)


# Each cell has one mistake: diagnose_cell must report it exactly as parse_cell (the magic).
ONE_MISTAKE = [
    "x = 1\nlr = Real(1e-1, 1e-4)\n",
    "hidden = Int(0, 256, log=True)\n",
    "act = Categorical()\n",
    "x = 1\nlr = Float(1e-4, 1e-1)\n",
    "v = Categorcal('a', 'b')\n",
    "lr = 1e-3  # hpo: Float(1e-4, 1e-1)\n",
    "x = 1\ny = 2 +* 3\n",
    "x = 1\ny = (2,\nz = 3\n",
    "a = 0\nlr = 1e-3  # hpo: Real(1e-4,, 1e-1)\n",
    "lr = 1e-3  # hpo:\n",
    "lr = Real(0, 1)\nz = 3\nlr = Real(0, 2)\n",
    "print(Real(0, 1))\n",
    "x = Categorical(Int(1, 3), 5)\n",
    "x = 3  # hpo: Categorical(Int(1, 2), 3)\n",
    "nm = 'lr'\nx = f(Real(0, 1, name=nm))\n",
    "x = Real(0, 1, name='learning rate')\n",
    "x = Real(0, 1, steps=0.1)\n",
    "x = Real(0, 1 / 0)\n",
    "lr = 5.0  # hpo: Real(1e-4, 1e-1)\n",
    "print(1)  # hpo: Real(1e-4, 1e-1)\n",
    "lr = Real(0, 1)  # hpo: Real(1e-4, 1e-1)\n",
    'label = "ünïcödé"; lr = Real(1, 0)\n',
    "x = 1\nreturn x\n",
    "x = 1\ny = 2\x00\n",
    "a = 1\rb = Real(1, 0)\r\n",
    "s = 'a\u2028b'\nb = Real(1, 0)\n",
    "y = " + "+".join(["1"] * 100_000) + "\n",
    "x = 0.5  # hop: Real(0, 1)\ny = Real(0, 1)\n",
    # a second %%hpo right below the first, as IPython hands the cell's body to the magic
    "get_ipython().run_cell_magic('hpo', '--trials 5', 'x = Real(0, 1)\\n')\n",
]


@pytest.mark.parametrize("source", ONE_MISTAKE)
def test_diagnostics_report_what_the_magic_reports(source):
    with pytest.raises(HPOSyntaxError) as info:
        parse_cell(source, {})
    expected = info.value
    (err,) = diagnose_cell(source).errors
    assert isinstance(err, HPOSyntaxError)
    assert err.reason == expected.reason
    assert error_span(err) == error_span(expected)
    assert str(err) == str(expected)


def test_every_error_is_reported_in_cell_order():
    source = (
        "lr = Real(1e-1, 1e-4)\n"                        # 1 reversed bounds
        "opt = Float(1, 2)\n"                            # 2 unknown constructor
        "units = Int(16, 256)\n"                         # 3
        "x = Categorical(Int(1, 3), 5)\n"                # 4 nested
        "units = Int(1, 8)\n"                            # 5 duplicate of line 3
        "dropout = 5.0  # hpo: Real(0, 0.5)\n"           # 6 default outside
        "print(Bool())\n"                                # 7 unnamed
        "n = Int(1, MAX_N)\n"                            # 8 fine without a kernel
        "k = 1  # hpo: Choice(1, 2)\n"                   # 9 unknown constructor in a comment
    )
    d = diagnose_cell(source)
    lines = [e.cell_lineno for e in d.errors]
    assert lines == [1, 2, 4, 5, 6, 7, 9]
    reasons = [e.reason for e in d.errors]
    assert reasons[0].startswith("bad annotation for 'lr': Real: bounds are reversed")
    assert reasons[1] == ("unknown search space Float(...): use Real, Int, Categorical or Bool "
                          "(did you mean Real?)")
    assert reasons[2].startswith("a search space cannot contain another one")
    assert reasons[3] == ("hyperparameter 'units' is defined twice, at cell lines 3 and 5: "
                          "rename one of them or give it name='...'")
    assert reasons[4].startswith("the default 5.0 of 'dropout' is outside Real(0, 0.5")
    assert reasons[5].startswith("cannot tell which hyperparameter this Bool(...) is")
    assert "(did you mean Categorical?)" in reasons[6]
    assert error_span(d.errors[1]) == span(source, 2, "Float(1, 2)")
    assert [a.name for a in d.annotations] == ["units", "units", "n"]
    # parse_cell raises the first one it meets
    with pytest.raises(HPOSyntaxError, match="the default 5.0 of 'dropout'"):
        parse_cell(source, {"MAX_N": 4})


def test_compile_time_errors_are_reported_with_the_annotation_errors():
    d = diagnose_cell("x = Real(1, 0)\nreturn x\n")
    assert [e.cell_lineno for e in d.errors] == [1, 2]
    assert "'return' outside function" in d.errors[1].reason


def test_a_syntax_error_is_the_only_error():
    d = diagnose_cell("lr = Real(1, 0)\ny = (\n")
    assert [e.reason for e in d.errors] == ["invalid Python syntax: '(' was never closed"]
    assert d.annotations == []


def test_columns_are_characters_not_bytes():
    source = "s = '日本語 ✓ é'; x = Int(3, 1)\n"
    (err,) = diagnose_cell(source).errors
    assert error_span(err) == span(source, 1, "Int(3, 1)")
    source = "s = 'é'; y = 2 +* 3\n"
    (err,) = diagnose_cell(source).errors
    assert error_span(err) == span(source, 1, "*")
    source = "s = 'é'\nx: int = 1; global x\n"
    (err,) = diagnose_cell(source).errors
    assert error_span(err) == span(source, 2, "global x")


def test_to_dict_is_json():
    d = diagnose_cell("lr = Real(0, 1)\nx = Int(2, 1)\n")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["annotations"][0]["name"] == "lr"
    assert data["errors"] == [{"message": d.errors[0].reason, "lineno": 2, "col": 4,
                               "end_lineno": 2, "end_col": 13}]


def test_empty_cell():
    assert diagnose_cell("").annotations == [] and diagnose_cell("").ok


# --- HPOSyntaxError's range ----------------------------------------------------------------

def test_syntax_error_range_defaults_keep_old_call_sites_working():
    err = HPOSyntaxError("bad", "a = 1\nb = 2\n", 2, 4)
    assert error_span(err) == (2, 4, 2, 5)
    assert str(err) == "cell line 2: bad\n    b = 2\n        ^"
    err = HPOSyntaxError("bad", "a = 1\nb = 2\n", 2, 0, 5)
    assert error_span(err) == (2, 0, 2, 5)
    assert str(err) == "cell line 2: bad\n    b = 2\n    ^^^^^"
    err = HPOSyntaxError("bad")
    assert error_span(err) == (None, None, None, None) and str(err) == "bad"


def test_a_range_over_several_lines_shows_one_caret():
    err = HPOSyntaxError("bad", "x = f(\n  1)\n", 1, 4, 4, end_lineno=2)
    assert error_span(err) == (1, 4, 2, 4)
    assert str(err) == "cell line 1: bad\n    x = f(\n        ^"


def test_a_domain_too_long_to_print_is_shown_as_written():
    big = "0x" + "f" * 5000
    (a,) = diagnose_cell(f"x = Categorical(1, {big})\n").annotations
    assert a.evaluated and a.domain == f"Categorical(1, {big})"


# --- misspelt markers and a second %%hpo, as the editor shows them -------------------------

def test_misspelt_markers_are_reported_with_the_other_errors():
    source = ("x = 0.5  # hpo Real(0, 1)\n"      # 1 misspelt: no colon
              "y = Real(1, 0)\n"                 # 2 reversed bounds
              "z = 2  # hop: Int(1, 3)\n"        # 3 misspelt: letters swapped
              "w = 1  # hpo settings: Int(1, 3)\n"  # an ordinary comment
              "v = 0.1  # HPO: Real(0, 1)\n")    # the marker in capitals is the marker
    d = diagnose_cell(source)
    assert [e.cell_lineno for e in d.errors] == [1, 2, 3]
    assert d.errors[0].reason == ("this comment looks like a hyperparameter annotation but is "
                                  "not one: write `# hpo: Real(0, 1)`")
    assert error_span(d.errors[0]) == span(source, 1, "# hpo")
    assert error_span(d.errors[2]) == span(source, 3, "# hop:")
    assert [a.name for a in d.annotations] == ["v"]


@pytest.mark.parametrize("blank, second", [
    ("", "%%hpo --trials 5"), ("\n", "%%hpo --trials 5"), ("", "  %%hpo --trials 5")])
def test_the_editor_underlines_a_second_hpo_right_below_the_first(blank, second):
    """IPython runs that line as a cell magic with the rest of the cell as its text: the editor
    said "invalid Python syntax" (and the magic "the cell has no hyperparameters")."""
    from jupyter_hpo.server.cells import cell_diagnostics

    source = f"%%hpo --trials 2\n{blank}{second}\nx = Real(0, 1)\nz = x\n"
    (error,) = cell_diagnostics(source)["errors"]
    line = source.splitlines().index(second) + 1
    col = len(second) - len(second.lstrip())
    assert (error["lineno"], error["end_lineno"], error["col"], error["end_col"]) == (
        line, line, col, len(second))
    assert error["message"].startswith(f"HPOSyntaxError at cell line {line}: a second %%hpo "
                                       f"--trials 5: the cell already runs as a study")
    assert error["message"].endswith("remove it and put its options on the first line")


def test_the_editor_underlines_a_misspelt_marker_at_its_cell_line():
    from jupyter_hpo.server.cells import cell_diagnostics

    data = cell_diagnostics("%%hpo\nx = 0.5  # hop: Real(0, 1)\ny = Real(0, 1)\n")
    (error,) = data["errors"]
    assert (error["lineno"], error["col"], error["end_col"]) == (2, 9, 15)
    assert error["message"].startswith("HPOSyntaxError at cell line 2: this comment looks like")


@pytest.mark.parametrize("magic", ["%%time", "%%capture out"])
def test_another_cell_magic_right_below_hpo_is_pointed_out(magic, ipython_shell):
    """IPython makes the rest of the cell that magic's text: the magic said "the cell has no
    hyperparameters" and the editor "invalid Python syntax"."""
    from IPython.core.error import UsageError

    from jupyter_hpo.server.cells import cell_diagnostics

    body = f"{magic}\nx = Real(0, 1)\nloss = x\n"
    (error,) = cell_diagnostics(f"%%hpo --trials 2\n{body}")["errors"]
    name = magic.split()[0]
    assert (error["lineno"], error["col"], error["end_col"]) == (2, 0, len(magic))
    assert error["reason"].startswith(f"{name} below %%hpo: IPython runs a cell magic only on "
                                      f"a cell's first line")
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    with pytest.raises(UsageError) as caught:  # the kernel's message, word for word
        ipython_shell.run_cell_magic("hpo", "--trials 2 --quiet --storage none", body)
    assert str(caught.value).startswith(error["message"])


@pytest.mark.parametrize("indent", ["    ", "\t", "  "])
def test_an_indented_body_is_marked_at_its_annotations(indent, ipython_shell):
    """IPython runs an indented body dedented: the editor underlined the whole line of a bad
    annotation (as for a line IPython rewrote) and put the annotations' highlights one indent
    to the left; the magic's carets were as wide. Both now mark the annotation as written."""
    from IPython.core.error import UsageError

    from jupyter_hpo.server.cells import cell_diagnostics

    body = (f"{indent}x = Real(0, 1)\n{indent}lr = 1e-3  # hpo: Real(1, 0)\n\n"
            f"{indent}if x:\n{indent}    units = Int(64, 16)\n{indent}loss = x\n")
    source = f"%%hpo --metric loss --trials 2\n{body}"
    found = cell_diagnostics(source)
    (annotation,) = found["annotations"]
    shown = [(a["lineno"], a["col"], a["end_lineno"], a["end_col"])
             for a in (annotation, *found["errors"])]
    assert shown == [span(source, 2, "Real(0, 1)"), span(source, 3, "Real(1, 0)"),
                     span(source, 6, "Int(64, 16)")]
    ipython_shell.run_line_magic("load_ext", "jupyter_hpo")
    with pytest.raises(UsageError) as caught:  # the kernel's carets under the same columns
        ipython_shell.run_cell_magic("hpo", "--metric loss --trials 2 --quiet --storage none",
                                     body)
    lines = str(caught.value).splitlines()
    assert lines[0] == found["errors"][0]["message"]
    written = next(line for line in lines if line.strip() == body.splitlines()[1].strip())
    carets = lines[lines.index(written) + 1]
    offset = written.index(body.splitlines()[1])  # the message's own indentation
    assert (carets.index("^") - offset, len(carets) - offset) == \
        span(source, 3, "Real(1, 0)")[1::2]


def test_a_rewritten_line_of_an_indented_body_is_underlined_whole():
    """A line IPython rewrote besides its indentation (``%time ...``) is still underlined
    from its indentation to its end: its columns mean nothing in what the user wrote."""
    from jupyter_hpo.server.cells import cell_diagnostics

    source = "%%hpo --metric loss\n    %time x = Real(0, 1)\n    loss = 1\n"
    (error,) = cell_diagnostics(source)["errors"]
    assert (error["lineno"], error["col"], error["end_col"]) == (2, 4, 24)
