"""Every statement kind the snippet language refuses, with its message and its line:col.

Nothing runs when any statement is refused (:func:`parse_snippet` raises before the
run). The position is 1-based and names the part refused, so the CLI's caret points at
it. tests/security holds the hostile corpus with its canary; this file pins each
refusal's words and place.
"""

from __future__ import annotations

import pytest

from gradtui.ops.errors import InputError
from gradtui.ops.snippet import run_snippet
from gradtui.ops.snippet_syntax import (
    MAX_SNIPPET_CHARS,
    MAX_STATEMENTS,
    SnippetRefused,
    parse_snippet,
)
from gradtui.ops.source import MAX_DEPTH

T = "import torch\nx = torch.tensor([1.0], requires_grad=True)\n"
"""A prelude of two lines: the refused statement is on line 3."""

REFUSED: list[tuple[str, str, tuple[int, int], str]] = [
    # (name, text, (line, col), words the message holds)
    ("def", T + "def f(x):\n    return x\n", (3, 1), "'def' is not allowed"),
    ("class", "class A:\n    pass\n", (1, 1), "'class' is not allowed"),
    ("for", T + "for i in [1, 2]:\n    x = x * i\n", (3, 1), "loops are not allowed"),
    ("while", "while True:\n    x = 1\n", (1, 1), "loops are not allowed"),
    ("if", T + "if x:\n    x = 2\n", (3, 1), "'if' is not allowed"),
    ("try", "try:\n    x = 1\nexcept Exception:\n    x = 2\n", (1, 1), "'try' is not allowed"),
    ("raise", "raise ValueError('x')\n", (1, 1), "'raise' is not allowed"),
    ("with open", "with open('f') as h:\n    x = 1\n", (1, 6), "only 'with torch.no_grad():'"),
    (
        "with set_grad_enabled",
        T + "with torch.set_grad_enabled(False):\n    y = x\n",
        (3, 6),
        "only 'with torch.no_grad():'",
    ),
    ("with as", T + "with torch.no_grad() as g:\n    y = x\n", (3, 25), "'with ... as'"),
    ("lambda", "f = lambda: 1\n", (1, 5), "'lambda' is not allowed"),
    ("import os", "import os\n", (1, 1), "'import os' is not allowed"),
    ("from os", "import torch\nfrom os import path\n", (2, 1), "'from os import path'"),
    ("import torch as t", "import torch as t\n", (1, 1), "'import torch as t' is not allowed"),
    ("import numpy", "import numpy as np\n", (1, 1), "'import numpy as np'"),
    ("open", "x = open('/etc/passwd')\n", (1, 5), "'open' is not allowed"),
    ("eval", "y = eval('1')\n", (1, 5), "'eval' is not allowed"),
    ("getattr", T + "y = getattr(x, 'grad')\n", (3, 5), "'getattr' is not allowed"),
    ("del", T + "del x\n", (3, 1), "'del' is not allowed"),
    ("global", "global x\n", (1, 1), "'global' is not allowed"),
    ("assert", T + "assert x.requires_grad\n", (3, 1), "'assert' is not allowed"),
    ("list comprehension", "y = [i for i in [1, 2]]\n", (1, 5), "comprehensions"),
    ("dict comprehension", "y = {i: i for i in [1]}\n", (1, 5), "comprehensions"),
    ("generator", "y = sum(i for i in [1, 2])\n", (1, 8), "generator expressions"),
    ("dict", "d = {'a': 1}\n", (1, 5), "dicts are not allowed"),
    ("set", "s = {1, 2}\n", (1, 5), "sets are not allowed"),
    ("walrus", "print((y := 2))\n", (1, 8), "':=' is not allowed"),
    ("starred target", "a, *b = [1, 2, 3]\n", (1, 4), "'*' unpacking"),
    ("starred argument", T + "y = torch.tensor(*[[1.0]])\n", (3, 18), "'*' unpacking"),
    ("double star", T + "y = torch.tensor([1.0], **x)\n", (3, 27), "keyword unpacking"),
    ("left shift", "y = 1 << 3\n", (1, 5), "operator '<<' is not allowed"),
    ("right shift in place", "y = 8\ny >>= 1\n", (2, 1), "operator '>>' is not allowed"),
    ("attribute assignment", T + "x.grad = None\n", (3, 1), "assigning to '.grad'"),
    ("attribute +=", T + "x.data += 1\n", (3, 1), "may only change a name"),
    ("subscript assignment", T + "x[0] = 2.0\n", (3, 1), "assigning into a tensor"),
    ("dunder attribute", T + "y = x.__class__\n", (3, 5), "'.__class__'"),
    ("dunder module", "import torch\ny = torch.__builtins__\n", (2, 5), "torch.__builtins__"),
    ("underscore name", "_x = 1\n", (1, 1), "names starting with '_'"),
    ("numpy", T + "y = x.numpy()\n", (3, 5), "'.numpy' is not allowed"),
    ("register_hook", T + "x.register_hook(abs)\n", (3, 1), "'.register_hook' is not allowed"),
    ("torch.save", T + "torch.save(x, 'f.pt')\n", (3, 1), "'torch.save' is not allowed"),
    (
        "nn.Linear",
        "import torch\nimport torch.nn as nn\nlayer = nn.Linear(2, 2)\n",
        (3, 9),
        "nn modules are not part of the snippet language",
    ),
    ("print(file=...)", "print(1, file=None)\n", (1, 15), "not file="),
    ("print as a value", "p = print\n", (1, 5), "print(...) is allowed only as a statement"),
    ("print in an expression", "y = [print(1)]\n", (1, 6), "print(...) is allowed only"),
    ("assign to torch", "torch = 1\n", (1, 1), "'torch' cannot be assigned to"),
    ("bytes", "b = b'x'\n", (1, 5), "bytes are not allowed"),
    ("huge integer literal", "n = 10000000000000000\n", (1, 5), "integer literal is too large"),
    ("in", T + "y = 1 in [1]\n", (3, 5), "'in' is not allowed"),
    ("non-ASCII identifier", "x = 1\ncafé = 1\n", (2, 1), "non-ASCII text 'café'"),
    ("control character", "x = 1\x07\n", (1, 6), "a control character (U+0007)"),
    ("escape character", "x = 1\ny = 2\x1b[2J\n", (2, 6), "a control character (U+001B)"),
    ("bidi in a comment", "x = 1  # \u202e esrever\n", (1, 10), "bidirectional control (U+202E)"),
    ("bidi in a string", "s = 'a\u2066b'\n", (1, 7), "bidirectional control (U+2066)"),
    ("syntax error", "x = (1\n", (1, 5), "cannot parse"),
    ("empty", "  \n\n", (1, 1), "the snippet is empty"),
]


@pytest.mark.parametrize(("name", "text", "where", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_its_line_and_column(
    name: str, text: str, where: tuple[int, int], words: str
) -> None:
    with pytest.raises(SnippetRefused) as refused:
        parse_snippet(text)
    error = refused.value
    assert (error.line, error.col) == where, error.message
    assert words in error.message
    assert "\n" not in error.message
    assert str(error) == f"line {where[0]}:{where[1]}: {error.message}"
    assert isinstance(error, InputError)
    # run_snippet refuses the same, before anything runs.
    with pytest.raises(SnippetRefused):
        run_snippet(text)


def test_the_refused_statements_are_each_accepted_without_the_refused_part() -> None:
    """The prelude itself runs, so each refusal above is the statement's own."""
    assert run_snippet(T).stopped_at is None
    for text in ("x = 1\ny = 2\n", "y = 8\ny //= 1\n", "import torch\nimport torch.nn as nn\n"):
        assert run_snippet(text).stopped_at is None


def test_too_many_statements_names_the_first_one_over() -> None:
    text = "x = 1\n" * (MAX_STATEMENTS + 1)
    with pytest.raises(SnippetRefused) as refused:
        parse_snippet(text)
    assert (refused.value.line, refused.value.col) == (MAX_STATEMENTS + 1, 1)
    assert f"at most {MAX_STATEMENTS}" in refused.value.message
    parse_snippet("x = 1\n" * MAX_STATEMENTS)  # the limit itself is taken


def test_statements_in_a_with_block_count() -> None:
    text = "import torch\nwith torch.no_grad():\n" + "    x = 1\n" * (MAX_STATEMENTS - 1)
    with pytest.raises(SnippetRefused) as refused:
        parse_snippet(text)
    assert (refused.value.line, refused.value.col) == (MAX_STATEMENTS + 1, 5)


def test_too_long_names_where_the_limit_is_passed() -> None:
    text = "x = 1\n" + "#" * MAX_SNIPPET_CHARS
    with pytest.raises(SnippetRefused) as refused:
        parse_snippet(text)
    assert "too long" in refused.value.message
    assert str(len(text)) in refused.value.message
    assert (refused.value.line, refused.value.col) == (2, MAX_SNIPPET_CHARS - 6 + 1)
    parse_snippet("x = 1\n" + "#" * (MAX_SNIPPET_CHARS - 6))  # the limit itself is taken


def test_too_deep_names_the_first_bracket_over() -> None:
    text = "x = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    with pytest.raises(SnippetRefused) as refused:
        parse_snippet(text)
    assert "nested too deeply" in refused.value.message
    assert (refused.value.line, refused.value.col) == (1, 4 + MAX_DEPTH + 1)


def test_percent_formatting_is_refused_where_it_runs() -> None:
    """Whether ``a % b`` formats a string is known only from the values, at run time:
    the run stops there with a refusal, and the CLI exits 2."""
    result = run_snippet("x = 7\nprint(x % 4)\nprint('%d' % x)  # 7\nprint(1)\n")
    assert result.refused == (3, 7, "'%' formatting is not taken: write an f-string, f'{x:.4f}'")
    assert result.stopped_at == 3
    assert result.statements[1].printed == ("3",)
    assert result.statements[3].status == "not reached"


def test_an_attribute_taken_on_tensors_only_is_refused_on_other_values() -> None:
    result = run_snippet("y = 1.5\nz = y.exp()\n")
    assert result.refused is not None
    assert result.refused[:2] == (2, 5)
    assert "taken on tensors only" in result.refused[2]


def test_using_a_module_as_a_value_is_refused() -> None:
    result = run_snippet("import torch\nt = torch\n")
    assert result.refused is not None and result.refused[:2] == (2, 5)
