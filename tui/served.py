"""One browser viewer's app: the process ``gradtui serve`` starts for each connection.

``python -m gradtui.tui.served [OP] [--set NAME=TEXT]...`` takes the terminal app's
options, but talks to the server over pipes (Textual's web driver), so it skips the
terminal check that ``gradtui`` keeps for people at a terminal. Before anything imports
torch it:

- puts itself under resource limits (:func:`tui.sandbox.limit_resources`): address
  space, CPU seconds, no core files, from ``GRADTUI_SERVE_LIMITS`` (set by the server);
- asks the kernel for SIGTERM when the server dies (:func:`tui.sandbox.die_with_parent`),
  so a server killed with SIGKILL leaves no app behind.

Its driver (:class:`ServedDriver`) also leaves when the server's pipe reaches end-of-file:
Textual's web driver stops reading there but never ends the app.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from gradtui.tui.sandbox import LIMITS_ENV, PARENT_ENV, die_with_parent, limit_resources


def _make_driver() -> type:
    from textual import messages
    from textual.drivers.web_driver import WebDriver

    class ServedDriver(WebDriver):
        """Textual's web driver; ends the app when the server's pipe closes.

        After end-of-file on stdin (the server is gone) nothing can be shown and no key
        can come, so the app exits through its normal path; if that stalls, the process
        leaves after :data:`tui.terminal.EXIT_GRACE_S`. Writes to a pipe nobody reads any
        more are dropped instead of raising in the app.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._gone = False
            write = self._write

            def safe_write(data: bytes) -> int:
                if self._gone:
                    return len(data)
                try:
                    return write(data)
                except OSError:
                    self._gone = True
                    return len(data)

            self._write = safe_write

        def run_input_thread(self) -> None:
            super().run_input_thread()
            if self.exit_event.is_set():
                return  # the app is leaving by itself
            self._gone = True
            from gradtui.tui.terminal import EXIT_GRACE_S

            def leave_soon() -> None:
                time.sleep(EXIT_GRACE_S)
                os._exit(0)

            threading.Thread(target=leave_soon, name="gradtui-served-exit", daemon=True).start()
            try:
                self._loop.call_soon_threadsafe(self._app.post_message, messages.ExitApp())
            except RuntimeError:  # the loop has closed: the process is on its way out
                pass

        def start_application_mode(self) -> None:
            import asyncio

            self._loop = asyncio.get_running_loop()
            super().start_application_mode()

    return ServedDriver


def main(argv: list[str] | None = None) -> int:
    """Run one served app with the terminal app's options; returns the exit status."""
    limit_resources(os.environ.get(LIMITS_ENV))
    parent = os.environ.get(PARENT_ENV)
    die_with_parent(int(parent) if parent and parent.isdigit() else None)

    from gradtui.tui.cli import UsageError, build_parsers, parse_sets

    parser = build_parsers()["app"]
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        values = parse_sets(args.sets)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from gradtui.tui.app import GradApp

    app = GradApp(args.op, values, mouse=not args.no_mouse, served=True)
    app.driver_class = _make_driver()
    app.run(mouse=not args.no_mouse)
    return app.return_code or 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
