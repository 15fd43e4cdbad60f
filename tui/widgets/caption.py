"""The demo's caption bar: which scene is playing and what the screen shows now.

Only the scripted demo (:mod:`tui.demo`) mounts it, above the app's panels, so a
recording or a headless frame carries its caption in the picture itself.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class CaptionBar(Static):
    """One to four lines: ``scene 3/8 · exp`` and the caption, or ``paused``."""

    DEFAULT_CSS = """
    CaptionBar {
        height: auto;
        max-height: 5;
        padding: 0 1;
        background: $primary 30%;
        color: $text;
    }
    CaptionBar.-paused { background: $warning 30%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """Start empty: the runner shows the first caption once its scene is open."""
        super().__init__("", id=id)
        self.plain = ""
        """The caption bar's text without styles (for tests)."""
        self._where = ""
        self._caption = ""
        self._paused = False

    def show(self, where: str, caption: str) -> None:
        """Show ``caption`` for scene ``where`` (e.g. ``"3/8 · exp"``)."""
        self._where, self._caption = where, caption
        self._render_caption()

    def set_paused(self, paused: bool) -> None:
        """Say that the demo is paused (and how to resume) or playing."""
        self._paused = paused
        self.set_class(paused, "-paused")
        self._render_caption()

    def _render_caption(self) -> None:
        text = Text()
        if self._paused:
            text.append("⏸ paused (space resumes) ", style="bold reverse")
            text.append(" ")
        if self._where:
            text.append(self._where, style="bold")
            text.append("  ")
        text.append(self._caption)
        self.plain = text.plain
        self.update(text)
