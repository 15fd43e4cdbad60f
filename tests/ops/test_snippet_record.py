"""A snippet's backward passes, warnings and claims.

- Each ``.backward()`` / ``torch.autograd.grad`` call is one ``backwards`` entry with the
  statement's line and text, and its steps are those of the shared recorder run on the
  same graph outside the snippet (``record_backward`` / ``record_call``).
- Warnings torch issues while a statement runs are kept on that statement, as CPython
  issues them.
- A claim is a trailing comment on a printing line, compared by :func:`collapse`.
"""

from __future__ import annotations

import pytest
import torch

from gradtui.ops.backward import record_backward, record_call
from gradtui.ops.results import SnippetResult, step_json
from gradtui.ops.snippet import collapse, run_snippet
from tests.ops.snippet_reference import cpython


def _printed(result: SnippetResult) -> list[str]:
    return [p for s in result.all_statements() if not s.body for p in s.printed]


# ------------------------------------------------------------------ backward passes


def test_each_backward_call_is_one_record_with_its_line_and_text() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x.exp() * x).sum()
y.backward(retain_graph=True)
print(x.grad)
(g,) = torch.autograd.grad(y, x, retain_graph=True)
with torch.enable_grad():
    y.backward()
print(x.grad)
"""
    )
    assert result.stopped_at is None
    assert [(b.line, b.call) for b in result.backwards] == [
        (4, "y.backward(retain_graph=True)"),
        (6, "torch.autograd.grad(y, x, retain_graph=True)"),
        (8, "y.backward()"),
    ]

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.exp() * x).sum()
    direct = record_backward(y, torch.ones(()), {"x": x})
    first = result.backwards[0].steps
    assert [s.node for s in first] == [s.node for s in direct]
    assert [s.leaf for s in first] == [s.leaf for s in direct]
    assert [step_json(s) for s in first] == [step_json(s) for s in direct]
    assert first[-1].node == "AccumulateGrad" and first[-1].leaf == "x"
    assert _printed(result)[0] == str(x.grad)
    # The second backward accumulates into x.grad, as torch does: twice the first.
    assert x.grad is not None
    assert _printed(result)[1] == str(x.grad + x.grad)
    # torch.autograd.grad runs the graph but fills no .grad: no AccumulateGrad step.
    grad_nodes = [s.node for s in result.backwards[1].steps]
    assert "AccumulateGrad" not in grad_nodes
    assert grad_nodes == [s.node for s in direct if s.node != "AccumulateGrad"]


def test_autograd_grad_with_create_graph_is_recorded_as_the_recorder_records_it() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([0.5, 1.5], requires_grad=True)
y = torch.sin(x).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), x)
print(h)
"""
    )
    assert [(b.line, b.call) for b in result.backwards] == [
        (4, "torch.autograd.grad(y, x, create_graph=True)"),
        (5, "torch.autograd.grad(g.sum(), x)"),
    ]
    x = torch.tensor([0.5, 1.5], requires_grad=True)
    y = torch.sin(x).sum()
    (g,), first = record_call((y,), lambda: torch.autograd.grad(y, x, create_graph=True), {"x": x})
    s = g.sum()
    (h,), second = record_call((s,), lambda: torch.autograd.grad(s, x), {"x": x})
    for got, want in zip(result.backwards, (first, second), strict=True):
        assert [step_json(step) for step in got.steps] == [step_json(step) for step in want]
    assert _printed(result) == [str(h)]
    assert torch.equal(h, -torch.sin(x.detach()))


def test_jacobian_product_records_the_gradient_given() -> None:
    result = run_snippet(
        """import torch
inp = torch.eye(2, 3, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
out.backward(gradient=2 * torch.ones_like(out))
print(inp.grad)
"""
    )
    assert [b.line for b in result.backwards] == [4, 5]
    inp = torch.eye(2, 3, requires_grad=True)
    out = (inp + 1).pow(2).t()
    leaves = {"inp": inp}
    _none, first = record_call(
        (out,), lambda: out.backward(torch.ones_like(out), retain_graph=True), leaves
    )
    _none, second = record_call(
        (out,), lambda: out.backward(gradient=2 * torch.ones_like(out)), leaves
    )
    for record, want, scale in zip(result.backwards, (first, second), (1, 2), strict=True):
        assert [step_json(s) for s in record.steps] == [step_json(s) for s in want]
        root = record.steps[0]
        assert root.node == "TBackward0" and root.grad_outputs[0] is not None
        assert root.grad_outputs[0].value == (scale * torch.ones(3, 2)).tolist()
    assert _printed(result) == [str(inp.grad)]


def test_a_backward_that_raises_records_nothing_and_stops() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1.0, 2.0])
x.sum().backward()
"""
    )
    assert result.stopped_at == 3
    assert result.backwards == ()


def test_steps_match_grad_json_shape() -> None:
    result = run_snippet(
        "import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\nx.exp().sum().backward()"
    )
    (record,) = result.to_json()["backwards"]
    assert record["line"] == 3
    assert [s["node"] for s in record["steps"]] == [
        "SumBackward0",
        "ExpBackward0",
        "AccumulateGrad",
    ]
    for i, step in enumerate(record["steps"]):
        assert set(step) == {
            "index",
            "node",
            "grad_outputs",
            "grad_inputs",
            "saved",
            "next",
            "leaf",
        }
        assert step["index"] == i
    assert record["steps"][-1]["leaf"] == "x"


# ------------------------------------------------------------------ warnings


def test_torch_warnings_are_kept_as_cpython_issues_them() -> None:
    text = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
y.sum().backward()
print(y.grad)
"""
    result = run_snippet(text)
    (reference,) = cpython(text)
    by_line = {s.line: s for s in result.statements}
    assert by_line[5].warnings, "reading .grad of a non-leaf warns"
    assert "not a leaf Tensor" in by_line[5].warnings[0]
    assert by_line[5].warnings[0].startswith("UserWarning: ")
    assert [w for s in result.statements for w in s.warnings] == list(reference.warnings)
    assert by_line[4].warnings == ()


# ------------------------------------------------------------------ claims


@pytest.mark.parametrize(
    ("printed", "claimed", "same"),
    [
        ("tensor([ True, False, False])", "tensor([True, False, False])", True),
        ("tensor([ 2.7183,  7.3891, 20.0855])", "tensor([2.7183, 7.3891, 20.0855])", True),
        ("tensor([1, 0, 0])", "tensor([1, 0, 0])", True),
        ("tensor([1, 0, 0])", "tensor([1,0,0])", True),
        ("1 0", "10", False),
        ("a b", "ab", False),
        ("x.grad is None", "x.grad  is   None", True),
        ("tensor([1., 2.])\ntensor([3.])", "tensor([1., 2.]) tensor([3.])", True),
        ("tensor([1, 0, 0])", "tensor([1, 0, 1])", False),
        ("  tensor(3.)  ", "tensor(3.)", True),
        ("1.5 2", "1.52", False),
    ],
)
def test_collapse_rule(printed: str, claimed: str, same: bool) -> None:
    assert (collapse(printed) == collapse(claimed)) is same


def test_collapse_keeps_one_space_between_word_characters() -> None:
    assert collapse("  a   b\t\n c ") == "a b c"
    assert collapse("[ 1,  2 ]") == "[1,2]"
    assert collapse("") == ""


def test_a_comment_on_a_line_that_does_not_print_is_not_a_claim() -> None:
    result = run_snippet(
        """import torch  # the library
x = torch.tensor([1.0, 2.0], requires_grad=True)  # tensor([1., 2.])
y = x * 2  # tensor([2., 4.])
y.sum().backward()  # x.grad = [2, 2]
print(x.grad)  # tensor([2., 2.])
# a comment on a line of its own
"""
    )
    claims = [(c.line, c.holds) for s in result.statements for c in s.claims]
    assert claims == [(5, True)]


def test_claims_after_the_stop_are_not_checked() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1, 2])
x.requires_grad_()
print(x)  # tensor([1, 2])
"""
    )
    assert result.stopped_at == 3
    (claim,) = result.statements[-1].claims
    assert claim.holds is None
    assert "line 3" in claim.why


def test_a_claim_on_a_print_that_raised_fails() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
print(x.grad.sum())  # tensor(3.)
"""
    )
    (claim,) = result.statements[-1].claims
    assert result.stopped_at == 3
    assert claim.holds is False
    assert result.statements[-1].error is not None
    assert result.statements[-1].error.type == "AttributeError"


def test_a_failing_claim_says_what_was_printed() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
(x * 3).sum().backward()
print(x.grad)  # tensor([1., 1.])
print(1, 0)  # 10
print(1, 0)  # 1 0
"""
    )
    first, second, third = (c for s in result.statements for c in s.claims)
    assert first.holds is False and str(torch.tensor([3.0, 3.0])) in first.why
    assert second.holds is False
    assert third.holds is True


def test_claims_inside_a_with_block_are_checked() -> None:
    result = run_snippet(
        """import torch
x = torch.tensor([1.0], requires_grad=True)
with torch.no_grad():
    y = x * 2
    print(y.requires_grad)  # False
print(y.requires_grad)  # True
"""
    )
    block, last = result.statements[2], result.statements[3]
    assert [c.holds for c in block.claims] == [True]
    assert [c.holds for c in last.claims] == [False]
    assert block.printed == ("False",)


def test_a_multi_line_print_takes_the_comment_of_any_of_its_lines() -> None:
    result = run_snippet(
        """import torch
print(
    torch.tensor([1, 2]),  # tensor([1, 2])
)
"""
    )
    ((claim,),) = [s.claims for s in result.statements if s.claims]
    assert claim.line == 3 and claim.holds is True
