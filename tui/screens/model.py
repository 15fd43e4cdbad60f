"""The model screen: a tiny ``nn.Sequential``'s forward, backward and update, and training.

A form (:class:`~tui.widgets.model_form.ModelForm`: spec, data, target, loss, optimizer,
L1, seed, steps) and four views of what the engine measured
(:mod:`ops.model`): **forward** (each layer's output, a heat map), **backward** (what each
module receives and sends back, ``n``/``p``; node by node on ``d``), **update** (each
parameter before and after ``optimizer.step()``, its gradient, the optimizer's state) and
**train** (a live loss curve, per-layer gradient-norm bars, the run's diagnoses).

Enter in a field (or ``ctrl+r``/``F5``) builds a fresh model from the texts and takes one
step recorded in detail, on a worker thread within the app's time bound; an error is
shown under its field with its column, and the views keep the last good model. ``t``
trains a fresh model from the same texts for ``steps`` lean steps on a worker thread
(:class:`~tui.model_client.ModelClient`), space pauses it, Esc stops it; then one more
step is recorded in detail and the views show it, labelled as step N+1. Wide (120x32 and
up) the form sits beside the views; smaller, above them, scrolling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from gradtui.ops.errors import InputError
from gradtui.ops.model_results import ModelRun, ModelStep
from gradtui.tui.model_client import ModelBuilt, ModelClient, TrainDone, TrainProgress, steps_from
from gradtui.tui.model_presets import DEFAULT, FIELDS
from gradtui.tui.screens.model_keys import MODEL_KEYS
from gradtui.tui.widgets.layer_view import render_forward
from gradtui.tui.widgets.loss_curve import LossCurve
from gradtui.tui.widgets.model_form import ModelForm
from gradtui.tui.widgets.module_view import ModuleView
from gradtui.tui.widgets.norm_bars import render_norms
from gradtui.tui.widgets.update_view import render_update
from gradtui.tui.workarounds import is_exiting

WIDE_WIDTH, WIDE_HEIGHT = 120, 32
"""From this size on the form sits beside the views; below, above them."""
VIEWS = ("forward", "backward", "update", "train")


class ModelScreen(Screen[None]):
    """Form | views (forward, backward, update, train); a status line and the footer.

    Args:
        texts: The form's starting texts (missing ones: :data:`~tui.model_presets.DEFAULT`).
        timeout: Seconds a build may take (the app's bound; ``0``: none).
        cursor_blink: Whether the fields' cursors blink (tests turn it off).
    """

    explorer_keys = False
    """The app's explorer-only keys do nothing here."""

    BINDINGS = MODEL_KEYS

    DEFAULT_CSS = """
    ModelScreen { layout: vertical; }
    ModelScreen #model-body { height: 1fr; layout: horizontal; }
    ModelScreen #model-form { width: 56; height: 1fr; border: round $primary 60%; }
    ModelScreen #model-form:focus-within { border: round $primary; }
    ModelScreen #model-form.-stale { border: round $warning; }
    ModelScreen #model-views { width: 1fr; height: 1fr; }
    ModelScreen .view-scroll { height: 1fr; }
    ModelScreen #train-info { height: auto; max-height: 45%; }
    ModelScreen #model-status { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    ModelScreen #model-status.-error { background: $error 30%; }
    ModelScreen.-narrow #model-body { layout: vertical; }
    ModelScreen.-narrow #model-form { width: 1fr; height: auto; max-height: 5; }
    ModelScreen.-narrow #model-form:focus-within { max-height: 10; }
    ModelScreen.-narrow TabPane { padding: 0; }
    """

    def __init__(
        self,
        texts: Mapping[str, str] | None = None,
        *,
        timeout: float,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self._start = {**DEFAULT, **(texts or {})}
        self.cursor_blink = cursor_blink
        self.client = ModelClient(self, timeout)
        """Builds and trains on worker threads."""
        self.run: ModelRun | None = None
        """The last good run on screen (a build, or a training's)."""
        self.built_texts: dict[str, str] | None = None
        """The form's texts :attr:`run` was made from."""
        self.step_label = ""
        """What the views say the step on screen is."""
        self.losses: list[float] = []
        """The loss of each step of the last training (the curve's points)."""
        self.trained: int = 0
        """Steps the last training took (0: none yet)."""

    def compose(self) -> ComposeResult:
        """Form | views; status line; footer."""
        with Container(id="model-body"):
            yield ModelForm(FIELDS, self._start, cursor_blink=self.cursor_blink, id="model-form")
            with TabbedContent(id="model-views", initial="view-forward"):
                with TabPane("1 forward", id="view-forward"):
                    with VerticalScroll(classes="view-scroll"):
                        yield Static(Text("building…", style="dim"), id="forward")
                with TabPane("2 backward", id="view-backward"):
                    yield ModuleView(id="backward")
                with TabPane("3 update", id="view-update"):
                    with VerticalScroll(classes="view-scroll"):
                        yield Static(Text("building…", style="dim"), id="update")
                with TabPane("4 train", id="view-train"):
                    with Vertical():
                        yield LossCurve(id="loss-curve")
                        with VerticalScroll(id="train-info"):
                            yield Static(Text("t trains", style="dim"), id="norms")
                            yield Static("", id="diagnoses")
        yield Static(Text("building the model…"), id="model-status")
        yield Footer()

    def on_mount(self) -> None:
        """Title the form, fit the terminal, and build the starting model."""
        self.query_one(ModelForm).border_title = "model (Enter builds)"
        self._fit(*self.app.size)
        self.form.field("spec").focus()
        self.build()

    def on_resize(self, event: Resize) -> None:
        """Re-choose the layout for the new size."""
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(width < WIDE_WIDTH or height < WIDE_HEIGHT, "-narrow")
        for footer in self.query(Footer):
            footer.compact = width < 90

    def on_unmount(self) -> None:
        """Stop a build or training in flight: an exiting app must not wait for it."""
        self.client.close()

    # -------------------------------------------------------------- scripting

    @property
    def form(self) -> ModelForm:
        """The form."""
        return self.query_one(ModelForm)

    @property
    def texts(self) -> dict[str, str]:
        """The form's texts."""
        return self.form.texts

    @property
    def step(self) -> ModelStep | None:
        """The step the views show (the run's last, recorded in detail)."""
        return self.run.steps[-1] if self.run and self.run.steps else None

    @property
    def busy(self) -> bool:
        """Whether a build or training is in flight."""
        return self.client.building or self.client.training

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return str(self.query_one("#model-status", Static).content)

    @property
    def view(self) -> str:
        """The view on screen: forward, backward, update or train."""
        return (self.query_one(TabbedContent).active or "view-forward").removeprefix("view-")

    def load(self, texts: Mapping[str, str], *, build: bool = True) -> None:
        """Put ``texts`` in the form (and build)."""
        self.form.set_texts(texts)
        if build:
            self.build()

    def build(self) -> int:
        """Build a fresh model from the form and take one step in detail."""
        self.client.timeout = getattr(self.app, "timeout", self.client.timeout)
        self._status(Text("building the model… (Esc stops)"))
        self.refresh_bindings()
        return self.client.build(self.texts)

    def train(self) -> int | None:
        """Train a fresh model from the form for ``steps`` steps; ``None`` if refused."""
        from gradtui.ops.model import MAX_STEPS

        try:
            n = steps_from(self.texts.get("steps", ""), MAX_STEPS - 1)
        except InputError as exc:
            self._refused(exc)
            return None
        self.form.clear_errors()
        self.losses, self.trained = [], 0
        self.query_one(LossCurve).set_losses([])
        self.show_view("train")
        self._status(Text(f"training {n} steps… space pauses · Esc stops"))
        seq = self.client.train(self.texts, n)
        self.refresh_bindings()
        return seq

    def show_view(self, name: str) -> None:
        """Show view ``name`` (forward, backward, update or train)."""
        self.query_one(TabbedContent).active = f"view-{name}"

    # ----------------------------------------------------------------- actions

    def action_build(self) -> None:
        """Build from the form."""
        self.build()

    def action_train(self) -> None:
        """Train ``steps`` steps."""
        self.train()

    def action_pause(self) -> None:
        """Pause or resume training."""
        paused = self.client.toggle_pause()
        done = len(self.losses)
        if paused:
            self._status(Text(f"paused after {done} steps — space resumes · Esc stops"))
        else:
            self._status(Text(f"training… {done} steps so far — space pauses · Esc stops"))

    def action_cancel_or_back(self) -> None:
        """Leave a field; else stop training or a build; else back to the explorer."""
        if isinstance(self.focused, Input):
            self._focus_view()
            return
        training = self.client.training
        if self.client.stop():
            done = f" after {len(self.losses)} training steps" if training else ""
            note = "; the views show the last good model" if self.run else ""
            self._status(Text(f"stopped (Esc){done}{note}"), error=True)
            self.refresh_bindings()
            return
        self.app.pop_screen()

    def action_view(self, name: str) -> None:
        """Switch to a view."""
        self.show_view(name)
        self._focus_view()

    def action_step(self, delta: int) -> None:
        """Next/previous module (or node) in the backward view."""
        if self.view != "backward":
            self.show_view("backward")
        self.query_one(ModuleView).move(delta)

    def action_nodes(self) -> None:
        """Node by node through the current module, or back to modules."""
        if self.view != "backward":
            self.show_view("backward")
        view = self.query_one(ModuleView)
        nodes = view.toggle_nodes()
        title = f"nodes of {view.current.label}" if nodes and view.current else "modules"
        self.notify(f"backward: {title}", timeout=1.5)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Space only while training."""
        if action == "pause":
            return self.client.training
        return True

    def _focus_view(self) -> None:
        if self.view == "backward":
            self.query_one("#module-list").focus()
        else:
            pane = self.query_one(f"#view-{self.view}")
            for scroll in pane.query(VerticalScroll):
                scroll.focus()
                return

    # -------------------------------------------------------------- answers

    def on_model_form_submitted(self, message: ModelForm.Submitted) -> None:
        """Enter in a field: build, and look at the views."""
        self.build()
        self._focus_view()

    def on_model_built(self, message: ModelBuilt) -> None:
        """Show a new model's first step, or the error under its field."""
        if not self.client.done(message.seq) or is_exiting(self.app):
            return
        self.refresh_bindings()
        if message.error is not None or message.run is None:
            self._refused(message.error or InputError("no result"))
            return
        self.form.clear_errors()
        seed = message.texts.get("seed", "0").strip() or "0"
        self._show(message.run, message.texts, f"step 1 of a fresh model (seed {seed})")
        first = message.run.steps[0] if message.run.steps else None
        count = sum(math.prod(t.shape) for t in first.params_before.values()) if first else 0
        summary = f"built: {count} parameters; step 1 loss "
        self._status(Text(summary + _num(message.run.steps[-1].loss) + self._hint()))

    def on_train_progress(self, message: TrainProgress) -> None:
        """Draw the curve and the bars so far."""
        if not self.client.done(message.seq) or is_exiting(self.app):
            return
        self.losses = message.losses
        self.query_one(LossCurve).set_losses(message.losses)
        layers = self.run.layers if self.run else ()
        self.query_one("#norms", Static).update(
            render_norms(message.last.layer_grad_norms, layers, self._view_width())
        )
        if not self.client.paused:
            self._status(
                Text(
                    f"training: step {len(message.losses)}, loss {_num(message.last.loss)} — "
                    "space pauses · Esc stops"
                )
            )

    def on_train_done(self, message: TrainDone) -> None:
        """Show the trained model's next step (in detail), and the run's diagnoses."""
        if not self.client.done(message.seq) or is_exiting(self.app):
            return
        self.refresh_bindings()
        self.losses = message.losses
        self.query_one(LossCurve).set_losses(message.losses)
        k = len(message.losses)
        if message.error is not None:
            self._refused(message.error)
            return
        if message.run is None:
            self._status(Text(f"stopped after {k} of {message.steps} steps"), error=True)
            return
        self.trained = k
        self._show(
            message.run,
            message.texts,
            f"step {k + 1}: one more step, recorded in detail, after {k} training steps",
        )
        self._status(
            Text(f"trained {k} steps: loss {_num(message.losses[0])} → {_num(message.losses[-1])}")
        )

    # ----------------------------------------------------------------- inside

    def _hint(self) -> str:
        return " · t trains · 1-4 views · ? help"

    def _show(self, run: ModelRun, texts: dict[str, str], label: str) -> None:
        self.run, self.built_texts, self.step_label = run, dict(texts), label
        step = run.steps[-1]
        width = self._view_width()
        self.query_one("#forward", Static).update(render_forward(step, run.layers, run.data, label))
        self.query_one("#update", Static).update(
            render_update(step, run.params, run.optimizer, label, width)
        )
        self.query_one(ModuleView).show_step(step)
        self.query_one(ModuleView).border_title = label
        self.query_one("#norms", Static).update(
            render_norms(step.layer_grad_norms, run.layers, width)
        )
        self.query_one("#diagnoses", Static).update(self._diagnoses(run, step))
        self.form.set_class(False, "-stale")

    def _view_width(self) -> int:
        return max(40, self.query_one("#model-views").size.width - 4)

    def _diagnoses(self, run: ModelRun, step: ModelStep) -> Group:
        lines = [Text("diagnoses (measured)", style="bold")]
        found = [*run.diagnoses, *step.diagnoses, *step.warnings]
        for text in found:
            lines.append(Text(f"• {text}"))
        if not found:
            lines.append(
                Text(
                    "  none reported (the engine looks for dead ReLU units, 10x norm jumps, the L1 share)",
                    style="dim",
                )
            )
        if self.trained:
            lines.append(Text(f"(run of {self.trained} training steps + 1 in detail)", style="dim"))
        return Group(*lines)

    def _refused(self, exc: InputError) -> None:
        form = self.form
        form.clear_errors()
        kept = "; the views show the last good model" if self.run else ""
        shown = form.show_error(exc.field, exc.message, exc.position)
        if shown and exc.field is not None:
            form.focus_error(exc.field, exc.position)
            form.set_class(self.run is not None, "-stale")
        where = f"{exc.field}: " if exc.field and shown else ""
        self._status(Text(f"refused: {where}{exc.message}{kept}"), error=True)

    def _status(self, text: Text, *, error: bool = False) -> None:
        status = self.query_one("#model-status", Static)
        status.set_class(error, "-error")
        status.update(text)


def open_model(app: App[object], name: str, texts: Mapping[str, str] | None = None) -> ModelScreen:
    """Show the model screen installed under ``name`` in ``app`` (installing it first,
    from ``texts`` or the default network); with ``texts``, load them and build."""
    fresh = not app.is_screen_installed(name)
    if fresh:
        timeout = getattr(app, "timeout", 0.0)
        blink = getattr(app, "cursor_blink", True)
        app.install_screen(ModelScreen(texts, timeout=timeout, cursor_blink=blink), name)
    screen = app.get_screen(name)
    assert isinstance(screen, ModelScreen)
    if app.screen is not screen:
        while len(app.screen_stack) > 1:  # the palette, help or another screen
            app.pop_screen()
        app.push_screen(screen)
    if texts is not None and not fresh:
        screen.load(texts)
    return screen


def _num(x: float) -> str:
    from gradtui.tui.format import format_number

    return format_number(x).plain
