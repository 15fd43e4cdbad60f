"""Numbers and tensors as short text, the same way in every front end.

NaN and infinities are written ``nan``, ``inf`` and ``-inf`` so they stand out from
ordinary numbers; everything else gets ``precision`` significant digits.
"""

from __future__ import annotations

import math
from typing import Any

from gradtui.ops.results import Kink, TensorData


def a_dtype(name: str) -> str:
    """A dtype name with its article, as said aloud: ``a bool``, ``an int64``, ``a uint8``.

    Sentences about dtypes ("the output is an int64 tensor") are built in more than one
    front end; one rule keeps them all grammatical.
    """
    vowel = name[:1] in "aeio" or (name[:1] == "u" and not name.startswith("uint"))
    return f"{'an' if vowel else 'a'} {name}"


def format_number(x: Any, precision: int = 4) -> str:
    """One scalar as text: ``True``, ``3``, ``2.718``, ``nan``, ``-inf``, ``(-6.712+1.084j)``."""
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0:
            return "0." if math.copysign(1.0, x) > 0 else "-0."
        text = f"{x:.{precision}g}"
        if "e" not in text and "." not in text:
            text += "."
        return text
    if isinstance(x, complex):  # Python's own form, each part to the same precision
        return f"({x.real:.{precision}g}{x.imag:+.{precision}g}j)"
    return str(x)


def format_value(value: Any, precision: int = 4, max_items: int = 12) -> str:
    """A nested list as a bracketed literal; long rows are elided with ``…``."""
    if isinstance(value, TensorData):
        value = value.value
    if isinstance(value, (list, tuple)):
        items = list(value)
        shown = items if len(items) <= max_items else items[: max_items - 2] + items[-1:]
        parts = [format_value(v, precision, max_items) for v in shown]
        if len(items) > max_items:
            parts.insert(max_items - 2, "…")
        return "[" + ", ".join(parts) + "]"
    return format_number(value, precision)


def _num(v: float | None, signed: bool = False) -> str:
    """A measured number as the texts print it (``+inf``/``-inf`` for a cusp's slope)."""
    if v is None:
        return "none"
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return f"{v:+.6g}" if signed and v != 0 else f"{v:.6g}"


def describe_kink(k: Kink, at: str) -> str:
    """One line saying what kind of point ``k`` is and what torch returns there.

    Args:
        k: The point.
        at: Where, as the front names it (``"input=0"``, ``"input[1] = 0"``).

    The same sentence serves ``gradtui plot``, the ``grad`` report's notes, the app's
    status line and the demo's captions. A jump gets its limits, never a slope.
    """
    if k.df is None:
        torch_says = "torch has no gradient there (the output has no grad_fn)"
    else:
        torch_says = f"torch returns f′={_num(k.df)} there"
    if k.kind == "jump":
        third = ""
        if k.value != k.before and k.value != k.after and math.isfinite(k.value):
            third = f" (f={_num(k.value)} at the point itself)"
        return (
            f"jump at {at}: f jumps from {_num(k.before)} to {_num(k.after)}{third}, "
            f"so no derivative exists; {torch_says}"
        )
    if k.kind == "cusp":
        return (
            f"cusp at {at}: f is continuous but its slope is {_num(k.left)} from the left "
            f"and {_num(k.right)} from the right, so no derivative exists; {torch_says}"
        )
    between = (
        k.df is not None
        and k.left is not None
        and k.right is not None
        and min(k.left, k.right) <= k.df <= max(k.left, k.right)
    )
    convention = ", a subgradient it picks by convention" if between else ""
    return (
        f"corner at {at}: the one-sided slopes are {_num(k.left, True)} (left) and "
        f"{_num(k.right, True)} (right), so no derivative exists; {torch_says}{convention}"
    )


def kinks_summary(kinks: tuple[Kink, ...], var: str, limit: int = 3) -> str:
    """A short phrase for a title or status line: ``"jumps at x=-1, 0, 1 …; corner at x=2"``."""
    parts = []
    for kind in ("jump", "cusp", "corner"):
        xs = [k.x for k in kinks if k.kind == kind]
        if not xs:
            continue
        where = ", ".join(f"{x:.3g}" for x in xs[:limit]) + (" …" if len(xs) > limit else "")
        parts.append(f"{kind}{'s' if len(xs) > 1 else ''} at {var}={where}")
    return "; ".join(parts)
