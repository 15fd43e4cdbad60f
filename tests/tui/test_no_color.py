"""NO_COLOR means no colour at all, and what colour used to say is still visible.

Run in a real pty, reading the raw bytes the app writes: under ``NO_COLOR=1`` no SGR
sets a foreground or background colour (16, 256 or true colour; ``39``/``49``, the
terminal's own colours, are allowed), the current step is bold and underlined and the
focused field's name is in reverse video. The same run without NO_COLOR does send
colours, so the check can fail.
"""

from __future__ import annotations

import os
import re
import time

from gradtui.tui.app import GradApp
from gradtui.tui.widgets.inputs import FieldRow
from tests.helpers import PtyApp, running

SHIFT_TAB = b"\x1b[Z"
CTRL_Q = b"\x11"
_COLOUR = {*range(30, 38), *range(40, 48), *range(90, 98), *range(100, 108), 38, 48, 58}
_SGR = re.compile(rb"\x1b\[([0-9;:]*)m([^\x1b]*)")


def sgr_runs(data: bytes) -> list[tuple[set[int], str]]:
    """``(SGR parameters, the text written right after them)`` for every SGR sequence."""
    runs = []
    for match in _SGR.finditer(data):
        params = {int(p) for p in re.split(rb"[;:]", match.group(1)) if p}
        runs.append((params, match.group(2).decode("utf-8", "replace")))
    return runs


def colour_sgrs(data: bytes) -> list[set[int]]:
    """SGR parameter sets that choose a colour (the first parameter decides: 38;5;… too)."""
    out = []
    for match in _SGR.finditer(data):
        first = [int(p) for p in re.split(rb"[;:]", match.group(1)) if p]
        # walk the list: 38/48/58 take their arguments with them
        i = 0
        while i < len(first):
            if first[i] in _COLOUR:
                out.append(set(first))
                break
            i += 1
    return out


def _drain(app: PtyApp, seconds: float) -> None:
    """Keep reading for ``seconds`` (``pump`` returns as soon as anything arrives)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.pump(0.05)


def _run(no_color: bool) -> tuple[bytes, bytes, bytes]:
    """Open ``abs``; return what was written at start, after the plot view, after focusing v."""
    app = PtyApp(["abs"], cols=80, rows=24, extra_env={"NO_COLOR": "1"} if no_color else {})
    try:
        assert app.wait_for(b"AbsBackward0", 60), bytes(app.output[-2000:])
        assert app.wait_for(b"corner at", 60)  # the status line: the result is in
        _drain(app, 0.5)
        start = bytes(app.output)
        os.write(app.fd, SHIFT_TAB)  # from the step list back to the last field, v
        for _ in range(100):
            if b"pstream" in app.output[len(start) :]:
                break
            app.pump(0.1)
        _drain(app, 0.3)
        focused = bytes(app.output[len(start) :])
        mark = len(app.output)
        os.write(app.fd, b"\x1b")  # escape: back to the steps
        _drain(app, 0.6)  # a lone escape, not the start of alt+l
        os.write(app.fd, b"l")
        assert app.wait_for(b"along input", 30)
        _drain(app, 0.5)
        plot = bytes(app.output[mark:])
        os.write(app.fd, CTRL_Q)
        assert app.wait_exit(20) is not None
        return start, plot, focused
    finally:
        app.kill()


def test_no_color_sends_no_colour_and_keeps_focus_and_step_visible() -> None:
    start, plot, focused = _run(no_color=True)
    everything = start + plot + focused
    assert colour_sgrs(everything) == []
    assert "along input" in plot.decode("utf-8", "replace")  # the plot was drawn
    runs = sgr_runs(everything)
    # The current step: bold and underlined (reverse is dropped by Textual for options).
    step = [p for p, text in sgr_runs(start) if "1 AbsBackward0" in text]
    assert step and all({1, 4} <= p for p in step), step
    # The other step is plain.
    other = [p for p, text in sgr_runs(start) if "2 AccumulateGrad" in text]
    assert other and not any(4 in p or 7 in p for p in other), other
    # The focused field's name in reverse video, its cursor too.
    label = [p for p, text in sgr_runs(focused) if text == "v"]
    assert any(7 in p for p in label), label
    assert any(7 in p for p, _ in runs)


def test_the_colour_check_sees_colour_without_no_color() -> None:
    start, plot, _ = _run(no_color=False)
    assert colour_sgrs(start + plot)


async def test_focused_field_name_is_reverse_video() -> None:
    """In colour too: the focused field's name is reversed, the others are not."""
    app = GradApp("binary_cross_entropy", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        rows = list(app.query(FieldRow))
        assert len(rows) >= 2
        for row in rows:
            row.query_one("Input").focus()
            await pilot.pause()
            reversed_names = [
                r.spec.name for r in rows if r.query_one("Label").styles.text_style.reverse
            ]
            assert reversed_names == [row.spec.name]
        app.query_one("#step-list").focus()
        await pilot.pause()
        assert not any(r.query_one("Label").styles.text_style.reverse for r in rows)
