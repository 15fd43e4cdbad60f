"""Run the real ``gradtui`` in a pseudo-terminal, as an SSH session or a terminal would.

:class:`PtyApp` forks the console script onto a new pty (the child is a session leader
with the pty as its controlling terminal, as under ``sshd``), keeps draining what it
writes (a full pty buffer would block the app), and lets a test wait for text, send a
signal, hang up the terminal and look for processes left behind in ``/proc``.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def gradtui_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m gradtui.tui.cli``."""
    script = Path(sys.executable).with_name("gradtui")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gradtui.tui.cli"]


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(ppid, pgid, sid)`` of process ``pid`` from ``/proc``, or ``None`` if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has already exited; only its parent's wait is missing
        return None
    return int(fields[1]), int(fields[2]), int(fields[3])


def related_processes(pid: int) -> list[int]:
    """Live processes that are children of ``pid`` or in its process group or session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        stat = _stat(int(entry.name))
        if stat is not None and pid in stat:
            found.append(int(entry.name))
    return found


class PtyApp:
    """``gradtui ARGS`` on a fresh pty of ``cols`` x ``rows``."""

    def __init__(
        self,
        args: list[str] | None = None,
        cols: int = 100,
        rows: int = 30,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NO_COLOR", "TEXTUAL", "TEXTUAL_DRIVER", "COLUMNS", "LINES")
        }
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        env.update(extra_env or {})
        argv = gradtui_command() + list(args or [])
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once (the parent has threads)
            try:
                os.chdir(ROOT)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.output = bytearray()
        self.status: int | None = None
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def pump(self, seconds: float = 0.05) -> None:
        """Read whatever the app has written within ``seconds``."""
        if self.fd < 0:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the slave side is closed (the app has exited)
                data = b""
            self.output += data

    def wait_for(self, text: bytes, timeout: float) -> bool:
        """Drain output until ``text`` has appeared (``False`` on time-out or exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.poll() is not None:
                self.pump(0)
                return text in self.output
            self.pump()
        return text in self.output

    def poll(self) -> int | None:
        """The wait status once the process has exited, else ``None``."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
        return self.status

    def wait_exit(self, timeout: float) -> int | None:
        """Drain output until the process exits; its wait status, or ``None`` on time-out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                for _ in range(20):  # what it wrote last may still be in the pty
                    before = len(self.output)
                    self.pump(0.02)
                    if len(self.output) == before:
                        break
                return self.status
            self.pump()
        return None

    def hang_up(self) -> None:
        """Close the terminal's master side, as a dropped SSH connection does."""
        os.close(self.fd)
        self.fd = -1

    def kill(self) -> None:
        """Clean up after a failed test: kill the app's whole session, close the pty."""
        if self.poll() is None:
            for pid in [self.pid, *related_processes(self.pid)]:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
