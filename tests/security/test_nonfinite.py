"""NaN and ±inf survive every layer, and the classic ``where`` trap is explained.

Inputs, outputs, upstream gradients and gradients may all be non-finite. The engine
keeps them as floats, the JSON spells them ``"nan"``, ``"inf"``, ``"-inf"`` (strict JSON
stays valid), and the CLI's text prints ``nan``/``inf``/``-inf``. For
``where(x > 0, log(x), 0)`` the gradient at ``x = 0`` is ``nan`` although the function
is 0 there: backward also runs through the branch not taken, and ``0 * inf = nan``;
at ``x < 0`` the same mechanism gives ``-0.``. A note says so, and it is measured: it
does not blame ``where`` for an ``inf`` that comes from elsewhere.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from gradtui.ops.curves import sample_curve
from gradtui.ops.run import run
from tests.helpers import gradtui_many


def _strict(text: str):  # noqa: ANN202 - any JSON value
    """json.loads that refuses the non-standard NaN/Infinity tokens."""

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _is(value: float, want: str) -> bool:
    if want == "nan":
        return isinstance(value, float) and math.isnan(value)
    if want == "-0":
        return value == 0 and math.copysign(1.0, value) < 0
    return value == float(want)


def test_non_finite_inputs_outputs_and_grads_stay_floats() -> None:
    r = run("exp", {"input": "[nan, inf, -inf, 0.0]"}, dtype="float64")
    x, out, grad = r.inputs["input"].tensor.value, r.output.tensor.value, r.grads["input"].value
    assert [_is(a, w) for a, w in zip(x, ["nan", "inf", "-inf", "0"], strict=True)] == [True] * 4
    assert math.isnan(out[0]) and out[1] == math.inf and out[2] == 0.0 and out[3] == 1.0
    assert math.isnan(grad[0]) and grad[1] == math.inf and grad[2] == 0.0 and grad[3] == 1.0
    steps = r.steps[0]
    assert math.isnan(steps.grad_inputs[0].value[0])  # the stepper's numbers, not just .grad
    data = r.to_json()
    assert data["inputs"]["input"]["value"] == ["nan", "inf", "-inf", 0.0]
    assert data["grads"]["input"] == ["nan", "inf", 0.0, 1.0]
    assert _strict(json.dumps(data, allow_nan=False))["output"]["value"][:2] == ["nan", "inf"]


def test_non_finite_v_and_grads_from_a_finite_input() -> None:
    r = run("sqrt", {"input": "[0.0, -1.0, 4.0]"}, grad_output="[1.0, 1.0, inf]")
    g = r.grads["input"].value
    assert g[0] == math.inf and math.isnan(g[1]) and g[2] == math.inf
    assert r.grad_output.value[2] == math.inf
    json.dumps(r.to_json(), allow_nan=False)


def test_curves_keep_non_finite_values_as_gaps() -> None:
    c = sample_curve("log", lo=-2.0, hi=2.0, points=5)  # -2, -1, 0, 1, 2
    assert any(math.isnan(v) for v in c.f)  # log of a negative number
    assert any(v == -math.inf for v in c.f)  # log(0)
    data = _strict(json.dumps(c.to_json(), allow_nan=False))
    assert "nan" in data["f"] and "-inf" in data["f"]


# --------------------------------------------------------------------------- the where trap


def test_where_log_nan_at_zero_is_explained_as_the_branch_not_taken() -> None:
    r = run("where(x > 0, log(x), 0)", {"x": "[0.0, 2.0]"})
    assert r.output.tensor.value == [0.0, pytest.approx(math.log(2))]  # finite output
    g = r.grads["x"].value
    assert math.isnan(g[0]) and g[1] == 0.5
    [note] = [n for n in r.notes if "where()" in n]
    assert "x.grad is nan at x[0]" in note
    assert "branch where() did not take" in note
    assert "0 * inf = nan" in note
    # the step record shows the mechanism: a zero goes into LogBackward0 and nan comes out
    log_step = next(s for s in r.steps if s.node == "LogBackward0")
    assert log_step.grad_outputs[0].value[0] == 0.0
    assert math.isnan(log_step.grad_inputs[0].value[0])


def test_where_log_negative_zero_is_explained_too() -> None:
    r = run("where(x > 0, log(x), 0)", {"x": "[-1.0, 2.0, 0.0]"})
    g = r.grads["x"].value
    assert _is(g[0], "-0") and math.isnan(g[2])
    notes = " ".join(r.notes)
    assert "x.grad is nan at x[2]" in notes
    assert "x.grad is -0. (a zero with a minus sign) at x[0]" in notes
    assert "local derivative is -1" in notes


def test_where_note_explains_each_blamed_position_with_its_own_product() -> None:
    """sqrt'(0) = inf and sqrt'(-1) = nan: two positions, two different products."""
    r = run("where(x > 0, sqrt(x), 0)", {"x": "[0.0, -1.0, 2.0]"})
    g = r.grads["x"].value
    assert math.isnan(g[0]) and math.isnan(g[1]) and math.isfinite(g[2])
    [note] = [n for n in r.notes if "where()" in n]
    assert "x.grad is nan at x[0], x[1]:" in note
    # sqrt's own local derivative at each point, asked of torch here, not in the engine
    x = torch.tensor([0.0, -1.0], requires_grad=True)
    torch.sqrt(x).backward(torch.ones(2))
    d0, d1 = x.grad.tolist()
    assert d0 == math.inf and math.isnan(d1)
    first = f"at x[0] = 0, where its local derivative is {d0:g}, and 0 * {d0:g} = nan"
    second = f"at x[1] = -1, where its local derivative is {d1:g}, and 0 * {d1:g} = nan"
    assert first == "at x[0] = 0, where its local derivative is inf, and 0 * inf = nan"
    assert first in note and second in note
    assert note.index(first) < note.index(second)


def test_an_inf_from_elsewhere_is_not_blamed_on_where() -> None:
    """sqrt'(0) = inf beside a where: measured, the where's branches are not the cause."""
    r = run("where(x > 1, x, 0) + sqrt(x)", {"x": "[0.0, 2.0]"})
    assert r.grads["x"].value[0] == math.inf
    assert not any("where() did not take" in n for n in r.notes)
    assert any("derivative is infinite or undefined" in n for n in r.notes)


def test_where_with_no_trap_has_no_note() -> None:
    r = run("where(x > 0, log(x), 0)", {"x": "[1.0, 2.0]"})
    assert all(math.isfinite(v) for v in r.grads["x"].value)
    assert not any("where()" in n for n in r.notes)


def test_the_cli_prints_non_finite_numbers_and_explains_the_where_trap(tmp_path: Path) -> None:
    exp_text, where_text, where_json = gradtui_many(
        [
            ["grad", "exp", "--set", "input=[nan, inf, -inf]"],
            ["grad", "where(x > 0, log(x), 0)", "--set", "x=[0.0, 2.0]"],
            ["grad", "where(x > 0, log(x), 0)", "--set", "x=[0.0, 2.0]", "--json"],
        ],
        tmp_path,
    )
    assert exp_text.returncode == 0, exp_text.stderr
    assert "input    = [nan, inf, -inf]" in exp_text.stdout
    assert "input.grad = [nan, inf, 0.]" in exp_text.stdout
    assert where_text.returncode == 0, where_text.stderr
    assert "x.grad = [nan, 0.5]" in where_text.stdout
    assert "note: x.grad is nan at x[0]: it comes from the branch where() did not take" in (
        where_text.stdout
    )
    data = _strict(where_json.stdout)  # strict JSON: nan is the string "nan"
    assert data["grads"]["x"] == ["nan", 0.5]
    assert data["steps"][1]["grad_inputs"][0][0] == "nan"
    assert any("branch where() did not take" in n for n in data["notes"])
