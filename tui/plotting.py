"""Render a :class:`ops.results.Curve` to text with plotext's public API.

One renderer serves the CLI (``gradtui plot``) and the TUI's plot widget, so both
show the same picture. plotext keeps its figure in module-global state, so every
render holds one lock; the result is a plain string (with ANSI colour codes when
``color`` is true) that callers are expected to cache.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from gradtui.ops.results import Curve

_LOCK = threading.Lock()

#: plotext colour names per layer and theme (16-colour safe).
PALETTES: dict[str, dict[str, str]] = {
    "dark": {
        "f": "cyan",
        "df": "orange",
        "d2f": "magenta",
        "num": "red",
        "kink": "red",
        "mark": "green",
    },
    "light": {
        "f": "blue",
        "df": "red",
        "d2f": "magenta",
        "num": "black",
        "kink": "red",
        "mark": "green",
    },
}


def _finite_runs(
    xs: Sequence[float], ys: Sequence[float]
) -> Iterator[tuple[list[float], list[float]]]:
    """Split a series at non-finite values, so NaN and inf become gaps (vectorised)."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    finite = np.isfinite(y)
    if finite.all():
        if n:
            yield x.tolist(), y.tolist()
        return
    # run boundaries: where finiteness switches on (+1) and off (-1)
    edges = np.diff(np.concatenate(([0], finite.astype(np.int8), [0])))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        yield x[start:stop].tolist(), y[start:stop].tolist()


def _near_kinks(x: np.ndarray, curve: Curve, within: float) -> np.ndarray:
    """Which samples lie within ``within`` of a kink (a few kinks: one row each)."""
    if not curve.kinks or x.size == 0:
        return np.zeros(x.size, dtype=bool)
    kx = np.array([k.x for k in curve.kinks], dtype=float)
    return (np.abs(x[:, None] - kx[None, :]) <= within).any(axis=1)


def _step(curve: Curve) -> float:
    """The spacing of the samples (0 for fewer than two)."""
    return (curve.x[-1] - curve.x[0]) / (len(curve.x) - 1) if len(curve.x) > 1 else 0.0


def disagreements(curve: Curve) -> tuple[list[float], list[float]]:
    """The points the engine's numeric check flags (:attr:`Curve.disagree`), as
    ``(x, numeric f′)`` to draw."""
    return [curve.x[i] for i in curve.disagree], [curve.df_numeric[i] for i in curve.disagree]


#: Without colour the lines are told apart by their marker (NO_COLOR, pipes).
MONO_MARKERS: dict[str, str] = {"f": "braille", "f′": "•", "f″": "+"}


def _series(xs: Sequence[float], ys: Sequence[float], color: str, marker: str = "braille") -> None:
    import plotext as plt

    for rx, ry in _finite_runs(xs, ys):
        plt.plot(rx, ry, marker=marker, color=color)


#: The sample a legend entry shows for a marker (plotext's own legend shows the same).
_SAMPLES: dict[str, str] = {"braille": "⢕⢕"}


@dataclass(frozen=True)
class LegendEntry:
    """One drawn layer: the glyphs it is drawn with, its plotext colour and its name."""

    sample: str
    color: str
    label: str


@dataclass(frozen=True)
class _Layers:
    """What one rendering draws: the series and point sets, each with its legend entry."""

    lines: list[tuple[Sequence[float], Sequence[float], str, str, LegendEntry]]
    points: list[tuple[list[float], list[float], str, str, LegendEntry]]

    @property
    def legend(self) -> list[LegendEntry]:
        return [item[-1] for item in (*self.lines, *self.points)]


def _finite(ys: Sequence[float] | None) -> bool:
    return ys is not None and bool(np.isfinite(np.asarray(ys, dtype=float)).any())


def _layers(curve: Curve, *, color: bool, show_d2: bool, show_numeric: bool, theme: str) -> _Layers:
    """Decide what is drawn, once, so the plot and its legend cannot disagree."""
    pal = PALETTES.get(theme, PALETTES["dark"])
    mk = {k: "braille" for k in MONO_MARKERS} if color else MONO_MARKERS
    lines = []
    series = [("f", *_break_at_jumps(curve), "f")]
    if curve.df is not None:  # None: no grad_fn, torch has no f′ to draw
        series.append(("f′", curve.x, _break_at_kinks(curve), "df"))
    if show_d2 and curve.d2f is not None:
        series.append(("f″", curve.x, curve.d2f, "d2f"))
    for label, xs, ys, key in series:
        if _finite(ys):
            sample = _SAMPLES.get(mk[label], mk[label] * 2)
            lines.append((xs, ys, pal[key], mk[label], LegendEntry(sample, pal[key], label)))
    points = []
    if show_numeric:
        nx, ny = disagreements(curve)
        if nx:
            points.append((nx, ny, pal["num"], "x", LegendEntry("xx", pal["num"], "numeric≠")))
    if curve.marks:
        fx = dict(zip(curve.x, curve.f, strict=False))
        # f's own value at a point the detector measured (sign(0) = 0), never a line
        # drawn across a jump between two samples
        fx.update({k.x: k.value for k in curve.kinks})
        jumps = [k.x for k in curve.kinks if k.kind == "jump"]
        mx, my = [], []
        for m in curve.marks:
            y = fx.get(m)
            if y is None:
                y = _interp(curve.x, curve.f, m, jumps)
            if y is not None and math.isfinite(y):
                mx.append(m)
                my.append(y)
        if mx:
            points.append((mx, my, pal["mark"], "●", LegendEntry("●●", pal["mark"], "inputs")))
    # Where no derivative exists (corner, cusp, jump), the f′ torch returns anyway. None
    # where the output has no grad_fn (lt), nothing where torch gives nan (sqrt(|x|) at 0).
    kinks = [k for k in curve.kinks if k.df is not None and math.isfinite(k.df)]
    if kinks:
        kx = [k.x for k in kinks]
        ky = [k.df for k in kinks]
        entry = LegendEntry("◆◆", pal["kink"], "torch's f′ where none exists")
        points.append((kx, ky, pal["kink"], "◆", entry))
    return _Layers(lines, points)


def legend_entries(
    curve: Curve,
    *,
    color: bool,
    show_d2: bool = False,
    show_numeric: bool = True,
    theme: str = "dark",
) -> list[LegendEntry]:
    """The legend of :func:`render_curve` with the same arguments: one entry per drawn layer."""
    return _layers(
        curve, color=color, show_d2=show_d2, show_numeric=show_numeric, theme=theme
    ).legend


def legend_text(entries: Sequence[LegendEntry], width: int, *, color: bool) -> list[str]:
    """The legend as lines of at most ``width`` cells (ANSI-coloured when ``color``).

    It is drawn outside the plot's frame, so it never covers a point of a curve.
    """
    import plotext as plt

    lines: list[str] = []
    plain_line, line = "", ""
    for entry in entries:
        plain = f"{entry.sample} {entry.label}"
        shown = (plt.colorize(entry.sample, entry.color) if color else entry.sample) + (
            f" {entry.label}"
        )
        if plain_line and len(plain_line) + 2 + len(plain) > width:
            lines.append(line)
            plain_line, line = "", ""
        sep = "  " if plain_line else ""
        plain_line += sep + plain
        line += sep + shown
    if plain_line:
        lines.append(line)
    return lines


def render_curve(
    curve: Curve,
    width: int,
    height: int,
    *,
    color: bool,
    show_d2: bool = False,
    show_numeric: bool = True,
    theme: str = "dark",
    legend: bool = True,
) -> str:
    """Draw f, f' and the chosen overlays of ``curve`` into a ``width`` x ``height`` text box.

    Args:
        curve: The sampled curve.
        width: Columns available.
        height: Rows available.
        color: Keep ANSI colour codes; without it the text is plain.
        show_d2: Draw f'' when the curve has it.
        show_numeric: Mark points where the numeric check disagrees with autograd.
        theme: ``"dark"`` or ``"light"``: picks line colours that read on that background.
        legend: Put the legend on its own lines above the frame (they count in
            ``height``). The app's plot panel says it in its caption instead. Never inside
            the frame: plotext's own legend is drawn over the data.

    Returns:
        The plot as lines joined by ``\\n``.
    """
    import plotext as plt

    width = max(int(width), 20)
    height = max(int(height), 6)
    layers = _layers(curve, color=color, show_d2=show_d2, show_numeric=show_numeric, theme=theme)
    head = legend_text(layers.legend, width, color=color) if legend else []
    if height - len(head) < 6:
        head = []  # no room: the plot matters more than its key
    with _LOCK:
        plt.clear_figure()
        # plotext clips the figure to the size of the terminal it runs in; a widget
        # (or a pipe) asks for the size it has, whatever that terminal is.
        plt.limit_size(False, False)
        plt.plot_size(width, height - len(head))
        plt.theme("clear")
        for xs, ys, col, marker, _ in layers.lines:
            _series(xs, ys, col, marker)
        for xs, ys, col, marker, _ in layers.points:
            plt.scatter(xs, ys, marker=marker, color=col)
        plt.xlabel(curve.var)
        text = plt.build()
        plt.clear_figure()
    if not color:
        text = plt.uncolorize(text)
    return "\n".join([*head, *(line.rstrip() for line in text.splitlines())])


def _break_at_jumps(curve: Curve) -> tuple[list[float], list[float]]:
    """f with a gap at each jump, so a jump is not drawn as a wall of values f never takes.

    A sample that sits on the jump itself stays joined to the side whose limit is its
    value (``floor(1) = 1``: the right), or stands alone (``sign(0) = 0``).
    """
    jumps = [k for k in curve.kinks if k.kind == "jump"]
    if not jumps or len(curve.x) < 2:
        return list(curve.x), list(curve.f)
    x = np.asarray(curve.x, dtype=float)
    f = np.asarray(curve.f, dtype=float)
    gaps: list[int] = []  # a gap goes in before each of these sample indices
    for k in jumps:
        i = int(np.searchsorted(x, k.x, side="left"))
        if i < x.size and x[i] == k.x:  # a sample sits on the jump: f(k.x) picks its side
            if f[i] != k.after:
                gaps.append(i + 1)
            if f[i] != k.before:
                gaps.append(i)
        else:
            gaps.append(i)
    at = np.array(sorted({g for g in gaps if 0 < g < x.size}), dtype=int)
    if at.size == 0:
        return list(curve.x), list(curve.f)
    return np.insert(x, at, x[at]).tolist(), np.insert(f, at, np.nan).tolist()


def _break_at_kinks(curve: Curve) -> list[float]:
    """f' with the samples next to each kink blanked, so a jump in f' is not drawn as a wall."""
    if curve.df is None:
        return []
    if not curve.kinks or len(curve.x) < 2:
        return list(curve.df)
    df = np.asarray(curve.df, dtype=float).copy()
    x = np.asarray(curve.x, dtype=float)
    df[_near_kinks(x, curve, 0.51 * _step(curve))[: df.size]] = np.nan
    return df.tolist()


def _interp(
    xs: Sequence[float], ys: Sequence[float], x: float, jumps: Sequence[float] = ()
) -> float | None:
    """Linear interpolation of ``ys`` at ``x``; ``None`` outside the range.

    Across a jump there is no line to follow: the sample on ``x``'s side of it is used.
    """
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    lo, hi = 0, len(xs) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    x0, x1, y0, y1 = xs[lo], xs[hi], ys[lo], ys[hi]
    if x1 == x0:
        return y0
    for j in jumps:
        if x0 < j < x1 or (j in (x0, x1) and x0 < x < x1):
            return y0 if x < j else y1
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
