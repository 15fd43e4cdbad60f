"""The app as a person uses it, driven by Textual's Pilot over the real engine and torch.

No result here is typed by hand: every expectation is read from the engine's own
answer (``app.result``) or from the screen, so the tests follow whatever the installed
torch does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.widgets import Input, Markdown

from gradtui.tui.app import GradApp
from gradtui.tui.format import format_tensor
from gradtui.tui.help import HelpScreen
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.op_picker import OpPicker
from gradtui.tui.widgets.plot import PlotPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.tui.conftest import settle, type_text, wait_for_text

ROOT = Path(__file__).resolve().parents[2]


def _detail(app: GradApp) -> str:
    """The stepper's detail view as plain text."""
    from io import StringIO

    from rich.console import Console

    from gradtui.tui.widgets.stepper import render_step

    stepper = app.query_one(StepperPanel)
    assert stepper.result is not None
    console = Console(file=StringIO(), width=200, color_system=None)
    console.print(render_step(stepper.result, stepper.current))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_importing_the_app_does_not_import_torch() -> None:
    """The first screen can paint before torch loads: the app module must not pull it in."""
    code = (
        "import sys; import gradtui.tui.app; app = gradtui.tui.app.GradApp(); "
        "print(sorted(m for m in ('torch', 'gradtui.ops.run', 'gradtui.ops.catalog', 'plotext') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


async def test_opens_on_exp_with_the_graph_computed() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.target == "exp"
        assert app.result is not None and app.result.differentiable
        nodes = [s.node for s in app.result.steps]
        assert nodes[0] == "ExpBackward0"
        assert "ExpBackward0" in app.screen_text()
        # Focus starts where n works.
        assert isinstance(app.focused, StepList)
        assert "✓ differentiable" in app.query_one(StatusLine).plain


async def test_pick_an_op_by_filter() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert app.focused is app.query_one("#op-filter")
        await type_text(pilot, "gath")
        assert app.query_one(OpPicker).matches() == ["gather"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.target == "gather"
        assert app.result is not None and app.result.target == "gather"
        # The filter is cleared, so the whole catalog is back.
        assert app.query_one("#op-filter", Input).value == ""
        assert len(app.query_one(OpPicker).matches()) > 10
        panel = app.query_one(InputsPanel)
        assert panel.names[:-1] == list(app.result.inputs)
        assert panel.names[-1] == "v"
        # Back on the stepper, so n steps right away.
        assert isinstance(app.focused, StepList)


async def test_edit_an_input_valid_then_invalid() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        field = app.query_one("#field-input", Input)
        field.focus()
        field.value = ""
        await type_text(pilot, "[0.5, -1.]")
        await settle(pilot)
        good = app.result
        assert good is not None and not app.stale
        assert good.inputs["input"].text == "[0.5, -1.]"
        assert good.inputs["input"].tensor.value == [0.5, -1.0]
        assert str(format_tensor(good.grads["input"])) in app.screen_text()

        await type_text(pilot, "]")  # one bracket too many
        await settle(pilot)
        panel = app.query_one(InputsPanel)
        assert field.value == "[0.5, -1.]]"  # the person's text is kept
        assert panel.error_text("input").startswith("✗ ")
        assert panel.error_text("input") in app.screen_text()
        assert app.stale and app.result is good  # the last good result stays, marked stale
        assert "backward (stale)" in app.screen_text()
        assert "stale" in app.query_one(StatusLine).plain

        await pilot.press("backspace")
        await settle(pilot)
        assert not app.stale and panel.error_text("input") == ""
        assert "(stale)" not in app.screen_text()


async def test_n_in_a_text_field_types_instead_of_stepping() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        field = app.query_one("#field-v", Input)
        field.focus()
        await pilot.press("n")
        assert field.value.endswith("n")
        assert app.step_index == 0
        await pilot.press("escape")
        assert isinstance(app.focused, StepList)
        field.value = ""
        await settle(pilot)
        await pilot.press("n")
        assert app.step_index == 1


async def test_step_forward_and_back_through_a_multi_node_graph() -> None:
    app = GradApp("multilabel_soft_margin_loss", cursor_blink=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        result = app.result
        assert result is not None and len(result.steps) >= 4
        seen = []
        for i, step in enumerate(result.steps):
            assert app.step_index == i
            text = _detail(app)
            assert f"{step.node}  step {i + 1} of {len(result.steps)}" in text
            if step.grad_outputs and step.grad_outputs[0] is not None:
                assert str(format_tensor(step.grad_outputs[0])) in text
            seen.append(text)
            await pilot.press("n")
        assert app.step_index == len(result.steps) - 1  # n at the end stays at the end
        assert len(set(seen)) == len(seen)  # every node shows different gradients
        await pilot.press("p", "p")
        assert app.step_index == len(result.steps) - 3
        assert _detail(app) == seen[-3]
        # The leaf's .grad appears once its AccumulateGrad node has run, with torch's value.
        leaf_step = next(s for s in result.steps if s.leaf == "input")
        app.query_one(StepperPanel).index = leaf_step.index
        assert str(format_tensor(result.grads["input"])) in _detail(app)
        app.query_one(StepperPanel).index = 0
        if leaf_step.index > 0:
            assert "not reached yet" in _detail(app)


async def test_lt_says_why_it_is_not_differentiable() -> None:
    app = GradApp("lt", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        result = app.result
        assert result is not None and not result.differentiable
        assert result.output is not None and result.output.grad_fn is None
        status = app.query_one(StatusLine).plain
        assert "not differentiable" in status
        assert f"{result.output.tensor.dtype} tensor with no grad_fn" in status
        screen = app.screen_text()
        assert "No backward graph" in screen
        assert "grad_fn=None" in screen
        await pilot.press("n")  # nothing to step through, and nothing breaks
        assert app.is_running
        # The plot shows f, says f′ does not exist, and draws without failing.
        await pilot.press("l")
        await pilot.pause()
        plot = app.query_one(PlotPanel)
        assert app.curve is not None and plot.curve is app.curve
        assert "cannot draw" not in plot.canvas.text()
        assert "no f′" in app.screen_text()


async def test_help_screen_opens_and_closes() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = await wait_for_text(pilot, "Next backward step")
        assert "Keys" in text and "Next backward step" in text
        source = app.screen.query_one(Markdown).source
        assert "## The input language" in source and "## The panels" in source
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_chooses_an_op() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "op: gather")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.target == "gather"
        assert app.result is not None and app.result.target == "gather"


async def test_palette_offers_every_op_toggle_theme_and_screenshot() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert {f"op: {op}" for op in app.ops} <= names
        assert "op: custom expression" in names
        assert {"toggle: f″ (second derivative)", "toggle: numeric check"} <= names
        assert {f"theme: {t}" for t in app.available_themes} <= names
        assert "save screenshot" in names


async def test_save_screenshot_from_the_palette(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "save screenshot")
        cmd.callback()
        await pilot.pause()
    shots = list(tmp_path.glob("*.svg"))
    assert len(shots) == 1 and "ExpBackward0" in shots[0].read_text()


async def test_resize_to_80x24_and_50x15() -> None:
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.query_one(PlotPanel).display and not app.has_class("-narrow")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.has_class("-narrow") and not app.has_class("-too-small")
        screen = app.screen_text()
        assert "ExpBackward0" in screen and "inputs" in screen
        await pilot.press("n")
        assert app.step_index == 1
        await pilot.press("l")  # the plot takes the steps' place
        await pilot.pause()
        assert "plot" in app.screen_text() and "backward ─" not in app.screen_text()
        await pilot.press("l")
        await pilot.resize_terminal(50, 15)
        await pilot.pause()
        assert app.has_class("-too-small")
        assert "Terminal too small" in app.screen_text()
        await pilot.press("n", "p", "d")  # keys still do no harm
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not app.has_class("-too-small")
        assert "ExpBackward0" in app.screen_text()
        assert app.is_running


async def test_an_app_started_too_small_says_so() -> None:
    """The first size arrives as the app starts, possibly before the explorer screen has
    composed its panels (found by the monkey test after a restart at 108x16)."""
    for size in ((108, 16), (50, 30)):
        app = GradApp(cursor_blink=False)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            assert app.is_running and app._exception is None and app.has_class("-too-small")
            assert f"{size[0]}x{size[1]}: gradtui needs at least 60x20." in app.screen_text()
            await pilot.resize_terminal(100, 30)
            await pilot.pause()
            assert "ExpBackward0" in app.screen_text()


async def test_a_signal_between_the_app_and_its_screen_mounting_exits_cleanly(monkeypatch) -> None:
    """The app mounts (and catches SIGHUP/SIGTERM) before the explorer screen does; a signal
    in between begins the exit, and the screen must not then look for its panels (the
    signals test saw exit status 1 instead of 129 on a loaded machine)."""
    monkeypatch.setattr(GradApp, "on_mount", lambda app: app.exit_on_signal(1))
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
    assert app.return_code == 129 and app._exception is None
