"""The explorer screen: pick an op, edit its inputs, step through the real backward pass.

It composes the four panels (:mod:`tui.widgets`) and wires them with messages: an edit
goes to the :class:`~tui.session.Session` (what the person typed) and, through the
:class:`~tui.engine_client.EngineClient`, to the engine in a worker thread; the answers
(:mod:`tui.messages`) come back here and go to the panels. An edit the engine refuses
leaves the last good result on screen, marked stale, with the engine's message under
the field that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT, LAYERS, looks_like_op_name
from gradtui.ops.results import Curve, GradResult
from gradtui.tui.compute import expression_target
from gradtui.tui.engine_client import EngineClient
from gradtui.tui.graph_client import GraphDone, GraphJob
from gradtui.tui.messages import Computed, CurveDone, EngineFailed, EngineLoaded, FieldsReady
from gradtui.tui.model_presets import PREFIX as MODEL_PREFIX
from gradtui.tui.model_presets import preset, texts_of
from gradtui.tui.session import Session
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.op_picker import EXPRESSION_ID, OpPicker, snippet_of
from gradtui.tui.widgets.plot import PlotPanel
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepperPanel
from gradtui.tui.workarounds import is_exiting

MIN_WIDTH, MIN_HEIGHT = 60, 20
"""Below this the app shows "terminal too small" instead of a broken layout."""


class ExplorerScreen(Screen[None]):
    """Picker | (inputs over (stepper | plot)); status line and footer below.

    Args:
        session: What the person has chosen and typed (the opening target included).
        cursor_blink: Whether text cursors blink (tests turn it off for stable snapshots).
        timeout: Seconds one computation may take (see :class:`~tui.engine_client.EngineClient`).
    """

    def __init__(self, session: Session, *, cursor_blink: bool, timeout: float) -> None:
        super().__init__(id="_default")
        self.session = session
        self.cursor_blink = cursor_blink
        self.client = EngineClient(self, self, timeout)
        self.hvp_job: GraphJob | None = None
        """The H·u computation in flight (``h``), if any."""
        """Sends the requests and keeps their numbers."""
        self.result: GradResult | None = None
        """The last good result (see :attr:`stale`)."""
        self.curve: Curve | None = None
        """The last curve drawn."""
        self.stale = False
        """Whether the result on screen is older than the inputs (an edit was refused)."""
        self.show_d2 = False
        """Whether the plot shows f″."""
        self.show_numeric = True
        """Whether the plot marks numeric disagreements."""
        self.plot_var: str | None = None
        """The input the plot varies (``None``: the engine's choice)."""
        self._fitted: tuple[int, int, bool, bool] | None = None
        """The newest size the app fitted this screen to (kept until it has composed)."""
        self._composed = False

    def compose(self) -> ComposeResult:
        """Picker | (inputs over (stepper | plot)); status line and footer below."""
        with Horizontal(id="body"):
            yield OpPicker(self.session.target, id="picker")
            with Vertical(id="main"):
                yield InputsPanel(cursor_blink=self.cursor_blink, id="inputs")
                with Horizontal(id="work"):
                    yield StepperPanel(id="stepper")
                    yield PlotPanel(id="plot")
        yield StatusLine(id="status")
        yield Static(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        """Fit the terminal, ask for the opening op, paint, then load torch in the background.

        The app mounts first and catches the exit signals there: one that came since has
        begun the exit, and the panels may be gone already.
        """
        if is_exiting(self.app):
            return
        self._composed = True
        if self._fitted is not None:
            width, height, too_small, compact = self._fitted
            self.fit(width, height, too_small=too_small, compact=compact)
        self.query_one(OpPicker).query_one("#op-filter", Input).cursor_blink = self.cursor_blink
        self.request(reset=True)
        self.call_after_refresh(self.client.load)

    def fit(self, width: int, height: int, *, too_small: bool, compact: bool) -> None:
        """Fit a ``width`` x ``height`` terminal (the app sets the layout classes).

        The app can be resized before this screen has composed its panels (its first
        size comes as it starts); then the size is kept for :meth:`on_mount`.
        """
        self._fitted = (width, height, too_small, compact)
        if not self._composed:
            return
        for footer in self.query(Footer):
            footer.compact = compact
        if too_small:
            self.query_one("#too-small", Static).update(
                Text.assemble(
                    ("Terminal too small", "bold"),
                    f"\n\n{width}x{height}: gradtui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                    "Enlarge the window, or press ctrl+q to quit.",
                )
            )

    def on_screen_resume(self) -> None:
        """Back from the snippet screen: the footer shows the explorer's keys again (they
        were hidden there, and the footer asked while that screen was still on top)."""
        self.app.refresh_bindings()

    def focus_steps(self) -> None:
        """Focus the step list (or the drawn graph), where ``n``/``p`` work."""
        self.query_one(StepperPanel).focus_steps()

    def inputs_now(self) -> tuple[str, dict[str, str], str]:
        """The target, input texts and ``v`` text as the engine would get them now."""
        inputs = self.query_one(InputsPanel)
        if not inputs.names:
            texts, v_text = self.session.texts_to_send(None)
        else:
            texts, v_text = self.session.texts_to_send(
                inputs.values(), inputs.texts.get(GRAD_OUTPUT, "")
            )
        target = self.session.target
        if self.session.expression_mode:
            target = expression_target(target)
        return target, texts, v_text

    def not_current(self, key: str, nothing: str) -> str:
        """Why ``key`` (``h`` or ``j``) cannot work on the result on screen now, or "".

        Both compute for the inputs on screen, and what they show sits beside the result
        on screen, so that result must be for those inputs: not one for an older op or
        older texts while the newest request still computes, or after it failed.
        """
        if self.result is None:
            return f"no result yet: {nothing}"
        if self.client.result_seq == self.client.seq:
            return ""
        if self.stale:
            return f"{key}: the inputs on screen did not compute (see the status line)"
        return f"{key}: still computing these inputs; press {key} when their result shows"

    def second_order(self) -> str:
        """``h``: the backward of the backward (H·u) in the stepper, or back from it.
        Returns what to tell the person when the panel does not show it ("" otherwise)."""
        stepper = self.query_one(StepperPanel)
        if self.hvp_job is not None:
            return "H·u is already being computed"
        if stepper.leave_hvp():
            return ""
        why = self.not_current("h", "nothing to differentiate twice")
        if why:
            return why
        target, texts, v_text = self.inputs_now()
        self.hvp_job = GraphJob(self, "hvp", target, texts, v_text, self.client.timeout)
        stepper.border_title = "backward of backward: computing H·u…"
        return ""

    def cancel_hvp(self) -> bool:
        """Esc while H·u computes: stop it."""
        if self.hvp_job is None:
            return False
        self.hvp_job.cancel()
        return True

    def drop_hvp(self) -> None:
        """The inputs or the op changed: the backward of the backward on screen (or being
        computed) is for the old ones, so the stepper goes back to the op's own backward."""
        stepper = self.query_one(StepperPanel)
        if self.hvp_job is not None:
            self.hvp_job.cancel()
            self.hvp_job = None
            stepper.set_stale(stepper.has_class("-stale"))  # its title, as it was
        stepper.leave_hvp()

    @on(GraphDone)
    def _hvp_done(self, message: GraphDone) -> None:
        message.stop()
        job = self.hvp_job
        if job is None or message.job != job.number:
            return  # an H·u given up (cancelled, or for inputs since edited)
        self.hvp_job = None
        stepper = self.query_one(StepperPanel)
        if message.result is None:
            stepper.set_stale(stepper.has_class("-stale"))  # its title, as it was
            self.notify(message.error, title="no H·u", severity="error", timeout=8)
            return
        stepper.show_hvp(message.result)

    # ------------------------------------------------------------ the engine

    def on_engine_loaded(self, message: EngineLoaded) -> None:
        """Fill the op picker; the panels waiting for a first result now wait for the engine."""
        self.query_one(OpPicker).set_catalog(message.catalog.groups, message.catalog.signatures)
        self.query_one(StepperPanel).show_placeholder("computing…")
        self.query_one(PlotPanel).show_placeholder("computing…")
        target = self.session.target.strip()
        # A bare unknown name is an op misspelt (the engine suggests the right one), not
        # an expression.
        if target not in self.client.catalog.names and not looks_like_op_name(target):
            self.session.expression_mode = True
            self.query_one(OpPicker).set_current(EXPRESSION_ID)

    def on_engine_failed(self, message: EngineFailed) -> None:
        """Say plainly that torch could not be loaded."""
        self.query_one(StatusLine).show_error(None, message.message, stale=False)

    def request(self, *, reset: bool = False) -> None:
        """Send the current target and texts to the engine (replacing any older request)."""
        inputs = self.query_one(InputsPanel)
        if reset or not inputs.names:
            texts, v_text = self.session.texts_to_send(None)
        else:
            texts, v_text = self.session.texts_to_send(
                inputs.values(), inputs.texts.get(GRAD_OUTPUT, "")
            )
        if not self.client.ready:
            self.query_one(StatusLine).loading()
        self.client.send(
            self.session.target,
            texts,
            v_text,
            second=self.show_d2,
            reset=reset,
            var=self.plot_var,
            expression=self.session.expression_mode,
        )

    def retry_if_abandoned(self) -> bool:
        """Compute again when nothing is on screen because the newest request was given up
        (a step key then has nothing to step through); returns whether it did."""
        client = self.client
        if self.result is not None or client.error is not None or client.abandoned != client.seq:
            return False
        if client.seq == 0:
            return False
        self.request()
        return True

    def show_computing(self, seconds: float, *, first: bool, result_shown: bool) -> None:
        """Say the newest request runs (with its time) and that Esc cancels it.

        From the first time on, the field errors on screen belong to older texts (an
        answer would have replaced them by now), so they go.
        """
        if first:
            self.query_one(InputsPanel).clear_errors()
        self.query_one(StatusLine).computing(seconds, result_shown=result_shown)

    def done_computing(self) -> None:
        """The status line stops saying a computation runs."""
        self.query_one(StatusLine).done_computing()

    def show_abandoned(self, why: str, *, curve_only: bool) -> None:
        """The newest request was given up: keep the last good result, say ``why``.

        No field error stays: each belonged to an older text than the one on screen.
        """
        if curve_only and self.result is not None:
            # Only the curve was still computing: the result on screen is for the text
            # on screen, and stays current; the plot (an older curve, or none) says so.
            plot = self.query_one(PlotPanel)
            plot.set_stale(plot.curve is not None)
            plot.show_placeholder(f"no curve: {why}")
            self.query_one(StatusLine).show_error(
                None, f"{why} (the curve; the result shown is for these inputs)", stale=False
            )
            return
        stale = self.result is not None
        self.stale = stale
        self.query_one(InputsPanel).clear_errors()
        self.query_one(StepperPanel).set_stale(stale)
        self.query_one(PlotPanel).set_stale(stale)
        self.query_one(StatusLine).show_error(None, why, stale=stale, hint="edit to compute again")
        if not stale:  # nothing computed yet: the panels say why, not "loading torch…"
            self.query_one(StepperPanel).show_placeholder(f"no result: {why}")
            self.query_one(PlotPanel).show_placeholder(f"no curve: {why}")

    async def on_fields_ready(self, message: FieldsReady) -> None:
        """Show the fields of the newest request's op (before its result is known)."""
        if message.seq != self.client.seq:
            return
        inputs = self.query_one(InputsPanel)
        try:
            await inputs.set_fields(message.fields, reset=message.reset)
        except NoMatches:
            # Fields that arrive as the app closes find their rows being torn down (seen
            # when a test left the app during its first computation). At any other time
            # a missing row is a bug.
            if not is_exiting(self.app):
                raise
        self.session.fields_shown(inputs.values(exclude=(EXPRESSION,)))

    async def on_computed(self, message: Computed) -> None:
        """Show a fresh result, or the error under its field with the old result kept."""
        if not self.client.is_current(message.seq):
            return
        inputs = self.query_one(InputsPanel)
        status = self.query_one(StatusLine)
        stepper = self.query_one(StepperPanel)
        plot = self.query_one(PlotPanel)
        inputs.clear_errors()
        if message.error is not None:
            err = message.error
            field_name = err.field
            if field_name is None and self.session.expression_mode:
                field_name = EXPRESSION
            shown = inputs.show_error(field_name, err.message, err.position)
            stale = self.result is not None
            self.stale = stale
            stepper.set_stale(stale)
            plot.set_stale(stale)
            self.client.answered(message.seq)
            status.show_error(field_name if shown else err.field, err.message, stale=stale)
            return
        assert message.result is not None
        self.client.result_seq = message.seq
        self.result = message.result
        self.stale = False
        stepper.set_stale(False)
        # An H·u still on screen is for these inputs (an edit would have dropped it): the
        # answer came for the plot (f″, another variable), so the second backward stays.
        stepper.show_result(message.result, keep_hvp=True)
        status.show_result(message.result)

    def on_curve_done(self, message: CurveDone) -> None:
        """Draw the new curve (or say why there is none)."""
        if not self.client.is_current(message.seq):
            return
        plot = self.query_one(PlotPanel)
        plot.set_stale(False)
        if message.curve is not None:
            self.curve = message.curve
            plot.show_curve(message.curve)
        else:
            self.curve = None
            plot.show_message(message.message or "no curve")
        self.client.answered(message.seq)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised becomes a visible message; the app and the screen stay."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        stale = self.result is not None
        self.query_one(StatusLine).show_error(
            None, f"internal error ({type(error).__name__}): {error}", stale=stale
        )
        if event.worker.group == "compute":
            # The inputs on screen were not computed: the result shown is the last good one.
            self.stale = stale
            self.query_one(StepperPanel).set_stale(stale)
            self.query_one(PlotPanel).set_stale(stale)
            self.client.answered(self.client.seq)

    # -------------------------------------------------------- panel messages

    @on(OpPicker.Selected)
    def _op_selected(self, message: OpPicker.Selected) -> None:
        seed = snippet_of(message.name)
        if seed is not None:  # the seed page's code: to the snippet editor, and run
            current = EXPRESSION_ID if self.session.expression_mode else self.session.target
            self.query_one(OpPicker).set_current(current)
            self.app.open_snippet(seed.text, run=True)  # type: ignore[attr-defined]
            return
        if message.name.startswith(MODEL_PREFIX):  # a model preset, or "model: new"
            current = EXPRESSION_ID if self.session.expression_mode else self.session.target
            self.query_one(OpPicker).set_current(current)
            found = preset(message.name.removeprefix(MODEL_PREFIX))
            self.app.open_model(texts_of(found) if found else None)  # type: ignore[attr-defined]
            return
        if message.name == EXPRESSION_ID:
            self.select_expression()
        else:
            self.select_op(message.name)
        self.focus_steps()

    @on(InputsPanel.Edited)
    def _edited(self, message: InputsPanel.Edited) -> None:
        self.session.edited(message.name, message.text)
        self.drop_hvp()
        self.request()

    @on(InputsPanel.Done)
    def _done_typing(self) -> None:
        self.focus_steps()

    # ------------------------------------------------------- what scripts do

    def select_op(self, name: str, values: Mapping[str, str] | None = None) -> None:
        """Open op ``name`` with its remembered (or default) inputs, overridden by ``values``."""
        self._remember()
        self.session.choose_op(name, values)
        self.plot_var = None
        self.drop_hvp()
        self.query_one(OpPicker).set_current(name)
        self.request(reset=True)

    def select_expression(
        self, text: str | None = None, values: Mapping[str, str] | None = None
    ) -> None:
        """Switch to a custom expression (``text``, or the last one, or a default)."""
        self._remember()
        self.session.choose_expression(text, values)
        self.plot_var = None
        self.drop_hvp()
        self.query_one(OpPicker).set_current(EXPRESSION_ID)
        self.request(reset=True)

    def _remember(self) -> None:
        """Keep the texts of the op on screen (``v`` too) for when it is chosen again."""
        inputs = self.query_one(InputsPanel)
        if inputs.names:
            self.session.remember(inputs.values(exclude=(EXPRESSION,)))

    def toggle_layer(self, layer: str, on: bool | None = None) -> bool:
        """Show or hide a plot layer (``"d2"`` or ``"numeric"``); returns the new setting."""
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
        if layer == "d2":
            self.show_d2 = (not self.show_d2) if on is None else on
            curve = self.curve
            if self.show_d2 and (curve is None or curve.d2f is None) and self.result:
                self.request()
            value = self.show_d2
        else:
            self.show_numeric = (not self.show_numeric) if on is None else on
            value = self.show_numeric
        self.query_one(PlotPanel).set_layers(show_d2=self.show_d2, show_numeric=self.show_numeric)
        return value

    def set_plot_var(self, name: str | None) -> None:
        """Plot along input ``name`` (``None``: the engine's default) and resample."""
        inputs = self.result.inputs if self.result else {}
        if name is not None and name not in inputs:
            raise KeyError(f"no input {name!r}; inputs: {', '.join(inputs)}")
        self.plot_var = name
        self.request()

    def next_plot_var(self) -> str | None:
        """Plot along the next input that requires grad; returns it (``None``: there is none)."""
        result = self.result
        if result is None:
            return None
        names = [n for n, v in result.inputs.items() if v.requires_grad]
        if not names:
            return None
        current = (
            self.plot_var if self.plot_var in names else (self.curve.var if self.curve else None)
        )
        base = (current or "").split("[")[0]
        nxt = names[(names.index(base) + 1) % len(names)] if base in names else names[0]
        self.set_plot_var(nxt)
        return nxt
