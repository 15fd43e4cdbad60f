"""Where an abandoned computation stopped: a non-timing proof that it stopped early.

The engine calls :func:`ops.timebound.check` at its step boundaries; once a bound is
cancelled or expired, the next call raises :class:`ops.timebound.Abandoned` and the
worker ends there. :class:`StepWatch` wraps that function and records, for each worker
thread, the module whose step boundary raised. A worker that was told to stop and ran
its work to the end anyway records nothing, so a test can tell "stopped at a step" from
"finished late" without a clock (wall-clock limits flake on a shared machine; the
times are in ``tests/benchmarks``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gradtui.ops import timebound


class StepWatch:
    """Records which module's step boundary stopped each abandoned worker thread.

    Args:
        monkeypatch: Undoes the wrapping after the test.
        at: ``{module: callback}``: the first time a step boundary in ``module`` is
            passed, ``callback()`` runs there, on the worker (to give up on the
            computation at a moment the test chooses rather than one a clock chooses).
    """

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, at: dict[str, Callable[[], object]] | None = None
    ) -> None:
        self.stopped_in: dict[str, str] = {}
        """Thread name -> the engine module (``language``, ``backward``, ``curves``) it stopped in."""
        original = timebound.check
        pending = dict(at or {})

        def check() -> None:
            caller = Path(sys._getframe(1).f_code.co_filename).stem
            try:
                original()
            except timebound.Abandoned:
                self.stopped_in[threading.current_thread().name] = caller
                raise
            callback = pending.pop(caller, None)
            if callback is not None:
                callback()

        monkeypatch.setattr(timebound, "check", check)
