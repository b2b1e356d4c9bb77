"""How values, configurations, settings and spaces are kept: JSON, with objects by ``repr``.

A configuration may hold any Python object (``Categorical(abs, round)``, a class, an
optimiser factory); JSON cannot, so such a value is kept as ``{"__repr__": repr(value)}`` and
matched back to the space's choice of the same ``repr`` (memory addresses aside, which change
with every kernel) when the study is read with its space (a resume), or shown as the ``repr``
without it (``%hpo show`` in another kernel; ``%hpo apply`` looks the object up by name).
Both storages use this module, so they agree on what a value becomes.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from .. import space as _space
from ..errors import SpaceError
from ..space import Bool, Categorical, Domain, Int, Real, Space, without_address
from ..trial import plain_value

__all__ = ["StoredRepr", "decode_config", "decode_values", "describe_space",
           "dumps", "dumps_config", "dumps_values", "encode_value", "same_domain",
           "space_from_description"]

_REPR = "__repr__"


class StoredRepr(str):
    """A configuration value or choice that storage kept by its ``repr`` (an object JSON
    cannot hold), read without a space that has the object: the text, marked so that applying
    the trial can look the object up (or say it cannot) instead of setting a string, and
    stored again as a ``repr``. It shows as the object did (``<class 'm.Relu'>``, not
    ``"<class 'm.Relu'>"``), so a stored domain prints as it was written."""

    def __repr__(self) -> str:
        return str.__str__(self)


def encode_value(value: Any) -> Any:
    """A JSON-ready form of a config or reported value; objects JSON cannot hold are kept as
    ``{"__repr__": repr(value)}`` (a categorical choice is recognised again on resume)."""
    if value is None or type(value) in (bool, str, float, int):
        return value
    if isinstance(value, StoredRepr):
        return {_REPR: str.__str__(value)}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):  # a str subclass (an enum): its text, as json writes it
        return str.__str__(value)
    if isinstance(value, float):  # numpy.float64 is one
        return float(value)
    if isinstance(value, int):
        return int(value)
    plain = plain_value(value)  # numpy scalars, 0-d arrays and tensors
    if plain is not value:
        return encode_value(plain)
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: encode_value(v) for k, v in value.items()}
    return {_REPR: repr(value)}


def dumps(value: Any) -> str:
    """``value`` as stored JSON text (NaN and infinities kept, as Python's json writes them)."""
    return json.dumps(encode_value(value), allow_nan=True)


def dumps_values(values: Mapping[str, Any]) -> str:
    """A report as stored."""
    return dumps(dict(values))


def dumps_config(config: Mapping[str, Any]) -> str:
    """A configuration as stored."""
    return dumps(dict(config))


def _is_repr(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(_REPR), str)


def decode_config(encoded: str | Mapping[str, Any], space: Space | None) -> dict[str, Any]:
    """A stored configuration (JSON text or the encoded mapping), with objects kept by ``repr``
    matched back to ``space``'s categorical choices (else left as the ``repr`` string), and
    JSON arrays and objects too (a tuple choice was stored as a list); an object not matched
    comes back as a ``StoredRepr``."""
    config = json.loads(encoded) if isinstance(encoded, str) else dict(encoded)
    if not isinstance(config, dict):
        raise TypeError(f"a configuration must be a JSON object, not {type(config).__name__}")
    for name, value in config.items():
        if isinstance(value, (list, dict)) and not _is_repr(value) and space is not None:
            domain = space.get(name)
            if isinstance(domain, Categorical):
                config[name] = next((c for c in domain.choices if encode_value(c) == value),
                                    value)
        elif _is_repr(value):
            domain = space.get(name) if space is not None else None
            config[name] = _choice_of(domain, value[_REPR]) if isinstance(domain, Categorical) \
                else StoredRepr(value[_REPR])
    return config


def _choice_of(domain: Categorical, text: str) -> Any:
    """The choice of ``domain`` stored as ``text`` (``Categorical.find_by_repr``), else the
    text as a ``StoredRepr``."""
    found, choice = domain.find_by_repr(text)
    return choice if found else StoredRepr(text)


def same_domain(domain: Domain, text: str, name: str | None = None) -> bool:
    """Whether ``domain`` is the one stored as ``text`` under ``name``: the same ``repr``
    (with or without ``name=``, which a cell's parser gives and ``tune()``'s space does not),
    or one that differs only in memory addresses where no two choices print alike without
    them (two lambdas could not be told apart)."""
    mine = domain.unnamed_repr()
    named = f", name={name!r})"
    if name is not None and text.endswith(named):
        text = text[:-len(named)] + ")"
    if mine == text:
        return True
    if without_address(mine) != without_address(text):
        return False
    if not isinstance(domain, Categorical):
        return True
    bare = [without_address(repr(choice)) for choice in domain.choices]
    return len(set(bare)) == len(bare)


def decode_values(encoded: str | Mapping[str, Any]) -> dict[str, Any]:
    """A stored report; values kept by ``repr`` come back as the ``repr`` string."""
    values = json.loads(encoded) if isinstance(encoded, str) else dict(encoded)
    if not isinstance(values, dict):
        raise TypeError(f"a report must be a JSON object, not {type(values).__name__}")
    for value in values.values():
        if isinstance(value, dict):  # one may be kept by its repr: numbers need no new dict
            return {k: v[_REPR] if _is_repr(v) else v for k, v in values.items()}
    return values


# --------------------------------------------------------------------------- spaces
def describe_space(space: Mapping[str, Domain]) -> dict[str, dict[str, Any]]:
    """A JSON description of ``space``: each domain's type and ``repr`` (compared on resume,
    and read back for domains whose arguments are literals), plus the fields of the basic
    domains so that categorical objects survive as their ``repr``."""
    described: dict[str, dict[str, Any]] = {}
    for name, domain in space.items():
        entry: dict[str, Any] = {"type": type(domain).__name__, "repr": repr(domain)}
        if isinstance(domain, (Real, Int)):
            entry.update(lo=domain.lo, hi=domain.hi, log=domain.log)
            if domain.stepped:
                entry["step"] = domain.step
        elif isinstance(domain, Categorical) and not isinstance(domain, Bool):
            entry["choices"] = [encode_value(c) for c in domain.choices]
            literals = [_literal(c) for c in domain.choices]
            if any(literals):
                entry["literals"] = literals
        if domain.when is not None:
            entry["when"] = domain.when.source()
        described[name] = entry
    return described


def _domain_types() -> dict[str, type[Domain]]:
    return {name: obj for name, obj in vars(_space).items()
            if isinstance(obj, type) and issubclass(obj, Domain) and not name.startswith("_")}


def _literal_domain(text: str, types: Mapping[str, type[Domain]]) -> Domain | None:
    """The domain written as ``text`` (``Real(0.0, 1.0, log=True)``) if it is a call of a
    domain type with literal arguments (nothing is executed), else ``None``."""
    def build(node: ast.AST) -> Any:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in types:
            args = [build(a) for a in node.args]
            kwargs = {k.arg: build(k.value) for k in node.keywords if k.arg is not None}
            return types[node.func.id](*args, **kwargs)
        return ast.literal_eval(node)

    try:
        domain = build(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, AttributeError, SpaceError):
        return None
    return domain if isinstance(domain, Domain) and repr(domain) == text else None


def space_from_description(described: Mapping[str, Mapping[str, Any]],
                           like: Mapping[str, Domain] | None = None) -> Space:
    """The space of a stored study. A domain of ``like`` (the space a resuming study brings)
    with the stored ``repr`` (memory addresses aside: the cell's functions after a restart) is
    used as it is, so categorical objects come back as the same objects; otherwise categorical
    objects JSON cannot hold come back as their ``repr`` (``StoredRepr``). A ``ValueError``
    names an entry this version cannot read."""
    types = _domain_types()
    domains: dict[str, Domain] = {}
    for name, entry in described.items():
        if not isinstance(entry, Mapping):
            raise TypeError(f"the space entry {name!r} is {entry!r}, not a description")
        text = entry.get("repr")
        mine = like.get(name) if like is not None else None
        if mine is not None and isinstance(text, str) and same_domain(mine, text, name):
            domains[name] = mine
            continue
        domain = _literal_domain(text, types) if isinstance(text, str) else None
        if domain is None:
            domain = _structured_domain(name, entry)
        domains[name] = domain
    return Space(domains)


def _literal(choice: Any) -> str | None:
    """The ``repr`` of a choice that JSON changes but Python can read back as it was (a tuple
    becomes a list in JSON), else ``None``."""
    encoded = encode_value(choice)
    if type(encoded) is type(choice) and encoded == choice and not isinstance(choice, list):
        return None
    text = repr(choice)
    try:
        again = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text if type(again) is type(choice) and again == choice else None


class _DuplicateRepr(StoredRepr):
    """A stored choice that reads back equal to an earlier one (two objects that print alike,
    or a tuple and a list stored before tuples were kept): a choice of its own, equal only to
    itself, so the stored study stays readable."""

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)


def _stored_choices(entry: Mapping[str, Any]) -> list[Any]:
    """A categorical entry's choices as they read back: tuples from their literal, objects
    as ``StoredRepr``, JSON values as they are."""
    literals = entry.get("literals") or [None] * len(entry["choices"])
    choices = []
    for stored, literal in zip(entry["choices"], literals, strict=False):
        if isinstance(literal, str):
            try:
                choices.append(ast.literal_eval(literal))
                continue
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                pass
        choices.append(StoredRepr(stored[_REPR]) if _is_repr(stored) else stored)
    return choices


def _distinct(choices: list[Any]) -> list[Any]:
    """``choices`` with each one equal to an earlier one replaced by a ``_DuplicateRepr`` of
    its ``repr``."""
    kept: list[Any] = []
    for choice in choices:
        if any(_alike(k, choice) for k in kept):
            choice = _DuplicateRepr(repr(choice))
        kept.append(choice)
    return kept


def _alike(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same value of the same type (as Categorical compares
    its choices)."""
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # numpy arrays
        return a is b


def _categorical(entry: Mapping[str, Any], when: Any) -> Categorical:
    """The stored categorical domain; choices that read back alike stay distinct."""
    choices = _stored_choices(entry)
    try:
        return Categorical(*choices, when=when)
    except SpaceError:  # two choices read back alike
        return Categorical(*_distinct(choices), when=when)


def _structured_domain(name: str, entry: Mapping[str, Any]) -> Domain:
    kind = entry.get("type")
    when = entry.get("when")
    try:
        if kind == "Real":
            return Real(entry["lo"], entry["hi"], log=entry["log"], step=entry.get("step"),
                        when=when)
        if kind == "Int":
            return Int(entry["lo"], entry["hi"], log=entry["log"], step=entry.get("step", 1),
                       when=when)
        if kind == "Bool":
            return Bool(when=when)
        if "choices" in entry:
            return _categorical(entry, when)
    except (KeyError, TypeError, SpaceError) as exc:
        raise ValueError(f"the space entry {name!r} ({entry.get('repr', kind)!r}) cannot be "
                         f"read: {exc}") from None
    raise ValueError(f"the space entry {name!r} is a {kind!r} domain ({entry.get('repr')!r}), "
                     f"which this version of jupyter_hpo cannot read: upgrade jupyter_hpo")
