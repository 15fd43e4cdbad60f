"""Keys stay cheap: what a key opens is built once, not on every press."""

from __future__ import annotations

from gradtui.tui.app import GradApp
from gradtui.tui.help import HelpScreen
from tests.helpers import running, wait_for_text


async def test_help_is_built_once_and_shown_again_whole() -> None:
    """Composing help's Markdown took 150-370 ms of the UI thread per ``?``; the screen
    is now kept between opens, and shows the same text every time."""
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        await pilot.press("question_mark")
        first = app.screen
        assert isinstance(first, HelpScreen)
        assert "Next backward step" in await wait_for_text(pilot, "Next backward step")
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("n", "question_mark")
        assert app.screen is first
        assert "Next backward step" in await wait_for_text(pilot, "Next backward step")
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen) and app.step_index == 1
