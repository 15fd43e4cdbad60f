"""Helpers for the browser tests: a ``gradtui serve`` process, headless Chromium, the screen.

Chromium is Debian's package (``/usr/bin/chromium``), driven by playwright from PyPI;
``playwright install`` (which downloads a browser) is never needed. Every request that
is not to the local server is aborted (the page links a web font).

The terminal draws with WebGL, so its text is not in the page's HTML. An init script
catches the xterm ``Terminal`` that textual-serve's ``textual.js`` creates (it assigns
``this.terminal = new Terminal(...)``) and :func:`screen` reads its buffer line by line.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SERVED_MODULE = "gradtui.tui.served"
LOAD_S = 90.0
"""How long a page may take to show its first result (torch's import on a busy machine)."""

CATCH_TERMINAL = """
(() => {
  window.__gradtuiTerminals = [];
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, "terminal", {
        value, writable: true, configurable: true, enumerable: true,
      });
      if (value && value.buffer) window.__gradtuiTerminals.push(value);
    },
  });
  // textual.js starts a download with window.open(URL) when a websocket message comes:
  // no user gesture, so Chromium's popup blocker may stop it (it did, as "canceled", on a
  // busy machine). The tests record the URL instead and fetch it themselves.
  window.__gradtuiOpened = [];
  window.open = (url) => { window.__gradtuiOpened.push(String(url)); return null; };
  window.__gradtuiScreen = () => {
    const term = window.__gradtuiTerminals[0];
    if (!term) return "";
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < term.rows; i++) {
      const line = buffer.getLine(buffer.viewportY + i);
      lines.push(line ? line.translateToString(true) : "");
    }
    return lines.join("\\n");
  };
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A running ``gradtui serve`` (its process, port and output)."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.log = log
        self.seen: set[int] = set()
        """Every app pid :meth:`apps` has found (killed at the end if still alive)."""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def apps(self) -> list[int]:
        """The pids of the app processes this server started (its children running served)."""
        pids = [pid for pid in served_pids() if parent_of(pid) == self.process.pid]
        self.seen.update(pids)
        return pids


def served_pids() -> list[int]:
    """Every live (non-zombie) process running the served app."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_app(int(entry)):
            pids.append(int(entry))
    return pids


def is_app(pid: int) -> bool:
    """Whether ``pid`` is alive (not a zombie) and runs the served app."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return SERVED_MODULE.encode() in cmdline and state != "Z"


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def serve(*args: str, cwd: Path | None = None) -> Iterator[Served]:
    """Run ``gradtui serve --port P ARGS`` until the block ends (then SIGKILL what is left).

    The apps get ``GRADTUI_TIMEOUT=60``: on a loaded machine a 5 s bound gave up on a
    curve or a result the test waits for (the bound itself is tested in tests/tui).
    """
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="gradtui-serve-", suffix=".log")[1])
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gradtui", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env={**os.environ, "GRADTUI_TIMEOUT": "60"},
        )
    served = Served(process, port, log)
    try:
        wait_for(lambda: _listening(port) or process.poll() is not None, 30, "the server")
        assert process.poll() is None, served.output()
        yield served
    finally:
        apps = served.apps() if process.poll() is None else []
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        for pid in {*apps, *served.seen}:
            if is_app(pid):
                os.kill(pid, signal.SIGKILL)
        log.unlink(missing_ok=True)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium through playwright, no network.

    playwright gives each launch a fresh temporary profile of its own (it refuses a
    ``--user-data-dir`` argument), and removes it when the browser closes.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def open_page(  # noqa: ANN201
    browser,  # noqa: ANN001
    served: Served,
    size: tuple[int, int] = (1100, 700),
    url: str | None = None,
):
    """A new page (in its own context) on the server, or at ``url`` (a proxy in front of
    it); requests to any other host and port are aborted."""
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, accept_downloads=True
    )
    context.add_init_script(CATCH_TERMINAL)
    url = url or served.url
    host = url.split("/")[2]
    blocked: list[str] = []

    def route(r) -> None:  # noqa: ANN001
        url = r.request.url
        if url.startswith((f"http://{host}/", f"ws://{host}/")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.blocked = blocked  # type: ignore[attr-defined]
    page.goto(url)
    return page


def screen(page) -> str:  # noqa: ANN001
    """The terminal's text, one line a row."""
    return page.evaluate("window.__gradtuiScreen ? window.__gradtuiScreen() : ''")


def wait_screen(page, text: str, timeout: float = 20.0, *, absent: bool = False) -> str:  # noqa: ANN001
    """Wait until ``text`` is on (or, ``absent``, off) the page's screen; returns the screen."""

    def check() -> str | None:
        now = screen(page)
        return now if (text in now) != absent else None

    try:
        return wait_for(check, timeout, f"{text!r} {'to go' if absent else 'on screen'}")  # type: ignore[return-value]
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{screen(page)}") from None


def press(page, *keys: str) -> None:  # noqa: ANN001
    """Focus the terminal's input and press ``keys`` (playwright key names)."""
    page.focus(".xterm-helper-textarea")
    for key in keys:
        page.keyboard.press(key)


def type_text(page, text: str) -> None:  # noqa: ANN001
    """Type ``text`` key by key, as a person does."""
    page.focus(".xterm-helper-textarea")
    page.keyboard.type(text)


def save_screenshot(page):  # noqa: ANN001, ANN201
    """Run the palette's "save screenshot"; returns the download's URL and the response
    to fetching it (textual.js opens the URL; the page's init script records it)."""
    press(page, "Control+p")
    wait_screen(page, "for commands")
    type_text(page, "save screenshot")
    wait_screen(page, "Download an SVG")
    press(page, "Enter")
    url = wait_for(lambda: page.evaluate("window.__gradtuiOpened[0]"), 30, "the download")
    return url, page.request.get(url, timeout=90_000)
