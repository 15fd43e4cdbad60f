"""The baseline plot: the same app with textual-plotext's ``PlotextPlot`` as its plot widget.

``PlotextPlot`` is the usual way to put a plotext figure in a Textual app: its
``render()`` asks plotext to build the figure and parses the ANSI text back into Rich
text on every render. :class:`BaselineApp` is :class:`tui.app.GradApp` with only that
widget swapped in, drawing the same series (f, f′, f″ when asked, the numeric check, the
inputs, the kinks) with the same colours and markers, so an update differs from the real
app's only in how the plot is drawn.

textual-plotext is a benchmark-only dependency (``pip install -e '.[bench]'``);
:func:`available` says whether it can be imported.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from gradtui.ops.results import Curve
from gradtui.tui.app import GradApp
from gradtui.tui.screens.explorer import ExplorerScreen
from gradtui.tui.widgets.plot import PlotPanel


def available() -> str | None:
    """``None`` if textual-plotext imports, else why not."""
    try:
        import textual_plotext  # noqa: F401
    except ImportError as exc:
        return f"textual-plotext is not installed ({exc}); pip install -e '.[bench]'"
    return None


def _make_plot_class() -> type:
    from textual_plotext import PlotextPlot

    from gradtui.tui.plotting import PALETTES, _break_at_kinks, _finite_runs, disagreements

    class CurvePlotextPlot(PlotextPlot):
        """``PlotextPlot`` fed with a :class:`Curve` (it rebuilds the figure on every render)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.curve: Curve | None = None
            self.show_d2 = False
            self.show_numeric = True

        def set_curve(self, curve: Curve | None) -> None:
            self.curve = curve
            self._draw()

        # the plot panel captions its canvas with these (the app's PlotCanvas has them)
        def _color(self) -> bool:
            return not self.app.no_color and self.app.console.color_system is not None

        def _theme(self) -> str:
            return "dark" if self.app.current_theme.dark else "light"

        def _draw(self) -> None:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            curve = self.curve
            if curve is not None:
                pal = PALETTES["dark" if self.app.current_theme.dark else "light"]
                for xs, ys, label, colour in _layers(curve, pal, self.show_d2):
                    first = True
                    for rx, ry in _finite_runs(xs, ys):
                        plt.plot(
                            rx, ry, marker="braille", color=colour, label=label if first else ""
                        )
                        first = False
                if self.show_numeric:
                    nx, ny = disagreements(curve)
                    if nx:
                        plt.scatter(nx, ny, marker="x", color=pal["num"], label="numeric≠")
                marks = [(m, y) for m, y in _marks(curve) if math.isfinite(y)]
                if marks:
                    plt.scatter(
                        *zip(*marks, strict=True), marker="●", color=pal["mark"], label="inputs"
                    )
                kinks = [k for k in curve.kinks if k.df is not None and math.isfinite(k.df)]
                if kinks:
                    plt.scatter(
                        [k.x for k in kinks],
                        [k.df for k in kinks],
                        marker="◆",
                        color=pal["kink"],
                        label="kink: torch f′",
                    )
                plt.xlabel(curve.var)
            self.refresh()

        def watch_theme(self) -> None:  # PlotextPlot's own reactive
            self.refresh()

    def _layers(curve: Curve, pal: dict[str, str], show_d2: bool) -> Iterator[tuple]:
        yield curve.x, curve.f, "f", pal["f"]
        yield curve.x, _break_at_kinks(curve), "f′", pal["df"]
        if show_d2 and curve.d2f is not None:
            yield curve.x, curve.d2f, "f″", pal["d2f"]

    def _marks(curve: Curve) -> Iterator[tuple[float, float]]:
        from gradtui.tui.plotting import _interp

        for m in curve.marks:
            y = _interp(curve.x, curve.f, m)
            if y is not None:
                yield m, y

    return CurvePlotextPlot


class PlotextPanel(PlotPanel):
    """:class:`PlotPanel` with textual-plotext's widget in place of the cached canvas."""

    _plot_class: type | None = None

    def compose(self) -> ComposeResult:
        """Caption, message line and the ``PlotextPlot``."""
        if PlotextPanel._plot_class is None:
            PlotextPanel._plot_class = _make_plot_class()
        yield Static("", id="plot-caption")
        yield Static("", id="plot-message")
        yield PlotextPanel._plot_class(id="plot-canvas")

    @property
    def canvas(self) -> Any:  # the PlotextPlot, which answers set_curve like PlotCanvas
        """The drawing widget."""
        return self.query_one("#plot-canvas")

    def set_layers(self, *, show_d2: bool, show_numeric: bool) -> None:
        """Choose the overlays and redraw."""
        self.canvas.show_d2 = show_d2
        self.canvas.show_numeric = show_numeric
        self.canvas.set_curve(self.canvas.curve)


class BaselineExplorer(ExplorerScreen):
    """The explorer screen with :class:`PlotextPanel` in place of the plot panel."""

    def compose(self) -> ComposeResult:
        """The screen's own layout, with the plot panel swapped."""
        for widget in super().compose():
            if isinstance(widget, PlotPanel):
                yield PlotextPanel(id=widget.id)
            else:
                yield widget


class BaselineApp(GradApp):
    """:class:`GradApp` whose explorer screen has :class:`PlotextPanel` as its plot."""

    CSS_PATH = str(Path(sys.modules[GradApp.__module__].__file__).with_name("app.tcss"))
    PLOT_PANEL = PlotextPanel
    """The plot panel class this app shows (the benchmark checks it is really there)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.explorer = BaselineExplorer(
            self.state, cursor_blink=self.cursor_blink, timeout=self.explorer.client.timeout
        )
