"""OpInfo's small samples of every catalog op, through ``gradtui grad``'s path, against torch.

:mod:`tests.ops.opinfo_samples` writes each sample as an expression with named inputs
(``gradtui grad 'F.conv2d(x0, x1, stride=(2, 1))' --set x0=... --dtype float64``), runs it
with :func:`gradtui.ops.run.run` and compares the output and every gradient with torch's
own call on the same values. ``python -m tests.ops.opinfo_samples`` prints the figures and
every reason a sample is not expressible.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gradtui.ops.catalog import CATALOG
from gradtui.ops.errors import InputError
from gradtui.ops.language import tensor_from_text
from gradtui.ops.run import run
from gradtui.ops.source import MAX_TEXT_CHARS
from tests.ops import opinfo_samples as samples

README = Path(__file__).resolve().parents[2] / "README.md"

EXPRESSIBLE_FLOOR = 0.938
"""The share of samples the language takes, measured on h-samples2: 11505 of 12254 (93.9%).
Issue 11 asks for 0.90. What stays out, by group: random ops (dropout and its kin,
fractional max pooling: refused, their output changes from run to run), linear_cross_entropy's
options object and triplet_margin_with_distance_loss's Python function (no text holds them),
tensors too large for one text (over MAX_TEXT_CHARS characters or MAX_NODES parts even at two
digits), OpInfo wrappers no torch callable matches (linalg.pinv's hermitian form),
batch_norm's in-place running statistics, memory_format= (not taken) and cov's float32
weights that require grad. ``python -m tests.ops.opinfo_samples`` prints them with counts."""

KNOWN_DISAGREEMENTS: dict[tuple[str, str, int], str] = {}
"""Samples the language takes but that do not give torch's answer, measured: none. (The
last ones were the language's: tensordot's nested dims lists and gradient's spacing lists
passed as tensors, meshgrid's and atleast_Nd's list of tensors stacked into one, and
fractional max pooling, random, now refused.)"""


@pytest.fixture(scope="module")
def figures() -> samples.Figures:
    return samples.measure()


def test_opinfo_samples_through_the_cli_path(figures: samples.Figures) -> None:
    """Prints the figures the README states; the expressible share holds its floor."""
    print("\n" + figures.report())
    assert figures.ops == len(samples.catalog_ops()) == 450
    assert figures.total > 10_000
    assert figures.share() >= EXPRESSIBLE_FLOOR, figures.summary()
    assert figures.summary() in README.read_text(encoding="utf-8"), "update the README's figures"


def test_every_expressible_sample_agrees_with_torch(figures: samples.Figures) -> None:
    wrong = {
        (o.op, o.variant, o.index): o.reason for o in figures.outcomes if o.status == "disagrees"
    }
    assert wrong == KNOWN_DISAGREEMENTS


def test_every_hand_written_op_with_an_opinfo_name_is_measured() -> None:
    """The catalog's own ops (``exp``, ``relu``, ...) are measured under their OpInfo names."""
    names = samples.catalog_ops()
    by_name = samples.op_db_by_name()
    for name in CATALOG:
        for opinfo_name in (name, f"nn.functional.{name}"):
            if opinfo_name in by_name and not opinfo_name.startswith("_"):
                assert opinfo_name in names, opinfo_name


# --- the converter and the comparison, on their own --------------------------------------


@pytest.mark.parametrize("x", [0.1, -1 / 3, 1e-300, 2.5e17, -0.0, float("nan"), float("inf")])
def test_a_number_reads_back_exactly(x: float) -> None:
    got = tensor_from_text(samples.number_text(x), dtype=torch.float64).item()
    assert got == x or (got != got and x != x)


def test_a_tensor_text_holds_exact_values_or_the_rounded_ones_torch_gets() -> None:
    small = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    text, values = samples.float_literal(small)
    assert torch.equal(values, small)  # repr: exact
    assert torch.equal(tensor_from_text(text, dtype=torch.float64), small)
    big = torch.randn(30, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    text, values = samples.float_literal(big)  # 600 reprs are too long: rounded
    assert not torch.equal(values, big) and torch.allclose(values, big, rtol=1e-3)
    assert torch.equal(tensor_from_text(text, dtype=torch.float64), values)
    with pytest.raises(samples.Unwritable, match="too many"):
        samples.float_literal(torch.zeros(MAX_TEXT_CHARS // 4, dtype=torch.float64) + 0.5)


def test_a_sample_is_written_in_torch_spelling() -> None:
    info = samples.op_db_by_name()["linalg.svd"][0]
    sample = samples.samples(info)[0]
    written = samples.write("linalg.svd", "torch.linalg.svd", info, sample)
    assert written.expression.startswith("torch.linalg.svd(x0")
    assert written.outputs == [0, 1, 2] and list(written.values) == ["x0"]
    info = samples.op_db_by_name()["T"][0]
    written = samples.write("T", "Tensor.T", info, samples.samples(info)[0])
    assert written.expression == "x0.T"


def test_a_wrong_answer_is_caught() -> None:
    """The comparison can fail: gradtui's answer for sin against torch's cos."""
    x = torch.tensor([0.5, 1.0], dtype=torch.float64, requires_grad=True)
    written = samples.Written(
        "torch.sin(x0)", {"x0": "[0.5, 1.0]"}, [None], False, {"x0": x}, lambda: torch.cos(x)
    )
    result = run("torch.sin(x0)", written.values, dtype="float64", formula=False)
    assert samples.compare(written, {None: result}).startswith("output:")
    same_value = samples.Written(  # same output, another gradient: x * 1 against x.detach()
        "x0 * 1", {"x0": "[0.5, 1.0]"}, [None], False, {"x0": x}, lambda: x.detach() * 1
    )
    result = run("x0 * 1", same_value.values, dtype="float64", formula=False)
    assert "grad of x0" in samples.compare(same_value, {None: result})


def test_torch_refusing_is_told_from_the_language_refusing() -> None:
    with pytest.raises(InputError) as torch_said:
        run("torch.mm(x, y)", {"x": "[[1., 2.]]", "y": "[[1., 2.]]"}, formula=False)
    assert samples.torch_refused(torch_said.value)
    with pytest.raises(InputError) as language_said:
        run("torch.save(x)", {"x": "[1.]"}, formula=False)
    assert not samples.torch_refused(language_said.value)


class _RefusesBackward(torch.autograd.Function):
    """The identity, whose backward raises as linalg.eig's does (a test double for torch)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return x.clone()

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        raise RuntimeError("this loss is ill-defined")


def test_torch_refusing_agrees_only_when_gradtui_says_the_same() -> None:
    """Where torch's own backward raises (an eigenvector's phase), gradtui must refuse in
    torch's words; an answer where torch raises is a disagreement."""
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=torch.float64, requires_grad=True)
    values = {"x0": "[[1.0, -2.0], [3.0, 0.5]]"}
    eig = samples.Written(
        "torch.linalg.eig(x0)", values, [1], False, {"x0": x}, lambda: torch.linalg.eig(x)
    )
    result = run("torch.linalg.eig(x0)[1]", values, dtype="float64", formula=False)
    assert not result.differentiable and "ill-defined" in (result.reason or "")
    assert samples.compare(eig, {1: result}) is None
    boom = samples.Written(
        "x0 * 1", values, [None], False, {"x0": x}, lambda: _RefusesBackward.apply(x)
    )
    answered = run("x0 * 1", values, dtype="float64", formula=False)
    said = samples.compare(boom, {None: answered})
    assert said is not None and "torch's backward pass raises" in said

    def raises() -> torch.Tensor:
        raise RuntimeError("shapes cannot be multiplied")

    forward = samples.Written("torch.mm(x0, x0)", values, [None], False, {"x0": x}, raises)
    said = samples.compare(forward, {None: answered})
    assert said is not None and "torch's forward pass raises" in said
    refused = InputError("torch.mm() failed: shapes cannot be multiplied")
    assert samples.compare(forward, {None: refused}) is None


def test_a_complex_output_is_compared_as_complex_numbers() -> None:
    """gradtui's result holds the complex values and the complex ones it used upstream."""
    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    values = {"x0": "[1.0, -2.0, 0.5]"}
    fft = samples.Written(
        "torch.fft.fft(x0)", values, [None], False, {"x0": x}, lambda: torch.fft.fft(x)
    )
    result = run("torch.fft.fft(x0)", values, dtype="float64", formula=False)
    assert result.output.tensor.dtype == "complex128"
    assert samples.compare(fft, {None: result}) is None
    wrong = samples.Written(
        "torch.fft.fft(x0)", values, [None], False, {"x0": x}, lambda: torch.fft.ifft(x)
    )
    assert samples.compare(wrong, {None: result}).startswith("output:")
