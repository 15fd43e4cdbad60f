"""Parsing for the input language: text -> a syntax tree checked against an allow-list.

This half of the language runs nothing: :func:`parse` has :func:`ops.source.scan` bound
the text (length, ASCII, control characters, strings, bracket and sign depth) before
:func:`ast.parse` builds a tree, then bounds the tree (nodes, depth) and walks it once,
refusing every construct, name and keyword that is not on the allow-list; what a call
calls is decided by :mod:`ops.calls`. :mod:`ops.language` evaluates what passes.
Every refusal is an :class:`ops.errors.InputError` with the 0-based column it concerns.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from functools import lru_cache

from gradtui.ops.calls import (
    CONSTRUCTOR_KEYWORDS,
    CONSTRUCTORS,
    NAMESPACE_ROOTS,
    REQUIRES_GRAD,
    SIZED_CONSTRUCTORS,
    attribute_position,
    call_target,
    display_name,
    dotted,
    dtype_name,
    function_names,
    is_function,
    listed_tensors,
    torch_fallback,
    torch_key,
)
from gradtui.ops.errors import InputError
from gradtui.ops.source import (
    CONSTANTS,
    MAX_DEPTH,
    MAX_INT_LITERAL,
    MAX_NODES,
    MAX_TEXT_CHARS,
    Source,
    scan,
    source_of,
)

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
    scan(text, field)
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
            if target.kind == "constructor":  # torch.zeros(2, 3)
                self.constructor_keywords(node, target.key)
                self.constructor_arguments(node, target.key)
                return
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
            if not close and torch_fallback(name) is not None:
                hint = f"; write {torch_fallback(name)}(...)"
            raise self.refuse(f"unknown function '{name}'{hint}", func)
        if name in CONSTRUCTORS:
            self.constructor_keywords(node, name)
        else:
            target = call_target(node, src=self.src, field=self.field)
            if target.kind == "torch":
                self.torch_arguments(node, target.key)
                return
        self.constructor_arguments(node, name)

    def constructor_arguments(self, node: ast.Call, name: str) -> None:
        """The arguments of a constructor or a catalog op (sizes for the sized constructors)."""
        sized = name in SIZED_CONSTRUCTORS
        for arg in node.args:
            self.visit(arg, size_arg=sized)
        for kw in node.keywords:
            if kw.arg in CONSTRUCTOR_KEYWORDS and name in CONSTRUCTORS:
                continue  # checked by constructor_keywords
            self.visit(kw.value, size_arg=sized and kw.arg == "size")

    def torch_arguments(self, node: ast.Call, key: str) -> None:
        """The arguments of a call in torch's spelling: keywords torch has, and values that
        may be strings (checked against the choices), dtypes (only for ``dtype=``), tuples
        and lists of numbers, tensors, and ``None``."""
        from gradtui.ops import spelling

        for index, arg in enumerate(node.args):
            listed = listed_tensors(key, index, arg)
            self.torch_argument(arg, key, None, listed=listed, position=index)
        for kw in node.keywords:
            name = kw.arg or ""
            if name.startswith("_"):
                raise self.refuse(f"names starting with '_' are not allowed ('{name}')", kw)
            if name == "requires_grad":
                self.requires_grad(kw)
            reason = spelling.REFUSED_KEYWORDS.get(name)
            if reason is not None and not (
                name == "inplace" and isinstance(kw.value, ast.Constant) and kw.value.value is False
            ):
                raise self.refuse(reason, kw)
            listed = name in spelling.LIST_KEYWORDS.get(key, ())
            self.torch_argument(kw.value, key, name, listed=listed)

    def torch_argument(
        self,
        node: ast.expr,
        key: str,
        param: str | None,
        *,
        listed: bool,
        position: int | None = None,
    ) -> None:
        from gradtui.ops import spelling

        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.string_argument(node, key, param, position)
            return
        dtype = dtype_name(node)
        if dtype is not None:
            if param is None and position is not None:
                param = spelling.signature_param(key, position)  # x.to(torch.float64)
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

    def string_argument(
        self, node: ast.Constant, key: str, param: str | None, position: int | None
    ) -> None:
        """A string is a parameter's choice (the hand table, then what OpInfo's samples
        pass) or follows a parameter's grammar (an einsum equation); nothing else."""
        from gradtui.ops import spelling

        shown = display_name(key)
        grammar = spelling.string_pattern(key, position) if param is None else None
        if grammar is not None:
            pattern, words = grammar
            if not pattern.fullmatch(node.value.replace(" ", "")):
                raise self.refuse(f"{shown}(): {node.value!r} is not {words}", node)
            return
        if param is None and position is not None:
            param = spelling.positional_param(key, position)
        allowed = spelling.choices(key, param) if param is not None else None
        if allowed is None:
            where = f"'{param}'" if param else "this positional argument"
            takes = spelling.string_params(key)
            hint = (
                f"; of {shown}()'s parameters, {', '.join(takes)} take"
                f"{'s' if len(takes) == 1 else ''} a string"
                if takes
                else ""
            )
            raise self.refuse(
                f"{shown}(): {where} takes no string (strings are only allowed as the value "
                f"of a parameter with fixed choices, such as reduction='sum'){hint}",
                node,
            )
        if node.value not in allowed:
            what = f"'{param}'" if param else "the choice"
            raise self.refuse(
                f"{shown}(): {what} must be one of "
                f"{', '.join(repr(c) for c in allowed)}, not {node.value!r}",
                node,
            )

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
        allowed = (*CONSTRUCTORS[name], *CONSTRUCTOR_KEYWORDS)
        for kw in node.keywords:
            if kw.arg not in allowed:
                raise self.refuse(
                    f"{name}() has no argument '{kw.arg}' (it takes: {', '.join(allowed)})", kw
                )
            if kw.arg == "dtype" and dtype_name(kw.value) is None:
                raise self.refuse(
                    f"{name}(): dtype= takes a torch dtype, such as dtype=torch.float64", kw.value
                )
            if kw.arg == "requires_grad":
                self.requires_grad(kw)

    def requires_grad(self, kw: ast.keyword) -> None:
        """``requires_grad=False`` is what a constructed tensor is; ``True`` is refused."""
        value = kw.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
            raise self.refuse("requires_grad= takes True or False", value)
        if value.value:
            raise self.refuse(REQUIRES_GRAD, kw)


def operator_position(src: Source, node: ast.BinOp) -> int:
    """The column of a binary operator's symbol (between its operands)."""
    start, stop = src.end(node.left), src.start(node.right)
    symbol = OP_SYMBOLS.get(type(node.op), "")
    return src.find(symbol[:1], start, stop, start) if symbol else start


@lru_cache(maxsize=512)
def parse_default(text: str) -> Parsed:
    """Parse a catalog default value (cached: the same few texts come up again and again)."""
    return parse(text, field="default")
