"""Each annotation's domain, built by evaluating its constructor call once, before any trial
starts; every error it raises becomes an error at the call. A mixin of the parser
(``_CellParser``)."""

from __future__ import annotations

import ast
from typing import Any

from ..errors import SpaceError
from ..space import Domain, refuse_unsearchable
from ._template import CONSTRUCTORS
from ._tree import _constructor_name, _literal_arguments, _NotLiteral, _strip_qualname

__all__ = ["AnnotationDomains"]


class AnnotationDomains:
    """How the parser evaluates a constructor call into its domain."""

    text: str
    env: dict[str, Any] | None

    def _evaluate(self, call: ast.Call, name: str) -> Domain | None:
        """Build the domain by evaluating the constructor call; errors point at the call.
        Without a kernel (``env`` None) only literal arguments are evaluated: None otherwise."""
        ctor = _constructor_name(call) or "the annotation"
        bad = f"bad annotation for {name!r}"
        repeated = _repeated_keyword(call)
        if repeated is not None:  # Python refuses it, but the call is never compiled
            first, second = repeated
            raise self.error(f"{bad}: {ctor}() got {second.arg}= twice ({first.arg}="
                             f"{self._source_text(first.value)}, then {second.arg}="
                             f"{self._source_text(second.value)}): give it once", second)
        try:
            try:  # literal arguments (the usual case) need neither compile nor a namespace
                args, kwargs = _literal_arguments(call)
            except _NotLiteral:
                if self.env is None:
                    return None
                code = compile(ast.Expression(body=call), "<hpo-annotation>", "eval")
                domain = eval(code, self.env)
            else:
                domain = CONSTRUCTORS[ctor](*args, **kwargs)
            refuse_unsearchable([domain])  # a new study's: a stored space may hold one
        except SpaceError as exc:
            raise self.error(f"{bad}: {exc}", call) from None
        except (RecursionError, MemoryError):
            raise self.too_deep(call) from None
        except SyntaxError as exc:  # e.g. await or yield in an argument
            raise self.error(f"{bad}: {exc.msg}", call) from None
        except TypeError as exc:
            raise self.error(f"{bad}: {ctor}() {_strip_qualname(exc)}", call) from None
        except NameError as exc:
            line = _assigned_line(self.text, getattr(exc, "name", None))
            where = "" if line is None else (
                f": the cell sets it (cell line {line}), but the search space is read before "
                f"the cell runs")
            raise self.error(f"{bad}: {exc}{where}; define it in an earlier cell",
                             call) from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code in the arguments
            raise self.error(f"{bad}: {type(exc).__name__}: {exc}", call) from None
        domain.name = name
        return domain


def _repeated_keyword(call: ast.Call) -> tuple[ast.keyword, ast.keyword] | None:
    """The first keyword argument given twice in ``call`` and its earlier one, or None:
    ``Real(0.1, 1, log=True, log=False)`` took the last value without a word, since the
    annotation is evaluated as a dict of keywords instead of being compiled."""
    seen: dict[str, ast.keyword] = {}
    for kw in call.keywords:
        if kw.arg is None:
            continue
        if kw.arg in seen:
            return seen[kw.arg], kw
        seen[kw.arg] = kw
    return None


def _assigned_line(text: str, name: str | None) -> int | None:
    """The first cell line that binds ``name`` (an assignment, a loop, an import, a def),
    or None."""
    if not name:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    lines = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id == name
             and isinstance(node.ctx, ast.Store)
             or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
             and node.name == name
             or isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name]
    return min(lines, default=None)
