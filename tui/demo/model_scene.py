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

from dataclasses import replace
from typing import Any

from gradtui.tui.demo.lines import line_of
from gradtui.tui.model_presets import DEFAULT

MODEL_KEYS = ("data", "target", "loss", "optimizer", "l1", "seed", "steps")
"""A model scene's settings beside ``model = SPEC`` (the model screen's fields)."""
MODEL_VERBS = ("type", "pause")
"""What a model scene's actions can do (type into a model field: rebuild and retrain)."""


def model_scene(
    loader: Any, k: int, raw: dict[str, Any], state: Any, verbs: tuple[str, ...]
) -> dict[str, Any]:
    """Check a ``model = …`` scene (with the engine, unless the loader skips it); the
    :class:`~tui.demo.script.Scene`'s fields but its slug. ``loader`` is the script's
    ``_Loader`` and ``state`` its field state for the actions, ``verbs`` every verb an
    action may name (passed in: this module does not import the script's)."""
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
    current = dict(texts)
    for j, a in enumerate(actions_raw):
        where = here + ("actions", j)
        named = [v for v in a if v in verbs] if isinstance(a, dict) else []
        if any(v not in MODEL_VERBS for v in named):
            raise loader.fail(
                where,
                f"{label}, action {j + 1}: a model scene's actions are: "
                f"{', '.join(MODEL_VERBS)} (with caption, hold, name)",
            )
        if "type" in named:
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
    return dict(
        number=k + 1,
        name=name.strip(),
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


def _check(loader: Any, where: tuple, label: str, texts: dict[str, str], key: str) -> None:
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
