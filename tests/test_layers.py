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
        "gradtui.ops.run",
        "gradtui.ops.backward",
        "gradtui.ops.curves",
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
        "import gradtui.ops, gradtui.ops.results, gradtui.ops.errors, gradtui.ops.display"
    )
    assert "torch" not in loaded


def test_app_module_does_not_import_torch() -> None:
    """``tui.app`` defers torch to a background worker, so the first frame is not held up."""
    loaded = modules_after("import gradtui.tui.app, gradtui.tui.cli")
    assert "gradtui.tui.app" in loaded
    assert "torch" not in loaded
    assert "sympy" not in loaded
