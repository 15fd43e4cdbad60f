"""The tensor constructors of the language: ``linspace``, ``arange``, ``zeros``, ``ones``,
``full``, ``eye``, ``rand``, ``randn``.

Each reads its arguments from the tree (sizes as numbers, one list, or ``size=``),
checks the element count against :data:`ops.source.MAX_ELEMENTS` before it allocates,
and builds the tensor in the evaluation's float dtype, or in the one ``dtype=`` names as
torch's constructors take it (``torch.arange(9, dtype=torch.float)`` is float32);
``requires_grad=False`` is accepted, ``True`` refused while parsing (the tensor is a
constant: :data:`ops.calls.REQUIRES_GRAD`); ``rand``/``randn`` draw from the
evaluation's seeded generator, so a text repeats. :data:`CONSTRUCTOR_IMPLS` maps each
name of :data:`ops.calls.CONSTRUCTORS` to its builder.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import torch

from gradtui.ops.calls import CONSTRUCTOR_KEYWORDS, CONSTRUCTORS, dtype_name
from gradtui.ops.evaluator import EvaluatorBase, Value


def requested_dtype(node: ast.Call) -> torch.dtype | None:
    """The dtype ``dtype=torch.X`` names (parse() checked it is a dtype), or ``None``."""
    from gradtui.ops import spelling

    for kw in node.keywords:
        if kw.arg == "dtype":
            name = dtype_name(kw.value)
            return None if name is None else spelling.DTYPES[name]
    return None


def _keywords(node: ast.Call) -> list[ast.keyword]:
    """The keywords that are arguments (``dtype=`` and ``requires_grad=`` are not)."""
    return [kw for kw in node.keywords if kw.arg not in CONSTRUCTOR_KEYWORDS]


def size_args(
    ev: EvaluatorBase, node: ast.Call, args: Sequence[ast.expr], name: str
) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
        args = args[0].elts
    elif any(isinstance(a, (ast.List, ast.Tuple)) for a in args):
        raise ev.error(f"{name}(): give the size as numbers or as one list", node)
    sizes = tuple(ev.to_int(ev.number_arg(a), a, f"{name}(): size", low=0) for a in args)
    ev.check_elements(sizes, node, f"{name}()")
    return sizes


def constructor_args(ev: EvaluatorBase, node: ast.Call, name: str) -> dict[str, ast.expr]:
    params = CONSTRUCTORS[name]
    if len(node.args) > len(params):
        raise ev.error(
            f"{name}() takes at most {len(params)} arguments ({', '.join(params)})",
            node.args[len(params)],
        )
    bound = dict(zip(params, node.args, strict=False))
    for kw in _keywords(node):
        if kw.arg in bound:
            raise ev.error(f"{name}() got two values for '{kw.arg}'", kw)
        bound[kw.arg] = kw.value  # names were checked by parse()
    return bound


def required(
    ev: EvaluatorBase, bound: dict[str, ast.expr], key: str, node: ast.Call, name: str
) -> ast.expr:
    if key not in bound:
        raise ev.error(f"{name}() is missing its argument '{key}'", node)
    return bound[key]


def sized(ev: EvaluatorBase, node: ast.Call, name: str) -> tuple[int, ...]:
    """The size of ``zeros``/``ones``/``rand``/``randn``: ``(2, 3)``, ``([2, 3])`` or ``size=``."""
    keywords = [kw for kw in node.keywords if kw.arg == "size"]
    if not keywords:
        return size_args(ev, node, node.args, name)
    if node.args:
        raise ev.error(f"{name}() got the size twice", node)
    return size_args(ev, node, [keywords[0].value], name)


def _linspace(ev: EvaluatorBase, node: ast.Call) -> torch.Tensor:
    bound = constructor_args(ev, node, "linspace")
    start_node = required(ev, bound, "start", node, "linspace")
    end_node = required(ev, bound, "end", node, "linspace")
    steps_node = required(ev, bound, "steps", node, "linspace")
    start = ev.to_float(ev.number_arg(start_node), start_node, "linspace(): 'start'")
    end = ev.to_float(ev.number_arg(end_node), end_node, "linspace(): 'end'")
    steps = ev.to_int(ev.number_arg(steps_node), steps_node, "linspace(): 'steps'", low=0)
    ev.check_elements((steps,), node, "linspace()")
    with ev.torch_errors(node, "linspace() failed"):
        return torch.linspace(start, end, steps, dtype=requested_dtype(node) or ev.dtype)


def _arange(ev: EvaluatorBase, node: ast.Call) -> torch.Tensor:
    given = {kw.arg for kw in node.keywords}
    if len(node.args) == 1 and not given & {"start", "end"}:
        # arange(end) and arange(5, step=2): a lone positional is the end, as torch reads it
        bound = {"end": node.args[0], **{kw.arg: kw.value for kw in _keywords(node)}}
    else:
        bound = constructor_args(ev, node, "arange")
    end_node = required(ev, bound, "end", node, "arange")
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
    dtype = requested_dtype(node) or (torch.int64 if all_int else ev.dtype)
    with ev.torch_errors(node, "arange() failed"):
        return torch.arange(numbers["start"], numbers["end"], numbers["step"], dtype=dtype)


def _filled(kind: str) -> Callable[[EvaluatorBase, ast.Call], torch.Tensor]:
    def build(ev: EvaluatorBase, node: ast.Call) -> torch.Tensor:
        sizes = sized(ev, node, kind)
        dtype = requested_dtype(node) or ev.dtype
        with ev.torch_errors(node, f"{kind}() failed"):
            if kind == "zeros":
                return torch.zeros(sizes, dtype=dtype)
            if kind == "ones":
                return torch.ones(sizes, dtype=dtype)
            if kind == "rand":
                return torch.rand(sizes, generator=ev.generator(), dtype=dtype)
            return torch.randn(sizes, generator=ev.generator(), dtype=dtype)

    return build


def _full(ev: EvaluatorBase, node: ast.Call) -> torch.Tensor:
    bound = constructor_args(ev, node, "full")
    size_node = required(ev, bound, "size", node, "full")
    sizes = size_args(ev, node, [size_node], "full")
    fill_node = required(ev, bound, "fill_value", node, "full")
    value = ev.scalar(ev.number_arg(fill_node), fill_node, "full(): 'fill_value'")
    dtype = requested_dtype(node) or (
        torch.bool if isinstance(value, bool) else ev.number(value).dtype
    )
    with ev.torch_errors(node, "full() failed"):
        return torch.full(sizes, value, dtype=dtype)


def _eye(ev: EvaluatorBase, node: ast.Call) -> torch.Tensor:
    bound = constructor_args(ev, node, "eye")
    n_node = required(ev, bound, "n", node, "eye")
    n = ev.to_int(ev.number_arg(n_node), n_node, "eye(): 'n'", low=0)
    m = n
    if "m" in bound:
        m = ev.to_int(ev.number_arg(bound["m"]), bound["m"], "eye(): 'm'", low=0)
    ev.check_elements((n, m), node, "eye()")
    with ev.torch_errors(node, "eye() failed"):
        return torch.eye(n, m, dtype=requested_dtype(node) or ev.dtype)


CONSTRUCTOR_IMPLS: dict[str, Callable[[EvaluatorBase, ast.Call], torch.Tensor]] = {
    "linspace": _linspace,
    "arange": _arange,
    "zeros": _filled("zeros"),
    "ones": _filled("ones"),
    "rand": _filled("rand"),
    "randn": _filled("randn"),
    "full": _full,
    "eye": _eye,
}
