"""The domains: one hyperparameter's values, validated, sampled, mapped to [0, 1] and gridded.

Every domain maps to one coordinate of the unit cube so model-based searchers can work on
``[0, 1]^d`` whatever the mix of real, integer and categorical hyperparameters.

Each domain module has one job (``_base``, ``_numeric``, ``_categorical``); the argument
checks, the shown values and the new-study checks live beside them. Old pickles name
``jupyter_hpo.space._domains.Real`` and so on, which this package still provides.
"""

from __future__ import annotations

from ._base import Domain
from ._categorical import Bool, Categorical
from ._numeric import Int, Real
from ._shown import CONFIG_SHOWN, shown_value, without_address
from ._unsearchable import refuse_unsearchable

__all__ = ["CONFIG_SHOWN", "Bool", "Categorical", "Domain", "Int", "Real", "refuse_unsearchable",
           "shown_value", "without_address"]
