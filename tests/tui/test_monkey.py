"""A monkey at the keyboard: seeded random keys, clicks and resizes against the real app.

The monkey drives :class:`tui.app.GradApp` with the real engine and torch through
Textual's headless driver: printable characters (everything but ``q``), the app's keys
(``n p / ? d c x l`` …), tab, escape, enter, arrows and page keys, the command palette
(opened, typed into, then closed or run), clicks anywhere on the screen, and terminal
sizes from 40x12 to 200x60. A command or a footer click that quits the app is allowed:
the monkey starts a fresh app and counts the quit.

After every batch of events it waits for the engine's answer and checks that the app is
still running, that nothing shows a traceback or an internal error, and that what is on
screen agrees with itself: the input fields are the current op's (or expression's)
inputs, a fresh result is for the target on screen and carries the texts of the fields,
the stepper shows the app's result, the picker marks the current op, and the "terminal
too small" layout is on exactly when the terminal is too small.

``GRADTUI_MONKEY_SEED`` (default 0) picks the sequence; a failure prints the seed, the
index of the event after which the check failed, the last events and the command that
replays them. The default run plays :data:`EVENTS` events; ``--long`` plays
:data:`LONG_EVENTS`. Keys are sent the way Pilot sends them but without Pilot's "wait
until the process is idle" after each one (that waits a full second whenever the engine
computes), so events arrive as fast as a person mashing keys; the batch boundaries are
where the monkey waits.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
import time
from collections import deque
from dataclasses import dataclass, field

from textual import events
from textual.drivers.headless_driver import HeadlessDriver
from textual.geometry import Size
from textual.pilot import Pilot

from gradtui.ops.errors import InputError
from gradtui.ops.prepare import input_names
from gradtui.tui.app import MIN_HEIGHT, MIN_WIDTH, GradApp
from gradtui.tui.compute import expression_target
from gradtui.tui.widgets.inputs import EXPRESSION, GRAD_OUTPUT, InputsPanel
from gradtui.tui.widgets.op_picker import EXPRESSION_ID, OpPicker
from gradtui.tui.widgets.status import StatusLine
from gradtui.tui.widgets.stepper import StepList, StepperPanel
from tests.helpers import key_event, running, settle

SEED = int(os.environ.get("GRADTUI_MONKEY_SEED", "0"))
EVENTS = 2_000
LONG_EVENTS = 50_000
BATCH = 50
"""Events between two checks (the monkey waits for the engine only at the checks)."""
PACE = 0.003
"""Seconds between two events: the app's loop gets a turn, but need not have caught up
(a terminal buffers keys the same way)."""
SIZES = ((40, 200), (12, 60))
"""Terminal widths and heights the monkey resizes between."""
PRINTABLE = "".join(
    c for c in string.ascii_letters + string.digits + " ()[]*+-/.,<>=_:" if c != "q"
)
"""Characters typed (``q`` quits outside a text field, so it is left out)."""
KEYS = (
    "n p tab shift+tab slash escape enter up down left right question_mark f1 d c x l "
    "g j h backspace delete home end pageup pagedown"
).split()
"""The app's and Textual's keys (no ``q`` and no ``ctrl+q``: the monkey does not quit)."""


@dataclass
class Tally:
    """What the monkey did."""

    events: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    quits: int = 0
    checks: int = 0
    history: deque[str] = field(default_factory=lambda: deque(maxlen=25))

    def note(self, kind: str, what: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.history.append(f"{self.events}: {what}")
        self.events += 1


async def _press(pilot: Pilot, key: str) -> None:
    app = pilot.app
    assert app._driver is not None
    app._driver.send_message(key_event(app, key))  # type: ignore[arg-type]
    await asyncio.sleep(PACE)


async def _click(pilot: Pilot, x: int, y: int) -> None:
    """Move, press and release the left button at ``(x, y)``, the way a terminal reports it.

    The events take the driver's route (``process_message``, then the app's own event
    handling, which makes the click), not Pilot's shortcut straight to the screen, so
    the app's handling of mouse events is exercised too.
    """
    driver = pilot.app._driver
    assert driver is not None
    for cls, button in ((events.MouseMove, 0), (events.MouseDown, 1), (events.MouseUp, 1)):
        event = cls(None, x, y, 0, 0, button, False, False, False, screen_x=x, screen_y=y)
        driver.process_message(event)
        await asyncio.sleep(PACE)


async def _resize(pilot: Pilot, width: int, height: int) -> None:
    app = pilot.app
    size = Size(width, height)
    if isinstance(app._driver, HeadlessDriver):
        app._driver._size = size
    app.post_message(events.Resize(size, size))
    await asyncio.sleep(PACE)


async def _event(pilot: Pilot, rng: random.Random, tally: Tally) -> None:
    """One random event."""
    app = pilot.app
    roll = rng.random()
    if roll < 0.45:
        ch = rng.choice(PRINTABLE)
        tally.note("char", repr(ch))
        await _press(pilot, ch)
    elif roll < 0.80:
        key = rng.choice(KEYS)
        tally.note("key", key)
        await _press(pilot, key)
    elif roll < 0.93:
        x, y = rng.randrange(app.size.width), rng.randrange(app.size.height)
        tally.note("click", f"click {x},{y}")
        await _click(pilot, x, y)
    elif roll < 0.97:
        w, h = rng.randint(*SIZES[0]), rng.randint(*SIZES[1])
        tally.note("resize", f"resize {w}x{h}")
        await _resize(pilot, w, h)
    else:
        typed = "".join(rng.choice(string.ascii_lowercase + " :") for _ in range(rng.randint(0, 6)))
        typed = typed.replace("q", "")
        run = rng.random() < 0.3
        tally.note("palette", f"ctrl+p {typed!r} {'down enter' if run else 'escape'}")
        await _press(pilot, "ctrl+p")
        for ch in typed:
            await _press(pilot, ch)
        await pilot.pause(0.05)  # the palette searches in the background
        if run:
            await _press(pilot, "down")
            await _press(pilot, "enter")
        else:
            await _press(pilot, "escape")


def _check(app: GradApp) -> None:
    """The app is alive, shows no crash, and agrees with itself."""
    assert app.is_running, "the app stopped"
    assert app._exception is None, f"the app raised {app._exception!r}"
    text = app.screen_text()
    assert "Traceback" not in text, text
    status = app.query_one(StatusLine).plain
    assert "internal error" not in status, status
    assert "internal error" not in text, text
    width, height = app.size
    assert app.has_class("-too-small") == (width < MIN_WIDTH or height < MIN_HEIGHT)

    state = app.state
    panel = app.query_one(InputsPanel)
    names = panel.names
    texts = panel.texts
    assert names and names[-1] == GRAD_OUTPUT, names
    if state.expression_mode:
        assert names[0] == EXPRESSION, names
        assert texts[EXPRESSION] == app.target
        assert app.query_one(OpPicker)._current == EXPRESSION_ID
        inputs = names[1:-1]
        try:
            wanted = list(input_names(expression_target(app.target)))
        except InputError:  # text the language refuses: the fields stay, the error is shown
            assert panel.error_text(EXPRESSION) and "✗" in status, (app.target, status)
        else:
            assert inputs == wanted, (app.target, inputs, wanted)
    else:
        assert EXPRESSION not in names, names
        assert app.query_one(OpPicker)._current == app.target
        inputs = names[:-1]
        assert inputs == list(input_names(app.target)), (app.target, inputs)
    result = app.result
    if result is not None and not app.stale:
        assert result.target == app.target, (result.target, app.target)
        assert list(result.inputs) == inputs, (list(result.inputs), inputs)
        for name, value in result.inputs.items():
            assert value.text == texts[name], (name, value.text, texts[name])
    if app.stale:
        assert "✗" in status, status
    stepper = app.query_one(StepperPanel)
    assert stepper.result is result
    if stepper.hvp is not None:  # h: the backward of the backward, for the inputs on screen
        assert result is not None
        for name, value in stepper.hvp.inputs.items():
            assert value.value == result.inputs[name].tensor.value, name
        steps = len(stepper.hvp.steps)
        assert app.query_one(StepList).option_count == max(steps, 1)
        assert (steps == 0 and stepper.index == 0) or 0 <= stepper.index < steps
    elif result is not None:
        steps = len(result.steps)
        assert app.query_one(StepList).option_count == max(steps, 1)
        assert (steps == 0 and stepper.index == 0) or 0 <= stepper.index < steps


async def _play(seed: int, total: int, tally: Tally) -> None:
    rng = random.Random(seed)
    while tally.events < total:
        app = GradApp(cursor_blink=False)
        size = (rng.randint(*SIZES[0]), rng.randint(*SIZES[1]))
        async with running(app, size) as pilot:
            _check(app)
            while tally.events < total and app.is_running:
                for _ in range(min(BATCH, total - tally.events)):
                    await _event(pilot, rng, tally)
                    if not app.is_running:
                        break
                if not app.is_running:
                    break
                await settle(pilot)
                # Let pending renders and notifications land before reading the screen.
                await pilot.pause(0.01)
                if not app.is_running:
                    break
                _check(app)
                tally.checks += 1
        if tally.events < total or not app.is_running:
            # Only a quit ends a session early: it must be a clean one.
            assert app._exception is None, f"the app raised {app._exception!r}"
            assert app.return_code in (0, None), app.return_code
            if tally.events < total:
                tally.quits += 1


def test_monkey(long_run: bool, tmp_path, monkeypatch, capsys) -> None:
    """Random keys, clicks and resizes: the app survives and stays consistent."""
    monkeypatch.chdir(tmp_path)  # "save screenshot" from the palette writes here
    total = LONG_EVENTS if long_run else EVENTS
    tally = Tally()
    start = time.monotonic()
    try:
        asyncio.run(_play(SEED, total, tally))
    except BaseException as exc:
        last = "\n  ".join(tally.history)
        exc.add_note(
            f"monkey seed {SEED}, failed after event {tally.events - 1} "
            f"(check {tally.checks + 1}); the last events:\n  {last}\n"
            f"replay: GRADTUI_MONKEY_SEED={SEED} python -m pytest tests/tui/test_monkey.py"
            + (" --long" if long_run else "")
        )
        raise
    took = time.monotonic() - start
    assert tally.events == total
    with capsys.disabled():
        print(
            f"\nmonkey: seed {SEED}, {tally.events} events survived "
            f"({', '.join(f'{n} {k}' for k, n in sorted(tally.kinds.items()))}), "
            f"{tally.checks} checks, {tally.quits} quits (restarted), {took:.0f} s"
        )
