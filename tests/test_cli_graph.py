"""``gradtui graph``, ``gradtui jacobian`` and ``gradtui hvp``: the JSON contracts of issue
14 against torch, the text reports, and one-line refusals (exit 2).

Two runs go through real subprocesses (what a shell sees); the rest call the CLI's
``main`` in process, which is the same code path after argument parsing.
"""

from __future__ import annotations

import json

import pytest
import torch

from gradtui.tui.cli import main
from tests.helpers import ROOT, gradtui_many

EXPR = "x * exp(-x) + sin(x) * w"
D = torch.float64


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*args, "--timeout", "300"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def shell() -> list:
    return gradtui_many(
        [
            ["graph", EXPR, "--json"],
            ["hvp", EXPR, "--vector", "x=-1", "--set", "x=[1., 2.]", "--set", "w=[0., 3.]"],
        ],
        cwd=ROOT,
    )


def test_graph_json_through_a_shell(shell: list) -> None:
    proc = shell[0]
    assert proc.returncode == 0, proc.stderr
    nodes = json.loads(proc.stdout)["nodes"]
    assert nodes[0] == {"id": "n0", "name": "AddBackward0", "next": ["n1", "n5"], "leaf": None}
    assert {n["id"] for n in nodes} == {f"n{k}" for k in range(8)}
    leaves = {n["leaf"]: n for n in nodes if n["leaf"]}
    assert set(leaves) == {"x", "w"} and all(n["name"] == "AccumulateGrad" for n in leaves.values())
    into_x = [n["id"] for n in nodes if leaves["x"]["id"] in n["next"]]
    assert len(into_x) == 3  # x * ..., exp(-x), sin(x): drawn once, three parents


def test_hvp_text_through_a_shell(shell: list) -> None:
    proc = shell[1]
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "second backward of g with upstream u, in the engine's order:" in out
    x = torch.tensor([1.0, 2.0], dtype=D)
    w = torch.tensor([0.0, 3.0], dtype=D)
    f = lambda a, b: (a * torch.exp(-a) + torch.sin(a) * b).sum()  # noqa: E731
    _, (hx, hw) = torch.autograd.functional.hvp(
        f, (x, w), (torch.full((2,), -1.0, dtype=D), torch.zeros(2, dtype=D))
    )
    from gradtui.ops.display import format_value

    # float32 in the report: compare its printed numbers with float64's, rounded the same way
    assert f"  x: {format_value(hx.float().tolist())}" in out
    assert f"  w: {format_value(hw.float().tolist())}" in out
    assert "note: u is zero for w (no vector given)" in out


def test_jacobian_json_is_torchs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(
        ["jacobian", "softmax", "--set", "input=[1., 2., 0.5]", "--dtype", "float64", "--json"],
        capsys,
    )
    assert code == 0
    got = json.loads(out)
    expected = torch.autograd.functional.jacobian(
        lambda t: torch.softmax(t, 0), torch.tensor([1.0, 2.0, 0.5], dtype=D)
    )
    torch.testing.assert_close(torch.tensor(got["jacobians"]["input"], dtype=D), expected)
    assert got["output_shape"] == [3] and got["input_shapes"] == {"input": [3]}


def test_jacobian_text_marks_the_rows_v_combines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(
        ["jacobian", "x.outer(x)", "--set", "x=[1., 2.]", "--grad-output", "[[1., 0.], [0., 0.]]"],
        capsys,
    )
    assert code == 0
    rows = [line for line in out.splitlines() if "out[" in line]
    assert [r.startswith("▸") for r in rows] == [True, False, False, False]
    assert "x.grad" in out and "largest difference 0" in out
    grad_line = next(line for line in out.splitlines() if line.strip().startswith("x.grad "))
    assert grad_line.split()[1:] == ["2", "0"]  # d(x0*x0)/dx = [2*x0, 0]


def test_a_jacobian_too_big_for_text_points_to_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(["jacobian", "softmax", "--set", "input=randn(101)"], capsys)
    assert code == 2
    assert "J would have 10201 entries" in err and "--json gives up to 1,000,000" in err
    code, out, _ = _main(["jacobian", "softmax", "--set", "input=randn(101)", "--json"], capsys)
    assert code == 0 and len(json.loads(out)["jacobians"]["input"]) == 101


def test_graph_text_lists_every_edge(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["graph", EXPR], capsys)
    assert code == 0
    assert "8 nodes, root AddBackward0, leaves: x, w" in out
    assert "n2 AccumulateGrad (x) (3 parents)" in out
    assert "  n4   NegBackward0  → n2 AccumulateGrad (x)" in out


def test_hvp_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(["hvp", "exp(x)", "--vector", "x=[1., 0., 2.]", "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    assert set(got) >= {"hvp", "steps"}
    assert [s["node"] for s in got["steps"]] == ["MulBackward0", "ExpBackward0", "AccumulateGrad"]
    assert [s["id"] for s in got["steps"]] == ["n0", "n1", "n2"]
    u = torch.tensor([1.0, 0.0, 2.0])
    g = torch.tensor(got["gradient"]["x"])  # exp(x) is its own derivative: g = exp(x)
    torch.testing.assert_close(torch.tensor(got["hvp"]["x"]), g * u)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hvp", "x * x", "--vector", "x"], "--vector expects NAME=TEXT, got 'x'"),
        (["hvp", "x * x", "--vector", "y=1."], "y: not an input that requires grad"),
        (["jacobian", "softmax", "--set", "input=randn(1001)"], "J would have 1002001 entries"),
        (["graph", "x +"], "expression:"),
    ],
)
def test_refusals_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    code, out, err = _main([*args, "--json"], capsys)
    assert code == 2 and err == "" and message in json.loads(out)["error"]
