"""Resource bounds and the time bound: asking for a lot is answered quickly, with memory untouched.

The table of :mod:`tests.security.bounds` (huge powers, deep nesting, very long text,
oversized tensors, heavy but allowed work) is measured in a fresh interpreter; every
case must be refused with a clear message or answered, with resident memory and peak
memory grown by less than 50 MB (nothing huge was attempted). The seconds each case
took are a figure of the benchmark (``tests/benchmarks/deadlines.py``), not a limit
here: a wall-clock limit flakes on a shared machine.

The time bound (:mod:`ops.timebound`) is tested on a legitimately heavy input: 255
1000x1000 matrix products, which no machine finishes within the tiny bounds used here.
The caller gets ``ComputationTimeout`` (never before its bound), and the abandoned
worker really stops at one of the engine's step boundaries (:class:`tests.stepwatch.StepWatch`
sees it raise there) instead of running its work to the end, and its thread ends.
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import pytest

from gradtui.ops import timebound
from gradtui.ops.curves import sample_curve
from gradtui.ops.errors import InputError
from gradtui.ops.run import run
from gradtui.ops.timebound import DEFAULT_TIMEOUT_S, ComputationTimeout, TimeBound, resolve_timeout
from tests.helpers import balanced, gradtui_many
from tests.security.bounds import CASES, run_fresh
from tests.stepwatch import StepWatch

ROOT = Path(__file__).resolve().parents[2]
MAX_GROWTH_MB = 50.0


HEAVY = f"sum({balanced(256, 'x')})"
HEAVY_VALUES = {"x": "ones(1000, 1000)"}
"""255 products of 1000x1000 float64 matrices, 5*10^11 flops: far beyond any bound used
below on any machine (the language allows each product; only their number makes it slow)."""
HEAVY_CURVE = "sum(x * (ones(1000,1000) @ ones(1000,1000)))"
"""Over 201 points and a kink search: tens of seconds of plotting."""


@pytest.fixture(scope="module")
def measured() -> dict[str, dict]:
    out = run_fresh(timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return {row["id"]: row for row in json.loads(out.stdout)}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bound(case, measured: dict[str, dict]) -> None:  # noqa: ANN001 - a bounds.Case
    row = measured[case.id]
    if case.expect != "either":
        assert row["outcome"] == case.expect, row
    else:
        assert row["outcome"] in ("answered", "refused"), row
    if row["outcome"] == "refused":
        assert case.phrase in row["message"], row
        assert "\n" not in row["message"] and len(row["message"]) < 400, row
    assert row["rss_growth_mb"] < MAX_GROWTH_MB, row
    assert row["peak_growth_mb"] < MAX_GROWTH_MB, row


def test_the_table_covers_the_issue() -> None:
    texts = {c.text for c in CASES}
    for needed in ("9**9**9", "(" * 300, "-" * 5000 + "1", "zeros(10**10)"):
        assert needed in texts
    assert {"randn(10**5, 10**5)", "linspace(0, 1, 10**9)"} <= texts
    assert any(len(c.text) >= 10**6 for c in CASES)


# --------------------------------------------------------------------------- the time bound


def _bound_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gradtui-bound")]


WORKERS_GONE_S = 120.0
"""How long to wait for abandoned workers to end before calling them stuck. Only a guard
against a hang: that they stopped early is shown by :class:`StepWatch`, not by a clock."""


def _wait_workers_gone() -> None:
    """Wait (bounded) until every bound worker thread has ended."""
    deadline = time.monotonic() + WORKERS_GONE_S
    while _bound_threads():
        assert time.monotonic() < deadline, "an abandoned computation never ended"
        time.sleep(0.01)


def _stopped_at_a_step(watch: StepWatch, module: str | None = None) -> None:
    """The abandoned worker ended at a step boundary (in ``module``), not at its work's end."""
    _wait_workers_gone()
    assert watch.stopped_in, "the abandoned worker ran its work to the end"
    if module is not None:
        assert set(watch.stopped_in.values()) == {module}, watch.stopped_in


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    _wait_workers_gone()
    yield
    _wait_workers_gone()


def test_the_heavy_input_is_really_heavy() -> None:
    """It is allowed, and it is 255 products of 1000x1000 matrices (5*10^11 flops)."""
    from gradtui.ops import language

    assert len(HEAVY) <= language.MAX_TEXT_CHARS
    language.parse(HEAVY)  # allowed: no size or depth cap refuses it
    assert HEAVY.count("@") == 255 and HEAVY_VALUES["x"] == "ones(1000, 1000)"


def test_run_is_abandoned_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = StepWatch(monkeypatch)
    start = time.monotonic()
    with pytest.raises(ComputationTimeout) as caught:
        run(HEAVY, HEAVY_VALUES, dtype="float64", timeout=0.3)
    assert time.monotonic() - start >= 0.3  # never before the bound (cannot flake)
    err = caught.value
    assert isinstance(err, InputError) and not err.cancelled
    assert "computation took longer than 0.3 s; abandoned" in str(err)
    _stopped_at_a_step(watch, "language")


def test_a_curve_is_abandoned_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = StepWatch(monkeypatch)
    with pytest.raises(ComputationTimeout, match="longer than 0.3 s"):
        sample_curve(HEAVY_CURVE, timeout=0.3)
    _stopped_at_a_step(watch)


def test_the_default_bound_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timebound.ENV_VAR, raising=False)
    assert DEFAULT_TIMEOUT_S == 5.0 and TimeBound().seconds == 5.0
    monkeypatch.setenv(timebound.ENV_VAR, "0.3")
    assert TimeBound().seconds == 0.3
    with pytest.raises(ComputationTimeout, match="longer than 0.3 s"):
        run(
            HEAVY, HEAVY_VALUES, dtype="float64"
        )  # no timeout= given: the environment's bound applies
    monkeypatch.setenv(timebound.ENV_VAR, "soon")
    with pytest.raises(InputError, match="GRADTUI_TIMEOUT must be a number"):
        run("exp")


def test_timeout_values() -> None:
    assert resolve_timeout(2) == 2.0
    assert resolve_timeout(0) is None and resolve_timeout(math.inf) is None  # no bound
    for bad in (-1.0, math.nan):
        with pytest.raises(InputError):
            resolve_timeout(bad)


def test_light_work_is_unchanged_under_a_bound() -> None:
    bounded = run("x**2 * sin(x)", {"x": "[0.5, 1.0]"}, timeout=5)
    free = run("x**2 * sin(x)", {"x": "[0.5, 1.0]"}, timeout=0)
    assert bounded == free
    with pytest.raises(InputError, match="unknown op") as caught:
        run("nope", timeout=5)  # the worker's own errors reach the caller unchanged
    assert type(caught.value) is InputError


def test_cancel_stops_a_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = TimeBound(0)  # no time limit, but cancellable (what a front end does on a new edit)
    watch = StepWatch(monkeypatch)
    threading.Timer(0.2, bound.cancel).start()
    with pytest.raises(ComputationTimeout, match="cancelled") as caught:
        bound.call(run, HEAVY, HEAVY_VALUES, dtype="float64")
    assert caught.value.cancelled
    _stopped_at_a_step(watch, "language")


def test_an_enclosing_bound_governs_the_engine_calls_inside_it() -> None:
    # The message names the outer 0.3 s, not run()'s own default of 5 s.
    with pytest.raises(ComputationTimeout, match="longer than 0.3 s"):
        TimeBound(0.3).call(
            run, HEAVY, HEAVY_VALUES, dtype="float64"
        )  # run() inside adds no thread of its own


def test_abandoning_passes_through_except_exception() -> None:
    """The engine catches ``Exception`` in places; the stop signal must not be swallowed."""
    steps = []

    def stubborn() -> None:
        while True:
            try:
                steps.append(1)
                timebound.check()
                time.sleep(0.001)
            except Exception:  # noqa: BLE001, S110 - the point of the test
                pass

    with pytest.raises(ComputationTimeout):
        TimeBound(0.1).call(stubborn)
    _wait_workers_gone()
    count = len(steps)
    time.sleep(0.05)
    assert len(steps) == count  # it really stopped
    timebound.check()  # outside any bound: nothing happens


def test_the_cli_abandons_with_one_error_line(tmp_path: Path) -> None:
    grad, plot = gradtui_many(
        [
            [
                "grad",
                HEAVY,
                "--set",
                "x=ones(1000, 1000)",
                "--dtype",
                "float64",
                "--timeout",
                "0.3",
            ],
            ["plot", HEAVY_CURVE, "--timeout", "0.3", "--json"],
        ],
        tmp_path,
    )
    assert grad.returncode == 2, grad.stderr
    assert grad.stderr.strip().splitlines() == [
        "error: computation took longer than 0.3 s; abandoned "
        "(set a longer bound with --timeout or GRADTUI_TIMEOUT)"
    ]
    assert plot.returncode == 2, plot.stderr
    assert "took longer than 0.3 s" in json.loads(plot.stdout)["error"]
    for out in (grad, plot):
        assert "Traceback" not in out.stderr and "terminate called" not in out.stderr
