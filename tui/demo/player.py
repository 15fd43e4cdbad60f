"""The runner that plays a script, and the app it plays on.

:class:`Player` drives a :class:`DemoApp` (the real :class:`tui.app.GradApp` plus a
caption bar and the viewer's keys) through the app's public scripting API
(``select_op``, ``set_input``, ``step``, ``settle``, ``screen_text``, ...) and Textual's
own :class:`~textual.pilot.Pilot`, live (real time, typing key by key, the viewer's keys)
or headless (no delays, one frame per caption). The two live together because each is
the other's counterpart: the app's keys call the player, the player drives the app.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.binding import Binding, BindingType
from textual.events import Paste
from textual.pilot import Pilot

from gradtui.tui.app import GradApp
from gradtui.tui.demo.captions import CaptionError, fill
from gradtui.tui.demo.script import EXPRESSION, GRAD_OUTPUT, Action, Scene, Script, slugify
from gradtui.tui.demo.values import screen_values
from gradtui.tui.widgets.caption import CaptionBar
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.status import StatusLine

TYPE_DELAY = 0.07
"""Seconds between typed characters in live mode (at speed 1)."""
BEAT = 0.7
"""Seconds after an uncaptioned action in live mode, so the eye can follow."""
READ_BASE, READ_RATE = 2.0, 18.0
"""A caption stays ``READ_BASE + len / READ_RATE`` seconds unless it says ``hold``."""
SETTLE_TIMEOUT = 120.0
"""Seconds the runner waits for the engine before calling a step failed."""
END_CAPTION = (
    "End of the demo. The app is yours now: n/p step, / picks an op, l swaps plot and "
    "steps, q quits."
)


class DemoFailed(Exception):
    """A step of a valid script that could not be played (the engine refused, a node is
    missing, a caption placeholder had no value)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Skip(Exception):
    """The viewer asked for the next scene."""


def typing_units(text: str) -> list[str]:
    """``"f(x, y)"`` → ``["f(", "x", ",", " ", "y", ")"]``: what live typing inserts per beat."""
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*\(?|.", text, flags=re.DOTALL)


# ------------------------------------------------------------------ the runner


class Player:
    """Plays a :class:`Script` on a :class:`DemoApp`, live or headless.

    Args:
        script: The checked script.
        live: Real time (typing, holds, pauses) and viewer keys; otherwise no delays.
        speed: Divides every delay in live mode.
        frames: Headless: where to write ``NNN-slug.svg`` and ``.txt`` (``None``: no files).
        echo: Where the one line per headless frame goes.
    """

    def __init__(
        self,
        script: Script,
        *,
        live: bool,
        speed: float = 1.0,
        frames: Path | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.script = script
        self.live = live
        self.speed = speed
        self.frames = frames
        self.echo = echo or (lambda line: None)
        self.paused = False
        """Whether the viewer paused the demo (live)."""
        self.finished = False
        """Whether the last scene has played."""
        self.frame_count = 0
        """Captioned steps shown so far (the NNN of the frame files)."""
        self.captions: list[str] = []
        """Every caption shown, filled in, in order (for tests and the headless log)."""
        self.failure: DemoFailed | None = None
        """The step that failed (headless stops there; live shows it and plays on)."""
        self._skip = False
        self._before: dict[str, str] = {}

    # -- viewer controls

    def toggle_pause(self) -> bool:
        """Pause or resume; returns whether it is now paused."""
        self.paused = not self.paused
        return self.paused

    def next_scene(self) -> None:
        """Cut the current scene short and play the next one."""
        self._skip = True
        self.paused = False

    # -- timing

    async def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` of playing time (live); paused time does not count."""
        if not self.live:
            return
        remaining = seconds / self.speed
        last = time.monotonic()
        while True:
            if self._skip:
                raise _Skip
            now = time.monotonic()
            if not self.paused:
                remaining -= now - last
            last = now
            if remaining <= 0:
                return
            await asyncio.sleep(min(0.05, max(remaining, 0.01)))

    async def _gate(self) -> None:
        """Hold here while paused; leave the scene if the viewer skipped."""
        await self._wait(0)
        while self.live and self.paused:
            await asyncio.sleep(0.05)
            if self._skip:
                raise _Skip

    async def _settle(self, app: GradApp, pilot: Pilot, line: int) -> None:
        """Wait until the newest edit is computed and drawn.

        The pause comes first: an edit reaches the app as a chain of messages (the
        field, the inputs panel, the app), and until the app has seen it, the previous
        request looks finished.
        """
        await pilot.pause()
        try:
            await app.settle(SETTLE_TIMEOUT)
        except TimeoutError:
            raise DemoFailed(line, f"the engine did not answer in {SETTLE_TIMEOUT:g} s") from None
        await pilot.pause()

    # -- playing

    async def play(self, app: DemoApp, pilot: Pilot) -> int:
        """Play every scene; returns 0, or 1 if a step failed (headless stops there)."""
        status = 0
        try:
            await self._settle(app, pilot, 1)
        except DemoFailed as exc:
            return self._failed(app, exc)
        for scene in self.script.scenes:
            self._skip = False
            try:
                await self._scene(app, pilot, scene)
            except _Skip:
                continue
            except DemoFailed as exc:
                status = self._failed(app, exc)
                if not self.live:
                    return status
                try:  # leave the failure on screen long enough to read
                    await self._wait(READ_BASE + len(app.caption_text) / READ_RATE)
                except _Skip:
                    pass
        self.finished = True
        if self.live:
            app.show_caption("", END_CAPTION)
            app.refresh_bindings()
        return status

    def _failed(self, app: DemoApp, exc: DemoFailed) -> int:
        """Record the failure (headless: the caller reports it); live: show it."""
        self.failure = exc
        if self.live:
            app.show_caption("✗", f"{self.script.path}:{exc.line}: {exc.message}")
        return 1

    async def _scene(self, app: DemoApp, pilot: Pilot, scene: Scene) -> None:
        where = f"{scene.number}/{len(self.script.scenes)} · {scene.name}"
        app.show_caption(where, "…")
        self._before = {}
        if scene.snippet is not None:
            await self._snippet_scene(app, pilot, scene)
            return
        if scene.model is not None:
            await self._model_scene(app, pilot, scene)
            return
        app.to_explorer()
        await pilot.pause()
        app.show_view("steps")
        app.toggle_layer("d2", on=False)
        app.toggle_layer("numeric", on=True)
        if scene.expression:
            app.select_expression(scene.target, {**scene.values, GRAD_OUTPUT: scene.v})
        else:
            app.select_op(scene.target, {**scene.values, GRAD_OUTPUT: scene.v})
        await self._settle(app, pilot, scene.line)
        if app.step_index:
            app.step(-app.step_index)
            await pilot.pause()
        if app.result is None or app.stale or app.target != scene.target:
            status = app.query_one(StatusLine).plain
            raise DemoFailed(scene.line, f"scene {scene.number} did not open: {status}")
        app.action_focus_steps()
        await self._caption(app, pilot, scene, None, scene.caption, scene.slug, scene.hold)
        for j, action in enumerate(scene.actions, 1):
            await self._gate()
            await self._act(app, pilot, scene, j, action)

    async def _snippet_scene(self, app: DemoApp, pilot: Pilot, scene: Scene) -> None:
        """Open an empty snippet editor, paste the snippet as a terminal would (one
        bracketed-paste event), run it with ``ctrl+r``, and caption the run."""
        assert scene.snippet is not None
        app.open_snippet("")
        await pilot.pause()
        screen = app.snippet_screen
        if not screen.query(CaptionBar):  # the caption shows over the snippet screen too
            await screen.mount(CaptionBar(id="caption"), before=0)
        app.show_caption(f"{scene.number}/{len(self.script.scenes)} · {scene.name}", "…")
        await self._wait(BEAT)
        screen.editor.focus()
        screen.editor.post_message(Paste(scene.snippet))
        await pilot.pause()
        if screen.text != scene.snippet:
            raise DemoFailed(scene.line, "the pasted snippet did not arrive in the editor")
        await self._wait(BEAT)
        await pilot.press("ctrl+r")
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while screen.running or screen.ran_text != scene.snippet:
            if time.monotonic() > deadline:
                raise DemoFailed(scene.line, f"the snippet did not run in {SETTLE_TIMEOUT:g} s")
            await asyncio.sleep(0.02)
        await pilot.pause()
        await pilot.pause()
        if screen.result is None:
            raise DemoFailed(scene.line, f"the snippet did not run: {screen.status_text}")
        await self._caption(app, pilot, scene, None, scene.caption, scene.slug, scene.hold)
        for j, action in enumerate(scene.actions, 1):
            await self._gate()
            await self._act(app, pilot, scene, j, action)
        await self._wait(BEAT)
        app.to_explorer()
        await pilot.pause()

    async def _model_scene(self, app: DemoApp, pilot: Pilot, scene: Scene) -> None:
        """Open the model screen with the scene's texts, train (its ``steps``), caption;
        then its actions (typing into a field rebuilds and trains again)."""
        assert scene.model is not None
        screen = app.open_model(scene.model)
        await pilot.pause()
        if not screen.query(CaptionBar):
            await screen.mount(CaptionBar(id="caption"), before=0)
        app.show_caption(f"{scene.number}/{len(self.script.scenes)} · {scene.name}", "…")
        await self._model_run(screen, pilot, scene.line, train=True)
        if screen.run is None:
            raise DemoFailed(scene.line, f"the model did not build: {screen.status_text}")
        await self._caption(app, pilot, scene, None, scene.caption, scene.slug, scene.hold)
        for j, action in enumerate(scene.actions, 1):
            await self._gate()
            slug = f"{scene.slug}-{slugify(action.name, 24) if action.name else j}"
            if action.verb == "type":
                screen.form.field(action.into or "").value = str(action.value)
                await self._model_run(screen, pilot, action.line, train=False)
                await self._model_run(screen, pilot, action.line, train=True)
            elif action.verb == "pause":
                await self._wait(action.value)
            if action.caption:
                await self._caption(app, pilot, scene, action, action.caption, slug, action.hold)
        app.to_explorer()
        await pilot.pause()

    @staticmethod
    async def _model_run(screen: Any, pilot: Pilot, line: int, *, train: bool) -> None:
        """Build (or train, when the form has steps) and wait for the answer on screen."""
        await pilot.pause()
        if train and int(screen.texts.get("steps", "0") or 0) <= 0:
            return
        screen.train() if train else screen.build()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while screen.busy:
            if time.monotonic() > deadline:
                raise DemoFailed(line, f"the model did not answer in {SETTLE_TIMEOUT:g} s")
            await asyncio.sleep(0.02)
        await pilot.pause()
        await pilot.pause()
        if screen.status_text.startswith("refused"):
            raise DemoFailed(line, screen.status_text)

    async def _act(self, app: DemoApp, pilot: Pilot, scene: Scene, j: int, action: Action) -> None:
        slug = f"{scene.slug}-{slugify(action.name, 24) if action.name else j}"
        verb = action.verb
        if verb == "step" or verb == "step_to":
            await self._steps(app, pilot, scene, action, slug)
            return
        if verb == "type":
            await self._type(app, pilot, action)
        elif verb == "layer":
            app.toggle_layer(action.value, action.on)
            await self._settle(app, pilot, action.line)
        elif verb == "view":
            app.show_view(action.value)
            await pilot.pause()
        elif verb == "plot_var":
            app.set_plot_var(action.value)
            await self._settle(app, pilot, action.line)
        elif verb == "pause":
            await self._wait(action.value)
        if action.caption:
            await self._caption(app, pilot, scene, action, action.caption, slug, action.hold)
        elif verb != "pause":
            await self._wait(BEAT)

    async def _steps(
        self, app: DemoApp, pilot: Pilot, scene: Scene, action: Action, slug: str
    ) -> None:
        steps = app.result.steps if app.result else ()
        if not steps:
            raise DemoFailed(action.line, f"{app.target} has no backward steps to move through")
        if action.verb == "step_to":
            order = list(range(app.step_index + 1, len(steps))) + list(range(app.step_index + 1))
            found = [k for k in order if steps[k].node == action.value]
            if not found:
                nodes = ", ".join(dict.fromkeys(s.node for s in steps))
                raise DemoFailed(action.line, f"no backward node {action.value!r}; nodes: {nodes}")
            deltas = [found[0] - app.step_index]
        elif action.value == "first":
            deltas = [-app.step_index]
        elif action.value == "last":
            deltas = [len(steps) - 1 - app.step_index]
        else:
            deltas = [action.value] * action.repeat
        for r, delta in enumerate(deltas):
            if r:
                await self._gate()
            moved = app.step(delta) if delta else False
            await pilot.pause()
            if r and not moved:
                return  # at the end: no frame that repeats the last one
            if action.caption:
                name = slug if len(deltas) == 1 else f"{slug}-{r + 1}"
                await self._caption(app, pilot, scene, action, action.caption, name, action.hold)
            else:
                await self._wait(BEAT)

    async def _type(self, app: DemoApp, pilot: Pilot, action: Action) -> None:
        inputs = app.query_one(InputsPanel)
        name, text = action.into or "", str(action.value)
        if name not in inputs.names:
            raise DemoFailed(action.line, f"no field {name!r} on screen")
        kept = inputs.values()
        await self._type_text(app, name, text)
        await self._settle(app, pilot, action.line)
        if self.live and name == EXPRESSION:
            # Typed a key at a time, the expression passes through texts with other free
            # names, and the app drops the fields of names that vanish: type back what
            # they held (headless sets the whole text at once and keeps them).
            for other, was in kept.items():
                if other in inputs.names and inputs.texts.get(other) != was:
                    await self._type_text(app, other, was)
                    await self._settle(app, pilot, action.line)
        refused = bool(inputs.error_text(name)) or app.stale
        if action.refused and not refused:
            raise DemoFailed(action.line, f"the app accepted {text!r} (the script says refused)")
        if not action.refused and refused:
            said = inputs.error_text(name) or app.query_one(StatusLine).plain
            raise DemoFailed(action.line, f"the app refused {text!r}: {said}")
        if name == EXPRESSION and app.target != text.strip():
            raise DemoFailed(action.line, f"the app did not switch to {text!r}")

    async def _type_text(self, app: DemoApp, name: str, text: str) -> None:
        """Live: type ``text`` into the field as a person would; headless: set it.

        The app recomputes on every key, so each half-typed text is a real request.
        A name is typed as one unit with its ``(`` (as an editor's completion would):
        half a name is another expression, with other free names (whose fields the app
        would drop) or even a catalog op (``binary_cross_entropy`` on the way to
        ``binary_cross_entropy_with_logits``), which would switch the app to that op.
        """
        if self.live:
            # Not focused: a focused text field takes printable keys before any
            # binding, and the viewer's space and q must stay the demo's.
            app.action_focus_steps()
            field = app.query_one(InputsPanel).field(name)
            app.set_input(name, "")
            for unit in typing_units(text):
                await self._wait(TYPE_DELAY * len(unit))
                field.insert_text_at_cursor(unit)
            await self._wait(BEAT / 2)
        else:
            app.set_input(name, text)
        app.action_focus_steps()

    async def _caption(
        self,
        app: DemoApp,
        pilot: Pilot,
        scene: Scene,
        action: Action | None,
        template: str,
        slug: str,
        hold: float | None,
    ) -> None:
        values = screen_values(app)
        try:
            caption = " ".join(fill(template, values, self._before).split())
        except CaptionError as exc:
            raise DemoFailed(action.line if action else scene.line, str(exc)) from None
        self._before = values
        self.frame_count += 1
        self.captions.append(caption)
        app.show_caption(f"{scene.number}/{len(self.script.scenes)} · {scene.name}", caption)
        await pilot.pause()
        if not self.live:
            stem = f"{self.frame_count:03d}-{slug}"
            if self.frames is not None:
                svg = app.export_screenshot(title=f"gradtui demo: {scene.name}")
                (self.frames / f"{stem}.svg").write_text(svg, encoding="utf-8")
                text = app.screen_text()  # a text file's last line ends with a newline
                (self.frames / f"{stem}.txt").write_text(
                    text if text.endswith("\n") else text + "\n", encoding="utf-8"
                )
                self.echo(f"{self.frames / stem}.svg  {caption}")
            else:
                self.echo(f"{stem}  {caption}")
        await self._wait(hold if hold is not None else READ_BASE + len(caption) / READ_RATE)


# ------------------------------------------------------------------ the app


class DemoApp(GradApp):
    """The gradtui app with a caption bar on top and the viewer's keys.

    Args:
        player: The runner that plays the script.
        autoplay: Start playing once the app is up (live); headless drives it from outside.
        **kwargs: Passed to :class:`GradApp` (``cursor_blink``, ``timeout``, ...).
    """

    CSS_PATH = Path(inspect.getfile(GradApp)).with_name(str(GradApp.CSS_PATH))
    """The app's own stylesheet: Textual reads a relative ``CSS_PATH`` beside the file of
    the class that runs, which for the demo is this package, not the app's folder."""

    BINDINGS: list[BindingType] = [
        Binding(
            "space",
            "demo_pause",
            "Pause",
            priority=True,
            tooltip="Pause or resume the demo.",
            id="gradtui.demo.pause",
        ),
        Binding(
            "right",
            "demo_next",
            "Skip",
            key_display="→",
            priority=True,
            tooltip="Skip to the next scene of the demo.",
            id="gradtui.demo.next",
        ),
        # Not a priority binding: it replaces the app's own q (bindings merge by key),
        # and a text field the viewer focused must still take a typed q.
        Binding("q", "demo_quit", "Quit", tooltip="Quit the demo.", id="gradtui.demo.quit"),
    ]

    def __init__(self, player: Player, *, autoplay: bool, **kwargs: Any) -> None:
        first = player.script.scenes[0]
        opening = first.target if first.model is None else "exp"  # a model scene opens later
        super().__init__(opening, {**first.values, GRAD_OUTPUT: first.v}, **kwargs)
        self.player = player
        self.autoplay = autoplay
        self.title = player.script.title or "gradtui demo"

    def compose(self):  # noqa: ANN201 - a ComposeResult, as in GradApp
        """The caption bar, then the app's own layout."""
        yield CaptionBar(id="caption")
        yield from super().compose()

    def on_mount(self) -> None:
        """Live: start playing once the first screen is up."""
        if self.autoplay:
            self.call_after_refresh(self._start)

    def _start(self) -> None:
        self.run_worker(self._play_live(), group="demo", exit_on_error=False)

    async def _play_live(self) -> None:
        await self.player.play(self, Pilot(self))

    def show_caption(self, where: str, caption: str) -> None:
        """Put ``caption`` in the caption bar (``where``: e.g. ``"3/8 · exp"``), the
        explorer's and the snippet screen's."""
        self.query_one(CaptionBar).show(where, caption)
        for screen in (self.snippet_screen, self.model_screen):
            for bar in screen.query(CaptionBar) if screen is not None else ():
                bar.show(where, caption)

    @property
    def caption_text(self) -> str:
        """The caption bar as plain text."""
        return self.query_one(CaptionBar).plain

    def action_demo_pause(self) -> None:
        """Pause or resume the demo."""
        paused = self.player.toggle_pause()
        self.query_one(CaptionBar).set_paused(paused)
        for screen in (self.snippet_screen, self.model_screen):
            for bar in screen.query(CaptionBar) if screen is not None else ():
                bar.set_paused(paused)

    @property
    def model_screen(self):  # noqa: ANN201 - a ModelScreen, imported lazily
        """The model screen, or ``None`` before a scene opened it."""
        from gradtui.tui.app import MODEL_SCREEN

        return self.get_screen(MODEL_SCREEN) if self.is_screen_installed(MODEL_SCREEN) else None

    def action_demo_next(self) -> None:
        """Jump to the next scene."""
        self.player.next_scene()
        self.query_one(CaptionBar).set_paused(False)

    def action_demo_quit(self) -> None:
        """Quit."""
        self.exit(0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause and skip work while the demo plays; afterwards those keys are the app's."""
        if action in ("demo_pause", "demo_next"):
            return not self.player.finished
        return super().check_action(action, parameters)
