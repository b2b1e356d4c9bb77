"""The IPython shell as a trial's cell sees it. IPython turns ``%timeit f(lr)`` into
``get_ipython().run_line_magic('timeit', 'f(lr)')``, and its magics take the notebook's
namespace (``shell.user_ns``) for their globals: ``%timeit`` copies the caller's variables
into it and ``%time`` runs a comprehension against it. In a trial the caller's variables are
the trial's own, so the cell gets a shell whose ``user_ns`` is the trial's namespace."""

from __future__ import annotations

import copy
import sys
import types
from typing import Any


class TrialShell:
    """The notebook's shell, but with the trial's namespace as ``user_ns`` for the line
    magics the cell runs; everything else is the shell's own."""

    def __init__(self, shell: Any, namespace: dict[str, Any]) -> None:
        self._shell = shell
        self.user_ns = namespace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shell, name)

    def __repr__(self) -> str:
        return f"<{type(self._shell).__name__} of this trial: user_ns is its namespace>"

    def get_ipython(self) -> TrialShell:
        """This shell, as ``get_ipython()`` in the trial's cell returns it."""
        return self

    def run_line_magic(self, magic_name: str, line: str, _stack_depth: int = 1) -> Any:
        """``InteractiveShell.run_line_magic``, with the magic's ``self.shell`` this shell;
        a magic not found, or not a method of a ``Magics`` class, runs as the shell runs it."""
        from IPython.core import magic
        from IPython.core.displayhook import DisplayHook

        found = self._shell.find_line_magic(magic_name)
        owner = getattr(found, "__self__", None)
        if not isinstance(owner, magic.Magics):
            return self._shell.run_line_magic(magic_name, line, _stack_depth + 1)
        magics = copy.copy(owner)
        magics.shell = self
        fn = types.MethodType(found.__func__, magics)
        # the caller's frame is _stack_depth frames above this one, as in IPython's own
        if getattr(found, magic.MAGIC_NO_VAR_EXPAND_ATTR, False):
            argument = line
        else:
            argument = self._shell.var_expand(line, _stack_depth)
        kwargs = {}
        if getattr(found, "needs_local_scope", False):
            kwargs["local_ns"] = sys._getframe(_stack_depth).f_locals
        with self._shell.builtin_trap:
            result = fn(argument, **kwargs)
        if getattr(found, magic.MAGIC_OUTPUT_CAN_BE_SILENCED, False) \
                and DisplayHook.semicolon_at_end_of_expression(argument):
            return None
        return result


def ipython_shell_of(namespace: dict[str, Any]) -> Any:
    """The IPython shell whose ``get_ipython`` the notebook ``namespace`` holds, or None (a
    script, or a name the notebook rebound)."""
    interactive = sys.modules.get("IPython.core.interactiveshell")
    shell = getattr(namespace.get("get_ipython"), "__self__", None)
    if interactive is None or not isinstance(shell, interactive.InteractiveShell):
        return None
    return shell


def ipython_line(source: str) -> tuple[int, str] | None:
    """The first line of ``source`` (a cell as IPython transformed it) that calls
    ``get_ipython()``, and how it was written (``%time ...``, ``!ls``), or None."""
    import ast

    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    uses = [node for node in calls
            if isinstance(node.func, ast.Name) and node.func.id == "get_ipython"]
    if not uses:
        return None
    first = min(uses, key=lambda node: (node.lineno, node.col_offset))
    for call in calls:
        method = call.func
        if not (isinstance(method, ast.Attribute) and method.value is first):
            continue
        words = [arg.value for arg in call.args
                 if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if method.attr == "run_line_magic" and len(words) == 2:
            return first.lineno, f"%{words[0]} {words[1]}".rstrip()
        if method.attr in ("system", "getoutput") and len(words) == 1:
            return first.lineno, f"!{words[0]}"
    return first.lineno, "get_ipython()"
