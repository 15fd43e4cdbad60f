"""The snippet screen: opened from the picker and the palette, it runs pasted PyTorch code
and shows what each line did, from the interpreter's own result.

Every expectation is read off :func:`gradtui.ops.snippet.run_snippet` run here on the
same text (the marks, the printed output, the claims' verdicts, torch's messages), so a
report that invented or dropped anything fails. The real terminal paths (a bracketed
paste through tmux, SIGTERM mid-run through a pty) are at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from functools import partial

from textual.events import Paste
from textual.pilot import Pilot
from textual.widgets import Select

from gradtui.ops.results import SnippetResult
from gradtui.ops.seed_snippets import SEED_SNIPPETS, seed_snippet
from gradtui.ops.snippet import run_snippet
from gradtui.tui.app import GradApp
from gradtui.tui.report import visible
from gradtui.tui.screens.snippet import SnippetScreen
from gradtui.tui.widgets.op_picker import OpPicker
from gradtui.tui.widgets.snippet_report import MARKS, claim_verdict, statement_mark
from gradtui.tui.widgets.stepper import StepperPanel
from tests.helpers import PtyApp, gradtui_command, running, type_text, wait_for_text

TWO_PASSES = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
print(x.grad)  # tensor([2., 4.])
x.grad.zero_()
z = torch.exp(x).sum()
z.backward()
print(x.grad)
"""

REFUSED = """import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
import os
print(x)
"""


async def _ran(pilot: Pilot, screen: SnippetScreen, text: str) -> SnippetResult:
    """Wait for the run of ``text`` to be on screen; the result shown."""
    deadline = time.monotonic() + 120
    while screen.running or screen.ran_text != text or screen.result is None:
        assert time.monotonic() < deadline, screen.status_text
        await pilot.pause(0.05)
    await pilot.pause()
    return screen.result


def _check_report(screen: SnippetScreen, expected: SnippetResult) -> None:
    """Every statement's mark, output, claim verdict and error, as the interpreter says."""
    report = screen.report_text.splitlines()
    for s in expected.all_statements():
        mark = MARKS[statement_mark(s)][0]
        first = visible(s.source.splitlines()[0])
        assert any(
            row.split()[:1] == [str(s.line)] and mark in row and first in row for row in report
        ), (s.line, mark, screen.report_text)
        for printed in s.printed if not s.body else ():
            assert f"> {visible(printed.splitlines()[0])}" in screen.report_text
        for claim in s.claims if not s.body else ():
            assert f"claim {visible(claim.text)}" in screen.report_text
            verdict = {"holds": "✓ holds", "FAILS": "✗ FAILS", "not checked": "? not checked"}
            assert verdict[claim_verdict(claim)] in screen.report_text
        if s.error is not None and not s.body:
            assert f"{s.error.type}: {visible(s.error.message).splitlines()[0]}" in (
                screen.report_text
            )
            if s.error.why:
                assert f"why: {s.error.why}" in screen.report_text


async def test_the_picker_opens_each_seed_snippet_and_its_report_is_the_runs() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        picker = app.query_one(OpPicker)
        assert [m for m in picker.matches() if m.startswith("snippet: ")] == [
            f"snippet: {s.name}" for s in SEED_SNIPPETS
        ]
        for seed in SEED_SNIPPETS:
            app.to_explorer()
            await pilot.pause()
            app.action_focus_filter()
            await type_text(pilot, f"snippet: {seed.name}")
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SnippetScreen)
            assert screen.text == seed.text
            shown = await _ran(pilot, screen, seed.text)
            expected = run_snippet(seed.text)
            assert shown.stopped_at == expected.stopped_at
            _check_report(screen, expected)


async def test_lt_marks_line_9_raised_and_line_10_not_reached() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (80, 24)) as pilot:
        text = seed_snippet("lt").text
        app.open_snippet(text, run=True)
        await pilot.pause()
        screen = app.snippet_screen
        result = await _ran(pilot, screen, text)
        rows = screen.report_text.splitlines()
        (raised,) = [r for r in rows if "✗ RAISED" in r]
        assert raised.split()[0] == "9" and "z.sum().backward()" in raised
        (unreached,) = [r for r in rows if "· not reached" in r]
        assert unreached.split()[0] == "10"
        error = result.statements[-2].error
        assert error is not None and error.type == "RuntimeError"
        assert f"RuntimeError: {error.message}" in screen.report_text
        assert screen.status_text.startswith("stopped at line 9")
        # the cursor went to the raising line, and the report shows it at 80x24
        assert screen.editor.cursor_location == (8, 0)
        assert "✗ RAISED" in app.screen_text()


async def test_the_palette_opens_a_new_snippet_and_each_seed() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "snippet: new" in titles
        assert [t for t in titles if t.startswith("snippet: ") and t != "snippet: new"] == [
            f"snippet: {s.name} (the seed page's code)" for s in SEED_SNIPPETS
        ]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "snippet: exp")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SnippetScreen)
        text = seed_snippet("exp").text
        await _ran(pilot, screen, text)
        expected = run_snippet(text)
        _check_report(screen, expected)
        (claim,) = [c for s in expected.statements for c in s.claims if c.holds is False]
        assert claim.line == 4 and "✗ FAILS" in screen.report_text
        # Back to the explorer (Esc leaves the editor, then the screen), and a new,
        # empty snippet keeps nothing of the old one but the screen itself.
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.screen is app.explorer
        app.open_snippet()
        await pilot.pause()
        assert app.screen is screen and screen.text == text  # kept while going back and forth


async def test_a_refused_snippet_keeps_its_text_and_puts_the_cursor_there() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_snippet(REFUSED)
        await pilot.pause()
        screen = app.snippet_screen
        screen.editor.move_cursor((0, 0))
        await pilot.press("ctrl+r")
        deadline = time.monotonic() + 60
        while screen.refused is None:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        line, col, message = screen.refused
        assert (line, col) == (3, 1)
        assert screen.text == REFUSED
        assert screen.editor.cursor_location == (line - 1, col - 1)
        assert screen.status_text == f"refused at line 3:1: {message}"
        assert "Nothing ran" in screen.report_text and "import os" in screen.report_text


async def test_several_backward_passes_can_be_chosen() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (120, 36)) as pilot:
        app.open_snippet(TWO_PASSES, run=True)
        await pilot.pause()
        screen = app.snippet_screen
        result = await _ran(pilot, screen, TWO_PASSES)
        assert [b.line for b in result.backwards] == [4, 8]
        stepper = screen.query_one(StepperPanel)
        assert stepper.record is result.backwards[0]
        select = screen.query_one("#snippet-pass", Select)
        assert select.value == 0
        await pilot.press("escape")  # out of the editor: n and p step
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert stepper.record is result.backwards[1] and select.value == 1
        nodes = [s.node for s in result.backwards[1].steps]
        assert "ExpBackward0" in nodes
        assert "line 8  z.backward()" in app.screen_text()
        screen.query_one("#snippet-pass", Select).value = 0
        await pilot.pause()
        assert stepper.record is result.backwards[0]
        assert "backward pass 1 of 2" in app.screen_text()
        stepper.query_one("#step-list").focus()
        await pilot.press("n")
        await pilot.pause()
        assert stepper.index == 1
        assert app.explorer.query_one(StepperPanel).index == 0  # the explorer's did not move


async def test_a_paste_event_lands_in_the_editor_wherever_the_focus_is() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_snippet("")
        await pilot.pause()
        screen = app.snippet_screen
        text = seed_snippet("abs").text
        screen.editor.focus()
        await pilot.pause()
        app.post_message(Paste(text))  # as the driver delivers a bracketed paste
        await pilot.pause()
        assert screen.text == text  # once, not twice
        screen.query_one("#snippet-report").focus()
        await pilot.pause()
        app.post_message(Paste("print(x)\n"))
        await pilot.pause()
        assert screen.text.count("print(x)\n") == 1 and screen.editor.has_focus
        screen.editor.set_text(text)
        await pilot.press("f5")
        result = await _ran(pilot, screen, text)
        assert result.stopped_at == 2
        _check_report(screen, run_snippet(text))


async def test_ctrl_v_with_nothing_copied_says_how_to_paste() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_snippet("")
        await pilot.pause()
        seen: list[str] = []
        real = app.notify
        app.notify = lambda message, **kw: (seen.append(message), real(message, **kw))  # type: ignore[method-assign]
        await pilot.press("ctrl+v")
        await pilot.pause()
        assert seen and "terminal's paste" in seen[-1]
        app.copy_to_clipboard("x = 1\n")
        await pilot.press("ctrl+v")
        await pilot.pause()
        assert app.snippet_screen.text == "x = 1\n"


async def test_help_lists_the_snippet_keys_and_explorer_keys_sleep_there() -> None:
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (100, 30)) as pilot:
        app.open_snippet("import torch\n")
        await pilot.pause()
        assert app.check_action("toggle_layer", ("d2",)) is False
        await pilot.press("escape")  # leave the editor, then ? opens help
        await pilot.press("question_mark")
        await wait_for_text(pilot, "gradtui — help")
        source = app.screen.query_one("#help-text").source
        assert "## The snippet editor's keys" in source
        snippet_keys = source.split("## The snippet editor's keys")[1].split("\n## ")[0]
        assert snippet_keys.count("| `ctrl+r` / `f5` |") == 1 and "`ctrl+o`" in snippet_keys


def test_snippet_screen_after_a_run_snapshot(snap_compare) -> None:
    text = seed_snippet("lt").text

    async def run_lt(pilot: Pilot) -> None:
        from tests.helpers import settle

        await settle(pilot)
        app = pilot.app
        assert isinstance(app, GradApp)
        app.open_snippet(text, run=True)
        await pilot.pause()
        await _ran(pilot, app.snippet_screen, text)
        await pilot.pause()

    assert snap_compare(GradApp(cursor_blink=False), terminal_size=(100, 30), run_before=run_lt)


# ------------------------------------------------------------- a real terminal

LONG = "import torch\na = torch.ones(1000, 1000)\n" + "b = a @ a @ a @ a @ a\n" * 150


def test_a_bracketed_paste_through_tmux_runs_in_the_real_app() -> None:
    """The way a person pastes over SSH: tmux's ``paste-buffer -p`` sends the text as one
    bracketed paste (``ESC[200~ … ESC[201~``) to the real ``gradtui``."""
    assert shutil.which("tmux"), "this test drives a real tmux (apt-get install tmux)"
    tmux = ["tmux", "-L", f"gradtui-snippet-{os.getpid()}", "-f", "/dev/null"]
    command = " ".join(shlex.quote(a) for a in gradtui_command())
    # COLUMNS and LINES (set under pytest-xdist) would override the pane's real size
    drop = ("TMUX", "NO_COLOR", "TEXTUAL", "COLUMNS", "LINES")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["TERM"] = "xterm-256color"
    run = partial(subprocess.run, env=env, capture_output=True, text=True, timeout=30)

    def wait_for(text: str, seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = run([*tmux, "capture-pane", "-p", "-t", "t"]).stdout
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{screen}")

    snippet = seed_snippet("exp").text
    try:
        started = run([*tmux, "new-session", "-d", "-s", "t", "-x", "120", "-y", "36", command])
        assert started.returncode == 0, started.stderr
        wait_for("ExpBackward0")
        run([*tmux, "send-keys", "-t", "t", "C-p"])
        wait_for("Search for commands")
        run([*tmux, "send-keys", "-t", "t", "-l", "snippet: new"])
        wait_for("snippet: new")
        time.sleep(0.5)
        run([*tmux, "send-keys", "-t", "t", "Enter"])
        wait_for("snippet (Python)")
        run([*tmux, "set-buffer", "-b", "s", snippet])
        run([*tmux, "paste-buffer", "-p", "-b", "s", "-t", "t"])
        screen = wait_for("y.sum().backward()")  # the pasted text, in the editor
        assert screen.count("y.sum().backward()") == 1  # pasted once, lines kept apart
        run([*tmux, "send-keys", "-t", "t", "C-r"])
        screen = wait_for("ran to the end")
        expected = run_snippet(snippet)
        assert f"claims {1} hold, {1} fail" in screen
        assert sum(c.holds is False for s in expected.statements for c in s.claims) == 1
        assert "· 1 backward pass" in screen  # the status line
        assert "backward pass 1 of 1" in screen  # 120x36: the stepper beside the report
    finally:
        run([*tmux, "kill-server"])


def test_sigterm_ends_the_app_in_the_middle_of_a_run() -> None:
    app = PtyApp(cols=100, rows=30)
    try:
        assert app.wait_for(b"ExpBackward0", 90)
        os.write(app.fd, b"\x10")  # ctrl+p
        assert app.wait_for(b"Search for commands", 30)
        os.write(app.fd, b"snippet: new")
        app.pump(1.0)
        os.write(app.fd, b"\r")
        assert app.wait_for(b"snippet (Python)", 30)
        os.write(app.fd, b"\x1b[200~" + LONG.encode() + b"\x1b[201~")
        app.pump(1.0)
        os.write(app.fd, b"\x12")  # ctrl+r
        assert app.wait_for(b"running", 30)
        os.kill(app.pid, signal.SIGTERM)
        status = app.wait_exit(60)
        assert status is not None, "gradtui still running 60 s after SIGTERM"
        assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGTERM
        assert b"Traceback" not in app.output
    finally:
        if app.poll() is None:
            os.kill(app.pid, signal.SIGKILL)
            app.wait_exit(10)


def _torch_walk(root: object) -> list[tuple[str, int]]:
    """Each node torch's ``next_functions`` reach from ``root``, once: name, edges out."""
    seen: set[int] = set()
    out: list[tuple[str, int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nexts = [n for n, _ in node.next_functions]  # type: ignore[attr-defined]
        out.append((type(node).__name__, sum(n is not None for n in nexts)))
        stack.extend(nexts)
    return sorted(out)


async def test_g_draws_the_graph_of_the_snippets_backward_pass() -> None:
    import torch

    from gradtui.tui.widgets.graph_view import GraphView

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    expected = _torch_walk((x * x).sum().grad_fn)
    app = GradApp("exp", cursor_blink=False)
    async with running(app, (120, 36)) as pilot:
        app.open_snippet(TWO_PASSES, run=True)
        await pilot.pause()
        screen = app.snippet_screen
        result = await _ran(pilot, screen, TWO_PASSES)
        record = result.backwards[0]
        got = sorted((n.name, sum(i is not None for i in n.next)) for n in record.graph)
        assert got == expected  # the pass's graph is torch's, node for node
        await pilot.press("escape")  # out of the editor
        await pilot.press("g")
        await pilot.pause()
        stepper = screen.query_one(StepperPanel)
        view = stepper.query_one(GraphView)
        assert stepper.graph_mode and view.display
        assert view.drawing is not None
        assert set(view.drawing.boxes) == {n.id for n in record.graph}
        assert view.current_node == record.steps[0].graph_id
        text = app.screen_text()
        assert "MulBackward0" in text and "AccumulateGrad (x)" in text
        stepper.step(1)
        await pilot.pause()
        assert view.current_node == record.steps[1].graph_id
        assert view.done_nodes == {record.steps[0].graph_id}
