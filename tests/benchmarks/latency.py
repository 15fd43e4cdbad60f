"""Update latency in process: one input edit until plot, stepper and values are redrawn.

The real app (or :class:`baseline.BaselineApp`) runs under Textual's Pilot at a fixed
size. One update is timed from :meth:`GradApp.set_input` (what a keystroke does to the
field) until the first frame composited after the app became idle (the engine
answered, and the result and the curve were handled): the compositor has then called
every dirty widget's ``render``/``render_line`` — the work a terminal frame costs,
minus writing it out (headless). Frames are timestamped at ``App._display``.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from gradtui.tui.app import GradApp
from gradtui.tui.widgets.plot import PlotPanel

SIZE = (160, 48)
"""The terminal size the issue names for update latency."""


class _FrameClock:
    """Timestamps every frame the app composites, with whether it was idle by then.

    ``App._display`` is where a composited update goes to the terminal (headless: nowhere);
    it runs after every dirty widget has rendered, on the app's own thread.
    """

    def __init__(self, app: GradApp) -> None:
        self.app = app
        self.frames: list[tuple[float, int]] = []
        self._display = app._display
        app._display = self._record  # type: ignore[method-assign]

    def _record(self, screen, renderable) -> None:  # noqa: ANN001 - Textual's own signature
        self._display(screen, renderable)
        app = self.app
        if renderable is not None:
            self.frames.append((time.perf_counter(), app.explorer.client.seq if app.idle else -1))

    async def frame_for(self, seq: int, timeout: float = 30.0) -> float:
        """The time of the first frame drawn once request ``seq`` was answered and handled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, done in self.frames:
                if done >= seq:
                    return when
            await asyncio.sleep(0.0005)
        raise TimeoutError("no frame showed the update")


async def _measure(app_class: type[GradApp], edits: int, warmup: int) -> list[float]:
    app = app_class("exp", {"input": "0.5"}, cursor_blink=False)
    times: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await app.settle()
        await pilot.pause()
        # The figure is only a comparison if each app draws with its own plot panel.
        expected = getattr(app_class, "PLOT_PANEL", PlotPanel)
        shown = type(app.query_one("#plot"))
        assert shown is expected, f"{app_class.__name__} shows {shown.__name__}"
        clock = _FrameClock(app)
        for i in range(warmup + edits):
            # A new value each time (no cache can answer), always a valid scalar.
            text = f"0.{5000 + 37 * i}"
            await pilot.pause(0.05)  # let the previous frame go
            clock.frames.clear()
            started = time.perf_counter()
            app.set_input("input", text)
            seq = app.explorer.client.seq + 1  # the request this edit makes
            drawn = await clock.frame_for(seq)
            assert app.result is not None and app.curve is not None
            if i >= warmup:
                times.append((drawn - started) * 1000)
    return times


def update_latency(app_class: type[GradApp], edits: int, warmup: int = 3) -> list[float]:
    """Milliseconds per update for ``edits`` edits of ``exp``'s input at 160x48."""
    return asyncio.run(_measure(app_class, edits, warmup))


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
