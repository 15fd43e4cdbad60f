"""The model screen through Pilot, with the real app and the real torch.

Every number the screen is checked for is read off :class:`gradtui.ops.model.Trainer` run
here on the same texts, so a view that invented, dropped or mislabelled a number fails.
"""

from __future__ import annotations

import time

from textual.pilot import Pilot

from gradtui.ops.model import ModelConfig, Trainer
from gradtui.ops.model_results import HOOK_NODE
from gradtui.tui.app import GradApp
from gradtui.tui.format import format_tensor
from gradtui.tui.model_presets import DEFAULT, PRESETS, texts_of
from gradtui.tui.screens.model import ModelScreen
from gradtui.tui.widgets.loss_curve import LossCurve, chart
from gradtui.tui.widgets.module_view import ModuleView, entries
from gradtui.tui.widgets.norm_bars import render_norms
from gradtui.tui.widgets.op_picker import OpPicker
from gradtui.tui.widgets.update_view import delta, render_update
from tests.helpers import running, type_text


def _config(texts: dict[str, str]) -> ModelConfig:
    return ModelConfig(
        spec=texts["spec"],
        data=texts["data"],
        target=texts["target"],
        loss=texts["loss"],
        optimizer=texts["optimizer"],
        l1=float(texts["l1"]),
        seed=int(texts["seed"]),
    )


async def _idle(pilot: Pilot, screen: ModelScreen, timeout: float = 120) -> None:
    """Wait until no build or training is in flight and its answer is drawn."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while screen.busy:
        assert time.monotonic() < deadline, screen.status_text
        await pilot.pause(0.05)
    await pilot.pause()
    await pilot.pause()


async def _opened(pilot: Pilot) -> ModelScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ModelScreen)
    await _idle(pilot, screen)
    assert screen.run is not None, screen.status_text
    return screen


async def test_the_picker_opens_each_preset_and_the_palette_opens_new() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        picker = app.query_one(OpPicker)
        names = [m for m in picker.matches() if m.startswith("model: ")]
        assert names == [f"model: {p.name}" for p in PRESETS] + ["model: new"]
        preset = PRESETS[1]
        app.action_focus_filter()
        await type_text(pilot, f"model: {preset.name}")
        await pilot.press("enter")
        await pilot.pause()
        screen = await _opened(pilot)
        assert screen.texts == texts_of(preset)
        expected = Trainer(_config(texts_of(preset))).step()
        assert screen.step is not None and screen.step.loss == expected.loss
        await pilot.press("escape")  # the build is done: Esc leaves the field, then the screen
        if app.screen is screen:
            await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.explorer
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "model: new" in titles
        assert [t for t in titles if t.startswith("model: ") and t != "model: new"] == [
            f"model: {p.name}" for p in PRESETS
        ]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "model: new")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # kept, with what it held
        assert screen.texts == texts_of(preset)


async def test_a_bad_field_shows_its_error_and_column_and_keeps_the_last_result() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_model()
        screen = await _opened(pilot)
        good = screen.run
        field = screen.form.field("spec")
        field.focus()
        field.value = "Linear(2, 3) -> Tanh() -> Linear(4, 1)"
        await pilot.press("enter")
        await _idle(pilot, screen)
        try:
            Trainer(_config({**DEFAULT, "spec": field.value}))
        except Exception as exc:  # noqa: BLE001 - the engine's own refusal, compared below
            refusal = exc
        assert refusal.field == "spec"
        assert screen.form.error_text("spec") == (
            f"✗ {refusal.message} (column {refusal.position + 1})"
        )
        assert screen.run is good  # the last good model stays on screen
        assert "last good model" in screen.status_text
        assert screen.focused is field and field.cursor_position == refusal.position
        # An optimizer the allow-list does not know: its own field, its own column.
        field = screen.form.field("optimizer")
        field.value = "Nope(lr=1)"
        field.focus()
        await pilot.press("enter")
        await _idle(pilot, screen)
        assert screen.form.error_text("optimizer").startswith("✗ ")
        assert screen.form.error_text("spec") == ""
        assert screen.run is good
        field.value = DEFAULT["optimizer"]
        screen.form.field("spec").value = DEFAULT["spec"]
        screen.build()
        await _idle(pilot, screen)
        assert screen.form.error_text("optimizer") == "" and screen.run is not good


async def test_backward_goes_module_by_module_and_node_by_node() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        texts = {**DEFAULT, "spec": "Linear(2, 3) -> ReLU() -> Linear(3, 1)", "l1": "0.01"}
        app.open_model(texts)
        screen = await _opened(pilot)
        expected = Trainer(_config(texts)).step()
        await pilot.press("escape")  # leave the field: n/p/d are the screen's
        await pilot.press("2")
        await pilot.pause()
        view = screen.query_one(ModuleView)
        assert [e.key for e in view.walk] == ["loss"] + [m.module for m in expected.module_grads]
        assert view.current.key == "loss"
        await pilot.press("n")
        await pilot.pause()
        first = expected.module_grads[0]
        assert view.current.key == first.module == "2"
        text = app.screen_text()
        assert format_tensor(first.grad_output[0]).plain[:30] in text
        await pilot.press("d")  # node by node inside module 2
        await pilot.pause()
        assert view.nodes_mode
        nodes = [expected.backward[i].node for i in view.node_indexes]
        owners = [expected.backward_modules[i] for i in view.node_indexes]
        assert set(owners) <= {"2", "hook"} and "2" in owners
        assert nodes[0] == HOOK_NODE  # the hook at module 2's output edge comes first
        assert "gradtui registers" in app.screen_text()  # and is labelled as gradtui's own
        seen = [view.current_node]
        for _ in nodes[1:]:
            await pilot.press("n")
            await pilot.pause()
            seen.append(view.current_node)
        assert seen == list(view.node_indexes)
        assert expected.backward[seen[-1]].leaf in ("2.weight", "2.bias")
        await pilot.press("d")  # back to modules, where it was
        await pilot.pause()
        assert not view.nodes_mode and view.current.key == "2"
        assert [e.nodes for e in view.walk] == [e.nodes for e in entries(expected)]


async def test_update_view_numbers_are_the_trainers() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (160, 48)) as pilot:
        texts = {**DEFAULT, "optimizer": "Adam(lr=0.05)"}
        app.open_model(texts)
        screen = await _opened(pilot)
        expected = Trainer(_config(texts)).step()
        shown = screen.step
        assert shown.params_after == expected.params_after
        assert shown.grads == expected.grads
        assert shown.optimizer_state == expected.optimizer_state
        await pilot.press("escape", "3")
        await pilot.pause()
        text = app.screen_text()
        for name in expected.params_after:
            assert name in text
        # what the view draws is the render of the Trainer's step, line for line
        rendered = render_update(expected, screen.run.params, screen.run.optimizer, "x", 150)
        lines = [line.plain for line in rendered.renderables]
        assert any(line.strip().startswith("exp_avg_sq") for line in lines)
        d = delta(expected.params_before["0.bias"], expected.params_after["0.bias"])
        after = expected.params_after["0.bias"].value
        before = expected.params_before["0.bias"].value
        assert d.value == [a - b for a, b in zip(after, before, strict=True)]
        assert f"{'delta':<16}{format_tensor(d, max_items=12).plain}"[:30] in "\n".join(lines)


async def test_train_draws_one_point_a_step_and_esc_goes_back() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (80, 24)) as pilot:
        texts = {**DEFAULT, "steps": "30"}
        app.open_model(texts)
        screen = await _opened(pilot)
        await pilot.press("escape", "t")
        await _idle(pilot, screen)
        curve = screen.query_one(LossCurve)
        trainer = Trainer(_config(texts))
        losses = [trainer.step(detail=False).loss for _ in range(30)]
        assert curve.losses == losses == screen.losses
        # the views show step 31, recorded in detail, and say so
        assert screen.step.step == 31 and screen.step.detail
        assert screen.step.loss == trainer.step().loss
        assert "step 31: one more step, recorded in detail, after 30" in screen.step_label
        assert "trained 30 steps" in screen.status_text
        title, _ = chart(losses, 60, 5)
        assert title.startswith("loss over 30 steps")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.explorer


async def test_space_pauses_training_and_esc_stops_it_leaving_no_thread() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        texts = {**DEFAULT, "steps": "5000"}
        app.open_model(texts)
        screen = await _opened(pilot)
        await pilot.press("escape", "t")
        await pilot.pause(0.2)
        assert screen.client.training
        await pilot.press("space")
        assert screen.client.paused and "paused" in screen.status_text
        await pilot.pause(0.3)  # a step in flight may still land
        held = len(screen.losses)
        await pilot.pause(0.3)
        assert len(screen.losses) == held < 5000  # nothing moves while paused
        await pilot.press("space")
        assert not screen.client.paused
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.client.training and "stopped" in screen.status_text
        await app.workers.wait_for_complete()
        assert not [w for w in app.workers if w.group == "model-train" and w.is_running]
        assert screen.run is not None and screen.run.steps[-1].step == 1  # the build stays


def test_norm_bars_are_on_a_log_scale_and_say_so() -> None:
    trainer = Trainer(
        ModelConfig(
            spec=" -> ".join(["Linear(2, 2)", "Sigmoid()"] * 6) + " -> Linear(2, 1)",
            data=DEFAULT["data"],
            target=DEFAULT["target"],
        )
    )
    step = trainer.step()
    lines = [t.plain for t in render_norms(step.layer_grad_norms, trainer.layers, 60).renderables]
    assert "log10 scale" in lines[0]
    norms = step.layer_grad_norms
    ratio = max(norms.values()) / min(norms.values())
    assert lines[-1] == f"largest / smallest = {format_tensor_number(ratio)}"


def format_tensor_number(x: float) -> str:
    from gradtui.tui.format import format_number

    return format_number(x).plain


async def test_help_lists_the_model_keys() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_model()
        await _opened(pilot)
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        source = app.screen.query_one("#help-text").source
        assert "## The model screen's keys" in source and "## Model mode" in source
        for key in ("`t`", "`space`", "`d`", "`n`", "`ctrl+r` / `f5`"):
            assert key in source


def _model_snapshot(view: str, train: bool):  # noqa: ANN202 - a Pilot script
    async def run_before(pilot: Pilot) -> None:
        from tests.helpers import settle

        await settle(pilot)
        app = pilot.app
        assert isinstance(app, GradApp)
        app.open_model({**DEFAULT, "steps": "50"})
        screen = await _opened(pilot)
        await pilot.press("escape")
        if train:
            await pilot.press("t")
            await _idle(pilot, screen)
        await pilot.press({"backward": "2", "update": "3", "train": "4"}.get(view, "1"))
        if view == "backward":
            await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def test_model_screen_backward_80x24_snapshot(snap_compare) -> None:
    assert snap_compare(
        GradApp(cursor_blink=False),
        terminal_size=(80, 24),
        run_before=_model_snapshot("backward", train=False),
    )


def test_model_screen_trained_160x48_snapshot(snap_compare) -> None:
    assert snap_compare(
        GradApp(cursor_blink=False),
        terminal_size=(160, 48),
        run_before=_model_snapshot("train", train=True),
    )


# ------------------------------------------------------------------ demo scenes


async def test_the_model_demo_captions_are_the_trainers_numbers() -> None:
    from gradtui.ops.model_diagnose import l1_outcome
    from gradtui.tui.demo.runner import play_headless
    from gradtui.tui.demo.script import builtin_path, load_script
    from gradtui.tui.format import format_number

    script = load_script(builtin_path("model"))
    status, player = await play_headless(script)
    assert status == 0, player.failure
    fmt = lambda x: format_number(x).plain  # noqa: E731
    l1, deep, adam = script.scenes
    # (a) SGD with L1: the weights' fate, counted from the same run done here
    trainer = Trainer(_config(l1.model))
    losses = [trainer.step(detail=False).loss for _ in range(int(l1.model["steps"]))]
    trainer.step()
    kinds = l1_outcome(trainer.steps)
    caption = player.captions[0]
    assert f"{fmt(losses[0])} → {fmt(losses[-1])}" in caption
    assert (
        f"{len(kinds['zero'])} are exactly 0.0 and {len(kinds['oscillating'])} flipped" in caption
    )
    # (b) the per-layer gradient norms of one step, Sigmoid then ReLU
    for caption, spec in (
        (player.captions[1], deep.model["spec"]),
        (player.captions[2], deep.actions[0].value),
    ):
        norms = Trainer(_config({**deep.model, "spec": spec})).step().layer_grad_norms
        first, last = norms["0"], norms[max(norms, key=int)]
        assert f"{fmt(last)}, " in caption and f"first {fmt(first)}" in caption
    # (c) SGD and Adam on the same data: the loss after N steps of each
    for caption, optimizer in (
        (player.captions[3], adam.model["optimizer"]),
        (player.captions[4], "Adam(lr=0.05)"),
    ):
        trainer = Trainer(_config({**adam.model, "optimizer": optimizer}))
        losses = [trainer.step(detail=False).loss for _ in range(int(adam.model["steps"]))]
        assert f"{fmt(losses[0])} → {fmt(losses[-1])}" in caption


def test_a_model_scene_with_a_bad_spec_is_refused_with_its_line() -> None:
    import pytest

    from gradtui.tui.demo.script import ScriptError, parse_script

    text = '[[scene]]\nname = "x"\nmodel = "Linear(2, 3) -> Nope()"\ncaption = "{loss}"\n'
    with pytest.raises(ScriptError) as caught:
        parse_script(text, "s.toml")
    assert caught.value.line == 3 and "Nope" in caught.value.message
    text = '[[scene]]\nmodel = "Linear(2, 1)"\ncaption = "{loss}"\nactions = [ { step = 1 } ]\n'
    with pytest.raises(ScriptError, match="a model scene's actions are: type, pause"):
        parse_script(text, "s.toml")
