"""Tensors as short, styled text for the panels.

The engine hands tensors over as :class:`ops.results.TensorData` (nested lists of plain
numbers). The panels have little room, so a tensor is shown with a few significant digits
and long tensors are elided in the middle. Non-finite numbers get their own style
(``nan`` and ``±inf`` stand out even without colour: bold and underlined) because a NaN
gradient is usually the most important thing on the screen.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text

from gradtui.ops import display
from gradtui.ops.results import TensorData

NAN_STYLE = "bold underline magenta"
"""Style for ``nan``: bold and underlined so it survives ``NO_COLOR``."""
INF_STYLE = "bold underline yellow"
"""Style for ``inf`` and ``-inf``."""
NONE_STYLE = "dim italic"
"""Style for a missing value (``None``: no gradient reached this slot)."""


def format_number(x: Any, digits: int = 4) -> Text:
    """One scalar as styled text, written as :func:`ops.display.format_number` writes it.

    Args:
        x: A float, int or bool from a :class:`TensorData` value (``None``: no value).
        digits: Significant digits for floats.

    Returns:
        The text; ``nan`` and ``±inf`` carry :data:`NAN_STYLE` / :data:`INF_STYLE`.
    """
    if x is None:
        return Text("None", style=NONE_STYLE)
    text = display.format_number(x, digits)
    if isinstance(x, float) and math.isnan(x):
        return Text(text, style=NAN_STYLE)
    if isinstance(x, float) and math.isinf(x):
        return Text(text, style=INF_STYLE)
    return Text(text)


def _format_nested(value: Any, out: Text, max_items: int, digits: int) -> None:
    """Append ``value`` (a number or nested list) to ``out``, eliding long lists."""
    if not isinstance(value, list):
        out.append_text(format_number(value, digits))
        return
    out.append("[")
    n = len(value)
    if n > max_items:
        head = max(1, max_items - 2)
        shown: list[Any] = list(value[:head]) + [Ellipsis] + list(value[-1:])
    else:
        shown = list(value)
    for i, item in enumerate(shown):
        if i:
            out.append(", ")
        if item is Ellipsis:
            out.append("…", style="dim")
        else:
            _format_nested(item, out, max(2, max_items // 2), digits)
    out.append("]")


def format_tensor(
    tensor: TensorData | None, *, max_items: int = 8, digits: int = 4, dtype: bool = False
) -> Text:
    """A tensor as one line of styled text.

    Args:
        tensor: The tensor, or ``None`` for "no gradient here".
        max_items: Elements shown per dimension before eliding the middle with ``…``.
        digits: Significant digits for floats.
        dtype: Append `` float32[3]``-style dtype and shape.

    Returns:
        The styled text; ``None`` renders as a dim ``None``.
    """
    if tensor is None:
        return Text("None", style=NONE_STYLE)
    out = Text()
    _format_nested(tensor.value, out, max_items, digits)
    if dtype:
        out.append(f"  {describe(tensor)}", style="dim")
    return out


def describe(tensor: TensorData) -> str:
    """dtype and shape as ``float32[3]`` (``float32[]`` for a scalar)."""
    return f"{tensor.dtype}[{', '.join(str(d) for d in tensor.shape)}]"
