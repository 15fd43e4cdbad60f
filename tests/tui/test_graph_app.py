"""The whole graph in the app: ``g`` (the drawn DAG), ``j`` (J as a heat map), ``h`` (H·u).

Everything through the real app with Pilot, and every number checked against torch
computed here (``torch.autograd.functional`` for J and H·u).
"""

from __future__ import annotations

import torch
from rich.style import Style

from gradtui.tui.app import GradApp
from gradtui.tui.screens.jacobian import JacobianScreen
from gradtui.tui.widgets.graph_view import CURRENT, GraphView
from gradtui.tui.widgets.jacobian_view import JacobianView
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.helpers import running, settle

BRANCHING = "x * exp(-x) + sin(x) * w"


def _f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x * torch.exp(-x) + torch.sin(x) * w


def _styled_cells(view: GraphView, y: int, style: Style) -> list[int]:
    """The columns of row ``y`` (on screen) drawn with ``style`` among their styles."""
    cols, x = [], 0
    for seg in view.render_line(y):
        if seg.style is not None and seg.style.reverse == style.reverse and seg.style.bold:
            cols.extend(range(x, x + len(seg.text)))
        x += len(seg.text)
    return cols


async def test_g_swaps_the_list_for_the_graph_and_stepping_moves_the_marks() -> None:
    async with running(GradApp(BRANCHING, cursor_blink=False), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        view = app.query_one(GraphView)
        assert not view.display or not stepper.graph_mode
        await pilot.press("g")
        await pilot.pause()
        assert stepper.graph_mode and view.display and not app.query_one(StepList).display
        assert app.result is not None
        assert view.graph_nodes == app.result.graph
        drawing = view.drawing
        assert drawing is not None and set(drawing.boxes) == {n.id for n in app.result.graph}
        seen_done: list[int] = []
        for i, step in enumerate(stepper.steps):
            assert stepper.index == i
            assert view.current_node == step.graph_id
            assert view.done_nodes == {s.graph_id for s in stepper.steps[:i]}
            seen_done.append(len(view.done_nodes))
            # The current node's box is drawn reversed and bold, where the layout put it.
            box = drawing.boxes[step.graph_id]
            y = box.row + 1 - view.scroll_offset.y
            assert 0 <= y < view.scrollable_content_region.height  # scrolled into view
            cols = _styled_cells(view, y, CURRENT)
            x0 = box.col - view.scroll_offset.x
            assert cols == list(range(max(x0, 0), x0 + box.width))
            await pilot.press("n")
            await pilot.pause()
        assert seen_done == list(range(len(stepper.steps)))  # each node runs once, in turn
        assert "✓ run" in app.screen_text()
        await pilot.press("g")
        await pilot.pause()
        assert not stepper.graph_mode and app.query_one(StepList).display


async def test_clicking_a_node_makes_its_step_current() -> None:
    async with running(GradApp(BRANCHING, cursor_blink=False), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        await pilot.press("g")
        await pilot.pause()
        view = app.query_one(GraphView)
        assert view.drawing is not None
        target = next(s for s in stepper.steps if s.leaf == "w")
        box = view.drawing.boxes[target.graph_id]
        view.scroll_to(box.col, box.row, animate=False, immediate=True)
        await pilot.pause()
        offset = (
            box.col - view.scroll_offset.x + 2,
            box.row + 1 - view.scroll_offset.y,
        )
        assert await pilot.click(GraphView, offset=offset)
        await pilot.pause()
        assert stepper.index == target.index


async def test_a_graph_of_five_hundred_nodes_is_laid_out_and_followed() -> None:
    expression = " + ".join(["sin(x) * x"] * 170)
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.select_expression(expression)
        await settle(pilot)
        assert app.result is not None and len(app.result.graph) >= 500
        await pilot.press("g")
        await settle(pilot)  # the layout runs in a worker: wait for it
        view = app.query_one(GraphView)
        assert view.drawing is not None and len(view.drawing.boxes) == len(app.result.graph)
        stepper = app.query_one(StepperPanel)
        stepper.index = len(stepper.steps) - 1
        await pilot.pause()
        last = view.drawing.boxes[stepper.steps[-1].graph_id]
        assert view.scroll_offset.y > 0  # followed the last node down the drawing
        assert view.scroll_offset.y <= last.row < view.scroll_offset.y + view.size.height


async def test_j_shows_torchs_jacobian_with_the_rows_v_combines() -> None:
    async with running(GradApp("softmax", cursor_blink=False), (100, 30)) as pilot:
        app = pilot.app
        app.set_input("v", "[1., 0., 2.]")
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JacobianScreen)
        assert screen.result is not None, screen.error
        block = screen.result.blocks["input"]
        x = torch.tensor(app.result.inputs["input"].tensor.value, dtype=torch.float64)
        expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), x)
        got = torch.tensor(block.matrix, dtype=torch.float64)
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-7)
        text = app.screen_text()
        assert "▸ out[0]" in text and "▸ out[2]" in text
        assert "  out[1]" in text and "▸ out[1]" not in text  # v[1] = 0: not combined
        assert "largest difference" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, JacobianScreen)


async def test_a_jacobian_too_big_for_a_screen_is_refused_with_its_size() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.select_expression("exp(x)", {"x": "ones(101)"})
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JacobianScreen) and screen.result is None
        assert screen.error.startswith("J would have 10201 entries (output [101] by x [101])")
        assert "gradtui jacobian --json" in screen.error
        assert "no Jacobian" in app.screen_text()
        assert "gradtui jacobian --json" in str(screen.query_one(JacobianView).render())


async def test_h_steps_through_the_backward_of_the_backward() -> None:
    async with running(GradApp(BRANCHING, cursor_blink=False), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        first_steps = stepper.steps
        await pilot.press("h")
        await settle(pilot)
        hvp = stepper.hvp
        assert hvp is not None and stepper.steps == hvp.steps and len(hvp.steps) > len(first_steps)
        assert stepper.border_title.startswith("backward of backward: H·u")
        x = torch.tensor(hvp.inputs["x"].value, dtype=torch.float64)
        w = torch.tensor(hvp.inputs["w"].value, dtype=torch.float64)
        ones = (torch.ones_like(x), torch.ones_like(w))
        _, expected = torch.autograd.functional.hvp(lambda a, b: _f(a, b).sum(), (x, w), ones)
        for name, want in zip(("x", "w"), expected, strict=True):
            got = torch.tensor(hvp.hvp[name].value, dtype=torch.float64)
            assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), name
        await pilot.press("n")
        await pilot.pause()
        assert "backward of backward" in app.screen_text() and "step 2 of" in app.screen_text()
        await pilot.press("g")  # the second backward has its own graph
        await pilot.pause()
        assert app.query_one(GraphView).graph_nodes == hvp.graph
        await pilot.press("h")
        await pilot.pause()
        assert stepper.hvp is None and stepper.steps == first_steps
        assert stepper.border_title == "backward"


async def test_h_without_a_gradient_says_why_and_keeps_the_backward() -> None:
    async with running(GradApp("lt", cursor_blink=False), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        await pilot.press("h")
        await settle(pilot)
        assert stepper.hvp is None and stepper.border_title == "backward"
        messages = [n.message for n in app._notifications]
        assert messages == [
            "lt(input, other) gives a bool tensor: a Hessian-vector product needs a "
            "floating-point output"
        ]
        assert "Traceback" not in app.screen_text()
