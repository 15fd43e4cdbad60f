"""A dropped SSH connection or a ``kill``: the real ``gradtui`` in a pty leaves cleanly.

Each test starts the installed console script on a fresh pseudo-terminal (as ``sshd``
does), waits for the first screen (``ExpBackward0``), then ends it the way the outside
world does: SIGHUP (the connection dropped), SIGTERM (``kill``, a shutdown), or the
terminal itself going away. The app must exit promptly with status 128 + the signal's
number (:data:`tui.app.EXIT_SIGNALS`), put the terminal back (leave the alternate
screen, show the cursor, stop mouse reporting), print no traceback, and leave no
process behind in its session.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from tests.tui.ptyrun import PtyApp, related_processes
from tui.app import EXIT_SIGNALS

FIRST_SCREEN_S = 90.0
"""Generous: torch's first import on a loaded 2-core machine."""
PROMPT_S = 4.0
"""How soon after the signal the process must be gone (it takes about 1 s here)."""
RESTORE = {
    "leave the alternate screen": b"\x1b[?1049l",
    "show the cursor": b"\x1b[?25h",
    "stop mouse click reporting": b"\x1b[?1000l",
    "stop mouse motion reporting": b"\x1b[?1003l",
    "stop SGR mouse reporting": b"\x1b[?1006l",
}
CSI = re.compile(rb"\x1b\[[?<>=]?[0-9;]*[A-Za-z]")


def _exit_code(status: int) -> int:
    """The exit code of a wait status (``-N`` when killed by signal N instead of exiting)."""
    return os.waitstatus_to_exitcode(status)


@pytest.fixture
def gradtui():
    """Start ``gradtui`` in a pty; whatever happens, kill its session afterwards."""
    apps: list[PtyApp] = []

    def start(args: list[str] | None = None) -> PtyApp:
        app = PtyApp(args)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.kill()


def _first_screen(app: PtyApp, text: bytes = b"ExpBackward0") -> None:
    assert app.wait_for(text, FIRST_SCREEN_S), app.output[-2000:]
    app.pump(0.2)  # let it finish painting


def _check_left_cleanly(app: PtyApp, signum: int, sent_at: float) -> float:
    """Assert a prompt, clean exit after ``signum``; returns the seconds it took."""
    status = app.wait_exit(30)
    took = time.monotonic() - sent_at
    assert status is not None, "still running 30 s after the signal"
    assert _exit_code(status) == 128 + signum, f"wait status {status}"
    assert took < PROMPT_S, f"took {took:.2f} s to exit"
    text = app.output.decode("utf-8", errors="replace")
    assert "Traceback" not in text and "Error" not in text[-3000:], text[-3000:]
    assert not related_processes(app.pid), "a process of the app's session outlived it"
    print(f"\n{signal.Signals(signum).name}: exit {_exit_code(status)} after {took:.2f} s")
    return took


@pytest.mark.parametrize("signum", EXIT_SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_exits_cleanly_and_restores_the_terminal(gradtui, signum: int) -> None:
    app = gradtui()
    _first_screen(app)
    assert app.poll() is None
    mark = len(app.output)
    sent = time.monotonic()
    os.kill(app.pid, signum)
    _check_left_cleanly(app, signum, sent)
    after = bytes(app.output[mark:])
    for what, seq in RESTORE.items():
        assert seq in after, f"did not {what}"
    # Nothing is drawn on the person's own screen once the alternate screen is left:
    # only mode switches follow.
    tail = after[after.rindex(RESTORE["leave the alternate screen"]) :]
    assert CSI.sub(b"", tail).strip() == b"", tail


def test_terminal_hang_up_exits_without_a_trace(gradtui) -> None:
    """The connection drops for real: the pty's master side closes under the app.

    The kernel sends SIGHUP and every write to the terminal fails from then on; the
    app must still leave at once and leave nothing running.
    """
    app = gradtui()
    _first_screen(app)
    sent = time.monotonic()
    app.hang_up()
    _check_left_cleanly(app, signal.SIGHUP, sent)


def test_signal_during_a_heavy_computation_exits_promptly(gradtui) -> None:
    """SIGTERM while the engine computes: the computation is told to stop, not waited for.

    255 products of 1000x1000 matrices run far past the app's 5 s bound; the app must
    not sit out that bound before it exits.
    """

    def balanced(n: int) -> str:
        return "x" if n == 1 else f"({balanced(n // 2)}@{balanced(n - n // 2)})"

    app = gradtui([f"sum({balanced(256)})", "--set", "x=ones(1000, 1000)"])
    # The input fields appear once the engine has started on this very computation.
    _first_screen(app, b"ones(1000, 1000)")
    app.pump(0.5)
    sent = time.monotonic()
    os.kill(app.pid, signal.SIGTERM)
    _check_left_cleanly(app, signal.SIGTERM, sent)
