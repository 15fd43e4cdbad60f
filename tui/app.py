"""The gradtui app: pick an op, edit its inputs, step through the real backward pass.

The app wires four panels (:mod:`tui.widgets`) with messages and sends every edit to the
engine (:mod:`ops`) in a thread worker, so keys are answered while torch computes.
Nothing here imports torch at module level: the first screen paints, then a worker
imports the engine (and with it torch) and computes the opening op.

Every computation is a numbered request. A newer request cancels the older worker and
any answer that arrives for an older number is dropped, so the screen always shows the
newest edit. An edit the engine refuses leaves the last good result on screen, marked
stale, with the engine's message under the field that caused it.

The methods a script needs (the demo, the benchmarks, the fuzzer) are public:
:meth:`GradApp.select_op`, :meth:`GradApp.select_expression`, :meth:`GradApp.set_input`,
:meth:`GradApp.step`, :meth:`GradApp.toggle_layer`, :meth:`GradApp.show_view` and
:meth:`GradApp.settle`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.events import Resize
from textual.filter import LineFilter, Monochrome, NoColor
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from gradtui.ops.errors import InputError
from gradtui.ops.names import looks_like_op_name
from gradtui.ops.results import Curve, GradResult
from gradtui.ops.timebound import ComputationTimeout, TimeBound, resolve_timeout
from gradtui.tui.commands import GradCommands, PaletteCommand, SafeCommandPalette
from gradtui.tui.compute import (
    Catalog,
    Computed,
    CurveDone,
    EngineFailed,
    EngineLoaded,
    FieldsReady,
    FullCollections,
    Request,
    compute,
    load_engine,
    lower_priority,
)
from gradtui.tui.widgets.inputs import EXPRESSION, GRAD_OUTPUT, InputsPanel
from gradtui.tui.widgets.op_picker import EXPRESSION_ID, OpPicker
from gradtui.tui.widgets.plot import PlotPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepList, StepperPanel

MIN_WIDTH, MIN_HEIGHT = 60, 20
"""Below this the app shows "terminal too small" instead of a broken layout."""
WIDE_WIDTH, WIDE_HEIGHT = 120, 32
"""From this size on the stepper and the plot are side by side; below, one at a time."""
SLIM_WIDTH, SHORT_HEIGHT = 90, 28
"""Below these the picker narrows, and the inputs and status line take fewer rows."""
SCREENSHOT_DIR_ENV = "GRADTUI_SCREENSHOT_DIR"
"""Where "save screenshot" writes (default: the current directory)."""
DEFAULT_EXPRESSION = "x * exp(-x)"
"""What "custom expression" starts with."""
DEFAULT_TIMEOUT = 5.0
"""Seconds a computation may run before the app abandons it (when ``GRADTUI_TIMEOUT`` is unset)."""
HELP_SCREEN = "gradtui-help"
"""The name the help screen is installed under (built on first open, then kept)."""
COMPUTING_AFTER_S = 0.3
"""A computation running longer than this is shown as running ("computing… 1.2 s — Esc cancels")."""
LAYERS = ("d2", "numeric")
"""Plot layers that can be toggled: f″ and the numeric check."""
EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
"""Signals that end the app as ``q`` does: a dropped SSH connection, ``kill``, a shutdown.

Left to their default, either would kill the process on the spot and leave the terminal
in the alternate screen with mouse reporting on. The app exits with status 128 + the
signal's number (129, 143), the shells' convention for "ended by this signal".
"""


@dataclass
class _State:
    """What the app is showing, as plain values (handy in tests and scripts)."""

    target: str
    expression_mode: bool = False
    last_expression: str = DEFAULT_EXPRESSION
    result: GradResult | None = None
    curve: Curve | None = None
    stale: bool = False
    memory: dict[str, dict[str, str]] = field(default_factory=dict)
    expression_texts: dict[str, str] = field(default_factory=dict)
    """While typing an expression: the text of every input name seen since it was chosen.

    Typing ``x*y`` key by key passes through ``x`` and ``x*``, and editing can drop a
    name for a few keys; when the name comes back, so does the text the person gave it.
    """


class GradApp(App[int]):
    """gradtui's Textual app.

    Args:
        op: The op (a catalog name) or expression to open on.
        values: Input texts to start with, by name (``"v"`` is the upstream gradient).
        mouse: Whether the app may turn on mouse reporting (only used by :func:`run_app`).
        cursor_blink: Whether text cursors blink (tests turn it off for stable snapshots).
        timeout: Seconds one computation (its result and its curve) may take before it is
            abandoned: the engine is told to stop, and the screen keeps the last good
            result and says so. ``None``: ``GRADTUI_TIMEOUT`` or :data:`DEFAULT_TIMEOUT`;
            ``0``: no bound. This is the only bound inside the app (the engine's own
            bounds nest in it), so it also applies to the curve.
    """

    CSS_PATH = "app.tcss"
    TITLE = "gradtui"
    AUTO_FOCUS = "#step-list"
    COMMANDS = App.COMMANDS | {GradCommands}

    BINDINGS: list[BindingType] = [
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
            "focus_filter",
            "Filter",
            key_display="/",
            tooltip="Type to filter the op list; Enter picks the highlighted op.",
            id="gradtui.filter",
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
            "cancel_or_leave",
            "Steps",
            show=False,
            tooltip="Cancel the running computation; otherwise leave a text field for the steps.",
            id="gradtui.focus_steps",
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

    def __init__(
        self,
        op: str = "exp",
        values: Mapping[str, str] | None = None,
        *,
        mouse: bool = True,
        cursor_blink: bool = True,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        if timeout is None:
            try:
                timeout = resolve_timeout(None) or 0.0
            except InputError:  # a GRADTUI_TIMEOUT that is not a number: the default
                timeout = DEFAULT_TIMEOUT
        self.timeout = timeout
        """Seconds a computation may take before the app abandons it and says so."""
        texts = dict(values or {})
        self.state = _State(target=op)
        self.state.memory[op] = texts
        self.mouse = mouse
        self.cursor_blink = cursor_blink
        self.show_d2 = False
        """Whether the plot shows f″."""
        self.show_numeric = True
        """Whether the plot marks numeric disagreements."""
        self.plot_view = False
        """In a small terminal: show the plot instead of the steps."""
        self.plot_var: str | None = None
        """The input the plot varies (``None``: the engine's choice)."""
        self.compute_seconds = 0.0
        """How long the engine took for the result on screen."""
        self._catalog = Catalog()
        self._engine_ready = threading.Event()
        self._engine_error: str | None = None
        self._seq = 0
        self._done_seq = 0
        self._abandoned = 0
        self._bounds: dict[int, TimeBound] = {}
        """The engine bound of each computation in flight, by request number, to stop it early."""
        self._sent = 0.0
        """When the newest request was sent (``time.monotonic()``)."""
        self._result_seq = 0
        """The request whose result is on screen (its curve may still be coming)."""
        self._progress: Timer | None = None
        """Ticks while a request is unanswered, to say how long it has run."""
        self.computing = False
        """Whether the status line says a computation is running (and Esc cancels it)."""
        self.full_gc = FullCollections()
        """Holds the garbage collector's full passes back while a request is unanswered."""

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Picker | (inputs over (stepper | plot)); status line and footer below."""
        with Horizontal(id="body"):
            yield OpPicker(self.state.target, id="picker")
            with Vertical(id="main"):
                yield InputsPanel(cursor_blink=self.cursor_blink, id="inputs")
                with Horizontal(id="work"):
                    yield StepperPanel(id="stepper")
                    yield PlotPanel(id="plot")
        yield StatusLine(id="status")
        yield Static(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        """Lay out for the terminal, paint, then load torch in the background."""
        self._catch_exit_signals()
        self._apply_size(self.size.width, self.size.height)
        self.query_one(OpPicker).query_one("#op-filter", Input).cursor_blink = self.cursor_blink
        self._request(reset=True)
        self.call_after_refresh(self._load_engine)

    def _catch_exit_signals(self) -> None:
        """In a real terminal, turn SIGHUP and SIGTERM into :meth:`exit_on_signal`, bounded.

        The handler schedules :meth:`exit_on_signal` on the event loop, so the app leaves
        through its normal exit path on the UI thread: workers cancelled, terminal
        restored. It also starts an :class:`~tui.terminal.ExitWatchdog`: if that path has
        not ended the process within :data:`~tui.terminal.EXIT_GRACE_S`, the process
        leaves anyway with the same status. Headless runs (tests) leave the test
        process's signals alone.
        """
        if self.is_headless or threading.current_thread() is not threading.main_thread():
            return
        from gradtui.tui.terminal import ExitWatchdog

        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            try:
                loop.call_soon_threadsafe(self.exit_on_signal, signum)
            except RuntimeError:  # the loop has closed: the process is on its way out
                pass

        ExitWatchdog().catch(EXIT_SIGNALS, on_signal)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, except that a real Linux terminal gets :class:`~tui.terminal.TerminalDriver`.

        That driver survives the terminal hanging up under it (see :mod:`tui.terminal`).
        """
        driver_class = super().get_driver_class()
        if (driver_class.__module__, driver_class.__name__) == (
            "textual.drivers.linux_driver",
            "LinuxDriver",
        ):
            from gradtui.tui.terminal import TerminalDriver

            return TerminalDriver
        return driver_class

    def exit_on_signal(self, signum: int) -> None:
        """Leave cleanly because of signal ``signum``; the exit status is ``128 + signum``."""
        self.exit(return_code=128 + signum)

    async def on_event(self, event: events.Event) -> None:
        """Textual's own event handling, without one way a click took the app down.

        A mouse press is matched against the screen as last painted. A widget removed
        since (an input row, when a typed expression loses a name) is still found there,
        without a parent, and Textual's text selection then raised ``AttributeError``.
        Found by the monkey test; such a press now lands on nothing.
        """
        try:
            await super().on_event(event)
        except AttributeError:
            if not isinstance(event, events.MouseDown):
                raise

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
        for footer in self.query(Footer):
            footer.compact = width < SLIM_WIDTH
        self.set_class(narrow and self.plot_view, "-plot-view")
        if too_small:
            self.query_one("#too-small", Static).update(
                Text.assemble(
                    ("Terminal too small", "bold"),
                    f"\n\n{width}x{height}: gradtui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                    "Enlarge the window, or press ctrl+q to quit.",
                )
            )
        self.refresh_bindings()

    # ------------------------------------------------------------ the engine

    @work(thread=True, group="load", exit_on_error=False)
    def _load_engine(self) -> None:
        """Import torch and the engine off the UI thread, then hand over the catalog."""
        try:
            catalog = load_engine()
        except Exception as exc:  # noqa: BLE001 - a broken install is shown, not raised
            self._engine_error = f"cannot load the engine: {type(exc).__name__}: {exc}"
            self._engine_ready.set()
            self.post_message(EngineFailed(self._engine_error))
            return
        # Set before the event: the first computation reads it on its own thread.
        self._catalog = catalog
        self._engine_ready.set()
        self.post_message(EngineLoaded(catalog))
        # Help's modules (Markdown and its parser) too, here rather than on the first ``?``.
        import gradtui.tui.help  # noqa: F401

    def on_engine_loaded(self, message: EngineLoaded) -> None:
        """Fill the op picker; the panels waiting for a first result now wait for the engine."""
        self.query_one(OpPicker).set_catalog(message.catalog.groups)
        self.query_one(StepperPanel).show_placeholder("computing…")
        self.query_one(PlotPanel).show_placeholder("computing…")
        target = self.state.target.strip()
        # A bare unknown name is an op misspelt (the engine suggests the right one), not
        # an expression.
        if target not in self._catalog.names and not looks_like_op_name(target):
            self.state.expression_mode = True
            self.query_one(OpPicker).set_current(EXPRESSION_ID)

    def on_engine_failed(self, message: EngineFailed) -> None:
        """Say plainly that torch could not be loaded."""
        self.query_one(StatusLine).show_error(None, message.message, stale=False)

    def _request(self, *, reset: bool = False) -> None:
        """Send the current target and texts to the engine (replacing any older request)."""
        self._seq += 1
        self._stop_computations(before=self._seq)
        inputs = self.query_one(InputsPanel)
        if reset or not inputs.names:
            # A newly chosen op (or the first screen) starts from what it had last time (``v`` included: its
            # shape belongs to the op's output), or from its defaults.
            texts = dict(self.state.memory.get(self.state.target, {}))
            v_text = texts.pop(GRAD_OUTPUT, "")
        else:
            texts = inputs.values()
            v_text = inputs.texts.get(GRAD_OUTPUT, "")
        if self.state.expression_mode:
            texts = {**self.state.expression_texts, **texts}
        if not self._engine_ready.is_set():
            self.query_one(StatusLine).loading()
        self._compute(
            Request(
                self._seq,
                self.state.target,
                texts,
                v_text,
                self.show_d2,
                reset,
                self.plot_var,
                expression=self.state.expression_mode,
            )
        )
        if self.timeout > 0:
            self.set_timer(self.timeout, partial(self._check_timeout, self._seq))
        self._sent = time.monotonic()
        self.full_gc.hold()
        if self._progress is None:
            self._progress = self.set_interval(0.1, self._show_progress)

    def _show_progress(self) -> None:
        """While the newest request runs past :data:`COMPUTING_AFTER_S`, say so, with its time.

        From then on the field errors on screen belong to older texts (an answer would
        have replaced them by now), so they go; the status line says the computation is
        running, for how long, and that Esc cancels it.
        """
        if self._done_seq >= self._seq:
            self._end_progress()
            return
        if not self._engine_ready.is_set() or self._engine_error is not None:
            return  # the status line says torch is loading
        seconds = time.monotonic() - self._sent
        if seconds < COMPUTING_AFTER_S and not self.computing:
            return
        if not self.computing:
            self.computing = True
            self.query_one(InputsPanel).clear_errors()
        self.query_one(StatusLine).computing(seconds, result_shown=self._result_seq == self._seq)

    def _end_progress(self) -> None:
        """The newest request was answered or given up: stop saying it runs."""
        self.full_gc.release()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.computing:
            self.computing = False
            self.query_one(StatusLine).done_computing()

    def _check_timeout(self, seq: int) -> None:
        """Give up on request ``seq`` if it is still the newest and still unanswered."""
        if seq != self._seq or self._done_seq >= seq or not self._engine_ready.is_set():
            return
        self._abandon(f"gave up after {self.timeout:g} s: this computation was abandoned")

    def cancel_computation(self) -> bool:
        """Stop the running computation (Esc while the status line says it runs).

        The engine stops at its next step boundary; the screen keeps the last good
        result, marked stale, and the status line says the computation was cancelled.

        Returns:
            Whether there was a computation to cancel.
        """
        if not self.computing:
            return False
        self._abandon(f"cancelled after {time.monotonic() - self._sent:.1f} s (Esc)")
        return True

    def _abandon(self, why: str) -> None:
        """Give up on the newest request: stop it, keep the last good result, say ``why``.

        No field error stays: each belonged to an older text than the one on screen.
        """
        seq = self._seq
        self._abandoned = seq
        self._done_seq = seq
        self._stop_computations(before=seq + 1)
        self._end_progress()
        if self._result_seq == seq and self.state.result is not None:
            # Only the curve was still computing: the result on screen is for the text
            # on screen, and stays current; the plot (an older curve, or none) says so.
            plot = self.query_one(PlotPanel)
            plot.set_stale(plot.curve is not None)
            plot.show_placeholder(f"no curve: {why}")
            self.query_one(StatusLine).show_error(
                None, f"{why} (the curve; the result shown is for these inputs)", stale=False
            )
            return
        stale = self.state.result is not None
        self.state.stale = stale
        self.query_one(InputsPanel).clear_errors()
        self.query_one(StepperPanel).set_stale(stale)
        self.query_one(PlotPanel).set_stale(stale)
        self.query_one(StatusLine).show_error(None, why, stale=stale, hint="edit to compute again")
        if not stale:  # nothing computed yet: the panels say why, not "loading torch…"
            self.query_one(StepperPanel).show_placeholder(f"no result: {why}")
            self.query_one(PlotPanel).show_placeholder(f"no curve: {why}")

    @work(thread=True, exclusive=True, group="compute", exit_on_error=False)
    def _compute(self, req: Request) -> None:
        """Run the engine for ``req`` (waiting for torch to load first), then sample the curve."""
        worker = get_current_worker()
        while not self._engine_ready.wait(0.05):
            if worker.is_cancelled:
                return
        if self._engine_error is not None:
            return
        # No lock: a runaway computation must not hold up the next edit. The engine
        # keeps no global state between calls (its random constructors use their own
        # seeded generators), and an answer for an older request is dropped anyway.
        # The engine's own bounds nest in this one (no limit of its own: the app's timer
        # decides when to give up), so cancelling it stops the engine at its next step.
        bound = TimeBound(0)
        self._bounds[req.seq] = bound
        try:
            # _abandon marks the request before it stops the bounds it can see: one
            # registered just after that is stopped here instead of running to its end
            if worker.is_cancelled or req.seq != self._seq or req.seq == self._abandoned:
                return
            bound.call(
                self._compute_in_bound,
                req,
                lambda: not worker.is_cancelled and req.seq == self._seq,
            )
        except ComputationTimeout:
            return  # stopped: a newer edit, the app's time bound, or the app exiting
        finally:
            self._bounds.pop(req.seq, None)

    def _compute_in_bound(self, req: Request, still_wanted: Callable[[], bool]) -> None:
        """On the bound's own thread: step aside for the UI, then compute."""
        lower_priority()
        compute(req, self._catalog, self.post_message, still_wanted)

    def _stop_computations(self, before: int | None = None) -> None:
        """Tell the computations older than request ``before`` (or all) to stop.

        Each stops at the engine's next step boundary, so a superseded or abandoned
        computation stops taking CPU from the newest one, and an exiting app does not
        wait for a runaway one.
        """
        for seq, bound in list(self._bounds.items()):
            if before is None or seq < before:
                bound.cancel()

    def on_unmount(self) -> None:
        """Stop every computation in flight: the process should not wait for them to finish."""
        self._stop_computations()
        self.full_gc.release()

    async def on_fields_ready(self, message: FieldsReady) -> None:
        """Show the fields of the newest request's op (before its result is known)."""
        if message.seq != self._seq:
            return
        inputs = self.query_one(InputsPanel)
        try:
            await inputs.set_fields(message.fields, reset=message.reset)
        except NoMatches:
            # Fields that arrive as the app closes find their rows being torn down (seen
            # when a test left the app during its first computation). Textual sets
            # App._exit when exit begins; at any other time a missing row is a bug.
            if not self._exit:
                raise
        self.state.memory[self.state.target] = inputs.values(exclude=(EXPRESSION,))
        if self.state.expression_mode:
            self.state.expression_texts.update(inputs.values())

    async def on_computed(self, message: Computed) -> None:
        """Show a fresh result, or the error under its field with the old result kept."""
        if message.seq != self._seq or message.seq == self._abandoned:
            return
        inputs = self.query_one(InputsPanel)
        status = self.query_one(StatusLine)
        stepper = self.query_one(StepperPanel)
        plot = self.query_one(PlotPanel)
        inputs.clear_errors()
        if message.error is not None:
            err = message.error
            field_name = err.field
            if field_name is None and self.state.expression_mode:
                field_name = EXPRESSION
            shown = inputs.show_error(field_name, err.message, err.position)
            stale = self.state.result is not None
            self.state.stale = stale
            stepper.set_stale(stale)
            plot.set_stale(stale)
            self._done_seq = message.seq
            self._end_progress()
            status.show_error(field_name if shown else err.field, err.message, stale=stale)
            return
        assert message.result is not None
        self._result_seq = message.seq
        self.state.result = message.result
        self.state.stale = False
        self.compute_seconds = message.seconds
        stepper.set_stale(False)
        stepper.show_result(message.result)
        status.show_result(message.result)

    def on_curve_done(self, message: CurveDone) -> None:
        """Draw the new curve (or say why there is none)."""
        if message.seq != self._seq or message.seq == self._abandoned:
            return
        plot = self.query_one(PlotPanel)
        plot.set_stale(False)
        if message.curve is not None:
            self.state.curve = message.curve
            plot.show_curve(message.curve)
        else:
            self.state.curve = None
            plot.show_message(message.message or "no curve")
        self._done_seq = message.seq
        self._end_progress()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised becomes a visible message; the app and the screen stay."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        stale = self.state.result is not None
        self.query_one(StatusLine).show_error(
            None, f"internal error ({type(error).__name__}): {error}", stale=stale
        )
        if event.worker.group == "compute":
            # The inputs on screen were not computed: the result shown is the last good one.
            self.state.stale = stale
            self.query_one(StepperPanel).set_stale(stale)
            self.query_one(PlotPanel).set_stale(stale)
            self._done_seq = self._seq
            self._end_progress()

    # -------------------------------------------------------- panel messages

    @on(OpPicker.Selected)
    def _op_selected(self, message: OpPicker.Selected) -> None:
        if message.name == EXPRESSION_ID:
            self.select_expression()
        else:
            self.select_op(message.name)
        self.action_focus_steps()

    @on(InputsPanel.Edited)
    def _edited(self, message: InputsPanel.Edited) -> None:
        if message.name == EXPRESSION:
            self.state.target = message.text
            self.state.last_expression = message.text
        elif self.state.expression_mode and message.name != GRAD_OUTPUT:
            self.state.expression_texts[message.name] = message.text
        self._request()

    @on(InputsPanel.Done)
    def _done_typing(self) -> None:
        self.action_focus_steps()

    # ----------------------------------------------------- public (scripted)

    @property
    def target(self) -> str:
        """The op name or expression on screen."""
        return self.state.target

    @property
    def result(self) -> GradResult | None:
        """The last good result (see :attr:`stale`)."""
        return self.state.result

    @property
    def curve(self) -> Curve | None:
        """The last curve drawn."""
        return self.state.curve

    @property
    def stale(self) -> bool:
        """Whether the result on screen is older than the inputs (an edit was refused)."""
        return self.state.stale

    @property
    def ops(self) -> list[str]:
        """Every op in the catalog, in display order (empty until torch has loaded)."""
        return [name for _, ops in self._catalog.groups for name, _ in ops]

    def select_op(self, name: str, values: Mapping[str, str] | None = None) -> None:
        """Open op ``name`` with its remembered (or default) inputs, overridden by ``values``."""
        self._remember()
        texts = dict(values or {})
        self.state.target = name
        self.state.expression_mode = False
        self.state.expression_texts = {}
        self.plot_var = None
        if texts or name not in self.state.memory:
            self.state.memory[name] = {**self.state.memory.get(name, {}), **texts}
        self.query_one(OpPicker).set_current(name)
        self._request(reset=True)

    def select_expression(
        self, text: str | None = None, values: Mapping[str, str] | None = None
    ) -> None:
        """Switch to a custom expression (``text``, or the last one, or a default).

        ``values`` set its inputs' texts (``"v"`` too) in the same computation, so a
        script does not show the defaults (and their errors) first.
        """
        self._remember()
        if text is None:
            text = self.state.last_expression
        if values:
            self.state.memory[text] = {**self.state.memory.get(text, {}), **values}
        self.state.target = text
        self.state.last_expression = text
        self.state.expression_mode = True
        remembered = self.state.memory.get(text, {})
        self.state.expression_texts = {k: t for k, t in remembered.items() if k != GRAD_OUTPUT}
        self.plot_var = None
        self.query_one(OpPicker).set_current(EXPRESSION_ID)
        self._request(reset=True)

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
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
        if layer == "d2":
            self.show_d2 = (not self.show_d2) if on is None else on
            curve = self.state.curve
            if self.show_d2 and (curve is None or curve.d2f is None) and self.state.result:
                self._request()
            value = self.show_d2
        else:
            self.show_numeric = (not self.show_numeric) if on is None else on
            value = self.show_numeric
        self.query_one(PlotPanel).set_layers(show_d2=self.show_d2, show_numeric=self.show_numeric)
        return value

    def set_plot_var(self, name: str | None) -> None:
        """Plot along input ``name`` (``None``: the engine's default) and resample."""
        inputs = self.state.result.inputs if self.state.result else {}
        if name is not None and name not in inputs:
            raise KeyError(f"no input {name!r}; inputs: {', '.join(inputs)}")
        self.plot_var = name
        self._request()

    def show_view(self, view: str) -> None:
        """In a small terminal, show ``"plot"`` or ``"steps"`` (both show when there is room)."""
        if view not in ("plot", "steps"):
            raise ValueError(f"unknown view {view!r}; views: plot, steps")
        self.plot_view = view == "plot"
        self._apply_size(self.size.width, self.size.height)

    @property
    def idle(self) -> bool:
        """Whether the newest request has been answered and drawn."""
        return self._engine_ready.is_set() and self._done_seq == self._seq

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until the newest edit has been computed and drawn (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while not self.idle or self._engine_error is not None:
            if self._engine_error is not None and self._engine_ready.is_set():
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the engine did not answer in time")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)

    _NO_COLOR = NoColor()

    def get_line_filters(self) -> list[LineFilter]:
        """Textual's filters, except that NO_COLOR means no colour at all.

        Under ``NO_COLOR`` Textual turns every colour into a grey (its ``Monochrome``
        filter), which still sends 256-colour and true-colour codes. ``NoColor`` leaves
        the terminal's own colours; the current step and the focused field are then
        told apart by reverse video and bold (``:nocolor`` rules in ``app.tcss``).
        """
        filters = list(super().get_line_filters())
        if self.no_color:
            filters = [self._NO_COLOR if isinstance(f, Monochrome) else f for f in filters]
        return filters

    def screen_text(self) -> str:
        """The screen as plain text, as a person would read it (for headless frames and tests)."""
        import io

        from rich.console import Console

        width, height = self.size
        console = Console(
            width=width, height=height, file=io.StringIO(), record=True, color_system=None
        )
        # The same call Textual's own export_screenshot makes (Textual is pinned exactly).
        console.print(self.screen._compositor.render_update(full=True))
        return console.export_text()

    def _remember(self) -> None:
        """Keep the texts of the op on screen (``v`` too) for when it is chosen again."""
        inputs = self.query_one(InputsPanel)
        if inputs.names:
            self.state.memory[self.state.target] = inputs.values(exclude=(EXPRESSION,))

    # ----------------------------------------------------------------- actions

    def action_step(self, delta: int) -> None:
        """Move through the backward steps."""
        self.step(delta)

    def action_focus_filter(self) -> None:
        """Focus the op filter (showing the picker)."""
        self.query_one("#op-filter", Input).focus()

    def action_focus_steps(self) -> None:
        """Focus the step list, where ``n``/``p`` work."""
        self.query_one(StepList).focus()

    def action_cancel_or_leave(self) -> None:
        """Esc: cancel the computation the status line says is running; otherwise (as
        always) leave a text field for the step list. So while one runs, a first Esc
        cancels and a second leaves the field. (Help and the palette take Esc first.)"""
        if not self.cancel_computation():
            self.action_focus_steps()

    def action_toggle_layer(self, layer: str) -> None:
        """Toggle a plot layer."""
        value = self.toggle_layer(layer)
        name = "f″" if layer == "d2" else "numeric check"
        self.notify(f"{name} {'on' if value else 'off'}", timeout=1.5)

    def action_next_plot_var(self) -> None:
        """Plot along the next input that requires grad."""
        result = self.state.result
        if result is None:
            return
        names = [n for n, v in result.inputs.items() if v.requires_grad]
        if not names:
            self.notify("no input requires grad: nothing to plot along", timeout=2)
            return
        current = (
            self.plot_var if self.plot_var in names else (self.curve.var if self.curve else None)
        )
        base = (current or "").split("[")[0]
        nxt = names[(names.index(base) + 1) % len(names)] if base in names else names[0]
        self.set_plot_var(nxt)
        self.notify(f"plotting along {nxt}", timeout=1.5)

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
            self.install_screen(HelpScreen(self._bindings_for_help()), HELP_SCREEN)
        self.push_screen(HELP_SCREEN)

    def action_save_screenshot(self) -> None:
        """Save an SVG of the screen and say where (or why not).

        Into ``$GRADTUI_SCREENSHOT_DIR`` when set, else the current directory. Textual's
        own command wrote to ``~/Downloads`` and failed where that does not exist (most
        SSH hosts) with only "Failed to save screenshot".
        """
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

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, less its "Screenshot" (ours says where it wrote).

        "Maximize" stays: every panel with something to focus maximizes as a whole.
        """
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the plot/steps swap when both fit."""
        if action == "toggle_view":
            return self.has_class("-narrow")
        return True

    def _bindings_for_help(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen, unless only the app's own screen is left.

        A close key queued behind another (``escape`` twice, or ``escape`` and ``enter``
        in the palette, pressed quickly) asks for a second pop once the first is done;
        Textual then raised ``ScreenStackError`` and the app died. Found by the monkey test.
        """
        if len(self.screen_stack) <= 1:
            return AwaitComplete.nothing()
        return super().pop_screen()

    def action_command_palette(self) -> None:
        """Open the command palette (one that survives being closed mid-search).

        Not while one is on the stack: Textual asks the top screen, which is not yet the
        palette when ``ctrl+p`` comes twice quickly. The palette has no id (Textual gives
        it ``--command-palette``): a closed palette leaves the stack at once but stays
        registered until its removal has run, and a ``ctrl+p`` in between pushed a second
        palette under the same id (``DuplicateIds``; found by the monkey test, seed 0).
        """
        if self.use_command_palette and not any(
            isinstance(screen, CommandPalette) for screen in self.screen_stack
        ):
            self.push_screen(SafeCommandPalette())

    def search_themes(self) -> None:
        """The theme picker (Textual's "Theme" command), in the same safe palette."""
        self.push_screen(
            SafeCommandPalette(providers=[ThemeProvider], placeholder="Search for themes…")
        )

    def palette_commands(self) -> list[PaletteCommand]:
        """Everything the command palette offers now."""
        cmds = [
            PaletteCommand(
                "toggle: f″ (second derivative)",
                "Show or hide f″ in the plot",
                partial(self.action_toggle_layer, "d2"),
                discover=True,
            ),
            PaletteCommand(
                "toggle: numeric check",
                "Mark where a float64 numeric derivative disagrees with autograd",
                partial(self.action_toggle_layer, "numeric"),
                discover=True,
            ),
            PaletteCommand(
                "toggle: plot / steps view",
                "In a small terminal, show the plot or the backward steps",
                self.action_toggle_view,
                discover=True,
            ),
            PaletteCommand(
                "plot: next variable",
                "Plot along the next input that requires grad",
                self.action_next_plot_var,
                discover=True,
            ),
            PaletteCommand(
                "save screenshot",
                f"Save an SVG of the screen in ${SCREENSHOT_DIR_ENV} or the current directory",
                self.action_save_screenshot,
                discover=True,
            ),
            PaletteCommand(
                "help", "Keys, the input language, the panels", self.action_help, discover=True
            ),
            PaletteCommand(
                "op: custom expression",
                "Type any expression; its free names become inputs",
                self.select_expression,
            ),
        ]
        for category, ops in self._catalog.groups:
            for name, summary in ops:
                cmds.append(
                    PaletteCommand(
                        f"op: {name}", f"{category} — {summary}", partial(self.select_op, name)
                    )
                )
        for theme in sorted(self.available_themes):
            cmds.append(
                PaletteCommand(
                    f"theme: {theme}", "Change the colours", partial(setattr, self, "theme", theme)
                )
            )
        return cmds


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
