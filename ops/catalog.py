"""The op catalog: every op gradtui offers, named exactly as in torch.

An :class:`OpSpec` says what to call (``fn``), which inputs it takes (torch's own
parameter names, with default values written in the input language), which of them
gradtui asks to require grad, and a one-line derivative rule for people to read. The
rule is documentation only: every gradient shown is measured from torch at run time,
and ``tests/ops/test_catalog.py`` checks each op against ``torch.autograd.gradcheck``.

The seed page's ops (``lt``, ``abs``, ``exp``, ``gather``, the BCE losses,
``multilabel_soft_margin_loss`` and ``sgd_l1_step``) come first.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gradtui.ops.errors import InputError
from gradtui.ops.names import SEED_CATEGORY  # shared with the app's op picker (no torch)

__all__ = ["CATALOG", "InputSpec", "OpSpec", "all_ops", "by_category", "generated", "get"]

Explain = Callable[[Mapping[str, Any]], tuple[dict[str, torch.Tensor], tuple[str, ...]]]


@dataclass(frozen=True)
class InputSpec:
    """One input of an op.

    Attributes:
        name: torch's own parameter name (``input``, ``other``, ``dim``, ...).
        default: Its default value as input-language text, e.g. ``"[1.0, 2.0, 3.0]"``.
        requires_grad: Whether gradtui asks this input to require grad (an integer
            tensor will refuse; that refusal is part of the answer).
        kind: ``"tensor"``, or ``"int"``/``"float"``/``"bool"`` for a plain Python
            number that ``fn`` receives as such.
        doc: A few words on what the input is.
    """

    name: str
    default: str
    requires_grad: bool
    kind: str = "tensor"
    doc: str = ""


@dataclass(frozen=True)
class OpSpec:
    """One catalog entry.

    Attributes:
        name: Exactly the torch function name (``torch.X`` or ``torch.nn.functional.X``),
            except ``sgd_l1_step``, which is a small recipe built from torch parts.
        category: Where the op is listed (``"elementwise"``, ``"loss"``, ...).
        inputs: The inputs in torch's positional order.
        rule: A one-line derivative rule, for reading.
        fn: ``fn(**kwargs by input name) -> Tensor``. Non-tensor inputs may be given as
            Python numbers or one-element tensors; missing ones take their defaults.
        elementwise: Unary and elementwise in its first input (curves and formulas
            treat the first input as the variable).
        seed: One of the seed page's ops.
        summary: One sentence on what the op computes.
        explain: For ops whose answer needs more than gradients (``sgd_l1_step``):
            ``explain(inputs) -> (extras, notes)``, computed with torch.
        signature: torch's signature with its path, for generated ops
            (``torch.linalg.svd(A, full_matrices=True, *, driver=None, out=None)``).
        call: How a generated op is called, fixed arguments shown by value
            (``torch.sum(input, (0, 1), keepdim=True)``); empty for hand-written ones.
        aliases: Other names that open a generated op (``conv2d``).
        generated: Built by :mod:`ops.opinfo` from the OpInfo data file.
        gradcheck_wrapper: How OpInfo wraps the op for gradcheck, with the argument it
            acts on (``"hermitian_input[0]"``: checked at ``input + input.mH``;
            ``"triangular_input[1]"``: only the second input's lower triangle is perturbed).
    """

    name: str
    category: str
    inputs: tuple[InputSpec, ...]
    rule: str
    fn: Callable[..., Any]
    elementwise: bool = False
    seed: bool = False
    summary: str = ""
    explain: Explain | None = None
    signature: str = ""
    call: str = ""
    aliases: tuple[str, ...] = ()
    generated: bool = False
    gradcheck_wrapper: str | None = None

    def call_text(self) -> str:
        """The op as a call with its input names, e.g. ``"gather(input, dim, index)"``."""
        if self.call:
            return self.call
        return f"{self.name}({', '.join(i.name for i in self.inputs)})"

    def input(self, name: str) -> InputSpec:
        """The input called ``name`` (KeyError if there is none)."""
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)


# --- non-tensor inputs -------------------------------------------------------------


def _plain_default(spec: InputSpec) -> Any:
    """A non-tensor input's default as a Python value (defaults are our text, not user text)."""
    if spec.kind == "bool":
        return spec.default.strip() == "True"
    if spec.kind == "int":
        return int(spec.default)
    return float(spec.default)


def coerce(spec: InputSpec, value: Any) -> Any:
    """A non-tensor input as the Python number ``fn`` wants.

    Accepts a Python number or a one-element tensor (what the expression language
    produces for ``2``), so ``fn`` works the same from the catalog and from an expression.

    Raises:
        InputError: The value is not a single number of the right kind (field = the input).
    """
    if spec.kind == "tensor":
        return value
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise InputError(
                f"{spec.name} must be a single {spec.kind}, not a tensor of shape "
                f"{list(value.shape)}",
                field=spec.name,
            )
        value = value.item()
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{spec.name} must be True or False, not {value!r}", field=spec.name)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{spec.name} must be a number, not {value!r}", field=spec.name)
    if spec.kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise InputError(f"{spec.name} must be an integer, not {value!r}", field=spec.name)
        return int(value)
    return float(value)


def bound(inputs: tuple[InputSpec, ...], raw: Callable[..., Any]) -> Callable[..., Any]:
    """``raw`` behind keyword binding: non-tensor kinds coerced, missing ones defaulted."""
    names = {i.name for i in inputs}

    def fn(**kwargs: Any) -> Any:
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise InputError(
                f"unexpected input {unknown[0]!r}; inputs are {', '.join(i.name for i in inputs)}"
            )
        args = {}
        for spec in inputs:
            if spec.name in kwargs:
                args[spec.name] = coerce(spec, kwargs[spec.name])
            elif spec.kind != "tensor":
                args[spec.name] = _plain_default(spec)
            else:
                raise InputError(f"missing input {spec.name!r}", field=spec.name)
        return raw(**args)

    fn.__wrapped__ = raw  # type: ignore[attr-defined]
    return fn


# --- building entries ----------------------------------------------------------------


def _t(name: str, default: str, requires_grad: bool = True, doc: str = "") -> InputSpec:
    return InputSpec(name, default, requires_grad, "tensor", doc)


def _n(name: str, default: str, kind: str, doc: str = "") -> InputSpec:
    return InputSpec(name, default, False, kind, doc)


_ENTRIES: list[OpSpec] = []


def _add(
    name: str,
    category: str,
    inputs: tuple[InputSpec, ...],
    rule: str,
    raw: Callable[..., Any],
    *,
    elementwise: bool = False,
    seed: bool = False,
    summary: str = "",
    explain: Explain | None = None,
) -> None:
    _ENTRIES.append(
        OpSpec(
            name=name,
            category=SEED_CATEGORY if seed else category,
            inputs=inputs,
            rule=rule,
            fn=bound(inputs, raw),
            elementwise=elementwise,
            seed=seed,
            summary=summary,
            explain=explain,
        )
    )


def _unary(
    name: str,
    default: str,
    rule: str,
    torch_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    category: str = "elementwise",
    seed: bool = False,
    summary: str = "",
) -> None:
    _add(
        name,
        category,
        (_t("input", default),),
        rule,
        lambda input: torch_fn(input),
        elementwise=True,
        seed=seed,
        summary=summary,
    )


# --- sgd_l1_step ---------------------------------------------------------------------


def _sgd_objective(param: torch.Tensor, input: torch.Tensor, target: torch.Tensor, l1: float):
    """The loss one SGD step descends: mean squared error of ``input @ param`` plus L1."""
    return F.mse_loss(input @ param, target) + l1 * param.abs().sum()


def _sgd_l1_step(param, input, target, lr, l1):  # lr acts in the step (explain), not the loss
    return _sgd_objective(param, input, target, l1)


def _sgd_l1_explain(values: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """Split one SGD+L1 step into its parts, each measured with torch.

    Returns the data loss's gradient, the L1 term's share (PyTorch's ``abs`` backward
    gives ``sign(w)``, and ``sign(0) = 0``), and the parameter after one real
    ``torch.optim.SGD`` step, with notes on weights at exactly zero and on overshoot.
    """
    lr = float(values["lr"])
    l1 = float(values["l1"])
    start = values["param"].detach().clone()
    if not start.is_floating_point():
        return {}, ()
    data, target = values["input"].detach(), values["target"].detach()

    w = start.clone().requires_grad_(True)
    (data_grad,) = torch.autograd.grad(F.mse_loss(data @ w, target), w)
    w = start.clone().requires_grad_(True)
    (l1_grad,) = torch.autograd.grad(l1 * w.abs().sum(), w)

    weight = torch.nn.Parameter(start.clone())
    optimizer = torch.optim.SGD([weight], lr=lr)
    optimizer.zero_grad()
    _sgd_objective(weight, data, target, l1).backward()
    optimizer.step()
    updated = weight.detach().clone()

    notes = [
        f"one torch.optim.SGD step with lr={lr:g}: updated = param - lr * (data_grad + l1_grad)"
    ]
    flat_start, flat_l1 = start.reshape(-1), l1_grad.reshape(-1)
    flat_data, flat_new = data_grad.reshape(-1), updated.reshape(-1)
    for i in range(flat_start.numel()):
        if flat_start[i].item() == 0.0:
            notes.append(
                f"param[{i}] is exactly 0: torch's abs backward uses sign(0) = 0, so the L1 "
                f"share there is {flat_l1[i].item():g} and the weight moves only by the data "
                f"gradient ({flat_data[i].item():.4g}) to {flat_new[i].item():.4g}"
            )
        elif flat_start[i].item() * flat_new[i].item() < 0:
            notes.append(
                f"param[{i}] crossed zero ({flat_start[i].item():.4g} -> "
                f"{flat_new[i].item():.4g}): plain SGD with L1 overshoots instead of stopping at 0"
            )
    extras = {"data_grad": data_grad, "l1_grad": l1_grad, "updated": updated}
    return extras, tuple(notes)


# --- the catalog ---------------------------------------------------------------------

_CMP_RULE = "{} returns a bool tensor: a step function of its inputs, so torch gives it no grad_fn"

# Seed page ops, in the page's order.
_add(
    "lt",
    "comparison",
    (
        _t("input", "[1, 2, 3]", doc="integers, as on the seed page"),
        _t("other", "[2, 2, 2]", doc="integers, as on the seed page"),
    ),
    _CMP_RULE.format("lt (input < other)"),
    lambda input, other: torch.lt(input, other),
    seed=True,
    summary="input < other, elementwise (the seed page claims its gradient is [1, 0, 0])",
)
_unary(
    "abs",
    "[-1.0, 0.0, 1.0]",
    "d/dx |x| = sign(x) for x != 0; at 0 only one-sided slopes -1 and +1 exist",
    torch.abs,
    seed=True,
    summary="|x|: a kink at 0",
)
_unary(
    "exp",
    "[1.0, 2.0, 3.0]",
    "d/dx exp(x) = exp(x) (ExpBackward0 saves its result and reuses it)",
    torch.exp,
    seed=True,
    summary="e to the x",
)
_add(
    "gather",
    "indexing",
    (
        _t("input", "[[1.0, 2.0], [3.0, 4.0]]"),
        _n("dim", "1", "int"),
        _t("index", "[[0, 0], [1, 0]]", requires_grad=False, doc="int64 positions along dim"),
    ),
    "d/dinput gather: the upstream grad is scatter-added back to the gathered positions, 0 elsewhere",
    lambda input, dim, index: torch.gather(input, dim, index),
    seed=True,
    summary="out[i][j] = input[i][index[i][j]] (dim=1)",
)
_add(
    "binary_cross_entropy",
    "loss",
    (
        _t("input", "[0.2, 0.6, 0.9]", doc="probabilities in (0, 1)"),
        _t("target", "[0.0, 1.0, 1.0]", requires_grad=False),
    ),
    "d/dp mean(-(y log p + (1-y) log(1-p))) = (p - y) / (p (1 - p)) / N",
    lambda input, target: F.binary_cross_entropy(input, target),
    seed=True,
    summary="BCE on probabilities (nn.BCELoss)",
)
_add(
    "binary_cross_entropy_with_logits",
    "loss",
    (
        _t("input", "[-1.0, 0.5, 2.0]", doc="logits"),
        _t("target", "[0.0, 1.0, 1.0]", requires_grad=False),
    ),
    "d/dx BCE(sigmoid(x), y) = (sigmoid(x) - y) / N",
    lambda input, target: F.binary_cross_entropy_with_logits(input, target),
    seed=True,
    summary="BCE on logits (nn.BCEWithLogitsLoss), sigmoid fused in for stability",
)
_add(
    "multilabel_soft_margin_loss",
    "loss",
    (
        _t("input", "[[0.5, -1.0, 2.0], [-0.5, 1.5, 0.0]]", doc="logits, shape (N, C)"),
        _t("target", "[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]", requires_grad=False),
    ),
    "d/dx = (sigmoid(x) - y) / (N C): per-class BCE with logits, averaged over classes and batch",
    lambda input, target: F.multilabel_soft_margin_loss(input, target),
    seed=True,
    summary="multi-label one-vs-all loss (nn.MultiLabelSoftMarginLoss)",
)
_add(
    "sgd_l1_step",
    "optimizer",
    (
        _t("param", "[0.5, 0.0, -1.0]", doc="the weight being trained (one is exactly 0)"),
        _t("input", "[[1.0, 2.0, 0.5], [0.5, -1.0, 1.0]]", requires_grad=False, doc="data"),
        _t("target", "[1.0, 0.0]", requires_grad=False),
        _n("lr", "0.1", "float", "learning rate"),
        _n("l1", "0.05", "float", "L1 penalty strength"),
    ),
    "w <- w - lr * (d/dw mse(input @ w, target) + l1 * sign(w)), with sign(0) = 0",
    _sgd_l1_step,
    seed=True,
    explain=_sgd_l1_explain,
    summary="one SGD step on mse(input @ param, target) + l1 * |param|.sum(); output is that loss",
)

for _name, _sym in (("le", "<="), ("gt", ">"), ("ge", ">="), ("eq", "=="), ("ne", "!=")):
    _add(
        _name,
        "comparison",
        (_t("input", "[1.0, 2.0, 3.0]"), _t("other", "[2.0, 2.0, 2.0]")),
        _CMP_RULE.format(f"{_name} (input {_sym} other)"),
        (lambda f: lambda input, other: f(input, other))(getattr(torch, _name)),
        summary=f"input {_sym} other, elementwise",
    )

# Smooth elementwise functions.
_unary("log", "[0.5, 1.0, 2.0]", "d/dx log(x) = 1 / x", torch.log)
_unary("sqrt", "[0.25, 1.0, 4.0]", "d/dx sqrt(x) = 1 / (2 sqrt(x))", torch.sqrt)
_unary("sin", "[-1.0, 0.0, 1.0]", "d/dx sin(x) = cos(x)", torch.sin)
_unary("cos", "[-1.0, 0.0, 1.0]", "d/dx cos(x) = -sin(x)", torch.cos)
_unary("tan", "[-1.0, 0.0, 1.0]", "d/dx tan(x) = 1 + tan(x)^2", torch.tan)
_unary("asin", "[-0.5, 0.0, 0.5]", "d/dx asin(x) = 1 / sqrt(1 - x^2)", torch.asin)
_unary("acos", "[-0.5, 0.0, 0.5]", "d/dx acos(x) = -1 / sqrt(1 - x^2)", torch.acos)
_unary("atan", "[-1.0, 0.0, 1.0]", "d/dx atan(x) = 1 / (1 + x^2)", torch.atan)
_unary("sinh", "[-1.0, 0.0, 1.0]", "d/dx sinh(x) = cosh(x)", torch.sinh)
_unary("cosh", "[-1.0, 0.0, 1.0]", "d/dx cosh(x) = sinh(x)", torch.cosh)
_unary("asinh", "[-1.0, 0.0, 1.0]", "d/dx asinh(x) = 1 / sqrt(x^2 + 1)", torch.asinh)
_unary("atanh", "[-0.5, 0.0, 0.5]", "d/dx atanh(x) = 1 / (1 - x^2)", torch.atanh)
_unary("log1p", "[-0.5, 0.0, 1.0]", "d/dx log(1 + x) = 1 / (1 + x)", torch.log1p)
_unary("expm1", "[-1.0, 0.0, 1.0]", "d/dx (exp(x) - 1) = exp(x)", torch.expm1)
_unary("erf", "[-1.0, 0.0, 1.0]", "d/dx erf(x) = 2 / sqrt(pi) * exp(-x^2)", torch.erf)

# Piecewise constant (or piecewise linear) functions.
_unary(
    "sign",
    "[-1.5, 0.5, 2.0]",
    "d/dx sign(x) = 0 for x != 0; a jump at 0",
    torch.sign,
    category="rounding",
)
_unary(
    "floor",
    "[-1.5, 0.3, 2.7]",
    "d/dx floor(x) = 0 between integers; jumps at integers",
    torch.floor,
    category="rounding",
)
_unary(
    "ceil",
    "[-1.5, 0.3, 2.7]",
    "d/dx ceil(x) = 0 between integers; jumps at integers",
    torch.ceil,
    category="rounding",
)
_unary(
    "round",
    "[-1.6, 0.3, 2.7]",
    "d/dx round(x) = 0 between half-integers; jumps at them",
    torch.round,
    category="rounding",
)
_add(
    "clamp",
    "rounding",
    (_t("input", "[-2.0, 0.5, 2.0]"), _n("min", "-1.0", "float"), _n("max", "1.0", "float")),
    "d/dx clamp(x, min, max) = 1 inside (min, max), 0 outside",
    lambda input, min, max: torch.clamp(input, min, max),
    elementwise=True,
    summary="x limited to [min, max]",
)

# Activations.
_unary(
    "sigmoid",
    "[-1.0, 0.0, 1.0]",
    "d/dx s(x) = s(x) (1 - s(x))",
    torch.sigmoid,
    category="activation",
)
_unary(
    "tanh", "[-1.0, 0.0, 1.0]", "d/dx tanh(x) = 1 - tanh(x)^2", torch.tanh, category="activation"
)
_unary(
    "relu", "[-1.0, 0.5, 2.0]", "d/dx relu(x) = 1 if x > 0 else 0", F.relu, category="activation"
)
_add(
    "leaky_relu",
    "activation",
    (_t("input", "[-1.0, 0.5, 2.0]"), _n("negative_slope", "0.1", "float")),
    "d/dx = 1 if x > 0 else negative_slope",
    lambda input, negative_slope: F.leaky_relu(input, negative_slope),
    elementwise=True,
)
_unary(
    "gelu",
    "[-1.0, 0.5, 2.0]",
    "d/dx x Phi(x) = Phi(x) + x phi(x) (Phi, phi: standard normal cdf, pdf)",
    F.gelu,
    category="activation",
)
_add(
    "softplus",
    "activation",
    (_t("input", "[-1.0, 0.5, 2.0]"), _n("beta", "1.0", "float")),
    "d/dx log(1 + exp(beta x)) / beta = sigmoid(beta x)",
    lambda input, beta: F.softplus(input, beta),
    elementwise=True,
)
_add(
    "elu",
    "activation",
    (_t("input", "[-1.0, 0.5, 2.0]"), _n("alpha", "1.0", "float")),
    "d/dx = 1 if x > 0 else alpha exp(x)",
    lambda input, alpha: F.elu(input, alpha),
    elementwise=True,
)
_unary(
    "silu",
    "[-1.0, 0.5, 2.0]",
    "d/dx x s(x) = s(x) (1 + x (1 - s(x)))",
    F.silu,
    category="activation",
)

# Arithmetic on two tensors.
_A, _B = "[1.0, 2.0, 3.0]", "[0.5, -1.0, 2.0]"
_add(
    "add",
    "arithmetic",
    (_t("input", _A), _t("other", _B)),
    "d/dinput = 1, d/dother = 1",
    lambda input, other: torch.add(input, other),
)
_add(
    "sub",
    "arithmetic",
    (_t("input", _A), _t("other", _B)),
    "d/dinput = 1, d/dother = -1",
    lambda input, other: torch.sub(input, other),
)
_add(
    "mul",
    "arithmetic",
    (_t("input", _A), _t("other", _B)),
    "d/dinput (input * other) = other, d/dother = input",
    lambda input, other: torch.mul(input, other),
)
_add(
    "div",
    "arithmetic",
    (_t("input", _A), _t("other", "[2.0, -1.0, 0.5]")),
    "d/dinput (input / other) = 1 / other, d/dother = -input / other^2",
    lambda input, other: torch.div(input, other),
)
_add(
    "pow",
    "arithmetic",
    (_t("input", "[0.5, 1.0, 2.0]"), _t("exponent", "2.0")),
    "d/dinput x^e = e x^(e-1), d/dexponent = x^e log(x)",
    lambda input, exponent: torch.pow(input, exponent),
)
_add(
    "maximum",
    "arithmetic",
    (_t("input", _A), _t("other", "[2.0, 0.5, 4.0]")),
    "the gradient goes to the larger of input and other (split in half on ties)",
    lambda input, other: torch.maximum(input, other),
)
_add(
    "minimum",
    "arithmetic",
    (_t("input", _A), _t("other", "[2.0, 0.5, 4.0]")),
    "the gradient goes to the smaller of input and other (split in half on ties)",
    lambda input, other: torch.minimum(input, other),
)
_add(
    "where",
    "arithmetic",
    (
        _t("condition", "[True, False, True]", requires_grad=False),
        _t("input", _A),
        _t("other", "[10.0, 20.0, 30.0]"),
    ),
    "the gradient goes to input where condition is True, to other elsewhere",
    lambda condition, input, other: torch.where(condition, input, other),
)

# Reductions and normalisers.
_V = "[1.0, 3.0, 2.0]"
_add("sum", "reduction", (_t("input", _V),), "d/dx_i sum(x) = 1", lambda input: torch.sum(input))
_add(
    "mean",
    "reduction",
    (_t("input", _V),),
    "d/dx_i mean(x) = 1 / N",
    lambda input: torch.mean(input),
)
_add(
    "max",
    "reduction",
    (_t("input", _V),),
    "the gradient goes to the largest element (shared on ties)",
    lambda input: torch.max(input),
)
_add(
    "min",
    "reduction",
    (_t("input", _V),),
    "the gradient goes to the smallest element (shared on ties)",
    lambda input: torch.min(input),
)
_add(
    "prod",
    "reduction",
    (_t("input", _V),),
    "d/dx_i prod(x) = product of the other elements",
    lambda input: torch.prod(input),
)
_add(
    "logsumexp",
    "reduction",
    (_t("input", _V), _n("dim", "0", "int")),
    "d/dx_i log sum exp(x) = softmax(x)_i",
    lambda input, dim: torch.logsumexp(input, dim),
)
_add(
    "cumsum",
    "reduction",
    (_t("input", _V), _n("dim", "0", "int")),
    "d/dx_i cumsum(x)_j = 1 if i <= j: the grad is a reversed cumulative sum",
    lambda input, dim: torch.cumsum(input, dim),
)
_add(
    "softmax",
    "reduction",
    (_t("input", _V), _n("dim", "0", "int")),
    "d s_i / d x_j = s_i (delta_ij - s_j)",
    lambda input, dim: F.softmax(input, dim),
)
_add(
    "log_softmax",
    "reduction",
    (_t("input", _V), _n("dim", "0", "int")),
    "d log s_i / d x_j = delta_ij - s_j",
    lambda input, dim: F.log_softmax(input, dim),
)

# Linear algebra.
_M = "[[1.0, 2.0], [3.0, 4.0]]"
_add(
    "matmul",
    "linear algebra",
    (_t("input", _M), _t("other", "[[0.5, -1.0], [1.0, 2.0]]")),
    "d/dA (A @ B) = G @ B^T, d/dB = A^T @ G",
    lambda input, other: torch.matmul(input, other),
)
_add(
    "dot",
    "linear algebra",
    (_t("input", _A), _t("tensor", _B)),
    "d/da a.b = b, d/db = a",
    lambda input, tensor: torch.dot(input, tensor),
)
_add(
    "mv",
    "linear algebra",
    (_t("input", _M), _t("vec", "[0.5, -1.0]")),
    "d/dA (A v) = g v^T, d/dv = A^T g",
    lambda input, vec: torch.mv(input, vec),
)
_add(
    "outer",
    "linear algebra",
    (_t("input", "[1.0, 2.0]"), _t("vec2", "[0.5, -1.0, 2.0]")),
    "d/da (a b^T) = G b, d/db = G^T a",
    lambda input, vec2: torch.outer(input, vec2),
)
_add(
    "trace",
    "linear algebra",
    (_t("input", _M),),
    "d/dA tr(A) = I",
    lambda input: torch.trace(input),
)
_add(
    "det",
    "linear algebra",
    (_t("input", "[[2.0, 1.0], [1.0, 3.0]]"),),
    "d/dA det(A) = det(A) A^-T",
    lambda input: torch.det(input),
)
_add(
    "linear",
    "linear algebra",
    (
        _t("input", "[[1.0, 2.0]]"),
        _t("weight", "[[0.5, -1.0], [1.0, 2.0]]"),
        _t("bias", "[0.1, -0.2]"),
    ),
    "y = x W^T + b: d/dx = G W, d/dW = G^T x, d/db = sum of G over the batch",
    lambda input, weight, bias: F.linear(input, weight, bias),
)

# Losses.
_add(
    "cross_entropy",
    "loss",
    (
        _t("input", "[[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]]", doc="logits, shape (N, C)"),
        _t("target", "[0, 1]", requires_grad=False, doc="class indices"),
    ),
    "d/dx = (softmax(x) - onehot(y)) / N",
    lambda input, target: F.cross_entropy(input, target),
)
_add(
    "nll_loss",
    "loss",
    (
        _t("input", "[[-0.5, -1.2, -2.0], [-1.5, -0.4, -1.6]]", doc="log-probabilities"),
        _t("target", "[0, 1]", requires_grad=False, doc="class indices"),
    ),
    "d/dx = -onehot(y) / N",
    lambda input, target: F.nll_loss(input, target),
)
_LOSS_IN, _LOSS_T = "[0.5, 1.0, 2.0]", "[1.0, 0.25, 4.0]"
_add(
    "mse_loss",
    "loss",
    (_t("input", _LOSS_IN), _t("target", _LOSS_T, requires_grad=False)),
    "d/dx mean((x - y)^2) = 2 (x - y) / N",
    lambda input, target: F.mse_loss(input, target),
)
_add(
    "l1_loss",
    "loss",
    (_t("input", _LOSS_IN), _t("target", _LOSS_T, requires_grad=False)),
    "d/dx mean(|x - y|) = sign(x - y) / N",
    lambda input, target: F.l1_loss(input, target),
)
_add(
    "smooth_l1_loss",
    "loss",
    (_t("input", _LOSS_IN), _t("target", _LOSS_T, requires_grad=False), _n("beta", "1.0", "float")),
    "d/dx = (x - y) / beta / N where |x - y| < beta, else sign(x - y) / N",
    lambda input, target, beta: F.smooth_l1_loss(input, target, beta=beta),
)
_add(
    "huber_loss",
    "loss",
    (
        _t("input", _LOSS_IN),
        _t("target", _LOSS_T, requires_grad=False),
        _n("delta", "1.0", "float"),
    ),
    "d/dx = (x - y) / N where |x - y| < delta, else delta sign(x - y) / N",
    lambda input, target, delta: F.huber_loss(input, target, delta=delta),
)

# Indexing.
_add(
    "index_select",
    "indexing",
    (
        _t("input", "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]"),
        _n("dim", "0", "int"),
        _t("index", "[2, 0, 2]", requires_grad=False, doc="row 2 twice: its grads add up"),
    ),
    "d/dinput: the upstream grad is index_add-ed back to the selected rows",
    lambda input, dim, index: torch.index_select(input, dim, index),
)
_add(
    "take",
    "indexing",
    (_t("input", _M), _t("index", "[0, 3, 3]", requires_grad=False, doc="flat positions")),
    "d/dinput: the upstream grad is added back to the flat positions taken",
    lambda input, index: torch.take(input, index),
)

CATALOG: dict[str, OpSpec] = {
    spec.name: spec
    for spec in sorted(_ENTRIES, key=lambda s: not s.seed)  # stable: seed first
}
"""Every op by name, the seed page's ops first."""


def get(name: str) -> OpSpec:
    """The catalog entry called ``name``.

    Raises:
        InputError: No such op; the message suggests the closest name.
    """
    spec = CATALOG.get(name)
    if spec is not None:
        return spec
    if len(name) > 64:  # no op name is this long: skip the fuzzy search, keep the message short
        raise InputError(
            f"unknown op: a name of {len(name)} characters; see the catalog for the ops available"
        )
    from gradtui.ops import opinfo  # the generated ops: read on the first name not typed here

    spec = opinfo.lookup(name, _KINDS)
    if spec is not None:
        return spec
    close = difflib.get_close_matches(name, [*CATALOG, *opinfo.names(_KINDS)], n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see the catalog for the ops available"
    raise InputError(f"unknown op {name!r}; {hint}")


class _KINDS:
    """What :mod:`ops.opinfo` builds generated entries with (it does not import this module)."""

    OpSpec = OpSpec
    InputSpec = InputSpec
    bound = staticmethod(bound)


def generated() -> dict[str, OpSpec]:
    """The ops generated from torch's OpInfo database, by OpInfo name (read on first call)."""
    from gradtui.ops import opinfo

    return opinfo.specs(_KINDS)


GENERATED_PREFIX = "generated: "
"""What starts the name of a group of generated ops in listings."""


def all_ops() -> list[tuple[str, list[OpSpec]]]:
    """Every op grouped for listing: the hand-written catalog (:func:`by_category`), then the
    ops generated from torch's OpInfo database (:mod:`ops.opinfo`), leaving out a generated
    op whose name a hand-written entry already has (the hand-written one wins).

    The generated groups come in :func:`ops.opinfo.group_key` order (by namespace: torch,
    nn.functional, linalg, special, fft, masked, Tensor methods; then by topic), each
    group's ops by name."""
    from gradtui.ops import opinfo

    groups = by_category()
    more: dict[str, list[OpSpec]] = {}
    for spec in generated().values():
        if spec.name not in CATALOG:
            more.setdefault(spec.category, []).append(spec)
    ordered = sorted(more.items(), key=lambda group: opinfo.group_key(group[0]))
    return groups + [
        (GENERATED_PREFIX + category, sorted(specs, key=lambda s: s.name))
        for category, specs in ordered
    ]


def by_category() -> list[tuple[str, list[OpSpec]]]:
    """The catalog grouped for listing: the seed page's ops first, then each category."""
    groups: dict[str, list[OpSpec]] = {}
    for spec in CATALOG.values():
        groups.setdefault(spec.category, []).append(spec)
    return list(groups.items())
