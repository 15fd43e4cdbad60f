"""The control that makes a hostile corpus's canary assertions meaningful.

Each payload is handed to plain Python in a throwaway subprocess (``script`` says how it
runs the text, as a naive tool would), with its own canary path; what comes back is,
per payload, whether its canary appeared. gradtui never runs text this way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.helpers import python


def live_under_python(
    script: str, corpus: Sequence[Any], payloads: Callable[[Path], Sequence[Any]], tmp: Path
) -> list[bool]:
    """Per payload of ``corpus``, whether plain Python running it wrote its canary."""
    items = []
    for i in range(len(corpus)):
        canary = tmp / f"canary-{i}"
        items.append({"text": payloads(canary)[i].text, "canary": str(canary)})
    env = {**os.environ, "PYTHONBREAKPOINT": "0"}
    done = python(script, stdin=json.dumps(items), cwd=tmp, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
