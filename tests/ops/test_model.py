"""Model mode against the plain torch script of issue 13: every recorded number, exactly.

Each case is a spec for gradtui and the same layers as real ``torch.nn`` constructors for
:mod:`tests.ops.model_reference`, which runs the issue's script. gradtui's loss, gradients
(by ``named_parameters`` name), parameters before and after each ``step()``, optimizer
state, each layer's output and what each module's backward hook saw must equal the
script's bit for bit: the computation is the same ops in the same order, so nothing is
compared with a tolerance. Dropout is in the cases: its masks match only because the run
draws from the generator exactly as the script does after ``torch.manual_seed``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from torch import nn

from gradtui.ops.errors import InputError
from gradtui.ops.model import ModelConfig, Trainer, train
from gradtui.ops.model_results import HOOK_NODE, ModelRun, ModelStep
from gradtui.ops.results import TensorData
from tests.helpers import python
from tests.ops.model_reference import Case, l1_part, run

DATA = [[1.0, 2.0], [3.0, -1.0], [0.0, 1.0], [-2.0, 0.5]]
TARGET = [[1.0], [0.0], [2.0], [0.5]]
F64 = torch.float64

CASES = [
    Case(
        "tanh-sgd",
        "Linear(2, 3) -> Tanh() -> Linear(3, 1)",
        lambda: [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)],
        DATA,
        TARGET,
    ),
    Case(
        "relu-momentum-l1",
        "Linear(2, 3) -> ReLU() -> Linear(3, 1)",
        lambda: [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)],
        DATA,
        TARGET,
        kwargs=(("lr", 0.1), ("momentum", 0.9)),
        l1=0.01,
    ),
    Case(
        "leaky-nesterov-decay-huber",
        "nn.Linear(2, 4) -> nn.LeakyReLU(0.2) -> torch.nn.Linear(4, 1)",
        lambda: [nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)],
        DATA,
        TARGET,
        loss="huber_loss",
        kwargs=(("lr", 0.05), ("momentum", 0.8), ("nesterov", True), ("weight_decay", 0.01)),
        seed=1,
    ),
    Case(
        "elu-dampening-l1-loss",
        "Linear(2, 3) -> ELU(alpha=0.5) -> Linear(3, 1, bias=False)",
        lambda: [nn.Linear(2, 3), nn.ELU(alpha=0.5), nn.Linear(3, 1, bias=False)],
        DATA,
        TARGET,
        loss="l1_loss",
        kwargs=(("lr", 0.1), ("momentum", 0.9), ("dampening", 0.5)),
        l1=0.02,
        seed=2,
    ),
    Case(
        "gelu-adam-f64",
        "Linear(2, 3) -> GELU() -> Linear(3, 1)",
        lambda: [nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)],
        DATA,
        TARGET,
        optimizer="Adam",
        kwargs=(("lr", 0.01),),
        dtype=F64,
    ),
    Case(
        "layernorm-adamw-amsgrad-l1",
        "Linear(2, 3) -> LayerNorm(3) -> GELU(approximate='tanh') -> Linear(3, 1)",
        lambda: [nn.Linear(2, 3), nn.LayerNorm(3), nn.GELU(approximate="tanh"), nn.Linear(3, 1)],
        DATA,
        TARGET,
        optimizer="AdamW",
        kwargs=(("lr", 0.01), ("weight_decay", 0.1), ("amsgrad", True)),
        l1=0.001,
    ),
    Case(
        "batchnorm-rmsprop-f64",
        "Linear(2, 3) -> BatchNorm1d(3) -> SiLU() -> Linear(3, 1)",
        lambda: [nn.Linear(2, 3), nn.BatchNorm1d(3), nn.SiLU(), nn.Linear(3, 1)],
        DATA,
        TARGET,
        optimizer="RMSprop",
        kwargs=(("lr", 0.01), ("momentum", 0.5), ("centered", True)),
        dtype=F64,
    ),
    Case(
        "dropout-adagrad-l1",
        "Linear(2, 6) -> Dropout(0.5) -> Softplus(beta=2.0) -> Linear(6, 1)",
        lambda: [nn.Linear(2, 6), nn.Dropout(0.5), nn.Softplus(beta=2.0), nn.Linear(6, 1)],
        DATA,
        TARGET,
        optimizer="Adagrad",
        kwargs=(("lr", 0.1), ("lr_decay", 0.01)),
        l1=0.05,
        seed=3,
        steps=4,
    ),
    Case(
        "dropout-sgd-f64",
        "Linear(2, 5) -> Tanh() -> Dropout(p=0.3) -> Linear(5, 1)",
        lambda: [nn.Linear(2, 5), nn.Tanh(), nn.Dropout(p=0.3), nn.Linear(5, 1)],
        DATA,
        TARGET,
        dtype=F64,
        seed=7,
        steps=4,
    ),
    Case(
        "cross-entropy-classes",
        "Linear(2, 4) -> Tanh() -> Linear(4, 3)",
        lambda: [nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 3)],
        DATA,
        [0, 2, 1, 2],
        loss="cross_entropy",
        kwargs=(("lr", 0.5), ("momentum", 0.9)),
        integer_target=True,
    ),
    Case(
        "logsoftmax-nll",
        "Linear(2, 3) -> LogSoftmax(dim=1)",
        lambda: [nn.Linear(2, 3), nn.LogSoftmax(dim=1)],
        DATA,
        [2, 0, 1, 1],
        loss="nll_loss",
        optimizer="Adam",
        kwargs=(("lr", 0.05), ("betas", (0.8, 0.99))),
        integer_target=True,
    ),
    Case(
        "softmax-bce-logits",
        "Linear(2, 3) -> Softmax(dim=-1) -> Linear(3, 1) -> Sigmoid() -> Linear(1, 1)",
        lambda: [
            nn.Linear(2, 3),
            nn.Softmax(dim=-1),
            nn.Linear(3, 1),
            nn.Sigmoid(),
            nn.Linear(1, 1),
        ],
        DATA,
        [[1.0], [0.0], [1.0], [0.0]],
        loss="binary_cross_entropy_with_logits",
        optimizer="SGD",
        kwargs=(("lr", 0.2), ("weight_decay", 0.05)),
    ),
    Case(
        "flatten-identity",
        "Flatten() -> Linear(4, 2) -> Identity() -> ReLU() -> Linear(2, 1)",
        lambda: [nn.Flatten(), nn.Linear(4, 2), nn.Identity(), nn.ReLU(), nn.Linear(2, 1)],
        [[[1.0, 2.0], [0.5, -1.0]], [[3.0, -1.0], [2.0, 0.0]], [[0.0, 1.0], [-1.5, 2.5]]],
        [[1.0], [0.0], [2.0]],
        optimizer="RMSprop",
        kwargs=(("lr", 0.01),),
        seed=5,
    ),
]
"""Every layer of the allow-list, every optimizer, the losses the issue names, both dtypes."""

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64}


def tensor(data: TensorData) -> torch.Tensor:
    return torch.tensor(data.value, dtype=_DTYPES[data.dtype])


def same(data: TensorData | None, ref: torch.Tensor | None, where: str) -> None:
    """``data`` is ``ref`` exactly: dtype, shape and every bit of every number."""
    if ref is None:
        assert data is None, where
        return
    assert data is not None, where
    assert data.dtype == str(ref.dtype).removeprefix("torch."), where
    assert data.shape == tuple(ref.shape), where
    got = tensor(data)
    assert torch.equal(got, ref), f"{where}: gradtui {got} != script {ref}"


def config(case: Case) -> ModelConfig:
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


def assert_same_step(step: ModelStep, ref: Any, where: str) -> None:
    """Loss, gradients, parameters before and after, optimizer state: exactly the script's."""
    assert step.loss == float(ref.loss), where
    assert set(step.grads) == set(ref.grads), where
    for name, g in ref.grads.items():
        same(step.grads[name], g, f"{where} grad {name}")
        assert step.grad_norms[name] == float(torch.linalg.vector_norm(g)), where
    assert list(step.params_before) == list(ref.before), where
    for name in ref.before:
        same(step.params_before[name], ref.before[name], f"{where} before {name}")
        same(step.params_after[name], ref.after[name], f"{where} after {name}")
    assert set(step.optimizer_state) == set(ref.state), where
    for name, entries in ref.state.items():
        got = step.optimizer_state[name]
        assert set(got) == set(entries), (where, name, set(got), set(entries))
        for key, value in entries.items():
            here = f"{where} state {name}.{key}"
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                same(got[key], value, here)
            elif isinstance(value, torch.Tensor):
                assert got[key] == value.item(), here
            else:
                assert got[key] == value, here


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[ModelRun, list[Any], list[Any]]]:
    """Each case once through gradtui (detail steps), the plain script and the hooked one."""
    out = {}
    for case in CASES:
        trainer = Trainer(config(case))
        trainer.run(case.steps)
        out[case.id] = (trainer.result(), run(case), run(case, hooks=True, nodes=True))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_number_equals_the_plain_script(case: Case, runs: dict) -> None:
    result, plain, _ = runs[case.id]
    assert result.params == tuple(n for n in plain[0].before)
    assert len(result.steps) == case.steps == len(plain)
    for k, (step, ref) in enumerate(zip(result.steps, plain, strict=True)):
        assert step.step == k + 1 and step.detail
        assert_same_step(step, ref, f"{case.id} step {k + 1}")
    # the optimizer state is what the issue names, where torch keeps it
    keys = {key for entries in result.steps[-1].optimizer_state.values() for key in entries}
    momentum = dict(case.kwargs).get("momentum", 0)
    expected = {
        "SGD": {"momentum_buffer"} if momentum else set(),
        "Adam": {"step", "exp_avg", "exp_avg_sq"},
        "AdamW": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
        "RMSprop": {"step", "square_avg", "momentum_buffer", "grad_avg"},
        "Adagrad": {"step", "sum"},
    }[case.optimizer]
    if case.optimizer == "RMSprop" and not momentum:
        expected -= {"momentum_buffer", "grad_avg"}
    assert keys == expected, (case.id, keys)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_layer_outputs_and_module_hooks_equal_the_script(case: Case, runs: dict) -> None:
    """Each layer's forward output and what each module's full backward hook received and
    sent back: those of the script with the same hooks, and the hooks change no number."""
    result, plain, hooked = runs[case.id]
    for k, (step, ref, base) in enumerate(zip(result.steps, hooked, plain, strict=True)):
        where = f"{case.id} step {k + 1}"
        assert_same_step(step, base, where)
        assert_same_step(step, ref, where + " (hooked script)")
        assert list(step.outputs) == list(ref.outputs) == [layer.name for layer in result.layers]
        for name, out in ref.outputs.items():
            same(step.outputs[name], out, f"{where} output of {name}")
        assert [m.module for m in step.module_grads] == [m for m, _, _ in ref.module_grads]
        # every layer's hook fires, last to first, except a first parameterless layer's
        # (Flatten on the data: its output needs no gradient, so torch never calls it)
        fired = [layer.name for layer in reversed(result.layers)]
        if case.spec.startswith("Flatten"):
            fired.remove("0")
        assert [m.module for m in step.module_grads] == fired
        for got, (name, grad_output, grad_input) in zip(
            step.module_grads, ref.module_grads, strict=True
        ):
            assert got.kind == type(case.layers()[int(name)]).__name__
            assert len(got.grad_output) == len(grad_output), where
            assert len(got.grad_input) == len(grad_input), where
            for a, b in zip(got.grad_output, grad_output, strict=True):
                same(a, b, f"{where} module {name} grad_output")
            for a, b in zip(got.grad_input, grad_input, strict=True):
                same(a, b, f"{where} module {name} grad_input")
        # the first hooked layer's input needs no gradient (the data, or Flatten's output)
        assert step.module_grads[-1].grad_input == (None,)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_node_record_is_the_plain_backward(case: Case, runs: dict) -> None:
    """The node-by-node record: apart from the hook nodes gradtui's module hooks add, the
    nodes the engine ran for a plain backward of the same loss, in the same order; with
    them, exactly the nodes of the script that has the same module hooks."""
    result, _, hooked = runs[case.id]
    plain_nodes = run(case, nodes=True)
    for k, (step, ref, base) in enumerate(zip(result.steps, hooked, plain_nodes, strict=True)):
        names = [s.node for s in step.backward]
        assert names == ref.nodes, (case.id, k)
        assert [n for n in names if n != HOOK_NODE] == base.nodes, (case.id, k)
        assert HOOK_NODE in names and HOOK_NODE not in base.nodes
        assert [s.index for s in step.backward] == list(range(len(names)))
        assert len(step.backward_modules) == len(names)
        for s, module in zip(step.backward, step.backward_modules, strict=True):
            assert (module == "hook") == (s.node == HOOK_NODE)
        # each AccumulateGrad names its parameter, and fills exactly that .grad
        leaves = [s.leaf for s in step.backward if s.node == "AccumulateGrad"]
        assert sorted(leaves) == sorted(result.params)


@pytest.mark.parametrize("case", [c for c in CASES if c.l1], ids=lambda c: c.id)
def test_the_l1_part_is_autograd_grad_of_the_term(case: Case, runs: dict) -> None:
    """The recorded L1 part is ``torch.autograd.grad`` of ``l1 * sum|p|`` alone; the loss
    part plus it is the whole ``.grad``; the share is the formula over those parts (to
    1e-6 here: the loss part below is ``.grad`` minus the L1 part, which may round
    differently from gradtui's own ``autograd.grad`` of the loss; the next test compares
    those parts bit for bit)."""
    result, plain, _ = runs[case.id]
    for step, ref in zip(result.steps, plain, strict=True):
        part = l1_part(case, ref.before)
        assert set(step.l1_grads) == set(part)
        shares = {}
        for name, g in part.items():
            same(step.l1_grads[name], g, f"{case.id} l1 part of {name}")
            data_part = ref.grads[name] - g
            assert torch.equal(data_part + g, ref.grads[name])
            a, b = float(g.abs().sum()), float(data_part.abs().sum())
            if a + b > 0:
                shares[name] = a / (a + b)
        assert step.l1_share.keys() == shares.keys()
        for name, share in shares.items():
            assert math.isclose(step.l1_share[name], share, rel_tol=1e-6), (name, share)
        # the term itself: the same expression over the same values, so exactly
        assert step.l1_term == float(case.l1 * sum(p.abs().sum() for p in ref.before.values()))
        assert step.loss == float(ref.loss) and step.data_loss + step.l1_term == pytest.approx(
            step.loss, rel=1e-6
        )


def test_the_loss_part_plus_the_l1_part_is_the_gradient_exactly() -> None:
    """With both parts measured by ``torch.autograd.grad`` at the same point, their sum is
    the ``.grad`` ``backward()`` accumulated, bit for bit (two contributions: one addition)."""
    case = CASES[1]
    trainer = Trainer(config(case))
    step = trainer.step()
    data, target = case.tensors()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        model = nn.Sequential(*case.layers())
    loss = torch.nn.functional.mse_loss(model(data), target)
    names = [n for n, _ in model.named_parameters()]
    loss_part = torch.autograd.grad(loss, list(model.parameters()))
    l1 = l1_part(case, dict(model.named_parameters()))
    for name, g in zip(names, loss_part, strict=True):
        same(step.l1_grads[name], l1[name], name)
        same(step.grads[name], g + l1[name], name)


@pytest.mark.parametrize("case", [CASES[1], CASES[7]], ids=lambda c: c.id)
def test_lean_steps_give_the_same_numbers(case: Case, runs: dict) -> None:
    """A training step without the per-node record computes exactly the same run."""
    _, plain, _ = runs[case.id]
    trainer = Trainer(config(case))
    for k, ref in enumerate(plain):
        step = trainer.step(detail=False)
        assert not step.detail and step.backward == () and step.outputs == {}
        assert_same_step(step, ref, f"{case.id} lean step {k + 1}")
    # and detail and lean steps mixed in one run, too
    trainer = Trainer(config(case))
    for k, ref in enumerate(plain):
        assert_same_step(trainer.step(detail=k % 2 == 0), ref, f"{case.id} mixed step {k + 1}")


def test_train_and_run_agree_with_stepping() -> None:
    case = CASES[7]  # dropout: the generator's state must carry over between calls
    whole = train(config(case), case.steps)
    trainer = Trainer(config(case))
    trainer.run(1)
    trainer.run(case.steps - 1)
    for a, b in zip(whole.steps, trainer.result().steps, strict=True):
        assert a.to_json() == b.to_json()


def test_the_global_generator_is_left_as_it_was() -> None:
    """Building and stepping a seeded model with dropout does not move the caller's
    generator, and the caller's generator does not move the model's draws."""
    case = CASES[7]
    _, plain = None, run(case)
    torch.manual_seed(1234)
    before = torch.get_rng_state().clone()
    trainer = Trainer(config(case))
    assert torch.equal(torch.get_rng_state(), before)
    trainer.step()
    assert torch.equal(torch.get_rng_state(), before)
    torch.rand(50)  # the caller draws between steps: the model's masks stay the script's
    moved = torch.get_rng_state().clone()
    for _ in range(case.steps - 1):
        trainer.step(detail=False)
    assert torch.equal(torch.get_rng_state(), moved)
    for k, (step, ref) in enumerate(zip(trainer.result().steps, plain, strict=True)):
        assert_same_step(step, ref, f"step {k + 1}")
    assert torch.equal(torch.get_rng_state(), moved)


def test_dropout_masks_differ_between_steps_and_seeds() -> None:
    """The dropout case's masks are real draws: a fresh one each step, another seed's differ
    (so the matching above is not dropout doing nothing)."""
    case = CASES[7]
    steps = Trainer(config(case)).run(2).steps
    masks = [tensor(s.outputs["1"]) == 0 for s in steps]
    assert all(m.any() and not m.all() for m in masks)
    assert not torch.equal(masks[0], masks[1])
    other = Trainer(config(Case(**{**case.__dict__, "seed": 4}))).run(1).steps[0]
    assert not torch.equal(tensor(other.outputs["1"]) == 0, masks[0])


@pytest.mark.parametrize("case", [CASES[8]], ids=lambda c: c.id)
def test_the_script_prints_the_same_parameters(case: Case, runs: dict, tmp_path: Any) -> None:
    """``ModelRun.script``, run by a fresh Python, ends with exactly the run's parameters
    (float64 and dropout's masks: the script draws them as the run did;
    ``tests/test_cli_model.py`` runs the ``--script`` of momentum with L1)."""
    result, _, _ = runs[case.id]
    code = result.script + (
        "import json\n"
        "print(json.dumps({n: p.detach().tolist() for n, p in model.named_parameters()}))\n"
    )
    done = python(code, cwd=tmp_path)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {n: v.value for n, v in result.steps[-1].params_after.items()}
    assert f"range({case.steps})" in result.script


def test_steps_zero_records_nothing_and_moves_nothing() -> None:
    result = train(config(CASES[0]), 0)
    assert result.steps == () and result.diagnoses == ()
    assert result.params == ("0.weight", "0.bias", "2.weight", "2.bias")
    assert "range(0)" in result.script


def test_float64_is_float64_throughout() -> None:
    result = train(config(CASES[4]), 1)
    step = result.steps[0]
    for group in (step.grads, step.params_before, step.params_after, step.outputs):
        assert {t.dtype for t in group.values()} == {"float64"}
    assert result.data.dtype == result.target.dtype == "float64"


@pytest.mark.parametrize(
    ("field", "change", "words"),
    [
        ("spec", {"spec": "Linear(3, 3) -> Tanh()"}, "Linear(3, 3) does not fit"),
        ("spec", {"spec": "Linear(2, 3) -> Conv2d(3, 1)"}, "unknown layer 'Conv2d'"),
        ("optimizer", {"optimizer": "LBFGS(lr=1)"}, "unknown optimizer 'LBFGS'"),
        ("optimizer", {"optimizer": "SGD(lr=0.1, nesterov=True)"}, "torch refused it"),
        ("loss", {"loss": "mse"}, "unknown loss 'mse'"),
        ("target", {"target": "[[1.], [2.], [3.]]"}, "mse_loss refused"),
        ("dtype", {"dtype": "float16"}, "float32 or float64"),
    ],
)
def test_what_the_trainer_refuses(field: str, change: dict, words: str) -> None:
    base = {**config(CASES[0]).__dict__, **change}
    with pytest.raises(InputError) as caught:
        Trainer(ModelConfig(**base))
    assert caught.value.field == field
    assert words in caught.value.message and "\n" not in str(caught.value)


def test_a_class_target_out_of_range_is_refused_at_build() -> None:
    """The shape check runs the loss once on a copy, so torch's own range error comes
    before any step (and before the generator moves: dropout cases still match)."""
    case = CASES[9]
    bad = ModelConfig(**{**config(case).__dict__, "target": "[0, 2, 1, 7]"})
    with pytest.raises(InputError) as caught:
        Trainer(bad)
    assert caught.value.field == "target"
    assert caught.value.message.startswith("cross_entropy refused the model's output (shape 4x3)")
    assert "Target 7 is out of bounds" in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_broadcasting_target_runs_with_torchs_warning() -> None:
    """A [1, 2] target against a [4, 1] output is what torch broadcasts (and warns about):
    the step runs as the script would and carries torch's own warning."""
    result = train(ModelConfig(**{**config(CASES[0]).__dict__, "target": "[[1., 2.]]"}), 1)
    (note,) = result.steps[0].warnings
    assert note.startswith("torch warns: Using a target size (torch.Size([1, 2]))")
    assert all("Full backward hook" not in w for w in result.steps[0].warnings)
