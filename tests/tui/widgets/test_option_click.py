"""A click that names an option the list no longer has (the list shrank since the paint)."""

from __future__ import annotations

import asyncio

from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import OptionList

import gradtui.tui.workarounds  # noqa: F401 - installs the click guard on OptionList


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield OptionList(*[f"option {k}" for k in range(6)])


def _click(widget: OptionList, option: int) -> events.Click:
    return events.Click(
        widget, 1, option, 0, 0, 1, False, False, False, style=Style(meta={"option": option})
    )


def test_a_click_past_the_end_of_a_shrunk_list_is_ignored() -> None:
    async def scenario() -> None:
        app = Host()
        async with app.run_test() as pilot:
            options = app.query_one(OptionList)
            await options._on_click(_click(options, 5))  # the handler Textual dispatches to
            await pilot.pause()
            assert options.highlighted == 5
            options.clear_options()
            options.add_options(["a", "b"])
            await options._on_click(_click(options, 5))  # painted when it had 6 options
            await pilot.pause()
            assert app.is_running and options.option_count == 2
            assert options.highlighted in (None, 0)
            await options._on_click(_click(options, 1))  # an option that exists still works
            await pilot.pause()
            assert options.highlighted == 1

    asyncio.run(scenario())
