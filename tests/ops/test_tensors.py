"""Tensors to plain data: the chunked conversion gives exactly ``tolist()``'s lists."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from gradtui.ops import timebound
from gradtui.ops.tensors import CHUNK, to_data, to_list

SHAPES = [(), (5,), (CHUNK * 3 + 7,), (1000, 1000), (3, CHUNK + 1), (2, 3, CHUNK // 2 + 5)]
SHAPES += [(0,), (CHUNK + 1, 0), (CHUNK * 2, 1), (2, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool])
def test_the_chunked_conversion_is_tolist(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    t = (torch.randn(shape, generator=gen, dtype=torch.float64) * 10).to(dtype)
    assert to_list(t) == t.tolist()


def test_non_finite_numbers_survive_the_chunks() -> None:
    t = torch.zeros(CHUNK * 2 + 3)
    t[0], t[CHUNK], t[-1] = math.nan, math.inf, -math.inf
    value = to_data(t).value
    assert len(value) == t.numel() and math.isnan(value[0])
    assert value[CHUNK] == math.inf and value[-1] == -math.inf


def test_a_cancelled_computation_stops_between_chunks(monkeypatch) -> None:
    """Each chunk is a step boundary: converting a big tensor under a cancelled bound
    stops instead of building the whole list."""
    bound = timebound.TimeBound(0)
    started = threading.Event()
    chunks: list[int] = []
    real_check = timebound.check

    def counting_check() -> None:
        chunks.append(1)
        if len(chunks) == 2:
            bound.cancel()
        real_check()

    def convert() -> object:
        started.set()
        return to_list(torch.zeros(CHUNK * 10))

    monkeypatch.setattr(timebound, "check", counting_check)
    with pytest.raises(timebound.ComputationTimeout):
        bound.call(convert)
    assert started.is_set() and len(chunks) == 2  # stopped at the second of ten chunks
