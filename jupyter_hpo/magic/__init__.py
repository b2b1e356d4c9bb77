"""The ``%%hpo`` cell magic and the ``%hpo`` line magic: text in, a study out, and display.

The magic only parses its command line and the cell into :class:`StudyOptions` (the study
checks them) and shows what happens; everything else is the Python API's. Heavy modules
(numpy, pandas, the study) are imported when a study runs, so ``%load_ext`` stays fast.
Modules: ``_magics`` (the command lines: ``_arguments``, ``_parsing``, ``_option_guesses``,
``_line_hints``), ``_options`` (command line and cell to a study; ``_metric_mode``,
``_line_options``),
``_running`` (joining and concluding it), ``_commands`` (``%hpo`` commands), ``_export``,
``_text`` (the magic's spelling of values and errors), ``_cell_lines`` (the body numbered
as the editor numbers the cell), ``_interrupts``, ``_indented`` (an indented ``%%hpo`` below
the first line).
"""

from ..options import parse_duration
from ._export import export
from ._magics import HPOMagics, parse_cell_options
from ._text import parse_option_value

__all__ = ["HPOMagics", "export", "parse_cell_options", "parse_duration", "parse_option_value"]
