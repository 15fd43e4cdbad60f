"""The whole graph, J and H·u, each checked against torch computed here independently.

The graph: the JSON of ``ops.graph.graph`` must be torch's own ``next_functions`` walk
of the same computation built directly with torch, up to renaming of ids (a bijection
between our ids and torch's node objects that preserves names, edge order, ``None``
entries and leaves). J and H·u: against ``torch.autograd.functional`` in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from gradtui.ops.errors import InputError
from gradtui.ops.graph import MAX_SCREEN_ENTRIES, graph, hvp, jacobian
from gradtui.ops.run import run

D = torch.float64


def _iso(ours: dict, root: object, leaves: dict[str, torch.Tensor]) -> None:
    """Assert that ``ours`` (the JSON) is torch's graph from ``root``, up to renaming."""
    nodes = {n["id"]: n for n in ours["nodes"]}
    assert ours["nodes"][0]["id"] == next(iter(nodes))  # root first
    to_torch: dict[str, object] = {}
    to_ours: dict[int, str] = {}
    stack = [(ours["nodes"][0]["id"], root)]
    while stack:
        our_id, fn = stack.pop()
        if our_id in to_torch:
            assert to_torch[our_id] is fn, f"{our_id} names two torch nodes"
            continue
        assert id(fn) not in to_ours, f"torch's node {fn} has two ids"
        to_torch[our_id] = fn
        to_ours[id(fn)] = our_id
        node = nodes[our_id]
        assert node["name"] == type(fn).__name__
        if hasattr(fn, "variable"):
            name = next(n for n, t in leaves.items() if t is fn.variable)
            assert node["leaf"] == name
        else:
            assert node["leaf"] is None
        assert len(node["next"]) == len(fn.next_functions)
        for ours_next, (torch_next, _) in zip(node["next"], fn.next_functions, strict=True):
            assert (ours_next is None) == (torch_next is None)
            if torch_next is not None:
                stack.append((ours_next, torch_next))
    assert set(to_torch) == set(nodes), "nodes torch's walk never reaches"


X = "[0.5, 1., 2.]"
W = "[1., -1., 0.5]"


def _t(text: list[float]) -> torch.Tensor:
    return torch.tensor(text, dtype=D, requires_grad=True)


CASES: list[tuple[str, dict[str, str], Callable[[dict], torch.Tensor], dict]] = [
    (  # branches, and x shared by three paths
        "x * exp(-x) + sin(x) * w",
        {"x": X, "w": W},
        lambda t: t["x"] * torch.exp(-t["x"]) + torch.sin(t["x"]) * t["w"],
        {"x": [0.5, 1.0, 2.0], "w": [1.0, -1.0, 0.5]},
    ),
    (  # an interior node shared by two parents (torch.cov reuses its centred input)
        "cov",
        {"input": "[[1., 2., 4.], [0., 1., -1.]]"},
        lambda t: torch.cov(t["input"]),
        {"input": [[1.0, 2.0, 4.0], [0.0, 1.0, -1.0]]},
    ),
    (  # several leaves and a None entry (a constant that needs no gradient)
        "x * y + y * z * torch.tensor([1., 2., 3.])",
        {"x": X, "y": W, "z": "[2., 3., 4.]"},
        lambda t: t["x"] * t["y"] + t["y"] * t["z"] * torch.tensor([1.0, 2.0, 3.0], dtype=D),
        {"x": [0.5, 1.0, 2.0], "y": [1.0, -1.0, 0.5], "z": [2.0, 3.0, 4.0]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_graph_is_torchs_next_functions_walk(case) -> None:  # noqa: ANN001
    target, values, build, raw = case
    ours = graph(target, values, dtype="float64").to_json()
    leaves = {n: _t(v) for n, v in raw.items()}
    out = build(leaves)
    _iso(ours, out.grad_fn, leaves)


def test_the_cases_cover_sharing_none_and_several_leaves() -> None:
    """So that the walk above checks what the issue asks: not only chains."""
    kinds = set()
    for target, values, _build, _raw in CASES:
        nodes = graph(target, values, dtype="float64").nodes
        parents: dict[str, int] = {}
        for n in nodes:
            for i in n.next:
                if i is not None:
                    parents[i] = parents.get(i, 0) + 1
        if any(parents.get(n.id, 0) > 1 and n.leaf is None for n in nodes):
            kinds.add("shared interior node")
        if any(parents.get(n.id, 0) > 1 and n.leaf for n in nodes):
            kinds.add("shared leaf")
        if any(None in n.next for n in nodes):
            kinds.add("None")
        if sum(1 for n in nodes if n.leaf) >= 3:
            kinds.add("three leaves")
        if any(len([i for i in n.next if i]) > 1 for n in nodes):
            kinds.add("branch")
    assert kinds == {"shared interior node", "shared leaf", "None", "three leaves", "branch"}


def test_the_steppers_result_carries_the_same_graph_and_each_step_names_its_node() -> None:
    result = run("x * exp(-x) + sin(x) * w", {"x": X, "w": W})
    alone = graph("x * exp(-x) + sin(x) * w", {"x": X, "w": W})
    assert result.graph == alone.nodes
    by_id = {n.id: n for n in result.graph}
    assert len({s.graph_id for s in result.steps}) == len(result.steps) == len(result.graph)
    for step in result.steps:
        assert by_id[step.graph_id].name == step.node
        assert by_id[step.graph_id].leaf == step.leaf


def test_no_graph_is_said_plainly() -> None:
    result = graph("x * 2", {"x": "torch.tensor([1, 2])"})  # an integer tensor needs no gradient
    assert result.nodes == () and result.grad_fn is None
    assert "no grad_fn" in (result.reason or "")


# ------------------------------------------------------------------------------ Jacobians


@pytest.mark.parametrize(
    ("target", "values", "fn"),
    [
        ("softmax", {"input": "[1., 2., 0.5, -1.]"}, lambda x: torch.softmax(x, 0)),
        ("cumsum", {"input": "[[1., 2.], [3., -1.]]"}, lambda x: torch.cumsum(x, 0)),
        ("x.outer(x)", {"x": "[1., -2., 3.]"}, lambda x: torch.outer(x, x)),
    ],
)
def test_jacobian_is_torchs(target: str, values: dict[str, str], fn: Callable) -> None:
    result = jacobian(target, values, dtype="float64")
    (name,) = result.blocks
    block = result.blocks[name]
    x = torch.tensor(eval_list(values[name]), dtype=D)
    expected = torch.autograd.functional.jacobian(fn, x)
    got = torch.tensor(block.nested(), dtype=D)
    assert got.shape == expected.shape == (*result.output_shape, *block.input_shape)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-15)
    # the .grad beside J is torch's own backward with v = ones: the sum of J's rows
    torch.testing.assert_close(
        torch.tensor(block.grad, dtype=D),
        expected.reshape(-1, x.numel()).sum(0),
        rtol=1e-12,
        atol=1e-14,
    )


def eval_list(text: str) -> list:
    """The test's own reading of a plain list literal (the engine reads it with its language)."""
    import ast

    return ast.literal_eval(text)


def test_jacobian_of_two_inputs_and_an_upstream_v() -> None:
    values = {"x": "[[1., 2.], [0., -1.]]", "w": "[3., 0.5]"}
    result = jacobian("x @ w", values, grad_output="[2., 0.]", dtype="float64")
    x, w = (torch.tensor(eval_list(values[n]), dtype=D) for n in ("x", "w"))
    jx, jw = torch.autograd.functional.jacobian(lambda a, b: a @ b, (x, w))
    torch.testing.assert_close(torch.tensor(result.blocks["x"].nested(), dtype=D), jx)
    torch.testing.assert_close(torch.tensor(result.blocks["w"].nested(), dtype=D), jw)
    assert result.grad_output == [2.0, 0.0]
    v = torch.tensor([2.0, 0.0], dtype=D)
    torch.testing.assert_close(torch.tensor(result.blocks["w"].grad, dtype=D), v @ jw.reshape(2, 2))


def test_a_jacobian_too_big_to_show_is_refused_with_its_size() -> None:
    with pytest.raises(InputError, match=r"J would have 10201 entries .* at most 10000"):
        jacobian("softmax", {"input": "randn(101)"}, max_entries=MAX_SCREEN_ENTRIES)
    assert jacobian("softmax", {"input": "randn(100)"}, max_entries=MAX_SCREEN_ENTRIES)


def test_an_integer_output_has_no_jacobian() -> None:
    with pytest.raises(InputError, match="floating-point output"):
        jacobian("x > 0", {"x": X})


def test_a_zero_gradient_torch_returns_without_storage_is_read() -> None:
    """sgn's backward gives a ZeroTensor (no storage): J and .grad are still zeros."""
    x = "[-1.5, 0.5, 2.]"
    result = jacobian("sgn", {"input": x})
    (block,) = result.blocks.values()
    t = torch.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    expected = torch.autograd.functional.jacobian(torch.sgn, t)
    assert block.matrix == expected.tolist()
    torch.sgn(t).backward(torch.ones(3))
    assert block.grad == t.grad.clone().tolist()


# --------------------------------------------------------------------------------- H·u


def _f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (x * torch.exp(-x) + torch.sin(x) * w).sum()


def test_hvp_is_torchs_with_u_given_for_one_input() -> None:
    values = {"x": X, "w": W}
    result = hvp("x * exp(-x) + sin(x) * w", values, vectors={"x": "[1., 0., 2.]"}, dtype="float64")
    x, w = torch.tensor([0.5, 1.0, 2.0], dtype=D), torch.tensor([1.0, -1.0, 0.5], dtype=D)
    u = (torch.tensor([1.0, 0.0, 2.0], dtype=D), torch.zeros(3, dtype=D))
    _, (hx, hw) = torch.autograd.functional.hvp(_f, (x, w), u)
    torch.testing.assert_close(torch.tensor(result.hvp["x"].value, dtype=D), hx)
    torch.testing.assert_close(torch.tensor(result.hvp["w"].value, dtype=D), hw)
    assert result.vectors["w"].value == [0.0, 0.0, 0.0]
    assert "u is zero for w (no vector given)" in result.notes


def test_hvp_with_an_upstream_v_is_the_hessian_of_v_dot_f() -> None:
    values = {"x": X, "w": W}
    result = hvp("x * exp(-x) + sin(x) * w", values, grad_output="[1., 2., -1.]", dtype="float64")
    x, w = torch.tensor([0.5, 1.0, 2.0], dtype=D), torch.tensor([1.0, -1.0, 0.5], dtype=D)
    v = torch.tensor([1.0, 2.0, -1.0], dtype=D)

    def f(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a * torch.exp(-a) + torch.sin(a) * b) * v).sum()

    ones = (torch.ones(3, dtype=D), torch.ones(3, dtype=D))
    _, (hx, hw) = torch.autograd.functional.hvp(f, (x, w), ones)
    torch.testing.assert_close(torch.tensor(result.hvp["x"].value, dtype=D), hx)
    torch.testing.assert_close(torch.tensor(result.hvp["w"].value, dtype=D), hw)


def test_the_second_backward_is_recorded_over_the_gradients_own_graph() -> None:
    result = hvp("exp(x)", {"x": "[0.5, 1., 2.]"}, dtype="float64")
    x = torch.tensor([0.5, 1.0, 2.0], dtype=D, requires_grad=True)
    (g,) = torch.autograd.grad(torch.exp(x), x, torch.ones(3, dtype=D), create_graph=True)
    walked = []
    stack = [g.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and fn not in walked:
            walked.append(fn)
            stack.extend(f for f, _ in fn.next_functions)
    assert sorted(s.node for s in result.steps) == sorted(type(f).__name__ for f in walked)
    _iso({"nodes": [n.to_json() for n in result.graph]}, g.grad_fn, {"x": x})
    assert [s.graph_id for s in result.steps][0] == "n0"
    torch.testing.assert_close(
        torch.tensor(result.hvp["x"].value, dtype=D), torch.exp(x.detach())
    )  # d²/dx² exp(x) · 1


def test_a_linear_function_has_a_zero_hvp_and_says_why() -> None:
    result = hvp("x + w", {"x": X, "w": W})
    assert result.steps == ()
    assert result.hvp["x"].value == [0.0, 0.0, 0.0]
    assert any("linear" in n for n in result.notes)


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        ({"q": "1."}, r"^q: not an input that requires grad \(those are: x\)"),
        ({"x": "[1., 2.]"}, r"shape \[2\] but x has shape \[3\]"),
        ({"x": "open('CANARY', 'w')"}, "unknown function 'open'"),
    ],
)
def test_bad_vectors_are_refused(
    vectors: dict[str, str], message: str, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message):
        hvp("x * x", {"x": X}, vectors=vectors)
    assert not (tmp_path / "CANARY").exists()
