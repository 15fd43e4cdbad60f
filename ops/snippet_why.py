"""Why a snippet's statement raised, in plain words, from the values at that moment.

torch's messages are exact but terse ("element 0 of tensors does not require grad and
does not have a grad_fn"). :func:`explain` reads the message torch wrote and the
snippet's values when it raised (dtypes, ``grad_fn``, ``requires_grad``, where each name
was assigned) and says what happened in a sentence. It adds nothing the values do not
show; for a message it has no words for, it says nothing.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

__all__ = ["explain"]


def _receiver(node: ast.stmt) -> tuple[ast.expr | None, str]:
    """The tensor a statement's ``.backward()`` was called on, and its text."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "backward"
        ):
            return sub.func.value, ast.unparse(sub.func.value)
    return None, ""


def _names(node: ast.AST | None) -> list[str]:
    if node is None:
        return []
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _no_grad_fn(node: ast.stmt, runner: Any) -> str | None:
    expr, shown = _receiver(node)
    tensors = {n: v for n, v in runner.ns.items() if isinstance(v, torch.Tensor)}
    for name in _names(expr) or [n for n in _names(node) if n in tensors]:
        value = tensors.get(name)
        if value is None or value.requires_grad:
            continue
        origin, grad_on = runner.origins.get(name, ("", True))
        kind = str(value.dtype).removeprefix("torch.")
        if not (value.dtype.is_floating_point or value.dtype.is_complex):
            made = f"{name} = {origin} gave" if origin else f"{name} is"
            also = f", so {shown} has none either and" if shown and shown != name else " and"
            return (
                f"{made} a {kind} tensor, and a {kind} tensor has no grad_fn: torch "
                f"records gradients for float and complex tensors only{also} backward has "
                "nothing to run from"
            )
        if not grad_on:
            return (
                f"{name} was computed inside torch.no_grad(), so torch recorded no graph for "
                "it and it has no grad_fn"
            )
    leaves = [n for n, v in tensors.items() if v.requires_grad]
    if not leaves:
        return (
            "no tensor in this snippet requires grad, so torch recorded no graph: create the "
            "input with requires_grad=True"
        )
    return None


def explain(exc: BaseException, node: ast.stmt, runner: Any) -> str | None:
    """Plain words for what ``node`` raised, or ``None`` when the message says it all."""
    message = str(exc)
    _expr, shown = _receiver(node)
    if "does not require grad and does not have a grad_fn" in message:
        return _no_grad_fn(node, runner)
    if "Only Tensors of floating point and complex dtype can require gradients" in message:
        return (
            "the data holds only integers, so torch makes an integer tensor, and integer "
            "tensors cannot require grad: write the numbers as floats (1.0) or pass "
            "dtype=torch.float32"
        )
    if "backward through the graph a second time" in message:
        return (
            "the first backward freed the values this graph saved for its backward pass; "
            "pass retain_graph=True to the earlier call, or compute the output again"
        )
    if "a leaf Variable that requires grad is being used in an in-place operation" in message:
        return (
            "a leaf tensor that requires grad cannot be changed in place while autograd "
            "records: do it inside 'with torch.no_grad():', or change a copy"
        )
    if "modified by an inplace operation" in message:
        return (
            "a tensor this graph saved for its backward pass was changed in place after it "
            "was saved (its version counter moved, as the message says), so the saved value "
            "is gone: use the out-of-place op (y = y + 1, not y.add_(1)) or run backward first"
        )
    if "grad can be implicitly created only for scalar outputs" in message:
        value = _value_of(_expr, runner)
        size = (
            f" has shape {tuple(value.shape)}"
            if isinstance(value, torch.Tensor)
            else " is not a scalar"
        )
        target = shown or "the output"
        return (
            f"{target}{size}: backward() with no gradient needs a one-element output; "
            f"sum it first ({target}.sum().backward()) or pass gradient=torch.ones_like({target})"
        )
    if "appears to not have been used in the graph" in message:
        return (
            "one of the inputs given to torch.autograd.grad is not used to compute the "
            "output; pass allow_unused=True to get None for it"
        )
    if isinstance(exc, AttributeError) and message.startswith("'NoneType' object"):
        return (
            "the value is None; a tensor's .grad stays None until a backward pass reaches "
            "it (and for a tensor that is not a leaf, unless it called .retain_grad())"
        )
    return None


def _value_of(expr: ast.expr | None, runner: Any) -> Any:
    if isinstance(expr, ast.Name):
        return runner.ns.get(expr.id)
    return None
