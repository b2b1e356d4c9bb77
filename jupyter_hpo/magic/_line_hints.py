"""What to do about a ``%hpo`` line that names no command, a misspelt one, another tool's
(``%hpo resume``, ``%hpo ls``) or the options of ``%%hpo``."""

from __future__ import annotations

import difflib
import re

from ._short_options import command_takes_no

LINE_COMMANDS = ("list", "show", "stop", "best", "apply", "wait", "plot", "export", "delete")
_RESUME = ("to continue a stored study, run its cell again with %%hpo --name NAME --resume "
           "(tune(..., name=NAME, resume=True))")
_RESULTS = ("%hpo show NAME shows a study's trials, %hpo export NAME FILE.csv writes them, and "
            "_hpo.trials_dataframe() is the table as a DataFrame")
_RUN = "to run a study, write %%hpo (two percent signs) and its options as the cell's first line"
# commands users reach for that %hpo spells otherwise: what to write instead
_OTHER_COMMANDS = {
    "resume": _RESUME, "continue": _RESUME, "restart": _RESUME,
    "results": _RESULTS, "table": _RESULTS, "trials": _RESULTS, "dataframe": _RESULTS,
    "df": _RESULTS, "run": _RUN, "start": _RUN, "tune": _RUN,
    "ls": "did you mean %hpo list?", "rm": "did you mean %hpo delete?",
    "remove": "did you mean %hpo delete?", "cancel": "did you mean %hpo stop?",
    "kill": "did you mean %hpo stop?", "abort": "did you mean %hpo stop?",
}


def _line_hint(message: str, line: str, cell_options: list[str]) -> str:
    """What to do about a ``%hpo`` line that names no command, a misspelt one, or the options
    of ``%%hpo`` (a cell magic written with one percent sign)."""
    words = line.split()
    commands = ", ".join(LINE_COMMANDS[:-1]) + f" or {LINE_COMMANDS[-1]}"
    if not words:
        return (f"%hpo needs a command: {commands} (%hpo? describes them); to run a cell as a "
                f"study, write %%hpo (two percent signs) as the cell's first line")
    if words[0].lower() in ("help", "--help", "-h", "-?", "?"):
        return (f"%hpo has no {words[0]}: %hpo? (a question mark at the end) shows its help, "
                f"%%hpo? the options of a study; its commands: {commands}")
    trial = re.match(r"argument --trial: invalid int value: '(.*)'", message)
    if trial:
        return (f"--trial takes a trial's id, a whole number (e.g. --trial 3), not "
                f"{trial[1]!r}; %hpo show lists the trials of a study with their ids")
    option = words[0].split("=")[0]
    if option in cell_options and option not in ("--storage", "--trial"):
        return (f"{option} is an option of %%hpo, which runs a cell as a study: write %%hpo "
                f"(two percent signs) and its options as the first line of the cell, with the "
                f"training code below it; %hpo (one percent sign) takes a command: {commands}")
    if "invalid choice" in message:
        hint = _OTHER_COMMANDS.get(words[0].lower())
        if hint:
            return f"{message}; {hint}"
        close = difflib.get_close_matches(words[0].lower(), LINE_COMMANDS, n=1, cutoff=0.6)
        if close:
            return f"{message}; did you mean %hpo {close[0]}?"
    return message + _dashed_name(message, words)


def _dashed_name(message: str, words: list[str]) -> str:
    """For "unrecognized arguments: -x" from a command that takes a study's NAME: how to give
    a NAME that starts with ``-``, which argparse reads as an option (``--`` ends the
    options, as in a shell: ``%hpo show -- -x``); else ``""``."""
    command = next((word for word in words if word in LINE_COMMANDS), "list")
    if not message.startswith("unrecognized arguments:") \
            or "did you mean" in message or "--" in words:  # a misspelt option, or -- there
        return ""
    extras = message.split(":", 1)[1].split(";", 1)[0].split()
    if not any(word.startswith("-") for word in extras):
        return ""
    other = command_takes_no(command, extras, words)
    if other or command == "list":
        return other
    kept = list(words)
    for word in extras:
        if word in kept:
            kept.remove(word)
    return (f"; a study's NAME that starts with - goes after --, which ends the options: "
            f"%hpo {' '.join(kept)} -- {' '.join(extras)}")
