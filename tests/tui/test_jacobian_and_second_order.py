"""``j`` (J as a heat map) and ``h`` (the backward of the backward) through the real app.

What ``tests/tui/test_graph_app.py`` does not already check: the numbers as they are
*printed* on the Jacobian screen against ``torch.autograd.functional.jacobian``, the
``.grad`` row against torch's own backward, several inputs, the palette entry, ``q``,
scrolling a large J; for ``h``: that the recorded steps add up to H·u (against a torch
double backward in float64), the title that says which backward and which ``u``, a
linear f, and that an edit (even one made while H·u computes) brings the op's own
backward back while an answer for the plot does not.
"""

from __future__ import annotations

import math
import re
import threading

import pytest
import torch

from gradtui.ops import graph
from gradtui.tui.app import GradApp
from gradtui.tui.screens.jacobian import JacobianScreen
from gradtui.tui.widgets.jacobian_view import JacobianView
from gradtui.tui.widgets.stepper import StepperPanel
from tests.helpers import running, settle

SLOW = 120
"""The app's time bound here: generous, so that a loaded machine cannot fail a test."""


def _shown_rows(app: GradApp, name: str) -> dict[int, tuple[bool, list[float], float]]:
    """``{i: (marked ▸, J's row i as printed, v[i] as printed)}`` for ``name``'s block."""
    plain = str(app.screen.query_one(JacobianView).render())
    block = plain.split(f"J = ∂out/∂{name}:", 1)[1].split("J = ∂out/∂", 1)[0]
    rows = {}
    for line in block.splitlines():
        match = re.match(r"^([▸ ]) out\[(\d+)\] (.*)$", line)
        if match:
            *cells, v = (float(t) for t in match.group(3).split())
            rows[int(match.group(2))] = (match.group(1) == "▸", cells, v)
    return rows


def _shown_grad(app: GradApp, name: str) -> list[float]:
    plain = str(app.screen.query_one(JacobianView).render())
    line = next(x for x in plain.splitlines() if x.strip().startswith(f"{name}.grad "))
    return [float(t) for t in line.split()[1:]]


def _close(shown: float, want: float) -> bool:
    """Printed with 4 significant digits."""
    return math.isclose(shown, want, rel_tol=1e-3, abs_tol=1e-6)


async def _open_j(pilot, app: GradApp) -> JacobianScreen:  # noqa: ANN001
    await pilot.press("j")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, JacobianScreen)
    return screen


async def test_j_prints_torchs_jacobian_of_softmax_and_grad_is_vtj() -> None:
    async with running(GradApp("softmax", cursor_blink=False, timeout=SLOW), (100, 30)) as pilot:
        app = pilot.app
        app.set_input("v", "[0., -1., 0.5]")
        await settle(pilot)
        screen = await _open_j(pilot, app)
        assert screen.result is not None, screen.error
        x = torch.tensor(app.result.inputs["input"].tensor.value, dtype=torch.float64)
        want = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), x)
        rows = _shown_rows(app, "input")
        v = [0.0, -1.0, 0.5]
        assert sorted(rows) == [0, 1, 2]
        for i, (marked, cells, v_shown) in rows.items():
            assert marked == (v[i] != 0)  # the rows vᵀ combines, and only those
            assert v_shown == v[i]
            assert all(_close(c, w) for c, w in zip(cells, want[i].tolist(), strict=True)), i
        # .grad as torch's own backward gives it, beside the J it must equal vᵀJ of.
        leaf = x.clone().requires_grad_()
        torch.softmax(leaf, 0).backward(torch.tensor(v, dtype=torch.float64))
        shown = _shown_grad(app, "input")
        assert all(_close(s, w) for s, w in zip(shown, leaf.grad.tolist(), strict=True))
        assert "largest difference" in app.screen_text()


async def test_j_has_a_block_per_input() -> None:
    app = GradApp(cursor_blink=False, timeout=SLOW)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * w.sum() + x ** 2", {"x": "[1., -2.]", "w": "[0.5, 3., 1.]"})
        await settle(pilot)
        await _open_j(pilot, app)
        x = torch.tensor([1.0, -2.0], dtype=torch.float64)
        w = torch.tensor([0.5, 3.0, 1.0], dtype=torch.float64)
        jx, jw = torch.autograd.functional.jacobian(lambda a, b: a * b.sum() + a**2, (x, w))
        for name, want in (("x", jx), ("w", jw)):
            rows = _shown_rows(app, name)
            assert sorted(rows) == [0, 1]
            for i, (marked, cells, _) in rows.items():
                assert marked
                assert len(cells) == want.shape[1]
                assert all(_close(c, t) for c, t in zip(cells, want[i].tolist(), strict=True))


async def test_j_from_the_palette_and_q_goes_back_without_quitting() -> None:
    async with running(GradApp("softmax", cursor_blink=False, timeout=SLOW), (100, 30)) as pilot:
        app = pilot.app
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "view: Jacobian"]
        command.callback()
        await settle(pilot)
        assert isinstance(app.screen, JacobianScreen) and app.screen.result is not None
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, JacobianScreen)
        assert app.is_running and app.result is not None


async def test_a_large_j_scrolls_and_shows_shades() -> None:
    app = GradApp(cursor_blink=False, timeout=SLOW)
    async with running(app, (80, 24)) as pilot:
        app.select_expression("cumsum(x, 0) * x", {"x": "ones(30)"})
        await settle(pilot)
        screen = await _open_j(pilot, app)
        assert screen.result is not None and len(screen.result.blocks["x"].matrix) == 30
        body = screen.query_one("#jacobian-body")
        assert body.max_scroll_y > 0 and body.max_scroll_x > 0
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        assert "(30 elements)" in app.screen_text()  # .grad, under the grid
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, JacobianScreen)


async def test_h_steps_add_up_to_torchs_double_backward() -> None:
    async with running(GradApp("softmax", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        app.set_input("v", "[2., -1., 0.5]")
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        stepper = app.query_one(StepperPanel)
        hvp = stepper.hvp
        assert hvp is not None and stepper.steps == hvp.steps
        assert stepper.border_title == "backward of backward: H·u, u = ones"
        x = torch.tensor(hvp.inputs["input"].value, dtype=torch.float64, requires_grad=True)
        v = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
        (g,) = torch.autograd.grad(torch.softmax(x, 0), x, v, create_graph=True)
        (want,) = torch.autograd.grad(g, x, torch.ones_like(x))
        # What the recorded AccumulateGrad steps received is H·u, and so is what is shown.
        into_leaf = [s.grad_outputs[0].value for s in hvp.steps if s.leaf == "input"]
        assert into_leaf
        summed = torch.tensor(into_leaf, dtype=torch.float64).sum(0)
        assert torch.allclose(summed, want, rtol=1e-4, atol=1e-6)
        shown = torch.tensor(hvp.hvp["input"].value, dtype=torch.float64)
        assert torch.allclose(shown, want, rtol=1e-4, atol=1e-6)
        text = app.screen_text()
        assert "backward of backward: H·u, u = ones" in text and "H·u[input]" in text
        assert f"step 1 of {len(hvp.steps)}" in text


async def test_h_on_a_linear_f_says_h_u_is_zero() -> None:
    async with running(GradApp("add", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        await pilot.press("h")
        await settle(pilot)
        hvp = app.query_one(StepperPanel).hvp
        assert hvp is not None and hvp.steps == ()
        assert all(set(t.value) == {0.0} for t in hvp.hvp.values())
        text = app.screen_text()
        assert "The second backward ran no node." in text
        assert "f is linear" in text


async def test_an_edit_brings_the_backward_back() -> None:
    async with running(GradApp("exp", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        await pilot.press("h")
        await settle(pilot)
        assert stepper.hvp is not None
        app.set_input("input", "[0.5, 1.5]")
        await settle(pilot)
        assert stepper.hvp is None and stepper.border_title == "backward"
        assert stepper.steps == app.result.steps
        assert app.result.inputs["input"].tensor.value == [0.5, 1.5]


async def test_an_h_u_that_comes_back_after_an_edit_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = threading.Event()
    real = graph.hvp

    def held(*args: object, **kwargs: object) -> object:
        gate.wait(60)  # until the edit's result is on screen
        return real(*args, **kwargs)

    monkeypatch.setattr(graph, "hvp", held)
    async with running(GradApp("exp", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        await pilot.press("h")
        app.set_input("input", "[2., 3.]")
        while app.result.inputs["input"].tensor.value != [2.0, 3.0]:
            await pilot.pause(0.05)
        gate.set()  # now the H·u for [1., 2., 3.] comes back
        await settle(pilot)
        assert stepper.hvp is None and stepper.border_title == "backward"
        assert stepper.steps == app.result.steps
        # Only the newest H·u counts: h works again, for the inputs on screen.
        await pilot.press("h")
        await settle(pilot)
        assert stepper.hvp is not None and stepper.hvp.inputs["input"].value == [2.0, 3.0]


async def test_an_answer_for_the_plot_keeps_h_u_and_h_shows_the_steps() -> None:
    async with running(GradApp("exp", cursor_blink=False, timeout=SLOW), (80, 24)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        await pilot.press("l")  # 80x24: the plot instead of the steps
        await pilot.pause()
        assert app.plot_view
        await pilot.press("h")
        await settle(pilot)
        assert not app.plot_view and stepper.hvp is not None  # h shows what it changed
        hvp = stepper.hvp
        await pilot.press("d")  # f″ on: the engine answers again, for the same inputs
        await settle(pilot)
        assert app.curve is not None and app.curve.d2f is not None
        assert stepper.hvp is hvp and stepper.steps == hvp.steps
        await pilot.press("h")
        await pilot.pause()
        assert stepper.hvp is None and stepper.steps == app.result.steps


async def test_refusals_read_whole_at_80_columns() -> None:
    app = GradApp(cursor_blink=False, timeout=SLOW)
    async with running(app, (80, 24)) as pilot:
        for select in (
            lambda: app.select_expression("exp(x)", {"x": "ones(101)"}),  # 10201 entries
            lambda: app.select_op("lt"),  # a bool output
        ):
            select()
            await settle(pilot)
            screen = await _open_j(pilot, app)
            assert screen.result is None and screen.error
            shown = " ".join(app.screen_text().split())
            assert f"no Jacobian: {' '.join(screen.error.split())}" in shown
            await pilot.press("escape")
            await pilot.pause()


@pytest.mark.parametrize("key", ["h", "j"])
async def test_h_and_j_wait_for_the_result_of_the_inputs_on_screen(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen by the monkey test: ``h`` pressed between choosing another op and its first
    result computed H·u for the new op and showed it beside the old op's result. Until the
    newest request's result is on screen, ``h`` and ``j`` say so and compute nothing."""
    from gradtui.tui import engine_client

    gate = threading.Event()
    real = engine_client.compute

    def held(req, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if req.target == "gather":
            gate.wait(60)  # gather's result stays pending while the key is pressed
        return real(req, *args, **kwargs)

    monkeypatch.setattr(engine_client, "compute", held)
    async with running(GradApp("exp", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        stepper = app.query_one(StepperPanel)
        assert app.result is not None and app.result.target == "exp"
        app.select_op("gather")
        await pilot.pause(0.2)
        await pilot.press(key)
        await pilot.pause(0.2)
        messages = [n.message for n in app._notifications]
        assert (
            messages[-1]
            == f"{key}: still computing these inputs; press {key} when their result shows"
        )
        assert app.explorer.hvp_job is None and stepper.hvp is None
        assert not isinstance(app.screen, JacobianScreen)
        gate.set()
        await settle(pilot)
        assert app.result.target == "gather" and stepper.hvp is None
        # Once gather's result is on screen, the key works for gather's inputs.
        await pilot.press(key)
        await settle(pilot)
        if key == "h":
            assert stepper.hvp is not None
            assert stepper.hvp.target == "gather"
            assert "input" in stepper.hvp.inputs
            for name, value in stepper.hvp.inputs.items():
                assert value.value == app.result.inputs[name].tensor.value, name
        else:
            assert isinstance(app.screen, JacobianScreen)


async def test_h_and_j_after_an_input_error_say_so() -> None:
    async with running(GradApp("exp", cursor_blink=False, timeout=SLOW), (120, 40)) as pilot:
        app = pilot.app
        app.set_input("input", "[1., ")
        await settle(pilot)
        assert app.stale
        for key in ("h", "j"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app._notifications and list(app._notifications)[-1].message == (
                f"{key}: the inputs on screen did not compute (see the status line)"
            )
        assert app.query_one(StepperPanel).hvp is None
        assert not isinstance(app.screen, JacobianScreen)
