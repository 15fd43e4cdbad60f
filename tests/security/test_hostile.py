"""Known Python sandbox escapes, typed into every field gradtui reads: all refused, none runs.

Each payload of :mod:`tests.security.corpus` aims at creating a canary file. Here every
one is fed to the input language (``parse``, ``tensor_from_text``), to ``ops.run.run``
as an expression, as an input value and as ``v``, to ``sample_curve`` and to the
formula builder; each must raise :class:`InputError` and the canary must not exist
afterwards. A profiler shows that no torch function is called before the refusal.
``test_the_corpus_is_live`` is the control: handed to plain Python, most payloads do
create their canary, so the canary check can fail.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from gradtui.ops import language
from gradtui.ops.curves import sample_curve
from gradtui.ops.errors import InputError
from gradtui.ops.formulas import derivative_formula
from gradtui.ops.graph import graph, hvp, jacobian
from gradtui.ops.run import run
from tests.helpers import gradtui_many
from tests.security.control import live_under_python
from tests.security.corpus import payloads

_CORPUS = payloads(Path("/CANARY"))  # ids and categories only; each test uses its own tmp path
TORCH_DIR = os.path.dirname(torch.__file__)


def test_the_corpus_is_large_and_cited() -> None:
    assert len(_CORPUS) >= 40
    assert len({p.id for p in _CORPUS}) == len(_CORPUS)
    for p in _CORPUS:
        assert p.source.startswith("["), p.id  # every payload cites where it comes from
        assert "/CANARY" in p.text or "CANARY" in _decoded(p.text), p.id
    assert {p.category for p in _CORPUS} >= {
        "subclasses",
        "import",
        "eval",
        "getattr",
        "format",
        "frames",
        "lambda",
        "exit",
        "tensor-files",
        "nfkc",
        "builtins",
        "statements",
        "characters",
        "attributes",
    }


def _decoded(text: str) -> str:
    """The text with quote-free spellings (chr(..), bytes((..))) decoded, for the check above."""
    import re

    chars = "".join(chr(int(n)) for n in re.findall(r"chr\((\d+)\)", text))
    for group in re.findall(r"bytes\(\(([\d,]+),\)\)", text):
        chars += bytes(int(n) for n in group.split(",") if n).decode()
    return chars


# --------------------------------------------------------------------------- no torch call


@contextmanager
def torch_calls() -> Iterator[list[str]]:
    """Record every call into torch (Python functions in torch's files, C functions of torch).

    ``sys.setprofile`` sees this thread; ``threading.setprofile`` the worker threads
    ``run()`` starts for its time bound.
    """
    seen: list[str] = []

    def profile(frame, event, arg):  # noqa: ANN001 - the profiler protocol
        if event == "call" and frame.f_code.co_filename.startswith(TORCH_DIR):
            seen.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        elif event == "c_call":
            module = getattr(arg, "__module__", None) or getattr(
                getattr(arg, "__objclass__", None), "__module__", None
            )
            if module is None and getattr(arg, "__self__", None) is not None:
                module = type(arg.__self__).__module__
            if isinstance(module, str) and module.startswith("torch"):
                seen.append(f"{module}.{getattr(arg, '__name__', '?')}")

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)
        threading.setprofile(None)


def test_the_torch_call_detector_sees_torch_calls() -> None:
    """The control for the "no torch call" assertions below: it catches real work."""
    run("exp", timeout=0)  # warm caches first, as in the real tests
    with torch_calls() as seen:
        language.tensor_from_text("exp(ones(2))")
    assert any("exp" in s for s in seen) and any("ones" in s for s in seen), seen[:20]
    with torch_calls() as seen:
        run("x * 2", {"x": "[1.0]"})
    assert len(seen) > 10


# --------------------------------------------------------------------------- every route


def _routes(text: str) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("parse", lambda: language.parse(text)),
        ("tensor_from_text", lambda: language.tensor_from_text(text)),
        ("run(expression)", lambda: run(text)),
        ("run(input value)", lambda: run("exp", {"input": text})),
        ("run(v)", lambda: run("exp", grad_output=text)),
        ("run(expression input)", lambda: run("x * 2", {"x": text})),
        ("run(second input)", lambda: run("add", {"other": text})),
        ("sample_curve", lambda: sample_curve(text)),
        ("derivative_formula", lambda: derivative_formula(text, "x")),
        ("graph(expression)", lambda: graph(text)),
        ("jacobian(input value)", lambda: jacobian("softmax", {"input": text})),
        ("jacobian(v)", lambda: jacobian("exp", grad_output=text)),
        ("hvp(vector)", lambda: hvp("x * x", {"x": "[1.]"}, vectors={"x": text})),
        ("hvp(expression)", lambda: hvp(text)),
    ]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load the catalog and the engine's caches, so the profiler sees only the payload's fate."""
    run("exp", timeout=0)
    run("x * 2", {"x": "[1.0]"}, timeout=0)


@pytest.mark.parametrize("index", range(len(_CORPUS)), ids=[p.id for p in _CORPUS])
def test_payload_is_refused_before_any_torch_call(index: int, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    payload = payloads(canary)[index]
    assert str(canary) in payload.text or str(canary) in _decoded(payload.text)
    for route, call in _routes(payload.text):
        with torch_calls() as seen, pytest.raises(InputError) as caught:
            call()
        err = caught.value
        assert type(err) is InputError, (route, type(err))  # not a timeout, not a subclass
        assert err.message and "\n" not in str(err), (route, str(err))
        assert err.position is None or 0 <= err.position <= len(payload.text), route
        assert not seen, f"{route}: torch was called before the refusal: {seen[:5]}"
        assert not canary.exists(), f"{route}: the canary was written by {payload.id}"


# --------------------------------------------------------------------------- the control


_CONTROL = r"""
import json, sys, os
import torch
x = torch.ones(2)
out = []
for item in json.load(sys.stdin):
    text, canary = item["text"], item["canary"]
    try:
        try:
            code = compile(text, "<payload>", "eval")
        except SyntaxError:
            code = compile(text, "<payload>", "exec")
        # The control: plain Python, as a naive calculator would run the text. This is
        # exactly what gradtui never does; here it proves the payloads are real escapes.
        eval(code, {"x": x, "torch": torch, "exp": torch.exp, "F": torch.nn.functional})
    except BaseException:  # SystemExit, quit(), errors after the canary was written
        pass
    out.append(os.path.exists(canary))
print(json.dumps(out))
"""


def test_the_corpus_is_live(tmp_path: Path) -> None:
    """Handed to plain Python (in a throwaway subprocess), the payloads do write canaries.

    This is the control that makes the canary assertions meaningful: the same texts that
    gradtui refuses really are escapes. A few are not live under CPython's own parser
    (a NUL byte, a lone-\\r trick that only fools line-based filters); most are.
    """
    live = live_under_python(_CONTROL, _CORPUS, payloads, tmp_path)
    live_ids = [p.id for p, ok in zip(_CORPUS, live, strict=True) if ok]
    dead_ids = [p.id for p, ok in zip(_CORPUS, live, strict=True) if not ok]
    print(f"live under plain Python: {len(live_ids)} of {len(_CORPUS)}; not live: {dead_ids}")
    assert len(live_ids) >= 60, dead_ids
    routes = [p for p in _CORPUS if p.category == "attributes"]
    live_routes = [p.id for p, ok in zip(_CORPUS, live, strict=True) if ok and p in routes]
    assert len(live_routes) >= 25 and len(live_routes) == len(routes), set(
        p.id for p in routes
    ) - set(live_routes)
    categories = {p.category for p, ok in zip(_CORPUS, live, strict=True) if ok}
    assert {"subclasses", "import", "eval", "getattr", "frames", "tensor-files", "nfkc"} <= (
        categories
    )


def test_payloads_through_the_cli(tmp_path: Path) -> None:
    """A sample of the corpus through the real command line: exit 2, one error line, no file."""
    canary = tmp_path / "CANARY"
    corpus = payloads(canary)
    sample = [corpus[0], corpus[len(corpus) // 2]]
    runs = []
    for payload in sample:
        runs.append((payload, ["grad", payload.text]))
        runs.append((payload, ["grad", "exp", "--set", f"input={payload.text}", "--json"]))
    for (payload, args), out in zip(
        runs, gradtui_many([a for _, a in runs], tmp_path), strict=True
    ):
        assert out.returncode == 2, (payload.id, out.stderr)
        assert "Traceback" not in out.stderr
        if "--json" in args:
            assert set(json.loads(out.stdout)) == {"error"}
        else:
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert not canary.exists()
