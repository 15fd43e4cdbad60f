"""An ``OptionList`` whose page keys are safe while it is hidden or not laid out.

Textual 8.2's ``OptionList._move_page`` reads its line cache, which is only filled when
the list is laid out. While the list has no size (the "terminal too small" screen hides
every panel, but focus stays where it was) ``pageup``/``pagedown`` raise ``KeyError``
and take the app down. Found by the random-key monkey test; a page key there now simply
does nothing.
"""

from __future__ import annotations

from textual.widgets import OptionList


class PagedOptionList(OptionList):
    """``OptionList`` with page moves that never raise."""

    def _move_page(self, direction: int) -> None:  # type: ignore[override]
        """Move a page when the list is laid out; do nothing while it is not."""
        if self.scrollable_content_region.height <= 0 or not self.options:
            return
        try:
            super()._move_page(direction)  # type: ignore[arg-type]
        except (KeyError, IndexError):
            return
