"""What a call calls, decided from the tree alone: the table of callable names, torch's
namespaces and tensor methods resolved against :mod:`ops.spelling`, arguments bound to
parameters.

Nothing here runs a call or looks a name up on a module: a bare name is a constructor
(:data:`CONSTRUCTORS`) or a catalog op, a dotted name is a function of
:func:`ops.spelling.function`, ``value.name(...)`` a method of :func:`ops.spelling.tensor_method`,
each resolved against literal tables (hand-typed, or built from the generated data file's
names). :mod:`ops.syntax` refuses what this refuses
while parsing; :mod:`ops.language` asks again, identically, while evaluating.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gradtui.ops.errors import InputError
from gradtui.ops.source import Source

# --------------------------------------------------------------------------- function table


CONSTRUCTORS: dict[str, tuple[str, ...]] = {
    "linspace": ("start", "end", "steps"),
    "arange": ("start", "end", "step"),
    "zeros": ("size",),
    "ones": ("size",),
    "full": ("size", "fill_value"),
    "eye": ("n", "m"),
    "rand": ("size",),
    "randn": ("size",),
}
"""Tensor constructors and the keywords each accepts (sizes are also taken positionally),
besides :data:`CONSTRUCTOR_KEYWORDS`."""
SIZED_CONSTRUCTORS = frozenset({"zeros", "ones", "full", "rand", "randn"})
CONSTRUCTOR_KEYWORDS = ("dtype", "requires_grad")
"""Keywords every constructor takes as torch's do: ``dtype=torch.float64`` and
``requires_grad=False`` (``True`` is refused: see :data:`REQUIRES_GRAD`)."""
REQUIRES_GRAD = (
    "requires_grad=True is not taken: gradtui differentiates with respect to the named inputs "
    "and a constructed tensor is a constant; to differentiate with respect to it, put a name "
    "in its place (w) and give w that value (torch.ones(3))"
)
"""Why ``requires_grad=True`` is refused: gradtui reports the gradients of its named inputs
only (a tensor built inside the text would be a leaf whose gradient nobody sees)."""


def _catalog() -> Mapping[str, Any]:
    """The catalog's ops, imported on first use: its default values are written in this language."""
    from gradtui.ops import catalog

    return getattr(catalog, "CATALOG", None) or {}  # empty only while the catalog imports


def function_spec(name: str) -> Any | None:
    """The catalog ``OpSpec`` called by ``name(...)``, or ``None``.

    A spec has ``.inputs`` (objects with ``.name``, ``.kind``, ``.default``) and ``.fn``.
    Constructors have no spec (they take sizes); see :data:`CONSTRUCTORS`.
    """
    return _catalog().get(name)


def is_function(name: str) -> bool:
    return name in CONSTRUCTORS or name in _catalog()


def function_names() -> frozenset[str]:
    """Every name that may be called: the constructors and the catalog's ops."""
    return frozenset(CONSTRUCTORS) | frozenset(_catalog())


# --------------------------------------------------------------------------- call targets


NAMESPACE_ROOTS = frozenset({"torch", "F"})
"""Names that begin a namespace prefix when a dot follows (``torch.sin``, ``F.relu``)."""


@dataclass(frozen=True)
class CallTarget:
    """What a call calls, decided while parsing (and again, identically, while evaluating).

    Attributes:
        kind: ``"constructor"``, ``"catalog"`` (a catalog op by its bare name), ``"torch"``
            (a function of :func:`ops.spelling.function`) or ``"method"`` (a tensor method).
        key: The constructor or op name, ``"torch.sum"``/``"F.relu"``, or ``"Tensor.sum"``.
        receiver: For a method, the expression before the dot.
    """

    kind: str
    key: str
    receiver: ast.expr | None = None


def dotted(node: ast.AST) -> tuple[str, ...] | None:
    """``torch.nn.functional.relu`` -> ``("torch", "nn", "functional", "relu")``; ``None``
    when the chain does not start at a bare name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def torch_key(parts: tuple[str, ...]) -> str | None:
    """The :func:`ops.spelling.function` key a dotted name calls, or ``None``."""
    from gradtui.ops import spelling

    resolved = spelling.resolve_prefix(parts)
    if resolved is None:
        return None
    key = f"{resolved[0]}.{resolved[1]}"
    return key if spelling.function(key) is not None else None


def listed_tensors(key: str, position: int, node: ast.AST) -> bool:
    """Whether ``node``, a list or tuple argument of ``key`` at ``position``, is a list of
    tensors (``torch.cat([x, y])``) rather than sizes or dims (``F.pad(x, (1, 1))``). A
    display of plain numbers is sizes, answered without asking the generated table."""
    from gradtui.ops import spelling
    from gradtui.ops.evaluator import static_number

    if not isinstance(node, (ast.List, ast.Tuple)):
        return False
    if position == 0 and key in spelling.TENSOR_LISTS:
        return True
    plain = all(
        static_number(e) is not None or (isinstance(e, ast.Constant) and e.value is None)
        for e in node.elts
    )
    return not plain and spelling.is_tensor_list(key, position)


def dtype_name(node: ast.AST) -> str | None:
    """``torch.float64`` -> ``"float64"``; ``None`` for anything else."""
    from gradtui.ops import spelling

    parts = dotted(node)
    if parts is not None and len(parts) == 2 and parts[0] == "torch":
        return parts[1] if parts[1] in spelling.DTYPES else None
    return None


def display_name(key: str) -> str:
    """A function key as a person writes it: ``"special.expit"`` -> ``"torch.special.expit"``."""
    space = key.split(".", 1)[0]
    return f"torch.{key}" if space in ("special", "linalg", "fft", "masked") else key


def torch_fallback(name: str) -> str | None:
    """``torch.NAME`` or ``F.NAME`` for a bare name, where the allow-list has one."""
    from gradtui.ops import spelling

    if not name.isidentifier() or name.startswith("_"):
        return None
    for key in (f"torch.{name}", f"F.{name}"):
        if spelling.function(key) is not None:
            return key
    return None


def attribute_position(src: Source, node: ast.Attribute) -> int:
    """The column of the dot before an attribute's name."""
    attr_start = src.end(node) - len(node.attr)
    dot = src.text.rfind(".", src.start(node), attr_start)
    return attr_start if dot < 0 else dot


def call_target(
    node: ast.Call, *, src: Source | None = None, field: str | None = None
) -> CallTarget:
    """Decide what a call calls, refusing anything off the allow-list.

    A bare name is a constructor or a catalog op; when the catalog's signature cannot
    take the arguments (``sum(x, dim=0)``), torch's function of the same name is called
    with them. ``torch.`` before a constructor's name is that constructor (``torch.randn``
    draws from the evaluation's seeded generator, as ``randn`` does). Any other dotted
    name is resolved against the namespaces of :mod:`ops.spelling`; ``value.name(...)``
    is a tensor method from its allow-list.

    Raises:
        InputError: The name is not allowed (the message says why, and what to write).
    """
    from gradtui.ops import spelling

    func = node.func
    if isinstance(func, ast.Name):
        name = func.id
        if name in CONSTRUCTORS:
            return CallTarget("constructor", name)
        try:
            bind_arguments(node, src=src, field=field)
        except InputError:
            fallback = torch_fallback(name)
            if fallback is None:
                raise
            return CallTarget("torch", fallback)
        return CallTarget("catalog", name)
    if not isinstance(func, ast.Attribute):
        raise InputError(
            "only functions called by their bare name are allowed",
            field=field,
            position=_pos(src, node),
        )
    parts = dotted(func)
    if parts is not None and len(parts) == 2 and parts[0] == "torch" and parts[1] in CONSTRUCTORS:
        return CallTarget("constructor", parts[1])  # torch.zeros(2, 3) is zeros(2, 3), seeded
    if parts is not None and parts[0] in NAMESPACE_ROOTS:
        key = torch_key(parts)
        if key is None:
            raise InputError(
                spelling.namespace_refusal(parts), field=field, position=_pos(src, func)
            )
        return CallTarget("torch", key)
    name = func.attr
    at = attribute_position(src, func) if src is not None else None
    if name.endswith("_") and not name.startswith("_") and name not in spelling.REFUSED_ATTRIBUTES:
        receiver = "x"
        if src is not None:
            typed = src.text[src.start(func.value) : src.end(func.value)]
            receiver = typed if 0 < len(typed) <= 20 and "\n" not in typed else "x"
        raise InputError(
            f"'.{name}': {spelling.in_place(name, receiver)}", field=field, position=at
        )
    reason = spelling.refusal(name, method=True)
    if reason is not None:
        raise InputError(
            f"attribute access '.{name}' is not allowed: {reason}", field=field, position=at
        )
    return CallTarget("method", f"Tensor.{name}", func.value)


def bind_arguments(
    node: ast.Call, *, src: Source | None = None, field: str | None = None
) -> dict[str, ast.expr]:
    """Match a call's arguments to its function's parameters, without evaluating them.

    Positional arguments bind to the spec's inputs in order, keywords by name. Missing
    arguments are simply absent from the result (their defaults are the caller's business).

    Args:
        node: A validated call of a catalog op or base-table function.
        src: Where positions come from (computed from the node alone if omitted).
        field: For error messages.

    Returns:
        Parameter name -> the argument's syntax node.

    Raises:
        InputError: Too many arguments, an unknown keyword, or one given twice.
    """
    name = node.func.id if isinstance(node.func, ast.Name) else ""
    spec = function_spec(name) if name else None
    if spec is None:
        raise InputError(f"unknown function '{name}'", field=field, position=_pos(src, node))
    params = [p.name for p in spec.inputs]
    if len(node.args) > len(params):
        extra = node.args[len(params)]
        raise InputError(
            f"{name}() takes at most {len(params)} argument{'s' if len(params) != 1 else ''} "
            f"({', '.join(params)}), got {len(node.args)}",
            field=field,
            position=_pos(src, extra),
        )
    bound: dict[str, ast.expr] = dict(zip(params, node.args, strict=False))
    for kw in node.keywords:
        if kw.arg not in params:
            raise InputError(
                f"{name}() has no argument '{kw.arg}' (it takes: {', '.join(params)})",
                field=field,
                position=_pos(src, kw),
            )
        if kw.arg in bound:
            raise InputError(
                f"{name}() got two values for '{kw.arg}'", field=field, position=_pos(src, kw)
            )
        bound[kw.arg] = kw.value
    return bound


def _pos(src: Source | None, node: ast.AST) -> int | None:
    return None if src is None else src.start(node)
