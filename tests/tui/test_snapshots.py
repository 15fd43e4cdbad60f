"""Snapshots of the screens a person meets (pytest-textual-snapshot, one SVG per state).

Deterministic by construction: cursor blink is off, every computation is awaited
(:func:`settle`) before the picture is taken, and the engine's random constructors are
seeded. Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` only
after looking at the new pictures.
"""

from __future__ import annotations

from textual.pilot import Pilot

from gradtui.tui.app import GradApp
from tests.helpers import settle


async def _settled(pilot: Pilot) -> None:
    await settle(pilot)


async def _bad_input(pilot: Pilot) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, GradApp)
    app.set_input("input", "[1.0, 2.0,")
    await settle(pilot)
    app.action_focus_steps()
    await pilot.pause()


def test_main_screen_80x24(snap_compare) -> None:
    assert snap_compare(GradApp(cursor_blink=False), terminal_size=(80, 24), run_before=_settled)


def test_main_screen_160x48(snap_compare) -> None:
    assert snap_compare(GradApp(cursor_blink=False), terminal_size=(160, 48), run_before=_settled)


def test_input_error(snap_compare) -> None:
    assert snap_compare(GradApp(cursor_blink=False), terminal_size=(100, 30), run_before=_bad_input)


def test_lt_not_differentiable(snap_compare) -> None:
    assert snap_compare(
        GradApp("lt", cursor_blink=False), terminal_size=(100, 30), run_before=_settled
    )
