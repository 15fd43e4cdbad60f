"""The snippet language's parser: Python statements checked against an allow-list.

A snippet is code pasted from a Q&A page or a tutorial. It is parsed with
:func:`ast.parse` (which builds a tree and runs nothing) after a scan bounds the text,
and every statement and expression in the tree is checked here before anything runs:

- ``import torch``, ``import torch.nn.functional as F``, ``import torch.nn as nn`` (and
  ``from torch.nn import functional as F``, ``from torch import nn``) bind only those names;
- assignment to a name or a tuple of names, ``+=`` and its kin on a name;
- expression statements (``print(...)``, ``y.backward()``, ``torch.autograd.grad(...)``,
  ``x.grad.zero_()``), and ``with torch.no_grad():`` / ``with torch.enable_grad():``;
- in expressions: literals (numbers, strings, f-strings, lists, tuples), names, operators,
  comparisons, calls and attributes whose names are on :mod:`ops.spelling`'s allow-lists or
  on this module's few additions (``.grad``, ``.backward``, in-place tensor methods, ...).

Everything else (``def``, ``class``, loops, ``lambda``, other imports, ``open``, dunder
attributes, ...) is refused with a :class:`SnippetRefused` naming its line and column.
What an attribute is on is only known when the snippet runs, so :mod:`ops.snippet`
checks the receiver's type again there, against the same tables.
"""

from __future__ import annotations

import ast
import io
import tokenize
import unicodedata
from dataclasses import dataclass

from gradtui.ops import snippet_names
from gradtui.ops.errors import InputError
from gradtui.ops.snippet_claims import trailing_comments
from gradtui.ops.source import MAX_DEPTH, MAX_INT_LITERAL

__all__ = [
    "BUILTINS",
    "MAX_SNIPPET_CHARS",
    "MAX_SNIPPET_NODES",
    "MAX_STATEMENTS",
    "MODULES",
    "Program",
    "SnippetRefused",
    "parse_snippet",
]

MAX_SNIPPET_CHARS: int = 20_000
"""The longest snippet taken, in characters (comments included)."""

MAX_STATEMENTS: int = 200
"""The most statements a snippet may have, those inside ``with`` blocks included."""

MAX_SNIPPET_NODES: int = 12_000
"""The most syntax-tree nodes a snippet may have (an expression may have 1,200)."""

MODULES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "F": ("torch", "nn", "functional"),
    "nn": ("torch", "nn"),
}
"""The names an import may bind, and the module path each stands for."""

_IMPORTS: dict[tuple[str, str | None], str] = {
    # (module, alias) -> the name it binds
    ("torch", None): "torch",
    ("torch.nn.functional", "F"): "F",
    ("torch.nn", "nn"): "nn",
    ("torch.nn.functional", None): "torch",  # binds torch, as Python does
    ("torch.nn", None): "torch",
}
_FROM_IMPORTS: dict[tuple[str, str, str | None], str] = {
    ("torch.nn", "functional", "F"): "F",
    ("torch", "nn", None): "nn",
}

BUILTINS: frozenset[str] = frozenset(
    "print len abs float int bool round min max sum list tuple str repr type".split()
)
"""Python's builtins a snippet may call (``print`` only as a statement of its own)."""

RESERVED: frozenset[str] = BUILTINS | frozenset(MODULES) | {"True", "False", "None"}
"""Names a snippet may not assign to."""

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

_REFUSED_STATEMENTS: dict[type, str] = {
    ast.FunctionDef: "'def' is not allowed: a snippet runs statements in order, no functions",
    ast.AsyncFunctionDef: "'async def' is not allowed",
    ast.ClassDef: "'class' is not allowed",
    ast.For: "loops are not allowed: write each step out, or use a tensor op",
    ast.AsyncFor: "loops are not allowed",
    ast.While: "loops are not allowed: write each step out, or use a tensor op",
    ast.If: "'if' is not allowed: a snippet runs every statement in order",
    ast.Try: "'try' is not allowed: gradtui reports the first statement that raises",
    ast.Raise: "'raise' is not allowed",
    ast.Assert: "'assert' is not allowed: print the value and let gradtui check the comment",
    ast.Delete: "'del' is not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.Return: "'return' is not allowed outside a function (and functions are not allowed)",
    ast.Pass: "'pass' is not needed here",
    ast.Break: "'break' is not allowed",
    ast.Continue: "'continue' is not allowed",
    ast.AsyncWith: "'async with' is not allowed",
    ast.AnnAssign: "annotated assignment is not allowed: write name = value",
    ast.Match: "'match' is not allowed",
}
if hasattr(ast, "TryStar"):  # pragma: no branch - Python 3.11+
    _REFUSED_STATEMENTS[ast.TryStar] = "'try' is not allowed"

_REFUSED_EXPRESSIONS: dict[type, str] = {
    ast.Lambda: "'lambda' is not allowed: a snippet defines no functions",
    ast.ListComp: "comprehensions are not allowed (they are loops)",
    ast.SetComp: "comprehensions are not allowed (they are loops)",
    ast.DictComp: "comprehensions are not allowed (they are loops)",
    ast.GeneratorExp: "generator expressions are not allowed (they are loops)",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
    ast.NamedExpr: "':=' is not allowed: assign on a line of its own",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
}

BINARY_OPS: frozenset[type] = frozenset(
    {
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.Pow,
        ast.MatMult,
        ast.BitAnd,
        ast.BitOr,
        ast.BitXor,
    }
)
"""Operators a snippet may use (shifts are left out: ``1 << 10**9`` is a memory bomb)."""

_FORMAT_SPEC_CHARS = frozenset("<>^=+- #0123456789.,_eEfFgGdxXobn%")


class SnippetRefused(InputError):
    """A statement the snippet language does not take.

    Attributes:
        line: 1-based line in the snippet.
        col: 1-based column on that line.
    """

    def __init__(self, message: str, *, line: int, col: int, position: int | None = None):
        self.line = line
        self.col = col
        super().__init__(message, field="snippet", position=position)

    def __str__(self) -> str:
        return f"line {self.line}:{self.col}: {self.message}"


@dataclass(frozen=True)
class Program:
    """A snippet that passed the allow-list, ready to run.

    Attributes:
        text: The snippet as pasted.
        tree: Its syntax tree, every node checked.
        comments: Each trailing comment (code before it on its line) by 1-based line:
            the text after ``#``, trimmed.
    """

    text: str
    tree: ast.Module
    comments: dict[int, str]

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def source(self, node: ast.AST) -> str:
        """The text of ``node`` as typed (its first line through its last)."""
        segment = ast.get_source_segment(self.text, node)
        return segment if segment is not None else ""


def _refuse(
    message: str, node: ast.AST | None = None, *, line: int = 1, col: int = 0
) -> SnippetRefused:
    if node is not None:
        line = getattr(node, "lineno", line)
        col = getattr(node, "col_offset", col)
    return SnippetRefused(message, line=line, col=col + 1)


# --------------------------------------------------------------------------- the text


def _scan(text: str) -> None:
    """Bound the text, with Python's own tokenizer.

    Non-ASCII is allowed in comments and strings only (the seed page's comments are
    Chinese); control characters other than tab and newline, the bidirectional controls
    that make code read differently from how it runs, and the other invisible formatting
    characters (zero-width spaces and joiners, tag characters, line separators: a claim
    or a string that looks like another), nowhere. A string may still spell any of them
    with an escape (``"\\u200b"``), which is visible.
    """
    if len(text) > MAX_SNIPPET_CHARS:
        raise _refuse(
            f"the snippet is too long ({len(text)} characters; at most {MAX_SNIPPET_CHARS})",
            line=text.count("\n", 0, MAX_SNIPPET_CHARS) + 1,
            col=MAX_SNIPPET_CHARS - (text.rfind("\n", 0, MAX_SNIPPET_CHARS) + 1),
        )
    for index, char in enumerate(text):
        code = ord(char)
        bad = (code < 32 and char not in "\t\n\r") or 0x7F <= code < 0xA0 or char in _BIDI
        kind = unicodedata.category(char) if code >= 0xA0 else ""
        bad = (
            bad or kind in ("Cs", "Co", "Cf", "Zl", "Zp") and not (char == "\ufeff" and index == 0)
        )
        if bad:
            line = text.count("\n", 0, index) + 1
            col = index - (text.rfind("\n", 0, index) + 1)
            what = "a bidirectional control" if char in _BIDI else "a control character"
            if kind in ("Cf", "Zl", "Zp") and char not in _BIDI:
                what = "an invisible formatting character"
            raise _refuse(
                f"{what} (U+{code:04X}) is not allowed: it makes text show differently "
                "from what runs",
                line=line,
                col=col,
            )
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string, (row, col), _end, _line = tok
            if kind == tokenize.OP and string in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise _refuse(
                        f"brackets are nested too deeply (at most {MAX_DEPTH})", line=row, col=col
                    )
            elif kind == tokenize.OP and string in ")]}":
                depth -= 1
            if kind not in (tokenize.COMMENT, tokenize.STRING) and not string.isascii():
                raise _refuse(
                    f"non-ASCII text {string[:20]!r} is only allowed in comments and strings",
                    line=row,
                    col=col,
                )
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # ast.parse reports it, with a better message


def parse_snippet(text: str) -> Program:
    """Check a snippet against the allow-list and return its tree; run nothing.

    Raises:
        SnippetRefused: For anything refused, with its line and column; never any other
            exception.
    """
    if not isinstance(text, str):
        raise _refuse(f"expected text, got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    _scan(text)
    if not text.strip():
        raise _refuse("the snippet is empty: paste some PyTorch code")
    try:
        tree = ast.parse(text, mode="exec")  # builds a tree only; runs nothing
    except SyntaxError as exc:
        raise _refuse(
            f"cannot parse: {exc.msg or 'invalid syntax'}",
            line=exc.lineno or 1,
            col=max((exc.offset or 1) - 1, 0),
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise _refuse("the snippet is too complex to parse") from None
    _check_size(tree)
    _Checker().block(tree.body)
    return Program(text=text, tree=tree, comments=trailing_comments(text))


def _check_size(tree: ast.Module) -> None:
    count = 0
    statements = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if isinstance(node, ast.stmt):
            statements += 1
            if statements > MAX_STATEMENTS:
                raise _refuse(f"too many statements (at most {MAX_STATEMENTS})", node)
        if count > MAX_SNIPPET_NODES:
            raise _refuse(f"the snippet is too large (at most {MAX_SNIPPET_NODES} parts)", node)
        if depth > MAX_DEPTH * 2:
            raise _refuse(f"the snippet is nested too deeply (at most {MAX_DEPTH})", node)
        # children in reverse, so nodes are met in source order and the statement
        # named past the limit is the first one over it
        stack.extend((child, depth + 1) for child in reversed(list(ast.iter_child_nodes(node))))


# --------------------------------------------------------------------------- the tree


def module_path(node: ast.AST) -> tuple[str, ...] | None:
    """``F.relu`` -> ``("F", "relu")``: a dotted chain starting at one of :data:`MODULES`."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in MODULES:
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


def full_path(parts: tuple[str, ...]) -> tuple[str, ...]:
    """``("F", "relu")`` -> ``("torch", "nn", "functional", "relu")``."""
    return MODULES[parts[0]] + parts[1:]


class _Checker:
    """Walks the tree once, refusing anything off the allow-list (names are checked
    against :mod:`ops.snippet_names`, which knows torch's spelling)."""

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.name, alias.asname) not in _IMPORTS:
                    raise _refuse(snippet_names.import_refusal(alias.name, alias.asname), node)
            return
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if (module, alias.name, alias.asname) not in _FROM_IMPORTS:
                    shown = f"from {module} import {alias.name}" + (
                        f" as {alias.asname}" if alias.asname else ""
                    )
                    raise _refuse(snippet_names.import_refusal(shown, None, plain=True), node)
            return
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.target(target)
            self.expr(node.value)
            return
        if isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                raise _refuse("'+=' and its kin may only change a name, as in x += 1", node.target)
            self.target(node.target)
            self.binary_op(node.op, node)
            self.expr(node.value)
            return
        if isinstance(node, ast.Expr):
            if is_print(node):
                self.print_call(node.value)
                return
            self.expr(node.value)
            return
        if isinstance(node, ast.With):
            for item in node.items:
                path = (
                    module_path(item.context_expr.func)
                    if isinstance(item.context_expr, ast.Call)
                    else None
                )
                call = item.context_expr
                if (
                    path not in (("torch", "no_grad"), ("torch", "enable_grad"))
                    or not isinstance(call, ast.Call)
                    or call.args
                    or call.keywords
                ):
                    raise _refuse(
                        "only 'with torch.no_grad():' and 'with torch.enable_grad():' are allowed",
                        item.context_expr,
                    )
                if item.optional_vars is not None:
                    raise _refuse("'with ... as' is not allowed here", item.optional_vars)
            self.block(node.body)
            return
        message = _REFUSED_STATEMENTS.get(type(node), f"'{type(node).__name__}' is not allowed")
        raise _refuse(message, node)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _refuse(f"names starting with '_' are not allowed ('{node.id}')", node)
            if node.id in RESERVED:
                raise _refuse(f"'{node.id}' cannot be assigned to in a snippet", node)
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            if not node.elts:
                raise _refuse("assign to at least one name", node)
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    raise _refuse(_REFUSED_EXPRESSIONS[ast.Starred], elt)
                if not isinstance(elt, ast.Name):
                    raise _refuse("a tuple assigned to holds names only, as in (g,) = ...", elt)
                self.target(elt)
            return
        if isinstance(node, ast.Attribute):
            raise _refuse(
                f"assigning to '.{node.attr}' is not allowed: write x.grad.zero_() to clear a "
                "gradient, x.requires_grad_() to make x require grad",
                node,
            )
        if isinstance(node, ast.Subscript):
            raise _refuse(
                "assigning into a tensor (x[i] = ...) is not allowed: write torch.where(...) "
                "or an in-place method",
                node,
            )
        raise _refuse("only names and tuples of names can be assigned to", node)

    def print_call(self, node: ast.Call) -> None:
        for arg in node.args:
            self.expr(arg)
        for kw in node.keywords:
            if kw.arg in ("sep", "end"):
                self.expr(kw.value)
            elif kw.arg == "flush":
                self.expr(kw.value)
            else:
                shown = "**" if kw.arg is None else f"{kw.arg}="
                raise _refuse(f"print takes sep=, end= and flush= here, not {shown}", kw.value)

    def binary_op(self, op: ast.operator, node: ast.AST) -> None:
        if type(op) not in BINARY_OPS:
            symbol = {ast.LShift: "<<", ast.RShift: ">>"}.get(type(op), type(op).__name__)
            raise _refuse(f"operator '{symbol}' is not allowed", node)

    def expr(self, node: ast.expr) -> None:  # noqa: C901 - one dispatch over node kinds

        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bytes):
                raise _refuse("bytes are not allowed", node)
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and abs(value) > MAX_INT_LITERAL
            ):
                raise _refuse(
                    f"integer literal is too large (at most {MAX_INT_LITERAL:.0e} in size)", node
                )
            return
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _refuse(f"names starting with '_' are not allowed ('{node.id}')", node)
            if node.id == "print":
                raise _refuse("print(...) is allowed only as a statement of its own", node)
            if node.id in BUILTINS:
                raise _refuse(f"'{node.id}' is a function: call it, as in {node.id}(...)", node)
            return
        if isinstance(node, (ast.List, ast.Tuple)):
            for elt in node.elts:
                self.expr(elt)
            return
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    self.expr(part.value)
                    if part.format_spec is not None:
                        self.format_spec(part.format_spec)
                elif not isinstance(part, ast.Constant):  # pragma: no cover - Python's grammar
                    raise _refuse("this f-string part is not allowed", part)
            return
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Invert):
                pass
            self.expr(node.operand)
            return
        if isinstance(node, ast.BinOp):
            self.binary_op(node.op, node)
            self.expr(node.left)
            self.expr(node.right)
            return
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expr(value)
            return
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if isinstance(op, (ast.In, ast.NotIn)):
                    raise _refuse("'in' is not allowed", node)
            self.expr(node.left)
            for comparator in node.comparators:
                self.expr(comparator)
            return
        if isinstance(node, ast.IfExp):
            self.expr(node.test)
            self.expr(node.body)
            self.expr(node.orelse)
            return
        if isinstance(node, ast.Subscript):
            self.expr(node.value)
            self.index(node.slice)
            return
        if isinstance(node, ast.Attribute):
            self.attribute(node, call=False)
            return
        if isinstance(node, ast.Call):
            self.call(node)
            return
        message = _REFUSED_EXPRESSIONS.get(type(node), f"'{type(node).__name__}' is not allowed")
        raise _refuse(message, node)

    def attribute(self, node: ast.Attribute, *, call: bool) -> None:
        """``torch.X``/``F.X`` (a module path, resolved here) or ``value.name``, used as a
        value or called."""
        path = module_path(node)
        if path is not None:
            full = full_path(path)
            if call:
                reason = snippet_names.module_call_refusal(full)
            else:
                reason = snippet_names.module_value_refusal(full)
            if reason is not None:
                raise _refuse(reason, node)
            return
        reason = snippet_names.attribute_refusal(node.attr, call=call)
        if reason is not None:
            raise _refuse(reason, node)
        self.expr(node.value)

    def index(self, node: ast.expr) -> None:
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.expr(part)
            return
        if isinstance(node, ast.Tuple):
            for elt in node.elts:
                self.index(elt)
            return
        self.expr(node)

    def format_spec(self, node: ast.JoinedStr) -> None:
        for part in node.values:
            if not isinstance(part, ast.Constant) or not isinstance(part.value, str):
                raise _refuse("a format spec must be plain text, as in {x:.4f}", node)
            spec = part.value
            digits = "".join(c if c.isdigit() else " " for c in spec).split()
            if len(spec) > 12 or set(spec) - _FORMAT_SPEC_CHARS or any(len(d) > 2 for d in digits):
                raise _refuse(
                    f"format spec {spec[:20]!r} is not taken: use a short one such as .4f or >8",
                    node,
                )

    def call(self, node: ast.Call) -> None:
        func = node.func  # the function first: it comes first in the text, as its refusal
        if isinstance(func, ast.Name):
            if func.id == "print":
                raise _refuse("print(...) is allowed only as a statement of its own", node)
            if func.id not in BUILTINS:
                reason = snippet_names.bare_call_refusal(func.id)
                raise _refuse(reason, func)
        elif isinstance(func, ast.Attribute):
            self.attribute(func, call=True)
        elif isinstance(func, ast.Lambda):
            raise _refuse(_REFUSED_EXPRESSIONS[ast.Lambda], func)
        else:
            raise _refuse("only functions called by name, or methods, are allowed", node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _refuse("'*' unpacking is not allowed", arg)
            self.expr(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise _refuse("keyword unpacking ('**') is not allowed", kw.value)
            if kw.arg.startswith("_"):
                raise _refuse(f"keywords starting with '_' are not allowed ('{kw.arg}')", kw.value)
            self.expr(kw.value)


def is_print(node: ast.stmt) -> bool:
    """Whether a statement is a ``print(...)`` call of its own (the one place print goes)."""
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "print"
    )
