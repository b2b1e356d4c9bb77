"""A trial's printed text kept as a terminal shows it, so progress bars do not bury it.

A progress bar redraws itself: tqdm writes ``\\r 40%|####  | 4/10`` over and over, nested bars
move the cursor up a line (``ESC[A``) to redraw the outer one, and a training of an hour
writes thousands of such updates. Kept as written they filled the trial's output with one
line per update and pushed the lines that matter (the printed metrics, a warning) out of the
kept tail. :class:`TerminalText` applies what a terminal does instead: a carriage return goes
back to the start of the line and what follows overwrites it, ``ESC[nA``/``ESC[nB`` move up
and down, ``ESC[K``/``ESC[2K`` erase, a backspace steps back; other escape sequences (colours)
are dropped, since the dashboard shows plain text, and so are spaces at the end of a line
(left where a shorter line overwrote a longer one). Unlike a terminal, text printed onto a
line that a carriage return redraws (``print()`` while a bar runs) starts a line below it, so
printed lines stay whole, as in a notebook's output, where the bar is on stderr and the print
on stdout. Only the last ``WINDOW`` lines can still change; lines above them are final.
"""

from __future__ import annotations

import re
import threading

__all__ = ["OUTPUT_LIMIT", "TerminalText"]

#: characters of a trial's output kept (the newest; the dashboard shows fewer)
OUTPUT_LIMIT = 1_000_000
#: lines at the bottom that a cursor movement can still reach
WINDOW = 50

_CONTROL = re.compile(r"(\r\n|\r|\n|\x08|\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]?)")


class TerminalText:
    """Text written in pieces (from any thread), kept as a terminal would show it."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._final: list[str] = []  # lines that can no longer change, each ending in "\n"
        self._final_size = 0
        self._lines: list[str] = [""]  # the window: the last lines, the cursor in one of them
        self._row = self._col = 0
        self._redrawn = False  # a carriage return went back on the cursor's line
        self._dropped = False

    def write(self, text: str) -> None:
        with self._lock:
            pieces = [piece for piece in _CONTROL.split(text) if piece]
            if pieces and self._redrawn and self._lines[self._row] \
                    and not _CONTROL.fullmatch(pieces[0]):
                self._apply("\n")  # a print onto a progress bar's line starts a line below
            for piece in pieces:
                self._apply(piece)
            self._settle()

    def text(self) -> str:
        """Everything kept, as the terminal shows it now."""
        return self.tail(None)

    def tail(self, size: int | None) -> str:
        """The last ``size`` characters of ``text()`` (all with None), joining only the
        lines they need."""
        if size is not None and size <= 0:
            return ""
        with self._lock:
            pieces = ["\n".join(line.rstrip(" ") for line in self._lines)]
            length = len(pieces[0])
            for line in reversed(self._final):
                if size is not None and length >= size:
                    break
                pieces.append(line)
                length += len(line)
            else:
                if self._dropped:
                    pieces.append("[... earlier output dropped ...]\n")
        text = "".join(reversed(pieces))
        return text if size is None else text[-size:]

    # ------------------------------------------------------------------ the terminal
    def _apply(self, piece: str) -> None:
        if piece in ("\n", "\r\n"):
            self._row += 1
            self._col = 0
            self._redrawn = False
            if self._row == len(self._lines):
                self._lines.append("")
        elif piece == "\r":
            self._col = 0
            self._redrawn = True
        elif piece == "\x08":
            self._col = max(0, self._col - 1)
        elif piece.startswith("\x1b"):
            self._escape(piece)
        else:
            line = self._lines[self._row]
            if self._col > len(line):
                line += " " * (self._col - len(line))
            self._lines[self._row] = line[:self._col] + piece + line[self._col + len(piece):]
            self._col += len(piece)

    def _escape(self, sequence: str) -> None:
        if not sequence.startswith("\x1b["):
            return
        command, argument = sequence[-1], sequence[2:-1]
        count = int(argument) if argument.isdigit() else 1
        if command == "A":
            self._row = max(0, self._row - count)
        elif command == "B":
            self._row += count
            while self._row >= len(self._lines):
                self._lines.append("")
        elif command == "C":
            self._col += count
        elif command == "D":
            self._col = max(0, self._col - count)
        elif command == "K":  # erase: to the end of the line (0), from its start (1), all (2)
            line = self._lines[self._row]
            self._lines[self._row] = ("" if argument == "2" else
                                      " " * self._col + line[self._col:] if argument == "1"
                                      else line[:self._col])

    def _settle(self) -> None:
        """Make lines far above the cursor final, and keep at most ``limit`` characters."""
        extra = min(len(self._lines) - WINDOW, self._row)
        if extra > 0:
            done = self._lines[:extra]
            del self._lines[:extra]
            self._row -= extra
            self._final.extend(line.rstrip(" ") + "\n" for line in done)
            self._final_size += sum(len(line) for line in self._final[-len(done):])
        line = self._lines[self._row]
        if len(line) > self.limit:  # one endless line (a print without newlines)
            cut = len(line) - self.limit // 2
            self._lines[self._row] = line[cut:]
            self._col = max(0, self._col - cut)
            self._dropped = True
        if self._final_size > self.limit:
            kept, size = [], 0
            for line in reversed(self._final):
                if size + len(line) > self.limit // 2:
                    break
                kept.append(line)
                size += len(line)
            self._final = kept[::-1]
            self._final_size = size
            self._dropped = True
