"""How a curve's ``t`` is batched: vmap, a leading dimension, or a loop, with gaps.

A curve asks for f at many values of ``t`` at once. :func:`elementwise_batched` feeds
all points to an elementwise op as one tensor; otherwise :func:`choose_batching` takes
:func:`torch.func.vmap` if it reproduces plain calls, else a leading batch dimension if a
probe shows the op treats it as one, else a Python loop (slow, still one backward).
:func:`robust` turns the points where a batch raises into gaps (``nan``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch

from gradtui.ops import timebound

__all__ = [
    "F64",
    "PROBE_MAX",
    "SPLIT_BUDGET",
    "NotPointwise",
    "choose_batching",
    "elementwise_batched",
    "first_tensor",
    "one_of",
    "robust",
    "single_l",
]

F64 = torch.float64
"""Every curve is float64 (a curve is a diagnostic)."""
#: Batched calls one curve may spend isolating points that raise (see :func:`robust`).
SPLIT_BUDGET = 512
#: Up to this many points, a batch that raises is sorted out by one plain call a point.
PROBE_MAX = 4096

# vmap's slow fallback for an op without a batching rule still gives torch's values;
# its warning says so on every call, which a worker thread must not print over the TUI.
# (A filter, not ``catch_warnings``: that swaps global state and is unsafe in threads.)
warnings.filterwarnings(
    "ignore", message="There is a performance drop because we have not yet implemented"
)


def first_tensor(out: Any) -> torch.Tensor:
    """An op's result as one float64 tensor (the values of a ``(values, indices)`` pair)."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        out = torch.as_tensor(out)
    return out.to(F64)


def elementwise_batched(
    fn: Callable[..., Any], held: Mapping[str, Any], var: str, x0: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``t -> f(t)`` for an op elementwise in ``var``, or ``None`` if a probe says otherwise.

    Held inputs must be single numbers (a non-scalar bound would pair with the points
    by broadcasting). The probe feeds the current values flattened, plus one more point,
    and checks that the result starts with the op's own result flattened.
    """
    for value in held.values():
        if isinstance(value, torch.Tensor) and value.numel() != 1:
            return None

    def batched(t: torch.Tensor) -> torch.Tensor:
        timebound.check()  # a step boundary: an abandoned computation stops here
        out = first_tensor(fn(**held, **{var: t}))
        if out.shape != t.shape:
            raise NotPointwise(f"result of shape {list(out.shape)} for {t.numel()} points")
        return out

    try:
        with torch.no_grad():
            whole = first_tensor(fn(**held, **{var: x0})).flatten()
            flat = x0.flatten()
            # one point more than the input has: a constant of the input's shape
            # (``x * rand(3)``) looks elementwise at that shape only
            longer = batched(torch.cat([flat, flat[:1] if flat.numel() else flat.new_zeros(1)]))
    except Exception:
        return None
    got = longer[: whole.numel()]
    if whole.shape != got.shape or not torch.allclose(
        whole, got, rtol=1e-12, atol=0.0, equal_nan=True
    ):
        return None
    return batched


class NotPointwise(RuntimeError):
    """The op did not give one value per point."""


def single_l(
    fn: Callable[..., Any],
    held: Mapping[str, Any],
    var: str,
    x0: torch.Tensor,
    mask: torch.Tensor,
    v: torch.Tensor | None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``L(t) = <v, f(x0 with the masked element set to t)>`` for one 0-d ``t``."""

    def single(t: torch.Tensor) -> torch.Tensor:
        timebound.check()  # called once a point in loops: an abandoned curve stops here
        x = torch.where(mask, t, x0)
        out = first_tensor(fn(**held, **{var: x}))
        return (out if v is None else v * out).sum()

    return single


def choose_batching(
    single: Callable[[torch.Tensor], torch.Tensor],
    fn: Callable[..., Any],
    held: Mapping[str, Any],
    var: str,
    x0: torch.Tensor,
    mask: torch.Tensor,
    v: torch.Tensor | None,
    t0: float,
) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
    """vmap if it runs, else a leading batch dimension if a probe agrees, else a loop.

    The probe is a few values, near and far from the current one, computed one at a time
    with plain calls; a batched way is taken only if it reproduces them all. (A batch
    dimension that leaks across points, like a max over everything, shows once the points
    are far enough apart to change the answer.) Probe values where the plain call raises
    are left out, so a restricted domain does not count against a way of batching.
    """
    base = t0 if math.isfinite(t0) else 0.0
    scale = 1.0 + abs(base)
    candidates = [base, base + 1e-3 * scale, base + 1.7 * scale, base - 2.3 * scale]

    def vmapped(t: torch.Tensor) -> torch.Tensor:
        return torch.func.vmap(single)(t)

    def expanded(t: torch.Tensor) -> torch.Tensor:
        shape = (t.shape[0],) + (1,) * x0.dim()
        xb = torch.where(mask, t.reshape(shape), x0)
        out = first_tensor(fn(**held, **{var: xb}))
        if out.dim() == 0 or out.shape[0] != t.shape[0]:
            raise NotPointwise("the op did not keep the leading batch dimension")
        out = out if v is None else v * out
        return out.reshape(t.shape[0], -1).sum(1)

    def looped(t: torch.Tensor) -> torch.Tensor:
        # Last resort for ops that neither vmap nor batch: one plain call per point
        # (CurvePath runs "loop" mode point by point). Still a single backward for all
        # points: autograd runs through the stack.
        return torch.stack([single(ti) for ti in t.unbind(0)]) if t.numel() else t.clone()

    kept, results = [], []
    with torch.no_grad():
        for value in candidates:
            try:
                results.append(single(torch.tensor(value, dtype=F64)).reshape(()))
                kept.append(value)
            except Exception:
                continue
    if not kept:
        return "vmap", vmapped  # nothing to compare against; vmap is exact when it runs
    probe = torch.tensor(kept, dtype=F64)
    expected = torch.stack(results)
    for mode, batched in (("vmap", vmapped), ("expand", expanded)):
        try:
            with torch.no_grad():
                got = batched(probe)
        except Exception:
            continue
        if got.shape == expected.shape and torch.allclose(
            got, expected, rtol=1e-10, atol=1e-12, equal_nan=True
        ):
            return mode, batched
    return "loop", looped


def one_of(
    batched: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A 0-d ``t`` through an elementwise batched function (the same call, one point)."""
    return lambda t: batched(t.reshape(1))[0]


def robust(
    batched: Callable[[torch.Tensor], torch.Tensor],
    single: Callable[[torch.Tensor], torch.Tensor],
    t: torch.Tensor,
    *,
    pointwise: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``batched(t)``, with the points where it raises as ``nan`` (and flagged).

    The flags are ``None`` when the one batched call went through (the common case: no
    mask of n flags to build and search).

    One call when nothing raises. When the batch raises (``binary_cross_entropy`` refuses
    the whole batch if one point leaves [0, 1]): up to :data:`PROBE_MAX` points, a plain
    call per point (no grad, cheap) finds the points that raise and the batched call is
    repeated on each run of good points; above that, the batch is split in halves,
    breadth first, until the failing points are isolated or :data:`SPLIT_BUDGET` calls
    are spent (what is left unresolved is a gap). ``pointwise`` calls ``single`` on every
    point instead. The pieces keep their autograd link to ``t``.
    """
    n = t.shape[0]
    if pointwise:
        return _pointwise(single, t)
    try:
        y = batched(t)
        if y.shape == (n,):
            return y, None
    except Exception:
        pass
    if n <= PROBE_MAX:
        good = torch.ones(n, dtype=torch.bool)
        with torch.no_grad():
            for i, ti in enumerate(t.detach().unbind(0)):
                try:
                    single(ti)
                except Exception:
                    good[i] = False
        runs = _runs(good)
        return _splitting(batched, t, runs)
    return _splitting(batched, t, [(0, n)])


def _pointwise(
    single: Callable[[torch.Tensor], torch.Tensor], t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One plain call per point, stacked (one backward still serves them all)."""
    n = t.shape[0]
    failed = torch.zeros(n, dtype=torch.bool)
    values = []
    nan = torch.tensor(float("nan"), dtype=F64)
    for i in range(n):
        try:
            values.append(single(t[i]).to(F64).reshape(()))
        except Exception:
            failed[i] = True
            values.append(nan)
    return (torch.stack(values) if values else t.detach().clone()), failed


def _runs(good: torch.Tensor) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in ``good``."""
    runs = []
    start = None
    for i, ok in enumerate(good.tolist() + [False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _splitting(
    batched: Callable[[torch.Tensor], torch.Tensor], t: torch.Tensor, chunks: list[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batched`` over each chunk of ``t``; a chunk that raises is halved (see :func:`robust`)."""
    n = t.shape[0]
    failed = torch.ones(n, dtype=torch.bool)
    budget = SPLIT_BUDGET
    pieces: list[tuple[int, torch.Tensor]] = []
    calls = 0
    while chunks:
        nxt: list[tuple[int, int]] = []
        for start, stop in chunks:
            if calls >= budget:
                continue
            calls += 1
            try:
                y = batched(t[start:stop])
                if y.shape != (stop - start,):
                    raise NotPointwise(f"expected {stop - start} values, got shape {list(y.shape)}")
                pieces.append((start, y))
                failed[start:stop] = False
            except Exception:
                if stop - start > 1:
                    mid = (start + stop) // 2
                    nxt += [(start, mid), (mid, stop)]
        chunks = nxt
    if len(pieces) == 1 and pieces[0][1].shape[0] == n:
        return pieces[0][1], failed
    if not pieces:
        return torch.full((n,), float("nan"), dtype=F64), failed
    pieces.sort(key=lambda p: p[0])
    parts: list[torch.Tensor] = []
    pos = 0
    for start, y in pieces:
        if start > pos:
            parts.append(torch.full((start - pos,), float("nan"), dtype=F64))
        parts.append(y.to(F64))
        pos = start + y.shape[0]
    if pos < n:
        parts.append(torch.full((n - pos,), float("nan"), dtype=F64))
    return torch.cat(parts), failed
