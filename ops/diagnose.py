"""Why a gradient is missing, zero, nan or a convention: each answer measured with torch.

:func:`ops.run.run` asks these after torch's own forward and backward passes. A case
with no gradient is an answer, not a crash: torch is made to show why (its own error
text is quoted). A gradient that is zero everywhere, a ``nan`` from a ``where()`` branch
not taken, and the points of an elementwise op with no derivative (corners, cusps and
jumps, from the one detector :func:`ops.kinks.classify`) each get a note measured on
the spot. Nothing here is a table of known answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from gradtui.ops import direct_backward
from gradtui.ops.backward import graph_nodes
from gradtui.ops.display import a_dtype, describe_kink
from gradtui.ops.errors import InputError
from gradtui.ops.kinks import classify, screen
from gradtui.ops.prepare import TORCH_ERRORS, Prepared
from gradtui.ops.results import Kink, Step
from gradtui.ops.tensors import dtype_name

__all__ = [
    "element_name",
    "kink_notes",
    "non_finite_notes",
    "not_differentiable",
    "quote",
    "refusal",
    "zero_gradients",
]

MAX_KINK_NOTES = 5
"""Kink notes written at most (the rest are counted)."""
MAX_CLASSIFIED = 1000
"""Input elements the kink notes classify at most (each costs a bisection)."""
MAX_PROBE_ELEMENTS = 100_000
"""Inputs larger than this get no kink notes at all."""
ZERO_PROBES = 3
"""Random points at which an all-zero gradient is checked again."""


def quote(exc: BaseException) -> str:
    """torch's error text, first line only, quoted."""
    return f'"{str(exc).strip().splitlines()[0]}"' if str(exc).strip() else repr(exc)


def refusal(names: list[str], dtype: str, said: str) -> str:
    """One sentence for inputs torch would not let require grad, quoting torch."""
    if len(names) == 1:
        who, them = f"{names[0]} is {a_dtype(dtype)} tensor", "it"
    else:
        who, them = f"{', '.join(names[:-1])} and {names[-1]} are {dtype} tensors", "them"
    return f"{who}, and torch refuses to let {them} require grad: requires_grad_() raises {said}"


def zero_gradients(
    p: Prepared, args: Mapping[str, Any], leaves: Mapping[str, torch.Tensor]
) -> tuple[str | None, list[str]]:
    """The reason (zero almost everywhere) or the note (zero only here) for all-zero grads.

    Returns:
        ``(reason, notes)``: ``(None, [])`` unless every gradient that reached a leaf is 0.
    """
    got = [leaves[n].grad for n in leaves if leaves[n].grad is not None]
    if not sum(g.numel() for g in got) > 0 or any(bool((g != 0).any()) for g in got):
        return None, []
    if _zero_everywhere(p, args, leaves):
        return (
            "zero almost everywhere: every gradient PyTorch returns is 0, here and at "
            f"{ZERO_PROBES} random points (measured); the function is piecewise constant, "
            "so its derivative is 0 between jumps and does not exist at them"
        ), []
    return None, [
        "every gradient is 0 at these inputs, but not everywhere: at random points "
        "PyTorch returns non-zero gradients"
    ]


def non_finite_notes(
    p: Prepared,
    args: Mapping[str, Any],
    leaves: Mapping[str, torch.Tensor],
    v: torch.Tensor,
    output: torch.Tensor,
    steps: Sequence[Step],
) -> list[str]:
    """Where nan/inf gradients come from: a ``where()`` branch not taken (measured, see
    :func:`_where_notes`), or else an infinite or undefined derivative at these inputs."""
    finite_out = bool(torch.isfinite(output.detach()).all()) if output.is_floating_point() else True
    notes: list[str] = []
    explained: set[str] = set()
    if any(s.node == "WhereBackward0" for s in steps):
        notes, explained = _where_notes(p, args, leaves, v)
    bad = [
        n
        for n in leaves
        if n not in explained
        and leaves[n].grad is not None
        and not bool(torch.isfinite(leaves[n].grad).all())
    ]
    if bad and finite_out:
        notes.append(
            f"{', '.join(bad)}.grad holds nan/inf although the output is finite: the "
            "derivative is infinite or undefined at these inputs"
        )
    return notes


def not_differentiable(
    p: Prepared, args: Mapping[str, Any], output: torch.Tensor, v: torch.Tensor, refused: list[str]
) -> tuple[str, list[str]]:
    """Why there is no gradient, in torch's own words, plus a measured float probe."""
    try:
        torch.autograd.backward(output, v)
    except RuntimeError as exc:
        said = quote(exc)
    else:  # pragma: no cover - torch always raises here; kept honest if it ever does not
        said = "(torch raised nothing)"
    reasons = list(refused)
    reasons.append(
        f"the output is {a_dtype(dtype_name(output.dtype))} tensor with no grad_fn, so there is no "
        f"graph to run backward through; torch.autograd.backward(output, v) raises: {said}"
    )
    notes = []
    wanted = [
        n
        for n in p.names
        if p.requires_grad[n]
        and isinstance(args[n], torch.Tensor)
        and not args[n].is_floating_point()
        and not args[n].is_complex()
    ]
    if wanted:
        probe = dict(args)
        for n in wanted:
            probe[n] = args[n].to(p.dtype).requires_grad_(True)
        try:
            probe_out = p.fn(**probe)
        except (InputError, *TORCH_ERRORS):
            probe_out = None
        if isinstance(probe_out, torch.Tensor):
            node = None if probe_out.grad_fn is None else type(probe_out.grad_fn).__name__
            names = ", ".join(wanted)
            if node is None:
                notes.append(
                    f"even with {names} as {dtype_name(p.dtype)} tensors that require grad, "
                    f"the output is {dtype_name(probe_out.dtype)} with grad_fn=None: "
                    "there is no gradient to ask for"
                )
            else:
                notes.append(
                    f"with {names} written as floats (e.g. 1.0 instead of 1), the output "
                    f"gets grad_fn={node} and a gradient"
                )
    return "; ".join(reasons), notes


def _zero_everywhere(
    p: Prepared, args: Mapping[str, Any], leaves: Mapping[str, torch.Tensor]
) -> bool:
    """Every gradient is zero at ``ZERO_PROBES`` random points too (float64, v = ones)."""
    fn = p.fn_in(torch.float64)
    gen = torch.Generator().manual_seed(1)
    for _ in range(ZERO_PROBES):
        probe: dict[str, Any] = {}
        for name, value in args.items():
            if name in leaves:
                probe[name] = (
                    3 * torch.randn(value.shape, generator=gen, dtype=torch.float64)
                ).requires_grad_(True)
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                probe[name] = value.detach().double()
            else:
                probe[name] = value
        try:
            out = fn(**probe)
            if out.grad_fn is None:
                continue
            grads = torch.autograd.grad(
                out, [probe[n] for n in leaves], torch.ones_like(out), allow_unused=True
            )
        except (InputError, *TORCH_ERRORS):
            return False
        if any(g is not None and bool((g != 0).any()) for g in grads):
            return False
    return True


def kink_notes(p: Prepared, args: Mapping[str, Any]) -> tuple[list[str], tuple[Kink, ...]]:
    """Corners, cusps and jumps of an elementwise op at the current input elements.

    The one detector (:func:`ops.kinks.classify`) measures each element in float64, as
    it does for the plot; the note says what kind of point it is, with the one-sided
    slopes of a corner or cusp, the limits of a jump, and the derivative PyTorch
    actually returns there.
    """
    var = p.names[0]
    x = args[var]
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return [], ()
    if x.numel() > MAX_PROBE_ELEMENTS:
        return [], ()
    fn = p.fn_in(torch.float64)
    rest = {
        n: (v.detach().double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v)
        for n, v in args.items()
        if n != var
    }
    x64 = x.detach().double().requires_grad_(True)
    try:
        f0 = fn(**rest, **{var: x64})
        if f0.shape != x64.shape or not f0.is_floating_point() or f0.grad_fn is None:
            return [], ()
        (df,) = direct_backward.grad(f0, x64, torch.ones_like(f0))
    except (InputError, *TORCH_ERRORS):
        return [], ()
    shape = x64.shape
    nan = torch.full((x64.numel(),), float("nan"), dtype=torch.float64)

    def f(t: torch.Tensor) -> torch.Tensor:
        """The op at every element moved to ``t`` (elementwise: each output sees its own)."""
        try:
            with torch.no_grad():
                out = fn(**rest, **{var: t.reshape(shape)})
        except (InputError, *TORCH_ERRORS):
            return nan
        return out.reshape(-1).double() if out.shape == shape else nan

    flat = x64.detach().reshape(-1)
    suspects = torch.nonzero(screen(f, flat, f(flat))).flatten()
    if suspects.numel() == 0:
        return [], ()
    # Only the first MAX_CLASSIFIED suspects are classified, each bisection round on
    # those elements alone (the op still sees the whole tensor, the others unmoved).
    chosen = suspects[:MAX_CLASSIFIED]

    def f_chosen(t: torch.Tensor) -> torch.Tensor:
        moved = flat.clone()
        moved[chosen] = t
        return f(moved)[chosen]

    df_chosen = df.detach().reshape(-1)[chosen]
    found = classify(f_chosen, lambda _: df_chosen, flat[chosen], fixed=True)
    name = p.spec.name if p.spec is not None else p.expression
    named = tuple(
        dataclasses.replace(
            k,
            index=int(chosen[k.index]),
            at=f"{element_name(var, x.shape, int(chosen[k.index]))} = {k.x:g}",
        )
        for k in found
    )
    notes = [f"{name}: {describe_kink(k, k.at)}" for k in named[:MAX_KINK_NOTES]]
    if len(found) > MAX_KINK_NOTES:
        notes.append(f"... and {len(found) - MAX_KINK_NOTES} more such points")
    unclassified = suspects.numel() - chosen.numel()
    if unclassified:
        notes.append(
            f"... and {unclassified} more elements whose one-sided differences disagree; "
            f"only the first {MAX_CLASSIFIED:,} are classified"
        )
    return notes, named


def _where_notes(
    p: Prepared, args: Mapping[str, Any], leaves: Mapping[str, torch.Tensor], v: torch.Tensor
) -> tuple[list[str], set[str]]:
    """Which nan (and -0) gradients come from a ``where()`` branch not taken, measured.

    Backward runs through both branches of ``where(cond, a, b)``: the branch not taken
    at an element gets a zero gradient there, and if its local derivative is infinite
    (``log`` at 0) the product is ``0 * inf = nan``; if it is negative, ``0 * -1 = -0``.
    Two more backward passes through a fresh graph at the same inputs tell this apart
    from a derivative that is infinite for another reason (``sqrt`` beside the where):

    * *cut*: every ``WhereBackward0`` sends nothing on; an element still non-finite
      got its nan elsewhere.
    * *untaken*: every ``WhereBackward0`` sends ones to the positions its branches did
      not take (and zeros to those they did): each leaf element gets the untaken
      branch's local derivative there.

    An element counts as "from the branch not taken" when its gradient is nan, the cut
    pass is finite there and the untaken pass is not; a ``-0`` when the untaken pass is
    negative there.

    Returns:
        The notes, and the names of the leaves whose non-finite gradients they explain
        in full.
    """
    passes = [_where_pass(p, args, leaves, v, mode) for mode in ("cut", "untaken")]
    if passes[0] is None or passes[1] is None:
        return [], set()
    cut, untaken = passes
    notes: list[str] = []
    explained: set[str] = set()
    for name, leaf in leaves.items():
        grad, through = leaf.grad, untaken.get(name)
        if grad is None or through is None or through.shape != grad.shape:
            continue
        blocked = cut.get(name)
        finite_cut = (
            torch.ones_like(grad, dtype=torch.bool) if blocked is None else torch.isfinite(blocked)
        )
        nan = torch.isnan(grad) & finite_cut & ~torch.isfinite(through)
        negzero = (grad == 0) & torch.signbit(grad) & torch.isfinite(through) & (through < 0)
        x = leaf.detach()
        for kind, mask in (("nan", nan), ("-0", negzero)):
            flat = torch.nonzero(mask.reshape(-1)).reshape(-1).tolist()
            if not flat:
                continue
            at = [element_name(name, x.shape, i) for i in flat[:MAX_KINK_NOTES]]
            more = f" (and {len(flat) - len(at)} more)" if len(flat) > len(at) else ""
            local = _untaken_products(x, through, flat[: len(at)], at)
            if kind == "nan":
                notes.append(
                    f"{name}.grad is nan at {', '.join(at)}{more}: it comes from the branch "
                    "where() did not take. Backward runs "
                    "through both branches and sends the one not taken a zero gradient; "
                    f"that branch is still differentiated {local}. "
                    "(Measured: with where()'s gradients to its branches cut off, these "
                    "elements are finite.)"
                )
            else:
                notes.append(
                    f"{name}.grad is -0. (a zero with a minus sign) at {', '.join(at)}{more}: "
                    "the branch where() did not take gets a zero gradient and is still "
                    f"differentiated {local}."
                )
        rest = ~torch.isfinite(grad) & ~nan
        if nan.any() and not rest.any():
            explained.add(name)
    return notes, explained


def _untaken_products(
    x: torch.Tensor, through: torch.Tensor, flat: list[int], at: list[str]
) -> str:
    """Each blamed element's local derivative on the untaken branch, and what torch makes
    of the zero gradient times it there: ``at x[0] = 0, where its local derivative is
    inf, and 0 * inf = nan`` (one clause per element, in order)."""
    xs, ds = x.reshape(-1), through.reshape(-1)
    clauses = []
    for i, where in zip(flat, at, strict=True):
        d = ds[i]
        product = (torch.zeros_like(d) * d).item()  # what backward's zero times it gives
        clauses.append(
            f"at {where} = {xs[i].item():g}, where its local derivative is {d.item():g}, "
            f"and 0 * {d.item():g} = {product:g}"
        )
    if len(clauses) == 1:
        return clauses[0]
    return "; ".join(clauses[:-1]) + "; and " + clauses[-1]


def element_name(name: str, shape: tuple[int, ...] | torch.Size, flat: int) -> str:
    """``x[1, 0]`` for flat index 3 of a 2x2 ``x``; ``x`` for a 0-d one."""
    if len(shape) == 0:
        return name
    index = []
    for size in reversed(tuple(shape)):
        index.append(flat % size)
        flat //= size
    return f"{name}[{', '.join(str(i) for i in reversed(index))}]"


def _where_pass(
    p: Prepared,
    args: Mapping[str, Any],
    leaves: Mapping[str, torch.Tensor],
    v: torch.Tensor,
    mode: str,
) -> dict[str, torch.Tensor | None] | None:
    """The leaves' gradients with every ``WhereBackward0`` rewired (see :func:`_where_notes`)."""
    fresh = {
        n: (a.detach().clone().requires_grad_(True) if n in leaves else a) for n, a in args.items()
    }

    def rewire(node: Any) -> Callable[..., tuple[Any, ...]]:
        def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> tuple[Any, ...]:
            if mode == "cut":
                return tuple(None for _ in grad_inputs)
            cond = node._saved_condition
            g = grad_outputs[0]
            out = []
            for k, gi in enumerate(grad_inputs):  # (input, other): taken where cond, ~cond
                if gi is None:
                    out.append(None)
                    continue
                missed = torch.broadcast_to(~cond if k == 0 else cond, g.shape)
                out.append(missed.to(gi.dtype).sum_to_size(gi.shape))
            return tuple(out)

        return hook

    handles = []
    try:
        out = p.fn(**fresh)
        if not isinstance(out, torch.Tensor) or out.grad_fn is None:
            return None
        for node in graph_nodes(out.grad_fn):
            if type(node).__name__ == "WhereBackward0":
                handles.append(node.register_hook(rewire(node)))
        wanted = list(leaves)
        grads = torch.autograd.grad(
            out, [fresh[n] for n in wanted], v.to(out.dtype), allow_unused=True
        )
    except (InputError, *TORCH_ERRORS):
        return None
    finally:
        for handle in handles:
            handle.remove()
    return dict(zip(wanted, grads, strict=True))
