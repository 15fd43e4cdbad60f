"""The snippet interpreter's size bounds: what it refuses before it asks Python or torch.

Each check looks at values the snippet already holds and answers with a refusal message
(or ``None``) before the work that would make something huge: a Python integer of a
billion bits, a string repeated a billion times, a list printed whose text would fill
the memory, a tensor whose size is hidden in another tensor (``torch.zeros(n)`` with
``n = torch.tensor(10**9)``), an op whose output depends on its data
(``repeat_interleave``, ``one_hot``) or whose working memory far exceeds its output
(``combinations``, a convolution's im2col). :mod:`ops.snippet` raises each message as a
:class:`~ops.snippet_syntax.SnippetRefused` at the node that asked.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own spelling

from gradtui.ops import evaluator
from gradtui.ops.source import MAX_ELEMENTS

__all__ = [
    "MAX_CONV_WORK",
    "MAX_INT_BITS",
    "MAX_TENSOR_ITEMS",
    "MAX_TEXT_CHARS",
    "call_size",
    "constructor_size",
    "index_count",
    "items_size",
    "nested_count",
    "python_size",
    "size_bound",
    "sized_ints",
    "text_size",
]

MAX_INT_BITS = 4096
"""The largest Python integer a snippet may make, in bits (``2 ** 10**9`` is refused)."""

MAX_TENSOR_ITEMS = 10_000
"""The most tensors one Python value may hold (``list(x)``, ``a, b = x``, ``torch.split(x,
1)``): each is a Python object of some hundred bytes, not one element of a tensor."""

MAX_TEXT_CHARS = MAX_ELEMENTS
"""The longest text a snippet may make (``str(...)``, an f-string, one ``print``), and
the most characters all its ``print`` calls together may write."""

MAX_CONV_WORK = 10**8
"""The most multiply-adds one convolution may do (its output's elements times one
filter's): CPU convolutions unfold their input into a matrix of that many elements."""

_TOO_BIG = (
    f"this value would be too large (integers up to {MAX_INT_BITS} bits, sequences up to "
    f"{MAX_ELEMENTS} items)"
)
_CONVOLUTIONS = frozenset(
    {F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d}
)


def as_int(value: Any) -> int | None:
    """``value`` as a size or count, as torch reads one: a Python integer, or an integer
    tensor of one element (torch takes those through ``__index__``); else ``None``."""
    if isinstance(value, int):
        return int(value)
    if (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        and not value.is_meta
        and not (value.dtype.is_floating_point or value.dtype.is_complex)
    ):
        return int(value.item())
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.dtype.is_complex:
        if not value.is_meta:
            return value.item()
    return None


def size_bound(values: Any) -> int:
    """:func:`ops.evaluator.size_bound`, where a one-element integer tensor counts as its
    value too (it may be a size: ``F.pad(x, (0, n))``)."""
    return evaluator.size_bound(values, as_size=as_int)


def sized_ints(values: Any) -> Any:
    """``values`` for a dry run on the meta device: tensors on ``meta``, except one-element
    integer tensors, which become the integers torch would read from them as sizes."""
    if isinstance(values, dict):
        return {k: sized_ints([v])[0] for k, v in values.items()}
    out: list[Any] = []
    for value in values:
        number = as_int(value) if isinstance(value, torch.Tensor) else None
        if number is not None:
            out.append(number)
        elif isinstance(value, torch.Tensor):
            out.append(torch.empty(value.shape, dtype=value.dtype, device="meta"))
        elif isinstance(value, (list, tuple)):
            out.append(type(value)(sized_ints(value)))
        else:
            out.append(value)
    return out


def nested_count(value: list[Any] | tuple[Any, ...], memo: dict[int, int]) -> int:
    """How many items a nested list holds, counting a list each time it is referred to
    (``[[0] * 1000] * 1000`` holds 10^6, as ``torch.tensor`` or ``print`` would see it);
    capped just past :data:`MAX_ELEMENTS`. Shared lists are counted once each (``memo``),
    so the count is quick however many times they repeat."""
    known = memo.get(id(value))
    if known is not None:
        return known
    memo[id(value)] = 1  # a list that holds itself is refused by the parser (no mutation)
    total = 0
    for item in value:
        total += nested_count(item, memo) if isinstance(item, (list, tuple)) else 1
        if total > MAX_ELEMENTS:
            break
    memo[id(value)] = max(total, 1)
    return memo[id(value)]


def tensors_held(value: list[Any] | tuple[Any, ...]) -> int:
    """How many tensors a list or tuple holds at its top level (stops past the cap)."""
    count = 0
    for item in value:
        count += isinstance(item, torch.Tensor)
        if count > MAX_TENSOR_ITEMS:
            break
    return count


def _int_bits(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return abs(value).bit_length()


def python_size(kind: type, left: Any, right: Any) -> str | None:
    """Why ``left OP right`` on Python values would be too large, or ``None``: big
    integers, long repetitions (also by a tensor, which Python reads with ``__index__``),
    and a list extended by a tensor's items (``l += x``)."""
    too_big = False
    if kind is ast.Pow and _int_bits(left) and isinstance(right, int):
        too_big = right > 0 and _int_bits(left) > 1 and _int_bits(left) * right > MAX_INT_BITS
    elif kind is ast.Mult and _int_bits(left) and _int_bits(right):
        too_big = _int_bits(left) + _int_bits(right) > MAX_INT_BITS
    elif kind is ast.Mult:
        for seq, times in ((left, right), (right, left)):
            count = as_int(times) if isinstance(seq, (str, list, tuple)) else None
            if count is not None:
                too_big = too_big or len(seq) * max(count, 0) > MAX_ELEMENTS
    elif kind is ast.Add and isinstance(left, (str, list, tuple)):
        if isinstance(right, (str, list, tuple)):
            too_big = len(left) + len(right) > MAX_ELEMENTS
        elif isinstance(left, list):  # l += x extends l with x's items
            return items_size(right)
    return _TOO_BIG if too_big else None


def items_size(value: Any) -> str | None:
    """Why iterating ``value`` in Python (``list(x)``, ``min(x)``, ``a, b = x``) would make
    too many objects, or ``None``: a tensor gives one tensor per row."""
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] > MAX_TENSOR_ITEMS:
        return (
            f"a tensor of {value.shape[0]} rows is too long to take apart in Python (at most "
            f"{MAX_TENSOR_ITEMS} items; keep it a tensor)"
        )
    return None


def text_size(values: Any, extra: int = 0) -> str | None:
    """Why writing ``values`` as text (``str``, ``repr``, an f-string, ``print``) would be
    too long, or ``None``. The length is estimated before Python makes the text, since
    ``str([s] * 10**6)`` for a string ``s`` of 10^6 characters would be 10^12 of them."""
    memo: dict[int, int] = {}
    total = extra + sum(_text_bound(v, memo) for v in values)
    if total > MAX_TEXT_CHARS:
        return (
            f"this text would be too long (about {total if total < 10**12 else 'over 10**12'} "
            f"characters; at most {MAX_TEXT_CHARS})"
        )
    return None


def _text_bound(value: Any, memo: dict[int, int]) -> int:
    """A quick estimate of ``len(repr(value))``, never far below it (strings count once
    per reference, so a list sharing one long string counts it each time)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, (bool, float, type(None))):
        return 24
    if isinstance(value, int):
        return _int_bits(value) // 3 + 2
    if isinstance(value, torch.Tensor):
        shown = value.numel()
        if shown > 1000:  # torch summarises: edge items of each dimension
            shown = math.prod(min(s, 6) for s in value.shape)
        return shown * (24 + 2 * value.dim()) + 200
    if isinstance(value, (list, tuple)):
        known = memo.get(id(value))
        if known is not None:
            return known
        memo[id(value)] = 0
        total = 2
        for item in value:
            total += _text_bound(item, memo) + 2
            if total > MAX_TEXT_CHARS * 4:
                break
        memo[id(value)] = total
        return total
    return 200  # a dtype, a device, a grad_fn node, a class: a short repr


def _shape_count(args: list[Any]) -> int | None:
    """The element count of a size given as ``2, 3``, ``(2, 3)`` or ``torch.Size`` (sizes
    may be integer tensors of one element, as torch reads them)."""
    dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args
    count = 1
    for d in dims:
        n = as_int(d)
        if n is None:
            return None
        count *= max(n, 0)
        if count > MAX_ELEMENTS:
            return count
    return count


def constructor_size(path: tuple[str, ...], args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """Why a constructor's size would pass :data:`MAX_ELEMENTS`, before it allocates."""
    name = path[-1]
    count: float | None = None
    if name in ("zeros", "ones", "empty", "rand", "randn"):
        count = _shape_count(args or [kwargs.get("size", ())])
    elif name == "full":
        count = _shape_count([args[0] if args else kwargs.get("size", ())])
    elif name in ("randint", "normal"):
        size = kwargs.get("size", args[-1] if args else ())
        count = _shape_count([size]) if isinstance(size, (tuple, list, torch.Size)) else None
    elif name == "eye":
        n = args[0] if args else kwargs.get("n", 0)
        m = args[1] if len(args) > 1 else kwargs.get("m", n)
        count = _shape_count([n, m]) if m is not None else _shape_count([n, n])
    elif name == "randperm":
        count = _shape_count([args[0] if args else kwargs.get("n", 0)])
    elif name in ("linspace", "logspace"):
        steps = args[2] if len(args) > 2 else kwargs.get("steps", 0)
        count = _shape_count([steps])
    elif name == "arange":
        count = _arange_count(args, kwargs)
    if count is not None and count > MAX_ELEMENTS:
        return (
            f"torch.{name}(...) would have {count if count < 10**12 else 'over 10**12'} "
            f"elements; at most {MAX_ELEMENTS}"
        )
    return None


def _arange_count(args: list[Any], kwargs: dict[str, Any]) -> float | None:
    numbers = [_as_number(a) for a in args]
    if any(n is None for n in numbers):
        return None
    if len(numbers) == 1:
        start, end, step = 0, numbers[0], 1
    else:
        start = numbers[0] if numbers else 0
        end = numbers[1] if len(numbers) > 1 else None
        step = numbers[2] if len(numbers) > 2 else 1
    start = _as_number(kwargs["start"]) if "start" in kwargs else start
    end = _as_number(kwargs["end"]) if "end" in kwargs else end
    step = _as_number(kwargs["step"]) if "step" in kwargs else step
    if start is None or end is None or step is None or step == 0:
        return None
    if not all(math.isfinite(v) for v in (start, end, step)):
        return None
    return max(math.ceil((end - start) / step), 0)


def call_size(fn: Any, args: list[Any], kwargs: dict[str, Any], out: Any = None) -> str | None:
    """Why a torch call would be too large where a dry run on ``meta`` cannot tell (its
    size depends on its data), or would need far more memory than its result; ``out`` is
    the dry run's result when there was one."""
    pieces = _pieces(fn, args, kwargs)
    if pieces is not None and pieces > MAX_TENSOR_ITEMS:
        return (
            f"this would split a tensor into {pieces} tensors (at most {MAX_TENSOR_ITEMS}; "
            "keep it one tensor)"
        )
    if fn in (torch.repeat_interleave, torch.Tensor.repeat_interleave):
        count = _repeat_interleave_count(args, kwargs)
        if count is not None and count > MAX_ELEMENTS:
            return f"repeat_interleave would make {count} elements; at most {MAX_ELEMENTS}"
    elif fn is F.one_hot and args and isinstance(args[0], torch.Tensor):
        classes = as_int(kwargs.get("num_classes", args[1] if len(args) > 1 else -1))
        t = args[0]
        if classes is not None and classes < 0 and t.numel() and not t.dtype.is_floating_point:
            classes = int(t.max()) + 1
        if classes is not None and t.numel() * max(classes, 0) > MAX_ELEMENTS:
            return f"one_hot would make {t.numel()} x {classes} elements; at most {MAX_ELEMENTS}"
    elif fn is torch.combinations and args and isinstance(args[0], torch.Tensor):
        r = as_int(kwargs.get("r", args[1] if len(args) > 1 else 2))
        if r is not None and r > 0:
            n = args[0].numel()
            rows = math.comb(n + (r - 1 if kwargs.get("with_replacement") else 0), r)
            # torch builds an n**r grid to pick the combinations from
            if rows * r > MAX_ELEMENTS or n ** min(r, 64) > 100 * MAX_ELEMENTS:
                return (
                    f"combinations of {n} items taken {r} at a time is too large (torch "
                    f"works through {n}**{r} candidates; at most {100 * MAX_ELEMENTS})"
                )
    elif fn in _CONVOLUTIONS and len(args) > 1 and isinstance(args[1], torch.Tensor):
        weight = args[1]
        filter_size = weight.numel() // max(weight.shape[0], 1) if weight.dim() else 1
        outputs = out.numel() if isinstance(out, torch.Tensor) else None
        if fn in (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d):
            outputs = args[0].numel() if isinstance(args[0], torch.Tensor) else None
        if outputs is not None and outputs * filter_size > MAX_CONV_WORK:
            return (
                f"this convolution would do {outputs * filter_size} multiply-adds; at most "
                f"{MAX_CONV_WORK}"
            )
    return None


_SPLITS = frozenset("split unsafe_split split_copy unbind unbind_copy".split())
_CHUNKS = frozenset("chunk unsafe_chunk tensor_split hsplit vsplit dsplit".split())


def _pieces(fn: Any, args: list[Any], kwargs: dict[str, Any]) -> int | None:
    """How many tensors a split of a tensor would give (``torch.split(x, 1)``: one a row),
    known before the call makes them (each is a Python object, even on ``meta``)."""
    name = getattr(fn, "__name__", "")
    if name not in _SPLITS and name not in _CHUNKS or not args:
        return None
    x = args[0]
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return None
    if name.startswith("unbind"):
        dim = as_int(args[1] if len(args) > 1 else kwargs.get("dim", 0))
        return x.shape[dim] if dim is not None and -x.dim() <= dim < x.dim() else None
    how = args[1] if len(args) > 1 else next(iter(kwargs.values()), None)
    if isinstance(how, (list, tuple)):
        return len(how) + (name in _CHUNKS)
    k = as_int(how)
    if k is None or k <= 0:
        return None
    if name in _CHUNKS:
        return k
    dim = as_int(args[2] if len(args) > 2 else kwargs.get("dim", 0))
    if dim is None or not -x.dim() <= dim < x.dim():
        return None
    return -(-x.shape[dim] // k)


def _repeat_interleave_count(args: list[Any], kwargs: dict[str, Any]) -> int | None:
    first = args[0] if args else kwargs.get("input")
    repeats = args[1] if len(args) > 1 else kwargs.get("repeats")
    if repeats is None and isinstance(first, torch.Tensor) and len(args) == 1:
        first, repeats = None, first  # torch.repeat_interleave(repeats)
    if isinstance(repeats, torch.Tensor) and not repeats.dtype.is_floating_point:
        total = int(repeats.sum()) if repeats.numel() else 0
        if isinstance(first, torch.Tensor):
            per = first.numel() // max(repeats.numel(), 1)
            return per * total if repeats.numel() > 1 else first.numel() * total
        return total
    count = as_int(repeats) if repeats is not None else None
    if count is not None and isinstance(first, torch.Tensor):
        return first.numel() * count
    return None


def index_count(value: Any, key: Any) -> int:
    """An upper bound on the elements ``value[key]`` gives: index tensors multiply it."""
    keys = key if isinstance(key, tuple) else (key,)
    bound = value.numel() if isinstance(value, torch.Tensor) else 1
    for item in keys:
        if isinstance(item, torch.Tensor) and item.dtype != torch.bool:
            bound *= max(item.numel(), 1)
        elif isinstance(item, list):
            bound *= max(len(item), 1)
    return bound
