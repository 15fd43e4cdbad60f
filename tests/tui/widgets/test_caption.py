"""The demo's caption bar alone: where the tour is, what it says, and whether it is paused."""

from __future__ import annotations

from textual.app import App, ComposeResult

from gradtui.tui.widgets.caption import CaptionBar
from tests.helpers import screen_text


class CaptionApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CaptionBar()


def _lines(app: App) -> list[str]:
    return [line.strip() for line in screen_text(app).splitlines() if line.strip()]


async def test_it_starts_empty_and_shows_scene_and_caption() -> None:
    app = CaptionApp()
    async with app.run_test(size=(60, 8)) as pilot:
        bar = app.query_one(CaptionBar)
        assert bar.plain == "" and _lines(app) == []
        bar.show("3/8 · exp", "exp is its own derivative")
        await pilot.pause()
        assert _lines(app) == ["3/8 · exp  exp is its own derivative"]
        assert bar.plain == "3/8 · exp  exp is its own derivative"


async def test_paused_is_said_first_and_goes_when_playing_again() -> None:
    app = CaptionApp()
    async with app.run_test(size=(80, 8)) as pilot:
        bar = app.query_one(CaptionBar)
        bar.show("1/2 · abs", "a corner at 0")
        bar.set_paused(True)
        await pilot.pause()
        assert _lines(app) == ["⏸ paused (space resumes)  1/2 · abs  a corner at 0"]
        assert bar.has_class("-paused")
        bar.set_paused(False)
        await pilot.pause()
        assert _lines(app) == ["1/2 · abs  a corner at 0"] and not bar.has_class("-paused")


async def test_a_long_caption_wraps_but_never_takes_more_than_five_rows() -> None:
    app = CaptionApp()
    async with app.run_test(size=(30, 20)) as pilot:
        bar = app.query_one(CaptionBar)
        bar.show("2/8 · sin", "short")
        await pilot.pause()
        assert bar.region.height == 1
        bar.show("2/8 · sin", "word " * 60)
        await pilot.pause()
        assert bar.region.height == 5
        assert _lines(app)[0].startswith("2/8 · sin  word")
