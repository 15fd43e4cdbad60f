"""Resource-bound cases and their measurement, run in a fresh interpreter.

Each case is a text that asks for a lot: a huge power, deep nesting, a very long text,
an oversized tensor, or heavy but allowed work. :func:`measure_all` runs every case
once, after a warm-up, and reports for each: the outcome (answered, or refused with
which message), wall and CPU seconds, and memory growth (resident set from
``/proc/self/statm`` before and after, and the growth of the peak ``ru_maxrss``).

It runs in its own process (``python -m tests.security.bounds``) so that the peak
memory is this table's own and not what earlier tests left behind.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MB = 2**20


@dataclass(frozen=True)
class Case:
    """One bound to check.

    Attributes:
        id: Short name.
        route: ``"language"`` (``tensor_from_text``), ``"run"`` (``ops.run.run``) or
            ``"curve"`` (``ops.curves.sample_curve``).
        text: The text (for ``run``, the target; inputs in ``values``).
        expect: ``"refused"``, ``"answered"`` or ``"either"``.
        phrase: A phrase the refusal must contain (its "clear message").
        values: Inputs for ``run``.
        kwargs: Extra keyword arguments for the route.
    """

    id: str
    route: str
    text: str
    expect: str
    phrase: str = ""
    values: tuple[tuple[str, str], ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


CAP = "at most 1000000"

CASES: tuple[Case, ...] = (
    # huge powers and pow towers
    Case("9**9**9", "language", "9**9**9", "refused", "integer overflow"),
    Case("int pow tower", "language", "2**2**2**2**2**2", "refused", "integer overflow"),
    Case("float pow tower", "language", "2.0**2.0**2.0**2.0**2.0**2.0", "answered"),
    Case("10.0**10**10", "language", "10.0**10**10", "answered"),
    Case("x pow tower", "run", "x**x**x**x**x**x**x**x", "answered"),
    Case("exp tower", "language", "exp(exp(exp(exp(1000.0))))", "answered"),
    # deep nesting and long text
    Case("( x 300", "language", "(" * 300, "refused", "too deep"),
    Case("(1) x 300", "language", "(" * 300 + "1" + ")" * 300, "refused", "too deep"),
    Case("[ x 300", "language", "[" * 300 + "]" * 300, "refused", "too deep"),
    Case("- x 5000 + 1", "language", "-" * 5000 + "1", "refused", "too deep"),
    Case("- x 20000 + 1", "language", "-" * 20_000 + "1", "refused", "too long"),
    Case("- x 1999 + 1", "language", "-" * 1999 + "1", "refused", "too deep"),
    Case("exp( x 70", "run", "exp(" * 70 + "x" + ")" * 70, "refused", "too deep"),
    Case("flat sum, 1999 chars", "language", "+".join(["1.5"] * 400) + "+1.0" * 99, "answered"),
    Case("10^6 chars", "language", "1+" * 500_000 + "1", "refused", "too long"),
    Case("10^6-char name", "run", "x" * 10**6, "refused", "name of 1000000 characters"),
    Case("10^6 chars as v", "run", "exp", "refused", "too long", kwargs=(("grad_output", "1," * 500_000),)),
    Case("1200-part literal", "language", "[" + "-1," * 600 + "]", "refused", "parts"),
    Case("999-element literal", "language", "[" + ",".join(["1"] * 999) + "]", "answered"),
    # oversized tensors
    Case("zeros(10**10)", "language", "zeros(10**10)", "refused", CAP),
    Case("randn(10**5, 10**5)", "language", "randn(10**5, 10**5)", "refused", CAP),
    Case("linspace(0, 1, 10**9)", "language", "linspace(0, 1, 10**9)", "refused", CAP),
    Case("arange(10**15)", "language", "arange(10**15)", "refused", CAP),
    Case("eye(10**7)", "language", "eye(10**7)", "refused", CAP),
    Case("full 10^12", "language", "full([10**6, 10**6], 1.0)", "refused", CAP),
    Case("broadcast 10^12", "language", "ones(10**6, 1) * ones(1, 10**6)", "refused", CAP),
    Case("outer 10^12", "language", "outer(ones(10**6), ones(10**6))", "refused", CAP),
    # the product of the arguments' sizes is 30000, the result's 9 * 10**8 (3.6 GB)
    Case("diagflat 30000", "language", "torch.diagflat(ones(30000))", "refused", CAP),
    Case("matmul 10^12", "language", "ones(10**6, 1) @ ones(1, 10**6)", "refused", CAP),
    Case("input randn 10^10", "run", "exp", "refused", CAP, values=(("input", "randn(10**5, 10**5)"),)),
    Case("v zeros 10^10", "run", "exp", "refused", CAP, kwargs=(("grad_output", "zeros(10**10)"),)),
    Case("curve 10^9 points", "curve", "exp", "refused", "points", kwargs=(("points", 10**9),)),
    # allowed but heavier
    Case("matmul 1000x1000", "language", "ones(1000,1000) @ ones(1000,1000)", "answered"),
    Case("cumsum 10^6", "language", "cumsum(ones(10**6), 0)", "answered"),
    Case("softmax 10^6", "language", "softmax(randn(1000, 1000), 1)", "answered"),
    Case("grad of matmul 300", "run", "sum(x @ x)", "answered", values=(("x", "ones(300, 300)"),)),
    Case("curve of x*sum(..)", "curve", "x * sum(ones(1000, 1000))", "answered"),
)  # fmt: skip


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _call(case: Case) -> Callable[[], Any]:
    from gradtui.ops import language
    from gradtui.ops.curves import sample_curve
    from gradtui.ops.run import run

    kwargs = dict(case.kwargs)
    if case.route == "language":
        return lambda: language.tensor_from_text(case.text)
    if case.route == "run":
        return lambda: run(case.text, dict(case.values), **kwargs)
    return lambda: sample_curve(case.text, dict(case.values), **kwargs)


def measure(case: Case) -> dict[str, Any]:
    """Run one case and report outcome, time and memory."""
    from gradtui.ops.errors import InputError

    call = _call(case)
    rss0, peak0 = _rss(), _peak()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    outcome, message = "answered", ""
    try:
        result = call()
    except InputError as err:
        outcome, message = "refused", str(err)
    except Exception as err:  # noqa: BLE001 - reported, and the test fails on it
        outcome, message = f"crashed ({type(err).__name__})", str(err)[:300]
    else:
        del result
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "id": case.id,
        "outcome": outcome,
        "message": message,
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_growth_mb": (_rss() - rss0) / MB,
        "peak_growth_mb": (_peak() - peak0) / MB,
    }


def warm_up() -> None:
    """Pay the one-time costs (imports, catalog, node rules, SymPy, meta device) first."""
    from gradtui.ops import language
    from gradtui.ops.curves import sample_curve
    from gradtui.ops.run import run

    run("exp")
    run("x**2 * sin(x)")
    sample_curve("x * sum(ones(3))")
    try:  # the meta device's first use, as the outer() refusal needs it
        language.tensor_from_text("outer(ones(2000), ones(2000))")
    except Exception:  # noqa: BLE001 - refused, as intended
        pass
    language.tensor_from_text("ones(1000,1000) @ ones(1000,1000)")
    language.tensor_from_text("softmax(randn(1000, 1000), 1)")


def run_fresh(timeout: float) -> subprocess.CompletedProcess[str]:
    """This module run in a fresh interpreter (clean peak RSS): its JSON rows on stdout.

    The one way the bounds test and the benchmark (``tests/benchmarks/deadlines.py``)
    take the measurements.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run(
        [sys.executable, "-m", "tests.security.bounds"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
    )


def measure_all() -> list[dict[str, Any]]:
    """Every case, after :func:`warm_up`."""
    warm_up()
    return [measure(case) for case in CASES]


if __name__ == "__main__":
    json.dump(measure_all(), sys.stdout)
