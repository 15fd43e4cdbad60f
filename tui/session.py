"""What the person has chosen and typed, as plain Python (no Textual, no torch).

The explorer screen asks the session what to send to the engine and tells it what was
typed; the session remembers, for every op and expression chosen so far, the texts of
its fields, so choosing it again brings them back. It is unit-tested without an app
(``tests/tui/test_session.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT  # the engine's names for the two fields

DEFAULT_EXPRESSION = "x * exp(-x)"
"""What "custom expression" starts with."""


@dataclass
class Session:
    """The target on screen and the texts typed for it and for every earlier one.

    Attributes:
        target: The op name or expression on screen.
        expression_mode: Whether ``target`` is a custom expression (even one that reads
            like an op name, such as ``exp`` on the way to ``exp(x)``).
        last_expression: The expression "custom expression" comes back to.
        memory: The texts of each target's fields (``v`` too), by target.
        expression_texts: While typing an expression, the text of every input name seen
            since it was chosen.
    """

    target: str
    expression_mode: bool = False
    last_expression: str = DEFAULT_EXPRESSION
    memory: dict[str, dict[str, str]] = field(default_factory=dict)
    expression_texts: dict[str, str] = field(default_factory=dict)
    """Typing ``x*y`` key by key passes through ``x`` and ``x*``, and editing can drop a
    name for a few keys; when the name comes back, so does the text the person gave it."""

    @classmethod
    def opening(cls, target: str, values: Mapping[str, str] | None = None) -> Session:
        """A session that opens on ``target`` with the texts ``values`` (by field name)."""
        return cls(target, memory={target: dict(values or {})})

    def texts_to_send(
        self, typed: Mapping[str, str] | None, typed_v: str = ""
    ) -> tuple[dict[str, str], str]:
        """The input texts and the upstream gradient's text for the engine.

        Args:
            typed: The texts of the fields on screen, or ``None`` for a newly chosen
                target (or the first screen): it starts from what it had last time
                (``v`` included: its shape belongs to the op's output), or its defaults.
            typed_v: The text of the ``v`` field on screen (with ``typed``).
        """
        if typed is None:
            texts = dict(self.memory.get(self.target, {}))
            v_text = texts.pop(GRAD_OUTPUT, "")
        else:
            texts, v_text = dict(typed), typed_v
        if self.expression_mode:
            texts = {**self.expression_texts, **texts}
        return texts, v_text

    def remember(self, texts: Mapping[str, str]) -> None:
        """Keep the texts of the target's fields (``v`` too) for when it is chosen again."""
        self.memory[self.target] = {n: t for n, t in texts.items() if n != EXPRESSION}

    def fields_shown(self, texts: Mapping[str, str]) -> None:
        """The engine's fields for the target are on screen, holding ``texts`` (``v`` too)."""
        self.remember(texts)
        if self.expression_mode:
            self.expression_texts.update(
                {n: t for n, t in texts.items() if n not in (GRAD_OUTPUT, EXPRESSION)}
            )

    def edited(self, name: str, text: str) -> None:
        """The person changed field ``name`` to ``text``."""
        if name == EXPRESSION:
            self.target = text
            self.last_expression = text
        elif self.expression_mode and name != GRAD_OUTPUT:
            self.expression_texts[name] = text

    def choose_op(self, name: str, values: Mapping[str, str] | None = None) -> None:
        """Open op ``name`` with its remembered (or default) texts, overridden by ``values``."""
        texts = dict(values or {})
        self.target = name
        self.expression_mode = False
        self.expression_texts = {}
        if texts or name not in self.memory:
            self.memory[name] = {**self.memory.get(name, {}), **texts}

    def choose_expression(
        self, text: str | None = None, values: Mapping[str, str] | None = None
    ) -> None:
        """Switch to expression ``text`` (or the last one), its texts set from ``values``."""
        if text is None:
            text = self.last_expression
        if values:
            self.memory[text] = {**self.memory.get(text, {}), **values}
        self.target = text
        self.last_expression = text
        self.expression_mode = True
        remembered = self.memory.get(text, {})
        self.expression_texts = {k: t for k, t in remembered.items() if k != GRAD_OUTPUT}
