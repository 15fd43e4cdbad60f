"""Tensors to plain data: the chunked conversion gives exactly ``tolist()``'s lists."""

from __future__ import annotations

import math
import threading

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtui.ops import timebound
from gradtui.ops.tensors import CHUNK, number_data, to_data, to_list

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


# --- the non-finite flags ---------------------------------------------------------------

_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, math.inf, -math.inf, math.nan, 0.0, -0.0]),
)


def _plain_scan(value: object) -> tuple[bool, bool, bool]:
    """(nan, +inf, -inf) anywhere in nested lists, number by number."""
    flat: list[float] = []

    def walk(v: object) -> None:
        if isinstance(v, list):
            for item in v:
                walk(item)
        else:
            flat.append(v)  # type: ignore[arg-type]

    walk(value)
    return (
        any(isinstance(x, float) and math.isnan(x) for x in flat),
        any(x == math.inf for x in flat),
        any(x == -math.inf for x in flat),
    )


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.lists(_numbers, max_size=24), st.sampled_from([torch.float64, torch.float32]))
def test_the_non_finite_flags_agree_with_a_plain_scan(numbers: list[float], dtype) -> None:
    """Measured from the tensor itself, in one place, exactly (1e308 becomes inf in float32)."""
    t = torch.tensor(numbers, dtype=dtype)
    for tensor in (t, t.reshape(-1, 2) if t.numel() % 2 == 0 else t[None]):
        data = to_data(tensor)
        flags = (data.has_nan, data.has_posinf, data.has_neginf)
        assert flags == _plain_scan(data.value)
        assert data.non_finite == any(flags)


def test_non_finite_flags_of_big_integer_bool_and_complex_tensors() -> None:
    t = torch.zeros(CHUNK * 2 + 3, dtype=torch.float64)
    t[CHUNK] = -math.inf
    data = to_data(t)
    assert (data.has_nan, data.has_posinf, data.has_neginf) == (False, False, True)
    assert not to_data(torch.arange(10)).non_finite
    assert not to_data(torch.tensor([True, False])).non_finite
    z = torch.tensor([1 + 2j, complex(math.nan, 0.0)]).conj()
    assert to_data(z).has_nan and not to_data(z).has_posinf


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        (True, (False, False, False)),
        (3, (False, False, False)),
        (0.5, (False, False, False)),
        (math.nan, (True, False, False)),
        (math.inf, (False, True, False)),
        (-math.inf, (False, False, True)),
    ],
)
def test_plain_numbers_carry_the_same_flags(value, flags) -> None:
    data = number_data(value)
    assert (data.has_nan, data.has_posinf, data.has_neginf) == flags


def test_a_zero_tensor_reads_as_zeros() -> None:
    """sgn's gradient for a real input is torch's "zero tensor" (no memory behind it), which
    ``tolist()`` refuses; the recorder read it there and failed the whole backward pass."""
    from gradtui.ops.run import run

    x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    seen = []
    y = torch.sgn(x)
    y.grad_fn.register_hook(lambda grad_inputs, _: seen.extend(grad_inputs))
    y.backward(torch.ones_like(y))
    assert seen[0]._is_zerotensor()  # the premise: torch hands a zero tensor on
    data = to_data(seen[0])
    assert data.value == [0.0, 0.0] and data.dtype == "float64" and data.shape == (2,)

    result = run("torch.sgn(x)", {"x": "[-1.5, 2.]"}, dtype="float64", formula=False)
    assert result.differentiable and result.grads["x"].value == [0.0, 0.0]
    assert [s.node for s in result.steps] == ["SgnBackward0", "AccumulateGrad"]
