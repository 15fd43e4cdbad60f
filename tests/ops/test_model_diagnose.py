"""Model mode's diagnoses against torch's own numbers: dead ReLU units, gradient norms that
shrink between layers, the L1 term's share, and where the L1 pull leaves each weight.

Each situation is built so it happens, then measured with plain torch (a forward of the
same seeded layers, the script of :mod:`tests.ops.model_reference`), and the sentence is
checked against those measurements, not against numbers written here.
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from gradtui.ops.model import ModelConfig, Trainer, train
from gradtui.ops.model_diagnose import RATIO, l1_outcome, norm_jumps
from gradtui.ops.model_results import LayerInfo
from tests.ops.model_reference import Case, run


def _config(case: Case) -> ModelConfig:
    import json

    return ModelConfig(
        spec=case.spec,
        data=json.dumps(case.data),
        target=json.dumps(case.target),
        loss=case.loss,
        optimizer=case.optimizer_text,
        l1=case.l1,
        seed=case.seed,
        dtype=case.dtype_name,
    )


# ------------------------------------------------------------------------- dead ReLU

RELU_DATA = [[10.0, 10.0], [12.0, 9.0], [11.0, 11.0]]
"""Rows close together and far from 0: a unit whose weights point away from them is off
for all three (about half the units, whatever the seed)."""


def _dead_units(seed: int) -> list[int]:
    """Which of the 4 ReLU units output 0 for every row, by torch's own forward."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        first = nn.Linear(2, 4)
        nn.Linear(4, 1)
    out = torch.relu(first(torch.tensor(RELU_DATA)))
    return torch.nonzero((out == 0).all(dim=0)).reshape(-1).tolist()


def test_dead_relu_units_are_named_and_their_weight_rows_get_exactly_zero() -> None:
    seed = next(s for s in range(50) if 0 < len(_dead_units(s)) < 4)
    dead = _dead_units(seed)
    case = Case(
        "dead",
        "Linear(2, 4) -> ReLU() -> Linear(4, 1)",
        lambda: [nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)],
        RELU_DATA,
        [[1.0], [0.0], [2.0]],
        seed=seed,
        steps=1,
    )
    (ref,) = run(case)
    step = Trainer(_config(case)).step()
    # torch's own gradient: exactly 0 in those rows (and not in the live ones)
    for unit in range(4):
        zero = bool((ref.grads["0.weight"][unit] == 0).all()) and ref.grads["0.bias"][unit] == 0
        assert zero == (unit in dead), unit
    units = ", ".join(map(str, dead))
    word = "unit" if len(dead) == 1 else "units"
    verb = "outputs" if len(dead) == 1 else "output"
    sentence = (
        f"ReLU 1: {word} {units} {verb} 0 for all 3 rows; Linear 0's weight rows {units} "
        "got exactly 0 gradient from the loss"
    )
    assert sentence in step.diagnoses, step.diagnoses
    assert sum("ReLU" in d for d in step.diagnoses) == 1


def test_with_l1_the_dead_rows_get_only_the_l1_pull() -> None:
    """The sentence speaks of the loss's part: with L1 the rows' ``.grad`` is the L1 part
    alone (nonzero), and the loss part is exactly 0."""
    seed = next(s for s in range(50) if 0 < len(_dead_units(s)) < 4)
    dead = _dead_units(seed)
    config = ModelConfig(
        spec="Linear(2, 4) -> ReLU() -> Linear(4, 1)",
        data=str(RELU_DATA),
        target="[[1.], [0.], [2.]]",
        l1=0.01,
        seed=seed,
    )
    step = Trainer(config).step()
    assert any("got exactly 0 gradient from the loss" in d for d in step.diagnoses)
    grads = torch.tensor(step.grads["0.weight"].value)
    l1 = torch.tensor(step.l1_grads["0.weight"].value)
    for unit in dead:
        assert torch.equal(grads[unit], l1[unit]) and bool((l1[unit] != 0).all())


def test_no_dead_units_no_sentence() -> None:
    seed = next(s for s in range(50) if not _dead_units(s))
    step = train(
        ModelConfig(
            spec="Linear(2, 4) -> ReLU() -> Linear(4, 1)",
            data=str(RELU_DATA),
            target="[[1.], [0.], [2.]]",
            seed=seed,
        ),
        1,
    ).steps[0]
    assert not any(d.startswith("ReLU") for d in step.diagnoses)


# ------------------------------------------------------------------------- norm jumps

SIGMOIDS = "Linear(2, 1) -> " + "Sigmoid() -> Linear(1, 1) -> " * 5 + "Sigmoid() -> Linear(1, 1)"
"""Seven Linear layers one unit wide with a Sigmoid between each: sigmoid' <= 1/4 and
a weight of at most 1 make the gradient shrink layer by layer going back."""

_JUMP = re.compile(
    r"gradient norm shrinks ([\d.e+-]+)x going back from (\d+) Linear to (\d+) Linear "
    r"\(([\d.e+-]+) -> ([\d.e+-]+)\)"
)


def test_a_deep_sigmoid_stack_reports_each_shrink_over_ten_times() -> None:
    layers = [nn.Linear(2, 1)] + [m for _ in range(6) for m in (nn.Sigmoid(), nn.Linear(1, 1))]
    case = Case(
        "sigmoids",
        SIGMOIDS,
        lambda: [nn.Linear(2, 1)] + [m for _ in range(6) for m in (nn.Sigmoid(), nn.Linear(1, 1))],
        [[1.0, 2.0], [3.0, -1.0], [0.0, 1.0], [-2.0, 0.5]],
        [[1.0], [0.0], [2.0], [0.5]],
        steps=1,
    )
    assert len(layers) == len(SIGMOIDS.split("->"))
    (ref,) = run(case)
    step = Trainer(_config(case)).step()
    # torch's norms over each Linear's weight and bias together
    norms = {
        str(i): float(
            torch.linalg.vector_norm(
                torch.cat([ref.grads[f"{i}.weight"].reshape(-1), ref.grads[f"{i}.bias"]])
            )
        )
        for i in range(0, len(layers), 2)
    }
    assert step.layer_grad_norms == norms
    expected = [
        (later, earlier)
        for later, earlier in zip(list(norms)[::-1], list(norms)[::-1][1:], strict=False)
        if norms[later] / norms[earlier] > RATIO
    ]
    assert expected, norms  # the stack does shrink by more than 10x somewhere
    found = [_JUMP.fullmatch(d) for d in step.diagnoses if d.startswith("gradient norm")]
    assert all(found), step.diagnoses
    assert [(m[2], m[3]) for m in found] == expected
    for m in found:
        later, earlier = norms[m[2]], norms[m[3]]
        assert float(m[1]) == float(f"{later / earlier:.3g}")
        assert (float(m[4]), float(m[5])) == (float(f"{later:.3g}"), float(f"{earlier:.3g}"))


def test_norm_jumps_words_growth_and_vanishing() -> None:
    """The arithmetic of the sentence, on norms given directly: grows, vanishes, grows
    from 0, and nothing for a change of at most 10x or two zeros."""
    layers = [LayerInfo(str(i), "Linear", "Linear(1, 1)", "", i) for i in range(5)]
    text = norm_jumps(layers, {"0": 5.0, "1": 0.4, "2": 0.0, "3": 0.0, "4": 2.0})
    assert text == [
        "gradient norm vanishes going back from 4 Linear to 3 Linear (2 -> 0)",
        "gradient norm grows from 0 going back from 2 Linear to 1 Linear (0 -> 0.4)",
        "gradient norm grows 12.5x going back from 1 Linear to 0 Linear (0.4 -> 5)",
    ]
    assert norm_jumps(layers[:2], {"0": 1.0, "1": 10.0}) == []


# ------------------------------------------------------------------------- the L1 share


def test_the_l1_share_sentence_is_the_formula_over_autograd_parts() -> None:
    config = ModelConfig(
        spec="Linear(2, 3) -> Tanh() -> Linear(3, 1)",
        data="[[1., 2.], [3., -1.], [0., 1.], [-2, 0.5]]",
        target="[[1.], [0.], [2.], [0.5]]",
        l1=0.05,
        seed=4,
    )
    step = Trainer(config).step()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    params = list(model.parameters())
    data = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0], [-2, 0.5]])
    target = torch.tensor([[1.0], [0.0], [2.0], [0.5]])
    loss_part = torch.autograd.grad(torch.nn.functional.mse_loss(model(data), target), params)
    l1_part = torch.autograd.grad(0.05 * sum(p.abs().sum() for p in params), params)
    shares = {}
    for (name, _), a, b in zip(model.named_parameters(), l1_part, loss_part, strict=True):
        shares[name] = float(a.abs().sum()) / (float(a.abs().sum()) + float(b.abs().sum()))
    assert step.l1_share.keys() == shares.keys()
    for name, share in shares.items():
        assert math.isclose(step.l1_share[name], share, rel_tol=1e-6)
    parts = ", ".join(f"{name} {step.l1_share[name]:.0%}" for name in shares)
    assert f"the L1 term's share of each gradient (sum of |part|): {parts}" in step.diagnoses


# ------------------------------------------------------------------------- the L1 outcome


def _three_weights(seed: int) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Linear(1, 3, bias=False).weight.detach().reshape(-1)


def test_l1_outcome_tells_exact_zero_from_oscillation() -> None:
    """Data of 0 gives the loss no gradient, so SGD(lr=1) moves each weight by exactly
    ``l1 * sign(w)``. With ``l1`` the smallest weight's size, that weight lands on 0.0 in
    one step and stays (abs' gradient at 0 is 0); a middle one walks down and then flips
    sign every step; the largest is still walking. Which is which is measured from the
    reference run, then compared with :func:`l1_outcome` and the run's sentence."""
    for seed in range(100):
        w = _three_weights(seed).abs()
        order = w.argsort().tolist()
        l1 = float(w[order[0]])
        steps = math.ceil(float(w[order[1]]) / l1) + 4
        if steps <= min(math.floor(float(w[order[2]]) / l1) - 1, 40):
            break
    else:
        raise AssertionError("no seed gives three distinct outcomes")
    case = Case(
        "l1-outcome",
        "Linear(1, 3, bias=False)",
        lambda: [nn.Linear(1, 3, bias=False)],
        [[0.0]],
        [[0.0, 0.0, 0.0]],
        kwargs=(("lr", 1.0),),
        l1=l1,
        seed=seed,
        steps=steps,
    )
    ref = run(case)
    history = torch.stack([r.after["0.weight"].reshape(-1) for r in ref])
    final = history[-1]
    recent = torch.sign(history[-10:])
    flips = ((recent[1:] * recent[:-1]) < 0).sum(dim=0)
    assert final[order[0]] == 0 and bool((history[:, order[0]] == 0).all())
    assert final[order[1]] != 0 and flips[order[1]] >= 2
    assert final[order[2]] != 0 and flips[order[2]] == 0

    trainer = Trainer(_config(case))
    result = trainer.run(steps, detail=False)
    kinds = l1_outcome(result.steps)
    assert kinds == {
        "zero": [f"0.weight[{order[0]}, 0]"],
        "oscillating": [f"0.weight[{order[1]}, 0]"],
        "away": [f"0.weight[{order[2]}, 0]"],
    }
    (sentence,) = result.diagnoses
    assert sentence == (
        f"after {steps} steps of SGD(lr=1.0) with l1={l1:g}: 1 of 3 parameters are exactly "
        f"0.0 (0.weight[{order[0]}, 0]); 1 oscillates around 0 (sign flipped at least twice in "
        f"the last {min(steps, 10)} steps) (0.weight[{order[1]}, 0]); 1 stays on one side of 0"
    )


def test_no_l1_no_run_sentence() -> None:
    result = train(
        ModelConfig(spec="Linear(1, 2)", data="[[1.]]", target="[[0., 1.]]"),
        3,
    )
    assert result.diagnoses == ()
