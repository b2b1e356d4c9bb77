"""The ``%hpo`` line commands: list, show, stop, best, apply, wait, plot, export, delete, on
this kernel's studies and on stored ones."""

from __future__ import annotations

import difflib
import os
import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import HPOError, StudyNotFoundError, command_word
from ..records import no_trial_text
from ..storage._common import nearest_name
from ._export import EXPORT_FORMATS, REPLACED, export, print_checkpoints
from ._running import Run
from ._text import DASHES, listed

if TYPE_CHECKING:
    from ..storage import BaseStorage
    from ..study import Study


class LineCommands:
    """What ``%hpo COMMAND`` does (a part of ``HPOMagics``)."""

    shell: Any
    runs: dict[str, Run]

    def _line_command(self, args: Any) -> Any:
        __tracebackhide__ = True  # see HPOMagics.hpo_line
        command, rest = args.command, list(args.args)
        if "" in rest:  # '' or "" on the line: no name at all (it was an IndexError)
            what = "a NAME or FILE goes: write %hpo export NAME FILE, e.g. %hpo export mlp " \
                "mlp.csv" if command == "export" else "a NAME goes: write the study's name, " \
                "or leave it out for the latest study"
            raise UsageError(f"%hpo {command}: an empty word ('') where {what}")
        dashed = next((word for word in rest if word[:1] in tuple(DASHES)), None)
        if dashed is not None:  # an editor made a dash of "--": not an option to argparse
            raise UsageError(f"%hpo {command}: {dashed} starts with {dashed[0]}, a dash that an "
                             f"editor or a chat app made of --: type two hyphens "
                             f"(--{dashed.lstrip('-' + DASHES)})")
        if args.trial is not None and command not in ("stop", "apply"):
            raise UsageError(f"--trial only applies to %hpo stop and %hpo apply, not to "
                             f"%hpo {command}")
        if args.force and command != "stop":
            raise UsageError(f"--force only applies to %hpo stop, not to %hpo {command}")
        if command == "list":
            if rest:
                raise UsageError(f"%hpo list takes no NAME (got {' '.join(rest)})")
            self._list(args.storage)
            return None
        if args.metric is not None and command != "plot":
            raise UsageError(f"--metric only applies to %hpo plot curves, not to %hpo {command}"
                             f" (a study's metric is set by %%hpo --metric when it runs)")
        if args.params is not None and command != "plot":
            raise UsageError(f"--params only applies to %hpo plot contour, not to %hpo "
                             f"{command}")
        if command == "plot":
            from ..plots import KINDS

            kind, rest = (rest[0], rest[1:]) if rest else ("history", rest)
            if kind not in KINDS:
                raise UsageError(_plot_kind_hint(kind, rest, KINDS))
            if args.metric is not None and kind != "curves":
                raise UsageError(f"--metric only applies to %hpo plot curves, not to {kind}")
            if args.params is not None and kind != "contour":
                raise UsageError(f"--params only applies to %hpo plot contour, not to {kind}")
        if command == "export":
            if len(rest) > 2 and not rest[-1].lower().endswith(EXPORT_FORMATS):
                # not "'extra' does not (e.g. %hpo export mlp out.csv extra.csv)"
                raise UsageError(_too_many(command, rest))
            if not rest or not rest[-1].lower().endswith(EXPORT_FORMATS):
                formats = ", ".join(EXPORT_FORMATS)
                stem = rest[-1].rsplit(".", 1)[0] if rest else ""
                meant = stem if stem.lower().endswith(EXPORT_FORMATS) else f"{stem}.csv"
                got = (f"; {rest[-1]!r} is not such a file (to export the study "
                       f"{rest[-1]!r}: %hpo export {rest[-1]} {rest[-1]}.csv)") if len(rest) == 1 \
                    else (f"; {rest[-1]!r} does not (e.g. %hpo export "
                          f"{' '.join(map(command_word, rest[:-1]))} {command_word(meant)})") \
                    if rest else " (no FILE given)"
                raise UsageError(f"%hpo export [NAME] FILE: FILE must end in {formats}{got}")
            target, rest = rest[-1], rest[:-1]
        if len(rest) > 1:
            raise UsageError(_too_many(command, rest, getattr(args, "trial", None)))
        name = rest[0] if rest else None
        if command == "stop":
            self._stop(name, args.trial, args.storage, args.force)
        elif command == "wait":
            self._wait(name)
        elif command == "delete":
            self._delete(name, args.storage)
        elif command == "show":
            self._show(name, args.storage)
        elif command == "best":
            self._best(self._study(name, args.storage))
        elif command == "apply":
            study = self._study(name, args.storage)
            print(f"jupyter_hpo: {self._apply(study, args.trial, self._holder(study))}")
        elif command == "plot":
            from IPython.display import display

            study = self._study(name, args.storage)
            try:
                options: dict[str, Any] = {} if args.metric is None \
                    else {"metric": args.metric}
                if args.params is not None:
                    options["params"] = _param_pair(args.params)
                figure = study.plot(kind, **options)
            except ValueError as exc:  # its code as the notebook writes it: _hpo.plot(...)
                message = str(exc).replace("study.plot(", f"{self._holder(study)}.plot(")
                pair = re.search(r"params=\('([^']+)', '([^']+)'\)\)", message)
                if pair:
                    message += f" or %hpo plot contour --params {pair[1]},{pair[2]}"
                raise UsageError(message) from None
            display(figure)
        elif command == "export":
            study = self._study(name, args.storage)
            try:
                replaced = export(study, target)
            except OSError as exc:  # a missing folder, no permission, a full disk
                reason = exc.strerror or str(exc)
                raise UsageError(f"cannot write {target}: {reason}; pick a file in a folder "
                                 f"that exists and that you can write to") from None
            print(f"jupyter_hpo: wrote {len(study.trials)} trials of {study.name} to {target}"
                  f"{REPLACED if replaced else ''}")
        return None

    def _wait(self, name: str | None) -> None:
        """Join the study ``name``; without a name, every study of this kernel not joined yet,
        in the order they started (the latest one's best trial is applied last)."""
        __tracebackhide__ = True  # Ctrl-C's KeyboardInterrupt shows the cell, not our frames
        from ..widgets.kernel_poll import keeping_kernel_busy

        runs = [self._run(name)] if name is not None else \
            [run for run in self.runs.values() if not run.concluded] or [self._run(None)]
        if runs[0].concluded:  # joined already: its best trial was applied then
            print(f"jupyter_hpo: {_ended(runs[0].study)}")
            return
        with keeping_kernel_busy():  # the final drawing too
            self._join_all(runs)

    def _stop(self, name: str | None, trial: int | None, storage: str | None,
              force: bool = False) -> None:
        """Stop a study (or one trial) of this kernel (without a name, the latest that still
        runs; ``force``: its trials' code ends now); a stored study that another kernel runs
        is asked to stop through its storage."""
        if storage is not None and name in self.runs and self._kept_in(name, storage):
            storage = None  # the study of this kernel, named with its own file
        if storage is None and (name is None and self.runs or name in self.runs):
            running = [run.study for run in self.runs.values() if not run.study.done]
            study = self._run(name).study if name is not None or not running else running[-1]
            if study.done:
                ids = [t.trial_id for t in study.trials]
                if trial is not None and trial not in ids:  # checked as a running study does
                    raise UsageError(no_trial_text(study.name, trial, ids))
                print(f"jupyter_hpo: {study.name} has already ended ({study.state}); "
                      f"nothing to stop")
                return
            if trial is not None:
                try:
                    stopping = study.stop_trial(trial, force=force)
                except HPOError as exc:  # no such trial: what ids there are
                    raise UsageError(str(exc)) from None
                if stopping:
                    print(f"jupyter_hpo: trial {trial} of {study.name} "
                          f"{'is ending now' if force else 'stops at its next report'}")
                else:
                    print(f"jupyter_hpo: trial {trial} of {study.name} has already ended")
                return
            study.stop("stopped with %hpo stop", force=force)
            others = [other.name for other in running if other is not study]
            still = "" if name is not None or not others else \
                f"; {others[0]} still runs (`%hpo stop {command_word(others[0])}` stops it)" \
                if len(others) == 1 else \
                f"; {listed(others)} still run (`%hpo stop NAME` stops each)"
            print(f"jupyter_hpo: {study.name} " + ("has stopped (its running trials were "
                  "ended)" if force else "is stopping (running trials stop at their next "
                  "report)") + still)
            return
        if name is None:
            raise UsageError("no study has run in this kernel: %hpo stop NAME stops a stored "
                             "study that another kernel runs")
        store = self._storage(storage)
        if (trial is not None or force) and store.find_study(name) is None:
            self._load(name, store)  # says why, as the other commands do (no such file)
        if force:
            raise UsageError(f"--force works for studies of this kernel only; {name!r} is not "
                             f"one (%hpo stop {command_word(name)} asks it to stop; "
                             f"%hpo stop {command_word(name)} --force in its own kernel ends "
                             f"its trials now)")
        if trial is not None:
            raise UsageError(f"--trial works for studies of this kernel only; {name!r} is not "
                             f"one (stop the whole study, or stop the trial in its kernel)")
        store.request_stop(name, by=f"%hpo stop in the kernel with process id {os.getpid()}")
        print(f"jupyter_hpo: asked {name} to stop through {store.location}; its kernel stops it "
              f"within a second")

    def _run(self, name: str | None) -> Run:
        if not self.runs:
            raise UsageError("no study has run in this kernel yet: start one with %%hpo")
        if name is None:
            return list(self.runs.values())[-1]
        if name not in self.runs:
            raise UsageError(f"no study named {name!r} runs in this kernel; studies: "
                             f"{', '.join(self.runs)}")
        return self.runs[name]

    def _storage(self, location: str | None, read_only: bool = False) -> BaseStorage:
        """The storage ``location`` names (``read_only``: opened only to read, so that
        reading writes nothing to the file, nor migrates an older one)."""
        from ..storage import StorageError, open_storage

        if location is not None and not location.strip():  # --storage= or --storage ''
            raise UsageError(f"--storage is {location!r}: pass the file the studies were stored "
                             f"in (e.g. --storage runs.db), or leave out --storage for the "
                             f"default file")
        try:
            store = open_storage(location, read_only=read_only)
        except StorageError:
            missing = _in_missing_folder(location)  # no command here creates a file
            if not missing:
                raise
            raise UsageError(missing) from None
        if store is None:
            raise UsageError("--storage none keeps nothing, so there is nothing to read")
        return store

    def _holder(self, study: Study) -> str:
        return _holder_of(study, self.shell.user_ns)

    def _study(self, name: str | None, storage: str | None) -> Study:
        """The study ``name`` of this kernel, else the stored one (default: the latest)."""
        if storage is None and self.runs and (name is None or name in self.runs):
            study = self._run(name).study
            return _continued_elsewhere(study, say=True) or study
        store = self._storage(storage, read_only=True)
        if name is None:
            studies = store.list_studies()
            if not studies:
                if self.runs:
                    raise UsageError(f"{store.location} holds no studies; this kernel's "
                                     f"({', '.join(self.runs)}) are read without --storage")
                raise UsageError(f"no study has run in this kernel and {store.location} holds "
                                 f"none: start one with %%hpo")
            name = max(studies, key=lambda s: s.updated).name
        return self._load(name, store)

    def _load(self, name: str, store: BaseStorage) -> Study:
        """The stored study ``name``; not found, the error also names this kernel's studies
        (kept elsewhere, or not at all) and the nearest name."""
        from ..study import Study

        try:
            return Study.load(name, store)
        except StudyNotFoundError as exc:
            raise UsageError(self._not_found(exc, name, store)) from None

    def _not_found(self, exc: StudyNotFoundError, name: str, store: BaseStorage) -> str:
        """The storage's error for ``name``, naming this kernel's studies too, and the nearest
        name among both (the storage's own guess knows only the stored ones)."""
        message = getattr(exc, "listing", str(exc))
        if name in self.runs:  # not "did you mean 'mlp'?" for mlp itself
            study = self.runs[name].study
            kept = f"stored in {study.storage.location}" if study.storage is not None \
                and study.storage.location != ":memory:" else "kept in no file"
            return f"{message}; {name!r} is a study of this kernel, {kept}: leave out --storage"
        names = list(self.runs) + [s.name for s in store.list_studies()]
        close = nearest_name(name, names)
        if self.runs:
            message += f"; this kernel's studies: {', '.join(self.runs)}"
        return message + (f"; did you mean {close[0]!r}?" if close else "")

    def _kept_in(self, name: str, storage: str) -> bool:
        """Whether the study ``name`` of this kernel is stored in the file ``storage``."""
        study = self.runs[name].study
        return study.storage is not None and \
            study.storage.location == self._storage(storage, read_only=True).location

    def _show(self, name: str | None, storage: str | None) -> None:
        from ..widgets.dashboard import Dashboard

        if storage is None and self.runs and (name is None or name in self.runs) and \
                _continued_elsewhere(self._run(name).study) is None:
            run = self._run(name)
            print_checkpoints(run.study)
            if run.dashboard is None:
                run.dashboard = Dashboard(run.study,
                                          on_apply_best=lambda: self._apply(run.study))
            run.dashboard.display()
            if run.study.done:
                run.dashboard.finish()
                run.dashboard.show_summary()  # what a saved notebook shows without a kernel
            else:
                run.dashboard.reserve_summary()  # filled in when the study ends
                run.dashboard.start_background_refresh()
            return
        study = self._study(name, storage)  # a stored study: a static dashboard
        print_checkpoints(study)
        dashboard = Dashboard(study, on_apply_best=lambda: self._apply(study))
        dashboard.display()
        dashboard.finish()
        dashboard.show_summary()

    def _delete(self, name: str | None, storage: str | None) -> None:
        if name is None:
            raise UsageError("%hpo delete needs the NAME of the study to delete")
        run = self.runs.get(name)
        if run is not None and not run.study.done:
            raise UsageError(f"study {name!r} is running in this kernel: stop it first with "
                             f"`%hpo stop {command_word(name)}`")
        store = run.study.storage if run is not None and run.study.storage is not None \
            and storage is None else self._storage(storage)
        try:
            count = store.delete_study(name)
        except StudyNotFoundError as exc:
            raise UsageError(self._not_found(exc, name, store)) from None
        self.runs.pop(name, None)
        print(f"jupyter_hpo: deleted study {name!r} and its {count} trials from "
              f"{store.location}")

    def _list(self, storage: str | None) -> None:
        """This kernel's studies, then the stored ones: each one's state, budget spent, trials
        per status and best value, said as the dashboard says them."""
        from ..listing import live_line, stored_line

        lines = []
        shown = set()
        for name, run in self.runs.items():
            s = run.study
            if _continued_elsewhere(s) is not None:
                continue  # listed below as stored, where it has moved on
            where = f" [{s.storage.location}]" if s.storage is not None else " [not stored]"
            lines.append(f"{live_line(s)} (this kernel){where}")
            if s.storage is not None:
                shown.add((s.storage.location, name))
        store = self._storage(storage, read_only=True)
        for stored in store.list_studies():
            if (store.location, stored.name) in shown:
                continue
            lines.append(f"{stored_line(stored)} [{store.location}]")
        path = getattr(store, "path", None)
        if storage is not None and isinstance(path, str) and not os.path.exists(path):
            lines.append(f"{store.location}: no such file (pass --storage with the file the "
                         f"studies were stored in)")
        print("\n".join(lines) if lines else f"no studies in this kernel or in {store.location}")

    def _best(self, study: Study) -> None:
        print(study.best_summary())


def _continued_elsewhere(study: Study, say: bool = False) -> Study | None:
    """The stored copy of this kernel's ended ``study`` when another kernel or a script has
    resumed it since (the stored study holds more trials), else ``None``; ``say`` prints
    that the stored copy is read."""
    from ..study import Study

    if not study.done or study.storage is None or study.study_id is None:
        return None
    try:
        stored = study.storage.find_study(study.name)
        if stored is None or stored.study_id != study.study_id or \
                stored.trials <= len(study.trials):
            return None
        newer = Study.load(study.name, study.storage)
    except HPOError:  # the file cannot be read now: this kernel's copy is what there is
        return None
    if say:
        print(f"jupyter_hpo: {study.name} was continued by another kernel or a script after "
              f"it ran here ({len(study.trials)} trials here, {stored.trials} now): reading it "
              f"from {study.storage.location}")
    return newer


def _holder_of(study: Study, namespace: dict[str, Any]) -> str:
    """The notebook variable that holds ``study`` (``_hpo``, an ``-o`` name), for the code a
    message shows; ``study`` when none does (a stored study read by name)."""
    return next((key for key, value in list(namespace.items())
                 if value is study and key.isidentifier()
                 and key.lstrip("_") and not key.lstrip("_").isdigit()), "study")


def _plot_kind_hint(kind: str, rest: list[str], kinds: tuple[str, ...]) -> str:
    """What to do about ``%hpo plot WORD``: a misspelt kind, or a study's name written before
    its kind (``%hpo plot mystudy history``) or without one."""
    from ..plots import kind_of_other_name

    message = f"unknown plot kind {kind!r}: use one of {', '.join(kinds)}"
    ours = kind_of_other_name(kind)
    if ours:
        return f"{message}; {ours}"
    close = difflib.get_close_matches(kind.lower(), kinds, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]}?"
    if rest and rest[0] not in kinds:  # %hpo plot scatter NAME: the order was right
        return message
    example = rest[0] if rest and rest[0] in kinds else kinds[0]
    return (f"{message}; the kind comes first, then the study's NAME "
            f"(e.g. %hpo plot {example} {kind})")


def _param_pair(text: str) -> tuple[str, str]:
    """``--params lr,units`` (or ``"lr units"``) as the pair ``plot("contour", params=...)``
    takes; a UsageError for anything but two names."""
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    if len(names) != 2:
        raise UsageError(f"--params takes two hyperparameters, e.g. --params lr,units (got "
                         f"{text!r})")
    return names[0], names[1]


def _ended(study: Study) -> str:
    """What ``%hpo wait`` says of a study whose ending was done before (its best trial
    applied then, perhaps replaced since by ``%hpo apply --trial``)."""
    best = study.best_trial
    word = command_word(study.name)
    if best is None:  # nothing to apply: say where the reason is
        return (f"{study.name} has already ended ({study.state}) and no trial reported a value "
                f"of {study.metric}; `%hpo show {word}` draws its dashboard, with each trial's "
                f"traceback under \"Trial output and tracebacks\"")
    return (f"{study.name} has already ended ({study.state}): best {study.metric}="
            f"{study.best_value:.6g} (trial {best.trial_id}); `%hpo apply {word}` puts the best "
            f"trial's variables into the notebook again, `%hpo show {word}` draws its "
            f"dashboard")


def _too_many(command: str, rest: list[str], trial: int | None = None) -> str:
    """Why ``%hpo COMMAND`` refused its words: it takes one study NAME (and a trial by
    ``--trial``, given as ``trial`` or not at all)."""
    usage = {"plot": "%hpo plot [KIND] [NAME]", "export": "%hpo export [NAME] FILE"}.get(
        command, f"%hpo {command} [NAME]" + (" [--trial N]" if command in ("stop", "apply")
                                            else ""))
    message = f"%hpo {command}: too many arguments: {' '.join(rest)} ({usage})"
    if command in ("stop", "apply") and len(rest) == 2 and rest[1].isdigit():
        if trial is not None:  # --trial 1 2: not a trial to move behind --trial
            return (f"{message}; --trial takes one trial number, and it was given --trial "
                    f"{trial}: %hpo {command} {rest[0]} --trial {trial}")
        return (f"{message}; a trial is named with --trial: %hpo {command} {rest[0]} "
                f"--trial {rest[1]}")
    if command == "export":  # more often a file name with spaces
        return (f"{message}; a study name or a FILE with spaces goes in quotes: %hpo export "
                f"\"my study\" \"my results.csv\"")
    return f"{message}; a study name with spaces goes in quotes: %hpo {command} \"my study\""


def _in_missing_folder(location: str | None) -> str:
    """What reading the storage ``location`` (None: the default) says where its folder does
    not exist: not "cannot create ...", since reading creates nothing (as ``python -m
    jupyter_hpo list`` says it); ``""`` where the folder exists or the location is no path."""
    from ..storage import StorageError, default_storage_path, storage_path
    from ..storage._common import from_environment

    try:
        path = storage_path(location if location is not None else default_storage_path())
    except (StorageError, ValueError):
        return ""
    folder = os.path.dirname(path)
    if os.path.isdir(folder):
        return ""
    message = (f"{path} does not exist, nor does its folder {folder}: no study has been stored "
               f"there; pass the file the studies were stored in with --storage")
    return from_environment(message) if location is None and os.environ.get(
        "JUPYTER_HPO_STORAGE") else message
