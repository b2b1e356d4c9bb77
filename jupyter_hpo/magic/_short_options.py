"""What an option that ``%%hpo`` or ``%hpo`` does not have was meant to be, where the nearest
spelling says nothing: a one-letter option (``-n 5``, ``-t 3``: the magics have long options
only, besides ``%%hpo -o NAME``), and an option a ``%hpo`` command does not take
(``%hpo best mlp -v``), which was told to go after ``--`` as if it were a study's NAME."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ._text import listed

__all__ = ["COMMAND_OPTIONS", "command_takes_no", "missing_value", "short_option"]

#: the long option a one-letter option of another tool means here, when the value fits it
#: (Optuna's ``n_trials``, ``%timeit -n``)
_MEANT = {"n": "--trials"}

#: a value of each option, for "argument --storage: expected one argument" (the choices of
#: one that has them are named from the parser)
_EXAMPLES = {
    "--storage": "runs.db", "--trial": "3", "--params": "lr,units", "--metric": "val_loss",
    "--trials": "20", "--time-limit": "30m", "--mode": "max", "--name": "mlp", "--workers": "4",
    "--seed": "0",
    "--searcher": "tpe", "--resource": "epoch", "--max-t": "20", "--grace-period": "1",
    "--reduction-factor": "3", "--brackets": "2", "--warm-start": "old-study",
    "--enqueue": "'{\"lr\": 0.01}'", "--searcher-opt": "n_startup=5",
    "--scheduler-opt": "max_t=20", "--trial-timeout": "10m", "--address": "tcp://host:8786",
    "--gpus-per-trial": "0.5", "--cpus-per-trial": "2", "--keep-namespaces": "3",
    "-o": "study",
}

#: the options each ``%hpo`` command takes
COMMAND_OPTIONS = {
    "list": ("--storage",), "show": ("--storage",), "best": ("--storage",),
    "stop": ("--trial", "--force", "--storage"), "apply": ("--trial", "--storage"), "wait": (),
    "plot": ("--metric", "--params", "--storage"), "export": ("--storage",),
    "delete": ("--storage",),
}

#: how many words a ``%hpo`` command takes after it (a NAME; plot's KIND, export's FILE)
_POSITIONALS = {"list": 0, "plot": 2, "export": 2}


def short_option(word: str, value: str | None, parser: argparse.ArgumentParser) -> str:
    """The long option(s) that the one-letter ``word`` (``-t``) followed by ``value`` (None
    for none) most likely means: those that begin with its letter and take ``value`` (a flag
    where there is no value), e.g. ``"--trials, --time-limit or --trial-timeout"``; ``""``
    for a word that is no one-letter option, or none that fits."""
    if not re.fullmatch(r"-[A-Za-z]", word):
        return ""
    letter = word[1].lower()
    actions = {o: a for a in parser._actions for o in a.option_strings if o.startswith("--")}
    meant = _MEANT.get(letter)
    if meant in actions and _takes(actions[meant], value):
        return meant
    fits = [o for o, a in actions.items() if o.startswith(f"--{letter}") and _takes(a, value)]
    chosen = [o for o in fits if actions[o].choices and value in actions[o].choices] or [
        o for o in fits if actions[o].type is not None]  # a number for --seed, not --storage
    names = chosen or fits
    return "" if not names else names[0] if len(names) == 1 else \
        f"{', '.join(names[:-1])} or {names[-1]}"


def missing_value(message: str, parser: argparse.ArgumentParser) -> str:
    """For argparse's "argument --storage: expected one argument": a value to write after
    the option, as the end of the message (``": write its value after it, e.g. --storage
    runs.db"``); ``""`` for any other message."""
    missing = re.match(r"argument (-[\w-]+)(?:/\S+)?: expected one argument$", message)
    if missing is None:
        return ""
    option = missing[1]
    action = next((a for a in parser._actions if option in a.option_strings), None)
    choices = list(action.choices) if action is not None and action.choices else []
    example = _EXAMPLES.get(option) or (choices[0] if choices else "")
    if not example:
        return ""
    one_of = f" (one of {', '.join(map(str, choices))})" if choices else ""
    return f": write its value after it{one_of}, e.g. {option} {example}"


def _takes(action: argparse.Action, value: str | None) -> bool:
    """Whether the option ``action`` takes ``value`` (a flag takes none; ``KEY=VALUE`` one
    with ``=``)."""
    if value is None or action.nargs == 0:
        return (value is None) == (action.nargs == 0)
    if action.choices is not None:
        return value in action.choices
    if "=" in (action.metavar or "") and "=" not in value:
        return False
    if action.type is not None:
        try:
            action.type(value)
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            return False
    return True


def command_takes_no(command: str, extras: list[str], words: list[str]) -> str:
    """For "unrecognized arguments: -v" from ``%hpo COMMAND``, where the word is no study's
    NAME (the command has its words already, or it came with a value): which options the
    command takes, as the end of the message; ``""`` where the word may be a NAME that starts
    with ``-`` (``%hpo show -x``), which the caller says how to write."""
    options = COMMAND_OPTIONS.get(command)
    if options is None or not extras:
        return ""
    if extras[0] == "--name" and len(extras) == 2 and command != "list":
        return (f"; %hpo {command} takes the study's NAME as it is, without {extras[0]}: "
                f"%hpo {command} {extras[1]}")
    positionals = _positional_count(words[words.index(command) + 1:], extras)
    if positionals + len(extras) <= _POSITIONALS.get(command, 1):  # all of it may be NAME
        return ""
    takes = f"its options: {listed(list(options))}" if options else "it takes no option"
    return f"; %hpo {command} has no option {extras[0]} ({takes}; %hpo? describes them)"


def _positional_count(words: list[str], extras: list[str]) -> int:
    """How many words of ``words`` (the line after the command, less ``extras``) are
    positional: not an option nor an option's value."""
    rest: list[Any] = list(words)
    for word in extras:
        if word in rest:
            rest.remove(word)
    count, skip = 0, False
    for word in rest:
        if skip:
            skip = False
        elif word.startswith("--"):
            skip = "=" not in word
        else:
            count += 1
    return count
