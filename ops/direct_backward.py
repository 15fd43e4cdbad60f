"""PyTorch's backward engine, called without the Python-side check that imports SymPy.

``torch.autograd.backward`` and ``torch.autograd.grad`` check each given gradient's shape
in Python through torch.fx's symbolic-shape helpers, and the first such check imports
``torch.fx.experimental.symbolic_shapes`` and with it SymPy: about 0.3 s, paid by the
first backward pass of the process. For the app that is the difference between the
first graph showing right after torch has loaded and a visible wait.

The engine itself is the same either way: both public functions end in
``torch.autograd.graph._engine_run_backward``, which runs the C++ engine (hooks, node
order, accumulation, its own shape validation of the root gradients). :func:`backward`
and :func:`grad` call it directly when every gradient is a plain dense tensor with its
output's shape and dtype kind, which is all the public check looks at; anything else
(or a torch without that function) goes through the public API, so its errors stay
torch's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["backward", "grad"]

try:
    from torch.autograd.graph import _engine_run_backward
except ImportError:  # an older or newer torch: the public API only
    _engine_run_backward = None


def _direct(outputs: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> bool:
    """Whether the public check would pass these as they are (so it can be skipped)."""
    if _engine_run_backward is None or len(outputs) != len(grads):
        return False
    for out, g in zip(outputs, grads, strict=True):
        if not isinstance(out, torch.Tensor) or type(g) is not torch.Tensor:
            return False
        if type(out) is not torch.Tensor or out.is_nested or g.is_nested:
            return False
        if out.shape != g.shape or out.dtype.is_complex != g.dtype.is_complex:
            return False
    return True


def backward(output: torch.Tensor, grad_output: torch.Tensor) -> None:
    """``torch.autograd.backward(output, grad_output)``: fills the leaves' ``.grad``."""
    if _direct((output,), (grad_output,)):
        _engine_run_backward(
            (output,),
            (grad_output,),
            False,
            False,
            (),
            allow_unreachable=True,
            accumulate_grad=True,
        )
    else:
        torch.autograd.backward(output, grad_output)


def grad(
    output: torch.Tensor,
    inputs: Sequence[torch.Tensor] | torch.Tensor,
    grad_output: torch.Tensor,
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
    materialize_grads: bool = False,
) -> tuple[torch.Tensor | None, ...]:
    """``torch.autograd.grad(output, inputs, grad_output, ...)`` for one output.

    ``materialize_grads`` turns an unused input's ``None`` into zeros (and implies
    ``allow_unused``), as in torch.
    """
    inputs = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    allow_unused = allow_unused or materialize_grads
    if not _direct((output,), (grad_output,)) or any(type(i) is not torch.Tensor for i in inputs):
        return torch.autograd.grad(
            output,
            inputs,
            grad_output,
            create_graph=create_graph,
            allow_unused=allow_unused,
            materialize_grads=materialize_grads,
        )
    result = _engine_run_backward(
        (output,),
        (grad_output,),
        create_graph,
        create_graph,
        inputs,
        allow_unused,
        accumulate_grad=False,
    )
    if materialize_grads:
        result = tuple(
            torch.zeros_like(i, requires_grad=create_graph) if g is None else g
            for g, i in zip(result, inputs, strict=True)
        )
    return tuple(result)
