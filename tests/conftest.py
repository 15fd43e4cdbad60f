"""Options shared by the whole suite.

``--long`` scales up the randomised tests (fuzzing, and later the app's monkey test):
the default run stays fast enough for CI, the long run digs deeper before a release.
"""

from __future__ import annotations

import pytest

collect_ignore = ["benchmarks"]
"""tests/benchmarks is a script (``python tests/benchmarks/run.py``), not part of the test run."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the randomised tests at full length (more fuzz examples, more monkey events)",
    )


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    """Whether ``--long`` was given."""
    return bool(request.config.getoption("--long"))
