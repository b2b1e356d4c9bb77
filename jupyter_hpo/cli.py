"""``python -m jupyter_hpo``: list, show, stop, delete and export stored studies from a terminal.

Each command reads or writes a storage file (``--storage``, default ``$JUPYTER_HPO_STORAGE``
or ``jupyter_hpo.db`` in the working directory), as ``%hpo`` does for studies of other
kernels; a study is stopped through its storage, so the process that runs it stops it. Exit
codes: 0 done, 1 refused (no such file or study, not running, another process runs it), 2 a
wrong command line.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import HPOError, StudyNotFoundError

if TYPE_CHECKING:
    from .storage import BaseStorage
    from .study import Study

__all__ = ["main"]

PROG = "python -m jupyter_hpo"
#: how the console script (``jupyter-hpo``, which ``jupyter hpo`` runs) is spelt in messages
SCRIPT = "jupyter-hpo"
QUOTES = "'\""


class CommandError(Exception):
    """A command that cannot be done; its message says why and what to do."""


class _Once(argparse.Action):
    """argparse's ``store`` for ``--storage``: given twice on one side of the command it is
    an error (``list --storage a.db --storage b.db`` listed b.db without a word)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        earlier = getattr(namespace, self.dest, None)
        if earlier is not None:
            parser.error(f"--storage is given twice ({earlier}, then {values}): give it once")
        setattr(namespace, self.dest, values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; the exit code."""
    prog = _invoked_as()
    parser = _parser(prog)
    args, extra = parser.parse_known_args(argv)
    command = parser.commands[args.command]
    if extra:  # argparse would name the top parser, whose usage does not show the command's
        command.error(_extra_hint(args.command, extra))
    if args.global_storage is not None:
        if args.storage is not None and args.storage != args.global_storage:
            command.error(f"--storage is given twice ({args.global_storage} before "
                          f"{args.command}, {args.storage} after it): give it once")
        args.storage = args.global_storage
    if args.command == "export":
        _export_arguments(args, command)
    try:
        args.handler(args)
        sys.stdout.flush()
    except (CommandError, HPOError) as exc:
        print(f"{prog} {args.command}: error: {terminal_message(str(exc), prog)}",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # ``| head`` read what it wanted: no traceback, as other commands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def terminal_message(message: str, prog: str = PROG) -> str:
    """A message written for a notebook, with its ``%hpo`` commands as this command line's
    and its ``--name NAME --resume`` (flags of ``%%hpo``, which a terminal does not take) as
    the cell line and the ``tune()`` call that resume the study."""
    message = re.sub(r"(?:%%hpo )?(?<![%\w-])--name (\"[^\"]*\"|'[^']*'|\S+?) --resume\b",
                     lambda m: f"%%hpo --name {m[1]} --resume on its cell's first line, or "
                               f"tune(..., name={m[1].strip(QUOTES)!r}, resume=True) with the "
                               f"same storage", message)
    return re.sub(r"(?<!%)%hpo ", f"{prog} ", message)


def _invoked_as() -> str:
    """The command the user typed, for messages: the console script (``jupyter-hpo``, or
    ``jupyter hpo``, which runs it) or ``python -m jupyter_hpo``."""
    return SCRIPT if os.path.basename(sys.argv[0]) == SCRIPT else PROG


COMMANDS = ("list", "show", "best", "stop", "delete", "export")
_NOTEBOOK_ONLY = ("from a terminal, {prog} show NAME prints a study's best trial and table, "
                  "{prog} export NAME FILE.csv writes its trials, and in Python "
                  "jupyter_hpo.Study.load(NAME, PATH) has .best_config, .plot() and "
                  ".best_trial.restore()")
_RESUME = ("to continue a stored study, run tune(..., storage=PATH, name=NAME, resume=True) "
           "or its cell again with %%hpo --name NAME --resume")
# commands users reach for that this command line spells otherwise (or that only %hpo has)
_OTHER_COMMANDS = {
    "ls": "did you mean list?", "rm": "did you mean delete?", "remove": "did you mean delete?",
    "del": "did you mean delete?", "kill": "did you mean stop?", "cancel": "did you mean stop?",
    "abort": "did you mean stop?", "resume": _RESUME, "continue": _RESUME,
    "apply": "apply is a %hpo command of a notebook (it sets the notebook's variables); "
             + _NOTEBOOK_ONLY,
    "plot": "plot is a %hpo command of a notebook; " + _NOTEBOOK_ONLY,
    "wait": "wait is a %hpo command of a notebook (it joins a study of that kernel); "
            "{prog} stop NAME asks a running study to stop",
}


class _Parser(argparse.ArgumentParser):
    """argparse, whose "invalid choice" of a command names the nearest command (or what to
    write for another tool's, or %hpo's, command)."""

    def error(self, message: str) -> NoReturn:
        found = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
        if found:
            word = found[1].lower()
            hint = _OTHER_COMMANDS.get(word)
            close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
            if hint is None and close:
                hint = f"did you mean {close[0]}?"
            if hint is None and os.path.splitext(word)[1] in (".db", ".sqlite", ".sqlite3"):
                hint = f"the command comes first: {self.prog} list --storage {found[1]}"
            if hint:
                message += "; " + hint.format(prog=self.prog)
        super().error(message)


def _extra_hint(command: str, extra: list[str]) -> str:
    """The words of a command line that its command does not take, and what to write."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    options = [word for word in extra if word.startswith("-")]
    if options:
        return (f"{message} ({command} takes --storage PATH and no {options[0]}; "
                f"{command} --help lists what it takes)")
    if command == "list":
        return f"{message} (list takes no NAME: it lists every study of the file)"
    return (f"{message} ({command} takes one NAME{' and one FILE' if command == 'export' else ''}"
            f"; a name with spaces goes in quotes: {command} \"my study\")")


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog, description="List, show, export, stop and delete the studies kept in a "
        "jupyter_hpo storage file\n(what %hpo does in a notebook).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"e.g. {prog} list --storage runs.db\n     {prog} export mlp mlp.csv "
               f"--storage runs.db\n     {prog} stop mlp --storage runs.db\n\nexit codes: 0 "
               f"done, 1 refused (the message says why and what to do), 2 a wrong command "
               f"line.\n{prog} COMMAND --help describes a command's arguments.")
    where = ("the SQLite file of the studies (default: $JUPYTER_HPO_STORAGE, else "
             "jupyter_hpo.db in the working directory)")
    parser.add_argument("--storage", dest="global_storage", metavar="PATH", action=_Once,
                        help=where + "; also after the command")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument("--storage", metavar="PATH", action=_Once, help=where)
    name = {"metavar": "NAME", "help": "the study's name (see the list command)"}
    latest = {**name, "nargs": "?", "help": "the study's name (default: the latest)"}
    for command, handler, help_text, named in (
            ("list", _list, "list the stored studies with their state and best value", None),
            ("show", _show, "a study's state, best trial and table of trials", latest),
            ("best", _best, "a study's best value and configuration", latest),
            ("stop", _stop, "ask a running study to stop (its process stops it gracefully)",
             name),
            ("delete", _delete, ("remove a study that is not running, with its trials and "
                                 "checkpoints, for good (export it first to keep its table)"),
             name)):
        sub = commands.add_parser(command, parents=[storage], help=help_text,
                                  description=help_text[0].upper() + help_text[1:] + ".")
        if named:
            sub.add_argument("name", **named)
        sub.set_defaults(handler=handler)
    commands.choices["delete"].add_argument(
        "-y", "--yes", action="store_true",
        help="delete without asking (for scripts); the question is asked only when the "
             "input is a terminal")
    export = commands.add_parser("export", parents=[storage], help="write a study's trials to "
                                 "a .csv, .parquet or .json file",
                                 description="Write a study's trials to a .csv, .parquet or "
                                             ".json file.")
    export.add_argument("name", metavar="NAME", nargs="?",
                        help="the study's name (default: the latest)")
    export.add_argument("file", metavar="FILE", nargs="?",
                        help="the file to write (.csv, .parquet, .json)")
    export.usage = f"{prog} export [-h] [--storage PATH] [NAME] FILE"
    export.set_defaults(handler=_export)
    parser.commands = commands.choices  # type: ignore[attr-defined]
    return parser


def _storage(location: str | None, read_only: bool = False) -> BaseStorage:
    """The storage to read (``read_only``: only to read, so that nothing is written to the
    file, nor an older one migrated) or to write to: it must exist (nothing is created by
    reading it)."""
    from .errors import StorageError
    from .storage import SQLiteStorage, open_storage

    try:
        store = open_storage(location, read_only=read_only)
    except StorageError as exc:  # a file in a missing folder: say what a reader needs to know
        if "the folder" not in str(exc) or "does not exist" not in str(exc):
            raise
        raise CommandError(f"{str(exc).split(': ', 1)[0].removeprefix('cannot create ')} does "
                           f"not exist (nor does its folder): no study has been stored there; "
                           f"pass the file the studies were stored in") from None
    if store is None:
        raise CommandError(f"--storage {shlex.quote(location or '')} keeps nothing, so there is "
                           f"nothing to read: pass the file the studies were stored in")
    if isinstance(store, SQLiteStorage) and not os.path.exists(store.path):
        given = "" if location is not None else " (the default file; pass --storage PATH)"
        raise CommandError(f"{store.path} does not exist{given}: no study has been stored "
                           f"there; pass the file the studies were stored in "
                           f"(tune(storage=...), %%hpo --storage)")
    return store


def _load(args: argparse.Namespace) -> Study:
    """The study ``args.name`` (the latest when it is None), read only."""
    from .study import Study

    store = _storage(args.storage, read_only=True)
    name = args.name
    if name is None:
        studies = store.list_studies()
        if not studies:
            raise CommandError(f"{store.location} holds no studies")
        name = max(studies, key=lambda s: s.updated).name
    try:
        return Study.load(name, store)
    except StudyNotFoundError as exc:
        raise CommandError(str(exc)) from None


def _list(args: argparse.Namespace) -> None:
    from .listing import stored_line

    store = _storage(args.storage, read_only=True)
    studies = store.list_studies()
    if not studies:
        print(f"no studies in {store.location}")
    for study in studies:
        print(terminal_message(stored_line(study), _invoked_as()))


def _best(args: argparse.Namespace) -> None:
    print(_load(args).best_summary())


def _show(args: argparse.Namespace) -> None:
    import pandas as pd

    from .listing import state_text
    from .records import trials_text

    study = _load(args)
    error = study.snapshot().error if study.state.value == "failed" else ""
    state = terminal_message(state_text(study.state, study.stop_reason or error, study.name),
                             _invoked_as())
    print(f"{study.name} [{study.storage.location if study.storage else ''}]: {state}, metric "
          f"{study.metric} ({study.mode}), {trials_text(study.spent, study.budget, study.counts())}")
    _best(args)
    frame = study.trials_dataframe()
    if frame.empty:
        return
    frame["error"] = [text.splitlines()[-1][:60] if text else "" for text in frame["error"]]
    with pd.option_context("display.width", 200, "display.max_columns", None,
                           "display.max_rows", None):
        print(frame.drop(columns=["start"]).to_string(index=False))


def _stop(args: argparse.Namespace) -> None:
    import getpass

    store = _storage(args.storage)
    try:
        store.request_stop(args.name, by=f"a terminal ({getpass.getuser()})")
    except StudyNotFoundError as exc:
        raise CommandError(str(exc)) from None
    print(f"asked {args.name} to stop through {store.location}; the process that runs it stops "
          f"it within a second")


def _delete(args: argparse.Namespace) -> None:
    store = _storage(args.storage)
    if not args.yes and sys.stdin.isatty():
        _confirm_delete(store, args.name, args.storage)
    try:
        count = store.delete_study(args.name)
    except StudyNotFoundError as exc:
        raise CommandError(str(exc)) from None
    print(f"deleted study {args.name!r} and its {count} trials from {store.location}")


def _confirm_delete(store: BaseStorage, name: str, storage: str | None) -> None:
    """Ask at a terminal before a study is deleted for good (as ``rm -i``); anything but
    y/yes keeps it. A study that does not exist or still runs is refused without asking."""
    summary = store.find_study(name)
    if summary is None or summary.state.active:
        return  # the delete itself says why not
    best = "" if summary.best_value is None else \
        f", best {summary.metric}={summary.best_value:.6g}"
    question = (f"delete study {name!r} ({summary.state}, "
                f"{summary.trials} trials{best}) and its checkpoints from {store.location} "
                f"for good? [y/N] (--yes skips this question) ")
    try:
        answer = input(question)
    except (EOFError, KeyboardInterrupt):
        answer = ""
        print()
    if answer.strip().lower() not in ("y", "yes"):
        raise CommandError(f"study {name!r} was not deleted (the answer was not y); export it "
                           f"first to keep its table: {_invoked_as()} export "
                           f"{shlex.quote(name)} {shlex.quote(name + '.csv')}"
                           f"{'' if storage is None else ' --storage ' + shlex.quote(storage)}")


def _export_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``export FILE`` exports the latest study (as ``%hpo export FILE``); a FILE left out is
    a usage error with the command to write."""
    from .magic._export import EXPORT_FORMATS

    if args.file is not None:
        return
    if args.name is not None and args.name.lower().endswith(EXPORT_FORMATS):
        args.name, args.file = None, args.name
        return
    formats = ", ".join(EXPORT_FORMATS)
    if args.name is None:
        parser.error(f"the following arguments are required: FILE (ending in {formats}), e.g. "
                     f"{parser.prog} mlp mlp.csv, or {parser.prog} trials.csv for the latest "
                     f"study")
    parser.error(f"the following arguments are required: FILE (ending in {formats}), e.g. "
                 f"{parser.prog} {shlex.quote(args.name)} {shlex.quote(args.name + '.csv')}")


def _export(args: argparse.Namespace) -> None:
    from .magic import export
    from .magic._export import EXPORT_FORMATS, REPLACED

    if not args.file.lower().endswith(EXPORT_FORMATS):
        raise CommandError(f"FILE must end in {', '.join(EXPORT_FORMATS)} (got {args.file!r})")
    study = _load(args)
    try:
        replaced = export(study, args.file)
    except OSError as exc:
        raise CommandError(f"cannot write {args.file}: {exc.strerror or exc}; pick a file in a "
                           f"folder that exists and that you can write to") from None
    print(f"wrote {len(study.trials)} trials of {study.name} to {args.file}"
          f"{REPLACED if replaced else ''}")
