"""Figures that used to be wall-clock limits in the tests: ``python tests/benchmarks/deadlines.py``.

A limit in seconds inside a test flakes on a shared machine (``test_responsive`` failed
at 101 ms against 100 ms on 2 busy cores), so the tests now assert order and counts and
these seconds are measured here, each next to a baseline taken in the same run.
:func:`measure` is called by ``run.py``; run alone, this prints its own table and JSON.
How fast keys are answered while the engine computes (``test_responsive``'s old 100 ms)
is ``keys.py``'s figure, measured in a real pty.

``product_ms``
    One 1000x1000 float64 matrix product (best of 3): the unit of machine speed below,
    and the one torch call an abandoned worker may finish before it stops.
``abandon_stop_ms``, ``abandon_stop_vs_product``
    ``run`` of 255 such products under a 0.3 s bound: from ``ComputationTimeout`` until
    the worker thread has ended (it stops at its next step boundary). Median.
``refusal_max_ms``, ``refusal_max_cpu_ms``
    The slowest case of ``tests/security/bounds.py`` (huge powers, deep nesting, oversized
    tensors…), wall and CPU, measured in a fresh interpreter (the tests' old limit: 1 s).
``deep_formula_ms``, ``deep_formula_vs_product``
    SymPy's formulas for ``sin(sin(…30…(x)))`` and ``x*x*…60…*x`` (the tests' old limit: 10 s).
``signal_exit_ms``, ``signal_exit_vs_grace``
    The real ``gradtui`` in a pty, SIGTERM once ``ExpBackward0`` is on screen, until it
    has exited; median, and its ratio to the app's own bound ``EXIT_GRACE_S`` (2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _product_ms() -> float:
    import torch

    a = torch.ones(1000, 1000, dtype=torch.float64)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        a @ a
        times.append((time.perf_counter() - start) * 1000)
    return min(times[1:])


def _abandon_ms(repeats: int) -> list[float]:
    from gradtui.ops.run import run
    from gradtui.ops.timebound import ComputationTimeout
    from tests.helpers import balanced

    heavy = f"sum({balanced(256, 'x')})"
    out = []
    for _ in range(repeats):
        try:
            run(heavy, {"x": "ones(1000, 1000)"}, dtype="float64", timeout=0.3)
        except ComputationTimeout:
            start = time.perf_counter()
        while any(t.name.startswith("gradtui-bound") for t in threading.enumerate()):
            time.sleep(0.001)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _refusals() -> tuple[float, float]:
    from tests.security.bounds import run_fresh

    rows = json.loads(run_fresh(timeout=600).stdout)
    return max(r["wall_s"] for r in rows) * 1000, max(r["cpu_s"] for r in rows) * 1000


def _deep_formula_ms() -> float:
    from gradtui.ops.formulas import derivative_formula

    derivative_formula("x", "x")  # SymPy's import is not the figure
    start = time.perf_counter()
    derivative_formula("sin(" * 30 + "x" + ")" * 30, "x")
    derivative_formula("*".join(["x"] * 60), "x")
    return (time.perf_counter() - start) * 1000


def _signal_exit_ms(repeats: int) -> list[float]:
    from tests.helpers import PtyApp

    out = []
    for _ in range(repeats):
        app = PtyApp(cols=120, rows=40)
        try:
            if not app.wait_for(b"ExpBackward0", 120):
                continue
            app.pump(0.2)
            start = time.perf_counter()
            os.kill(app.pid, signal.SIGTERM)
            if app.wait_exit(60) is not None:
                out.append((time.perf_counter() - start) * 1000)
        finally:
            app.kill()
    return out


def measure(quick: bool) -> dict[str, object]:
    """Every figure above: ``{"figures": {...}, "rows": [(name, value, target, ok), ...]}``."""
    from gradtui.tui.terminal import EXIT_GRACE_S

    med = statistics.median
    product = _product_ms()
    abandon = _abandon_ms(2 if quick else 5)
    refusal_wall, refusal_cpu = _refusals()
    formula = _deep_formula_ms()
    exits = _signal_exit_ms(2 if quick else 5)
    exit_ms = med(exits) if exits else None
    f = {
        "product_ms": round(product, 1),
        "abandon_stop_ms": round(med(abandon), 1),
        "abandon_stop_vs_product": round(med(abandon) / product, 2),
        "refusal_max_ms": round(refusal_wall, 1),
        "refusal_max_cpu_ms": round(refusal_cpu, 1),
        "deep_formula_ms": round(formula, 1),
        "deep_formula_vs_product": round(formula / product, 1),
        "signal_exit_ms": None if exit_ms is None else round(exit_ms, 1),
        "signal_exit_vs_grace": None
        if exit_ms is None
        else round(exit_ms / 1000 / EXIT_GRACE_S, 2),
    }
    rows = [
        (
            "abandoned worker ends (ms) / one product",
            f"{f['abandon_stop_ms']} / {f['product_ms']} = {f['abandon_stop_vs_product']}",
            "",
            None,
        ),
        (
            "slowest refusal wall / CPU (ms)",
            f"{f['refusal_max_ms']} / {f['refusal_max_cpu_ms']}",
            "≤ 1000",
            max(refusal_wall, refusal_cpu) <= 1000,
        ),
        ("deep formulas (ms)", f"{f['deep_formula_ms']}", "≤ 10000", formula <= 10000),
        (
            "exit after SIGTERM (ms) / grace",
            "n/a" if exit_ms is None else f"{f['signal_exit_ms']} / {f['signal_exit_vs_grace']}",
            "< 1",
            None if exit_ms is None else f["signal_exit_vs_grace"] < 1,
        ),
    ]
    return {"figures": f, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats")
    got = measure(parser.parse_args(argv).quick)
    rows = got["rows"]
    assert isinstance(rows, list)
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"  {name:<{width}}  {value}  {target}{mark}")
    print(json.dumps(got["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
