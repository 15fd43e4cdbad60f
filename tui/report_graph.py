"""Plain-text reports of ``gradtui graph``, ``gradtui jacobian`` and ``gradtui hvp``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gradtui.ops.display import format_value
from gradtui.ops.graph import GraphResult, HvpResult, JacobianBlock, JacobianResult
from gradtui.ops.names import GRAD_OUTPUT
from gradtui.ops.results import GraphNode
from gradtui.tui.graph_layout import layout_graph, node_label
from gradtui.tui.report import format_steps

__all__ = [
    "format_graph",
    "format_hvp",
    "format_jacobian",
    "index_text",
    "node_label",
    "number_text",
    "vjp_difference",
]


def _node_list(nodes: Sequence[GraphNode]) -> list[str]:
    """Every node with where its ``next_functions`` lead (the drawing's edges, as text)."""
    by_id = {n.id: n for n in nodes}
    lines = []
    for node in nodes:
        if node.next:
            targets = ", ".join(
                "None" if i is None else f"{i} {node_label(by_id[i])}" for i in node.next
            )
            lines.append(f"  {node.id:<4} {node_label(node)}  → {targets}")
        else:
            lines.append(f"  {node.id:<4} {node_label(node)}")
    return lines


def format_graph(result: GraphResult) -> str:
    """The text report of ``gradtui graph``: the drawing, then every node's edges.

    The drawing is printed as wide as it is (a wide graph wraps or is cut by a narrow
    terminal; the node list under it says the same in one line per node)."""
    if not result.nodes:
        return f"{result.expression}\n\nno backward graph: {result.reason}"
    leaves = [n.leaf for n in result.nodes if n.leaf]
    parents: dict[str, int] = {}
    for node in result.nodes:
        for i in node.next:
            if i is not None:
                parents[i] = parents.get(i, 0) + 1
    shared = [n for n in result.nodes if parents.get(n.id, 0) > 1]
    lines = [
        result.expression,
        f"  {len(result.nodes)} nodes, root {result.grad_fn}, leaves: "
        + (", ".join(leaves) if leaves else "none"),
    ]
    if shared:
        lines.append(
            "  shared (gradients from several paths add up here): "
            + ", ".join(f"{n.id} {node_label(n)} ({parents[n.id]} parents)" for n in shared)
        )
    layout = layout_graph(result.nodes)
    lines.append("")
    if layout.refused:
        lines.append(f"no drawing: {layout.refused}")
    lines.extend(line.rstrip() for line in layout.lines)
    lines.append("")
    lines.append("nodes (next_functions in torch's order; None: no gradient needed):")
    lines.extend(_node_list(result.nodes))
    return "\n".join(lines)


def index_text(flat: int, shape: Sequence[int]) -> str:
    """Row-major flat index → ``[i, j]`` (``[]`` for a 0-d tensor)."""
    parts = []
    for size in reversed(shape):
        parts.append(flat % size if size else 0)
        flat = flat // size if size else 0
    return "[" + ", ".join(str(p) for p in reversed(parts)) + "]"


def number_text(x: float) -> str:
    """A J entry as the reports print it (4 significant digits)."""
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _block_lines(block: JacobianBlock, v: Sequence[float]) -> list[str]:
    rows = [f"out{index_text(i, block.output_shape)}" for i in range(len(block.matrix))]
    cols = [f"{block.name}{index_text(j, block.input_shape)}" for j in range(len(block.matrix[0]))]
    cells = [[number_text(x) for x in row] for row in block.matrix]
    grad = [number_text(x) for x in block.grad] if block.grad is not None else None
    width = max(
        [len(c) for c in cols]
        + [len(c) for row in cells for c in row]
        + ([len(g) for g in grad] if grad else [])
    )
    label = max([len(r) for r in rows] + [len(f"{block.name}.grad"), 2])
    v_cells = [number_text(x) for x in v]
    vw = max(len(GRAD_OUTPUT), *(len(c) for c in v_cells))
    head = " " * (label + 4) + "  ".join(c.rjust(width) for c in cols)
    lines = [
        f"J = ∂out/∂{block.name}: {len(rows)} x {len(cols)} "
        f"(output {list(block.output_shape)}, {block.name} {list(block.input_shape)})",
        head + "  " + GRAD_OUTPUT.rjust(vw),
    ]
    for i, row in enumerate(cells):
        mark = "▸ " if v[i] != 0 else "  "
        lines.append(
            f"{mark}{rows[i].ljust(label)}  "
            + "  ".join(c.rjust(width) for c in row)
            + "  "
            + v_cells[i].rjust(vw)
        )
    if grad is None:
        lines.append(f"  {(block.name + '.grad').ljust(label)}  None (no gradient reached it)")
    else:
        lines.append(
            f"  {(block.name + '.grad').ljust(label)}  " + "  ".join(g.rjust(width) for g in grad)
        )
    return lines


def vjp_difference(
    matrix: Sequence[Sequence[float]], grad: Sequence[float] | None, v: Sequence[float]
) -> float | None:
    """The largest difference between vᵀJ, worked out here, and torch's ``.grad``."""
    if grad is None:
        return None
    worst = 0.0
    for j, g in enumerate(grad):
        combined = math.fsum(v[i] * matrix[i][j] for i in range(len(v)))
        if math.isnan(combined) or math.isnan(g):
            if math.isnan(combined) != math.isnan(g):
                worst = math.inf
            continue
        worst = max(worst, abs(combined - g) if combined != g else 0.0)
    return worst


def _check(block: JacobianBlock, v: Sequence[float]) -> str | None:
    """Whether vᵀJ, worked out here from the two, matches torch's ``.grad``."""
    worst = vjp_difference(block.matrix, block.grad, v)
    if worst is None:
        return None
    return f"  vᵀJ, worked out here from J and v, against {block.name}.grad: largest difference {worst:.3g}"


def format_jacobian(result: JacobianResult) -> str:
    """The text report of ``gradtui jacobian``: each input's J with ``v`` and ``.grad``."""
    lines = [
        result.expression,
        f"  output shape {list(result.output_shape)}; rows marked ▸ are those v combines "
        f"(v ≠ 0): {GRAD_OUTPUT}ᵀJ = input.grad",
    ]
    for block in result.blocks.values():
        lines.append("")
        lines.extend(_block_lines(block, result.grad_output))
        check = _check(block, result.grad_output)
        if check:
            lines.append(check)
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def format_hvp(result: HvpResult) -> str:
    """The text report of ``gradtui hvp``: u, the gradient, the second backward, H·u."""
    lines = [f"{result.expression}: H·u by double backward"]
    for name, value in result.inputs.items():
        lines.append(f"  {name:<8} = {format_value(value.value)}")
        lines.append(f"  u for {name:<2} = {format_value(result.vectors[name].value)}")
    lines.append("")
    lines.append("first backward (create_graph=True), the gradient g:")
    for name, g in result.gradient.items():
        lines.append(f"  g[{name}] = {format_value(g.value) if g is not None else 'None'}")
    if result.steps:
        lines.append("")
        lines.append("second backward of g with upstream u, in the engine's order:")
        lines.extend(format_steps(result.steps))
    lines.append("")
    lines.append("H·u (the inputs' .grad after the second backward):")
    for name, h in result.hvp.items():
        lines.append(f"  {name}: {format_value(h.value) if h is not None else 'None'}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
