"""The Jacobian screen (``j``): J of the op on screen, as a heat map, with ``vᵀJ = .grad``.

Opened from the explorer for its op, inputs and ``v`` as they are. J comes from
``torch.autograd.functional.jacobian`` on a worker thread (:class:`~tui.graph_client.GraphJob`),
within the app's time bound; Esc while it runs cancels it. A J too large for a screen is
refused with its size (``gradtui jacobian --json`` computes larger ones). The grid scrolls
both ways; Esc, ``q`` or ``j`` goes back.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Footer, Static

from gradtui.tui.graph_client import GraphDone, GraphJob
from gradtui.tui.widgets.jacobian_view import JacobianView

__all__ = ["JacobianScreen"]


class JacobianScreen(Screen[None]):
    """J of one op, for the inputs it was opened with."""

    DEFAULT_CSS = """
    JacobianScreen #jacobian-title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    JacobianScreen #jacobian-body { height: 1fr; padding: 0 1; }
    """

    explorer_keys = False
    """The explorer's keys (n, p, g, ...) do nothing here: they would act on the screen
    underneath."""

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Cancel J, or go back to the explorer."),
        Binding("j", "back", "Back", show=False, tooltip="Back to the explorer."),
        Binding("q", "back", "Back", show=False, tooltip="Back to the explorer (ctrl+q quits)."),
    ]

    def __init__(self, target: str, texts: Mapping[str, str], v_text: str, timeout: float) -> None:
        super().__init__()
        self.target = target
        self.texts = dict(texts)
        self.v_text = v_text
        self.timeout = timeout
        self.job: GraphJob | None = None
        self.result = None
        """The J on screen (a :class:`~gradtui.ops.graph.JacobianResult`), once computed."""
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Static(f"Jacobian of {self.target}", id="jacobian-title", markup=False)
        with ScrollableContainer(id="jacobian-body"):
            yield JacobianView(id="jacobian")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(JacobianView).show_message("computing J with torch.autograd.functional…")
        self.job = GraphJob(self, "jacobian", self.target, self.texts, self.v_text, self.timeout)
        self.query_one("#jacobian-body").focus()

    @on(GraphDone)
    def _done(self, message: GraphDone) -> None:
        message.stop()
        if self.job is None or message.job != self.job.number:
            return
        self.job = None
        view = self.query_one(JacobianView)
        if message.result is None:
            self.error = message.error
            if message.error.startswith("J would have"):  # the engine's size refusal
                from gradtui.ops.graph import MAX_ENTRIES

                self.error += (
                    f".\nOn the command line, gradtui jacobian --json computes up to "
                    f"{MAX_ENTRIES:,} entries."
                )
            view.show_message(f"no Jacobian: {self.error}", error=True)
            return
        self.result = message.result
        self.query_one("#jacobian-title", Static).update(
            f"Jacobian of {message.result.expression}   (Esc: back)"
        )
        view.show_result(message.result)

    def action_back(self) -> None:
        """Esc: cancel a J still computing (and say so); otherwise back to the explorer."""
        if self.job is not None:
            self.job.cancel()
            return
        self.dismiss()
