"""Tensors to plain data, in one place, so every result spells a tensor the same way.

``run``, ``backward`` and ``curves`` all hand tensors to front ends; they share
:func:`to_data` so a dtype is always ``"float32"`` (never ``"torch.float32"``) and a
value is always nested Python lists.
"""

from __future__ import annotations

import torch

from ops.results import TensorData


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``: the spelling every result and the JSON use."""
    return str(dtype).removeprefix("torch.")


def to_data(t: torch.Tensor) -> TensorData:
    """A tensor as :class:`TensorData` (detached, on the CPU, nested lists).

    Non-finite floats stay floats here; only ``results.to_jsonable`` spells them as strings.
    """
    t = t.detach().cpu()
    return TensorData(value=t.tolist(), dtype=dtype_name(t.dtype), shape=tuple(t.shape))
