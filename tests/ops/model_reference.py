"""The plain torch script of issue 13, run for real: the reference model mode is checked against.

Written without :mod:`ops.model`: the layers are built by a Python function of real
``torch.nn`` constructors (not parsed from the spec), the data with ``torch.tensor`` of
Python lists, and the loop is the issue's::

    torch.manual_seed(seed)
    model = torch.nn.Sequential(*layers)   # layers constructed left to right
    opt = torch.optim.NAME(model.parameters(), **kwargs)
    for each step:
        opt.zero_grad()
        loss = F.LOSS(model(data), target)
        if l1: loss = loss + l1 * sum(p.abs().sum() for p in model.parameters())
        loss.backward()
        opt.step()

:func:`plain` runs exactly that and reads loss, ``.grad``, parameters and ``opt.state``
after each step. :func:`hooked` runs it again with a forward hook and a
``register_full_backward_hook`` on each layer (what gradtui's detail steps add), and with
a pre-hook on every autograd node, so it also gives each layer's output, what each module
received and sent back, and the names of the nodes the engine ran, in its order. Both run
inside ``fork_rng`` so a test's global generator is not theirs to move.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse_loss": F.mse_loss,
    "l1_loss": F.l1_loss,
    "cross_entropy": F.cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "huber_loss": F.huber_loss,
    "nll_loss": F.nll_loss,
    "smooth_l1_loss": F.smooth_l1_loss,
}
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}


@dataclass
class RefStep:
    loss: torch.Tensor
    grads: dict[str, torch.Tensor]
    before: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]
    state: dict[str, dict[str, Any]]
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    # (module name, grad_output, grad_input) in firing order
    module_grads: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """One model: the spec gradtui parses, and the same layers as real constructors."""

    id: str
    spec: str
    layers: Callable[[], Sequence[nn.Module]]
    data: list[Any]
    target: list[Any]
    loss: str = "mse_loss"
    optimizer: str = "SGD"
    kwargs: tuple[tuple[str, Any], ...] = (("lr", 0.1),)
    l1: float = 0.0
    seed: int = 0
    dtype: torch.dtype = torch.float32
    steps: int = 3
    integer_target: bool = False

    @property
    def optimizer_text(self) -> str:
        return f"{self.optimizer}({', '.join(f'{k}={v!r}' for k, v in self.kwargs)})"

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        data = torch.tensor(self.data, dtype=self.dtype)
        if self.integer_target:
            target = torch.tensor(self.target)
        else:
            target = torch.tensor(self.target, dtype=self.dtype)
        return data, target


def _state(opt: torch.optim.Optimizer, model: nn.Module) -> dict[str, dict[str, Any]]:
    out = {}
    for name, p in model.named_parameters():
        if p in opt.state:
            out[name] = {
                k: (v.detach().clone() if isinstance(v, torch.Tensor) else v)
                for k, v in opt.state[p].items()
            }
    return out


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _walk(root: Any) -> list[Any]:
    seen: dict[int, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(fn for fn, _ in node.next_functions)
    return list(seen.values())


def run(case: Case, *, hooks: bool = False, nodes: bool = False) -> list[RefStep]:
    """The issue's script for ``case.steps`` steps.

    Args:
        hooks: Add a forward hook and a full backward hook to each layer (as gradtui's
            detail steps do) and record what they see.
        nodes: Record the name of every node the engine runs, in its order (a pre-hook on
            each node reachable from the loss; a pre-hook changes no number).
    """
    data, target = case.tensors()
    loss_fn = LOSSES[case.loss]
    steps: list[RefStep] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        model = nn.Sequential(*case.layers())
        if case.dtype != torch.float32:
            model = model.to(case.dtype)
        opt = OPTIMIZERS[case.optimizer](model.parameters(), **dict(case.kwargs))
        for _ in range(case.steps):
            outputs: dict[str, torch.Tensor] = {}
            module_grads: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = []
            handles = []
            if hooks:
                for name, module in model.named_children():

                    def fwd(
                        m: Any, a: Any, out: Any, name: str = name, seen: dict = outputs
                    ) -> None:
                        seen[name] = out.detach().clone()

                    def bwd(
                        m: Any, gin: Any, gout: Any, name: str = name, got: list = module_grads
                    ) -> None:
                        got.append(
                            (
                                name,
                                tuple(None if g is None else g.detach().clone() for g in gout),
                                tuple(None if g is None else g.detach().clone() for g in gin),
                            )
                        )

                    handles.append(module.register_forward_hook(fwd))
                    handles.append(module.register_full_backward_hook(bwd))
            before = _params(model)
            opt.zero_grad()
            loss = loss_fn(model(data), target)
            if case.l1:
                loss = loss + case.l1 * sum(p.abs().sum() for p in model.parameters())
            ran: list[str] = []
            if nodes:
                for node in _walk(loss.grad_fn):
                    handles.append(
                        node.register_prehook(
                            lambda g, node=node, ran=ran: ran.append(type(node).__name__)
                        )
                    )
            with warnings.catch_warnings():
                # torch says this for a module whose input needs no gradient (the first
                # layer's data); gradtui filters the same warning out of its notes
                warnings.filterwarnings("ignore", "Full backward hook is firing")
                loss.backward()
            for h in handles:
                h.remove()
            grads = {
                n: p.grad.detach().clone()
                for n, p in model.named_parameters()
                if p.grad is not None
            }
            opt.step()
            steps.append(
                RefStep(
                    loss=loss.detach().clone(),
                    grads=grads,
                    before=before,
                    after=_params(model),
                    state=_state(opt, model),
                    outputs=outputs,
                    module_grads=module_grads,
                    nodes=ran,
                )
            )
    return steps


def l1_part(case: Case, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``torch.autograd.grad`` of ``l1 * sum|p|`` alone, at the parameters ``params``."""
    leaves = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    term = case.l1 * sum(p.abs().sum() for p in leaves.values())
    got = torch.autograd.grad(term, list(leaves.values()))
    return dict(zip(leaves, got, strict=True))
