"""What the app repaints: a step or an edit redraws the rows that changed, not whole panels.

Over SSH every repainted row is bytes on the wire (``tests/benchmarks/run.py`` counts
them in a pty). Here the real app runs under Pilot and every region the compositor is
asked to repaint is recorded, so a regression to "repaint the whole panel" fails.
"""

from __future__ import annotations

from textual.geometry import Region

from gradtui.tui.app import GradApp
from gradtui.tui.widgets.line_view import LineView
from gradtui.tui.widgets.plot import PlotCanvas, PlotPanel
from gradtui.tui.widgets.stepper import StepperPanel
from tests.helpers import running, settle


def _record(app: GradApp) -> list[Region]:
    """Start recording the regions of every frame the screen composites."""
    compositor = app.screen._compositor
    regions: list[Region] = []
    render_update = compositor.render_update

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - Textual's own signature
        regions.extend(compositor._dirty_regions)
        return render_update(*args, **kwargs)

    compositor.render_update = recording  # type: ignore[method-assign]
    return regions


def _area(regions: list[Region]) -> int:
    return sum(r.area for r in regions)


async def test_a_step_repaints_only_stepper_rows_that_change() -> None:
    app = GradApp("exp", {"input": "0.5"}, cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        await pilot.pause(0.2)  # the first screen's last frames
        stepper = app.query_one(StepperPanel).region
        detail = app.query_one(LineView)
        before = [s.text for s in detail.lines]
        regions = _record(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.step_index == 1
        assert regions, "the step was not drawn"
        assert all(stepper.contains_region(r) for r in regions), regions
        # the panel (border and all) is not repainted, only rows of the list and the detail
        assert stepper not in regions
        after = [s.text for s in detail.lines]
        rows = max(len(before), len(after))
        changed = sum(
            (before[i] if i < len(before) else None) != (after[i] if i < len(after) else None)
            for i in range(rows)
        )
        assert 0 < changed < rows  # exp's two steps share their first lines
        list_rows = app.query_one("#step-list").region.area
        assert _area(regions) <= changed * detail.region.width + list_rows


async def test_an_edit_repaints_changed_rows_not_whole_panels() -> None:
    app = GradApp("exp", {"input": "0.5"}, cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        await pilot.pause(0.2)  # the first screen's last frames
        panels = [app.query_one(StepperPanel).region, app.query_one(PlotPanel).region]
        canvas = app.query_one(PlotCanvas).region
        regions = _record(app)
        app.set_input("input", "0.59")
        await settle(pilot)
        assert app.result is not None and app.result.inputs["input"].text == "0.59"
        assert not any(r in panels for r in regions), regions
        plot_rows = sum(r.area for r in regions if canvas.contains_region(r))
        assert 0 < plot_rows < canvas.area  # the plot changed, but not every row of it
