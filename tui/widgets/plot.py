"""The plot: f and f′ along one input, with the numeric check, kinks and the inputs marked.

Rendering goes through :func:`tui.plotting.render_curve` (plotext's public API), which
returns text with ANSI colour codes. Turning that into Textual strips costs far more
than drawing them, so :class:`PlotCanvas` does it once per (curve, size, theme, layers,
colour) and keeps the strips in a small cache: a redraw (scrolling, a tooltip, a key in
another panel) just hands back cached lines, and flipping a layer back hits the cache.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from gradtui.ops.results import Curve

CacheKey = tuple[int, int, int, str, bool, bool, bool]


class PlotCanvas(Widget):
    """Draws a cached rendering of a :class:`Curve`, line by line."""

    DEFAULT_CSS = """
    PlotCanvas { height: 1fr; width: 1fr; }
    """

    show_d2: reactive[bool] = reactive(False, repaint=False)
    """Draw f″ (the curve must have been sampled with ``second=True``)."""
    show_numeric: reactive[bool] = reactive(True, repaint=False)
    """Mark points where the numeric derivative disagrees with autograd."""

    CACHE_SIZE = 8
    """Renderings kept (a few sizes and layer combinations of the current curve)."""

    def __init__(self, *, id: str | None = None) -> None:
        """Create an empty canvas."""
        super().__init__(id=id)
        self.curve: Curve | None = None
        self._cache: OrderedDict[CacheKey, tuple[Curve, list[Strip]]] = OrderedDict()
        self.renders = 0
        """How many times plotext was asked to draw (for tests and benchmarks)."""
        self._shown: list[Strip] | None = None

    def set_curve(self, curve: Curve | None) -> None:
        """Show ``curve`` (``None`` clears the canvas); only the rows that changed repaint.

        Over SSH every repainted row is bytes on the wire, and a new curve for a slightly
        edited input often leaves the frame, the legend and the axis labels as they were.
        """
        before = self._shown
        self.curve = curve
        self._repaint_changed(before)

    def _repaint_changed(self, before: list[Strip] | None) -> None:
        """Repaint the rows whose rendering differs from ``before`` (all if unknown)."""
        if before is None or not self.is_mounted or self.size.width <= 0:
            self.refresh()
            return
        after = self.lines()
        width = self.size.width
        for y in range(self.size.height):
            old = before[y] if y < len(before) else None
            new = after[y] if y < len(after) else None
            if old != new:
                self.refresh(Region(0, y, width, 1))

    def watch_show_d2(self) -> None:
        """A layer changed: pick another cache entry (repainting the rows that differ)."""
        self._repaint_changed(self._shown)

    def watch_show_numeric(self) -> None:
        """A layer changed: pick another cache entry (repainting the rows that differ)."""
        self._repaint_changed(self._shown)

    def _theme(self) -> str:
        try:
            return "dark" if self.app.current_theme.dark else "light"
        except Exception:  # noqa: BLE001 - no theme yet: the default is dark
            return "dark"

    def _color(self) -> bool:
        return not self.app.no_color and self.app.console.color_system is not None

    def _key(self) -> CacheKey | None:
        if self.curve is None:
            return None
        return (
            id(self.curve),
            self.size.width,
            self.size.height,
            self._theme(),
            self.show_d2,
            self.show_numeric,
            self._color(),
        )

    def lines(self) -> list[Strip]:
        """The rendered lines for the current state, from the cache when possible."""
        key = self._key()
        if key is None or self.curve is None or self.size.width < 4 or self.size.height < 2:
            return []
        hit = self._cache.get(key)
        if hit is not None and hit[0] is self.curve:
            self._cache.move_to_end(key)
            return hit[1]
        strips = self._render_strips(self.curve, key)
        self._cache[key] = (self.curve, strips)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return strips

    def _render_strips(self, curve: Curve, key: CacheKey) -> list[Strip]:
        from gradtui.tui.plotting import render_curve

        _, width, height, theme, show_d2, show_numeric, color = key
        self.renders += 1
        try:
            ansi = render_curve(
                curve,
                width,
                height,
                color=color,
                show_d2=show_d2,
                show_numeric=show_numeric,
                theme=theme,
                legend=False,  # the caption is the legend: nothing is drawn over the data
            )
        except Exception as exc:  # noqa: BLE001 - a bad curve must not take the app down
            ansi = f"cannot draw this curve: {exc}"
        text = Text.from_ansi(ansi, no_wrap=True, end="")
        console = self.app.console
        base = self.rich_style
        strips = []
        for line in text.split("\n", allow_blank=True)[:height]:
            # Every segment carries a real style: line filters (NO_COLOR's monochrome)
            # read each segment's style and cannot take None.
            segments = [
                Segment(seg.text, base + seg.style if seg.style else base, seg.control)
                for seg in line.render(console, end="")
            ]
            strips.append(Strip(segments).crop_extend(0, width, base))
        return strips

    def render_line(self, y: int) -> Strip:
        """One cached line (blank below the plot)."""
        lines = self._shown = self.lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    def text(self) -> str:
        """The plot as plain text (for tests and headless frames)."""
        return "\n".join(strip.text for strip in self.lines())


class PlotPanel(Vertical):
    """A caption line above the canvas: what is plotted, kinks, numeric disagreements."""

    DEFAULT_CSS = """
    PlotPanel { height: 1fr; }
    PlotPanel > #plot-caption { height: auto; max-height: 3; }
    PlotPanel > #plot-message { height: auto; color: $text-muted; display: none; }
    PlotPanel.-message > #plot-message { display: block; }
    """

    _caption_text: Text | None = None

    def compose(self) -> ComposeResult:
        """Caption, message line and canvas."""
        yield Static(Text("loading torch…", style="dim"), id="plot-caption")
        yield Static("", id="plot-message")
        yield PlotCanvas(id="plot-canvas")

    def on_mount(self) -> None:
        """Title the panel."""
        self.border_title = "plot"

    @property
    def canvas(self) -> PlotCanvas:
        """The drawing area."""
        return self.query_one(PlotCanvas)

    @property
    def curve(self) -> Curve | None:
        """The curve on screen."""
        return self.canvas.curve

    def show_curve(self, curve: Curve) -> None:
        """Draw ``curve`` and describe it in the caption."""
        self.set_class(False, "-message")
        self.canvas.set_curve(curve)
        self._caption_curve()

    def _caption_curve(self) -> None:
        """Caption the curve on screen with the layers the canvas draws now."""
        canvas = self.canvas
        if canvas.curve is None:
            return
        self._caption(
            caption(
                canvas.curve,
                show_d2=canvas.show_d2,
                show_numeric=canvas.show_numeric,
                color=canvas._color(),
                theme=canvas._theme(),
            )
        )

    def show_placeholder(self, message: str) -> None:
        """Say why no curve is shown yet (only while there is none at all)."""
        if self.curve is None:
            self._caption(Text(message, style="dim"))

    def show_message(self, message: str) -> None:
        """Say why these inputs have no curve (an older curve would mislead, so it goes)."""
        self.set_class(True, "-message")
        self.query_one("#plot-message", Static).update(Text(message))
        self.canvas.set_curve(None)
        self._caption(Text("no curve", style="dim"))

    def _caption(self, text: Text) -> None:
        """Set the caption; an unchanged one is left alone (an update lays the panel out)."""
        if text != self._caption_text:
            self._caption_text = text
            self.query_one("#plot-caption", Static).update(text)

    def set_stale(self, stale: bool) -> None:
        """Dim the panel while it shows a curve for older inputs."""
        title = "plot (stale)" if stale else "plot"
        if title != self.border_title:  # setting a title repaints the whole panel
            self.set_class(stale, "-stale")
            self.border_title = title

    def set_layers(self, *, show_d2: bool, show_numeric: bool) -> None:
        """Choose the overlays (the canvas redraws from its cache when it can)."""
        self.canvas.show_d2 = show_d2
        self.canvas.show_numeric = show_numeric
        self._caption_curve()


def caption(
    curve: Curve,
    *,
    show_d2: bool = False,
    show_numeric: bool = True,
    color: bool = True,
    theme: str = "dark",
) -> Text:
    """The title line, then the legend of exactly the layers drawn, kinks and disagreements.

    The legend lives here, outside the canvas, so it never hides a point of a curve.
    """
    from gradtui.ops.display import kinks_summary
    from gradtui.tui.plotting import legend_entries, legend_text

    text = Text()
    text.append(curve.label or curve.target, style="bold")
    text.append(f"  along {curve.var}", style="dim")
    text.append("\n")
    entries = legend_entries(
        curve, color=color, show_d2=show_d2, show_numeric=show_numeric, theme=theme
    )
    (line,) = legend_text(entries, 10_000, color=color) or [""]
    text.append_text(Text.from_ansi(line, end=""))
    if curve.df is None:
        text.append(" only: no grad_fn, so torch has no gradient here", style="bold")
    elif not any(math.isfinite(d) for d in curve.df):
        text.append(" only: torch gives no f′ here (no gradient reaches the input)", style="bold")
    if curve.kinks:
        # the engine's one detector: corner, cusp or jump, never a bare "kink"
        text.append(f" · no f′ at: {kinks_summary(curve.kinks, curve.var)}", style="bold red")
    if show_numeric and curve.disagree:  # the engine's numeric check (Curve.disagree)
        text.append(f" · numeric ≠ autograd at {len(curve.disagree)} points", style="bold red")
    return text
