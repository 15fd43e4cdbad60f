"""``gradtui demo``: the headless tour's frames say what torch says, scripts are checked
before they play, and the live viewer keys work.

The tour runs once, headless, in a subprocess with stdin not a terminal (as in CI). Each
frame is then checked against torch, computed here independently of the engine: the
torch message for ``lt``, ``ExpBackward0`` and its saved result, the gradient ``gather``
scatters back, the BCE losses and the SGD update.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gradtui.ops.display import format_value
from gradtui.tui.cli import main
from gradtui.tui.demo.captions import CaptionError, fill, placeholders
from gradtui.tui.demo.lines import key_lines
from gradtui.tui.demo.player import DemoApp, Player, typing_units
from gradtui.tui.demo.runner import play_headless
from gradtui.tui.demo.script import builtin_path, load_script
from gradtui.tui.widgets.inputs import InputsPanel
from tests.helpers import ROOT, gradtui

SIZE = "100x30"


def flat(text: str) -> str:
    """Whitespace collapsed, so a caption wrapped over lines reads as one."""
    return " ".join(text.split())


def caption_block(frame: str) -> str:
    """The caption bar of a text frame: the lines above the first panel."""
    lines = frame.splitlines()
    top = next(k for k, line in enumerate(lines) if line.lstrip().startswith("╭"))
    return flat("\n".join(lines[:top]))


class Tour:
    """The headless tour's output: frames by slug, in order."""

    def __init__(self, out: subprocess.CompletedProcess[str], frames: Path) -> None:
        self.out = out
        self.dir = frames
        self.lines = out.stdout.splitlines()
        self.names: list[str] = []
        self.captions: dict[str, str] = {}
        for line in self.lines:
            path, _, caption = line.partition(".svg  ")
            name = Path(path).name
            self.names.append(name)
            self.captions[name] = caption

    def frame(self, slug: str) -> str:
        """The text frame whose name ends with ``-slug``."""
        (name,) = [n for n in self.names if n.split("-", 1)[1] == slug]
        return (self.dir / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Tour:
    frames = tmp_path_factory.mktemp("frames")
    out = gradtui("demo", "--headless", "--frames", str(frames), "--size", SIZE)
    assert out.returncode == 0, out.stderr
    return Tour(out, frames)


# ------------------------------------------------------------------ the tour


def test_tour_writes_one_svg_and_one_text_frame_per_printed_line(tour: Tour) -> None:
    assert len(tour.lines) >= 20
    for k, name in enumerate(tour.names, 1):
        assert name.startswith(f"{k:03d}-"), name
        svg = (tour.dir / f"{name}.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<svg")
        text = (tour.dir / f"{name}.txt").read_text(encoding="utf-8")
        assert len(text.splitlines()) == 30
        assert text.endswith("\n") and not text.endswith("\n\n")  # a text file's last line
        # What the line says is what the frame's caption bar says.
        assert flat(tour.captions[name]) in caption_block(text)
    assert sorted(p.name for p in tour.dir.iterdir()) == sorted(
        [f"{n}.svg" for n in tour.names] + [f"{n}.txt" for n in tour.names]
    )


def test_lt_frame_shows_no_grad_fn_and_torchs_own_message(tour: Tour) -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.tensor([2.0, 2.0, 2.0], requires_grad=True)
    z = torch.lt(x, y)
    assert z.grad_fn is None and z.dtype == torch.bool
    with pytest.raises(RuntimeError) as raised:
        z.sum().backward()
    said = str(raised.value).splitlines()[0]

    frame = tour.frame("lt")
    caption = caption_block(frame)
    assert "[1, 0, 0]" in caption  # the seed page's claim, named
    assert "bool tensor with grad_fn=None" in caption
    assert said in caption
    assert "grad_fn=None" in frame.split("╭", 1)[1]  # the stepper says it too
    assert "No backward graph." in frame
    assert "grad_fn=None" in caption_block(tour.frame("lt-2"))


def test_lt_snippet_frame_shows_the_raising_line_and_the_claim_never_reached(tour: Tour) -> None:
    """The page's own lt code, pasted and run: the caption and the screen say what the
    interpreter (run here on the same text) says of line 9 and line 10."""
    from gradtui.ops.seed_snippets import seed_snippet
    from gradtui.ops.snippet import run_snippet

    result = run_snippet(seed_snippet("lt").text)
    (raised,) = [s for s in result.statements if s.status == "raised"]
    assert raised.error is not None and raised.line == result.stopped_at == 9
    (unreached,) = [c for s in result.statements for c in s.claims if c.holds is None]
    frame = tour.frame("lt-snippet")
    caption = caption_block(frame)
    assert (
        f'line {raised.line}, {raised.source}, RAISED {raised.error.type}: "{raised.error.message}"'
        in caption
    )
    assert f"line {unreached.line}'s claim {unreached.text} is not checked" in caption
    body = frame.split("╭", 1)[1]
    assert "snippet (Python)" in body and "✗ RAISED" in body and raised.source in body
    assert f"{raised.error.type}: " in body


def test_abs_frames_show_the_integer_refusal_then_the_gradient_at_zero(tour: Tour) -> None:
    with pytest.raises(RuntimeError) as raised:
        torch.tensor([-1, 0, 1]).requires_grad_()
    assert str(raised.value).splitlines()[0] in caption_block(tour.frame("abs"))

    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    torch.abs(x).sum().backward()
    frame = tour.frame("abs-grad")
    assert f"input.grad = {format_value(x.grad.tolist())}" in caption_block(frame)
    assert f"input.grad  {format_value(x.grad.tolist())}" in frame


def test_exp_frame_shows_expbackward0_and_its_saved_result(tour: Tour) -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.exp(x)
    assert type(y.grad_fn).__name__ == "ExpBackward0"
    result = format_value(y.grad_fn._saved_result.tolist())
    frame = tour.frame("exp")
    body = frame.split("╭", 1)[1]
    assert "ExpBackward0" in body
    assert f"result  {result}" in body
    assert f"grad_fn=ExpBackward0. ExpBackward0 saved its own result, {result}" in caption_block(
        frame
    )
    y.sum().backward()
    assert f"input.grad = {format_value(x.grad.tolist())}" in caption_block(tour.frame("exp-grad"))
    plot = tour.frame("exp-plot")
    assert "─ plot ─" in plot and "f′" in plot


def test_gather_frame_shows_the_gradient_scattered_back(tour: Tour) -> None:
    index = torch.tensor([[0, 0], [1, 0]])
    v = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    scattered = torch.zeros(2, 2).scatter_add(1, index, v)  # what gather's backward must do
    expected = format_value(scattered.tolist())
    assert expected == "[[30., 0.], [40., 30.]]"  # the position gathered twice adds up
    frame = tour.frame("gather-grad")
    assert f"input.grad = {expected}" in caption_block(frame)
    assert f"input.grad  {expected}" in frame


def test_bce_frames_measure_why_the_logits_form_is_stable(tour: Tour) -> None:
    x = torch.tensor([-2.0, 0.5, 20.0], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.0])
    through_sigmoid = F.binary_cross_entropy(torch.sigmoid(x), y)
    (grad_sigmoid,) = torch.autograd.grad(through_sigmoid, x)
    logits = F.binary_cross_entropy_with_logits(x, y)
    (grad_logits,) = torch.autograd.grad(logits, x)
    assert grad_sigmoid[2] == 0 and grad_logits[2] > 0.3  # the claim, measured here

    caption = caption_block(tour.frame("bce-vs-logits-unstable"))
    assert f"loss {format_value(through_sigmoid.item())}" in caption
    assert f"(logits form: {format_value(logits.item())})" in caption
    assert f"x.grad = {format_value(grad_sigmoid.tolist())}" in caption
    assert f"(logits form: {format_value(grad_logits.tolist())})" in caption
    why = tour.frame("bce-vs-logits-why")
    assert format_value(torch.sigmoid(x.detach()).tolist()) in caption_block(why)
    assert "SigmoidBackward0" in why.split("╭", 1)[1]


def test_multilabel_frames_step_through_the_nodes_torch_records(tour: Tour) -> None:
    x = torch.tensor([[0.5, -1.0, 2.0], [-0.5, 1.5, 0.0]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    seen, stack = set(), [F.multilabel_soft_margin_loss(x, target).grad_fn]
    while stack:  # every node of the graph torch recorded (a small DAG)
        node = stack.pop()
        seen.add(type(node).__name__)
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    opening = caption_block(tour.frame("multilabel-soft-margin-loss"))
    chain = opening.split("nodes, ", 1)[1].rstrip(".").split(" → ")
    assert set(chain) == seen
    stepped = [
        re.search(r"Step \d+ of \d+: (\w+),", tour.captions[n]).group(1)
        for n in tour.names
        if "-node-" in n
    ]
    assert stepped == chain[1:]  # one frame per node after the first, in the engine's order


def test_sgd_frames_show_gradient_plus_l1_becoming_the_update(tour: Tour) -> None:
    param = torch.nn.Parameter(torch.tensor([0.5, 0.0, -1.0]))
    data = torch.tensor([[1.0, 2.0, 0.5], [0.5, -1.0, 1.0]])
    target = torch.tensor([1.0, 0.0])
    optimizer = torch.optim.SGD([param], lr=0.1)
    (F.mse_loss(data @ param, target) + 0.05 * param.abs().sum()).backward()
    grad = format_value(param.grad.tolist())
    optimizer.step()
    caption = caption_block(tour.frame("sgd-l1-step-update"))
    assert f"param.grad = {grad}" in caption
    assert f"makes param {format_value(param.detach().tolist())}" in caption
    assert f"l1 · sign(param) = {format_value([0.05, 0.0, -0.05])}" in caption_block(
        tour.frame("sgd-l1-step-l1")
    )


# ------------------------------------------------------------------ scripts


async def test_the_shipped_example_plays(tmp_path: Path) -> None:
    path = builtin_path("example")
    assert path is not None
    status, player = await play_headless(load_script(path), size=(100, 30), frames=tmp_path)
    assert status == 0
    assert player.frame_count == 9
    assert len(list(tmp_path.glob("*.svg"))) == len(list(tmp_path.glob("*.txt"))) == 9
    typo = next(tmp_path.glob("*-a-typo-typo.txt")).read_text(encoding="utf-8")
    assert "backward (stale)" in typo and "never closed" in caption_block(typo)


def test_readme_documents_the_example_script_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Demo mode", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)
    example = (ROOT / "tui" / "demos" / "example.toml").read_text(encoding="utf-8")
    assert example in blocks


GOOD_SCENE = '[[scene]]\nop = "exp"\ncaption = "exp = {output}"\n'

BROKEN = {
    "unknown op": (
        'title = "t"\n\n[[scene]]\nop = "exq"\ncaption = "c"\n',
        4,
        "unknown op 'exq'; did you mean",
    ),
    "bad input": (
        GOOD_SCENE + '\n[[scene]]\nop = "abs"\ncaption = "c"\ninputs = { input = "[1.0, 2.0" }\n',
        8,
        "input: cannot parse",
    ),
    "input not of the op": (
        '[[scene]]\nop = "exp"\ninputs = { x = "[1.0]" }\ncaption = "c"\n',
        3,
        "has no input 'x'",
    ),
    "unknown action": (
        GOOD_SCENE + "actions = [\n  { step = 1 },\n  { jump = 2 },\n]\n",
        6,
        "action 2: unknown action 'jump'",
    ),
    "two verbs": (
        GOOD_SCENE + "actions = [\n  { step = 1, pause = 2 },\n]\n",
        5,
        "2 actions (step, pause)",
    ),
    "bad typed text": (
        GOOD_SCENE + 'actions = [\n  { into = "input", type = "[1.0, *]" },\n]\n',
        5,
        "input: cannot parse",
    ),
    "typed into no field": (
        GOOD_SCENE + 'actions = [\n  { into = "other", type = "[1.0]" },\n]\n',
        5,
        "no field 'other' on screen",
    ),
    "refused but accepted": (
        GOOD_SCENE + 'actions = [\n  { into = "input", type = "[1.0]", refused = true },\n]\n',
        5,
        "refused = true, but the engine accepts",
    ),
    "forward refused": (
        '[[scene]]\nop = "lt"\ninputs = { input = "[1.0, 2.0]", other = "[1.0, 2.0, 3.0]" }\n'
        'caption = "c"\n',
        3,
        "torch refused the forward pass",
    ),
    "bad TOML": (
        GOOD_SCENE + "actions = [\n  { step = 1 }\n  { step = 2 },\n]\n",
        6,
        "bad TOML: Unclosed array",
    ),
    "unknown placeholder": (
        '[[scene]]\nop = "exp"\n\ncaption = "exp = {outptu}"\n',
        4,
        "unknown placeholder {outptu}",
    ),
    "no caption": ('[[scene]]\nop = "exp"\n', 1, "every scene needs a caption"),
    "unknown layer": (
        GOOD_SCENE + 'actions = [ { layer = "d3" } ]\n',
        4,
        "unknown layer 'd3'",
    ),
    "no scenes": ('title = "t"\n', 1, "at least one [[scene]]"),
    "unknown seed snippet": (
        GOOD_SCENE + '\n[[scene]]\nsnippet = "lq"\ncaption = "c"\n',
        6,
        "snippet must name a seed snippet: lt, abs, exp",
    ),
    "op and snippet": (
        '[[scene]]\nop = "exp"\nsnippet = "lt"\ncaption = "c"\n',
        1,
        "give exactly one of op = …, expression = …, snippet = … or model = …",
    ),
    "snippet scene that steps": (
        '[[scene]]\nsnippet = "lt"\ncaption = "line {stopped_at}"\n'
        "actions = [\n  { step = 1 },\n]\n",
        5,
        "a snippet scene's actions are: pause",
    ),
    "snippet placeholder typo": (
        '[[scene]]\nsnippet = "lt"\ncaption = "line {stoped_at}"\n',
        3,
        "unknown placeholder {stoped_at}",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_broken_script_is_refused_with_its_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, line, what = BROKEN[case]
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["demo", str(path), "--headless", "--frames", str(tmp_path / "frames")])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: {path}:{line}: "), err
    assert what in err, err
    assert not (tmp_path / "frames").exists()  # refused before anything played


def test_a_broken_script_through_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[scene]]\nname = "x"\nop = "gathr"\ncaption = "c"\n', encoding="utf-8")
    out = gradtui("demo", str(path), "--headless")
    assert out.returncode == 2
    assert out.stdout == ""
    assert (
        out.stderr == f"error: {path}:3: scene 1 (x): unknown op 'gathr'; did you mean 'gather'?\n"
    )


def test_live_mode_without_a_terminal_says_what_to_do_instead() -> None:
    out = gradtui("demo")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "needs a terminal" in out.stderr and "--headless" in out.stderr


def test_check_only_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "example", "--check"]) == 0
    # The example's 9 captions (as in test_the_shipped_example_plays) were all filled.
    assert "2 scenes, 9 captions filled from torch's results, ok" in capsys.readouterr().out
    assert main(["demo", "--speed", "0", "--headless"]) == 2
    assert main(["demo", "--frames", "x"]) == 2
    assert main(["demo", "--headless", "--size", "big"]) == 2
    assert main(["demo", "no-such-script"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)


# ------------------------------------------------------------------ live


async def test_live_keys_pause_skip_and_quit() -> None:
    script = load_script(builtin_path("tour"))
    player = Player(script, live=True, speed=1.0)
    app = DemoApp(player, autoplay=True, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        while "1/8 · lt  The seed page" not in app.caption_text:
            await pilot.pause(0.05)
        await pilot.press("space")
        assert player.paused and "paused" in app.caption_text
        shown = app.caption_text
        await pilot.pause(0.6)
        assert app.caption_text == shown  # nothing moves while paused
        await pilot.press("space")
        assert not player.paused and "paused" not in app.caption_text
        await pilot.press("right")
        for _ in range(400):  # the next scene pastes the lt snippet and runs it
            if app.caption_text.startswith("2/8 · lt snippet  The page's own lt code"):
                break
            await pilot.pause(0.05)
        assert app.caption_text.startswith("2/8 · lt snippet  The page's own lt code")
        assert app.screen is app.snippet_screen
        await pilot.press("right")  # out of the snippet scene, back to the explorer
        for _ in range(200):
            if app.caption_text.startswith("3/8 · abs  The seed's"):
                break
            await pilot.pause(0.05)
        assert app.caption_text.startswith("3/8 · abs  The seed's")
        assert app.target == "abs" and app.screen is app.explorer
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_live_keys_work_while_the_demo_types(tmp_path: Path) -> None:
    """A focused text field would take space and q before any binding: the runner types
    without focusing, so the viewer can pause mid-word, and q never lands in a field."""
    path = tmp_path / "typing.toml"
    path.write_text(
        '[[scene]]\nop = "exp"\ncaption = "start: {output}"\nhold = 0\nactions = [\n'
        '  { into = "input", type = "[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]", caption = "{output}" },'
        "\n]\n",
        encoding="utf-8",
    )
    player = Player(load_script(path), live=True, speed=0.5)
    app = DemoApp(player, autoplay=True, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        inputs = app.query_one(InputsPanel)
        while "input" not in inputs.names or not inputs.texts["input"].startswith("[0.5"):
            await pilot.pause(0.02)
        field = inputs.field("input")
        await pilot.press("space")
        assert player.paused
        typed = field.value
        await pilot.pause(0.5)
        assert field.value == typed and " " not in typed.removeprefix("[0.5, ")[-1:]
        await pilot.press("space")
        await pilot.pause(0.3)
        assert len(field.value) > len(typed)  # typing goes on
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
    assert "q" not in field.value


async def test_after_the_last_scene_the_keys_are_the_apps() -> None:
    script = load_script(builtin_path("example"))
    short = replace(script, scenes=script.scenes[:1])
    player = Player(short, live=True, speed=100)
    app = DemoApp(player, autoplay=True, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        while not player.finished:
            await pilot.pause(0.05)
        assert app.caption_text.startswith("End of the demo")
        index = app.step_index
        await pilot.press("p")  # the app's own key: one step back
        assert app.step_index == index - 1
        assert not app.check_action("demo_pause", ())  # space is no longer the demo's
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_live_typing_shows_what_headless_shows() -> None:
    """Live types key by key (names a word at a time); the captions must not change."""
    script = load_script(builtin_path("tour"))
    bce = replace(script, scenes=tuple(s for s in script.scenes if s.slug == "bce-vs-logits"))
    live = Player(bce, live=True, speed=100)
    app = DemoApp(live, autoplay=False, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await live.play(app, pilot) == 0
    status, headless = await play_headless(bce, size=(100, 30))
    assert status == 0
    assert live.captions == headless.captions
    assert len(live.captions) == 5


# ------------------------------------------------------------------ pieces


def test_key_lines_finds_keys_past_strings_and_comments() -> None:
    text = (
        '# [not a table]\ntitle = "a # [b] { c"\n\n[[scene]]\nop = "lt"  # {\n'
        'caption = """two\nlines ] }"""\nactions = [\n  { step = 1 }, { pause = 2 },\n'
        '  { into = "x", type = "[1,\\" 2]" },\n]\n\n[[scene]]\n[scene.inputs]\nx = "1"\n'
    )
    import tomllib

    tomllib.loads(text)
    lines = key_lines(text)
    assert lines[("title",)] == 2
    assert lines[("scene", 0)] == 4
    assert lines[("scene", 0, "caption")] == 6
    assert lines[("scene", 0, "actions", 1, "pause")] == 9
    assert lines[("scene", 0, "actions", 2, "type")] == 10
    assert lines[("scene", 1)] == 13
    assert lines[("scene", 1, "inputs", "x")] == 15


def test_captions_are_filled_from_values_never_evaluated() -> None:
    assert placeholders("{grad.x} and {before.output} {{literal}}") == ["grad.x", "before.output"]
    assert fill("{grad.x} was {before.grad.x} {{x}}", {"grad.x": "[1.]"}, {"grad.x": "[2.]"}) == (
        "[1.] was [2.] {x}"
    )
    with pytest.raises(CaptionError):
        fill("{grad.y}", {"grad.x": "[1.]"}, {})
    for bad in ("{x.__class__}", "{grad}", "{output.x}", "{0}", "a { b"):
        with pytest.raises(ValueError):
            placeholders(bad)


def test_live_typing_units_keep_names_whole() -> None:
    assert typing_units("bce_logits(x, y)") == ["bce_logits(", "x", ",", " ", "y", ")"]
    assert "".join(typing_units("[1.0, -2e-3]")) == "[1.0, -2e-3]"


def test_check_fills_every_caption_against_the_computed_result(tmp_path: Path) -> None:
    """A placeholder the result does not have passes the format check (``grad.NAME`` is a
    known kind) but cannot be filled: ``--check`` finds it by playing, with its line."""
    path = tmp_path / "nope.toml"
    path.write_text(
        '[[scene]]\nop = "exp"\ncaption = "exp gives {output}"\nactions = [\n'
        '  { step = 1, caption = "the step after: {node}" },\n'
        '  { step = 1, caption = "and {grad.nope}" },\n]\n',
        encoding="utf-8",
    )
    load_script(path)  # the format and the engine accept it: only playing can tell
    out = gradtui("demo", str(path), "--check")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        f"error: {path}:6: caption placeholder {{grad.nope}} has no value on screen\n"
    )
    path.write_text(path.read_text(encoding="utf-8").replace("grad.nope", "grad.input"))
    out = gradtui("demo", str(path), "--check")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{path}: 1 scenes, 3 captions filled from torch's results, ok\n"
