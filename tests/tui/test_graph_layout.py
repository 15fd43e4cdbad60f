"""The drawn backward DAG against torch's own graph.

Each graph here is built by the engine from a real torch computation, and checked
against torch's ``next_functions`` walk of the same computation (``tests/ops/test_graph``
checks the engine's nodes are that walk). The drawing is then read back the way a person
reads it: from each box, the lines leaving its bottom edge are followed down (straight
through a crossing ``┼``, along every branch elsewhere) to the boxes they reach, and those
must be exactly the node's children in torch's graph.
"""

from __future__ import annotations

import random

import pytest
import torch

from gradtui.ops.backward import describe_graph
from gradtui.ops.graph import graph
from gradtui.ops.results import GraphNode
from gradtui.tui.graph_layout import MAX_CELLS, layout_graph, node_label
from gradtui.tui.report_graph import format_graph

_U, _D, _L, _R = "U", "D", "L", "R"
_CONN = {
    "│": {_U, _D},
    "─": {_L, _R},
    "┌": {_D, _R},
    "┐": {_D, _L},
    "└": {_U, _R},
    "┘": {_U, _L},
    "├": {_U, _D, _R},
    "┤": {_U, _D, _L},
    "┬": {_L, _R, _D},
    "┴": {_L, _R, _U},
    "┼": {_U, _D, _L, _R},
}
_STEP = {_D: (1, 0), _L: (0, -1), _R: (0, 1)}
_BACK = {_D: _U, _L: _R, _R: _L}

EXPRESSIONS = [
    "x * exp(-x) + sin(x) * w",  # branches, x shared by three paths, two leaves
    "(x + w) * (x - w) * x",  # crossings, two shared leaves
    "x * x * x * x * x",  # one leaf, every layer
    "exp(sin(x) * cos(x)) + sin(x)",  # two calls of sin: two nodes, x under three paths
    "log(1 + exp(x)) * 3 + tanh(x * w + b)",  # None entries (constants), three leaves
    "softmax",
    "cov",  # shared interior nodes (SubBackward0, ViewBackward0)
]


def _reached(layout, node_id: str, owner=None) -> set[str]:  # noqa: ANN001
    """The boxes the lines leaving ``node_id``'s box lead to (``owner(row, col)``: the
    node whose box covers a cell; the layout's own lookup unless given)."""
    owner = owner or layout.node_at
    lines = layout.lines
    box = layout.boxes[node_id]
    bottom = box.row + box.height - 1
    todo = [
        (bottom + 1, c, _D) for c in range(box.col, box.col + box.width) if lines[bottom][c] == "┬"
    ]
    seen: set[tuple[int, int, str]] = set()
    reached: set[str] = set()
    while todo:
        r, c, moving = todo.pop()
        if (r, c, moving) in seen or not (0 <= r < len(lines) and 0 <= c < len(lines[r])):
            continue
        seen.add((r, c, moving))
        hit = owner(r, c)
        if hit is not None:
            assert moving == _D, f"a line runs into the side of {hit}'s box"
            reached.add(hit)
            continue
        conn = _CONN.get(lines[r][c])
        assert conn is not None and _BACK[moving] in conn, (
            f"the line from {node_id} breaks at row {r}, column {c}: {lines[r][c]!r}"
        )
        ways = [moving] if lines[r][c] == "┼" else sorted(conn - {_U, _BACK[moving]})
        for way in ways:
            dr, dc = _STEP[way]
            todo.append((r + dr, c + dc, way))
    return reached


@pytest.mark.parametrize("target", EXPRESSIONS)
def test_the_drawing_reads_back_as_torchs_graph(target: str) -> None:
    nodes = graph(target, {}).nodes
    layout = layout_graph(nodes)
    assert not layout.refused
    assert set(layout.boxes) == {n.id for n in nodes}  # every node, each once
    by_id = {n.id: n for n in nodes}
    for n in nodes:
        box = layout.boxes[n.id]
        assert layout.lines[box.row + 1][box.col : box.col + box.width].strip("│ ") == (
            node_label(n)
        )
        children = {c for c in n.next if c is not None}
        assert _reached(layout, n.id) == children, n.id
        for c in children:  # a parent above each of its children
            assert box.row < layout.boxes[c].row
    assert layout.edges == sum(c is not None for n in nodes for c in n.next)
    text = "\n".join(layout.lines)
    for n in nodes:  # a shared node is drawn once, however many parents it has
        if n.leaf:
            assert text.count(node_label(n)) == 1
    assert len(by_id) == len(nodes)


def test_boxes_do_not_overlap_and_lines_are_one_width() -> None:
    layout = layout_graph(graph("(x + w) * (x - w) * x", {}).nodes)
    assert {len(line) for line in layout.lines} == {layout.width}
    cells: set[tuple[int, int]] = set()
    for box in layout.boxes.values():
        mine = {
            (r, c)
            for r in range(box.row, box.row + box.height)
            for c in range(box.col, box.col + box.width)
        }
        assert not mine & cells
        cells |= mine


def _chain(n: int, *, shared_leaf: bool) -> tuple[GraphNode, ...]:
    """A chain of ``n`` adds (the graph of ``x + x + ... + x`` when the leaf is shared)."""
    leaf = f"n{n}"
    nodes = [
        GraphNode(f"n{i}", "AddBackward0", (f"n{i + 1}", leaf if shared_leaf else None), None)
        for i in range(n)
    ]
    nodes[-1] = GraphNode(f"n{n - 1}", "AddBackward0", (leaf, leaf if shared_leaf else None), None)
    return (*nodes, GraphNode(leaf, "AccumulateGrad", (), "x"))


@pytest.mark.parametrize("shared_leaf", [False, True])
def test_five_hundred_nodes_are_drawn_and_read_back(shared_leaf: bool) -> None:
    nodes = _chain(520, shared_leaf=shared_leaf)
    layout = layout_graph(nodes)
    assert not layout.refused
    assert len(layout.boxes) == 521
    # A leaf that every node uses is drawn once, fed by one line down the side: the
    # drawing stays as narrow as a plain chain's plus that line.
    assert layout.width < 40
    for n in nodes[::37]:
        assert _reached(layout, n.id) == {c for c in n.next if c is not None}


def test_a_real_five_hundred_node_torch_graph() -> None:
    """``sin(x) * x + ...`` 170 times: 510 nodes from torch, x shared by 340 of them."""
    nodes = graph(" + ".join(["sin(x) * x"] * 170), {}).nodes
    assert len(nodes) >= 500
    layout = layout_graph(nodes)
    assert not layout.refused
    assert set(layout.boxes) == {n.id for n in nodes}
    assert layout.width <= 80  # three columns of boxes and x's line down the side
    for n in nodes[::17]:
        assert _reached(layout, n.id) == {c for c in n.next if c is not None}


def test_a_drawing_too_big_is_refused_with_its_size() -> None:
    wide = (
        GraphNode("n0", "CatBackward0", tuple(f"n{i}" for i in range(1, 401)), None),
        *(GraphNode(f"n{i}", "AccumulateGrad", (), f"x{i}") for i in range(1, 401)),
    )
    full = layout_graph(wide)
    assert len(full.boxes) == 401
    cells = full.width * full.height
    assert full.edges == 400
    assert not layout_graph(wide, max_cells=cells).refused
    refused = layout_graph(wide, max_cells=cells - 1)
    assert refused.refused == (
        f"the drawing would be {full.width:,} × {full.height:,} characters; "
        f"at most {cells - 1:,} are drawn"
    )
    assert refused.lines == ()
    assert MAX_CELLS >= 1_000_000


def test_the_cli_text_prints_the_drawing_above_the_node_list() -> None:
    result = graph("x * exp(-x) + sin(x) * w", {})
    text = format_graph(result)
    drawing = [line.rstrip() for line in layout_graph(result.nodes).lines]
    lines = text.splitlines()
    start = lines.index(drawing[0])
    assert lines[start : start + len(drawing)] == drawing
    assert lines.index("nodes (next_functions in torch's order; None: no gradient needed):") > (
        start + len(drawing) - 1
    )


def _torch_nodes(out: torch.Tensor, leaves: dict[str, torch.Tensor]) -> tuple[GraphNode, ...]:
    """The graph of ``out`` by torch's own ``next_functions`` walk, as GraphNodes."""
    nodes, seen, stack = [], set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes.append(fn)
        stack.extend(f for f, _ in reversed(fn.next_functions))
    return describe_graph(nodes, leaves)


def _owner(layout):  # noqa: ANN001, ANN202
    """A cell -> node lookup built once (the layout's own scans every box per cell)."""
    cells = {
        (r, c): node_id
        for node_id, box in layout.boxes.items()
        for r in range(box.row, box.row + box.height)
        for c in range(box.col, box.col + box.width)
    }
    return lambda r, c: cells.get((r, c))


def test_five_hundred_parents_of_one_leaf_share_one_line_into_it() -> None:
    """``stack`` of 500 ``sin(x)``: 500 boxes in one layer, each with one line down to x.
    Lines into one node join one run, so the band is a few rows, not one per parent."""
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    nodes = _torch_nodes(torch.stack([x.sin() for _ in range(500)]), {"x": x})
    assert len(nodes) == 502
    layout = layout_graph(nodes)
    assert not layout.refused and set(layout.boxes) == {n.id for n in nodes}
    leaf = next(n.id for n in nodes if n.leaf == "x")
    assert layout.height <= 3 * 3 + 2 * 4  # three layers, two bands of at most 4 rows
    owner = _owner(layout)
    for n in nodes[1:-1:50]:
        assert _reached(layout, n.id, owner) == {leaf}


def test_nodes_sharing_their_parents_do_not_drift_right() -> None:
    """``a, b = a * b, a + b`` 125 times: every layer is two boxes fed by both boxes
    above. Packing pushes the second box right; the layer moves back, so the drawing
    stays as wide as a few boxes however deep the graph is."""
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    a, b = x.sin(), x.cos()
    for _ in range(125):
        a, b = a * b, a + b
    nodes = _torch_nodes(a + b, {"x": x})
    layout = layout_graph(nodes)
    assert not layout.refused and set(layout.boxes) == {n.id for n in nodes}
    assert layout.width < 3 * max(box.width for box in layout.boxes.values())
    owner = _owner(layout)
    for n in nodes[::23]:
        assert _reached(layout, n.id, owner) == {c for c in n.next if c is not None}


def _skips(n: int) -> tuple[GraphNode, ...]:
    """A chain whose every node also feeds a leaf of its own at the bottom: edge i skips
    n - i layers, and the slots they need grow as n² (none is shared)."""
    nodes = [GraphNode(f"n{i}", "AddBackward0", (f"n{i + 1}", f"l{i}"), None) for i in range(n)]
    nodes[-1] = GraphNode(f"n{n - 1}", "CatBackward0", tuple(f"l{i}" for i in range(n)), None)
    return (*nodes, *(GraphNode(f"l{i}", "AccumulateGrad", (), f"x{i}") for i in range(n)))


def test_a_drawing_too_big_is_refused_before_its_edges_are_routed() -> None:
    big = layout_graph(_skips(600))
    assert big.refused.startswith("the drawing would be at least ")
    assert big.lines == () and big.boxes == {}
    assert big.edges == 3 * 600 - 2  # 599 down the chain, 599 + 600 into the leaves
    # The early estimate never refuses a drawing that fits: a small one, given exactly
    # its own size, is drawn.
    small = layout_graph(_skips(30))
    assert not small.refused
    assert not layout_graph(_skips(30), max_cells=small.width * small.height).refused
    owner = _owner(small)
    for node in _skips(30)[:30:7]:
        assert _reached(small, node.id, owner) == {c for c in node.next if c is not None}


def _random_dag(seed: int) -> tuple[GraphNode, ...]:
    """A seeded random DAG in the engine's form: root first, every node reachable, up to
    three entries in ``next`` (some ``None``, some repeated), nodes without one leaves."""
    rng = random.Random(seed)
    n = rng.randint(3, 30)
    nodes: list[GraphNode] = []
    for i in range(n):
        later = [f"n{j}" for j in range(i + 1, n)]
        nxt = tuple(rng.choice([None, *later]) for _ in range(rng.choice([0, 1, 1, 2, 2, 3])))
        nxt = nxt if later else ()
        if i and not any(f"n{i}" in node.next for node in nodes):  # reachable from n0
            p = rng.randrange(len(nodes))
            nodes[p] = GraphNode(nodes[p].id, nodes[p].name, (*nodes[p].next, f"n{i}"), None)
        if any(c is not None for c in nxt):
            nodes.append(
                GraphNode(f"n{i}", rng.choice(["MulBackward0", "SinBackward0"]), nxt, None)
            )
        else:
            nodes.append(GraphNode(f"n{i}", "AccumulateGrad", (), f"x{i}"))
    return tuple(nodes)


@pytest.mark.parametrize("first", range(0, 300, 50))
def test_random_graphs_read_back_edge_for_edge(first: int) -> None:
    """Lines of different edges never run together: in 300 seeded random DAGs, following
    the lines from every box reaches exactly that node's children. (Before a slot kept
    off the columns lines leave the layer above at, and before a run met a straight line
    in ├/┤ rather than ┼, about one graph in four here misread.)"""
    for seed in range(first, first + 50):
        nodes = _random_dag(seed)
        layout = layout_graph(nodes)
        owner = _owner(layout)
        for n in nodes:
            assert _reached(layout, n.id, owner) == {c for c in n.next if c is not None}, (
                f"seed {seed}, node {n.id}"
            )
