"""The ``HPOMagics`` class: the ``%%hpo`` cell magic's and the ``%hpo`` line magic's command
lines (``magic_arguments``), put together from the parts of this package: ``_arguments`` (how
options are declared), ``_parsing`` (the command line parsed, its errors explained),
``_option_guesses`` and ``_line_hints`` (what a misspelt option or ``%hpo`` line meant)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import HPOError, command_word
from ..options import DEFAULT_TRIALS
from ..records import StudyState
from ._arguments import _mode, once
from ._cell_lines import numbered_cell
from ._commands import LineCommands
from ._figures import TrialFigures, close_figures_since, open_figures
from ._interrupts import deferred_interrupts
from ._line_hints import LINE_COMMANDS, _line_hint
from ._options import CellOptions, check_line_options
from ._output_name import check_output_name
from ._parsing import _options_of, _parse
from ._running import CellRunning, Run
from ._text import misplaced_message, on_storage


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
    @once("--trial-timeout", help="fail a trial whose code runs longer than this (90, 90s, "
                                  "30m, 1h)")
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
    @argument("--force", action="store_true",
              help="with stop: end the running trials' code now, also one that does not "
                   "report again (a thread's at its next line of Python)")
    @once("--metric", help="with plot curves: the learning curves of this reported value "
                           "instead of the study's metric")
    @once("--params", metavar="A,B", help="with plot contour: the two hyperparameters to "
                                          "draw (default: the two most important)")
    @once("--storage", help="SQLite file to read (default: jupyter_hpo.db in the working "
                            "directory, or $JUPYTER_HPO_STORAGE)")
    @line_magic("hpo")
    def hpo_line(self, line: str) -> Any:
        """Manage studies: list, show, stop [--trial ID] [--force], best, apply [--trial ID],
        wait, plot [KIND] [--metric KEY] [--params A,B], export FILE, delete; a NAME picks the
        study (default: the latest)."""
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


def parse_cell_options(options: str) -> Any:
    """The options of a ``%%hpo`` line as the magic parses and checks them before it reads
    the cell (``check_line_options``); a UsageError carries the magic's message (the editor's
    diagnostics show the same text before the cell runs)."""
    args = _parse(HPOMagics.hpo, options)
    check_line_options(args)
    return args
