"""The plain torch script that computes a model run's numbers, for anyone to reproduce."""

from __future__ import annotations

from typing import Any

import torch

MAX_LITERAL = 256
"""Largest tensor written out as a literal; a bigger one is named by its text."""


def _literal(name: str, t: torch.Tensor, text: str) -> str:
    dtype = str(t.dtype).removeprefix("torch.")
    if t.numel() <= MAX_LITERAL:
        return f"{name} = torch.tensor({t.tolist()!r}, dtype=torch.{dtype})"
    return (
        f"{name} = ...  # {tuple(t.shape)} {dtype}: gradtui's {text.strip()[:60]!r} "
        "(too big to write out)"
    )


def script(trainer: Any, steps: int) -> str:
    """An :class:`ops.model.Trainer`'s run as a script of plain torch calls (``steps`` iterations)."""
    c = trainer.config
    layers = ",\n    ".join(spec.call_text() for spec in trainer.layer_specs)
    opt = trainer.optimizer_spec
    opt_args = "".join(f", {k}={v!r}" for k, v in opt.args.items())
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
        f"torch.manual_seed({c.seed})",
        f"model = nn.Sequential(\n    {layers},\n)",
    ]
    if trainer.dtype != torch.float32:
        lines.append(f"model = model.to(torch.{c.dtype})")
    lines += [
        f"opt = torch.optim.{opt.kind}(model.parameters(){opt_args})",
        _literal("data", trainer.data, c.data),
        _literal("target", trainer.target, c.target),
        f"for step in range({steps}):",
        "    opt.zero_grad()",
        f"    loss = F.{trainer.loss_name}(model(data), target)",
    ]
    if c.l1:
        lines.append(f"    loss = loss + {c.l1!r} * sum(p.abs().sum() for p in model.parameters())")
    lines += ["    loss.backward()", "    opt.step()"]
    return "\n".join(lines) + "\n"
