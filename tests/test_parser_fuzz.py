"""Fuzzing the cell parser: whatever the text, parse_cell and diagnose_cell give only
HPOSyntaxError, at a line of the cell.

Mutated copies of valid ``%%hpo`` cells (every annotation form) are parsed with a seeded
``random.Random``, so a failure is reproducible: the test names the seed and the cell. Set
``HPO_FUZZ_CELLS`` to run more cells locally.
"""

from __future__ import annotations

import os
import random
import sys
import warnings

import pytest

from jupyter_hpo.annotate import diagnose_cell, parse_cell
from jupyter_hpo.errors import HPOSyntaxError, python_lines

CORPUS = [
    # every form, as in the README
    ("lr      = Real(1e-4, 1e-1, log=True)\n"
     "hidden  = Int(16, 256, log=True)\n"
     "act     = Categorical('relu', 'tanh', 'gelu')\n"
     "dropout = 0.1            # hpo: Real(0.0, 0.5)\n"
     "epochs  = 20\n"
     "for epoch in range(1, epochs + 1):\n"
     "    report(epoch=epoch, val_acc=lr * hidden)\n"),
    # keyword and explicit names
    ("layer = make(units=Int(16, MAX_UNITS), p=Real(0, 0.5))\n"
     "layers = []\n"
     "layers.append(Int(1, 4, name='depth'))\n"
     "flag = pick(Bool(name='use_bn'))\n"),
    # annotated assignment, Bool, Categorical of one list
    ("dropout: float = Real(0.0, 0.5)\n"
     "use_bn: bool = Bool()\n"
     "sizes = Categorical([32, 64, 128])\n"
     "sizes * 2\n"),
    # comment form with defaults of every literal kind
    ("lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)\n"
     "n = 4  # HPO: Int(1, 8)\n"
     "act = 'relu'  # hpo: Categorical('relu', 'tanh', name='activation')\n"
     "shape = (1, 2)  # hpo: Categorical((1, 2), (3, 4))\n"
     "on = True  # hpo: Bool()\n"),
    # multi-line calls and a comment inside a multi-line assignment
    ("model = make(\n"
     "    units=Int(16, 256),\n"
     "    act=Categorical(\n"
     "        'relu', 'tanh',\n"
     "    ),\n"
     ")\n"
     "lr = (\n"
     "    1e-3  # hpo: Real(1e-4, 1e-1)\n"
     ")\n"),
    # functions, classes, decorators, comprehensions, lambda, walrus
    ("import math\n"
     "def train(lr, *, steps=3):\n"
     "    return [math.log(lr) for _ in range(steps)]\n"
     "class Net:\n"
     "    width = 3\n"
     "@staticmethod\n"
     "def helper(): pass\n"
     "lr = Real(1e-5, 1, log=True)\n"
     "score = (best := min(train(lr)))\n"
     "key = lambda v: -v\n"
     "score\n"),
    # unicode, f-strings, '# hpo:' inside strings
    ('s = "héllo ✓ 日本"; lr = Real(0.001, 0.1)\n'
     "doc = '# hpo: Real(0, 1)'\n"
     "msg = f'{lr:.3f} # hpo: nothing'\n"
     "t = '''multi\n# hpo: Int(1, 2)\nline'''\n"
     "n = 3  # hpo: Int(1, 9)\n"),
    # top-level await
    ("import asyncio\n"
     "x = Real(0, 10)\n"
     "await asyncio.sleep(0)\n"
     "async def twice(v):\n"
     "    return 2 * v\n"
     "y = await twice(x)\n"
     "y\n"),
    # control flow and a metric variable
    ("epochs = 5\n"
     "momentum = Real(0.5, 0.99)\n"
     "if momentum > 0.9:\n"
     "    val_loss = 1 - momentum\n"
     "else:\n"
     "    val_loss = momentum\n"
     "while False:\n"
     "    break\n"
     "try:\n"
     "    pass\n"
     "except ValueError as exc:\n"
     "    raise\n"),
    # match statement, with
    ("mode = Categorical('a', 'b')\n"
     "match mode:\n"
     "    case 'a':\n"
     "        out = 1\n"
     "    case other:\n"
     "        out = 2\n"
     "with ctx() as c:\n"
     "    pass\n"),
    # numbers of every kind as arguments
    ("a = Int(-3, 3)\n"
     "b = Real(-1.5e-3, 2.5e3)\n"
     "c = Categorical(1, 1.0, True, None, 'x', b'y', 2j)\n"
     "d = Int(0x10, 0o777)\n"),
    # a namespace variable in a comment annotation; several statements on a line
    ("units = 64  # hpo: Int(16, MAX_UNITS)\n"
     "x = 1; y = 2; z = 0.5  # hpo: Real(0, 1)\n"),
    # tabs and blank lines, line continuation
    ("if True:\n"
     "\tlr = Real(0.01, 0.1)\n"
     "\n"
     "total = 1 + \\\n"
     "    2\n"
     "report(loss=total * lr)\n"),
    # a long Categorical of strings, a nested structure as a default
    ("opt = Categorical('sgd', 'adam', 'adamw', 'rmsprop', 'lion', 'lamb')\n"
     "cfg = {'a': [1, 2], 'b': (3,)}  # hpo: Categorical({'a': [1, 2], 'b': (3,)}, None)\n"),
    # CRLF line breaks
    ("lr = Real(1e-4, 1e-1)\r\n"
     "n = 2  # hpo: Int(1, 3)\r\n"
     "report(loss=lr * n)\r\n"),
]

CONSTRUCTORS = ("Real", "Int", "Categorical", "Bool")
NAMESPACE = {"MAX_UNITS": 512, "make": dict, "pick": lambda v: v, "ctx": None}

SNIPPETS = [
    "(", ")", "[", "]", "{", "}", "'", '"', "'''", '"""', "#", "\\", ":", ",", "=", ".",
    "\n", "\r", "\r\n", "\t", " ", "\x00", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85",
    "\u2028", "\u2029", "\ud800", "\ufeff", "é", "✓", "日本", "\U0001f600", "\u200b",
    "# hpo:", "# hpo: ", "  # hpo: Real(0, 1)", "# hpo: Int(1,", "# hpo: Float(1, 2)",
    "# hpo: Categorical()", "# hpo: Int(2, 1)", "# HPO: Bool()", "#hpo:Real(1e-3, 1)",
    "Real(", "Int(", "Categorical(", "Bool(", "Real(1, 0)", "Int(0, 9, log=True)",
    "Categorical()", "Categorical(1, 1)", "Real(0, 1, name='x')", "Real(0, 1, name=1)",
    "Int(1.5, 2)", "Real('a', 'b')", "Real(0, 1, step=2)", "Categorical(Int(1, 2))",
    "Bool(True)", "Float(1, 2)", "Integer(1, 5)", "Real(0, UNKNOWN)", "Int(1, MAX_UNITS)",
    "Real(0, 1/0)", "Categorical([1], [1])", "Categorical({[1]: 2})", "name=", "log=True",
    "await ", "async ", "return ", "yield ", "nonlocal x", "global lr", "lambda: ",
    "if x:", "else:", "def f(", "class C:", "    ", "report(", "epochs = 3\n",
    "{[1]: 2}", "f'{", "b'", "r'", "u'", "0x", "1e", "1_000", "...", "@", "->", ":=", "*",
]

# Deep nesting: beyond what Python parses or compiles (whatever the recursion limit), and
# some within it. (Between the two, compiling ~2,000 nested lambdas takes a second.)
DEEP = ["(" * 250, "[" * 300, "{" * 220, "-" * 4000, "not " * 4000, ".a" * 4000,
        "()" * 4000, "[0]" * 4000, "+1" * 4000, "lambda: " * 4000, "1 if 1 else " * 4000, "(" * 100 + "1" + ")" * 100, "-" * 300, "lambda: " * 200]


def mutate(rng: random.Random, cell: str) -> str:
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        kind = rng.random()
        if kind < 0.55:  # character edits
            text = list(cell)
            i = rng.randint(0, len(text))
            op = rng.choice(["delete", "insert", "duplicate", "swap", "snippet", "unicode"])
            if op == "delete" and text:
                del text[min(i, len(text) - 1): min(i, len(text) - 1) + rng.randint(1, 3)]
            elif op == "insert":
                text.insert(i, rng.choice(cell or "x"))
            elif op == "duplicate" and text:
                j = min(i, len(text) - 1)
                text[j:j] = text[j: j + rng.randint(1, 6)]
            elif op == "swap" and len(text) > 1:
                j = rng.randrange(len(text))
                i = min(i, len(text) - 1)
                text[i], text[j] = text[j], text[i]
            elif op == "snippet":
                text.insert(i, rng.choice(SNIPPETS))
            else:
                text.insert(i, chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x2FFF),
                                               rng.randint(0xD800, 0xDFFF),
                                               rng.randint(0x10000, 0x10FFFF)])))
            cell = "".join(text)
        elif kind < 0.9:  # line edits
            lines = cell.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            op = rng.choice(["delete", "duplicate", "swap", "indent", "snippet"])
            if op == "delete" and len(lines) > 1:
                del lines[i]
            elif op == "duplicate":
                lines.insert(j, lines[i])
            elif op == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif op == "indent":
                lines[i] = rng.choice([" ", "    ", "\t", "\x0c"]) + lines[i]
            else:
                lines.insert(i, rng.choice(SNIPPETS) + rng.choice(SNIPPETS))
            cell = "\n".join(lines)
        elif kind < 0.93:  # deep nesting
            i = rng.randint(0, len(cell))
            cell = cell[:i] + rng.choice(DEEP) + cell[i:]
        else:  # a different cell's lines mixed in
            other = rng.choice(CORPUS).split("\n")
            lines = cell.split("\n")
            lines.insert(rng.randint(0, len(lines)), rng.choice(other))
            cell = "\n".join(lines)
    return cell


def check_error(err: BaseException, source: str, what: str) -> None:
    assert type(err) is HPOSyntaxError, f"{what} raised {type(err).__name__}: {err!r}"
    lines = python_lines(source)
    assert err.cell_lineno is not None and 1 <= err.cell_lineno <= len(lines), \
        f"{what}: line {err.cell_lineno} is outside the cell's {len(lines)} lines: {err}"
    line = lines[err.cell_lineno - 1]
    assert err.cell_col is not None and 0 <= err.cell_col <= len(line), \
        f"{what}: column {err.cell_col} is outside line {err.cell_lineno}: {err}"
    assert err.cell_lineno <= err.cell_end_lineno <= len(lines), f"{what}: bad end {err}"
    assert err.reason and str(err).startswith(f"cell line {err.cell_lineno}: {err.reason}")


def check_cell(source: str) -> None:
    template = error = None
    try:
        template = parse_cell(source, dict(NAMESPACE))
    except Exception as exc:  # noqa: BLE001 - anything but HPOSyntaxError fails below
        error = exc
        check_error(exc, source, "parse_cell")
    diagnostics = diagnose_cell(source)
    for err in diagnostics.errors:
        check_error(err, source, "diagnose_cell")
    assert all(type(a.name) is str and a.name.isidentifier() for a in diagnostics.annotations)
    if diagnostics.errors:
        assert error is not None, f"diagnose_cell found {diagnostics.errors[0]}, parse_cell none"
    lines = python_lines(source)
    for a in diagnostics.annotations:  # character columns of the constructor call
        assert lines[a.lineno - 1][a.col:].startswith(CONSTRUCTORS), f"misplaced {a}"
    if template is not None:
        assert [a.name for a in diagnostics.annotations] == \
            [a.name for a in template.annotations]
        for a in template.annotations:  # UTF-8 byte columns of the code a value replaces
            at = lines[a.lineno - 1].encode()[a.col:].decode(errors="replace")
            assert a.form == "comment" or at.startswith(CONSTRUCTORS), f"misplaced {a}"
        assert template.render(template.defaults) == source


def test_the_corpus_is_valid():
    for cell in CORPUS:
        template = parse_cell(cell, dict(NAMESPACE))
        assert template.annotations
        assert diagnose_cell(cell).ok


@pytest.fixture(params=[1000, 3000], ids=["python-limit", "kernel-limit"])
def recursion_limit(request):
    """Python's own recursion limit, and the 3000 an IPython kernel runs with: how deep a
    cell Python parses, and so which code the mutated cells reach, depends on it."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(request.param)
    yield request.param
    sys.setrecursionlimit(previous)


def test_mutated_cells_give_only_located_hpo_syntax_errors(recursion_limit):
    seed, count = 20240611, int(os.environ.get("HPO_FUZZ_CELLS", "5000"))
    rng = random.Random(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of the mutated code
        for n in range(count):
            cell = mutate(rng, rng.choice(CORPUS))
            try:
                check_cell(cell)
            except AssertionError as exc:
                raise AssertionError(f"cell {n} of seed {seed}, recursion limit {recursion_limit}: "
                                     f"{cell!r}\n{exc}") from None
