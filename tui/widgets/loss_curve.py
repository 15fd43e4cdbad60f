"""The loss curve: one column per step (or per group of steps), drawn in Unicode blocks.

A plain widget rather than plotext: it grows by one point per training step, and blocks
redraw cheaply and look the same in every terminal. The y axis is linear, or logarithmic
when every loss is positive and they span more than :data:`LOG_SPAN` (the title says
which); the x axis is the step, 1 to N, compressed when there are more steps than columns
(each column then shows its last step, and the title says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from gradtui.tui.format import format_number

BLOCKS = " ▁▂▃▄▅▆▇█"
LOG_SPAN = 100.0
"""Largest/smallest loss above which the y axis is logarithmic."""
LABEL_WIDTH = 10


def chart(losses: Sequence[float], width: int, height: int) -> tuple[str, list[Text]]:
    """``(title, rows)`` for ``losses`` in ``width`` x ``height`` cells."""
    finite = [x for x in losses if math.isfinite(x)]
    n = len(losses)
    if not n:
        return "loss: no steps yet (t trains)", []
    cols = max(1, width - LABEL_WIDTH - 1)
    height = max(2, height)
    log = bool(finite) and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)

    def y(v: float) -> float:
        return math.log10(v) if log else v

    ylo, yhi = y(lo), y(hi)
    span = (yhi - ylo) or 1.0
    if n <= cols:
        picks = list(range(n))
    else:
        picks = [min(n - 1, ((j + 1) * n) // cols - 1) for j in range(cols)]
    levels = []
    for i in picks:
        v = losses[i]
        if not math.isfinite(v):
            levels.append(None)
        else:
            levels.append(1 + round((y(v) - ylo) / span * (height * 8 - 1)))
    rows = []
    for r in range(height):
        top = (height - r) * 8  # eighths at this row's top edge
        label = hi if r == 0 else lo if r == height - 1 else None
        line = Text(
            (format_number(label).plain if label is not None else "").rjust(LABEL_WIDTH) + "┤",
            style="dim",
        )
        for level in levels:
            if level is None:
                line.append("!" if r == height - 1 else " ", style="bold magenta")
                continue
            fill = level - (top - 8)
            line.append(BLOCKS[max(0, min(8, fill))], style="cyan")
        rows.append(line)
    axis = Text(" " * LABEL_WIDTH + "└", style="dim")
    axis.append(f"step 1 … {n}".ljust(len(levels), "─")[: max(len(levels), 12)], style="dim")
    rows.append(axis)
    scale = "log y" if log else "linear y"
    every = "" if n <= cols else f", one column per {n / cols:.2g} steps (its last)"
    return f"loss over {n} step{'s' if n != 1 else ''} ({scale}{every})", rows


class LossCurve(Widget):
    """The losses so far, redrawn to the widget's size."""

    DEFAULT_CSS = """
    LossCurve { height: 1fr; min-height: 5; border: round $primary 60%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.losses: list[float] = []
        """Every point drawn: one loss per training step, in order."""

    def set_losses(self, losses: Sequence[float]) -> None:
        """Draw ``losses`` (replacing what was drawn)."""
        self.losses = list(losses)
        self.border_title = self._chart()[0]
        self.refresh()

    def _chart(self) -> tuple[str, list[Text]]:
        return chart(self.losses, self.content_size.width, self.content_size.height - 1)

    def on_resize(self) -> None:
        """The title says how many steps a column holds, which depends on the width."""
        self.border_title = self._chart()[0]

    def render(self) -> Text:
        """The chart for the current size (its title is in the border)."""
        title, rows = self._chart()
        return Text("\n").join(rows) if rows else Text(title, style="dim")
