"""How numbers read: complex ones to the precision real ones get."""

from __future__ import annotations

import torch

from gradtui.ops.display import format_number, format_value
from gradtui.ops.run import run


def test_a_complex_number_reads_to_four_digits_per_part() -> None:
    assert format_number(complex(-6.711919784545898, 1.0841463804244995)) == "(-6.712+1.084j)"
    assert format_number(complex(4.0, -0.0)) == "(4-0j)"
    assert format_value([complex(1, 2), complex(0.5, -1e-9)]) == "[(1+2j), (0.5-1e-09j)]"


def test_an_fft_output_reads_as_short_complex_numbers() -> None:
    result = run("torch.fft.rfft(x)", {"x": "[1.0, 2.0, 0.0, 1.25]"}, formula=False)
    expected = torch.fft.rfft(torch.tensor([1.0, 2.0, 0.0, 1.25]))
    assert result.output is not None
    shown = format_value(result.output.tensor)
    assert shown == "[" + ", ".join(format_number(complex(v)) for v in expected.tolist()) + "]"
    assert "(4.25+0j)" in shown and "0000" not in shown
