"""Every workaround for a behaviour of Textual 8.2.8, in one file.

Textual is pinned exactly (snapshot tests depend on its rendering). On an upgrade, go
down this file: each entry says what it works around and how to re-check it, usually
"take it out and run the test that found it". Keep the ones whose test still fails.

- :class:`PagedOptionList`: page keys on an option list that is not laid out raised
  ``KeyError``; :func:`_click_in_range`: a click on an option the list no longer has
  raised ``IndexError``.
- :class:`SafeCommandPalette`: a palette closed before its search began, or paged before
  its list was laid out, took the app down.
- :data:`OVERLAY_CSS`: a see-through palette or help screen re-composited the whole app
  on every frame; :data:`NO_COLOR_CSS`: under ``NO_COLOR`` an option list drops reverse.
- :class:`PatchedApp`: a click on a widget removed since the last paint, a second
  ``pop_screen`` from queued keys, a second palette from a quick ``ctrl+p``, ``NO_COLOR``
  as grey rather than no colour, and the Linux driver under a terminal that hangs up.
- :func:`screen_text` and :func:`is_exiting`: the two private attributes the app reads.
- :class:`OrderedInput`: an Input's binding keys (Backspace, End, Ctrl+U, arrows) ran
  only after bubbling up to the App, behind printable keys typed in the same burst, so
  they applied out of order (Textual issue #6605).
- :func:`focus_now`: ``Widget.focus()`` takes effect only after the keys already queued,
  so text typed right after ``/`` (or a key right after Esc) went to the old widget.
"""

from __future__ import annotations

import io

from rich.align import Align
from rich.text import Text
from textual import events, work
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette
from textual.driver import Driver
from textual.filter import LineFilter, Monochrome, NoColor
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


class PagedOptionList(OptionList):
    """``OptionList`` with page moves that never raise.

    Works around: ``OptionList._move_page`` reads its line cache, which is only filled
    when the list is laid out. While the list has no size (the "terminal too small"
    screen hides every panel, but focus stays where it was) ``pageup``/``pagedown``
    raised ``KeyError`` and took the app down (found by the random-key monkey test).
    Re-check: make ``_move_page`` plain, run ``tests/tui/test_app.py -k page`` and
    ``tests/tui/test_monkey.py``.
    """

    def _move_page(self, direction: int) -> None:  # type: ignore[override]
        """Move a page when the list is laid out; do nothing while it is not."""
        if self.scrollable_content_region.height <= 0 or not self.options:
            return
        try:
            super()._move_page(direction)  # type: ignore[arg-type]
        except (KeyError, IndexError):
            return


_option_list_click = OptionList._on_click


async def _click_in_range(self: OptionList, event: events.Click) -> None:
    """``OptionList``'s click handler, for an option that still exists.

    Works around: a click carries the index of the option under the mouse when the screen
    was painted. When the list shrank in between (the command palette's search replaces
    its options on every keystroke), ``_on_click`` indexed past the end and the
    ``IndexError`` took the app down (found by the monkey test: a palette click on option
    5 of a list that had just become shorter). Installed on ``OptionList`` itself, so the
    palette's ``CommandList`` and the op picker both get it. Re-check: remove the
    assignment below and run ``tests/tui/widgets/test_option_click.py``.
    """
    clicked = event.style.meta.get("option")
    if isinstance(clicked, int) and not 0 <= clicked < self.option_count:
        return
    await _option_list_click(self, event)


OptionList._on_click = _click_in_range  # type: ignore[method-assign]

_gather_commands = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]


class SafeCommandPalette(CommandPalette):
    """Textual's command palette, without two ways to crash the app.

    Works around: each keystroke in the palette starts a search worker. When the palette
    is closed before that worker begins (``ctrl+p``, a key and ``escape`` in quick
    succession, as the monkey test does), the worker's first ``query_one(CommandList)``
    raised ``NoMatches``; Textual's worker exits the app on error, so the whole app died.
    Here a search for a closed palette does nothing, and a search that fails is not
    fatal. Re-check: use ``CommandPalette`` and run ``tests/tui/test_responsive.py -k
    palette_closed`` and ``tests/tui/test_quick_keys.py``.
    """

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP, exit_on_error=False)
    async def _gather_commands(self, search_value: str) -> None:
        if not self.is_attached or not self.query(CommandList):
            return  # closed before the search began
        await _gather_commands(self, search_value)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """Textual's "No matches found" countdown, which does nothing once the palette closed.

        Works around: a search that finds nothing starts a 0.5 s timer that then looks for
        the palette's ``CommandList``; when the palette closed in between (``ctrl+p``, a
        query with no match, ``escape``) the timer raised ``NoMatches`` and took the app
        down (found by the monkey test, seed 0, on a loaded machine). The body is Textual
        8.2.8's, with the guard. Re-check: ``tests/tui/test_responsive.py -k no_matches``.
        """
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if not self.is_attached or not self.query(CommandList):
                return  # closed while the countdown ran
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text("No matches found", style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:  # discovery mode: nothing to say about an empty list
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)

    def _action_command_list(self, action: str) -> None:
        """Page keys before the list is laid out do nothing (as in :class:`PagedOptionList`).

        Works around: ``OptionList._move_page`` reads a line cache that is only filled
        once the list has been laid out; ``pagedown`` right after ``ctrl+p`` raised
        ``KeyError`` and took the app down (found by the monkey test). Re-check:
        ``tests/tui/test_quick_keys.py -k paged``.
        """
        try:
            super()._action_command_list(action)
        except (KeyError, IndexError):
            if not action.startswith("page_"):
                raise


OVERLAY_CSS = """
/* The palette and help cover the app with an opaque background: a see-through one
   makes Textual re-composite and dim the whole app behind them on every frame
   (about a third of the UI thread's time to open either, profiled with py-spy).
   Re-check: drop these rules and compare tests/benchmarks/keys.py's palette and help
   latencies. */
CommandPalette {
    background: $background;
}
HelpScreen {
    background: $background;
}
"""
"""Works around: Textual re-compositing a translucent screen's whole background each frame."""

NO_COLOR_CSS = """
/* NO_COLOR: the highlighted line of each list (the current step, the chosen op) is bold
   and underlined: Textual 8.2 drops reverse from an option's style. Re-check: use
   reverse here and run tests/tui/test_no_color.py. */
OptionList:nocolor > .option-list--option-highlighted,
OptionList:nocolor:focus > .option-list--option-highlighted {
    text-style: bold underline;
}
"""
"""Works around: an option list's highlighted line losing ``reverse`` under ``NO_COLOR``."""


class PatchedApp(App[int]):
    """Textual's :class:`~textual.app.App` with the app-level workarounds; GradApp's base."""

    _NO_COLOR = NoColor()

    async def on_event(self, event: events.Event) -> None:
        """Textual's own event handling, without one way a click took the app down.

        Works around: a mouse press is matched against the screen as last painted. A
        widget removed since (an input row, when a typed expression loses a name) is
        still found there, without a parent, and Textual's text selection then raised
        ``AttributeError``. Found by the monkey test; such a press now lands on nothing.
        Re-check: ``tests/tui/test_quick_keys.py -k removed_since``.
        """
        try:
            await super().on_event(event)
        except AttributeError:
            if not isinstance(event, events.MouseDown):
                raise

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen, unless only the app's own screen is left.

        Works around: a close key queued behind another (``escape`` twice, or ``escape``
        and ``enter`` in the palette, pressed quickly) asks for a second pop once the
        first is done; Textual then raised ``ScreenStackError`` and the app died. Found by
        the monkey test. Re-check: ``tests/tui/test_quick_keys.py -k run_twice``.
        """
        if len(self.screen_stack) <= 1:
            return AwaitComplete.nothing()
        return super().pop_screen()

    def action_command_palette(self) -> None:
        """Open the command palette (one that survives being closed mid-search).

        Works around: Textual asks the top screen, which is not yet the palette when
        ``ctrl+p`` comes twice quickly, so it is not opened while one is on the stack.
        The palette has no id (Textual gives it ``--command-palette``): a closed palette
        leaves the stack at once but stays registered until its removal has run, and a
        ``ctrl+p`` in between pushed a second palette under the same id
        (``DuplicateIds``; found by the monkey test, seed 0). Re-check:
        ``tests/tui/test_quick_keys.py -k palette``.
        """
        if self.use_command_palette and not any(
            isinstance(screen, CommandPalette) for screen in self.screen_stack
        ):
            self.push_screen(SafeCommandPalette())

    def search_themes(self) -> None:
        """The theme picker (Textual's "Theme" command), in the same safe palette."""
        self.push_screen(
            SafeCommandPalette(providers=[ThemeProvider], placeholder="Search for themes…")
        )

    def get_line_filters(self) -> list[LineFilter]:
        """Textual's filters, except that NO_COLOR means no colour at all.

        Works around: under ``NO_COLOR`` Textual turns every colour into a grey (its
        ``Monochrome`` filter), which still sends 256-colour and true-colour codes.
        ``NoColor`` leaves the terminal's own colours; the current step and the focused
        field are then told apart by reverse video and bold (``:nocolor`` rules in
        ``app.tcss`` and :data:`NO_COLOR_CSS`). Re-check: ``tests/tui/test_no_color.py``.
        """
        filters = list(super().get_line_filters())
        if self.no_color:
            filters = [self._NO_COLOR if isinstance(f, Monochrome) else f for f in filters]
        return filters

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, except that a real Linux terminal gets :class:`~tui.terminal.TerminalDriver`.

        Works around: Textual's ``LinuxDriver`` never exiting when its terminal hangs up
        (see :mod:`tui.terminal`). Re-check: ``tests/tui/test_signals.py``.
        """
        driver_class = super().get_driver_class()
        if (driver_class.__module__, driver_class.__name__) == (
            "textual.drivers.linux_driver",
            "LinuxDriver",
        ):
            from gradtui.tui.terminal import TerminalDriver

            return TerminalDriver
        return driver_class


def screen_text(screen: Screen, width: int, height: int) -> str:
    """``screen`` as plain text, as a person would read it.

    Works around: Textual has no public "screen as text"; this is the same call its own
    ``export_screenshot`` makes, on the private ``Screen._compositor``. Re-check: read
    ``App.export_screenshot`` in the new version.
    """
    from rich.console import Console

    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, color_system=None
    )
    console.print(screen._compositor.render_update(full=True))
    return console.export_text()


def is_exiting(app: App[object]) -> bool:
    """Whether ``app`` has begun to exit.

    Works around: Textual sets the private ``App._exit`` when exit begins and offers no
    public flag; rows torn down by the exit are then missing. Re-check: ``App._exit``
    still exists and is set by ``App.exit``.
    """
    return bool(app._exit)


def focus_now(widget: Widget) -> None:
    """Focus ``widget`` before the next queued key is handled.

    ``Widget.focus()`` defers the change with ``call_later``, behind every key already in
    the app's queue: typed fast, or arriving in one read (a paste, an SSH or browser
    packet), ``/sigmoid`` sent ``sigmoid`` to the step list as keys (``g`` drew the graph,
    ``m``, ``i``…) and Esc ``n`` put an ``n`` in the field being left. Re-check: take this
    out and run ``tests/tui/test_typing.py -k queued``. A widget that cannot take focus
    now (hidden until a layout) falls back to the deferred way.
    """
    screen = widget.screen
    screen.set_focus(widget)
    if screen.focused is not widget:
        widget.focus()


class OrderedInput(Input):
    """``Input`` whose own binding keys act in the order they were typed.

    Textual 8.2.8 inserts a printable key in ``Input._on_key`` at once but runs a bound
    key (Backspace, End, Ctrl+U, the arrows) only when the key has bubbled up to the App
    and come back as a binding: keys read in one burst (fast typing on a loaded machine,
    a browser session, an SSH packet) applied out of order, and ``End, Ctrl+U, "[1., 2.]"``
    left ``"]"`` in the field (seen in the browser tests). Here the Input's own
    non-priority bindings run inline, where the key arrives; anything else bubbles as
    before. Textual issue #6605 (open, fix proposed in PR #6631). Re-check: take this out
    and run ``tests/tui/test_typing.py -k burst``.
    """

    async def _on_key(self, event: events.Key) -> None:
        await super()._on_key(event)
        if event.is_printable:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue  # the App ran priority bindings before the key came here
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
