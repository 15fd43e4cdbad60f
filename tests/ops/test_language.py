"""The input language: what it builds, what it runs, and everything it refuses.

Every value is checked against torch itself (``torch.tensor``, ``torch.linspace``,
``torch.lt`` ...), so these tests fail if the language drifts from torch's rules.
"""

from __future__ import annotations

import math
import re
import tracemalloc
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradtui.ops.language as language
from gradtui.ops.catalog import CATALOG
from gradtui.ops.errors import InputError
from gradtui.ops.language import (
    CONSTANTS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_NODES,
    MAX_TEXT_CHARS,
    Parsed,
    evaluate,
    parse,
    tensor_from_text,
)

REFUSAL_PEAK_BYTES = 10 * 2**20
"""Python memory a refusal may allocate (parsing the longest allowed text takes well under 1 MB)."""


def refused(text: str, *, env: dict[str, torch.Tensor] | None = None, **kw) -> InputError:
    """Parse and evaluate ``text``; it must raise InputError (returned for inspection)."""
    with pytest.raises(InputError) as info:
        evaluate(parse(text, field="f"), env, **kw)
    return info.value


def fast_refusal(text: str) -> InputError:
    """Refused before any huge work: Python allocated almost nothing on the way (a
    computed ``9**9**9`` alone is 150 MB). Memory, not a clock: a time limit flakes on
    a shared machine; the seconds are in the benchmark (``tests/benchmarks/deadlines.py``).
    Huge tensors are never allocated either: only the language's own cap check gives
    the messages the callers expect."""
    tracemalloc.start()
    try:
        err = refused(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < REFUSAL_PEAK_BYTES, (text, peak)
    return err


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[[1, 2], [3, 4]]", torch.tensor([[1, 2], [3, 4]])),
        ("[1., 2]", torch.tensor([1.0, 2])),
        ("[True, False]", torch.tensor([True, False])),
        ("[True, 2]", torch.tensor([True, 2])),
        ("[-1, 2.5, -inf]", torch.tensor([-1, 2.5, -math.inf])),
        ("[[0.5], [-0.25]]", torch.tensor([[0.5], [-0.25]])),
        ("3", torch.tensor(3)),
        ("-2.5", torch.tensor(-2.5)),
        ("True", torch.tensor(True)),
        ("[]", torch.tensor([])),
        ("1e-3", torch.tensor(1e-3)),
    ],
)
def test_literals_follow_torch_tensor(text: str, expected: torch.Tensor) -> None:
    got = tensor_from_text(text)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert torch.equal(got, expected)


def test_float_literals_take_the_requested_dtype_and_ints_stay_int64() -> None:
    assert tensor_from_text("[1.5, 2]", dtype=torch.float64).dtype == torch.float64
    assert tensor_from_text("2.5", dtype=torch.float64).dtype == torch.float64
    assert tensor_from_text("pi", dtype=torch.float64).item() == math.pi
    assert tensor_from_text("[1, 2]", dtype=torch.float64).dtype == torch.int64
    assert tensor_from_text("[True]", dtype=torch.float64).dtype == torch.bool


def test_nan_and_infinities_are_numbers() -> None:
    got = tensor_from_text("[nan, inf, -inf]")
    assert math.isnan(got[0].item()) and got[1].item() == math.inf and got[2].item() == -math.inf


def test_literal_elements_may_be_expressions_and_tensors() -> None:
    assert torch.allclose(
        tensor_from_text("[2 * pi, exp(1.0)]"), torch.tensor([2 * math.pi, math.e])
    )
    stacked = tensor_from_text("[ones(2), zeros(2)]")
    assert torch.equal(stacked, torch.stack([torch.ones(2), torch.zeros(2)]))


@pytest.mark.parametrize(
    "text, bad",
    [("[[1, 2], [3]]", "[3]"), ("[1, [2]]", "[2]"), ("[ones(2), ones(3)]", "ones(3)")],
)
def test_ragged_lists_are_refused_at_the_odd_element(text: str, bad: str) -> None:
    err = refused(text)
    assert "ragged" in err.message
    assert err.position == text.index(bad)
    assert err.field == "f"


# --------------------------------------------------------------------------- constructors


def test_linspace_arange_zeros_ones_full_eye_match_torch() -> None:
    assert torch.equal(tensor_from_text("linspace(-3, 3, 7)"), torch.linspace(-3, 3, 7))
    assert torch.equal(tensor_from_text("linspace(0, 1, steps=5)"), torch.linspace(0, 1, 5))
    assert torch.equal(tensor_from_text("arange(5)"), torch.arange(5))
    assert torch.equal(tensor_from_text("arange(2, 8, 3)"), torch.arange(2, 8, 3))
    assert torch.equal(tensor_from_text("arange(5, step=2)"), torch.arange(0, 5, 2))
    floats = tensor_from_text("arange(0, 1, 0.25)")
    assert floats.dtype == torch.float32
    assert torch.equal(floats, torch.arange(0, 1, 0.25))
    assert tensor_from_text("arange(3)").dtype == torch.int64  # ints -> int64, as torch
    assert torch.equal(tensor_from_text("zeros(2, 3)"), torch.zeros(2, 3))
    assert torch.equal(tensor_from_text("zeros([2, 3])"), torch.zeros(2, 3))
    assert torch.equal(tensor_from_text("ones((2, 3))"), torch.ones(2, 3))
    assert torch.equal(tensor_from_text("ones(size=[4])"), torch.ones(4))
    assert torch.equal(tensor_from_text("full([2, 2], 1.5)"), torch.full((2, 2), 1.5))
    assert tensor_from_text("full(3, 7)").dtype == torch.int64
    assert tensor_from_text("full(3, True)").dtype == torch.bool
    assert torch.equal(tensor_from_text("eye(3)"), torch.eye(3))
    assert torch.equal(tensor_from_text("eye(2, 3)"), torch.eye(2, 3))
    assert tensor_from_text("zeros(2)", dtype=torch.float64).dtype == torch.float64


def test_rand_and_randn_are_seeded() -> None:
    g = torch.Generator().manual_seed(7)
    assert torch.equal(tensor_from_text("rand(2, 3)", seed=7), torch.rand(2, 3, generator=g))
    g = torch.Generator().manual_seed(7)
    assert torch.equal(tensor_from_text("randn(4)", seed=7), torch.randn(4, generator=g))
    text = "[rand(4), randn(4)]"  # one generator per evaluation, used in the text's order
    both = tensor_from_text(text, seed=7)
    g = torch.Generator().manual_seed(7)
    assert torch.equal(both[0], torch.rand(4, generator=g))
    assert torch.equal(both[1], torch.randn(4, generator=g))
    assert torch.equal(both, tensor_from_text(text, seed=7))  # a run repeats
    assert not torch.equal(both, tensor_from_text(text, seed=8))
    assert tensor_from_text("randn(3)", dtype=torch.float64).dtype == torch.float64


def test_rand_twice_in_one_text_differs() -> None:
    assert tensor_from_text("rand(3) - rand(3)").abs().sum() > 0


@pytest.mark.parametrize(
    "text, words",
    [
        ("arange(0, 1, 0)", "must not be 0"),
        ("arange(1, 0)", "inconsistent"),
        ("eye(-1)", "at least 0"),
        ("zeros(2.5)", "integer"),
        ("zeros(-1)", "at least 0"),
        ("linspace(0, 1)", "missing its argument 'steps'"),
        ("linspace(0, 1, 3, 4)", "at most 3"),
        ("zeros(2, dtype=1)", "dtype= takes a torch dtype"),
        ("zeros(2, size=[3])", "twice"),
        ("full([2])", "fill_value"),
        ("zeros(2, [3])", "one list"),
    ],
)
def test_bad_constructor_arguments(text: str, words: str) -> None:
    assert words in refused(text).message


# --------------------------------------------------------------------------- expressions


def test_arithmetic_over_inputs_keeps_the_graph() -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    out = evaluate(parse("x * y + x ** 2 / 2 - -y"), {"x": x, "y": y})
    assert torch.allclose(out, x * y + x**2 / 2 + y)
    gx, gy = torch.autograd.grad(out.sum(), (x, y))
    assert torch.allclose(gx, y + x)
    assert torch.allclose(gy, x + 1)


def test_matmul_operator() -> None:
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([0.5, -1.0])
    assert torch.equal(evaluate(parse("a @ b"), {"a": a, "b": b}), a @ b)
    assert "cannot compute '@'" in refused("a @ b", env={"a": a, "b": torch.ones(3)}).message


def test_numbers_do_not_promote_a_float_input() -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert evaluate(parse("x * 2.5 + 1"), {"x": x}).dtype == torch.float64
    h = torch.tensor([1.0, 2.0], dtype=torch.float32)
    assert evaluate(parse("h * 2.5"), {"h": h}, dtype=torch.float64).dtype == torch.float32


@pytest.mark.parametrize(
    "symbol, fn",
    [
        ("<", torch.lt),
        ("<=", torch.le),
        (">", torch.gt),
        (">=", torch.ge),
        ("==", torch.eq),
        ("!=", torch.ne),
    ],
)
def test_comparisons_are_torch_comparisons(symbol: str, fn) -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.tensor([2.0, 2.0, 2.0])
    out = evaluate(parse(f"x {symbol} y"), {"x": x, "y": y})
    assert out.dtype == torch.bool
    assert torch.equal(out, fn(x, y))
    assert out.grad_fn is None  # the seed page's point: no gradient flows through lt


def test_comparisons_are_the_catalog_ops_too() -> None:
    assert torch.equal(
        tensor_from_text("[1, 2, 3] < [2, 2, 2]"), tensor_from_text("lt([1, 2, 3], [2, 2, 2])")
    )


def test_integer_arithmetic_refuses_overflow_and_gives_floats_for_negative_powers() -> None:
    assert tensor_from_text("2**62").item() == 2**62
    assert "overflow" in fast_refusal("2**63").message
    assert "overflow" in fast_refusal("10**15 * 10**15").message
    assert "overflow" in fast_refusal("9**9**9").message
    assert tensor_from_text("9.0**9**9").item() == math.inf  # floats overflow to inf
    small = tensor_from_text("10**-3")
    assert small.dtype == torch.float32 and small.item() == pytest.approx(1e-3)


def test_huge_integer_literals_are_refused() -> None:
    err = refused("1 + 10000000000000000")
    assert "too large" in err.message and err.position == 4
    assert tensor_from_text("1e300 * 1e300", dtype=torch.float64).item() == math.inf


def test_names_in_order_of_first_appearance() -> None:
    parsed = parse("y * x + exp(y) + z * pi + leaky_relu(x, negative_slope=0.1)")
    assert parsed.names == ("y", "x", "z")
    assert not set(parsed.names) & CONSTANTS


def test_a_free_name_in_a_value_field_is_unknown() -> None:
    with pytest.raises(InputError) as info:
        tensor_from_text("1 + x", field="input")
    assert info.value.message == "unknown name 'x'"
    assert info.value.position == 4 and info.value.field == "input"


def test_evaluate_needs_every_input() -> None:
    err = refused("x + y", env={"x": torch.ones(2)})
    assert err.message == "no value for input 'y'" and err.position == 4


def test_torch_refusals_become_input_errors_quoting_torch() -> None:
    err = refused("[1., 2.] + [1., 2., 3.]")
    assert err.message.startswith("cannot compute '+': ")
    assert err.position == 9
    assert "gather() failed" in refused("gather([1.], 0, [5])").message


def test_whitespace_tabs_and_newlines() -> None:
    assert tensor_from_text("  1 +\t2 ").item() == 3
    assert tensor_from_text("(1 +\n 2)").item() == 3
    text = "(1 +\n x.y)"
    assert refused(text).position == text.index(".")


# --------------------------------------------------------------------------- catalog calls


def test_every_catalog_op_is_a_function_name() -> None:
    names = language.FUNCTION_NAMES
    assert set(CATALOG) <= names
    assert set(language.CONSTRUCTORS) <= names
    required = (
        "tan asin acos atan sinh cosh asinh atanh log1p expm1 erf elu silu ceil prod min logsumexp"
    )
    assert set(required.split()) <= names


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_catalog_op_runs_through_the_language(name: str) -> None:
    """``name(<its defaults>)`` equals calling the op's fn directly, positionally or by keyword."""
    spec = CATALOG[name]
    tensors = {
        i.name: tensor_from_text(i.default, dtype=torch.float64)
        for i in spec.inputs
        if i.kind == "tensor"
    }
    expected = spec.fn(**tensors)  # non-tensor inputs take the catalog's defaults
    positional = f"{name}({', '.join(i.default for i in spec.inputs)})"
    by_keyword = f"{name}({', '.join(f'{n}={tensors_text}' for n, tensors_text in ((i.name, i.default) for i in spec.inputs if i.kind == 'tensor'))})"
    for text in (positional, by_keyword):
        got = tensor_from_text(text, dtype=torch.float64)
        assert got.dtype == expected.dtype and got.shape == expected.shape, text
        assert torch.allclose(got.double(), expected.double(), equal_nan=True), text


def test_keywords_bind_by_torch_name_and_numbers_stay_exact() -> None:
    x = torch.tensor([-1.0, 0.5, 2.0])
    got = evaluate(parse("leaky_relu(x, negative_slope=0.2)"), {"x": x})
    assert torch.equal(got, F.leaky_relu(x, 0.2))
    assert torch.equal(evaluate(parse("leaky_relu(x, 0.2)"), {"x": x}), F.leaky_relu(x, 0.2))
    default_slope = float(CATALOG["leaky_relu"].input("negative_slope").default)
    assert torch.equal(evaluate(parse("leaky_relu(x)"), {"x": x}), F.leaky_relu(x, default_slope))
    m = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(evaluate(parse("softmax(m, dim=1)"), {"m": m}), F.softmax(m, 1))
    assert torch.equal(evaluate(parse("softmax(m, 1.0)"), {"m": m}), F.softmax(m, 1))


@pytest.mark.parametrize(
    "text, words, at",
    [
        (
            "leaky_relu(x, slope=0.2)",
            "no argument 'slope' (it takes: input, negative_slope)",
            "slope",
        ),
        ("exp(x, x)", "takes at most 1 argument", "x)"),
        (
            "leaky_relu(x, 0.1, negative_slope=0.2)",
            "two values for 'negative_slope'",
            "negative_slope",
        ),
        ("gather(x, 0)", "missing its input 'index'", "gather"),
        ("softmax(x, 0.5)", "must be an integer", "0.5"),
        ("softmax(x, True)", "must be an integer", "True"),
        ("softmax(x, dim=x)", "single number", "x)"),
        ("exp(None)", "cannot be None", "None"),
    ],
)
def test_bad_calls(text: str, words: str, at: str) -> None:
    err = refused(text, env={"x": torch.tensor([1.0, 2.0])})
    assert words in err.message
    assert err.position == text.index(at)


def test_unknown_functions_suggest_a_name() -> None:
    err = refused("exq(1.0)")
    assert err.message.startswith("unknown function 'exq'") and err.position == 0
    assert "did you mean" in err.message


# --------------------------------------------------------------------------- refusals


REFUSALS = [
    # (text, words in the message, where it points)
    ("x.numpy()", "attribute access '.numpy' is not allowed", "."),
    ("exp(x).grad_fn", "attribute access '.grad_fn'", ".grad_fn"),
    ("[1.0, 2.0][0.5]", "an index must be an integer", "0.5"),  # x[0] is torch's indexing
    ("'abc'", "strings are not allowed", "'"),
    ("exp(x) # 'comment'", "strings are not allowed", "'"),
    ("x + elf'a'", "strings are not allowed", "'"),
    ("b'abc'", "bytes are not allowed", "b"),
    ("__import__(os)", "names starting with '_'", "__import__"),
    ("exp(__builtins__)", "names starting with '_'", "__builtins__"),
    ("eval(x)", "unknown function 'eval'", "eval"),
    ("exec(x)", "unknown function 'exec'", "exec"),
    ("getattr(x, y)", "unknown function 'getattr'", "getattr"),
    ("open", None, "open"),  # a free name: fine to parse, unknown as a value
    ("().__class__.__bases__[0].__subclasses__()", "'.__subclasses__'", ".__subclasses__"),
    ("[].__class__", "attribute access '.__class__'", "."),
    ("(g for g in [x]).gi_frame.f_back", "attribute access '.f_back'", ".f_back"),
    ("x.untyped_storage()", "attribute access '.untyped_storage'", "."),
    ("breakpoint()", "unknown function 'breakpoint'", "breakpoint"),
    ("globals()", "unknown function 'globals'", "globals"),
    ("type(x)", "unknown function 'type'", "type"),
    ("print(x)", "unknown function 'print'", "print"),
    ("exit()", "unknown function 'exit'", "exit"),
    ("lambda: 1", "lambda is not allowed", "lambda"),
    ("(lambda: 1)()", "lambda is not allowed", "lambda"),
    ("[i for i in x]", "comprehensions are not allowed", "["),
    ("{i: i for i in x}", "comprehensions are not allowed", "{"),
    ("sum(i for i in x)", "generator expressions are not allowed", "(i for"),
    ("(y := 1)", "assignment expressions (':=')", "y :="),
    ("f'{x}'", "f-strings are not allowed", "f'"),
    ("1 if x else 2", "conditional expressions", "1 if"),
    ("x and y", "'and' / 'or'", "x and"),
    ("not x", "'not' is not allowed", "not"),
    ("~x", "'~'", "~"),
    ("{1: 2}", "dict displays", "{"),
    ("{1, 2}", "set displays", "{"),
    ("(1, 2)", "tuples are not allowed", "(1, 2)"),
    ("exp(*x)", "starred", "*x"),
    ("exp(**x)", "'**'", "**x"),
    ("x // 2", "operator '//' is not allowed", "//"),
    ("x % 2", "operator '%'", "%"),
    ("x << 2", "operator '<<'", "<<"),
    ("1 < x < 3", "chained comparisons", "x < 3"),
    ("x is y", "comparison 'is'", "x is"),
    ("x in y", "comparison 'in'", "x in"),
    ("1j", "complex numbers", "1j"),
    ("...", "is not allowed", "..."),
    ("exp", "'exp' is a function", "exp"),
    ("pi(1)", "'pi' is a constant", "pi"),
    ("exp(1)(2)", "bare name", "exp(1)(2)"),
    ("import os", "cannot parse", "import"),
    ("raise SystemExit", "cannot parse", "raise"),
    ("x = 1", "cannot parse", "= 1"),
    ("exp(1", "cannot parse", "("),
    ("", "empty text", ""),
    ("   ", "empty text", ""),
    ("1\x00", "control character U+0000", "\x00"),
    ("\x1b[31m", "control character U+001B", "\x1b"),
    ("1\r\n", "control character U+000D", "\r"),
    ("\uff45\uff58\uff50(1)", "non-ASCII character U+FF45", "\uff45"),  # fullwidth 'exp'
    ("\U0001d626\U0001d637\U0001d622\U0001d62d(1)", "non-ASCII character U+1D626", "\U0001d626"),
    ("1 + \uff58", "non-ASCII", "\uff58"),
    ("x\u00b2", "non-ASCII character U+00B2", "\u00b2"),
    ("\ud800", "non-ASCII character U+D800", "\ud800"),  # a lone surrogate
]


@pytest.mark.parametrize("text, words, at", REFUSALS, ids=[repr(r[0])[:30] for r in REFUSALS])
def test_refusals_name_what_and_where(text: str, words: str | None, at: str) -> None:
    with pytest.raises(InputError) as info:
        evaluate(parse(text, field="expression"), {})
    err = info.value
    assert words is None or words in err.message, err.message
    assert err.position == text.index(at)
    assert err.field == "expression"


@pytest.mark.parametrize("text", ["1if x else 2", "0x1for", "exp('\\d')", "3in x", "[1, 2]is x"])
def test_the_parser_never_prints_a_warning(text: str) -> None:
    """Python warns (on stderr) about some of these; they are refused before it can."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError):
            parse(text)
    assert not caught


def test_a_number_running_into_a_name_is_refused() -> None:
    err = refused("2x + 1")
    assert "a number runs into a name" in err.message and err.position == 1
    got = tensor_from_text("[1e5, 1.5e-3, .5, 1_000, 0x1f, 1.e2]", dtype=torch.float64)
    assert got.tolist() == [1e5, 1.5e-3, 0.5, 1000, 31, 100]


def test_nfkc_lookalikes_never_reach_the_parser() -> None:
    # Python would normalise these identifiers to 'eval' and 'exp' (NFKC) and accept them.
    for text in ("\U0001d626\U0001d637\U0001d622\U0001d62d('1')", "\uff45\uff58\uff50(1)"):
        with pytest.raises(InputError, match="non-ASCII"):
            parse(text)


# --------------------------------------------------------------------------- resource bounds


def test_text_length_is_capped() -> None:
    text = "1+" * (MAX_TEXT_CHARS // 2) + "1"
    assert len(text) == MAX_TEXT_CHARS + 1
    err = fast_refusal(text)
    assert "too long" in err.message and err.position == MAX_TEXT_CHARS
    assert tensor_from_text(" " * (MAX_TEXT_CHARS - 1) + "1").item() == 1


@pytest.mark.parametrize(
    "text, at",
    [
        ("(" * 300, MAX_DEPTH),
        ("[" * 300 + "]" * 300, MAX_DEPTH),
        ("-" * (2 * MAX_TEXT_CHARS) + "1", MAX_TEXT_CHARS),  # too long before it is too deep
        ("-" * 5000 + "1", MAX_DEPTH),
        ("-" * 1000 + "1", MAX_DEPTH),
        ("- " * 900 + "1", 2 * MAX_DEPTH),
        ("2**" * 600 + "2", None),
        ("exp(" * 70 + "x" + ")" * 70, None),
        ("-exp(" * 40 + "1" + ")" * 40, None),  # 40 brackets, but 80 levels of tree
    ],
)
def test_deep_nesting_is_refused_quickly(text: str, at: int | None) -> None:
    err = fast_refusal(text)
    assert "too deep" in err.message or "too long" in err.message
    if at is not None:
        assert err.position == at


@pytest.mark.parametrize("items", [MAX_NODES // 2 + 1, (MAX_TEXT_CHARS - 2) // 3])
def test_many_parts_are_refused(items: int) -> None:
    """Just over the part bound, and as many parts as the text bound lets one write."""
    text = "[" + "-1," * items + "]"
    assert len(text) <= MAX_TEXT_CHARS
    err = fast_refusal(text)
    assert f"more than {MAX_NODES} parts" in err.message


def test_a_flat_chain_is_one_level_of_nesting() -> None:
    """65 terms of one sum: Python's tree is 65 levels deep, a person sees one."""
    from gradtui.ops.run import run

    terms = MAX_DEPTH + 1
    text = " + ".join(f"sin(x*{i})" for i in range(1, terms + 1))
    result = run(text, {"x": "[0.5, 1.0]"})
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    sum(torch.sin(x * i) for i in range(1, terms + 1)).sum().backward()
    assert result.grads["x"].value == pytest.approx(x.grad.tolist(), rel=1e-5)
    # every precedence level chains: a - b + c, a * b / c @ d
    chain = " - ".join(["1.0"] * (MAX_DEPTH + 10)) + " + 1"
    assert tensor_from_text(chain).item() == -(MAX_DEPTH + 7)
    prod = " * ".join(["2.0"] * 70) + " / 4.0"
    assert tensor_from_text(prod).item() == 2.0**68
    mats = " @ ".join(["eye(2)"] * 80)
    assert tensor_from_text(mats).tolist() == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "-(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "**".join(["x"] * (MAX_DEPTH + 2)),  # a power tower nests: x ** (x ** ...)
        "sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        # 30 brackets, but a chain inside each: -, sin( and + make 90 levels of nesting
        "-sin(x + " * 30 + "x" + ")" * 30,
    ],
)
def test_genuine_nesting_is_still_refused(text: str) -> None:
    with pytest.raises(InputError) as raised:
        parse(text)
    assert "too deep" in raised.value.message


def test_the_longest_flat_chain_needs_no_deep_recursion() -> None:
    """Walks go down a chain with a loop: the whole engine (parse, forward, backward,
    formula) runs a chain of MAX_NODES / 2 terms (as many as the part bound allows, written
    out to the text bound) with 250 frames of Python stack to spare, where a walk that
    recursed once per term would need MAX_NODES / 2."""
    import inspect
    import sys

    from gradtui.ops.run import run

    terms = MAX_NODES // 2
    name = "x" * (MAX_TEXT_CHARS // terms - 1)
    text = "+".join([name] * terms)
    assert len(text) > MAX_TEXT_CHARS - terms
    with pytest.raises(InputError, match="parts"):
        parse("+".join(["x"] * (terms + 1)))  # one term more is over the part bound
    run("exp", {})  # imports done outside the tight limit
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 250)
    try:
        result = run(text, {name: "[1.0, 2.0]"})
    finally:
        sys.setrecursionlimit(limit)
    assert result.grads[name].value == [float(terms)] * 2
    assert result.formula is not None and result.formula.endswith(f"= {terms}")


def test_depth_limit_leaves_room_for_ordinary_expressions() -> None:
    assert tensor_from_text("+".join(["1"] * (MAX_DEPTH - 2))).item() == MAX_DEPTH - 2
    assert tensor_from_text("exp(" * 20 + "0.0" + ")" * 20).item() > 1


@pytest.mark.parametrize(
    "text",
    [
        "zeros(10**10)",
        "randn(10**5, 10**5)",
        "linspace(0, 1, 10**9)",
        "ones(1000, 1001)",
        "rand([1000, 1000, 1000])",
        "arange(10**9)",
        "arange(0, 1, 1e-12)",
        "eye(10**4)",
        "full([10**4, 10**4], 1.0)",
        "ones(1000, 1) * ones(1, 1001)",
        "ones(10**6, 1) @ ones(1, 10**6)",
        "ones(1000, 1) < ones(1, 1001)",
        "[ones(1000, 1000), ones(1000, 1000)]",
        "mul(ones(1000, 1), ones(1, 1001))",
        "matmul(ones(2000, 1), ones(1, 2000))",
    ],
)
def test_oversized_tensors_are_refused_before_allocation(text: str) -> None:
    err = fast_refusal(text)
    assert f"at most {MAX_ELEMENTS}" in err.message


def test_oversized_result_of_an_expanding_op_is_refused() -> None:
    err = refused("outer(ones(2000), ones(2000))")  # found by a meta-device dry run
    assert "4000000 elements" in err.message


def test_the_cap_itself_is_allowed() -> None:
    assert tensor_from_text("zeros(1000, 1000)").numel() == MAX_ELEMENTS
    assert tensor_from_text("ones(1000, 1) * ones(1, 1000)").numel() == MAX_ELEMENTS


# --------------------------------------------------------------------------- hostile text


def _payloads(canary: Path) -> list[str]:
    p = str(canary)
    return [
        f"__import__('os').system('touch {p}')",
        f"open('{p}', 'w').write('x')",
        f"().__class__.__base__.__subclasses__()[0]('{p}')",
        f"exec(\"open('{p}','w')\")",
        f"eval(\"open('{p}','w')\")",
        f"compile(\"open('{p}','w')\", 'f', 'exec')",
        f"getattr(__builtins__, 'op' + 'en')('{p}', 'w')",
        f"'{{0.__class__}}'.format(1) or open('{p}', 'w')",
        f"(lambda: open('{p}', 'w'))()",
        f"[open('{p}', 'w') for _ in [1]]",
        f"(f := open('{p}', 'w'))",
        f"(g for g in [1]).gi_frame.f_back.f_globals['open']('{p}', 'w')",
        f"x.numpy().tofile('{p}')",
        f"x.untyped_storage().from_file('{p}', True, 1)",
        f"\U0001d626\U0001d637\U0001d622\U0001d62d(\"open('{p}','w')\")",
        f"\uff45\uff56\uff41\uff4c(\"open('{p}','w')\")",
        f"torch.save(x, '{p}')",
        f"exp(x) if open('{p}', 'w') else 0",
    ]


def test_hostile_payloads_do_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    for payload in _payloads(canary):
        with pytest.raises(InputError):
            evaluate(parse(payload), {"x": torch.ones(2)})
        assert not canary.exists(), payload


def test_the_engine_never_evals_user_text() -> None:
    root = Path(__file__).resolve().parents[2] / "ops"
    modules = (
        "language.py",
        "syntax.py",
        "formulas.py",
        "source.py",
        "calls.py",
        "spelling.py",
        "evaluator.py",
        "torch_calls.py",
        "constructors.py",
    )
    for module in modules:
        source = (root / module).read_text()
        assert not re.search(r"\b(eval|exec|sympify|parse_expr)\s*\(", source), module
        assert not re.search(r"(?<![\w.])compile\s*\(", source), module


# --------------------------------------------------------------------------- properties

_TOKENS = [
    "x", "y", "1", "2.5", "-", "+", "*", "/", "**", "@", "<", "==", "(", ")", "[", "]", ",",
    " ", "exp(", "log(", "sum(", "relu(", "where(", "leaky_relu(", "softmax(", "zeros(",
    "randn(", "linspace(", "arange(", "eye(", "full(", "pi", "inf", "nan", "True", "dim=",
    "0", "3", "9", "10**", ".", "'", "lambda", "_", "gather(", "clamp(", "min=", "\uff58",
]  # fmt: skip
_ENV = {"x": torch.tensor([0.5, -1.0, 2.0]), "y": torch.tensor([[1.0, 2.0, 3.0]])}


def _parse_and_evaluate(text: str) -> None:
    try:
        parsed = parse(text)
        out = evaluate(parsed, {n: _ENV.get(n, torch.ones(3)) for n in parsed.names})
    except InputError as err:
        assert isinstance(err.message, str) and err.message
        assert err.position is None or 0 <= err.position <= len(text)
        return
    assert isinstance(out, torch.Tensor)
    assert out.numel() <= MAX_ELEMENTS


@settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(max_size=MAX_TEXT_CHARS))
def test_any_text_gives_a_tensor_or_an_input_error(text: str) -> None:
    _parse_and_evaluate(text)


@settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join))
def test_any_token_soup_gives_a_tensor_or_an_input_error(text: str) -> None:
    _parse_and_evaluate(text)


_LEAVES = [
    "x", "y", "1", "2.5", "-3", "0", "0.", "pi", "inf", "nan", "True", "None", "10**-3",
    "[1., 2., 3.]", "[[1, 2], [3, 4]]", "[0, 1]", "[True, False, True]", "ones(3)",
    "randn(2, 3)", "arange(3)", "eye(2)", "linspace(-1, 1, 3)", "9**9**9", "zeros(0)",
]  # fmt: skip
_KEYWORDS = ["dim=0", "dim=-1", "dim=5", "negative_slope=0.5", "min=0.", "max=1", "alpha=2"]


def _expressions() -> st.SearchStrategy[str]:
    """Well-formed texts: most parse, many evaluate, some fail inside torch."""

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        ops = st.sampled_from(["+", "-", "*", "/", "**", "@", "<", "==", ">="])
        call = st.tuples(
            st.sampled_from(sorted(CATALOG) + sorted(language.CONSTRUCTORS)),
            st.lists(children, min_size=1, max_size=3),
            st.lists(st.sampled_from(_KEYWORDS), max_size=1),
        )
        return st.one_of(
            st.tuples(children, ops, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            children.map(lambda c: f"-{c}"),
            call.map(lambda t: f"{t[0]}({', '.join(t[1] + t[2])})"),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
        )

    return st.recursive(st.sampled_from(_LEAVES), extend, max_leaves=12)


@settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(_expressions())
def test_any_well_formed_expression_gives_a_tensor_or_an_input_error(text: str) -> None:
    _parse_and_evaluate(text)


def test_parsed_is_reusable_and_hashable_by_text() -> None:
    parsed = parse("x * 2")
    assert isinstance(parsed, Parsed) and parsed.text == "x * 2"
    a = evaluate(parsed, {"x": torch.tensor(1.0)})
    b = evaluate(parsed, {"x": torch.tensor(3.0)})
    assert (a.item(), b.item()) == (2.0, 6.0)


def test_plain_numbers_reach_torch_as_python_scalars() -> None:
    """`x**2` must build the node PyTorch code builds (PowBackward0), not a tensor-exponent pow."""
    from gradtui.ops.run import run

    nodes = [s.node for s in run("x**2", {"x": "[1.0, 2.0]"}).steps]
    assert nodes[0] == "PowBackward0"
    assert [s.node for s in run("1 - x", {"x": "[1.0]"}).steps][0] == "RsubBackward1"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 3), max_size=4),
    st.lists(st.integers(0, 3), max_size=4),
)
def test_broadcast_shape_agrees_with_torch(a: list[int], b: list[int]) -> None:
    try:
        expected: tuple[int, ...] | str = tuple(torch.broadcast_shapes(tuple(a), tuple(b)))
    except RuntimeError as exc:
        expected = str(exc)
    try:
        got: tuple[int, ...] | str = language.broadcast_shape(a, b)
    except RuntimeError as exc:
        got = str(exc)
    assert got == expected
