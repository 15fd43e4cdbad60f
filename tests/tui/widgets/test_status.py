"""The status line alone: one sentence about the result, an error, or a computation running."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from gradtui.ops.results import GradResult, InputValue, Kink, OutputValue, TensorData
from gradtui.tui.widgets.status import StatusLine
from tests.helpers import screen_text


def _t(*values: float, dtype: str = "float32") -> TensorData:
    return TensorData(value=list(values), dtype=dtype, shape=(len(values),))


EXP = GradResult(
    target="exp",
    expression="exp(input)",
    inputs={"input": InputValue("input", "[0., 1.]", _t(0.0, 1.0), requires_grad=True)},
    output=OutputValue(_t(1.0, 2.5), "ExpBackward0"),
    differentiable=True,
    reason=None,
    grads={"input": _t(1.0, 2.5)},
    grad_output=_t(1.0, 1.0),
    steps=(),
)
LT = replace(
    EXP,
    target="lt",
    expression="lt(input, other)",
    output=OutputValue(TensorData(value=[True], dtype="bool", shape=(1,)), None),
    differentiable=False,
    reason="element 0 of tensors does not require grad and does not have a grad_fn",
)
CORNER = Kink(x=0.0, kind="corner", df=0.0, left=-1.0, right=1.0, before=0.0, after=0.0, value=0.0)


class StatusApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusLine()


def _said(app: App) -> str:
    """The status line as read on screen, its wrapping undone."""
    return " ".join(screen_text(app).split())


async def test_it_starts_by_saying_torch_is_loading() -> None:
    app = StatusApp()
    async with app.run_test(size=(80, 5)) as pilot:
        status = app.query_one(StatusLine)
        assert status.plain == "loading torch…" and _said(app) == "loading torch…"
        status.loading("loading the catalog…")
        await pilot.pause()
        assert _said(app) == "loading the catalog…"


async def test_a_differentiable_result_is_summed_up_with_its_first_note() -> None:
    app = StatusApp()
    async with app.run_test(size=(100, 5)) as pilot:
        status = app.query_one(StatusLine)
        status.show_result(replace(EXP, notes=("exp' = exp", "second note")))
        await pilot.pause()
        lines = [line.strip() for line in screen_text(app).splitlines() if line.strip()]
        assert lines == [
            "✓ differentiable  exp(input) → float32[2], grad_fn=ExpBackward0, 0 backward steps",
            "exp' = exp",
        ]
        assert not status.has_class("-nondiff") and not status.has_class("-error")


async def test_no_grad_fn_is_said_first_then_torch_s_reason() -> None:
    app = StatusApp()
    async with app.run_test(size=(120, 5)) as pilot:
        status = app.query_one(StatusLine)
        status.show_result(LT)
        await pilot.pause()
        said = _said(app)
        assert said.startswith(
            "✗ not differentiable: the output is a bool tensor with no grad_fn, "
            "so there is nothing to run backward through"
        )
        assert said.endswith(LT.reason)
        assert status.has_class("-nondiff")


async def test_a_kink_names_the_kind_of_point_and_no_tick() -> None:
    app = StatusApp()
    async with app.run_test(size=(200, 5)) as pilot:
        status = app.query_one(StatusLine)
        at0 = replace(CORNER, at="input[0] = 0")
        status.show_result(
            replace(EXP, kinks=(at0, replace(CORNER, x=1.0), replace(CORNER, x=2.0)))
        )
        await pilot.pause()
        said = _said(app)
        assert said.startswith("◆ gradient computed; corner at input[0] = 0:")
        assert said.endswith("(and 2 more such points)")
        assert "✓" not in said


async def test_an_error_names_the_field_and_says_the_screen_is_stale() -> None:
    app = StatusApp()
    async with app.run_test(size=(100, 5)) as pilot:
        status = app.query_one(StatusLine)
        status.show_result(EXP)
        status.show_error("input", "expected ']'", stale=True)
        await pilot.pause()
        lines = [line.strip() for line in screen_text(app).splitlines() if line.strip()]
        assert lines == [
            "✗ input: expected ']'",
            "showing the last good result (stale) — fix the field to update",
        ]
        assert status.has_class("-error")
        status.show_error(None, "the engine broke", stale=False)
        await pilot.pause()
        assert _said(app) == "✗ the engine broke"
        status.show_result(EXP)
        await pilot.pause()
        assert not status.has_class("-error") and _said(app).startswith("✓ differentiable")


async def test_a_running_computation_is_said_and_then_the_summary_comes_back() -> None:
    app = StatusApp()
    async with app.run_test(size=(100, 5)) as pilot:
        status = app.query_one(StatusLine)
        status.show_result(EXP)
        status.computing(2.0)
        await pilot.pause()
        assert _said(app) == "computing… 2.0 s — Esc cancels"  # alone: the result is not shown
        status.computing(3.5, result_shown=True)
        await pilot.pause()
        lines = [line.strip() for line in screen_text(app).splitlines() if line.strip()]
        assert lines[0] == "computing the curve… 3.5 s — Esc cancels"
        assert lines[1].startswith("✓ differentiable  exp(input)")
        status.done_computing()
        await pilot.pause()
        assert _said(app).startswith("✓ differentiable") and "computing" not in _said(app)
