"""Demo scripts: the TOML format, its loader and the checks made before anything plays.

A script is a list of scenes. A scene opens an op (or an expression) with its inputs and
says what the screen shows in a caption; then it runs actions (type into a field, step
the backward pass, toggle a plot layer, switch the view, pause), any of which may carry
its own caption. The README's "Demo mode" section documents the format with a complete
example; ``tui/demos/tour.toml`` is the built-in tour.

Captions are templates (:mod:`tui.demo.captions`); loading checks their placeholders,
playing fills them.

A bad script is refused before anything plays, with one line that names the file, the
line and what is wrong (:class:`ScriptError`). Inputs and typed text are checked by the
engine itself (:func:`ops.run.run`, the same call the app makes, so the script's error
is the app's, word for word), never by a second parser. ``tomllib`` gives no positions
for values, so lines come from :mod:`tui.demo.lines`, which scans the raw text for each
key's path.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT, LAYERS
from gradtui.tui.demo.captions import placeholders
from gradtui.tui.demo.lines import key_lines, line_of
from gradtui.tui.demo.model_scene import MODEL_KEYS, model_scene

VERBS = ("type", "step", "step_to", "layer", "view", "plot_var", "pause")
"""What an action can do; each action table has exactly one of these keys."""
ACTION_OPTIONS = {
    "into": "type",
    "refused": "type",
    "repeat": "step",
    "on": "layer",
}
"""Keys that only make sense with one verb (``into`` goes with ``type``, ...)."""
COMMON_ACTION_KEYS = ("caption", "hold", "name")
TARGET_KEYS = ("op", "expression", "snippet", "model")
"""What a scene opens: exactly one of these."""
SCENE_KEYS = ("name", *TARGET_KEYS, "inputs", "caption", "hold", "actions", *MODEL_KEYS)
"""What a scene opens: exactly one of these."""
SNIPPET_VERBS = ("pause",)
"""What a snippet scene's actions can do (it pastes and runs its snippet, then shows it)."""
TOP_KEYS = ("title", "scene")
VIEW_NAMES = ("plot", "steps")
MAX_PAUSE = 60.0
MAX_REPEAT = 100


class ScriptError(Exception):
    """A script that cannot play: the file, the line and what is wrong.

    Attributes:
        status: The exit status of the command that met it: 2 for a script refused
            before it plays (or by ``--check``), 1 for a headless play that failed part-way.
    """

    def __init__(self, path: str, line: int, message: str, *, status: int = 2) -> None:
        self.path = path
        self.line = line
        self.message = message
        self.status = status
        super().__init__(f"{path}:{line}: {message}")


# ----------------------------------------------------------------- the format


@dataclass(frozen=True)
class Action:
    """One thing a scene does after it opens.

    Attributes:
        verb: One of :data:`VERBS`.
        value: The verb's value: text to type, steps to move (an int, ``"first"`` or
            ``"last"``), a node name, a layer, a view, an input name, or seconds.
        into: For ``type``: the field typed into (an input, ``v`` or ``expression``).
        refused: For ``type``: the engine must refuse this text (to show an error).
        repeat: For ``step``: how many times to step (stops early at either end).
        on: For ``layer``: ``True``/``False`` to set it; ``None`` toggles.
        caption: The caption shown once this action's result is on screen.
        hold: Seconds the caption stays (live mode; default: by its length).
        name: A short name for the frame files of this action.
        line: Where the action is in the script.
    """

    verb: str
    value: Any
    into: str | None = None
    refused: bool = False
    repeat: int = 1
    on: bool | None = None
    caption: str | None = None
    hold: float | None = None
    name: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Scene:
    """One op (or expression) with its inputs, a caption and actions.

    Attributes:
        number: 1-based position in the script.
        name: What the caption bar calls it (default: the op).
        slug: ``name`` as a file-name part.
        target: The op name or expression.
        expression: Whether ``target`` is an expression.
        values: Every input's text (defaults filled in by the engine).
        v: The upstream gradient's text ("" means ones).
        caption: The template shown once the scene is open.
        hold: Seconds the opening caption stays (live mode).
        actions: What happens next, in order.
        line: Where the scene starts in the script.
        snippet: For a snippet scene (``snippet = "lt"``): the seed snippet's code, which
            the scene pastes into the snippet editor and runs; ``target`` is its name.
        model: For a model scene (``model = "Linear(2, 3) -> ..."``): the model screen's
            texts (``steps``: how many steps the scene trains; ``"0"``: build only).
    """

    number: int
    name: str
    slug: str
    target: str
    expression: bool
    values: dict[str, str]
    v: str
    caption: str
    hold: float | None
    actions: tuple[Action, ...]
    line: int
    snippet: str | None = None
    model: dict[str, str] | None = None


@dataclass(frozen=True)
class Script:
    """A loaded, checked script."""

    path: str
    title: str
    scenes: tuple[Scene, ...] = field(default_factory=tuple)


def slugify(text: str, limit: int = 32) -> str:
    """``"BCE vs logits!"`` → ``"bce-vs-logits"`` (for frame file names)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "scene"


# ----------------------------------------------------------------- loading


def builtin_path(name: str) -> Path | None:
    """The path of built-in script ``name`` (``"tour"``, ``"example"``), if there is one."""
    from importlib.resources import files

    if not re.fullmatch(r"[a-z0-9_-]+", name):
        return None
    candidate = Path(str(files("gradtui.tui") / "demos" / f"{name}.toml"))
    return candidate if candidate.is_file() else None


def load_script(path: str | Path, *, check_engine: bool = True) -> Script:
    """Read, parse and check the script at ``path``; nothing plays.

    Args:
        path: The TOML file.
        check_engine: Also check ops, inputs and typed text with the engine (imports
            torch). Off only for tests of the format itself.

    Raises:
        ScriptError: The first problem found, with its line.
    """
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(shown, 1, f"cannot read the script: {exc}") from None
    return parse_script(text, shown, check_engine=check_engine)


def parse_script(text: str, path: str = "<script>", *, check_engine: bool = True) -> Script:
    """:func:`load_script` for a script already read into ``text``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        line = int(found.group(1)) if found else 1
        if found:
            message = f"{message[: found.start()].rstrip()} (column {found.group(2)})"
        raise ScriptError(path, line, f"bad TOML: {message}") from None
    loader = _Loader(path, key_lines(text), check_engine)
    return loader.script(data)


class _Loader:
    """Turns parsed TOML into a :class:`Script`, blaming lines as it goes."""

    def __init__(self, path: str, lines: dict, check_engine: bool) -> None:
        self.path = path
        self.lines = lines
        self.check_engine = check_engine

    def fail(self, where: tuple, message: str) -> ScriptError:
        return ScriptError(self.path, line_of(self.lines, where), message)

    def script(self, data: dict[str, Any]) -> Script:
        for key in data:
            if key not in TOP_KEYS:
                raise self.fail((key,), f"unknown key {key!r}; a script has: {', '.join(TOP_KEYS)}")
        title = data.get("title", "")
        if not isinstance(title, str):
            raise self.fail(("title",), "title must be a string")
        scenes = data.get("scene")
        if not isinstance(scenes, list) or not scenes:
            raise self.fail(("scene",), "a script needs at least one [[scene]]")
        return Script(self.path, title, tuple(self.scene(k, raw) for k, raw in enumerate(scenes)))

    def scene(self, k: int, raw: Any) -> Scene:
        here = ("scene", k)
        if not isinstance(raw, dict):
            raise self.fail(here, f"scene {k + 1} must be a table ([[scene]])")
        for key in raw:
            if key not in SCENE_KEYS:
                raise self.fail(
                    here + (key,),
                    f"scene {k + 1}: unknown key {key!r}; a scene has: {', '.join(SCENE_KEYS)}",
                )
        if sum(key in raw for key in TARGET_KEYS) != 1:
            raise self.fail(
                here,
                f"scene {k + 1}: give exactly one of op = …, expression = …, snippet = … "
                "or model = …",
            )
        if "snippet" in raw:
            return self.snippet_scene(k, raw)
        if "model" in raw:
            state = _FieldState(str(raw["model"]), False, {}, "")
            fields = model_scene(self, k, raw, state, VERBS)
            return Scene(**fields, slug=slugify(fields["name"]))
        for key in MODEL_KEYS:
            if key in raw:
                raise self.fail(here + (key,), f"scene {k + 1}: {key} goes with model = …")
        is_expr = "expression" in raw
        target = raw["expression" if is_expr else "op"]
        tkey = "expression" if is_expr else "op"
        if not isinstance(target, str) or not target.strip():
            raise self.fail(here + (tkey,), f"scene {k + 1}: {tkey} must be a non-empty string")
        target = target.strip()
        name = raw.get("name", target if not is_expr else f"scene {k + 1}")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(here + ("name",), f"scene {k + 1}: name must be a non-empty string")
        label = f"scene {k + 1} ({name})"
        inputs = raw.get("inputs", {})
        if not isinstance(inputs, dict):
            raise self.fail(here + ("inputs",), f"{label}: inputs must be a table of texts")
        for key, value in inputs.items():
            if not isinstance(value, str):
                raise self.fail(
                    here + ("inputs", key),
                    f"{label}: input {key!r} must be a string in the input language, "
                    f'e.g. {key} = "[1.0, 2.0]"',
                )
        caption = raw.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            raise self.fail(here + ("caption",), f"{label}: every scene needs a caption")
        self.check_caption(here + ("caption",), label, caption)
        hold = self.seconds(here + ("hold",), label, raw.get("hold"), "hold")
        texts = {n: t for n, t in inputs.items() if n != GRAD_OUTPUT}
        v = inputs.get(GRAD_OUTPUT, "")
        values = self.engine_values(here, label, target, is_expr, texts, v)
        actions_raw = raw.get("actions", [])
        if not isinstance(actions_raw, list):
            raise self.fail(here + ("actions",), f"{label}: actions must be a list of tables")
        state = _FieldState(target, is_expr, values, v)
        actions = tuple(
            self.action(here + ("actions", j), f"{label}, action {j + 1}", a, state)
            for j, a in enumerate(actions_raw)
        )
        return Scene(
            number=k + 1,
            name=name.strip(),
            slug=slugify(name),
            target=target,
            expression=is_expr,
            values=values,
            v=v,
            caption=caption,
            hold=hold,
            actions=actions,
            line=line_of(self.lines, here),
        )

    def snippet_scene(self, k: int, raw: dict[str, Any]) -> Scene:
        """A scene that pastes a seed snippet into the snippet editor and runs it."""
        from gradtui.ops.seed_snippets import SEED_SNIPPETS, seed_snippet

        here = ("scene", k)
        name = raw["snippet"]
        seed = seed_snippet(name) if isinstance(name, str) else None
        if seed is None:
            names = ", ".join(s.name for s in SEED_SNIPPETS)
            raise self.fail(
                here + ("snippet",), f"scene {k + 1}: snippet must name a seed snippet: {names}"
            )
        title = raw.get("name", f"{name} snippet")
        if not isinstance(title, str) or not title.strip():
            raise self.fail(here + ("name",), f"scene {k + 1}: name must be a non-empty string")
        label = f"scene {k + 1} ({title})"
        if "inputs" in raw:
            raise self.fail(here + ("inputs",), f"{label}: a snippet scene has no inputs")
        caption = raw.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            raise self.fail(here + ("caption",), f"{label}: every scene needs a caption")
        self.check_caption(here + ("caption",), label, caption)
        hold = self.seconds(here + ("hold",), label, raw.get("hold"), "hold")
        if self.check_engine:
            from gradtui.ops.snippet_syntax import parse_snippet

            parse_snippet(seed.text)  # the seed's code must stay in the language
        actions_raw = raw.get("actions", [])
        if not isinstance(actions_raw, list):
            raise self.fail(here + ("actions",), f"{label}: actions must be a list of tables")
        state = _FieldState(name, False, {}, "")
        actions = []
        for j, a in enumerate(actions_raw):
            where = here + ("actions", j)
            verbs = [v for v in a if v in VERBS] if isinstance(a, dict) else []
            if any(v not in SNIPPET_VERBS for v in verbs):
                raise self.fail(
                    where,
                    f"{label}, action {j + 1}: a snippet scene's actions are: "
                    f"{', '.join(SNIPPET_VERBS)} (with caption, hold, name)",
                )
            actions.append(self.action(where, f"{label}, action {j + 1}", a, state))
        return Scene(
            number=k + 1,
            name=title.strip(),
            slug=slugify(title),
            target=name,
            expression=False,
            values={},
            v="",
            caption=caption,
            hold=hold,
            actions=tuple(actions),
            line=line_of(self.lines, here),
            snippet=seed.text,
        )

    def check_caption(self, where: tuple, label: str, caption: str) -> None:
        try:
            placeholders(caption)
        except ValueError as exc:
            raise self.fail(where, f"{label}: {exc}") from None

    def seconds(self, where: tuple, label: str, value: Any, key: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"{label}: {key} must be a number of seconds")
        if not 0 <= value <= MAX_PAUSE:
            raise self.fail(where, f"{label}: {key} must be between 0 and {MAX_PAUSE:g} seconds")
        return float(value)

    def engine_values(
        self,
        here: tuple,
        label: str,
        target: str,
        is_expr: bool,
        texts: dict[str, str],
        v: str,
    ) -> dict[str, str]:
        """Every input's text, as the engine fills defaults; engine errors blamed on lines."""
        if not self.check_engine:
            return dict(texts)
        from gradtui.ops.errors import InputError

        if not is_expr:
            from gradtui.ops.catalog import get

            try:
                get(target)
            except InputError as exc:
                raise self.fail(here + ("op",), f"{label}: {_engine_words(exc)}") from None
        try:
            return engine_texts(target, texts, v)
        except InputError as exc:
            raise self.fail(
                self.blame(here, exc.field, is_expr), f"{label}: {_engine_words(exc)}"
            ) from None

    def blame(self, here: tuple, field_name: str | None, is_expr: bool) -> tuple:
        """The key an engine error belongs to: an input's line, else the inputs or target."""
        if field_name == EXPRESSION or (field_name is None and is_expr):
            return here + ("expression",)
        if field_name is None:
            return here + ("inputs",) if here + ("inputs",) in self.lines else here + ("op",)
        return here + ("inputs", field_name)

    def action(self, here: tuple, label: str, raw: Any, state: _FieldState) -> Action:
        if not isinstance(raw, dict):
            raise self.fail(here, f"{label}: an action is a table, e.g. {{ step = 1 }}")
        verbs = [k for k in raw if k in VERBS]
        unknown = [
            k
            for k in raw
            if k not in VERBS and k not in ACTION_OPTIONS and k not in COMMON_ACTION_KEYS
        ]
        if unknown:
            raise self.fail(
                here + (unknown[0],),
                f"{label}: unknown action {unknown[0]!r}; an action is one of: "
                f"{', '.join(VERBS)} (with caption, hold, name)",
            )
        if len(verbs) != 1:
            what = "no action" if not verbs else f"{len(verbs)} actions ({', '.join(verbs)})"
            raise self.fail(here, f"{label}: {what}; give exactly one of: {', '.join(VERBS)}")
        verb = verbs[0]
        for key, owner in ACTION_OPTIONS.items():
            if key in raw and owner != verb:
                raise self.fail(here + (key,), f"{label}: {key} goes with {owner}, not {verb}")
        value = raw[verb]
        at = here + (verb,)
        caption = raw.get("caption")
        if caption is not None:
            if not isinstance(caption, str) or not caption.strip():
                raise self.fail(here + ("caption",), f"{label}: caption must be a non-empty string")
            self.check_caption(here + ("caption",), label, caption)
        hold = self.seconds(here + ("hold",), label, raw.get("hold"), "hold")
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or not slugify(name, 40)):
            raise self.fail(here + ("name",), f"{label}: name must be a short string")
        common = {"caption": caption, "hold": hold, "name": name, "line": line_of(self.lines, here)}

        if verb == "type":
            into = raw.get("into")
            if not isinstance(value, str):
                raise self.fail(at, f"{label}: type takes the text to type, as a string")
            if not isinstance(into, str):
                raise self.fail(
                    here, f'{label}: type needs into = "FIELD" (the field to type into)'
                )
            refused = raw.get("refused", False)
            if not isinstance(refused, bool):
                raise self.fail(here + ("refused",), f"{label}: refused must be true or false")
            self.check_typing(here, label, state, into, value, refused)
            return Action("type", value, into=into, refused=refused, **common)
        if verb == "step":
            ok = (
                isinstance(value, int) and not isinstance(value, bool) and value != 0
            ) or value in (
                "first",
                "last",
            )
            if not ok:
                raise self.fail(
                    at, f'{label}: step takes a non-zero number of steps, "first" or "last"'
                )
            repeat = raw.get("repeat", 1)
            if (
                isinstance(repeat, bool)
                or not isinstance(repeat, int)
                or not 1 <= repeat <= MAX_REPEAT
            ):
                raise self.fail(here + ("repeat",), f"{label}: repeat must be 1..{MAX_REPEAT}")
            return Action("step", value, repeat=repeat, **common)
        if verb == "step_to":
            if not isinstance(value, str) or not value.strip():
                raise self.fail(at, f'{label}: step_to takes a node name, e.g. "ExpBackward0"')
            return Action("step_to", value.strip(), **common)
        if verb == "layer":
            if value not in LAYERS:
                raise self.fail(
                    at, f"{label}: unknown layer {value!r}; layers: {', '.join(LAYERS)}"
                )
            on = raw.get("on")
            if on is not None and not isinstance(on, bool):
                raise self.fail(here + ("on",), f"{label}: on must be true or false")
            return Action("layer", value, on=on, **common)
        if verb == "view":
            if value not in VIEW_NAMES:
                raise self.fail(
                    at, f"{label}: unknown view {value!r}; views: {', '.join(VIEW_NAMES)}"
                )
            return Action("view", value, **common)
        if verb == "plot_var":
            if not isinstance(value, str) or value not in state.values:
                names = ", ".join(state.values) or "none"
                raise self.fail(
                    at, f"{label}: plot_var must be an input of {state.target} ({names})"
                )
            return Action("plot_var", value, **common)
        seconds = self.seconds(at, label, value, "pause")
        return Action("pause", seconds, **common)

    def check_typing(
        self, here: tuple, label: str, state: _FieldState, into: str, text: str, refused: bool
    ) -> None:
        """Check ``text`` typed into ``into`` with the engine, following the fields it changes."""
        fields = [*state.values, GRAD_OUTPUT] + ([EXPRESSION] if state.is_expr else [])
        if into not in fields:
            raise self.fail(
                here + ("into",),
                f"{label}: no field {into!r} on screen; fields: {', '.join(fields)}",
            )
        new = state.after(into, text)
        if not self.check_engine:
            state.adopt(new, into, ok=True)
            return
        if state.broken - {into}:
            state.adopt(new, into, ok=True)  # another field holds refused text: cannot judge
            return
        from gradtui.ops.errors import InputError
        from gradtui.ops.prepare import default_values

        try:
            if into == EXPRESSION:
                defaults = default_values(text)
                new.values = {n: state.values.get(n, d) for n, d in defaults.items()}
            engine_texts(new.target, new.values, new.v)
        except InputError as exc:
            if refused:
                state.adopt(new, into, ok=False)
                return
            raise self.fail(here + ("type",), f"{label}: {_engine_words(exc)}") from None
        if refused:
            raise self.fail(
                here + ("refused",),
                f"{label}: refused = true, but the engine accepts {text!r}",
            )
        state.adopt(new, into, ok=True)


@dataclass
class _FieldState:
    """The fields on screen while a scene's actions are checked (mirrors the app's rules)."""

    target: str
    is_expr: bool
    values: dict[str, str]
    v: str
    broken: set[str] = field(default_factory=set)

    def after(self, into: str, text: str) -> _FieldState:
        """The state once ``text`` is typed into ``into`` (the app keeps same-named inputs)."""
        new = _FieldState(self.target, self.is_expr, dict(self.values), self.v, set(self.broken))
        if into == EXPRESSION:
            new.target = text.strip()
        elif into == GRAD_OUTPUT:
            new.v = text
        else:
            new.values[into] = text
        return new

    def adopt(self, new: _FieldState, into: str, *, ok: bool) -> None:
        self.target, self.values, self.v = new.target, new.values, new.v
        self.broken = set(new.broken)
        if ok:
            self.broken.discard(into)
        else:
            self.broken.add(into)


def engine_texts(target: str, texts: Mapping[str, str], v: str) -> dict[str, str]:
    """Run ``target`` on ``texts`` as the app will; every input's text, defaults filled in.

    The check is the engine's own :func:`ops.run.check`: the part of :func:`ops.run.run`
    before its backward pass (parse, torch's forward pass, ``v`` against the output), with
    the same errors, so a script with text the app would refuse is refused before it plays,
    with the error the app would show, at the cost of one forward pass per scene. Like the
    headless player, which waits for a heavy scene, it sets no time bound.

    Raises:
        InputError: The engine's own error, with the field it belongs to.
    """
    from gradtui.ops.run import check

    return check(target, texts, grad_output=v or None, timeout=0)


def _engine_words(exc: Exception) -> str:
    """The engine's message on one line."""
    return " ".join(str(exc).split())
