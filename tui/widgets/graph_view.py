"""The backward DAG as a drawing the stepper can show instead of its list (``g``).

The drawing comes from :func:`gradtui.tui.graph_layout.layout_graph`; this widget only
styles it: the node the current step runs in reverse and bold, the nodes already run dim
with a ``✓``. Moving through the steps restyles the lines on screen and scrolls the
current node into view; it never lays the graph out again. The widget scrolls and pans
(arrows, Page Up/Down, Home/End, the mouse wheel, shift+wheel); clicking a node makes
its step the current one.

Only the visible rows are rendered (the Line API), so a drawing thousands of rows long
costs what one screenful costs. Graphs past :data:`WORKER_NODES` nodes are laid out in a
thread, so the app never waits on a layout; the last few layouts are kept.
"""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gradtui.ops.results import GraphNode
from gradtui.tui.graph_layout import GraphLayout, layout_graph

__all__ = ["WORKER_NODES", "GraphView", "cached_layout", "legend"]

WORKER_NODES = 120
"""Graphs with more nodes than this are laid out off the UI thread."""

_CACHE: OrderedDict[tuple[GraphNode, ...], GraphLayout] = OrderedDict()
_CACHE_SIZE = 8

CURRENT = Style(reverse=True, bold=True)
DONE = Style(dim=True)
DONE_MARK = "✓"


def cached_layout(nodes: Sequence[GraphNode]) -> GraphLayout:
    """:func:`layout_graph`, remembering the last few graphs (stepping back to an op, or
    the same graph with new numbers, lays nothing out again)."""
    key = tuple(nodes)
    layout = _CACHE.get(key)
    if layout is None:
        layout = layout_graph(key)
        _CACHE[key] = layout
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return layout


def legend(total: int, done: int) -> Text:
    """The one line above the drawing: what the marks mean, and how far the pass is."""
    # 60 columns up to 99 nodes: the whole legend fits the stepper's width at 80x24.
    text = Text()
    text.append(" current ", style="reverse bold")
    text.append(" ")
    text.append(f"{DONE_MARK} run", style="dim")
    text.append("  to run", style="")
    text.append(f"  {done}/{total} run · arrows pan · click node", style="dim")
    return text


class GraphView(ScrollView, can_focus=True):
    """The drawing, with the current node and the nodes already run marked."""

    DEFAULT_CSS = """
    GraphView { width: 1fr; height: 1fr; }
    """

    class NodeClicked(Message):
        """A node was clicked: the stepper moves to the step that runs it."""

        def __init__(self, node_id: str) -> None:
            super().__init__()
            self.node_id = node_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph_nodes: tuple[GraphNode, ...] = ()
        self.drawing: GraphLayout | None = None
        self.current_node: str | None = None
        self.done_nodes: frozenset[str] = frozenset()
        self.note = "no backward graph"
        self._rows: dict[int, list[tuple[int, int, str]]] = {}

    # ------------------------------------------------------------ data

    def show_graph(self, nodes: Sequence[GraphNode]) -> None:
        """Draw ``nodes`` (laid out here, or in a thread when the graph is big)."""
        nodes = tuple(nodes)
        if nodes == self.graph_nodes and self.drawing is not None:
            return
        self.graph_nodes = nodes
        if not nodes:
            self._set_layout(None, "no backward graph")
        elif len(nodes) > WORKER_NODES and tuple(nodes) not in _CACHE:
            self._set_layout(None, f"laying out {len(nodes)} nodes…")
            self._lay_out(nodes)
        else:
            self._set_layout(cached_layout(nodes), "")

    @work(thread=True, exclusive=True, group="graph-layout")
    def _lay_out(self, nodes: tuple[GraphNode, ...]) -> None:
        layout = cached_layout(nodes)
        self.app.call_from_thread(self._laid_out, nodes, layout)

    def _laid_out(self, nodes: tuple[GraphNode, ...], layout: GraphLayout) -> None:
        if nodes == self.graph_nodes:  # not replaced by another graph meanwhile
            self._set_layout(layout, "")

    def _set_layout(self, layout: GraphLayout | None, message: str) -> None:
        self.drawing = layout
        self.note = message
        rows: dict[int, list[tuple[int, int, str]]] = {}
        if layout is not None:
            if layout.refused:
                self.note = f"no drawing: {layout.refused}. Press g for the list."
            for node_id, box in layout.boxes.items():
                for r in range(box.row, box.row + box.height):
                    rows.setdefault(r, []).append((box.col, box.width, node_id))
            for boxes in rows.values():  # left to right, once: render_line walks them in order
                boxes.sort()
        self._rows = rows
        width, height = (layout.width, layout.height) if layout and layout.lines else (0, 0)
        self.virtual_size = Size(width, height)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()
        self._follow()

    def mark(self, current: str | None, done: Iterable[str]) -> None:
        """Restyle: ``current`` is the node of the current step, ``done`` those run before."""
        done = frozenset(done)
        if current == self.current_node and done == self.done_nodes:
            return
        self.current_node, self.done_nodes = current, done
        self.refresh()
        self._follow()

    def _follow(self) -> None:
        """Scroll the current node into view: the least scrolling that shows its box, and
        back to the left edge whenever the box fits there."""
        if self.drawing is None or self.current_node not in self.drawing.boxes:
            return
        region = self.scrollable_content_region
        if region.width <= 0 or region.height <= 0:  # just shown: not sized yet
            self.call_after_refresh(self._follow)
            return
        box = self.drawing.boxes[self.current_node]
        x, y = self.scroll_offset
        right, bottom = box.col + box.width, box.row + box.height
        if right <= region.width:
            x = 0
        elif box.col < x:
            x = box.col
        elif right > x + region.width:
            x = right - region.width
        if box.row < y:
            y = max(box.row - 1, 0)
        elif bottom > y + region.height:
            y = bottom - region.height + 1
        if (x, y) != tuple(self.scroll_offset):
            self.scroll_to(x, y, animate=False, immediate=True, force=True)

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        """One row of the drawing, as far as the view is scrolled across."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self.drawing
        if layout is None or not layout.lines:
            # The note wraps: a refusal's reason and what to do instead fit a narrow view.
            wrapped = textwrap.wrap(self.note, max(width, 1)) if y < 8 else []
            text = wrapped[y] if y < len(wrapped) else ""
            return Strip([Segment(text.ljust(width)[:width], base + DONE)])
        row = y + scroll_y
        if row >= layout.height:
            return Strip.blank(width, base)
        line = layout.lines[row]
        segments: list[Segment] = []
        pos = 0
        for col, w, node_id in self._rows.get(row, ()):
            if node_id == self.current_node:
                style = CURRENT
            elif node_id in self.done_nodes:
                style = DONE
            else:
                continue
            if col > pos:
                segments.append(Segment(line[pos:col], base))
            chunk = line[col : col + w]
            box = layout.boxes[node_id]
            if node_id in self.done_nodes and row == box.row + 1 and w >= 4:
                chunk = chunk[: w - 2] + DONE_MARK + chunk[w - 1 :]
            segments.append(Segment(chunk, base + style))
            pos = col + w
        if pos < len(line):
            segments.append(Segment(line[pos:], base))
        strip = Strip(segments, len(line))
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)

    def on_click(self, event: Click) -> None:
        """Clicking a node's box makes its step the current one."""
        if self.drawing is None:
            return
        scroll_x, scroll_y = self.scroll_offset
        node_id = self.node_at(event.y + scroll_y, event.x + scroll_x)
        if node_id is not None:
            self.post_message(self.NodeClicked(node_id))

    def node_at(self, row: int, col: int) -> str | None:
        """The node whose box covers (``row``, ``col``) of the drawing (only that row's
        boxes are looked at: a click costs the same on a graph of thousands)."""
        for start, width, node_id in self._rows.get(row, ()):
            if start <= col < start + width:
                return node_id
        return None
