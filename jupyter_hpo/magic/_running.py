"""Running a ``%%hpo`` study in the cell: the blocking join that serves the dashboard's
buttons, interrupts, and what the cell leaves behind (the best trial's variables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import HPOError, command_word
from ..short_loop import short_loop_note
from ._interrupts import deferred_interrupts
from ._stop_wait import StopWaitNote

if TYPE_CHECKING:
    from ..study import Study


@dataclass
class Run:
    """A study started by the magic, with how it should end."""

    study: Study
    dashboard: Any
    apply: bool
    out_name: str
    concluded: bool = False  # its ending is done: the dashboard's summary, the best applied


class CellRunning:
    """Joining and concluding a study of the cell (a part of ``HPOMagics``)."""

    shell: Any
    runs: dict[str, Run]

    def _abandon(self, run: Run, earlier: Run | None = None) -> None:
        """End a study that could not start: nothing is left stored as running, and this
        kernel's studies (``%hpo list``, ``%hpo wait``) leave it out. A resume is given back
        as it was, stored and in this kernel (``earlier``: the run it resumed here, with the
        variables of its best trials)."""
        from ..study._study import NOT_STARTED

        study = run.study
        study.stop(NOT_STARTED, force=True)
        study.wait(5)
        if run.dashboard is not None:
            run.dashboard.finish()
        if self.runs.get(study.name) is run:
            del self.runs[study.name]
            if earlier is not None:
                self.runs[study.name] = earlier

    @staticmethod
    def _not_resumed(study: Study) -> None:
        """Say that an interrupt came before a resumed study started, and how it is kept."""
        before = study.resumed_from
        if before is None or study.storage is None:
            return
        count = len(study.trials)
        print(f"jupyter_hpo: interrupted before {study.name} resumed: none of its trials ran, "
              f"and it is stored as it was ({before.state}, {count} "
              f"trial{'s' if count != 1 else ''}); run the cell again to resume it "
              f"(%%hpo --name {command_word(study.name)} --resume)")

    # ---------------------------------------------------------------- joining
    def _join(self, run: Run, interrupted: bool = False) -> None:
        """Block until the study ends, serving dashboard buttons; Ctrl-C stops it gracefully,
        a second Ctrl-C at once (``interrupted``: the first one came already)."""
        __tracebackhide__ = True  # the KeyboardInterrupt raised below shows the cell only
        study = run.study
        try:
            if interrupted:
                raise KeyboardInterrupt
            self._block(run)
        except KeyboardInterrupt:
            interrupted = True
            study.hold_end()  # the interrupt may be a restart's first step: stored at the end
            study.stop("interrupted")
            print(f"jupyter_hpo: interrupted; stopping {study.name} (running trials stop at "
                  f"their next report; interrupt again to force)")
            try:
                self._block(run)
            except KeyboardInterrupt:
                study.stop("interrupted twice", force=True)
                study.wait(5)
        with deferred_interrupts() as interrupted_again:  # the final drawing, uncut
            self._conclude(run, error_follows=study.error is not None and not interrupted)
            study.store_end()  # the kernel survived the interrupt (not a restart)
        if interrupted or interrupted_again():
            raise KeyboardInterrupt
        if study.error is not None:
            raise UsageError(f"StudyFailedError: {study.error}")

    def _join_all(self, runs: list[Run]) -> None:
        """Join ``runs`` one after the other; Ctrl-C stops all of them (as it stops one), and
        a study that failed does not keep the others from being joined."""
        __tracebackhide__ = True
        interrupted, failures = False, []
        for run in runs:
            try:
                self._join(run, interrupted=interrupted)
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = True
                    for other in runs:
                        other.study.hold_end()
                        other.study.stop("interrupted")
            except UsageError as exc:
                failures.append(f"{run.study.name}: {exc}" if len(runs) > 1 else str(exc))
        if interrupted:
            raise KeyboardInterrupt
        if failures:
            raise UsageError("\n".join(failures))

    def _block(self, run: Run) -> None:
        from ..widgets.kernel_poll import serving_ui_events

        note = StopWaitNote(run.study)
        # SIGINT only sets a flag while the loop waits, acted on between polls: raised where
        # it lands, it could land in a finaliser (``__del__``) that the main thread runs,
        # where Python drops the exception and the interrupt was lost; nor is a drawing (which
        # may import matplotlib) cut in half
        with deferred_interrupts() as interrupted, serving_ui_events() as poll:
            while not run.study.done:
                poll(0.05)
                if interrupted():
                    raise KeyboardInterrupt
                note.check()
                if run.dashboard is not None:
                    run.dashboard.refresh()
                if interrupted():
                    raise KeyboardInterrupt
        run.study.wait()  # the study is stored

    def _conclude(self, run: Run, error_follows: bool = False) -> None:
        """The study's ending in the cell: its dashboard's summary, the best trial applied.
        ``error_follows``: the cell raises the study's error right after, so the summary
        leaves it out (the error is shown once, below it)."""
        study = run.study
        run.concluded = True
        if run.dashboard is not None:
            run.dashboard.finish()
        self.shell.user_ns[run.out_name] = study
        failed_outright = study.error is not None and study.best_trial is None
        message = self._apply(study, holder=run.out_name) \
            if run.apply and not failed_outright else None
        if run.dashboard is not None:
            run.dashboard.show_summary(with_error=not error_follows)
        if message:
            print(f"jupyter_hpo: {message}")
        note = short_loop_note(study, magic=True)
        if note:
            print(f"jupyter_hpo: {note}")
        if study.unstored:
            print(f"jupyter_hpo: {study.unstored}")

    def _apply(self, study: Study, trial_id: int | None = None, holder: str = "study") -> str:
        """Put a trial's variables (the best's by default) into the notebook; say what, naming
        the study by ``holder``, the notebook variable that holds it."""
        from ..applying import apply_trial

        try:
            return apply_trial(study, trial_id, self.shell.user_ns, holder)
        except HPOError as exc:
            raise UsageError(str(exc)) from None
