"""The app as a person uses it, driven by Textual's Pilot over the real engine and torch.

No result here is typed by hand: every expectation is read from the engine's own
answer (``app.result``) or from the screen, so the tests follow whatever the installed
torch does.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Markdown

from gradtui.ops.catalog import CATALOG
from gradtui.tui.app import GradApp
from gradtui.tui.format import format_tensor
from gradtui.tui.help import HelpScreen
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.op_picker import OpPicker, snippet_of
from gradtui.tui.widgets.plot import PlotPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.helpers import python, running, settle, type_into, type_text, wait_for_text


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
    assert python(code).stdout.strip() == "[]"


async def test_opens_on_exp_with_the_graph_computed() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)):
        assert app.target == "exp"
        assert app.result is not None and app.result.differentiable
        nodes = [s.node for s in app.result.steps]
        assert nodes[0] == "ExpBackward0"
        assert "ExpBackward0" in app.screen_text()
        # Focus starts where n works.
        assert isinstance(app.focused, StepList)
        assert "✓ differentiable" in app.query_one(StatusLine).plain


async def test_the_picker_finds_a_generated_op_fuzzily_and_shows_its_signature() -> None:
    """``lsvd`` finds ``linalg.svd`` among the ops generated from OpInfo, and opens it."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        picker = app.query_one(OpPicker)
        # after "custom expression"; the seed group's snippets open the snippet editor,
        # its "model: …" entries the model screen
        names = [
            n for n in picker.matches()[1:] if snippet_of(n) is None and not n.startswith("model: ")
        ]
        hand_written = [n for n in names if n in CATALOG]
        assert names[: len(hand_written)] == hand_written  # the seed's ops stay first
        assert "linalg.svd" in names and len(names) > 400  # then the generated ones
        await pilot.press("slash")
        await type_text(pilot, "lsvd")
        assert picker.matches()[0] == "linalg.svd"
        assert picker.info_text.startswith("torch.linalg.svd(input, full_matrices=True")
        assert "singular value decomposition" in picker.info_text
        await pilot.press("enter")
        await settle(pilot)
        assert app.target == "linalg.svd"
        assert app.result is not None and app.result.target == "linalg.svd"


async def test_pick_an_op_by_filter() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        await pilot.press("slash")
        assert app.focused is app.query_one("#op-filter")
        await type_text(pilot, "gath")
        assert app.query_one(OpPicker).matches()[0] == "gather"  # the best match first
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
    async with running(app, (100, 30)) as pilot:
        field = await type_into(pilot, "input", "[0.5, -1.]")
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
    async with running(app, (100, 30)) as pilot:
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
    async with running(app, (160, 48)) as pilot:
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
    async with running(app, (100, 30)) as pilot:
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
    async with running(app, (100, 30)) as pilot:
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
    async with running(app, (100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "op: gather")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.target == "gather"
        assert app.result is not None and app.result.target == "gather"


async def test_palette_offers_every_op_toggle_theme_and_screenshot() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)):
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert {f"op: {op}" for op in app.ops} <= names
        assert "op: custom expression" in names
        assert {"toggle: f″ (second derivative)", "toggle: numeric check"} <= names
        assert {f"theme: {t}" for t in app.available_themes} <= names
        assert "save screenshot" in names


async def test_save_screenshot_from_the_palette(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "save screenshot")
        cmd.callback()
        await pilot.pause()
    shots = list(tmp_path.glob("*.svg"))
    assert len(shots) == 1 and "ExpBackward0" in shots[0].read_text()


async def test_resize_to_80x24_and_50x15() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
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


async def test_custom_expression_makes_its_free_names_inputs() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.select_expression("x * y")
        await settle(pilot)
        panel = app.query_one(InputsPanel)
        assert panel.names == ["expression", "x", "y", "v"]
        assert app.result is not None and set(app.result.inputs) == {"x", "y"}
        field = app.query_one("#field-expression", Input)
        field.focus()
        field.cursor_position = len(field.value)
        await type_text(pilot, " + z")
        await settle(pilot)
        assert panel.names == ["expression", "x", "y", "z", "v"]
        assert app.focused is field  # the field being typed in keeps focus
        assert app.result is not None and app.result.target == "x * y + z"
        await type_text(pilot, " +")
        await settle(pilot)
        assert panel.error_text("expression") and app.stale


async def test_plot_layers_toggle_and_second_derivative_is_sampled() -> None:
    app = GradApp("sin", cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        canvas = app.query_one(PlotPanel).canvas
        assert app.curve is not None and app.curve.d2f is None
        caption = app.query_one("#plot-caption")
        assert "f″" not in str(caption.render())
        before = canvas.text()
        await pilot.press("d")
        await settle(pilot)
        assert app.show_d2 and app.curve is not None and app.curve.d2f is not None
        # The legend is the caption (never drawn over the data); f″ is drawn and named.
        assert "f″" in str(caption.render()) and canvas.text() != before
        await pilot.press("c")
        assert not app.show_numeric and not canvas.show_numeric


async def test_plot_is_rendered_once_per_data_and_size() -> None:
    app = GradApp("sin", cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        canvas = app.query_one(PlotPanel).canvas
        renders = canvas.renders
        for _ in range(3):
            await pilot.press("n", "p")  # other panels redraw; the plot is not re-rendered
        canvas.refresh()
        await pilot.pause()
        assert canvas.renders == renders
        await pilot.press("c", "c")  # back to a layer combination already drawn: cache hit
        await pilot.pause()
        assert canvas.renders == renders + 1


async def test_newer_edits_replace_older_ones() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        for k in range(1, 8):
            app.set_input("input", f"[{k}.]")
        await settle(pilot)
        assert app.result is not None
        assert app.result.inputs["input"].text == "[7.]"
        assert app.query_one("#field-input", Input).value == "[7.]"


async def test_non_finite_gradients_are_flagged_in_the_stepper() -> None:
    app = GradApp("log", {"input": "[-1., 0., 2.]"}, cursor_blink=False)
    async with running(app, (120, 40)):
        result = app.result
        assert result is not None
        first = result.steps[0]
        text = _detail(app)
        assert "nan" in text or "inf" in text
        label = app.query_one(StepList).get_option_at_index(0).prompt
        assert str(label).endswith("!")
        assert first.node in str(label)


async def test_switching_ops_remembers_each_ops_inputs() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.set_input("input", "[4.]")
        await settle(pilot)
        app.select_op("abs")
        await settle(pilot)
        assert app.query_one("#field-input", Input).value != "[4.]"
        app.select_op("exp")
        await settle(pilot)
        assert app.query_one("#field-input", Input).value == "[4.]"
        assert app.result is not None and app.result.inputs["input"].text == "[4.]"


async def test_plot_variable_cycles_through_inputs_that_require_grad() -> None:
    app = GradApp("mul", cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        assert app.result is not None and app.curve is not None
        leaves = [n for n, v in app.result.inputs.items() if v.requires_grad]
        assert len(leaves) >= 2
        first = app.curve.var.split("[")[0]
        await pilot.press("x")
        await settle(pilot)
        second = app.curve.var.split("[")[0]
        assert second != first and second in leaves
        assert second in app.screen_text()


async def test_a_computation_past_the_time_bound_is_abandoned_and_the_screen_kept() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        good = app.result
        app.timeout = 0.01
        heavy = "sum(randn(1000, 1000) @ randn(1000, 1000) @ randn(1000, 1000)) * x"
        app.select_expression(heavy)
        await settle(pilot)
        status = app.query_one(StatusLine).plain
        assert "gave up after 0.01 s" in status and "stale" in status
        assert app.result is good and app.stale
        # The abandoned answer, when it finally comes, does not replace the screen.
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result is good
        assert app.is_running
        # The panel already shows the expression's own fields, with the person's text.
        assert app.query_one(InputsPanel).names == ["expression", "x", "v"]
        assert app.query_one("#field-expression", Input).value == heavy


async def test_no_color_still_shows_everything(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = GradApp("log", {"input": "[-1., 0., 2.]"}, cursor_blink=False)
    async with running(app, (160, 48)):
        assert app.no_color
        canvas = app.query_one(PlotPanel).canvas
        assert not canvas._color()
        text = app.screen_text()
        assert "LogBackward0" in text and "nan" in text
        # Without colour the lines differ by marker, and the caption's legend says which.
        assert "•• f′" in str(app.query_one("#plot-caption").render())
        assert "•" in canvas.text()


def test_every_binding_has_a_tooltip_and_an_id() -> None:
    from textual.binding import Binding

    for owner in (GradApp, HelpScreen):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.tooltip, f"{owner.__name__} {binding.key} has no tooltip"
            assert binding.id, f"{owner.__name__} {binding.key} has no id"


async def test_tab_moves_between_panels() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        visited = []
        for _ in range(8):
            await pilot.press("tab")
            focused = app.focused
            assert focused is not None
            panel = next(
                (
                    a.id
                    for a in focused.ancestors_with_self
                    if a.id in ("picker", "inputs", "stepper")
                ),
                None,
            )
            visited.append(panel)
        assert {"picker", "inputs", "stepper"} <= set(visited)


async def test_palette_changes_the_theme() -> None:
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        other = next(t for t in sorted(app.available_themes) if t != app.theme)
        await pilot.press("ctrl+p")
        await type_text(pilot, f"theme: {other}")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == other


async def test_each_op_keeps_its_own_upstream_gradient() -> None:
    app = GradApp("exp", {"v": "[1., 0., 2.]"}, cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        assert app.result is not None and app.result.grad_output is not None
        assert app.result.grad_output.value == [1.0, 0.0, 2.0]
        app.select_op("gather")  # another output shape: v starts empty (ones) there
        await settle(pilot)
        assert app.query_one("#field-v", Input).value == ""
        assert app.result is not None and not app.stale
        app.select_op("exp")
        await settle(pilot)
        assert app.query_one("#field-v", Input).value == "[1., 0., 2.]"


async def test_every_catalog_op_opens_with_its_defaults() -> None:
    """Each op's default inputs give a result (or torch's refusal) and a plot that draws."""
    app = GradApp(cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        assert len(app.ops) > 20
        for name in app.ops:
            app.select_op(name)
            await settle(pilot)
            status = app.query_one(StatusLine).plain
            assert "internal error" not in status, (name, status)
            assert app.result is not None and app.result.target == name, name
            assert app.query_one(InputsPanel).names[:-1] == list(app.result.inputs), name
            assert "cannot draw" not in app.query_one(PlotPanel).canvas.text(), name


async def test_first_screen_paints_and_answers_keys_while_torch_loads(monkeypatch) -> None:
    """The engine loads in a worker: until it is ready the screen says so and keys work."""
    import threading

    import gradtui.tui.engine_client
    from gradtui.tui.compute import load_engine

    gate = threading.Event()

    def slow_load():
        gate.wait(30)
        return load_engine()

    monkeypatch.setattr(gradtui.tui.engine_client, "load_engine", slow_load)
    app = GradApp(cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        assert app.query_one(StatusLine).plain == "loading torch…"
        assert "loading torch…" in app.screen_text()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.result is None and not app.idle
        gate.set()
        await settle(pilot)
        assert app.result is not None and app.result.steps[0].node == "ExpBackward0"


async def test_inputs_without_a_curve_clear_the_plot_and_say_why() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        plot = app.query_one(PlotPanel)
        assert plot.curve is not None
        app.select_expression("sin(2.0)")  # no input to vary
        await settle(pilot)
        assert app.curve is None and plot.curve is None
        assert "no curve" in app.screen_text()
        assert plot.canvas.text() == ""


async def test_list_keys_while_the_terminal_is_too_small_do_no_harm() -> None:
    """Regression (found by random keys): page keys on a hidden list raised in Textual."""
    app = GradApp(cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        for list_id in ("#op-list", "#step-list"):
            app.query_one(list_id).focus()
            await pilot.resize_terminal(50, 15)
            await pilot.pause()
            await pilot.press("pageup", "pagedown", "home", "end", "up", "down", "enter")
            assert app.is_running
            await pilot.resize_terminal(100, 30)
            await pilot.pause()
        assert "ExpBackward0" in app.screen_text()


async def test_status_line_and_plot_caption_name_the_kind_of_point() -> None:
    """The status line and the plot caption use the engine's one detector: a jump is a
    jump with its limits, a corner has its slopes, and neither says "✓ differentiable"."""
    app = GradApp("floor", {"input": "[1.0, 1.5]"}, cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        status = app.query_one(StatusLine).plain
        (kink,) = app.result.kinks
        assert (kink.kind, kink.at) == ("jump", "input[0] = 1")
        assert status.startswith("◆ gradient computed; jump at input[0] = 1: f jumps from 0 to 1")
        assert "✓" not in status and "slope" not in status
        await pilot.press("l")
        await settle(pilot)
        caption = str(app.query_one("#plot-caption").render())
        assert "no f′ at: jumps at input=" in caption and "kink" not in caption
        assert all(k.kind == "jump" for k in app.curve.kinks)

    app = GradApp("abs", {"input": "[-1.0, 0.0, 1.0]"}, cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        status = app.query_one(StatusLine).plain
        assert "corner at input[1] = 0: the one-sided slopes are -1 (left) and +1 (right)" in status

    app = GradApp("exp", cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        assert app.query_one(StatusLine).plain.startswith("✓ differentiable")


async def test_the_stepper_names_a_saved_reduction() -> None:
    from torch.nn import _reduction

    app = GradApp(cursor_blink=False)
    async with running(app, (160, 50)) as pilot:
        app.select_op("binary_cross_entropy", {})
        await settle(pilot)
        nodes = [s.node for s in app.result.steps]
        app.step(nodes.index("BinaryCrossEntropyBackward0") - app.step_index)
        await pilot.pause()
        mean = _reduction.get_enum("mean")  # what torch saves for the default reduction
        assert f"reduction  {mean} (mean)" in await wait_for_text(pilot, "reduction  ")


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
