"""The evaluator's ground floor: one evaluation's state and the checks every node needs.

:class:`EvaluatorBase` holds what one walk of a checked tree needs (the typed text's
:class:`ops.source.Source`, the field, the input tensors, the float dtype, the seeded
generator) and the checks every kind of node shares: errors that point at a column and
quote torch's own refusal, the element bound (:data:`ops.source.MAX_ELEMENTS`) asked
before a tensor is allocated, plain numbers as tensors and back. The free functions
read literal numbers off the tree without evaluating anything, and compute result
shapes (matmul, broadcasting, a dry run on the ``meta`` device) before torch runs.

:mod:`ops.torch_calls` builds torch's spelling on this base, :mod:`ops.constructors` the
tensor constructors, and :mod:`ops.language` the walk itself (:meth:`EvaluatorBase.visit`).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from gradtui.ops.errors import InputError
from gradtui.ops.source import MAX_ELEMENTS, MAX_INT_LITERAL, NAMED_FLOATS, Source

TORCH_ERRORS = (
    RuntimeError,
    TypeError,
    ValueError,
    IndexError,
    ArithmeticError,
    NotImplementedError,
    MemoryError,
)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def numel(shape: Sequence[int]) -> int:
    total = 1
    for size in shape:
        total *= int(size)
        if total > MAX_ELEMENTS:  # stop early: the product of many sizes stays small
            return total
    return total


Value = Any  # torch.Tensor, or None (only as an argument)


class EvaluatorBase:
    """One evaluation of one tree: its state, and the checks every kind of node shares.

    Subclasses define :meth:`visit`, the walk itself (:class:`ops.language` has it).
    """

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
        except TORCH_ERRORS as exc:
            raise self.error(f"{what}: {first_line(exc)}", node, position) from None

    def check_meta_result(self, out: object, node: ast.AST, what: str) -> None:
        """Refuse an oversized tensor among ``out`` (a dry run's result on ``meta``)."""
        for item in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(item, torch.Tensor):
                self.check_elements(tuple(item.shape), node, what)

    def check_elements(self, shape: Sequence[int], node: ast.AST, what: str) -> None:
        n = numel(shape)
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
        return self.as_tensor(self.visit(node), node)

    def as_tensor(self, value: Value, node: ast.AST) -> torch.Tensor:
        """``node``'s value as a tensor: a named tuple's first field; ``None`` and a tuple
        of tensors refused, saying what to write."""
        if value is None:
            raise self.error("None is only allowed as an argument that accepts it", node)
        if is_named_tuple(value):
            return value[0]  # torch.return_types (values, indices): the values
        if isinstance(value, TensorTuple):
            raise self.error(value.index_hint(), node)
        if not isinstance(value, torch.Tensor):
            raise self.error(f"{type(value).__name__} is not a tensor here", node)
        return value

    def visit(self, node: ast.AST) -> Value:  # pragma: no cover - every evaluator defines it
        raise NotImplementedError

    def number_arg(self, node: ast.AST) -> Value:
        """A plain number exactly as typed, or else the tensor the expression gives."""
        number = static_number(node)
        return self.tensor(node) if number is None else number

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


def meta(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def on_meta(values: Any) -> Any:
    """The same arguments with every tensor replaced by an empty one on the meta device."""
    if isinstance(values, dict):
        return {k: on_meta([v])[0] for k, v in values.items()}
    out: list[Any] = []
    for value in values:
        if isinstance(value, torch.Tensor):
            out.append(meta(value))
        elif isinstance(value, list):
            out.append(on_meta(value))
        else:
            out.append(value)
    return out


def size_bound(
    values: Sequence[Any], *, as_size: Callable[[torch.Tensor], int | None] | None = None
) -> int:
    """The product of the tensors' element counts and the integers' magnitudes (capped).

    ``as_size`` reads a tensor as the size it may stand for (a snippet's one-element
    integer tensor passed where torch takes an int); that size multiplies the bound too.
    """
    bound = 1
    for value in values:
        if isinstance(value, torch.Tensor):
            bound *= max(value.numel(), 1)
            small = as_size(value) if as_size is not None and value.numel() == 1 else None
            bound *= max(abs(small), 1) if small is not None else 1
        elif isinstance(value, int) and not isinstance(value, bool):
            bound *= max(abs(value), 1)
        elif isinstance(value, float) and math.isfinite(value):
            bound *= max(abs(value), 1.0)
        elif isinstance(value, (list, tuple)):
            bound *= size_bound(value, as_size=as_size)
        if bound > MAX_ELEMENTS:
            return MAX_ELEMENTS + 1
    return int(bound)


class TensorTuple(tuple):  # noqa: SLOT001 - one attribute, set once
    """A tuple or list of tensors a torch function gives (``torch.split``, ``torch.unbind``,
    ``torch.meshgrid``): indexed with an integer (``torch.split(x, 2)[0]``) it is a tensor;
    anywhere a tensor is needed it is refused, saying so.

    Attributes:
        shown: The function as a person writes it (``"torch.split"``), for messages.
    """

    shown: str

    def __new__(cls, items: Any, shown: str) -> TensorTuple:
        made = super().__new__(cls, items)
        made.shown = shown
        return made

    def index_hint(self) -> str:
        return (
            f"{self.shown}() gives a tuple of {len(self)} tensor{'' if len(self) == 1 else 's'}, "
            "not a tensor: "
            f"pick one with an index, as in {self.shown}(...)[0]"
        )


def is_named_tuple(value: Any) -> bool:
    """A ``torch.return_types`` structure (``values``/``indices`` and the like)."""
    return isinstance(value, tuple) and type(value).__module__ == "torch.return_types"


def int_list(node: ast.AST) -> bool:
    """A flat list of integer literals: ``[0, 1]`` as a ``dim`` or a size, as torch reads it."""
    return (
        isinstance(node, ast.List)
        and bool(node.elts)
        and all(
            isinstance(static_number(e), int) and not isinstance(static_number(e), bool)
            for e in node.elts
        )
    )


def is_integer(t: torch.Tensor) -> bool:
    return not t.dtype.is_floating_point and not t.dtype.is_complex and t.dtype != torch.bool


def static_number(node: ast.AST) -> bool | int | float | None:
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


def static_list(node: ast.List) -> list[Any] | None:
    out: list[Any] = []
    for elt in node.elts:
        if isinstance(elt, ast.List):
            inner = static_list(elt)
            if inner is None:
                return None
            out.append(inner)
        else:
            number = static_number(elt)
            if number is None:
                return None
            out.append(number)
    return out


def static_shape(node: ast.List, kinds: set[type], ev: EvaluatorBase) -> tuple[int, ...]:
    """The shape of a nested literal; refuses a ragged one at the first odd element."""
    shapes: list[tuple[int, ...]] = []
    for elt in node.elts:
        if isinstance(elt, ast.List):
            shapes.append(static_shape(elt, kinds, ev))
        else:
            number = static_number(elt)
            kinds.add(type(number))
            shapes.append(())
        if shapes[-1] != shapes[0]:
            raise ev.error(
                f"ragged list: an element of shape {shapes[-1]} beside one of shape {shapes[0]}",
                elt,
            )
    return (len(shapes), *(shapes[0] if shapes else ()))
