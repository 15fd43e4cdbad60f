"""The palette's screenshot and maximize commands do something useful, or are not offered.

Textual's own "Screenshot" wrote to ``~/Downloads`` and failed (``Failed to save
screenshot``) where that folder does not exist, typical over SSH; "Maximize" on the
step list filled the screen with hatching around two lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui.tui.app import SCREENSHOT_DIR_ENV, GradApp
from tests.helpers import running, type_text

HATCH = "╱"


def _record_notifications(app: GradApp, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    seen: list[dict] = []
    real = app.notify

    def notify(message: str, **kwargs: object) -> None:
        seen.append({"message": message, **kwargs})
        real(message, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    return seen


def _palette_titles(app: GradApp) -> list[str]:
    return [c.title for c in app.get_system_commands(app.screen)]


async def test_one_screenshot_command_writes_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"  # no Downloads folder, as on a fresh SSH host
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(SCREENSHOT_DIR_ENV, raising=False)
    monkeypatch.chdir(work)
    app = GradApp("abs", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        titles = _palette_titles(app)
        assert [t for t in titles if "screenshot" in t.lower()] == ["save screenshot"]
        seen = _record_notifications(app, monkeypatch)
        # Through the real palette, as a person would.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "save screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        for _ in range(50):
            if seen:
                break
            await pilot.pause(0.05)
        files = list(work.glob("*.svg"))
        assert len(files) == 1 and files[0].read_text().startswith("<svg")
        assert seen and seen[-1]["message"] == f"saved {files[0].resolve()}"
        assert not (home / "Downloads").exists()


async def test_screenshot_folder_from_the_environment_and_a_clear_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    monkeypatch.setenv(SCREENSHOT_DIR_ENV, str(shots))
    app = GradApp("abs", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        seen = _record_notifications(app, monkeypatch)
        app.action_save_screenshot()
        (svg,) = shots.glob("*.svg")
        assert seen[-1]["message"] == f"saved {svg}"
        missing = tmp_path / "no" / "such" / "folder"
        monkeypatch.setenv(SCREENSHOT_DIR_ENV, str(missing))
        app.action_save_screenshot()
        await pilot.pause()
        last = seen[-1]
        assert last["severity"] == "error"
        assert str(missing) in last["message"] and SCREENSHOT_DIR_ENV in last["message"]
        assert "No such file or directory" in last["message"]
        assert app.is_running and not missing.exists()


@pytest.mark.parametrize(
    ("focus", "panel"),
    [
        ("#op-filter", "picker"),
        ("#op-list", "picker"),
        ("#field-input", "inputs"),
        ("#step-list", "stepper"),
        ("#step-detail", "stepper"),
    ],
)
async def test_maximize_fills_the_screen_with_the_whole_panel(focus: str, panel: str) -> None:
    app = GradApp("binary_cross_entropy_with_logits", cursor_blink=False)
    async with running(app, (80, 24)) as pilot:
        app.query_one(focus).focus()
        await pilot.pause()
        maximize = [c for c in app.get_system_commands(app.screen) if c.title == "Maximize"]
        assert len(maximize) == 1
        maximize[0].callback()
        await pilot.pause()
        assert app.screen.maximized is not None and app.screen.maximized.id == panel
        assert app.screen.maximized.outer_size.width == 80  # border included
        text = app.screen_text()
        assert HATCH not in text
        if panel == "picker":  # the full names fit once the picker has the width
            assert " binary_cross_entropy_with_logits" in text
        if panel == "stepper":  # the list and the node's detail, together
            assert "step 1 of" in text and " 1 " in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.maximized is None
