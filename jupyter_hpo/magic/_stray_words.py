"""What to write instead when words on a magic's line follow an option's value that argparse
could not place ("unrecognized arguments: min" for ``--time-limit 10 min``): the option takes
one word, so a value with spaces goes in quotes, a duration is one word (``10min``) and a
``--searcher-opt`` is one ``KEY=VALUE`` word."""

from __future__ import annotations

import argparse

_KEY_VALUE = ("--searcher-opt", "--scheduler-opt")
_DURATIONS = ("--time-limit", "--trial-timeout")
_KEYS = ("--metric", "--resource")  # a key of report(), which has no spaces


def stray_words_hint(parser: argparse.ArgumentParser, words: list[str],
                     extras: list[str]) -> str:
    """"; ..." saying how to write the option whose value the first of ``extras`` (words
    argparse left over, none an option) follows on the line ``words``; "" when it follows
    none, or the option is not one of text (``--trials 5 10``)."""
    if not extras or any(word.startswith("-") for word in extras):
        return ""
    for at in range(2, len(words) - len(extras) + 1):
        if words[at:at + len(extras)] != extras:
            continue
        option, value = words[at - 2], words[at - 1]
        action = _value_action(parser, option)
        if action is None or value.startswith("-") or value[:1] in "'\"":
            return ""
        stray = " ".join(extras)
        if option in _KEY_VALUE and "=" not in value and len(extras) == 1:
            return f"; {option} takes KEY=VALUE as one word: write {option} {value}={stray}"
        if option in _DURATIONS:
            return (f"; {option} takes one word: write {option} {value}{stray.replace(' ', '')} "
                    f"(or {option} \"{value} {stray}\")")
        if option in _KEYS:
            return (f"; {option} takes one name, a key of report(): e.g. {option} "
                    f"{value}_{stray.replace(' ', '_')}")
        if action.type is None and option.startswith("--") and option not in _KEY_VALUE:
            return (f"; {option} takes one value: put quotes around one with spaces "
                    f"({option} \"{value} {stray}\")")
        return ""
    return ""


def _value_action(parser: argparse.ArgumentParser, option: str) -> argparse.Action | None:
    """The action of ``option`` when it takes one value (not a flag such as ``--resume``)."""
    for action in parser._actions:
        if option in action.option_strings and action.nargs is None:
            return action
    return None
