"""The user's warning filters, read and extended from one thread without touching the others.

``warnings.catch_warnings`` swaps the process-wide warning state (the filter list and
``showwarning``) until its block ends. Studies set up, propose and run trials in several
threads at once, so a block in one thread recorded or silenced the warnings that other threads
issued meanwhile, and its end put back the filters it found, dropping any that another thread
(the notebook's own code, a second study) had added since. Here the filters are read as they
are, and a thread's own warnings are ignored by one filter that matches in that thread only.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["filter_action", "ignored_in_this_thread"]


def filter_action(category: type[Warning], text: str, stacklevel: int = 1) -> str:
    """What the warning filters would do now with a ``category`` warning saying ``text``,
    issued ``stacklevel`` frames up as ``warnings.warn`` counts them: ``"error"``,
    ``"ignore"``, ``"default"``, ... (the first filter that matches, as Python picks it), read
    without changing anything."""
    frame = sys._getframe(stacklevel)
    module = frame.f_globals.get("__name__", "<string>")
    for action, message, kind, where, lineno in list(_filters()):
        if _matches(message, text) and issubclass(category, kind) \
                and _matches(where, module) and lineno in (0, frame.f_lineno):
            return str(action)
    return str(warnings.defaultaction)


@contextlib.contextmanager
def ignored_in_this_thread(message: str = "", category: type[Warning] = Warning
                           ) -> Iterator[None]:
    """Ignore the ``category`` warnings whose text starts with ``message`` (a regular
    expression, case-insensitive, as in ``warnings.filterwarnings``) that this thread issues
    inside the block; other threads' warnings, and filters added meanwhile, are left alone."""
    pattern = _ThisThread(message)
    entry = ("ignore", pattern, category, None, 0)
    filters = _filters()
    filters.insert(0, entry)  # first, as filterwarnings puts a new filter
    try:
        yield
    finally:
        pattern.active = False  # inert even where a catch_warnings block puts it back later
        for index, item in enumerate(filters):
            if item is entry:
                del filters[index]
                break


class _ThisThread:
    """A filter's message pattern (Python calls its ``match``) that matches in the thread
    that made it, while it is active. It has a regular expression's ``pattern`` and ``flags``
    too, which code that copies the filters into its own worker threads reads (scikit-learn's
    joblib helpers, which skopt's models run under)."""

    def __init__(self, message: str) -> None:
        self.regex = re.compile(message, re.IGNORECASE)
        self.pattern, self.flags = self.regex.pattern, self.regex.flags
        self.thread = threading.get_ident()
        self.active = True

    def match(self, text: str) -> bool:
        return self.active and threading.get_ident() == self.thread \
            and self.regex.match(text) is not None

    def __repr__(self) -> str:
        return f"<{self.pattern!r} in thread {self.thread} only>"


def _filters() -> list[Any]:
    """The filter list in force: Python 3.14's context-aware warnings keep one per context
    (``warnings._get_filters``), earlier versions the module's ``warnings.filters``."""
    current = getattr(warnings, "_get_filters", None)
    return current() if current is not None else warnings.filters


def _matches(pattern: Any, text: str) -> bool:
    """Whether a filter's message or module ``pattern`` matches, as Python checks it: None
    matches all, a plain string (Python's own default filters) the same text, and a regular
    expression (or anything with ``match``) from the start."""
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return pattern == text
    return bool(pattern.match(text))
