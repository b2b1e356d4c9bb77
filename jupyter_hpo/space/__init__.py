"""Search spaces: the domains of single hyperparameters and the space they form together.

``Real``, ``Int``, ``Categorical`` and ``Bool`` are the domains a cell or ``tune()`` uses;
``Space`` maps names to them. Searchers read the space through ``sample``, the unit-cube
mapping (``to_unit``/``from_unit``) and ``grid``.
"""

from __future__ import annotations

from ._domains import Bool, Categorical, Domain, Int, Real
from ._space import Space

__all__ = ["Bool", "Categorical", "Domain", "Int", "Real", "Space"]
