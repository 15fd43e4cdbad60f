"""``gradtui serve``: the app in web browsers, one process per viewer (textual-serve).

textual-serve's :class:`~textual_serve.server.Server` serves the page, its JavaScript and
a websocket; for each websocket its :class:`~textual_serve.app_service.AppService` runs
the app as a child process that draws over pipes. This module keeps that and changes
what a classroom server needs changed:

- each child is ``python -m gradtui.tui.served`` started without a shell (the argument
  list is checked here first), in its own session, under resource limits, and told the
  server's pid so it dies with the server (:mod:`tui.served`);
- at most ``max_sessions`` apps run; the next viewer gets a "full, try later" page;
- behind a reverse proxy (``--public-url`` with a path), downloads go through the proxy
  too (textual-serve's page fetched them from the site's root);
- Ctrl+C, SIGTERM or SIGHUP closes every browser connection and ends every app within about
  two seconds (textual-serve waited for the browsers, 18-22 s), and anything still alive
  after that is killed.

Nothing here imports torch: only the children do.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import logging
import os
import signal
import sys
from typing import Any

from aiohttp import web
from aiohttp.web_runner import GracefulExit
from textual_serve import download_manager
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from gradtui.tui.sandbox import LIMITS_ENV, PARENT_ENV

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 8
DEFAULT_SESSION_MEMORY_MB = 4096
"""Address space one session may map (torch and the app map about 0.9 GB)."""
DEFAULT_SESSION_CPU_S = 1800
"""CPU seconds one session may use in all (a computation is bounded at 5 s anyway)."""
STOP_GRACE_S = 1.0
"""After Ctrl+C or SIGTERM, how long the apps get to leave before they are killed."""

log = logging.getLogger("gradtui-serve")

# A download (the palette's "save screenshot") is cancelled when the app takes longer than
# this to send a chunk; textual-serve's 4 s cancelled it on a busy machine (an app
# computing a curve on a shared core). Read at each chunk, from the module (pinned 1.1.3).
download_manager.DOWNLOAD_TIMEOUT = 30


def is_local(host: str) -> bool:
    """Whether ``host`` only listens on this machine (a loopback address or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int, max_sessions: int) -> str | None:
    """The one line to print when ``host`` is reachable from other machines, else ``None``."""
    if is_local(host):
        return None
    return (
        f"warning: listening on {host}:{port}: anyone who can reach it can open up to "
        f"{max_sessions} sessions, each running PyTorch on this machine (no login; see the "
        "README's security model)"
    )


def full_page(max_sessions: int) -> str:
    """The HTML a viewer gets when every session is taken."""
    n = html.escape(str(max_sessions))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>gradtui: full</title></head>"
        "<body style='background:#0c181f;color:#eee;font-family:monospace;padding:2em'>"
        f"<h1>gradtui is full</h1><p>All {n} sessions are in use. Try again later: "
        "reload this page when someone has closed theirs.</p></body></html>"
    )


DOWNLOADS_UNDER = """<script>
(() => {
  // gradtui serve --public-url: textual.js fetches a download (the palette's "save
  // screenshot") from /download/ at the site's root; behind a proxy under a path prefix
  // that is not the server. Send it under the public URL, where the proxy forwards.
  const root = window.location.origin + "/download/";
  const under = %s + "/download/";
  const open = window.open.bind(window);
  window.open = (url, target) => {
    const text = String(url);
    return open(text.startsWith(root) ? under + text.slice(root.length) : text, target);
  };
})();
</script>
"""


def with_downloads_under(page: str, public_url: str) -> str:
    """The app's page with its downloads fetched under ``public_url`` (textual-serve 1.1.3
    fetches them from the site's root, past a proxy's path prefix)."""
    # The URL was checked by the CLI (no quotes, spaces or angle brackets); as a JSON
    # string with "</" escaped, it cannot end the script whatever it holds.
    literal = json.dumps(public_url.rstrip("/")).replace("</", "<\\/")
    script = DOWNLOADS_UNDER % literal
    marker = "<script"
    at = page.find(marker)
    return page[:at] + script + page[at:] if at >= 0 else page


FULL_TEXT = "gradtui is full: all {n} sessions are in use. Try again later (reload this page)."
"""What a viewer's terminal says when the server filled up between its page and its socket."""


class Session(AppService):
    """One viewer's app process: started without a shell, limited, dying with the server."""

    def __init__(self, argv: list[str], limits: str, **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.limits = limits

    @property
    def pid(self) -> int | None:
        """The app's process id (``None`` before it starts)."""
        return self._process.pid if self._process is not None else None

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        environment = self._build_environment(width=width, height=height)
        environment[LIMITS_ENV] = self.limits
        environment[PARENT_ENV] = str(os.getpid())
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # a terminal's Ctrl+C reaches the server only
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the app if it is still running."""
        process = self._process
        if process is not None and process.returncode is None:
            try:
                process.send_signal(signum)
            except ProcessLookupError:
                pass

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def wait(self) -> None:
        if self._process is not None:
            await self._process.wait()


class GradServer(Server):
    """textual-serve's server, with gradtui's children, session limit and quick stop.

    Args:
        app_argv: The served app's options (``[OP] [--set NAME=TEXT]...``).
        host, port, public_url: Where to listen, and the address browsers use (behind a
            reverse proxy, the proxy's).
        max_sessions: Apps that may run at once.
        session_memory_mb, session_cpu_s: Each app's address-space and CPU-time limits.
    """

    def __init__(
        self,
        app_argv: list[str],
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        public_url: str | None = None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        session_memory_mb: int = DEFAULT_SESSION_MEMORY_MB,
        session_cpu_s: int = DEFAULT_SESSION_CPU_S,
    ) -> None:
        self.argv = [sys.executable, "-m", "gradtui.tui.served", *app_argv]
        super().__init__(
            " ".join(["gradtui", *app_argv]),
            host=host,
            port=port,
            title="gradtui",
            public_url=public_url.rstrip("/") if public_url else None,
        )
        self.behind_proxy = public_url is not None
        """``--public-url`` was given: the page's downloads go through it too."""
        self.max_sessions = max_sessions
        self.limits = f"{session_memory_mb * 1024 * 1024},{session_cpu_s}"
        self.sessions: set[Session] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.max_sessions

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if self.full:
            return web.Response(
                status=503,
                text=full_page(self.max_sessions),
                content_type="text/html",
                headers={"Retry-After": "60"},
            )
        response = await super().handle_index(request)
        if self.behind_proxy and isinstance(response, web.Response) and response.text:
            response.text = with_downloads_under(response.text, self.public_url)
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Run one viewer's app for as long as its page is open (at most ``max_sessions``)."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)
        if self.full:
            await websocket.send_bytes(FULL_TEXT.format(n=self.max_sessions).encode())
            await websocket.close()
            return websocket
        session = Session(
            self.argv,
            self.limits,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.sessions.add(session)
        self.sockets.add(websocket)
        try:
            await session.start(width, height)
            try:
                await self._process_messages(websocket, session)
            finally:
                await self._end(session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - logged; the viewer's page just closes
            log.exception(error)
        finally:
            self.sockets.discard(websocket)
            self.sessions.discard(session)
            await self._end(session)
        return websocket

    async def _end(self, session: Session) -> None:
        """Ask the app to quit; if it has not within the grace, end it."""
        if not session.running:
            await session.stop()
            return
        try:
            await asyncio.wait_for(asyncio.shield(session.stop()), STOP_GRACE_S)
        except TimeoutError:
            session.signal(signal.SIGKILL)
            await session.wait()

    async def on_startup(self, app: web.Application) -> None:
        print(
            f"gradtui serve: open {self.public_url} in a browser "
            f"(up to {self.max_sessions} sessions; Ctrl+C stops)",
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C or SIGTERM: close every page and end every app, now."""
        for session in list(self.sessions):
            session.signal(signal.SIGTERM)
        for websocket in list(self.sockets):
            await websocket.close(code=1001, message=b"gradtui serve stopped")
        waits = [session.wait() for session in list(self.sessions)]
        if waits:
            done = asyncio.gather(*waits)
            try:
                await asyncio.wait_for(done, STOP_GRACE_S)
            except TimeoutError:
                self.kill_all()

    def kill_all(self) -> None:
        """SIGKILL every app still running."""
        for session in list(self.sessions):
            session.signal(signal.SIGKILL)

    def request_exit(self) -> None:
        raise GracefulExit()

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C or SIGTERM; every app has ended when this returns."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # Ctrl+C, kill, and a terminal that hangs up (an SSH session the server ran in)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
                shutdown_timeout=0.5,
            )
        finally:
            self.kill_all()
