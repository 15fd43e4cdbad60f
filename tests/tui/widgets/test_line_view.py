"""The line view alone: it shows a renderable wrapped to its width and repaints only changed rows."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from gradtui.tui.widgets.line_view import LineView
from tests.helpers import screen_text


class LineApp(App[None]):
    CSS = "LineView { width: 30; height: 6; }"

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield LineView(Text(self.text))


def _texts(view: LineView) -> list[str]:
    return [strip.text.rstrip() for strip in view.lines]


def _record_refreshes(view: LineView) -> list[tuple[Region, ...]]:
    """Every ``refresh(...)`` the view asks for from now on (its regions; ``()`` = all)."""
    calls: list[tuple[Region, ...]] = []
    refresh = view.refresh

    def recording(*regions: Region, **kwargs: object) -> LineView:
        calls.append(regions)
        return refresh(*regions, **kwargs)  # type: ignore[arg-type]

    view.refresh = recording  # type: ignore[method-assign]
    return calls


async def test_it_shows_its_renderable() -> None:
    app = LineApp("one\ntwo")
    async with app.run_test(size=(40, 10)):
        view = app.query_one(LineView)
        assert _texts(view) == ["one", "two"]
        lines = screen_text(app).splitlines()
        assert lines[0].rstrip() == "one" and lines[1].rstrip() == "two"


async def test_long_lines_wrap_to_the_view_s_width() -> None:
    app = LineApp("word " * 12)
    async with app.run_test(size=(40, 10)):
        view = app.query_one(LineView)
        assert len(view.lines) > 1
        assert max(strip.cell_length for strip in view.lines) <= 30 < len("word " * 12)
        assert " ".join(" ".join(_texts(view)).split()) == " ".join(["word"] * 12)


async def test_an_update_repaints_only_the_rows_that_changed() -> None:
    app = LineApp("a\nb\nc\nd")
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LineView)
        calls = _record_refreshes(view)
        view.update(Text("a\nB\nc\nd"))
        await pilot.pause()
        assert calls == [(Region(0, 1, 30, 1),)]  # row 1, nothing else
        assert screen_text(app).splitlines()[1].rstrip() == "B"
        calls.clear()
        view.update(Text("a\nB\nc\nd"))  # the same content: nothing to repaint
        assert calls == []


async def test_content_taller_than_the_view_scrolls_and_leaves_room_for_the_scrollbar() -> None:
    app = LineApp("short")
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LineView)
        view.update(Text("\n".join(f"line {i} " + "x" * 24 for i in range(20))))
        await pilot.pause()
        assert view.virtual_size.height == len(view.lines) > 6
        gutter = view.styles.scrollbar_size_vertical
        assert gutter > 0 and max(strip.cell_length for strip in view.lines) <= 30 - gutter
        view.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "line 19" in screen_text(app) and "line 0 " not in screen_text(app)


async def test_a_narrower_terminal_wraps_again() -> None:
    app = LineApp("word " * 8)
    app.CSS = "LineView { width: 1fr; height: 6; }"
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LineView)
        wide = len(view.lines)
        await pilot.resize_terminal(12, 10)
        await pilot.pause()
        assert len(view.lines) > wide
        assert max(strip.cell_length for strip in view.lines) <= 12
