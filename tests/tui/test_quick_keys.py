"""Keys faster than the screens: regressions found by the monkey test.

A terminal delivers keys as fast as they are typed (or pasted, or mashed); Textual's
screens open and close asynchronously. Each sequence here is sent in one go, before the
app has handled the first key, exactly as a quick hand or a slow SSH link bunches them.
Each used to crash the app (or leave it unable to exit); now the app keeps running, the
screen stack ends where a person would expect, and ``n`` still steps.
"""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from tests.tui.conftest import settle
from tests.tui.test_monkey import _key_event
from tui.app import GradApp
from tui.help import HelpScreen

SEQUENCES = {
    # Two closes for one help screen: the second popped the app's own screen.
    "help closed twice": (["question_mark", "escape", "escape"], None),
    "help opened and closed over and over": (
        ["question_mark", "escape", "question_mark", "escape", "f1", "f1", "escape"],
        None,
    ),
    # Page keys before the palette's list is laid out: KeyError in OptionList._move_page.
    "palette paged at once": (["ctrl+p", "pagedown", "pageup", "pagedown"], CommandPalette),
    # A second ctrl+p before the first palette is up: two screens with one id.
    "palette opened twice": (["ctrl+p", "ctrl+p"], CommandPalette),
    # Closed before its first search began: the search worker's NoMatches was fatal.
    "palette typed into and closed": (["ctrl+p", "o", "p", "escape"], None),
    # Two closes for one palette.
    "palette closed twice": (["ctrl+p", "escape", "escape", "escape"], None),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_keys_sent_in_one_go(name: str) -> None:
    keys, top = SEQUENCES[name]
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app._driver is not None
        for key in keys:
            app._driver.send_message(_key_event(app, key))
        await pilot.pause(0.3)
        await settle(pilot)
        assert app.is_running and app._exception is None
        stack = app.screen_stack
        if top is None:
            assert len(stack) == 1, stack
        else:
            assert len(stack) == 2 and isinstance(stack[-1], top), stack
            await pilot.press("escape")
        assert not isinstance(app.screen, (HelpScreen, CommandPalette))
        await pilot.press("n")
        assert app.step_index == 1
    # And it exits (an orphaned screen used to make the exit wait forever).
    assert app.return_code in (0, None) and app._exception is None
