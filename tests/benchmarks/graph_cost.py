"""What the drawn graph costs, against baselines measured in the same run.

``python tests/benchmarks/graph_cost.py [--repeats N]`` prints a table and one JSON line.

The graph is torch's own for ``sin(x) * x + ...`` (170 terms: 510 nodes, ``x`` shared by
340 of them).

- ``layout / engine run``: laying the 510 nodes out as text (:func:`layout_graph`, no
  cache), against the engine's run of the same expression (forward, backward recorded
  node by node, the graph described), the work the drawing comes after;
- ``step in graph view / step in list view``: one ``n`` in a headless app at 120x40 (the
  step's detail redrawn, and in the graph view the drawing restyled and followed), the
  median over ``repeats`` steps in each view, alternating.

Not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

EXPRESSION = " + ".join(["sin(x) * x"] * 170)


def _layout_vs_run(repeats: int) -> tuple[float, float, int]:
    from gradtui.ops.run import run
    from gradtui.tui.graph_layout import layout_graph

    runs, layouts, nodes = [], [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        result = run(EXPRESSION, {}, formula=False)
        runs.append(time.perf_counter() - t)
        nodes = len(result.graph)
        t = time.perf_counter()
        layout_graph(result.graph)
        layouts.append(time.perf_counter() - t)
    return statistics.median(layouts), statistics.median(runs), nodes


async def _steps(repeats: int) -> tuple[float, float]:
    from gradtui.tui.app import GradApp
    from gradtui.tui.widgets.stepper import StepperPanel

    app = GradApp(cursor_blink=False)
    times: dict[bool, list[float]] = {False: [], True: []}
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settle()
        app.select_expression(EXPRESSION)
        await app.settle(120)
        await app.workers.wait_for_complete()
        stepper = app.query_one(StepperPanel)
        await pilot.press("g")  # lay it out once (in a worker)
        await app.workers.wait_for_complete()
        await pilot.pause()
        for i in range(repeats):
            for graph in (False, True):
                if stepper.graph_mode != graph:
                    stepper.toggle_graph()
                    await pilot.pause()
                delta = 1 if i % 2 == 0 else -1
                t = time.perf_counter()
                await pilot.press("n" if delta > 0 else "p")
                await pilot.pause()
                times[graph].append(time.perf_counter() - t)
    return statistics.median(times[True]), statistics.median(times[False])


def measure(repeats: int = 20) -> dict[str, float]:
    """The figures, in seconds and as ratios."""
    layout_s, run_s, nodes = _layout_vs_run(max(3, repeats // 4))
    graph_s, list_s = asyncio.run(_steps(repeats))
    return {
        "nodes": nodes,
        "layout_s": round(layout_s, 4),
        "engine_run_s": round(run_s, 4),
        "layout_vs_run": round(layout_s / run_s, 3),
        "graph_step_ms": round(graph_s * 1e3, 2),
        "list_step_ms": round(list_s * 1e3, 2),
        "graph_step_vs_list": round(graph_s / list_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    figures = measure(parser.parse_args().repeats)
    print(f"graph: {figures['nodes']} nodes")
    print(
        f"layout / engine run      {figures['layout_s'] * 1e3:8.1f} / "
        f"{figures['engine_run_s'] * 1e3:.1f} ms = {figures['layout_vs_run']}"
    )
    print(
        f"step: graph / list view  {figures['graph_step_ms']:8.2f} / "
        f"{figures['list_step_ms']:.2f} ms = {figures['graph_step_vs_list']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
