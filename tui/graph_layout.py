"""The backward DAG laid out as text: one box per node, edges drawn with box characters.

A pure function of the engine's :class:`~gradtui.ops.results.GraphNode` tuple, shared by
``gradtui graph`` (which prints the lines) and the app's graph view (which styles the
boxes it is told about). The layout is a small layered drawing:

* a node's layer is its longest path from the root, so a shared node (a leaf used
  three times) sits below every parent and is drawn once, with an edge from each;
* an edge that skips layers runs down through them as a vertical line in a slot of its
  own, so it never crosses a box (edges into one node share its slots);
* within a layer, nodes follow their parents' mean column (one sweep down), are packed
  left to right, and the layer moves back left by its mean push (no drift to the right);
  a slot keeps off the columns lines leave the layer above at;
* between two layers, the lines that move sideways get horizontal tracks: a fan-out (one
  exit, several entries) shares one, so does a fan-in (several single-line exits into
  one column, which is one node); no other two lines share a run. Where lines join, the
  cell's character joins them (``┬ ┴ ├ ┤``); ``┼`` is always a crossing.

So the lines read back as the graph: following them down from a box reaches exactly its
children (the tests do this for torch graphs and for random DAGs). ``None`` entries of
``next_functions`` (no gradient needed) are not drawn; the node list under the drawing
names them. Cost is linear in the cells drawn; a drawing past :data:`MAX_CELLS` is
refused with the reason (found before any edge is routed), and the caller shows the
node list alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from gradtui.ops.results import GraphNode

__all__ = ["MAX_CELLS", "Box", "GraphLayout", "layout_graph", "node_label"]

MAX_CELLS = 6_000_000
"""The largest drawing (width × height characters) laid out; about 12 MB of text."""

_GAP = 2  # columns between two items of a layer
_BOX_ROWS = 3

# Connection bits of a cell: up, down, left, right.
_U, _D, _L, _R = 1, 2, 4, 8
_CHARS = {
    0: " ",
    _U: "│",
    _D: "│",
    _U | _D: "│",
    _L: "─",
    _R: "─",
    _L | _R: "─",
    _D | _R: "┌",
    _D | _L: "┐",
    _U | _R: "└",
    _U | _L: "┘",
    _U | _D | _R: "├",
    _U | _D | _L: "┤",
    _L | _R | _D: "┬",
    _L | _R | _U: "┴",
    _U | _D | _L | _R: "┼",
}


def node_label(node: GraphNode) -> str:
    """A node as the drawing and the list name it: ``AccumulateGrad (x)`` for a leaf."""
    return f"{node.name} ({node.leaf})" if node.leaf else node.name


@dataclass(frozen=True)
class Box:
    """Where a node's box is: its top-left cell and its size, in characters."""

    row: int
    col: int
    width: int
    height: int = _BOX_ROWS

    def contains(self, row: int, col: int) -> bool:
        """Whether the cell (``row``, ``col``) is on this box."""
        return self.row <= row < self.row + self.height and self.col <= col < self.col + self.width


@dataclass(frozen=True)
class GraphLayout:
    """The drawing (:attr:`lines`, every one :attr:`width` wide) and where each node is."""

    lines: tuple[str, ...]
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: int = 0
    """How many edges are drawn (one per non-``None`` entry of ``next_functions``)."""
    refused: str = ""
    """Why there is no drawing (too big), or ``""``."""

    @property
    def width(self) -> int:
        """Columns of the drawing."""
        return len(self.lines[0]) if self.lines else 0

    @property
    def height(self) -> int:
        """Rows of the drawing."""
        return len(self.lines)

    def node_at(self, row: int, col: int) -> str | None:
        """The id of the node whose box covers (``row``, ``col``), if any."""
        for node_id, box in self.boxes.items():
            if box.contains(row, col):
                return node_id
        return None


@dataclass
class _Item:
    """A node's box, or a one-column slot an edge passes through on a layer it skips."""

    node: str | None  # None for a pass-through slot
    width: int
    order: float = 0.0
    x: int = 0
    parents: list[_Item] = field(default_factory=list)

    @property
    def centre(self) -> float:
        return self.x + (self.width - 1) / 2


def _layers(nodes: Sequence[GraphNode]) -> dict[str, int]:
    """Each node's longest-path depth from the root (the nodes are a DAG)."""
    ids = [n.id for n in nodes]
    children = {n.id: [c for c in n.next if c is not None] for n in nodes}
    indegree = dict.fromkeys(ids, 0)
    for n in nodes:
        for c in children[n.id]:
            indegree[c] += 1
    depth = dict.fromkeys(ids, 0)
    ready = [i for i in ids if indegree[i] == 0]
    while ready:
        cur = ready.pop()
        for c in children[cur]:
            depth[c] = max(depth[c], depth[cur] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return depth


def _spread(item: _Item, n: int) -> list[int]:
    """``n`` columns spread evenly over ``item``'s inner width (its only column for a slot;
    its middle one when there are more than its width: the lines fan out from one)."""
    if item.width == 1:
        return [item.x] * n
    if n > item.width - 2:
        return [item.x + (item.width - 1) // 2] * n
    inner = item.width - 2
    return [item.x + 1 + (inner * (2 * j + 1)) // (2 * n) for j in range(n)]


def _free(col: int, item: _Item, taken: set[int], used: set[int], source: int) -> int:
    """The column of ``item``'s inner width nearest ``col`` that is neither ``taken`` nor
    ``used`` (its own edge's exit column ``source`` is always free: the line runs straight
    down)."""
    lo, hi = item.x + 1, item.x + item.width - 2
    for step in range(item.width):
        for c in (col - step, col + step):
            if lo <= c <= hi and (c == source or (c not in taken and c not in used)):
                return c
    return col


def _pack(layer: list[_Item], centred: bool) -> None:
    """Place ``layer``'s items left to right, ``_GAP`` apart, each as near as it can be to
    the column its parents' lines come down at (``order``; ``centred`` off: just packed
    from the left edge). Nearest in least squares, by pooling adjacent violators: pushing
    only rightwards would let two nodes that share their parents drift right a little
    more on every layer, and moving the whole layer back would pull a straight line
    sideways. Linear in the items."""
    offsets, end = [], 0
    for item in layer:
        offsets.append(end)
        end += item.width + _GAP
    pools: list[list[float]] = []  # [sum of targets, count], means increasing
    for item, offset in zip(layer, offsets, strict=True):
        want = item.order - (item.width - 1) / 2 if centred else 0.0
        pools.append([want - offset, 1])
        while len(pools) > 1 and pools[-2][0] * pools[-1][1] > pools[-1][0] * pools[-2][1]:
            total, count = pools.pop()
            pools[-1][0] += total
            pools[-1][1] += count
    k = 0
    for total, count in pools:
        y = max(0, round(total / count))
        for _ in range(int(count)):
            layer[k].x = y + offsets[k]
            k += 1


def _too_big(
    nodes: Sequence[GraphNode], depth: dict[str, int], layers: list[list[_Item]], max_cells: int
) -> str:
    """Why the drawing would be past ``max_cells``, found before any edge is routed (or
    ``""``). An edge that skips layers puts a slot on each, and edges to distinct nodes
    that skip the same layers do not share them, so the slots alone can be quadratic in
    the nodes; counting them first keeps the refusal of such a graph linear."""
    n_layers = len(layers)
    top: dict[str, int] = {}  # each node's shallowest parent's depth
    for n in nodes:
        for c in n.next:
            if c is not None:
                top[c] = min(top.get(c, depth[n.id]), depth[n.id])
    starts = [0] * (n_layers + 1)  # slots per layer, as a difference array
    for c, d in top.items():  # a node's slots: every layer between it and that parent
        if depth[c] - d > 1:
            starts[d + 1] += 1
            starts[depth[c]] -= 1
    widest, slots = 0, 0
    for d, layer in enumerate(layers):
        slots += starts[d]
        items = len(layer) + slots
        widest = max(widest, sum(it.width for it in layer) + slots + _GAP * (items - 1))
    tallest = n_layers * _BOX_ROWS + (n_layers - 1) * 2
    if widest * tallest <= max_cells:
        return ""
    return (
        f"the drawing would be at least {widest:,} × {tallest:,} characters; "
        f"at most {max_cells:,} are drawn"
    )


def layout_graph(nodes: Sequence[GraphNode], *, max_cells: int = MAX_CELLS) -> GraphLayout:
    """Lay out ``nodes`` (root first); an empty graph gives an empty layout. A drawing of
    more than ``max_cells`` characters is refused (:attr:`GraphLayout.refused` says why)."""
    if not nodes:
        return GraphLayout(lines=())
    by_id = {n.id: n for n in nodes}
    depth = _layers(nodes)
    n_layers = max(depth.values()) + 1
    layers: list[list[_Item]] = [[] for _ in range(n_layers)]
    item_of: dict[str, _Item] = {}
    for n in nodes:  # DFS order, root first: a stable first guess at left-to-right order
        item = _Item(n.id, len(node_label(n)) + 4, order=len(layers[depth[n.id]]))
        layers[depth[n.id]].append(item)
        item_of[n.id] = item
    refused = _too_big(nodes, depth, layers, max_cells)
    if refused:
        edges = sum(c is not None for n in nodes for c in n.next)
        return GraphLayout(lines=(), edges=edges, refused=refused)
    # Edges, as chains of items one layer apart: an edge that skips layers runs through a
    # one-column slot on each. Edges into the same node share its slots (they join the one
    # line into it, as their gradients add up there), so a leaf used by every node of a
    # long chain costs one slot per layer, not one per edge and layer.
    links: list[tuple[_Item, _Item]] = []
    seen: set[tuple[int, int]] = set()
    slot_of: dict[tuple[str, int], _Item] = {}
    edges = 0

    def link(upper: _Item, lower: _Item) -> None:
        if (id(upper), id(lower)) not in seen:
            seen.add((id(upper), id(lower)))
            links.append((upper, lower))

    for n in nodes:
        for c in n.next:
            if c is None:
                continue
            edges += 1
            upper = item_of[n.id]
            for d in range(depth[n.id] + 1, depth[c]):
                slot = slot_of.get((c, d))
                if slot is not None:  # the line from here down to c is drawn already
                    link(upper, slot)
                    break
                slot = slot_of[c, d] = _Item(None, 1, order=len(layers[d]))
                layers[d].append(slot)
                link(upper, slot)
                upper = slot
            else:
                link(upper, item_of[c])
    for upper, lower in links:
        lower.parents.append(upper)
    # Each item's links down (in ``next_functions`` order) and up.
    outgoing: dict[int, list[int]] = {}
    incoming: dict[int, list[int]] = {}
    for k, (upper, lower) in enumerate(links):
        outgoing.setdefault(id(upper), []).append(k)
        incoming.setdefault(id(lower), []).append(k)
    # Layer by layer: order the items by the mean column their edges leave the layer above
    # at, place each under that column, then spread its own exits over its bottom edge.
    exits: dict[int, int] = {}
    above: set[int] = set()  # the columns edges leave the layer above at
    for d, layer in enumerate(layers):
        if d:
            for item in layer:
                ks = incoming[id(item)]
                item.order = sum(exits[k] for k in ks) / len(ks)
            layer.sort(key=lambda it: it.order)
        _pack(layer, d > 0)
        end = 0
        below: set[int] = set()
        for item in layer:
            x = max(item.x, end)
            if item.node is None:
                # A slot enters at its one column: not one another line leaves the layer
                # above at (the two would run down one column and read as one line).
                own = {exits[k] for k in incoming[id(item)]}
                while x in above and x not in own:
                    x += 1
            item.x = x
            end = x + item.width + _GAP
            for k, col in zip(
                outgoing.get(id(item), ()),
                _spread(item, len(outgoing.get(id(item), ()))),
                strict=True,
            ):
                exits[k] = col
                below.add(col)
        above = below
    # Entries: spread over the top edge in the order the edges come from, each moved off
    # any column an edge of the same band leaves from (two lines would merge there).
    depth_of = {id(it): d for d, layer in enumerate(layers) for it in layer}
    band_exits: list[set[int]] = [set() for _ in range(n_layers)]
    for k, (upper, _lower) in enumerate(links):
        band_exits[depth_of[id(upper)]].add(exits[k])
    entries: dict[int, int] = {}
    for layer in layers[1:]:
        for item in layer:
            ks = sorted(incoming[id(item)], key=lambda k: exits[k])
            taken = band_exits[depth_of[id(item)] - 1]
            used: set[int] = set()
            crowded = item.width > 1 and len(ks) > item.width - 2
            if crowded:  # more lines than columns: they all enter at one, off the exits
                one = _free(_spread(item, 1)[0], item, taken, used, -1)
            for k, col in zip(ks, _spread(item, len(ks)), strict=True):
                if crowded:
                    col = one
                elif item.width > 1 and exits[k] != col:
                    col = _free(col, item, taken, used, exits[k])
                entries[k] = col
                used.add(col)
    bands: list[list[tuple[int, int, int, int]]] = [[] for _ in range(n_layers)]
    for k, (upper, _lower) in enumerate(links):
        bands[depth_of[id(upper)]].append((k, exits[k], entries[k], 0))
    band_rows: list[int] = []
    band_runs: list[list[tuple[int, int, int]]] = []  # (track, first column, last column)
    for d in range(n_layers):
        # The edges leaving one column share a track (a fan-out: one run, a drop to each).
        # So do the edges entering one column when each is its exit's only edge and every
        # edge into that column is such an edge (a fan-in: a drop from each, one run into
        # the node, whose gradients add up there anyway): 500 nodes feeding one leaf cost
        # one track, not 500. A line that both fans out and joins a fan-in keeps a track
        # of its own, so no run ever leads from one parent into another's children.
        leaving: dict[int, int] = {}
        for _k, a, _b, _ in bands[d]:
            leaving[a] = leaving.get(a, 0) + 1
        joins: dict[int, bool] = {}  # entry column -> whether its edges may share a track
        for _k, a, b, _ in bands[d]:
            joins[b] = joins.get(b, True) and (a == b or leaving[a] == 1)
        # Where a line runs straight down through the column a run turns at, runs to both
        # sides would meet it in a ┼, which reads as a crossing: each side gets its own
        # track there, and meets the line in a ├ or a ┤.
        straight = {a for _k, a, b, _ in bands[d] if a == b}
        groups: dict[tuple[bool, int, int], list[tuple[int, int, int]]] = {}
        for k, a, b, _ in bands[d]:
            fan_in = a != b and joins[b]
            here, there = (b, a) if fan_in else (a, b)
            side = (there > here) - (there < here) if here in straight else 0
            groups.setdefault((fan_in, here, side), []).append((k, a, b))
        spans = []
        for key, members in groups.items():
            cols = [c for _k, a, b in members for c in (a, b)]
            if min(cols) < max(cols):
                spans.append((min(cols), max(cols), key))
        # First fit: each span (by its left end) takes the lowest track free by then. A
        # track freed for one span stays free for the next (they start further right), so
        # two heaps find it without scanning every track.
        track_of: dict[tuple[bool, int, int], int] = {}
        busy: list[tuple[int, int]] = []  # (last column used, track)
        idle: list[int] = []  # free tracks
        tracks = 0
        for lo, hi, key in sorted(spans):
            while busy and busy[0][0] < lo - 1:
                heapq.heappush(idle, heapq.heappop(busy)[1])
            if idle:
                t = heapq.heappop(idle)
            else:
                t, tracks = tracks, tracks + 1
            heapq.heappush(busy, (hi, t))
            track_of[key] = t
        assigned = [
            (k, a, b, -1 if a == b else track_of[key])
            for key, ms in groups.items()
            for k, a, b in ms
        ]
        bands[d] = assigned
        band_runs.append([(track_of[key], lo, hi) for lo, hi, key in spans])
        band_rows.append(tracks + 2 if d < n_layers - 1 else 0)
    width = max((it.x + it.width for layer in layers for it in layer), default=0)
    height = sum(_BOX_ROWS + r for r in band_rows)
    if width * height > max_cells:
        return GraphLayout(
            lines=(),
            edges=edges,
            refused=f"the drawing would be {width:,} × {height:,} characters; "
            f"at most {max_cells:,} are drawn",
        )
    bits = [bytearray(width) for _ in range(height)]
    labels: dict[int, list[tuple[int, str]]] = {}
    boxes: dict[str, Box] = {}
    row = 0
    for d, layer in enumerate(layers):
        for item in layer:
            x = item.x
            if item.node is None:  # an edge passing through this layer
                for r in range(row, row + _BOX_ROWS):
                    bits[r][x] |= _U | _D
                continue
            label = node_label(by_id[item.node])
            w = item.width
            boxes[item.node] = Box(row, x, w)
            top, mid, bot = bits[row], bits[row + 1], bits[row + 2]
            top[x] |= _D | _R
            top[x + w - 1] |= _D | _L
            bot[x] |= _U | _R
            bot[x + w - 1] |= _U | _L
            for c in range(x + 1, x + w - 1):
                top[c] |= _L | _R
                bot[c] |= _L | _R
            mid[x] |= _U | _D
            mid[x + w - 1] |= _U | _D
            labels.setdefault(row + 1, []).append((x + 1, f" {label} "))
        # The band under this layer.
        band = row + _BOX_ROWS
        last = band + band_rows[d] - 1
        # Each line is drawn once however many edges share it (a fan-out's run, several
        # edges entering one column): the cost is the cells drawn, not edges × width.
        turns: dict[int, int] = {}  # exit column -> its track's row
        drops: set[tuple[int, int]] = set()  # (column, first row) of each line down
        for _k, a, b, t in bands[d]:
            bits[last + 1][b] |= _U  # enters the box's top edge (or a slot) from above
            if t < 0:
                drops.add((a, band))
                continue
            turn = band + 1 + t
            turns[a] = max(turn, turns.get(a, turn))
            bits[turn][a] |= _U
            bits[turn][b] |= _D
            drops.add((b, turn + 1))
        for a in {a for _k, a, _b, _t in bands[d]}:
            bits[band - 1][a] |= _D  # leaves the box's bottom edge (or a slot) downwards
        for a, turn in turns.items():
            for r in range(band, turn):
                bits[r][a] |= _U | _D
        for t, lo, hi in band_runs[d]:
            run = bits[band + 1 + t]
            run[lo] |= _R
            for c in range(lo + 1, hi):
                run[c] |= _L | _R
            run[hi] |= _L
        for c, first in drops:
            for r in range(first, last + 1):
                bits[r][c] |= _U | _D
        row = last + 1
    lines = []
    for r in range(height):
        chars = [_CHARS[v] for v in bits[r]]
        for c, label in labels.get(r, ()):
            chars[c : c + len(label)] = label
        lines.append("".join(chars))
    return GraphLayout(lines=tuple(lines), boxes=boxes, edges=edges)
