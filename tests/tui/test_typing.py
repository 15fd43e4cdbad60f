"""Typing a custom expression key by key, as a person does (regressions found by the demo).

A person types ``exp(x)`` one key at a time, so the app sees ``e``, ``ex``, ``exp``,
``exp(`` … on the way. Each prefix is sent to the engine; the app must stay in
expression mode whatever the prefix reads like, and the texts the person gave the
expression's inputs must survive names that vanish for a few keys.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from gradtui.ops.display import a_dtype
from gradtui.tui.app import GradApp
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepperPanel
from tests.helpers import running, settle, type_into


async def test_typing_exp_of_x_stays_in_expression_mode() -> None:
    """Regression: at the prefix ``exp`` the app switched to the catalog op and lost ``(x)``."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * y")
        await settle(pilot)
        field = await type_into(pilot, "expression")
        panel = app.query_one(InputsPanel)
        typed = ""
        for key in "exp(x)":
            typed += key
            await pilot.press(key)
            await settle(pilot)
            assert field.value == typed and app.target == typed
            assert panel.names[0] == "expression", typed
            assert app.focused is field, typed
            if typed == "exp":
                # The language's own word for a function not called yet, under the field.
                assert "is a function" in panel.error_text("expression")
                assert "is a function" in app.query_one(StatusLine).plain
        assert panel.names == ["expression", "x", "v"]
        assert app.result is not None and app.result.target == "exp(x)" and not app.stale
        assert "ExpBackward0" in [s.node for s in app.result.steps]


async def test_a_bare_name_is_an_expression_in_expression_mode() -> None:
    """``x`` on the way to ``x * y`` is the identity of a free name, not an unknown op."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * y")
        await settle(pilot)
        await type_into(pilot, "expression")
        await pilot.press("x")
        await settle(pilot)
        assert app.query_one(InputsPanel).names == ["expression", "x", "v"]
        assert app.result is not None and app.result.target == "x" and not app.stale
        assert list(app.result.inputs) == ["x"]


async def test_a_misspelt_op_on_the_command_line_is_still_an_unknown_op() -> None:
    """``gradtui expp`` means an op: the engine's "did you mean" is kept."""
    app = GradApp("expp", cursor_blink=False)
    async with running(app, (120, 40)):
        status = app.query_one(StatusLine).plain
        assert "unknown op 'expp'" in status and "exp" in status
        assert app.is_running


@pytest.mark.parametrize("settle_each_key", [True, False])
async def test_texts_of_names_that_vanish_while_typing_come_back(settle_each_key: bool) -> None:
    """Regression: typing ``x*y`` passes through ``x`` and ``x*``; y's text must come back."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * y")
        await settle(pilot)
        panel = app.query_one(InputsPanel)
        for name, text in (("x", "[3., 4.]"), ("y", "[7., -1.]")):
            await type_into(pilot, name, text)
        assert app.result is not None and app.result.inputs["y"].text == "[7., -1.]"
        await type_into(pilot, "expression")
        seen_without_y = False
        for key in "x*y":
            await pilot.press(key)
            if settle_each_key:
                await settle(pilot)
                seen_without_y |= "y" not in panel.names
        await settle(pilot)
        if settle_each_key:
            assert seen_without_y  # y's field really went away on the way
        assert panel.names == ["expression", "x", "y", "v"]
        assert panel.texts["x"] == "[3., 4.]" and panel.texts["y"] == "[7., -1.]"
        assert app.result is not None and app.result.target == "x*y" and not app.stale
        assert app.result.inputs["y"].text == "[7., -1.]"
        # And a name that leaves and comes back later in the same session keeps its text too.
        await pilot.press("backspace")
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        assert "y" not in panel.names
        await pilot.press("backspace", "y")
        await settle(pilot)
        assert panel.texts["y"] == "[7., -1.]"


async def test_choosing_an_op_ends_the_expression_session() -> None:
    """Texts remembered while typing an expression belong to it, not to the next op."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("input * 2", {"input": "[9.]"})
        await settle(pilot)
        assert app.query_one(InputsPanel).texts["input"] == "[9.]"
        app.select_op("sin")
        await settle(pilot)
        assert app.query_one(InputsPanel).texts["input"] != "[9.]"
        assert app.result is not None and app.result.target == "sin"


@pytest.mark.parametrize(
    ("dtype", "said"),
    [("int64", "an int64"), ("bool", "a bool"), ("float32", "a float32"), ("uint8", "a uint8")],
)
def test_a_dtype_has_the_article_said_aloud(dtype: str, said: str) -> None:
    assert a_dtype(dtype) == said


async def test_status_line_says_an_int64_tensor() -> None:
    """Regression: the status line said "the output is a int64 tensor"."""
    app = GradApp(cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * 2", {"x": "[1, 2]"})
        await settle(pilot)
        result = app.result
        assert result is not None and not result.differentiable
        assert result.output is not None and result.output.tensor.dtype == "int64"
        status = app.query_one(StatusLine).plain
        assert "the output is an int64 tensor with no grad_fn" in status
        assert "a int64" not in status and "a int64" not in (result.reason or "")
        app.select_op("lt")
        await settle(pilot)
        assert "the output is a bool tensor with no grad_fn" in app.query_one(StatusLine).plain


def _queue(app: GradApp, *keys: tuple[str, str | None]) -> None:
    """Put key events in the app's queue at once, as one read from a fast typist, a paste
    or a browser's packet gives them (Pilot's ``press`` waits after each key)."""
    for key, char in keys:
        app.post_message(events.Key(key, char))


async def test_queued_keys_after_slash_land_in_the_filter() -> None:
    """Regression (found in the browser): ``/sigm`` typed fast sent ``sigm`` to the step
    list as keys, ``g`` drawing the graph, and the filter stayed empty."""
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        _queue(app, ("slash", "/"), *((c, c) for c in "sigm"))
        await settle(pilot)
        filt = app.query_one("#op-filter", Input)
        assert app.focused is filt and filt.value == "sigm"
        assert not app.query_one(StepperPanel).graph_mode
        _queue(app, ("enter", "\r"))
        await settle(pilot)
        assert app.target == "sigmoid"


async def test_queued_n_after_escape_steps_and_leaves_the_field_as_it_was() -> None:
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        field = await type_into(pilot, "input", "[1., 2.]")
        stepper = app.query_one(StepperPanel)
        assert app.focused is field and stepper.index == 0 and len(stepper.steps) >= 2
        _queue(app, ("escape", None), ("n", "n"))
        await settle(pilot)
        assert field.value == "[1., 2.]"
        assert stepper.index == 1


async def test_slash_is_still_text_in_a_field_and_esc_still_closes_help() -> None:
    app = GradApp(cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x")
        await settle(pilot)
        field = await type_into(pilot, "expression", "x / 2")
        assert field.value == "x / 2" and app.target == "x / 2"
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert app.screen is not app.explorer
        await pilot.press("slash")  # nothing on the help screen
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.explorer and field.value == "x / 2"


async def test_a_burst_of_keys_edits_a_field_in_the_order_typed() -> None:
    """Regression (found in the browser tests, Textual issue #6605): a field's binding keys
    (End, Ctrl+U, Backspace, Left) acted after the printable keys of the same burst, so
    ``End, Ctrl+U, [0.5]`` left ``]``. Every key is queued at once, then the app settles."""
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        field = await type_into(pilot, "input", "[1., 2.]")
        burst = [("end", None), ("ctrl+u", "\x15"), *((c, c) for c in "[0.5, 9")]
        burst += [("backspace", "\x7f"), ("left", None), ("left", None), ("4", "4")]
        burst += [("end", None), ("1", "1"), ("right_square_bracket", "]")]
        _queue(app, *burst)
        await settle(pilot)
        assert field.value == "[0.54, 1]"
        assert app.result.inputs["input"].tensor.value == [0.5400000214576721, 1.0]
