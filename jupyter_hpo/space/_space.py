"""``Space``: an ordered mapping of hyperparameter names to domains, sampled, mapped to the
unit cube and gridded as a whole, conditional hyperparameters included.

A hyperparameter with a condition (``Domain.when``) is *active* only when its condition holds
on the values before it; a configuration holds the active hyperparameters only. Everything a
searcher needs is here, so searchers handle conditional spaces through the space:

- ``sample`` draws the hyperparameters in order and skips inactive ones;
- ``to_unit`` gives inactive hyperparameters the coordinate ``INACTIVE`` (-0.5, outside the
  cube: SMAC's imputation, so a model sees "inactive" as one value of its own, away from
  every active value) and ``from_unit`` drops inactive coordinates, snaps the others to their
  domain (steps, integers) and, given an ``rng``, samples an active hyperparameter whose
  coordinate is outside the cube (a model proposed "inactive" where it is active);
- ``grid`` runs over the active combinations only (``grid_index``);
- ``complete`` fills a partial configuration (``study.enqueue``) from a proposal.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import SpaceError
from ._conditions import Condition
from ._domains import Categorical, Domain, Int, Real
from ._hints import domain_hint

if TYPE_CHECKING:  # numpy is imported where arrays are built, so the parser does not load it
    import numpy as np

    from ._grid import GridIndex

__all__ = ["INACTIVE", "Space", "check_condition", "not_in", "split_fixed"]

INACTIVE = -0.5
"""The unit-cube coordinate of an inactive hyperparameter (outside [0, 1])."""

_PROBES = 20_000  # combinations tried to see whether a condition can be true


def split_fixed(entries: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The domains of a space given as a mapping, and its fixed values (a number, string,
    bool or None under a name), which ``tune()`` passes in every configuration as they are,
    as Ray Tune and Syne Tune do with the constants of a ``config_space``. Ranges, lists and
    other objects stay with the domains, so that ``Space`` says what they were meant to be."""
    domains: dict[Any, Any] = {}
    fixed: dict[str, Any] = {}
    for name, value in entries.items():
        if isinstance(name, str) and name and (
                value is None or isinstance(value, (str, bool, numbers.Number))):
            fixed[name] = value
        else:
            domains[name] = value
    return domains, fixed


class Space(Mapping[str, Domain]):
    """An ordered mapping of hyperparameter names to domains; ``conditions`` maps each
    conditional hyperparameter to its condition (from the domains' ``when``)."""

    def __init__(self, domains: Mapping[str, Domain] | None = None) -> None:
        self._domains: dict[str, Domain] = {}
        self.conditions: dict[str, Condition] = {}
        if domains is not None and not isinstance(domains, Mapping):
            raise SpaceError(f"the space is a {type(domains).__name__} ({reprlib.repr(domains)}), "
                             f"but must map names to domains, "
                             f"e.g. {{'lr': Real(1e-4, 1e-1, log=True), 'units': Int(16, 256)}}")
        for name, domain in (domains or {}).items():
            if not isinstance(name, str) or not name:
                what = "an empty string" if name == "" else f"an object of type {type(name).__name__}"
                example = "x" if name in ("", None) else str(name)
                raise SpaceError(f"the space entry {name!r} is named by {what}, but a name must "
                                 f"be a non-empty string (a key of the configuration), e.g. "
                                 f"{{{example!r}: {domain!r}}}")
            if not isinstance(domain, Domain):
                shown = domain.__name__ if isinstance(domain, type) else reprlib.repr(domain)
                raise SpaceError(f"the space entry {name!r} is {shown}, but must "
                                 f"be Real(...), Int(...), Categorical(...) or "
                                 f"Bool(){domain_hint(name, domain)}")
            if domain.when is not None:
                check_condition(name, domain.when, self._domains, order=list(domains or {}))
                self.conditions[name] = domain.when
            self._domains[name] = domain

    def __getitem__(self, name: str) -> Domain:
        return self._domains[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._domains)

    def __len__(self) -> int:
        return len(self._domains)

    def __repr__(self) -> str:
        return f"Space({self._domains!r})"

    # ------------------------------------------------------------------ conditions
    @property
    def conditional(self) -> bool:
        """Whether some hyperparameter is active only under a condition."""
        return bool(self.conditions)

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given the values in ``config`` (those before it)."""
        condition = self.conditions.get(name)
        return condition is None or condition.holds(config)

    def active(self, config: Mapping[str, Any]) -> list[str]:
        """The hyperparameters that are active in ``config``, in order."""
        return [n for n in self._domains if self.is_active(n, config)]

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One configuration: each active hyperparameter drawn from its domain, in order."""
        if not self.conditions:
            return {name: d.sample(rng) for name, d in self._domains.items()}
        config: dict[str, Any] = {}
        for name, domain in self._domains.items():
            if self.is_active(name, config):
                config[name] = domain.sample(rng)
        return config

    def complete(self, partial: Mapping[str, Any], proposal: Mapping[str, Any],
                 rng: np.random.Generator) -> dict[str, Any]:
        """``partial``'s values, the others taken from ``proposal`` where it has them (a
        searcher's proposal) and drawn from their domains otherwise; active ones only."""
        config: dict[str, Any] = {}
        for name, domain in self._domains.items():
            if not self.is_active(name, config):
                continue
            if name in partial:
                config[name] = partial[name]
            elif name in proposal:
                config[name] = proposal[name]
            else:
                config[name] = domain.sample(rng)
        return config

    # ------------------------------------------------------------------ the unit cube
    def to_unit(self, config: Mapping[str, Any], inactive: float = INACTIVE) -> np.ndarray:
        """One coordinate per hyperparameter; inactive ones get ``inactive``."""
        import numpy as np

        if not self.conditions:
            return np.array([d.to_unit(config[n]) for n, d in self._domains.items()],
                            dtype=float)
        out = np.empty(len(self._domains))
        for i, (name, domain) in enumerate(self._domains.items()):
            if name in config and self.is_active(name, config):
                out[i] = domain.to_unit(config[name])
            elif self.is_active(name, config):
                raise SpaceError(f"the configuration lacks {name!r}, which is active in it")
            else:
                out[i] = inactive
        return out

    def from_unit(self, u: Any, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """The configuration at ``u``: active hyperparameters only, each snapped to its
        domain. An active one whose coordinate lies outside [0, 1] (an inactive coordinate)
        is drawn with ``rng`` when one is given (clipped otherwise)."""
        if len(u) != len(self._domains):
            raise SpaceError(f"point has {len(u)} coordinates, but the space has "
                             f"{len(self._domains)} dimensions")
        if not self.conditions:
            return {n: d.from_unit(x) for (n, d), x in zip(self._domains.items(), u)}
        config: dict[str, Any] = {}
        for (name, domain), x in zip(self._domains.items(), u):
            if not self.is_active(name, config):
                continue
            x = float(x)
            if rng is not None and not 0.0 <= x <= 1.0:  # also NaN
                config[name] = domain.sample(rng)
            else:
                config[name] = domain.from_unit(0.5 if math.isnan(x) else x)
        return config

    # ------------------------------------------------------------------ grids
    def grid_index(self, points: int = 5) -> GridIndex:
        """The grid as an indexable sequence (active combinations only), never built."""
        from ._grid import GridIndex

        return GridIndex(self, points)

    def grid(self, points: int = 5) -> Iterator[dict[str, Any]]:
        """Every active combination of the domains' grids, in a fixed order (the last
        hyperparameter varies fastest, as in ``itertools.product``)."""
        index = self.grid_index(points)
        for i in range(index.size):
            yield index[i]

    def size(self, limit: int = 10_000) -> int | None:
        """How many distinct configurations the space has (active combinations only), when
        every domain has finitely many values and their product is at most ``limit`` (so
        counting stays cheap); None otherwise."""
        bound = 1
        for domain in self._domains.values():
            count = _value_count(domain)
            if count is None:
                return None
            bound *= count
            if bound > limit:
                return None
        return self.grid_size(limit)

    def grid_size(self, points: int = 5) -> int:
        if not self.conditions:
            return math.prod(len(d.grid(points)) for d in self._domains.values())
        return self.grid_index(points).size

    # ------------------------------------------------------------------ checking
    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ``SpaceError`` unless ``config`` has every active hyperparameter with a valid
        value and no inactive one."""
        missing = [n for n in self._domains if n not in config and self.is_active(n, config)]
        if missing:
            raise SpaceError(f"config lacks hyperparameters {missing}")
        for n, d in self._domains.items():
            if n not in config:
                continue
            if not self.is_active(n, config):
                raise SpaceError(f"{n}={config[n]!r} is given, but {n} is only used when "
                                 f"{self.conditions[n]}")
            if not d.contains(config[n]):
                raise SpaceError(f"{n}={config[n]!r} is outside {d!r}")

    def matched_choices(self, partial: Mapping[str, Any]) -> Mapping[str, Any]:
        """``partial`` with its values as the searchers give them: a number of a ``Real`` as a
        float and a whole number of an ``Int`` as an int (``1`` -> ``1.0``, ``2.0`` -> ``2``,
        numpy numbers too), a categorical value as the choice itself; a list or tuple given
        for a choice of the other kind is that choice (``[128, 64]`` from JSON text for
        ``(128, 64)``), and so is a choice's ``repr`` (a configuration read from storage in
        another kernel: ``<function relu at 0x...>`` for ``relu``)."""
        if not isinstance(partial, Mapping):
            return partial
        matched = dict(partial)
        for name, value in partial.items():
            domain = self._domains.get(name)
            if domain is not None and not isinstance(domain, Categorical):
                number = as_number_of(domain, value)
                matched[name] = number if domain.contains(number) else value
            if not isinstance(domain, Categorical):
                continue
            if domain.contains(value):
                matched[name] = domain.choices[domain.index(value)]
                continue
            if isinstance(value, (list, tuple)):
                matched[name] = next((c for c in domain.choices if isinstance(c, (list, tuple))
                                      and list(c) == list(value)), value)
            elif isinstance(value, str):
                found, choice = domain.find_by_repr(value)
                if found:
                    matched[name] = choice
        return matched

    def check_partial(self, partial: Mapping[str, Any], what: str = "the configuration"
                      ) -> None:
        """Raise ``SpaceError`` unless ``partial`` could start a configuration: known names,
        values in their domains, and a conditional hyperparameter only together with the
        values its condition reads, which must make it active."""
        if not isinstance(partial, Mapping):
            raise SpaceError(f"{what} is {partial!r}, but must be a dict of hyperparameter "
                             f"values, e.g. {{'lr': 0.01}}")
        unknown = [n for n in partial if n not in self._domains]
        if unknown:
            raise SpaceError(f"{what} names {', '.join(map(repr, unknown))}, which "
                             f"{'is not a hyperparameter' if len(unknown) == 1 else 'are not hyperparameters'}"
                             f" of the study (its hyperparameters: {', '.join(self._domains)})")
        for name, value in partial.items():
            domain = self._domains[name]
            if not domain.contains(value):
                raise SpaceError(f"{what} has {name}={value!r}, which is "
                                 f"{not_in(domain, value)}")
            condition = self.conditions.get(name)
            if condition is None:
                continue
            absent = sorted(condition.names - partial.keys())
            if absent:
                raise SpaceError(f"{what} has {name}={value!r}, but {name} is only used when "
                                 f"{condition}: give {', '.join(absent)} too")
            if not condition.holds(partial):
                shown = ", ".join(f"{n}={partial[n]!r}" for n in sorted(condition.names))
                raise SpaceError(f"{what} has {name}={value!r}, but {name} is only used when "
                                 f"{condition}, and {what} has {shown}")


def not_in(domain: Domain, value: Any) -> str:
    """Why ``value`` is not in ``domain``: "outside Int(1, 4)", or for a number between the
    bounds "not an integer: Int(1, 4) takes whole numbers" or "not on the step of ..."."""
    shown = domain.unnamed_repr()
    lo, hi = getattr(domain, "lo", None), getattr(domain, "hi", None)
    if lo is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        number = "a whole number" if isinstance(domain, Int) else "a number"
        quoted = ""
        if isinstance(value, str):  # "0.01" from a config file or the command line
            try:
                quoted = f" (write {float(value):g} without quotes)"
            except ValueError:
                pass
        return f"not a number: {shown} takes {number} from {lo:g} to {hi:g}{quoted}"
    if lo is None or not lo <= value <= hi:
        return f"outside {shown}"
    if isinstance(domain, Int) and not float(value).is_integer():
        return f"not an integer: {shown} takes whole numbers"
    if isinstance(domain, Int) and not isinstance(value, numbers.Integral):  # 16.0
        return f"a float, not an integer: {shown} takes whole numbers (write {int(value)})"
    return f"not on the step of {shown}"


def as_number_of(domain: Domain, value: Any) -> Any:
    """``value`` as the type ``domain`` gives (float for ``Real``, int for ``Int``) when it is
    a number that converts exactly (not a bool, not ``2.5`` for an ``Int``); else unchanged."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(domain, Int):
        if isinstance(value, numbers.Integral):
            return int(value)
        return int(value) if math.isfinite(value) and float(value).is_integer() else value
    return float(value) if isinstance(domain, Real) else value


def check_condition(name: str, condition: Condition, before: Mapping[str, Domain],
                    order: list[str] | None = None) -> None:
    """Raise ``SpaceError`` unless ``condition`` of ``name`` reads hyperparameters that come
    before it (``before``) and can be true for their values."""
    for read in sorted(condition.names):
        if read == name:
            raise SpaceError(f"the condition of {name!r} ({condition}) reads {name} itself")
        if read not in before:
            where = "comes after it: list it first" if order and read in order else \
                "is not a hyperparameter of the space"
            raise SpaceError(f"the condition of {name!r} ({condition}) reads {read!r}, which "
                             f"{where}")
    for atom in condition.atoms():
        domain = before[atom.name]  # type: ignore[index]
        choices = getattr(domain, "choices", None)
        if atom.kind == "compare" and type(domain).__name__ == "Real" \
                and not getattr(domain, "stepped", False) \
                and atom.op in ("==", "!=", "in", "not in", "is", "is not"):
            raise SpaceError(f"the condition of {name!r} ({condition}) compares the real-valued "
                             f"{atom.name} with {atom.op}, but a sampled real is almost never "
                             f"exactly {atom.value!r}: use <, <=, > or >= (or a step)")
        if atom.kind == "compare" and choices is not None and atom.op in ("==", "in"):
            wanted = atom.value if atom.op == "in" else (atom.value,)
            if not any(_equal_to_a_choice(v, choices) for v in wanted):
                raise SpaceError(f"the condition of {name!r} ({condition}) is never true: "
                                 f"{atom.name} is one of {', '.join(map(repr, choices))}")
    if not _can_hold(condition, before):
        raise SpaceError(f"the condition of {name!r} ({condition}) is never true for the "
                         f"values of {', '.join(sorted(condition.names)) or 'nothing'}")


def _equal_to_a_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    try:
        return any(bool(c == value) for c in choices)
    except Exception:  # noqa: BLE001 - a choice that cannot be compared is not equal
        return False


def _contains(domain: Domain, value: Any) -> bool:
    try:
        return domain.contains(value)
    except Exception:  # noqa: BLE001 - a value the domain cannot compare is not in it
        return False


def _can_hold(condition: Condition, domains: Mapping[str, Domain]) -> bool:
    """Whether some combination of grid values of the names it reads makes it true."""
    import itertools

    names = sorted(condition.names)
    axes = []
    for n in names:  # the grid, and the values the condition names that the domain holds
        axis = list(domains[n].grid(50))
        for atom in condition.atoms():
            if atom.name == n and atom.kind == "compare":
                values = atom.value if atom.op in ("in", "not in") else (atom.value,)
                axis.extend(v for v in values if _contains(domains[n], v))
        axes.append(axis)
    for probe in itertools.islice(itertools.product(*axes), _PROBES):
        if condition.holds(dict(zip(names, probe))):
            return True
    return False


def _value_count(domain: Domain) -> int | None:
    """How many values ``domain`` takes; None for a continuous one."""
    if isinstance(domain, Categorical):
        return len(domain.choices)
    if getattr(domain, "stepped", False):
        return domain.step_count  # type: ignore[attr-defined]
    if isinstance(domain, Int):
        return domain.hi - domain.lo + 1
    return None
