"""The snippet screen: paste PyTorch code, run it with the real torch, read what it did.

An editor (:class:`~tui.widgets.snippet_editor.SnippetEditor`, Python highlighted), the
run's report (:class:`~tui.widgets.snippet_report.SnippetReport`: each statement ran,
raised or not reached, each claim holding or not beside what was printed), and the
explorer's own :class:`~tui.widgets.stepper.StepperPanel` for the backward passes the
snippet ran (a :class:`~textual.widgets.Select` chooses among several). ``ctrl+r`` or
``F5`` runs the text through :class:`~tui.snippet_client.SnippetClient` on a worker
thread, within the app's time bound; Esc cancels a run, else goes back to the explorer.

A snippet the language refuses is never lost: the refusal is shown with its line and
column, and the cursor goes there. Wide (120x32 and up) the backward passes sit beside
the editor and report; smaller, below the editor in place of the report (``ctrl+t``).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.events import Paste, Resize
from textual.screen import Screen
from textual.widgets import Footer, Select, Static, TextArea

from gradtui.ops.results import BackwardRecord, SnippetResult
from gradtui.tui.messages import SnippetDone
from gradtui.tui.report import pointed, visible
from gradtui.tui.screens.snippet_keys import SNIPPET_KEYS
from gradtui.tui.snippet_client import SnippetClient
from gradtui.tui.widgets.snippet_editor import SnippetEditor
from gradtui.tui.widgets.snippet_report import SnippetReport, summary
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from gradtui.tui.workarounds import is_exiting

WIDE_WIDTH, WIDE_HEIGHT = 120, 32
"""From this size on the backward passes sit beside the editor; below, under it."""


class SnippetScreen(Screen[None]):
    """Editor over report | backward passes; a status line and the footer below.

    Args:
        timeout: Seconds a run may take (the app's bound; ``0``: none).
        cursor_blink: Whether the editor's cursor blinks (tests turn it off).
    """

    explorer_keys = False
    """The app's explorer-only keys (plot layers, the op filter) do nothing here."""

    BINDINGS = SNIPPET_KEYS

    DEFAULT_CSS = """
    SnippetScreen { layout: vertical; }
    SnippetScreen #snippet-body { height: 1fr; layout: horizontal; }
    SnippetScreen #snippet-left { width: 1fr; height: 1fr; }
    SnippetScreen #snippet-editor { height: 1fr; min-height: 5; border: round $primary 60%; }
    SnippetScreen #snippet-editor:focus { border: round $primary; }
    SnippetScreen #snippet-report { height: 1fr; border: round $secondary 60%; }
    SnippetScreen #snippet-report:focus { border: round $secondary; }
    SnippetScreen #snippet-right { width: 1fr; height: 1fr; border: round $accent 60%; }
    SnippetScreen #snippet-right:focus-within { border: round $accent; }
    SnippetScreen #snippet-pass { display: none; }
    SnippetScreen #snippet-pass.-shown { display: block; }
    SnippetScreen #snippet-status { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    SnippetScreen #snippet-status.-error { background: $error 30%; }
    SnippetScreen.-narrow #snippet-body { layout: vertical; }
    SnippetScreen.-narrow #snippet-right { display: none; }
    SnippetScreen.-narrow.-backward-view #snippet-right { display: block; }
    SnippetScreen.-narrow.-backward-view #snippet-report { display: none; }
    SnippetScreen.-narrow StepList { max-height: 4; }
    SnippetScreen #snippet-report.-stale { border: round $warning; }
    """

    def __init__(self, *, timeout: float, cursor_blink: bool = True) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        self.client = SnippetClient(self, self, timeout)
        """Runs the snippets, newest first, within the time bound."""
        self.result: SnippetResult | None = None
        """The last run's result (``None`` before the first, or after a refusal)."""
        self.refused: tuple[int, int, str] | None = None
        """Where the last run was refused, ``(line, col, message)``, if it was."""
        self.ran_text: str | None = None
        """The text the report on screen is for."""
        self.backward_view = False
        """Small terminal: the backward steps are shown instead of the report."""
        self._pending: tuple[str, bool] | None = None
        self._composed = False

    def compose(self) -> ComposeResult:
        """Editor over report | backward passes; status line; footer."""
        with Container(id="snippet-body"):
            with Vertical(id="snippet-left"):
                yield SnippetEditor(cursor_blink=self.cursor_blink, id="snippet-editor")
                yield SnippetReport(id="snippet-report")
            with Vertical(id="snippet-right"):
                yield Select[int](
                    [], prompt="backward pass", allow_blank=True, compact=True, id="snippet-pass"
                )
                yield StepperPanel(id="snippet-stepper")
        yield Static(
            Text("ctrl+r runs the snippet · Esc: back to the explorer"), id="snippet-status"
        )
        yield Footer()

    def on_mount(self) -> None:
        """Title the panels, fit the terminal, and load a text handed over before mounting."""
        self.query_one("#snippet-editor").border_title = "snippet (Python)"
        self.query_one("#snippet-report").border_title = "report"
        self.query_one("#snippet-right").border_title = "backward passes"
        self.query_one(StepperPanel).show_placeholder("no backward pass yet: run the snippet")
        self._fit(*self.app.size)
        self.query_one(SnippetEditor).focus()
        self._composed = True
        if self._pending is not None:
            text, run = self._pending
            self._pending = None
            self.load(text, run=run)

    def on_resize(self, event: Resize) -> None:
        """Re-choose the layout for the new size."""
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        narrow = width < WIDE_WIDTH or height < WIDE_HEIGHT
        self.set_class(narrow, "-narrow")
        self.set_class(self.backward_view, "-backward-view")
        for footer in self.query(Footer):
            footer.compact = width < 90

    def on_unmount(self) -> None:
        """Stop a run in flight: an exiting app must not wait for it."""
        self.client.close()

    # -------------------------------------------------------------- scripting

    @property
    def editor(self) -> SnippetEditor:
        """The editor."""
        return self.query_one(SnippetEditor)

    @property
    def text(self) -> str:
        """The snippet as it stands in the editor."""
        return self.editor.text

    @property
    def running(self) -> bool:
        """Whether a run is in flight."""
        return self.client.running

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        return str(self.query_one("#snippet-status", Static).content)

    @property
    def report_text(self) -> str:
        """The report as plain text."""
        return self.query_one(SnippetReport).plain

    def load(self, text: str, *, run: bool = False) -> None:
        """Put ``text`` in the editor (one undoable edit), and run it if ``run``."""
        if not self._composed:  # before on_mount (is_mounted is only set after it)
            self._pending = (text, run)
            return
        self.editor.set_text(text)
        self.editor.focus()
        if run:
            self.run()

    def run(self) -> int:
        """Run the editor's text; returns the run's number."""
        self.client.timeout = getattr(self.app, "timeout", self.client.timeout)
        self.ran_text = self.text
        return self.client.run(self.ran_text)

    # ----------------------------------------------------------------- actions

    def action_run(self) -> None:
        """Run the snippet."""
        self.run()

    def action_cancel_or_back(self) -> None:
        """Cancel a run in flight; otherwise back to the explorer."""
        if self.client.cancel():
            return
        self.app.pop_screen()

    def action_toggle_pane(self) -> None:
        """Small terminal: swap the report and the backward steps."""
        self.backward_view = not self.backward_view
        self._fit(*self.app.size)
        if self.backward_view:
            self.query_one(StepList).focus()

    def action_next_pass(self) -> None:
        """Show the next recorded backward pass."""
        passes = self.result.backwards if self.result else ()
        if not passes:
            self.notify("no backward pass ran", timeout=2)
            return
        select = self.query_one("#snippet-pass", Select)
        current = select.value if isinstance(select.value, int) else -1
        self.show_pass((current + 1) % len(passes))

    def action_step(self, delta: int) -> None:
        """Move through the shown pass's backward steps."""
        self.query_one(StepperPanel).step(delta)

    def action_toggle_graph(self) -> None:
        """Swap the shown pass's step list and its drawn graph."""
        self.query_one(StepperPanel).toggle_graph()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The report/backward swap only where both do not fit side by side."""
        if action == "toggle_pane":
            return self.has_class("-narrow")
        return True

    def show_pass(self, index: int) -> None:
        """Show backward pass ``index`` (0-based, in the order they ran) in the stepper."""
        passes = self.result.backwards if self.result else ()
        record: BackwardRecord = passes[index]
        select = self.query_one("#snippet-pass", Select)
        if select.value != index:
            select.value = index
        self.query_one(StepperPanel).show_record(record)
        self.query_one(
            "#snippet-right"
        ).border_title = f"backward pass {index + 1} of {len(passes)}"

    # -------------------------------------------------------------- the client

    def show_running(self, seconds: float) -> None:
        """Say the run is in flight, for how long, and that Esc cancels it."""
        self._status(Text(f"running… {seconds:.1f} s — Esc cancels"))

    def show_abandoned(self, why: str) -> None:
        """The run was given up: the report on screen (if any) is an older run's."""
        note = "; the report shown is of the run before" if self.result else ""
        self._status(Text(f"{why}{note}"), error=True)

    def on_snippet_done(self, message: SnippetDone) -> None:
        """Show a run's report, or its refusal with the cursor on the refused spot."""
        if not self.client.is_current(message.seq) or is_exiting(self.app):
            return
        self.client.answered(message.seq)
        report = self.query_one(SnippetReport)
        report.set_class(False, "-stale")
        if message.refused is not None:
            self._refused(*message.refused)
            return
        if message.result is None:
            self._status(Text(message.error or "no result"), error=True)
            return
        result = message.result
        self.result, self.refused = result, None
        report.show_result(result)
        report.border_title = "report"
        self._show_passes(result)
        self._status(Text(summary(result)), error=result.refused is not None)
        if result.refused is not None:
            line, col, _ = result.refused
            self._cursor_to(line, col)
        elif result.stopped_at is not None:
            self._cursor_to(result.stopped_at, 1)

    def _refused(self, line: int, col: int, message: str) -> None:
        """The language refused the snippet: say where and why, and put the cursor there."""
        self.result, self.refused = None, (line, col, message)
        text = Text()
        text.append(f"refused at line {line}:{col}: ", style="bold red")
        text.append(visible(message))
        text.append("\n\n" + pointed(self.ran_text or "", line, col))
        text.append("\n\nNothing ran. Your text is kept: edit it and run again.", style="dim")
        self.query_one(SnippetReport).show_message(text)
        self.query_one(SnippetReport).border_title = "report (refused)"
        self._show_passes(None)
        self._status(Text(f"refused at line {line}:{col}: {message}"), error=True)
        self._cursor_to(line, col)

    def _cursor_to(self, line: int, col: int) -> None:
        editor = self.editor
        editor.move_cursor((max(line - 1, 0), max(col - 1, 0)), center=True)
        editor.focus()

    def _show_passes(self, result: SnippetResult | None) -> None:
        passes = result.backwards if result else ()
        select = self.query_one("#snippet-pass", Select)
        select.set_options(
            (f"{k + 1}/{len(passes)} · line {b.line}: {b.call}", k) for k, b in enumerate(passes)
        )
        select.set_class(bool(passes), "-shown")
        stepper = self.query_one(StepperPanel)
        if passes:
            self.show_pass(0)
            return
        self.query_one("#snippet-right").border_title = "backward passes"
        stepper.clear("the run was refused" if result is None else "no backward pass ran")

    def _status(self, text: Text, *, error: bool = False) -> None:
        status = self.query_one("#snippet-status", Static)
        status.set_class(error, "-error")
        status.update(text)

    # ------------------------------------------------------------------ events

    @on(Select.Changed, "#snippet-pass")
    def _pass_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if (
            isinstance(event.value, int)
            and self.result
            and event.value < len(self.result.backwards)
        ):
            self.show_pass(event.value)

    @on(TextArea.Changed, "#snippet-editor")
    def _edited(self, event: TextArea.Changed) -> None:
        """Once the text differs from the run's, the report says it is of an older text."""
        report = self.query_one(SnippetReport)
        stale = self.ran_text is not None and self.text != self.ran_text
        report.set_class(stale, "-stale")
        report.border_title = "report (edited since: ctrl+r runs again)" if stale else "report"

    def on_paste(self, event: Paste) -> None:
        """A paste while the editor is not focused still goes into the editor (one the
        editor took does not come here)."""
        event.stop()
        self.editor.insert_pasted(event.text)
        self.editor.focus()
