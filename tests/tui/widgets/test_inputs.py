"""The inputs panel alone: fields built from specs, edits posted as typed, errors under their field."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from gradtui.tui.widgets.inputs import FieldSpec, InputsPanel
from tests.helpers import screen_text

FIELDS = [FieldSpec("input", "[0.5, 1.]", "the op's input"), FieldSpec("v", "ones_like(out)")]


class InputsApp(App[None]):
    """The panel on its own; what it posts is kept in :attr:`edits` and :attr:`done`."""

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[tuple[str, str]] = []
        self.done = 0

    def compose(self) -> ComposeResult:
        yield InputsPanel(cursor_blink=False)

    def on_inputs_panel_edited(self, message: InputsPanel.Edited) -> None:
        self.edits.append((message.name, message.text))

    def on_inputs_panel_done(self, message: InputsPanel.Done) -> None:
        self.done += 1


async def test_fields_replace_the_placeholder_without_posting_edits() -> None:
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        assert "loading torch…" in screen_text(app)
        await panel.set_fields(FIELDS)
        await pilot.pause()
        assert panel.names == ["input", "v"]
        assert panel.texts == {"input": "[0.5, 1.]", "v": "ones_like(out)"}
        assert panel.field("input").value == "[0.5, 1.]"
        text = screen_text(app)
        assert "loading torch…" not in text
        assert "input" in text and "[0.5, 1.]" in text and "ones_like(out)" in text
        assert app.edits == []  # the panel's own texts are not edits


async def test_each_key_posts_the_field_s_whole_text_and_enter_posts_done() -> None:
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields(FIELDS)
        field = panel.field("input")
        field.focus()
        field.cursor_position = len(field.value)
        await pilot.press("backspace", "2", "]")
        assert app.edits == [("input", "[0.5, 1."), ("input", "[0.5, 1.2"), ("input", "[0.5, 1.2]")]
        assert panel.texts["input"] == "[0.5, 1.2]"
        assert panel.values() == {"input": "[0.5, 1.2]"}  # v is not an op input
        await pilot.press("enter")
        assert app.done == 1


async def test_set_text_is_an_edit_and_load_is_not() -> None:
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields(FIELDS)
        panel.set_text("v", "[2., 2.]")
        await pilot.pause()
        assert app.edits == [("v", "[2., 2.]")]
        assert panel.field("v").value == "[2., 2.]"
        panel.load({"input": "[9.]"})
        panel.field("input").value = "[9.]"  # the text load() said was already reported
        await pilot.pause()
        assert app.edits == [("v", "[2., 2.]")]


async def test_rows_that_stay_keep_their_widget_and_the_person_s_text() -> None:
    """An expression gaining a free name must not rebuild (and unfocus) the field being typed in."""
    app = InputsApp()
    async with app.run_test(size=(50, 12)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields(
            [FieldSpec("expression", "x"), FieldSpec("x", "1."), FieldSpec("v", "1.")]
        )
        expression = panel.field("expression")
        expression.focus()
        await pilot.press("end", *" * y")
        await panel.set_fields(
            [
                FieldSpec("expression", "x"),
                FieldSpec("x", "1."),
                FieldSpec("y", "[3.]"),
                FieldSpec("v", "1."),
            ]
        )
        await pilot.pause()
        assert panel.names == ["expression", "x", "y", "v"]
        assert panel.field("expression") is expression and app.focused is expression
        assert panel.texts["expression"] == "x * y"  # the spec's "x" does not overwrite it
        assert panel.texts["y"] == "[3.]"
        rows = [line.split()[0] for line in screen_text(app).splitlines() if line.strip()]
        assert rows == ["expression", "x", "y", "v"]  # on screen, in the order asked for
        await panel.set_fields([FieldSpec("expression", "x"), FieldSpec("v", "1.")])
        await pilot.pause()
        assert panel.names == ["expression", "v"] and "x" not in panel.texts
        assert not panel.query("#field-x")


async def test_reset_puts_the_spec_texts_back_without_posting_edits() -> None:
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields(FIELDS)
        panel.set_text("input", "[7.]")
        await pilot.pause()
        app.edits.clear()
        await panel.set_fields(FIELDS, reset=True)
        await pilot.pause()
        assert panel.field("input").value == "[0.5, 1.]" and panel.texts["input"] == "[0.5, 1.]"
        assert app.edits == []


async def test_an_error_shows_under_its_field_until_cleared() -> None:
    app = InputsApp()
    async with app.run_test(size=(60, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields(FIELDS)
        assert panel.show_error("input", "expected ']'", position=9)
        assert not panel.show_error("nosuch", "lost")  # the caller shows it elsewhere
        assert not panel.show_error(None, "lost")
        await pilot.pause()
        assert panel.error_text("input") == "✗ expected ']' (column 10)"
        lines = screen_text(app).splitlines()
        row = next(i for i, line in enumerate(lines) if line.startswith("input"))
        assert "✗ expected ']' (column 10)" in lines[row + 1]  # right under the field
        assert panel.field("input").has_class("-invalid")
        assert panel.field("input").value == "[0.5, 1.]"  # the person's text is never rewritten
        panel.clear_errors()
        await pilot.pause()
        assert panel.error_text("input") == ""
        assert "✗" not in screen_text(app)
        assert not panel.field("input").has_class("-invalid")


async def test_a_name_that_is_not_an_ascii_word_still_gets_its_field() -> None:
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields([FieldSpec("α", "1."), FieldSpec("x-1", "2.")])
        await pilot.pause()
        assert isinstance(panel.field("α"), Input) and panel.field("α").value == "1."
        assert panel.field("x-1").value == "2."
        assert panel.show_error("α", "bad")
        assert panel.error_text("α") == "✗ bad"


async def test_a_field_holds_a_text_as_long_as_the_language_takes_and_edits_it_whole() -> None:
    """The fields add no length limit of their own: a default or pasted text of the
    language's longest (OpInfo's defaults run to thousands of characters) is kept whole."""
    from gradtui.ops.source import MAX_TEXT_CHARS

    long = "[" + ", ".join(["1.5"] * ((MAX_TEXT_CHARS - 2) // 5)) + "]"
    assert MAX_TEXT_CHARS - 10 < len(long) <= MAX_TEXT_CHARS
    app = InputsApp()
    async with app.run_test(size=(50, 10)) as pilot:
        panel = app.query_one(InputsPanel)
        await panel.set_fields([FieldSpec("input", long)])
        field = panel.field("input")
        assert field.value == long and panel.texts["input"] == long
        field.focus()
        field.cursor_position = len(field.value)
        await pilot.press("backspace", "]")
        assert app.edits[-1] == ("input", long)
