"""A snippet's comments as claims: found with Python's tokenizer, checked against the output.

A trailing ``# comment`` on a line whose statement prints is a claim about what that
line prints (``print(z)  # tensor([True, False, False])``). :func:`trailing_comments`
finds them (a comment with code before it on its line); :func:`check_claims` compares
each with what the line really printed, by :func:`collapse`.
"""

from __future__ import annotations

import ast
import io
import tokenize

from gradtui.ops.results import Claim

__all__ = ["check_claims", "collapse", "trailing_comments"]

_LAYOUT = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def trailing_comments(text: str) -> dict[int, str]:
    """Each comment with code before it on its line, by 1-based line: the text after
    ``#``, trimmed. Comments on lines of their own are not claims and are left out."""
    comments: dict[int, str] = {}
    code_on_line: set[int] = set()
    try:
        for kind, string, (row, _col), (end_row, _), _line in tokenize.generate_tokens(
            io.StringIO(text).readline
        ):
            if kind == tokenize.COMMENT:
                if row in code_on_line:
                    comments[row] = string[1:].strip()
            elif kind not in _LAYOUT:
                code_on_line.update(range(row, end_row + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the parser has refused such text already
    return comments


def collapse(text: str) -> str:
    """The text as a claim is compared: ends trimmed, and each run of whitespace dropped,
    except between two word characters (letters, digits, ``_``, ``.``), where it stays as
    one space. So torch's alignment padding (``tensor([ True, False])``, ``[ 2.7183,
    7.3891]``) does not count, while ``1 0`` still differs from ``10``."""
    out = ""
    for part in text.split():
        if out and _word(out[-1]) and _word(part[0]):
            out += " "
        out += part
    return out


def _word(char: str) -> bool:
    return char.isalnum() or char in "._"


def check_claims(
    comments: dict[int, str],
    node: ast.stmt,
    status: str,
    printed: tuple[str, ...],
    stop_line: int | None,
) -> tuple[Claim, ...]:
    """The claims on a printing statement's lines, each checked against ``printed``.

    Args:
        comments: From :func:`trailing_comments`.
        node: The ``print(...)`` statement.
        status: ``"ran"``, ``"raised"`` or ``"not reached"``.
        printed: What its ``print`` call printed.
        stop_line: Where the run stopped, if it did.
    """
    line, end = node.lineno, node.end_lineno or node.lineno
    out = []
    for row in range(line, end + 1):
        text = comments.get(row)
        if text is None:
            continue
        if status == "not reached":
            stop = line if stop_line is None else stop_line
            out.append(
                Claim(row, text, None, f"the line did not run (the run stopped at line {stop})")
            )
        elif status == "raised" or not printed:
            out.append(Claim(row, text, False, "the line raised and printed nothing"))
        else:
            shown = "\n".join(printed)
            holds = collapse(shown) == collapse(text)
            why = "holds" if holds else f"printed {' '.join(shown.split())[:400]}"
            out.append(Claim(row, text, holds, why))
    return tuple(out)
