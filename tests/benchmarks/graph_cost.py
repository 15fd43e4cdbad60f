"""What the drawn backward graph costs: laying it out, and redrawing it per step against
the list view's redraw, measured in the same run.

``python tests/benchmarks/graph_cost.py [--repeats N]`` prints a table and one JSON line.

- ``layout``: :func:`gradtui.tui.graph_layout.layout_graph` (pure, uncached) on the
  backward graph torch builds for ``sin(x) * x + ...`` (170 terms, 511 nodes, a leaf
  shared by 340 parents), a synthetic chain of 2,000 ``AddBackward0`` each also reading
  one leaf, and a 500-node fan-out (one node with 499 leaves: the widest drawing). Best
  of the repeats, ms. Done once per graph: the app keeps the layout and only restyles.
- ``screen``: one screenful of each view rendered line by line (``render_line`` for
  every visible row), right after a step moved the marks: the graph view at 120x40 over
  the 511-node graph, and the step list over the same 511 steps. Medians, ms. This is
  the widget's share of a frame; the issue's bound is one frame, 16.7 ms.
- ``step``: in the real app under Pilot at 120x40, one step (``StepperPanel.step``, what
  ``n`` does) until the next frame is composited (every dirty widget rendered;
  timestamped at ``App._display``), in list mode and in graph mode. Medians, ms, and
  graph ÷ list.

Not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from gradtui.ops.graph import graph
from gradtui.ops.results import GraphNode
from gradtui.tui.graph_layout import layout_graph

EXPRESSION = " + ".join(["sin(x) * x"] * 170)
"""A torch graph of more than 500 nodes: a long chain of adds, x shared by every term."""
SIZE = (120, 40)


def _chain(n: int) -> tuple[GraphNode, ...]:
    nodes = [
        GraphNode(f"n{i}", "AddBackward0", (f"n{i + 1}", "leaf") if i < n - 1 else ("leaf",), None)
        for i in range(n)
    ]
    return (*nodes, GraphNode("leaf", "AccumulateGrad", (), "x"))


def _fan(n: int) -> tuple[GraphNode, ...]:
    return (
        GraphNode("n0", "StackBackward0", tuple(f"n{i}" for i in range(1, n)), None),
        *(GraphNode(f"n{i}", "AccumulateGrad", (), f"x{i}") for i in range(1, n)),
    )


def layout_times(repeats: int) -> dict[str, tuple[int, float]]:
    """Nodes and best milliseconds of one layout, per graph."""
    graphs = {
        "torch 170 terms": graph(EXPRESSION, {}).nodes,
        "chain 2000 + shared leaf": _chain(2000),
        "fan-out 500": _fan(500),
    }
    out = {}
    for name, nodes in graphs.items():
        best = float("inf")
        for _ in range(max(repeats // 4, 3)):
            began = time.perf_counter()
            layout_graph(nodes)
            best = min(best, time.perf_counter() - began)
        out[name] = (len(nodes), best * 1e3)
    return out


async def _app_costs(steps: int) -> dict[str, list[float]]:
    from gradtui.tui.app import GradApp
    from gradtui.tui.widgets.graph_view import GraphView
    from gradtui.tui.widgets.stepper import StepList, StepperPanel

    app = GradApp(cursor_blink=False)
    frames: list[float] = []
    out: dict[str, list[float]] = {
        "step list": [],
        "step graph": [],
        "screen list": [],
        "screen graph": [],
    }
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.settle()  # the first op's answer, before another is chosen
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.select_expression(EXPRESSION)
        await app.settle()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.result is not None and len(app.result.graph) >= 500
        display = app._display

        def record(screen, renderable) -> None:  # noqa: ANN001 - Textual's own signature
            display(screen, renderable)
            if renderable is not None:
                frames.append(time.perf_counter())

        app._display = record  # type: ignore[method-assign]
        stepper = app.query_one(StepperPanel)
        for mode in ("list", "graph"):
            if mode == "graph":
                await pilot.press("g")
                await app.workers.wait_for_complete()  # the first layout (a worker's)
                await pilot.pause()
                assert app.query_one(GraphView).drawing is not None
            view = app.query_one(GraphView) if mode == "graph" else app.query_one(StepList)
            stepper.index = 0
            await pilot.pause()
            for i in range(steps + 3):
                await pilot.pause(0.02)  # let the previous frame go
                frames.clear()
                began = time.perf_counter()
                stepper.step(1)
                while not frames:
                    await asyncio.sleep(0.0005)
                if i >= 3:  # warm-up
                    out[f"step {mode}"].append((frames[0] - began) * 1e3)
                # The widget's share: one screenful rendered line by line.
                height = view.scrollable_content_region.height
                began = time.perf_counter()
                for y in range(height):
                    view.render_line(y)
                out[f"screen {mode}"].append((time.perf_counter() - began) * 1e3)
    return out


def measure(repeats: int) -> dict[str, object]:
    """Every figure of this benchmark (see the module docstring)."""
    layouts = layout_times(repeats)
    app = asyncio.run(_app_costs(repeats))
    med = {k: statistics.median(v) for k, v in app.items()}
    return {
        "layouts": layouts,
        "graph_layout_ms": round(max(ms for _n, ms in layouts.values()), 2),
        "graph_screen_ms": round(med["screen graph"], 3),
        "list_screen_ms": round(med["screen list"], 3),
        "graph_step_ms": round(med["step graph"], 2),
        "list_step_ms": round(med["step list"], 2),
        "graph_vs_list_step": round(med["step graph"] / med["step list"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    found = measure(args.repeats)
    layouts = found.pop("layouts")
    print("layout (once per graph), best of the repeats:")
    for name, (n, ms) in layouts.items():  # type: ignore[union-attr]
        print(f"  {name:<28} {n:>5} nodes  {ms:8.2f} ms")
    print(f"one screenful ({SIZE[0]}x{SIZE[1]}), after a step, median:")
    print(f"  graph view {found['graph_screen_ms']:.3f} ms   list {found['list_screen_ms']:.3f} ms")
    print("one step (n) to the next frame, median:")
    print(
        f"  graph {found['graph_step_ms']:.2f} ms   list {found['list_step_ms']:.2f} ms"
        f"   graph ÷ list {found['graph_vs_list_step']}"
    )
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
