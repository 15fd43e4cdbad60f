"""Model mode's text: a layer spec, an optimizer and a loss, parsed by allow-list.

``Linear(2, 3) -> Tanh() -> Linear(3, 1)`` is a chain of calls joined by ``->``; each call
names a ``torch.nn`` module from :data:`LAYERS` (``Linear``, ``nn.Linear`` or
``torch.nn.Linear``) with literal arguments only (numbers, ``True``/``False``/``None``,
short strings, tuples of integers). ``SGD(lr=0.1, momentum=0.9)`` names an optimizer from
:data:`OPTIMIZERS` with keywords only. A loss is a name from the catalog's
``torch.nn.functional`` losses that take ``(input, target)``.

The text is parsed with :func:`ast.parse` (a tree, nothing runs) and each node is checked
against these literal tables; a module class or an optimizer is looked up in a dict keyed
by the literal names below, never by ``getattr`` on what was typed. Every refusal is an
:class:`ops.errors.InputError` whose position is the 0-based column in the text.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gradtui.ops.errors import InputError
from gradtui.ops.model_names import (  # noqa: F401 - re-exported: the parser's tables
    CLASS_INDEX_LOSSES,
    DEFAULT_LOSS,
    DEFAULT_OPTIMIZER,
    LAYER_PARAMS,
    LAYERS,
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_SIZE,
    MAX_SPEC_CHARS,
    OPTIMIZER_PARAMS,
    OPTIMIZERS,
)

_LAYER_PREFIXES = (("nn",), ("torch", "nn"))
_OPTIMIZER_PREFIXES = (("optim",), ("torch", "optim"))


@dataclass(frozen=True)
class LayerSpec:
    """One parsed layer.

    Attributes:
        kind: The module's class name (``"Linear"``).
        args: The keywords it is built with, by name, in the order typed.
        text: The layer as typed (``"Linear(2, 3)"``).
        column: 0-based column of the layer in the spec.
    """

    kind: str
    args: dict[str, Any]
    text: str
    column: int

    def build(self) -> nn.Module:
        """The module, constructed with exactly these arguments."""
        return LAYERS[self.kind](**self.args)

    def call_text(self) -> str:
        """``nn.Linear(in_features=2, out_features=3)``: how a script would write it."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"nn.{self.kind}({inner})"


@dataclass(frozen=True)
class OptimizerSpec:
    """A parsed optimizer: its class name and keywords (torch's defaults for the rest)."""

    kind: str
    args: dict[str, Any]

    def build(self, params: Any) -> torch.optim.Optimizer:
        return OPTIMIZERS[self.kind](params, **self.args)

    def text(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.kind}({inner})"


# --------------------------------------------------------------------------- parsing


def _check_text(text: str, field: str) -> None:
    if len(text) > MAX_SPEC_CHARS:
        raise InputError(
            f"text of {len(text):,} characters is too long (at most {MAX_SPEC_CHARS:,})",
            field=field,
            position=MAX_SPEC_CHARS,
        )
    for col, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch in " \t")):
            raise InputError(
                f"character {ch!r} is not taken here (plain ASCII only)",
                field=field,
                position=col,
            )


def _tree(text: str, field: str) -> ast.expr:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = max(0, (exc.offset or 1) - 1) + (len(text) - len(text.lstrip()))
        raise InputError(
            f"cannot parse: {exc.msg}", field=field, position=min(col, len(text))
        ) from None
    return tree.body


def _shift(text: str) -> int:
    return len(text) - len(text.lstrip())


def _dotted(node: ast.AST) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


def _callee(
    node: ast.expr,
    table: Mapping[str, Any],
    prefixes: tuple[tuple[str, ...], ...],
    what: str,
    field: str,
    shift: int,
) -> str:
    if not isinstance(node, ast.Call):
        raise InputError(
            f"expected {_a(what)} call such as {next(iter(table))}(...)",
            field=field,
            position=node.col_offset + shift,
        )
    parts = _dotted(node.func)
    if parts is None or not (len(parts) == 1 or any(parts[:-1] == prefix for prefix in prefixes)):
        raise InputError(
            f"expected {_a(what)} name such as {next(iter(table))}",
            field=field,
            position=node.func.col_offset + shift,
        )
    name = parts[-1]
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        known = ", ".join(table)
        raise InputError(
            f"unknown {what} {name[:40]!r}{hint} ({what}s: {known})",
            field=field,
            position=node.func.col_offset + shift,
        )
    return name


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _literal(node: ast.expr) -> Any:
    """A literal argument's value, or a :class:`_Bad` if it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
        return node.value
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = node.operand
        if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
            return -inner.value if isinstance(node.op, ast.USub) else inner.value
    if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) <= 8:
        values = [_literal(e) for e in node.elts]
        if not any(isinstance(v, _Bad) for v in values):
            return tuple(values)
    return _Bad()


class _Bad:
    pass


def _convert(value: Any, kind: Any, name: str) -> Any:
    """``value`` as ``kind`` takes it, or raise ``ValueError`` with what was expected."""
    if isinstance(kind, tuple):
        if value in kind and isinstance(value, str):
            return value
        raise ValueError(f"{name} must be one of {', '.join(repr(k) for k in kind)}")
    if kind.startswith("optional ") and value is None:
        return None
    kind = kind.removeprefix("optional ")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(f"{name} must be True or False")
    if kind in ("size", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer")
        if kind == "size" and not 1 <= value <= MAX_SIZE:
            raise ValueError(f"{name} must be between 1 and {MAX_SIZE:,}")
        if kind == "int" and abs(value) > 64:
            raise ValueError(f"{name} must be between -64 and 64")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number")
        # the size first: a huge int compares exactly, where isfinite would overflow
        if abs(value) > 1e12 or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number of at most 1e12")
        return float(value) if isinstance(value, int) else value
    if kind == "shape":
        items = value if isinstance(value, tuple) else (value,)
        if not 1 <= len(items) <= 4:
            raise ValueError(f"{name} must be a size or a tuple of 1 to 4 sizes")
        sizes = tuple(_convert(v, "size", name) for v in items)
        return sizes if isinstance(value, tuple) else sizes[0]
    if kind == "betas":
        if not (isinstance(value, tuple) and len(value) == 2):
            raise ValueError(f"{name} must be a pair of numbers, such as (0.9, 0.999)")
        return tuple(_convert(v, "float", name) for v in value)
    raise AssertionError(kind)


def _arguments(
    call: ast.Call,
    params: tuple[tuple[str, Any], ...],
    kind_name: str,
    field: str,
    shift: int,
    *,
    positional: bool,
) -> dict[str, Any]:
    args: dict[str, Any] = {}
    names = [p for p, _ in params]
    kinds = dict(params)
    if call.args and not positional:
        raise InputError(
            f"{kind_name} takes keywords only, such as lr=0.1",
            field=field,
            position=call.args[0].col_offset + shift,
        )
    if len(call.args) > len(names):
        raise InputError(
            f"{kind_name} takes at most {len(names)} positional argument"
            f"{'s' if len(names) != 1 else ''} here" + (f" ({', '.join(names)})" if names else ""),
            field=field,
            position=call.args[len(names)].col_offset + shift,
        )
    pairs = list(zip(names, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg is None:
            raise InputError("** is not taken here", field=field, position=kw.col_offset + shift)
        if kw.arg not in kinds:
            allowed = ", ".join(names) if names else "no arguments"
            raise InputError(
                f"{kind_name} takes no keyword {kw.arg[:40]!r} here (it takes {allowed})",
                field=field,
                position=kw.col_offset + shift,
            )
        if any(kw.arg == n for n, _ in pairs):  # positionally, or an earlier keyword
            raise InputError(
                f"{kind_name} got {kw.arg!r} twice", field=field, position=kw.col_offset + shift
            )
        pairs.append((kw.arg, kw.value))
    for name, node in pairs:
        value = _literal(node)
        if isinstance(value, _Bad):
            raise InputError(
                f"{kind_name}'s {name} must be a literal (a number, True/False/None, a short "
                "string or a tuple of numbers)",
                field=field,
                position=node.col_offset + shift,
            )
        try:
            args[name] = _convert(value, kinds[name], name)
        except ValueError as exc:
            raise InputError(
                f"{kind_name}: {exc}", field=field, position=node.col_offset + shift
            ) from None
    return args


def _split(text: str) -> list[tuple[str, int]]:
    """The spec's layers as typed, each with its column, split at ``->`` outside brackets."""
    pieces: list[tuple[str, int]] = []
    depth = 0
    start = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith("->", i):
            pieces.append((text[start:i], start))
            start = i + 2
            i += 1
        i += 1
    pieces.append((text[start:], start))
    return pieces


def parse_layers(text: str, *, field: str = "spec") -> tuple[LayerSpec, ...]:
    """``"Linear(2, 3) -> Tanh() -> Linear(3, 1)"`` -> its layers, checked, none built.

    Raises:
        InputError: Anything but a chain of allowed layers with literal arguments, or a
            model of more than :data:`MAX_PARAMETERS` parameters; the position is the
            column of the part refused.
    """
    _check_text(text, field)
    if not text.strip():
        raise InputError(
            "the spec is empty; write layers such as Linear(2, 3) -> Tanh() -> Linear(3, 1)",
            field=field,
            position=0,
        )
    pieces = _split(text)
    if len(pieces) > MAX_LAYERS:
        raise InputError(
            f"{len(pieces)} layers is too many (at most {MAX_LAYERS})",
            field=field,
            position=pieces[MAX_LAYERS][1],
        )
    layers: list[LayerSpec] = []
    for piece, start in pieces:
        shift = start + _shift(piece)
        if not piece.strip():
            raise InputError(
                "a layer is missing between two '->'", field=field, position=max(0, start - 2)
            )
        try:
            node = _tree(piece, field)
        except InputError as exc:
            raise InputError(
                exc.message, field=field, position=start + (exc.position or 0)
            ) from None
        kind = _callee(node, LAYERS, _LAYER_PREFIXES, "layer", field, shift)
        assert isinstance(node, ast.Call)
        args = _arguments(node, LAYER_PARAMS[kind], kind, field, shift, positional=True)
        layers.append(LayerSpec(kind, args, piece.strip(), shift))
    _check_parameters(layers, field)
    return tuple(layers)


def parameter_count(layer: LayerSpec) -> int:
    """How many parameters ``layer`` will have, from its arguments (nothing is built)."""
    a = layer.args
    if layer.kind == "Linear":
        return a["in_features"] * a["out_features"] + (
            a["out_features"] if a.get("bias", True) else 0
        )
    if layer.kind == "LayerNorm":
        shape = a["normalized_shape"]
        n = math.prod(shape) if isinstance(shape, tuple) else shape
        if not a.get("elementwise_affine", True):
            return 0
        return n * (2 if a.get("bias", True) else 1)
    if layer.kind == "BatchNorm1d":
        return 2 * a["num_features"] if a.get("affine", True) else 0
    return 0


def _check_parameters(layers: list[LayerSpec], field: str) -> None:
    total = 0
    for layer in layers:
        missing = _missing(layer)
        if missing:
            raise InputError(f"{layer.kind} needs {missing}", field=field, position=layer.column)
        total += parameter_count(layer)
        if total > MAX_PARAMETERS:
            raise InputError(
                f"the model would have more than {MAX_PARAMETERS:,} parameters "
                f"({total:,} by {layer.text[:40]})",
                field=field,
                position=layer.column,
            )


_REQUIRED = {
    "Linear": ("in_features", "out_features"),
    "LayerNorm": ("normalized_shape",),
    "BatchNorm1d": ("num_features",),
}


def _missing(layer: LayerSpec) -> str:
    return ", ".join(n for n in _REQUIRED.get(layer.kind, ()) if n not in layer.args)


def parse_optimizer(text: str, *, field: str = "optimizer") -> OptimizerSpec:
    """``"SGD(lr=0.1, momentum=0.9)"`` (or a bare ``"Adam"``) -> the optimizer, checked.

    Raises:
        InputError: An unknown optimizer or keyword, or a value of the wrong kind.
    """
    _check_text(text, field)
    stripped = text.strip()
    if not stripped:
        raise InputError(
            f"the optimizer is empty; write one such as {DEFAULT_OPTIMIZER}",
            field=field,
            position=0,
        )
    node = _tree(text, field)
    shift = _shift(text)
    if isinstance(node, (ast.Name, ast.Attribute)):  # a bare name: torch's defaults
        node = ast.Call(func=node, args=[], keywords=[], lineno=1, col_offset=node.col_offset)
    kind = _callee(node, OPTIMIZERS, _OPTIMIZER_PREFIXES, "optimizer", field, shift)
    assert isinstance(node, ast.Call)
    args = _arguments(node, OPTIMIZER_PARAMS[kind], kind, field, shift, positional=False)
    return OptimizerSpec(kind, args)


def _losses() -> dict[str, Callable[..., torch.Tensor]]:
    """The catalog's ``torch.nn.functional`` losses that take ``(input, target)`` and need
    nothing else, by their short name; looked up once by the catalog's names."""
    import inspect

    import torch.nn.functional as F

    from gradtui.ops import catalog

    names = {n for n in catalog.CATALOG if n.endswith("_loss") or n.endswith("entropy")}
    for spec in catalog.generated().values():
        path = spec.call.partition("(")[0]
        space, _, short = path.rpartition(".")
        if space == "torch.nn.functional" and (short.endswith("_loss") or "entropy" in short):
            names.add(short)
    found: dict[str, Callable[..., torch.Tensor]] = {}
    functions = vars(F)
    for name in sorted(names):
        fn = functions.get(name) if name.isidentifier() and not name.startswith("_") else None
        if fn is None:
            continue
        params = list(inspect.signature(fn).parameters.values())
        if len(params) >= 2 and all(p.default is not p.empty for p in params[2:]):
            found[name] = fn
    return found


_LOSSES: dict[str, Callable[..., torch.Tensor]] | None = None


def losses() -> dict[str, Callable[..., torch.Tensor]]:
    """:func:`_losses`, built on first use."""
    global _LOSSES
    if _LOSSES is None:
        _LOSSES = _losses()
    return _LOSSES


def parse_loss(text: str, *, field: str = "loss") -> str:
    """``"mse_loss"``, ``"F.mse_loss"`` or ``"torch.nn.functional.mse_loss"`` -> ``"mse_loss"``.

    Raises:
        InputError: Not one of :func:`losses`.
    """
    _check_text(text, field)
    name = text.strip()
    if not name:
        raise InputError(
            f"the loss is empty; name one such as {DEFAULT_LOSS}", field=field, position=0
        )
    shift = _shift(text)
    for prefix in ("torch.nn.functional.", "nn.functional.", "F."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            shift += len(prefix)
            break
    table = losses()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InputError(
            f"unknown loss {name[:40]!r}{hint} (losses: {', '.join(table)})",
            field=field,
            position=shift,
        )
    return name
