"""Objects that storage kept only by their ``repr``, found again in the notebook.

A categorical choice JSON cannot hold (a class such as ``torch.nn.Tanh``, a function, an enum
member) is stored as its ``repr``; read back in another kernel without the cell's space it is
text (``StoredRepr``). Applying such a trial must not put the text where the cell expects the
object, so the object is looked up by the name its ``repr`` gives (in the notebook's namespace,
then in the modules already imported: nothing is imported or executed) and taken only if its
own ``repr`` matches, memory addresses aside.
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from .space import without_address

__all__ = ["find_object"]

#: (pattern of a repr, what it names); group 1 is the dotted path to look up
_NAMED = (
    (re.compile(r"<class '([\w.<>]+)'>"), "class"),
    (re.compile(r"<function ([\w.<>]+) at 0x[0-9a-fA-F]+>"), "function"),
    (re.compile(r"<built-in function (\w+)>"), "function"),
    (re.compile(r"<([\w.]+\.\w+): .*>", re.DOTALL), "member"),  # an enum member
)


def find_object(text: str, namespace: Mapping[str, Any]) -> tuple[bool, Any, str]:
    """``(True, obj, "")`` for the object whose ``repr`` is ``text``, reached by the name the
    ``repr`` holds; else ``(False, None, what to do)``."""
    for pattern, kind in _NAMED:
        match = pattern.fullmatch(text)
        if match is not None:
            break
    else:
        return False, None, "its repr names no class or function to look up: set it yourself"
    if "<" in match.group(1):  # <lambda>, <locals>
        what = "a lambda" if "<lambda>" in match.group(1) else f"a {kind} defined in a function"
        return False, None, f"{what} has no name to look it up by: set it yourself"
    path = match.group(1).split(".")
    if path[0] == "__main__":  # defined in a notebook cell
        path = path[1:]
    wanted = without_address(text)
    matches = [obj for obj in _reachable(path, namespace)
               if without_address(_safe_repr(obj)) == wanted]
    distinct = list({id(obj): obj for obj in matches}.values())
    if len(distinct) == 1:
        return True, distinct[0], ""
    if distinct:
        return False, None, f"set it yourself (several {kind}s named {path[-1]} are defined)"
    module = match.group(1).split(".")[0]
    if kind == "class" and module not in ("__main__", "builtins") \
            and module not in sys.modules:
        return False, None, f"import {module} and apply again"
    return False, None, (f"define or import the {kind} {'.'.join(path)} in the notebook and "
                         f"apply again")


def _reachable(path: list[str], namespace: Mapping[str, Any]) -> list[Any]:
    """The objects ``path`` names: from the notebook's variables, from the modules imported
    (a function's ``repr`` has no module: also from modules the notebook holds, ``F.relu``),
    and from builtins."""
    found = []
    if path[0] in namespace:
        found.append(_walk(namespace[path[0]], path[1:]))
    for i in range(len(path) - 1, 0, -1):
        module = sys.modules.get(".".join(path[:i]))
        if module is not None:
            found.append(_walk(module, path[i:]))
    for value in list(namespace.values()):
        if isinstance(value, ModuleType):
            found.append(_walk(value, path))
    if len(path) == 1:
        found.append(getattr(builtins, path[0], None))
    return [obj for obj in found if obj is not None]


def _walk(obj: Any, path: list[str]) -> Any:
    """``obj.a.b`` for ``path`` ``["a", "b"]``, or None; an attribute whose lookup fails (a
    property that raises, a lazy module that cannot load) is not the one looked for."""
    for name in path:
        try:
            obj = getattr(obj, name, None)
        except Exception:  # noqa: BLE001 - see above
            return None
        if obj is None:
            return None
    return obj


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:  # noqa: BLE001 - an object whose repr fails is not the one looked for
        return ""
