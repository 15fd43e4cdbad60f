"""The safe input language: tensor literals, constructors and expressions over named inputs.

People type into gradtui, sometimes strangers on a shared host, so their text is data:
it is parsed with :func:`ast.parse` (which builds a tree and runs nothing), checked
against an allow-list by :mod:`ops.syntax`, and the checked tree is walked here, node by
node, calling torch. Nothing calls ``eval``, ``exec``, ``compile`` in executable mode,
``sympify`` or ``parse_expr``, and no Python builtin is reachable: a name is a free input,
one of :data:`CONSTANTS`, a constructor or a catalog op.

What the language accepts:

- numbers (``3``, ``-2.5``, ``1e-3``), ``True``/``False``, ``pi``, ``inf``, ``nan``;
- tensor literals ``[[1, 2], [3, 4]]`` (all ints -> int64, any float -> the requested
  float dtype, all bools -> bool, as ``torch.tensor`` does); a bare number is a 0-d tensor;
- constructors ``linspace``, ``arange``, ``zeros``, ``ones``, ``full``, ``eye``, ``rand``,
  ``randn`` (seeded, so a run repeats);
- ``+ - * / ** @``, unary ``-``/``+``, one comparison ``< <= > >= == !=`` (these ARE
  ``torch.lt`` ... ``torch.ne``), and calls by bare name to the catalog's ops
  (:mod:`ops.catalog`), with the keywords that op takes.

Everything else is refused with :class:`ops.errors.InputError`, whose message names what
was refused and whose ``position`` is the 0-based column in the text. Resource bounds are
checked before work is done: text length, nesting depth (a character scan before the
parser runs, then the tree), node count, integer literal size, integer overflow, and the
element count of every tensor before it is allocated.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from gradtui.ops import timebound
from gradtui.ops.errors import InputError
from gradtui.ops.syntax import (
    CONSTANTS,
    CONSTRUCTORS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_INT_LITERAL,
    MAX_NODES,
    MAX_TEXT_CHARS,
    NAMED_FLOATS,
    OP_SYMBOLS,
    Parsed,
    Source,
    attribute_position,
    bind_arguments,
    call_target,
    display_name,
    dotted,
    dtype_name,
    function_names,
    function_spec,
    left_spine,
    operator_position,
    parse,
    parse_default,
    source_of,
)

__all__ = [
    "CONSTANTS",
    "CONSTRUCTORS",
    "FUNCTION_NAMES",  # noqa: F822 - computed on use by __getattr__
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_INT_LITERAL",
    "MAX_NODES",
    "MAX_TEXT_CHARS",
    "Parsed",
    "bind_arguments",
    "evaluate",
    "function_names",
    "function_spec",
    "parse",
    "tensor_from_text",
]

_INT64_LIMIT = float(2**63)
_TORCH_ERRORS = (
    RuntimeError,
    TypeError,
    ValueError,
    IndexError,
    ArithmeticError,
    NotImplementedError,
    MemoryError,
)

_BINOPS: dict[type, Callable[..., torch.Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
    ast.MatMult: torch.matmul,
}
_PY_BINOPS: dict[type, Callable[..., torch.Tensor]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
}
_CMPOPS: dict[type, Callable[..., torch.Tensor]] = {
    ast.Lt: torch.lt,
    ast.LtE: torch.le,
    ast.Gt: torch.gt,
    ast.GtE: torch.ge,
    ast.Eq: torch.eq,
    ast.NotEq: torch.ne,
}


def __getattr__(name: str) -> Any:
    # FUNCTION_NAMES depends on the catalog, which imports this module: compute it on use.
    if name == "FUNCTION_NAMES":
        return function_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- evaluate


def evaluate(
    parsed: Parsed,
    env: Mapping[str, torch.Tensor] | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> torch.Tensor:
    """Compute a parsed text with real torch, keeping the autograd graph of ``env``'s tensors.

    Args:
        parsed: From :func:`parse`.
        env: A tensor for every free name in ``parsed.names``.
        dtype: The float dtype of float literals, constants and constructors.
        seed: Seeds ``rand``/``randn`` (one generator per evaluation, so ``rand(3) - rand(3)``
            is not zero but the whole text repeats).

    Returns:
        The resulting tensor.

    Raises:
        InputError: A missing input, a value torch refuses (its message quoted), a size
            over :data:`MAX_ELEMENTS`, an integer overflow.
        ValueError: ``dtype`` is not a floating dtype (a caller's mistake, not the user's).
    """
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    env = {} if env is None else env
    src = source_of(parsed.text)
    for name in parsed.names:
        if name not in env:
            raise InputError(
                f"no value for input '{name}'",
                field=parsed.field,
                position=_name_position(parsed, name, src),
            )
    evaluator = _Evaluator(src, parsed.field, env, dtype, seed)
    try:
        result = evaluator.visit(parsed.tree.body)
    except InputError:
        raise
    except _TORCH_ERRORS as exc:  # a backstop; each torch call has its own, precise guard
        raise InputError(
            f"cannot compute: {_first_line(exc)}", field=parsed.field, position=0
        ) from None
    if result is None:
        raise InputError("None is not a tensor", field=parsed.field, position=src.shift)
    return result


def tensor_from_text(
    text: str,
    *,
    field: str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> torch.Tensor:
    """A tensor from text with no free names: a literal, a constructor, a constant expression.

    Raises:
        InputError: As :func:`parse` and :func:`evaluate`, and ``unknown name 'x'`` for a
            free name.
    """
    parsed = parse(text, field=field)
    if parsed.names:
        name = parsed.names[0]
        src = source_of(text)
        raise InputError(
            f"unknown name '{name}'", field=field, position=_name_position(parsed, name, src)
        )
    return evaluate(parsed, dtype=dtype, seed=seed)


def _name_position(parsed: Parsed, name: str, src: Source) -> int:
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Name) and node.id == name:
            return src.start(node)
    return 0  # pragma: no cover - names come from the tree


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _numel(shape: Sequence[int]) -> int:
    total = 1
    for size in shape:
        total *= int(size)
        if total > MAX_ELEMENTS:  # stop early: the product of many sizes stays small
            return total
    return total


Value = Any  # torch.Tensor, or None (only as an argument)


class _Evaluator:
    """One evaluation of one tree. Recursion depth is bounded by :data:`MAX_DEPTH`."""

    def __init__(
        self,
        src: Source,
        field: str | None,
        env: Mapping[str, torch.Tensor],
        dtype: torch.dtype,
        seed: int,
    ):
        self.src = src
        self.field = field
        self.env = env
        self.dtype = dtype
        self.seed = seed
        self._generator: torch.Generator | None = None

    # -- helpers

    def error(self, message: str, node: ast.AST | None, position: int | None = None) -> InputError:
        if position is None:
            position = 0 if node is None else self.src.start(node)
        return InputError(message, field=self.field, position=position)

    @contextmanager
    def torch_errors(self, node: ast.AST, what: str, position: int | None = None) -> Iterator[None]:
        """Turn torch's own refusal into an :class:`InputError` that quotes it."""
        try:
            yield
        except InputError:
            raise
        except _TORCH_ERRORS as exc:
            raise self.error(f"{what}: {_first_line(exc)}", node, position) from None

    def check_elements(self, shape: Sequence[int], node: ast.AST, what: str) -> None:
        n = _numel(shape)
        if n > MAX_ELEMENTS:
            n = math.prod(int(s) for s in shape)  # the true count for the message (cheap: few dims)
            shown = "x".join(str(s) for s in shape[:8]) + ("x..." if len(shape) > 8 else "")
            raise self.error(
                f"{what} would have {n if n < 10**12 else 'over 10**12'} elements "
                f"(shape {shown}); at most {MAX_ELEMENTS}",
                node,
            )

    def generator(self) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        return self._generator

    def number(self, value: bool | int | float) -> torch.Tensor:
        if isinstance(value, bool):
            return torch.tensor(value, dtype=torch.bool)
        if isinstance(value, int):
            return torch.tensor(value, dtype=torch.int64)
        return torch.tensor(value, dtype=self.dtype)

    def tensor(self, node: ast.AST) -> torch.Tensor:
        value = self.visit(node)
        if value is None:
            raise self.error("None is only allowed as an argument that accepts it", node)
        if _is_named_tuple(value):
            return value[0]  # torch.return_types (values, indices): the values
        if not isinstance(value, torch.Tensor):
            raise self.error(f"{type(value).__name__} is not a tensor here", node)
        return value

    # -- dispatch

    def visit(self, node: ast.AST) -> Value:
        timebound.check()  # each node is a step boundary: an abandoned computation stops here
        if isinstance(node, ast.Constant):
            if node.value is None:
                return None
            if not isinstance(node.value, (bool, int, float)):
                raise self.error(f"{node.value!r} is not allowed here", node)
            return self.number(node.value)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.List):
            return self.literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.tensor(node.operand)
            if isinstance(node.op, ast.USub):
                with self.torch_errors(node, "cannot negate"):
                    return torch.neg(operand)
            return operand
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        # parse() refused everything else; a hand-built tree may not bypass that
        raise self.error(f"'{type(node).__name__}' is not allowed here", node)

    def name(self, node: ast.Name) -> torch.Tensor:
        if node.id in NAMED_FLOATS:
            return torch.tensor(NAMED_FLOATS[node.id], dtype=self.dtype)
        value = self.env.get(node.id)
        if value is None:
            raise self.error(f"no value for input '{node.id}'", node)
        if not isinstance(value, torch.Tensor):
            if isinstance(value, (bool, int, float)):
                return self.number(value)
            raise self.error(f"input '{node.id}' is not a tensor", node)
        return value

    # -- tensor literals

    def literal(self, node: ast.List) -> torch.Tensor:
        static = _static_list(node)
        if static is not None:
            return self.static_literal(node, static)
        items = [self.literal(e) if isinstance(e, ast.List) else self.tensor(e) for e in node.elts]
        if not items:
            return torch.zeros(0, dtype=self.dtype)
        shape = items[0].shape
        for elt, item in zip(node.elts, items, strict=True):
            if item.shape != shape:
                raise self.error(
                    f"ragged list: an element of shape {tuple(item.shape)} beside one of "
                    f"shape {tuple(shape)}",
                    elt,
                )
        self.check_elements((len(items), *shape), node, "this list")
        common = items[0].dtype
        for item in items[1:]:
            common = torch.promote_types(common, item.dtype)
        with self.torch_errors(node, "cannot build the tensor"):
            return torch.stack([item.to(common) for item in items])

    def static_literal(self, node: ast.List, values: list[Any]) -> torch.Tensor:
        """A literal of plain numbers: checked for raggedness, then one ``torch.tensor`` call."""
        kinds: set[type] = set()
        _static_shape(node, kinds, self)
        if float in kinds or not kinds:
            dtype = self.dtype
        elif int in kinds:
            dtype = torch.int64
        else:
            dtype = torch.bool
        with self.torch_errors(node, "cannot build the tensor"):
            return torch.tensor(values, dtype=dtype)

    # -- operators

    def binop(self, node: ast.BinOp) -> torch.Tensor:
        """A chain of binary operators, left to right, with a loop (see ``left_spine``)."""
        leftmost, spine = left_spine(node)
        value = self.tensor(leftmost)
        for binop in spine:
            value = self.apply_binop(binop, value, self.tensor(binop.right))
            timebound.check()
        return value

    def apply_binop(self, node: ast.BinOp, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """One binary operator on its operands' values."""
        op = type(node.op)
        symbol = OP_SYMBOLS[op]
        at = operator_position(self.src, node)
        what = f"cannot compute '{symbol}'"
        with self.torch_errors(node, what, at):
            if op is ast.MatMult:
                shape = matmul_shape(left.shape, right.shape)
            else:
                shape = broadcast_shape(left.shape, right.shape)
        self.check_elements(shape, node, f"the result of '{symbol}'")
        if _is_integer(left) and _is_integer(right) and op in (ast.Add, ast.Sub, ast.Mult, ast.Pow):
            if op is ast.Pow and bool((right < 0).any()):
                # Python's rule: an integer to a negative power is a float (10**-3 == 0.001)
                left = left.to(self.dtype)
            else:
                self.check_int_overflow(_BINOPS[op], left, right, node, symbol, at)
        # A plain number beside a tensor goes to torch as a Python scalar, as in code a
        # person would write: `x**2` is PowBackward0 (PowBackward1 is a tensor exponent).
        lnum, rnum = _static_number(node.left), _static_number(node.right)
        a: Any = left
        b: Any = right
        if lnum is not None and rnum is None and not isinstance(lnum, bool):
            a = lnum
        elif rnum is not None and lnum is None and not isinstance(rnum, bool):
            b = rnum
        with self.torch_errors(node, what, at):
            return _PY_BINOPS[op](a, b) if (a is not left or b is not right) else _BINOPS[op](a, b)

    def check_int_overflow(
        self,
        fn: Callable[..., torch.Tensor],
        left: torch.Tensor,
        right: torch.Tensor,
        node: ast.AST,
        symbol: str,
        at: int,
    ) -> None:
        """int64 wraps around silently; refuse a result that does not fit instead."""
        with self.torch_errors(node, f"cannot compute '{symbol}'", at):
            exact = fn(left.double(), right.double())
        if exact.numel() and not bool((exact.abs() < _INT64_LIMIT).all()):
            raise self.error(
                f"integer overflow in '{symbol}': the result does not fit in int64; "
                "use a float (e.g. 9.0 instead of 9)",
                node,
                at,
            )

    def compare(self, node: ast.Compare) -> torch.Tensor:
        left = self.tensor(node.left)
        right = self.tensor(node.comparators[0])
        op = type(node.ops[0])
        what = f"cannot compare with '{OP_SYMBOLS[op]}'"
        with self.torch_errors(node, what):
            shape = broadcast_shape(left.shape, right.shape)
        self.check_elements(shape, node, "the comparison")
        with self.torch_errors(node, what):
            return _CMPOPS[op](left, right)

    # -- calls

    def call(self, node: ast.Call) -> Value:
        target = call_target(node, src=self.src, field=self.field)
        if target.kind == "constructor":
            return _CONSTRUCTOR_IMPLS[target.key](self, node)
        if target.kind != "catalog":
            return self.torch_call(node, target.key, target.receiver)
        name = target.key
        spec = function_spec(name)
        if spec is None:  # pragma: no cover - parse() checked the name
            raise self.error(f"unknown function '{name}'", node.func)
        bound = bind_arguments(node, src=self.src, field=self.field)
        kwargs: dict[str, Any] = {}
        for param in spec.inputs:
            arg = bound.get(param.name)
            if arg is None:
                kwargs[param.name] = self.default(name, param, node)
            else:
                kwargs[param.name] = self.convert(name, param, self.argument(param, arg), arg)
        self.check_call_size(spec, kwargs, node, name)
        with self.torch_errors(node, f"{name}() failed"):
            try:
                result = spec.fn(**kwargs)
            except InputError as exc:  # the op's own refusal: point it at this call
                if exc.position is not None:
                    raise
                raise self.error(exc.message, node) from None
            if isinstance(result, tuple) and result and isinstance(result[0], torch.Tensor):
                result = result[0]  # torch.return_types (values, indices): the values
            if not isinstance(result, torch.Tensor):
                if isinstance(result, (bool, int, float)):
                    result = self.number(result)
                else:
                    raise self.error(f"{name}() does not give a tensor", node)
        self.check_elements(tuple(result.shape), node, f"the result of {name}()")
        return result

    # -- torch's own spelling: namespaced functions, tensor methods, properties, indexing

    def torch_call(self, node: ast.Call, key: str, receiver: ast.expr | None) -> Value:
        """A call of :data:`ops.spelling.FUNCTIONS` or :data:`ops.spelling.METHODS`, with
        the arguments as PyTorch code would pass them; torch checks the signature."""
        from gradtui.ops import spelling

        shown = display_name(key)
        if key == "torch.tensor":
            return self.torch_tensor(node)
        if receiver is not None:
            fn = spelling.METHODS[key.split(".", 1)[1]]
            args: list[Any] = [self.tensor(receiver)]
        else:
            fn = spelling.FUNCTIONS[key]
            args = []
        for index, arg in enumerate(node.args):
            if (
                index == 0
                and key in spelling.TENSOR_LISTS
                and isinstance(arg, (ast.List, ast.Tuple))
            ):
                args.append([self.tensor(e) for e in arg.elts])
            else:
                args.append(self.torch_arg(arg, first=receiver is None and index == 0))
        kwargs = {kw.arg: self.torch_arg(kw.value, first=kw.arg == "input") for kw in node.keywords}
        self.check_torch_size(fn, args, kwargs, node, f"the result of {shown}()")
        with self.torch_errors(node, f"{shown}() failed"):
            try:
                result = fn(*args, **kwargs)
            except TypeError:
                if isinstance(node.func, ast.Name):
                    # the catalog's op by its bare name, and torch's signature did not take
                    # the arguments either: the catalog's message says what the op takes
                    bind_arguments(node, src=self.src, field=self.field)
                raise
        return self.torch_result(result, node, shown)

    def torch_tensor(self, node: ast.Call) -> torch.Tensor:
        """``torch.tensor(data, dtype=...)``: the language's literal, a copy with no history."""
        if len(node.args) != 1 or any(kw.arg != "dtype" for kw in node.keywords):
            raise self.error("torch.tensor() takes one list and, optionally, dtype=", node)
        value = self.tensor(node.args[0]).detach().clone()
        for kw in node.keywords:
            dtype = self.torch_arg(kw.value, first=False)
            if dtype is not None:
                with self.torch_errors(node, "torch.tensor() failed"):
                    value = value.to(dtype)
        return value

    def torch_result(self, result: Any, node: ast.AST, shown: str) -> Value:
        if isinstance(result, torch.Tensor):
            self.check_elements(tuple(result.shape), node, f"the result of {shown}()")
            return result
        if _is_named_tuple(result):
            for item in result:
                if isinstance(item, torch.Tensor):
                    self.check_elements(tuple(item.shape), node, f"the result of {shown}()")
            return result
        if isinstance(result, (bool, int, float)):
            return self.number(result)
        raise self.error(f"{shown}() does not give a tensor", node)

    def torch_arg(self, node: ast.AST, *, first: bool) -> Any:
        """An argument as PyTorch code passes it: numbers typed stay Python numbers (except
        a function's first input, a tensor), a tuple or a flat list of integers stays a
        sequence of ints (sizes, dims), strings and dtypes as checked by parse()."""
        from gradtui.ops import spelling

        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value  # parse() checked it against the parameter's choices
        dtype = dtype_name(node)
        if dtype is not None:
            return spelling.DTYPES[dtype]
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if not first:
            number = _static_number(node)
            if number is not None:
                return number
            if isinstance(node, ast.Tuple) or _int_list(node):
                return tuple(self.plain(e) for e in node.elts)  # type: ignore[attr-defined]
        return self.tensor(node)

    def plain(self, node: ast.AST) -> Any:
        """One element of a size or dim tuple: an integer (a one-element integer tensor
        becomes its value), a number, ``None``, or a tensor for torch to judge."""
        number = _static_number(node)
        if number is not None:
            return number
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        value = self.tensor(node)
        if value.numel() == 1 and not value.dtype.is_floating_point and not value.dtype.is_complex:
            return self.to_int(value, node, "a size")
        return value

    def check_torch_size(
        self,
        fn: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        node: ast.AST,
        what: str,
    ) -> None:
        """Refuse, before running it, a call whose result would exceed :data:`MAX_ELEMENTS`.

        The product of the tensors' sizes and the integers' magnitudes bounds every
        result these functions give (``x.repeat(2, 3)``, ``x.expand(4, 3)``,
        ``F.pad(x, (1, 1))``); over the cap, a dry run on the ``meta`` device (shapes only)
        gives the real shape.
        """
        bound = _size_bound([*args, *kwargs.values()])
        if bound <= MAX_ELEMENTS:
            return
        try:
            out = fn(*_on_meta(args), **_on_meta(kwargs))
        except Exception:  # noqa: BLE001 - no meta kernel: the result is checked after the call
            return
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for item in outs:
            if isinstance(item, torch.Tensor):
                self.check_elements(tuple(item.shape), node, what)

    def attribute(self, node: ast.Attribute) -> Value:
        """``x.T``, ``x.mT``, ``torch.pi``, a named tuple's field (``.values``)."""
        from gradtui.ops import spelling

        parts = dotted(node)
        if parts is not None and parts[0] == "torch" and len(parts) == 2:
            if parts[1] in spelling.CONSTANTS:
                return torch.tensor(NAMED_FLOATS[spelling.CONSTANTS[parts[1]]], dtype=self.dtype)
        at = attribute_position(self.src, node)
        name = node.attr
        if name in spelling.PROPERTIES:
            value = self.tensor(node.value)
            with self.torch_errors(node, f"'.{name}' failed", at):
                return spelling.PROPERTIES[name](value)
        if name in spelling.FIELDS:
            value = self.visit(node.value)
            if _is_named_tuple(value):
                try:
                    return spelling.FIELDS[name](value)
                except AttributeError:
                    pass  # a field of another named tuple: said below
            kind = type(value).__name__ if _is_named_tuple(value) else "a tensor"
            raise self.error(
                f"'.{name}' is a field of the named tuples torch returns (such as "
                f"x.max(dim=1).values); this value is {kind}, without it",
                node,
                at,
            )
        # parse() refused every other attribute; a hand-built tree may not bypass that
        raise self.error(f"attribute access '.{name}' is not allowed", node, at)

    def subscript(self, node: ast.Subscript) -> Value:
        """``x[0]``, ``x[:, 1]``, ``x[1:3]``, ``x[..., 0]``, ``x[None]``, ``x[idx]``, ``x[x > 0]``."""
        value = self.visit(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index = tuple(self.index_item(item) for item in items)
        key: Any = index if isinstance(node.slice, ast.Tuple) else index[0]
        if _is_named_tuple(value):
            if not isinstance(key, int) or isinstance(key, bool):
                raise self.error("a named tuple takes one integer index, as in [0]", node.slice)
            if not -len(value) <= key < len(value):
                raise self.error(f"index {key} is out of range for {len(value)} fields", node.slice)
            return value[key]
        if value is None or not isinstance(value, torch.Tensor):
            raise self.error("only a tensor can be indexed", node.value)
        bound = value.numel()
        for item in index:
            if isinstance(item, torch.Tensor) and item.dtype != torch.bool:
                bound *= max(item.numel(), 1)
        if bound > MAX_ELEMENTS:
            meta_key = (
                tuple(_on_meta(list(index))) if isinstance(key, tuple) else _on_meta([key])[0]
            )
            try:
                shape = tuple(_meta(value)[meta_key].shape)
            except Exception:  # noqa: BLE001 - torch refuses the index: it says why below
                shape = ()
            self.check_elements(shape, node, "the result of '[...]'")
        with self.torch_errors(node, "cannot index"):
            result = value[key]
        self.check_elements(tuple(result.shape), node, "the result of '[...]'")
        return result

    def index_item(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            return slice(
                *(self.bound_of_slice(part) for part in (node.lower, node.upper, node.step))
            )
        if isinstance(node, ast.Constant) and (node.value is Ellipsis or node.value is None):
            return node.value
        number = _static_number(node)
        if isinstance(number, (bool, int)):
            return number
        if number is not None:
            raise self.error(f"an index must be an integer, not {number!r}", node)
        return self.tensor(node)

    def bound_of_slice(self, node: ast.AST | None) -> int | None:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return None
        return self.to_int(self.number_arg(node), node, "a slice bound")

    def default(self, name: str, param: Any, node: ast.Call) -> Any:
        text = param.default
        if text is None or (param.kind == "tensor" and not _defaults_to_none(param)):
            raise self.error(f"{name}() is missing its input '{param.name}'", node)
        if not isinstance(text, str):  # a catalog may give a plain Python default
            return text
        parsed = parse_default(text)
        evaluator = _Evaluator(source_of(text), "default", {}, self.dtype, self.seed)
        return self.convert(name, param, evaluator.argument(param, parsed.tree.body), node)

    def number_arg(self, node: ast.AST) -> Value:
        """A plain number exactly as typed, or else the tensor the expression gives."""
        number = _static_number(node)
        return self.tensor(node) if number is None else number

    def argument(self, param: Any, node: ast.AST) -> Value:
        """An argument's value; a number typed for a non-tensor input stays exact.

        ``leaky_relu(x, 0.1)`` passes the Python float 0.1, not float32's 0.10000000149.
        """
        if param.kind != "tensor":
            number = _static_number(node)
            if number is not None:
                return number
        return self.visit(node)

    def convert(self, name: str, param: Any, value: Value, node: ast.AST) -> Any:
        """A value as the parameter's kind: tensors stay tensors, numbers become Python's."""
        kind = param.kind
        what = f"{name}(): '{param.name}'"
        if value is None:
            if _defaults_to_none(param):
                return None
            raise self.error(f"{what} cannot be None", node)
        if kind == "tensor":
            return value
        if kind == "int":
            return self.to_int(value, node, what)
        if kind == "float":
            return self.to_float(value, node, what)
        if kind == "bool":
            return self.to_bool(value, node, what)
        return value  # a kind this module does not know: pass the tensor on

    def scalar(self, value: Value, node: ast.AST, what: str) -> bool | int | float:
        if isinstance(value, (bool, int, float)):
            return value
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else "?"
            raise self.error(f"{what} must be a single number, not a tensor of shape {shape}", node)
        return value.detach().reshape(()).item()

    def to_int(self, value: Value, node: ast.AST, what: str, *, low: int | None = None) -> int:
        number = self.scalar(value, node, what)
        if isinstance(number, bool):
            raise self.error(f"{what} must be an integer, not {number}", node)
        if isinstance(number, float):
            if not math.isfinite(number) or not number.is_integer():
                raise self.error(f"{what} must be an integer, got {number!r}", node)
            if abs(number) > MAX_INT_LITERAL:
                raise self.error(f"{what} is too large ({number:.3g})", node)
            number = int(number)
        if low is not None and number < low:
            raise self.error(f"{what} must be at least {low}, got {number}", node)
        return int(number)

    def to_float(self, value: Value, node: ast.AST, what: str) -> float:
        return float(self.scalar(value, node, what))

    def to_bool(self, value: Value, node: ast.AST, what: str) -> bool:
        number = self.scalar(value, node, what)
        if isinstance(number, bool):
            return number
        if number in (0, 1):
            return bool(number)
        raise self.error(f"{what} must be True or False, got {number!r}", node)

    def check_call_size(self, spec: Any, kwargs: dict[str, Any], node: ast.Call, name: str) -> None:
        """Refuse, before running it, a call whose result would exceed :data:`MAX_ELEMENTS`.

        An op's output has at most as many elements as the product of its tensor inputs'
        sizes (broadcasting, matmul and outer products included), so nothing is needed
        while that product is under the cap. Over it, the result's shape comes from
        torch's own rules: the matmul shape, else the broadcast shape for ops that
        broadcast, else a dry run on the ``meta`` device (shapes only, no data; its first
        use costs about a second, so it is the last resort).
        """
        tensors = [v for v in kwargs.values() if isinstance(v, torch.Tensor)]
        bound = 1
        for t in tensors:
            bound *= max(t.numel(), 1)
            if bound > MAX_ELEMENTS:
                break
        if bound <= MAX_ELEMENTS:
            return
        what = f"the result of {name}()"
        if name == "matmul" and len(tensors) == 2:
            with self.torch_errors(node, f"{name}() failed"):
                shape = matmul_shape(tensors[0].shape, tensors[1].shape)
            self.check_elements(shape, node, what)
            return
        if name not in _EXPANDING_OPS:
            try:
                shape = tuple(torch.broadcast_shapes(*(t.shape for t in tensors)))
            except RuntimeError:
                pass  # not a broadcasting op: ask the meta device
            else:
                self.check_elements(shape, node, what)
                return
        meta_kwargs = {k: _meta(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        try:
            out = spec.fn(**meta_kwargs)
        except Exception:  # noqa: BLE001 - no meta kernel: the result is checked after the call
            return
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for item in outs:
            if isinstance(item, torch.Tensor):
                self.check_elements(tuple(item.shape), node, what)

    # -- constructors

    def size_args(self, node: ast.Call, args: Sequence[ast.expr], name: str) -> tuple[int, ...]:
        if len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
            args = args[0].elts
        elif any(isinstance(a, (ast.List, ast.Tuple)) for a in args):
            raise self.error(f"{name}(): give the size as numbers or as one list", node)
        sizes = tuple(self.to_int(self.number_arg(a), a, f"{name}(): size", low=0) for a in args)
        self.check_elements(sizes, node, f"{name}()")
        return sizes

    def constructor_args(self, node: ast.Call, name: str) -> dict[str, ast.expr]:
        params = CONSTRUCTORS[name]
        if len(node.args) > len(params):
            raise self.error(
                f"{name}() takes at most {len(params)} arguments ({', '.join(params)})",
                node.args[len(params)],
            )
        bound = dict(zip(params, node.args, strict=False))
        for kw in node.keywords:
            if kw.arg in bound:
                raise self.error(f"{name}() got two values for '{kw.arg}'", kw)
            bound[kw.arg] = kw.value  # names were checked by parse()
        return bound

    def required(self, bound: dict[str, ast.expr], key: str, node: ast.Call, name: str) -> ast.expr:
        if key not in bound:
            raise self.error(f"{name}() is missing its argument '{key}'", node)
        return bound[key]

    def sized(self, node: ast.Call, name: str) -> tuple[int, ...]:
        """The size of ``zeros``/``ones``/``rand``/``randn``: ``(2, 3)``, ``([2, 3])`` or ``size=``."""
        keywords = [kw for kw in node.keywords if kw.arg == "size"]
        if not keywords:
            return self.size_args(node, node.args, name)
        if node.args:
            raise self.error(f"{name}() got the size twice", node)
        return self.size_args(node, [keywords[0].value], name)


def _defaults_to_none(param: Any) -> bool:
    """Whether a parameter's default is ``None`` (so ``None`` may be passed for it)."""
    return isinstance(param.default, str) and param.default.strip() == "None"


_EXPANDING_OPS = frozenset({"outer", "linear", "kron", "cartesian_prod", "tensordot", "einsum"})
"""Ops whose inputs broadcast but whose result is bigger than the broadcast shape."""


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """The shape ``torch.matmul`` gives for inputs of these shapes, without computing it.

    Follows torch's rules: a 1-D left operand gets a leading 1 and a 1-D right operand a
    trailing 1 (both removed again), batch dimensions broadcast. Mismatched inner sizes
    are left for torch itself to refuse.

    Raises:
        RuntimeError: The batch dimensions do not broadcast (torch's own message).
    """
    if len(a) == 0 or len(b) == 0:
        return ()  # torch refuses 0-d operands when it runs
    left, right = list(a), list(b)
    if len(left) == 1:
        left = [1, *left]
    if len(right) == 1:
        right = [*right, 1]
    batch = torch.broadcast_shapes(tuple(left[:-2]), tuple(right[:-2]))
    out = [*batch, left[-2], right[-1]]
    if len(b) == 1:
        out.pop(-1)
    if len(a) == 1:
        out.pop(-2 if len(b) != 1 else -1)
    return tuple(out)


def broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """The shape two operands broadcast to, as ``torch.broadcast_shapes`` gives it.

    Computed here because torch's own function goes through its Python reference
    implementation (about 0.2 ms a call, more than ``sin`` of 200 numbers), and every
    operator of an expression asks it before running, at every point of a curve.
    Shapes that do not broadcast are handed to torch, so the error is torch's own.
    """
    out: list[int] = []
    for k in range(1, max(len(a), len(b)) + 1):
        m = a[-k] if k <= len(a) else 1
        n = b[-k] if k <= len(b) else 1
        if m != n and m != 1 and n != 1:
            return tuple(torch.broadcast_shapes(tuple(a), tuple(b)))  # raises torch's error
        out.append(n if m == 1 else m)
    return tuple(reversed(out))


def _meta(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def _on_meta(values: Any) -> Any:
    """The same arguments with every tensor replaced by an empty one on the meta device."""
    if isinstance(values, dict):
        return {k: _on_meta([v])[0] for k, v in values.items()}
    out: list[Any] = []
    for value in values:
        if isinstance(value, torch.Tensor):
            out.append(_meta(value))
        elif isinstance(value, list):
            out.append(_on_meta(value))
        else:
            out.append(value)
    return out


def _size_bound(values: Sequence[Any]) -> int:
    """The product of the tensors' element counts and the integers' magnitudes (capped)."""
    bound = 1
    for value in values:
        if isinstance(value, torch.Tensor):
            bound *= max(value.numel(), 1)
        elif isinstance(value, int) and not isinstance(value, bool):
            bound *= max(abs(value), 1)
        elif isinstance(value, float) and math.isfinite(value):
            bound *= max(abs(value), 1.0)
        elif isinstance(value, (list, tuple)):
            bound *= _size_bound(value)
        if bound > MAX_ELEMENTS:
            return MAX_ELEMENTS + 1
    return int(bound)


def _is_named_tuple(value: Any) -> bool:
    """A ``torch.return_types`` structure (``values``/``indices`` and the like)."""
    return isinstance(value, tuple) and type(value).__module__ == "torch.return_types"


def _int_list(node: ast.AST) -> bool:
    """A flat list of integer literals: ``[0, 1]`` as a ``dim`` or a size, as torch reads it."""
    return (
        isinstance(node, ast.List)
        and bool(node.elts)
        and all(
            isinstance(_static_number(e), int) and not isinstance(_static_number(e), bool)
            for e in node.elts
        )
    )


def _is_integer(t: torch.Tensor) -> bool:
    return not t.dtype.is_floating_point and not t.dtype.is_complex and t.dtype != torch.bool


def _static_number(node: ast.AST) -> bool | int | float | None:
    """A literal number (``3``, ``-2.5``, ``True``, ``-inf``) without evaluating anything."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return None  # -True: leave it to torch (it refuses)
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float)):
        return node.value if sign == 1 else -node.value
    if isinstance(node, ast.Name) and node.id in NAMED_FLOATS:
        return sign * NAMED_FLOATS[node.id]
    return None


def _static_list(node: ast.List) -> list[Any] | None:
    out: list[Any] = []
    for elt in node.elts:
        if isinstance(elt, ast.List):
            inner = _static_list(elt)
            if inner is None:
                return None
            out.append(inner)
        else:
            number = _static_number(elt)
            if number is None:
                return None
            out.append(number)
    return out


def _static_shape(node: ast.List, kinds: set[type], ev: _Evaluator) -> tuple[int, ...]:
    """The shape of a nested literal; refuses a ragged one at the first odd element."""
    shapes: list[tuple[int, ...]] = []
    for elt in node.elts:
        if isinstance(elt, ast.List):
            shapes.append(_static_shape(elt, kinds, ev))
        else:
            number = _static_number(elt)
            kinds.add(type(number))
            shapes.append(())
        if shapes[-1] != shapes[0]:
            raise ev.error(
                f"ragged list: an element of shape {shapes[-1]} beside one of shape {shapes[0]}",
                elt,
            )
    return (len(shapes), *(shapes[0] if shapes else ()))


# --------------------------------------------------------------------------- constructors


def _linspace(ev: _Evaluator, node: ast.Call) -> torch.Tensor:
    bound = ev.constructor_args(node, "linspace")
    start_node = ev.required(bound, "start", node, "linspace")
    end_node = ev.required(bound, "end", node, "linspace")
    steps_node = ev.required(bound, "steps", node, "linspace")
    start = ev.to_float(ev.number_arg(start_node), start_node, "linspace(): 'start'")
    end = ev.to_float(ev.number_arg(end_node), end_node, "linspace(): 'end'")
    steps = ev.to_int(ev.number_arg(steps_node), steps_node, "linspace(): 'steps'", low=0)
    ev.check_elements((steps,), node, "linspace()")
    with ev.torch_errors(node, "linspace() failed"):
        return torch.linspace(start, end, steps, dtype=ev.dtype)


def _arange(ev: _Evaluator, node: ast.Call) -> torch.Tensor:
    given = {kw.arg for kw in node.keywords}
    if len(node.args) == 1 and not given & {"start", "end"}:
        # arange(end) and arange(5, step=2): a lone positional is the end, as torch reads it
        bound = {"end": node.args[0], **{kw.arg: kw.value for kw in node.keywords}}
    else:
        bound = ev.constructor_args(node, "arange")
    end_node = ev.required(bound, "end", node, "arange")
    values: dict[str, Value] = {"start": 0, "end": ev.number_arg(end_node), "step": 1}
    for key in ("start", "step"):
        if key in bound:
            values[key] = ev.number_arg(bound[key])
    numbers: dict[str, float] = {}
    all_int = True
    for key, value in values.items():
        number = ev.scalar(value, bound.get(key, node), f"arange(): '{key}'")
        if isinstance(number, bool):
            raise ev.error(f"arange(): '{key}' must be a number", bound.get(key, node))
        all_int = all_int and isinstance(number, int)
        if not math.isfinite(number):
            raise ev.error(f"arange(): '{key}' must be finite", bound.get(key, node))
        numbers[key] = number
    if numbers["step"] == 0:
        raise ev.error("arange(): 'step' must not be 0", bound.get("step", node))
    count = math.ceil((numbers["end"] - numbers["start"]) / numbers["step"])
    ev.check_elements((max(count, 0),), node, "arange()")
    dtype = torch.int64 if all_int else ev.dtype
    with ev.torch_errors(node, "arange() failed"):
        return torch.arange(numbers["start"], numbers["end"], numbers["step"], dtype=dtype)


def _filled(kind: str) -> Callable[[_Evaluator, ast.Call], torch.Tensor]:
    def build(ev: _Evaluator, node: ast.Call) -> torch.Tensor:
        sizes = ev.sized(node, kind)
        with ev.torch_errors(node, f"{kind}() failed"):
            if kind == "zeros":
                return torch.zeros(sizes, dtype=ev.dtype)
            if kind == "ones":
                return torch.ones(sizes, dtype=ev.dtype)
            if kind == "rand":
                return torch.rand(sizes, generator=ev.generator(), dtype=ev.dtype)
            return torch.randn(sizes, generator=ev.generator(), dtype=ev.dtype)

    return build


def _full(ev: _Evaluator, node: ast.Call) -> torch.Tensor:
    bound = ev.constructor_args(node, "full")
    size_node = ev.required(bound, "size", node, "full")
    sizes = ev.size_args(node, [size_node], "full")
    fill_node = ev.required(bound, "fill_value", node, "full")
    value = ev.scalar(ev.number_arg(fill_node), fill_node, "full(): 'fill_value'")
    dtype = torch.bool if isinstance(value, bool) else ev.number(value).dtype
    with ev.torch_errors(node, "full() failed"):
        return torch.full(sizes, value, dtype=dtype)


def _eye(ev: _Evaluator, node: ast.Call) -> torch.Tensor:
    bound = ev.constructor_args(node, "eye")
    n_node = ev.required(bound, "n", node, "eye")
    n = ev.to_int(ev.number_arg(n_node), n_node, "eye(): 'n'", low=0)
    m = n
    if "m" in bound:
        m = ev.to_int(ev.number_arg(bound["m"]), bound["m"], "eye(): 'm'", low=0)
    ev.check_elements((n, m), node, "eye()")
    with ev.torch_errors(node, "eye() failed"):
        return torch.eye(n, m, dtype=ev.dtype)


_CONSTRUCTOR_IMPLS: dict[str, Callable[[_Evaluator, ast.Call], torch.Tensor]] = {
    "linspace": _linspace,
    "arange": _arange,
    "zeros": _filled("zeros"),
    "ones": _filled("ones"),
    "rand": _filled("rand"),
    "randn": _filled("randn"),
    "full": _full,
    "eye": _eye,
}
