"""The op picker: the catalog by category, filtered fuzzily as the person types.

It knows nothing about torch: the app hands it plain ``(category, [(name, summary)])``
groups (the seed's ops first, then the ops generated from torch's OpInfo database by
namespace and topic) and each op's signature once the engine has loaded, and the picker
tells the app which op was chosen with an :class:`OpPicker.Selected` message. Until then
it shows the op the app opened on. Under the filter, two lines show the highlighted op's
signature and one-line summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from gradtui.ops.names import SEED_CATEGORY, Groups
from gradtui.ops.seed_snippets import SEED_SNIPPETS, SeedSnippet
from gradtui.tui.model_presets import NEW, PRESETS
from gradtui.tui.model_presets import PREFIX as MODEL_PREFIX
from gradtui.tui.workarounds import OrderedInput, PagedOptionList

EXPRESSION_ID = "__expression__"
"""The option id of the "custom expression" entry."""
SNIPPET_PREFIX = "snippet: "
"""How the seed group names a seed snippet (``"snippet: lt"``); no op name has ``": "``."""


def snippet_of(option_id: str) -> SeedSnippet | None:
    """The seed snippet an option id names (``"snippet: lt"``), or ``None`` for an op."""
    if not option_id.startswith(SNIPPET_PREFIX):
        return None
    name = option_id[len(SNIPPET_PREFIX) :]
    return next((s for s in SEED_SNIPPETS if s.name == name), None)


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


SEPARATORS = "._ "
"""Characters after which a letter starts a new part of a name (``linalg.svd``, ``log_softmax``)."""


def fuzzy_score(needle: str, text: str) -> int | None:
    """How well ``needle`` matches the op name ``text``, or ``None`` when it does not.

    Every character of ``needle`` must appear in ``text`` in order (a subsequence), case
    ignored: ``lsvd`` finds ``linalg.svd``. Higher is better: an exact name, then a
    prefix, then a substring, then a subsequence whose letters start parts of the name
    (after ``.`` or ``_``) or follow one another; among equals a shorter name wins.
    """
    needle, text = needle.lower(), text.lower()
    if not needle:
        return 0
    if text == needle:
        return 10_000
    at = text.find(needle)
    if at == 0 or (at > 0 and text[at - 1] in SEPARATORS):
        return 8_000 - len(text)  # a prefix of the name or of one of its parts
    if at > 0:
        return 6_000 - at - len(text)
    score, pos, last = 4_000, 0, -2
    for ch in needle:
        found = text.find(ch, pos)
        if found < 0:
            return None
        # Prefer a later occurrence that starts a part of the name (l·s·v·d in linalg.svd).
        start = next(
            (
                k
                for k in range(found, len(text))
                if text[k] == ch and (k == 0 or text[k - 1] in SEPARATORS)
            ),
            None,
        )
        if start is not None and found != last + 1:
            found = start
        if found == last + 1:
            score += 30
        elif found == 0 or text[found - 1] in SEPARATORS:
            score += 20
        else:
            score -= found - last
        last, pos = found, found + 1
    return score - len(text)


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
    """A filter field over a list of ops grouped by category, plus "custom expression";
    the seed group ends with the seed page's snippets (``snippet: lt``, ...), which open
    the snippet editor."""

    ALLOW_MAXIMIZE = True
    """"Maximize" (command palette) on any field in here fills the screen with the whole picker: every op's full name fits."""

    DEFAULT_CSS = """
    OpPicker { height: 1fr; }
    OpPicker > #op-filter { margin: 0 0 0 0; }
    OpPicker > #op-list { height: 1fr; border: none; padding: 0; text-wrap: nowrap; text-overflow: ellipsis; }
    OpPicker > #op-info { height: 2; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
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
        self._summaries: dict[str, str] = {}
        self._signatures: dict[str, str] = {}
        self._current = current
        self._loaded = False

    def compose(self) -> ComposeResult:
        """A filter input, the highlighted op's signature and summary, the option list."""
        yield OrderedInput(placeholder="/ filter ops (fuzzy: lsvd)", id="op-filter", compact=True)
        yield Static("", id="op-info", markup=False)
        yield PagedOptionList(id="op-list")

    def on_mount(self) -> None:
        """Show the opening op until the catalog is loaded."""
        self.border_title = "ops"
        self._rebuild()

    @property
    def filter_text(self) -> str:
        """The filter as typed."""
        return self.query_one("#op-filter", Input).value

    def set_catalog(self, groups: Groups, signatures: Mapping[str, str] | None = None) -> None:
        """Fill the list from the engine's catalog (called once torch has loaded).

        Args:
            groups: Ops by category, the seed's first.
            signatures: Each op's signature (``torch.linalg.svd(A, full_matrices=True, ...)``).
        """
        self._groups = [(cat, list(ops)) for cat, ops in groups]
        for category, ops in self._groups:  # the seed page's own snippets close its group
            if category == SEED_CATEGORY:
                ops.extend(
                    (f"{SNIPPET_PREFIX}{s.name}", f"the page's code, run: {s.title}")
                    for s in SEED_SNIPPETS
                )
                ops.extend((f"{MODEL_PREFIX}{p.name}", p.title) for p in PRESETS)
                ops.append((f"{MODEL_PREFIX}{NEW}", "a tiny nn.Sequential, trained step by step"))
        self._summaries = {name: summary for _, ops in self._groups for name, summary in ops}
        self._signatures = dict(signatures or {})
        self._loaded = True
        self._rebuild()

    @property
    def info_text(self) -> str:
        """What the line under the filter says about the highlighted op."""
        return str(self.query_one("#op-info", Static).content)

    def _show_info(self, name: str | None) -> None:
        """The highlighted op's signature and one-line summary, under the filter."""
        if name is None or name == EXPRESSION_ID or name not in self._summaries:
            text = "any expression of x, y, …" if name == EXPRESSION_ID else ""
        else:
            signature = self._signatures.get(name) or name
            text = f"{signature}\n{self._summaries[name]}"
        info = self.query_one("#op-info", Static)
        info.update(Text(text, no_wrap=True, overflow="ellipsis"))
        info.tooltip = text or None

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

    def _hits(self, needle: str) -> list[tuple[str, list[str]]]:
        """The groups and op names the filter lets through, best first.

        Names match fuzzily (:func:`fuzzy_score`); a category or summary that contains the
        needle lets an op through too, ranked below every name match. Groups keep the
        catalog's order (the seed's first) when nothing is typed; else the group with the
        best match comes first, and within a group the best match."""
        if not needle:
            return [(cat, [name for name, _ in ops]) for cat, ops in self._groups]
        ranked: list[tuple[int, str, list[str]]] = []
        for category, ops in self._groups:
            scored = []
            for name, summary in ops:
                score = fuzzy_score(needle, name)
                if score is None and (needle in category.lower() or needle in summary.lower()):
                    score = 0
                if score is not None:
                    scored.append((score, name))
            if scored:
                scored.sort(key=lambda hit: -hit[0])  # stable: catalog order among equals
                ranked.append((scored[0][0], category, [name for _, name in scored]))
        ranked.sort(key=lambda group: -group[0])
        return [(category, names) for _, category, names in ranked]

    def _rebuild(self) -> None:
        """Rebuild the option list for the current filter, keeping the current op highlighted."""
        needle = self.filter_text.strip().lower()
        options: list[Option] = []
        if not needle or needle in "custom expression":
            options.append(Option(_line("✎ custom expression", "italic"), id=EXPRESSION_ID))
        if not self._loaded:
            options.append(Option(_line(f" {self._current}"), id=self._current))
            options.append(Option(Text("loading torch…", style="dim"), disabled=True))
        for category, names in self._hits(needle):
            options.append(Option(_line(category, "bold dim"), disabled=True))
            options.extend(Option(OpName(name), id=name) for name in names)
        if not any(o.id is not None for o in options):
            options.append(Option(Text("no op matches", style="dim"), disabled=True))
        option_list = self.query_one("#op-list", OptionList)
        option_list.set_options(options)
        ids = [o.id for o in options]
        if self._current in ids and not needle:
            option_list.highlighted = ids.index(self._current)
        else:
            first = next((i for i, o in enumerate(options) if not o.disabled), None)
            option_list.highlighted = first
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        option = self.query_one("#op-list", OptionList).highlighted_option
        self._show_info(None if option is None else option.id)

    @on(OptionList.OptionHighlighted, "#op-list")
    def _option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_info(event.option.id)

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
            ops = [i for i, oid in enumerate(ids) if oid not in (None, EXPRESSION_ID)]
            first = next((i for i, oid in enumerate(ids) if oid is not None), None)
            option_list.highlighted = exact[0] if exact else ops[0] if ops else first
            self._show_highlighted()

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
