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
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradtui.ops import direct_backward, timebound
from gradtui.ops.display import kinks_summary
from gradtui.ops.errors import InputError
from gradtui.ops.kinks import find_kinks, one_sided, steps
from gradtui.ops.results import Curve, Kink

__all__ = ["CurvePath", "curve_path", "default_range", "parse_range", "sample_curve"]

F64 = torch.float64
MAX_POINTS = 1_000_000
MAX_MARKS = 1000
#: Batched calls one curve may spend isolating points that raise (see :func:`_robust`).
SPLIT_BUDGET = 512
#: Up to this many points, a batch that raises is sorted out by one plain call a point.
PROBE_MAX = 4096

# vmap's slow fallback for an op without a batching rule still gives torch's values;
# its warning says so on every call, which a worker thread must not print over the TUI.
# (A filter, not ``catch_warnings``: that swaps global state and is unsafe in threads.)
warnings.filterwarnings(
    "ignore", message="There is a performance drop because we have not yet implemented"
)

_VAR_RE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*,?\s*\])?\s*$"
)


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
        target: A catalog name or an expression, as for ``ops.run.prepare``.
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
            (``None``: the enclosing bound, else ``GRADTUI_TIMEOUT`` or 5 s; ``0``: none).

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
    )


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


def default_range(current: torch.Tensor) -> tuple[float, float]:
    """A range around the current values: ``[min - pad, max + pad]``.

    ``pad`` is at least 2, a quarter of the spread, and a tenth of the largest magnitude,
    so a single scalar at 100 gets ``[90, 110]`` rather than a sliver.
    """
    vals = current.detach().to(F64).flatten()
    vals = vals[torch.isfinite(vals)]
    if vals.numel() == 0:
        return -3.0, 3.0
    vmin, vmax = float(vals.min()), float(vals.max())
    pad = max(2.0, 0.25 * (vmax - vmin), 0.1 * max(abs(vmin), abs(vmax)))
    return vmin - pad, vmax + pad


@dataclass(frozen=True)
class CurvePath:
    """One target restricted to one variable: a batched function of ``t``.

    Built by :func:`curve_path`; :func:`sample_curve` samples it, and a benchmark or a
    front end can time or reuse it directly.

    Attributes:
        target: As given.
        var: ``"input"`` (elementwise) or ``"input[1]"`` (one element of a tensor).
        label: What is plotted.
        current: The current values of the variable (they set the default range).
        marks: The current values to mark on the plot.
        mode: How ``t`` is batched: ``"elementwise"``, ``"vmap"``, ``"expand"`` or ``"loop"``.
        batched: ``t`` (1-D) -> one value per point; may raise.
        single: ``t`` (0-d) -> the value, by a plain call of the op: the exact semantics
            (vmap's batching rules may break ties differently: ``torch.max`` at a tie
            gives 0.5 to each maximum plainly, 1 to one of them under vmap).
    """

    target: str
    var: str
    label: str
    current: torch.Tensor
    marks: tuple[float, ...]
    mode: str
    batched: Callable[[torch.Tensor], torch.Tensor]
    single: Callable[[torch.Tensor], torch.Tensor]

    def values(self, t: torch.Tensor) -> torch.Tensor:
        """f (or L) at every point of the 1-D float64 tensor ``t``, no grad; ``nan`` where it raises."""
        with torch.no_grad():
            y, _ = _robust(self.batched, self.single, t, pointwise=self.mode == "loop")
        return y.detach()

    def no_gradient(self, t: torch.Tensor) -> str:
        """Torch's own message when the output at ``t`` has no ``grad_fn``; ``""`` when it has.

        ``lt`` and ``x > 0`` give a bool result: torch records no backward, and asking
        for a gradient raises. The message quoted is the one torch raises.
        """
        with torch.enable_grad():
            tt = t.detach().to(F64).requires_grad_(True)
            y, _ = _robust(self.batched, self.single, tt, pointwise=self.mode == "loop")
            if y.requires_grad:
                return ""
            try:
                torch.autograd.grad(y.sum(), tt)
            except RuntimeError as err:
                return str(err).strip().splitlines()[0]
        return "the output does not require grad"

    def derivatives(
        self, t: torch.Tensor, *, second: bool = False, exact: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """f, f' and (if ``second``) f'' at every point of ``t``: one backward each.

        Each output depends on its own ``t`` only, so the gradient of the sum with
        respect to ``t`` is every point's derivative at once. Where torch gives no
        gradient at all (a bool result has no ``grad_fn``) the derivative is ``nan``.
        ``exact`` evaluates each point with a plain call (a Python loop over the points,
        still one backward): for the few points where a tie may matter, such as kinks.
        """
        pointwise = exact or self.mode == "loop"
        with torch.enable_grad():
            # detach() gives a new leaf over the same memory: no copy of the points.
            tt = t.detach().to(F64).requires_grad_(True)
            y, failed = _robust(self.batched, self.single, tt, pointwise=pointwise)
            if not y.requires_grad:
                nan = _nan_like(t)
                return y.detach(), nan, (nan.clone() if second else None)
            # One value per point, every point weighted 1: a broadcast 1, not a filled tensor.
            ones = y.new_ones(()).expand_as(y)
            try:
                (df,) = direct_backward.grad(
                    y, tt, ones, create_graph=second, allow_unused=True, materialize_grads=True
                )
            except RuntimeError:
                nan = _nan_like(t)
                return y.detach(), nan, (nan.clone() if second else None)
            d2f = None
            if second:
                if df.requires_grad:
                    try:
                        (d2f,) = direct_backward.grad(
                            df, tt, ones, allow_unused=True, materialize_grads=True
                        )
                    except RuntimeError:
                        d2f = _nan_like(t)
                else:
                    # the derivative does not depend on t in torch's graph: f'' is 0 there
                    d2f = torch.zeros_like(tt, requires_grad=False)
                d2f = _gaps(d2f.detach(), failed)
        return y.detach(), _gaps(df.detach(), failed), d2f


def _nan_like(t: torch.Tensor) -> torch.Tensor:
    """A float64 ``nan`` for every point of ``t``."""
    return torch.full_like(t, float("nan"), dtype=F64)


def _gaps(values: torch.Tensor, failed: torch.Tensor | None) -> torch.Tensor:
    """``values`` with ``nan`` where the batch ``failed`` (``None``: nothing failed).

    A derivative that torch knows to be zero can come back as a "zero tensor" with no
    memory behind it (abs'' here); it is made an ordinary tensor of zeros, which
    ``tolist()`` and every other caller can read.
    """
    is_zero = getattr(values, "_is_zerotensor", None)
    if is_zero is not None and is_zero():
        values = torch.zeros(values.shape, dtype=values.dtype)
    if failed is None:
        return values
    return torch.where(failed, torch.tensor(float("nan"), dtype=F64), values)


def curve_path(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    var: str | None = None,
    element: tuple[int, ...] | None = None,
    grad_output: str | None = None,
) -> CurvePath:
    """Prepare ``target`` with float64 inputs and restrict it to one variable.

    See :func:`sample_curve` for the arguments.

    Raises:
        InputError: As :func:`sample_curve`.
    """
    from gradtui.ops.prepare import prepare

    prep = prepare(target, values, grad_output=grad_output, dtype="float64")
    v = _grad_output_tensor(prep)
    return path_from(
        target,
        fn=prep.fn,
        tensors=dict(prep.tensors),
        names=tuple(prep.names),
        requires_grad=dict(prep.requires_grad),
        elementwise=bool(prep.elementwise),
        expression=prep.expression,
        var=var,
        element=element,
        grad_output=v,
    )


def path_from(
    target: str,
    *,
    fn: Callable[..., Any],
    tensors: Mapping[str, Any],
    names: tuple[str, ...],
    requires_grad: Mapping[str, bool] | None = None,
    elementwise: bool = False,
    expression: str = "",
    var: str | None = None,
    element: tuple[int, ...] | None = None,
    grad_output: torch.Tensor | None = None,
) -> CurvePath:
    """:func:`curve_path` for a plain function: ``fn(**tensors)`` with ``tensors`` by name.

    This is the part that needs no catalog or parser, so tests and other callers can
    sample any torch function.

    Raises:
        InputError: Unknown variable, one that cannot vary, or a bad element.
    """
    requires_grad = dict(requires_grad or {})
    var, element = _split_var(var, element)
    var = _choose_var(var, tensors, names, requires_grad)
    x0 = torch.as_tensor(tensors[var]).detach().to(F64)
    held = {n: _as_f64(t) for n, t in tensors.items() if n != var}
    expression = expression or target
    if element is None and elementwise and names and var == names[0]:
        batched = _elementwise_batched(fn, held, var, x0)
        if batched is not None:
            marks = _unique(x0.flatten().tolist())
            return CurvePath(
                target, var, expression, x0, marks, "elementwise", batched, _one_of(batched)
            )
    index = _element(var, x0, element)
    mask = torch.zeros(x0.shape, dtype=torch.bool)
    mask[index] = True
    v = None if grad_output is None else grad_output.detach().to(F64)
    single = _single_l(fn, held, var, x0, mask, v)
    t0 = float(x0[index])
    mode, batched = _choose_batching(single, fn, held, var, x0, mask, v, t0)
    name = var if x0.dim() == 0 else f"{var}[{', '.join(str(i) for i in index)}]"
    inner = f"<v, {expression}>" if v is not None else f"sum({expression})"
    label = f"L(t) = {inner} with {name} = t"
    marks = (t0,) if math.isfinite(t0) else ()
    return CurvePath(target, name, label, x0, marks, mode, batched, single)


# --- choosing the variable -------------------------------------------------------------


def _split_var(
    var: str | None, element: tuple[int, ...] | None
) -> tuple[str | None, tuple[int, ...] | None]:
    """``"input[1, 2]"`` -> ``("input", (1, 2))``; a bare name passes through."""
    if var is None:
        return None, element
    m = _VAR_RE.match(var) if isinstance(var, str) and var.isascii() else None
    if m is None:
        raise InputError(
            f"variable must be an input name, optionally with [i, ...], not {var!r}", field="var"
        )
    name, idx = m.group(1), m.group(2)
    if idx is not None:
        parsed = tuple(int(p) for p in idx.split(","))
        if element is not None and tuple(element) != parsed:
            raise InputError(f"{var!r} and element={tuple(element)} disagree", field="var")
        element = parsed
    return name, element


def _can_vary(t: Any, requires_grad: bool) -> bool:
    """Whether an input can be the curve's variable.

    A floating tensor; a plain float (it changes f, though torch gives a Python number no
    gradient); or an integer tensor that the op means to differentiate (``lt``'s
    ``input`` typed as ``[1, 2, 3]``), sampled as float64. Not a bool, not an integer
    that needs no gradient (an index, a ``dim``).
    """
    if isinstance(t, torch.Tensor):
        if t.is_floating_point():
            return True
        return requires_grad and t.dtype != torch.bool and not t.is_complex()
    return isinstance(t, float)


def _describe(t: Any) -> str:
    if isinstance(t, torch.Tensor):
        name = str(t.dtype).removeprefix("torch.")
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name} tensor"
    return f"a plain {type(t).__name__}"


def _choose_var(
    var: str | None,
    tensors: Mapping[str, Any],
    names: tuple[str, ...],
    requires_grad: Mapping[str, bool],
) -> str:
    """The input to vary: as asked, or the first floating one that requires grad."""
    choices = [n for n in names if _can_vary(tensors.get(n), requires_grad.get(n, False))]
    listing = ", ".join(choices) if choices else "none"
    if var is None:
        ranked = sorted(
            choices,
            key=lambda n: (
                not requires_grad.get(n, False),
                not (isinstance(tensors[n], torch.Tensor) and tensors[n].is_floating_point()),
            ),
        )
        if ranked:
            return ranked[0]
        raise InputError(
            "no input of this target can vary along a curve (it needs a float input)",
            field="var",
        )
    if var not in tensors:
        raise InputError(f"unknown variable {var!r}; choose one of: {listing}", field="var")
    if var not in choices:
        raise InputError(
            f"{var} is {_describe(tensors[var])} that takes no gradient and cannot vary "
            f"along a curve; choose one of: {listing}",
            field="var",
        )
    return var


def _element(var: str, x0: torch.Tensor, element: tuple[int, ...] | None) -> tuple[int, ...]:
    """The element index, checked against the shape (negative indices allowed)."""
    if element is None:
        return (0,) * x0.dim() if x0.numel() > 0 else _no_elements(var)
    element = tuple(element)
    shape = tuple(x0.shape)
    if len(element) != len(shape) or any(
        not isinstance(i, int) or not -s <= i < s for i, s in zip(element, shape, strict=False)
    ):
        raise InputError(
            f"element {list(element)} does not fit {var} of shape {list(shape)}", field="var"
        )
    return tuple(i % s for i, s in zip(element, shape, strict=True))


def _no_elements(var: str) -> tuple[int, ...]:
    raise InputError(f"{var} is empty; there is no element to vary", field="var")


def _as_f64(t: Any) -> Any:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.to(F64) if t.is_floating_point() else t
    return t


def _unique(values: list[float]) -> tuple[float, ...]:
    seen: dict[float, None] = {}
    for v in values:
        if math.isfinite(v) and v not in seen:
            seen[v] = None
            if len(seen) >= MAX_MARKS:
                break
    return tuple(seen)


def _grad_output_tensor(prep: Any) -> torch.Tensor | None:
    """The evaluated upstream gradient from a prepared run, if one was given."""
    text = getattr(prep, "grad_output_text", None)
    if not text:
        return None
    tensor = getattr(prep, "grad_output", None)
    if isinstance(tensor, torch.Tensor):
        return tensor
    from gradtui.ops.prepare import evaluate_grad_output  # the prepare module owns the parsing

    return evaluate_grad_output(prep)


# --- batching t ------------------------------------------------------------------------


def _first_tensor(out: Any) -> torch.Tensor:
    """An op's result as one float64 tensor (the values of a ``(values, indices)`` pair)."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        out = torch.as_tensor(out)
    return out.to(F64)


def _elementwise_batched(
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
        out = _first_tensor(fn(**held, **{var: t}))
        if out.shape != t.shape:
            raise _NotPointwise(f"result of shape {list(out.shape)} for {t.numel()} points")
        return out

    try:
        with torch.no_grad():
            whole = _first_tensor(fn(**held, **{var: x0})).flatten()
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


class _NotPointwise(RuntimeError):
    """The op did not give one value per point."""


def _single_l(
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
        out = _first_tensor(fn(**held, **{var: x}))
        return (out if v is None else v * out).sum()

    return single


def _choose_batching(
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
        out = _first_tensor(fn(**held, **{var: xb}))
        if out.dim() == 0 or out.shape[0] != t.shape[0]:
            raise _NotPointwise("the op did not keep the leading batch dimension")
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


def _one_of(
    batched: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A 0-d ``t`` through an elementwise batched function (the same call, one point)."""
    return lambda t: batched(t.reshape(1))[0]


def _robust(
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
    """``batched`` over each chunk of ``t``; a chunk that raises is halved (see :func:`_robust`)."""
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
                    raise _NotPointwise(
                        f"expected {stop - start} values, got shape {list(y.shape)}"
                    )
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
