"""The command palette provider (``ctrl+p``): every op, every toggle, themes, screenshot.

One provider, fed by :meth:`tui.app.GradApp.palette_commands`, so the palette offers
exactly what the app can do right now (ops appear once the catalog has loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider


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

    async def discover(self) -> Hits:
        """The commands worth seeing before typing (toggles, screenshot, help)."""
        for cmd in self._commands():
            if cmd.discover:
                yield DiscoveryHit(cmd.name, cmd.run, help=cmd.help)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match ``query`` against every command."""
        matcher = self.matcher(query)
        for cmd in self._commands():
            score = matcher.match(cmd.name)
            if score > 0:
                yield Hit(score, matcher.highlight(cmd.name), cmd.run, help=cmd.help)
