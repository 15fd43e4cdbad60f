"""Curves: f, f', f'' along one variable, the numeric check and the kinks.

Every expected value here is computed in the test from torch (plain calls, one point at
a time) or from float64 finite differences written out in the test, never typed in.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

import gradtui.ops.direct_backward
from gradtui.ops.curves import DISAGREE_RTOL, disagreements, parse_range, sample_curve
from gradtui.ops.errors import InputError
from gradtui.ops.paths import CurvePath, curve_path, path_from
from gradtui.ops.results import Kink

F64 = torch.float64


def torch_grad_at(fn, x: float) -> float:
    """The derivative torch's autograd returns for ``fn`` at one point, by a plain call."""
    t = torch.tensor(x, dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(fn(t), t)
    return g.item()


def close(a: list[float], b: list[float], rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    return torch.allclose(
        torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64), rtol=rtol, atol=atol
    )


# --- smooth elementwise ops --------------------------------------------------------------


def test_exp_derivative_is_exp_and_numeric_check_agrees() -> None:
    c = sample_curve("exp", lo=-2.0, hi=3.0, points=101)
    assert c.var == "input"
    assert len(c.x) == 101 and c.x[0] == -2.0 and c.x[-1] == 3.0
    assert close(c.f, torch.exp(torch.tensor(c.x, dtype=F64)).tolist())
    assert close(c.df, c.f)
    assert close(c.df_numeric, c.df, rtol=1e-7)
    assert c.kinks == ()
    assert c.d2f is None


def test_sin_derivative_is_cos_and_second_is_minus_sin() -> None:
    c = sample_curve("sin", lo=-4.0, hi=4.0, points=77, second=True)
    x = torch.tensor(c.x, dtype=F64)
    assert close(c.df, torch.cos(x).tolist())
    assert c.d2f is not None
    assert close(c.d2f, (-torch.sin(x)).tolist())
    assert c.kinks == ()


def test_default_range_surrounds_the_current_values_and_marks_them() -> None:
    c = sample_curve("exp", {"input": "[0.5, 1.5]"})
    assert c.x[0] < 0.5 and c.x[-1] > 1.5
    assert set(c.marks) == {0.5, 1.5}
    # a scalar input still gets a usable range around it
    s = sample_curve("exp", {"input": "100.0"})
    assert s.x[0] < 100.0 < s.x[-1] and s.x[-1] - s.x[0] >= 4.0


def test_marks_outside_the_range_are_dropped() -> None:
    c = sample_curve("exp", {"input": "[0.5, 9.0]"}, lo=0.0, hi=1.0)
    assert c.marks == (0.5,)


# --- kinks and jumps -----------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi,points", [(-3.0, 3.0, 201), (-1.3, 2.1, 50), (-0.7, 0.9, 8)])
def test_abs_kink_at_zero_with_torch_value(lo: float, hi: float, points: int) -> None:
    c = sample_curve("abs", lo=lo, hi=hi, points=points)
    assert len(c.kinks) == 1
    k = c.kinks[0]
    assert k.x == 0.0
    assert k.df == torch_grad_at(torch.abs, 0.0)
    assert k.left == pytest.approx(-1.0, abs=1e-6)
    assert k.right == pytest.approx(1.0, abs=1e-6)


def test_kink_found_even_with_two_samples() -> None:
    c = sample_curve("abs", lo=-4.0, hi=4.0, points=2)
    assert [k.x for k in c.kinks] == [0.0]


def test_relu_kink_at_zero_with_torch_value() -> None:
    c = sample_curve("relu", lo=-2.2, hi=1.7)
    assert [k.x for k in c.kinks] == [0.0]
    assert c.kinks[0].df == torch_grad_at(torch.relu, 0.0)
    assert c.kinks[0].left == pytest.approx(0.0, abs=1e-6)
    assert c.kinks[0].right == pytest.approx(1.0, abs=1e-6)


def test_floor_jumps_at_every_integer_in_range() -> None:
    c = sample_curve("floor", lo=-2.3, hi=3.6, points=301)
    assert [k.x for k in c.kinks] == [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    for k in c.kinks:
        assert k.df == torch_grad_at(torch.floor, k.x)
        assert k.kind == "jump"
        # a slope across a jump is an artefact of the step: none is reported
        assert k.left is None and k.right is None
        below = torch.floor(torch.tensor(k.x - 1e-6, dtype=F64)).item()
        assert (k.before, k.after) == (below, torch.floor(torch.tensor(k.x)).item())
    # away from the jumps torch's derivative is 0, and the numeric check agrees
    assert all(d == 0.0 for d in c.df)


def test_round_jumps_at_half_integers() -> None:
    c = sample_curve("round", lo=-1.2, hi=1.3, points=101)
    assert [k.x for k in c.kinks] == [-0.5, 0.5]


def test_sign_jump_at_zero_although_both_sides_step_the_same_way() -> None:
    c = sample_curve("sign", lo=-1.1, hi=0.9)
    assert [k.x for k in c.kinks] == [0.0]
    assert c.kinks[0].df == torch_grad_at(torch.sign, 0.0)
    k = c.kinks[0]
    sides = torch.sign(torch.tensor([-1e-6, 0.0, 1e-6], dtype=F64)).tolist()
    assert (k.kind, k.before, k.value, k.after) == ("jump", *sides)


def test_clamp_kinks_at_its_bounds_with_whatever_torch_returns_there() -> None:
    c = sample_curve("clamp", {"min": "-0.5", "max": "0.75"}, lo=-2.0, hi=2.0)
    assert [k.x for k in c.kinks] == [-0.5, 0.75]
    for k in c.kinks:
        assert k.df == torch_grad_at(lambda t: torch.clamp(t, -0.5, 0.75), k.x)
    lower, upper = c.kinks
    assert (lower.left, lower.right) == pytest.approx((0.0, 1.0), abs=1e-6)
    assert (upper.left, upper.right) == pytest.approx((1.0, 0.0), abs=1e-6)


def test_smooth_ops_have_no_kinks_even_steep_ones() -> None:
    for target in ("tanh", "sigmoid", "gelu", "softplus", "sigmoid(40 * x)", "1 / x", "tan"):
        c = sample_curve(target, lo=-3.0, hi=3.3)
        assert c.kinks == (), target


def test_kink_of_a_typed_expression_at_an_irrational_point() -> None:
    c = sample_curve("abs(sin(x))", lo=2.0, hi=4.0)
    assert len(c.kinks) == 1
    k = c.kinks[0]
    assert k.x == pytest.approx(math.pi, abs=1e-9)
    assert k.df == torch_grad_at(lambda t: torch.abs(torch.sin(t)), k.x)


# --- gaps --------------------------------------------------------------------------------


def test_log_negative_half_is_gaps_and_nothing_raises() -> None:
    c = sample_curve("log", lo=-2.0, hi=2.0, points=41)
    for x, f, n in zip(c.x, c.f, c.df_numeric, strict=True):
        if x < 0:
            assert math.isnan(f)
            assert math.isnan(n)
        elif x > 0:
            assert f == pytest.approx(math.log(x))
    assert c.kinks == ()
    at_zero = sample_curve("log", lo=-1.0, hi=1.0, points=3)
    assert at_zero.x[1] == 0.0 and at_zero.f[1] == -math.inf
    # the JSON contract spells the gaps as strings
    text = json.dumps(at_zero.to_json(), allow_nan=False)
    assert '"nan"' in text and '"-inf"' in text


def test_batch_that_raises_for_some_points_becomes_gaps() -> None:
    # binary_cross_entropy refuses a whole batch if one input leaves [0, 1]
    c = sample_curve("binary_cross_entropy", lo=-0.5, hi=1.5, points=41)
    inside = [(x, f) for x, f in zip(c.x, c.f, strict=True) if 0.0 < x < 1.0]
    outside = [f for x, f in zip(c.x, c.f, strict=True) if x < 0.0 or x > 1.0]
    assert inside and all(math.isfinite(f) for _, f in inside)
    assert outside and all(math.isnan(f) for f in outside)


# --- non-elementwise ops: L(t) = <v, f(...)> ----------------------------------------------


def independent_l(fn, x0: torch.Tensor, index: tuple[int, ...], v: torch.Tensor | None):
    """L(t) by plain torch calls, one t at a time (the test's own reference)."""

    def L(t: float) -> float:
        x = x0.clone()
        x[index] = t
        out = fn(x)
        return float((out if v is None else v * out).sum())

    return L


def test_mse_loss_curve_matches_finite_differences_of_l() -> None:
    values = {"input": "[0.5, -1.0, 2.0]", "target": "[0.0, 1.0, 1.5]"}
    c = sample_curve("mse_loss", values, element=(1,), lo=-3.0, hi=3.0, points=31)
    assert c.var == "input[1]"
    assert "L(t)" in c.label
    x0 = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    target = torch.tensor([0.0, 1.0, 1.5], dtype=F64)
    L = independent_l(lambda x: F.mse_loss(x, target), x0, (1,), None)
    h = 1e-5
    for x, f, d in zip(c.x, c.f, c.df, strict=True):
        assert f == pytest.approx(L(x), rel=1e-12, abs=1e-12)
        assert d == pytest.approx((L(x + h) - L(x - h)) / (2 * h), rel=1e-6, abs=1e-8)
    assert c.marks == (-1.0,)


def test_softmax_with_upstream_gradient_v() -> None:
    c = sample_curve(
        "softmax",
        {"input": "[1.0, 2.0, 3.0]"},
        var="input[2]",
        grad_output="[1.0, -2.0, 0.5]",
        lo=-1.0,
        hi=4.0,
        points=21,
        second=True,
    )
    assert c.var == "input[2]"
    v = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    L = independent_l(
        lambda x: torch.softmax(x, 0), torch.tensor([1.0, 2.0, 3.0], dtype=F64), (2,), v
    )
    h = 1e-4
    for x, f, d, d2 in zip(c.x, c.f, c.df, c.d2f or [], strict=True):
        assert f == pytest.approx(L(x), rel=1e-12, abs=1e-12)
        assert d == pytest.approx((L(x + h) - L(x - h)) / (2 * h), rel=1e-6, abs=1e-8)
        assert d2 == pytest.approx((L(x + h) - 2 * L(x) + L(x - h)) / h**2, rel=1e-4, abs=1e-5)


def test_sum_curve_has_unit_slope() -> None:
    c = sample_curve("sum", {"input": "[1.0, 2.0, 3.0]"}, lo=-1.0, hi=1.0, points=5)
    assert c.f == [x + 5.0 for x in c.x]
    assert c.df == [1.0] * 5


def test_max_kink_uses_torchs_plain_tie_rule_not_vmaps() -> None:
    # under vmap torch.max gives the whole gradient to one tied maximum; a plain call
    # splits it. The kink must show what a plain call returns.
    c = sample_curve("max", {"input": "[1.0, 2.0, 3.0]"}, lo=0.0, hi=5.0, points=51)
    assert [k.x for k in c.kinks] == [3.0]
    expected = torch_grad_at(
        lambda t: torch.max(torch.stack([t, torch.tensor(2.0, dtype=F64), t.new_tensor(3.0)])),
        3.0,
    )
    assert c.kinks[0].df == expected
    assert c.df[c.x.index(3.0)] == expected


def test_comparison_curve_steps_and_has_no_gradient() -> None:
    c = sample_curve("lt", lo=0.0, hi=4.0, points=41)
    assert set(c.f) == {0.0, 1.0}
    assert c.df is None and c.d2f is None  # a bool result has no grad_fn: no f′ at all
    assert not c.differentiable and "no grad_fn" in c.reason
    assert [k.x for k in c.kinks] == [2.0]
    k = c.kinks[0]
    assert (k.kind, k.df, k.left, k.right, k.before, k.after) == ("jump", None, None, None, 1, 0)


def test_non_scalar_held_input_falls_back_to_one_element() -> None:
    bound = torch.tensor([0.0, 0.5, 1.0], dtype=F64)
    path = path_from(
        "clamp",
        fn=lambda input, min: torch.clamp(input, min=min),
        tensors={"input": torch.tensor([1.0, 2.0, 3.0], dtype=F64), "min": bound},
        names=("input", "min"),
        requires_grad={"input": True, "min": True},
        elementwise=True,
    )
    assert path.mode != "elementwise"
    assert path.var == "input[0]"


def test_constant_of_the_inputs_shape_is_not_taken_for_elementwise() -> None:
    # x * rand(3) has a diagonal Jacobian at x's shape, but cannot take 201 points at once
    c = sample_curve("x * rand(3)", lo=-1.0, hi=1.0, points=11)
    assert c.var == "x[0]"
    assert all(math.isfinite(f) for f in c.f)
    assert close(c.df_numeric, c.df, rtol=1e-7)


def test_op_that_cannot_vmap_falls_back_and_still_matches_plain_autograd() -> None:
    def fn(input: torch.Tensor) -> torch.Tensor:
        return input * float(input.detach().max().item())  # .item() defeats vmap

    path = path_from(
        "scaled",
        fn=fn,
        tensors={"input": torch.tensor([1.0, 2.0, 3.0], dtype=F64)},
        names=("input",),
        requires_grad={"input": True},
    )
    assert path.mode == "loop"
    ts = torch.linspace(-1.0, 5.0, 13, dtype=F64)
    f, df, _ = path.derivatives(ts)
    for t, fv, dv in zip(ts.tolist(), f.tolist(), df.tolist(), strict=True):

        def plain(s: torch.Tensor) -> torch.Tensor:
            x = torch.stack([s, torch.tensor(2.0, dtype=F64), torch.tensor(3.0, dtype=F64)])
            return fn(x).sum()

        assert fv == pytest.approx(float(plain(torch.tensor(t, dtype=F64))))
        assert dv == torch_grad_at(plain, t)


# --- refusals ----------------------------------------------------------------------------


def test_integer_index_and_bool_condition_cannot_vary() -> None:
    with pytest.raises(InputError, match="choose one of: input") as err:
        sample_curve("gather", var="index")
    assert err.value.field == "var"
    with pytest.raises(InputError, match="choose one of: input"):
        sample_curve("gather", var="dim")
    with pytest.raises(InputError, match="cannot vary.*choose one of: input, other"):
        sample_curve("where", var="condition")


def test_unknown_variable_and_bad_element_are_refused() -> None:
    with pytest.raises(InputError, match="unknown variable 'nope'; choose one of: input"):
        sample_curve("exp", var="nope")
    with pytest.raises(InputError, match="does not fit"):
        sample_curve("softmax", var="input[7]")
    with pytest.raises(InputError, match="does not fit"):
        sample_curve("softmax", element=(0, 0))
    with pytest.raises(InputError):
        sample_curve("exp", var="input.grad")
    with pytest.raises(InputError, match="points"):
        sample_curve("exp", points=1)


def test_parse_range_accepts_two_numbers() -> None:
    assert parse_range("-3:3") == (-3.0, 3.0)
    assert parse_range(" 1e-3 : 2.5 ") == (0.001, 2.5)


@pytest.mark.parametrize(
    "text",
    ["", "1", "1:2:3", "a:b", "2:1", "1:1", "nan:1", "0:inf", "__import__('os'):1", "\u0661:2"],
)
def test_parse_range_refuses_bad_text(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_range(text)
    assert err.value.field == "range"


def test_bad_range_arguments_are_refused() -> None:
    with pytest.raises(InputError):
        sample_curve("exp", lo=2.0, hi=1.0)
    with pytest.raises(InputError):
        sample_curve("exp", lo=float("nan"))


# --- vectorised: O(1) backward passes whatever the number of points -----------------------


def count_calls(monkeypatch: pytest.MonkeyPatch, module, name: str) -> list[int]:
    counter = [0]
    original = getattr(module, name)

    def counting(*args, **kwargs):
        counter[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return counter


@pytest.mark.parametrize(
    "target,kwargs",
    [
        ("exp", {}),
        ("abs", {}),
        ("sin", {"second": True}),
        ("mse_loss", {}),
        ("softmax", {"second": True}),
    ],
)
def test_backward_and_forward_calls_do_not_grow_with_points(
    monkeypatch: pytest.MonkeyPatch, target: str, kwargs: dict
) -> None:
    # every backward pass: torch's public API, or gradtui.ops.direct_backward's direct engine call
    backward = count_calls(monkeypatch, torch.autograd, "grad")
    backward_too = count_calls(monkeypatch, torch.autograd, "backward")
    engine = count_calls(monkeypatch, gradtui.ops.direct_backward, "_engine_run_backward")
    counts = []
    for points in (11, 1001):
        backward[0] = backward_too[0] = engine[0] = 0
        sample_curve(target, lo=-2.0, hi=2.0, points=points, **kwargs)
        counts.append(backward[0] + backward_too[0] + engine[0])
    assert counts[0] == counts[1]
    assert 1 <= counts[1] <= 4


def test_exp_forward_calls_do_not_grow_with_points(monkeypatch: pytest.MonkeyPatch) -> None:
    forward = count_calls(monkeypatch, torch, "exp")
    counts = []
    for points in (11, 1001, 20001):
        forward[0] = 0
        sample_curve("exp", lo=-2.0, hi=2.0, points=points)
        counts.append(forward[0])
    assert counts[0] == counts[1] == counts[2]


def test_abs_second_derivative_is_ordinary_zeros() -> None:
    """torch may answer abs'' with a memory-less "zero tensor"; the curve must still read it."""
    c = sample_curve("abs", lo=-2.0, hi=2.0, points=9, second=True)
    assert c.d2f is not None and all(v == 0.0 for v in c.d2f)


def test_curve_path_is_reusable() -> None:
    path = curve_path("exp")
    assert isinstance(path, CurvePath) and path.mode == "elementwise"
    x = torch.linspace(-1.0, 1.0, 5, dtype=F64)
    assert torch.equal(path.values(x), torch.exp(x))


# --- the numeric check -------------------------------------------------------------------


class _StraightThroughRound(torch.autograd.Function):
    """round(x) with the straight-through gradient 1: autograd's f′ is wrong on purpose."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def test_a_known_disagreement_is_flagged_and_agreement_is_not() -> None:
    x = torch.linspace(0.1, 0.4, 31, dtype=F64)  # no jump of round in here
    t = x.clone().requires_grad_(True)
    (df,) = torch.autograd.grad(_StraightThroughRound.apply(t).sum(), t)
    numeric = torch.zeros_like(x)  # round is flat between its jumps
    assert disagreements(x, df, numeric, ()) == tuple(range(31))
    assert disagreements(x, numeric, numeric, ()) == ()
    assert disagreements(x, None, numeric, ()) == ()  # no grad_fn: nothing to disagree with
    # within 1.5 steps of a kink the two sides disagree by definition: not flagged
    kink = Kink(x=0.25, kind="jump", df=1.0, left=None, right=None, before=0, after=1, value=0)
    near = {i for i in range(31) if abs(x[i].item() - 0.25) <= 1.5 * 0.01 + 1e-15}
    assert set(disagreements(x, df, numeric, (kink,))) == set(range(31)) - near


def test_the_curve_carries_where_the_numeric_check_disagrees() -> None:
    c = sample_curve("sin(1/x)", lo=0.001, hi=0.1, points=51)
    assert c.disagree  # near 0.001, 1/x turns faster than the finite-difference step sees
    for i in range(len(c.x)):
        d, n = c.df[i], c.df_numeric[i]
        off = abs(d - n) > DISAGREE_RTOL * max(1.0, abs(d), abs(n))
        assert (i in c.disagree) == (off and math.isfinite(d) and math.isfinite(n))
    assert c.to_json()["disagree"] == list(c.disagree)
    assert sample_curve("exp").disagree == ()
    assert sample_curve("abs", lo=-2.0, hi=2.0, points=41).disagree == ()  # the corner is a kink
