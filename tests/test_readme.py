"""Every ``$ gradtui …`` example in README.md prints what the README shows.

Each fenced block whose first line is ``$ gradtui …`` is run as a person would run it:
the installed ``gradtui`` console script in a real pseudo-terminal of 100x30 (so
stdout is a terminal, as in the README), with ``NO_COLOR=1`` so the output is plain
text, in a scratch directory. Its output (stdout and stderr, as the terminal shows
them) must equal the block's lines after the command, trailing whitespace aside. A
line ``...`` in a block stands for any run of lines (the README shortens a long
report that way).

A file an example names (``my-demo.toml``) is written from the README block just
before it whose first line is ``# FILE``, so the script on the page is the one run.

To rewrite the README's outputs from the real commands (after a deliberate change to
what gradtui prints)::

    GRADTUI_README_UPDATE=1 python3 -m pytest tests/test_readme.py

then read the diff. A ``...`` block keeps as many lines before and after the ``...``
as it had.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COLS, ROWS = 100, 30
UPDATE = os.environ.get("GRADTUI_README_UPDATE") == "1"
ELLIPSIS = "..."

_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    command: str
    expected: list[str]
    files: dict[str, str]
    start: int  # where the block's output starts in the README text
    end: int


def examples(text: str) -> list[Example]:
    """The README's ``$ gradtui`` blocks, with the files they name."""
    found: list[Example] = []
    files: dict[str, str] = {}
    for match in _FENCE.finditer(text):
        body = match.group(1)
        first, _, rest = body.partition("\n")
        named = re.fullmatch(r"# ([\w.-]+)", first.strip())
        if named:
            files[named.group(1)] = body
            continue
        if not first.startswith("$ gradtui"):
            continue
        start = match.start(1) + len(first) + 1
        found.append(
            Example(
                first[2:],
                rest.splitlines(),
                dict(files),
                start,
                match.end(1),
            )
        )
    return found


def run_in_pty(command: str, cwd: Path) -> str:
    """What ``command`` prints in a 100x30 terminal, with ``\\r\\n`` read as ``\\n``."""
    argv = shlex.split(command)
    assert argv[0] == "gradtui"
    script = Path(sys.executable).with_name("gradtui")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": str(COLS)}
    env.pop("GRADTUI_README_UPDATE", None)
    proc = subprocess.Popen(
        [str(script), *argv[1:]],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(timeout=120)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _plain(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` equals ``actual``; a ``...`` line in it stands for any lines."""
    if ELLIPSIS not in expected:
        return expected == actual
    k = expected.index(ELLIPSIS)
    head, tail = expected[:k], expected[k + 1 :]
    return (
        len(actual) >= len(head) + len(tail)
        and actual[: len(head)] == head
        and (not tail or actual[-len(tail) :] == tail)
    )


def regenerated(expected: list[str], actual: list[str]) -> list[str]:
    """The block's new output: all of it, or as many lines around ``...`` as before."""
    if ELLIPSIS not in expected:
        return actual
    k = expected.index(ELLIPSIS)
    after = len(expected) - k - 1
    return actual[:k] + [ELLIPSIS] + (actual[-after:] if after else [])


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_its_examples() -> None:
    commands = [e.command for e in EXAMPLES]
    assert len(commands) >= 7
    assert "gradtui plot abs --width 64 --height 14 --range -2:2" in commands
    assert all(e.expected for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.command for e in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(example: Example, tmp_path: Path) -> None:
    for name, body in example.files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    actual = _plain(run_in_pty(example.command, tmp_path).split("\n"))
    assert "Traceback" not in "\n".join(actual)
    expected = _plain(example.expected)
    if UPDATE and not matches(expected, actual):
        text = README.read_text(encoding="utf-8")
        old = "\n".join(example.expected) + "\n"
        assert text.count(old) == 1, f"cannot find the output of `{example.command}` to update"
        new = "\n".join(regenerated(expected, actual)) + "\n"
        README.write_text(text.replace(old, new), encoding="utf-8")
        return
    assert actual == expected or matches(expected, actual), (
        f"`{example.command}` prints:\n" + "\n".join(actual)
    )


def test_an_ellipsis_stands_for_lines_and_keeps_its_place_on_update() -> None:
    actual = ["a", "b", "c", "d"]
    assert matches(["a", ELLIPSIS, "d"], actual)
    assert matches(["a", "b", ELLIPSIS], actual)
    assert not matches(["a", ELLIPSIS, "c"], actual)
    assert not matches(["a", "b", "c"], actual)
    assert regenerated(["x", ELLIPSIS, "y"], actual) == ["a", ELLIPSIS, "d"]
    assert regenerated(["x", "y"], actual) == actual
