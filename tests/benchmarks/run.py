"""gradtui's performance benchmark: ``python tests/benchmarks/run.py [--quick]``.

Absolute times on a shared machine are noise, so every time is divided by a baseline
measured in the same run. The output is a table, then (last line) one JSON object with
the keys below. ``--quick`` repeats little (within a minute on 2 cores); the full run
repeats more and reports medians. Not a test: it never fails on a slow machine, and
pytest does not collect it (``tests/conftest.py`` ignores ``tests/benchmarks``).

How each figure is measured:

``torch_import_s``
    Wall time of ``python -c "import torch"`` (same interpreter, a fresh process,
    spawned with ``subprocess``; median of the repeats).
``first_paint_vs_torch``, ``ready_vs_torch``
    ``gradtui exp`` is spawned in a real pseudo-terminal (``os.openpty``, 120x40 set with
    ``TIOCSWINSZ`` before the spawn, ``TERM=xterm-256color``) and its output read with
    timestamps. First paint: spawn until the first frame's bytes arrive (the ``backward``
    panel title, drawn on the first screen). Ready: spawn until ``ExpBackward0`` (the
    first backward graph) arrives. Each is divided by ``torch_import_s``; torch imports
    and app launches alternate, medians of each. The app is quit with ``q``.
``update_p50_ms``, ``update_p95_ms``
    In process, under Textual's Pilot at 160x48: ``set_input`` on exp's input (a new valid
    value each time), until the app is idle (engine answer and curve handled) and Pilot's
    ``pause()`` has composited the frame (every dirty widget rendered). Percentiles
    over the edits, after a warm-up.
``baseline_p50_ms``, ``update_vs_baseline``
    The same update in the same app with textual-plotext's ``PlotextPlot`` as the plot
    widget (it rebuilds the plotext figure and re-parses its ANSI on every render), same
    data and size (``baseline.py``); the ratio is ``update_p50_ms / baseline_p50_ms``.
    Needs ``pip install -e '.[bench]'``; if textual-plotext is missing the benchmark
    installs it into the running environment, and if that fails reports ``null``.
``bytes_per_step``, ``bytes_per_edit``
    In the same pty session (``gradtui exp --set input=0.5`` at 120x40): every byte the
    app writes in answer to one ``n``/``p`` (a backward step), and to one keystroke at the
    end of the input field (typing ``9``, then backspace: each changes the value), counted
    until the new value is on screen and the screen is then quiet for 0.3 s. Medians.
``peak_rss_mb``, ``torch_rss_mb``
    VmHWM (peak resident memory) of the app and all its descendants, read from
    /proc after the scripted session above (steps, edits, the f″ layer and other ops opened
    through the filter: softmax, gather, binary_cross_entropy); and the peak RSS
    (``wait4``) of ``python -c "import torch"``.
``keys``
    Key-to-paint latency in a real pty at 120x40 (``keys.py``): ``n``/``p``, ``?`` and
    ``ctrl+p``, each until bytes only its answer paints arrive, at idle (the baseline)
    and while the app computes a 20-matmul chain on ``randn(1000, 1000)`` (``chain``) and
    a result of million-number tensors and its curve (``big``). p50/p95 in ms per case
    and key, and ``keys_p95_vs_idle``: the worst p95 during a computation over the idle
    ``n``/``p`` p50 of the same run. Goal: every p95 within 100 ms.
``curve_vs_forward``
    :func:`ops.paths.curve_path`: ``derivatives(x)`` (f and f′, one vectorised backward)
    over ``values(x)`` (f alone, no grad) at 10^5 points, best of the repeats, for exp,
    ``x * exp(-x)``, abs and softmax (vmapped); the figure is the worst of them.
``snippet_vs_python``
    ``gradtui.ops.snippet.run_snippet`` against CPython running the same snippet file, in
    one subprocess, medians, the worst of the seed's three snippets and the autograd
    tutorial's (``snippet_cost.py``, which also runs alone).
``model_step_vs_torch``, ``model_detail_step_vs_torch``
    One training step of a 10,261-parameter model through :class:`ops.model.Trainer`
    (lean: the app's training loop; detail: everything a step records) against the same
    step in a plain torch script, in one subprocess, medians (``model_cost.py``, which
    also runs alone).
``graph_layout_ms``, ``graph_screen_ms``, ``list_screen_ms``, ``graph_vs_list_step``
    The drawn backward graph (``graph_cost.py``, which also runs alone): the slowest of
    three layouts (torch's 510-node graph of ``sin(x) * x + ...``, a 2,000-node chain, a
    500-node fan-out; done once per graph), one screenful of the graph view and of the
    step list rendered after a step at 120x40 (the bound is one frame, 16.7 ms), and one
    step to the next frame in graph mode over list mode, in the real app under Pilot.
``serve_*``, ``session_rss_mb``, ``pty_key_ms``
    ``gradtui serve`` in headless Chromium (``serve_cost.py``, which also runs alone):
    page load until ``ExpBackward0`` over ``import torch``, the ``n``/``p`` round trip in
    the browser against the same key in a pty, ``?`` in the browser, the RSS of the server
    and of a session, and how long Ctrl+C takes with two sessions open.
``product_ms``, ``abandon_stop_*``, ``refusal_max_*``, ``deep_formula_*``, ``signal_exit_*``
    The figures that were once time limits inside the tests: see ``deadlines.py``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import baseline  # noqa: E402
from curve_cost import curve_ratios  # noqa: E402
from keys import key_latency  # noqa: E402
from terminal import KEYS, PtyApp, timed_process  # noqa: E402

TARGETS = {
    "first_paint_vs_torch": ("<=", 0.3),
    "ready_vs_torch": ("<=", 1.2),
    "update_vs_baseline": ("<=", 0.33),
    "bytes_per_step": ("<=", 8192),
    "bytes_per_edit": ("<=", 16384),
    "peak_minus_torch_mb": ("<=", 100),
    "curve_vs_forward": ("<=", 4),
}
"""The issue's targets (a figure meets its target when it is at most the number)."""

FIRST_FRAME = b"backward"
"""Bytes of the first screen: the stepper panel's title, drawn before torch loads."""
READY = b"ExpBackward0"
"""Bytes of the first backward graph."""


def gradtui() -> str:
    """The ``gradtui`` console script of this interpreter's environment."""
    path = Path(sys.executable).parent / "gradtui"
    if not path.exists():
        raise SystemExit(f"no gradtui next to {sys.executable}: pip install -e '.[bench]'")
    return str(path)


def ensure_baseline() -> str | None:
    """Make textual-plotext importable (installing it if needed); ``None`` when it is."""
    if baseline.available() is None:
        return None
    print("textual-plotext is missing: installing it for the baseline …", file=sys.stderr)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "textual-plotext>=1.0,<2"],
        capture_output=True,
        text=True,
    )
    importlib.invalidate_caches()
    why = baseline.available()
    if why is not None and proc.returncode != 0:
        why += f"; pip said: {proc.stderr.strip().splitlines()[-1:]}"
    return why


def startup(repeats: int) -> dict[str, list[float]]:
    """Alternate bare torch imports and app launches; seconds and MB of each."""
    out: dict[str, list[float]] = {"torch": [], "rss": [], "paint": [], "ready": []}
    for _ in range(repeats):
        wall, rss = timed_process([sys.executable, "-c", "import torch"])
        out["torch"].append(wall)
        out["rss"].append(rss)
        app = PtyApp([gradtui(), "exp"], cols=120, rows=40)
        app.start()
        try:
            out["paint"].append(app.wait_for(FIRST_FRAME))
            out["ready"].append(app.wait_for(READY))
            app.drain(quiet=0.3)
        finally:
            app.close(b"q")
    return out


def session(repeats: int) -> dict[str, object]:
    """Bytes per step and per keystroke at 120x40, then a scripted tour; its peak RSS."""
    app = PtyApp([gradtui(), "exp", "--set", "input=0.5"], cols=120, rows=40)
    app.start()
    try:
        app.wait_for(READY)
        app.drain(quiet=0.5)
        steps = [app.bytes_for(b"n" if i % 2 == 0 else b"p") for i in range(repeats)]
        # The input field: two shift+tabs back from the step list, cursor to the end.
        app.send(KEYS["shift+tab"] * 2 + KEYS["end"])
        app.drain()
        # Typing 9 then deleting it: every keystroke changes the value (0.59 / 0.5), and
        # the answer is complete once the new forward value is on screen.
        edits = []
        for i in range(repeats):
            key, text = (b"9", "0.59") if i % 2 == 0 else (b"\x7f", "0.5")
            edits.append(app.bytes_for(key, expect=_forward_value("exp", text)))
        app.send(KEYS["escape"])
        app.drain()
        for key in (b"d", b"c", b"n", b"d", b"c"):
            app.bytes_for(key)
        for op, node in (
            ("softmax", b"SoftmaxBackward0"),
            ("gather", b"GatherBackward0"),
            ("binary_cross_entropy", b"BinaryCrossEntropyBackward0"),
        ):
            app.send(b"/")
            app.drain(quiet=0.15)
            for ch in op:
                app.send(ch.encode())
                app.drain(quiet=0.05)
            app.send(KEYS["enter"])
            app.wait_for(node)
            app.drain()
            app.bytes_for(b"n")
        rss = app.peak_rss_mb()
    finally:
        app.close(b"q")
    return {"steps": steps, "edits": edits, "rss": rss}


def _forward_value(op: str, text: str) -> bytes:
    """The output value of ``op`` at input ``text`` as the stepper prints it."""
    from gradtui.ops.run import run
    from gradtui.tui.format import format_tensor

    result = run(op, {"input": text})
    assert result.output is not None
    return format_tensor(result.output.tensor).plain.encode()


def latency(edits: int) -> dict[str, list[float] | str]:
    """Update latency of the app and of the baseline (or why the baseline is missing)."""
    from latency import update_latency

    from gradtui.tui.app import GradApp

    out: dict[str, list[float] | str] = {"app": update_latency(GradApp, edits)}
    why = ensure_baseline()
    if why is None:
        out["baseline"] = update_latency(baseline.BaselineApp, edits)
    else:
        out["baseline_missing"] = why
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (about a minute)")
    args = parser.parse_args(argv)
    quick = args.quick
    began = time.perf_counter()

    start = startup(2 if quick else 5)
    sess = session(4 if quick else 10)
    lat = latency(12 if quick else 40)
    curves = curve_ratios(60 if quick else 200)
    from snippet_cost import measure as snippet_costs

    snippets = snippet_costs(20 if quick else 100)
    from model_cost import measure as model_costs

    model = model_costs(20 if quick else 100)
    from graph_cost import measure as graph_costs

    graph = graph_costs(10 if quick else 40)
    keys = key_latency(gradtui(), 2 if quick else 6)
    from deadlines import measure as measure_deadlines  # the tests' old time limits

    late = measure_deadlines(quick)
    from serve_cost import measure as serve_costs
    from serve_cost import rows as serve_rows

    served = serve_costs(quick)

    from latency import percentile

    med = statistics.median
    torch_s = med(start["torch"])
    app_ms = lat["app"]
    assert isinstance(app_ms, list)
    base_ms = lat.get("baseline")
    p50 = percentile(app_ms, 50)
    base_p50 = percentile(base_ms, 50) if isinstance(base_ms, list) else None
    ratios = {t: both / fwd for t, (fwd, both) in curves.items()}
    result = {
        "torch_import_s": round(torch_s, 3),
        "first_paint_vs_torch": round(med(start["paint"]) / torch_s, 3),
        "ready_vs_torch": round(med(start["ready"]) / torch_s, 3),
        "update_p50_ms": round(p50, 2),
        "update_p95_ms": round(percentile(app_ms, 95), 2),
        "baseline_p50_ms": None if base_p50 is None else round(base_p50, 2),
        "update_vs_baseline": None if base_p50 is None else round(p50 / base_p50, 3),
        "bytes_per_step": int(med(sess["steps"])),  # type: ignore[arg-type]
        "bytes_per_edit": int(med(sess["edits"])),  # type: ignore[arg-type]
        "peak_rss_mb": round(float(sess["rss"]), 1),  # type: ignore[arg-type]
        "torch_rss_mb": round(med(start["rss"]), 1),
        "curve_vs_forward": round(max(ratios.values()), 2),
        "keys_ms": {
            case: {
                kind: [round(percentile(ms, 50), 1), round(percentile(ms, 95), 1)]
                for kind, ms in by_kind.items()
                if ms
            }
            for case, by_kind in keys.items()
        },
    }
    idle_np = percentile(keys["idle"]["np"], 50)
    busy = [percentile(ms, 95) for case in ("chain", "big") for ms in keys[case].values() if ms]
    result["keys_p95_vs_idle"] = round(max(busy) / idle_np, 2) if busy else None

    rows = [
        ("torch import (s)", f"{torch_s:.3f}", "baseline", None),
        (
            "first paint (s) / torch",
            f"{med(start['paint']):.3f} / {result['first_paint_vs_torch']}",
            "≤ 0.3",
            result["first_paint_vs_torch"] <= 0.3,
        ),
        (
            "ready: ExpBackward0 (s) / torch",
            f"{med(start['ready']):.3f} / {result['ready_vs_torch']}",
            "≤ 1.2",
            result["ready_vs_torch"] <= 1.2,
        ),
        ("update p50 / p95 (ms), 160x48", f"{p50:.1f} / {result['update_p95_ms']:.1f}", "", None),
        (
            "baseline p50 (ms), PlotextPlot",
            "n/a" if base_p50 is None else f"{base_p50:.1f}",
            "",
            None,
        ),
        (
            "update / baseline",
            "n/a" if base_p50 is None else f"{result['update_vs_baseline']}",
            "≤ 0.33",
            None if base_p50 is None else result["update_vs_baseline"] <= 0.33,
        ),
        (
            "bytes per step (n/p), 120x40",
            f"{result['bytes_per_step']} (max {max(sess['steps'])})",  # type: ignore[type-var]
            "≤ 8192",
            result["bytes_per_step"] <= 8192,
        ),
        (
            "bytes per keystroke in a field",
            f"{result['bytes_per_edit']} (max {max(sess['edits'])})",  # type: ignore[type-var]
            "≤ 16384",
            result["bytes_per_edit"] <= 16384,
        ),
        (
            "peak RSS − torch RSS (MB)",
            f"{result['peak_rss_mb']} − {result['torch_rss_mb']} = "
            f"{result['peak_rss_mb'] - result['torch_rss_mb']:.1f}",
            "≤ 100",
            result["peak_rss_mb"] - result["torch_rss_mb"] <= 100,
        ),
    ]
    snippet_ratios = {name: ours / py for name, (py, ours) in snippets.items()}
    result["snippet_vs_python"] = round(max(snippet_ratios.values()), 2)
    for name, ratio in snippet_ratios.items():
        py, ours = snippets[name]
        rows.append(
            (
                f"snippet / CPython: {name}",
                f"{ours * 1e3:.2f} / {py * 1e3:.2f} ms = {ratio:.2f}",
                "",
                None,
            )
        )
    result["model_step_vs_torch"] = round(model["lean"] / model["plain"], 2)
    result["model_detail_step_vs_torch"] = round(model["detail"] / model["plain"], 2)
    for name in ("lean", "detail"):
        rows.append(
            (
                f"model step / plain torch step ({name}, {model['params']:,} params)",
                f"{model[name] * 1e3:.2f} / {model['plain'] * 1e3:.2f} ms = "
                f"{model[name] / model['plain']:.2f}",
                "",
                None,
            )
        )
    layouts = graph.pop("layouts")
    result.update(graph)
    for name, (n, ms) in layouts.items():  # type: ignore[union-attr]
        rows.append((f"graph layout, once: {name} ({n} nodes)", f"{ms:.1f} ms", "", None))
    rows.append(
        (
            "graph view / list, one screen after a step (ms), 120x40",
            f"{graph['graph_screen_ms']} / {graph['list_screen_ms']}",
            "≤ 16.7",
            graph["graph_screen_ms"] <= 16.7,  # type: ignore[operator]
        )
    )
    rows.append(
        (
            "one step to the frame, graph / list mode (ms)",
            f"{graph['graph_step_ms']} / {graph['list_step_ms']} = {graph['graph_vs_list_step']}",
            "",
            None,
        )
    )
    result.update(late["figures"])  # type: ignore[arg-type]
    rows.extend(late["rows"])  # type: ignore[arg-type]
    result.update({k: v for k, v in served.items() if k != "torch_import_s"})
    rows.extend(serve_rows(served))
    for target, ratio in ratios.items():
        fwd, both = curves[target]
        rows.append(
            (
                f"f+f′ / f at 1e5 points: {target}",
                f"{both * 1e6:.0f} / {fwd * 1e6:.0f} µs = {ratio:.2f}",
                "≤ 4",
                ratio <= 4,
            )
        )
    for case, by_kind in result["keys_ms"].items():  # type: ignore[union-attr]
        for kind, (k50, k95) in by_kind.items():
            rows.append(
                (
                    f"key {kind} {case}: p50 / p95 (ms), n={len(keys[case][kind])}",
                    f"{k50} / {k95}",
                    "p95 ≤ 100",
                    k95 <= 100,
                )
            )
    rows.append(("worst busy key p95 / idle n/p p50", f"{result['keys_p95_vs_idle']}", "", None))
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    mode = "quick" if quick else "full"
    print(
        f"gradtui benchmark ({mode}, {time.perf_counter() - began:.0f} s, python {sys.version.split()[0]})"
    )
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"  {name:<{width}}  {value:>{vwidth}}  {target:<8}{mark}")
    if "baseline_missing" in lat:
        print(f"  baseline unavailable: {lat['baseline_missing']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
