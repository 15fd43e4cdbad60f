"""The gradtui app: bindings, signals, themes, and the scripting API.

The work is done by others: the :class:`~tui.screens.explorer.ExplorerScreen` (the app's
default screen) composes the panels and handles their messages; it keeps what the person
typed in a :class:`~tui.session.Session` and sends every edit to the engine through an
:class:`~tui.engine_client.EngineClient`, on a worker thread. Nothing here imports torch
at module level: the first screen paints, then a worker imports the engine (and with it
torch) and computes the opening op. Workarounds for Textual's own behaviour are in
:mod:`tui.workarounds` (:class:`~tui.workarounds.PatchedApp` is this app's base).

The methods a script needs (the demo, the benchmarks, the fuzzer) are public:
:meth:`GradApp.select_op`, :meth:`GradApp.select_expression`, :meth:`GradApp.set_input`,
:meth:`GradApp.step`, :meth:`GradApp.toggle_layer`, :meth:`GradApp.show_view` and
:meth:`GradApp.settle`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial

from textual.actions import SkipAction
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker

from gradtui.ops.results import Curve, GradResult
from gradtui.ops.seed_snippets import SEED_SNIPPETS
from gradtui.tui.engine_client import app_timeout
from gradtui.tui.screens.explorer import MIN_HEIGHT, MIN_WIDTH, ExplorerScreen
from gradtui.tui.session import Session
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.stepper import StepperPanel
from gradtui.tui.workarounds import NO_COLOR_CSS, OVERLAY_CSS, PatchedApp, focus_now, screen_text

__all__ = ["EXIT_SIGNALS", "MIN_HEIGHT", "MIN_WIDTH", "SCREENSHOT_DIR_ENV", "GradApp", "run_app"]

WIDE_WIDTH, WIDE_HEIGHT = 120, 32
"""From this size on the stepper and the plot are side by side; below, one at a time."""
SLIM_WIDTH, SHORT_HEIGHT = 90, 28
"""Below these the picker narrows, and the inputs and status line take fewer rows."""
SCREENSHOT_DIR_ENV = "GRADTUI_SCREENSHOT_DIR"
"""Where "save screenshot" writes (default: the current directory)."""
HELP_SCREEN = "gradtui-help"
"""The name the help screen is installed under (built on first open, then kept)."""
SNIPPET_SCREEN = "gradtui-snippet"
"""The name the snippet screen is installed under (built on first open, then kept, with
its text, while the person goes back and forth)."""
MODEL_SCREEN = "gradtui-model"
"""The name the model screen is installed under (built on first open, then kept)."""
EXPLORER_ACTIONS = frozenset(
    (
        "step",
        "focus_filter",
        "filter_key",
        "toggle_view",
        "toggle_layer",
        "next_plot_var",
        "cancel_or_leave",
        "escape_key",
        "toggle_graph",
        "second_order",
        "jacobian",
    )
)
"""The app's actions that act on the explorer; they do nothing over the snippet screen."""
EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
"""Signals that end the app as ``q`` does: a dropped SSH connection, ``kill``, a shutdown.

Left to their default, either would kill the process on the spot and leave the terminal
in the alternate screen with mouse reporting on. The app exits with status 128 + the
signal's number (129, 143), the shells' convention for "ended by this signal".
"""


KEYS: list[BindingType] = [
    Binding(
        "ctrl+q",
        "quit",
        "Quit",
        show=False,
        priority=True,
        tooltip="Quit gradtui (works even inside a text field).",
        id="gradtui.quit_ctrl_q",
    ),
    Binding(
        "n",
        "step(1)",
        "Next",
        tooltip="Next backward step (in the autograd engine's own order).",
        id="gradtui.next_step",
    ),
    Binding(
        "p",
        "step(-1)",
        "Prev",
        tooltip="Previous backward step.",
        id="gradtui.prev_step",
    ),
    Binding(
        "slash",
        "filter_key",
        "Filter",
        key_display="/",
        tooltip="Type to filter the op list; Enter picks the highlighted op.",
        id="gradtui.filter",
        # Priority: the app moves focus before it hands the next key on, so what is typed
        # right after / lands in the filter (see _typing_target_first).
        priority=True,
    ),
    Binding(
        "g",
        "toggle_graph",
        "Graph",
        tooltip="Show the backward steps as the drawn graph (the DAG torch built) or as the list.",
        id="gradtui.toggle_graph",
    ),
    Binding(
        "j",
        "jacobian",
        "J",
        show=False,
        tooltip="The Jacobian J of the op on screen as a heat map, with input.grad = vᵀJ.",
        id="gradtui.jacobian",
    ),
    Binding(
        "h",
        "second_order",
        "H·u",
        show=False,
        tooltip="Step through the backward of the backward (H·u by double backward); again to go back.",
        id="gradtui.second_order",
    ),
    Binding(
        "l",
        "toggle_view",
        "View",
        tooltip="Show the plot or the backward steps (when both do not fit).",
        id="gradtui.toggle_view",
    ),
    Binding(
        "d",
        "toggle_layer('d2')",
        "f″",
        tooltip="Show or hide the second derivative f″ in the plot.",
        id="gradtui.toggle_d2",
    ),
    Binding(
        "c",
        "toggle_layer('numeric')",
        "Check",
        tooltip="Show or hide where a float64 numeric derivative disagrees with autograd.",
        id="gradtui.toggle_numeric",
    ),
    Binding(
        "x",
        "next_plot_var",
        "Plot var",
        show=False,
        tooltip="Plot along the next input that requires grad.",
        id="gradtui.next_plot_var",
    ),
    Binding(
        "escape",
        "escape_key",
        "Steps",
        show=False,
        tooltip="Cancel the running computation; otherwise leave a text field for the steps.",
        id="gradtui.focus_steps",
        priority=True,  # as /: a key right after Esc goes to the steps, not the field left
    ),
    Binding(
        "question_mark",
        "help",
        "Help",
        key_display="?",
        tooltip="Keys, the input language and what each panel means.",
        id="gradtui.help",
    ),
    Binding(
        "f1",
        "help",
        "Help",
        show=False,
        tooltip="Keys, the input language and what each panel means.",
        id="gradtui.help_f1",
    ),
    Binding("q", "quit", "Quit", tooltip="Quit gradtui.", id="gradtui.quit"),
]
"""The app's keys; help builds its key table from them (``tooltip``), and ``id`` lets a
person remap them."""


class GradApp(PatchedApp):
    """gradtui's Textual app.

    Args:
        op: The op (a catalog name) or expression to open on.
        values: Input texts to start with, by name (``"v"`` is the upstream gradient).
        mouse: Whether the app may turn on mouse reporting (only used by :func:`run_app`).
        cursor_blink: Whether text cursors blink (tests turn it off for stable snapshots).
        timeout: Seconds one computation (its result and its curve) may take before it is
            abandoned: the engine is told to stop, and the screen keeps the last good
            result and says so. ``None``: ``GRADTUI_TIMEOUT`` or the engine's default
            bound (:data:`ops.timebound.DEFAULT_TIMEOUT_S`); ``0``: no bound.
        served: Run for a browser viewer of ``gradtui serve``: "save screenshot" sends
            the SVG to the browser as a download instead of writing it on the server.
    """

    CSS_PATH = "app.tcss"
    CSS = OVERLAY_CSS + NO_COLOR_CSS
    TITLE = "gradtui"
    AUTO_FOCUS = "#step-list"

    BINDINGS = KEYS

    def __init__(
        self,
        op: str = "exp",
        values: Mapping[str, str] | None = None,
        *,
        mouse: bool = True,
        cursor_blink: bool = True,
        timeout: float | None = None,
        served: bool = False,
    ) -> None:
        super().__init__()
        self.mouse = mouse
        self.served = served
        """Served to a browser (``gradtui serve``): nothing is written on the server's disk."""
        self.cursor_blink = cursor_blink
        self.plot_view = False
        """In a small terminal: show the plot instead of the steps."""
        self.state = Session.opening(op, values)
        """What the person has chosen and typed."""
        self.explorer = ExplorerScreen(
            self.state, cursor_blink=cursor_blink, timeout=app_timeout(timeout)
        )
        """The app's own screen: the panels, and the engine client behind them."""

    def get_default_screen(self) -> Screen:
        """The explorer, under the help and the palette."""
        return self.explorer

    def on_mount(self) -> None:
        """Catch the exit signals, and lay out for the terminal."""
        if not self.is_headless:  # headless runs (tests) leave the process's signals alone
            from gradtui.tui.terminal import catch_exit_signals

            catch_exit_signals(EXIT_SIGNALS, self.exit_on_signal)
        self._apply_size(self.size.width, self.size.height)

    def exit_on_signal(self, signum: int) -> None:
        """Leave cleanly because of signal ``signum``; the exit status is ``128 + signum``."""
        self.exit(return_code=128 + signum)

    def on_resize(self, event: Resize) -> None:
        """Re-choose the layout for the new size."""
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        """Choose wide, narrow or too-small for a ``width`` x ``height`` terminal."""
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        narrow = width < WIDE_WIDTH or height < WIDE_HEIGHT
        self.set_class(too_small, "-too-small")
        self.set_class(narrow, "-narrow")
        self.set_class(width < SLIM_WIDTH, "-slim")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(narrow and self.plot_view, "-plot-view")
        self.explorer.fit(width, height, too_small=too_small, compact=width < SLIM_WIDTH)
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of the app's own (the demo's) that raised is shown as the screen's are."""
        self.explorer.on_worker_state_changed(event)

    def on_unmount(self) -> None:
        """Stop every computation in flight: the process should not wait for them to finish."""
        self.explorer.client.close()
        for name in (SNIPPET_SCREEN, MODEL_SCREEN):
            if self.is_screen_installed(name):
                self.get_screen(name).client.close()  # type: ignore[attr-defined]

    # ----------------------------------------------------- public (scripted)

    @property
    def target(self) -> str:
        """The op name or expression on screen."""
        return self.state.target

    @property
    def result(self) -> GradResult | None:
        """The last good result (see :attr:`stale`)."""
        return self.explorer.result

    @property
    def curve(self) -> Curve | None:
        """The last curve drawn."""
        return self.explorer.curve

    @property
    def stale(self) -> bool:
        """Whether the result on screen is older than the inputs (an edit was refused)."""
        return self.explorer.stale

    @property
    def show_d2(self) -> bool:
        """Whether the plot shows f″."""
        return self.explorer.show_d2

    @property
    def show_numeric(self) -> bool:
        """Whether the plot marks numeric disagreements."""
        return self.explorer.show_numeric

    @property
    def ops(self) -> list[str]:
        """Every op in the catalog, in display order (empty until torch has loaded)."""
        return [name for _, ops in self.explorer.client.catalog.groups for name, _ in ops]

    @property
    def timeout(self) -> float:
        """Seconds a computation may take before the app abandons it and says so."""
        return self.explorer.client.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.explorer.client.timeout = seconds

    @property
    def computing(self) -> bool:
        """Whether the status line says a computation is running (and Esc cancels it)."""
        return self.explorer.client.computing

    @property
    def idle(self) -> bool:
        """Whether the newest request has been answered and drawn."""
        return self.explorer.client.idle

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until the newest edit has been computed and drawn (for scripts and tests)."""
        await self.explorer.client.settle(timeout)

    def select_op(self, name: str, values: Mapping[str, str] | None = None) -> None:
        """Open op ``name`` with its remembered (or default) inputs, overridden by ``values``."""
        self.explorer.select_op(name, values)

    def select_expression(
        self, text: str | None = None, values: Mapping[str, str] | None = None
    ) -> None:
        """Switch to a custom expression (``text``, or the last one, or a default).

        ``values`` set its inputs' texts (``"v"`` too) in the same computation, so a
        script does not show the defaults (and their errors) first.
        """
        self.explorer.select_expression(text, values)

    def set_input(self, name: str, text: str) -> None:
        """Replace the text of input ``name`` (``"v"``, ``"expression"`` too), as if typed.

        Raises:
            KeyError: There is no such field on screen (call :meth:`settle` after an op change).
        """
        inputs = self.query_one(InputsPanel)
        if name not in inputs.names:
            raise KeyError(f"no input field {name!r}; fields: {', '.join(inputs.names)}")
        inputs.set_text(name, text)

    def step(self, delta: int) -> bool:
        """Move ``delta`` backward steps; returns whether the position changed."""
        return self.query_one(StepperPanel).step(delta)

    @property
    def step_index(self) -> int:
        """The current backward step (0-based)."""
        return self.query_one(StepperPanel).index

    def toggle_layer(self, layer: str, on: bool | None = None) -> bool:
        """Show or hide a plot layer (``"d2"`` or ``"numeric"``); returns the new setting."""
        return self.explorer.toggle_layer(layer, on)

    def set_plot_var(self, name: str | None) -> None:
        """Plot along input ``name`` (``None``: the engine's default) and resample."""
        self.explorer.set_plot_var(name)

    def show_view(self, view: str) -> None:
        """In a small terminal, show ``"plot"`` or ``"steps"`` (both show when there is room)."""
        if view not in ("plot", "steps"):
            raise ValueError(f"unknown view {view!r}; views: plot, steps")
        self.plot_view = view == "plot"
        self._apply_size(self.size.width, self.size.height)

    def cancel_computation(self) -> bool:
        """Stop the running computation (Esc while the status line says it runs); the screen
        keeps the last good result, marked stale. Returns whether there was one to cancel."""
        return self.explorer.client.cancel()

    def open_snippet(self, text: str | None = None, *, run: bool = False) -> None:
        """Show the snippet editor; with ``text``, put it in the editor (and run it if
        ``run``). Without, the editor keeps what it held.

        The screen (and with it Textual's ``TextArea`` and tree-sitter) is imported and
        built on first use, then kept, so the app's start does not pay for it.
        """
        from gradtui.tui.screens.snippet import SnippetScreen

        if not self.is_screen_installed(SNIPPET_SCREEN):
            screen = SnippetScreen(timeout=self.timeout, cursor_blink=self.cursor_blink)
            self.install_screen(screen, SNIPPET_SCREEN)
        screen = self.get_screen(SNIPPET_SCREEN)
        assert isinstance(screen, SnippetScreen)
        if self.screen is not screen:
            while len(self.screen_stack) > 1 and self.screen is not self.explorer:
                self.pop_screen()  # the palette or help, over the explorer
            self.push_screen(screen)
        if text is not None:
            screen.load(text, run=run)

    def open_model(self, texts: Mapping[str, str] | None = None):  # noqa: ANN201 - ModelScreen
        """Show the model screen (built on first use, then kept) and return it; with
        ``texts``, put them in its form and build."""
        from gradtui.tui.screens.model import open_model

        return open_model(self, MODEL_SCREEN, texts)

    def to_explorer(self) -> None:
        """Back to the explorer from the snippet screen (or wherever the stack is)."""
        while len(self.screen_stack) > 1 and self.screen is not self.explorer:
            self.pop_screen()

    @property
    def snippet_screen(self):  # noqa: ANN201 - a SnippetScreen, imported lazily
        """The snippet screen, or ``None`` before it was first opened."""
        return self.get_screen(SNIPPET_SCREEN) if self.is_screen_installed(SNIPPET_SCREEN) else None

    def screen_text(self) -> str:
        """The screen as plain text, as a person would read it (for headless frames and tests)."""
        return screen_text(self.screen, *self.size)

    # ----------------------------------------------------------------- actions

    def action_step(self, delta: int) -> None:
        """Move through the backward steps; with none because the first computation was
        given up, compute again."""
        if not self.step(delta):
            self.explorer.retry_if_abandoned()

    def _typing_target_first(self) -> None:
        """For the priority keys (/ and Esc): let the key go on, as a plain binding would,
        wherever it is not the explorer's own (a text field takes / as text; help, the
        palette and the other screens have their own Esc).

        They are priority bindings because a plain binding runs only after the key has
        gone to the focused widget and come back: by then the keys typed after it had
        already been handed to the old focus (``/sigmoid`` drew the graph on ``g``).
        """
        if self.screen is not self.explorer:
            raise SkipAction()

    def action_filter_key(self) -> None:
        """``/``: focus the op filter, unless ``/`` is text where it was typed."""
        self._typing_target_first()
        if isinstance(self.focused, Input | TextArea):
            raise SkipAction()  # "/" is text in a field (x / 2), and in the filter itself
        self.action_focus_filter()

    def action_escape_key(self) -> None:
        """Esc: :meth:`action_cancel_or_leave` on the explorer; elsewhere, that screen's."""
        self._typing_target_first()
        self.action_cancel_or_leave()

    def action_focus_filter(self) -> None:
        """Focus the op filter (showing the picker)."""
        focus_now(self.query_one("#op-filter", Input))

    def action_focus_steps(self) -> None:
        """Focus the step list, where ``n``/``p`` work."""
        self.explorer.focus_steps()

    def action_cancel_or_leave(self) -> None:
        """Esc: cancel the computation the status line says is running; otherwise (as
        always) leave a text field for the step list. So while one runs, a first Esc
        cancels and a second leaves the field. (Help and the palette take Esc first.)"""
        if not self.cancel_computation() and not self.explorer.cancel_hvp():
            self.action_focus_steps()

    def action_toggle_layer(self, layer: str) -> None:
        """Toggle a plot layer."""
        value = self.toggle_layer(layer)
        name = "f″" if layer == "d2" else "numeric check"
        self.notify(f"{name} {'on' if value else 'off'}", timeout=1.5)

    def action_next_plot_var(self) -> None:
        """Plot along the next input that requires grad."""
        if self.result is None:
            return
        var = self.explorer.next_plot_var()
        if var is None:
            self.notify("no input requires grad: nothing to plot along", timeout=2)
        else:
            self.notify(f"plotting along {var}", timeout=1.5)

    def action_toggle_graph(self) -> None:
        """Swap the step list and the drawn backward graph."""
        self.query_one(StepperPanel).toggle_graph()  # the panel itself shows which

    def action_second_order(self) -> None:
        """Show the backward of the backward (H·u), or go back to the op's own backward."""
        said = self.explorer.second_order()
        if self.plot_view:  # a small terminal showing the plot: the steps are what h changes
            self.show_view("steps")
        if said:  # only what the panel does not show itself
            self.notify(said, timeout=3)

    def action_jacobian(self) -> None:
        """Open J of the op on screen."""
        from gradtui.tui.screens.jacobian import JacobianScreen

        why = self.explorer.not_current("j", "J needs the op computed once")
        if why:
            self.notify(why, timeout=3)
            return
        target, texts, v_text = self.explorer.inputs_now()
        self.push_screen(JacobianScreen(target, texts, v_text, self.explorer.client.timeout))

    def action_toggle_view(self) -> None:
        """Swap the plot and the steps in a small terminal."""
        self.show_view("steps" if self.plot_view else "plot")

    def action_help(self) -> None:
        """Open the help screen.

        It is built once and kept (installed): composing its Markdown cost 150-370 ms of
        the UI thread on every open, so ``?`` waited that long each time.
        """
        from gradtui.tui.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        if not self.is_screen_installed(HELP_SCREEN):
            from gradtui.tui.screens.model_keys import MODEL_KEYS
            from gradtui.tui.screens.snippet_keys import SNIPPET_KEYS

            keys = [b for b in self.BINDINGS if isinstance(b, Binding)]
            snippet_keys = [b for b in SNIPPET_KEYS if isinstance(b, Binding)]
            model_keys = [b for b in MODEL_KEYS if isinstance(b, Binding)]
            self.install_screen(HelpScreen(keys, snippet_keys, model_keys), HELP_SCREEN)
        self.push_screen(HELP_SCREEN)

    def action_save_screenshot(self) -> None:
        """Save an SVG of the screen and say where (or why not).

        Into ``$GRADTUI_SCREENSHOT_DIR`` when set, else the current directory. Textual's
        own command wrote to ``~/Downloads`` and failed where that does not exist (most
        SSH hosts) with only "Failed to save screenshot". Served to a browser, the
        SVG goes to the browser as a download and nothing is written on the server.
        """
        if self.served:
            self._deliver_screenshot()
            return
        folder = os.path.abspath(os.path.expanduser(os.environ.get(SCREENSHOT_DIR_ENV) or "."))
        try:
            path = os.path.abspath(self.save_screenshot(path=folder))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.notify(
                f"could not write to {folder}: {reason}. Set {SCREENSHOT_DIR_ENV} to a "
                "folder you can write to.",
                title="screenshot not saved",
                severity="error",
                timeout=8,
            )
            return
        self.notify(f"saved {path}", title="screenshot", timeout=6)

    def _deliver_screenshot(self) -> None:
        """Send an SVG of the screen to the browser (Textual's delivery to the web driver)."""
        import io
        import time

        name = time.strftime("gradtui_%Y%m%d_%H%M%S.svg")
        if not self.is_web:  # a served app always has the web driver; never save instead
            self.notify("no browser to send it to", title="screenshot not sent", severity="error")
            return
        self.deliver_text(
            io.StringIO(self.export_screenshot()), save_filename=name, mime_type="image/svg+xml"
        )
        self.notify(f"sent {name} to your browser", title="screenshot", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the plot/steps swap when both fit; the explorer's keys over the snippet screen."""
        if action in EXPLORER_ACTIONS and not getattr(self.screen, "explorer_keys", True):
            return False
        if action == "toggle_view":
            return self.has_class("-narrow")
        return True

    # ------------------------------------------------------- command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands (less its "Screenshot": ours says where it wrote),
        then every toggle, op and theme of gradtui. Listed before anything is typed (in
        Textual's order, by title): Textual's, then "help", "plot: next variable", "save
        screenshot", "snippet: new" and the toggles.

        "Maximize" stays: every panel with something to focus maximizes as a whole.
        """
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield from palette_commands(self)


def palette_commands(app: GradApp) -> Iterator[SystemCommand]:
    """gradtui's own palette commands; each does nothing once the app is shutting down.
    Those that act on the explorer go back to it first (from the snippet screen)."""
    for title, help, run, discover in _palette_entries(app):
        explorer = not title.startswith(("snippet:", "model:", "help", "save screenshot", "theme:"))
        yield SystemCommand(title, help, _while_running(app, run, explorer=explorer), discover)


def _while_running(
    app: GradApp, run: Callable[[], object], *, explorer: bool = False
) -> Callable[[], None]:
    """``run``, skipped when the app is already shutting down (its panels are gone);
    ``explorer``: shown on the explorer (leaving the snippet screen) first."""

    def run_if_running() -> None:
        if app.is_running:
            if explorer:
                app.to_explorer()
            run()

    return run_if_running


def _palette_entries(app: GradApp) -> Iterator[tuple[str, str, Callable[[], object], bool]]:
    """``(title, help, run, listed before anything is typed)`` for each of gradtui's commands."""
    yield (
        "toggle: f″ (second derivative)",
        "Show or hide f″ in the plot",
        partial(app.action_toggle_layer, "d2"),
        True,
    )
    yield (
        "toggle: numeric check",
        "Mark where a float64 numeric derivative disagrees with autograd",
        partial(app.action_toggle_layer, "numeric"),
        True,
    )
    yield (
        "toggle: plot / steps view",
        "In a small terminal, show the plot or the backward steps",
        app.action_toggle_view,
        True,
    )
    yield (
        "view: backward graph / list",
        "Draw the backward steps as the DAG torch built, or list them",
        app.action_toggle_graph,
        True,
    )
    yield (
        "view: Jacobian",
        "J of the op on screen as a heat map, with input.grad = vᵀJ",
        app.action_jacobian,
        True,
    )
    yield (
        "view: backward of backward (H·u)",
        "Step through the second backward pass that gives H·u",
        app.action_second_order,
        True,
    )
    yield (
        "plot: next variable",
        "Plot along the next input that requires grad",
        app.action_next_plot_var,
        True,
    )
    yield (
        "save screenshot",
        "Download an SVG of the screen in your browser"
        if app.served
        else f"Save an SVG of the screen in ${SCREENSHOT_DIR_ENV} or the current directory",
        app.action_save_screenshot,
        True,
    )
    yield ("help", "Keys, the input language, the panels", app.action_help, True)
    yield (
        "snippet: new",
        "Paste PyTorch code, run it with the real torch, fact-check its comments",
        app.open_snippet,
        True,
    )
    for seed in SEED_SNIPPETS:
        yield (
            f"snippet: {seed.name} (the seed page's code)",
            f"Open and run the page's {seed.name} answer: {seed.title}",
            partial(app.open_snippet, seed.text, run=True),
            False,
        )
    from gradtui.tui.model_presets import palette_entries

    yield from palette_entries(app.open_model)
    yield (
        "op: custom expression",
        "Type any expression; its free names become inputs",
        app.select_expression,
        False,
    )
    for category, ops in app.explorer.client.catalog.groups:
        for name, summary in ops:
            yield (
                f"op: {name}",
                f"{category} — {summary}",
                partial(app.select_op, name),
                False,
            )
    for theme in sorted(app.available_themes):
        yield (
            f"theme: {theme}",
            "Change the colours",
            partial(setattr, app, "theme", theme),
            False,
        )


def run_app(op: str = "exp", values: dict[str, str] | None = None, *, mouse: bool = True) -> int:
    """Run the app in this terminal until the person quits; returns the exit status.

    Args:
        op: The op or expression to open on.
        values: Input texts by name (``"v"`` for the upstream gradient).
        mouse: ``False`` turns mouse reporting off (for slow SSH links).
    """
    app = GradApp(op, values, mouse=mouse)
    app.run(mouse=mouse)
    return app.return_code or 0
