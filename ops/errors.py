"""Errors a person can cause, as values.

An :class:`InputError` carries a plain message, the field it belongs to and the
column in that field's text where the problem starts, so a front end can show it
next to the right field and keep everything else on screen.
"""

from __future__ import annotations


class InputError(ValueError):
    """Text the engine refuses: a parse error, a disallowed construct, a bad value.

    Attributes:
        message: What was refused and why, in one line.
        field: The input the text came from (``"input"``, ``"v"``, ``"expression"``), if known.
        position: 0-based column in the field's text where the problem starts, if known.
    """

    def __init__(self, message: str, *, field: str | None = None, position: int | None = None):
        self.message = message
        self.field = field
        self.position = position
        super().__init__(self.__str__())

    def with_field(self, field: str) -> InputError:
        """The same error, attributed to ``field`` (keeps an existing attribution)."""
        if self.field is not None:
            return self
        return InputError(self.message, field=field, position=self.position)

    def __str__(self) -> str:
        where = ""
        if self.field is not None:
            where = f"{self.field}: "
        if self.position is not None:
            return f"{where}{self.message} (at column {self.position + 1})"
        return f"{where}{self.message}"
