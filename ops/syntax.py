"""Parsing for the input language: text -> a syntax tree checked against an allow-list.

This half of the language runs nothing: :func:`parse` bounds the text (length, ASCII,
control characters, bracket and sign depth) before :func:`ast.parse` builds a tree, then
bounds the tree (nodes, depth) and walks it once, refusing every construct, name and
keyword that is not on the allow-list. :mod:`ops.language` evaluates what passes.
Every refusal is an :class:`ops.errors.InputError` with the 0-based column it concerns.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gradtui.ops.errors import InputError

MAX_TEXT_CHARS: int = 2000
"""Longest text accepted, in characters."""
MAX_NODES: int = 1000
"""Most syntax-tree nodes (numbers, names, operators, calls ...) in one text."""
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


# --------------------------------------------------------------------------- parsed text


@dataclass(frozen=True)
class Parsed:
    """Text that passed the allow-list, ready to evaluate any number of times.

    Attributes:
        text: The text as typed.
        tree: Its syntax tree, already validated (only allowed nodes, names and calls).
        names: Free input names, in order of first appearance in the text.
        field: The input the text came from, carried into errors raised while evaluating.
    """

    text: str
    tree: ast.Expression
    names: tuple[str, ...]
    field: str | None = None

    def position(self, node: ast.AST) -> int:
        """The 0-based column in :attr:`text` where ``node`` starts."""
        return source_of(self.text).start(node)


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


# --------------------------------------------------------------------------- function table


CONSTRUCTORS: dict[str, tuple[str, ...]] = {
    "linspace": ("start", "end", "steps"),
    "arange": ("start", "end", "step"),
    "zeros": ("size",),
    "ones": ("size",),
    "full": ("size", "fill_value"),
    "eye": ("n", "m"),
    "rand": ("size",),
    "randn": ("size",),
}
"""Tensor constructors and the keywords each accepts (sizes are also taken positionally)."""
SIZED_CONSTRUCTORS = frozenset({"zeros", "ones", "full", "rand", "randn"})


def _catalog() -> Mapping[str, Any]:
    """The catalog's ops, imported on first use: its default values are written in this language."""
    from gradtui.ops import catalog

    return getattr(catalog, "CATALOG", None) or {}  # empty only while the catalog imports


def function_spec(name: str) -> Any | None:
    """The catalog ``OpSpec`` called by ``name(...)``, or ``None``.

    A spec has ``.inputs`` (objects with ``.name``, ``.kind``, ``.default``) and ``.fn``.
    Constructors have no spec (they take sizes); see :data:`CONSTRUCTORS`.
    """
    return _catalog().get(name)


def is_function(name: str) -> bool:
    return name in CONSTRUCTORS or name in _catalog()


def function_names() -> frozenset[str]:
    """Every name that may be called: the constructors and the catalog's ops."""
    return frozenset(CONSTRUCTORS) | frozenset(_catalog())


# --------------------------------------------------------------------------- parse


def parse(text: str, *, field: str | None = None) -> Parsed:
    """Check ``text`` against the allow-list and return its tree; run nothing.

    Bounds are checked before the parser sees the text (length, ASCII, control
    characters, bracket and unary-sign depth), so ``ast.parse`` cannot recurse deeply.

    Args:
        text: What the person typed.
        field: The input it belongs to, for error messages.

    Returns:
        The validated :class:`Parsed` text, with its free input names.

    Raises:
        InputError: For anything refused; never any other exception.
    """
    if not isinstance(text, str):
        raise InputError(f"expected text, got {type(text).__name__}", field=field)
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"text is too long ({len(text)} characters; at most {MAX_TEXT_CHARS})",
            field=field,
            position=MAX_TEXT_CHARS,
        )
    _scan(text, field)
    src = source_of(text)
    body = text[src.shift :]
    if not body.strip():
        raise InputError(
            "empty text: type a number, a tensor literal or an expression",
            field=field,
            position=0,
        )
    tree = _parse_tree(body, src, field)
    _check_size(tree, src, field)
    names: dict[str, int] = {}
    _Validator(src, field, names).visit(tree.body)
    ordered = tuple(sorted(names, key=names.__getitem__))
    return Parsed(text=text, tree=tree, names=ordered, field=field)


def _scan(text: str, field: str | None) -> None:
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


_SIMPLE_STRING = re.compile(r"[A-Za-z0-9_-]{0,40}")


def _simple_string_end(text: str, quote: int) -> int:
    """Where a plain quoted word (``'sum'``, ``"nearest-exact"``) that starts at ``quote``
    ends, or -1 for anything else: a prefix (``f'``, ``b'``), an escape, any other character.

    Such a word can be a parameter's choice (``reduction='sum'``); the tree check decides.
    It has nothing for the parser to decode, so the parser stays silent.
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


def _parse_tree(body: str, src: Source, field: str | None) -> ast.Expression:
    try:
        tree = ast.parse(body, mode="eval")  # builds a tree only (PyCF_ONLY_AST); runs nothing
    except SyntaxError as exc:
        msg = exc.msg or "invalid syntax"
        if "null bytes" in msg:  # unreachable after _scan, kept for safety
            msg = "control characters are not allowed"
        raise InputError(
            f"cannot parse: {msg}",
            field=field,
            position=src.offset(exc.lineno, (exc.offset or 1) - 1),
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise InputError("text is too complex to parse", field=field, position=0) from None
    if not isinstance(tree, ast.Expression):  # pragma: no cover - mode="eval" guarantees it
        raise InputError("cannot parse: not an expression", field=field, position=0)
    return tree


_LEAF_PARTS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)

_CHAINS: dict[type, str] = {
    ast.Add: "sum",
    ast.Sub: "sum",
    ast.Mult: "product",
    ast.Div: "product",
    ast.MatMult: "product",
}
"""Operators of one precedence level that a person reads as one flat chain."""


def continues_chain(parent: ast.AST, child: ast.AST) -> bool:
    """Whether ``child`` is the left operand of ``parent`` in one flat chain.

    Python's tree of ``a + b - c + d`` leans left, one level per operator, but a person
    reads one level of terms; so does ``a * b / c @ d``. A power (``a ** b ** c``)
    nests, and so does a chain inside another (``a * b + c``: the product is a level).
    """
    return (
        isinstance(parent, ast.BinOp)
        and isinstance(child, ast.BinOp)
        and child is parent.left
        and _CHAINS.get(type(parent.op), "") == _CHAINS.get(type(child.op)) is not None
    )


def left_spine(node: ast.BinOp) -> tuple[ast.expr, list[ast.BinOp]]:
    """``a + b * c - d`` → ``(a, [a + b * c, (a + b * c) - d])``: the leftmost operand and
    the binary operators down the left side, innermost first.

    Every walk over a tree goes down this spine with a loop and recurses only into the
    right operands, so Python's recursion follows the nesting a person sees
    (:data:`MAX_DEPTH` levels), not the length of a flat chain (up to about
    :data:`MAX_NODES` / 2 operators).
    """
    spine: list[ast.BinOp] = []
    left: ast.expr = node
    while isinstance(left, ast.BinOp):
        spine.append(left)
        left = left.left
    spine.reverse()
    return left, spine


def _check_size(tree: ast.Expression, src: Source, field: str | None) -> None:
    """Count nodes and measure nesting without recursion, so later walks are bounded.

    Nesting is counted as a person reads it: a flat chain of one precedence level
    (``sin(x) + sin(2*x) + …``) is one level, however long (see :func:`continues_chain`).
    """
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InputError(
                f"expression is too large (more than {MAX_NODES} parts)",
                field=field,
                position=src.start(node),
            )
        if depth > MAX_DEPTH:
            raise InputError(
                f"nesting is too deep (more than {MAX_DEPTH} levels)",
                field=field,
                position=src.start(node),
            )
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAF_PARTS):
                stack.append((child, depth if continues_chain(node, child) else depth + 1))


OP_SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
BINARY_OPS: frozenset[type] = frozenset({ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult})
"""The binary operators the language allows: ``+ - * / ** @``."""
COMPARE_OPS: frozenset[type] = frozenset({ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq})
"""The comparisons it allows (one at a time): ``< <= > >= == !=``."""
_REFUSED: dict[type, str] = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.NamedExpr: "assignment expressions (':=') are not allowed",
    ast.Starred: "starred arguments ('*') are not allowed",
    ast.IfExp: "conditional expressions ('... if ... else ...') are not allowed; use where(...)",
    ast.BoolOp: "'and' / 'or' are not allowed",
    ast.Dict: "dict displays ('{...}') are not allowed",
    ast.Set: "set displays ('{...}') are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Slice: "slices are only allowed inside '[...]'",
}


class _Validator:
    """Walks the tree once, refusing anything off the allow-list and collecting free names.

    Recursion is safe: :func:`_check_size` has bounded the nesting by :data:`MAX_DEPTH`,
    and flat chains are walked with a loop (:func:`left_spine`).
    """

    def __init__(self, src: Source, field: str | None, names: dict[str, int]):
        self.src = src
        self.field = field
        self.names = names

    def refuse(self, message: str, node: ast.AST, position: int | None = None) -> InputError:
        pos = self.src.start(node) if position is None else position
        return InputError(message, field=self.field, position=pos)

    def visit(self, node: ast.AST, *, size_arg: bool = False) -> None:
        if isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.List):
            for elt in node.elts:
                self.visit(elt)
        elif isinstance(node, ast.Tuple):
            if not size_arg:
                raise self.refuse("tuples are not allowed (write a list [...] for a tensor)", node)
            for elt in node.elts:
                self.visit(elt)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                raise self.refuse("'not' is not allowed", node)
            if isinstance(node.op, ast.Invert):
                raise self.refuse("operator '~' is not allowed", node)
            self.visit(node.operand)
        elif isinstance(node, ast.BinOp):
            leftmost, spine = left_spine(node)  # a loop: a flat chain may be long
            for binop in reversed(spine):  # outermost first, as a recursive walk would
                if type(binop.op) not in BINARY_OPS:
                    symbol = OP_SYMBOLS.get(type(binop.op), type(binop.op).__name__)
                    raise self.refuse(
                        f"operator '{symbol}' is not allowed (allowed: + - * / ** @)",
                        binop,
                        operator_position(self.src, binop),
                    )
            self.visit(leftmost)
            for binop in spine:
                self.visit(binop.right)
        elif isinstance(node, ast.Compare):
            self.compare(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Subscript):
            self.subscript(node)
        else:
            message = _REFUSED.get(type(node), f"'{type(node).__name__}' is not allowed")
            raise self.refuse(message, node)

    def constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return
        if isinstance(value, int):
            if abs(value) > MAX_INT_LITERAL:
                raise self.refuse(
                    f"integer literal is too large (at most {MAX_INT_LITERAL:.0e} in size); "
                    "write a float such as 1e18",
                    node,
                )
            return
        if isinstance(value, str):
            raise self.refuse(
                "strings are not allowed here: only as the value of a parameter with fixed "
                "choices, such as reduction='sum'",
                node,
            )
        if value is Ellipsis:
            raise self.refuse("'...' is not allowed outside '[...]'", node)
        if isinstance(value, bytes):
            raise self.refuse("bytes are not allowed", node)
        if isinstance(value, complex):
            raise self.refuse("complex numbers are not allowed", node)
        raise self.refuse(f"'{value!r}' is not allowed", node)

    def name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            raise self.refuse(f"names starting with '_' are not allowed ('{name}')", node)
        if name in CONSTANTS:
            return
        if is_function(name):
            raise self.refuse(f"'{name}' is a function: call it, as in {name}(...)", node)
        pos = self.src.start(node)
        self.names[name] = min(pos, self.names.get(name, pos))

    def compare(self, node: ast.Compare) -> None:
        for op in node.ops:
            if type(op) not in COMPARE_OPS:
                symbol = OP_SYMBOLS.get(type(op), type(op).__name__)
                raise self.refuse(f"comparison '{symbol}' is not allowed", node)
        if len(node.ops) > 1:
            raise self.refuse(
                "chained comparisons (a < b < c) are not allowed; compare two values",
                node.comparators[0],
            )
        self.visit(node.left)
        self.visit(node.comparators[0])

    def call(self, node: ast.Call) -> None:
        func = node.func
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(_REFUSED[ast.Starred], arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.refuse("keyword unpacking ('**') is not allowed", kw)
        if isinstance(func, ast.Attribute):
            target = call_target(node, src=self.src, field=self.field)
            if target.receiver is not None:
                self.visit(target.receiver)
            self.torch_arguments(node, target.key)
            return
        if not isinstance(func, ast.Name):
            if isinstance(func, (ast.Subscript, ast.Lambda)):
                self.visit(func)  # refuses with its own, more specific message
            raise self.refuse("only functions called by their bare name are allowed", node)
        name = func.id
        if name.startswith("_"):
            raise self.refuse(f"names starting with '_' are not allowed ('{name}')", func)
        if name in CONSTANTS:
            raise self.refuse(f"'{name}' is a constant, not a function", func)
        if not is_function(name):
            close = (
                difflib.get_close_matches(name, sorted(function_names()), n=1)
                if len(name) <= 40
                else []
            )
            hint = f"; did you mean '{close[0]}'?" if close else ""
            if not close and _torch_fallback(name) is not None:
                hint = f"; write {_torch_fallback(name)}(...)"
            raise self.refuse(f"unknown function '{name}'{hint}", func)
        if name in CONSTRUCTORS:
            self.constructor_keywords(node, name)
        else:
            target = call_target(node, src=self.src, field=self.field)
            if target.kind == "torch":
                self.torch_arguments(node, target.key)
                return
        sized = name in SIZED_CONSTRUCTORS
        for arg in node.args:
            self.visit(arg, size_arg=sized)
        for kw in node.keywords:
            self.visit(kw.value, size_arg=sized and kw.arg == "size")

    def torch_arguments(self, node: ast.Call, key: str) -> None:
        """The arguments of a call in torch's spelling: keywords torch has, and values that
        may be strings (checked against the choices), dtypes (only for ``dtype=``), tuples
        and lists of numbers, tensors, and ``None``."""
        from gradtui.ops import spelling

        for index, arg in enumerate(node.args):
            listed = index == 0 and key in spelling.TENSOR_LISTS
            self.torch_argument(arg, key, None, listed=listed)
        for kw in node.keywords:
            name = kw.arg or ""
            if name.startswith("_"):
                raise self.refuse(f"names starting with '_' are not allowed ('{name}')", kw)
            reason = spelling.REFUSED_KEYWORDS.get(name)
            if reason is not None and not (
                name == "inplace" and isinstance(kw.value, ast.Constant) and kw.value.value is False
            ):
                raise self.refuse(reason, kw)
            self.torch_argument(kw.value, key, name, listed=False)

    def torch_argument(self, node: ast.expr, key: str, param: str | None, *, listed: bool) -> None:
        from gradtui.ops import spelling

        shown = display_name(key)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            allowed = spelling.choices(key, param)
            if allowed is None:
                where = f"'{param}'" if param else "a positional argument"
                raise self.refuse(
                    f"{shown}(): {where} takes no string (strings are only allowed as the value "
                    "of a parameter with fixed choices, such as reduction='sum'; give a "
                    "positional choice as a keyword)",
                    node,
                )
            if node.value not in allowed:
                what = f"'{param}'" if param else "the choice"
                raise self.refuse(
                    f"{shown}(): {what} must be one of "
                    f"{', '.join(repr(c) for c in allowed)}, not {node.value!r}",
                    node,
                )
            return
        dtype = dtype_name(node)
        if dtype is not None:
            if param != "dtype":
                raise self.refuse(
                    f"'torch.{dtype}' is a dtype: it is only allowed as dtype=torch.{dtype}", node
                )
            return
        if isinstance(node, (ast.Tuple, ast.List)) and (listed or isinstance(node, ast.Tuple)):
            for elt in node.elts:
                self.visit(elt, size_arg=True)
            return
        self.visit(node)

    def attribute(self, node: ast.Attribute) -> None:
        from gradtui.ops import spelling

        parts = dotted(node)
        if parts is not None and parts[0] in NAMESPACE_ROOTS:
            if len(parts) == 2 and parts[0] == "torch" and parts[1] in spelling.CONSTANTS:
                return  # torch.pi is pi
            key = torch_key(parts)
            if key is not None:
                raise self.refuse(
                    f"'{'.'.join(parts)}' is a function: call it, as in {'.'.join(parts)}(...)",
                    node,
                )
            raise self.refuse(spelling.namespace_refusal(parts), node)
        reason = spelling.refusal(node.attr, method=False)
        if reason is not None:
            raise self.refuse(
                f"attribute access '.{node.attr}' is not allowed: {reason}",
                node,
                attribute_position(self.src, node),
            )
        self.visit(node.value)

    def subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for item in items:
            if isinstance(item, ast.Slice):
                for part in (item.lower, item.upper, item.step):
                    if part is not None:
                        self.visit(part)
            elif isinstance(item, ast.Constant) and (item.value is Ellipsis or item.value is None):
                continue
            else:
                self.visit(item)

    def constructor_keywords(self, node: ast.Call, name: str) -> None:
        allowed = CONSTRUCTORS[name]
        for kw in node.keywords:
            if kw.arg not in allowed:
                raise self.refuse(
                    f"{name}() has no argument '{kw.arg}' (it takes: {', '.join(allowed)})", kw
                )


NAMESPACE_ROOTS = frozenset({"torch", "F"})
"""Names that begin a namespace prefix when a dot follows (``torch.sin``, ``F.relu``)."""


@dataclass(frozen=True)
class CallTarget:
    """What a call calls, decided while parsing (and again, identically, while evaluating).

    Attributes:
        kind: ``"constructor"``, ``"catalog"`` (a catalog op by its bare name), ``"torch"``
            (a function of :data:`ops.spelling.FUNCTIONS`) or ``"method"`` (a tensor method).
        key: The constructor or op name, ``"torch.sum"``/``"F.relu"``, or ``"Tensor.sum"``.
        receiver: For a method, the expression before the dot.
    """

    kind: str
    key: str
    receiver: ast.expr | None = None


def dotted(node: ast.AST) -> tuple[str, ...] | None:
    """``torch.nn.functional.relu`` -> ``("torch", "nn", "functional", "relu")``; ``None``
    when the chain does not start at a bare name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def torch_key(parts: tuple[str, ...]) -> str | None:
    """The :data:`ops.spelling.FUNCTIONS` key a dotted name calls, or ``None``."""
    from gradtui.ops import spelling

    resolved = spelling.resolve_prefix(parts)
    if resolved is None:
        return None
    key = f"{resolved[0]}.{resolved[1]}"
    return key if key in spelling.FUNCTIONS else None


def dtype_name(node: ast.AST) -> str | None:
    """``torch.float64`` -> ``"float64"``; ``None`` for anything else."""
    from gradtui.ops import spelling

    parts = dotted(node)
    if parts is not None and len(parts) == 2 and parts[0] == "torch":
        return parts[1] if parts[1] in spelling.DTYPES else None
    return None


def display_name(key: str) -> str:
    """A function key as a person writes it: ``"special.expit"`` -> ``"torch.special.expit"``."""
    space = key.split(".", 1)[0]
    return f"torch.{key}" if space in ("special", "linalg") else key


def _torch_fallback(name: str) -> str | None:
    """``torch.NAME`` or ``F.NAME`` for a bare name, where the allow-list has one."""
    from gradtui.ops import spelling

    for key in (f"torch.{name}", f"F.{name}"):
        if key in spelling.FUNCTIONS:
            return key
    return None


def attribute_position(src: Source, node: ast.Attribute) -> int:
    """The column of the dot before an attribute's name."""
    attr_start = src.end(node) - len(node.attr)
    dot = src.text.rfind(".", src.start(node), attr_start)
    return attr_start if dot < 0 else dot


def call_target(
    node: ast.Call, *, src: Source | None = None, field: str | None = None
) -> CallTarget:
    """Decide what a call calls, refusing anything off the allow-list.

    A bare name is a constructor or a catalog op; when the catalog's signature cannot
    take the arguments (``sum(x, dim=0)``), torch's function of the same name is called
    with them. A dotted name is resolved against the namespaces of
    :mod:`ops.spelling`; ``value.name(...)`` is a tensor method from its allow-list.

    Raises:
        InputError: The name is not allowed (the message says why, and what to write).
    """
    from gradtui.ops import spelling

    func = node.func
    if isinstance(func, ast.Name):
        name = func.id
        if name in CONSTRUCTORS:
            return CallTarget("constructor", name)
        try:
            bind_arguments(node, src=src, field=field)
        except InputError:
            fallback = _torch_fallback(name)
            if fallback is None:
                raise
            return CallTarget("torch", fallback)
        return CallTarget("catalog", name)
    if not isinstance(func, ast.Attribute):
        raise InputError(
            "only functions called by their bare name are allowed",
            field=field,
            position=_pos(src, node),
        )
    parts = dotted(func)
    if parts is not None and parts[0] in NAMESPACE_ROOTS:
        key = torch_key(parts)
        if key is None:
            raise InputError(
                spelling.namespace_refusal(parts), field=field, position=_pos(src, func)
            )
        return CallTarget("torch", key)
    name = func.attr
    at = attribute_position(src, func) if src is not None else None
    if name.endswith("_") and not name.startswith("_") and name not in spelling.REFUSED_ATTRIBUTES:
        receiver = "x"
        if src is not None:
            typed = src.text[src.start(func.value) : src.end(func.value)]
            receiver = typed if 0 < len(typed) <= 20 and "\n" not in typed else "x"
        raise InputError(
            f"'.{name}': {spelling.in_place(name, receiver)}", field=field, position=at
        )
    reason = spelling.refusal(name, method=True)
    if reason is not None:
        raise InputError(
            f"attribute access '.{name}' is not allowed: {reason}", field=field, position=at
        )
    return CallTarget("method", f"Tensor.{name}", func.value)


def operator_position(src: Source, node: ast.BinOp) -> int:
    """The column of a binary operator's symbol (between its operands)."""
    start, stop = src.end(node.left), src.start(node.right)
    symbol = OP_SYMBOLS.get(type(node.op), "")
    return src.find(symbol[:1], start, stop, start) if symbol else start


def bind_arguments(
    node: ast.Call, *, src: Source | None = None, field: str | None = None
) -> dict[str, ast.expr]:
    """Match a call's arguments to its function's parameters, without evaluating them.

    Positional arguments bind to the spec's inputs in order, keywords by name. Missing
    arguments are simply absent from the result (their defaults are the caller's business).

    Args:
        node: A validated call of a catalog op or base-table function.
        src: Where positions come from (computed from the node alone if omitted).
        field: For error messages.

    Returns:
        Parameter name -> the argument's syntax node.

    Raises:
        InputError: Too many arguments, an unknown keyword, or one given twice.
    """
    name = node.func.id if isinstance(node.func, ast.Name) else ""
    spec = function_spec(name) if name else None
    if spec is None:
        raise InputError(f"unknown function '{name}'", field=field, position=_pos(src, node))
    params = [p.name for p in spec.inputs]
    if len(node.args) > len(params):
        extra = node.args[len(params)]
        raise InputError(
            f"{name}() takes at most {len(params)} argument{'s' if len(params) != 1 else ''} "
            f"({', '.join(params)}), got {len(node.args)}",
            field=field,
            position=_pos(src, extra),
        )
    bound: dict[str, ast.expr] = dict(zip(params, node.args, strict=False))
    for kw in node.keywords:
        if kw.arg not in params:
            raise InputError(
                f"{name}() has no argument '{kw.arg}' (it takes: {', '.join(params)})",
                field=field,
                position=_pos(src, kw),
            )
        if kw.arg in bound:
            raise InputError(
                f"{name}() got two values for '{kw.arg}'", field=field, position=_pos(src, kw)
            )
        bound[kw.arg] = kw.value
    return bound


def _pos(src: Source | None, node: ast.AST) -> int | None:
    return None if src is None else src.start(node)


@lru_cache(maxsize=512)
def parse_default(text: str) -> Parsed:
    """Parse a catalog default value (cached: the same few texts come up again and again)."""
    return parse(text, field="default")
