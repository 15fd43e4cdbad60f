"""Op names stay apart at 80x24, and a new op's detail opens at its top."""

from __future__ import annotations

from gradtui.tui.app import GradApp
from gradtui.tui.widgets.line_view import LineView
from gradtui.tui.widgets.op_picker import middle_ellipsis
from tests.helpers import running, settle


def test_middle_ellipsis_keeps_both_ends() -> None:
    a, b = " binary_cross_entropy", " binary_cross_entropy_with_logits"
    for width in range(4, 30):
        sa, sb = middle_ellipsis(a, width), middle_ellipsis(b, width)
        assert len(sa) <= width and len(sb) <= width
        assert sa != sb
        assert sb.endswith("s")  # the end that tells them apart is kept
    assert middle_ellipsis("abs", 10) == "abs"


async def test_similar_names_differ_on_screen_at_80x24() -> None:
    app = GradApp("abs", cursor_blink=False)
    async with running(app, (80, 24)):
        picker_cells = [line[1:17] for line in app.screen_text().splitlines()]
        bce = [cell.strip("│ ▁▅") for cell in picker_cells if cell.startswith(" binary")]
        assert len(bce) == 2 and bce[0] != bce[1], bce
        assert bce[0].endswith("entropy") and bce[1].endswith("logits"), bce


async def test_switching_ops_opens_the_detail_at_the_top() -> None:
    app = GradApp("binary_cross_entropy", cursor_blink=False)
    async with running(app, (80, 24)) as pilot:
        detail = app.query_one("#step-detail", LineView)
        detail.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert detail.scroll_y > 0  # there is something below, and we are down there
        await pilot.press("slash", *"abs", "enter")
        await settle(pilot)
        assert app.state.target == "abs"
        assert detail.scroll_y == 0
        text = app.screen_text()
        assert "forward" in text and "step 1 of 2" in text
