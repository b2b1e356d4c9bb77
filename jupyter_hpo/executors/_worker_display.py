"""``display()`` and ``clear_output()`` in a worker process, as a trial thread has them.

A worker process has no IPython shell: the notebook's builtin ``display`` is missing (a cell
calling it failed with NameError), and IPython's own functions, imported by the cell
(``from IPython.display import display, clear_output``), print an object bare and write
terminal escape codes. Here both write what a trial thread's do: ``[display] `` and each
object's text, and nothing for ``clear_output()``. IPython's module is patched when the cell
imports it, so a worker whose trials never do pays nothing for IPython.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

__all__ = ["provide_display"]

#: where IPython defines ``display`` and ``clear_output``; ``IPython.display`` and
#: ``IPython.core.display`` import them from here
_DISPLAY_MODULE = "IPython.core.display_functions"
_REEXPORTS = ("IPython.display", "IPython.core.display")


def provide_display() -> None:
    """In a process without an IPython shell (IPython's makes ``display`` a builtin), give the
    notebook's code the builtin ``display`` and make IPython's ``display``/``clear_output``
    behave as they do in a trial thread; a process with a shell (a kernel) is left alone."""
    if hasattr(builtins, "display"):
        return
    builtins.display = _display_in_worker  # type: ignore[attr-defined]
    if _DISPLAY_MODULE in sys.modules:
        _patch(sys.modules[_DISPLAY_MODULE])
    elif not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def _display_in_worker(*objs: Any, raw: bool = False, **_options: Any) -> None:
    """``display()`` without an IPython shell: the text/plain of each object, printed."""
    from IPython.lib.pretty import pretty

    for obj in objs:
        if raw and isinstance(obj, dict):  # a MIME bundle
            text = obj.get("text/plain")
            shown = text if isinstance(text, str) else f"({', '.join(map(str, obj))})"
        else:
            shown = pretty(obj)
        print(f"[display] {shown}")


def _clear_output_in_worker(wait: bool = False) -> None:
    """``clear_output()`` of a trial: dropped, as in a trial thread (it would clear the
    trial's output, which is a log)."""


def _patch(module: ModuleType) -> None:
    """Replace IPython's ``display``/``clear_output`` in ``module`` and in the modules that
    imported them from it already."""
    originals = {name: getattr(module, name, None) for name in ("display", "clear_output")}
    replacements = {"display": _display_in_worker, "clear_output": _clear_output_in_worker}
    for target in [module, *(sys.modules.get(name) for name in _REEXPORTS)]:
        for name, original in originals.items():
            if target is not None and original is not None \
                    and getattr(target, name, None) is original:
                setattr(target, name, replacements[name])


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds IPython's display module as the path finder does, with a loader that patches
    it once it has run (before any other module imports from it)."""

    def find_spec(self, name: str, path: Any, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != _DISPLAY_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    """A module's own loader, then ``_patch``."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _patch(module)
