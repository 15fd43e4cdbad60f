"""CPython as the reference for gradtui's snippets: the same text, run by the real Python.

:func:`cpython` runs snippets with ``sys.executable`` in one subprocess (torch is
imported once for the batch), each from a file of its own by :func:`runpy.run_path` in
fresh globals, so a traceback names the snippet's own lines. For each it returns what
Python's stdout held, each ``print`` call's text with its line, the exception (type,
``str``, the last line of the traceback, the snippet's line the traceback names) and the
warnings raised. A snippet that draws random numbers is seeded with
``torch.manual_seed(0)`` first, as gradtui seeds at the start of every run.

:func:`assert_same_as_cpython` compares one :class:`~gradtui.ops.results.SnippetResult`
with it: stdout exactly, each statement's ``printed``, the warnings, the stop line, the error's type
and message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gradtui.ops.results import SnippetResult

_RANDOM = re.compile(r"\b(rand\w*|normal_?|bernoulli|multinomial|uniform_)\b")

_DRIVER = r"""
import builtins, io, json, runpy, sys, traceback, warnings

def run_one(path, seed):
    stdout = io.StringIO()
    prints = []
    real_print = builtins.print

    def recording_print(*args, **kwargs):
        buf = io.StringIO()
        real_print(*args, file=buf, **{k: v for k, v in kwargs.items() if k != "file"})
        prints.append([sys._getframe(1).f_lineno, buf.getvalue()])
        stdout.write(buf.getvalue())

    if seed:
        import torch
        torch.manual_seed(0)
    error = None
    builtins.print = recording_print
    saved_stdout = sys.stdout
    sys.stdout = stdout
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                runpy.run_path(path, run_name="__main__")
            except Exception as exc:
                line = None
                tb = exc.__traceback__
                while tb is not None:
                    if tb.tb_frame.f_code.co_filename == path:
                        line = tb.tb_lineno
                    tb = tb.tb_next
                error = {
                    "type": type(exc).__name__,
                    "message": str(exc),
                    "last_line": traceback.format_exception(exc)[-1].rstrip("\n"),
                    "line": line,
                }
    finally:
        builtins.print = real_print
        sys.stdout = saved_stdout
    return {
        "stdout": stdout.getvalue(),
        "prints": prints,
        "error": error,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }

cases = json.load(open(sys.argv[1]))
json.dump([run_one(path, seed) for path, seed in cases], open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Reference:
    """What CPython did with one snippet.

    Attributes:
        stdout: Everything printed.
        prints: Each ``print`` call as (line, text without its final newline).
        error: ``None``, or the exception's type, ``str``, the traceback's last line and
            the snippet's line the traceback names.
        warnings: ``"Category: message"`` for each warning raised.
    """

    stdout: str
    prints: tuple[tuple[int, str], ...]
    error: dict[str, object] | None
    warnings: tuple[str, ...]


def draws_random(text: str) -> bool:
    """Whether a snippet draws random numbers (then CPython is seeded with 0 first)."""
    return _RANDOM.search(text) is not None


def cpython(*texts: str) -> list[Reference]:
    """Run each snippet in CPython (one subprocess for all) and say what each did."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = []
        for i, text in enumerate(texts):
            path = folder / f"snippet_{i}.py"
            path.write_text(text, encoding="utf-8")
            cases.append([str(path), draws_random(text)])
        (folder / "cases.json").write_text(json.dumps(cases))
        (folder / "driver.py").write_text(_DRIVER)
        done = subprocess.run(
            [
                sys.executable,
                str(folder / "driver.py"),
                str(folder / "cases.json"),
                str(folder / "out.json"),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        raw = json.loads((folder / "out.json").read_text())
    return [
        Reference(
            stdout=r["stdout"],
            prints=tuple((line, text.removesuffix("\n")) for line, text in r["prints"]),
            error=r["error"],
            warnings=tuple(r["warnings"]),
        )
        for r in raw
    ]


def assert_same_as_cpython(result: SnippetResult, ref: Reference) -> None:
    """The snippet's run agrees with CPython's: stdout exactly, each statement's prints,
    the warnings torch issued, where it stopped, and what it raised (type and message, as
    the traceback ends)."""
    assert result.refused is None, result.refused
    assert result.output == ref.stdout
    for statement in result.all_statements():
        if statement.body:
            continue
        want = [text for line, text in ref.prints if statement.line <= line <= statement.end_line]
        assert list(statement.printed) == want, statement.source
    warned = [w for s in result.all_statements() if not s.body for w in s.warnings]
    assert warned == list(ref.warnings)
    if ref.error is None:
        assert result.stopped_at is None, [s.error for s in result.all_statements() if s.error]
        return
    assert result.stopped_at == ref.error["line"]
    raised = [s for s in result.all_statements() if s.status == "raised" and not s.body]
    assert len(raised) == 1
    error = raised[0].error
    assert error is not None
    assert (error.type, error.message) == (ref.error["type"], ref.error["message"])
    if "\n" not in error.message:
        assert ref.error["last_line"] == f"{error.type}: {error.message}"
