"""Run the real ``gradtui`` command line in subprocesses, two at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_many(
    commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``python -m gradtui.tui.cli ARGS`` for each command, two at a time (they are torch-bound)."""
    root = Path(__file__).resolve().parents[2]
    full_env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(root), **(env or {})}
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
