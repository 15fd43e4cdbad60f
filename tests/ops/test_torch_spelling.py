"""PyTorch's own spelling in the input language: each example gives exactly what torch
gives when called directly (values, gradients, the grad_fn node), and torch code gradtui
does not take is refused, before torch runs, with one line saying why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from gradtui.ops.errors import InputError
from gradtui.ops.language import evaluate, parse
from gradtui.ops.run import run

X_VALUES = [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]
IDX_VALUES = [[0, 0], [1, 0]]
X, IDX = str(X_VALUES), str(IDX_VALUES)
T = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# (expression in x and idx, the same computation written directly in torch)
EXAMPLES: list[tuple[str, T]] = [
    ("torch.sin(x)", lambda x, i: torch.sin(x)),
    ("F.relu(x)", lambda x, i: F.relu(x)),
    ("torch.nn.functional.relu(x)", lambda x, i: F.relu(x)),
    ("torch.special.expit(x)", lambda x, i: torch.special.expit(x)),
    ("torch.linalg.norm(x)", lambda x, i: torch.linalg.norm(x)),
    ("x.sum(dim=0)", lambda x, i: x.sum(dim=0)),
    ("x.mean()", lambda x, i: x.mean()),
    ("x.pow(2)", lambda x, i: x.pow(2)),
    ("x.exp()", lambda x, i: x.exp()),
    ("x.softmax(dim=-1)", lambda x, i: x.softmax(dim=-1)),
    ("x.clamp(min=0)", lambda x, i: x.clamp(min=0)),
    ("x.T", lambda x, i: x.T),
    ("x.mT", lambda x, i: x.mT),
    ("x.t()", lambda x, i: x.t()),
    ("x.reshape(3, 2)", lambda x, i: x.reshape(3, 2)),
    ("x.view(-1)", lambda x, i: x.view(-1)),
    ("x.transpose(0, 1)", lambda x, i: x.transpose(0, 1)),
    ("x.permute(1, 0)", lambda x, i: x.permute(1, 0)),
    ("x.unsqueeze(0)", lambda x, i: x.unsqueeze(0)),
    ("x.unsqueeze(0).squeeze()", lambda x, i: x.unsqueeze(0).squeeze()),
    ("x.flatten()", lambda x, i: x.flatten()),
    ("x.unsqueeze(0).expand(2, 2, 3)", lambda x, i: x.unsqueeze(0).expand(2, 2, 3)),
    ("x.repeat(2, 1)", lambda x, i: x.repeat(2, 1)),
    ("x.gather(1, idx)", lambda x, i: x.gather(1, i)),
    ("x.max(dim=1).values", lambda x, i: x.max(dim=1).values),
    ("x.max(1)[0]", lambda x, i: x.max(1)[0]),
    ("x[0]", lambda x, i: x[0]),
    ("x[:, 1]", lambda x, i: x[:, 1]),
    ("x[1:3]", lambda x, i: x[1:3]),
    ("x[..., 0]", lambda x, i: x[..., 0]),
    ("x[None]", lambda x, i: x[None]),
    ("x[:, ::2]", lambda x, i: x[:, ::2]),
    ("x[idx[0]]", lambda x, i: x[i[0]]),
    ("x[x > 0]", lambda x, i: x[x > 0]),
    ("mean(x, dim=0)", lambda x, i: torch.mean(x, dim=0)),
    ("sum(x, dim=(0, 1), keepdim=True)", lambda x, i: torch.sum(x, dim=(0, 1), keepdim=True)),
    ("x.sum([0, 1])", lambda x, i: x.sum([0, 1])),
    ("F.mse_loss(x, x * 2, reduction='sum')", lambda x, i: F.mse_loss(x, x * 2, reduction="sum")),
    ("F.gelu(x, approximate='tanh')", lambda x, i: F.gelu(x, approximate="tanh")),
    ("F.softplus(x, beta=2, threshold=5)", lambda x, i: F.softplus(x, beta=2, threshold=5)),
    (
        "F.smooth_l1_loss(x, x.flip(0), beta=0.5)",
        lambda x, i: F.smooth_l1_loss(x, x.flip(0), beta=0.5),
    ),
    (
        "F.cross_entropy(x, torch.tensor([0, 2]), label_smoothing=0.1, reduction='none')",
        lambda x, i: F.cross_entropy(
            x, torch.tensor([0, 2]), label_smoothing=0.1, reduction="none"
        ),
    ),
    (
        "F.cross_entropy(x, torch.tensor([0, 2]), weight=[1.0, 2.0, 3.0], ignore_index=2)",
        lambda x, i: F.cross_entropy(
            x,
            torch.tensor([0, 2]),
            weight=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
            ignore_index=2,
        ),
    ),
    ("F.normalize(x, p=1, dim=1, eps=1e-6)", lambda x, i: F.normalize(x, p=1, dim=1, eps=1e-6)),
    ("F.pad(x, (1, 1), 'reflect')", lambda x, i: F.pad(x, (1, 1), "reflect")),
    ("torch.cat([x, x * 2], dim=0)", lambda x, i: torch.cat([x, x * 2], dim=0)),
    ("torch.where(x > 0, x, 0.0)", lambda x, i: torch.where(x > 0, x, 0.0)),
    ("x.sum(dtype=torch.float64)", lambda x, i: x.sum(dtype=torch.float64)),
    ("torch.pi * x", lambda x, i: torch.pi * x),
    ("x.norm(p='fro')", lambda x, i: x.norm(p="fro")),
    (
        "torch.logsumexp(x, dim=1, keepdim=True)",
        lambda x, i: torch.logsumexp(x, dim=1, keepdim=True),
    ),
]


@pytest.mark.parametrize("text, direct", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_torch_spelling_gives_what_torch_gives(text: str, direct: T) -> None:
    values = {"x": X, "idx": IDX} if "idx" in text else {"x": X}
    result = run(text, values, dtype="float64")
    assert result.output is not None, result.reason
    x = torch.tensor(X_VALUES, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor(IDX_VALUES)
    out = direct(x, idx)
    assert result.output.tensor.shape == tuple(out.shape)
    assert torch.equal(torch.tensor(result.output.tensor.value, dtype=out.dtype), out.detach())
    assert result.output.grad_fn == (out.grad_fn.name() if out.grad_fn else None)
    if out.requires_grad:
        out.backward(torch.ones_like(out))
        grad = result.grads["x"]
        assert grad is not None
        assert torch.equal(torch.tensor(grad.value, dtype=x.dtype), x.grad)
        # the stepper shows torch's own nodes
        assert result.steps[0].node == out.grad_fn.name()


REFUSALS = [
    # (text, the one line's words)
    ("x.add_(1)", "in-place ops are not allowed in an expression; write x.add(1) or x + 1"),
    ("x.data.fill_(1)", "in-place ops are not allowed"),
    ("x.data", ".data leaves autograd's record; write x.detach()"),
    ("x.__class__", "names starting with '_'"),
    ("x.T.__dict__", "names starting with '_'"),
    ("x.storage()", "storage is raw memory"),
    ("x.untyped_storage()", "storage is raw memory"),
    ("x.numpy()", "attribute access '.numpy' is not allowed"),
    ("x.tolist()", "attribute access '.tolist' is not allowed"),
    ("x.register_hook(x)", "hooks run code during backward"),
    ("x.apply_(x)", "apply_ runs a Python function"),
    ("torch.save(x, 'f')", "'torch.save' is not allowed: it reads or writes files"),
    ("torch.load(x)", "'torch.load' is not allowed"),
    ("torch.from_file(x)", "'torch.from_file' is not allowed"),
    ("torch.ops.aten.sin(x)", "'torch.ops.aten.sin' is not allowed"),
    ("torch.hub.load(x)", "'torch.hub.load' is not allowed"),
    ("torch.library.Library(x)", "'torch.library.Library' is not allowed"),
    ("torch.jit.script(x)", "'torch.jit.script' is not allowed"),
    ("torch.set_default_dtype(torch.float64)", "sets torch's global state"),
    ("torch.manual_seed(0)", "sets torch's global state"),
    ("F.dropout(x)", "global random generator"),
    ("F.relu_(x)", "in-place ops are not allowed in an expression; write F.relu(...)"),
    ("F.relu(x, inplace=True)", "leave out inplace=True"),
    ("torch.sin(x, out=x)", "out= writes into an existing tensor"),
    ("F.mse_loss(x, x, reduction='summ')", "'reduction' must be one of 'none', 'mean', 'sum'"),
    ("F.gelu(x, approximate='fast')", "'approximate' must be one of 'none', 'tanh'"),
    ("x.sum(dim='0')", "'dim' takes no string"),
    ("'sum'", "strings are not allowed here"),
    ("x + torch.float64", "'torch.float64' is a dtype: it is only allowed as dtype="),
    ("x.sum(torch.float64)", "only allowed as dtype=torch.float64"),
    ("torch.sin", "'torch.sin' is a function: call it"),
    ("x.sum", "x.sum is a method: call it"),
    ("x.T()", "x.T is a property"),
    ("x.sinn()", "did you mean '.sin'?"),
    ("torch.sinn(x)", "did you mean 'torch.sin'?"),
    ("torch.nn.Linear(2, 2)", "not a namespace gradtui takes"),
    ("cat(x)", "write torch.cat(...)"),
    ("x.sum(**x)", "keyword unpacking"),
    ("x.view(*x)", "starred"),
]


@pytest.mark.parametrize("text, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_give_one_line_before_torch_runs(text: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, field="expression")  # refused while parsing: nothing has run
    err = info.value
    assert words in err.message, err.message
    assert "\n" not in str(err)
    assert err.position is not None and 0 <= err.position <= len(text)


@pytest.mark.parametrize(
    "text, words",
    [
        ("x.values", "'.values' is a field of the named tuples"),
        ("x.max(dim=1).U", "'.U' is a field"),
        ("x.repeat(10000, 10000)", "would have 600000000 elements"),
        ("x[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]][:, None].expand(10, 10**6, 3)", "elements"),
        ("x.reshape(7)", "Tensor.reshape() failed: shape '[7]' is invalid"),
    ],
)
def test_evaluation_refusals(text: str, words: str) -> None:
    x = torch.tensor(X_VALUES)
    with pytest.raises(InputError) as info:
        evaluate(parse(text), {"x": x})
    assert words in info.value.message, info.value.message


def test_catalog_messages_stay_for_bare_names() -> None:
    """A catalog op by its bare name takes torch's keywords; what neither takes keeps the
    catalog's message."""
    with pytest.raises(InputError) as info:
        evaluate(parse("exp(x, x)"), {"x": torch.ones(2)})
    assert "takes at most 1 argument" in info.value.message
    assert torch.equal(evaluate(parse("sum(x, 0)"), {"x": torch.ones(2, 3)}), torch.full((3,), 2.0))


def test_torch_prefixed_constructors_are_the_seeded_constructors() -> None:
    """``torch.zeros(2, 3)`` as the docs write it is ``zeros(2, 3)``; ``torch.randn`` draws
    from the evaluation's seeded generator, not torch's global one."""
    for text in ("zeros(2, 3)", "arange(9.0)", "linspace(-1, 1, 5)", "eye(3)", "randn(4)"):
        assert torch.equal(evaluate(parse(f"torch.{text}")), evaluate(parse(text))), text
    assert torch.equal(
        evaluate(parse("torch.randn(3)", field="x"), seed=5), evaluate(parse("randn(3)"), seed=5)
    )
    with pytest.raises(InputError) as info:
        parse("torch.zeros(2, shape=3)")
    assert "zeros() has no argument 'shape'" in info.value.message
    with pytest.raises(InputError) as info:
        parse("torch.randn_like(x)")
    assert "global random generator" in info.value.message


def test_a_named_tuple_result_gives_its_values() -> None:
    """``torch.max(x, 1)`` as the docs write it: the values, as torch's own code reads
    ``[0]`` of the (values, indices) pair, with torch's gradient."""
    result = run("torch.max(x, 1)", {"x": X}, dtype="float64")
    assert result.output is not None, result.reason
    x = torch.tensor(X_VALUES, dtype=torch.float64, requires_grad=True)
    out = torch.max(x, 1).values
    assert torch.equal(torch.tensor(result.output.tensor.value, dtype=out.dtype), out.detach())
    out.backward(torch.ones_like(out))
    assert torch.equal(torch.tensor(result.grads["x"].value, dtype=x.dtype), x.grad)


def test_formulas_say_none_for_torch_spelling() -> None:
    from gradtui.ops.formulas import derivative_formula

    for text in ("x.exp()", "torch.sin(x)", "x[0]", "x.T", "sum(x, dim=0)", "F.relu(x)"):
        assert derivative_formula(text, "x") is None
