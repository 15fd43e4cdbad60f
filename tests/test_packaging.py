"""gradtui installs under its own name only.

The repository keeps ``ops/`` and ``tui/`` at its top; ``pyproject.toml`` maps them to
``gradtui.ops`` and ``gradtui.tui``. Installed as ``ops`` and ``tui`` they would clash with
other distributions of those names (``ops`` is the charm framework), so the wheel must
hold one top-level package, ``gradtui``, with the engine, the app and the app's data.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BARE = ("ops", "tui")  # the repository's folders, never import names
SOURCES = ("gradtui", "ops", "tui")  # what the wheel is built from, with its metadata files


def _bare_imports(path: Path) -> list[str]:
    """``import ops…`` / ``from tui… import`` statements in one file, as ``file:line``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in BARE for name in names):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_imports_the_bare_folder_names() -> None:
    """Inside the checkout ``import ops`` would still work (the root is on sys.path), and
    load the engine a second time beside ``gradtui.ops``; installed, it fails."""
    found = [
        hit
        for folder in (*SOURCES, "tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for hit in _bare_imports(path)
    ]
    assert found == []


def test_this_install_finds_the_package_data() -> None:
    """The install the tests run in (editable, as the README's test command makes it)."""
    tui = files("gradtui.tui")
    assert (tui / "app.tcss").is_file()
    assert {p.name for p in (tui / "demos").iterdir()} >= {"tour.toml", "example.toml"}
    spec = importlib.util.find_spec("gradtui.ops")
    assert spec is not None and spec.origin == str(ROOT / "ops" / "__init__.py")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the sources, so no stale ``build/`` in the checkout
    can slip old files into it (bdist_wheel packs everything under build/lib)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    # Build with this environment's setuptools when it has one (no index needed).
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out)]
        + [str(src)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (built,) = out.glob("gradtui-*.whl")
    return built


def test_wheel_claims_only_gradtui(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1 and dist_info.pop().startswith("gradtui-")
    assert top - {t for t in top if t.endswith(".dist-info")} == {"gradtui"}

    for folder in BARE:
        for path in (ROOT / folder).rglob("*.py"):
            assert f"gradtui/{path.relative_to(ROOT).as_posix()}" in names
    assert {"gradtui/__init__.py", "gradtui/__main__.py", "gradtui/tui/app.tcss"} <= set(names)
    for demo in (ROOT / "tui" / "demos").glob("*.toml"):
        assert f"gradtui/tui/demos/{demo.name}" in names

    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "gradtui = gradtui.tui.cli:run" in text


def test_installed_wheel_runs_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """Installed (not editable) and run away from the checkout, where the bare folders
    cannot be imported: the console script and ``python -m gradtui`` answer, and the
    app's stylesheet and the built-in tour are found (``demo --check`` plays the tour)."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sorted(p.name for p in target.iterdir() if p.name != "bin") == [
        "gradtui",
        next(p.name for p in target.iterdir() if p.name.endswith(".dist-info")),
    ]
    env = {**os.environ, "PYTHONPATH": str(target), "NO_COLOR": "1"}
    env.pop("PYTHONSAFEPATH", None)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    where = run(
        sys.executable,
        "-c",
        "import sys, gradtui.ops.run, gradtui.tui.app; print(gradtui.ops.run.__file__); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ops', 'tui'}))",
    )
    assert where.returncode == 0, where.stderr
    origin, bare = where.stdout.splitlines()
    assert Path(origin).is_relative_to(target)
    assert bare == "[]"

    grad = run(sys.executable, "-m", "gradtui", "grad", "exp", "--set", "input=0.5", "--json")
    assert grad.returncode == 0, grad.stderr
    assert json.loads(grad.stdout)["output"]["grad_fn"] == "ExpBackward0"

    tour = run(str(target / "bin" / "gradtui"), "demo", "--check")
    assert tour.returncode == 0, tour.stdout + tour.stderr
    assert "gradtui/tui/demos/tour.toml" in tour.stdout
    assert tour.stdout.rstrip().endswith("ok")
