"""The backward stepper alone, fed results built by hand: the node list, the detail, stepping."""

from __future__ import annotations

from textual.app import App, ComposeResult

from gradtui.ops.results import Edge, GradResult, InputValue, OutputValue, Step, TensorData
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.helpers import screen_text


def _t(*values: float) -> TensorData:
    return TensorData(value=list(values), dtype="float32", shape=(len(values),))


def exp_result(x: tuple[float, ...] = (0.0, 1.0), *, target: str = "exp") -> GradResult:
    """``exp`` at ``x`` as the engine records it: ExpBackward0, then the leaf's AccumulateGrad."""
    out = _t(*[2.0**v for v in x])  # plain numbers stand in for e**x: the panel only shows them
    ones = _t(*[1.0] * len(x))
    return GradResult(
        target=target,
        expression="exp(input)",
        inputs={"input": InputValue("input", str(list(x)), _t(*x), requires_grad=True)},
        output=OutputValue(out, "ExpBackward0"),
        differentiable=True,
        reason=None,
        grads={"input": out},
        grad_output=ones,
        steps=(
            Step(
                index=0,
                node="ExpBackward0",
                grad_outputs=(ones,),
                grad_inputs=(out,),
                saved={"result": out},
                next=(Edge("AccumulateGrad", "input"),),
                rule="grad · result",
            ),
            Step(index=1, node="AccumulateGrad", grad_outputs=(out,), grad_inputs=(), leaf="input"),
        ),
    )


REASON = "element 0 of tensors does not require grad and does not have a grad_fn"


def no_graph_result() -> GradResult:
    out = TensorData(value=[True, False], dtype="bool", shape=(2,))
    return GradResult(
        target="lt",
        expression="lt(input, other)",
        inputs={"input": InputValue("input", "[0., 1.]", _t(0.0, 1.0), requires_grad=True)},
        output=OutputValue(out, None),
        differentiable=False,
        reason=REASON,
        grads={"input": None},
        grad_output=None,
        steps=(),
    )


class StepperApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StepperPanel()


async def _shown(pilot, result: GradResult) -> StepperPanel:
    stepper = pilot.app.query_one(StepperPanel)
    stepper.show_result(result)
    await pilot.pause()
    return stepper


async def test_before_a_result_it_says_why_there_is_no_graph() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = app.query_one(StepperPanel)
        assert stepper.steps == () and stepper.current is None
        assert "loading torch…" in screen_text(app)
        stepper.show_placeholder("starting the engine…")
        await pilot.pause()
        assert "starting the engine…" in screen_text(app)
        assert not stepper.step(1)


async def test_the_list_names_each_node_and_the_detail_shows_the_first_step() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, exp_result())
        assert stepper.index == 0 and stepper.current is not None
        text = screen_text(app)
        assert " 1 ExpBackward0 " in text
        assert " 2 AccumulateGrad → input " in text
        assert "forward  exp(input) = [1., 2.]  float32[2]  grad_fn=ExpBackward0" in text
        assert "ExpBackward0  step 1 of 2" in text
        assert "rule  grad · result" in text
        assert "grad_output[0]  [1., 1.]" in text
        assert "[0] → AccumulateGrad (input)  [1., 2.]" in text
        assert "input.grad  None  (not reached yet)" in text


async def test_stepping_moves_through_the_nodes_and_stops_at_both_ends() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, exp_result())
        assert stepper.step(1)
        await pilot.pause()
        assert stepper.index == 1 and stepper.query_one(StepList).highlighted == 1
        text = screen_text(app)
        assert "AccumulateGrad  step 2 of 2" in text
        assert "input.grad  [1., 2.]" in text  # reached: the leaf's gradient is filled
        assert not stepper.step(1)  # already at the last node
        assert stepper.step(-5) and stepper.index == 0  # clamped at the first


async def test_keys_in_the_list_move_the_current_step() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, exp_result())
        stepper.query_one(StepList).focus()
        await pilot.press("down")
        assert stepper.index == 1
        assert "AccumulateGrad  step 2 of 2" in screen_text(app)
        await pilot.press("up")
        assert stepper.index == 0


async def test_a_new_result_keeps_the_position_only_for_the_same_graph() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, exp_result())
        stepper.step(1)
        await _shown(pilot, exp_result((3.0, 4.0)))  # an edited input: the same nodes
        assert stepper.index == 1
        assert "input.grad  [8., 16.]" in screen_text(app)  # the new values at the same step
        await _shown(pilot, no_graph_result())
        assert stepper.index == 0


async def test_a_result_without_a_graph_says_so_and_why() -> None:
    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, no_graph_result())
        assert stepper.current is None and not stepper.step(1)
        text = screen_text(app)
        assert "(no backward graph)" in text
        assert "grad_fn=None" in text and "No backward graph." in text
        assert REASON in " ".join(text.split())  # the engine's reason, in full


async def test_stale_is_said_in_the_title() -> None:
    app = StepperApp()
    app.CSS = "StepperPanel { border: round white; }"  # the title lives on the border
    async with app.run_test(size=(70, 24)) as pilot:
        stepper = await _shown(pilot, exp_result())
        assert "backward" in screen_text(app) and "(stale)" not in screen_text(app)
        stepper.set_stale(True)
        await pilot.pause()
        assert "backward (stale)" in screen_text(app) and stepper.has_class("-stale")
        stepper.set_stale(False)
        await pilot.pause()
        assert "(stale)" not in screen_text(app) and not stepper.has_class("-stale")


async def test_a_node_with_a_non_finite_gradient_is_flagged_in_the_list() -> None:
    """A real result (log at 0 has an infinite gradient), so the flag follows the engine."""
    from gradtui.ops.run import run

    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        await _shown(pilot, run("log", {"input": "[0., 2.]"}))
        assert " 1 LogBackward0 ! " in screen_text(app)
        await _shown(pilot, run("exp", {"input": "[1., 2.]"}))  # another graph: labels rebuilt
        assert " 1 ExpBackward0 " in screen_text(app) and " ! " not in screen_text(app)


async def test_the_non_finite_flag_follows_an_edit_that_keeps_the_nodes() -> None:
    from gradtui.ops.run import run

    app = StepperApp()
    async with app.run_test(size=(70, 24)) as pilot:
        await _shown(pilot, run("log", {"input": "[1., 2.]"}))
        assert " ! " not in screen_text(app)
        await _shown(pilot, run("log", {"input": "[0., 2.]"}))  # the same nodes, now inf
        assert " 1 LogBackward0 ! " in screen_text(app)
        await _shown(pilot, run("log", {"input": "[3., 2.]"}))  # finite again: no stale "!"
        assert " 1 LogBackward0 " in screen_text(app) and " ! " not in screen_text(app)
