"""The names a snippet may use beyond an expression's: torch's spelling plus what scripts need.

A snippet runs like a script, so it needs what :mod:`ops.spelling` leaves out of an
expression: ``torch.tensor(data, requires_grad=True)``, ``.backward()``, ``.grad``,
``torch.autograd.grad``, in-place methods on its own tensors (``x.grad.zero_()``), and
torch's seeded random constructors. Each table maps a literal name typed in this file
to a function taken at import time, so nothing looks up a name the snippet chose; a name
that is on no table is refused by :mod:`ops.snippet_syntax` before anything runs.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import torch

from gradtui.ops import spelling
from gradtui.ops.calls import torch_key as spelling_key

__all__ = [
    "CONSTANT_VALUES",
    "IN_PLACE",
    "SCRIPT_FUNCTIONS",
    "TENSOR_EXTRAS",
    "TENSOR_VALUES",
    "attribute_refusal",
    "bare_call_refusal",
    "module_call_refusal",
    "module_value_refusal",
    "spelling_key",
]

_IN_PLACE_NAMES = (
    "zero_ add_ sub_ mul_ div_ pow_ neg_ abs_ exp_ log_ sqrt_ sin_ cos_ tanh_ sigmoid_ "
    "relu_ clamp_ clamp_min_ clamp_max_ fill_ copy_ addcmul_ addcdiv_ lerp_ masked_fill_ "
    "floor_ ceil_ round_ sign_ reciprocal_ square_ expm1_ log1p_ t_ transpose_ squeeze_ "
    "unsqueeze_ requires_grad_ detach_ normal_ uniform_ index_add_ scatter_ scatter_add_"
).split()

IN_PLACE: dict[str, Callable[..., Any]] = {
    name: getattr(torch.Tensor, name) for name in _IN_PLACE_NAMES
}  # literal names only
"""In-place tensor methods a snippet may call on its own tensors (``x.grad.zero_()``)."""

TENSOR_EXTRAS: dict[str, Callable[..., Any]] = {
    name: getattr(torch.Tensor, name)
    for name in (
        "item tolist size dim numel retain_grad detach clone float double long int bool "
        "is_contiguous element_size nelement"
    ).split()
}  # literal names only
"""Tensor methods a script uses that an expression does not take (``x.item()``)."""

TENSOR_VALUES: dict[str, Callable[[torch.Tensor], Any]] = {
    "grad": operator.attrgetter("grad"),
    "requires_grad": operator.attrgetter("requires_grad"),
    "grad_fn": operator.attrgetter("grad_fn"),
    "is_leaf": operator.attrgetter("is_leaf"),
    "shape": operator.attrgetter("shape"),
    "dtype": operator.attrgetter("dtype"),
    "data": operator.attrgetter("data"),
    "ndim": operator.attrgetter("ndim"),
    "device": operator.attrgetter("device"),
}
"""Tensor attributes a script reads (``x.grad``, ``y.grad_fn``)."""

NODE_VALUES: dict[str, Callable[[Any], Any]] = {
    "next_functions": operator.attrgetter("next_functions"),
}
NODE_METHODS: dict[str, Callable[[Any], Any]] = {"name": lambda node: node.name()}
"""What a ``grad_fn`` node shows: its name and where its gradients go."""

_SEEDED = (
    "rand randn randint rand_like randn_like randint_like randperm normal bernoulli multinomial"
).split()
_SIZED = "zeros ones empty full rand randn eye zeros_like ones_like empty_like full_like".split()
_SCRIPT_TORCH = ("tensor", "as_tensor", "zeros", "ones", "empty", "full", "arange", "linspace",
                 "logspace", "eye", "empty_like", "is_grad_enabled", "manual_seed",
                 "is_tensor", "numel", "get_default_dtype", *_SEEDED)  # fmt: skip

SCRIPT_FUNCTIONS: dict[tuple[str, ...], Callable[..., Any]] = {
    **{("torch", name): getattr(torch, name) for name in _SCRIPT_TORCH},  # literal names
    ("torch", "autograd", "grad"): torch.autograd.grad,
    ("torch", "autograd", "backward"): torch.autograd.backward,
}
"""Functions a script calls that an expression does not take. Random draws are seeded:
a snippet runs under ``torch.manual_seed(0)`` inside ``fork_rng``, so it repeats and
torch's global generator is left as it was."""

SIZED_FUNCTIONS: frozenset[tuple[str, ...]] = frozenset(("torch", n) for n in _SIZED)

WITH_CONTEXTS: dict[tuple[str, ...], Callable[[], Any]] = {
    ("torch", "no_grad"): torch.no_grad,
    ("torch", "enable_grad"): torch.enable_grad,
}

CONSTANT_VALUES: dict[tuple[str, ...], Any] = {
    **{("torch", name): dtype for name, dtype in spelling.DTYPES.items()},
    ("torch", "pi"): torch.pi,
    ("torch", "e"): torch.e,
    ("torch", "inf"): torch.inf,
    ("torch", "nan"): torch.nan,
}
"""``torch.float32``, ``torch.pi`` and the like, as values."""

RECORDED = frozenset({("torch", "autograd", "grad"), ("torch", "autograd", "backward")})


def module_value_refusal(path: tuple[str, ...]) -> str | None:
    """Why ``torch.X`` used as a value (not called) is refused, or ``None``."""
    if path in CONSTANT_VALUES:
        return None
    if path in SCRIPT_FUNCTIONS or path in WITH_CONTEXTS or spelling_key(path) is not None:
        return f"'{'.'.join(path)}' is a function: call it"
    return _namespace_refusal(path)


def module_call_refusal(path: tuple[str, ...]) -> str | None:
    """Why calling ``torch.X(...)`` is refused, or ``None``."""
    if path in SCRIPT_FUNCTIONS or spelling_key(path) is not None:
        return None
    if path in WITH_CONTEXTS:
        return f"'{'.'.join(path)}()' is allowed only as 'with {'.'.join(path)}():'"
    if path in CONSTANT_VALUES:
        return f"'{'.'.join(path)}' is a value, not a function"
    return _namespace_refusal(path)


def _namespace_refusal(path: tuple[str, ...]) -> str:
    for part in path:
        if part.startswith("_"):
            return f"'{'.'.join(path)}': names starting with '_' are not allowed"
    if path[:2] == ("torch", "nn") and (len(path) < 3 or path[2] != "functional"):
        return (
            f"'{'.'.join(path)}' is not taken in a snippet: nn modules are not part of the "
            "snippet language; write the layer with torch.nn.functional (F.linear, F.conv2d)"
        )
    return spelling.namespace_refusal(path).replace("in an expression", "in a snippet")


def bare_call_refusal(name: str) -> str:
    """Why ``name(...)`` is refused: it is neither a builtin taken nor torch's."""
    if name in ("eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "input",
                "globals", "locals", "vars", "dir", "breakpoint", "help", "delattr"):  # fmt: skip
        return f"'{name}' is not allowed: a snippet runs torch code only"
    hint = ""
    fallback = f"torch.{name}" if spelling.function(f"torch.{name}") is not None else None
    if fallback is not None:
        hint = f"; write {fallback}(...)"
    return (
        f"'{name}(...)' is not allowed{hint} (a snippet calls torch's functions, tensor "
        "methods, and print, len, abs, float, int, bool, round, min, max, sum, list, tuple, "
        "str, repr, type)"
    )


def import_refusal(name: str, alias: str | None, *, plain: bool = False) -> str:
    """Why an import other than torch's is refused (``plain``: ``name`` is the whole line)."""
    shown = name if plain else f"import {name}" + (f" as {alias}" if alias else "")
    return (
        f"'{shown}' is not allowed: a snippet may import torch only "
        "(import torch, import torch.nn.functional as F, import torch.nn as nn)"
    )


def not_on(name: str, obj: Any, *, call: bool) -> str:
    """Why ``obj.name`` is refused at run time: a tensor's name used on another value."""
    shown = f".{name}()" if call else f".{name}"
    if isinstance(obj, torch.Tensor):
        return f"'{shown}' is not taken on a tensor here"
    return f"'{shown}' is taken on tensors only, and this value is a {type(obj).__name__}"


def attribute_refusal(name: str, *, call: bool) -> str | None:
    """Why ``value.name`` (``call=False``) or ``value.name(...)`` is refused, or ``None``."""
    if name.startswith("_"):
        return f"'.{name}': names starting with '_' are not allowed"
    if call:
        if name == "backward" or name in IN_PLACE or name in TENSOR_EXTRAS or name in NODE_METHODS:
            return None
        if name in TENSOR_VALUES or name in NODE_VALUES:
            return f"'.{name}' is an attribute: write .{name}, without ()"
    else:
        if name in TENSOR_VALUES or name in NODE_VALUES:
            return None
        if name in IN_PLACE or name in TENSOR_EXTRAS or name == "backward":
            return f"'.{name}' is a method: call it, as in x.{name}()"
    if name in ("register_hook", "register_post_accumulate_grad_hook", "apply_", "map_"):
        return f"'.{name}' is not allowed: it runs a Python function the snippet would define"
    if name in ("numpy", "tofile", "storage", "untyped_storage", "share_memory_", "cuda"):
        return (
            f"'.{name}' is not allowed: {spelling.REFUSED_ATTRIBUTES.get(name, 'it leaves torch')}"
        )
    if name.endswith("_"):
        return f"'.{name}' is not an in-place method gradtui takes in a snippet"
    reason = spelling.refusal(name, method=call)
    if reason is None:
        return None
    return f"attribute '.{name}' is not allowed: {reason}"


# --------------------------------------------------------------------------- Python's own

BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
IN_PLACE_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd,
    ast.Sub: operator.isub,
    ast.Mult: operator.imul,
    ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv,
    ast.Mod: operator.imod,
    ast.Pow: operator.ipow,
    ast.MatMult: operator.imatmul,
    ast.BitAnd: operator.iand,
    ast.BitOr: operator.ior,
    ast.BitXor: operator.ixor,
}
COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
}
BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "abs": abs,
    "float": float,
    "int": int,
    "bool": bool,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "list": list,
    "tuple": tuple,
    "str": str,
    "repr": repr,
    "type": type,
}
"""Python's operators and the builtins a snippet may call, as the interpreter applies
them (``BINARY[ast.Add]`` is ``operator.add``; ``x += y`` uses ``IN_PLACE_BINARY``, which
for a tensor is in place, as in Python)."""
