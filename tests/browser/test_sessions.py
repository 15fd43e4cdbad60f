"""Two viewers in real headless Chromium on one ``gradtui serve``: each has its own app.

One server for the module (each session imports torch, so the module keeps to two
sessions plus one it closes). Every test reads the terminal's text from the page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.browser import (
    LOAD_S,
    chromium,
    is_app,
    open_page,
    press,
    save_screenshot,
    screen,
    serve,
    type_text,
    wait_for,
    wait_screen,
)
from tests.security.corpus import payloads

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "serve.png"
"""The README's picture, rewritten when ``GRADTUI_README_UPDATE=1`` (as the README's blocks are)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory):  # noqa: ANN001, ANN201
    with serve(cwd=tmp_path_factory.mktemp("serve-cwd")) as s:
        yield s


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def two_pages(served, browser):  # noqa: ANN001, ANN201
    a = open_page(browser, served)
    b = open_page(browser, served)
    for page in (a, b):
        wait_screen(page, "ExpBackward0", LOAD_S)
        wait_screen(page, "differentiable", LOAD_S)
    yield a, b
    for page in (a, b):
        page.context.close()


def field_text(page, name: str) -> str:  # noqa: ANN001
    """The text in input field ``name`` on the page's screen."""
    for line in screen(page).splitlines():
        found = re.search(rf"│ {re.escape(name)} +(.*?)\s*│\s*$", line)
        if found:
            return found.group(1)
    raise AssertionError(f"no field {name!r} on screen:\n{screen(page)}")


def field_row(page, name: str) -> tuple[int, int]:  # noqa: ANN001
    """The (row, column) of the text in input field ``name`` on the page's screen."""
    for row, line in enumerate(screen(page).splitlines()):
        found = re.search(rf"│ {re.escape(name)} +(\S)", line)
        if found:
            return row, found.start(1)
    raise AssertionError(f"no field {name!r} on screen:\n{screen(page)}")


def click_cell(page, row: int, col: int) -> None:  # noqa: ANN001
    move_to_cell(page, row, col)
    page.mouse.down()
    page.mouse.up()


def move_to_cell(page, row: int, col: int) -> None:  # noqa: ANN001
    box = page.locator(".xterm-screen").bounding_box()
    rows, cols = page.evaluate(
        "[window.__gradtuiTerminals[0].rows, window.__gradtuiTerminals[0].cols]"
    )
    page.mouse.move(
        box["x"] + (col + 0.5) * box["width"] / cols,
        box["y"] + (row + 0.5) * box["height"] / rows,
    )


def footer(page) -> str:  # noqa: ANN001
    return screen(page).rstrip("\n").splitlines()[-1]


def replace_field(page, text: str) -> None:  # noqa: ANN001
    """Click into exp's ``input`` field and type ``text`` over what it holds.

    End, then Ctrl+U (delete all left of the cursor) empties the field, and ``text`` is
    typed straight after, in one burst of keys. Before :class:`tui.workarounds.OrderedInput`
    the field's binding keys acted after the printable keys of such a burst, and under
    load the field kept only "]" (Textual issue #6605): this checks that end to end.
    A field with focus hides the step keys from the footer; the keys wait for that.
    """
    click_cell(page, *field_row(page, "input"))
    move_to_cell(page, 0, 0)  # off the field: its tooltip covered the text
    wait_for(lambda: "Next" not in footer(page), 30, "the field to take focus")
    press(page, "End", "Control+u")
    type_text(page, text)

    def typed() -> bool:  # a text wider than the field shows scrolled to its end
        shown = field_text(page, "input")
        return shown == text or (len(shown) >= 20 and text.endswith(shown))

    try:
        wait_for(typed, 30, f"{text!r} in the input field")
    except AssertionError:
        raise AssertionError(f"{text!r} never showed in the field:\n{screen(page)}") from None


def forward_line(page) -> str:  # noqa: ANN001
    """The stepper's ``forward`` line (its own panel's part of the row: not the plot's)."""
    line = next(line for line in screen(page).splitlines() if "forward" in line)
    return next(part for part in line.split("│") if "forward" in part).strip()


def test_two_sessions_each_their_own_process_with_n_and_help(served, two_pages) -> None:  # noqa: ANN001
    apps = served.apps()
    assert len(apps) == 2, apps
    for page in two_pages:
        assert not [u for u in page.blocked if "127.0.0.1" in u]
        assert "step 1 of" in screen(page)
        press(page, "n")
        wait_screen(page, "step 2 of")
        press(page, "p")
        wait_screen(page, "step 1 of")
    press(two_pages[0], "?")
    wait_screen(two_pages[0], "gradtui — help")
    assert "gradtui — help" not in screen(two_pages[1])
    press(two_pages[1], "?")
    wait_screen(two_pages[1], "gradtui — help")
    for page in two_pages:
        press(page, "Escape")
        wait_screen(page, "gradtui — help", absent=True)
    # the pages had a font to fetch from the internet, and asked for it: it was blocked
    assert any("fonts.googleapis.com" in u for u in two_pages[0].blocked)


def test_typing_in_one_session_leaves_the_other_unchanged(two_pages, tmp_path) -> None:  # noqa: ANN001
    a, b = two_pages
    before_a, before_b = forward_line(a), forward_line(b)
    assert before_a == before_b
    replace_field(a, "[0.5, -1.5]")
    wait_screen(a, "float32[2]", 60)
    assert forward_line(a) != before_a
    wait_screen(a, "along input", 60)  # the plot, for the README's picture
    press(a, "Escape")  # back to the steps: the footer shows the step keys
    wait_for(lambda: "Next" in footer(a), 30, "the step keys in the footer")
    move_to_cell(a, 0, 0)  # the mouse on a cell with no tooltip (a panel's corner)
    a.wait_for_timeout(500)
    update = os.environ.get("GRADTUI_README_UPDATE") == "1"
    picture = SCREENSHOT if update else tmp_path / "serve.png"
    a.screenshot(path=str(picture))
    assert picture.stat().st_size > 10_000
    assert forward_line(b) == before_b
    assert "[0.5, -1.5]" not in screen(b)


def sample_payloads(canary: Path) -> list:  # noqa: ANN001
    """One payload of each category that fits on one line (a field is one line)."""
    seen: dict[str, object] = {}
    for p in payloads(canary):
        if p.category not in seen and p.text.isprintable() and len(p.text) < 200:
            seen[p.category] = p
    return list(seen.values())


def test_hostile_text_typed_in_a_browser_is_refused(two_pages, tmp_path) -> None:  # noqa: ANN001
    page = two_pages[1]
    canary = tmp_path / "canary"
    sample = sample_payloads(canary)
    assert len(sample) >= 4
    for payload in sample:
        replace_field(page, payload.text)
        shown = wait_screen(page, "✗", 30)
        assert not canary.exists(), payload.id
        assert "input" in shown
    # still alive and answering: a good value computes again
    replace_field(page, "[1.0, 2.0]")
    wait_screen(page, "float32[2]", 30)
    assert not canary.exists()


def test_closing_a_page_ends_its_process(served, browser) -> None:  # noqa: ANN001
    before = set(served.apps())
    page = open_page(browser, served)
    new = wait_for(lambda: set(served.apps()) - before, 30, "a new app process")
    (pid,) = new
    wait_screen(page, "ExpBackward0", LOAD_S)
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert re.search(r"Max core file size\s+0\s+0", limits), limits
    assert re.search(r"Max address space\s+\d+\s+\d+", limits), limits
    assert re.search(r"Max cpu time\s+\d+\s+\d+", limits), limits
    page.context.close()
    wait_for(lambda: not is_app(pid), 10, f"app {pid} to end")
    assert set(served.apps()) == before


def test_save_screenshot_downloads_in_the_browser_and_writes_nothing_on_the_server(
    served, two_pages
) -> None:  # noqa: ANN001
    page = two_pages[0]
    cwd = Path(f"/proc/{served.process.pid}/cwd").resolve()
    before = sorted(cwd.iterdir())
    url, response = save_screenshot(page)
    assert url.startswith(served.url + "download/"), url
    assert response.ok
    headers, body = response.headers, response.body()
    assert headers["content-disposition"].startswith("attachment; filename=gradtui_")
    assert headers["content-disposition"].endswith(".svg")
    svg = body.decode()
    assert svg.startswith("<svg") and "ExpBackward0" in svg
    wait_screen(page, "sent gradtui_")
    assert sorted(cwd.iterdir()) == before
    for app in served.apps():
        assert sorted(Path(f"/proc/{app}/cwd").resolve().iterdir()) == before
