"""Drive a real program in a real pseudo-terminal and account for every byte it writes.

The benchmark launches ``gradtui`` here exactly as a person's terminal (or an SSH
session) would: a pty of a fixed size, ``TERM=xterm-256color``, keys written as bytes.
Everything the app writes is read back with a timestamp, so start-up times and bytes per
key are what a terminal on the other end of a link would receive.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

KEYS: dict[str, bytes] = {
    "shift+tab": b"\x1b[Z",
    "end": b"\x1b[F",
    "escape": b"\x1b",
    "enter": b"\r",
}
"""Escape sequences an xterm sends for the keys the session uses."""


@dataclass
class PtyApp:
    """A program running in a pty of ``cols`` x ``rows``; call :meth:`start` first.

    Attributes:
        argv: The command line.
        cols: Terminal columns.
        rows: Terminal rows.
        started: ``time.perf_counter()`` just before the process was spawned.
        chunks: Every read, as ``(seconds since started, bytes)``.
    """

    argv: Sequence[str]
    cols: int = 120
    rows: int = 40
    env: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _fd: int = -1
    _seen: bytearray = field(default_factory=bytearray)

    def start(self) -> None:
        """Spawn the program with the pty as its controlling terminal."""
        master, slave = os.openpty()
        # The size is set before the program starts, so its first query sees it.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": "", **self.env}
        env = {k: v for k, v in env.items() if v != ""}
        self.started = time.perf_counter()
        self._proc = subprocess.Popen(
            list(self.argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
            close_fds=True,
        )
        os.close(slave)
        self._fd = master

    @property
    def pid(self) -> int:
        """The program's process id."""
        assert self._proc is not None
        return self._proc.pid

    def read(self, timeout: float) -> bytes:
        """Read what arrives within ``timeout`` seconds (``b""`` if nothing)."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if not ready:
            return b""
        try:
            data = os.read(self._fd, 1 << 16)
        except OSError:  # the program has gone and the pty is closed
            return b""
        now = time.perf_counter() - self.started
        self.chunks.append((now, data))
        self._seen += data
        return data

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> float:
        """Seconds from spawn until ``marker`` was first written (reads until then).

        Raises:
            TimeoutError: It did not appear within ``timeout`` seconds.
        """
        start = len(self._seen)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            # A marker may straddle two reads: search from a little before the new data.
            at = self._seen.find(marker, max(0, start - len(marker)))
            if at >= 0:
                total = 0
                for when, data in self.chunks:
                    total += len(data)
                    if total > at:
                        return when
            self.read(0.05)
        raise TimeoutError(f"{marker!r} did not appear within {timeout:g} s")

    def drain(self, quiet: float = 0.3, limit: float = 5.0) -> int:
        """Read until nothing arrives for ``quiet`` seconds (at most ``limit``); returns bytes."""
        total = 0
        deadline = time.perf_counter() + limit
        last = time.perf_counter()
        while time.perf_counter() < deadline:
            data = self.read(min(0.02, quiet))
            if data:
                total += len(data)
                last = time.perf_counter()
            elif time.perf_counter() - last >= quiet:
                break
        return total

    def send(self, keys: bytes) -> None:
        """Write ``keys`` as a person's terminal would."""
        os.write(self._fd, keys)

    def bytes_for(
        self, keys: bytes, expect: bytes | None = None, quiet: float = 0.3, limit: float = 5.0
    ) -> int:
        """Bytes written in answer to ``keys``: everything until the screen is quiet again.

        ``expect``: bytes the answer must contain (a computed value), waited for before
        the quiet period starts, so a slow computation is not cut off.
        """
        self.drain(quiet=quiet, limit=limit)
        before = len(self._seen)
        self.send(keys)
        if expect is not None:
            deadline = time.perf_counter() + limit
            while self._seen.find(expect, before) < 0 and time.perf_counter() < deadline:
                self.read(0.02)
        return len(self._seen) - before + self.drain(quiet=quiet, limit=limit)

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) of the program and all its descendants, in MB."""
        total_kb = 0
        for pid in _tree(self.pid):
            total_kb += _status_kb(pid, "VmHWM")
        return total_kb / 1024

    def close(self, keys: bytes = b"q", timeout: float = 10.0) -> int | None:
        """Quit with ``keys`` (then SIGTERM, then SIGKILL); returns the exit status."""
        proc = self._proc
        if proc is None:
            return None
        try:
            self.send(keys)
        except OSError:
            pass
        deadline = time.perf_counter() + timeout
        while proc.poll() is None and time.perf_counter() < deadline:
            self.read(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(self._fd)
        self._proc = None
        return proc.returncode


def timed_process(argv: Sequence[str]) -> tuple[float, float]:
    """Run ``argv`` to the end; returns (wall seconds, peak RSS in MB) from ``wait4``."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024


def _tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status (0 if the process has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
