"""Warnings decided per thread: the mode check and the warnings jupyter_hpo silences no longer
swap the process's warning state (``warnings.catch_warnings``) under other threads."""

from __future__ import annotations

import contextlib
import threading
import warnings

import pytest

from jupyter_hpo import ModeWarning
from jupyter_hpo.options import mode_against_name
from jupyter_hpo.warning_filters import filter_action, ignored_in_this_thread

NOTE = ("maximising val_loss as asked (mode max), although its name reads like a value to "
        "minimise (mode min): if max is meant, warnings.filterwarnings('ignore', "
        "category=jupyter_hpo.ModeWarning) silences this")


class Gate:
    """A warning filter's message pattern (Python calls its ``match`` for each warning) that
    holds a thread other than the main one at its first warning saying ``words`` until
    ``go`` is set: the test acts while that thread is in the middle of warning."""

    def __init__(self, words: str) -> None:
        self.words, self.inside, self.go = words, threading.Event(), threading.Event()

    def match(self, text: str) -> bool:
        if self.words in text and threading.current_thread() is not threading.main_thread() \
                and not self.inside.is_set():
            self.inside.set()
            assert self.go.wait(10)
        return False


def test_a_mode_note_stays_with_its_study_while_another_thread_warns():
    """mode_against_name recorded its ModeWarning with catch_warnings(record=True): while a
    study was set up in one thread, a warning that another thread issued went into that
    study's notes instead of to its own thread's handling, and a filter added meanwhile was
    dropped when the record ended."""
    gate, notes = Gate("as asked"), []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filters.insert(0, ("ignore", gate, Warning, None, 0))
        study = threading.Thread(target=lambda: notes.extend(mode_against_name("val_loss", "max")))
        study.start()
        assert gate.inside.wait(10)  # the study's thread is checking its mode
        warnings.warn("the notebook's own warning", UserWarning)
        warnings.filterwarnings("ignore", message="added meanwhile")
        gate.go.set()
        study.join(10)
        added = [f for f in warnings.filters if getattr(f[1], "pattern", "") == "added meanwhile"]
    assert not study.is_alive()
    assert notes == [NOTE]
    assert [str(w.message) for w in caught] == ["the notebook's own warning"]
    assert len(added) == 1


@pytest.mark.parametrize("action, note", [("ignore", []), ("default", [NOTE]), ("always", [NOTE])])
def test_the_mode_note_follows_the_filters(action, note):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(action, ModeWarning)
        assert mode_against_name("val_loss", "max") == note
        assert mode_against_name("val_loss", "max") == note  # each study gets it
        warnings.simplefilter("error", ModeWarning)
        with pytest.raises(ModeWarning, match="maximising val_loss as asked"):
            mode_against_name("val_loss", "max")
    assert caught == []  # a note, not also a warning printed


def test_a_threads_ignored_warnings_leave_other_threads_and_new_filters_alone():
    """The skopt searcher and the BLAS lookup silenced expected warnings with
    catch_warnings() and a filter: meanwhile the notebook's warnings of that kind were
    silenced too, and a filter it added was dropped at the block's end."""
    inside, go = threading.Event(), threading.Event()

    def silenced() -> None:
        with ignored_in_this_thread("noisy"):
            warnings.warn("noisy, from the silenced thread")
            inside.set()
            assert go.wait(10)
        warnings.warn("noisy, after the block")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        worker = threading.Thread(target=silenced)
        worker.start()
        assert inside.wait(10)
        warnings.warn("noisy, from the notebook")
        warnings.filterwarnings("ignore", message="added meanwhile")
        go.set()
        worker.join(10)
        after = list(warnings.filters)
    assert sorted(str(w.message) for w in caught) == ["noisy, after the block",
                                                     "noisy, from the notebook"]
    assert after[1:] == before and after[0][1].pattern == "added meanwhile"


@pytest.mark.parametrize("setup, expected", [
    (lambda: None, "default"),
    (lambda: warnings.simplefilter("ignore", ModeWarning), "ignore"),
    (lambda: warnings.simplefilter("error"), "error"),
    (lambda: warnings.filterwarnings("ignore", message="MAXIMISING val"), "ignore"),
    (lambda: warnings.filterwarnings("ignore", message="val_loss"), "default"),  # not its start
    (lambda: warnings.filterwarnings("error", category=DeprecationWarning), "default"),
    (lambda: warnings.filterwarnings("ignore", module=__name__), "ignore"),
    (lambda: warnings.filterwarnings("ignore", module="elsewhere"), "default"),
    (lambda: (warnings.simplefilter("error"), warnings.simplefilter("always", UserWarning)),
     "always"),
])
def test_filter_action_reads_the_filters_as_python_applies_them(setup, expected):
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        setup()
        action = filter_action(ModeWarning, NOTE)
        with pytest.raises(ModeWarning) if expected == "error" else contextlib.nullcontext():
            warnings.warn(NOTE, ModeWarning)
    assert action == expected
    assert len(caught) == (0 if expected in ("error", "ignore") else 1)
