"""A call of a public ``Study`` method with arguments it does not take says so under the
public name and lists what it takes: Python's own ``TypeError`` named the class that defines
the method, which may be an internal mixin (``StudyReading.apply() got an unexpected keyword
argument 'trial'``)."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["public_calls"]

C = TypeVar("C", bound=type)


def public_calls(cls: C) -> C:
    """Wrap each public method ``cls`` has (its own or inherited from a mixin) so that a call
    with arguments the method does not take raises a ``TypeError`` that names
    ``cls.method()`` and its arguments."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        method = inspect.getattr_static(cls, name)
        if inspect.isfunction(method):
            setattr(cls, name, _checked(cls.__name__, method))
    return cls


def _checked(owner: str, method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except TypeError:
            try:
                signature.bind(*args, **kwargs)
            except TypeError as wrong:  # the call's arguments, not the method's own work
                raise TypeError(call_message(owner, method.__name__, signature, str(wrong),
                                             kwargs)) from None
            raise

    return call


def call_message(owner: str, name: str, signature: inspect.Signature, problem: str,
                 kwargs: dict[str, Any]) -> str:
    """``Study.apply() got an unexpected keyword argument 'trial' (did you mean trial_id=?);
    it takes apply(trial_id=None, namespace=None)``."""
    params = [p.replace(annotation=inspect.Parameter.empty)
              for p in list(signature.parameters.values())[1:]]  # without self
    takes = inspect.Signature(params)
    names = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    hints = []
    for key in kwargs:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.5) \
                or [n for n in names if n.startswith(key) or key.startswith(n)]
            if close:
                hints.append(f"{close[0]}= instead of {key}=")
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    said = problem if problem.startswith("got ") else \
        f"is {problem}" if problem.startswith("missing") else f"got {problem}"
    return f"{owner}.{name}() {said}{hint}; it takes {name}{takes}"
