"""``gradtui snippet``, through real subprocesses: exit codes, refusals, the JSON contract.

Exit 0 when the snippet ran, even if a statement raised (that is the answer); exit 2
with ``line:col`` when the snippet language refuses a statement; one-line errors for a
missing or non-UTF-8 file; never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers import ROOT, gradtui, gradtui_many, plain_env

RAISES = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x.exp()
print(y)  # tensor([2.7183, 7.3891], grad_fn=<ExpBackward0>)
y.add_(1)
y.sum().backward()
print(x.grad)  # tensor([2.7183, 7.3891])
"""

REFUSED = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
for i in [1, 2]:
    x = x * i
"""


def _no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in out.stdout + out.stderr


def _gradtui_stdin(data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    """``gradtui snippet - ARGS`` with ``data`` on standard input."""
    done = subprocess.run(
        [sys.executable, "-m", "gradtui.tui.cli", "snippet", "-", *args],
        input=data,
        capture_output=True,
        timeout=300,
        env=plain_env(),
        cwd=ROOT,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def _check_contract(data: dict[str, Any]) -> None:
    """The issue's JSON contract: keys and types."""
    assert set(data) >= {"statements", "stopped_at", "backwards"}
    assert data["stopped_at"] is None or isinstance(data["stopped_at"], int)
    for s in data["statements"]:
        assert set(s) >= {"line", "source", "printed", "error", "claims"}
        assert isinstance(s["line"], int) and isinstance(s["source"], str)
        assert isinstance(s["printed"], list) and all(isinstance(p, str) for p in s["printed"])
        assert s["error"] is None or (
            isinstance(s["error"]["type"], str) and isinstance(s["error"]["message"], str)
        )
        for claim in s["claims"]:
            assert isinstance(claim["text"], str)
            assert claim["holds"] in (True, False, None)
    for record in data["backwards"]:
        assert isinstance(record["line"], int) and isinstance(record["steps"], list)


def test_a_snippet_that_raises_is_an_answer(tmp_path: Path) -> None:
    path = tmp_path / "raises.py"
    path.write_text(RAISES, encoding="utf-8")
    text, as_json = gradtui_many(
        [["snippet", str(path)], ["snippet", str(path), "--json"]], cwd=ROOT
    )
    for out in (text, as_json):
        assert out.returncode == 0, out.stderr
        _no_traceback(out)
    assert "RAISED" in text.stdout and "modified by an inplace operation" in text.stdout
    assert "not reached" in text.stdout
    data = json.loads(as_json.stdout)
    _check_contract(data)
    assert data["stopped_at"] == 6
    (raised,) = [s for s in data["statements"] if s["error"] is not None]
    assert raised["line"] == 6 and raised["source"] == "y.sum().backward()"
    assert raised["error"]["type"] == "RuntimeError"
    assert "is at version 1; expected version 0" in raised["error"]["message"]
    claims = {c["line"]: c["holds"] for s in data["statements"] for c in s["claims"]}
    assert claims == {4: True, 7: None}
    assert data["statements"][3]["printed"] == [
        str(torch.tensor([1.0, 2.0], requires_grad=True).exp())
    ]
    assert data["backwards"] == []


def test_a_refused_statement_exits_2_naming_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "refused.py"
    path.write_text(REFUSED, encoding="utf-8")
    text, as_json = gradtui_many(
        [["snippet", str(path)], ["snippet", str(path), "--json"]], cwd=ROOT
    )
    assert text.returncode == 2 and as_json.returncode == 2
    _no_traceback(text)
    _no_traceback(as_json)
    assert text.stdout == ""
    first, quoted, caret = text.stderr.splitlines()[:3]
    assert first.startswith("error: line 3:1: loops are not allowed")
    assert quoted.endswith("for i in [1, 2]:")
    assert caret.index("^") == quoted.index("for")
    data = json.loads(as_json.stdout)
    assert set(data) == {"error", "line", "col"}
    assert (data["line"], data["col"]) == (3, 1)
    assert "loops are not allowed" in data["error"]
    assert as_json.stderr == ""


def test_a_refusal_only_known_at_run_time_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "percent.py"
    path.write_text("x = 7\nprint(x % 4)\nprint('%d' % x)  # 7\n", encoding="utf-8")
    text, as_json = gradtui_many(
        [["snippet", str(path)], ["snippet", str(path), "--json"]], cwd=ROOT
    )
    assert text.returncode == 2 and as_json.returncode == 2
    assert "3:7" in text.stdout and "'%' formatting is not taken" in text.stdout
    data = json.loads(as_json.stdout)
    _check_contract(data)
    assert data["refused"]["line"] == 3 and data["refused"]["col"] == 7
    assert data["statements"][1]["printed"] == ["3"]


def test_seeds_json() -> None:
    lt, abs_, exp, grad = gradtui_many(
        [
            ["snippet", "--seed", "lt", "--json"],
            ["snippet", "--seed", "abs", "--json"],
            ["snippet", "--seed", "exp", "--json"],
            ["grad", "exp", "--json"],
        ],
        cwd=ROOT,
    )
    for out in (lt, abs_, exp, grad):
        assert out.returncode == 0, out.stderr
        _no_traceback(out)
    lt_data, abs_data, exp_data = (json.loads(o.stdout) for o in (lt, abs_, exp))
    for data in (lt_data, abs_data, exp_data):
        _check_contract(data)
    # lt: the first claim holds, the run stops at line 9, the x.grad claim is not reached.
    claims = [c["holds"] for s in lt_data["statements"] for c in s["claims"]]
    assert claims == [True, None]
    assert lt_data["stopped_at"] == 9
    # Every top-level statement is listed, those after the stop included.
    assert [s["line"] for s in lt_data["statements"]] == [1, 3, 4, 6, 7, 9, 10]
    # abs: stops at line 2.
    assert abs_data["stopped_at"] == 2
    assert abs_data["statements"][1]["error"]["type"] == "RuntimeError"
    # exp: the grad_fn claim fails, the x.grad claim holds; one backward on line 5.
    claims = [c["holds"] for s in exp_data["statements"] for c in s["claims"]]
    assert claims == [False, True]
    (record,) = exp_data["backwards"]
    assert record["line"] == 5
    # The steps are shaped as `gradtui grad --json` writes its steps, and the same graph
    # (exp of a float tensor, summed) runs the same nodes after the sum.
    grad_steps = json.loads(grad.stdout)["steps"]
    assert [set(s) for s in record["steps"]] == [set(grad_steps[0])] * len(record["steps"])
    nodes = [s["node"] for s in record["steps"]]
    assert nodes == ["SumBackward0", *[s["node"] for s in grad_steps]]


def test_seed_text_report() -> None:
    out = gradtui("snippet", "--seed", "lt")
    assert out.returncode == 0, out.stderr
    _no_traceback(out)
    assert "stopped at line 9" in out.stdout
    assert "element 0 of tensors does not require grad" in out.stdout


def test_standard_input() -> None:
    out = _gradtui_stdin(b"import torch\nprint(torch.tensor([1, 2]))  # tensor([1, 2])\n", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["statements"][1]["printed"] == ["tensor([1, 2])"]
    assert data["statements"][1]["claims"][0]["holds"] is True
    # Windows line ends and a byte-order mark, as a paste may bring them: lines count
    # the same.
    crlf = _gradtui_stdin(
        "\ufeffimport torch\r\nx = torch.tensor([1])\r\nx.requires_grad_()\r\n".encode(), "--json"
    )
    assert crlf.returncode == 0, crlf.stderr
    assert json.loads(crlf.stdout)["stopped_at"] == 3


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: str(tmp / "missing.py"), "cannot read"),
        (lambda tmp: str(tmp), "cannot read"),
    ],
    ids=["missing file", "a folder"],
)
def test_an_unreadable_file_is_one_line(make: Any, words: str, tmp_path: Path) -> None:
    out = gradtui("snippet", make(tmp_path))
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")
    assert words in out.stderr
    _no_traceback(out)


def test_a_non_utf8_file_and_bad_arguments_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes("x = 1  # café\n".encode("latin-1"))
    results = gradtui_many(
        [
            ["snippet", str(path)],
            ["snippet", "--seed", "nope"],
            ["snippet"],
            ["snippet", str(path), "--seed", "lt"],
        ],
        cwd=ROOT,
    )
    wants = ["is not UTF-8 text", "no seed snippet 'nope'", "--seed NAME (see", "not both"]
    for out, want in zip(results, wants, strict=True):
        assert out.returncode == 2, out.args
        assert out.stdout == ""
        assert out.stderr.count("\n") == 1 and want in out.stderr, out.stderr
        _no_traceback(out)
    non_utf8_stdin = _gradtui_stdin(b"x = '\xff'\n")
    assert non_utf8_stdin.returncode == 2
    assert "is not UTF-8 text" in non_utf8_stdin.stderr
    _no_traceback(non_utf8_stdin)


def test_json_escapes_what_a_terminal_would_act_on_or_hide() -> None:
    """A snippet chooses what it prints: under --json a right-to-left override or a C1
    control is written as an escape, while ordinary non-ASCII text stays as it is."""
    out = _gradtui_stdin('import torch\nprint("a\\u202eb\\u0085c 梯度")\n'.encode(), "--json")
    assert out.returncode == 0
    assert "\u202e" not in out.stdout and "\x85" not in out.stdout
    assert "\\u202e" in out.stdout and "梯度" in out.stdout
    printed = json.loads(out.stdout)["statements"][1]["printed"]
    assert printed == ["a\u202eb\x85c 梯度"]
