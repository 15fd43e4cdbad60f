"""ops.direct_backward calls torch's engine directly; it must answer exactly as the public API.

And the reason it exists: a process's first graph (``run(..., formula=False)``) must not
import SymPy, which the public API's shape check pulls in through torch.fx.
"""

from __future__ import annotations

import pytest
import torch

from gradtui.ops import direct_backward, formulas, run
from tests.helpers import python


def _graph() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A shared sub-expression and two leaves: out = exp(x * y) * x."""
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.5, 0.25, -0.5], dtype=torch.float64, requires_grad=True)
    return torch.exp(x * y) * x, x, y


def test_backward_fills_the_same_grads_as_torch() -> None:
    v = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    out, x, y = _graph()
    direct_backward.backward(out, v)
    mine = (x.grad.clone(), y.grad.clone())
    out, x, y = _graph()
    torch.autograd.backward(out, v)
    assert torch.equal(mine[0], x.grad) and torch.equal(mine[1], y.grad)


def test_grad_matches_torch_first_and_second_order() -> None:
    out, x, _ = _graph()
    ones = out.new_ones(()).expand_as(out)
    (d1,) = direct_backward.grad(out, x, ones, create_graph=True)
    (d2,) = direct_backward.grad(d1, x, ones)
    out, x, _ = _graph()
    (t1,) = torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)
    (t2,) = torch.autograd.grad(t1, x, torch.ones_like(t1))
    assert torch.equal(d1.detach(), t1.detach()) and torch.equal(d2, t2)


def test_unused_input_materialises_as_zeros_like_torch() -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    got = direct_backward.grad(x * 2, [x, unused], torch.ones(2), materialize_grads=True)
    want = torch.autograd.grad(x * 2, [x, unused], torch.ones(2), materialize_grads=True)
    assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    assert torch.equal(got[1], torch.zeros(1, dtype=torch.float64))


def test_a_wrong_shape_gets_torchs_own_error() -> None:
    out, _, _ = _graph()
    with pytest.raises(RuntimeError) as mine:
        direct_backward.backward(out, torch.ones(2, dtype=torch.float64))
    out, _, _ = _graph()
    with pytest.raises(RuntimeError) as theirs:
        torch.autograd.backward(out, torch.ones(2, dtype=torch.float64))
    assert str(mine.value) == str(theirs.value)


def test_the_first_graph_of_a_process_does_not_import_sympy() -> None:
    code = (
        "import sys; from gradtui.ops import run; r = run.run('exp', {}, formula=False); "
        "print([s.node for s in r.steps], r.formula, 'sympy' in sys.modules)"
    )
    assert python(code).stdout.strip() == "['ExpBackward0', 'AccumulateGrad'] None False"


def test_formula_apart_equals_the_formula_in_run() -> None:
    values = {"input": "[0.5, -1.0]"}
    assert run.run("leaky_relu", values, formula=False).formula is None
    whole = run.run("leaky_relu", values).formula
    assert whole is not None and run.formula("leaky_relu", values) == whole
    assert formulas.warm()
    # cached by text and variable: asking again gives the very same string
    assert formulas.derivative_formula("x * exp(-x)", "x") is formulas.derivative_formula(
        "x * exp(-x)", "x"
    )
