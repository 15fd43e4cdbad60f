"""The real terminal: Textual's Linux driver, made safe for a terminal that goes away.

A dropped SSH connection or a killed tmux pane hangs up the pty under the app. The
kernel then sends the app SIGHUP *and* SIGCONT, and every write to the terminal fails
with ``EIO``. Two things in Textual's :class:`~textual.drivers.linux_driver.LinuxDriver`
turned that into a process that never exits (seen: 7 of 10 left alive on a busy machine,
one for 12 minutes, holding 300 MB to 4 GB):

- Its writer thread (``textual-output``) dies on the first failed write. Every later
  write still goes into the dead thread's queue, which holds 30 items; the 31st blocks
  the UI thread forever (stack dumps: ``_shutdown → disable_input →
  _disable_mouse_support → WriterThread.write → Queue.put`` and ``_shutdown → close →
  WriterThread.stop → Queue.put``).
- Its SIGCONT handler restarts application mode whenever any SIGCONT arrives, not only
  after the app suspended itself: the hang-up's SIGCONT started a second writer thread
  (which died at once on ``EIO``) and left the first one waiting in ``Queue.get``.

:class:`TerminalDriver` writes through :class:`TerminalOutput`, which swallows the
failure and discards what follows (nobody can see it), and resumes only after its own
suspend. :class:`ExitWatchdog` bounds whatever else could stall the exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


def _grace() -> float:
    """``GRADTUI_EXIT_GRACE`` seconds if set to a positive number, else 2."""
    try:
        value = float(os.environ.get("GRADTUI_EXIT_GRACE", ""))
    except ValueError:
        return 2.0
    return value if 0 < value < 3600 else 2.0


EXIT_GRACE_S = _grace()
"""Seconds the clean exit may take after SIGHUP or SIGTERM before the process just leaves
(2; ``GRADTUI_EXIT_GRACE`` changes it: tests that check the clean path's terminal
restoration give it long enough that the watchdog never decides the outcome)."""


class TerminalOutput:
    """A text stream for Textual's writer thread that survives the terminal going away.

    The first failed write or flush (``EIO`` on a hung-up pty, ``EPIPE``, a closed file)
    marks the terminal gone; from then on everything is dropped, so the writer thread
    keeps draining its queue and no write from the UI thread can block on it.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.gone = False
        """Whether a write has failed: the terminal is not there any more."""

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.gone = True

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()


class TerminalDriver(LinuxDriver):
    """Textual's Linux driver; exits cleanly when the terminal hangs up (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = TerminalOutput(self._file)
        self._suspended = False

    def _sigtstp_application(self, *args: Any) -> None:
        """Ctrl+Z: remember that the app suspended itself, so SIGCONT may resume it."""
        self._suspended = self._auto_restart
        super()._sigtstp_application(*args)

    def _sigcont_application(self, *args: Any) -> None:
        """Resume only what :meth:`_sigtstp_application` suspended.

        Any other SIGCONT (the one a hang-up brings, a stray ``kill -CONT``) leaves the
        running app alone instead of starting a second application mode.
        """
        if self._suspended:
            self._suspended = False
            super()._sigcont_application(*args)


class ExitWatchdog:
    """Leaves the process with status ``128 + signal`` if a clean exit overruns.

    :meth:`catch` installs a handler for each signal that starts the grace period and
    then calls ``on_signal(signum)`` (which begins the clean exit). The handler only
    writes the signal's number to a pipe (no lock, so it cannot deadlock with whatever
    the main thread was doing when the signal came); a daemon thread reading that pipe
    waits :data:`EXIT_GRACE_S` and then calls ``os._exit``. A clean exit that finishes in
    time ends the process first, and the thread with it.
    """

    def __init__(self, grace_s: float = EXIT_GRACE_S) -> None:
        self.grace_s = grace_s
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._thread = threading.Thread(
            target=self._wait, name="gradtui-exit-watchdog", daemon=True
        )
        self._thread.start()

    def catch(self, signums: tuple[int, ...], on_signal: Any) -> None:
        """Handle ``signums`` here (main thread only): start the watchdog, then ``on_signal``."""

        def handler(signum: int, _frame: object) -> None:
            try:
                os.write(self._write, bytes([signum]))
            except OSError:  # a second signal with the pipe full: already counting down
                pass
            on_signal(signum)

        for signum in signums:
            signal.signal(signum, handler)

    def _wait(self) -> None:
        try:
            signum = os.read(self._read, 1)[0]
        except (OSError, IndexError):
            return
        time.sleep(self.grace_s)
        os._exit(128 + signum)


def catch_exit_signals(signums: tuple[int, ...], exit_on_signal: Callable[[int], object]) -> None:
    """Turn ``signums`` into ``exit_on_signal(signum)`` on the running event loop, bounded.

    The handler schedules ``exit_on_signal`` on the event loop, so the app leaves through
    its normal exit path on the UI thread: workers cancelled, terminal restored. It also
    starts an :class:`ExitWatchdog`: if that path has not ended the process within
    :data:`EXIT_GRACE_S`, the process leaves anyway with the same status. Signals can
    only be caught on the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        try:
            loop.call_soon_threadsafe(exit_on_signal, signum)
        except RuntimeError:  # the loop has closed: the process is on its way out
            pass

    ExitWatchdog().catch(signums, on_signal)
