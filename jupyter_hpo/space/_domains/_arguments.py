"""The checks of a domain's arguments: numbers, bounds, whole numbers, unknown keywords."""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

from ...errors import SpaceError

__all__ = ["_bound", "_check_arguments", "_check_number", "_whole"]


def _check_number(kind: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        one = getattr(value, "ndim", None) == 0 or getattr(value, "size", None) == 1 \
            or callable(getattr(value, "numel", None)) and value.numel() == 1
        hint = f" (a one-element {type(value).__name__}: write float(...) or its .item())" \
            if one and callable(getattr(value, "item", None)) else ""
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be a number{hint}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the floats (10**400)
        digits = int(int(value).bit_length() * math.log10(2)) + 1  # str() refuses 4300+
        raise SpaceError(f"{kind}: {what} is an integer of about {digits} digits, but must be "
                         f"within the floats' range (about ±1.8e308)") from None
    if not finite:
        raise SpaceError(f"{kind}: {what} is {value!r}, but must be finite")
    return value if type(value) in (int, float) else float(value)  # numpy.float32(0.1), ...


def _bound(kind: str, short: str, long: str, value: Any, keyword: Any) -> Any:
    """One bound, given positionally (``lo``) or by the seeds' keyword (``lower=``)."""
    if value is None and keyword is None:
        raise SpaceError(f"{kind} needs both bounds, e.g. {kind}(0, 10) or "
                         f"{kind}(lower=0, upper=10), but {short} ({long}=) is missing")
    if value is not None and keyword is not None:
        raise SpaceError(f"{kind}: {short}={value!r} and {long}={keyword!r} are the same bound: "
                         f"give it once")
    return keyword if value is None else value


#: keywords of other libraries (Optuna, hyperopt, Ray Tune, AutoGluon) -> what to write here
_OTHER_KEYWORDS = {
    "low": "lo (or lower=)", "high": "hi (or upper=)", "min": "lo (or lower=)",
    "max": "hi (or upper=)", "log_scale": "log=True", "logscale": "log=True",
    "loguniform": "log=True", "log_uniform": "log=True", "q": "step=", "quantization": "step=",
    "step_size": "step=", "interval": "step=", "condition": "when=", "active_if": "when=",
}
_NO_DEFAULT = ("default", "init", "initial", "value", "default_value")


def _check_arguments(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse arguments the domain does not take with what to write instead, before Python's
    "_Numeric.__init__() got an unexpected keyword argument" (which names a private class)."""
    if not args and not kwargs:  # unpickling and copying call __new__ with nothing
        return
    kind = "Real" if cls.__name__ == "_Numeric" else cls.__name__
    parameters = _parameters(cls)
    keywords = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)  # a subclass's **options
    for key in kwargs:
        if key in keywords or any_keyword:
            continue
        if key in _NO_DEFAULT:
            hint = ("a hyperparameter has no default: the searcher picks every value. To run a "
                    "known configuration first, pass it with --enqueue '{\"lr\": 0.001}' "
                    "(tune(points_to_evaluate=[{...}]))")
        elif cls.__name__ in ("Categorical", "Bool") and key in ("choices", "values",
                                                                "options", "categories"):
            hint = f"give the choices as arguments: {kind}('relu', 'tanh') (or one list)"
        elif key in _OTHER_KEYWORDS and _OTHER_KEYWORDS[key].split("=")[0].split()[0] in keywords:
            hint = f"write {_OTHER_KEYWORDS[key]}"
        else:
            import difflib

            close = difflib.get_close_matches(key, keywords, n=1)
            hint = f"did you mean {close[0]}=?" if close else ""
        raise SpaceError(f"{kind}() got an unknown argument {key}=...: {hint + '; ' if hint else ''}"
                         f"it takes {_signature_text(kind, parameters)}")
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    if len(args) > len(positional) and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
        raise SpaceError(f"{kind}() got {len(args)} arguments without names, but takes at most "
                         f"{len(positional)} ({', '.join(p.name for p in positional)}): "
                         f"it takes {_signature_text(kind, parameters)}")


@functools.cache
def _parameters(cls: type) -> list[Any]:
    """The parameters of ``cls.__init__`` after ``self`` (read once per class)."""
    import inspect

    return list(inspect.signature(cls.__init__).parameters.values())[1:]


def _signature_text(kind: str, parameters: list[Any]) -> str:
    """e.g. ``Real(lo, hi, log=False, name=None, *, lower=None, upper=None, step=None, ...)``."""
    parts, starred = [], False
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            parts.append(f"{'*' if p.kind is p.VAR_POSITIONAL else '**'}{p.name}")
            starred = True
            continue
        if p.kind is p.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        default = p.default
        parts.append(p.name if default is p.empty or (default is None and p.name in ("lo", "hi"))
                     else f"{p.name}={default!r}")
    return f"{kind}({', '.join(parts)})"


def _whole(what: str, value: Any, given: dict[str, Any]) -> int:
    """Int's bound or step ``what`` as an int: a float that is a whole number (``1e3``,
    ``2**8 / 1``) is one; ``10.5`` is refused with what to write instead."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(value):
        if float(value).is_integer():
            return int(value)

        def call(kind: str, rounded: bool) -> str:
            parts = [f"round({v!r})" if rounded and k == what else repr(v)
                     for k, v in given.items() if k != "step"]
            if given["step"] != 1:
                step = given["step"]
                parts.append(f"step=round({step!r})" if rounded and what == "step"
                             else f"step={step!r}")
            return f"{kind}({', '.join(parts)})"

        raise SpaceError(f"Int: {what} is {value!r}, which is not a whole number: for real "
                         f"values write {call('Real', False)}, or round it: "
                         f"{call('Int', True)}")
    raise SpaceError(f"Int: {what} is {value!r}, but must be an integer (use Real for floats)")
