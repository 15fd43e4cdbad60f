"""The Jacobian heat map, from a J computed by the engine and checked against torch here."""

from __future__ import annotations

import torch

from gradtui.ops.graph import jacobian
from gradtui.tui.widgets.jacobian_view import NUMBER_COLUMNS, render_jacobian


def _rows(text: str) -> list[str]:
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
    rows = _rows(render_jacobian(result).plain)
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
    assert _rows(render_jacobian(result).plain)[i].split()[1 + (i % 2 == 1) + j][1] == "█"
    assert f"{top:.4g}" in render_jacobian(result).plain


def test_a_small_j_shows_its_numbers_and_the_check_against_grad() -> None:
    result = jacobian("softmax", {}, grad_output="[1., 0., 2.]")
    text = render_jacobian(result).plain
    block = result.blocks["input"]
    for i, row in enumerate(_rows(text)):
        numbers = [float(c) for c in row.replace("▸", "").split()[1:4]]
        assert numbers == [float(f"{x:.4g}") for x in block.matrix[i]]
    assert "input.grad" in text and "largest difference" in text
    header = next(line for line in text.splitlines() if "input[0]" in line)
    first = _rows(text)[0]
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
