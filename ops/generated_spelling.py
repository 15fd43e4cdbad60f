"""The generated ops in torch's spelling: every opened op of ``ops/data/opinfo.json`` is
callable inside an expression as PyTorch code calls it (``torch.fft.rfft(x)``,
``F.grid_sample(...)``, ``torch.masked.sum(x)``, ``x.sum_to_size(3)``).

:mod:`ops.spelling` asks here only for a name its hand-written tables lack, so importing
the language never reads the data file. The callables are those :mod:`ops.opinfo` looked
up once, in its allow-list of namespaces, from the data file's names; a tensor method of
the same name as a generated ``torch.X`` function is looked up on ``torch.Tensor`` from
that name too. A name :mod:`ops.spelling` refuses (files, global state, random draws,
in-place ops, dunders, ``.data``, storage, hooks) is never entered: refusals win.
:mod:`ops.spelling` builds the table (:func:`build`, handing in its refusals) and keeps it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SPACES", "Generated", "build", "choices_of", "expression_key", "param_at"]

SPACES: dict[str, str] = {
    "torch": "torch",
    "torch.nn.functional": "F",
    "torch.special": "special",
    "torch.linalg": "linalg",
    "torch.fft": "fft",
    "torch.masked": "masked",
}
"""A generated call path's namespace -> the namespace key :mod:`ops.spelling` uses."""


@dataclass(frozen=True)
class Generated:
    """What the generated ops add to the language's tables.

    Attributes:
        functions: ``"fft.rfft"``, ``"torch.block_diag"`` -> the function.
        methods: ``"sum_to_size"`` -> the unbound tensor method.
        properties: ``"T"`` -> a function of the tensor giving the property.
        params: A function key or ``"Tensor.NAME"`` -> its positional parameter names, as
            its signature gives them (a method's start with ``self``).
        choices: A key -> parameter -> the strings OpInfo's samples pass for it.
        tensor_lists: A function key -> the positions whose argument is a list or tuple of
            tensors in OpInfo's sample (``torch.cat``: 0, ``torch.einsum``: 1).
    """

    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    methods: dict[str, Callable[..., Any]] = field(default_factory=dict)
    properties: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    choices: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    tensor_lists: dict[str, frozenset[int]] = field(default_factory=dict)


def expression_key(call_path: str) -> str | None:
    """``"torch.nn.functional.relu"`` -> ``"F.relu"``, ``"Tensor.T"`` -> ``"Tensor.T"``."""
    namespace, _, attr = call_path.rpartition(".")
    if namespace == "Tensor":
        return call_path
    space = SPACES.get(namespace)
    return None if space is None else f"{space}.{attr}"


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, dict) and "tuple" in value:
        value = value["tuple"]
    return isinstance(value, list) and any(isinstance(v, dict) and "tensor" in v for v in value)


def _property(descriptor: Any) -> Callable[[Any], Any]:
    return lambda tensor: descriptor.__get__(tensor)


def build(refused: Callable[[str, bool], bool], hand_methods: Collection[str]) -> Generated:
    """The generated names (reads the data file), leaving out every name ``refused(name,
    is_method)`` says is refused, and adding no method form over ``hand_methods``."""
    import torch

    from gradtui.ops import opinfo

    fns = opinfo._callables()  # the allow-listed lookup, by the data file's call paths
    out = Generated()
    for op in opinfo.data()["ops"]:
        if "left_out" in op:
            continue
        path, kind = op["call"], op["kind"]
        key = expression_key(path)
        attr = path.rpartition(".")[2]
        if key is None or refused(attr, path.startswith("Tensor.")):
            continue
        params = tuple(opinfo.signature_params(op["signature"]))
        out.params.setdefault(key, params)
        for param, values in op.get("choices", {}).items():
            have = out.choices.setdefault(key, {}).get(param, ())
            out.choices[key][param] = tuple(sorted({*have, *values}))
        if kind == "property":
            out.properties[attr] = _property(fns[path])
            continue
        if kind == "method":
            out.methods[attr] = fns[path]
            continue
        out.functions[key] = fns[path]
        lists = frozenset(k for k, arg in enumerate(op["args"]) if _holds_tensor(arg))
        if lists:
            out.tensor_lists[key] = out.tensor_lists.get(key, frozenset()) | lists
        if key.startswith("torch.") and attr not in hand_methods and not refused(attr, True):
            method = inspect.getattr_static(torch.Tensor, attr, None)
            if callable(method) and not isinstance(method, type):
                out.methods.setdefault(attr, getattr(torch.Tensor, attr))
    return out


def param_at(gen: Generated, key: str, position: int, *, method: bool) -> str | None:
    """The parameter a positional argument binds to, by the generated op's signature.

    For a method (``x.norm('fro')``), ``position`` counts after the tensor, and the
    signature of ``Tensor.NAME`` or else of ``torch.NAME`` gives the names (both start
    with the tensor).
    """
    if method:
        name = key.split(".", 1)[1]
        params = gen.params.get(f"Tensor.{name}") or gen.params.get(f"torch.{name}", ())
        position += 1
    else:
        params = gen.params.get(key, ())
    return params[position] if 0 <= position < len(params) else None


def choices_of(gen: Generated, key: str, *, method: bool) -> Mapping[str, tuple[str, ...]]:
    """The strings OpInfo's samples pass to ``key``'s parameters (a method: its own, or
    those of the ``torch.`` function of its name)."""
    if method:
        name = key.split(".", 1)[1]
        return gen.choices.get(f"Tensor.{name}") or gen.choices.get(f"torch.{name}", {})
    return gen.choices.get(key, {})
