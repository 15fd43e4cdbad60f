"""Hostile snippets: refused or harmless, through ``gradtui snippet`` and in process.

Each payload of :mod:`tests.security.snippet_corpus` aims at creating a canary file.
Every one is run through the real command line (``gradtui snippet FILE``, a subprocess)
and through :func:`ops.snippet.run_bounded`; the canary must not exist afterwards, the
exit status must be 0 (it ran, a statement raised) or 2 (refused), never 1 (a crash),
no traceback may appear, and a refusal names its ``line:col``. The text report must not
carry a raw escape character. ``test_the_snippet_corpus_is_live`` is the control:
handed to plain Python, most payloads do write their canary, so the canary check can
fail. Process state a snippet could change (torch's global generator, grad mode, the
default dtype, print options, warning filters) is checked as it was before the run.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest
import torch

from gradtui.ops.errors import InputError
from gradtui.ops.snippet import run_bounded, run_snippet
from gradtui.ops.snippet_syntax import SnippetRefused
from tests.helpers import gradtui_many
from tests.security.control import live_under_python
from tests.security.snippet_corpus import payloads

_CORPUS = payloads(Path("/CANARY"))
LINE_COL = re.compile(r"line \d+:\d+")


def test_the_snippet_corpus_is_large_and_cited() -> None:
    assert len(_CORPUS) >= 60
    assert len({p.id for p in _CORPUS}) == len(_CORPUS)
    for p in _CORPUS:
        assert p.source.startswith("["), p.id
        assert "/CANARY" in p.text, p.id
    assert {p.category for p in _CORPUS} >= _CATEGORIES


@pytest.mark.parametrize("index", range(len(_CORPUS)), ids=[p.id for p in _CORPUS])
def test_payload_in_process(index: int, tmp_path: Path) -> None:
    """:func:`run_bounded` refuses the payload (or runs it harmlessly); no file appears."""
    canary = tmp_path / "CANARY"
    payload = payloads(canary)[index]
    try:
        result = run_bounded(payload.text, timeout=60)
    except SnippetRefused as err:
        assert err.line >= 1 and err.col >= 1, str(err)
        assert "\n" not in str(err) and LINE_COL.match(str(err)), str(err)
    else:
        # the language took every statement; it must have refused one at run time
        assert result.refused is not None, (payload.id, result.to_json())
    assert not canary.exists(), f"the canary was written by {payload.id}"


def test_payloads_through_the_cli(tmp_path: Path) -> None:
    """Every payload through the real ``gradtui snippet``: exit 0 or 2, no traceback, no file."""
    runs = []
    for i in range(len(_CORPUS)):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        payload = payloads(folder / "CANARY")[i]
        source = folder / "snippet.py"
        source.write_text(payload.text, encoding="utf-8")
        json_run = i % 4 == 0  # a quarter through --json, the rest as the text report
        runs.append((payload, folder, json_run, ["snippet", str(source), "--timeout", "60"]))
        if json_run:
            runs[-1][3].append("--json")
    outs = gradtui_many([r[3] for r in runs], tmp_path)
    for (payload, folder, json_run, _args), out in zip(runs, outs, strict=True):
        where = (payload.id, out.returncode, out.stdout[-500:], out.stderr[-500:])
        assert out.returncode in (0, 2), where
        assert "Traceback" not in out.stdout + out.stderr, where
        assert not (folder / "CANARY").exists(), f"the canary was written by {payload.id}"
        if json_run:
            data = json.loads(out.stdout)
            if out.returncode == 2:
                assert "error" in data or data.get("refused"), where
                assert LINE_COL.search(json.dumps(data)) or "line" in data, where
        else:
            assert "\x1b" not in out.stdout + out.stderr, where
            if out.returncode == 2:
                assert LINE_COL.search(out.stdout + out.stderr), where
    print(f"snippet corpus: {len(_CORPUS)} payloads through `gradtui snippet`, none wrote")


# --------------------------------------------------------------------------- the control

_CATEGORIES = frozenset(
    "builtins import statements subclasses frames format tensor-files attributes nfkc "
    "characters".split()
)
"""Every kind of route the corpus covers, each with a live payload."""

_CONTROL = r"""
import json, os, sys
out = []
for item in json.load(sys.stdin):
    try:
        # The control: plain Python, as a naive runner would execute the pasted text.
        # This is exactly what gradtui never does; here it proves the payloads are real.
        exec(compile(item["text"], "<snippet>", "exec"), {"__name__": "__snippet__"})
    except BaseException:
        pass
    out.append(os.path.exists(item["canary"]))
print(json.dumps(out))
"""


def test_the_snippet_corpus_is_live(tmp_path: Path) -> None:
    """Handed to plain Python (a throwaway subprocess), most payloads write their canary.

    A few are not live by design: the text tricks that only fool a reader (a comment
    holding the code after a line separator) and routes this torch build lacks.
    """
    live = live_under_python(_CONTROL, _CORPUS, payloads, tmp_path)
    live_ids = [p.id for p, ok in zip(_CORPUS, live, strict=True) if ok]
    dead_ids = [p.id for p, ok in zip(_CORPUS, live, strict=True) if not ok]
    print(f"snippet corpus: {len(_CORPUS)} payloads, {len(live_ids)} live under plain Python;")
    print(f"not live: {dead_ids}")
    assert len(live_ids) >= 55, dead_ids
    categories = {p.category for p, ok in zip(_CORPUS, live, strict=True) if ok}
    assert categories >= _CATEGORIES


# --------------------------------------------------------------------------- process state


def test_the_global_generator_is_left_as_it_was() -> None:
    """``torch.manual_seed(5)`` and draws inside a snippet do not move the caller's generator."""
    torch.manual_seed(1234)
    before = torch.get_rng_state().clone()
    expected = torch.randn(3)
    torch.set_rng_state(before)
    result = run_snippet(
        "import torch\ntorch.manual_seed(5)\na = torch.randn(3)\nb = torch.rand(100)\nprint(a)\n"
    )
    assert result.stopped_at is None, result.to_json()
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(torch.randn(3), expected)
    # and the snippet's draw is the seeded one, as Python would give it
    torch.manual_seed(5)
    assert result.statements[4].printed == (str(torch.randn(3)),)


def test_grad_mode_is_restored_after_a_no_grad_block_that_raised() -> None:
    text = (
        "import torch\nx = torch.ones(2, requires_grad=True)\nwith torch.no_grad():\n"
        "    y = x * 2\n    z = torch.ones(2) @ torch.ones(3)\nw = x * 3\n"
    )
    for mode in (True, False):
        torch.set_grad_enabled(mode)
        try:
            result = run_snippet(text)
            assert torch.is_grad_enabled() is mode
        finally:
            torch.set_grad_enabled(True)
        assert result.stopped_at == 5, result.to_json()
        assert result.statements[2].status == "raised"
        assert result.statements[3].status == "not reached"
    # the same through the time bound's worker thread
    result = run_bounded(text, timeout=60)
    assert torch.is_grad_enabled() and result.stopped_at == 5


def test_no_global_state_changes(tmp_path: Path) -> None:
    """Default dtype, print options, warning filters and the working directory stay put;
    the calls that would change them are refused."""
    dtype = torch.get_default_dtype()
    options = str(torch._tensor_str.PRINT_OPTS.__dict__)
    filters = list(warnings.filters)
    cwd = os.getcwd()
    for line in (
        "torch.set_default_dtype(torch.float64)",
        "torch.set_printoptions(profile='full')",
        "torch.set_grad_enabled(False)",
        "torch.use_deterministic_algorithms(True)",
        "torch.set_num_threads(1)",
        "torch.set_anomaly_enabled(True)",
    ):
        with pytest.raises(SnippetRefused) as caught:
            run_bounded(f"import torch\n{line}\n")
        assert caught.value.line == 2, str(caught.value)
    run_snippet("import torch\nx = torch.ones(2) / 0\nprint(x.T.T)\n")  # warns inside
    assert torch.get_default_dtype() == dtype
    assert str(torch._tensor_str.PRINT_OPTS.__dict__) == options
    assert list(warnings.filters) == filters
    assert os.getcwd() == cwd
    assert torch.is_grad_enabled()


def test_a_refusal_is_an_input_error_with_its_place() -> None:
    """Refusals are :class:`InputError` (the front ends show those), one line each."""
    with pytest.raises(InputError) as caught:
        run_bounded("import torch\nx = 1\nimport os\n")
    assert str(caught.value).startswith("line 3:1: ")
