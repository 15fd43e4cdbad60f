"""The forward view: each layer's output as a small heat map, with its numbers when small.

Read off :attr:`ops.model_results.ModelStep.outputs` (forward hooks on the real modules).
A cell's colour is the value against the largest magnitude in that layer's output: blue
below zero, red above, white at zero; a matrix of at most :data:`NUMBERS_UP_TO` numbers is
also written out. It only displays: nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.color import Color
from rich.console import Group
from rich.style import Style
from rich.text import Text

from gradtui.ops.model_results import LayerInfo, ModelStep
from gradtui.ops.results import TensorData
from gradtui.tui.format import describe, format_number, format_tensor

NUMBERS_UP_TO = 24
"""An output with at most this many numbers is written out under its heat map."""
MAX_ROWS, MAX_COLS = 12, 32
"""Rows and columns of a heat map shown (more are elided, and the view says so)."""


def _rows(t: TensorData) -> list[list[float]]:
    """The tensor as rows of numbers (a vector is one row; higher dims flatten per row)."""
    value = t.value
    if not isinstance(value, list):
        return [[value]]
    if not value or not isinstance(value[0], list):
        return [list(value)]

    def flat(v: object) -> list[float]:
        return [x for item in v for x in flat(item)] if isinstance(v, list) else [v]  # type: ignore[misc]

    return [flat(row) for row in value]


def _cell(x: float, scale: float) -> Style:
    if x != x or scale == 0 or abs(x) == float("inf"):
        return Style(bgcolor="magenta") if x != x else Style(bgcolor="yellow")
    a = min(1.0, abs(x) / scale)
    fade = int(255 * (1 - a))
    colour = Color.from_rgb(255, fade, fade) if x > 0 else Color.from_rgb(fade, fade, 255)
    return Style(bgcolor=colour)


def heat_map(t: TensorData) -> list[Text]:
    """Rows of coloured cells for ``t`` (two columns a number)."""
    rows = _rows(t)
    finite = [abs(x) for row in rows for x in row if isinstance(x, (int, float)) and x == x]
    scale = max((x for x in finite if x != float("inf")), default=0.0)
    lines = []
    for r, row in enumerate(rows[:MAX_ROWS]):
        line = Text(f"{r:>3} ", style="dim")
        for x in row[:MAX_COLS]:
            line.append("  ", style=_cell(float(x), scale))
        if len(row) > MAX_COLS:
            line.append(f" … {len(row) - MAX_COLS} more", style="dim")
        lines.append(line)
    if len(rows) > MAX_ROWS:
        lines.append(Text(f"    … {len(rows) - MAX_ROWS} more rows", style="dim"))
    return lines


def _numbers(t: TensorData) -> list[Text]:
    out = []
    for row in _rows(t):
        line = Text("    ")
        for k, x in enumerate(row):
            if k:
                line.append("  ")
            cell = format_number(x) if isinstance(x, float) else Text(str(x))
            cell.align("right", 9)
            line.append_text(cell)
        out.append(line)
    return out


def render_forward(
    step: ModelStep | None, layers: Sequence[LayerInfo], data: TensorData | None, label: str
) -> Group:
    """The forward view for ``step`` (``label`` says which step it is)."""
    if step is None:
        return Group(Text("no model yet: ctrl+r builds it", style="dim"))
    lines: list[Text] = [Text(label, style="bold")]
    if not step.outputs:
        lines.append(
            Text(
                "This step was lean (a training step): no layer outputs were recorded.",
                style="italic",
            )
        )
        return Group(*lines)
    lines.append(Text("colour: blue < 0 < red, against each output's largest |value|", style="dim"))
    if data is not None:
        head = Text("data  ", style="bold underline")
        head.append(describe(data), style="dim")
        lines.append(head)
        lines.extend(_numbers(data) if _small(data) else heat_map(data))
    for layer in layers:
        out = step.outputs.get(layer.name)
        if out is None:
            continue
        head = Text(f"{layer.label}", style="bold underline")
        head.append(f"  {layer.text}  → ", style="dim")
        head.append(describe(out), style="dim")
        lines.append(head)
        lines.extend(heat_map(out))
        if _small(out):
            lines.extend(_numbers(out))
        elif out.non_finite:
            lines.append(format_tensor(out))
    return Group(*lines)


def _small(t: TensorData) -> bool:
    n = 1
    for d in t.shape:
        n *= d
    return n <= NUMBERS_UP_TO
