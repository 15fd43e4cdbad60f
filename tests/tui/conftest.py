"""Shared helpers for the app's Pilot and snapshot tests.

Every test drives the real :class:`tui.app.GradApp` with the real engine and torch;
:func:`settle` waits until the newest edit has been computed and drawn, so assertions
never race the worker threads.
"""

from __future__ import annotations

from textual.pilot import Pilot

from gradtui.tui.app import GradApp


async def settle(pilot: Pilot) -> GradApp:
    """Wait for the engine's answer to the newest edit and for the screen to catch up."""
    app = pilot.app
    assert isinstance(app, GradApp)
    await pilot.pause()
    await app.settle()
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app


async def type_text(pilot: Pilot, text: str) -> None:
    """Type ``text`` key by key, as a person would."""
    await pilot.press(*text)


async def wait_for_text(pilot: Pilot, text: str, timeout: float = 10.0) -> str:
    """Pause until ``text`` is on screen (some widgets, like Markdown, render later)."""
    import time

    app = pilot.app
    assert isinstance(app, GradApp)
    deadline = time.monotonic() + timeout
    while True:
        screen = app.screen_text()
        if text in screen or time.monotonic() > deadline:
            return screen
        await pilot.pause(0.05)
