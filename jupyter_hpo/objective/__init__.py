"""What a trial runs: a compiled ``%%hpo`` cell or a Python function.

Modules: ``_cell`` (the cell, run in a copy of the notebook's namespace), ``_function`` (a
Python function, as ``tune()`` takes it), ``_output`` (what either hands back),
``_cell_names`` (the names a cell reads and may bind), ``_unattended`` (``input()`` and
``exit()`` in a trial) and ``_pickling`` (why something cannot be sent to a worker process).
"""

from ._cell import FOUND_KEY, INJECTED_NAMES, SHELL_NAME, CellObjective
from ._cell_names import may_bind
from ._function import FunctionObjective
from ._output import TrialOutput

__all__ = ["FOUND_KEY", "INJECTED_NAMES", "SHELL_NAME", "CellObjective", "FunctionObjective",
           "TrialOutput", "may_bind"]
