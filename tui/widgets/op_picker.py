"""The op picker: the catalog by category, filtered as the person types.

It knows nothing about torch: the app hands it plain ``(category, [(name, summary)])``
groups once the engine has loaded, and the picker tells the app which op was chosen
with an :class:`OpPicker.Selected` message. Until then it shows the op the app opened on.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from gradtui.ops.names import Groups
from gradtui.tui.workarounds import PagedOptionList

EXPRESSION_ID = "__expression__"
"""The option id of the "custom expression" entry."""


def _line(text: str, style: str = "") -> Text:
    """One option on one line: long names end in … rather than wrap."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle: names that share a long start
    (``binary_cross_entropy``, ``binary_cross_entropy_with_logits``) stay apart."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")


class OpName:
    """An op's name in the list, shortened in the middle to the width it is given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.text = f" {name}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(middle_ellipsis(self.text, options.max_width), no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, len(self.text))


class OpPicker(Vertical):
    """A filter field over a list of ops grouped by category, plus "custom expression"."""

    ALLOW_MAXIMIZE = True
    """"Maximize" (command palette) on any field in here fills the screen with the whole picker: every op's full name fits."""

    DEFAULT_CSS = """
    OpPicker { height: 1fr; }
    OpPicker > #op-filter { margin: 0 0 0 0; }
    OpPicker > #op-list { height: 1fr; border: none; padding: 0; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    @dataclass
    class Selected(Message):
        """The person chose an op (or :data:`EXPRESSION_ID` for a custom expression)."""

        name: str

    def __init__(self, current: str, *, id: str | None = None) -> None:
        """Create the picker showing only ``current`` until the catalog arrives.

        Args:
            current: The op the app opened on.
            id: The widget id.
        """
        super().__init__(id=id)
        self._groups: list[tuple[str, list[tuple[str, str]]]] = []
        self._current = current
        self._loaded = False

    def compose(self) -> ComposeResult:
        """A filter input above the option list."""
        yield Input(placeholder="/ filter ops", id="op-filter", compact=True)
        yield PagedOptionList(id="op-list")

    def on_mount(self) -> None:
        """Show the opening op until the catalog is loaded."""
        self.border_title = "ops"
        self._rebuild()

    @property
    def filter_text(self) -> str:
        """The filter as typed."""
        return self.query_one("#op-filter", Input).value

    def set_catalog(self, groups: Groups) -> None:
        """Fill the list from the engine's catalog (called once torch has loaded)."""
        self._groups = [(cat, list(ops)) for cat, ops in groups]
        self._loaded = True
        self._rebuild()

    def set_current(self, name: str) -> None:
        """Mark ``name`` as the op on screen (highlighted when visible)."""
        self._current = name
        self._rebuild()

    def matches(self) -> list[str]:
        """The op names (and expression id) the filter lets through, in display order."""
        return [
            o.id
            for o in self.query_one("#op-list", OptionList).options
            if o.id is not None and not o.disabled
        ]

    def _rebuild(self) -> None:
        """Rebuild the option list for the current filter, keeping the current op highlighted."""
        needle = self.filter_text.strip().lower()
        options: list[Option] = []
        if not needle or needle in "custom expression":
            options.append(Option(_line("✎ custom expression", "italic"), id=EXPRESSION_ID))
        if not self._loaded:
            options.append(Option(_line(f" {self._current}"), id=self._current))
            options.append(Option(Text("loading torch…", style="dim"), disabled=True))
        for category, ops in self._groups:
            hits = [
                (name, summary)
                for name, summary in ops
                if not needle
                or needle in name.lower()
                or needle in category.lower()
                or needle in summary.lower()
            ]
            if not hits:
                continue
            options.append(Option(_line(category, "bold dim"), disabled=True))
            for name, _summary in hits:
                options.append(Option(OpName(name), id=name))
        if not any(o.id is not None for o in options):
            options.append(Option(Text("no op matches", style="dim"), disabled=True))
        option_list = self.query_one("#op-list", OptionList)
        option_list.set_options(options)
        ids = [o.id for o in options]
        if self._current in ids:
            option_list.highlighted = ids.index(self._current)
        else:
            first = next((i for i, o in enumerate(options) if not o.disabled), None)
            option_list.highlighted = first

    @on(Input.Changed, "#op-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()
        option_list = self.query_one("#op-list", OptionList)
        # While filtering, the best match is the one Enter will pick.
        needle = self.filter_text.strip().lower()
        if needle:
            ids = [o.id if not o.disabled else None for o in option_list.options]
            exact = [i for i, oid in enumerate(ids) if oid is not None and oid.lower() == needle]
            first = next((i for i, oid in enumerate(ids) if oid is not None), None)
            option_list.highlighted = exact[0] if exact else first

    @on(Input.Submitted, "#op-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter picks the highlighted (first matching) op."""
        event.stop()
        option = self.query_one("#op-list", OptionList).highlighted_option
        if option is not None and option.id is not None:
            self._choose(option.id)

    @on(OptionList.OptionSelected, "#op-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._choose(event.option.id)

    def _choose(self, name: str) -> None:
        """Report the choice and clear the filter, so the whole catalog is back."""
        self._current = name
        filt = self.query_one("#op-filter", Input)
        if filt.value:
            filt.value = ""
        self.post_message(self.Selected(name))

    def on_key(self, event: events.Key) -> None:
        """Down from the filter moves into the list, so the keyboard never gets stuck."""
        filt = self.query_one("#op-filter", Input)
        if event.key == "down" and filt.has_focus:
            event.stop()
            self.query_one("#op-list", OptionList).focus()
