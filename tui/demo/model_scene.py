"""Model scenes of a demo script: load one, play it on the model screen, caption it.

A model scene names a spec and the model screen's other fields::

    [[scene]]
    name = "SGD vs Adam"
    model = "Linear(2, 8) -> Tanh() -> Linear(8, 1)"
    data = "randn(16, 2)"
    target = "randn(16, 1)"
    optimizer = "SGD(lr=0.05)"
    steps = 100
    caption = "After {trained} steps of {optimizer}: loss {loss_first} → {loss}."
    actions = [
      { into = "optimizer", type = "Adam(lr=0.05)", caption = "{optimizer}: {loss}, against {before.loss}." },
    ]

Playing it opens the model screen with those texts, builds, and trains ``steps`` steps
(``t``), then captions; an action ``type``s into a field and trains again. Loading checks
every text with the engine (a :class:`~ops.model.Trainer` is built, as the screen will).
Captions name only numbers read off the run on screen (:func:`model_values`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gradtui.tui.demo.lines import line_of
from gradtui.tui.demo.script import MODEL_KEYS, MODEL_VERBS, VERBS, Scene, _FieldState, slugify
from gradtui.tui.format import format_number
from gradtui.tui.model_presets import DEFAULT

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from gradtui.tui.demo.player import DemoApp, Player
    from gradtui.tui.demo.script import _Loader
    from gradtui.tui.screens.model import ModelScreen


def model_scene(loader: _Loader, k: int, raw: dict[str, Any]) -> Scene:
    """Check a ``model = …`` scene (with the engine, unless the loader skips it)."""
    here = ("scene", k)
    spec = raw["model"]
    if not isinstance(spec, str) or not spec.strip():
        raise loader.fail(here + ("model",), f"scene {k + 1}: model must be a layer spec")
    name = raw.get("name", f"scene {k + 1}")
    if not isinstance(name, str) or not name.strip():
        raise loader.fail(here + ("name",), f"scene {k + 1}: name must be a non-empty string")
    label = f"scene {k + 1} ({name})"
    if "inputs" in raw:
        raise loader.fail(here + ("inputs",), f"{label}: a model scene has no inputs")
    texts = {**DEFAULT, "spec": spec, "steps": "0"}
    for key in MODEL_KEYS:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise loader.fail(here + (key,), f"{label}: {key} must be a string or a number")
        texts[key] = str(value)
    steps = texts["steps"]
    if not steps.isdigit() or not 0 <= int(steps) <= 10_000:
        raise loader.fail(here + ("steps",), f"{label}: steps must be a whole number 0..10000")
    caption = raw.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        raise loader.fail(here + ("caption",), f"{label}: every scene needs a caption")
    loader.check_caption(here + ("caption",), label, caption)
    hold = loader.seconds(here + ("hold",), label, raw.get("hold"), "hold")
    _check(loader, here, label, texts, "model")
    actions_raw = raw.get("actions", [])
    if not isinstance(actions_raw, list):
        raise loader.fail(here + ("actions",), f"{label}: actions must be a list of tables")
    actions = []
    state = _FieldState(spec, False, {}, "")
    current = dict(texts)
    for j, a in enumerate(actions_raw):
        where = here + ("actions", j)
        verbs = [v for v in a if v in VERBS] if isinstance(a, dict) else []
        if any(v not in MODEL_VERBS for v in verbs):
            raise loader.fail(
                where,
                f"{label}, action {j + 1}: a model scene's actions are: "
                f"{', '.join(MODEL_VERBS)} (with caption, hold, name)",
            )
        if "type" in verbs:
            into = a.get("into")
            if into not in current or not isinstance(a["type"], str):
                raise loader.fail(
                    where,
                    f'{label}, action {j + 1}: type takes a text and into = "FIELD", a model '
                    f"field: {', '.join(current)}",
                )
            current[into] = a["type"]
            _check(loader, where, f"{label}, action {j + 1}", current, "type")
            # the loader checks the caption, hold and name (as for a pause of 0 s)
            common = {k: v for k, v in a.items() if k in ("caption", "hold", "name")}
            action = loader.action(where, f"{label}, action {j + 1}", {"pause": 0, **common}, state)
            action = replace(action, verb="type", value=a["type"], into=into)
        else:
            action = loader.action(where, f"{label}, action {j + 1}", a, state)
        actions.append(action)
    return Scene(
        number=k + 1,
        name=name.strip(),
        slug=slugify(name),
        target=spec.strip(),
        expression=False,
        values={},
        v="",
        caption=caption,
        hold=hold,
        actions=tuple(actions),
        line=line_of(loader.lines, here),
        model=texts,
    )


def _check(loader: _Loader, where: tuple, label: str, texts: dict[str, str], key: str) -> None:
    """Build the model as the screen will; an engine refusal is the script's error."""
    if not loader.check_engine:
        return
    from gradtui.ops.errors import InputError
    from gradtui.ops.model import Trainer
    from gradtui.tui.model_client import config_from

    try:
        Trainer(config_from(texts))
    except InputError as exc:
        field = exc.field if exc.field in MODEL_KEYS else key
        at = where + ((field,) if where + (field,) in loader.lines else ())
        raise loader.fail(at, f"{label}: {' '.join(str(exc).split())}") from None


# ------------------------------------------------------------------ playing


async def play_model_scene(player: Player, app: DemoApp, pilot: Pilot, scene: Scene) -> None:
    """Open the model screen with the scene's texts, train, caption; then its actions."""
    from gradtui.tui.demo.player import DemoFailed
    from gradtui.tui.widgets.caption import CaptionBar

    assert scene.model is not None
    screen = app.open_model(scene.model)
    await pilot.pause()
    if not screen.query(CaptionBar):
        await screen.mount(CaptionBar(id="caption"), before=0)
    app.show_caption(f"{scene.number}/{len(player.script.scenes)} · {scene.name}", "…")
    await _run(screen, pilot, scene.line, train=True)
    if screen.run is None:
        raise DemoFailed(scene.line, f"the model did not build: {screen.status_text}")
    await player._caption(app, pilot, scene, None, scene.caption, scene.slug, scene.hold)
    for j, action in enumerate(scene.actions, 1):
        await player._gate()
        slug = f"{scene.slug}-{slugify(action.name, 24) if action.name else j}"
        if action.verb == "type":
            screen.form.field(action.into or "").value = str(action.value)
            await _run(screen, pilot, action.line, train=False)
            if screen.form.error_text(action.into or ""):
                said = screen.form.error_text(action.into or "")
                raise DemoFailed(action.line, f"the model screen refused {action.value!r}: {said}")
            await _run(screen, pilot, action.line, train=True)
        elif action.verb == "pause":
            await player._wait(action.value)
        if action.caption:
            await player._caption(app, pilot, scene, action, action.caption, slug, action.hold)
    app.to_explorer()
    await pilot.pause()


async def _run(screen: ModelScreen, pilot: Pilot, line: int, *, train: bool) -> None:
    """Build (or train, when the scene has steps) and wait for the answer on screen."""
    from gradtui.tui.demo.player import SETTLE_TIMEOUT, DemoFailed

    await pilot.pause()
    if train:
        if int(screen.texts.get("steps", "0") or 0) <= 0:
            return
        screen.train()
    else:
        screen.build()
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while screen.busy:
        if time.monotonic() > deadline:
            raise DemoFailed(line, f"the model did not answer in {SETTLE_TIMEOUT:g} s")
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.pause()
    if screen.status_text.startswith("refused"):
        raise DemoFailed(line, screen.status_text)


def model_values(screen: ModelScreen) -> dict[str, str]:
    """What a caption can name on the model screen, read from the run on screen."""
    values = {"status": screen.status_text}
    run = screen.run
    if run is None:
        return values
    from gradtui.ops.model_diagnose import l1_outcome

    fmt = _fmt
    losses = screen.losses if screen.trained else [s.loss for s in run.steps]
    values["loss"] = fmt(losses[-1])
    values["loss_first"] = fmt(losses[0])
    values["trained"] = str(screen.trained)
    values["optimizer"] = run.optimizer
    values["spec"] = run.spec
    if run.diagnoses:
        values["run_diagnosis"] = run.diagnoses[0]
    kinds = l1_outcome(run.steps)  # the weights on screen, as run.diagnoses counts them
    zero, osc, away = (len(kinds[k]) for k in ("zero", "oscillating", "away"))
    values.update(
        zeros=str(zero),
        oscillating=str(osc),
        away=str(away),
        weights=str(zero + osc + away),
    )
    verdict = {
        (True, False): "went exactly to zero",
        (False, True): "oscillate around zero",
        (True, True): "partly went exactly to zero, partly oscillate around it",
        (False, False): "neither reached zero nor oscillate around it",
    }
    values["outcome"] = verdict[(zero > 0, osc > 0)]
    norms = run.steps[-1].layer_grad_norms
    for name, value in norms.items():
        values[f"norm.{name}"] = fmt(value)
    if norms:
        names = [layer.name for layer in run.layers if layer.name in norms]
        first, last = norms[names[0]], norms[names[-1]]
        values["norm_first"], values["norm_last"] = fmt(first), fmt(last)
        values["norm_ratio"] = fmt(last / first) if first else "inf"
    return values


def _fmt(x: float) -> str:
    return format_number(x).plain
