"""The status line: one plain sentence about what is on screen.

It says whether the op is differentiable and, when it is not, why — in the engine's
words, which quote torch's own error (for ``lt``: the output is a bool tensor with no
``grad_fn``). While an edit is wrong it says which field and that the rest of the
screen is the last good result.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gradtui.ops.display import a_dtype, describe_kink
from gradtui.ops.results import GradResult
from gradtui.tui.format import describe


class StatusLine(Static):
    """A one-to-three line summary under the panels."""

    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    StatusLine.-error { background: $error 30%; }
    StatusLine.-nondiff { background: $warning 25%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """Start with "loading torch…" (the app paints before torch is imported)."""
        super().__init__(Text("loading torch…"), id=id)
        self._text: Text | None = None
        self._base = (Text("loading torch…"), False, False)
        self._progress: Text | None = None
        self._progress_alone = False
        self.plain = "loading torch…"
        """The current text without styles (for tests and the demo)."""

    def _set(self, text: Text, *, error: bool = False, nondiff: bool = False) -> None:
        self._base = (text, error, nondiff)
        self._show()

    def _show(self) -> None:
        text, error, nondiff = self._base
        if self._progress is not None and self._progress_alone:
            text, error, nondiff = self._progress, False, False
        elif self._progress is not None:
            text = Text("\n").join([self._progress, text])
        self.plain = text.plain
        self.set_class(error, "-error")
        self.set_class(nondiff, "-nondiff")
        if text != self._text:  # an update lays the screen out and repaints the line
            self._text = text
            self.update(text)

    def computing(self, seconds: float, *, result_shown: bool = False) -> None:
        """Say a computation is running, for how long, and that Esc cancels it.

        Args:
            seconds: How long it has run.
            result_shown: Its result is on screen already (its curve is still coming):
                the result's summary stays, under the line saying so.
        """
        what = "computing the curve…" if result_shown else "computing…"
        line = Text(f"{what} {seconds:.1f} s — Esc cancels", style="italic")
        self._progress, self._progress_alone = line, not result_shown
        self._show()

    def done_computing(self) -> None:
        """The computation ended (or was given up): back to the summary alone."""
        if self._progress is not None:
            self._progress = None
            self._show()

    def loading(self, what: str = "loading torch…") -> None:
        """Say the engine is not ready yet."""
        self._set(Text(what, style="italic"))

    def show_result(self, result: GradResult) -> None:
        """Summarise a fresh result: differentiable or not, and why not."""
        text = Text()
        out = result.output
        if result.differentiable and result.kinks:
            # torch returns a gradient, but at some input element no derivative exists:
            # the engine's one detector says which kind of point it is; no "✓" here
            n = len(result.kinks)
            more = f" (and {n - 1} more such point{'s' * (n > 2)})" if n > 1 else ""
            text.append("◆ gradient computed; ", style="bold yellow")
            text.append(describe_kink(result.kinks[0], result.kinks[0].at) + more)
        elif result.differentiable:
            text.append("✓ differentiable", style="bold green")
            text.append(f"  {result.expression}")
            if out is not None:
                text.append(f" → {describe(out.tensor)}, grad_fn={out.grad_fn}", style="dim")
            text.append(f", {len(result.steps)} backward steps", style="dim")
            if result.notes:
                text.append("\n")
                text.append(result.notes[0], style="italic")
        else:
            text.append("✗ not differentiable", style="bold red")
            if out is not None and out.grad_fn is None:
                # Said from the measured output, first, because it is the whole answer.
                text.append(
                    f": the output is {a_dtype(out.tensor.dtype)} tensor with no grad_fn, "
                    "so there is nothing to run backward through",
                    style="bold",
                )
            if result.reason:
                text.append("\n")
                text.append(result.reason)
        self._set(text, nondiff=not result.differentiable)

    def show_error(
        self,
        field: str | None,
        message: str,
        *,
        stale: bool,
        hint: str = "fix the field to update",
    ) -> None:
        """Say an edit was refused (or not computed) and that the screen shows the last good result."""
        text = Text("✗ ", style="bold red")
        if field:
            text.append(f"{field}: ", style="bold")
        text.append(message)
        if stale:
            text.append("\n")
            text.append(f"showing the last good result (stale) — {hint}", style="italic")
        self._set(text, error=True)
