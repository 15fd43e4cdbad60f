"""The inputs panel: one text field per input of the op, plus the upstream gradient ``v``.

The panel never parses anything. It reports every edit as an
:class:`InputsPanel.Edited` message, the app sends the text to the engine in a worker,
and the engine's :class:`ops.errors.InputError` comes back to :meth:`InputsPanel.show_error`,
which writes it under the field that caused it. The person's text is never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT  # the engine's names for the two fields
from gradtui.tui.workarounds import OrderedInput


def wid(kind: str, name: str) -> str:
    """A widget id (or ``#`` selector) for field ``name``: ids allow only ASCII words."""
    safe = "".join(
        c if c.isascii() and (c.isalnum() or c in "_-") else f"-{ord(c):x}-" for c in name
    )
    return f"{kind}-{safe}"


@dataclass(frozen=True)
class FieldSpec:
    """One field of the panel.

    Attributes:
        name: The input's name (``"input"``, ``"v"``, ``"expression"``).
        text: The text to show when the field is created.
        hint: A short description for the tooltip and placeholder.
    """

    name: str
    text: str
    hint: str = ""


class FieldInput(OrderedInput):
    """A text field that knows which input it edits."""

    def __init__(self, field_name: str, **kwargs: Any) -> None:
        """Create the field for input ``field_name`` (other arguments as for ``Input``)."""
        super().__init__(**kwargs)
        self.field_name = field_name


class FieldRow(Horizontal):
    """A label and its text field on one line."""

    DEFAULT_CSS = """
    FieldRow { height: 1; }
    FieldRow > Label { width: auto; min-width: 7; padding: 0 1 0 0; }
    FieldRow > Input { width: 1fr; }
    """

    def __init__(self, spec: FieldSpec, *, cursor_blink: bool) -> None:
        """Create the row for ``spec``."""
        super().__init__(id=wid("row", spec.name))
        self.spec = spec
        self._cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        """Label then input."""
        yield Label(self.spec.name, classes="field-name")
        field = FieldInput(
            self.spec.name,
            value=self.spec.text,
            placeholder=self.spec.hint,
            id=wid("field", self.spec.name),
            compact=True,
            select_on_focus=False,
        )
        field.cursor_blink = self._cursor_blink
        if self.spec.hint:
            field.tooltip = self.spec.hint
        yield field


class InputsPanel(VerticalScroll):
    """Text fields for the op's inputs; errors appear under the field that caused them."""

    ALLOW_MAXIMIZE = True
    """"Maximize" (command palette) on any field in here fills the screen with the whole panel, not one single-line field."""

    DEFAULT_CSS = """
    InputsPanel { height: auto; max-height: 14; }
    InputsPanel > .field-error { color: $text-error; height: auto; display: none; padding: 0 0 0 2; }
    InputsPanel > .field-error.-shown { display: block; }
    """

    @dataclass
    class Edited(Message):
        """The person changed the text of field ``name``."""

        name: str
        text: str

        def can_replace(self, message: Message) -> bool:
            """A newer edit of the same field, queued behind this one, supersedes it."""
            return isinstance(message, InputsPanel.Edited) and message.name == self.name

    class Done(Message):
        """The person pressed Enter in a field."""

    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        """Create an empty panel; :meth:`set_fields` fills it.

        Args:
            cursor_blink: Whether text cursors blink (off for deterministic snapshots).
            id: The widget id.
        """
        super().__init__(id=id)
        self._texts: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._names: list[str] = []
        self._cursor_blink = cursor_blink
        self.can_focus = False

    def compose(self) -> ComposeResult:
        """A placeholder until the first :meth:`set_fields`."""
        yield Static("loading torch…", id="inputs-loading", classes="dim")

    def on_mount(self) -> None:
        """Title the panel."""
        self.border_title = "inputs"

    @property
    def names(self) -> list[str]:
        """The field names on screen, in order."""
        return list(self._names)

    @property
    def texts(self) -> dict[str, str]:
        """Every field's current text, by name."""
        return dict(self._texts)

    def field(self, name: str) -> Input:
        """The text field for ``name`` (raises ``NoMatches`` if there is none)."""
        return self.query_one(wid("#field", name), Input)

    async def set_fields(self, fields: Sequence[FieldSpec], *, reset: bool = False) -> None:
        """Show exactly ``fields``, in order.

        Rows whose name stays keep their widget and the person's text (so typing in an
        expression that gains a free name does not lose focus); new rows start with
        their spec's text; rows no longer wanted are removed.

        Args:
            fields: The fields wanted.
            reset: Also put each kept row's text back to its spec's (a new op was chosen).
        """
        wanted = [f.name for f in fields]
        loading = self.query("#inputs-loading")
        if loading:
            await loading.remove()
        if reset:
            for spec in fields:
                if spec.name in self._names and self._texts.get(spec.name) != spec.text:
                    self._texts[spec.name] = spec.text  # known: no Edited for this change
                    self.field(spec.name).value = spec.text
        if wanted == self._names:
            return
        keep = set(wanted) & set(self._names)
        for name in self._names:
            if name not in keep:
                await self.query_one(wid("#row", name)).remove()
                await self.query_one(wid("#error", name)).remove()
                self._texts.pop(name, None)
                self._errors.pop(name, None)
        previous: str | None = None
        for spec in fields:
            if spec.name not in keep:
                row = FieldRow(spec, cursor_blink=self._cursor_blink)
                error = Static("", id=wid("error", spec.name), classes="field-error")
                if previous is None:
                    await self.mount(row, error, before=0)
                else:
                    await self.mount(row, error, after=self.query_one(wid("#error", previous)))
                self._texts[spec.name] = spec.text
            else:
                row = self.query_one(wid("#row", spec.name), FieldRow)
                error = self.query_one(wid("#error", spec.name), Static)
                if previous is None:
                    self.move_child(row, before=0)
                else:
                    self.move_child(row, after=self.query_one(wid("#error", previous)))
                self.move_child(error, after=row)
            previous = spec.name
        self._names = wanted

    def set_text(self, name: str, text: str) -> None:
        """Replace the text of field ``name`` as if typed (the panel reports an edit)."""
        self.field(name).value = text

    def show_error(self, name: str | None, message: str, position: int | None = None) -> bool:
        """Show ``message`` under field ``name``.

        Returns:
            ``False`` if there is no such field (the caller shows it elsewhere).
        """
        if name is None or name not in self._names:
            return False
        where = f" (column {position + 1})" if position is not None else ""
        error = self.query_one(wid("#error", name), Static)
        self._errors[name] = f"✗ {message}{where}"
        error.update(self._errors[name])
        error.add_class("-shown")
        self.field(name).add_class("-invalid")
        return True

    def clear_errors(self) -> None:
        """Remove every error message (after a computation succeeded)."""
        self._errors.clear()
        for error in self.query(".field-error.-shown"):
            error.remove_class("-shown")
            if isinstance(error, Static):
                error.update("")
        for field in self.query("Input.-invalid"):
            field.remove_class("-invalid")

    def error_text(self, name: str) -> str:
        """The error shown under field ``name`` ("" when none), for tests and the demo."""
        return self._errors.get(name, "")

    def values(self, exclude: Sequence[str] = (GRAD_OUTPUT, EXPRESSION)) -> dict[str, str]:
        """The op's input texts (without ``v`` and the expression)."""
        # while set_fields rebuilds the rows, a removed row's text is already gone
        return {n: self._texts[n] for n in self._names if n not in exclude and n in self._texts}

    def load(self, texts: Mapping[str, str]) -> None:
        """Remember ``texts`` as already reported, without posting edits."""
        self._texts.update(texts)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if not isinstance(event.input, FieldInput):
            return
        name = event.input.field_name
        if self._texts.get(name) == event.value:
            return
        self._texts[name] = event.value
        self.post_message(self.Edited(name, event.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter in a field means "done typing" (the app moves focus back to the stepper)."""
        event.stop()
        self.post_message(self.Done())
