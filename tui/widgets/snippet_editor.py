"""The snippet editor: Textual's code editor, with Python highlighting and line numbers.

Highlighting is tree-sitter's (``tree-sitter`` and ``tree-sitter-python``, the only two
grammar packages gradtui depends on). Importing this module imports Textual's
``TextArea`` and with it tree-sitter, so only the snippet screen imports it, when it
first opens: the app's start does not pay for it.

Pasting: a terminal's paste (ctrl+shift+v, cmd+v, a right click, and over SSH too)
arrives as one bracketed-paste event and is inserted as it is, however many lines.
``ctrl+v`` reaches the app only where the terminal does not paste on it itself; then it
pastes what was last copied or cut inside gradtui (``ctrl+c``/``ctrl+x``), and when
that is empty it says how to paste from the system clipboard instead.
"""

from __future__ import annotations

from textual import events
from textual.widgets import TextArea

LANGUAGE = "python"


class SnippetEditor(TextArea):
    """A Python code editor for a snippet."""

    DEFAULT_CSS = """
    SnippetEditor { height: 1fr; }
    """

    def __init__(self, text: str = "", *, cursor_blink: bool = True, id: str | None = None):
        super().__init__(
            text,
            # TextArea.code_editor's settings, for this subclass
            language=LANGUAGE,
            theme="monokai",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            placeholder="Paste a PyTorch snippet (your terminal's paste), then ctrl+r runs it.",
            id=id,
        )
        self.cursor_blink = cursor_blink

    @property
    def highlighted(self) -> bool:
        """Whether the text is highlighted as Python (the grammar was found)."""
        return self.language == LANGUAGE

    def set_text(self, text: str) -> None:
        """Replace the whole text as one edit (``ctrl+z`` brings the old text back)."""
        self.replace(text, (0, 0), self.document.end, maintain_selection_offset=False)
        self.move_cursor((0, 0))
        self.scroll_home(animate=False)

    def insert_pasted(self, text: str) -> None:
        """Insert ``text`` at the cursor (over the selection), as a paste does."""
        result = self.replace(text, *self.selection, maintain_selection_offset=False)
        self.move_cursor(result.end_location)

    def _on_paste(self, event: events.Paste) -> None:
        """Insert the paste here, and only here: TextArea's own handler does not run too
        (Textual calls each class's handler unless the default is prevented), and the
        screen, which forwards to the editor the pastes that land elsewhere, is not told."""
        event.prevent_default()
        event.stop()
        if not self.read_only:
            self.insert_pasted(event.text)
            self.focus()

    def action_paste(self) -> None:
        """``ctrl+v``: paste what was copied in gradtui, or say how to paste from outside."""
        if not self.app.clipboard:
            self.app.notify(
                "Nothing copied in gradtui yet. Paste with your terminal's paste "
                "(ctrl+shift+v, cmd+v or a right click); it arrives here as it is.",
                title="ctrl+v",
                timeout=6,
            )
            return
        super().action_paste()
