"""The whole graph: the backward DAG, Jacobians, and the backward of a backward.

The stepper shows the backward pass in the engine's order; this module gives the rest
of the picture, each part measured from torch:

- :func:`graph`: the DAG torch built for the forward pass, node by node as
  ``next_functions`` link them (the same walk the recorder hooks);
- :func:`jacobian`: J of the output with respect to each input, from
  ``torch.autograd.functional.jacobian``, with the input's ``.grad`` from torch's own
  backward beside it, so that ``input.grad = vᵀJ`` can be checked by eye;
- :func:`hvp`: a Hessian-vector product by double backward (``create_graph=True``),
  with the second backward pass recorded node by node by the stepper's recorder.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradtui.ops import diagnose, language, timebound
from gradtui.ops.backward import describe_graph, graph_nodes, record_call
from gradtui.ops.errors import InputError
from gradtui.ops.prepare import TORCH_ERRORS, Prepared, prepare
from gradtui.ops.results import GraphNode, Step, TensorData, step_json, to_jsonable
from gradtui.ops.run import forward, grad_output, leaf_args
from gradtui.ops.tensors import to_data

__all__ = [
    "MAX_ENTRIES",
    "MAX_SCREEN_ENTRIES",
    "GraphResult",
    "HvpResult",
    "JacobianBlock",
    "JacobianResult",
    "graph",
    "hvp",
    "jacobian",
]

MAX_SCREEN_ENTRIES = 10_000
"""The most entries of J a screen shows (the app's cap)."""
MAX_ENTRIES = 1_000_000
"""The most entries of J the command line computes (one backward pass per output
element, each as wide as the input)."""


@dataclass(frozen=True)
class GraphResult:
    """The backward graph of one target and one set of inputs.

    Attributes:
        target, expression: As in :class:`~ops.results.GradResult`.
        nodes: Root first (``n0``), then depth-first discovery order.
        grad_fn: The output's ``grad_fn`` name, ``None`` when it has none (then
            ``nodes`` is empty and ``reason`` says why).
    """

    target: str
    expression: str
    nodes: tuple[GraphNode, ...]
    grad_fn: str | None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui graph --json`` (see README)."""
        return {"nodes": [n.to_json() for n in self.nodes]}


@dataclass(frozen=True)
class JacobianBlock:
    """J of the output with respect to one input.

    Attributes:
        name: The input.
        input_shape: Its shape.
        output_shape: The output's shape.
        matrix: One row per output element and one column per input element (both
            flattened in row-major order): ``matrix[i][j] = ∂out[i] / ∂input[j]``.
        grad: The input's ``.grad`` from torch's own backward with upstream ``v``,
            flattened: what ``vᵀJ`` must equal. ``None`` when no gradient reached it.
    """

    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    matrix: list[list[float]]
    grad: list[float] | None

    def nested(self) -> Any:
        """J as nested lists of shape ``output_shape + input_shape``."""
        flat = [x for row in self.matrix for x in row]
        return _reshape(flat, (*self.output_shape, *self.input_shape))


@dataclass(frozen=True)
class JacobianResult:
    """Every input's Jacobian for one target, with the ``v`` and ``.grad`` beside them.

    Attributes:
        target, expression: As in :class:`~ops.results.GradResult`.
        output_shape: The output's shape.
        grad_output: ``v``, flattened (ones unless set).
        blocks: By input, for every input that requires grad, in the op's order.
        notes: Facts worth saying (an input torch gives no gradient path to, ...).
    """

    target: str
    expression: str
    output_shape: tuple[int, ...]
    grad_output: list[float]
    blocks: dict[str, JacobianBlock]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui jacobian --json`` (see README)."""
        return to_jsonable(
            {
                "jacobians": {n: b.nested() for n, b in self.blocks.items()},
                "output_shape": list(self.output_shape),
                "input_shapes": {n: list(b.input_shape) for n, b in self.blocks.items()},
                "notes": list(self.notes),
            }
        )


@dataclass(frozen=True)
class HvpResult:
    """A Hessian-vector product by double backward, and its second backward pass.

    Attributes:
        target, expression: As in :class:`~ops.results.GradResult`.
        inputs: The inputs that require grad, by name.
        vectors: ``u`` by input: as given; with none given, ones for every input;
            when some are given, zeros for the rest.
        gradient: The first backward's gradient by input (``create_graph=True``).
        hvp: ``H·u`` by input: the leaves' ``.grad`` after the second backward;
            zeros where torch found no path (the gradient does not depend on it).
        steps: The second backward pass, node by node, in the engine's order.
        graph: The second backward's graph; the steps' ``graph_id`` name its nodes.
        notes: What was assumed or found (which ``u`` were zeros, a linear f, ...).
    """

    target: str
    expression: str
    inputs: dict[str, TensorData]
    vectors: dict[str, TensorData]
    gradient: dict[str, TensorData | None]
    hvp: dict[str, TensorData | None]
    steps: tuple[Step, ...]
    graph: tuple[GraphNode, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui hvp --json`` (see README)."""
        return to_jsonable(
            {
                "hvp": {n: None if t is None else t.value for n, t in self.hvp.items()},
                "vectors": {n: t.value for n, t in self.vectors.items()},
                "gradient": {n: None if t is None else t.value for n, t in self.gradient.items()},
                "steps": [{"id": s.graph_id, **step_json(s)} for s in self.steps],
                "graph": [n.to_json() for n in self.graph],
                "notes": list(self.notes),
            }
        )


def _reshape(flat: list[float], shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    size = len(flat) // shape[0] if shape[0] else 0
    return [_reshape(flat[k * size : (k + 1) * size], shape[1:]) for k in range(shape[0])]


def _bounded(timeout: float | None, fn: Any, *args: Any) -> Any:
    """Call ``fn`` under the time bound (the enclosing one when called inside one)."""

    def quiet() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)

    if timeout is None and timebound.active() is not None:
        return quiet()
    return timebound.TimeBound(timeout).call(quiet)


def _forward(p: Prepared) -> tuple[dict[str, Any], dict[str, torch.Tensor], torch.Tensor]:
    args, leaves, _refused = leaf_args(p)
    return args, leaves, forward(p, args)


def _no_graph(p: Prepared) -> str:
    return f"{p.expression} has no grad_fn: no input that requires grad reaches the output"


def graph(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    dtype: str = "float32",
    timeout: float | None = None,
) -> GraphResult:
    """The backward graph torch builds for ``target`` at these inputs.

    Args:
        target: A catalog op name or an expression.
        values: Input texts by name; unset inputs take their defaults.
        dtype: ``"float32"`` or ``"float64"``.
        timeout: Seconds before the computation is abandoned (as :func:`ops.run.run`).

    Raises:
        InputError: Text that does not parse, or inputs torch refuses.
    """

    def build() -> GraphResult:
        p = prepare(target, values, dtype=dtype)
        _args, leaves, output = _forward(p)
        if output.grad_fn is None:
            return GraphResult(p.target, p.expression, (), None, _no_graph(p))
        nodes = describe_graph(graph_nodes(output.grad_fn), leaves)
        return GraphResult(p.target, p.expression, nodes, type(output.grad_fn).__name__)

    return _bounded(timeout, build)


def _need_float(p: Prepared, output: torch.Tensor, what: str) -> None:
    if not output.is_floating_point():
        raise InputError(
            f"{p.expression} gives a {str(output.dtype).removeprefix('torch.')} tensor: "
            f"a {what} needs a floating-point output"
        )


def jacobian(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    grad_output: str | None = None,
    dtype: str = "float32",
    timeout: float | None = None,
    max_entries: int = MAX_ENTRIES,
) -> JacobianResult:
    """J of the output with respect to every input that requires grad.

    J comes from ``torch.autograd.functional.jacobian`` (one backward pass per output
    element). Beside it, each input's ``.grad`` from one plain backward with upstream
    ``v``: the gradient the stepper shows, which must equal ``vᵀJ``.

    Args:
        grad_output: The text of ``v`` (default ones).
        max_entries: Refuse when J (all inputs together) would have more entries.
        Others: as :func:`graph`.

    Raises:
        InputError: As :func:`graph`; a J over ``max_entries`` entries; an output
            that is not floating point or has no gradient.
    """

    def build() -> JacobianResult:
        p = prepare(target, values, grad_output=grad_output, dtype=dtype)
        args, leaves, output = _forward(p)
        _need_float(p, output, "Jacobian")
        if not leaves or output.grad_fn is None:
            raise InputError(_no_graph(p))
        entries = output.numel() * sum(t.numel() for t in leaves.values())
        if entries > max_entries:
            shapes = ", ".join(f"{n} {list(t.shape)}" for n, t in leaves.items())
            raise InputError(
                f"J would have {entries} entries (output {list(output.shape)} by {shapes}); "
                f"at most {max_entries} can be shown"
            )
        v = grad_output_of(p, output)
        names = list(leaves)

        def fn(*tensors: torch.Tensor) -> torch.Tensor:
            return forward(p, {**args, **dict(zip(names, tensors, strict=True))})

        try:
            jac = torch.autograd.functional.jacobian(fn, tuple(leaves[n] for n in names))
            torch.autograd.backward(output, v)
        except TORCH_ERRORS as exc:
            raise InputError(f"torch's backward pass failed: {diagnose.quote(exc)}") from None
        notes = []
        blocks = {}
        for name, block in zip(names, jac, strict=True):
            leaf = leaves[name]
            # clone(): torch hands some zero gradients (sgn's) back as a ZeroTensor, which
            # has no storage to read until it is materialised.
            matrix = block.detach().clone().reshape(output.numel(), leaf.numel()).tolist()
            grad = None if leaf.grad is None else leaf.grad.detach().clone().reshape(-1).tolist()
            if grad is None:
                notes.append(f"no gradient reached {name}: its J is zeros")
            blocks[name] = JacobianBlock(name, tuple(leaf.shape), tuple(output.shape), matrix, grad)
        return JacobianResult(
            p.target,
            p.expression,
            tuple(output.shape),
            v.detach().reshape(-1).tolist(),
            blocks,
            tuple(notes),
        )

    return _bounded(timeout, build)


def grad_output_of(p: Prepared, output: torch.Tensor) -> torch.Tensor:
    """``v`` as :func:`ops.run.run` uses it (its errors name the ``v`` field)."""
    return grad_output(p, output)


def _vectors(
    p: Prepared, leaves: Mapping[str, torch.Tensor], texts: Mapping[str, str]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``u`` by input, parsed with the input language; a 0-d text is broadcast."""
    unknown = [n for n in texts if n not in leaves]
    if unknown:
        known = ", ".join(leaves) or "none"
        raise InputError(
            f"not an input that requires grad (those are: {known})",
            field=unknown[0],
        )
    vectors: dict[str, torch.Tensor] = {}
    notes: list[str] = []
    for name, leaf in leaves.items():
        if name not in texts:
            vectors[name] = torch.ones_like(leaf) if not texts else torch.zeros_like(leaf)
            continue
        u = language.tensor_from_text(texts[name], field=name, dtype=leaf.dtype)
        if u.shape != leaf.shape:
            if u.dim() != 0:
                raise InputError(
                    f"the vector for {name} has shape {list(u.shape)} but {name} has "
                    f"shape {list(leaf.shape)}; they must match (or give one number)",
                    field=name,
                )
            u = u.expand(leaf.shape).clone()
        vectors[name] = u.to(leaf.dtype)
    if texts and len(texts) < len(leaves):
        rest = ", ".join(n for n in leaves if n not in texts)
        notes.append(f"u is zero for {rest} (no vector given)")
    elif not texts:
        notes.append("u is ones for every input (no vector given)")
    return vectors, notes


def hvp(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    vectors: Mapping[str, str] | None = None,
    grad_output: str | None = None,
    dtype: str = "float32",
    timeout: float | None = None,
) -> HvpResult:
    """H·u, the Hessian of ``⟨v, f⟩`` times ``u``, by double backward, recorded.

    The first backward is ``torch.autograd.grad(f, inputs, v, create_graph=True)``,
    which builds a graph for the gradient ``g`` itself. The second is
    ``torch.autograd.backward(g, u)`` (every input's ``g`` with its ``u``), recorded
    node by node; the leaves' ``.grad`` are then ``H·u``. Neither adds a node of its own
    to torch's graph.

    Args:
        vectors: ``u`` texts by input name (the input language); see
            :attr:`HvpResult.vectors` for the inputs not given.
        grad_output: The text of ``v`` (default ones: the sum of the output).
        Others: as :func:`graph`.

    Raises:
        InputError: As :func:`graph`; a vector for an unknown input or of the wrong
            shape; an output that is not floating point.
    """
    texts = dict(vectors or {})
    for name, text in texts.items():  # parse every vector before torch runs anything
        language.parse(text, field=name)

    def build() -> HvpResult:
        p = prepare(target, values, grad_output=grad_output, dtype=dtype)
        args, leaves, output = _forward(p)
        _need_float(p, output, "Hessian-vector product")
        if not leaves or output.grad_fn is None:
            raise InputError(_no_graph(p))
        us, notes = _vectors(p, leaves, texts)
        v = grad_output_of(p, output)
        names = list(leaves)
        try:
            first = torch.autograd.grad(
                output,
                [leaves[n] for n in names],
                grad_outputs=v,
                create_graph=True,
                allow_unused=True,
            )
        except TORCH_ERRORS as exc:
            raise InputError(f"torch's backward pass failed: {diagnose.quote(exc)}") from None
        gradient = {
            n: None if g is None else to_data(g.detach()) for n, g in zip(names, first, strict=True)
        }
        # The second backward starts at each gradient that has a graph of its own, with
        # u as its upstream gradient: no node of ours is added to torch's graph.
        roots = [(g, us[n]) for n, g in zip(names, first, strict=True) if g is not None]
        roots = [(g, u) for g, u in roots if g.requires_grad]
        steps: tuple[Step, ...] = ()
        graph_out: list[GraphNode] = []
        if roots:
            tensors, upstream = [g for g, _ in roots], [u for _, u in roots]
            try:
                _none, steps = record_call(
                    tensors,
                    lambda: torch.autograd.backward(tensors, upstream),
                    leaves,
                    graph_out=graph_out,
                )
            except TORCH_ERRORS as exc:
                raise InputError(
                    f"torch's second backward pass failed: {diagnose.quote(exc)}"
                ) from None
        else:
            notes.append("the gradient does not depend on any input (f is linear): H·u is zero")
        result: dict[str, TensorData | None] = {}
        for n in names:
            g = leaves[n].grad
            if g is None:
                if roots:
                    notes.append(f"no second-order path reaches {n}: its part of H·u is zero")
                g = torch.zeros_like(leaves[n])
            result[n] = to_data(g)
        return HvpResult(
            p.target,
            p.expression,
            {n: to_data(t.detach()) for n, t in leaves.items()},
            {n: to_data(u) for n, u in us.items()},
            gradient,
            result,
            steps,
            tuple(graph_out),
            tuple(notes),
        )

    return _bounded(timeout, build)
