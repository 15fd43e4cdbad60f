"""Evaluating torch's own spelling: namespaced functions, tensor methods, properties,
named-tuple fields, indexing and slicing.

Every callable comes from the literal allow-lists of :mod:`ops.spelling`, chosen by the
key :func:`ops.calls.call_target` resolved from the tree (``"torch.sum"``, ``"F.relu"``,
``"Tensor.pow"``); no name is looked up on a module. Arguments go to torch as PyTorch
code passes them (numbers stay numbers, sizes stay tuples of ints) and torch checks the
signature. A result that could exceed :data:`ops.source.MAX_ELEMENTS` is sized first,
from the arguments or by a dry run on the ``meta`` device.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import torch

from gradtui.ops.calls import (
    attribute_position,
    bind_arguments,
    display_name,
    dotted,
    dtype_name,
    listed_tensors,
)
from gradtui.ops.evaluator import (
    EvaluatorBase,
    TensorTuple,
    Value,
    int_list,
    is_named_tuple,
    meta,
    on_meta,
    size_bound,
    static_number,
)
from gradtui.ops.snippet_bounds import call_size
from gradtui.ops.source import MAX_ELEMENTS, NAMED_FLOATS


class TorchSpellingEvaluator(EvaluatorBase):
    """The nodes PyTorch code writes: ``torch.f(...)``, ``x.f(...)``, ``x.T``, ``x[...]``."""

    def torch_call(self, node: ast.Call, key: str, receiver: ast.expr | None) -> Value:
        """A call of :data:`ops.spelling.FUNCTIONS` or :data:`ops.spelling.METHODS`, with
        the arguments as PyTorch code would pass them; torch checks the signature."""
        from gradtui.ops import spelling

        shown = display_name(key)
        if key == "torch.tensor":
            return self.torch_tensor(node)
        found = (
            spelling.tensor_method(key.split(".", 1)[1])
            if receiver is not None
            else spelling.function(key)
        )
        if found is None:  # parse() refused it; a hand-built tree may not bypass that
            raise self.error(f"{shown}() is not allowed", node)
        fn = found
        args: list[Any] = [self.tensor(receiver)] if receiver is not None else []
        for index, arg in enumerate(node.args):
            if listed_tensors(key, index, arg):
                args.append([self.tensor(e) for e in arg.elts])
            elif isinstance(arg, ast.Call):
                value = self.visit(arg)  # torch.cat(torch.split(x, 2)): a tuple of tensors
                if isinstance(value, TensorTuple) and spelling.is_tensor_list(key, index):
                    args.append(list(value))
                else:
                    args.append(self.as_tensor(value, arg))
            else:
                args.append(self.torch_arg(arg, first=receiver is None and index == 0))
        lists = spelling.LIST_KEYWORDS.get(key, frozenset())
        kwargs = {
            kw.arg: self.python_list(kw.value)
            if kw.arg in lists and isinstance(kw.value, (ast.List, ast.Tuple))
            else self.torch_arg(kw.value, first=kw.arg == "input")
            for kw in node.keywords
        }
        self.check_torch_size(fn, args, kwargs, node, f"the result of {shown}()")
        with self.torch_errors(node, f"{shown}() failed"):
            try:
                result = fn(*args, **kwargs)
            except TypeError:
                if isinstance(node.func, ast.Name):
                    # the catalog's op by its bare name, and torch's signature did not take
                    # the arguments either: the catalog's message says what the op takes
                    bind_arguments(node, src=self.src, field=self.field)
                raise
        return self.torch_result(result, node, shown)

    def torch_tensor(self, node: ast.Call) -> torch.Tensor:
        """``torch.tensor(data, dtype=...)``: the language's literal, a copy with no history."""
        if len(node.args) != 1 or any(
            kw.arg not in ("dtype", "requires_grad") for kw in node.keywords
        ):
            raise self.error("torch.tensor() takes one list and, optionally, dtype=", node)
        value = self.tensor(node.args[0]).detach().clone()
        for kw in node.keywords:
            if kw.arg == "requires_grad":
                continue  # False, as parse() checked: a copy without history is what it gives
            dtype = self.torch_arg(kw.value, first=False)
            if dtype is not None:
                with self.torch_errors(node, "torch.tensor() failed"):
                    value = value.to(dtype)
        return value

    def torch_result(self, result: Any, node: ast.AST, shown: str) -> Value:
        if isinstance(result, torch.Tensor):
            self.check_elements(tuple(result.shape), node, f"the result of {shown}()")
            return result
        if is_named_tuple(result):
            for item in result:
                if isinstance(item, torch.Tensor):
                    self.check_elements(tuple(item.shape), node, f"the result of {shown}()")
            return result
        if isinstance(result, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in result):
            for item in result:
                self.check_elements(tuple(item.shape), node, f"the result of {shown}()")
            return TensorTuple(result, shown)
        if isinstance(result, (bool, int, float)):
            return self.number(result)
        raise self.error(f"{shown}() does not give a tensor", node)

    def torch_arg(self, node: ast.AST, *, first: bool) -> Any:
        """An argument as PyTorch code passes it: numbers typed stay Python numbers (except
        a function's first input, a tensor), a tuple or a flat list of integers stays a
        sequence of ints (sizes, dims), strings and dtypes as checked by parse()."""
        from gradtui.ops import spelling

        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value  # parse() checked it against the parameter's choices
        dtype = dtype_name(node)
        if dtype is not None:
            return spelling.DTYPES[dtype]
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if not first:
            number = static_number(node)
            if number is not None:
                return number
            if isinstance(node, ast.Tuple) or int_list(node):
                return tuple(self.plain(e) for e in node.elts)  # type: ignore[attr-defined]
        return self.tensor(node)

    def python_list(self, node: ast.List | ast.Tuple) -> list[Any]:
        """A keyword torch takes as a Python list (:data:`ops.spelling.LIST_KEYWORDS`):
        its numbers stay numbers, anything else is a tensor."""
        out: list[Any] = []
        for e in node.elts:
            number = static_number(e)
            out.append(number if number is not None else self.tensor(e))
        return out

    def plain(self, node: ast.AST) -> Any:
        """One element of a size or dim tuple: an integer (a one-element integer tensor
        becomes its value), a number, ``None``, a nested tuple or list of integers (kept a
        sequence: ``tensordot``'s ``dims=([0, 1], [2, 0])``), or a tensor for torch to judge."""
        number = static_number(node)
        if number is not None:
            return number
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.Tuple) or int_list(node):
            return tuple(self.plain(e) for e in node.elts)  # type: ignore[attr-defined]
        value = self.tensor(node)
        if value.numel() == 1 and not value.dtype.is_floating_point and not value.dtype.is_complex:
            return self.to_int(value, node, "a size")
        return value

    def check_torch_size(
        self,
        fn: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        node: ast.AST,
        what: str,
    ) -> None:
        """Refuse, before running it, a call whose result would exceed :data:`MAX_ELEMENTS`.

        The product of the tensors' sizes and the integers' magnitudes bounds most
        results (``x.repeat(2, 3)``, ``x.expand(4, 3)``, ``F.pad(x, (1, 1))``), but not all:
        ``torch.diagflat(x)`` has ``x.numel()**2`` elements. So over the cap's square root
        (where a result quadratic in the arguments could pass the cap), a dry run on the
        ``meta`` device (shapes only) gives the real shape first.
        """
        bound = size_bound([*args, *kwargs.values()])
        if fn is torch.combinations and args and isinstance(args[0], torch.Tensor):
            # C(n, r) rows of r, beyond the product of the arguments (and no meta kernel)
            r = kwargs.get("r", args[1] if len(args) > 1 else 2)
            if isinstance(r, int) and not isinstance(r, bool) and 0 < r <= 64:
                n = args[0].numel() + (r - 1 if kwargs.get("with_replacement") else 0)
                self.check_elements((math.comb(n, r), r), node, what)
        reason = call_size(fn, args, kwargs)  # sizes a dry run cannot tell (one_hot, ...)
        if reason is not None:
            raise self.error(reason, node)
        if bound * bound <= MAX_ELEMENTS:
            return
        try:
            out = fn(*on_meta(args), **on_meta(kwargs))
        except Exception:  # noqa: BLE001 - no meta kernel: the result is checked after the call
            return
        self.check_meta_result(out, node, what)
        reason = call_size(fn, args, kwargs, out)  # work far beyond the result (convolutions)
        if reason is not None:
            raise self.error(reason, node)

    def attribute(self, node: ast.Attribute) -> Value:
        """``x.T``, ``x.mT``, ``torch.pi``, a named tuple's field (``.values``)."""
        from gradtui.ops import spelling

        parts = dotted(node)
        if parts is not None and parts[0] == "torch" and len(parts) == 2:
            if parts[1] in spelling.CONSTANTS:
                return torch.tensor(NAMED_FLOATS[spelling.CONSTANTS[parts[1]]], dtype=self.dtype)
        at = attribute_position(self.src, node)
        name = node.attr
        prop = spelling.tensor_property(name) if name not in spelling.FIELDS else None
        if prop is not None:
            value = self.tensor(node.value)
            with self.torch_errors(node, f"'.{name}' failed", at):
                return prop(value)
        if name in spelling.FIELDS:
            value = self.visit(node.value)
            if is_named_tuple(value):
                try:
                    return spelling.FIELDS[name](value)
                except AttributeError:
                    pass  # a field of another named tuple: said below
            kind = type(value).__name__ if is_named_tuple(value) else "a tensor"
            raise self.error(
                f"'.{name}' is a field of the named tuples torch returns (such as "
                f"x.max(dim=1).values); this value is {kind}, without it",
                node,
                at,
            )
        # parse() refused every other attribute; a hand-built tree may not bypass that
        raise self.error(f"attribute access '.{name}' is not allowed", node, at)

    def subscript(self, node: ast.Subscript) -> Value:
        """``x[0]``, ``x[:, 1]``, ``x[1:3]``, ``x[..., 0]``, ``x[None]``, ``x[idx]``, ``x[x > 0]``."""
        value = self.visit(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index = tuple(self.index_item(item) for item in items)
        key: Any = index if isinstance(node.slice, ast.Tuple) else index[0]
        if is_named_tuple(value) or isinstance(value, TensorTuple):
            kind = "a named tuple" if is_named_tuple(value) else f"{value.shown}()'s tuple"
            what = "fields" if is_named_tuple(value) else "tensors"
            if not isinstance(key, int) or isinstance(key, bool):
                raise self.error(f"{kind} takes one integer index, as in [0]", node.slice)
            if not -len(value) <= key < len(value):
                raise self.error(f"index {key} is out of range for {len(value)} {what}", node.slice)
            return value[key]
        if value is None or not isinstance(value, torch.Tensor):
            raise self.error("only a tensor can be indexed", node.value)
        bound = value.numel()
        for item in index:
            if isinstance(item, torch.Tensor) and item.dtype != torch.bool:
                bound *= max(item.numel(), 1)
        if bound > MAX_ELEMENTS:
            meta_key = tuple(on_meta(list(index))) if isinstance(key, tuple) else on_meta([key])[0]
            try:
                shape = tuple(meta(value)[meta_key].shape)
            except Exception:  # noqa: BLE001 - torch refuses the index: it says why below
                shape = ()
            self.check_elements(shape, node, "the result of '[...]'")
        with self.torch_errors(node, "cannot index"):
            result = value[key]
        self.check_elements(tuple(result.shape), node, "the result of '[...]'")
        return result

    def index_item(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            return slice(
                *(self.bound_of_slice(part) for part in (node.lower, node.upper, node.step))
            )
        if isinstance(node, ast.Constant) and (node.value is Ellipsis or node.value is None):
            return node.value
        number = static_number(node)
        if isinstance(number, (bool, int)):
            return number
        if number is not None:
            raise self.error(f"an index must be an integer, not {number!r}", node)
        return self.tensor(node)

    def bound_of_slice(self, node: ast.AST | None) -> int | None:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return None
        return self.to_int(self.number_arg(node), node, "a slice bound")
