"""Numbers and tensors as short text, the same way in every front end.

NaN and infinities are written ``nan``, ``inf`` and ``-inf`` so they stand out from
ordinary numbers; everything else gets ``precision`` significant digits.
"""

from __future__ import annotations

import math
from typing import Any

from ops.results import TensorData


def a_dtype(name: str) -> str:
    """A dtype name with its article, as said aloud: ``a bool``, ``an int64``, ``a uint8``.

    Sentences about dtypes ("the output is an int64 tensor") are built in more than one
    front end; one rule keeps them all grammatical.
    """
    vowel = name[:1] in "aeio" or (name[:1] == "u" and not name.startswith("uint"))
    return f"{'an' if vowel else 'a'} {name}"


def format_number(x: Any, precision: int = 4) -> str:
    """One scalar as text: ``True``, ``3``, ``2.718``, ``nan``, ``-inf``."""
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


def is_nonfinite(x: Any) -> bool:
    """True for a float NaN or infinity (bools and ints never are)."""
    return isinstance(x, float) and not math.isfinite(x)
