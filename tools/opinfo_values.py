"""Sample values as plain JSON, for :mod:`tools.gen_opinfo`: tensors as shape, dtype and
rounded values (or the input-language text that draws them), tuples, dtypes, memory
formats; :func:`decode` is the inverse (the loader, :mod:`ops.opinfo`, has its own)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

SIGNIFICANTS = (4, 3, 2)
"""Digits kept of a sample's float values: short enough that a default is writable as text
(the language takes at most 2000 characters), and the rounded point is where gradcheck runs): the most that fit, first."""
SIGNIFICANT = 4
"""The digits :func:`encode` keeps now (the generator tries :data:`SIGNIFICANTS` in turn)."""


class Unwritable(Exception):
    """A sample value that plain JSON (and the input language) cannot hold."""


def _round(x: float) -> float:
    if not math.isfinite(x):
        raise Unwritable("a non-finite number")
    return float(f"{x:.{SIGNIFICANT}g}")


DTYPE_NAMES = {
    torch.float64: "float64",
    torch.float32: "float32",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.bool: "bool",
    torch.uint8: "uint8",
}


MEMORY_FORMATS = {
    torch.preserve_format: "preserve_format",
    torch.contiguous_format: "contiguous_format",
    torch.channels_last: "channels_last",
    torch.channels_last_3d: "channels_last_3d",
}
"""torch's memory formats, by name (a fixed argument such as ``to``'s ``memory_format=``;
the loader maps the names back through the same literal table)."""

DRAWN: dict[int, str] = {}
"""Sample tensors replaced by a seeded ``randn`` of their shape (:class:`_Drawn`), by id:
the input-language text that draws them."""


def encode(value: Any) -> Any:
    """A sample value as plain JSON (tensors as shape + values), or :class:`Unwritable`."""
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise Unwritable(f"a {value.layout} tensor")
        if value.dtype not in DTYPE_NAMES:
            raise Unwritable(f"a {value.dtype} tensor")
        if id(value) in DRAWN:
            return {
                "tensor": {
                    "shape": list(value.shape),
                    "dtype": DTYPE_NAMES[value.dtype],
                    "draw": DRAWN[id(value)],
                    "requires_grad": bool(value.requires_grad),
                }
            }
        flat = value.detach().reshape(-1).tolist()
        if value.is_floating_point():
            flat = [_round(v) for v in flat]
        return {
            "tensor": {
                "shape": list(value.shape),
                "dtype": DTYPE_NAMES[value.dtype],
                "values": flat,
                "requires_grad": bool(value.requires_grad),
            }
        }
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unwritable("a non-finite number")
        return value
    if isinstance(value, torch.dtype):
        if value not in DTYPE_NAMES:
            raise Unwritable(f"dtype {value}")
        return {"dtype": DTYPE_NAMES[value]}
    if isinstance(value, torch.memory_format):
        if value not in MEMORY_FORMATS:
            raise Unwritable(f"memory format {value}")
        return {"memory_format": MEMORY_FORMATS[value]}
    if isinstance(value, torch.Size):
        return list(value)
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, torch.nn.PairwiseDistance) and _default_module(value):
        # forward is F.pairwise_distance(x1, x2, norm, eps, keepdim) at these defaults
        return {"function": "torch.nn.functional.pairwise_distance"}
    raise Unwritable(f"a {type(value).__name__}")


def _default_module(module: torch.nn.Module) -> bool:
    """A module with its constructor's defaults, no parameters or buffers (so the functional
    it calls, at its own defaults, is the same function)."""
    fresh = type(module)()
    return (
        not list(module.parameters())
        and not list(module.buffers())
        and vars(fresh).keys() == vars(module).keys()
        and all(
            getattr(fresh, k) == getattr(module, k)
            for k in vars(module)
            if not k.startswith("_") and k != "training"
        )
    )


def decode(value: Any) -> Any:
    """:func:`encode`'s inverse (the loader has its own copy, torch imported late)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "tensor" in value:
            t = value["tensor"]
            dtype = getattr(torch, t["dtype"])
            out = torch.tensor(t["values"], dtype=dtype).reshape(t["shape"])
            return out.requires_grad_(t["requires_grad"])
        if "tuple" in value:
            return tuple(decode(v) for v in value["tuple"])
        if "dtype" in value:
            return getattr(torch, value["dtype"])
        if "memory_format" in value:
            return {v: k for k, v in MEMORY_FORMATS.items()}[value["memory_format"]]
        if "function" in value:
            return F.pairwise_distance
    return value


def numbers(value: Any) -> int:
    if isinstance(value, dict) and "tensor" in value:
        return len(value["tensor"].get("values", ()))
    if isinstance(value, dict) and "tuple" in value:
        return sum(numbers(v) for v in value["tuple"])
    if isinstance(value, list):
        return sum(numbers(v) for v in value)
    return 0


def tensor_records(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and "tensor" in value:
        return [value["tensor"]]
    if isinstance(value, dict) and "tuple" in value:
        return tensor_records(value["tuple"])
    if isinstance(value, list):
        return [t for v in value for t in tensor_records(v)]
    return []
