"""The magic's own spelling: option values, ``--enqueue`` dicts, and error messages that name
``--flags`` instead of keyword arguments."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from IPython.core.error import UsageError

SCHEDULER_FLAGS = {"type": "type", "grace_period": "grace-period",
                    "reduction_factor": "reduction-factor", "brackets": "brackets",
                    "max_t": "max-t"}
STUDY_FLAGS = ("workers", "trials", "time_limit", "seed", "cpus_per_trial", "gpus_per_trial",
                "trial_timeout", "name", "resource", "metric", "keep_namespaces", "warm_start")

#: what stands for the ``%%hpo`` line above the cell's body when it is parsed and compiled:
#: an empty line, so that cell lines in messages and tracebacks count from the ``%%hpo`` line
#: as line 1, as JupyterLab's editor and IPython's tracebacks of any other cell number them
#: (``_cell_lines`` puts the blank lines above ``%%hpo`` above it)
MAGIC_LINE = "\n"


def parse_option_value(text: str) -> Any:
    """``--searcher-opt`` values: Python literals where they parse, else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def key_values(options: list[str], flag: str, example: str) -> dict[str, Any]:
    """The ``KEY=VALUE`` words of a repeatable option (``--searcher-opt``,
    ``--scheduler-opt``) as keyword arguments. A word without ``=`` or without a KEY
    (``=3``, which the scheduler then said it "does not take" under an empty name) is refused
    as not being KEY=VALUE, and a KEY given twice as an option given twice is (the later one
    won without a word)."""
    values, written = {}, {}
    for opt in options:
        key, equals, value = opt.partition("=")
        if not equals or not key.strip():
            missing = " (its KEY is missing)" if equals else ""
            raise UsageError(f"{flag} {opt!r} must look like KEY=VALUE{missing}, e.g. "
                             f"{example}")
        name = key.strip().replace("-", "_")
        if name in values:
            raise UsageError(f"{flag} {name} given twice ({written[name]}, then "
                             f"{value.strip()}): give it once")
        values[name], written[name] = parse_option_value(value.strip()), value.strip()
    return values


def cli_message(message: str, searcher_options: Iterable[str] = ()) -> str:
    """An options error in the magic's own spelling: ``workers is 0`` -> ``--workers is 0``,
    ``min_pairs is 2`` -> ``--scheduler-opt min_pairs is 2`` (an option without a flag),
    ``acq_func is 'XYZ'`` -> ``--searcher-opt acq_func is 'XYZ'`` (one of
    ``searcher_options``, the keys the line gave), ``points_to_evaluate[0]`` -> ``--enqueue
    number 1``."""
    from ..schedulers import SCHEDULERS

    message = _scheduler_keys(message)
    for key in (*STUDY_FLAGS, *SCHEDULER_FLAGS):
        flag = _flag(key)
        message = re.sub(rf"(?<![\w-]){key}(?= is | only appl| needs |, )", flag, message)
        message = re.sub(rf"\bleave {key} out\b", f"drop {flag}", message)
    flagless = {option for cls in SCHEDULERS.values() for option in cls.OPTIONS} \
        - set(SCHEDULER_FLAGS) - set(STUDY_FLAGS)
    for key in sorted(flagless):
        message = re.sub(rf"(?<![\w-]){key}(?= is | only appl)", f"--scheduler-opt {key}",
                         message)
    message = re.sub(r"points_to_evaluate\[(\d+)\]",
                     lambda m: f"--enqueue number {int(m.group(1)) + 1}", message)
    message = re.sub(r"the (\w+) and (\w+) schedulers", r"--scheduler \1 and \2", message)
    message = re.sub(r"the (\w+) scheduler", r"--scheduler \1", message)
    return _searcher_flags(message, searcher_options)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _scheduler_keys(message: str) -> str:
    """``the auto scheduler does not take min_pair (its options: max_t, ..., min_pairs, ...)``
    -> ``--scheduler auto does not take --scheduler-opt min_pair=... (its options: --max-t,
    ...; --scheduler-opt min_pairs, ...)``: a key no scheduler takes came from
    ``--scheduler-opt``, and the options it could have been are named as the line writes
    them (a flag, or a key of ``--scheduler-opt``)."""
    def unknown(match: re.Match[str]) -> str:
        given = ", ".join(f"--scheduler-opt {key}=..." for key in match[2].split(", "))
        options = match[3].split(", ") if match[3] != "none" else []
        flags = [_flag(key) for key in options if key in (*SCHEDULER_FLAGS, *STUDY_FLAGS)]
        keys = [key for key in options if key not in (*SCHEDULER_FLAGS, *STUDY_FLAGS)]
        takes = "; ".join(part for part in (", ".join(flags), keys and
                                            "--scheduler-opt " + ", ".join(keys)) if part)
        return f"--scheduler {match[1]} does not take {given} (its options: {takes or 'none'})"

    return re.sub(r"the (\w+) scheduler does not take ([\w, ]+?) \(its options: ([\w, ]*)\)",
                  unknown, message)


def _searcher_flags(message: str, keys: Iterable[str]) -> str:
    """``searcher 'skopt' does not take these options: acq (...)`` -> ``--searcher skopt does
    not take --searcher-opt acq=... (...)``, and a given key's ``KEY is``/``KEY must`` ->
    ``--searcher-opt KEY ...``, as the line wrote them."""
    def unknown(match: re.Match[str]) -> str:
        options = ", ".join(f"--searcher-opt {key}=..." for key in match[2].split(", "))
        return f"--searcher {match[1]} does not take {options} ("

    message = re.sub(r"searcher '([\w-]+)' does not take these options: ([\w, ]+?) \(",
                     unknown, message)
    for key in sorted(set(keys), key=len, reverse=True):
        message = re.sub(rf"(?<![\w\-=]){re.escape(key)}(?= is | must | only appl| needs )",
                         f"--searcher-opt {key}", message)
    return message


def on_storage(message: str, storage: str | None) -> str:
    """``message`` with ``--storage STORAGE`` after each ``%hpo COMMAND NAME`` it suggests,
    when a command line named a storage file: without it the command reads the default file,
    where ``%hpo delete NAME`` would delete another study of the same name."""
    if storage is None:
        return message
    from ..errors import command_word

    word = r"(\"[^\"]*\"|'[^']*'|[^\s`);]+)"
    return re.sub(rf"(?<!%)%hpo (\w+) {word}",
                  lambda m: f"{m[0]} --storage {command_word(storage)}", message)


def unquoted(value: Any) -> Any:
    """``value`` without one pair of matching quotes around it (IPython splits a magic's line
    keeping them)."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] \
            and value[0] in "'\"":
        return value[1:-1]
    return value


def enqueued_config(text: str) -> dict[str, Any]:
    """``--enqueue`` text: a JSON object or a Python dict literal (quoted or not). A key given
    twice is refused: both parsers keep the last value silently, so the configuration run
    would not be the one meant."""
    import json

    text = unquoted(text.strip())
    try:
        value = json.loads(text, object_pairs_hook=lambda pairs: _once_each(text, pairs))
    except ValueError:
        value = parse_option_value(text)
        if isinstance(value, dict):
            _check_literal_keys(text)
    if not isinstance(value, dict):
        raise UsageError(f"--enqueue {text!r} must be a dict of hyperparameter values, e.g. "
                         f"--enqueue '{{\"lr\": 0.01}}'{typographic_quotes_hint(text)}")
    return value


def _once_each(text: str, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """The dict of an ``--enqueue`` object's ``(key, value)`` pairs; a UsageError naming the
    first key that ``text`` gives twice."""
    values: dict[Any, Any] = {}
    for key, value in pairs:
        if key in values:
            first = next(k for k in values if k == key)  # 1 for 1.0 after 1, as written first
            shown = first if isinstance(first, str) else repr(first)
            raise UsageError(f"--enqueue {text!r} gives {shown} twice ({values[key]!r}, then "
                             f"{value!r}): give each hyperparameter once")
        values[key] = value
    return values


def _check_literal_keys(text: str) -> None:
    """Refuse a key given twice in any dict of ``text``, a Python literal that evaluates to a
    dict (``ast.literal_eval`` keeps the last value of a repeated key)."""
    for node in ast.walk(ast.parse(text.strip(), mode="eval")):
        if isinstance(node, ast.Dict):
            _once_each(text, [(ast.literal_eval(key), ast.literal_eval(value))
                              for key, value in zip(node.keys, node.values) if key is not None])


#: quotes that editors and chat apps put in place of straight ones
TYPOGRAPHIC_QUOTES = "\u201c\u201d\u201e\u2018\u2019\u201a\u00ab\u00bb"
#: dashes that editors make of "--" (an em dash) or "-"
DASHES = "\u2014\u2013\u2212"


def split_line(line: str, holder: str) -> list[str]:
    """The words of a magic's line as IPython splits them (``arg_split``: quotes kept, as on
    Windows). A quote that nothing closes is a UsageError showing where it opens, for the
    magic and for the editor, which checks the line while it is typed (shlex's bare
    "No closing quotation" said neither which quote nor where). ``holder`` names the line:
    "the %%hpo line"."""
    from IPython.utils.process import arg_split

    line = without_comment(line)
    try:
        return arg_split(line)
    except ValueError:
        rest = arg_split(line, strict=False)[-1].rstrip()  # from the open quote to the end
    shown = rest if len(rest) <= 40 else rest[:37] + "..."
    quote = rest[:1] if rest[:1] in "'\"" else "'"
    other = "'" if quote == '"' else '"'
    raise UsageError(f"{holder} has an unclosed {quote} quote: it opens at {shown} and nothing "
                     f"closes it; put a {quote} where the value ends (a value with {quote} in "
                     f"it goes in {other} quotes){typographic_quotes_hint(line, 'the line')}"
                     ) from None


def without_comment(line: str) -> str:
    """``line`` up to a comment, as a shell reads one: a ``#`` that starts a word outside
    quotes (``%%hpo --trials 50  # quick run``; IPython hands the magic the whole line, and
    the comment's words were refused as unrecognized arguments, an apostrophe in it as an
    unclosed quote)."""
    quote = None
    for i, char in enumerate(line):
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def typographic_quotes_hint(text: str, holder: str = "it") -> str:
    """``"; it has typographic quotes (“ ”), which are not quotes here: ..."`` when ``text``
    holds quotes that are not straight ones, else ``""`` (``holder`` names ``text``)."""
    found = sorted({c for c in text if c in TYPOGRAPHIC_QUOTES}, key=text.index)
    if not found:
        return ""
    return (f"; {holder} has typographic quotes ({' '.join(found)}), which are not quotes "
            f"here: write straight ones, \" or '")


def misplaced_message(options: str) -> str:
    """What to do about ``%%hpo`` below a cell's first line (the magic's error, and the
    editor's underline on that line)."""
    options = f" {options.strip()}" if options.strip() else ""
    return (f"%%hpo must be the first line of the cell: IPython runs a cell magic only there, "
            f"and here a comment or code comes before it. Move %%hpo{options} to the top of the "
            f"cell (comments go below it)")
