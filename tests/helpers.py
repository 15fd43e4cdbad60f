"""What many tests do the same way, written once: run gradtui, drive the app, watch a pty.

* **Subprocesses.** :func:`gradtui` runs the command line (``python -m gradtui.tui.cli``)
  with plain output; :func:`gradtui_many` runs a batch two at a time; :func:`python`
  runs a snippet in a fresh interpreter and :func:`modules_after` lists what it imported
  (the layering and "does not import torch" tests).
* **Pilot.** :func:`running` runs a :class:`~gradtui.tui.app.GradApp` headless and waits
  for its first answer; :func:`settle` waits for the answer to the newest edit. Every
  test drives the real app with the real engine and torch, and ``settle`` keeps the
  assertions from racing the worker threads. :func:`screen_text` reads any App's screen
  as plain text (the widget tests' small host Apps too).
* **A real terminal.** :class:`PtyApp` runs the console script on a fresh pty, as an
  SSH session or a terminal does.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from textual import events
from textual.app import REPLACED_KEYS, App, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot
from textual.widgets import Input

from gradtui.tui.app import GradApp
from gradtui.tui.widgets.inputs import InputsPanel

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root (the working directory of every subprocess run here)."""

# ------------------------------------------------------------------------ subprocesses


def plain_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with ``NO_COLOR=1`` (plain text to compare), plus ``extra``."""
    return {**os.environ, "NO_COLOR": "1", **(extra or {})}


def console_script() -> Path:
    """The ``gradtui`` console script that ``pip install`` put next to this interpreter."""
    return Path(sys.executable).with_name("gradtui")


def gradtui_command() -> list[str]:
    """The installed console script, else ``python -m gradtui.tui.cli``."""
    script = console_script()
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gradtui.tui.cli"]


def gradtui(
    *args: str, timeout: float = 300, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gradtui ARGS`` in a subprocess: stdin not a terminal, ``NO_COLOR=1``, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gradtui.tui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=plain_env(env),
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def gradtui_many(
    commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """:func:`gradtui` for each command, two at a time (they are torch-bound)."""
    full_env = plain_env({"PYTHONPATH": str(ROOT), **(env or {})})
    results: list[subprocess.CompletedProcess[str]] = []
    for start in range(0, len(commands), 2):
        procs = [
            (
                args,
                subprocess.Popen(
                    [sys.executable, "-m", "gradtui.tui.cli", *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    cwd=cwd,
                    env=full_env,
                ),
            )
            for args in commands[start : start + 2]
        ]
        for args, proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def python(
    code: str,
    *,
    timeout: float = 120,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a fresh interpreter, output captured (raises on failure if ``check``)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else dict(env),
    )


def modules_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    out = python(code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))")
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------ Pilot


@asynccontextmanager
async def running(app: GradApp, size: tuple[int, int] = (100, 30)) -> AsyncIterator[Pilot]:
    """Run ``app`` headless at ``size`` (columns, rows), once its first answer is on screen."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield pilot


async def settle(pilot: Pilot) -> GradApp:
    """Wait for the engine's answer to the newest edit and for the screen to catch up."""
    app = pilot.app
    assert isinstance(app, GradApp)
    await pilot.pause()
    await app.settle()
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app


async def type_text(pilot: Pilot, text: str) -> None:
    """Type ``text`` key by key, as a person would."""
    await pilot.press(*text)


async def type_into(pilot: Pilot, name: str, text: str = "") -> Input:
    """Empty the input field ``name``, type ``text`` into it key by key, wait for the answer."""
    field = pilot.app.query_one(InputsPanel).field(name)
    field.focus()
    field.value = ""
    if text:
        await pilot.press(*text)
    await settle(pilot)
    return field


async def wait_for_text(pilot: Pilot, text: str, timeout: float = 10.0) -> str:
    """Pause until ``text`` is on screen (some widgets, like Markdown, render later)."""
    app = pilot.app
    assert isinstance(app, GradApp)
    deadline = time.monotonic() + timeout
    while True:
        screen = app.screen_text()
        if text in screen or time.monotonic() > deadline:
            return screen
        await pilot.pause(0.05)


def screen_text(app: App) -> str:
    """What ``app`` shows, as plain text (what :meth:`GradApp.screen_text` does, for any App)."""
    from gradtui.tui.workarounds import screen_text as text_of

    return text_of(app.screen, *app.size)


def key_event(app: App, key: str) -> events.Key:
    """A key event built exactly as ``Pilot.press`` builds it (to send without its idle wait)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    return event


def balanced(n: int, leaf: str) -> str:
    """``n`` copies of ``leaf`` multiplied as a balanced tree (within the depth cap)."""
    if n == 1:
        return leaf
    return f"({balanced(n // 2, leaf)} @ {balanced(n - n // 2, leaf)})"


HEAVY = f"sum(x * {balanced(120, 'eye(1000)')})"
"""119 products of 1000x1000 constant matrices: allowed, seconds of work on any machine
whatever ``x`` is, and light on memory (constants need no gradient, so no intermediate
product is kept for backward)."""

# ----------------------------------------------------------------------------- a pty


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or ``None``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(ppid, pgid, sid)`` of process ``pid``, or ``None`` if it is gone."""
    fields = proc_stat(pid)
    if fields is None or fields[0] == "Z":  # a zombie has exited; only its parent's wait is missing
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
    """``gradtui ARGS`` on a fresh pty of ``cols`` x ``rows``.

    The child is a session leader with the pty as its controlling terminal (as under
    ``sshd``); the test keeps draining what it writes (a full pty buffer would block the
    app), waits for text, sends signals, hangs up and looks for processes left behind.
    """

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
