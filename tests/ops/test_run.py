"""run/prepare: the seed page's claims, measured; expressions; every error a person can cause."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from gradtui.ops.errors import InputError
from gradtui.ops.prepare import DEFAULT_FREE_INPUT, default_values, input_names, prepare
from gradtui.ops.run import run


def _t(data, dtype=torch.float64):
    return torch.tensor(data.value, dtype=dtype)


def _torch_says(action) -> str:
    """The message torch raises for ``action``, measured here, independently of ops.run."""
    with pytest.raises(RuntimeError) as info:
        action()
    return str(info.value).splitlines()[0]


# --- the seed page -------------------------------------------------------------------


def test_lt_has_no_grad_fn_and_backward_raises():
    """Seed: "z.sum().backward(); x.grad is [1, 0, 0]". torch says otherwise."""
    x, y = torch.tensor([1, 2, 3]), torch.tensor([2, 2, 2])
    no_grad_fn = _torch_says(lambda: torch.lt(x, y).sum().backward())
    int_refused = _torch_says(lambda: torch.tensor([1, 2, 3]).requires_grad_())

    result = run("lt")
    assert result.output is not None
    assert result.output.grad_fn is None
    assert result.output.tensor.dtype == "bool"
    assert result.output.tensor.value == torch.lt(x, y).tolist()
    assert result.differentiable is False
    assert "grad_fn" in result.reason
    assert no_grad_fn in result.reason  # torch's own words, quoted
    assert int_refused in result.reason  # and the integer inputs could not require grad
    assert result.grads == {"input": None, "other": None}
    assert result.steps == ()
    assert not result.inputs["input"].requires_grad
    # Even float inputs give a bool output without grad_fn: measured, and said.
    assert any("grad_fn=None" in note for note in result.notes)


def test_lt_with_float_inputs_still_has_no_gradient():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    no_grad_fn = _torch_says(lambda: torch.lt(x, 2.0).sum().backward())
    result = run("lt", {"input": "[1.0, 2.0, 3.0]", "other": "[2.0, 2.0, 2.0]"})
    assert result.inputs["input"].requires_grad is True
    assert result.differentiable is False
    assert no_grad_fn in result.reason
    assert "refuses" not in result.reason  # nothing refused this time: only the bool output


def test_abs_on_integers_cannot_require_grad():
    refused = _torch_says(lambda: torch.tensor([-1, 0, 1]).requires_grad_(True))
    result = run("abs", {"input": "[-1, 0, 1]"})
    assert result.inputs["input"].tensor.dtype == "int64"
    assert result.inputs["input"].requires_grad is False
    assert result.differentiable is False
    assert refused in result.reason
    assert result.output.tensor.value == [1, 0, 1]
    # The measured way out: the same values as floats get AbsBackward0.
    assert any("AbsBackward0" in note for note in result.notes)


def test_abs_at_zero_is_a_convention():
    result = run("abs")  # default [-1.0, 0.0, 1.0], the seed's values as floats
    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    torch.abs(x).sum().backward()
    assert result.grads["input"].value == x.grad.tolist()
    assert result.grads["input"].value[1] == 0.0
    [note] = [n for n in result.notes if "input[1]" in n]
    assert "-1" in note and "+1" in note  # the one-sided slopes, float64
    assert "returns f′=0" in note and "convention" in note
    # Only the kink gets a note; -1 and 1 are smooth points.
    assert not any("input[0]" in n or "input[2]" in n for n in result.notes)


def test_exp_gradient_is_exp_and_expbackward_saves_its_result():
    result = run("exp")
    x = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(_t(result.grads["input"], torch.float32), torch.exp(x))
    assert result.output.grad_fn == "ExpBackward0"
    assert [s.node for s in result.steps] == ["ExpBackward0", "AccumulateGrad"]
    exp_step = result.steps[0]
    torch.testing.assert_close(_t(exp_step.saved["result"], torch.float32), torch.exp(x))
    assert exp_step.rule == CATALOG_RULE("exp")
    assert exp_step.next[0].input == "input"
    assert result.steps[1].leaf == "input"
    torch.testing.assert_close(_t(result.steps[1].grad_outputs[0], torch.float32), torch.exp(x))


def CATALOG_RULE(name):
    from gradtui.ops.catalog import CATALOG

    return CATALOG[name].rule


def test_sgd_l1_step_shows_its_parts():
    result = run("sgd_l1_step", dtype="float64")
    p = prepare("sgd_l1_step", dtype="float64")
    w0, data, target = p.tensors["param"], p.tensors["input"], p.tensors["target"]
    lr, l1 = p.tensors["lr"], p.tensors["l1"]
    assert isinstance(lr, float) and isinstance(l1, float)

    # The witness: the same step written out by hand with autograd.
    w = w0.clone().requires_grad_(True)
    (data_grad,) = torch.autograd.grad(F.mse_loss(data @ w, target), w)
    w = w0.clone().requires_grad_(True)
    (l1_grad,) = torch.autograd.grad(l1 * w.abs().sum(), w)
    total = data_grad + l1_grad

    torch.testing.assert_close(_t(result.extras["data_grad"]), data_grad)
    torch.testing.assert_close(_t(result.extras["l1_grad"]), l1_grad)
    torch.testing.assert_close(_t(result.grads["param"]), total)
    torch.testing.assert_close(_t(result.extras["updated"]), w0 - lr * total)
    zero = (w0 == 0).nonzero().reshape(-1).tolist()
    assert zero, "the default parameter has an exact zero"
    for i in zero:
        assert result.extras["l1_grad"].value[i] == 0.0
        assert any(f"param[{i}] is exactly 0" in n and "sign(0) = 0" in n for n in result.notes)
    assert result.grads["input"] is None and result.grads["lr"] is None
    assert any(s.node == "AbsBackward0" for s in result.steps)
    json.dumps(result.to_json())


# --- expressions ---------------------------------------------------------------------


def test_expression_free_names_and_default_input():
    result = run("x**2 * sin(y)", {"y": "[0.0, 1.0, 3.0]"}, dtype="float64")
    assert list(result.inputs) == ["x", "y"]
    assert result.inputs["x"].text == DEFAULT_FREE_INPUT  # x was not set
    assert result.expression == "x**2 * sin(y)"
    x = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(_t(result.grads["x"]), 2 * x * torch.sin(y))
    torch.testing.assert_close(_t(result.grads["y"]), x**2 * torch.cos(y))
    with pytest.raises(InputError):  # shapes (3,) and (2,) do not broadcast
        run("x * y", {"y": "[0.0, 1.0]"})


def test_comparison_in_an_expression_is_torch_lt():
    result = run("x < y", {"x": "[1.0, 2.0, 3.0]", "y": "[2.0, 2.0, 2.0]"})
    assert result.output.tensor.dtype == "bool"
    assert result.differentiable is False and "grad_fn" in result.reason


def test_elementwise_is_measured_for_expressions():
    assert prepare("sin(x) * x").elementwise is True
    assert prepare("x * sum(x)").elementwise is False
    assert prepare("x * y").elementwise is False
    assert prepare("exp").elementwise is True
    assert prepare("gather").elementwise is False


def test_nan_from_a_branch_not_taken_gets_a_note():
    result = run("where(x > 0, sqrt(x), x)", {"x": "[-1.0, 4.0]"})
    assert result.output.tensor.value == [-1.0, 2.0]
    assert result.differentiable
    assert result.grads["x"].value[0] != result.grads["x"].value[0]  # nan, measured by torch
    assert any("where()" in n for n in result.notes)


def test_zero_gradient_at_a_point_is_not_zero_everywhere():
    result = run("relu", {"input": "[-1.0, -2.0]"})
    assert result.grads["input"].value == [0.0, 0.0]
    assert result.reason is None
    assert any("not everywhere" in n for n in result.notes)


def test_an_integer_input_next_to_a_float_one_is_a_note():
    result = run("mul", {"other": "[1, 2, 3]"})
    assert result.differentiable is True
    assert result.grads["other"] is None
    assert result.grads["input"].value == [1.0, 2.0, 3.0]
    assert any("other is an int64 tensor" in n for n in result.notes)


# --- v --------------------------------------------------------------------------------


def test_grad_output_default_and_given():
    x = torch.tensor([1.0, 2.0, 3.0])
    default = run("exp")
    assert default.grad_output.value == [1.0, 1.0, 1.0]
    result = run("exp", grad_output="[1.0, 0.0, 2.0]")
    v = torch.tensor([1.0, 0.0, 2.0])
    torch.testing.assert_close(_t(result.grads["input"], torch.float32), v * torch.exp(x))
    assert result.steps[0].grad_outputs[0].value == v.tolist()
    scalar = run("exp", grad_output="2")
    assert scalar.grad_output.value == [2.0, 2.0, 2.0]
    assert scalar.grad_output.dtype == "float32"


# --- inputs and errors ---------------------------------------------------------------


def test_input_names_and_defaults():
    assert input_names("gather") == ("input", "dim", "index")
    assert input_names("sin(b) + a") == ("b", "a")
    assert default_values("exp") == {"input": "[1.0, 2.0, 3.0]"}
    assert default_values("x * y") == {"x": DEFAULT_FREE_INPUT, "y": DEFAULT_FREE_INPUT}
    p = prepare("gather", {"dim": "0"})
    assert p.tensors["dim"] == 0 and isinstance(p.tensors["dim"], int)
    assert p.texts["dim"] == "0"
    assert p.requires_grad == {"input": True, "dim": False, "index": False}
    assert p.tensors["index"].dtype == torch.int64
    assert prepare("exp", dtype="float64").tensors["input"].dtype == torch.float64


def _error(call) -> InputError:
    with pytest.raises(InputError) as info:
        call()
    return info.value


def test_errors_name_their_field():
    assert _error(lambda: run("exp", {"input": "[1.0, 2.0"})).field == "input"
    assert _error(lambda: run("exp", {"input": "__import__('os')"})).field == "input"
    assert _error(lambda: prepare("gather", {"dim": "1.5"})).field == "dim"
    assert _error(lambda: run("x * 2", {"x": "[1.0, y]"})).field == "x"
    assert _error(lambda: run("exp", grad_output="[1.0,")).field == "v"
    wrong = _error(lambda: run("exp", grad_output="[1.0, 2.0]"))
    assert wrong.field == "v" and "shape" in wrong.message
    assert _error(lambda: run("x +")).field == "expression"
    assert _error(lambda: run("exp", dtype="int8")).field == "dtype"


def test_unknown_names():
    unknown_op = _error(lambda: run("xep"))
    assert unknown_op.message == "unknown op 'xep'; did you mean 'exp'?"
    assert unknown_op.field == "expression"
    bad_key = _error(lambda: run("gather", {"inptu": "[1.0]"}))
    assert bad_key.field == "inptu"
    assert "input, dim, index" in bad_key.message
    assert "x" in _error(lambda: run("x * 2", {"y": "1.0"})).message


def test_torch_refusing_the_forward_pass_is_an_input_error():
    error = _error(lambda: run("matmul", {"other": "[[1.0, 2.0, 3.0]]"}))
    assert "forward" in error.message or "cannot" in error.message


def test_json_contract_holds_for_answers_with_and_without_gradient():
    for result in (run("lt"), run("exp"), run("abs", {"input": "[-1, 0, 1]"}), run("floor")):
        data = json.loads(json.dumps(result.to_json()))
        assert set(data) >= {"target", "expression", "inputs", "output", "differentiable"}
        assert data["differentiable"] == result.differentiable
        assert len(data["steps"]) == len(result.steps)


def test_a_huge_catalog_output_is_refused_before_it_is_made():
    error = _error(lambda: run("outer", {"input": "ones(100000)", "vec2": "ones(100000)"}))
    assert "elements" in error.message


def test_torch_warnings_become_notes(recwarn):
    result = run("mse_loss", {"target": "1.0"})  # broadcasting a 0-d target: torch warns
    assert any(n.startswith("torch warns: Using a target size") for n in result.notes)
    assert len(recwarn) == 0  # and nothing leaks to the terminal


def test_formula_for_elementwise_ops_and_expressions_only():
    assert run("exp").formula == "d/d input [exp(input)] = exp(input)"
    leaky = run("leaky_relu", {"negative_slope": "0.2"}).formula
    assert leaky is not None and "0.2" in leaky  # the plain-number input is filled in
    both = run("x**2 * sin(y)").formula
    assert both is not None and "d/d x" in both and "d/d y" in both
    assert run("gather").formula is None
    assert run("cross_entropy").formula is None


@pytest.mark.parametrize(
    ("target", "values", "v"),
    [
        ("x + y", {"x": "[1., 2.]", "y": "[1., 2., 3.]"}, None),  # torch refuses the forward
        ("exp", {"input": "[1., 2.]"}, "[1., 2., 3.]"),  # v of the wrong shape
        ("exp(", {}, None),  # text that does not parse
        ("nosuchop", {}, None),  # an unknown op
    ],
)
def test_check_refuses_what_run_refuses_in_the_same_words(target, values, v) -> None:
    from gradtui.ops.run import check

    with pytest.raises(InputError) as by_run:
        run(target, values, grad_output=v)
    with pytest.raises(InputError) as by_check:
        check(target, values, grad_output=v)
    assert str(by_check.value) == str(by_run.value)
    assert by_check.value.field == by_run.value.field


def test_check_answers_with_every_inputs_text_as_run_does() -> None:
    from gradtui.ops.run import check

    texts = check("mul", {"input": "[1., 2., 3.]"}, grad_output="[3., 4., 5.]")
    result = run("mul", {"input": "[1., 2., 3.]"}, grad_output="[3., 4., 5.]")
    assert texts == {name: value.text for name, value in result.inputs.items()}
    assert texts["input"] == "[1., 2., 3.]" and len(texts) == len(result.inputs) >= 2
