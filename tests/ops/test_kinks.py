"""The one detector: corners, cusps and jumps, told apart by measurement.

Every expected value is computed here from torch (plain calls at one point) or from the
definition of the kind, never typed in from the detector's own output.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from gradtui.ops.curves import sample_curve
from gradtui.ops.display import describe_kink as describe
from gradtui.ops.kinks import classify
from gradtui.ops.run import run

F64 = torch.float64


def torch_at(fn, x: float) -> tuple[float, float]:
    """f and the derivative torch's autograd returns at one point, by a plain call."""
    t = torch.tensor(x, dtype=F64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y, t)
    return y.item(), g.item()


def limits(fn, x: float) -> tuple[float, float]:
    """f's one-sided limits at ``x`` for a piecewise-constant ``fn``: one tiny step each side."""
    t = torch.tensor([x - 1e-9, x + 1e-9], dtype=F64)
    before, after = fn(t).tolist()
    return before, after


# --- jumps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target,fn,lo,hi",
    [
        ("floor", torch.floor, -2.5, 2.5),
        ("ceil", torch.ceil, -1.7, 1.2),
        ("sign", torch.sign, -1.0, 1.3),
        ("round", torch.round, -1.2, 1.9),
    ],
)
def test_jumps_report_limits_and_torchs_derivative_never_a_slope(target, fn, lo, hi) -> None:
    c = sample_curve(target, lo=lo, hi=hi)
    assert c.kinks, target
    assert not c.differentiable
    for k in c.kinks:
        assert k.kind == "jump"
        assert k.left is None and k.right is None
        assert (k.before, k.after) == limits(fn, k.x)
        value, grad = torch_at(fn, k.x)
        assert k.value == value and k.df == grad
        text = describe(k, f"x={k.x:g}")
        assert text.startswith(f"jump at x={k.x:g}: f jumps from {k.before:g} to {k.after:g}")
        assert "slope" not in text


def test_a_comparison_is_a_jump_without_gradient() -> None:
    c = sample_curve("x > 0", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    assert not c.differentiable and c.df is None
    (k,) = c.kinks
    assert (k.x, k.kind, k.df, k.before, k.after) == (0.0, "jump", None, 0.0, 1.0)
    assert "torch has no gradient there" in describe(k, "x=0")


def test_jump_at_an_irrational_point_is_located_by_bisection() -> None:
    c = sample_curve("floor(x * 3.14159)", {"x": "[0.5]"}, lo=0.1, hi=0.5)
    (k,) = c.kinks
    assert k.kind == "jump"
    assert k.x == pytest.approx(1 / 3.14159, rel=1e-12)
    assert (k.before, k.after) == (0.0, 1.0)


def test_jump_on_top_of_a_slope_gets_its_limits_not_nearby_values() -> None:
    # x + (x > 0): a unit jump at 0 on top of slope 1; the limits are 0 and 1 exactly
    c = sample_curve("x + (x > 0)", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.before, k.after) == ("jump", 0.0, 1.0)
    assert k.df == torch_at(lambda t: t + (t > 0), 0.0)[1]


# --- corners -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target,values,fn,at,slopes",
    [
        ("abs", None, torch.abs, 0.0, (-1.0, 1.0)),
        ("relu", None, torch.relu, 0.0, (0.0, 1.0)),
        ("clamp", {"min": "-0.5", "max": "0.75"}, lambda t: t.clamp(-0.5, 0.75), -0.5, (0, 1)),
        ("clamp", {"min": "-0.5", "max": "0.75"}, lambda t: t.clamp(-0.5, 0.75), 0.75, (1, 0)),
        ("2 * x - relu(x)", {"x": "[0.5]"}, lambda t: 2 * t - t.relu(), 0.0, (2.0, 1.0)),
    ],
)
def test_corners_have_their_finite_one_sided_slopes(target, values, fn, at, slopes) -> None:
    c = sample_curve(target, values, lo=-2.0, hi=2.0)
    (k,) = [k for k in c.kinks if k.x == at]
    assert k.kind == "corner"
    assert (k.left, k.right) == pytest.approx(slopes, abs=1e-9)
    value, grad = torch_at(fn, at)
    assert k.df == grad and k.value == value and k.before == k.after == value


def test_corner_slopes_are_extrapolated_not_biased_by_curvature() -> None:
    # |x^2 - 1| at 1: one-sided slopes exactly -2 and +2; a one-sided difference over a
    # step h would be off by h (the curvature), Richardson's extrapolation is not
    c = sample_curve("abs(x * x - 1)", {"x": "[0.5]"}, lo=0.0, hi=2.0)
    (k,) = c.kinks
    assert (k.kind, k.x) == ("corner", 1.0)
    assert (k.left, k.right) == (-2.0, 2.0)


# --- cusps -------------------------------------------------------------------------------


def test_cusp_has_signed_infinite_slopes() -> None:
    c = sample_curve("sqrt(abs(x))", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.x) == ("cusp", 0.0)
    assert (k.left, k.right) == (-math.inf, math.inf)
    value, grad = torch_at(lambda t: t.abs().sqrt(), 0.0)
    assert k.value == value
    assert math.isnan(k.df) and math.isnan(grad)  # what torch returns there, measured
    data = c.to_json()["kinks"][0]
    assert (data["kind"], data["left"], data["right"]) == ("cusp", "-inf", "inf")


def test_one_sided_cusp_is_put_at_its_place() -> None:
    # sqrt(relu(x)): flat on the left, vertical on the right, at exactly 0
    c = sample_curve("sqrt(relu(x))", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.x, k.left, k.right) == ("cusp", 0.0, 0.0, math.inf)


# --- nothing at all ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["tanh(50 * x)", "tanh(1000 * x)", "sigmoid(40 * x)", "x * abs(x)"]
)
def test_steep_or_smooth_functions_have_no_entry(target: str) -> None:
    c = sample_curve(target, {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    assert c.kinks == ()
    assert c.differentiable and "no corner, cusp or jump" in c.reason


def test_continuity_is_not_settled_by_the_grid() -> None:
    # with 5 samples tanh(50 x) looks like a step; bisection in float64 says it is not one
    c = sample_curve("tanh(50 * x)", {"x": "[0.5]"}, lo=-1.0, hi=1.0, points=5)
    assert [k.kind for k in c.kinks] == []


def test_classify_on_fixed_elements_drops_points_beside_a_jump() -> None:
    xs = torch.tensor([1.0, 1.0 - 1e-10, 0.5], dtype=F64)
    found = classify(torch.floor, None, xs, fixed=True)
    assert [(k.index, k.kind) for k in found] == [(0, "jump")]


def test_json_contract_of_every_kind() -> None:
    jump = sample_curve("sign", lo=-1.0, hi=1.0).to_json()
    json.dumps(jump)  # plain JSON
    (k,) = jump["kinks"]
    assert set(k) == {"x", "kind", "df", "left", "right", "before", "after", "f"}
    assert (k["kind"], k["left"], k["right"], k["before"], k["after"]) == (
        "jump",
        None,
        None,
        -1.0,
        1.0,
    )
    assert jump["differentiable"] is False and "jump at input=0" in jump["reason"]


# --- the grad report uses the same detector ------------------------------------------------


def test_grad_notes_name_the_kind_of_each_element() -> None:
    notes = run("sign", {"input": "[-1.0, 0.0, 2.0]"}).notes
    (note,) = [n for n in notes if "input[1]" in n]
    assert "jump at input[1] = 0: f jumps from -1 to 1" in note
    assert "slope" not in note
    corner = run("abs", {"input": "[-1.0, 0.0, 1.0]"}).notes
    assert any(
        "corner at input[1] = 0: the one-sided slopes are -1 (left) and +1" in n for n in corner
    )
    cusp = run("sqrt(abs(x))", {"x": "[0.0, 1e-9, 1.0]"}).notes
    assert any("cusp at x[0] = 0" in n for n in cusp)
    assert not any("x[1]" in n and "cusp" in n for n in cusp)  # 1e-9 has a derivative


def test_grad_notes_classify_the_first_thousand_and_count_the_rest() -> None:
    result = run("abs", {"input": "zeros(1500)"})
    assert len(result.kinks) == 1000
    assert [k.index for k in result.kinks[:3]] == [0, 1, 2]
    assert all(k.kind == "corner" for k in result.kinks)
    assert result.kinks[999].at == "input[999] = 0"
    assert "... and 995 more such points" in result.notes
    assert (
        "... and 500 more elements whose one-sided differences disagree; "
        "only the first 1,000 are classified"
    ) in result.notes


def test_differentiable_is_decided_where_f_has_a_value() -> None:
    # bce refuses inputs outside [0, 1]: those points have no graph, but the op does
    bce = sample_curve("binary_cross_entropy", lo=-1.0, hi=2.0)
    assert bce.df is not None and any(math.isfinite(d) for d in bce.df)
    assert "no grad_fn" not in bce.reason
    nowhere = sample_curve("log(x)", {"x": "[0.5]"}, lo=-3.0, hi=-1.0)
    assert not nowhere.differentiable and "no finite value anywhere" in nowhere.reason
    some = sample_curve("log(x)", {"x": "[0.5]"}, lo=-1.0, hi=1.0, points=21)
    assert some.differentiable and "(11 of 21 points have none)" in some.reason


def test_a_side_that_runs_away_has_an_infinite_limit_not_a_nearby_value() -> None:
    # where(x > 0, log(x), 0) at 0: f is 0 on the left and heads to -inf on the right
    c = sample_curve("where(x > 0, log(x), 0)", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.x, k.before, k.after) == ("jump", 0.0, 0.0, -math.inf)
    assert c.to_json()["kinks"][0]["after"] == "-inf"
    assert "f jumps from 0 to -inf" in describe(k, "x=0")


# --- what the detector must not say (found in review) --------------------------------------


def test_elements_beside_a_corner_are_not_corners() -> None:
    # relu has a derivative at -1e-9, 1e-12 and 1e-14 (0 and 1): only 0 is a corner
    result = run("relu", {"input": "[-1e-9, 1e-12, 0.0, 1e-14]"})
    assert [k.at for k in result.kinks] == ["input[2] = 0"]
    # sqrt(|x|) at 1e-7 has a derivative (torch: 1581.1); no kind may be claimed there
    result = run("sqrt(abs(x))", {"x": "[1e-7, 0.0]"})
    assert [(k.at, k.kind) for k in result.kinks] == [("x[1] = 0", "cusp")]


@pytest.mark.parametrize(
    "target",
    [
        "tanh(10000000 * x)",  # steep but smooth: the slope is finite (1e7), no cusp
        "abs(x) / log(abs(x))",  # the one-sided quotients 1/log(h) never settle: no slope quoted
        "abs(x) ** 0.01",  # limits that move too slowly to settle: no jump claimed
    ],
)
def test_no_kind_is_claimed_where_the_measurement_does_not_settle(target: str) -> None:
    c = sample_curve(target, {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    assert c.kinks == ()


def test_a_limit_is_not_a_remnant_of_the_step() -> None:
    # where(x > 0, sqrt(x), -1) at 0: after = 0 exactly (sqrt(1e-12) = 1e-6 is the step's)
    c = sample_curve("where(x > 0, sqrt(x), -1.0)", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.before, k.after) == ("jump", -1.0, 0.0)


def test_a_vertical_tangent_is_a_cusp() -> None:
    c = sample_curve("sign(x) * sqrt(abs(x))", {"x": "[0.5]"}, lo=-1.0, hi=1.0)
    (k,) = c.kinks
    assert (k.kind, k.x, k.left, k.right) == ("cusp", 0.0, math.inf, math.inf)
