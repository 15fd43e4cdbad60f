"""``gradtui serve`` from the command line: where it listens, what it says, what it refuses.

No browser here (``tests/browser`` opens pages); the server is started, looked at through
``/proc/net/tcp`` and stopped with SIGINT, as Ctrl+C would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.browser import free_port, wait_for
from tests.helpers import gradtui, plain_env

LISTEN = "0A"


def listening(port: int) -> set[str]:
    """The IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == LISTEN:
            raw = bytes.fromhex(address)[::-1]
            found.add(".".join(str(b) for b in raw))
    return found


def run_server(*args: str) -> tuple[set[str], str, str, int]:
    """Start ``gradtui serve --port P ARGS``, see where it listens, Ctrl+C it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtui", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=plain_env(),
    )
    try:
        addresses = wait_for(lambda: listening(port), 60, "the server to listen")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return addresses, out, err, proc.returncode  # type: ignore[return-value]


def test_it_listens_on_loopback_only_by_default_and_stops_on_ctrl_c() -> None:
    addresses, out, err, status = run_server()
    assert addresses == {"127.0.0.1"}
    assert "warning" not in err
    assert "open http://127.0.0.1:" in out
    assert status == 0
    assert "Traceback" not in out + err


def test_a_non_local_host_says_in_one_line_what_it_exposes() -> None:
    addresses, _, err, status = run_server("--host", "0.0.0.0", "--max-sessions", "3")
    assert addresses == {"0.0.0.0"}
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "0.0.0.0" in warnings[0] and "3 sessions" in warnings[0]
    assert status == 0


@pytest.mark.parametrize(
    "args",
    [
        ("--max-sessions", "0"),
        ("--public-url", "javascript:alert(1)"),
        ("--session-memory", "1"),
        ("--", "gradtui", "--bogus"),
        ("--", "gradtui", "--set", "no-equals-sign"),
    ],
)
def test_bad_options_are_refused_in_one_line_before_serving(args: tuple[str, ...]) -> None:
    result = gradtui("serve", *args, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""


def test_the_served_entry_point_refuses_bad_options_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gradtui.tui.served", "--bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=plain_env(),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
