"""Tensors to plain data, in one place, so every result spells a tensor the same way.

``run``, ``backward`` and ``curves`` all hand tensors to front ends; they share
:func:`to_data` so a dtype is always ``"float32"`` (never ``"torch.float32"``) and a
value is always nested Python lists.
"""

from __future__ import annotations

import math

import torch

from gradtui.ops import timebound
from gradtui.ops.results import TensorData

CHUNK = 32_768
"""Most numbers turned into Python objects in one go (about a millisecond's work).

``Tensor.tolist`` holds the GIL from start to end: for a million numbers that is
50 ms or more during which no other Python thread runs, the app's UI thread included
(a key pressed then waits for it). Converting a big tensor a chunk at a time lets the
interpreter hand the GIL over between chunks, and gives a cancelled computation a step
boundary (:func:`ops.timebound.check`) at each.
"""


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``: the spelling every result and the JSON use."""
    return str(dtype).removeprefix("torch.")


def to_data(t: torch.Tensor) -> TensorData:
    """A tensor as :class:`TensorData` (detached, on the CPU, nested lists).

    Non-finite floats stay floats here; only ``results.to_jsonable`` spells them as strings.
    A "zero tensor" (torch's efficient zeros, with no memory behind them: ``sgn``'s
    gradient for a real input) is read as the zeros it stands for.
    """
    t = t.detach().cpu()
    is_zero = getattr(t, "_is_zerotensor", None)
    if is_zero is not None and is_zero():
        t = torch.zeros(t.shape, dtype=t.dtype)
    nan, posinf, neginf = _non_finite(t)
    return TensorData(
        value=to_list(t),
        dtype=dtype_name(t.dtype),
        shape=tuple(t.shape),
        has_nan=nan,
        has_posinf=posinf,
        has_neginf=neginf,
    )


def _non_finite(t: torch.Tensor) -> tuple[bool, bool, bool]:
    """Whether ``t`` holds a ``nan``, a ``+inf``, a ``-inf`` (a complex one: in either part)."""
    if t.is_complex():
        t = torch.view_as_real(t.resolve_conj())
    if not t.is_floating_point() or t.numel() == 0:
        return False, False, False
    if bool(torch.isfinite(t).all()):  # the common case: one pass
        return False, False, False
    return bool(torch.isnan(t).any()), bool((t == math.inf).any()), bool((t == -math.inf).any())


def number_data(value: bool | int | float) -> TensorData:
    """A plain Python number (an op's ``dim``, ``lr``, ...) as 0-d :class:`TensorData`."""
    if isinstance(value, bool):
        return TensorData(value, "bool", ())
    if isinstance(value, int):
        return TensorData(value, "int64", ())
    x = float(value)
    return TensorData(x, "float64", (), math.isnan(x), x == math.inf, x == -math.inf)


def to_list(t: torch.Tensor) -> object:
    """``t.tolist()``, the same nested lists, built :data:`CHUNK` numbers at a time."""
    if t.numel() <= CHUNK or t.dim() == 0:
        return t.tolist()
    out: list[object] = []
    if t.dim() == 1:
        for start in range(0, t.shape[0], CHUNK):
            timebound.check()
            out.extend(t[start : start + CHUNK].tolist())
        return out
    row = t[0].numel()
    if row > CHUNK:  # each row is big itself: convert it the same way
        for i in range(t.shape[0]):
            out.append(to_list(t[i]))
        return out
    rows = max(1, CHUNK // max(row, 1))
    for start in range(0, t.shape[0], rows):
        timebound.check()
        out.extend(t[start : start + rows].tolist())
    return out
