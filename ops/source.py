"""The typed text before the parser sees it: the language's bounds, the character scan, positions.

:func:`scan` refuses non-ASCII, control characters, deep nesting, a number run into a
name, and every string but a plain quoted word or an einsum equation, before :func:`ast.parse` builds a tree
(so the parser cannot recurse deeply and never decodes a string). :class:`Source` maps
a tree node back to the 0-based column a person typed. The limits here bound every
later step: :mod:`ops.syntax` the tree, :mod:`ops.language` the tensors.
"""

from __future__ import annotations

import ast
import math
import re
from functools import lru_cache

from gradtui.ops.errors import InputError

MAX_TEXT_CHARS: int = 10_000
"""Longest text accepted, in characters (room for OpInfo's default inputs written as
literals: bmm's is 2,436 characters, dropout3d's 3,210; :mod:`ops.opinfo` uses this bound)."""
MAX_NODES: int = 1200
"""Most syntax-tree nodes (numbers, names, operators, calls ...) in one text. Room for
OpInfo's default inputs as literals (a negative number is two nodes): dropout3d's
5x5x5x5 input needs 1105, grid_sampler_2d's grid 1073."""
MAX_DEPTH: int = 64
"""Deepest nesting: brackets, runs of unary signs, and levels of the syntax tree."""
MAX_ELEMENTS: int = 10**6
"""No tensor the language creates may have more elements than this."""
MAX_INT_LITERAL: int = 10**15
"""Largest integer literal (in magnitude); write bigger numbers as floats (``1e18``)."""

CONSTANTS: frozenset[str] = frozenset({"pi", "inf", "nan", "True", "False", "None"})
"""Names that are not free inputs. ``None`` is only accepted as an argument that takes it."""

NAMED_FLOATS = {"pi": math.pi, "inf": math.inf, "nan": math.nan}
_ALLOWED_WHITESPACE = " \t\n"


class Source:
    """Maps the parser's (line, column) pairs back to 0-based offsets in the typed text.

    Leading whitespace is stripped before parsing (``ast.parse`` in ``eval`` mode calls it
    an indent), so every offset is shifted back by its length.
    """

    def __init__(self, text: str):
        self.text = text
        self.shift = len(text) - len(text.lstrip(_ALLOWED_WHITESPACE))
        body = text[self.shift :]
        self.line_starts = [0] + [i + 1 for i, c in enumerate(body) if c == "\n"]

    def offset(self, lineno: int | None, col: int | None) -> int:
        if lineno is None or col is None:
            return 0
        line = min(max(lineno, 1), len(self.line_starts)) - 1
        pos = self.shift + self.line_starts[line] + max(col, 0)
        return min(pos, len(self.text))

    def start(self, node: ast.AST) -> int:
        return self.offset(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def end(self, node: ast.AST) -> int:
        return self.offset(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))

    def find(self, char: str, start: int, stop: int, default: int) -> int:
        """Where ``char`` first occurs in ``text[start:stop]`` (for pointing at an operator)."""
        found = self.text.find(char, start, stop)
        return default if found < 0 else found


@lru_cache(maxsize=256)
def source_of(text: str) -> Source:
    return Source(text)


def scan(text: str, field: str | None) -> None:
    """Refuse non-ASCII, control characters, strings and deep nesting before the parser runs.

    Strings are refused here rather than in the tree so that the parser never sees
    one: decoding a string literal is where ``ast.parse`` emits warnings (invalid
    escapes), and warnings would need a process-wide filter to silence.
    """
    depth = 0
    unary = 0
    comment = False
    skip_to = -1
    for i, ch in enumerate(text):
        if i < skip_to:
            continue
        if ch == "#":
            comment = True
        if ch in "'\"":
            end = _simple_string_end(text, i)
            if comment or end < 0:
                _refuse_string(text, i, field)
            skip_to = end
            unary = 0
            continue
        code = ord(ch)
        if code > 127:
            raise InputError(
                f"non-ASCII character U+{code:04X} is not allowed (the language is ASCII only)",
                field=field,
                position=i,
            )
        if (code < 32 or code == 127) and ch not in _ALLOWED_WHITESPACE:
            raise InputError(
                f"control character U+{code:04X} is not allowed", field=field, position=i
            )
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(
                    f"nesting is too deep (more than {MAX_DEPTH} brackets)",
                    field=field,
                    position=i,
                )
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        if ch in "+-~":
            unary += 1
            if unary > MAX_DEPTH:
                raise InputError(
                    f"nesting is too deep (more than {MAX_DEPTH} signs in a row)",
                    field=field,
                    position=i,
                )
        elif ch not in _ALLOWED_WHITESPACE:
            unary = 0
    _scan_numbers(text, field)


_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]*|0[oO][0-7_]*|0[bB][01_]*"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?"
)


def _scan_numbers(text: str, field: str | None) -> None:
    """Refuse a number that runs straight into a name (``1if``, ``2x``).

    Python's tokenizer answers some of these with a ``SyntaxWarning`` printed on
    stderr instead of an error; refusing them first keeps the parser silent.
    """
    i = 0
    while i < len(text):
        ch = text[i]
        starts = ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit())
        if not starts or (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.")):
            i += 1
            continue
        match = _NUMBER.match(text, i)
        end = match.end() if match else i + 1
        if end < len(text) and (text[end].isalpha() or text[end] == "_"):
            raise InputError(
                f"a number runs into a name: put a space or an operator between "
                f"'{text[i:end]}' and '{text[end]}'",
                field=field,
                position=end,
            )
        i = max(end, i + 1)


_SIMPLE_STRING = re.compile(r"[A-Za-z0-9_ ,.>-]{0,100}")
"""What a string may hold: a word (``'sum'``, ``"nearest-exact"``) or an einsum equation
(``'...ij, jk -> ...ik'``: letters, commas, ``->``, ``...``, spaces)."""


def _simple_string_end(text: str, quote: int) -> int:
    """Where a plain quoted word or einsum equation that starts at ``quote`` ends, or -1 for
    anything else: a prefix (``f'``, ``b'``), an escape, a quote of the other kind, any
    other character, more than 100 characters.

    Such a string can be a parameter's choice (``reduction='sum'``) or an einsum equation;
    the tree check decides which, if either. It has nothing for the parser to decode
    (no backslash, no quote, no brace), so the parser stays silent.
    """
    before = text[quote - 1] if quote > 0 else " "
    if before.isalnum() or before == "_":
        return -1
    match = _SIMPLE_STRING.match(text, quote + 1)
    end = match.end() if match else quote + 1
    if end < len(text) and text[end] == text[quote]:
        return end + 1
    return -1


def _refuse_string(text: str, quote: int, field: str | None) -> None:
    """Refuse the string literal whose quote is at ``quote``, naming its kind (f, b, plain)."""
    start = quote
    while start > 0 and quote - start < 2 and text[start - 1].lower() in "rbfu":
        start -= 1
    before = text[start - 1] if start > 0 else " "
    if before.isalnum() or before == "_":
        start = quote  # the letters belong to a name ("elf'x'"): point at the quote itself
    prefix = text[start:quote].lower()
    kind = "f-strings" if "f" in prefix else "bytes" if "b" in prefix else "strings"
    raise InputError(f"{kind} are not allowed", field=field, position=start)
