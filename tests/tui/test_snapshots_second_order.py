"""Snapshots of the Jacobian screen (``j``) at 160x48 and with a J too wide for numbers
(shades, at 80x24), and of the backward of the backward (``h``) as a list at 80x24.

Regenerate with ``pytest tests/tui/test_snapshots_second_order.py --snapshot-update``
only after looking at the new pictures.
"""

from __future__ import annotations

from textual.pilot import Pilot

from gradtui.tui.app import GradApp
from tests.helpers import settle
from tests.tui.test_snapshots_graph import _jacobian


async def _wide_jacobian(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.select_expression("cumsum(x, 0) * x", {"x": "arange(12.) - 5.5"})
    await settle(pilot)
    await pilot.press("j")
    await settle(pilot)


async def _second_order_steps(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("h")
    await settle(pilot)
    await pilot.press("n", "n")
    await pilot.pause()


def test_jacobian_screen_160x48(snap_compare) -> None:
    app = GradApp("softmax", cursor_blink=False, timeout=120)
    assert snap_compare(app, terminal_size=(160, 48), run_before=_jacobian)


def test_jacobian_shades_80x24(snap_compare) -> None:
    app = GradApp(cursor_blink=False, timeout=120)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_wide_jacobian)


def test_second_order_steps_80x24(snap_compare) -> None:
    app = GradApp("x * exp(-x) + sin(x) * w", cursor_blink=False, timeout=120)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_second_order_steps)
