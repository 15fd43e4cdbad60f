"""``gradtui model``: the text report's parts, the JSON contract of issue 13 with the plain
script's numbers, ``--script``, and one-line refusals (exit 2, the column named).

A few runs go through real subprocesses (what a shell sees); the rest call the CLI's
``main`` in process, which is the same code path after argument parsing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gradtui.tui.cli import main
from tests.helpers import ROOT, gradtui_many, python
from tests.ops.model_reference import run
from tests.ops.test_model import CASES

SPEC = "Linear(2, 3) -> ReLU() -> Linear(3, 1)"
DATA = "[[1., 2.], [3., -1.], [0., 1.], [-2, 0.5]]"
TARGET = "[[1.], [0.], [2.], [0.5]]"
BASE = ["model", SPEC, "--data", DATA, "--target", TARGET, "--timeout", "300"]
"""A generous time bound: the default 5 s is a wall-clock limit a loaded test machine can
pass for a run of three detail steps (the tests check numbers, not speed)."""
MOMENTUM = ["--optimizer", "SGD(lr=0.1, momentum=0.9)", "--l1", "0.01", "--steps", "3"]

CONTRACT_STEP = {
    "step",
    "loss",
    "grads",
    "params_after",
    "grad_norms",
    "backward",
    "optimizer_state",
}


def _in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    if args[0] == "model" and "--timeout" not in args:
        args = [*args, "--timeout", "300"]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def shell() -> dict[str, object]:
    """--json of one run and one refusal through real processes (what a shell sees: the
    exit status, stdout and stderr apart); the rest of this file calls ``main``."""
    as_json, bad = gradtui_many(
        [
            BASE + [*MOMENTUM, "--json"],
            ["model", "Linear(2, 3) -> Tanh() -> Linear(4, 1)", *BASE[2:]],
        ],
        cwd=ROOT,
    )
    return {"json": as_json, "bad": bad}


def test_the_text_report_has_every_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, err = _in_process(BASE + MOMENTUM, capsys)
    assert code == 0 and err == "", err
    for part in (
        f"model: {SPEC}",
        "13 parameters, float32, torch.manual_seed(0); loss mse_loss; "
        "optimizer SGD(lr=0.1, momentum=0.9); l1 0.01",
        "data [4, 2], target [4, 1] (float32)",
        "loss per step:",
        "step 3: loss = ",
        "  forward, layer by layer:",
        "  backward, module by module (register_full_backward_hook):",
        "  backward, node by node (the engine's order; module in brackets):",
        "  parameters (grad = .grad after backward(); before/after step()):",
        "  optimizer state (SGD(lr=0.1, momentum=0.9), opt.state[p] after step()):",
        "  gradient norm per layer (the loss's part): ",
        "measured over the run: after 3 steps of SGD(lr=0.1, momentum=0.9) with l1=0.01",
    ):
        assert part in text, part
    for layer in ("0 Linear", "1 ReLU", "2 Linear"):
        assert f"    {layer}" in text
    assert "L1 part of grad" in text and "momentum_buffer" in text
    assert "AccumulateGrad (0.weight)" in text and "[hook]" in text and "[module 2]" in text
    assert "\x1b" not in text and "Traceback" not in text


def test_json_is_the_contract_with_the_scripts_numbers(
    shell: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    out = shell["json"]
    assert out.returncode == 0 and out.stderr == "", out.stderr
    data = json.loads(out.stdout)
    case = CASES[1]  # the same model, optimizer, L1 and data as MOMENTUM
    assert case.spec == SPEC and case.l1 == 0.01
    ref = run(case)
    assert data["params"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(data["steps"]) == 3
    grad_step_keys = _grad_json_step_keys(capsys)
    for k, (step, r) in enumerate(zip(data["steps"], ref, strict=True)):
        assert set(step) >= CONTRACT_STEP
        assert step["step"] == k + 1
        assert step["loss"] == float(r.loss)
        assert list(step["grads"]) == list(step["params_after"]) == data["params"]
        for name in data["params"]:
            assert torch.equal(torch.tensor(step["grads"][name]), r.grads[name]), name
            assert torch.equal(torch.tensor(step["params_after"][name]), r.after[name]), name
            assert step["grad_norms"][name] == float(torch.linalg.vector_norm(r.grads[name]))
            buffer = step["optimizer_state"][name]["momentum_buffer"]
            assert torch.equal(torch.tensor(buffer), r.state[name]["momentum_buffer"])
        assert step["backward"] and all(set(s) == grad_step_keys for s in step["backward"])
        assert [s["index"] for s in step["backward"]] == list(range(len(step["backward"])))
    assert data["script"].startswith("import torch\n")


def _grad_json_step_keys(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The keys of one step of ``gradtui grad --json`` (measured, not copied)."""
    code, out, _ = _in_process(["grad", "x.exp()", "--json"], capsys)
    assert code == 0
    return set(json.loads(out)["steps"][0])


def test_script_prints_the_plain_script_that_gives_the_same_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, script, err = _in_process(BASE + [*MOMENTUM, "--script"], capsys)
    assert code == 0 and err == ""
    for line in (
        "torch.manual_seed(0)",
        "nn.Linear(in_features=2, out_features=3)",
        "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)",
        "for step in range(3):",
        "    loss = F.mse_loss(model(data), target)",
        "    loss = loss + 0.01 * sum(p.abs().sum() for p in model.parameters())",
    ):
        assert line in script, line
    done = python(
        script + "import json\nprint(json.dumps({n: p.tolist() for n, p in "
        "model.named_parameters()}))\n",
        cwd=tmp_path,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    last = run(CASES[1])[-1].after
    assert list(got) == list(last)
    for name, value in got.items():
        assert torch.equal(torch.tensor(value), last[name]), name


def test_a_shape_that_does_not_fit_is_one_line_with_its_column(shell: dict) -> None:
    out = shell["bad"]
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.splitlines()
    assert lines == [
        "error: spec: Linear(4, 1) does not fit its input of shape 4x3: mat1 and mat2 shapes "
        "cannot be multiplied (4x3 and 4x1) (at column 27)"
    ]
    assert "Linear(2, 3) -> Tanh() -> Linear(4, 1)"[26:].startswith("Linear(4, 1)")


@pytest.mark.parametrize(
    ("args", "start", "column"),
    [
        (["model", "Linear(2, 3) -> Conv2d(3, 1)"], "error: spec: unknown layer 'Conv2d'", 17),
        (["model", "Linear(2, 3) -> Tanh(1)"], "error: spec: Tanh takes at most 0", 22),
        (["model", "Linear(2, 3) ->"], "error: spec: ", None),
        (["model", SPEC, "--optimizer", "LBFGS(lr=1)"], "error: optimizer: unknown optimizer", 1),
        (["model", SPEC, "--optimizer", "SGD(lr=0.1, foo=1)"], "error: optimizer: SGD takes", 13),
        (["model", SPEC, "--loss", "mse_los"], "error: loss: unknown loss 'mse_los'; did you", 1),
        (["model", SPEC, "--target", "[[1.], [2.]]"], "error: target: mse_loss refused", 1),
        (["model", SPEC, "--data", "[[1., 2.], [3.,"], "error: data: ", None),
    ],
)
def test_refusals_are_one_line_naming_the_place(
    args: list[str], start: str, column: int | None, capsys: pytest.CaptureFixture[str]
) -> None:
    full = list(args)
    for flag, value in (("--data", DATA), ("--target", TARGET)):
        if flag not in full:
            full += [flag, value]
    code, out, err = _in_process(full, capsys)
    assert code == 2 and out == "", (out, err)
    assert err.startswith(start) and err.count("\n") == 1, err
    assert "Traceback" not in err
    if column is not None:
        assert err.rstrip().endswith(f"(at column {column})"), err
    else:
        assert "(at column " in err, err


def test_refusals_under_json_are_an_error_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _in_process(
        ["model", "Linear(2, 3) -> Conv2d(3, 1)", "--data", DATA, "--target", TARGET, "--json"],
        capsys,
    )
    assert code == 2 and err == ""
    assert json.loads(out)["error"].startswith("spec: unknown layer 'Conv2d'")


def test_steps_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _in_process(BASE + ["--steps", "0"], capsys)
    assert code == 0 and err == ""
    assert "no steps taken (--steps 0)" in out
    assert "4 parameter tensors" in out  # no step measured the shapes: named by count
    code, out, err = _in_process(BASE + ["--steps", "0", "--json"], capsys)
    data = json.loads(out)
    assert data["params"] == ["0.weight", "0.bias", "2.weight", "2.bias"] and data["steps"] == []
    for bad in ("-1", "10001"):
        code, out, err = _in_process(BASE + ["--steps", bad], capsys)
        assert code == 2 and err == "error: --steps must be from 0 to 10,000\n"


def test_dtype_float64(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _in_process(
        BASE + ["--dtype", "float64", "--optimizer", "Adam(lr=0.01)", "--json"], capsys
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["dtype"] == "float64" and "model = model.to(torch.float64)" in data["script"]
    case = CASES[1]
    f64 = type(case)(**{**case.__dict__, "dtype": torch.float64, "steps": 1, "l1": 0.0})
    f64 = type(case)(**{**f64.__dict__, "optimizer": "Adam", "kwargs": (("lr", 0.01),)})
    (ref,) = run(f64)
    (step,) = data["steps"]
    assert step["loss"] == float(ref.loss)
    for name, value in step["params_after"].items():
        assert torch.equal(torch.tensor(value, dtype=torch.float64), ref.after[name]), name
    assert step["optimizer_state"]["0.weight"]["step"] == 1.0
    exp_avg = step["optimizer_state"]["0.weight"]["exp_avg"]
    assert torch.equal(torch.tensor(exp_avg, dtype=torch.float64), ref.state["0.weight"]["exp_avg"])
    code, out, err = _in_process(BASE + ["--dtype", "float16"], capsys)
    assert code == 2 and "float16" in err and err.count("\n") == 1


def test_class_targets_stay_integer_for_cross_entropy(capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[9]
    code, out, err = _in_process(
        [
            "model",
            case.spec,
            "--data",
            DATA,
            "--target",
            "[0, 2, 1, 2]",
            "--loss",
            "F.cross_entropy",
            "--optimizer",
            case.optimizer_text,
            "--steps",
            "3",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["target"] == [0, 2, 1, 2] and data["loss_name"] == "cross_entropy"
    ref = run(case)
    for step, r in zip(data["steps"], ref, strict=True):
        assert step["loss"] == float(r.loss)
    same_step = data["steps"][-1]["params_after"]["2.weight"]
    assert torch.equal(torch.tensor(same_step), ref[-1].after["2.weight"])
