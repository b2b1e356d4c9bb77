"""Search spaces: the domains of single hyperparameters and the space they form together.

``Real``, ``Int``, ``Categorical`` and ``Bool`` are the domains a cell or ``tune()`` uses
(``step=`` for stepped numbers, ``when=`` for conditional hyperparameters); ``Space`` maps
names to them. Searchers read the space through ``sample``, the unit-cube mapping
(``to_unit``/``from_unit``, which impute inactive hyperparameters and snap to steps) and
``grid``/``grid_index`` (active combinations only).
"""

from __future__ import annotations

from ._conditions import Condition, ConditionError, as_condition, condition_from_node
from ._domains import (
    CONFIG_SHOWN,
    Bool,
    Categorical,
    Domain,
    Int,
    Real,
    refuse_unsearchable,
    shown_value,
    without_address,
)
from ._grid import GridIndex
from ._space import INACTIVE, Space, check_condition, not_in, split_fixed

__all__ = ["CONFIG_SHOWN", "INACTIVE", "Bool", "Categorical", "Condition", "ConditionError",
           "Domain", "GridIndex", "Int", "Real", "Space", "as_condition", "check_condition",
           "condition_from_node", "not_in", "refuse_unsearchable", "shown_value", "split_fixed",
           "without_address"]
