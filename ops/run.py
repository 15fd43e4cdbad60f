"""One target, one set of inputs: PyTorch's forward and backward, and what they say.

:func:`run` takes what :func:`ops.prepare.prepare` made of the texts, asks torch for the
forward pass, records the backward pass with :func:`ops.backward.record_backward`, asks
:mod:`ops.diagnose` why a gradient is missing, zero or nan, and returns a
:class:`GradResult`. :func:`formula` gives the symbolic derivative on its own.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from gradtui.ops import diagnose, language, timebound
from gradtui.ops.backward import record_backward
from gradtui.ops.catalog import CATALOG
from gradtui.ops.errors import InputError
from gradtui.ops.formulas import derivative_formula
from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT
from gradtui.ops.prepare import TORCH_ERRORS, Prepared, evaluate_grad_output, prepare
from gradtui.ops.results import GradResult, GraphNode, InputValue, Kink, OutputValue, TensorData
from gradtui.ops.tensors import dtype_name, number_data, to_data

__all__ = ["forward", "formula", "grad_output", "leaf_args", "run"]


@contextlib.contextmanager
def _listening(heard: list[str]) -> Iterator[None]:
    """Collect torch's warnings (first line, once each) instead of letting them print."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        line = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if line and line not in heard:
            heard.append(line)


def _check_size(p: Prepared, args: Mapping[str, Any]) -> None:
    """Refuse a catalog op whose output would be huge, by a shapes-only dry run.

    The language checks sizes inside expressions; a catalog op called directly (``outer``
    of two long vectors) is checked here, on the ``meta`` device, before any memory is
    spent. Only needed when the inputs' element counts multiply past the cap.
    """
    bound = 1
    for value in args.values():
        if isinstance(value, torch.Tensor):
            bound *= max(value.numel(), 1)
    if bound <= language.MAX_ELEMENTS:
        return
    meta = {n: v.detach().to("meta") if isinstance(v, torch.Tensor) else v for n, v in args.items()}
    try:
        out = p.fn(**meta)
    except (InputError, *TORCH_ERRORS):
        return  # not runnable on meta: the real call reports its own error
    if isinstance(out, torch.Tensor) and out.numel() > language.MAX_ELEMENTS:
        raise InputError(
            f"{p.expression} would give {out.numel()} elements (at most {language.MAX_ELEMENTS})"
        )


def _forward(p: Prepared, args: Mapping[str, Any]) -> torch.Tensor:
    """The forward pass; torch refusing the inputs is an InputError the user can fix."""
    if p.spec is not None:
        _check_size(p, args)
    try:
        out = p.fn(**args)
    except InputError:
        raise
    except TORCH_ERRORS as exc:
        field = EXPRESSION if p.parsed is not None else None
        raise InputError(
            f"torch refused the forward pass: {diagnose.quote(exc)}", field=field
        ) from None
    if not isinstance(out, torch.Tensor):
        raise InputError(f"{p.expression} gives no tensor", field=EXPRESSION)
    return out


def _grad_output(p: Prepared, output: torch.Tensor) -> torch.Tensor:
    """``v``: ones by default (the seed's ``z.sum().backward()``); a 0-d ``v`` is broadcast."""
    v = evaluate_grad_output(p)
    if v is None:
        return torch.ones_like(output)
    if v.shape != output.shape:
        if v.dim() != 0:
            raise InputError(
                f"v has shape {list(v.shape)} but the output has shape {list(output.shape)}; "
                "they must match (or give one number)",
                field=GRAD_OUTPUT,
            )
        v = v.expand(output.shape).clone()
    if output.is_floating_point() and v.dtype != output.dtype:
        v = v.to(output.dtype)
    return v


@functools.cache
def _node_rules() -> dict[str, str]:
    """Rules by node name, measured: each one-node catalog op at its defaults (float64).

    An op counts as one node when its output's ``grad_fn`` leads straight to its leaves;
    composite ops (losses built from several nodes) lend their rule to no node.
    """
    rules: dict[str, str] = {}
    for spec in CATALOG.values():
        try:
            p = prepare(spec.name, dtype="float64")
            args = dict(p.tensors)
            for name in p.names:
                t = args[name]
                if p.requires_grad[name] and isinstance(t, torch.Tensor):
                    if t.is_floating_point():
                        args[name] = t.clone().requires_grad_(True)
            out = spec.fn(**args)
        except (InputError, *TORCH_ERRORS):
            continue
        root = getattr(out, "grad_fn", None)
        if root is not None and _is_one_node(root):
            rules.setdefault(type(root).__name__, spec.rule)
    return rules


def _is_one_node(root: Any) -> bool:
    return all(fn is None or type(fn).__name__ == "AccumulateGrad" for fn, _ in root.next_functions)


def _formula(p: Prepared) -> str | None:
    """The symbolic derivative (SymPy, from the parsed tree) for elementwise ops and expressions.

    A catalog op is written as a call with its plain-number inputs filled in
    (``leaky_relu(input, 0.1)``); an expression gets one derivative per free name.
    """
    if p.spec is not None:
        if not p.spec.elementwise:
            return None
        first = p.spec.inputs[0].name
        rest = [repr(p.tensors[i.name]) for i in p.spec.inputs[1:] if i.kind != "tensor"]
        source: Any = f"{p.spec.name}({', '.join([first, *rest])})"
        variables = [first]
    else:
        source, variables = p.parsed, list(p.names)
    parts = []
    for var in variables:
        try:
            formula = derivative_formula(source, var)
        except InputError:
            continue
        if formula:
            parts.append(formula)
    return "; ".join(parts) or None


def run(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    grad_output: str | None = None,
    dtype: str = "float32",
    timeout: float | None = None,
    formula: bool = True,
) -> GradResult:
    """Forward, then PyTorch's own backward with upstream gradient ``v``, recorded.

    torch's warnings during the forward and backward passes become notes ("torch warns:
    ..."); the engine's own probes (kinks, zero checks) run silently.

    The whole computation runs under a :class:`ops.timebound.TimeBound`, so a heavy but
    allowed input answers within ``timeout`` seconds, with a result or a refusal.

    Args:
        target: A catalog op name or an expression.
        values: Input texts by name; unset inputs take their defaults.
        grad_output: The text of ``v`` (default: ones, i.e. ``output.sum().backward()``).
        dtype: ``"float32"`` or ``"float64"``.
        timeout: Seconds before the computation is abandoned; ``None``: the enclosing
            bound when called inside one (``TimeBound.call``), else ``GRADTUI_TIMEOUT``
            or :data:`ops.timebound.DEFAULT_TIMEOUT_S`; ``0`` or ``inf``: no bound.
        formula: Also build the symbolic derivative (``GradResult.formula``). The first
            formula of a process costs about half a second of SymPy (see
            :func:`ops.formulas.warm`); a front end may ask for it apart, with
            :func:`formula`, after showing the graph.

    Returns:
        The whole answer. A target with no gradient is still an answer:
        ``differentiable=False`` with ``reason`` quoting torch.

    Raises:
        InputError: Text that does not parse, an unknown op or input, a ``v`` of the
            wrong shape, or inputs torch refuses in the forward pass.
        ops.timebound.ComputationTimeout: The bound expired first (an ``InputError``).
    """
    args = (target, values, grad_output, dtype, formula)
    if timeout is None and timebound.active() is not None:
        return _run_unbounded(*args)
    bound = timebound.TimeBound(timeout)
    return bound.call(_run_unbounded, *args)


def check(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    grad_output: str | None = None,
    dtype: str = "float32",
    timeout: float | None = None,
) -> dict[str, str]:
    """What :func:`run` checks before its backward pass, alone and cheap: the texts parse,
    torch takes them in the forward pass (without autograd), and ``v`` fits the output.

    The same functions as :func:`run` (same errors, same words), without the backward pass,
    the recorder and the engine's probes: a front end that checks many targets before it
    shows any (a demo script) pays a forward pass each. Arguments as for :func:`run`.

    Returns:
        Every input's text, defaults filled in.

    Raises:
        InputError: As :func:`run`, for everything but the backward pass.
    """

    def checked() -> dict[str, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = prepare(target, values, grad_output=grad_output, dtype=dtype)
            with torch.no_grad():
                output = _forward(p, dict(p.tensors))
            _grad_output(p, output)
            return dict(p.texts)

    if timeout is None and timebound.active() is not None:
        return checked()
    return timebound.TimeBound(timeout).call(checked)


def formula(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    dtype: str = "float32",
    timeout: float | None = None,
) -> str | None:
    """The ``formula`` :func:`run` reports for these inputs, on its own.

    For a front end that shows :func:`run`'s graph (``formula=False``) first and the
    formula when SymPy has answered. Arguments as for :func:`run`.

    Raises:
        InputError: As :func:`prepare` (text that does not parse, an unknown op, ...).
    """
    if timeout is None and timebound.active() is not None:
        return _formula(prepare(target, values, dtype=dtype))
    bound = timebound.TimeBound(timeout)
    return bound.call(lambda: _formula(prepare(target, values, dtype=dtype)))


def _run_unbounded(
    target: str,
    values: Mapping[str, str] | None,
    grad_output: str | None,
    dtype: str,
    formula: bool = True,
) -> GradResult:
    """:func:`run` without its time bound (called inside one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run(prepare(target, values, grad_output=grad_output, dtype=dtype), formula)


def leaf_args(p: Prepared) -> tuple[dict[str, Any], dict[str, torch.Tensor], list[str]]:
    """Fresh arguments for one forward pass: every tensor a detached copy, those that
    require grad made leaves.

    Returns:
        The arguments by name, the leaves by name, and a note for each group of inputs
        torch would not let require grad (an integer tensor), quoting torch.
    """
    refusals: dict[tuple[str, str], list[str]] = {}  # (dtype, torch's words) -> names
    leaves: dict[str, torch.Tensor] = {}
    args: dict[str, Any] = {}
    for name in p.names:
        value = p.tensors[name]
        if isinstance(value, torch.Tensor):
            value = value.detach().clone()
            if p.requires_grad[name]:
                try:
                    value.requires_grad_(True)
                except RuntimeError as exc:
                    key = (dtype_name(value.dtype), diagnose.quote(exc))
                    refusals.setdefault(key, []).append(name)
                else:
                    leaves[name] = value
        args[name] = value
    refused = [diagnose.refusal(names, dtype, said) for (dtype, said), names in refusals.items()]
    return args, leaves, refused


def forward(p: Prepared, args: Mapping[str, Any]) -> torch.Tensor:
    """The forward pass as :func:`run` does it (size check, torch's refusals as InputError)."""
    return _forward(p, args)


def grad_output(p: Prepared, output: torch.Tensor) -> torch.Tensor:
    """``v`` for ``output``, as :func:`run` feeds it to backward."""
    return _grad_output(p, output)


def _run(p: Prepared, with_formula: bool = True) -> GradResult:
    """:func:`run` after :func:`prepare`."""
    args, leaves, refused = leaf_args(p)

    heard: list[str] = []  # torch's warnings during the forward and backward passes
    with _listening(heard):
        output = _forward(p, args)
    v = _grad_output(p, output)
    inputs = {
        n: InputValue(
            name=n,
            text=p.texts[n],
            tensor=to_data(args[n]) if isinstance(args[n], torch.Tensor) else number_data(args[n]),
            requires_grad=n in leaves,
        )
        for n in p.names
    }
    grad_fn = None if output.grad_fn is None else type(output.grad_fn).__name__
    out_value = OutputValue(to_data(output), grad_fn)
    notes: list[str] = [f"torch warns: {w}" for w in heard]
    extras: dict[str, TensorData] = {}

    kinks: tuple[Kink, ...] = ()
    graph: list[GraphNode] = []

    def answer(differentiable: bool, reason: str | None, grads=None, steps=()) -> GradResult:
        return GradResult(
            target=p.target,
            expression=p.expression,
            inputs=inputs,
            output=out_value,
            differentiable=differentiable,
            reason=reason,
            grads=grads or {n: None for n in p.names},
            grad_output=to_data(v),
            steps=tuple(steps),
            formula=_formula(p) if with_formula else None,
            notes=tuple(notes),
            extras=extras,
            kinks=kinks,
            graph=tuple(graph),
        )

    if not output.requires_grad:
        reason, probe_notes = diagnose.not_differentiable(p, args, output, v, refused)
        notes.extend(probe_notes)
        return answer(False, reason)
    notes.extend(refused)

    rules = dict(_node_rules())
    if p.spec is not None and output.grad_fn is not None and _is_one_node(output.grad_fn):
        rules[type(output.grad_fn).__name__] = p.spec.rule
    heard_before = len(heard)
    try:
        with _listening(heard):
            steps = record_backward(output, v, leaves, rules=rules, graph_out=graph)
    except RuntimeError as exc:
        return answer(False, f"torch's backward pass failed: {diagnose.quote(exc)}")
    notes.extend(f"torch warns: {w}" for w in heard[heard_before:])
    grads = {
        n: to_data(leaves[n].grad) if n in leaves and leaves[n].grad is not None else None
        for n in p.names
    }
    if not any(g is not None for g in grads.values()):
        return answer(
            False, "the backward pass ran but no gradient reached any input", grads, steps
        )

    reason, zero_notes = diagnose.zero_gradients(p, args, leaves)
    notes.extend(zero_notes)
    notes.extend(diagnose.non_finite_notes(p, args, leaves, v, output, steps))
    if p.elementwise:
        kink_notes, kinks = diagnose.kink_notes(p, args)
        notes.extend(kink_notes)
    if p.spec is not None and p.spec.explain is not None:
        more, explained_notes = p.spec.explain(
            {n: (a.detach() if isinstance(a, torch.Tensor) else a) for n, a in args.items()}
        )
        extras.update({k: to_data(t) for k, t in more.items()})
        notes.extend(explained_notes)
    return answer(True, reason, grads, steps)
