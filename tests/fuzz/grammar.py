"""A Hypothesis grammar for VALID input-language expressions over ``x`` and ``y``.

:func:`expressions` builds expressions with :func:`hypothesis.strategies.recursive`
from the language's own functions: smooth ones (``sin``, ``tanh``, ``gelu`` ...), ones
with a restricted domain (``log``, ``sqrt``, ``asin``, ``tan``, division, a tensor
power), kinked ones (``abs``, ``relu``, ``clamp``, ``maximum``, ``where``), reductions
(``sum``, ``prod``, ``logsumexp``, ``dot``, ``@``) and vector maps (``softmax``,
``cumsum``) and losses. ``x`` and ``y`` are vectors of 3 float64 numbers.

Each expression carries *guards*: the sub-expressions that must stay away from a kink
or a singularity for a finite-difference check to be meaningful (the argument of
``log`` above 0.05, the argument of ``abs`` away from 0, the two sides of ``maximum``
apart ...). :func:`guards_hold` evaluates them at the chosen point with the language
itself; a test skips (``assume``) a point where one fails, which hides no failure: at
such a point ``gradcheck`` compares a one-sided or infinite slope with a subgradient,
a comparison that is wrong by definition, not a bug.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

from gradtui.ops import language

VEC, SCALAR = "vec", "scalar"
N = 3  # elements of x and y


@dataclass(frozen=True)
class Expr:
    """An expression, its shape kind and its guards ``(kind, text of a sub-expression)``."""

    text: str
    shape: str
    guards: tuple[tuple[str, str], ...] = ()


SMOOTH = ("sin", "cos", "tanh", "sigmoid", "atan", "asinh", "erf", "gelu", "silu", "softplus")
GUARDED = {
    "exp": "exp",
    "expm1": "exp",
    "sinh": "exp",
    "cosh": "exp",
    "log": "pos",
    "sqrt": "pos",
    "log1p": "gt-1",
    "asin": "unit",
    "acos": "unit",
    "atanh": "unit",
    "tan": "tan",
    "abs": "kink",
    "relu": "kink",
    "leaky_relu": "kink",
    "elu": "kink",
}
REDUCTIONS = ("sum", "mean", "prod")
VECTOR_MAPS = ("softmax(%s, 0)", "log_softmax(%s, 0)", "cumsum(%s, 0)")
LOSSES = ("mse_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits")

KINK_MARGIN = 1e-2
DOMAIN_MARGIN = 0.05


def _g(*exprs: Expr) -> tuple[tuple[str, str], ...]:
    return tuple(g for e in exprs for g in e.guards)


def _vec(e: Expr) -> Expr:
    """A vector version of ``e`` (a scalar is spread over ``ones(3)``)."""
    if e.shape == VEC:
        return e
    return Expr(f"(({e.text}) * ones({N}))", VEC, e.guards)


def _shape(*exprs: Expr) -> str:
    return VEC if any(e.shape == VEC for e in exprs) else SCALAR


def unary(name: str, e: Expr) -> Expr:
    kind = GUARDED.get(name)
    guards = _g(e) + (((kind, e.text),) if kind else ())
    return Expr(f"{name}({e.text})", e.shape, guards)


def clamp(e: Expr) -> Expr:
    return Expr(f"clamp({e.text}, min=-1.0, max=1.0)", e.shape, _g(e) + (("clamp", e.text),))


def power(e: Expr, k: str) -> Expr:
    guards = _g(e) + ((("pos", e.text),) if k == "0.5" else ())
    return Expr(f"({e.text})**{k}", e.shape, guards)


def binary(op: str, a: Expr, b: Expr) -> Expr:
    guards = _g(a, b)
    if op == "/":
        guards += (("nonzero", b.text),)
    if op == "**":  # a tensor exponent: a positive base, and no overflow
        guards += (("pos", a.text), ("exp", f"({b.text}) * log({a.text})"))
    return Expr(f"({a.text} {op} {b.text})", _shape(a, b), guards)


def extreme(name: str, a: Expr, b: Expr) -> Expr:
    return Expr(
        f"{name}({a.text}, {b.text})", _shape(a, b), _g(a, b) + (("sep", f"{a.text} - {b.text}"),)
    )


def where(a: Expr, b: Expr, c: Expr, d: Expr) -> Expr:
    return Expr(
        f"where({a.text} > {b.text}, {c.text}, {d.text})",
        _shape(a, b, c, d),
        _g(a, b, c, d) + (("sep", f"{a.text} - {b.text}"),),
    )


def reduce(name: str, e: Expr) -> Expr:
    return Expr(f"{name}({e.text})", SCALAR, e.guards)


def logsumexp(e: Expr) -> Expr:
    v = _vec(e)
    return Expr(f"logsumexp({v.text}, 0)", SCALAR, v.guards)


def vector_map(template: str, e: Expr) -> Expr:
    v = _vec(e)
    return Expr(template % v.text, VEC, v.guards)


def dot(a: Expr, b: Expr, matmul: bool) -> Expr:
    va, vb = _vec(a), _vec(b)
    text = f"({va.text} @ {vb.text})" if matmul else f"dot({va.text}, {vb.text})"
    return Expr(text, SCALAR, _g(va, vb))


def loss(name: str, a: Expr, b: Expr) -> Expr:
    va, vb = _vec(a), _vec(b)
    guards = _g(va, vb)
    if name in ("huber_loss", "smooth_l1_loss"):  # C1, but keep |a - b| off the seam at 1
        guards += (("seam1", f"{va.text} - {vb.text}"),)
    return Expr(f"{name}({va.text}, {vb.text})", SCALAR, guards)


LEAVES = st.one_of(
    st.sampled_from([Expr("x", VEC), Expr("y", VEC)]),
    st.sampled_from([Expr("x", VEC), Expr("y", VEC)]),
    st.sampled_from(["0.5", "1.5", "2.0", "-0.7", "pi", "3.0"]).map(lambda t: Expr(t, SCALAR)),
)
_FREE = re.compile(r"\b[xy]\b")


def _apply_unary(form: str, e: Expr) -> Expr:
    if form in SMOOTH or form in GUARDED:
        return unary(form, e)
    if form == "clamp":
        return clamp(e)
    if form == "neg":
        return Expr(f"-{e.text}", e.shape, e.guards)
    if form.startswith("**"):
        return power(e, form[2:])
    if form in REDUCTIONS:
        return reduce(form, e)
    if form == "logsumexp":
        return logsumexp(e)
    return vector_map(form, e)


def _apply_binary(form: str, a: Expr, b: Expr) -> Expr:
    if form in ("+", "-", "*", "/", "**"):
        return binary(form, a, b)
    if form in ("maximum", "minimum"):
        return extreme(form, a, b)
    if form in ("dot", "@"):
        return dot(a, b, matmul=form == "@")
    return loss(form, a, b)


UNARY_FORMS = (
    SMOOTH
    + tuple(GUARDED)
    + ("clamp", "neg", "neg", "**2", "**3", "**0.5", "logsumexp")
    + REDUCTIONS
    + VECTOR_MAPS
)
"""Every one-argument form, each equally likely."""
BINARY_FORMS = ("+", "-", "*", "/", "+", "-", "*", "/", "**", "maximum", "minimum", "dot", "@")
BINARY_FORMS += LOSSES
"""Every two-argument form; the arithmetic operators twice as likely as the rest."""


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(UNARY_FORMS), children).map(lambda t: _apply_unary(*t)),
        st.tuples(st.sampled_from(BINARY_FORMS), children, children).map(
            lambda t: _apply_binary(*t)
        ),
        st.tuples(st.sampled_from(BINARY_FORMS), children, children).map(
            lambda t: _apply_binary(*t)
        ),
        st.tuples(children, children, children, children).map(lambda t: where(*t)),
    )


def expressions(max_leaves: int = 8) -> st.SearchStrategy[Expr]:
    """Valid expressions using ``x`` or ``y`` or both (see the module docstring)."""
    return st.recursive(LEAVES, _extend, max_leaves=max_leaves).filter(
        lambda e: bool(_FREE.search(e.text))
    )


POINT = st.lists(
    st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3)),
    min_size=N,
    max_size=N,
)
"""One input vector: 3 numbers in [-3, 3], rounded to 3 decimals so a case reads easily."""


def guards_hold(expr: Expr, env: Mapping[str, torch.Tensor]) -> bool:
    """Whether every guard of ``expr`` holds at ``env`` (float64, evaluated by the language)."""
    for kind, text in expr.guards:
        v = language.evaluate(language.parse(text), env, dtype=torch.float64).detach()
        v = v.double()
        if not bool(torch.isfinite(v).all()):
            return False
        if kind == "pos" and not bool((v > DOMAIN_MARGIN).all()):
            return False
        if kind == "gt-1" and not bool((v > -1 + DOMAIN_MARGIN).all()):
            return False
        if kind == "unit" and not bool((v.abs() < 1 - DOMAIN_MARGIN).all()):
            return False
        if kind == "tan" and not bool((torch.cos(v).abs() > DOMAIN_MARGIN).all()):
            return False
        if kind == "nonzero" and not bool((v.abs() > DOMAIN_MARGIN).all()):
            return False
        if kind == "exp" and not bool((v.abs() < 30).all()):
            return False
        if kind in ("kink", "sep") and not bool((v.abs() > KINK_MARGIN).all()):
            return False
        if kind == "clamp" and not bool(((v.abs() - 1).abs() > KINK_MARGIN).all()):
            return False
        if kind == "seam1" and not bool(((v.abs() - 1).abs() > KINK_MARGIN).all()):
            return False
    return True
