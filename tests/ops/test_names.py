"""The shared words: one definition each, and the op-name test the engine and the app use."""

from __future__ import annotations

import pytest

from gradtui.ops import names
from gradtui.ops.errors import InputError
from gradtui.ops.prepare import input_names


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("exp", True),
        ("  exp ", True),
        ("epx", True),  # an op misspelt: the engine suggests one
        ("x", True),
        ("exp(x)", False),
        ("(x)", False),
        ("x * 2", False),
        ("", False),
        ("éxp", False),  # not ASCII: never an op name
    ],
)
def test_looks_like_op_name(text: str, op: bool) -> None:
    assert names.looks_like_op_name(text) is op


def test_the_engine_reads_a_target_as_the_test_says() -> None:
    assert input_names("exp") == ("input",)  # an op: its inputs
    assert input_names("(x)") == ("x",)  # an expression: its free names
    with pytest.raises(InputError, match="unknown"):
        input_names("x")  # a bare name is an op name, and there is no op x


def test_field_names_are_the_ones_errors_carry() -> None:
    with pytest.raises(InputError) as info:
        input_names("exp(")
    assert info.value.field == names.EXPRESSION == "expression"
    assert names.GRAD_OUTPUT == "v"
