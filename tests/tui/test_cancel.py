"""A long computation says it runs, Esc cancels it, and no field keeps an error of older text.

Each test makes a computation long with an allowed, memory-light expression (a product
of constant 1000x1000 matrices) and waits for the status line to change: the asserts
are about order and state, never about how long anything took.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input

from gradtui.tui.app import GradApp
from gradtui.tui.help import HelpScreen
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.helpers import HEAVY, running, settle

COMPUTING = re.compile(r"computing… (\d+\.\d) s — Esc cancels")


async def _until(pilot: Pilot, what: Callable[[], bool], why: str, limit: float = 60) -> None:
    """Pause until ``what()`` holds (``limit`` only guards against a hang)."""
    deadline = time.monotonic() + limit
    while not what():
        assert time.monotonic() < deadline, f"never happened: {why}"
        await pilot.pause(0.02)


def _status(app: GradApp) -> str:
    return app.query_one(StatusLine).plain


async def _threads_end() -> None:
    deadline = time.monotonic() + 30
    while any(t.name.startswith("gradtui-bound") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the cancelled computation kept running"
        await asyncio.sleep(0.02)


async def test_a_field_error_goes_when_its_text_is_replaced_by_a_long_computation() -> None:
    """The issue's repro: x emptied (``✗ empty text`` under it), then valid text that
    computes for long. The old error leaves once the computation is shown as running,
    and is not back after the app gives up."""
    app = GradApp(HEAVY, {"x": "[1.]"}, cursor_blink=False, timeout=60)
    async with app.run_test(size=(120, 40)) as pilot:
        app.timeout = 0.01  # the opening computation is heavy too: give it up at once
        await settle(pilot)
        app.timeout = 60
        inputs = app.query_one(InputsPanel)
        field = inputs.field("x")
        field.focus()
        await pilot.press("ctrl+a", "ctrl+k")
        await settle(pilot)
        assert field.value == "" and inputs.error_text("x").startswith("✗ empty text")
        app.timeout = 3.0
        field.insert_text_at_cursor("[2.]")
        await _until(pilot, lambda: app.computing, "the status line says it computes")
        assert field.value == "[2.]" and inputs.error_text("x") == ""
        assert COMPUTING.search(_status(app)), _status(app)
        await settle(pilot)
        assert "gave up after 3 s" in _status(app)
        assert inputs.error_text("x") == "" and not field.has_class("-invalid")
        assert field.value == "[2.]"


async def test_esc_cancels_a_long_computation_and_keeps_the_last_good_result() -> None:
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        good = app.result
        assert good is not None
        app.select_expression(HEAVY, {"x": "[1.]"})
        assert not app.computing  # not yet: a quick answer never says "computing"
        await _until(pilot, lambda: app.computing, "the status line says it computes")
        first = COMPUTING.search(_status(app))
        assert first, _status(app)
        await _until(
            pilot,
            lambda: (
                (m := COMPUTING.search(_status(app))) is not None
                and float(m.group(1)) > float(first.group(1))
            ),
            "the elapsed seconds grow",
        )
        await pilot.press("escape")
        status = _status(app)
        assert "cancelled after" in status and "stale" in status, status
        assert not app.computing and app.idle
        assert app.result is good and app.stale
        await _threads_end()
        # A late answer of the cancelled computation cannot replace the screen.
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result is good and "cancelled after" in _status(app)
        assert app.query_one(InputsPanel).names == ["expression", "x", "v"]


async def test_esc_in_a_field_cancels_first_then_leaves_the_field() -> None:
    """While a computation runs, the first Esc cancels it and the second (nothing
    running: as before) leaves the field; help's Esc only closes help."""
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        app.select_expression(HEAVY, {"x": "[1.]"})
        await settle_fields(pilot, app)
        field = app.query_one(InputsPanel).field("x")
        field.focus()
        await _until(pilot, lambda: app.computing, "the status line says it computes")
        await pilot.press("question_mark")  # in a field ? is typed: open help by its key
        assert not isinstance(app.screen, HelpScreen)
        assert field.value == "[1.]?"  # typed: a new request, the old one replaced
        await _until(pilot, lambda: app.computing or app.idle, "the edit was answered")
        if not app.computing:  # "[1.]?" was refused at once: type the heavy text back
            await pilot.press("backspace")
            await _until(pilot, lambda: app.computing, "it computes again")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.computing  # help's Esc did not cancel
        await pilot.press("escape")
        assert "cancelled after" in _status(app) and app.focused is field
        await pilot.press("escape")
        assert isinstance(app.focused, StepList)
        await _threads_end()


async def settle_fields(pilot: Pilot, app: GradApp) -> None:
    """Wait until the expression's fields are on screen (its result may be far off)."""
    await _until(
        pilot,
        lambda: app.query_one(InputsPanel).names == ["expression", "x", "v"],
        "the fields of the expression",
    )


async def test_esc_with_nothing_running_leaves_the_field_as_before() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (120, 40)) as pilot:
        app.query_one("#field-input", Input).focus()
        await pilot.press("escape")
        assert isinstance(app.focused, StepList)
        assert "cancelled" not in _status(app) and not app.stale


async def test_the_status_says_the_curve_is_computing_under_a_result_already_shown() -> None:
    """A result of million-number tensors comes in a second; its curve takes longer.
    The summary of the result stays, under a line saying the curve is computing."""
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        app.select_expression("x * exp(-x)", {"x": "randn(1000, 1000)"})
        await _until(
            pilot,
            lambda: "computing the curve…" in _status(app),
            "the curve is said to be computing",
        )
        status = _status(app)
        assert "✓ differentiable" in status and "float32[1000, 1000]" in status, status
        assert app.result is not None and app.result.output is not None
        assert app.result.output.tensor.shape == (1000, 1000)
        await pilot.press("escape")
        status = _status(app)
        assert "cancelled after" in status and "(the curve; the result shown is for these" in status
        # only the curve was cancelled: the result on screen is current, not stale
        assert not app.stale and app.result.output.tensor.shape == (1000, 1000)
        assert not app.query_one(StepperPanel).has_class("-stale")
        await _threads_end()


async def test_cancelled_before_any_result_the_panels_say_so_not_loading_torch() -> None:
    """With no result yet, the stepper and the plot say the computation was cancelled
    (they said "loading torch…" although torch had long been loaded)."""
    app = GradApp(HEAVY, {"x": "[1.]"}, cursor_blink=False, timeout=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.computing, "the status line says it computes")
        detail = app.query_one("#step-detail")

        def shown() -> str:
            return "".join(strip.text for strip in detail.lines)

        assert "computing…" in shown()  # torch is loaded; the engine works
        await pilot.press("escape")
        await _until(pilot, lambda: "cancelled after" in _status(app), "Esc cancels")
        assert app.result is None
        assert shown().startswith("no result: cancelled after")
        caption = str(app.query_one("#plot-caption").render())
        assert caption.startswith("no curve: cancelled after")
        assert "loading torch" not in app.screen_text()
        await _threads_end()


async def test_full_garbage_collections_wait_while_a_computation_runs() -> None:
    """A full pass of the collector visits every number of every result list and holds
    the GIL throughout (350 ms into a 20-matmul chain): none comes due while a request is
    unanswered; the collector's own thresholds are back once it is answered, cancelled,
    or the app has gone."""
    import gc

    from gradtui.tui.compute import FULL_GC_HELD

    before = gc.get_threshold()
    app = GradApp("exp", cursor_blink=False, timeout=120)
    async with running(app, (120, 40)) as pilot:
        assert gc.get_threshold() == before
        app.select_expression(HEAVY, {"x": "[1.]"})
        assert gc.get_threshold() == (before[0], before[1], FULL_GC_HELD)
        await _until(pilot, lambda: app.computing, "the status line says it computes")
        assert gc.get_threshold()[2] == FULL_GC_HELD
        await pilot.press("escape")
        assert not app.computing and gc.get_threshold() == before
        app.select_expression(HEAVY, {"x": "[2.]"})
        assert gc.get_threshold()[2] == FULL_GC_HELD
    assert gc.get_threshold() == before  # the app left mid-computation: released too
    await _threads_end()
