"""``# hpo:`` comment annotations: ``lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)``.

A mixin of the parser (``_CellParser``): the comments are found with ``tokenize``, each one's
expression is parsed on its own and placed at the comment's position in the cell, and the
assignment it ends gives the name and the default value. A comment that is an annotation but
for a misspelt marker (``# hop: Real(0, 1)``, ``# hpo Real(0, 1)``) is found too, so that it is
refused instead of being an ordinary comment that leaves its variable out of the search.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Any

from ..errors import HPOSyntaxError
from ..space import not_in
from ._template import _NESTED_MESSAGE, _TOO_DEEP, CONSTRUCTORS, _Found
from ._tree import PEER_NAMES, _constructor_name, _short_repr, _suggest, peer_call_advice

__all__ = ["CommentAnnotations"]

_HPO_COMMENT = re.compile(r"#\s*hpo:", re.IGNORECASE)  # a quick test before tokenizing
_MARKER = "hpo"
#: a comment that starts as an annotation does, but perhaps with another marker: ``#``, a
#: word, punctuation or spaces (no word, no bracket), then a constructor's call (ours, or
#: another library's name, which the annotation then says is not ours)
_MARKER_LIKE = re.compile(r"#[ \t]*(?P<word>\w+)(?P<sep>[^\w\n(]*)(?P<call>\b(?:"
                          + "|".join(sorted({*CONSTRUCTORS, *PEER_NAMES}, key=len, reverse=True))
                          + r")[ \t]*\()")
#: an annotation's marker and call later in a comment than its start (``# note # hpo: ...``)
_LATE_MARKER = re.compile(r"#[ \t]*hpo:[ \t]*(?P<call>(?:"
                          + "|".join(sorted({*CONSTRUCTORS, *PEER_NAMES}, key=len, reverse=True))
                          + r")[ \t]*\(.*)", re.IGNORECASE)
_SHOWN = 80  # the most characters of the expression a misspelt marker's message repeats


class CommentAnnotations:
    """How the parser reads ``# hpo:`` comments."""

    def _comment_tokens(self) -> list[tokenize.TokenInfo]:
        """The cell's comments, or none when no comment can be an annotation or a misspelt
        one (most cells: tokenizing is skipped) or the cell cannot be tokenized (its syntax
        error is reported by then)."""
        if not (_HPO_COMMENT.search(self.text) or _MARKER_LIKE.search(self.text)):
            return []
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.text).readline))
        except (tokenize.TokenError, SyntaxError):
            return []
        return [tok for tok in tokens if tok.type == tokenize.COMMENT]

    @staticmethod
    def _comments(comments: list[tokenize.TokenInfo]) -> list[tuple[int, str, int]]:
        """``(line, expression text, column)`` for every ``# hpo:`` comment among
        ``comments`` (the marker in any case, with or without a space after ``#``)."""
        found: list[tuple[int, str, int]] = []
        for tok in comments:
            if _is_marked(tok.string):
                expr = tok.string[1:].strip()[len(_MARKER) + 1:].strip()
                col = tok.start[1] + tok.string.index(expr) if expr else tok.start[1]
                found.append((tok.start[0], expr, col))
        return found

    def _misspelt_markers(self, comments: list[tokenize.TokenInfo]) -> list[HPOSyntaxError]:
        """An error for each of ``comments`` that reads as an annotation whose ``hpo:``
        marker is misspelt (``# hop: Real(0, 1)``, ``# hpo Real(0, 1)``, ``# hpo= Real(0,
        1)``), under the marker as written: without it the comment would silently leave its
        variable out of the search. :func:`_misspelt_marker` says what counts. So is an
        annotation after a note in a comment that follows code (:func:`_late_marker`)."""
        errors = []
        for tok in comments:
            late = _late_marker(tok.string) if tok.line[:tok.start[1]].strip() else None
            if late is not None:
                start, end, expr, note = late
                lineno, col = tok.start
                code = tok.line[:col].strip()
                errors.append(self.at(f"'# {_MARKER}:' must start the comment, or the comment is "
                                      f"not an annotation: write `{code}  # {_MARKER}: {expr}  "
                                      f"# {note}`", lineno, col + start, lineno, col + end))
                continue
            found = _misspelt_marker(tok.string)
            if found is not None:
                end, expr = found
                lineno, col = tok.start
                errors.append(self.at(f"this comment looks like a hyperparameter annotation "
                                      f"but is not one: write `# {_MARKER}: {expr}`", lineno,
                                      col, lineno, col + end))
        return errors

    @staticmethod
    def _assignments_by_line(assignments: list[ast.Assign | ast.AnnAssign]) \
            -> dict[int, ast.Assign | ast.AnnAssign]:
        """For each line, the last assignment (with a value) that spans it. Assignments do
        not nest, so this is linear in the number of lines."""
        by_line: dict[int, ast.Assign | ast.AnnAssign] = {}
        for stmt in assignments:
            if stmt.value is None:
                continue
            for n in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
                other = by_line.get(n)
                if other is None or (stmt.lineno, stmt.col_offset) > (other.lineno,
                                                                       other.col_offset):
                    by_line[n] = stmt
        return by_line

    def _comment_annotation(self, lineno: int, expr: str, col: int,
                            by_line: dict[int, ast.Assign | ast.AnnAssign]) -> tuple[_Found, Any]:
        line = self.lines[lineno - 1]
        if not expr:
            raise self.at("'# hpo:' must be followed by a space, e.g. "
                          "'# hpo: Real(1e-4, 1e-1, log=True)'", lineno, col)
        try:
            call = ast.parse(expr, mode="eval").body
        except SyntaxError as exc:
            after = _text_after_call(expr)
            if after is not None:  # Real(0, 1) learning rate: a note where a # is missing
                written, rest = expr[:after].strip(), expr[after:].strip()
                note = rest.lstrip(",;:-# ") or rest
                why = (f"an unmatched {rest!r} after the annotation {written}: remove it"
                       if not rest.strip(")]} ") else
                       f"text after the annotation {written}: a note goes after a # of its "
                       f"own: `# hpo: {written}  # {note}`")
                start = col + after + len(expr[after:]) - len(expr[after:].lstrip())
                raise self.at(why, lineno, start, lineno, col + len(expr.rstrip()))
            if exc.lineno != 1:  # the comment is one line: an error past it is at its end
                exc.lineno, exc.offset, exc.end_lineno = 1, len(expr) + 1, None
            raise self.syntax_error(exc, False, "invalid '# hpo:' annotation", lineno - 1,
                                    col) from None
        except (RecursionError, MemoryError):
            raise self.at(f"{_TOO_DEEP}: the '# hpo:' annotation is nested too deeply",
                          lineno, col) from None
        shift = len(line[:col].encode())
        for node in ast.walk(call):
            if "lineno" in node._attributes:
                node.lineno += lineno - 1
                node.end_lineno = (node.end_lineno or 1) + lineno - 1
                node.col_offset += shift
                node.end_col_offset = (node.end_col_offset or 0) + shift
        ctor = call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
            else None
        if ctor not in CONSTRUCTORS:
            hint = _suggest(ctor) if ctor else ""
            peer = peer_call_advice(call)
            if peer is not None:
                hint = f" ({peer})"
            raise self.error(f"unknown search space {_short_repr(expr)} in '# hpo:' comment: "
                             f"use Real, Int, Categorical or Bool{hint}", call)
        assert isinstance(call, ast.Call)
        inner = next((n for n in ast.walk(call) if n is not call and _constructor_name(n)), None)
        if inner is not None:
            raise self.error(_NESTED_MESSAGE, inner)
        stmt = by_line.get(lineno)
        targets = [] if stmt is None else (stmt.targets if isinstance(stmt, ast.Assign)
                                           else [stmt.target])
        if stmt is None or len(targets) != 1 or not isinstance(targets[0], ast.Name):
            raise self.error("a '# hpo:' comment must end an assignment to one variable, e.g. "
                             "'lr = 1e-3  # hpo: Real(1e-4, 1e-1, log=True)'", call)
        value_node = stmt.value
        assert value_node is not None  # by_line holds assignments with a value
        if _constructor_name(value_node):
            raise self.error("this line already has a search space: drop either the '# hpo:' "
                             "comment or the constructor", call)
        name = self._explicit_name(call) or targets[0].id
        domain = self._evaluate(call, name)
        try:
            default, has_default = ast.literal_eval(value_node), True
        except Exception:  # noqa: BLE001 - anything but a plain literal: no default
            default, has_default = None, False
        if has_default and domain is not None:
            try:
                inside = domain.contains(default)
            except Exception:  # noqa: BLE001 - a value the domain cannot even compare
                inside = False
            if not inside:  # "not an integer" for x = 0.5  # hpo: Int(0, 10), not "outside"
                raise self.error(f"the default {_short_repr(default)} of {name!r} is "
                                 f"{not_in(domain, default)}", value_node)
        return _Found(name, "comment", domain, value_node, call, expr, default, has_default,
                      variable=targets[0].id), stmt


def _text_after_call(expr: str) -> int | None:
    """Where a constructor's call that begins ``expr`` ends, when text that is not Python
    follows it (``Real(0, 1) learning rate``); else None."""
    for end in (i + 1 for i, char in enumerate(expr) if char == ")"):
        try:
            call = ast.parse(expr[:end], mode="eval").body
        except (SyntaxError, RecursionError, MemoryError):
            continue
        return end if _constructor_name(call) and expr[end:].strip() else None
    return None


def _is_marked(comment: str) -> bool:
    """Whether ``comment`` (with its ``#``) is an annotation: ``# hpo:``, the marker in any
    case, with or without spaces after ``#``."""
    return comment[1:].strip().lower().startswith(f"{_MARKER}:")


def _misspelt_marker(comment: str) -> tuple[int, str] | None:
    """For a comment that looks like an annotation but is not one, where its marker ends (the
    characters underlined) and its expression (shortened); None for any other comment.

    It looks like one when, right after ``#`` and spaces, a word at most one letter away from
    ``hpo`` (case aside: ``hop``, ``hp0``, ``phpo``, ``hp``, ``hpo`` itself) is followed by
    punctuation or spaces only and then a constructor's call (``Real(``, ``Int(``, also
    another library's name such as ``Float(``); the annotation itself (``# hpo: ...``) is not
    one. So prose (``# hpo settings: Real numbers``, ``# see hpo docs``), a URL, a
    commented-out line (``# x = 1  # hpo: Real(0, 1)``) and ``## hpo: ...`` never are.
    """
    if _is_marked(comment):
        return None
    match = _MARKER_LIKE.match(comment)
    if match is None or not _one_edit_from(match["word"].lower(), _MARKER):
        return None
    end = match.end("word") + len(match["sep"].rstrip())
    expr = comment[match.start("call"):].strip()
    if len(expr) > _SHOWN:
        expr = expr[:_SHOWN - 3] + "..."
    return end, expr


def _late_marker(comment: str) -> tuple[int, int, str, str] | None:
    """For a comment after code whose annotation follows a note (``lr = 1e-3  # learning rate
    # hpo: Real(1e-4, 1e-1)``), where its marker starts and ends, its expression and the note
    (both shortened); None for any other comment. Without this the variable silently stayed
    out of the search. ``## hpo: ...`` (a switched-off annotation) is no note."""
    if _is_marked(comment):
        return None
    for match in _LATE_MARKER.finditer(comment, 1):
        note = comment[:match.start()].lstrip("#").strip()
        if note:
            expr, note = (text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."
                          for text in (match["call"].strip(), note))
            return match.start(), comment.index(":", match.start()) + 1, expr, note
    return None


def _one_edit_from(word: str, target: str) -> bool:
    """Whether ``word`` is ``target`` or one edit away from it: a letter changed, added or
    removed, or two neighbouring letters swapped (``hop`` for ``hpo``)."""
    if word == target:
        return True
    if len(word) == len(target):
        wrong = [i for i, (a, b) in enumerate(zip(word, target)) if a != b]
        return len(wrong) == 1 or (len(wrong) == 2 and wrong[1] == wrong[0] + 1
                                   and word[wrong[0]] == target[wrong[1]]
                                   and word[wrong[1]] == target[wrong[0]])
    if abs(len(word) - len(target)) != 1:
        return False
    longer, shorter = (word, target) if len(word) > len(target) else (target, word)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))
