"""An indented ``%%hpo`` below a cell's first line. IPython rewrites it as a call of the line
magic ``%hpo`` that keeps the indentation, and where no block expects it, compiling the cell
fails with Python's "IndentationError: unexpected indent" on that rewritten call. This input
transformer gives such a call the indentation of the line above it, so that it runs and says
where ``%%hpo`` goes (``HPOMagics.hpo_misplaced``), as an unindented one does."""

from __future__ import annotations

import ast
import re

_CALL = re.compile(r"[ \t]+(get_ipython\(\)\.run_line_magic\('%hpo',.*)", re.DOTALL)


def dedent_misplaced_hpo(lines: list[str]) -> list[str]:
    """``lines`` (a cell as IPython transformed it) with an unexpectedly indented ``%hpo``
    call moved to the indentation of the line above; any other cell unchanged."""
    if not any(_CALL.match(line) for line in lines):
        return lines
    try:
        compile("".join(lines), "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True)
    except IndentationError as exc:
        row = (exc.lineno or 0) - 1
        call = _CALL.match(lines[row]) if 0 <= row < len(lines) else None
        if call is None:
            return lines
        above = next((line for line in reversed(lines[:row]) if line.strip()), "")
        fixed = list(lines)
        fixed[row] = above[:len(above) - len(above.lstrip())] + call.group(1)
        return fixed
    except (SyntaxError, ValueError):
        return lines
    return lines
