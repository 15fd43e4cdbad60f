"""The fuzz tests' runner: seeded, reproducible, scaled by ``--long``, counted.

Every fuzz test hands a strategy and a check to the :func:`fuzz` fixture. It runs the
check under Hypothesis with a fixed seed (``GRADTUI_FUZZ_SEED``, default 0) and no
example database, so the same command runs the same cases on every machine. On a
failure Hypothesis prints the falsifying example (and a ``@reproduce_failure`` blob),
and the runner adds the seed and the command that repeats the run. ``--long``
multiplies the number of examples by :data:`LONG_FACTOR`. At the end of the session
the number of cases each fuzz test ran is printed (``fuzz cases run``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

LONG_FACTOR = 10
SEED = int(os.environ.get("GRADTUI_FUZZ_SEED", "0"))
_TALLY: dict[str, dict[str, int]] = {}


class Fuzz:
    """Runs one fuzz test's cases and counts what happened to them."""

    def __init__(self, request: pytest.FixtureRequest):
        self.request = request
        self.long = bool(request.config.getoption("--long"))
        self.counts = _TALLY.setdefault(request.node.nodeid, {"cases": 0})

    def count(self, key: str) -> None:
        """Count one outcome (``"gradchecked"``, ``"refused"``, ``"answered"`` ...)."""
        self.counts[key] = self.counts.get(key, 0) + 1

    def run(
        self, strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int
    ) -> None:
        """Run ``check`` on ``examples`` (x LONG_FACTOR under --long) cases drawn from ``strategy``."""
        n = examples * (LONG_FACTOR if self.long else 1)

        @seed(SEED)
        @settings(
            max_examples=n,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(strategy)
        def cases(value: Any) -> None:
            self.counts["cases"] += 1
            check(value)

        try:
            with warnings.catch_warnings():
                # a deep recursive grammar has a long repr; Hypothesis warns when it builds it
                warnings.filterwarnings("ignore", "Generating overly large repr", HypothesisWarning)
                cases()
        except BaseException as exc:
            exc.add_note(
                f"fuzz seed {SEED}; rerun these cases with: GRADTUI_FUZZ_SEED={SEED} "
                f"python -m pytest '{self.request.node.nodeid}'" + (" --long" if self.long else "")
            )
            raise


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> Fuzz:
    """A seeded Hypothesis runner for this test (see the module docstring)."""
    return Fuzz(request)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TALLY:
        return
    terminalreporter.section(f"fuzz cases run (seed {SEED})")
    total = 0
    for nodeid, counts in _TALLY.items():
        total += counts["cases"]
        rest = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "cases")
        terminalreporter.write_line(
            f"{counts['cases']:6d}  {nodeid}" + (f"  ({rest})" if rest else "")
        )
    terminalreporter.write_line(f"{total:6d}  in all")
