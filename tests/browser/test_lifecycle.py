"""However ``gradtui serve`` ends, no app is left running; a full server says so.

Each test runs its own server (the ways it ends are the point), with one session each.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.browser.browser import (
    LOAD_S,
    chromium,
    is_app,
    open_page,
    serve,
    wait_for,
    wait_screen,
)

GONE_S = 10.0
"""How long the tests wait for processes to go: a liveness bound, not a speed test (the
benchmark measures the time; the bug it guards against took 18-22 s or never ended)."""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=str)
def test_session_limit_then_a_signal_ends_everything(signum: int) -> None:
    """The next viewer past ``--max-sessions`` gets the full page; then Ctrl+C, ``kill`` or
    a hang-up of the terminal the server runs in ends the server and its apps."""
    with serve("--max-sessions", "1") as served, chromium() as browser:
        page = open_page(browser, served)
        wait_screen(page, "ExpBackward0", LOAD_S)
        (pid,) = served.apps()
        late = open_page(browser, served)
        text = late.inner_text("body")
        assert "gradtui is full" in text and "Try again later" in text, text
        assert served.apps() == [pid]
        started = time.monotonic()
        served.process.send_signal(signum)
        served.process.wait(GONE_S)
        took = time.monotonic() - started
        wait_for(lambda: not is_app(pid), GONE_S, f"app {pid} to end")
        assert served.process.returncode == 0, served.output()
        assert "Traceback" not in served.output(), served.output()
        print(f"{signal.Signals(signum).name} stopped the server in {took:.2f} s")


def test_sigkill_of_the_server_leaves_no_app() -> None:
    with serve() as served, chromium() as browser:
        page = open_page(browser, served)
        wait_screen(page, "ExpBackward0", LOAD_S)
        (pid,) = served.apps()
        served.process.send_signal(signal.SIGKILL)
        served.process.wait()
        wait_for(lambda: not is_app(pid), GONE_S, f"app {pid} to end after the server's SIGKILL")
