"""The ``HPOMagics`` class: the ``%%hpo`` cell magic's and the ``%hpo`` line magic's command
lines (``magic_arguments``), put together from the parts of this package."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import HPOError, command_word
from ..options import DEFAULT_TRIALS
from ..records import Direction, StudyState
from ._cell_lines import numbered_cell
from ._commands import LineCommands
from ._figures import TrialFigures, close_figures_since, open_figures
from ._interrupts import deferred_interrupts
from ._options import CellOptions, check_line_options
from ._output_name import check_output_name
from ._running import CellRunning, Run
from ._stray_words import stray_words_hint
from ._text import (
    DASHES,
    listed,
    misplaced_message,
    on_storage,
    split_line,
    typographic_quotes_hint,
    unquoted,
)


def _mode(text: str) -> str:
    """``--mode``: ``min`` or ``max``, also spelt as ``tune()`` takes them (``maximize``)."""
    try:
        return Direction.of(unquoted(text)).value
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from 'min', "
                                         f"'max')") from None


_GIVEN = "_given_once"  # the namespace's record of the Once options given (see _parse)


class Once(argparse.Action):
    """argparse's ``store`` for an option that takes one value: given a second time it is a
    UsageError, where argparse kept the last one silently (``--storage none --storage x.db``
    wrote to x.db). The repeatable options (``action="append"``) are not Once."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        given = namespace.__dict__.setdefault(_GIVEN, {})
        if self.dest in given:
            flag = max(self.option_strings, key=len)  # --mode, also when written --mo
            raise UsageError(f"{flag} given twice ({given[self.dest]}, then {values}): give "
                             f"it once")
        given[self.dest] = values
        setattr(namespace, self.dest, values)


def once(*names: str, **options: Any) -> Any:
    """``magic_arguments.argument`` for an option that takes one value (``Once``); a typed
    one reads its value without the quotes around it, as the string options do (``--trials
    "5"`` was "invalid int value: '"5"'")."""
    if "type" in options:
        options["type"] = _unquoting(options["type"])
    return argument(*names, action=Once, **options)


def _unquoting(convert: Any) -> Any:
    """``convert`` applied to its text without one pair of quotes around it; named as
    ``convert`` is, which argparse's "invalid int value" says."""
    import functools

    @functools.wraps(convert)
    def converted(text: str) -> Any:
        return convert(unquoted(text))

    return converted


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


@magics_class
class HPOMagics(CellOptions, CellRunning, LineCommands, Magics):
    """``%%hpo`` runs the cell as a hyperparameter study; ``%hpo`` manages studies."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.runs: dict[str, Run] = {}
        self._figures: TrialFigures | None = None  # the trials' pyplot figures

    # ------------------------------------------------------------------ %%hpo
    @magic_arguments(name="%hpo")  # its usage then reads %%hpo, not %hpo
    @once("--metric", help="reported value to optimise (inferred when the cell reports "
                           "one metric)")
    @once("--mode", type=_mode, help="min or max: minimise or maximise the metric (inferred "
                                     "for names like *loss*, *err* -> min, *acc*, *auc*, "
                                     "*f1*, *score* -> max)")
    @once("--trials", type=int, help=f"number of trials (default {DEFAULT_TRIALS}, the "
                                     f"whole grid for --searcher grid)")
    @once("--time-limit", help="stop the study after this long: 90, 90s, 30m, 1h30m")
    @once("--scheduler", choices=["auto", "fifo", "hyperband"],
          help="auto (default; a resumed study's own) stops poor trials where early epochs predict the final "
               "result, as measured while the study runs; fifo runs every trial to the "
               "end; hyperband stops or pauses poor trials")
    @once("--type", choices=["stopping", "promotion"],
          help="hyperband variant (default stopping)")
    @once("--grace-period", type=float, help="hyperband: first rung (default 1)")
    @once("--reduction-factor", type=float, help="hyperband: eta (default 3)")
    @once("--brackets", type=int, help="hyperband: number of brackets (default 1)")
    @once("--max-t", type=float, help="hyperband: maximum resource (default: `epochs = N` "
                                      "in the cell)")
    @argument("--scheduler-opt", action="append", default=[], metavar="KEY=VALUE",
              help="scheduler option, repeatable (e.g. auto: min_pairs=8, full_fraction=0.2, "
                   "unmeasured_keep=1)")
    @once("--resource", help="resource key in report() (default epoch, or the one key "
                             "named like a count of progress: step, iteration, round, ...)")
    @once("--searcher",
          help="auto (default: bayesopt; a resumed study's own), random, grid, skopt, tpe, bayesopt, bohb or rl")
    @argument("--searcher-opt", action="append", default=[], metavar="KEY=VALUE",
              help="searcher option, repeatable (e.g. grid: points=5; skopt: "
                   "base_estimator=ET, acq_func=LCB; bayesopt: kernel=exp-decay-sum)")
    @once("--seed", type=int, help="seed for searcher and scheduler")
    @once("--workers", type=int, help="concurrent trials (default 1, or one per GPU slot "
                                      "with --gpus-per-trial)")
    @once("--executor", choices=["thread", "process", "dask"], default="thread",
          help="where trials run: threads of the kernel (default), worker processes, or "
               "tasks on a Dask cluster (a LocalCluster of --workers processes without "
               "--address)")
    @once("--trial-timeout", help="thread and process executors: fail a trial that runs "
                                  "longer than this (90, 90s, 30m, 1h)")
    @once("--address", help="dask executor: the scheduler of an existing cluster "
                            "(tcp://host:8786), or the name of a distributed.Client in the "
                            "notebook")
    @once("--gpus-per-trial", type=float, help="GPUs per trial: 1, 2, ... or a fraction "
                                               "0.5, 0.25 that packs trials onto a GPU")
    @once("--cpus-per-trial", type=float, help="CPU threads per trial (caps concurrent "
                                               "trials at CPUs / this)")
    @once("--name", help="study name (default study-N, the first N free in the storage)")
    @once("--storage", help="SQLite file that keeps the study (default jupyter_hpo.db in the "
                            "working directory, or $JUPYTER_HPO_STORAGE; `none`: keep "
                            "nothing)")
    @argument("--resume", action="store_true",
              help="continue the stored study --name (after a kernel restart or crash) with "
                   "its stored method options unless given again")
    @argument("--enqueue", action="append", default=[], metavar="CONFIG",
              help="a configuration to run first, as a dict, e.g. '{\"lr\": 0.01}' "
                   "(repeatable; missing hyperparameters are filled in by the searcher)")
    @once("--warm-start", metavar="NAME",
          help="a stored study whose results the searcher learns from first (not counted "
               "in the budget)")
    @argument("--keep-checkpoints", action="store_true",
              help="keep every trial's checkpoint (default: only the best trials' and those "
                   "of unfinished trials)")
    @once("--keep-namespaces", type=int, metavar="K",
          help="keep the variables of the K best trials for %%hpo apply --trial (in "
               "the kernel with threads, in each worker with process and dask; default 3)")
    @argument("--background", action="store_true", help="return at once; %%hpo wait joins")
    @once("-o", dest="output", default="_hpo",
          help="variable that receives the Study (default _hpo)")
    @argument("--no-apply", action="store_true",
              help="do not put the best trial's variables into the notebook")
    @argument("--quiet", action="store_true", help="no dashboard")
    @cell_magic
    def hpo(self, line: str, cell: str) -> None:
        """Run the cell as a hyperparameter study.

        Mark hyperparameters inline: ``lr = Real(1e-4, 1e-1, log=True)``, ``units=Int(16,
        256)``, ``Categorical("relu", "tanh")``, ``Bool()``, or ``lr = 1e-3  # hpo: Real(...)``.
        Inside the cell, ``report(epoch=..., val_acc=...)`` sends metrics, and ``trial``,
        ``config`` and ``device`` are defined. When the study ends the best trial's variables
        are in the notebook and the Study is in ``_hpo``.
        """
        # only parsed here: the line's checks (check_line_options) import the schedulers and
        # numpy, so they come with the setup below, which an interrupt cannot cut in half
        args = _parse(HPOMagics.hpo, line)
        check_output_name(args.output)
        if args.name is not None and args.name in self.runs \
                and not self.runs[args.name].study.done:
            raise UsageError(_still_running(self.runs[args.name].study))
        from ..widgets.kernel_poll import keeping_kernel_busy

        __tracebackhide__ = True  # an interrupt's traceback shows the cell, not our frames
        with keeping_kernel_busy():  # from showing the dashboard to the final drawing
            self._run_cell(args, cell)

    def _run_cell(self, args: Any, cell: str) -> None:
        """Build the cell's study, show its dashboard, start it and (unless --background)
        wait for it."""
        __tracebackhide__ = True
        written, source = numbered_cell(self.shell, cell)  # lines count as the editor's do
        # Setting up (imports, storage, the dashboard) is not interrupted half-way: an
        # interrupt meanwhile is kept and acted on once the study is in a consistent state.
        figures = open_figures()
        with deferred_interrupts() as interrupted:
            template = self._parse(source, written)
            if interrupted():  # before anything is stored (or leased, or started)
                raise KeyboardInterrupt
            study = self._build_study(args, template)
            run = Run(study, None, not args.no_apply, args.output)
            earlier = self.runs.pop(study.name, None)  # the latest study is the last entry
            if args.resume and earlier is not None and earlier.study.controller is not None \
                    and study.controller is not None:  # its best trials' models live on
                study.controller.adopt_namespaces(earlier.study.controller)
            self.runs[study.name] = run
            self.shell.user_ns[args.output] = study
            try:
                if not args.quiet and not interrupted():
                    from ..widgets.dashboard import Dashboard

                    run.dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study),
                                              header=lambda: self._header(study, args))
                    run.dashboard.display()
                if not interrupted():
                    if args.background or args.executor != "process":  # trials' figures
                        if self._figures is None:  # are their own, and drawn under no cell
                            self._figures = TrialFigures(self.shell)
                        self._figures.add(study, source)
                    study.start()
            except BaseException:
                self._abandon(run, earlier)  # e.g. a display error: nothing left half-started
                raise
        if interrupted():
            if study.state is StudyState.CREATED:
                self._abandon(run, earlier)
                self._not_resumed(study)
                raise KeyboardInterrupt
            try:
                self._join(run, interrupted=True)
            finally:
                close_figures_since(figures)
            return
        if args.background:
            word = command_word(study.name)
            print(f"jupyter_hpo: {study.name} runs in the background; `%hpo wait {word}` "
                  f"joins it, `%hpo stop {word}` stops it")
            if run.dashboard is not None:
                run.dashboard.reserve_summary()  # the saved cell shows how the study ended
                run.dashboard.start_background_refresh()
            return
        try:
            self._join(run)
        finally:
            close_figures_since(figures)  # the trials' own (see _figures.py)

    # ------------------------------------------------------------------- %hpo
    @magic_arguments(name="hpo")  # %hpo, not the method's name
    @argument("command", choices=LINE_COMMANDS, help="what to do")
    @argument("args", nargs="*", help="show/stop/best/apply/wait/delete [NAME]; plot [KIND] "
                                      "[NAME]; export [NAME] FILE (.csv, .parquet or .json)")
    @once("--trial", type=int, help="with stop: stop only this trial; with apply: apply "
                                    "this trial instead of the best")
    @once("--metric", help="with plot curves: the learning curves of this reported value "
                           "instead of the study's metric")
    @once("--params", metavar="A,B", help="with plot contour: the two hyperparameters to "
                                          "draw (default: the two most important)")
    @once("--storage", help="SQLite file to read (default: jupyter_hpo.db in the working "
                            "directory, or $JUPYTER_HPO_STORAGE)")
    @line_magic("hpo")
    def hpo_line(self, line: str) -> Any:
        """Manage studies: list, show, stop [--trial ID], best, apply [--trial ID], wait,
        plot [KIND] [--metric KEY] [--params A,B], export FILE, delete; a NAME picks the study
        (default: the latest)."""
        __tracebackhide__ = True  # Ctrl-C in %hpo wait shows the cell, not our frames
        try:
            args = _parse(self.hpo_line, line, intermixed=True)
        except UsageError as exc:
            raise UsageError(_line_hint(str(exc), line, _options_of(self.hpo))) from None
        try:
            return self._line_command(args)
        except HPOError as exc:
            raise UsageError(on_storage(str(exc), args.storage)) from None

    @line_magic("%hpo")
    def hpo_misplaced(self, line: str) -> None:
        """``%%hpo`` below a cell's first line, which IPython calls as a line magic named
        ``%hpo``: say where it goes instead of "Line magic function `%%hpo` not found"."""
        raise UsageError(misplaced_message(line) + "; the lines above it ran, the ones below "
                                                   "did not")


def _still_running(study: Any) -> str:
    """Why a cell cannot start a study under the name of one that has not ended, and what
    to do: wait for it, stop it (unless it is stopping already), or pick another name."""
    word = command_word(study.name)
    if study.state is StudyState.STOPPING:
        return (f"a study named {study.name!r} is stopping ({study.stop_reason}) and has not "
                f"ended yet: its running trials stop at their next report; `%hpo wait {word}` "
                f"waits for it, or pick another --name")
    return (f"a study named {study.name!r} is still running: `%hpo wait {word}` waits for it "
            f"to end, `%hpo stop {word}` stops it; or pick another --name")


def _nearest_option(word: str, known: list[str]) -> str:
    """What an unknown ``--word`` most likely means: ours for another library's name
    (``--n-trials``, ``--timeout``, ``--db``), a flag with its value (``--maximize``: ``--mode
    max``), a scheduler's or searcher's option as ``--scheduler-opt``/``--searcher-opt``
    (``--min-pairs``, ``--n-startup-trials``), else the nearest spelling or an option the word
    begins with; "" when none is close. The option names are compared without their dashes,
    which every one shares (and which an editor may have made an em dash)."""
    from ..other_names import FLAG_NAMES, OPTION_NAMES

    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")

    key = word.lstrip("-" + DASHES).replace("-", "_").lower()
    meant = FLAG_NAMES.get(key, "")
    if meant and meant.split()[0] in known:
        return meant
    ours = OPTION_NAMES.get(key, ("", ""))[1] or key
    if flag(ours) in known:
        return flag(ours)
    if "--searcher-opt" in known:
        component = _component_flag(ours)
        if component:
            return component
    names = [option[2:].replace("-", "_") for option in known]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6) or [
        name for name in names if key.startswith(name + "_")]  # --seed-value, --resume-from
    return flag(close[0]) if close else ""


def _component_flag(name: str) -> str:
    """``--scheduler-opt NAME=...`` or ``--searcher-opt NAME=...`` (saying which searchers
    take it) for an option of a scheduler or a searcher; "" for neither."""
    from ..schedulers import SCHEDULERS
    from ..searchers import SEARCHERS, searcher_class

    if any(name in cls.OPTIONS for cls in SCHEDULERS.values()):
        return f"--scheduler-opt {name}=..."
    takers = []
    for searcher in SEARCHERS:
        try:
            if name in searcher_class(searcher).OPTIONS:
                takers.append(searcher)
        except (ImportError, ValueError):  # a searcher whose library is not installed
            continue
    if not takers:
        return ""
    return f"--searcher-opt {name}=... (an option of {listed(takers)})"


def _options_of(magic: Any) -> list[str]:
    """The long options of a ``magic_arguments`` magic."""
    return [o for a in magic.parser._actions for o in a.option_strings if o.startswith("--")]


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
    if not message.startswith("unrecognized arguments:") or command == "list" \
            or "did you mean" in message or "--" in words:  # a misspelt option, or -- there
        return ""
    extras = message.split(":", 1)[1].split(";", 1)[0].split()
    if not any(word.startswith("-") for word in extras):
        return ""
    kept = list(words)
    for word in extras:
        if word in kept:
            kept.remove(word)
    return (f"; a study's NAME that starts with - goes after --, which ends the options: "
            f"%hpo {' '.join(kept)} -- {' '.join(extras)}")


def parse_cell_options(options: str) -> Any:
    """The options of a ``%%hpo`` line as the magic parses and checks them before it reads
    the cell (``check_line_options``); a UsageError carries the magic's message (the editor's
    diagnostics show the same text before the cell runs)."""
    args = _parse(HPOMagics.hpo, options)
    check_line_options(args)
    return args


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
            guesses = [(w.split("=")[0], _nearest_option(w.split("=")[0], known))
                       for w in words if w[0] in "-" + DASHES]
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

