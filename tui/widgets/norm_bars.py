"""Per-layer gradient-norm bars, on a log scale.

Read off :attr:`ops.model_results.ModelStep.layer_grad_norms`: the 2-norm of the loss's
gradient over each layer's parameters (the L1 term left out). Norms of a deep stack
differ by orders of magnitude, so a bar's length is ``log10`` of the norm, from the
smallest to the largest on screen; each bar has its number beside it, and the heading
says the scale is logarithmic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rich.console import Group
from rich.text import Text

from gradtui.ops.model_results import LayerInfo
from gradtui.tui.format import format_number

EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A bar of ``fraction`` (0..1) of ``width`` cells, in eighths."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def render_norms(norms: Mapping[str, float], layers: Sequence[LayerInfo], width: int = 40) -> Group:
    """One bar per layer with parameters, in model order (input side first)."""
    shown = [(layer, norms[layer.name]) for layer in layers if layer.name in norms]
    if not shown:
        return Group(Text("no gradient norms yet", style="dim"))
    positive = [v for _, v in shown if v > 0 and math.isfinite(v)]
    lines = [Text("gradient norm per layer (bar: log10 scale; number: the norm)", style="bold")]
    if positive:
        lo, hi = math.log10(min(positive)), math.log10(max(positive))
    label_width = max(len(layer.label) for layer, _ in shown)
    bar_width = max(8, width - label_width - 14)
    for layer, value in shown:
        line = Text(f"{layer.label:<{label_width}} ")
        if value > 0 and math.isfinite(value):
            # one decade at least, so equal norms do not fill the bar from nothing
            frac = 1.0 if hi - lo < 1e-12 else (math.log10(value) - lo) / (hi - lo)
            frac = 0.05 + 0.95 * frac
            line.append(bar(frac, bar_width), style="green")
        else:
            line.append(" " * bar_width)
        line.append(" ")
        line.append_text(format_number(value))
        lines.append(line)
    if positive and len(positive) > 1:
        lines.append(
            Text(
                f"largest / smallest = {format_number(max(positive) / min(positive)).plain}",
                style="dim",
            )
        )
    return Group(*lines)
