"""The command line never shows a traceback: bad input exits 2 with one ``error:`` line.

The whole hostile corpus and a seeded batch of junk go through ``gradtui grad`` and
``gradtui plot``, with and without ``--json``, in every place text is read (the
target, ``--set``, ``--grad-output``, ``--var``, ``--range``, ``--points``,
``--timeout``). In-process through :func:`tui.cli.main` for the bulk (fast), and a
sample through real subprocesses (what a shell sees: exit status, stderr).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gradtui.tui.cli import main
from tests.helpers import gradtui_many
from tests.security.corpus import payloads

CANARY = Path("/nonexistent-dir/CANARY")
CORPUS = [p.text for p in payloads(CANARY)]


def _junk(count: int, seed: int = 0) -> list[str]:
    """Seeded random junk: unicode soup, control characters, lone brackets and quotes."""
    rng = random.Random(seed)
    pools = [
        "()[]{}'\"\\.,;:_=+-*/@#!~%^&|<>?` \t\n\r\x00\x0b\x0c",
        "".join(chr(c) for c in range(0x20, 0x7F)),
        "\u2028\u2029\ufeff\u200b\u00a0\uff58\U0001d626\u0301\ud7ff\U0010ffff",
    ]
    out = ["", " ", "\n", "-", "--", "=", "x=", "=x", "[", "]", "'", '"', "\\", "\x00"]
    while len(out) < count:
        pool = rng.choice(pools)
        out.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    return out


JUNK = _junk(60)


def _invocations(text: str) -> list[list[str]]:
    """Every place a command reads text, each with ``text`` in it."""
    return [
        ["grad", text],
        ["grad", "exp", "--set", f"input={text}"],
        ["grad", "x * 2", "--set", f"x={text}", "--grad-output", "1.0"],
        ["grad", "exp", "--grad-output", text],
        ["plot", text],
        ["plot", "exp", "--set", f"input={text}"],
        ["plot", "exp", "--var", text],
        ["plot", "exp", "--range", text],
        ["graph", text],
        ["jacobian", "exp", "--set", f"input={text}"],
        ["hvp", "x * x", "--vector", f"x={text}"],
    ]


def _check(argv: list[str], capsys: pytest.CaptureFixture[str], *, must_refuse: bool) -> int:
    for as_json in (False, True):
        args = argv + (["--json"] if as_json else [])
        code = main(args)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, args
        assert code in ((2,) if must_refuse else (0, 2)), (args, code, err or out)
        if code == 2:
            if as_json:
                assert set(json.loads(out)) == {"error"}, (args, out)
                assert err == ""
            else:
                lines = err.strip("\n").split("\n")
                assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
    return code


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_hostile_payloads_in_every_argument(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in _invocations(CORPUS[index]):
        _check(argv, capsys, must_refuse=True)
    assert not CANARY.exists()


def test_junk_in_every_argument(capsys: pytest.CaptureFixture[str]) -> None:
    refused = 0
    for text in JUNK:
        for argv in _invocations(text):
            refused += _check(argv, capsys, must_refuse=False) == 2
    assert refused > 0.9 * len(JUNK) * len(_invocations("")), refused


@pytest.mark.parametrize(
    "argv",
    [
        ["grad"],
        ["plot"],
        ["grad", "exp", "--set"],
        ["grad", "exp", "--set", "noequals"],
        ["grad", "exp", "--set", "=[1.0]"],
        ["grad", "exp", "--set", "nosuch=[1.0]"],
        ["grad", "exp", "--dtype", "float16"],
        ["grad", "exp", "--timeout", "soon"],
        ["grad", "exp", "--timeout", "-1"],
        ["grad", "exp", "--bogus"],
        ["plot", "exp", "--points", "many"],
        ["plot", "exp", "--points", "1"],
        ["plot", "exp", "--points", str(10**12)],
        ["plot", "exp", "--range", "1:1"],
        ["plot", "exp", "--range", "nan:1"],
        ["plot", "exp", "--range", "-inf:inf"],
        ["plot", "exp", "--width", "5"],
        ["plot", "exp", "--var", "nosuch"],
        ["plot", "gather", "--var", "index"],
        ["grad", "exp", "--grad-output", "[1.0, 2.0]"],
        ["grad", "exp", "--set", "input=[1.0, 2.0]", "--grad-output", "ones(5)"],
        ["grad", "nosuchop"],
        ["grad", "x" * 5000],
    ],
)
def test_bad_command_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _check(argv, capsys, must_refuse=True)


def test_through_real_processes(tmp_path: Path) -> None:
    """What a shell sees: exit 2, one error line on stderr (or one JSON object), no traceback."""
    commands = [
        ["grad", CORPUS[0]],
        ["plot", "exp", "--set", f"input={CORPUS[len(CORPUS) // 2]}", "--json"],
        ["grad", "exp", "--set", "input=\u2028]['\x0b"],
        ["plot", "exp", "--range", "1::2", "--json"],
    ]
    for args, out in zip(commands, gradtui_many(commands, tmp_path), strict=True):
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout
        if "--json" in args:
            assert set(json.loads(out.stdout)) == {"error"} and out.stderr == ""
        else:
            assert out.stdout == ""
            lines = out.stderr.strip("\n").split("\n")
            assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
