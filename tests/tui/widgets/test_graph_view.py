"""The graph view alone: it draws torch's backward graph, marks steps, pans, and hit-tests.

Every graph here is the one torch builds (:func:`gradtui.ops.graph.graph`), or one made
of :class:`GraphNode` where the size is the point (the worker, the refusal).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import pytest
from textual.app import App, ComposeResult

from gradtui.ops.graph import graph
from gradtui.ops.results import GraphNode
from gradtui.tui import graph_layout
from gradtui.tui.graph_layout import node_label
from gradtui.tui.widgets import graph_view
from gradtui.tui.widgets.graph_view import CURRENT, DONE_MARK, WORKER_NODES, GraphView, legend
from tests.helpers import screen_text

BRANCHING = "x * exp(-x) + sin(x) * w"


class GraphApp(App[None]):
    CSS = "GraphView { width: 1fr; height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.clicked: list[str] = []

    def compose(self) -> ComposeResult:
        yield GraphView(id="view")

    def on_graph_view_node_clicked(self, event: GraphView.NodeClicked) -> None:
        self.clicked.append(event.node_id)


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh layout cache, and the size of every graph laid out from now on."""
    calls: list[int] = []
    real = graph_layout.layout_graph

    def counting(nodes, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(nodes))
        return real(nodes, **kwargs)

    monkeypatch.setattr(graph_view, "_CACHE", OrderedDict())
    monkeypatch.setattr(graph_view, "layout_graph", counting)
    return calls


def _row_text(view: GraphView, y: int) -> str:
    return "".join(seg.text for seg in view.render_line(y))


def _styled(view: GraphView, y: int, *, reverse: bool) -> str:
    """The characters of on-screen row ``y`` drawn reversed (or dim, when not ``reverse``)."""
    return "".join(
        seg.text
        for seg in view.render_line(y)
        if seg.style is not None
        and (seg.style.reverse if reverse else (seg.style.dim and not seg.style.reverse))
    )


async def test_every_node_of_torchs_graph_is_on_screen_once(layouts: list[int]) -> None:
    nodes = graph(BRANCHING, {}).nodes
    app = GraphApp()
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        await pilot.pause()
        text = screen_text(app)
        for node in nodes:
            assert node_label(node) in text
        # Labels are unique here except the AccumulateGrad boxes, which name their leaf.
        assert text.count("AccumulateGrad (x)") == 1
        assert layouts == [len(nodes)]
        assert view.virtual_size.width == view.drawing.width  # type: ignore[union-attr]


async def test_marking_steps_restyles_without_laying_out_again(layouts: list[int]) -> None:
    nodes = graph(BRANCHING, {}).nodes
    app = GraphApp()
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        await pilot.pause()
        drawing = view.drawing
        assert drawing is not None
        order = [n.id for n in nodes]
        for i, current in enumerate(order):
            view.mark(current, order[:i])
            await pilot.pause()
            box = drawing.boxes[current]
            y = box.row + 1 - view.scroll_offset.y
            label = node_label(next(n for n in nodes if n.id == current))
            assert label in _styled(view, y, reverse=True)
            for done in order[:i]:
                dbox = drawing.boxes[done]
                dy = dbox.row + 1 - view.scroll_offset.y
                if 0 <= dy < view.size.height:
                    assert DONE_MARK in _styled(view, dy, reverse=False)
        view.show_graph(nodes)  # the same graph again: nothing to lay out
        await pilot.pause()
        assert view.drawing is drawing
        assert layouts == [len(nodes)]


async def test_the_current_node_is_reverse_and_bold() -> None:
    nodes = graph(BRANCHING, {}).nodes
    app = GraphApp()
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        view.mark(nodes[0].id, ())
        await pilot.pause()
        box = view.drawing.boxes[nodes[0].id]  # type: ignore[union-attr]
        styles = {
            seg.style
            for seg in view.render_line(box.row + 1)
            if seg.style is not None and nodes[0].name in seg.text
        }
        assert styles and all(s.reverse and s.bold for s in styles)
        assert CURRENT.reverse and CURRENT.bold
        # Nothing run yet: no ✓ anywhere.
        assert DONE_MARK not in screen_text(app)


async def test_arrows_pan_a_drawing_wider_and_taller_than_the_view() -> None:
    nodes = graph(" + ".join(["sin(x) * exp(x)"] * 12), {}).nodes
    app = GraphApp()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        await pilot.pause()
        drawing = view.drawing
        assert drawing is not None
        assert drawing.width > 40 and drawing.height > 12
        view.focus()
        first = _row_text(view, 0)
        assert first.rstrip() == drawing.lines[0][:40].rstrip()
        for _ in range(5):
            await pilot.press("right")
            await pilot.press("down")
        await pilot.pause()
        x, y = view.scroll_offset
        assert x > 0 and y > 0
        width = view.scrollable_content_region.width  # the scrollbar takes the rest
        assert _row_text(view, 0) == drawing.lines[y][x : x + width].ljust(width)


async def test_a_click_names_the_node_under_it_and_nothing_elsewhere() -> None:
    nodes = graph(BRANCHING, {}).nodes
    app = GraphApp()
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        await pilot.pause()
        drawing = view.drawing
        assert drawing is not None
        for node in nodes:
            box = drawing.boxes[node.id]
            assert await pilot.click(GraphView, offset=(box.col + 1, box.row + 1))
            await pilot.pause()
            assert app.clicked[-1] == node.id
            assert view.node_at(box.row, box.col) == drawing.node_at(box.row, box.col) == node.id
        clicks = len(app.clicked)
        # A cell no box covers: the row between the root's box and the layer under it.
        row = drawing.boxes[nodes[0].id].row + 3
        col = next(c for c, ch in enumerate(drawing.lines[row]) if ch == " ")
        assert drawing.node_at(row, col) is None
        assert await pilot.click(GraphView, offset=(col, row))
        await pilot.pause()
        assert len(app.clicked) == clicks


async def test_a_big_graph_is_laid_out_in_a_worker(layouts: list[int]) -> None:
    n = WORKER_NODES + 30
    nodes = (
        GraphNode("n0", "StackBackward0", tuple(f"n{i}" for i in range(1, n)), None),
        *(GraphNode(f"n{i}", "AccumulateGrad", (), f"x{i}") for i in range(1, n)),
    )
    app = GraphApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        # Right after the call the UI has only the note: the layout is a worker's.
        assert view.drawing is None
        assert f"laying out {n} nodes" in _row_text(view, 0)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.drawing is not None and len(view.drawing.boxes) == n
        assert layouts == [n]
        assert "StackBackward0" in screen_text(app)


async def test_a_drawing_too_big_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_view, "_CACHE", OrderedDict())
    monkeypatch.setattr(
        graph_view, "layout_graph", partial(graph_layout.layout_graph, max_cells=50)
    )
    nodes = graph(BRANCHING, {}).nodes
    app = GraphApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(GraphView)
        view.show_graph(nodes)
        await pilot.pause()
        words = " ".join(screen_text(app).split())  # the note wraps to the view's width
        assert "no drawing: the drawing would be" in words and "Press g for the list." in words
        view.show_graph(())
        await pilot.pause()
        assert "no backward graph" in screen_text(app)


def test_the_legend_counts_what_has_run() -> None:
    nodes = graph(BRANCHING, {}).nodes
    text = legend(len(nodes), 3).plain
    assert f"3/{len(nodes)} run" in text and DONE_MARK in text and "current" in text
    assert len(legend(99, 99).plain) <= 60  # the stepper's width at 80x24
