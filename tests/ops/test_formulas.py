"""Symbolic derivatives, checked numerically against torch's own autograd.

Each formula's SymPy expression is evaluated at a few points and compared with the
gradient PyTorch computes for the same text through the language, so a wrong mapping
(or a wrong convention at a kink) fails here.
"""

from __future__ import annotations

import pytest
import torch

from gradtui.ops.errors import InputError
from gradtui.ops.formulas import ELEMENTWISE_FUNCTIONS, derivative, derivative_formula
from gradtui.ops.language import evaluate, parse
from tests.helpers import modules_after

# (expression, variable, points for the variable, other inputs' values)
CASES = [
    ("exp(x)", "x", [-1.0, 0.0, 2.0], {}),
    ("log(x)", "x", [0.5, 1.0, 3.0], {}),
    ("sqrt(x)", "x", [0.25, 1.0, 4.0], {}),
    ("sin(x) * cos(x)", "x", [-1.0, 0.3, 2.0], {}),
    ("tan(x)", "x", [-1.0, 0.0, 1.2], {}),
    ("asin(x) + acos(x) / 2 + atan(x)", "x", [-0.5, 0.0, 0.7], {}),
    ("sinh(x) - cosh(x) + tanh(x)", "x", [-1.0, 0.0, 1.5], {}),
    ("asinh(x) + atanh(x)", "x", [-0.5, 0.0, 0.5], {}),
    ("log1p(x) + expm1(x)", "x", [-0.5, 0.0, 1.0], {}),
    ("erf(x)", "x", [-1.0, 0.0, 0.5], {}),
    ("sigmoid(x)", "x", [-3.0, 0.0, 2.0], {}),
    ("gelu(x)", "x", [-2.0, 0.0, 1.0], {}),
    ("softplus(x)", "x", [-2.0, 0.5, 25.0], {}),
    ("softplus(x, beta=2.0)", "x", [-2.0, 0.5, 15.0], {}),
    ("silu(x)", "x", [-2.0, 0.0, 1.0], {}),
    ("x * sin(x) + exp(-x**2) / 2", "x", [-1.0, 0.5, 2.0], {}),
    ("pow(x, 3) - x**2.5", "x", [0.5, 1.0, 2.0], {}),
    ("x**y", "y", [-1.0, 0.5, 2.0], {"x": 2.0}),
    ("mul(x, y) + div(x, y) - sub(y, x) + add(x, 1)", "y", [-1.0, 0.5, 3.0], {"x": 1.5}),
    ("2 * pi * x / 3", "x", [0.0, 1.0], {}),
    # kinks: the formula must give what torch's backward gives AT the kink
    ("relu(x)", "x", [-1.0, 0.0, 2.0], {}),
    ("leaky_relu(x, 0.2)", "x", [-1.0, 0.0, 1.0], {}),
    ("leaky_relu(x)", "x", [-1.0, 0.0, 1.0], {}),
    ("elu(x, 0.5)", "x", [-1.0, 0.0, 1.0], {}),
    ("abs(x)", "x", [-1.0, 0.0, 1.0], {}),
    ("clamp(x, -1, 1)", "x", [-2.0, -1.0, 0.0, 1.0, 2.0], {}),
    ("clamp(x, min=0.0)", "x", [-2.0, 0.0, 0.5, 1.0, 2.0], {}),
    ("maximum(x, y)", "x", [-1.0, 0.5, 2.0], {"y": 0.5}),  # a tie at 0.5
    ("minimum(x, 2 * x)", "x", [-1.0, 0.0, 1.0], {}),  # a tie at 0
    ("sign(x) * x", "x", [-1.0, 0.0, 1.0], {}),
    ("floor(x) * x + ceil(x)", "x", [-1.5, 0.5, 2.25], {}),
    ("round(x) + x", "x", [-1.2, 0.3, 2.6], {}),
]


@pytest.mark.parametrize("text, var, points, others", CASES, ids=[c[0] for c in CASES])
def test_formula_matches_torch_autograd(text: str, var: str, points, others) -> None:
    import sympy

    df = derivative(text, var)
    assert df is not None
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    env = {name: torch.tensor(value, dtype=torch.float64) for name, value in others.items()}
    env[var] = x
    out = evaluate(parse(text), env, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out.sum(), x)
    symbols = {name: sympy.Symbol(name, real=True) for name in (*others, var)}
    for point, expected in zip(points, grad.tolist(), strict=True):
        values = {symbols[n]: v for n, v in others.items()}
        values[symbols[var]] = point
        got = float(df.subs(values).evalf())
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (text, point)


def test_format_is_d_by_d_var_bracket_expression() -> None:
    assert derivative_formula("exp(input)", "input") == "d/d input [exp(input)] = exp(input)"
    assert derivative_formula("x*sin(x)", "x") == "d/d x [x*sin(x)] = x*cos(x) + sin(x)"
    assert derivative_formula("  x   +  1 ", "x") == "d/d x [x + 1] = 1"


def test_piecewise_reads_as_a_conditional() -> None:
    text = derivative_formula("relu(x)", "x")
    assert text is not None and text.startswith("d/d x [relu(x)] = (")
    assert " if x > 0 else " in text or " if x >= 0 else " in text


def test_abs_gives_sign_with_sign_of_zero_zero() -> None:
    assert derivative_formula("abs(x)", "x") == "d/d x [abs(x)] = sign(x)"


def test_step_functions_have_derivative_zero_like_torch() -> None:
    for name in ("sign", "floor", "ceil", "round"):
        assert derivative_formula(f"{name}(x)", "x") == f"d/d x [{name}(x)] = 0"


def test_a_variable_not_in_the_expression_gives_zero() -> None:
    assert derivative_formula("exp(x)", "y") == "d/d y [exp(x)] = 0"


def test_accepts_parsed_text() -> None:
    assert derivative_formula(parse("sin(t)"), "t") == "d/d t [sin(t)] = cos(t)"


@pytest.mark.parametrize(
    "text",
    [
        "sum(x)",
        "mean(x ** 2)",
        "softmax(x, 0)",
        "log_softmax(x, 0)",
        "x @ x",
        "matmul(x, x)",
        "x < 1",
        "lt(x, 1.0)",
        "where(x > 0, x, 0.0)",
        "[1.0, 2.0] * x",
        "zeros(2) + x",
        "mse_loss(x, x)",
        "cross_entropy(x, x)",
        "gather(x, 0, x)",
        "exp(sum(x))",
        "max(x)",
        "cumsum(x, 0)",
    ],
)
def test_non_elementwise_gives_none(text: str) -> None:
    assert derivative_formula(text, "x") is None


def test_refused_text_raises_input_error() -> None:
    with pytest.raises(InputError):
        derivative_formula("x.grad", "x")


def test_every_mapped_function_is_offered_by_the_language() -> None:
    import gradtui.ops.language as language

    assert ELEMENTWISE_FUNCTIONS <= language.FUNCTION_NAMES


def test_deep_expressions_get_their_formula() -> None:
    """Deep and long expressions are differentiated, not given up on (how long SymPy
    takes is a figure of ``tests/benchmarks/deadlines.py``, not a limit here)."""
    deep = "sin(" * 30 + "x" + ")" * 30
    assert derivative_formula(deep, "x") is not None
    assert (
        derivative_formula("*".join(["x"] * 60), "x")
        == "d/d x [" + "*".join(["x"] * 60) + "] = 60*x**59"
    )


def test_importing_formulas_does_not_import_sympy() -> None:
    """The TUI's first paint must not wait for SymPy."""
    loaded = modules_after("import gradtui.ops.formulas")
    assert "gradtui.ops.formulas" in loaded
    assert "sympy" not in loaded
