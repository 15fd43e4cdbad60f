"""The recorder against independent witnesses: the profiler's engine events and autograd.grad."""

from __future__ import annotations

import pytest
import torch

import gradtui.ops.backward as backward
from gradtui.ops.backward import record_backward
from gradtui.ops.results import TensorData

V = [1.0, -2.0]


def _graph():
    """a = x*y; z = exp(a) + a*y: ``a`` is shared, ``y`` reaches the output twice."""
    x = torch.tensor([0.5, 1.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    a = x * y
    e = a.exp()
    m = a * y
    z = e + m
    return x, y, a, e, m, z


def _t(data: TensorData | None) -> torch.Tensor:
    assert data is not None
    return torch.tensor(data.value, dtype=torch.float64)


def _engine_order(prof) -> list[str]:
    """Node names from the profiler's ``evaluate_function`` events, by start time."""
    prefix = "autograd::engine::evaluate_function: "
    events = [e for e in prof.function_events if e.name.startswith(prefix)]
    events.sort(key=lambda e: e.time_range.start)
    return [e.name[len(prefix) :].split("::")[-1] for e in events]


def test_step_order_is_the_engines_own():
    x, y, *_, z = _graph()
    with torch.autograd.profiler.profile() as prof:
        steps = record_backward(z, torch.tensor(V, dtype=torch.float64), {"x": x, "y": y})
    witnessed = _engine_order(prof)
    assert [s.node for s in steps] == witnessed
    assert [s.index for s in steps] == list(range(len(steps)))
    # Every node of this graph ran once: add, exp, two muls, two leaves.
    assert sorted(witnessed) == sorted(
        ["AddBackward0", "ExpBackward0", "MulBackward0", "MulBackward0"]
        + ["AccumulateGrad", "AccumulateGrad"]
    )


def _find(steps, node, *, leaf=None, inputs=None):
    found = [
        s
        for s in steps
        if s.node == node
        and s.leaf == leaf
        and (inputs is None or [e.input for e in s.next] == inputs)
    ]
    assert len(found) == 1, (node, leaf, inputs, steps)
    return found[0]


def test_every_recorded_gradient_equals_autograd_grad():
    x, y, *_, z = _graph()
    v = torch.tensor(V, dtype=torch.float64)
    steps = record_backward(z, v, {"x": x, "y": y})

    # The witness: a fresh identical graph, each node's grads asked of autograd.grad.
    x2, y2, a2, e2, m2, z2 = _graph()

    def upstream(t):
        return torch.autograd.grad(z2, t, v, retain_graph=True)[0]

    def local(out, fn, ins):
        """The node's own vector-Jacobian product: its op redone on detached inputs."""
        ins = [t.detach().requires_grad_(True) for t in ins]
        return torch.autograd.grad(fn(*ins), ins, upstream(out))

    checks = [
        (_find(steps, "AddBackward0"), z2, torch.add, (e2, m2)),
        (_find(steps, "ExpBackward0"), e2, torch.exp, (a2,)),
        (_find(steps, "MulBackward0", inputs=[None, "y"]), m2, torch.mul, (a2, y2)),
        (_find(steps, "MulBackward0", inputs=["x", "y"]), a2, torch.mul, (x2, y2)),
    ]
    for step, out, fn, ins in checks:
        assert len(step.grad_outputs) == 1
        torch.testing.assert_close(_t(step.grad_outputs[0]), upstream(out))
        expected = local(out, fn, ins)
        assert len(step.grad_inputs) == len(expected)
        for got, want in zip(step.grad_inputs, expected, strict=True):
            torch.testing.assert_close(_t(got), want)

    # The leaves' AccumulateGrad steps carry exactly what landed in .grad.
    gx, gy = torch.autograd.grad(z2, (x2, y2), v)
    for name, leaf, want in (("x", x, gx), ("y", y, gy)):
        step = _find(steps, "AccumulateGrad", leaf=name)
        torch.testing.assert_close(_t(step.grad_outputs[0]), leaf.grad)
        torch.testing.assert_close(leaf.grad, want)
        assert step.grad_inputs == ()
        assert step.next == ()


def test_saved_tensors_and_edges():
    x, y, a, *_, z = _graph()
    steps = record_backward(z, torch.ones(2, dtype=torch.float64), {"x": x, "y": y})
    exp_step = _find(steps, "ExpBackward0")
    torch.testing.assert_close(_t(exp_step.saved["result"]), a.detach().exp())
    assert exp_step.next[0].node == "MulBackward0"
    mul_a = _find(steps, "MulBackward0", inputs=["x", "y"])
    torch.testing.assert_close(_t(mul_a.saved["self"]), x.detach())
    torch.testing.assert_close(_t(mul_a.saved["other"]), y.detach())
    assert [e.node for e in mul_a.next] == ["AccumulateGrad", "AccumulateGrad"]
    assert mul_a.saved["self"].dtype == "float64"


def test_constant_edges_and_rules():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([3.0, 4.0])  # needs no grad: its edge is (None, 0)
    out = torch.exp(x * c)
    steps = record_backward(out, torch.ones(2), {"x": x}, rules={"ExpBackward0": "d exp = exp"})
    assert steps[0].node == "ExpBackward0" and steps[0].rule == "d exp = exp"
    mul = _find(steps, "MulBackward0")
    assert [e.node for e in mul.next] == ["AccumulateGrad", None]
    assert mul.rule is None
    assert mul.saved["self"] is None  # torch saves no input when the other side needs no grad
    torch.testing.assert_close(_t(mul.saved["other"]).float(), c)


def test_hooks_are_removed_even_when_backward_raises(monkeypatch):
    x, y, *_, z = _graph()
    with pytest.raises(RuntimeError):
        record_backward(z, torch.ones(3, dtype=torch.float64), {"x": x, "y": y})  # wrong shape
    calls = []
    real = backward.saved_values
    monkeypatch.setattr(backward, "saved_values", lambda node: calls.append(node) or real(node))
    torch.autograd.backward(z, torch.ones(2, dtype=torch.float64))  # the same graph, unhooked
    assert calls == []
    assert x.grad is not None


def test_no_grad_fn_raises_torchs_error():
    out = torch.lt(torch.tensor([1, 2, 3]), torch.tensor([2, 2, 2]))
    with pytest.raises(RuntimeError, match="does not have a grad_fn"):
        record_backward(out, torch.ones_like(out), {})


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_a_saved_reduction_is_named_from_torchs_own_enum(reduction: str) -> None:
    """A loss node saves ``reduction`` as ATen's int; the text names it as torch maps it."""
    from torch.nn import _reduction

    x = torch.tensor([0.5, 1.5], requires_grad=True)
    y = torch.tensor([1.0, 1.0])
    node = torch.nn.functional.mse_loss(x, y, reduction=reduction).grad_fn
    saved = backward.saved_values(node)["reduction"]
    assert saved == _reduction.get_enum(reduction)  # the int torch saved
    assert backward.saved_text("reduction", saved) == f"{saved} ({reduction})"


def test_other_saved_ints_are_not_given_names() -> None:
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    node = torch.softmax(x, dim=1).grad_fn
    assert backward.saved_values(node)["dim"] == 1
    assert backward.saved_text("dim", 1) == "1"
    assert backward.enum_name("reduction", 7) is None  # not an int of the enum
    assert backward.enum_name("reduction", True) is None
