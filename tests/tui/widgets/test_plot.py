"""The plot panel alone, fed curves built by hand: caption, canvas, layers and its cache."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from gradtui.ops.results import Curve, Kink
from gradtui.tui.widgets.plot import PlotPanel
from tests.helpers import screen_text

X = [i / 10 for i in range(-20, 21)]
CORNER = Kink(x=0.0, kind="corner", df=0.0, left=-1.0, right=1.0, before=0.0, after=0.0, value=0.0)


def abs_curve(**changes: object) -> Curve:
    """|x| on [-2, 2]: f, its autograd and numeric slopes, f″, and the corner at 0."""
    sign = [(x > 0) - (x < 0) for x in X]
    curve = Curve(
        target="abs",
        var="input",
        x=X,
        f=[abs(x) for x in X],
        df=[float(s) for s in sign],
        df_numeric=[float(s) for s in sign],
        d2f=[0.0 for _ in X],
        kinks=(CORNER,),
        marks=(0.5,),
        label="abs(input)",
    )
    return replace(curve, **changes)


class PlotApp(App[None]):
    CSS = "PlotPanel { border: round white; }"  # the title lives on the border

    def compose(self) -> ComposeResult:
        yield PlotPanel()


def _caption(app: App) -> str:
    return " ".join(str(app.query_one("#plot-caption").render()).split())


async def _shown(pilot, curve: Curve) -> PlotPanel:
    plot = pilot.app.query_one(PlotPanel)
    plot.show_curve(curve)
    await pilot.pause()
    return plot


async def test_before_a_curve_the_caption_says_why_and_the_canvas_is_empty() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one(PlotPanel)
        assert plot.curve is None and plot.canvas.text() == ""
        assert "loading torch…" in screen_text(app)
        plot.show_placeholder("sampling the curve…")
        await pilot.pause()
        assert _caption(app) == "sampling the curve…"


async def test_a_curve_is_drawn_and_captioned_with_its_legend_and_kink() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = await _shown(pilot, abs_curve())
        caption = _caption(app)
        assert caption.startswith("abs(input) along input")
        assert " f " in f" {caption} " and "f′" in caption and "f″" not in caption
        assert "no f′ at: corner at input=0" in caption
        drawn = plot.canvas.text()
        assert "┌" in drawn and "└" in drawn  # plotext's frame, in the canvas
        assert drawn.splitlines()[0] in screen_text(app)  # and on screen


async def test_layers_change_the_caption_and_a_layer_flipped_back_comes_from_the_cache() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = await _shown(pilot, abs_curve())
        plain, drawn = plot.canvas.text(), plot.canvas.renders
        plot.set_layers(show_d2=True, show_numeric=True)
        await pilot.pause()
        assert "f″" in _caption(app)
        assert plot.canvas.renders > drawn and plot.canvas.text() != plain
        with_d2 = plot.canvas.renders
        plot.set_layers(show_d2=False, show_numeric=True)
        await pilot.pause()
        assert "f″" not in _caption(app)
        assert plot.canvas.text() == plain
        assert plot.canvas.renders == with_d2  # drawn before: not drawn again
        plot.refresh()
        await pilot.pause()
        assert plot.canvas.renders == with_d2


async def test_numeric_disagreement_is_flagged_only_while_that_layer_is_on() -> None:
    wrong = [d + (0.5 if x > 1.2 else 0.0) for x, d in zip(X, abs_curve().df or [], strict=True)]
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = await _shown(pilot, abs_curve())
        assert "numeric ≠ autograd" not in _caption(app)
        # The engine measures where they disagree (ops.curves.disagreements, tested there);
        # the panel shows the measured points.
        far = tuple(i for i, x in enumerate(X) if x > 1.2)
        await _shown(pilot, abs_curve(df_numeric=wrong, disagree=far))
        assert "numeric ≠ autograd at 8 points" in _caption(app)
        plot.set_layers(show_d2=False, show_numeric=False)
        await pilot.pause()
        assert "numeric ≠ autograd" not in _caption(app)


async def test_a_curve_without_a_gradient_says_so() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await _shown(pilot, abs_curve(df=None, kinks=()))
        assert "only: no grad_fn, so torch has no gradient here" in _caption(app)
        await _shown(pilot, abs_curve(df=[float("nan")] * len(X), kinks=()))
        assert "only: torch gives no f′ here" in _caption(app)


async def test_a_message_replaces_the_curve() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = await _shown(pilot, abs_curve())
        plot.show_message("no input to vary")
        await pilot.pause()
        assert plot.curve is None and plot.canvas.text() == ""
        assert _caption(app) == "no curve"
        assert "no input to vary" in screen_text(app)
        await _shown(pilot, abs_curve())
        assert "no input to vary" not in screen_text(app)


async def test_stale_is_said_in_the_title() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = await _shown(pilot, abs_curve())
        plot.set_stale(True)
        await pilot.pause()
        assert "plot (stale)" in screen_text(app) and plot.has_class("-stale")
        plot.set_stale(False)
        await pilot.pause()
        assert "(stale)" not in screen_text(app) and not plot.has_class("-stale")
