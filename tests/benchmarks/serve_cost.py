"""``gradtui serve`` in headless Chromium: start-up, key round trip, memory.

``python tests/benchmarks/serve_cost.py [--quick]`` prints the figures alone; ``run.py``
includes them. Debian's ``/usr/bin/chromium`` through playwright, as the browser tests
(``tests/browser/browser.py``: the page's requests to anywhere but the server are aborted,
the screen is read from xterm's buffer).

``serve_ready_vs_torch``
    A new page (its own browser context) from ``goto`` until ``ExpBackward0`` is in the
    terminal's buffer (polled every 5 ms in the page), over ``import torch`` in a fresh
    process (same run, medians). Each page is closed before the next.
``serve_key_ms`` / ``pty_key_ms``
    ``n``/``p`` alternately, from the key press until the stepper's ``step K of N`` for the
    new position is in the buffer; the same keys in ``gradtui exp`` in a pty of the same
    size (122x38), until the same text arrives. p50 of each; ``serve_key_vs_pty`` their ratio.
    ``serve_help_ms``: ``?`` until the help's key table is in the buffer (p50).
``serve_rss_mb``, ``session_rss_mb``
    VmRSS of the server after the pages are open, and of each session's app (the median
    of two open at once, each having drawn ExpBackward0).
``serve_stop_s``
    SIGINT to the server with two sessions open, until it has exited.
"""

from __future__ import annotations

import signal
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from terminal import PtyApp, timed_process  # noqa: E402

from tests.browser.browser import chromium, open_page, screen, serve, wait_screen  # noqa: E402

HELP_MARK = "what it does"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _until(page, text: str, timeout_ms: int = 30_000) -> float:  # noqa: ANN001
    """Milliseconds until ``text`` is in the page's terminal (polled in the page)."""
    began = time.perf_counter()
    page.wait_for_function(
        "t => window.__gradtuiScreen && window.__gradtuiScreen().includes(t)",
        arg=text,
        polling=5,
        timeout=timeout_ms,
    )
    return (time.perf_counter() - began) * 1000


def _pty_keys(rounds: int, cols: int, rows: int) -> list[float]:
    app = PtyApp([str(Path(sys.executable).parent / "gradtui"), "exp"], cols=cols, rows=rows)
    app.start()
    out = []
    try:
        app.wait_for(b"ExpBackward0")
        app.drain(quiet=0.5)
        for i in range(rounds):
            key, shown = (b"n", b"step 2 of") if i % 2 == 0 else (b"p", b"step 1 of")
            before = len(app._seen)
            sent = time.perf_counter()
            app.send(key)
            while app._seen.find(shown, before) < 0:
                app.read(0.002)
            out.append((time.perf_counter() - sent) * 1000)
            app.drain(quiet=0.2)
    finally:
        app.close(b"q")
    return out


def measure(quick: bool) -> dict[str, object]:
    loads = 1 if quick else 3
    rounds = 10 if quick else 30
    torch_s = statistics.median(
        timed_process([sys.executable, "-c", "import torch"])[0] for _ in range(loads)
    )
    ready, keys, help_ms, rss = [], [], [], []
    with serve() as served, chromium() as browser:
        for _ in range(loads):
            began = time.perf_counter()
            page = open_page(browser, served)  # goto returns once the page has loaded
            _until(page, "ExpBackward0", 90_000)
            ready.append(time.perf_counter() - began)
            page.context.close()
        pages = [open_page(browser, served) for _ in range(2)]
        for page in pages:
            _until(page, "ExpBackward0", 90_000)
            try:  # the curve too (or its give-up): the app is idle
                page.wait_for_function(
                    "() => { const s = window.__gradtuiScreen();"
                    " return s.includes('ExpBackward0') && !s.includes('Esc cancels'); }",
                    polling=20,
                    timeout=60_000,
                )
            except Exception:
                print(screen(page), file=sys.stderr)
                raise
        page = pages[0]
        size = page.evaluate(
            "[window.__gradtuiTerminals[0].cols, window.__gradtuiTerminals[0].rows]"
        )
        page.focus(".xterm-helper-textarea")
        for i in range(rounds):
            key, shown = ("n", "step 2 of") if i % 2 == 0 else ("p", "step 1 of")
            began = time.perf_counter()
            page.keyboard.press(key)
            _until(page, shown)
            keys.append((time.perf_counter() - began) * 1000)
            page.wait_for_timeout(100)
        for _ in range(max(3, rounds // 5)):
            began = time.perf_counter()
            page.keyboard.press("?")
            _until(page, HELP_MARK)
            help_ms.append((time.perf_counter() - began) * 1000)
            page.keyboard.press("Escape")
            wait_screen(page, HELP_MARK, absent=True)
        rss = [_rss_mb(pid) for pid in served.apps()]
        server_rss = _rss_mb(served.process.pid)
        began = time.perf_counter()
        served.process.send_signal(signal.SIGINT)
        served.process.wait(30)
        stop_s = time.perf_counter() - began
    pty = _pty_keys(rounds, *size)
    key50, pty50 = statistics.median(keys), statistics.median(pty)
    return {
        "torch_import_s": round(torch_s, 3),
        "serve_ready_s": round(statistics.median(ready), 3),
        "serve_ready_vs_torch": round(statistics.median(ready) / torch_s, 2),
        "serve_key_ms": round(key50, 1),
        "pty_key_ms": round(pty50, 1),
        "serve_key_vs_pty": round(key50 / pty50, 2),
        "serve_help_ms": round(statistics.median(help_ms), 1),
        "serve_rss_mb": round(server_rss, 1),
        "session_rss_mb": round(statistics.median(rss), 1) if rss else None,
        "serve_stop_s": round(stop_s, 2),
        "terminal": f"{size[0]}x{size[1]}",
    }


def rows(figures: dict[str, object]) -> list[tuple[str, str, str, bool | None]]:
    """Table rows for ``run.py``."""
    f = figures
    return [
        (
            "serve: page → ExpBackward0 (s) / torch",
            f"{f['serve_ready_s']} / {f['serve_ready_vs_torch']}",
            "",
            None,
        ),
        (
            f"serve: n/p p50 browser / pty (ms), {f['terminal']}",
            f"{f['serve_key_ms']} / {f['pty_key_ms']} = {f['serve_key_vs_pty']}",
            "",
            None,
        ),
        ("serve: ? help p50 in browser (ms)", f"{f['serve_help_ms']}", "", None),
        (
            "serve: RSS server / per session (MB)",
            f"{f['serve_rss_mb']} / {f['session_rss_mb']}",
            "",
            None,
        ),
        ("serve: Ctrl+C with 2 sessions → exited (s)", f"{f['serve_stop_s']}", "", None),
    ]


if __name__ == "__main__":
    import json

    figures = measure("--quick" in sys.argv[1:])
    for name, value, _, _ in rows(figures):
        print(f"  {name:<48} {value}")
    print(json.dumps(figures))
