"""The command line, through real subprocesses: exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import console_script, gradtui, plain_env, python


def test_console_script_is_installed() -> None:
    script = console_script()
    assert script.exists(), "pip install should create the gradtui console script"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "gradient explorer" in out.stdout


def test_grad_json_contract_for_exp() -> None:
    out = gradtui("grad", "exp", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {
        "target",
        "expression",
        "inputs",
        "output",
        "differentiable",
        "reason",
        "grads",
        "steps",
        "formula",
    }
    assert data["target"] == "exp"
    assert data["output"]["grad_fn"] == "ExpBackward0"
    assert data["differentiable"] is True and data["reason"] is None
    x = data["inputs"]["input"]
    assert x["dtype"] == "float32" and x["shape"] == [3] and x["requires_grad"] is True
    # exp' = exp: the gradient equals the output, element for element.
    assert data["grads"]["input"] == pytest.approx(data["output"]["value"])
    nodes = [s["node"] for s in data["steps"]]
    assert nodes[0] == "ExpBackward0" and nodes[-1] == "AccumulateGrad"
    for i, step in enumerate(data["steps"]):
        assert step["index"] == i
        assert set(step) >= {"index", "node", "grad_outputs", "grad_inputs", "saved", "next"}
    assert data["steps"][0]["saved"]["result"] == pytest.approx(data["output"]["value"])


def test_grad_lt_is_an_answer_not_a_crash() -> None:
    out = gradtui("grad", "lt", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["differentiable"] is False
    assert data["output"]["dtype"] == "bool"
    assert data["output"]["grad_fn"] is None
    assert "grad_fn" in data["reason"]
    assert all(g is None for g in data["grads"].values())


def test_grad_text_report_for_an_expression() -> None:
    out = gradtui("grad", "x * sin(x)", "--set", "x=[0.0, 1.0]", "--dtype", "float64")
    assert out.returncode == 0, out.stderr
    assert "MulBackward0" in out.stdout and "SinBackward0" in out.stdout
    assert "x.grad = [0., 1.382]" in out.stdout  # sin(1) + cos(1) = 1.3818


def test_nonfinite_numbers_are_strings_in_json() -> None:
    out = gradtui("grad", "log", "--set", "input=[-1.0, 0.0, 1.0]", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["output"]["value"][:2] == ["nan", "-inf"]
    assert data["grads"]["input"][1] == "inf"


@pytest.mark.parametrize(
    "args",
    [
        ("grad", "exp", "--set", "input=__import__('os')"),
        ("grad", "x.__class__"),
        ("grad", "nosuchop"),
        ("grad", "exp", "--set", "nosuchinput=[1.]"),
        ("grad", "exp", "--set", "novalue"),
        ("grad", "exp", "--grad-output", "[1., 2.]"),
        ("plot", "exp", "--range", "3:1"),
        ("grad",),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args: tuple[str, ...]) -> None:
    out = gradtui(*args)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    as_json = gradtui(*args, "--json")
    assert as_json.returncode == 2
    assert set(json.loads(as_json.stdout)) == {"error"}


def test_plot_json_carries_the_numeric_check() -> None:
    """``disagree``: the samples where the TUI marks numeric ≠ autograd, from the engine."""
    from gradtui.ops.curves import sample_curve

    args = ("sin(1/x)", "--range", "0.001:0.1", "--points", "51")
    data = json.loads(gradtui("plot", *args, "--json").stdout)
    want = sample_curve("sin(1/x)", lo=0.001, hi=0.1, points=51).disagree
    assert data["disagree"] == list(want) and want  # 1/x turns faster than the step there
    assert all(isinstance(i, int) and 0 <= i < len(data["x"]) for i in data["disagree"])
    assert json.loads(gradtui("plot", "exp", "--json").stdout)["disagree"] == []


def test_plot_text_and_json() -> None:
    out = gradtui("plot", "abs", "--width", "60", "--height", "14", "--range", "-2:2")
    assert out.returncode == 0, out.stderr
    assert "\x1b[" not in out.stdout  # not a terminal: no colour
    assert "f′" in out.stdout and "corner at input=0: the one-sided slopes are -1" in out.stdout
    data = json.loads(gradtui("plot", "abs", "--points", "41", "--json").stdout)
    assert set(data) >= {"var", "x", "f", "df", "df_numeric", "kinks", "differentiable", "reason"}
    assert len(data["x"]) == 41
    assert data["differentiable"] is False and "corner at input=0" in data["reason"]
    (kink,) = data["kinks"]
    assert kink["x"] == pytest.approx(0.0, abs=1e-6) and kink["kind"] == "corner"
    assert (kink["df"], kink["left"], kink["right"]) == pytest.approx((0.0, -1.0, 1.0), abs=1e-3)


def test_plot_of_a_jump_prints_limits_not_slopes() -> None:
    out = gradtui("plot", "floor", "--width", "60", "--height", "14", "--range", "-0.5:1.5")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().splitlines()[-1] == (
        "jump at input=1: f jumps from 0 to 1, so no derivative exists; torch returns f′=0 there"
    )
    assert "slope" not in out.stdout


def test_plot_without_grad_fn_says_there_is_no_gradient() -> None:
    data = json.loads(gradtui("plot", "x > 0", "--json").stdout)
    assert data["differentiable"] is False and data["df"] is None
    assert "no grad_fn" in data["reason"]
    (kink,) = data["kinks"]
    assert kink["kind"] == "jump" and kink["df"] is None and kink["left"] is None
    assert (kink["before"], kink["after"]) == (0.0, 1.0)
    text = gradtui("plot", "lt", "--width", "60", "--height", "12").stdout
    assert "no gradient:" in text and "f′=" not in text and "nan" not in text


def test_ops_lists_the_catalog() -> None:
    data = json.loads(gradtui("ops", "--json").stdout)
    names = {op["name"] for op in data}
    assert len(names) >= 40
    assert {"lt", "abs", "exp", "gather", "sgd_l1_step", "binary_cross_entropy"} <= names
    text = gradtui("ops").stdout
    assert "exp(input)" in text


def test_version_comes_from_the_installed_metadata_without_torch() -> None:
    from importlib.metadata import version

    out = gradtui("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"gradtui {version('gradtui')}\n"
    # Fast because it needs no torch: the import is what costs seconds.
    probe = python(
        "import sys; from gradtui.tui.cli import main; main(['--version']); "
        "print('torch' in sys.modules)",
        timeout=60,
        env=plain_env(),
        check=False,
    )
    assert probe.stdout.splitlines() == [f"gradtui {version('gradtui')}", "False"]


@pytest.mark.parametrize("command", ["", "grad", "plot"])
def test_help_explains_set(command: str) -> None:
    out = gradtui(*([command] if command else []), "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "--set NAME=TEXT set input NAME to TEXT, written in the input language" in text


@pytest.mark.parametrize(
    ("args", "meant"),
    [(("plto", "abs"), "plot"), (("grd", "exp", "--json"), "grad"), (("plto",), "plot")],
)
def test_a_mistyped_command_suggests_the_right_one(args: tuple[str, ...], meant: str) -> None:
    out = gradtui(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stdout + out.stderr
    said = json.loads(out.stdout)["error"] if "--json" in args else out.stderr
    if "--json" not in args:
        assert said.startswith("error: ") and said.count("\n") == 1
    assert f"unknown command {args[0]!r}; did you mean `gradtui {meant}`?" in said


def test_an_op_that_looks_like_a_command_is_still_an_op() -> None:
    # `lt` is close to `plot` by spelling, but it is a catalog op: the app form, which
    # needs a terminal, answers instead of a "did you mean" (stdin here is not a tty).
    out = gradtui("lt")
    assert out.returncode == 2
    assert "the app needs a terminal" in out.stderr and "did you mean" not in out.stderr


def test_grad_report_names_a_saved_reduction() -> None:
    from torch.nn import _reduction

    out = gradtui("grad", "binary_cross_entropy")
    assert out.returncode == 0, out.stderr
    assert f"        saved reduction = {_reduction.get_enum('mean')} (mean)\n" in out.stdout


# What a command imported, from a fresh interpreter: its output goes nowhere, and the
# last line printed is the status and the top-level names of every module loaded.
_IMPORTS_AFTER = """
import contextlib, io, json, sys
from gradtui.tui.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    status = main(sys.argv[1:])
print(json.dumps([status, sorted({name.split(".")[0] for name in sys.modules})]))
"""


@pytest.mark.parametrize(
    "args",
    [
        ("ops",),
        ("ops", "--json"),
        ("grad", "exp", "--set", "input=0.5"),
        ("grad", "abs", "--json"),
        ("plot", "abs", "--width", "60", "--height", "12"),
        ("plot", "abs", "--json"),
        ("grad", "nope"),
    ],
    ids=" ".join,
)
def test_the_pipe_commands_import_no_textual(args: tuple[str, ...]) -> None:
    """``ops``, ``grad`` and ``plot`` answer from a pipe with the engine and plain text
    only: Textual (and the app with it) is never loaded, so they start as fast as torch."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS_AFTER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        # a generous bound: this test is about imports, and a loaded CI machine once
        # took longer than the default 5 s for `grad exp`
        env=plain_env({"GRADTUI_TIMEOUT": "120"}),
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    status, top_level = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == (2 if args == ("grad", "nope") else 0)
    assert "gradtui" in top_level and "torch" in top_level  # the command did run
    assert "textual" not in top_level, f"gradtui {' '.join(args)} imported Textual"


def test_a_reader_that_leaves_early_gets_no_error_line() -> None:
    """``gradtui ops --json | head -c 100``: the pipe closes under a long listing; gradtui
    stops quietly (status 141, as a program killed by SIGPIPE), with no 'internal error'."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtui.tui.cli", "ops", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=plain_env(None),
    )
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert head.startswith(b"[") or head.startswith(b"{")
    assert err == ""
