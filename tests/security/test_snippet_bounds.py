"""The snippet language's bounds: asking for a lot is refused before memory is touched.

The parser's limits (characters, statements, tree nodes, nesting, integer literals) are
checked at and just past each limit. The run-time bounds (element counts, integer bits,
sequence and text lengths, tensors taken apart in Python, sizes hidden in tensors,
data-dependent sizes, convolution work) run in a fresh interpreter whose address space
is capped a few GB above its start, so a regression fails with a MemoryError instead of
taking the machine down; every case must end as expected with the peak resident memory
grown by less than :data:`MAX_GROWTH_MB` over all cases together. The time bound is
checked through the real command line: 200 statements of 1000x1000 matrix products
under ``--timeout 1`` end with exit 2 and one clear line, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradtui.ops.snippet import run_bounded
from gradtui.ops.snippet_bounds import MAX_INT_BITS, MAX_TENSOR_ITEMS, MAX_TEXT_CHARS
from gradtui.ops.snippet_syntax import (
    MAX_SNIPPET_CHARS,
    MAX_SNIPPET_NODES,
    MAX_STATEMENTS,
    SnippetRefused,
    parse_snippet,
)
from gradtui.ops.source import MAX_DEPTH, MAX_ELEMENTS, MAX_INT_LITERAL
from tests.helpers import gradtui_many, python

MAX_GROWTH_MB = 200.0
"""Peak memory growth allowed over every case below together (each bomb would need GBs)."""

# --------------------------------------------------------------------------- the parser


def _refused(text: str) -> SnippetRefused:
    with pytest.raises(SnippetRefused) as caught:
        parse_snippet(text)
    return caught.value


def test_snippet_length() -> None:
    line = "x = 1  # " + "a" * 90 + "\n"
    at_limit = (line * (MAX_SNIPPET_CHARS // len(line) + 1))[:MAX_SNIPPET_CHARS]
    at_limit = at_limit[: at_limit.rindex("\n") + 1]
    parse_snippet(at_limit)
    err = _refused("x = 1\n" + "#" * MAX_SNIPPET_CHARS)
    assert "too long" in err.message and str(MAX_SNIPPET_CHARS) in err.message


def test_statement_count() -> None:
    parse_snippet("x = 1\n" * MAX_STATEMENTS)
    err = _refused("x = 1\n" * (MAX_STATEMENTS + 1))
    assert err.line == MAX_STATEMENTS + 1 and "too many statements" in err.message
    inside = "import torch\nwith torch.no_grad():\n" + "    x = 1\n" * MAX_STATEMENTS
    assert "too many statements" in _refused(inside).message  # block bodies count


def test_node_count() -> None:
    # each name in a list display is two nodes (the name and its Load context)
    big = "x=[" + ",".join(["y"] * (MAX_SNIPPET_NODES // 2 + 1)) + "]\n"
    assert len(big) < MAX_SNIPPET_CHARS
    assert "too large" in _refused(big).message
    parse_snippet("x=[" + ",".join(["y"] * (MAX_SNIPPET_NODES // 2 - 10)) + "]\n")


def test_nesting_depth() -> None:
    parse_snippet("x = " + "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1) + "\n")
    err = _refused("x = " + "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1) + "\n")
    assert "nested too deeply" in err.message
    # without brackets: a chain of unary minus or of attributes
    assert "nested too deeply" in _refused("x = " + "-" * 300 + "1\n").message
    assert "nested too deeply" in _refused("x = y" + ".T" * 300 + "\n").message
    deep = _refused("x = " + "-" * 19_000 + "1\n").message  # deep for Python's own parser
    assert "too complex" in deep or "nested too deeply" in deep, deep


def test_integer_literal() -> None:
    parse_snippet(f"x = {MAX_INT_LITERAL}\n")
    err = _refused(f"x = {MAX_INT_LITERAL + 1}\n")
    assert "integer literal is too large" in err.message and err.col == 5


def test_shifts_are_refused() -> None:
    assert "'<<'" in _refused("x = 1 << 100000\n").message


# --------------------------------------------------------------------------- run time

CASES: list[tuple[str, str, str, str]] = [
    # (id, snippet after `import torch` and `import torch.nn.functional as F`, outcome, words)
    ("int-pow-ok", "a = 2 ** 2000\nb = a + 1", "ran", ""),
    ("int-pow", "a = 10 ** 100000", "refused", f"{MAX_INT_BITS} bits"),
    ("int-mul-chain", "a = 7 ** 1000\nb = a * a\nc = b * b * b", "refused", "bits"),
    ("int-aug", "a = 7 ** 1000\na *= a\na *= a\na *= a", "refused", "bits"),
    ("str-repeat-ok", f"s = 'a' * {MAX_ELEMENTS}", "ran", ""),
    ("str-repeat", f"s = 'a' * {MAX_ELEMENTS + 1}", "refused", "too large"),
    ("str-concat", f"s = 'a' * {MAX_ELEMENTS}\nt = s + s", "refused", "too large"),
    ("list-repeat", "l = [0] * 10 ** 9", "refused", "too large"),
    ("list-repeat-tensor", "n = torch.tensor(10 ** 9)\nl = [0] * n", "refused", "too large"),
    ("str-repeat-tensor", "n = torch.tensor(10 ** 9)\nl = 'ab' * n", "refused", "too large"),
    (
        "nested-list",
        "l = [[[0] * 1000] * 1000] * 1000\nt = torch.tensor(l)",
        "refused",
        "too large",
    ),
    ("str-of-shared-list", "s = 'a' * 10 ** 6\nt = str([s] * 1000)", "refused", "too long"),
    (
        "repr-of-shared-list",
        "s = 'a' * 10 ** 6\nt = repr([[s] * 100] * 100)",
        "refused",
        "too long",
    ),
    ("print-shared-list", "s = 'a' * 10 ** 6\nprint([s] * 10 ** 6)", "refused", "too long"),
    ("print-many-args", "s = 'a' * 10 ** 6\nprint(s, s, s, s)", "refused", "too long"),
    ("print-sep", "s = 'a' * 10 ** 6\nprint(1, 2, sep=s)", "refused", "too long"),
    (
        "print-total",
        f"s = 'a' * {MAX_TEXT_CHARS // 2 + 10}\nprint(s)\nprint(s)",
        "refused",
        "printed too much",
    ),
    ("fstring-parts", "s = 'a' * 10 ** 6\nt = f'{s}{s}{s}{s}{s}{s}{s}{s}'", "refused", "too long"),
    ("fstring-width", "t = f'{1:>99}{2:>99}'\nprint(len(t))", "ran", ""),
    ("zeros", "a = torch.zeros(10 ** 9)", "refused", "elements"),
    ("zeros-2d", "a = torch.zeros(10 ** 5, 10 ** 5)", "refused", "elements"),
    ("zeros-size-tensor", "n = torch.tensor(10 ** 9)\na = torch.zeros(n)", "refused", "elements"),
    ("zeros-size-kw", "a = torch.zeros(size=(10 ** 5, 10 ** 5))", "refused", "elements"),
    ("empty", "a = torch.empty(10 ** 5, 10 ** 5)", "refused", "elements"),
    ("full", "a = torch.full((10 ** 9,), 1.0)", "refused", "elements"),
    ("rand", "a = torch.rand(10 ** 9)", "refused", "elements"),
    ("randn-tensor-size", "a = torch.randn(torch.tensor([10 ** 9]))", "refused", "elements"),
    ("randint", "a = torch.randint(0, 2, (10 ** 9,))", "refused", "elements"),
    ("normal-size", "a = torch.normal(0.0, 1.0, size=(10 ** 9,))", "refused", "elements"),
    ("randperm", "a = torch.randperm(10 ** 9)", "refused", "elements"),
    ("eye", "a = torch.eye(10 ** 5)", "refused", "elements"),
    ("arange", "a = torch.arange(10 ** 12)", "refused", "elements"),
    ("arange-end-kw", "a = torch.arange(end=10 ** 9)", "refused", "elements"),
    ("arange-step", "a = torch.arange(0, 1, 1e-12)", "refused", "elements"),
    ("arange-tensor", "a = torch.arange(torch.tensor(10 ** 9))", "refused", "elements"),
    ("linspace", "a = torch.linspace(0, 1, 10 ** 9)", "refused", "elements"),
    ("linspace-tensor", "a = torch.linspace(0, 1, torch.tensor(10 ** 9))", "refused", "elements"),
    (
        "expand-contiguous",
        "a = torch.ones(1000).expand(10 ** 6, 1000).contiguous()",
        "refused",
        "too large",
    ),
    ("repeat", "a = torch.ones(1000).repeat(10 ** 6)", "refused", "too large"),
    (
        "repeat-tensor",
        "n = torch.tensor(10 ** 9)\na = torch.ones(1).repeat(n)",
        "refused",
        "too large",
    ),
    (
        "pad-tensor",
        "n = torch.tensor(10 ** 9)\na = F.pad(torch.ones(1), (0, n))",
        "refused",
        "too large",
    ),
    ("outer", "a = torch.ones(10 ** 5)\nb = torch.outer(a, a)", "refused", "too large"),
    ("matmul", "a = torch.ones(10 ** 5, 1)\nb = a @ a.T", "refused", "too large"),
    ("kron", "a = torch.ones(1000, 1000)\nb = torch.kron(a, a)", "refused", "too large"),
    (
        "index-tensor",
        "a = torch.zeros(1000, 1000)\ni = torch.zeros(10 ** 6, dtype=torch.long)\nb = a[i]",
        "refused",
        "too large",
    ),
    (
        "repeat-interleave",
        "a = torch.ones(3)\nb = a.repeat_interleave(torch.tensor([10 ** 9, 1, 1]))",
        "refused",
        "repeat_interleave",
    ),
    (
        "one-hot",
        "a = torch.zeros(10000, dtype=torch.long) + 10 ** 6\nb = F.one_hot(a)",
        "refused",
        "one_hot",
    ),
    (
        "combinations",
        "a = torch.ones(200)\nb = torch.combinations(a, 4)",
        "refused",
        "combinations",
    ),
    (
        "combinations-grid",
        "a = torch.ones(16)\nb = torch.combinations(a, 10)",
        "refused",
        "combinations",
    ),
    (
        "conv-work",
        "a = torch.ones(1, 1, 10 ** 6)\nw = torch.ones(1, 1, 5 * 10 ** 5)\nb = F.conv1d(a, w)",
        "refused",
        "multiply-adds",
    ),
    (
        "conv-ok",
        "a = torch.ones(1, 3, 32, 32)\nw = torch.ones(8, 3, 3, 3)\nb = F.conv2d(a, w)",
        "ran",
        "",
    ),
    ("list-of-tensor", "l = list(torch.zeros(10 ** 6))", "refused", f"at most {MAX_TENSOR_ITEMS}"),
    ("tuple-of-tensor", "l = tuple(torch.zeros(10 ** 6))", "refused", "too long to take apart"),
    ("min-of-tensor", "m = min(torch.zeros(10 ** 6))", "refused", "too long to take apart"),
    (
        "list-extend-tensor",
        "l = []\nl += torch.zeros(10 ** 6)",
        "refused",
        "too long to take apart",
    ),
    ("unpack-tensor", "a, b = torch.zeros(10 ** 6)", "raised", "too many values to unpack"),
    ("split", "l = torch.split(torch.zeros(10 ** 6), 1)", "refused", "split a tensor into"),
    ("unbind", "l = torch.zeros(10 ** 6).unbind()", "refused", "split a tensor into"),
    ("chunk", "l = torch.zeros(10 ** 6).chunk(10 ** 6)", "refused", "split a tensor into"),
    ("split-ok", "l = torch.split(torch.zeros(10, 10 ** 5), 1)\nprint(len(l))", "ran", ""),
]

_MEASURE = r"""
import json, resource, sys, gc
from gradtui.ops.snippet import run_bounded
from gradtui.ops.errors import InputError

cases = json.load(sys.stdin)
run_bounded("import torch\nx = torch.ones(2000)\ny = torch.zeros(x.shape[0]) + x\nprint(y.sum())", timeout=120)
with open("/proc/self/status") as f:
    vm = [int(l.split()[1]) for l in f if l.startswith("VmSize")][0] * 1024
cap = vm + 3 * 2**30  # a regression gets a MemoryError, not the machine's memory
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = []
for case in cases:
    text = "import torch\nimport torch.nn.functional as F\n" + case["text"]
    try:
        result = run_bounded(text, timeout=120)
    except InputError as err:
        outcome, words = "refused", str(err)
    else:
        errors = [s.error for s in result.all_statements() if s.error is not None]
        if result.refused is not None:
            outcome, words = "refused", result.refused[2]
        elif errors:
            outcome, words = "raised", f"{errors[0].type}: {errors[0].message}"
        else:
            outcome, words = "ran", ""
    del result
    gc.collect()
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    rows.append({"id": case["id"], "outcome": outcome, "words": words[:300], "peak_mb": peak})
print(json.dumps(rows))
"""


@pytest.fixture(scope="module")
def measured() -> dict[str, dict]:
    cases = [{"id": i, "text": t} for i, t, _o, _w in CASES]
    out = python(_MEASURE, stdin=json.dumps(cases), timeout=900, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    return {row["id"]: row for row in rows}


@pytest.mark.parametrize(("case_id", "text", "outcome", "words"), CASES, ids=[c[0] for c in CASES])
def test_runtime_bound(case_id: str, text: str, outcome: str, words: str, measured: dict) -> None:
    row = measured[case_id]
    assert row["outcome"] == outcome, row
    assert words in row["words"], row
    if outcome == "refused":
        assert "MemoryError" not in row["words"] and "allocate" not in row["words"], row


def test_memory_stays_flat(measured: dict) -> None:
    """Every case together grew the peak resident memory by a little: nothing huge was made."""
    peak = max(row["peak_mb"] for row in measured.values())
    print(f"peak memory growth over {len(measured)} bound cases: {peak:.0f} MB")
    assert peak < MAX_GROWTH_MB, sorted(measured.values(), key=lambda r: r["peak_mb"])[-3:]


# --------------------------------------------------------------------------- time


HEAVY = "import torch\na = torch.ones(1000, 1000)\n" + "b = a @ a\n" * (MAX_STATEMENTS - 2)
"""198 products of 1000x1000 matrices (2*10^11 flops): seconds on any machine, each one
allowed; only their number makes the snippet slow."""


def test_the_time_bound_through_the_cli(tmp_path: Path) -> None:
    """200 statements of big matmuls under --timeout 1: exit 2, one clear line, no traceback."""
    source = tmp_path / "heavy.py"
    source.write_text(HEAVY)
    parse_snippet(HEAVY)  # every statement is in the language
    text_run, json_run = gradtui_many(
        [
            ["snippet", str(source), "--timeout", "1"],
            ["snippet", str(source), "--timeout", "1", "--json"],
        ],
        tmp_path,
    )
    assert text_run.returncode == 2, text_run.stderr
    assert "Traceback" not in text_run.stdout + text_run.stderr
    lines = text_run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: computation took longer than 1 s")
    assert "--timeout" in lines[0]
    assert json_run.returncode == 2 and "Traceback" not in json_run.stderr
    assert "took longer than 1 s" in json.loads(json_run.stdout)["error"]


def test_the_time_bound_in_process() -> None:
    from gradtui.ops.timebound import ComputationTimeout

    with pytest.raises(ComputationTimeout) as caught:
        run_bounded(HEAVY, timeout=0.5)
    assert caught.value.seconds == 0.5
    # the abandoned run does not keep later runs waiting for long (it stops at a statement)
    result = run_bounded("import torch\nprint(torch.ones(2))\n", timeout=60)
    assert result.statements[1].printed == ("tensor([1., 1.])",)


@pytest.mark.parametrize(
    ("expression", "inputs", "words"),
    [
        ("torch.combinations(ones(14), 9)", {}, "combinations of 14 items"),
        ("F.one_hot(x)", {"x": "[3000000, 1]"}, "one_hot would make"),
    ],
)
def test_the_expression_language_shares_the_data_dependent_bounds(
    expression: str, inputs: dict[str, str], words: str
) -> None:
    """The bounds a dry run on meta cannot give (found red-teaming snippets) hold for
    expressions too: combinations works through an n**r grid (about 20 GB here), one_hot's
    width is its data's maximum."""
    from gradtui.ops.errors import InputError
    from gradtui.ops.run import run

    with pytest.raises(InputError, match=words):
        run(expression, inputs)
