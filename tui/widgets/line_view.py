"""A scrollable view of rendered lines that repaints only the lines that changed.

A ``Static`` with ``height: auto`` answers every ``update()`` with a layout pass and a
repaint of its whole region (and a layout pass makes every scrolling list on screen
repaint its scrollbar). Over SSH each repainted line is bytes on the wire. This view
renders its content once per update into lines, compares them with the lines on
screen, and asks Textual to repaint only the rows that differ. Its size is fixed by
CSS, so content changes never trigger a layout pass (unless the content's height
crosses the view's: then the scrollbar has to change).
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.events import Resize
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize


class LineView(ScrollView):
    """Shows one Rich renderable, wrapped to its width, updating line by line."""

    DEFAULT_CSS = """
    LineView { width: 1fr; height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, renderable: RenderableType = "", *, id: str | None = None) -> None:
        """Create the view showing ``renderable``."""
        super().__init__(id=id)
        self._renderable: RenderableType = renderable
        self._lines: list[Strip] = []
        self._rendered_for: tuple[int, int] | None = None

    @property
    def lines(self) -> list[Strip]:
        """The rendered lines (all of them, not only the visible ones)."""
        return self._lines

    def update(self, renderable: RenderableType) -> None:
        """Show ``renderable``; only the rows whose content changed are repainted."""
        self._renderable = renderable
        self._render(repaint_all=False)

    def on_resize(self, event: Resize) -> None:
        """Re-wrap for the new width (everything is repainted after a resize anyway)."""
        self._render(repaint_all=True)

    def on_mount(self) -> None:
        """Render for the first size."""
        super().on_mount()
        self._render(repaint_all=True)

    def _render(self, *, repaint_all: bool) -> None:
        width, height = self.scrollable_content_region.size
        if width <= 0:
            return
        lines = self._render_lines(width)
        gutter = self.styles.scrollbar_size_vertical
        if len(lines) > height and gutter and not self.show_vertical_scrollbar:
            lines = self._render_lines(max(1, width - gutter))  # the scrollbar will take a column
        elif len(lines) <= height and self.show_vertical_scrollbar:
            lines = self._render_lines(width + gutter)  # the scrollbar will go
        old = self._lines
        self._lines = lines
        # A virtual height of at least the view's own keeps it unchanged (no layout pass)
        # for content that fits; only content taller than the view needs the scrollbar.
        virtual = Size(lines[0].cell_length if lines else width, max(len(lines), height))
        if virtual != self.virtual_size:
            self.virtual_size = virtual
            repaint_all = True
        if repaint_all or not self.is_mounted:
            self.refresh()
            return
        top = round(self.scroll_y)
        for row in range(self.size.height):
            index = top + row
            new = lines[index] if index < len(lines) else None
            before = old[index] if index < len(old) else None
            if new != before:
                self.refresh(Region(0, row, self.size.width, 1))

    def _render_lines(self, width: int) -> list[Strip]:
        """The renderable as strips of ``width`` cells, exactly as a ``Static`` draws it."""
        visual = visualize(self, self._renderable, markup=False)
        return Visual.to_strips(self, visual, width, None, self.visual_style)

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the view (scrolled)."""
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if index < len(self._lines):
            return self._lines[index].crop(0, width)  # Textual pads it, as for a Static
        return Strip.blank(width, self.visual_style.rich_style)
