"""The plot's legend never covers data: it sits above the frame (CLI) or in the caption (app).

The check reads the drawn text: every cell inside the plot's frame must be a mark a layer
draws (braille dots, ``•``, ``+``, ``●``, ``◆``, ``x``) or blank, never a letter of a
legend label; and the frame with the legend path on is the same picture, cell for cell,
as the frame drawn without any legend in the rows that are left.
"""

from __future__ import annotations

import functools

import pytest

from gradtui.ops.curves import sample_curve
from gradtui.tui.app import GradApp
from gradtui.tui.plotting import render_curve
from gradtui.tui.widgets.plot import PlotPanel
from tests.helpers import running, settle

TARGETS = ("abs", "exp", "sin", "relu", "log", "sign", "binary_cross_entropy")
MARKS = set(" •+●◆x")


def _is_mark(ch: str) -> bool:
    return ch in MARKS or 0x2800 <= ord(ch) <= 0x28FF  # braille: the lines


def frame(text: str) -> list[str]:
    """The rows inside the plot's frame, without the frame itself."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    left, right = lines[top].index("┌"), lines[top].index("┐")
    return [line.ljust(right)[left + 1 : right] for line in lines[top + 1 : bottom]]


def foreign_cells(text: str) -> list[str]:
    """Cells inside the frame that no layer draws (a legend's letters, say)."""
    return [ch for row in frame(text) for ch in row if not _is_mark(ch)]


@functools.cache
def curve(target: str, second: bool = True):
    return sample_curve(target, lo=-3.0 if target != "log" else 0.05, hi=3.0, second=second)


def test_the_check_sees_a_legend_inside_the_frame() -> None:
    """plotext's own legend (what gradtui drew before) fails the check: the check can fail."""
    import plotext as plt

    from gradtui.tui.plotting import _LOCK

    c = curve("abs")
    with _LOCK:
        plt.clear_figure()
        plt.limit_size(False, False)
        plt.plot_size(80, 20)
        plt.theme("clear")
        plt.plot(c.x, c.f, label="f")
        plt.plot(c.x, c.df, label="f′")
        text = plt.uncolorize(plt.build())
        plt.clear_figure()
    assert "f" in foreign_cells(text)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("width", [40, 60, 80, 100, 120])
@pytest.mark.parametrize("d2", [False, True])
def test_cli_legend_is_above_the_frame(target: str, width: int, d2: bool) -> None:
    c = curve(target)
    height = 18
    with_legend = render_curve(c, width, height, color=False, show_d2=d2)
    lines = with_legend.splitlines()
    head = lines[: next(i for i, line in enumerate(lines) if "┌" in line)]
    assert head, "the legend is drawn"
    assert all(len(line) <= width for line in head)
    legend = " ".join(head)
    assert "f′" in legend and ("f″" in legend) == d2
    assert foreign_cells(with_legend) == []
    # The same data picture as with no legend at all in the rows left for the plot.
    bare = render_curve(c, width, height - len(head), color=False, show_d2=d2, legend=False)
    assert frame(with_legend) == frame(bare)
    assert len(lines) == height


@pytest.mark.parametrize(
    ("size", "target"),
    [((80, 24), "abs"), ((120, 40), "abs"), ((60, 20), "abs"), ((120, 40), "sign")],
)
async def test_app_plot_has_no_legend_inside_and_caption_names_layers(
    size: tuple[int, int], target: str
) -> None:
    app = GradApp(target, cursor_blink=False)
    async with running(app, size) as pilot:
        app.show_view("plot")
        await settle(pilot)
        panel = app.query_one(PlotPanel)
        canvas = panel.canvas
        assert "┌" in canvas.text()
        assert foreign_cells(canvas.text()) == []
        caption = app.query_one("#plot-caption").render()
        assert "f′" in str(caption) and "f″" not in str(caption)
        await pilot.press("d")
        await settle(pilot)
        assert canvas.show_d2
        assert foreign_cells(canvas.text()) == []
        caption = str(app.query_one("#plot-caption").render())
        assert "f″" in caption  # the subtitle says f″ is drawn
        await pilot.press("d")
        await settle(pilot)
        assert "f″" not in str(app.query_one("#plot-caption").render())


def test_an_input_on_or_beside_a_jump_is_marked_at_f_not_across_the_jump() -> None:
    """sign at [-1, 0, 0.01]: the marks sit at f's own values (-1, 0, 1), never on a line
    drawn between the samples either side of the jump."""
    from gradtui.ops.curves import sample_curve
    from gradtui.tui.plotting import _layers

    curve = sample_curve("sign", {"input": "[-1.0, 0.0, 0.01]"}, lo=-3.0, hi=4.0)
    (marks,) = [
        p
        for p in _layers(curve, color=False, show_d2=False, show_numeric=True, theme="dark").points
        if p[3] == "●"
    ]
    assert dict(zip(marks[0], marks[1], strict=True)) == {-1.0: -1.0, 0.0: 0.0, 0.01: 1.0}
