"""The magics' command lines parsed: quotes removed, and every argparse error given what to
do about it (a misspelt option, a stray word, a value that starts with ``-``, a dash that an
editor made of ``--``, typographic quotes)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from IPython.core.error import UsageError

from ._arguments import _GIVEN
from ._interrupts import deferred_interrupts
from ._option_guesses import _nearest_option
from ._short_options import missing_value, short_option
from ._stray_words import stray_words_hint
from ._text import DASHES, split_line, typographic_quotes_hint, unquoted


def _value_after(words: list[str], index: int) -> str | None:
    """The value given to the option ``words[index]`` (``-n=5`` or ``-n 5``), or None."""
    word = words[index]
    if "=" in word:
        return word.split("=", 1)[1]
    following = words[index + 1] if index + 1 < len(words) else None
    return None if following is None or following.startswith("-") else following


def _options_of(magic: Any) -> list[str]:
    """The long options of a ``magic_arguments`` magic."""
    return [o for a in magic.parser._actions for o in a.option_strings if o.startswith("--")]


def _dashed_value(message: str, words: list[str]) -> str:
    """For "argument --time-limit: expected one argument" where the word after the option
    starts with ``-`` (``--time-limit -5s``: argparse takes it for an option), what that word
    was and how to give it as the value; else ``""``."""
    missing = re.match(r"argument (-[\w-]+)(?:/\S+)?: expected one argument$", message)
    if missing is None or missing[1] not in words:
        return ""
    after = words[words.index(missing[1]) + 1:]
    if not after or not after[0].startswith("-") or after[0].startswith("--"):
        return ""
    return (f" ({after[0]} starts with -, so it was read as an option: write "
            f"{missing[1]}={after[0]} to give it as the value)")


def _parse_words(parser: argparse.ArgumentParser, words: list[str], intermixed: bool) -> Any:
    """``parser.parse_args(words)``; with ``intermixed``, positional words that follow an
    option are also taken as positional, as a shell command takes them (``%hpo show --storage
    runs.db mlp``, where argparse called ``mlp`` an unrecognised argument). The words are
    parsed so only when every word ``parse_args`` left over is positional, which keeps its
    message for a misspelt option and its value (``unrecognized arguments: --storrage
    runs.db``, where the second parse would take ``runs.db`` for a NAME). Words after ``--``
    are positional however they start (``%hpo apply --trial 1 -- -x``: the study ``-x``)."""
    args, extras = parser.parse_known_args(words)
    options = extras[:extras.index("--")] if "--" in extras else extras
    if extras and intermixed and not any(word.startswith("-") for word in options):
        args, extras = parser.parse_known_intermixed_args(words)
    if extras:  # as parse_args says it
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def _parse(magic: Any, line: str, intermixed: bool = False) -> Any:
    """``parse_argstring``'s split and parse, with quotes around a value removed (IPython
    splits the line as Windows does, keeping them: ``--name "my study"`` gave the name ``"my
    study"``) and the nearest option named for a misspelt one ("unrecognized arguments:
    --trails 5; did you mean --trials?"), also for one whose "--" an editor made a dash
    (``—trials``), and typographic quotes (“my study”), which are not quotes to IPython,
    pointed out. An unclosed quote is a UsageError (``split_line``), and so is an option that
    takes one value given twice (``Once``); ``intermixed``: see ``_parse_words``."""
    holder = "the %%hpo line" if magic.__name__ == "hpo" else "the %hpo line"
    words = split_line(line, holder)
    try:
        args = _parse_words(magic.parser, words, intermixed)
    except UsageError as exc:
        message = str(exc)
        chosen = re.match(r"argument --(scheduler|executor): invalid choice: '(.*)' \(",
                          message)
        if chosen:  # another library's name for one, or a misspelling
            from ..executors import EXECUTORS
            from ..other_names import other_choice
            from ..schedulers import SCHEDULERS

            kind, value = chosen.groups()
            names = SCHEDULERS if kind == "scheduler" else EXECUTORS
            raise UsageError(message + other_choice(kind, value, names)) from None
        quotes = typographic_quotes_hint(line, "the line")
        if message.startswith("unrecognized arguments:") and not quotes:
            stray = stray_words_hint(magic.parser, words, message.split(":", 1)[1].split())
            if stray:
                raise UsageError(message + stray) from None
        if not message.startswith("unrecognized arguments:"):
            if quotes or _dashed_value(message, words):
                raise UsageError(message + _dashed_value(message, words) + quotes) from None
            example = missing_value(message, magic.parser)
            if example:
                raise UsageError(message + example) from None
            raise
        known = _options_of(magic)
        line_words, words = words, message.split(":", 1)[1].split()
        help_ = "%%hpo?" if magic.__name__ == "hpo" else "%hpo?"
        if "delete" in line_words and {"--yes", "-y"} & set(words):  # the terminal's habit
            raise UsageError("%hpo delete deletes without asking (python -m jupyter_hpo delete "
                             "asks at a terminal, which --yes skips): drop --yes") from None
        if "--help" in words or "-h" in words:  # argparse's habit; a magic's help is ?
            raise UsageError(f"{help_} describes the options (a magic's help is asked with ?, "
                             f"not --help)") from None
        with deferred_interrupts():  # the guesses may import the schedulers and searchers
            guesses = [(w.split("=")[0], short_option(w.split("=")[0], _value_after(words, i),
                                                      magic.parser)
                        or _nearest_option(w.split("=")[0], known))
                       for i, w in enumerate(words) if w[0] in "-" + DASHES]
        hints = [f"{meant} instead of {word}" + (
            f" ({word[0]} is a dash that an editor or a chat app made of --: type two "
            f"hyphens)" if word[0] in DASHES else "") for word, meant in guesses if meant]
        if not hints and not quotes:
            raise
        meant = f"; did you mean {', '.join(hints)}? ({help_} lists the options)" if hints \
            else ""
        raise UsageError(message + meant + quotes) from None
    vars(args).pop(_GIVEN, None)
    for key, value in list(vars(args).items()):
        if isinstance(value, list):
            setattr(args, key, [unquoted(v) for v in value])
        else:
            setattr(args, key, unquoted(value))
    return args
