"""The names a cell reads from the notebook's namespace, and whether it may bind one."""

from __future__ import annotations

import ast

# names through which a cell may read or bind any variable (``%time acc = ...`` becomes a call
# of get_ipython().run_line_magic with the statement as text)
_DYNAMIC = frozenset({"exec", "eval", "globals", "vars", "locals", "get_ipython"})


def may_bind(source: str, name: str) -> bool:
    """Whether the cell may assign ``name`` (False only when it surely does not: no
    assignment, loop, ``with``, import, definition or ``del`` of it, and no ``exec``,
    ``globals()``, ``import *`` or IPython magic, ``%time acc = ...``, that could)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.Name) and node.id in _DYNAMIC:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                alias.name == "*" or (alias.asname or alias.name.split(".")[0]) == name
                for alias in node.names):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name == name:
            return True
    return False


def _names_read(source: str) -> set[str]:
    """The names the cell reads from its namespace (the notebook's): at its top level, and in
    its functions, classes and comprehensions where a name is no variable of their own. A
    function's own variable of a notebook variable's name (``def f(): model = ...``) was
    counted too, so process workers were sent that notebook variable, and one that cannot be
    pickled refused the cell. Code ``symtable`` cannot read (top-level ``await``): every name
    it loads, a superset."""
    import symtable

    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {node.id for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    read = {sym.get_name() for sym in table.get_symbols() if sym.is_referenced()}
    inner = list(table.get_children())
    while inner:
        scope = inner.pop()
        read |= {sym.get_name() for sym in scope.get_symbols()
                 if sym.is_referenced() and sym.is_global()}
        inner += scope.get_children()
    return read
