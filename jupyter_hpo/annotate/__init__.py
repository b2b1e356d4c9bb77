"""Parse a ``%%hpo`` cell into a :class:`CellTemplate`: its search space and compiled code.

Annotations are found with ``ast`` (and ``tokenize`` for ``# hpo:`` comments), evaluated once
to validate them before any trial starts, and replaced by lookups in the per-trial config so
the cell is compiled once and executed per trial. :func:`diagnose_cell` runs the same parser
for an editor (no kernel): it reports every error, not just the first, and evaluates only
literal arguments.

Whatever the input, the parser raises (or reports) only :class:`HPOSyntaxError`, at a cell line
as Python counts lines: only ``\\n``, ``\\r\\n`` and ``\\r`` end a line. The syntax tree is
walked without recursion, so a deeply nested cell fails only where Python itself gives up.
Lines are those of the source it is given: the magic gives it the body below an empty line
that stands for the ``%%hpo`` line, so that they are the editor's (``%%hpo`` is line 1).
"""

from ._parser import diagnose_cell, parse_cell
from ._template import (
    CELL_NAMES,
    CONFIG_NAME,
    CONSTRUCTORS,
    MAX_T_NAME,
    MAX_T_NAMES,
    RESULT_NAME,
    Annotation,
    CellDiagnostics,
    CellTemplate,
    DiagnosedAnnotation,
    ReportingFunction,
    max_t_names,
)

__all__ = [
    "CELL_NAMES",
    "CONFIG_NAME",
    "CONSTRUCTORS",
    "MAX_T_NAME",
    "MAX_T_NAMES",
    "RESULT_NAME",
    "Annotation",
    "CellDiagnostics",
    "CellTemplate",
    "DiagnosedAnnotation",
    "ReportingFunction",
    "diagnose_cell",
    "max_t_names",
    "parse_cell",
]
