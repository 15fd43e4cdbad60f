"""The model screen's form: the spec, data, target, loss, optimizer, L1, seed and steps.

The form never parses anything. Enter in a field posts :class:`ModelForm.Submitted`; the
screen sends the texts to the engine, and an :class:`~ops.errors.InputError` comes back to
:meth:`ModelForm.show_error`, which writes it under the field that caused it, with its
column. The person's text is never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

from gradtui.tui.workarounds import OrderedInput

HINTS = {
    "spec": "layers joined by ->, e.g. Linear(2, 3) -> Tanh() -> Linear(3, 1)",
    "data": "the input rows, e.g. [[1., 2.], [3., -1.]] or randn(8, 2)",
    "target": "what the model should output for each row",
    "loss": "a torch.nn.functional loss: mse_loss, l1_loss, cross_entropy, …",
    "optimizer": "SGD(lr=0.1, momentum=0.9), Adam(lr=0.01), AdamW, RMSprop, Adagrad",
    "l1": "λ of the L1 penalty added to the loss (0: none)",
    "seed": "torch.manual_seed before the layers are built",
    "steps": "how many steps t trains",
}
"""What each field takes (its placeholder and tooltip)."""


class ModelForm(VerticalScroll):
    """One labelled text field per setting; errors under the field that caused them."""

    DEFAULT_CSS = """
    ModelForm { height: auto; }
    ModelForm > Horizontal { height: 1; }
    ModelForm > Horizontal > Label { width: 10; }
    ModelForm > Horizontal > Input { width: 1fr; }
    ModelForm > .field-error { color: $text-error; height: auto; display: none; padding: 0 0 0 2; }
    ModelForm > .field-error.-shown { display: block; }
    """

    @dataclass
    class Submitted(Message):
        """The person pressed Enter in field ``name``."""

        name: str

    def __init__(
        self,
        names: Sequence[str],
        texts: Mapping[str, str],
        *,
        cursor_blink: bool = True,
        id: str | None = None,
    ) -> None:
        """Create the fields ``names`` holding ``texts``."""
        super().__init__(id=id)
        self.names = tuple(names)
        self._initial = dict(texts)
        self._errors: dict[str, str] = {}
        self._cursor_blink = cursor_blink
        self.can_focus = False

    def compose(self) -> ComposeResult:
        """A label and a field per name, each with its (hidden) error line."""
        for name in self.names:
            with Horizontal(id=f"row-{name}"):
                yield Label(name)
                field = OrderedInput(
                    value=self._initial.get(name, ""),
                    placeholder=HINTS.get(name, ""),
                    id=f"model-{name}",
                    compact=True,
                    select_on_focus=False,
                )
                field.cursor_blink = self._cursor_blink
                field.tooltip = HINTS.get(name)
                yield field
            yield Static("", id=f"error-{name}", classes="field-error", markup=False)

    def field(self, name: str) -> Input:
        """The text field of ``name``."""
        return self.query_one(f"#model-{name}", Input)

    @property
    def texts(self) -> dict[str, str]:
        """Every field's text, by name."""
        return {name: self.field(name).value for name in self.names}

    def set_texts(self, texts: Mapping[str, str]) -> None:
        """Put ``texts`` in their fields (others keep theirs)."""
        for name, text in texts.items():
            if name in self.names:
                self.field(name).value = text

    def show_error(self, name: str | None, message: str, position: int | None = None) -> bool:
        """Show ``message`` under field ``name`` (with its 1-based column); returns
        ``False`` when there is no such field (the caller shows it elsewhere)."""
        if name not in self.names:
            return False
        where = f" (column {position + 1})" if position is not None else ""
        self._errors[name] = f"✗ {message}{where}"
        error = self.query_one(f"#error-{name}", Static)
        error.update(self._errors[name])
        error.add_class("-shown")
        self.field(name).add_class("-invalid")
        return True

    def clear_errors(self) -> None:
        """Remove every error (after a build succeeded)."""
        self._errors.clear()
        for error in self.query(".field-error.-shown"):
            error.remove_class("-shown")
        for field in self.query("Input.-invalid"):
            field.remove_class("-invalid")

    def error_text(self, name: str) -> str:
        """The error under field ``name`` ("" when none)."""
        return self._errors.get(name, "")

    def focus_error(self, name: str, position: int | None) -> None:
        """Put the cursor in field ``name`` at ``position`` (0-based), if given."""
        field = self.field(name)
        field.focus()
        if position is not None:
            field.cursor_position = min(position, len(field.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("model-")
        self.post_message(self.Submitted(name))
