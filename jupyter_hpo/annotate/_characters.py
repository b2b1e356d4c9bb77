"""What to do about a character Python refuses in code (``invalid character '“' (U+201C)``):
code pasted from a web page, a PDF or a word processor brings typographic quotes and dashes,
non-breaking and zero-width spaces, which look like (or like nothing but) the plain ones;
a file saved as UTF-8 with BOM starts with a byte-order mark."""

from __future__ import annotations

import re

_QUOTE = 'a typographic quote: use a straight one, " or \''
#: code point -> what it is and what to type instead
_HINTS = {
    0x00A0: "a non-breaking space: type a plain space instead",
    0x202F: "a narrow non-breaking space: type a plain space instead",
    0x3000: "an ideographic (full-width) space: type a plain space instead",
    0xFEFF: "a byte-order mark, which a file saved as UTF-8 with BOM starts with: delete it",
    0x200B: "a zero-width space, invisible in the editor: delete it",
    0x200C: "a zero-width non-joiner, invisible in the editor: delete it",
    0x200D: "a zero-width joiner, invisible in the editor: delete it",
    0x2060: "a word joiner, invisible in the editor: delete it",
    0x201C: _QUOTE, 0x201D: _QUOTE, 0x201E: _QUOTE, 0x2018: _QUOTE, 0x2019: _QUOTE,
    0x201A: _QUOTE, 0x00AB: _QUOTE, 0x00BB: _QUOTE, 0x2032: _QUOTE, 0x2033: _QUOTE,
    0x2013: "an en dash: use - for a minus sign",
    0x2014: "an em dash: use - for a minus sign",
    0x2212: "a minus sign: use - (the hyphen-minus) instead",
    0x00D7: "a multiplication sign: use * instead",
    0x00F7: "a division sign: use / instead",
    0x2026: "an ellipsis character: use ... (three dots) instead",
}


def character_hint(message: str, text: str) -> str:
    """`` (what the character is, what to type instead, how many of its kind the cell holds)``
    for Python's message about an invalid character (opening and closing quotes count
    together); ``""`` for other messages and characters."""
    found = re.search(r"U\+([0-9A-Fa-f]{4,6})", message)
    if found is None or "character" not in message:
        return ""
    code = int(found.group(1), 16)
    hint = _HINTS.get(code)
    if hint is None:
        return ""
    count = sum(text.count(chr(other)) for other, same in _HINTS.items() if same == hint)
    more = f"; the cell has {count} of them" if count > 1 else ""
    pasted = "" if code == 0xFEFF else "; pasted from a web page or a PDF?"
    return f" ({hint}{more}{pasted})"
