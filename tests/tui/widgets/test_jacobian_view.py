"""J's heat map alone, fed Jacobians built by hand: numbers, shading, v's rows, vᵀJ.

The first tests use numbers chosen to exercise the drawing (signs, a zero, a nan, a J
too wide for numbers); the last ones draw J computed by the engine and check it against
``torch.autograd.functional.jacobian`` here. Through the whole app:
``tests/tui/test_jacobian_and_second_order.py``.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from rich.text import Text
from textual.app import App, ComposeResult

from gradtui.ops.graph import JacobianBlock, JacobianResult, jacobian
from gradtui.tui.widgets.jacobian_view import NUMBER_COLUMNS, JacobianView, render_jacobian
from tests.helpers import screen_text

SHADES = "░▒▓█"


def _result(
    matrix: list[list[float]], v: list[float], grad: list[float] | None, name: str = "x"
) -> JacobianResult:
    m, n = len(matrix), len(matrix[0])
    block = JacobianBlock(name, (n,), (m,), matrix, grad)
    return JacobianResult("f", "f(x)", (m,), v, {name: block})


def _vjp(matrix: list[list[float]], v: list[float]) -> list[float]:
    return [math.fsum(v[i] * row[j] for i, row in enumerate(matrix)) for j in range(len(matrix[0]))]


def _rows(text: Text) -> dict[int, tuple[bool, list[str]]]:
    """``{i: (marked ▸, the tokens after the label out[i])}`` from the plain text."""
    found = {}
    for line in text.plain.splitlines():
        match = re.match(r"^([▸ ]) out\[(\d+)\] (.*)$", line)
        if match:
            found[int(match.group(2))] = (match.group(1) == "▸", match.group(3).split())
    return found


def _bg_at(text: Text, needle: str, start: int = 0) -> tuple[int, int, int]:
    """The background colour of the span that styles ``needle`` (found after ``start``)."""
    at = text.plain.index(needle, start)
    for span in text.spans:
        if span.start <= at < span.end and not isinstance(span.style, str):
            bg = span.style.bgcolor
            if bg is not None:
                triplet = bg.get_truecolor()
                return (triplet.red, triplet.green, triplet.blue)
    raise AssertionError(f"no background on {needle!r}")


MATRIX = [[0.5, -2.0, 0.0], [1.0, 0.25, -0.125]]


def test_small_j_shows_its_numbers_v_and_the_rows_v_combines() -> None:
    v = [0.0, 3.0]
    text = render_jacobian(_result(MATRIX, v, _vjp(MATRIX, v)))
    rows = _rows(text)
    assert set(rows) == {0, 1}
    assert rows[1][0] and not rows[0][0]  # v[0] = 0: row 0 is not combined
    for i, (_, tokens) in rows.items():
        *cells, v_cell = tokens
        assert [float(c) for c in cells] == MATRIX[i]
        assert float(v_cell) == v[i]
    plain = text.plain
    assert "J = ∂out/∂x: 2 × 3  (output [2], x [3])" in plain
    grad_line = next(line for line in plain.splitlines() if line.strip().startswith("x.grad"))
    assert [float(c) for c in grad_line.split()[1:]] == _vjp(MATRIX, v)
    assert "largest difference 0" in plain


def test_the_check_reports_how_far_grad_is_from_vtj() -> None:
    v = [1.0, 1.0]
    grad = _vjp(MATRIX, v)
    grad[2] += 0.5  # as if torch's .grad disagreed with J
    plain = render_jacobian(_result(MATRIX, v, grad)).plain
    assert "largest difference 0.5" in plain


def test_no_gradient_says_so_instead_of_a_check() -> None:
    plain = render_jacobian(_result(MATRIX, [1.0, 1.0], None)).plain
    assert "None (no gradient reached it)" in plain
    assert "largest difference" not in plain


def test_cells_are_shaded_by_size_red_for_positive_blue_for_negative() -> None:
    text = render_jacobian(_result(MATRIX, [1.0, 1.0], None))
    top_neg = _bg_at(text, "-2")  # the largest |J|: full blue
    small_pos = _bg_at(text, "0.25")
    big_pos = _bg_at(text, " 1 ")
    zero = _bg_at(text, " 0 ")
    assert top_neg[2] > top_neg[0] and big_pos[0] > big_pos[2]  # sign by colour
    assert big_pos[0] > small_pos[0] > zero[0]  # redder as |J| grows
    assert zero[0] == zero[1] == zero[2]  # grey: no sign


def test_a_wide_j_shows_a_sign_and_a_shade_per_cell() -> None:
    n = NUMBER_COLUMNS + 2
    top = 4.0
    matrix = [[top * (j - n / 2) / (n / 2) for j in range(n)], [0.0] * (n - 1) + [math.nan]]
    text = render_jacobian(_result(matrix, [1.0, 0.0], None))
    rows = _rows(text)
    assert rows[0][0] and not rows[1][0]
    cells = rows[0][1][:n]
    for x, cell in zip(matrix[0], cells, strict=True):
        if x == 0:
            assert cell == "·"
            continue
        sign, shade = cell
        assert sign == ("+" if x > 0 else "-")
        want = SHADES[min(int(abs(x) / top * len(SHADES)), len(SHADES) - 1)]
        assert shade == want, (x, cell)
    assert rows[1][1][-2] == "!!"  # nan is marked, not shaded
    assert f"largest |J| = {top:g}" in text.plain


@pytest.mark.parametrize("shades", [False, True])
def test_without_colour_each_number_carries_its_shade(shades: bool) -> None:
    rows = _rows(render_jacobian(_result(MATRIX, [1.0, 1.0], None), shades=shades))
    tokens = rows[0][1]
    if not shades:
        assert not any(t in SHADES for t in tokens)
        return
    # 0.5, its shade, -2, its shade, 0, its mark, then v
    assert tokens == ["0.5", "▒", "-2", "█", "0", "·", "1"]


class _Host(App[None]):
    def __init__(self, result: JacobianResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        yield JacobianView(id="j")

    def on_mount(self) -> None:
        self.query_one(JacobianView).show_result(self.result)


@pytest.mark.parametrize("no_color", [False, True])
async def test_the_view_follows_no_color(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = _Host(_result(MATRIX, [1.0, 1.0], None))
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "out[0]" in text
        assert ("█" in text) == no_color  # -2, the largest |J|, gets the full shade


async def test_a_message_instead_of_a_result() -> None:
    app = _Host(_result(MATRIX, [1.0, 1.0], None))
    async with app.run_test(size=(100, 20)) as pilot:
        app.query_one(JacobianView).show_message("no Jacobian: too big", error=True)
        await pilot.pause()
        text = screen_text(app)
        assert "no Jacobian: too big" in text and "out[0]" not in text


# J computed by the engine and checked against torch here.


def _out_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if "out[" in line]


def test_a_large_j_is_drawn_as_sign_and_shade_cells_matching_torchs_j() -> None:
    values = torch.linspace(-1, 1, 14)
    result = jacobian(
        "cumsum(x, 0) * x",
        {"x": "linspace(-1, 1, 14)"},
        grad_output="[0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1.]",
    )
    expected = torch.autograd.functional.jacobian(lambda t: torch.cumsum(t, 0) * t, values)
    assert NUMBER_COLUMNS < 14
    rows = _out_rows(render_jacobian(result).plain)
    assert len(rows) == 14
    for i, row in enumerate(rows):
        marked = row.startswith("▸")
        assert marked == (i % 2 == 1)  # the rows v combines, and only those
        cells = row.split()[1 + marked : 1 + marked + 14]
        for j, cell in enumerate(cells):
            want = expected[i, j].item()
            if want == 0:
                assert cell == "·"
            else:
                assert cell[0] == ("+" if want > 0 else "-") and cell[1] in "░▒▓█", (i, j, cell)
    # The largest |J| gets the full shade, and the legend says what it is.
    top = expected.abs().max().item()
    i, j = divmod(int(expected.abs().argmax()), 14)
    assert _out_rows(render_jacobian(result).plain)[i].split()[1 + (i % 2 == 1) + j][1] == "█"
    assert f"{top:.4g}" in render_jacobian(result).plain


def test_a_small_j_shows_its_numbers_and_the_check_against_grad() -> None:
    result = jacobian("softmax", {}, grad_output="[1., 0., 2.]")
    text = render_jacobian(result).plain
    block = result.blocks["input"]
    for i, row in enumerate(_out_rows(text)):
        numbers = [float(c) for c in row.replace("▸", "").split()[1:4]]
        assert numbers == [float(f"{x:.4g}") for x in block.matrix[i]]
    assert "input.grad" in text and "largest difference" in text
    header = next(line for line in text.splitlines() if "input[0]" in line)
    first = _out_rows(text)[0]
    # each column's label ends over the end of its numbers
    assert header.index("input[0]") + len("input[0]") == first.index(
        f"{block.matrix[0][0]:.4g}"
    ) + len(f"{block.matrix[0][0]:.4g}")


def test_colour_is_on_the_cells_and_not_needed_to_read_them() -> None:
    result = jacobian("exp(x) - 2 * x", {"x": "[-1., 0.5, 1.]"})
    rendered = render_jacobian(result)
    backgrounds = {
        str(span.style.bgcolor)
        for span in rendered.spans
        if hasattr(span.style, "bgcolor") and span.style.bgcolor is not None
    }
    assert len(backgrounds) >= 2  # shaded by value
    assert "-1.632" in rendered.plain and "0.7183" in rendered.plain  # numbers carry the sign
