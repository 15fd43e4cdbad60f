"""The recorder: PyTorch's own backward pass, written down node by node.

Nothing here computes a gradient. :func:`record_backward` hangs a pre-hook and a
post-hook on every node of the graph (``AccumulateGrad`` included), lets
``torch.autograd.backward`` run, and keeps what the engine itself passed through each
node, in the order the engine ran them. So what a front end shows as "step 3" is what
PyTorch really did third, not a re-derivation that could disagree with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import torch

from gradtui.ops import direct_backward, timebound
from gradtui.ops.results import Edge, GraphNode, Step, TensorData
from gradtui.ops.tensors import to_data

__all__ = [
    "describe_graph",
    "enum_name",
    "graph_nodes",
    "record_backward",
    "record_call",
    "saved_text",
    "saved_values",
]

T = TypeVar("T")

_SAVED = "_saved_"


def graph_nodes(root: Any) -> list[Any]:
    """Every node reachable from ``root`` through ``next_functions``, each once.

    Args:
        root: A ``grad_fn`` (or ``None``, which gives an empty list).

    Returns:
        The nodes in depth-first discovery order (not execution order; that only the
        engine knows, which is why the recorder uses hooks).
    """
    nodes: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)  # keeps the node alive, so its id() cannot be reused meanwhile
        stack.extend(fn for fn, _ in reversed(node.next_functions))
    return nodes


def _ids(nodes: Sequence[Any]) -> dict[int, str]:
    """``id()`` of each node -> its graph id (``n0`` for the first)."""
    return {id(node): f"n{k}" for k, node in enumerate(nodes)}


def describe_graph(
    nodes: Sequence[Any], leaves: Mapping[str, torch.Tensor] | None = None
) -> tuple[GraphNode, ...]:
    """The graph of ``nodes`` (as :func:`graph_nodes` lists them) as plain data.

    Each node's ``next`` follows its ``next_functions`` entry by entry, with ``None``
    where torch has ``None``; a shared node is one entry that several nodes point to.
    """
    ids = _ids(nodes)
    leaves = leaves or {}
    return tuple(
        GraphNode(
            id=ids[id(node)],
            name=type(node).__name__,
            next=tuple(None if fn is None else ids[id(fn)] for fn, _ in node.next_functions),
            leaf=_leaf_name(node, leaves),
        )
        for node in nodes
    )


def _plain(value: Any) -> Any:
    """A saved value as plain data: tensors as TensorData, sequences as tuples."""
    if isinstance(value, torch.Tensor):
        return to_data(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):  # torch.Size is a tuple
        return tuple(_plain(v) for v in value)
    return str(value)  # dtype, device, layout, SymInt...: their printed form


def saved_values(node: Any) -> dict[str, Any]:
    """A node's ``_saved_*`` attributes, name without the prefix, values as plain data.

    Must be read before the node runs: the engine frees saved tensors afterwards. An
    attribute torch refuses to give is recorded as its error text.
    """
    saved: dict[str, Any] = {}
    for attr in dir(node):
        if not attr.startswith(_SAVED):
            continue
        try:
            saved[attr[len(_SAVED) :]] = _plain(getattr(node, attr))
        except RuntimeError as exc:  # e.g. a tensor already freed
            saved[attr[len(_SAVED) :]] = f"<unavailable: {exc}>"
    return saved


@cache
def _reduction_names() -> dict[int, str]:
    """torch's ``Reduction`` enum, int → name, asked of the installed torch.

    A loss node saves ``reduction`` as the int of ATen's enum. ``torch.nn._reduction``
    is torch's own bridge between the two: ``legacy_get_string`` gives every name (from
    the old ``size_average``/``reduce`` flags) and ``get_enum`` each name's int. Empty
    if a later torch moves them: the int is then shown bare, never a guessed name.
    """
    try:
        from torch.nn import _reduction

        names = {
            _reduction.legacy_get_string(average, reduce, emit_warning=False)
            for average in (True, False)
            for reduce in (True, False)
        }
        return {_reduction.get_enum(name): name for name in sorted(names)}
    except Exception:  # noqa: BLE001 - a private module: any change means "no names"
        return {}


def enum_name(key: str, value: Any) -> str | None:
    """The name of a saved enum's int (``reduction`` 1 → ``"mean"``), or ``None``.

    Of the ints the catalog's backward nodes save, only ``reduction`` is an enum
    (``dim``, ``ignore_index``, ``threshold``, ``alpha``, ``scale`` are numbers, and
    GELU's ``approximate`` is saved as its string already).
    """
    if key != "reduction" or isinstance(value, bool) or not isinstance(value, int):
        return None
    return _reduction_names().get(value)


def saved_text(key: str, value: Any) -> str:
    """A saved value that is not a tensor, as the front ends write it: ``1 (mean)``."""
    name = enum_name(key, value)
    return f"{value!r} ({name})" if name is not None else repr(value)


def _grads(grads: tuple[Any, ...]) -> tuple[TensorData | None, ...]:
    return tuple(None if g is None else to_data(g) for g in grads)


@dataclass
class _Record:
    """What the hooks saw for one node (mutable while the engine runs)."""

    node: Any
    grad_outputs: tuple[TensorData | None, ...]
    saved: dict[str, Any]
    grad_inputs: tuple[TensorData | None, ...] = ()


def _leaf_name(node: Any, leaves: Mapping[str, torch.Tensor]) -> str | None:
    """The run's name for the tensor an ``AccumulateGrad`` node fills, by identity."""
    variable = getattr(node, "variable", None)
    if variable is None:
        return None
    for name, leaf in leaves.items():
        if variable is leaf:
            return name
    return None


def record_backward(
    output: torch.Tensor,
    grad_output: torch.Tensor,
    leaves: Mapping[str, torch.Tensor],
    *,
    rules: Mapping[str, str] | None = None,
    graph_out: list[GraphNode] | None = None,
) -> tuple[Step, ...]:
    """Run ``torch.autograd.backward(output, grad_output)`` and record every node it runs.

    Args:
        output: The forward result; its ``grad_fn`` is the graph's root.
        grad_output: The upstream gradient ``v`` (same shape as ``output``).
        leaves: The run's inputs by name, so ``AccumulateGrad`` steps and edges can say
            which input's ``.grad`` they fill (matched by tensor identity).
        rules: Optional one-line derivative rules by node name (``"ExpBackward0"``).
        graph_out: When given, the graph (:func:`describe_graph`) is appended to it.

    Returns:
        One :class:`Step` per executed node, in the engine's execution order (the order
        the pre-hooks fired). The leaves' ``.grad`` are filled as by a plain backward.

    Raises:
        RuntimeError: Whatever torch raises (e.g. no ``grad_fn``); hooks are removed first.
    """
    _none, steps = record_call(
        (output,),
        lambda: direct_backward.backward(output, grad_output),  # see ops.direct_backward
        leaves,
        rules=rules,
        graph_out=graph_out,
    )
    return steps


def record_call(
    roots: Sequence[torch.Tensor],
    run: Callable[[], T],
    leaves: Mapping[str, torch.Tensor],
    *,
    rules: Mapping[str, str] | None = None,
    nodes_out: list[Any] | None = None,
    graph_out: list[GraphNode] | None = None,
) -> tuple[T, tuple[Step, ...]]:
    """Call ``run`` (which runs the autograd engine from ``roots``) and record every node.

    :func:`record_backward` records one plain backward; a snippet records the call it
    made (``y.backward(gradient=..., retain_graph=True)``, ``torch.autograd.grad(...)``).

    Args:
        nodes_out: When given, the node objects the steps describe are appended to it, in
            the same order (model mode uses them to say which module each step is in).

    Returns:
        ``run()``'s value, and one :class:`Step` per node the engine ran, in its order.
    """
    rules = rules or {}
    records: dict[int, _Record] = {}
    order: list[int] = []
    handles: list[Any] = []

    def prehook(node: Any) -> Any:
        def hook(grad_outputs: tuple[Any, ...]) -> None:
            # A step boundary: each node's tensors are copied out, which for a long chain
            # of big matrices is gigabytes; an abandoned computation stops here.
            timebound.check()
            records[id(node)] = _Record(node, _grads(grad_outputs), saved_values(node))
            order.append(id(node))

        return hook

    def posthook(node: Any) -> Any:
        def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
            timebound.check()
            record = records.get(id(node))
            if record is not None:
                record.grad_inputs = _grads(grad_inputs)

        return hook

    nodes: list[Any] = []
    seen: set[int] = set()
    for root in roots:
        for node in graph_nodes(getattr(root, "grad_fn", None)):
            if id(node) not in seen:
                seen.add(id(node))
                nodes.append(node)
    if graph_out is not None:
        graph_out.extend(describe_graph(nodes, leaves))
    ids = _ids(nodes)
    try:
        for node in nodes:
            handles.append(node.register_prehook(prehook(node)))
            handles.append(node.register_hook(posthook(node)))
        value = run()
    finally:
        for handle in handles:
            handle.remove()

    steps = []
    for index, key in enumerate(order):
        record = records[key]
        node = record.node
        if nodes_out is not None:
            nodes_out.append(node)
        name = type(node).__name__
        edges = tuple(
            Edge(
                node=None if fn is None else type(fn).__name__,
                input=None if fn is None else _leaf_name(fn, leaves),
            )
            for fn, _ in node.next_functions
        )
        steps.append(
            Step(
                index=index,
                node=name,
                grad_outputs=record.grad_outputs,
                grad_inputs=record.grad_inputs,
                saved=record.saved,
                next=edges,
                leaf=_leaf_name(node, leaves),
                rule=rules.get(name),
                graph_id=ids.get(id(node)),
            )
        )
    return value, tuple(steps)
