"""What f′ costs on top of f: :class:`ops.paths.CurvePath` at 10^5 points.

For each target, ``path.derivatives(x)`` (f and f′: one batched forward that records the
graph, then one vectorised backward with ``grad_outputs=ones``) is timed against
``path.values(x)`` (the same batched forward under ``no_grad``), on the same 10^5-point
``x`` across the default range. Each is the best of ``repeats`` runs after a warm-up (the
minimum is the least disturbed by other work on a shared machine), the two timed
alternately so that both meet the same state of the memory allocator. torch runs on one
thread here: at 10^5 points its kernels split across threads, and on a shared machine a
busy core makes every split kernel wait for it, which measures the neighbours, not the
backward pass.
"""

from __future__ import annotations

import time

POINTS = 100_000
TARGETS: tuple[tuple[str, dict[str, str]], ...] = (
    ("exp", {}),  # elementwise: one forward over all points
    ("x * exp(-x)", {}),  # an expression, elementwise
    ("abs", {}),  # a kink
    ("softmax", {}),  # not elementwise: L(t) = <v, softmax(input with one element t)>, vmapped
)


def _best_pair(first, second, repeats: int) -> tuple[float, float]:
    """The best time of each of two calls, timed alternately (the same allocator state)."""
    first(), second()  # warm-up: first-call costs (dispatch caches, vmap set-up)
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, fn in enumerate((first, second)):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best[0], best[1]


def curve_ratios(repeats: int) -> dict[str, tuple[float, float]]:
    """Per target: (seconds for f alone, seconds for f and f′) at :data:`POINTS` points."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _ratios(repeats)
    finally:
        torch.set_num_threads(threads)


def _ratios(repeats: int) -> dict[str, tuple[float, float]]:
    import torch

    from gradtui.ops.paths import curve_path, default_range

    out: dict[str, tuple[float, float]] = {}
    for target, values in TARGETS:
        path = curve_path(target, values)
        lo, hi = default_range(path.current)
        x = torch.linspace(lo, hi, POINTS, dtype=torch.float64)
        out[target] = _best_pair(
            lambda p=path, x=x: p.values(x), lambda p=path, x=x: p.derivatives(x), repeats
        )
    return out
