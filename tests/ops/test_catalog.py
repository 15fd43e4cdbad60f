"""The catalog against torch: names, parameter names, and every gradient at its defaults."""

from __future__ import annotations

import inspect
import re

import pytest
import torch
import torch.nn.functional as F

from gradtui.ops.catalog import CATALOG, SEED_CATEGORY, by_category, coerce, get
from gradtui.ops.errors import InputError
from gradtui.ops.prepare import prepare
from gradtui.ops.run import run

SEED_OPS = [
    "lt",
    "abs",
    "exp",
    "gather",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "multilabel_soft_margin_loss",
    "sgd_l1_step",
]
REQUIRED = (
    SEED_OPS
    + (
        "le gt ge eq ne log sqrt sin cos tanh sigmoid relu leaky_relu gelu softplus sign floor "
        "round clamp pow maximum minimum where mul div matmul sum mean max softmax log_softmax "
        "cross_entropy mse_loss l1_loss smooth_l1_loss"
    ).split()
)


def test_size_and_required_ops():
    assert len(CATALOG) >= 40
    missing = [name for name in REQUIRED if name not in CATALOG]
    assert missing == []


def test_seed_ops_come_first():
    names = list(CATALOG)
    assert names[: len(SEED_OPS)] == SEED_OPS
    assert all(CATALOG[n].seed for n in SEED_OPS)
    assert not any(spec.seed for spec in list(CATALOG.values())[len(SEED_OPS) :])
    groups = by_category()
    assert groups[0][0] == SEED_CATEGORY
    assert [s.name for s in groups[0][1]] == SEED_OPS
    assert sum(len(specs) for _, specs in groups) == len(CATALOG)
    assert len({c for c, _ in groups}) == len(groups)  # each category listed once


def _torch_params(name: str) -> list[str] | None:
    """The parameter names torch itself gives ``name`` (signature, or docstring's first line)."""
    for owner in (F, torch):
        fn = getattr(owner, name, None)
        if fn is None:
            continue
        try:
            return list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            pass
        first = ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        match = re.match(rf"{name}\((.*)\)", first)
        if match:
            return [p.split("=")[0].split(":")[0].strip() for p in match.group(1).split(",")]
    return None


@pytest.mark.parametrize("name", [n for n in CATALOG if n != "sgd_l1_step"])
def test_named_as_in_torch(name):
    params = _torch_params(name)
    assert params is not None, f"torch has no function {name}"
    spec = CATALOG[name]
    ours = [i.name for i in spec.inputs]
    assert set(ours) <= set(params), (ours, params)
    # Positional order is torch's order too.
    assert ours == [p for p in params if p in ours]
    assert spec.call_text() == f"{name}({', '.join(ours)})"
    assert spec.rule and spec.category


def test_get_suggests_the_closest_name():
    assert get("exp") is CATALOG["exp"]
    with pytest.raises(InputError) as info:
        get("xep")
    assert info.value.message == "unknown op 'xep'; did you mean 'exp'?"
    with pytest.raises(InputError, match="unknown op 'qqqqqqq'"):
        get("qqqqqqq")


def test_fn_coerces_plain_inputs_and_fills_defaults():
    gather = CATALOG["gather"].fn
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    index = torch.tensor([[0, 0], [1, 0]])
    want = torch.gather(x, 1, index)
    assert torch.equal(gather(input=x, dim=1, index=index), want)
    assert torch.equal(gather(input=x, dim=torch.tensor(1), index=index), want)
    assert torch.equal(gather(input=x, dim=1.0, index=index), want)
    with pytest.raises(InputError) as info:
        gather(input=x, dim=1.5, index=index)
    assert info.value.field == "dim"
    with pytest.raises(InputError):
        gather(input=x, dim=torch.tensor([0, 1]), index=index)
    with pytest.raises(InputError):
        gather(input=x, index=index, bogus=1)
    leaky = CATALOG["leaky_relu"]
    got = leaky.fn(input=torch.tensor([-1.0, 2.0]))  # negative_slope from its default
    slope = float(leaky.input("negative_slope").default)
    assert torch.allclose(got, F.leaky_relu(torch.tensor([-1.0, 2.0]), slope))
    assert coerce(CATALOG["softplus"].input("beta"), torch.tensor(2)) == 2.0
    with pytest.raises(InputError):
        coerce(CATALOG["softplus"].input("beta"), True)


def _numeric_vjp(fn, args, leaves, v):
    """v^T J by float64 central differences, one element at a time (an independent witness)."""
    out = {}
    for name in leaves:
        base = args[name].detach()
        grad = torch.zeros_like(base).reshape(-1)
        for i in range(base.numel()):
            h = 1e-6 * max(1.0, abs(base.reshape(-1)[i].item()))
            plus, minus = base.clone().reshape(-1), base.clone().reshape(-1)
            plus[i] += h
            minus[i] -= h
            fp = fn(**{**args, name: plus.reshape(base.shape)})
            fm = fn(**{**args, name: minus.reshape(base.shape)})
            grad[i] = ((fp - fm) * v).sum() / (2 * h)
        out[name] = grad.reshape(base.shape)
    return out


@pytest.mark.parametrize("name", list(CATALOG))
def test_gradient_at_defaults_agrees_with_gradcheck(name):
    spec = CATALOG[name]
    p = prepare(name, dtype="float64")
    args = dict(p.tensors)
    leaves = [
        n
        for n in p.names
        if p.requires_grad[n] and isinstance(args[n], torch.Tensor) and args[n].is_floating_point()
    ]
    with torch.no_grad():
        probe = spec.fn(**args)
    result = run(name, dtype="float64")
    if not leaves or probe.dtype == torch.bool:
        # Not differentiable: the answer must say why, in torch's terms.
        assert result.differentiable is False
        assert result.reason and "grad_fn" in result.reason
        assert result.output is not None and result.output.grad_fn is None
        assert all(g is None for g in result.grads.values())
        return

    def f(*tensors):
        return spec.fn(**{**args, **dict(zip(leaves, tensors, strict=True))})

    inputs = tuple(args[n].detach().clone().requires_grad_(True) for n in leaves)
    assert torch.autograd.gradcheck(f, inputs)

    assert result.differentiable is True
    v = torch.ones_like(probe)
    numeric = _numeric_vjp(spec.fn, args, leaves, v)
    for n in leaves:
        got = result.grads[n]
        assert got is not None, n
        torch.testing.assert_close(
            torch.tensor(got.value, dtype=torch.float64), numeric[n], atol=1e-5, rtol=1e-5
        )
    for n in p.names:
        if n not in leaves:
            assert result.grads[n] is None


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign"])
def test_piecewise_constant_ops_say_zero_almost_everywhere(name):
    result = run(name, dtype="float64")
    assert result.differentiable is True
    assert result.grads["input"] is not None
    assert all(g == 0.0 for g in result.grads["input"].value)
    assert result.reason is not None and result.reason.startswith("zero almost everywhere")


def test_smooth_ops_have_no_reason():
    for name in ("exp", "tanh", "gather", "cross_entropy", "relu", "matmul"):
        result = run(name)
        assert result.differentiable and result.reason is None, name
