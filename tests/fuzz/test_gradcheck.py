"""Random valid expressions: PyTorch's gradients through gradtui pass ``gradcheck`` in float64.

The expressions come from the grammar in :mod:`tests.fuzz.grammar` (``st.recursive``
over the language's functions); the points are random vectors ``x``, ``y`` in [-3, 3].
A point is skipped only where a guard says a kink or a singularity is near, or where
the value or gradient is non-finite or huge (a finite-difference check means nothing
there). Everything else must pass ``torch.autograd.gradcheck`` through the language's
evaluator, and ``ops.run.run`` must report exactly the gradients autograd gives.
"""

from __future__ import annotations

import torch
from hypothesis import assume
from hypothesis import strategies as st

from gradtui.ops import language
from gradtui.ops.run import run
from tests.fuzz.grammar import POINT, Expr, expressions, guards_hold

F64 = torch.float64
BIG = 1e6
CASES = st.tuples(expressions(), POINT, POINT)


def _prepare(case: tuple[Expr, list[float], list[float]]):  # noqa: ANN202
    expr, xs, ys = case
    parsed = language.parse(expr.text)  # valid by construction: a refusal fails the test
    x = torch.tensor(xs, dtype=F64, requires_grad=True)
    y = torch.tensor(ys, dtype=F64, requires_grad=True)
    assume(guards_hold(expr, {"x": x.detach(), "y": y.detach()}))

    def f(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return language.evaluate(parsed, {"x": x, "y": y}, dtype=F64)

    out = f(x, y)
    value = out.detach()
    assume(bool(torch.isfinite(value).all()) and float(value.abs().max()) < BIG)
    return parsed, f, x, y, out


def _grads(out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor | None]:
    return list(torch.autograd.grad(out, (x, y), torch.ones_like(out), allow_unused=True))


def test_valid_expressions_pass_gradcheck(fuzz) -> None:  # noqa: ANN001 - the fuzz fixture
    def check(case: tuple[Expr, list[float], list[float]]) -> None:
        parsed, f, x, y, out = _prepare(case)
        if not out.requires_grad:
            fuzz.count("constant")  # no x or y in it: nothing to check
            return
        for g in _grads(out, x, y):
            assume(g is None or (bool(torch.isfinite(g).all()) and float(g.abs().max()) < BIG))
        assert torch.autograd.gradcheck(f, (x, y), eps=1e-6, atol=1e-5, rtol=1e-3)
        fuzz.count("gradchecked")

    fuzz.run(CASES, check, examples=500)
    assert fuzz.counts.get("gradchecked", 0) >= 350  # the guards skip some points, not most


def test_run_reports_the_gradients_autograd_gives(fuzz) -> None:  # noqa: ANN001
    def check(case: tuple[Expr, list[float], list[float]]) -> None:
        parsed, f, x, y, out = _prepare(case)
        assume(out.requires_grad)
        grads = dict(zip(("x", "y"), _grads(out, x, y), strict=True))
        values = {
            n: repr(t.detach().tolist()) for n, t in (("x", x), ("y", y)) if n in parsed.names
        }
        text = case[0].text
        target = f"({text})" if text.isidentifier() else text  # a bare name means a catalog op
        result = run(target, values, dtype="float64", timeout=30)
        assert result.output.tensor.value == out.detach().tolist()
        for name in parsed.names:
            want = grads[name]
            got = result.grads[name]
            if want is None:
                assert got is None or not any(torch.tensor(got.value).reshape(-1)), name
            else:
                torch.testing.assert_close(torch.tensor(got.value, dtype=F64), want, equal_nan=True)
        fuzz.count("compared")

    fuzz.run(CASES, check, examples=40)
