"""What an unknown ``--option`` of the magics most likely means: our name for another
library's, a scheduler's or searcher's option, or the nearest spelling."""

from __future__ import annotations

import difflib

from ._text import DASHES, listed


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
