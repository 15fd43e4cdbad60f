"""Random text in every field: a result or an ``InputError``, never anything else.

Three kinds of text: any unicode string (Hypothesis' full alphabet, surrogates aside),
valid expressions from the grammar with a few random mutations (characters inserted,
deleted, replaced or doubled, favouring the ones that matter to Python: quotes, dots,
underscores, brackets, backslashes, line ends, NUL, look-alike letters), and bare
token soup. Each goes through the language (``parse`` then ``evaluate``) and through
``ops.run.run`` as an expression and as an input value.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from gradtui.ops import language
from gradtui.ops.errors import InputError
from gradtui.ops.results import GradResult
from gradtui.ops.run import run
from tests.fuzz.grammar import expressions

ENV = {"x": torch.tensor([0.5, -1.0, 2.0]), "y": torch.tensor([1.5, 0.25, -3.0])}
RUN_TIMEOUT = 3.0  # the fuzz stays fast even if a mutation makes heavy, allowed work

SPICE = [
    *"'\"._[](){}\\#;:=@,*+-/<>!~%^&|`$? \n\t\r",
    "\x00",
    "\x0c",
    "\u2028",
    "\ufeff",
    "\uff58",  # fullwidth x
    "\U0001d626",  # math italic e
    "__",
    "lambda ",
    "import ",
    ".__class__",
    "()",
    "**",
    "9**9**9",
    "zeros(10**10)",
    "ones(1000, 1000)",
    "nan",
    "inf",
    "None",
    "dim=",
    " if x else ",
]


def _mutate(text: str, edits: list[tuple[str, int, str]]) -> str:
    for kind, where, piece in edits:
        i = where % (len(text) + 1)
        if kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + len(piece) :]
        elif kind == "replace":
            text = text[:i] + piece + text[i + 1 :]
        else:  # double a stretch
            text = text[:i] + text[i : i + len(piece)] * 2 + text[i + len(piece) :]
    return text


EDIT = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "double"]),
    st.integers(0, 10**6),
    st.one_of(st.sampled_from(SPICE), st.characters(), st.text(max_size=3)),
)
MUTATED = st.tuples(expressions(), st.lists(EDIT, min_size=1, max_size=4)).map(
    lambda t: _mutate(t[0].text, t[1])
)
UNICODE = st.text(max_size=80)
TOKENS = st.lists(
    st.sampled_from(
        [
            "x",
            "y",
            "1",
            "2.5",
            "-",
            "*",
            "**",
            "@",
            "(",
            ")",
            "[",
            "]",
            ",",
            "exp(",
            "sum(",
            "where(",
            "x > 0",
            "gather(",
            "dim=",
            "'",
            "_",
            ".",
            "lambda",
            "\uff58",
            " ",
        ]
    ),  # fmt: skip
    max_size=30,
).map("".join)


def _through_the_language(text: str, fuzz) -> None:  # noqa: ANN001 - the fuzz fixture
    try:
        parsed = language.parse(text)
        out = language.evaluate(parsed, {n: ENV.get(n, torch.ones(3)) for n in parsed.names})
    except InputError as err:
        _clean(err, text)
        fuzz.count("refused by the language")
        return
    assert isinstance(out, torch.Tensor) and out.numel() <= language.MAX_ELEMENTS
    fuzz.count("evaluated by the language")


def _through_run(text: str, fuzz) -> None:  # noqa: ANN001
    for call in (
        lambda: run(text, timeout=RUN_TIMEOUT),
        lambda: run("exp", {"input": text}, timeout=RUN_TIMEOUT),
    ):
        try:
            result = call()
        except InputError as err:
            _clean(err, None)
            fuzz.count("refused by run")
            continue
        assert isinstance(result, GradResult)
        fuzz.count("answered by run")


def _clean(err: InputError, text: str | None) -> None:
    """A refusal is one readable line that points inside the text."""
    assert err.message and "\n" not in str(err) and len(str(err)) < 1000, str(err)[:300]
    if text is not None:
        assert err.position is None or 0 <= err.position <= len(text), (err.position, text)


def test_any_unicode_text(fuzz) -> None:  # noqa: ANN001
    fuzz.run(
        UNICODE, lambda text: (_through_the_language(text, fuzz), _through_run(text, fuzz)), 500
    )


def test_mutated_valid_expressions(fuzz) -> None:  # noqa: ANN001
    fuzz.run(
        MUTATED, lambda text: (_through_the_language(text, fuzz), _through_run(text, fuzz)), 300
    )
    assert fuzz.counts.get("answered by run", 0) > 0  # some mutations stay valid: both paths run


def test_token_soup(fuzz) -> None:  # noqa: ANN001
    fuzz.run(
        TOKENS, lambda text: (_through_the_language(text, fuzz), _through_run(text, fuzz)), 300
    )
