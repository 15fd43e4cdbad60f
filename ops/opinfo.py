"""The generated ops: every differentiable op of torch's OpInfo database, opened by name.

``ops/data/opinfo.json`` is written by ``python -m tools.gen_opinfo`` from the installed
torch's ``op_db`` (the running program never imports torch's internal testing modules).
This module reads it on first use, never at import, and builds one :class:`OpSpec` per
op: its inputs are the tensors and plain numbers of OpInfo's first small float64 sample,
written as input-language text; every other argument (``reduction='sum'``, a tuple of
dims, ``None``) is fixed at the sample's value and shown in :attr:`OpSpec.call`.

An op is found by its OpInfo name (``linalg.svd``, ``nn.functional.conv2d``, ``T``), by
its torch path (``torch.linalg.svd``, ``torch.nn.functional.conv2d``, ``Tensor.T``), with
``F.`` for ``torch.nn.functional.``, or by an alias (``conv2d``). The callable comes from
:data:`NAMESPACES`, an allow-list of torch namespaces, looked up once at load time with
the data file's names; what a person types only selects a key of the resulting dict.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gradtui.ops.source import MAX_TEXT_CHARS

Kinds = Any
"""What builds a spec: ``kinds.OpSpec``, ``kinds.InputSpec`` and ``kinds.bound``, handed in
by :mod:`ops.catalog` (so this module imports neither the catalog nor torch at import,
and the catalog, which asks this module for generated ops, is not imported back)."""

__all__ = [
    "DATA",
    "NAMESPACES",
    "GROUP_ORDER",
    "data",
    "group_key",
    "left_out",
    "literal_text",
    "lookup",
    "names",
    "specs",
]

DATA = Path(__file__).parent / "data" / "opinfo.json"
"""The generated data file (package data)."""

NAMESPACES = (
    "torch",
    "torch.nn.functional",
    "torch.special",
    "torch.linalg",
    "torch.fft",
    "torch.masked",
    "Tensor",
)
"""The only places a generated op's callable may come from."""

SEEDED = frozenset(
    (
        "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout rrelu "
        "fractional_max_pool2d fractional_max_pool3d gumbel_softmax"
    ).split()
)
"""Generated ops that draw from torch's global generator (the names the language refuses as
random, ``ops.spelling``; a test keeps the two in step). As op targets they run under
``torch.manual_seed(0)`` at every call, inside ``torch.random.fork_rng``: a run repeats,
a curve keeps one mask, and the global generator is left as it was."""

SHORT_PREFIXES = {"F.": "torch.nn.functional.", "nn.functional.": "torch.nn.functional."}
"""Spellings of a namespace that name the same op (``F.relu`` is ``torch.nn.functional.relu``)."""


@functools.cache
def data() -> dict[str, Any]:
    """The data file, parsed (once)."""
    return json.loads(DATA.read_text(encoding="utf-8"))


def left_out() -> dict[str, str]:
    """Each public OpInfo name that is not opened, with the reason the generator recorded."""
    return {op["name"]: op["left_out"] for op in data()["ops"] if "left_out" in op}


# --- defaults as text --------------------------------------------------------------------


def _number_text(value: Any, dtype: str) -> str:
    if dtype == "bool":
        return "True" if value else "False"
    if dtype.startswith("float"):
        return repr(float(value))
    return str(int(value))


def literal_text(tensor: Mapping[str, Any]) -> str:
    """A recorded tensor (shape, dtype, flat values) as an input-language literal; one the
    generator drew (its sample was too large to write) as the language text that draws it
    (a seeded ``randn`` of the sample's shape)."""
    if "draw" in tensor:
        return str(tensor["draw"])
    shape, dtype, values = list(tensor["shape"]), tensor["dtype"], list(tensor["values"])
    if not values:
        sizes = ", ".join(str(s) for s in shape)
        return f"zeros({sizes})" if shape != [0] else "[]"
    if not shape:
        return _number_text(values[0], dtype)

    def nest(level: int, start: int, sep: str) -> str:
        if level == len(shape) - 1:
            items = values[start : start + shape[level]]
            return "[" + sep.join(_number_text(v, dtype) for v in items) + "]"
        step = 1
        for size in shape[level + 1 :]:
            step *= size
        parts = (nest(level + 1, start + k * step, sep) for k in range(shape[level]))
        return "[" + sep.join(parts) + "]"

    text = nest(0, 0, ", ")
    return text if len(text) <= MAX_TEXT else nest(0, 0, ",")


MAX_TEXT = MAX_TEXT_CHARS
"""The input language's longest text; a longer literal drops the spaces after its commas."""


# --- specs -------------------------------------------------------------------------------


class _Slot:
    """Where one input's value goes in the call's arguments."""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str, dtype: str | None = None) -> None:
        self.name = name
        self.dtype = dtype
        """The sample's dtype for an integer tensor (int32 pivots stay int32), else None."""
        if dtype is not None and (dtype.startswith("float") or dtype in ("int64", "bool")):
            self.dtype = None


def _constant(value: Any) -> Any:
    """A fixed argument from JSON into Python (tuples and dtypes restored)."""
    import torch

    if isinstance(value, list):
        return [_constant(v) for v in value]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_constant(v) for v in value["tuple"])
        if "dtype" in value:
            return {
                "float64": torch.float64,
                "float32": torch.float32,
                "int64": torch.int64,
                "int32": torch.int32,
                "bool": torch.bool,
                "uint8": torch.uint8,
            }[value["dtype"]]
        if "memory_format" in value:
            return {
                "preserve_format": torch.preserve_format,
                "contiguous_format": torch.contiguous_format,
                "channels_last": torch.channels_last,
                "channels_last_3d": torch.channels_last_3d,
            }[value["memory_format"]]
        if "tensor" in value:
            t = value["tensor"]
            return torch.tensor(t["values"], dtype=getattr(torch, t["dtype"])).reshape(t["shape"])
        if "function" in value:
            return _functions()[value["function"]]
    return value


def _functions() -> dict[str, Callable[..., Any]]:
    """The functions a generated op may take as an argument (by path; an allow-list)."""
    import torch.nn.functional

    return {"torch.nn.functional.pairwise_distance": torch.nn.functional.pairwise_distance}


def _template(value: Any, name: str, inputs: list[Any], top: bool, InputSpec: Any) -> Any:
    """``value`` with each tensor (and each top-level number) replaced by an input slot."""
    if isinstance(value, dict) and "tensor" in value:
        t = value["tensor"]
        grad = bool(t["requires_grad"]) and t["dtype"].startswith("float")
        inputs.append(InputSpec(name, literal_text(t), grad, "tensor", f"{t['dtype']} tensor"))
        return _Slot(name, t["dtype"])
    if top and isinstance(value, (bool, int, float)) and value is not None:
        kind = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "float"
        inputs.append(InputSpec(name, repr(value), False, kind))
        return _Slot(name)
    if isinstance(value, list):
        return [_template(v, f"{name}_{k}", inputs, False, InputSpec) for k, v in enumerate(value)]
    if isinstance(value, dict) and "tuple" in value:
        items = value["tuple"]
        return tuple(
            _template(v, f"{name}_{k}", inputs, False, InputSpec) for k, v in enumerate(items)
        )
    return _constant(value)


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, _Slot):
        value = values[template.name]
        if template.dtype is not None and hasattr(value, "to"):
            import torch

            value = value.to(getattr(torch, template.dtype))
        return value
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, tuple):
        return tuple(_fill(v, values) for v in template)
    return template


def _shown(template: Any) -> str:
    """An argument as it reads in :attr:`OpSpec.call`: an input by name, a constant by value."""
    if isinstance(template, _Slot):
        return template.name
    if isinstance(template, list):
        return "[" + ", ".join(_shown(v) for v in template) + "]"
    if isinstance(template, tuple):
        inner = ", ".join(_shown(v) for v in template)
        return f"({inner},)" if len(template) == 1 else f"({inner})"
    if callable(template) and hasattr(template, "__name__"):
        return f"F.{template.__name__}"
    text = repr(template)
    return text.replace("torch.", "torch.") if text.startswith("torch.") else text


def _callables() -> dict[str, Callable[..., Any]]:
    """Every opened op's torch callable by its call path, looked up once in :data:`NAMESPACES`."""
    import torch
    import torch.nn.functional

    owners: dict[str, Any] = {
        "torch": torch,
        "torch.nn.functional": torch.nn.functional,
        "torch.special": torch.special,
        "torch.linalg": torch.linalg,
        "torch.fft": torch.fft,
        "torch.masked": torch.masked,
        "Tensor": torch.Tensor,
    }
    assert set(owners) == set(NAMESPACES)
    found: dict[str, Callable[..., Any]] = {}
    for op in data()["ops"]:
        if "left_out" in op:
            continue
        namespace, _, attr = op["call"].rpartition(".")
        if namespace not in owners or not attr.isidentifier() or attr.startswith("_"):
            raise ValueError(f"{DATA.name}: {op['call']!r} is outside the allowed namespaces")
        found[op["call"]] = getattr(owners[namespace], attr)
    return found


def _category(call: str, topic: str = "") -> str:
    """The op's group: its namespace, and the topic OpInfo files it under when it has one
    (``torch · pointwise, one input``, ``linalg``)."""
    namespace = call.rpartition(".")[0]
    name = {"torch": "torch", "Tensor": "Tensor methods"}.get(
        namespace, namespace.removeprefix("torch.")
    )
    return f"{name} · {topic}" if topic else name


GROUP_ORDER = ("torch", "nn.functional", "linalg", "special", "fft", "masked", "Tensor methods")
"""The generated groups' order by namespace (as :func:`_category` names them): torch's own
first, then the namespaces people reach for most, tensor methods last."""


def group_key(category: str) -> tuple[int, str, str]:
    """Where a generated group sorts: by namespace (:data:`GROUP_ORDER`), then the group
    without a topic, then its topics alphabetically (``torch``, ``torch · pointwise, one
    input``, ``torch · reductions``, ``nn.functional``, ...)."""
    namespace, _, topic = category.partition(" · ")
    rank = GROUP_ORDER.index(namespace) if namespace in GROUP_ORDER else len(GROUP_ORDER)
    return rank, namespace, topic


def _spec(op: Mapping[str, Any], fn: Callable[..., Any], kinds: Kinds) -> Any:
    OpSpec, bound = kinds.OpSpec, kinds.bound
    kind, call_path = op["kind"], op["call"]
    params = list(op["params"])  # empty where the signature is another overload's (Tensor.to)
    if kind != "function" and params and params[0] == "self":
        params[0] = "input"
    inputs: list[Any] = []
    args = []
    for k, value in enumerate(op["args"]):
        name = params[k] if k < len(params) and params[k] not in ("self", "args") else f"arg{k}"
        if k == 0 and kind != "function":
            name = "input"
        args.append(_template(value, name, inputs, True, kinds.InputSpec))
    kwargs = {
        key: _template(value, key, inputs, True, kinds.InputSpec)
        for key, value in op["kwargs"].items()
    }
    output = op["output"]
    shown = [_shown(a) for a in args] + [f"{k}={_shown(v)}" for k, v in kwargs.items()]
    if kind == "function":
        call_text = f"{call_path}({', '.join(shown)})"
    elif kind == "method":
        call_text = f"{shown[0]}.{call_path.rpartition('.')[2]}({', '.join(shown[1:])})"
    else:
        call_text = f"{shown[0]}.{call_path.rpartition('.')[2]}"
    if output["index"] is not None:
        call_text += f"[{output['index']}]"

    seeded = call_path.rpartition(".")[2] in SEEDED

    def raw(**values: Any) -> Any:
        import torch

        a = [_fill(t, values) for t in args]
        kw = {k: _fill(t, values) for k, t in kwargs.items()}
        if kind == "property":
            out = fn.__get__(a[0])  # type: ignore[attr-defined]
        elif seeded:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                out = fn(*a, **kw)
        else:
            out = fn(*a, **kw)
        if output["index"] is not None:
            out = _flat(out)[output["index"]]
        return out  # a complex output stays complex, as in an expression: torch's own graph

    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        raise ValueError(f"{DATA.name}: {op['name']} has two inputs of one name: {names}")
    return OpSpec(
        name=op["name"],
        category=_category(call_path, op.get("topic", "")),
        inputs=tuple(inputs),
        rule="measured from torch at run time (generated from OpInfo)"
        + (
            "; it draws random numbers: each call runs under torch.manual_seed(0)" if seeded else ""
        ),
        fn=bound(tuple(inputs), raw),
        summary=op["summary"],
        signature=f"{call_path}{op['signature']}",
        call=call_text,
        aliases=tuple(op["aliases"]),
        generated=True,
        gradcheck_wrapper=op["gradcheck_wrapper"],
    )


def signature_params(signature: str) -> list[str]:
    """The positional parameter names of a signature string, in order: ``"(input, ord='fro',
    dim=(-2, -1), keepdim=False, *, out=None)"`` -> ``["input", "ord", "dim", "keepdim"]``.

    Commas inside brackets and quotes (a default such as ``(-2, -1)``) do not split; a
    ``*`` (or ``*args``) ends the positional ones, ``/`` is skipped.
    """
    inner = signature.strip()
    if not inner.startswith("("):
        return []
    parts: list[str] = []
    depth, quote, current = 0, "", []
    for ch in inner[1:]:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    names: list[str] = []
    for part in (p.strip() for p in parts):
        if part.startswith("*"):
            break
        name = part.split(":")[0].split("=")[0].strip()
        if name.isidentifier():
            names.append(name)
    return names


def _flat(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


@functools.cache
def specs(kinds: Kinds) -> dict[str, Any]:
    """Every opened op by its OpInfo name, in the data file's order."""
    fns = _callables()
    return {
        op["name"]: _spec(op, fns[op["call"]], kinds)
        for op in data()["ops"]
        if "left_out" not in op
    }


@functools.cache
def _keys(kinds: Kinds) -> dict[str, str]:
    """Every spelling that opens a generated op -> its OpInfo name (names, paths, aliases)."""
    keys: dict[str, str] = {}
    for name, spec in specs(kinds).items():
        keys.setdefault(name, name)
        keys.setdefault(spec.signature.partition("(")[0], name)
    for name, spec in specs(kinds).items():  # aliases last: a real name wins over an alias
        for alias in spec.aliases:
            keys.setdefault(alias, name)
    return keys


def names(kinds: Kinds) -> list[str]:
    """Every spelling that opens a generated op."""
    return list(_keys(kinds))


def lookup(text: str, kinds: Kinds) -> Any | None:
    """The generated op ``text`` names, or ``None``: ``text`` only selects a key of a dict."""
    for short, full in SHORT_PREFIXES.items():
        if text.startswith(short):
            text = full + text[len(short) :]
            break
    name = _keys(kinds).get(text)
    return None if name is None else specs(kinds)[name]
