"""One target restricted to one variable: :class:`CurvePath`, a batched function of ``t``.

:func:`curve_path` prepares a target (float64 inputs, through :func:`ops.prepare.prepare`)
and picks the variable: the whole input of an elementwise op (the curve is ``f`` itself),
or one element of any input, with the curve ``L(t) = <v, f(inputs with that element set
to t)>``. :func:`path_from` does the same for any torch function. A path gives f, f′ and
f″ at many points with one backward each (:meth:`CurvePath.derivatives`), batched as
:mod:`ops.batching` decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradtui.ops import direct_backward
from gradtui.ops.batching import (
    F64,
    choose_batching,
    elementwise_batched,
    one_of,
    robust,
    single_l,
)
from gradtui.ops.errors import InputError
from gradtui.ops.prepare import Prepared, evaluate_grad_output, prepare

__all__ = ["CurvePath", "curve_path", "default_range", "path_from"]

MAX_MARKS = 1000
"""Current input values marked on a plot at most."""

_VAR_RE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*,?\s*\])?\s*$"
)


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

    Built by :func:`curve_path`; :func:`ops.curves.sample_curve` samples it, and a benchmark or a
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
            y, _ = robust(self.batched, self.single, t, pointwise=self.mode == "loop")
        return y.detach()

    def no_gradient(self, t: torch.Tensor) -> str:
        """Torch's own message when the output at ``t`` has no ``grad_fn``; ``""`` when it has.

        ``lt`` and ``x > 0`` give a bool result: torch records no backward, and asking
        for a gradient raises. The message quoted is the one torch raises.
        """
        with torch.enable_grad():
            tt = t.detach().to(F64).requires_grad_(True)
            y, _ = robust(self.batched, self.single, tt, pointwise=self.mode == "loop")
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
            y, failed = robust(self.batched, self.single, tt, pointwise=pointwise)
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

    See :func:`ops.curves.sample_curve` for the arguments.

    Raises:
        InputError: As :func:`ops.curves.sample_curve`.
    """
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
        batched = elementwise_batched(fn, held, var, x0)
        if batched is not None:
            marks = _unique(x0.flatten().tolist())
            return CurvePath(
                target, var, expression, x0, marks, "elementwise", batched, one_of(batched)
            )
    index = _element(var, x0, element)
    mask = torch.zeros(x0.shape, dtype=torch.bool)
    mask[index] = True
    v = None if grad_output is None else grad_output.detach().to(F64)
    single = single_l(fn, held, var, x0, mask, v)
    t0 = float(x0[index])
    mode, batched = choose_batching(single, fn, held, var, x0, mask, v, t0)
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


def _grad_output_tensor(prep: Prepared) -> torch.Tensor | None:
    """The evaluated upstream gradient of a prepared target, if one was given."""
    if not prep.grad_output_text:
        return None
    return evaluate_grad_output(prep)
