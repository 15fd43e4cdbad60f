"""The house's layering rules: checked in fresh interpreters, and over the source's imports."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import gradtui.ops
import gradtui.tui
from tests.helpers import ROOT, modules_after

SCREEN_MODULES = ("textual", "rich", "plotext")
# Where each installed package's source lives in the repository (pyproject maps them).
PACKAGES = {"gradtui.ops": ROOT / "ops", "gradtui.tui": ROOT / "tui", "gradtui": ROOT / "gradtui"}


def _submodules(package) -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    )


ENGINE_MODULES = _submodules(gradtui.ops)


def test_engine_modules_are_found() -> None:
    """The parametrisation below walks the real package (a rename cannot hide a module)."""
    assert "gradtui.ops.run" in ENGINE_MODULES
    assert len(ENGINE_MODULES) >= 10


@pytest.mark.parametrize("module", ["gradtui.ops", *ENGINE_MODULES])
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


def test_session_model_is_plain_python() -> None:
    """The session model is unit-tested without Pilot: it imports no screen library or torch."""
    loaded = modules_after("import gradtui.tui.session")
    assert "gradtui.tui.session" in loaded
    leaked = {m for m in loaded if m.split(".")[0] in (*SCREEN_MODULES, "torch")}
    assert not leaked, f"gradtui.tui.session pulled in {sorted(leaked)}"


# --- no import cycles -------------------------------------------------------------------------


def _module_files() -> dict[str, Path]:
    files = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join([package, *parts]) if parts else package] = path
    return files


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its source (deferred imports too)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # ``from pkg import mod`` names a module; ``from mod import thing`` names the module.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    files = _module_files()
    known = set(files)
    return {name: _imports(name, path, known) for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = _graph()
    # A package's __init__ runs before its submodules; a submodule importing its own package
    # name is not a cycle of the code, so parent packages are left out of each module's edges.
    graph = {name: edges - _parents(name) for name, edges in graph.items()}
    assert "gradtui.tui.app" in graph and "gradtui.ops.run" in graph
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a made-up two-module loop is reported."""
    graph = _graph()
    graph["gradtui.ops.run"] = graph["gradtui.ops.run"] | {"gradtui.tui.app"}
    graph["gradtui.tui.app"] = graph["gradtui.tui.app"] | {"gradtui.ops.run"}
    assert any({"gradtui.ops.run", "gradtui.tui.app"} <= set(c) for c in _cycles(graph))
