"""Snippets run the way Python would: each one here is also run by CPython, the reference.

Every case in :data:`CASES` is run by gradtui (:func:`ops.snippet.run_snippet`, the real
torch) and by ``sys.executable`` on the same text (one subprocess for the module,
:mod:`tests.ops.snippet_reference`), and the two must agree: stdout byte for byte, each
``print``'s text, the line the run stopped at, the exception's type and message as the
traceback's last line writes them. The seed page's three snippets are checked for the
outcomes the issue names.
"""

from __future__ import annotations

import re

import pytest
import torch

from gradtui.ops.results import SnippetResult
from gradtui.ops.seed_snippets import SEED_SNIPPETS, seed_snippet
from gradtui.ops.snippet import run_snippet
from tests.ops.snippet_reference import Reference, assert_same_as_cpython, cpython

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

CASES: dict[str, str] = {
    # -- gradients, the issue's list
    "accumulate": """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
print(x.grad)
y.backward()
print(x.grad)
""",
    "accumulate_without_retain": """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x.exp() * x).sum()
y.backward()
y.backward()
print(x.grad)
""",
    "detach": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x.detach()
print(y.requires_grad, y.grad_fn, y.is_leaf)
z = (y * 2).sum()
print(z.requires_grad)
z.backward()
print("not reached")
""",
    "in_place_breaks_backward": """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x.exp()
y.add_(1)
y.sum().backward()
""",
    "create_graph": """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x ** 3).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print(g)
print(g.requires_grad, g.grad_fn.name())
(h,) = torch.autograd.grad(g.sum(), x)
print(h)
""",
    "no_grad_enable_grad": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
with torch.no_grad():
    y = x * 2
    print(y.requires_grad, torch.is_grad_enabled())
    with torch.enable_grad():
        z = x * 3
        print(z.requires_grad, z.grad_fn.name())
print(y.requires_grad, torch.is_grad_enabled())
z.sum().backward()
print(x.grad)
y.sum().backward()
""",
    "raise_inside_with": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
with torch.no_grad():
    y = x * 2
    y.sum().backward()
    print("not reached")
print(torch.is_grad_enabled())
""",
    "zero_grad": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
(x * 2).sum().backward()
print(x.grad)
x.grad.zero_()
print(x.grad)
(x * 3).sum().backward()
print(x.grad)
""",
    "iadd_on_leaf": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
x += 1
print(x)
""",
    "iadd_on_plain_tensor": """import torch
x = torch.tensor([1.0, 2.0])
y = x
x += 1
print(x, y)
n = 3
n += 2
n *= 2
print(n)
""",
    "iadd_on_non_leaf": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
y += 1
y.sum().backward()
print(x.grad, y.grad_fn.name())
""",
    # -- unpacking, as Python unpacks and as it complains
    "unpack": """import torch
t = torch.tensor([1.0, 2.0])
a, b = t
print(a, b)
(c,) = [3]
[d, e] = (4, 5)
rows, cols = torch.zeros(2, 3).shape
values, indices = torch.max(torch.tensor([[1.0, 5.0], [7.0, 2.0]]), 1)
print(c, d, e, rows, cols, values, indices)
""",
    "unpack_too_many": "import torch\na, b = torch.tensor([1.0, 2.0, 3.0])\n",
    "unpack_too_few": "import torch\na, b, c = torch.tensor([1.0, 2.0])\n",
    "unpack_list_too_many": "a, b = [1, 2, 3]\n",
    "unpack_tuple_too_few": "(g,) = ()\n",
    "unpack_int": "a, b = 1\n",
    "unpack_none": "import torch\nx = torch.tensor([1.0])\n(g,) = x.grad\n",
    "unpack_zero_dim": "import torch\na, b = torch.tensor(1.0)\n",
    # -- printing
    "fstrings": """import torch
x = torch.tensor([1.0, 2.0])
v = x.sum().item()
print(f"x = {x}")
print(f"{x!r}")
print(f"{v:.4f} and {v!r} and {v!s:>8}|")
print(f"{x.shape} {x.dtype} {len(x)}")
""",
    "print_sep_end": """import torch
a = 1
b = torch.tensor([2.0, 3.0])
print(a, b, sep=', ', end='')
print('!')
print()
print('a', 'b', sep='')
print('no newline', end='')
""",
    "values": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
print(x.grad is None)
y = (x * 2).sum()
print(y.item(), x.shape, x.dtype, y.grad_fn.name())
print(y.grad_fn.next_functions)
print(y.grad_fn.next_functions[0][0].name(), x.requires_grad, y.is_leaf)
y.backward()
print(x.grad is None, x.grad)
""",
    "functional_spellings": """import torch
import torch.nn.functional as F
import torch.nn as nn
x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
y = F.relu(x) + nn.functional.softplus(x)
y.sum().backward()
print(x.grad)
print(torch.nn.functional.sigmoid(x))
""",
    "from_import": """import torch
from torch.nn import functional as F
x = torch.tensor([-1.0, 0.5])
print(F.relu(x))
""",
    "torch_before_import": """x = torch.tensor([1.0])
import torch
""",
    "f_before_import": """import torch
y = F.relu(torch.tensor([1.0]))
""",
    "none_attribute": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
print(x.grad.sum())  # tensor(3.)
""",
    "none_method_before_its_arguments": """import torch
x = torch.tensor([1.0], requires_grad=True)
x.grad.add_(undefined)
""",
    "none_value": """import torch
x = torch.tensor([1.0], requires_grad=True)
print(x.grad.shape)
""",
    "python_errors": """import torch
x = torch.tensor([1.0, 2.0])
print(1 / 2, 7 // 2, 2 ** 10, -x, x @ x)
print(1 / 0)
""",
    "bool_output_backward": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x > 1
print(y.requires_grad, y.grad_fn)
y.sum().backward()
""",
    "random": """import torch
a = torch.randn(3)
b = torch.rand(2, requires_grad=True)
print(a, b)
""",
    "non_leaf_grad_warning": """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
y.sum().backward()
print(y.grad)
""",
    # -- PyTorch's autograd tutorial (beginner/basics/autogradqs_tutorial), without plots
    "tutorial_loss": """import torch

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

print(f"Gradient function for z = {z.grad_fn}")
print(f"Gradient function for loss = {loss.grad_fn}")

loss.backward()
print(w.grad)
print(b.grad)
""",
    "tutorial_no_grad_detach": """import torch

x = torch.ones(5)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)

z = torch.matmul(x, w)+b
print(z.requires_grad)

with torch.no_grad():
    z = torch.matmul(x, w)+b
print(z.requires_grad)

z = torch.matmul(x, w)+b
z_det = z.detach()
print(z_det.requires_grad)
""",
    "tutorial_jacobian_product": """import torch

inp = torch.eye(4, 5, requires_grad=True)
out = (inp+1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
""",
}
"""Snippets run by both gradtui and CPython, by name."""

CASES.update({f"seed_{s.name}": s.text for s in SEED_SNIPPETS})


def _normal(reference: Reference) -> Reference:
    """The reference with object addresses (``<AddBackward0 object at 0x7f..>``) dropped:
    two processes place the same graph at different addresses."""
    return Reference(
        stdout=_ADDRESS.sub("", reference.stdout),
        prints=tuple((line, _ADDRESS.sub("", text)) for line, text in reference.prints),
        error=reference.error,
        warnings=reference.warnings,
    )


def _normal_result(result: SnippetResult) -> SnippetResult:
    import dataclasses

    def statement(s):  # type: ignore[no-untyped-def]
        return dataclasses.replace(
            s,
            printed=tuple(_ADDRESS.sub("", p) for p in s.printed),
            body=tuple(statement(b) for b in s.body),
        )

    return dataclasses.replace(
        result,
        statements=tuple(statement(s) for s in result.statements),
        output=_ADDRESS.sub("", result.output),
    )


@pytest.fixture(scope="module")
def references() -> dict[str, Reference]:
    """CPython's run of every case, by name (one subprocess)."""
    return dict(zip(CASES, (_normal(r) for r in cpython(*CASES.values())), strict=True))


@pytest.mark.parametrize("name", list(CASES))
def test_same_as_cpython(name: str, references: dict[str, Reference]) -> None:
    assert_same_as_cpython(_normal_result(run_snippet(CASES[name])), references[name])


def test_the_reference_can_fail(references: dict[str, Reference]) -> None:
    """The comparison is not vacuous: another snippet's run does not pass for this one's."""
    with pytest.raises(AssertionError):
        assert_same_as_cpython(run_snippet(CASES["accumulate"]), references["zero_grad"])
    with pytest.raises(AssertionError):
        assert_same_as_cpython(run_snippet(CASES["unpack_too_few"]), references["unpack_too_many"])


def test_the_cases_raise_where_the_issue_says(references: dict[str, Reference]) -> None:
    """Each case that should raise does raise in CPython, so a match is not two empty runs."""
    raising = {
        "accumulate_without_retain": "RuntimeError",
        "detach": "RuntimeError",
        "in_place_breaks_backward": "RuntimeError",
        "iadd_on_leaf": "RuntimeError",
        "unpack_too_many": "ValueError",
        "unpack_too_few": "ValueError",
        "unpack_int": "TypeError",
        "unpack_none": "TypeError",
        "unpack_zero_dim": "TypeError",
        "torch_before_import": "NameError",
        "f_before_import": "NameError",
        "none_attribute": "AttributeError",
        "none_method_before_its_arguments": "AttributeError",
        "none_value": "AttributeError",
        "python_errors": "ZeroDivisionError",
        "no_grad_enable_grad": "RuntimeError",
        "raise_inside_with": "RuntimeError",
    }
    for name, kind in raising.items():
        error = references[name].error
        assert error is not None and error["type"] == kind, name
    for name in ("accumulate", "create_graph", "zero_grad", "unpack", "fstrings", "values"):
        assert references[name].error is None, name
    assert "modified by an inplace operation" in str(
        references["in_place_breaks_backward"].error["message"]  # type: ignore[index]
    )


def test_accumulation_adds_the_second_gradient() -> None:
    result = run_snippet(CASES["accumulate"])
    first, second = [s.printed[0] for s in result.statements if s.printed]
    assert first == str(torch.tensor([2.0, 4.0, 6.0]))
    assert second == str(torch.tensor([4.0, 8.0, 12.0]))


def test_create_graph_gives_the_second_derivative() -> None:
    result = run_snippet(CASES["create_graph"])
    printed = [p for s in result.statements for p in s.printed]
    x = torch.tensor([1.0, 2.0, 3.0])
    assert printed[-1] == str(6 * x)  # d²/dx² x³ = 6x


def test_a_raise_inside_with_leaves_grad_mode_restored() -> None:
    before = torch.is_grad_enabled()
    result = run_snippet(CASES["raise_inside_with"])
    assert torch.is_grad_enabled() is before
    block = result.statements[2]
    assert block.status == "raised" and block.body[1].status == "raised"
    assert block.body[2].status == "not reached"
    assert result.statements[3].status == "not reached"


# ------------------------------------------------------------------ the seed page


def test_seed_lt() -> None:
    snippet = seed_snippet("lt")
    assert snippet is not None
    result = run_snippet(snippet.text)
    by_line = {s.line: s for s in result.statements}
    assert by_line[7].source == "print(z)"
    (first,) = by_line[7].claims
    assert first.holds is True
    assert result.stopped_at == 9 and by_line[9].source == "z.sum().backward()"
    error = by_line[9].error
    assert error is not None and error.type == "RuntimeError"
    try:
        torch.lt(torch.tensor([1, 2, 3]), torch.tensor([2, 2, 2])).sum().backward()
    except RuntimeError as exc:
        assert error.message == str(exc)
    else:  # pragma: no cover - torch changed its mind
        pytest.fail("torch no longer refuses backward through lt")
    assert error.why is not None and "grad_fn" in error.why
    (last,) = by_line[10].claims
    assert by_line[10].status == "not reached" and last.holds is None
    assert result.backwards == ()


def test_seed_abs() -> None:
    snippet = seed_snippet("abs")
    assert snippet is not None
    result = run_snippet(snippet.text)
    assert result.stopped_at == 2
    error = result.statements[1].error
    assert error is not None and error.type == "RuntimeError"
    with pytest.raises(RuntimeError) as raised:
        torch.tensor([-1, 0, 1], requires_grad=True)
    assert error.message == str(raised.value)
    assert "floating point" in error.message
    assert [s.status for s in result.statements[2:]] == ["not reached"] * 3
    assert result.statements[-1].claims[0].holds is None


def test_seed_exp() -> None:
    snippet = seed_snippet("exp")
    assert snippet is not None
    result = run_snippet(snippet.text)
    assert result.stopped_at is None
    by_line = {s.line: s for s in result.statements}
    (printed,) = by_line[4].printed
    assert "grad_fn=<ExpBackward0>" in printed
    (claim,) = by_line[4].claims
    assert "<ExpBackward>" in claim.text and claim.holds is False
    assert "ExpBackward0" in claim.why
    (grad_claim,) = by_line[6].claims
    assert grad_claim.holds is True
    assert by_line[6].printed == (str(torch.tensor([1.0, 2.0, 3.0]).exp()),)
    (record,) = result.backwards
    assert record.line == 5 and record.call == "y.sum().backward()"
