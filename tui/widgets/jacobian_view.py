"""J as a heat map: one grid per input, ``v`` beside its rows, ``.grad`` under it.

Backward computes ``input.grad = vᵀJ``: row ``i`` of J (how output element ``i`` moves with
each input element) is weighted by ``v[i]`` and the rows are summed. The grid shows J
with a row per output element and a column per input element (both flattened in
row-major order, labelled with their indices). The rows ``v`` combines (``v ≠ 0``) are
marked ``▸`` and bold, the others dim. Under the grid: the input's ``.grad`` from torch's
own backward, and ``vᵀJ`` worked out here from the numbers shown, with the largest
difference between them.

Each cell is shaded by ``|J|`` against the largest ``|J|`` of its grid: red for positive,
blue for negative. A small J shows its numbers on the shading; a large one a two-character
cell: its sign and a shade (``░▒▓█``) of its size, so it reads without colour
(``NO_COLOR``) too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gradtui.ops.names import GRAD_OUTPUT
from gradtui.tui.report_graph import index_text, number_text, vjp_difference

__all__ = ["JacobianView", "NUMBER_COLUMNS", "render_jacobian"]

NUMBER_COLUMNS = 10
"""Up to this many input elements, the cells show their numbers; beyond, shades."""
NUMBER_ROWS = 64
"""Up to this many output elements (with few enough columns), numbers too."""
_SHADES = "░▒▓█"
_POS = (200, 50, 50)
_NEG = (50, 90, 210)
_ZERO = (40, 40, 40)


def _shade(x: float, top: float) -> Style:
    """The cell's background: ``|x| / top`` of the way from grey to red (or blue)."""
    if not math.isfinite(x):
        return Style(bgcolor=Color.from_rgb(150, 0, 150), color="white", bold=True)
    t = 0.0 if top == 0 else min(abs(x) / top, 1.0)
    end = _POS if x > 0 else _NEG
    r, g, b = (round(z + (e - z) * t) for z, e in zip(_ZERO, end, strict=True))
    return Style(bgcolor=Color.from_rgb(r, g, b), color="white")


def _glyph(x: float, top: float) -> str:
    """``|x| / top`` as a shade ``░▒▓█`` (``·`` for zero, ``!`` for nan or inf)."""
    if not math.isfinite(x):
        return "!"
    if x == 0:
        return "·"
    t = 0.0 if top == 0 else min(abs(x) / top, 1.0)
    return _SHADES[min(int(t * len(_SHADES)), len(_SHADES) - 1)]


def _heat_cell(x: float, top: float) -> str:
    if not math.isfinite(x):
        return "!!"
    if x == 0:
        return " ·"
    return ("+" if x > 0 else "-") + _glyph(x, top)


def _ticks(n: int, indent: int) -> str:
    """The column numbers over a grid of ``n`` cells of 3 characters (space, sign, shade):
    every 5th flattened index, right-aligned over its cell (5 cells leave room for any)."""
    chars = [" "] * (indent + 3 * n)
    for j in range(0, n, 5):
        label = str(j)
        end = indent + 3 * j + 3
        chars[end - len(label) : end] = label
    return "".join(chars)


def _block(  # noqa: PLR0913
    name: str,
    matrix,  # noqa: ANN001
    in_shape,  # noqa: ANN001
    out_shape,  # noqa: ANN001
    grad,  # noqa: ANN001
    v: Sequence[float],
    shades: bool,
) -> Text:
    text = Text()
    m, n = len(matrix), len(matrix[0]) if matrix else 0
    text.append(
        f"J = ∂out/∂{name}: {m} × {n}  (output {list(out_shape)}, {name} {list(in_shape)})\n",
        style="bold",
    )
    finite = [abs(x) for row in matrix for x in row if math.isfinite(x)]
    top = max(finite, default=0.0)
    numbers = n <= NUMBER_COLUMNS and m <= NUMBER_ROWS
    rows = [f"out{index_text(i, out_shape)}" for i in range(m)]
    label_w = max([len(r) for r in rows] + [len(f"{name}.grad"), len("vᵀJ")])
    v_cells = [number_text(x) for x in v]
    if numbers:
        cells = [[number_text(x) for x in row] for row in matrix]
        if shades:  # no colour: each number carries its shade
            cells = [
                [f"{c} {_glyph(x, top)}" for c, x in zip(crow, row, strict=True)]
                for crow, row in zip(cells, matrix, strict=True)
            ]
        grad_cells = [number_text(x) for x in grad] if grad is not None else []
        if shades:  # aligned with the numbers above, not with their shades
            grad_cells = [f"{g}  " for g in grad_cells]
        cols = [f"{name}{index_text(j, in_shape)}" for j in range(n)]
        w = max(
            [len(c) for c in cols]
            + [len(c) for r in cells for c in r]
            + [len(g) for g in grad_cells]
        )
        head = " " * (label_w + 3) + "".join(" " + c.rjust(w) for c in cols)
        if shades:
            text.append(
                f"  after each number its size, ░▒▓█ up to the largest |J| = {number_text(top)}\n",
                style="dim",
            )
    else:
        w = 2
        cells = [[_heat_cell(x, top) for x in row] for row in matrix]
        grad_cells = []
        head = _ticks(n, label_w + 3)
        text.append(
            f"  columns: {name}[0] … {name}{index_text(n - 1, in_shape)}, flattened "
            "row-major (every 5th numbered)\n"
            f"  each cell: its sign and its size, ░▒▓█ up to the largest |J| = {number_text(top)}\n",
            style="dim",
        )
    text.append(head + "   " + GRAD_OUTPUT + "\n", style="dim")
    for i, row in enumerate(cells):
        on = v[i] != 0
        text.append("▸ " if on else "  ", style="bold" if on else "dim")
        text.append(rows[i].ljust(label_w) + " ", style="bold" if on else "dim")
        for j, cell in enumerate(row):
            text.append(" ")
            text.append(cell.rjust(w), style=_shade(matrix[i][j], top))
        text.append("   ")
        text.append(v_cells[i], style="bold reverse" if on else "dim")
        text.append("\n")
    if grad is None:
        text.append(f"  {name}.grad".ljust(label_w + 3) + "None (no gradient reached it)\n")
    elif numbers:
        text.append(f"  {(name + '.grad').ljust(label_w)} ", style="bold")
        text.append("".join(" " + g.rjust(w) for g in grad_cells) + "\n", style="bold")
    else:
        shown = ", ".join(number_text(g) for g in grad[:12]) + (", …" if len(grad) > 12 else "")
        text.append(f"  {name}.grad", style="bold")
        text.append(f" = [{shown}]  ({len(grad)} elements)\n")
    diff = vjp_difference(matrix, grad, v)
    if diff is not None:
        text.append(
            f"  vᵀJ (the ▸ rows times their v, summed), worked out here,\n"
            f"  against {name}.grad from torch's own backward: largest difference {diff:.3g}\n",
            style="italic",
        )
    return text


def render_jacobian(result, *, shades: bool = False) -> Text:  # noqa: ANN001 - ops.graph.JacobianResult
    """The whole view for a :class:`~gradtui.ops.graph.JacobianResult`.

    With ``shades`` (no colour: ``NO_COLOR``), a J small enough for its numbers shows a
    shade ``░▒▓█`` of each entry's size after it, as the background would.
    """
    text = Text()
    text.append(result.expression + "\n", style="bold")
    text.append(
        f"output shape {list(result.output_shape)}. Backward computes input.grad = vᵀJ:\n"
        "the rows marked ▸ are those v combines (v ≠ 0).\n",
        style="dim",
    )
    for block in result.blocks.values():
        text.append("\n")
        text.append_text(
            _block(
                block.name,
                block.matrix,
                block.input_shape,
                block.output_shape,
                block.grad,
                result.grad_output,
                shades,
            )
        )
    for note in result.notes:
        text.append(f"note: {note}\n", style="italic")
    text.rstrip()
    return text


class JacobianView(Static):
    """The rendered J (its container scrolls it both ways)."""

    DEFAULT_CSS = """
    JacobianView { width: auto; height: auto; }
    JacobianView.-message { width: 1fr; }
    """

    def show_result(self, result) -> None:  # noqa: ANN001
        """Show ``result``'s J (as wide as it is: the container scrolls)."""
        self.remove_class("-message")
        self.update(render_jacobian(result, shades=self.app.no_color))

    def show_message(self, message: str, *, error: bool = False) -> None:
        """Say what is happening, or why there is no J (wrapped to the screen's width)."""
        self.add_class("-message")
        self.update(Text(message, style="bold red" if error else "dim"))
