"""The house's layering rules, checked in fresh interpreters."""

from __future__ import annotations

import pytest

from tests.helpers import modules_after

SCREEN_MODULES = ("textual", "rich", "plotext")


@pytest.mark.parametrize(
    "module",
    [
        "gradtui.ops",
        "gradtui.ops.language",
        "gradtui.ops.catalog",
        "gradtui.ops.prepare",
        "gradtui.ops.run",
        "gradtui.ops.diagnose",
        "gradtui.ops.backward",
        "gradtui.ops.direct_backward",
        "gradtui.ops.curves",
        "gradtui.ops.paths",
        "gradtui.ops.batching",
        "gradtui.ops.formulas",
    ],
)
def test_engine_imports_no_screen(module: str) -> None:
    loaded = modules_after(f"import {module}")
    assert module in loaded
    leaked = {m for m in loaded if m.split(".")[0] in SCREEN_MODULES}
    assert not leaked, f"{module} pulled in {sorted(leaked)}"


def test_engine_package_does_not_import_torch() -> None:
    """A front end can import ``ops`` and paint before torch has loaded."""
    loaded = modules_after(
        "import gradtui.ops, gradtui.ops.results, gradtui.ops.errors, gradtui.ops.display, "
        "gradtui.ops.names"
    )
    assert "torch" not in loaded


def test_app_module_does_not_import_torch() -> None:
    """``tui.app`` defers torch to a background worker, so the first frame is not held up."""
    loaded = modules_after("import gradtui.tui.app, gradtui.tui.cli")
    assert "gradtui.tui.app" in loaded
    assert "torch" not in loaded
    assert "sympy" not in loaded


def test_no_engine_module_imports_one_that_imports_it_back() -> None:
    """Every import in ``ops/`` (top-level or inside a function) points one way."""
    import ast
    from pathlib import Path

    ops = Path(__file__).resolve().parents[1] / "ops"
    graph: dict[str, set[str]] = {}
    for path in ops.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[f"gradtui.ops.{path.stem}"] = {
            d for d in deps if d.startswith("gradtui.ops.") and (ops / f"{d[12:]}.py").exists()
        }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, {m}))
    assert not cycles, f"these ops modules are on an import cycle: {cycles}"
