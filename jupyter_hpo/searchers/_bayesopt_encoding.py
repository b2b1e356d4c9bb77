"""The bayesopt searcher's unit-cube encoding: configurations to rows and back, snapped."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..space import INACTIVE, Categorical
from ._bayesopt_parts import snap_table

__all__ = ["EncodingMixin", "_config_key"]

_SNAP_TABLE = 1024  # domains with at most this many values are snapped by a lookup table


class EncodingMixin:
    """How BayesOptSearcher encodes configurations (one-hot categories, snapped steps)."""

    def _codes_of(self, trial_id: int, config: dict[str, Any]
                  ) -> tuple[dict[str, Any], np.ndarray, tuple[Any, ...]]:
        """``(config, its encoding, its key)`` for a trial, computed once: while the trial is
        pending, proposals fantasise it; its rung results reuse it."""
        codes = self._codes.get(trial_id)
        if codes is None or codes[0] is not config:
            encoded = self._encode(config)
            codes = self._codes[trial_id] = (config, encoded, self._key(encoded))
        return codes

    def _snap(self, encoded: np.ndarray) -> np.ndarray:
        """Clip to the cube and move integers (and steps) to the centre of their cell; in a
        conditional space, re-encode each row's configuration."""
        if self.space.conditional:
            return np.array([self._encode(self._decode(row, self.rng)) for row in encoded])
        if self._numeric:
            numeric = self._numeric_columns
            encoded[:, numeric] = np.clip(encoded[:, numeric], 0.0, 1.0)
        for column, domain in self._ints:
            if column not in self._tables:
                self._tables[column] = snap_table(domain, _SNAP_TABLE)
            table = self._tables[column]
            if table is None:
                encoded[:, column] = [domain.to_unit(domain.from_unit(u))
                                      for u in encoded[:, column]]
            else:
                edges, centres = table
                encoded[:, column] = centres[np.searchsorted(edges, encoded[:, column],
                                                             side="right")]
        return encoded

    def _distinct_random(self) -> dict[str, Any]:
        taken = {self._codes_of(trial_id, config)[2]
                 for trial_id, config in self.pending.items()}
        config = self.space.sample(self.rng)
        for _ in range(20):
            if self._key(self._encode(config)) not in taken:
                break
            config = self.space.sample(self.rng)
        return config

    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        parts: list[float] = []
        for name in self._names:
            domain = self.space[name]
            if isinstance(domain, Categorical):
                onehot = [0.0] * len(domain.choices)
                if name in config:  # an inactive block stays all zeros
                    onehot[domain.index(config[name])] = 1.0
                parts.extend(onehot)
            else:
                parts.append(domain.to_unit(config[name]) if name in config else INACTIVE)
        return np.array(parts)

    def _decode(self, encoded: np.ndarray, rng: np.random.Generator | None = None
                ) -> dict[str, Any]:
        """The configuration of an encoding (active hyperparameters only). With ``rng``, an
        active one encoded as inactive (a column nearer -0.5 than 0, an all-zero block) is
        drawn at random; without, it is clipped."""
        config: dict[str, Any] = {}
        values = encoded.tolist()  # Python floats: a batch's picks decode one by one
        conditional = self.space.conditional
        for name, domain, column, width in self._layout:
            if conditional and not self.space.is_active(name, config):
                continue
            if width:
                part = encoded[column:column + width]
                config[name] = domain.sample(rng) if rng is not None and not part.any() \
                    else domain.choices[int(np.argmax(part))]
            elif rng is not None and values[column] < INACTIVE / 2:
                config[name] = domain.sample(rng)
            else:
                config[name] = domain.from_unit(values[column])
        return config

    def _key(self, encoded: np.ndarray) -> tuple[Any, ...]:
        """What makes two encoded configurations the same configuration."""
        return _config_key(self._decode(encoded))

    def _r(self, level: float | None) -> float:
        """The resource normalised to [0, 1] on a log scale (-1 with FIFO)."""
        if level is None:
            return -1.0
        r_min = self.rung_levels[0] if self.rung_levels else 1.0
        top = self.max_t or level
        if top <= r_min:
            return 1.0
        return math.log(level / r_min) / math.log(top / r_min)

    def _at(self, encoded: np.ndarray, level: float | None) -> np.ndarray:
        """Inputs at resource ``level`` in multi-fidelity use, else unchanged."""
        if level is None:
            return encoded
        return np.hstack([encoded, np.full((len(encoded), 1), self._r(level))])


def _config_key(config: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two decoded configurations the same configuration (a choice that cannot be
    hashed, such as a list or a dict, by its ``repr``)."""
    key = tuple(sorted(config.items()))
    try:
        hash(key)
    except TypeError:
        return tuple((name, _hashable(value)) for name, value in key)
    return key


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ("__repr__", repr(value))
    return value
