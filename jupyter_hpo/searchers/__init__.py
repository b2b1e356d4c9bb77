"""Searchers propose configurations; ``make_searcher`` builds one from a name and options."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from ..space import Space
from ._base import Searcher
from ._grid import GridSearcher
from ._options import check_bool
from ._random import RandomSearcher

__all__ = ["SEARCHERS", "GridSearcher", "RandomSearcher", "Searcher", "make_searcher",
           "searcher_class"]

SEARCHERS: dict[str, type[Searcher] | str] = {
    "random": RandomSearcher,
    "grid": GridSearcher,
    # model-based searchers are imported when used (they need scikit-optimize, scipy, torch)
    "skopt": "._skopt:SkoptSearcher",
    "tpe": "._tpe:TPESearcher",
    "bayesopt": "._bayesopt:BayesOptSearcher",
    "bohb": "._bohb:BOHBSearcher",
    "rl": "._rl:RLSearcher",
    "auto": "._auto:AutoSearcher",  # the default: bayesopt
}


def searcher_class(name: str, options: Iterable[str] = ()) -> type[Searcher]:
    """The class registered under ``name`` (importing its module on first use), which must
    take every option named in ``options`` (``debug_log`` is taken by all; a ValueError lists
    those it takes and the nearest name)."""
    cls = _registered(name)
    unknown = sorted(set(options) - set(cls.OPTIONS) - {"debug_log"})
    if unknown:
        takes = ", ".join((*cls.OPTIONS, "debug_log")) if "debug_log" not in cls.OPTIONS \
            else ", ".join(cls.OPTIONS)
        nearest = nearest_options(unknown, takes.split(", "))
        raise ValueError(f"searcher {name!r} does not take these options: "
                         f"{', '.join(unknown)} (its options: {takes})"
                         f"{nearest or _taken_by_others(name, unknown)}")
    return cls


def _taken_by_others(name: str, unknown: list[str]) -> str:
    """``"; n_startup is an option of the tpe searcher: pass searcher='tpe' (%%hpo --searcher
    tpe) to use it"`` where other searchers take every option of ``unknown``; else ``""``."""
    takers = []
    for other in SEARCHERS:
        if other in (name, "auto"):
            continue
        try:
            options = _registered(other).OPTIONS
        except (ImportError, ValueError):  # a searcher whose library is not installed
            continue
        if set(unknown) <= set(options):
            takers.append(other)
    if not takers:
        return ""
    named = takers[0] if len(takers) == 1 else f"{', '.join(takers[:-1])} or {takers[-1]}"
    what = f"{'an option' if len(unknown) == 1 else 'options'} of the {named} searcher" \
        f"{'s' if len(takers) > 1 else ''}"
    return (f"; {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} {what}: pass "
            f"searcher={takers[0]!r} (%%hpo --searcher {takers[0]}) to use "
            f"{'it' if len(unknown) == 1 else 'them'}")


def _registered(name: str) -> type[Searcher]:
    """The class registered under ``name``, its module imported on first use."""
    entry = SEARCHERS.get(name)
    if entry is None:
        from ..other_names import other_choice

        raise ValueError(f"searcher is {name!r}, but must be one of {sorted(SEARCHERS)}"
                         f"{other_choice('searcher', name, SEARCHERS)}")
    if isinstance(entry, str):
        module_name, class_name = entry.split(":")
        try:
            module = importlib.import_module(module_name, __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module_name.lstrip('.')}":
                raise
            raise ValueError(f"searcher {name!r} is not available in this version") from None
        entry = SEARCHERS[name] = getattr(module, class_name)
    return entry


def nearest_options(unknown: list[str], known: list[str]) -> str:
    """"; did you mean n_startup instead of n_startup_trials?" for misspelt options (or
    another library's names for them), else ""."""
    import difflib

    from ..other_names import OPTION_NAMES

    def nearest(name: str) -> list[str]:
        ours = OPTION_NAMES.get(name, ("", ""))[1]
        if ours in known:  # eta (the Hyperband paper's name), max_epochs, ...
            return [ours]
        prefixed = [k for k in known if len(min(k, name, key=len)) >= 3
                    and (k.startswith(name) or name.startswith(k))]  # grace, n_startup_trials
        word = _SHORT_WORDS.get(name, name)
        suffixed = [k for k in known if k.endswith(f"_{word}")]  # lr: controller_lr
        return prefixed[:1] or (suffixed if len(suffixed) == 1 else []) \
            or difflib.get_close_matches(name, known, n=1, cutoff=0.7)

    hints = [f"{close[0]} instead of {name}" for name in unknown
             for close in [nearest(name)] if close and name not in STUDY_LEVEL]
    study = [name for name in unknown if name in STUDY_LEVEL]
    return (f"; did you mean {', '.join(hints)}?" if hints else "") + "".join(
        f"; {name} is set for the whole study, not here: tune({name}=...), %%hpo "
        f"--{name}" for name in study)


#: the short word an option's name uses for a long one (``controller_lr``)
_SHORT_WORDS = {"learning_rate": "lr"}

#: options of the study itself, which a scheduler's or searcher's options cannot set
STUDY_LEVEL = ("metric", "mode", "resource", "seed", "searcher", "scheduler")


def make_searcher(searcher: str | Searcher, space: Space, metric: str, mode: str,
                  seed: int | None = None, **options: Any) -> Searcher:
    """A searcher object from a name (``"random"``, ``"grid"``) and its options (the class's
    ``OPTIONS``; anything else is refused with the list of those it takes)."""
    if isinstance(searcher, Searcher):
        if options:
            raise ValueError(f"searcher options {sorted(options)} given with a searcher object; "
                             f"pass them to its constructor instead")
        return searcher
    cls = searcher_class(searcher, options)
    debug_log = None
    if "debug_log" in options and "debug_log" not in cls.OPTIONS:  # every searcher takes it
        debug_log = check_bool("debug_log", options.pop("debug_log"))
    made = cls(space, metric, mode, seed, **options)
    if debug_log is not None:
        made.debug_log = debug_log
    return made
