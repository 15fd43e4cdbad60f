"""``gradtui snippet`` killed in the middle of a long snippet: it ends, and leaves nothing.

A real subprocess runs a snippet of 198 products of 1000x1000 matrices with no time
bound (``--timeout 0``): many seconds of torch work in the bound's worker thread. Once
it has spent a few seconds of CPU (torch imported, the snippet running), it gets SIGTERM
(``kill``) or SIGHUP (the terminal went away). The process must end by that signal,
print no traceback, and leave no process behind in its group or session. Waits are
generous loops ("ends at all within N s"); the time it took is printed, not asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, plain_env, proc_stat, related_processes

HEAVY = "import torch\na = torch.ones(1000, 1000)\n" + "b = a @ a\n" * 198
BUSY_CPU_S = 4.0
"""CPU seconds spent before the signal: past torch's import, inside the snippet."""
WAIT_S = 120.0
"""How long to wait for each stage before calling it stuck (a loaded 2-core machine)."""


def _cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_ends_a_long_snippet(sig: signal.Signals, tmp_path: Path) -> None:
    source = tmp_path / "heavy.py"
    source.write_text(HEAVY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtui.tui.cli", "snippet", str(source), "--timeout", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env=plain_env({"PYTHONPATH": str(ROOT)}),
        text=True,
        start_new_session=True,  # its own session: whatever it leaves is findable
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while _cpu_seconds(proc.pid) < BUSY_CPU_S and proc.poll() is None:
            assert time.monotonic() < deadline, "the snippet never got busy"
            time.sleep(0.1)
        assert proc.poll() is None, ("it finished before the signal", proc.returncode)
        threads = int((proc_stat(proc.pid) or ["0"] * 20)[17])
        assert threads >= 2, threads  # the time bound's worker thread is running the snippet
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=WAIT_S)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"{sig.name}: ended {took:.2f} s after the signal, status {proc.returncode}")
    assert proc.returncode in (-sig, 128 + sig), (proc.returncode, err[-2000:])
    assert "Traceback" not in out + err, err[-2000:]
    deadline = time.monotonic() + WAIT_S
    while related_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not related_processes(proc.pid), "a process was left behind"
