"""The command palette provider (``ctrl+p``): every op, every toggle, themes, screenshot.

One provider, fed by :meth:`tui.app.GradApp.palette_commands`, so the palette offers
exactly what the app can do right now (ops appear once the catalog has loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual import work
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider

_gather_commands = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PaletteCommand:
    """One palette entry.

    Attributes:
        name: What the palette shows and matches (``"op: exp"``).
        help: One line under it.
        run: What choosing it does.
        discover: Whether it is listed before anything is typed.
    """

    name: str
    help: str
    run: Callable[[], object]
    discover: bool = False


class HasPaletteCommands(Protocol):
    """What the provider needs from the app."""

    def palette_commands(self) -> list[PaletteCommand]:
        """The commands on offer now."""
        ...


class GradCommands(Provider):
    """Ops, layer toggles, themes and "save screenshot" for Textual's command palette."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        if not hasattr(app, "palette_commands"):
            return []
        return app.palette_commands()  # type: ignore[no-any-return]

    def _guarded(self, run: Callable[[], object]) -> Callable[[], object]:
        """``run``, skipped when the app is already shutting down (its panels are gone)."""
        app = self.app

        def run_if_running() -> None:
            if app.is_running:
                run()

        return run_if_running

    async def discover(self) -> Hits:
        """The commands worth seeing before typing (toggles, screenshot, help)."""
        for cmd in self._commands():
            if cmd.discover:
                yield DiscoveryHit(cmd.name, self._guarded(cmd.run), help=cmd.help)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match ``query`` against every command."""
        matcher = self.matcher(query)
        for cmd in self._commands():
            score = matcher.match(cmd.name)
            if score > 0:
                yield Hit(score, matcher.highlight(cmd.name), self._guarded(cmd.run), help=cmd.help)


class SafeCommandPalette(CommandPalette):
    """Textual's command palette, without one way to crash the app.

    Each keystroke in the palette starts a search worker. When the palette is closed
    before that worker begins (``ctrl+p``, a key and ``escape`` in quick succession, as
    the monkey test does), the worker's first ``query_one(CommandList)`` raises
    ``NoMatches``; Textual's worker exits the app on error, so the whole app died. Here a
    search for a closed palette does nothing, and a search that fails is not fatal.
    """

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP, exit_on_error=False)
    async def _gather_commands(self, search_value: str) -> None:
        if not self.is_attached or not self.query(CommandList):
            return  # closed before the search began
        await _gather_commands(self, search_value)

    def _action_command_list(self, action: str) -> None:
        """Page keys before the list is laid out do nothing (as in :mod:`tui.widgets.paged_list`).

        Textual 8.2's ``OptionList._move_page`` reads a line cache that is only filled
        once the list has been laid out; ``pagedown`` right after ``ctrl+p`` raised
        ``KeyError`` and took the app down (found by the monkey test).
        """
        try:
            super()._action_command_list(action)
        except (KeyError, IndexError):
            if not action.startswith("page_"):
                raise
