"""The paged option list alone: page keys move a page, and do nothing while it is hidden.

Textual 8.2's own ``OptionList`` raises ``KeyError`` on a page key while it is not laid
out (the "terminal too small" screen hides the panels but keeps focus); the control test
shows that, so the workaround is re-checked on every Textual upgrade.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import OptionList

from gradtui.tui.workarounds import PagedOptionList


class ListApp(App[None]):
    CSS = "OptionList { height: 6; }  .-hidden OptionList { height: 0; }"  # laid out to nothing

    def __init__(self, kind: type[OptionList] = PagedOptionList) -> None:
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        yield self.kind(*[f"option {i}" for i in range(30)])


async def _focused_with_no_height(pilot: Pilot) -> OptionList:
    """The list focused on its fourth option, then laid out to no height at all."""
    option_list = pilot.app.query_one(OptionList)
    option_list.focus()
    option_list.highlighted = 3
    pilot.app.screen.add_class("-hidden")
    await pilot.pause()
    return option_list


async def test_page_down_moves_a_page() -> None:
    app = ListApp()
    async with app.run_test(size=(30, 10)) as pilot:
        option_list = app.query_one(OptionList)
        option_list.focus()
        option_list.highlighted = 0
        await pilot.press("pagedown")
        moved = option_list.highlighted
        assert moved is not None and moved > 1
        await pilot.press("pageup")
        assert option_list.highlighted == 0


async def test_page_keys_on_a_list_with_no_height_do_nothing() -> None:
    app = ListApp()
    async with app.run_test(size=(30, 10)) as pilot:
        option_list = await _focused_with_no_height(pilot)
        await pilot.press("pagedown", "pageup", "pagedown")
        assert app.is_running and app._exception is None
        assert option_list.highlighted == 3


async def test_textual_s_own_list_still_raises_there() -> None:
    """The reason for the workaround: if this starts passing, the workaround can go."""
    app = ListApp(OptionList)
    with pytest.raises(KeyError):
        async with app.run_test(size=(30, 10)) as pilot:
            await _focused_with_no_height(pilot)
            await pilot.press("pagedown")
