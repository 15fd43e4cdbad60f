"""Snapshots of the whole-graph views: the drawn DAG (``g``) at 80x24 and 160x48, mid-way
through the backward pass (the current node highlighted, those run before marked ✓), the
backward of the backward (``h``) in the graph view, and the Jacobian screen (``j``).

Regenerate with ``pytest tests/tui/test_snapshots_graph.py --snapshot-update`` only after
looking at the new pictures.
"""

from __future__ import annotations

from textual.pilot import Pilot

from gradtui.tui.app import GradApp
from tests.helpers import settle

BRANCHING = "x * exp(-x) + sin(x) * w"


async def _graph_mid_way(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("g", "n", "n", "n")
    await pilot.pause()


async def _second_order_graph(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("h")
    await settle(pilot)
    await pilot.press("g", "n", "n")
    await pilot.pause()


async def _jacobian(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.set_input("v", "[1., 0., 2.]")
    await settle(pilot)
    await pilot.press("j")
    await settle(pilot)


def test_graph_view_80x24(snap_compare) -> None:
    app = GradApp(BRANCHING, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_graph_mid_way)


def test_graph_view_160x48(snap_compare) -> None:
    app = GradApp(BRANCHING, cursor_blink=False)
    assert snap_compare(app, terminal_size=(160, 48), run_before=_graph_mid_way)


def test_second_order_graph_120x40(snap_compare) -> None:
    app = GradApp(BRANCHING, cursor_blink=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_second_order_graph)


def test_jacobian_screen_80x24(snap_compare) -> None:
    app = GradApp("softmax", cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_jacobian)
