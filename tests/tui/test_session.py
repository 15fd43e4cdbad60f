"""The session model: what the person chose and typed, remembered per target, no app needed."""

from __future__ import annotations

from gradtui.tui.session import DEFAULT_EXPRESSION, EXPRESSION, GRAD_OUTPUT, Session


def test_the_opening_target_starts_from_the_given_texts() -> None:
    session = Session.opening("mul", {"input": "[1., 2.]", GRAD_OUTPUT: "[3., 4.]"})
    assert session.target == "mul" and not session.expression_mode
    assert session.texts_to_send(None) == ({"input": "[1., 2.]"}, "[3., 4.]")
    assert Session.opening("exp").texts_to_send(None) == ({}, "")


def test_texts_on_screen_are_sent_as_typed() -> None:
    session = Session.opening("mul")
    assert session.texts_to_send({"input": "2."}, "[1.]") == ({"input": "2."}, "[1.]")


def test_an_op_chosen_again_brings_back_its_texts_v_included() -> None:
    session = Session.opening("exp")
    session.fields_shown({"input": "[5.]", GRAD_OUTPUT: "[2.]"})
    session.choose_op("sin")
    assert session.target == "sin" and session.texts_to_send(None) == ({}, "")
    session.remember({"input": "[0.5]"})
    session.choose_op("exp")
    assert session.texts_to_send(None) == ({"input": "[5.]"}, "[2.]")
    session.choose_op("sin", {"input": "[1.5]"})  # given texts override the remembered ones
    assert session.texts_to_send(None) == ({"input": "[1.5]"}, "")


def test_the_expression_field_is_not_remembered_as_an_input() -> None:
    session = Session.opening("exp")
    session.remember({"input": "1.", EXPRESSION: "x"})
    assert session.memory["exp"] == {"input": "1."}


def test_custom_expression_starts_from_the_default_then_the_last_one() -> None:
    session = Session.opening("exp")
    session.choose_expression()
    assert session.target == DEFAULT_EXPRESSION and session.expression_mode
    session.edited(EXPRESSION, "x * y")
    assert session.target == "x * y" and session.last_expression == "x * y"
    session.choose_op("exp")
    assert not session.expression_mode and session.expression_texts == {}
    session.choose_expression()
    assert session.target == "x * y"


def test_a_name_dropped_while_typing_gets_its_text_back() -> None:
    """Typing ``x*y`` passes through ``x*``: y's field goes, and its text comes back with it."""
    session = Session.opening("exp")
    session.choose_expression("x * y")
    session.fields_shown({"x": "1.", "y": "2.", GRAD_OUTPUT: ""})
    session.edited("y", "[7.]")
    session.edited(EXPRESSION, "x *")
    session.fields_shown({"x": "1.", GRAD_OUTPUT: ""})
    session.edited(EXPRESSION, "x * y")
    texts, v_text = session.texts_to_send({"x": "1."}, "")
    assert texts == {"x": "1.", "y": "[7.]"} and v_text == ""
    session.edited(GRAD_OUTPUT, "[9.]")  # v is the op's output's, not an expression input
    assert GRAD_OUTPUT not in session.expression_texts


def test_expression_values_set_its_texts_in_the_same_computation() -> None:
    session = Session.opening("exp")
    session.choose_expression("a + b", {"a": "1.", "b": "2.", GRAD_OUTPUT: "3."})
    assert session.texts_to_send(None) == ({"a": "1.", "b": "2."}, "3.")
    assert session.expression_texts == {"a": "1.", "b": "2."}
