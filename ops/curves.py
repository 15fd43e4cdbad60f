"""f, f' (and f'') along one variable, with a numeric check and the kinks, from torch itself.

:func:`sample_curve` is what the CLI's ``gradtui plot`` and the TUI's plot call. It turns
one target and its inputs into a :class:`~ops.results.Curve`:

* An elementwise op (``exp``, ``abs``, ``clamp`` with scalar bounds, ...) is sampled as
  ``f(t)`` over a 1-D tensor of all points at once: ONE forward and ONE backward with
  ``grad_outputs=ones`` give every ``f'(t)`` (each output depends on its own input only),
  and ``f''`` is one more backward through the ``create_graph`` derivative.
* Any other op (``sum``, ``softmax``, ``gather``, a loss, ``matmul``, ...) is sampled as
  ``L(t) = <v, f(inputs with one element of the variable set to t)>`` with ``v`` the
  upstream gradient. ``L`` is batched over all ``t`` with :func:`torch.func.vmap`; if the
  op has no batching rule, by stacking ``t`` along a new leading dimension, but only when
  a probe shows the op treats that dimension as a batch; only as a last resort by a Python
  loop over points (slow, still one backward).
* A batch that raises for some values (``binary_cross_entropy`` refuses the whole batch
  once one input leaves [0, 1]) is sorted out point by point (plain calls, no grad) or by
  halving; the failing points become gaps (``nan``).
* A kink's derivative is taken by a plain call of the op at that exact point: vmap's
  batching rules may break ties differently (``torch.max``: 1 to one maximum under vmap,
  0.5 to each plainly), and the curve must show what a person's own call returns.

Everything is float64 (a curve is a diagnostic), and every derivative shown is the one
the installed torch returns; the numeric check and the kinks come from measurement
(:mod:`ops.kinks`), not from a table of known breakpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from gradtui.ops import timebound
from gradtui.ops.batching import F64
from gradtui.ops.display import kinks_summary
from gradtui.ops.errors import InputError
from gradtui.ops.kinks import find_kinks, one_sided, steps
from gradtui.ops.paths import CurvePath, curve_path, default_range
from gradtui.ops.results import Curve, Kink

__all__ = ["DISAGREE_RTOL", "disagreements", "parse_range", "sample_curve"]

MAX_POINTS = 1_000_000
"""Most samples one curve may take."""
DISAGREE_RTOL = 1e-3
"""A numeric slope that differs from autograd's by more than this (relative, at least 1
absolute) counts as a disagreement (:attr:`Curve.disagree`)."""


# --- public API ------------------------------------------------------------------------


def parse_range(text: str) -> tuple[float, float]:
    """``"A:B"`` (the CLI's ``--range``) as two floats, ``A < B``, both finite.

    Each side goes through ``float()`` only; nothing is evaluated.

    Raises:
        InputError: Not two numbers separated by one colon, non-finite, or ``A >= B``.
    """
    if not isinstance(text, str) or len(text) > 100 or not text.isascii():
        raise InputError("range must be short ASCII text like -3:3", field="range")
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError(f"range must be A:B, like -3:3, not {text!r}", field="range")
    values = []
    offset = 0
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise InputError(
                f"{part.strip()!r} is not a number", field="range", position=offset
            ) from None
        if not math.isfinite(value):
            raise InputError(
                f"range ends must be finite, not {part.strip()}", field="range", position=offset
            )
        values.append(value)
        offset += len(part) + 1
    lo, hi = values
    if not lo < hi:
        raise InputError(f"range start must be below its end, got {lo:g}:{hi:g}", field="range")
    return lo, hi


def sample_curve(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    var: str | None = None,
    element: tuple[int, ...] | None = None,
    lo: float | None = None,
    hi: float | None = None,
    points: int = 201,
    second: bool = False,
    grad_output: str | None = None,
    timeout: float | None = None,
) -> Curve:
    """Sample f and f' (torch's autograd), the numeric check and the kinks along one variable.

    Args:
        target: A catalog name or an expression, as for :func:`ops.prepare.prepare`.
        values: Input texts by name (missing ones take their defaults).
        var: The input to vary; default the first floating input that requires grad.
            ``"input[1]"`` picks an element too (same as ``element=(1,)``). An integer
            tensor the op means to differentiate (``lt``'s ``input`` typed ``[1, 2, 3]``)
            is sampled as float64; an index, a ``dim`` or a bool condition is refused.
        element: For a non-elementwise op, which element of ``var`` becomes ``t``
            (default the first). Giving it for an elementwise op asks for ``L(t)`` too.
            For an elementwise op without it, the curve is ``f`` itself and ``v`` is
            not used.
        lo, hi: The range of ``t``; a missing end comes from :func:`default_range`.
        points: Number of samples (2 .. 10^6).
        second: Also compute f'' (one more backward).
        grad_output: Text of the upstream gradient ``v`` for ``L(t)`` (default ones).
        timeout: Seconds before the computation is abandoned, as for ``ops.run.run``
            (``None``: the enclosing bound, else ``GRADTUI_TIMEOUT`` or
            :data:`ops.timebound.DEFAULT_TIMEOUT_S`; ``0``: none).

    Returns:
        The :class:`Curve`; non-finite values are kept as gaps.

    Raises:
        InputError: Bad inputs, an unknown variable or one that cannot vary (an integer
            or bool input), a bad element, range or number of points.
        ops.timebound.ComputationTimeout: The bound expired first (an ``InputError``).
    """
    if not isinstance(points, int) or isinstance(points, bool) or not 2 <= points <= MAX_POINTS:
        raise InputError(f"points must be an integer from 2 to {MAX_POINTS}", field="points")
    args = (target, values, var, element, lo, hi, points, second, grad_output)
    if timeout is None and timebound.active() is not None:
        return _sample_curve(*args)
    return timebound.TimeBound(timeout).call(_sample_curve, *args)


def _sample_curve(
    target: str,
    values: Mapping[str, str] | None,
    var: str | None,
    element: tuple[int, ...] | None,
    lo: float | None,
    hi: float | None,
    points: int,
    second: bool,
    grad_output: str | None,
) -> Curve:
    """:func:`sample_curve` without its time bound (called inside one)."""
    path = curve_path(target, values, var=var, element=element, grad_output=grad_output)
    lo, hi = _checked_range(path, lo, hi)
    x = torch.linspace(lo, hi, points, dtype=F64)
    f, df, d2f = path.derivatives(x, second=second)
    # asked where f has a value: a point the op refuses (bce outside [0, 1]) has no graph
    # either, and says nothing about the op's grad_fn
    defined = x[torch.isfinite(f)]
    no_grad = path.no_gradient(defined[:1]) if defined.numel() else ""
    xm, xp = steps(x)
    fm, fp = path.values(torch.cat([xm, xp])).chunk(2)
    left, right, central = one_sided(x, xm, xp, f, fm, fp)
    df_at = None if no_grad else (lambda t: path.derivatives(t, exact=True)[1])
    kinks = find_kinks(path.values, df_at, x, f, left, right)
    df = _exact_at_kinks(x, df, kinks)
    marks = tuple(m for m in path.marks if lo <= m <= hi)
    if no_grad:
        reason = (
            f"{path.label or target} has no grad_fn: torch records no backward through it, "
            f"so there is no gradient (torch: {no_grad})"
        )
    elif not defined.numel():
        reason = f"f has no finite value anywhere along {path.var} in [{lo:g}, {hi:g}]"
    elif kinks:
        reason = f"no derivative exists at {len(kinks)} point{'s' if len(kinks) > 1 else ''}: "
        reason += kinks_summary(kinks, path.var)
    else:
        reason = f"no corner, cusp or jump found along {path.var} in [{lo:g}, {hi:g}]"
        if defined.numel() < x.numel():
            reason += f" where f has a value ({x.numel() - defined.numel()} of {x.numel()} points have none)"
    disagree = () if no_grad else disagreements(x, df, central, kinks)
    return Curve(
        target=target,
        var=path.var,
        x=x.tolist(),
        f=f.tolist(),
        df=None if no_grad else df.tolist(),
        df_numeric=central.tolist(),
        d2f=None if d2f is None or no_grad else d2f.tolist(),
        kinks=kinks,
        marks=marks,
        label=path.label,
        differentiable=not no_grad and not kinks and bool(defined.numel()),
        reason=reason,
        disagree=disagree,
    )


def disagreements(
    x: torch.Tensor, df: torch.Tensor | None, df_numeric: torch.Tensor, kinks: tuple[Kink, ...]
) -> tuple[int, ...]:
    """Indices of the samples where the float64 central difference disagrees with autograd's f′.

    Both must be finite there and differ by more than :data:`DISAGREE_RTOL` of the larger
    magnitude (at least 1). Samples within 1.5 steps of a kink are left out: there the
    two sides disagree by definition, and the kink says so. ``df`` is ``None`` when torch
    has no gradient (no ``grad_fn``): nothing to disagree with.
    """
    if df is None:
        return ()
    n = min(x.numel(), df.numel(), df_numeric.numel())
    xs, d, num = x[:n], df[:n], df_numeric[:n]
    bad = torch.isfinite(d) & torch.isfinite(num)
    scale = torch.clamp(torch.maximum(d.abs(), num.abs()), min=1.0)
    bad &= (d - num).abs() > DISAGREE_RTOL * scale
    if kinks and n:
        step = (x[-1] - x[0]) / (x.numel() - 1) if x.numel() > 1 else x.new_zeros(())
        kx = torch.tensor([k.x for k in kinks], dtype=F64)
        bad &= ~((xs[:, None] - kx[None, :]).abs() <= 1.5 * step).any(1)
    return tuple(torch.nonzero(bad).flatten().tolist())


def _exact_at_kinks(x: torch.Tensor, df: torch.Tensor, kinks: tuple[Kink, ...]) -> torch.Tensor:
    """Where a kink falls exactly on a sample, the sample's f' is the kink's plain-call value."""
    kinks = tuple(k for k in kinks if k.df is not None)
    if not kinks:
        return df
    kx = torch.tensor([k.x for k in kinks], dtype=F64)
    kd = torch.tensor([k.df for k in kinks], dtype=F64)
    # a few kinks: one comparison row each (torch.searchsorted costs ms on first calls)
    hits = x[:, None] == kx[None, :]
    hit = hits.any(1)
    return torch.where(hit, kd[hits.int().argmax(1)], df)


def _checked_range(path: CurvePath, lo: float | None, hi: float | None) -> tuple[float, float]:
    """The range asked for, completed from :func:`default_range` and checked."""
    d_lo, d_hi = default_range(path.current)
    for name, value in (("lo", lo), ("hi", hi)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise InputError(f"range {name} must be a finite number, not {value!r}", field="range")
    if lo is None and hi is None:
        lo, hi = d_lo, d_hi
    elif lo is None:
        lo = min(d_lo, float(hi) - (d_hi - d_lo))
    elif hi is None:
        hi = max(d_hi, float(lo) + (d_hi - d_lo))
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise InputError(f"range start must be below its end, got {lo:g}:{hi:g}", field="range")
    return lo, hi
