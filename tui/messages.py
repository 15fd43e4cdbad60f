"""What travels between the explorer screen and the engine's worker thread.

A :class:`Request` goes out (built from the text on screen); the messages come back, each
carrying the number of the request it answers. Only the newest request's answers are
shown, so an answer that is already followed in the queue by one for a newer request is
merged away (``can_replace``) before it is handled: a flood of answers to abandoned
edits costs the UI thread nothing. The messages are plain dataclasses; nothing here
imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from gradtui.ops.errors import InputError
from gradtui.ops.names import Groups
from gradtui.ops.results import Curve, GradResult, SnippetResult
from gradtui.tui.widgets.inputs import FieldSpec


@dataclass(frozen=True)
class Request:
    """One computation: a target, the texts of its inputs and the upstream gradient.

    Attributes:
        seq: Its number; only the newest request's answers are shown.
        target: A catalog name or an expression.
        texts: Input texts by name (missing ones take the op's defaults).
        v_text: The upstream gradient's text ("" for ones).
        second: Also sample f″ for the plot.
        reset: A new op was chosen: the fields take the request's texts.
        var: The input to plot along (``None``: the engine's choice).
        expression: The person is typing a custom expression: ``target`` is always an
            expression, even when it reads like an op name (``exp`` on the way to
            ``exp(x)``), so the expression field stays on screen.
    """

    seq: int
    target: str
    texts: dict[str, str]
    v_text: str
    second: bool
    reset: bool
    var: str | None = None
    expression: bool = False


@dataclass(frozen=True)
class Catalog:
    """What the app needs to know about the catalog, as plain data.

    Attributes:
        groups: Ops by category, for the picker and the palette.
        hints: Per op, a few words on each input (for tooltips and placeholders).
        signatures: Per op, its signature (the picker shows the highlighted one's).
    """

    groups: Groups = field(default_factory=list)
    hints: dict[str, dict[str, str]] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every op name."""
        return frozenset(name for _, ops in self.groups for name, _ in ops)


@dataclass
class EngineLoaded(Message):
    """torch and the engine are imported; the catalog is ready."""

    catalog: Catalog


@dataclass
class EngineFailed(Message):
    """The engine could not be imported (a broken torch install)."""

    message: str


@dataclass
class Answer(Message):
    """Something the worker found for request ``seq``.

    An answer followed in the queue by one for a newer request would be dropped by its
    handler anyway (the newer request replaced it), so it is merged away unhandled.
    """

    seq: int

    def can_replace(self, message: Message) -> bool:
        """Whether ``message`` (next in the queue) supersedes this answer."""
        return isinstance(message, Answer) and message.seq > self.seq


@dataclass
class FieldsReady(Answer):
    """The input fields of a :class:`Request`'s target (known before its result)."""

    fields: list[FieldSpec]
    reset: bool


@dataclass
class Computed(Answer):
    """The answer to a :class:`Request`: a result or an error."""

    target: str
    result: GradResult | None = None
    error: InputError | None = None

    def can_replace(self, message: Message) -> bool:
        """A newer request's answer, or this request's result again (now with its formula)."""
        if isinstance(message, Computed) and message.seq == self.seq:
            return self.error is None and message.error is None
        return super().can_replace(message)


@dataclass
class CurveDone(Answer):
    """The curve for a :class:`Request` (or why there is none)."""

    curve: Curve | None = None
    message: str | None = None


@dataclass
class SnippetDone(Answer):
    """The answer to a snippet run: its result, or why it did not run.

    Attributes:
        result: Every statement and backward pass of the run.
        refused: Where the language refused the snippet, ``(line, col, message)``
            (1-based); nothing ran.
        error: Any other reason there is no result (an internal error, in words).
    """

    result: SnippetResult | None = None
    refused: tuple[int, int, str] | None = None
    error: str | None = None
