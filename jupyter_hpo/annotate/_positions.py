"""Where things are in a cell, and the errors put there: the parser's (``_CellParser``) base.

``ast`` counts columns in UTF-8 bytes, an editor in characters: every error the parser makes
goes through here, so that its line and columns are the editor's, and is raised (the magic)
or collected (the editor's diagnostics)."""

from __future__ import annotations

import ast
import sys

from ..errors import HPOSyntaxError
from ._characters import character_hint
from ._template import _TOO_DEEP

__all__ = ["CellPositions"]


class CellPositions:
    """Positions and errors in the cell's ``text`` (its ``lines``), for the parser."""

    text: str
    lines: list[str]
    collect: bool
    errors: list[HPOSyntaxError]
    _raw: dict[int, bytes | None]

    def fail(self, error: HPOSyntaxError) -> None:
        if not self.collect:
            raise error
        self.errors.append(error)

    def char_col(self, lineno: int, byte_col: int) -> int:
        """``ast``'s UTF-8 byte offset on ``lineno`` as a character column."""
        if lineno not in self._raw:
            line = self.lines[lineno - 1] if 1 <= lineno <= len(self.lines) else ""
            self._raw[lineno] = None if line.isascii() else line.encode()
        raw = self._raw[lineno]
        return byte_col if raw is None else len(raw[:byte_col].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int, int, int]:
        """``node``'s range: 1-based lines, 0-based character columns."""
        lineno, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        end_lineno = getattr(node, "end_lineno", None) or lineno
        end_col = getattr(node, "end_col_offset", None)
        return (lineno, self.char_col(lineno, col), end_lineno,
                self.char_col(end_lineno, col if end_col is None else end_col))

    def at(self, message: str, lineno: int, col: int, end_lineno: int | None = None,
           end_col: int | None = None) -> HPOSyntaxError:
        return HPOSyntaxError(message, self.text, lineno, col, end_col, end_lineno=end_lineno)

    def error(self, message: str, node: ast.AST) -> HPOSyntaxError:
        lineno, col, end_lineno, end_col = self.span(node)
        return self.at(message, lineno, col, end_lineno, end_col)

    def at_index(self, message: str, index: int) -> HPOSyntaxError:
        lineno = self.text.count("\n", 0, index) + 1
        col = index - (self.text.rfind("\n", 0, index) + 1)
        return self.at(message, lineno, col, lineno, col + 1)

    def syntax_error(self, exc: SyntaxError, byte_offsets: bool,
                     prefix: str = "invalid Python syntax", line_shift: int = 0,
                     col_shift: int = 0) -> HPOSyntaxError:
        """``exc`` located in the cell (an error at the end of input is put at the end of the
        last line). ``ast.parse`` gives character offsets, ``compile`` of a tree bytes."""
        count = max(1, len(self.lines))
        lineno = min(max(1, (exc.lineno or 1) + line_shift), count)
        line = self.lines[lineno - 1] if self.lines else ""
        past_end = (exc.lineno or 1) + line_shift > count

        def column(n: int, offset: int | None) -> int:
            if offset is None or offset < 1:
                return col_shift if n == lineno else 0
            col = self.char_col(n, offset - 1) if byte_offsets else offset - 1
            return min(col + (col_shift if n == lineno else 0), len(self.lines[n - 1]))

        col = len(line) if past_end else column(lineno, exc.offset)
        end_lineno, end_col = lineno, col + 1
        exc_end = (exc.end_lineno or 0) + line_shift
        if not past_end and exc.end_offset and exc_end >= lineno and exc_end <= count:
            end = column(exc_end, exc.end_offset)
            if exc_end > lineno or end > col:
                end_lineno, end_col = exc_end, end
        message = f"{prefix}: {exc.msg}{character_hint(exc.msg, self.text)}"
        if exc.msg in ("'return' outside function", "'yield' outside function"):
            message += (" (a %%hpo cell runs at the top level: report results with "
                        "report(...) or end the cell with an expression)")
        return self.at(message, lineno, col, end_lineno, end_col)

    def too_deep(self, node: ast.AST | None, depth: int = 0) -> HPOSyntaxError:
        if node is None:  # Python could not even build the tree: blame the longest line
            lineno = max(range(1, len(self.lines) + 1), key=lambda n: len(self.lines[n - 1]),
                         default=1)
            line = self.lines[lineno - 1] if self.lines else ""
            col = len(line) - len(line.lstrip())
            return self.at(f"{_TOO_DEEP}: Python ran out of stack building its syntax tree. "
                           f"Split long chains of operators, attributes, calls or brackets "
                           f"into several statements", lineno, col)
        what = f"nested {depth} levels deep" if depth else "nested too deeply"
        return self.error(f"{_TOO_DEEP}: the expression here is {what}, and Python gives up "
                          f"at about {sys.getrecursionlimit()} levels. Split it into several "
                          f"statements", node)

    def _source_text(self, node: ast.AST) -> str:
        lineno, col, end_lineno, end_col = self.span(node)
        if lineno == end_lineno:
            return self.lines[lineno - 1][col:end_col]
        return "\n".join([self.lines[lineno - 1][col:], *self.lines[lineno:end_lineno - 1],
                          self.lines[end_lineno - 1][:end_col]])
