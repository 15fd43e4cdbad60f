"""``gradtui model`` killed in the middle of a step: it ends, and leaves nothing.

A real subprocess trains a model of 999,000 parameters for one recorded step with no time
bound (``--timeout 0``): after torch's import, seconds of work in the bound's worker
thread (the forward and backward passes, every node's tensors copied out). The signal is
sent once the process has spent, in CPU seconds, what importing torch and the engine costs
(measured first, in the same run) plus half a second: inside the step. SIGTERM (``kill``)
or SIGHUP (the terminal went away) must end the process by that signal, with no
traceback and no process left behind. Waits are generous loops; times are printed, not
asserted.
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

WAIT_S = 120.0
ARGS = [
    "model",
    "Linear(999, 999) -> Tanh() -> Linear(999, 1)",
    "--data",
    "randn(100, 999)",
    "--target",
    "randn(100, 1)",
    "--timeout",
    "0",
    "--json",
]


def _cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _import_cpu_seconds() -> float:
    """CPU seconds a fresh interpreter spends importing torch and the model engine."""
    code = (
        "import resource, gradtui.ops.model, gradtui.tui.cli\n"
        "r = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(r.ru_utime + r.ru_stime)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=plain_env({"PYTHONPATH": str(ROOT)}),
    )
    return float(out.stdout.strip())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_ends_a_model_step(sig: signal.Signals, tmp_path: Path) -> None:
    busy = _import_cpu_seconds() + 0.5
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtui.tui.cli", *ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        env=plain_env({"PYTHONPATH": str(ROOT)}),
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while _cpu_seconds(proc.pid) < busy and proc.poll() is None:
            assert time.monotonic() < deadline, "the model never got busy"
            time.sleep(0.05)
        assert proc.poll() is None, ("it finished before the signal", proc.returncode)
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
    assert out == "", "it printed a result: the signal came after the step"
    deadline = time.monotonic() + WAIT_S
    while related_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not related_processes(proc.pid), "a process was left behind"
