"""The generated ops (ops/data/opinfo.json): fresh, opened by name, and gradcheck-clean.

The data file is generated from torch's OpInfo database by ``python -m tools.gen_opinfo``.
These tests regenerate it in memory (stale file: fail), and run every generated op at its
defaults under float64 ``gradcheck`` through the engine's own path (``prepare`` -> the
spec's ``fn``), as ``gradtui grad`` would call it.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from gradtui.ops import opinfo
from gradtui.ops.catalog import CATALOG, all_ops, generated, get
from gradtui.ops.errors import InputError
from gradtui.ops.prepare import prepare
from gradtui.ops.run import run

PASS_SHARE = 0.953
"""At least this share of the public OpInfo names with autograd passes gradcheck. Issue 11
asks for 0.95; measured: 447 of 469 (95.3%). The rest, each with its reason, is in the
README (and docs/opinfo.md): ops torch offers only under torch.ops or through a wrapper,
random ops, other dtypes, and three that open but whose gradcheck torch's own OpInfo
tests expect to fail (float, cfloat, as_strided_scatter)."""

ROOT = Path(__file__).resolve().parents[2]


def gradcheck_op(key: str) -> str | None:
    """None when the op at ``key`` passes float64 gradcheck at its defaults; else why not."""
    p = prepare(key, dtype="float64")
    names = [
        n
        for n in p.names
        if p.requires_grad[n]
        and isinstance(p.tensors[n], torch.Tensor)
        and p.tensors[n].is_floating_point()
    ]
    if not names:
        return "no float input requires grad"
    fixed = {n: v for n, v in p.tensors.items() if n not in names}

    wrapper, _, index = (p.spec.gradcheck_wrapper or "").partition("[")
    wrapped = p.names[int(index.rstrip("]") or 0)]
    upper = bool(p.tensors.get("upper", False))

    def f(*xs: torch.Tensor) -> torch.Tensor:
        # OpInfo checks these ops through a wrapper that keeps the input in the op's domain
        # (the generator built the default input the same way); the op itself is torch's.
        given = dict(zip(names, xs, strict=True))
        if wrapped in given and wrapper == "hermitian_input":
            given[wrapped] = given[wrapped] + given[wrapped].mH
        elif wrapped in given and wrapper.startswith("triangular_input"):
            x = given[wrapped]
            if wrapper.endswith("real_positive_diagonal"):
                d = x.diagonal(0, -2, -1)
                x = x - torch.diag_embed(d) + torch.diag_embed(torch.ones_like(d))
            given[wrapped] = x.triu() if upper else x.tril()
        elif wrapped in given and wrapper == "ctc_loss":  # onto the log-simplex, as OpInfo
            given[wrapped] = given[wrapped].log_softmax(dim=2)
        return p.fn(**fixed, **given)

    leaves = tuple(p.tensors[n].detach().clone().requires_grad_(True) for n in names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = f(*leaves)
            if not isinstance(out, torch.Tensor) or not out.requires_grad:
                return "output does not require grad"
            torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
    except Exception as exc:  # noqa: BLE001 - any failure is reported by name
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]}"
    return None


def gradcheck_all() -> tuple[int, dict[str, str]]:
    """How many generated ops pass, and each failure's reason, by OpInfo name."""
    failures: dict[str, str] = {}
    passed = 0
    for name, spec in generated().items():
        why = gradcheck_op(spec.signature.partition("(")[0])
        if why is None:
            passed += 1
        else:
            failures[name] = why
    return passed, failures


def test_the_data_file_is_fresh() -> None:
    """Regenerated from the installed torch's op_db, the data file and its doc are unchanged.

    In a subprocess with a fixed hash seed, as the generator always runs (torch's sample
    functions iterate sets of strings), and with no pytest warning filters."""
    done = subprocess.run(
        [sys.executable, "-m", "tools.gen_opinfo", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_every_public_autograd_name_is_opened_or_has_a_reason() -> None:
    data = opinfo.data()
    assert data["public_names"] == len(data["ops"]) == 469
    for op in data["ops"]:
        assert not op["name"].startswith("_") and not op["name"].startswith("torch.ops.")
        assert ("left_out" in op) != ("call" in op), op["name"]
        if "left_out" in op:
            assert op["left_out"].strip(), op["name"]


def test_every_generated_op_passes_gradcheck_at_its_defaults() -> None:
    start = time.perf_counter()
    passed, failures = gradcheck_all()
    total = opinfo.data()["public_names"]
    print(
        f"\n{passed} of {total} OpInfo names pass float64 gradcheck at their defaults "
        f"({len(generated())} opened, {time.perf_counter() - start:.1f} s)"
    )
    for name, why in failures.items():
        print(f"  fails: {name}: {why}")
    assert passed >= PASS_SHARE * total
    # Each failure has its reason recorded, and nothing recorded passes now.
    assert set(failures) == set(opinfo.data()["gradcheck_fails"])
    # and each is an op whose gradcheck torch's own OpInfo tests expect to fail
    assert set(failures) <= set(opinfo.data()["torch_expected_gradcheck_failures"])


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("linalg.svd", "linalg.svd"),
        ("torch.linalg.svd", "linalg.svd"),
        ("special.xlogy", "xlogy"),  # an alias of xlogy in op_db
        ("nn.functional.conv2d", "nn.functional.conv2d"),
        ("torch.nn.functional.conv2d", "nn.functional.conv2d"),
        ("F.conv2d", "nn.functional.conv2d"),
        ("conv2d", "nn.functional.conv2d"),
        ("T", "T"),
        ("Tensor.T", "T"),
        ("view", "view"),
        ("torch.abs", "abs"),
    ],
)
def test_generated_ops_open_by_their_torch_names(text: str, name: str) -> None:
    spec = get(text)
    assert spec.generated and spec.name == name
    assert spec.signature and spec.call_text()
    result = run(text, dtype="float64", formula=False)
    assert result.output is not None


def test_tensor_methods_and_properties_are_called_as_methods() -> None:
    assert get("T").call_text() == "input.T"
    assert get("view").call_text().startswith("input.view(")


def test_hand_written_entries_win_over_generated_ones() -> None:
    for name in ("abs", "exp", "gather", "relu", "sum"):
        assert get(name) is CATALOG[name] and not get(name).generated
    assert "sgd_l1_step" in CATALOG
    listed = [s.name for _, specs in all_ops() for s in specs]
    assert len(listed) == len(set(listed))  # a generated op with a hand-written name is not listed
    assert set(generated()) | set(CATALOG) == set(listed)


def test_an_unknown_dotted_name_suggests_a_generated_one() -> None:
    with pytest.raises(InputError, match="linalg.svd"):
        get("linalg.svdd")


def test_the_running_program_reads_the_data_without_torch_testing() -> None:
    """Opening and running a generated op never imports torch's internal testing modules."""
    code = (
        "import sys; from gradtui.ops import opinfo; "
        "assert 'torch' not in sys.modules, 'opinfo imports torch'; "
        "from gradtui.ops.run import run; run('linalg.svd', formula=False); "
        "print(sorted(m for m in sys.modules if 'common_methods_invocations' in m "
        "or 'opinfo' in m.split('.')[-1] and m.startswith('torch') or m == 'expecttest'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_catalog_reads_the_data_file_only_when_asked() -> None:
    code = (
        "import sys; from gradtui.ops import catalog, opinfo; catalog.get('exp'); "
        "print(opinfo.data.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_the_readme_states_the_measured_figures() -> None:
    from tools.gen_opinfo import summary_line

    assert summary_line(opinfo.data()) in (ROOT / "README.md").read_text()


if __name__ == "__main__":  # python -m tests.ops.test_opinfo: the figures, and each failure
    start = time.perf_counter()
    passed, failures = gradcheck_all()
    for name, why in failures.items():
        print(f"{name}: {why}")
    total = opinfo.data()["public_names"]
    print(
        f"{passed} of {total} pass gradcheck; {len(failures)} fail; "
        f"{time.perf_counter() - start:.1f} s"
    )


def test_random_generated_ops_run_seeded_and_leave_the_generator_alone() -> None:
    """An op target that draws from torch's generator (dropout, rrelu, fractional max
    pooling) runs under torch.manual_seed(0) at every call: the same inputs give the same
    output as torch's own seeded call, twice, and the global generator is untouched."""
    from gradtui.ops import spelling

    refused_random = {
        spec.signature.partition("(")[0].rpartition(".")[2]
        for spec in generated().values()
        if spelling.is_random_or_global(spec.signature.partition("(")[0].rpartition(".")[2])
        and "random"
        in spelling.is_random_or_global(spec.signature.partition("(")[0].rpartition(".")[2])
    }
    opened = {s.signature.partition("(")[0].rpartition(".")[2] for s in generated().values()}
    assert refused_random <= opinfo.SEEDED
    assert {"dropout", "rrelu", "fractional_max_pool2d"} <= refused_random & opened

    g = torch.Generator().manual_seed(5)
    x = torch.randn(1, 1, 9, 9, generator=g, dtype=torch.float64)
    p = prepare("nn.functional.fractional_max_pool2d", dtype="float64")
    draws = []
    for seed in (1, 2, 3):  # the op really is random at these inputs
        torch.manual_seed(seed)
        draws.append(torch.nn.functional.fractional_max_pool2d(x, 2, output_size=5))
    assert not all(torch.equal(draws[0], d) for d in draws)
    values = {**p.tensors, p.names[0]: x, "arg1": 2, "output_size": 5}
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first, second = p.spec.fn(**values), p.spec.fn(**values)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, second)
    torch.manual_seed(0)
    args = [values[n] for n in p.names if n.startswith("arg")]
    kwargs = {n: values[n] for n in p.names if not n.startswith("arg")}
    expected = torch.nn.functional.fractional_max_pool2d(*args, **kwargs)
    expected = expected[0] if isinstance(expected, tuple) else expected
    assert torch.equal(first, expected)
    assert "torch.manual_seed(0)" in p.spec.rule
