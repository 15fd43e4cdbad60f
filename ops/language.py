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
import operator
from collections.abc import Callable, Mapping
from typing import Any

import torch

from gradtui.ops import timebound
from gradtui.ops.calls import (
    CONSTRUCTORS,
    bind_arguments,
    call_target,
    function_names,
    function_spec,
)
from gradtui.ops.constructors import CONSTRUCTOR_IMPLS
from gradtui.ops.errors import InputError
from gradtui.ops.evaluator import (
    TORCH_ERRORS,
    TensorTuple,
    Value,
    broadcast_shape,
    first_line,
    is_integer,
    is_named_tuple,
    matmul_shape,
    meta,
    static_list,
    static_number,
    static_shape,
)
from gradtui.ops.source import (
    CONSTANTS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_INT_LITERAL,
    MAX_NODES,
    MAX_TEXT_CHARS,
    NAMED_FLOATS,
    Source,
    source_of,
)
from gradtui.ops.syntax import (
    OP_SYMBOLS,
    Parsed,
    left_spine,
    operator_position,
    parse,
    parse_default,
)
from gradtui.ops.torch_calls import TorchSpellingEvaluator

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
    except TORCH_ERRORS as exc:  # a backstop; each torch call has its own, precise guard
        raise InputError(
            f"cannot compute: {first_line(exc)}", field=parsed.field, position=0
        ) from None
    if result is None:
        raise InputError("None is not a tensor", field=parsed.field, position=src.shift)
    if is_named_tuple(result):
        return result[0]  # torch.max(x, 1): (values, indices), and the values are the tensor
    if isinstance(result, TensorTuple):  # torch.split(x, 2): which tensor is meant is not said
        raise InputError(result.index_hint(), field=parsed.field, position=src.shift)
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


class _Evaluator(TorchSpellingEvaluator):
    """One evaluation of one tree: the walk. Recursion depth is bounded by :data:`MAX_DEPTH`.

    Literals, operators and the catalog's ops are here; torch's spelling (namespaces,
    methods, properties, indexing) comes from :class:`ops.torch_calls.TorchSpellingEvaluator`,
    the shared checks from :class:`ops.evaluator.EvaluatorBase`, the constructors from
    :mod:`ops.constructors`.
    """

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
        static = static_list(node)
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
        static_shape(node, kinds, self)
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
        if is_integer(left) and is_integer(right) and op in (ast.Add, ast.Sub, ast.Mult, ast.Pow):
            if op is ast.Pow and bool((right < 0).any()):
                # Python's rule: an integer to a negative power is a float (10**-3 == 0.001)
                left = left.to(self.dtype)
            else:
                self.check_int_overflow(_BINOPS[op], left, right, node, symbol, at)
        # A plain number beside a tensor goes to torch as a Python scalar, as in code a
        # person would write: `x**2` is PowBackward0 (PowBackward1 is a tensor exponent).
        lnum, rnum = static_number(node.left), static_number(node.right)
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
            return CONSTRUCTOR_IMPLS[target.key](self, node)
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

    def default(self, name: str, param: Any, node: ast.Call) -> Any:
        text = param.default
        if text is None or (param.kind == "tensor" and not _defaults_to_none(param)):
            raise self.error(f"{name}() is missing its input '{param.name}'", node)
        if not isinstance(text, str):  # a catalog may give a plain Python default
            return text
        parsed = parse_default(text)
        evaluator = _Evaluator(source_of(text), "default", {}, self.dtype, self.seed)
        return self.convert(name, param, evaluator.argument(param, parsed.tree.body), node)

    def argument(self, param: Any, node: ast.AST) -> Value:
        """An argument's value; a number typed for a non-tensor input stays exact.

        ``leaky_relu(x, 0.1)`` passes the Python float 0.1, not float32's 0.10000000149.
        """
        if param.kind != "tensor":
            number = static_number(node)
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
        meta_kwargs = {k: meta(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        try:
            out = spec.fn(**meta_kwargs)
        except Exception:  # noqa: BLE001 - no meta kernel: the result is checked after the call
            return
        self.check_meta_result(out, node, what)


def _defaults_to_none(param: Any) -> bool:
    """Whether a parameter's default is ``None`` (so ``None`` may be passed for it)."""
    return isinstance(param.default, str) and param.default.strip() == "None"


_EXPANDING_OPS = frozenset({"outer", "linear", "kron", "cartesian_prod", "tensordot", "einsum"})
"""Ops whose inputs broadcast but whose result is bigger than the broadcast shape."""
