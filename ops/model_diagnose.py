"""What a model step, and a whole run, measured: dead ReLU units, gradient norms that shrink
or grow between layers, the L1 term's share of each gradient, and whether the L1 pull takes
weights exactly to zero or leaves them oscillating around it.

Every sentence here is built from numbers the step recorded; nothing is predicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from gradtui.ops.model_results import LayerInfo, ModelStep

RATIO = 10.0
"""A gradient norm that changes by more than this between two layers is reported."""
WINDOW = 10
"""How many of the last steps the oscillation test looks at."""
SHOWN = 6
"""Most parameter entries named in one sentence."""


def _units(index: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in index[:SHOWN])
    return shown + (f" and {len(index) - SHOWN} more" if len(index) > SHOWN else "")


def dead_relus(
    layers: Sequence[LayerInfo],
    outputs: Mapping[str, torch.Tensor],
    grads: Mapping[str, torch.Tensor],
) -> list[str]:
    """ReLU units that output 0 for every row, and what the layer before them got."""
    found = []
    for k, layer in enumerate(layers):
        out = outputs.get(layer.name)
        if layer.kind != "ReLU" or out is None or out.dim() < 2 or out.shape[0] == 0:
            continue
        flat = out.detach().reshape(out.shape[0], -1)
        dead = torch.nonzero((flat == 0).all(dim=0)).reshape(-1).tolist()
        if not dead:
            continue
        word = "unit" if len(dead) == 1 else "units"
        verb = "outputs" if len(dead) == 1 else "output"
        text = f"ReLU {layer.name}: {word} {_units(dead)} {verb} 0 for all {flat.shape[0]} rows"
        before = layers[k - 1] if k > 0 else None
        weight = grads.get(f"{before.name}.weight") if before is not None else None
        if before is not None and before.kind == "Linear" and weight is not None and out.dim() == 2:
            bias = grads.get(f"{before.name}.bias")
            rows = weight[dead]
            zero = bool((rows == 0).all()) and (bias is None or bool((bias[dead] == 0).all()))
            got = (
                "got exactly 0 gradient from the loss"
                if zero
                else f"still got gradient from the loss (largest {float(rows.abs().max()):.3g})"
            )
            text += f"; Linear {before.name}'s weight rows {_units(dead)} {got}"
        found.append(text)
    return found


def norm_jumps(layers: Sequence[LayerInfo], norms: Mapping[str, float]) -> list[str]:
    """Consecutive layers with parameters whose loss-gradient norms differ by > RATIO."""
    found = []
    with_params = [layer for layer in layers if layer.name in norms]
    for later, earlier in zip(with_params[::-1], with_params[::-1][1:], strict=False):
        a, b = norms[earlier.name], norms[later.name]
        if b == 0 and a == 0:
            continue
        if b > 0 and a / b < 1 / RATIO:
            how = "vanishes" if a == 0 else f"shrinks {b / a:.3g}x"
        elif a > 0 and (b == 0 or a / b > RATIO):
            how = "grows from 0" if b == 0 else f"grows {a / b:.3g}x"
        else:
            continue
        found.append(
            f"gradient norm {how} going back from {later.label} to {earlier.label} "
            f"({b:.3g} -> {a:.3g})"
        )
    return found


def step_diagnoses(
    layers: Sequence[LayerInfo],
    outputs: Mapping[str, torch.Tensor],
    data_grads: Mapping[str, torch.Tensor],
    layer_norms: Mapping[str, float],
    shares: Mapping[str, float],
    l1: float,
) -> tuple[str, ...]:
    """This step's sentences: dead ReLU units, norm jumps, the L1 share."""
    found = dead_relus(layers, outputs, data_grads) + norm_jumps(layers, layer_norms)
    if l1 and shares:
        parts = ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
        found.append(f"the L1 term's share of each gradient (sum of |part|): {parts}")
    return tuple(found)


def _entry(name: str, shape: Sequence[int], flat_index: int) -> str:
    if not shape:
        return name
    idx = []
    for size in reversed(shape):
        idx.append(flat_index % size)
        flat_index //= size
    return f"{name}[{', '.join(str(i) for i in reversed(idx))}]"


def l1_outcome(steps: Sequence[ModelStep]) -> dict[str, list[str]]:
    """Each weight after the last step: ``"zero"`` (exactly 0.0), ``"oscillating"`` (its
    sign flipped at least twice in the last :data:`WINDOW` steps), or ``"away"``."""
    out: dict[str, list[str]] = {"zero": [], "oscillating": [], "away": []}
    if not steps:
        return out
    recent = [s for s in steps[-WINDOW:] if s.params_after]  # old steps may be thinned
    if not recent:
        return out
    for name, last in steps[-1].params_after.items():
        history = torch.tensor(
            [s.params_after[name].value for s in recent], dtype=torch.float64
        ).reshape(len(recent), -1)
        signs = torch.sign(history)
        flips = ((signs[1:] * signs[:-1]) < 0).sum(dim=0)
        final = history[-1]
        for i in range(final.numel()):
            where = _entry(name, last.shape, i)
            if final[i] == 0:
                out["zero"].append(where)
            elif len(recent) > 2 and int(flips[i]) >= 2:
                out["oscillating"].append(where)
            else:
                out["away"].append(where)
    return out


def run_diagnoses(steps: Sequence[ModelStep], l1: float, optimizer: Any) -> tuple[str, ...]:
    """The whole run's sentences: with L1, where the pull left the weights."""
    if not l1 or not steps:
        return ()
    kinds = l1_outcome(steps)
    total = sum(len(v) for v in kinds.values())
    n = len(steps)
    window = min(WINDOW, n)
    parts = [
        f"after {n} step{'s' if n != 1 else ''} of {optimizer.text()} with l1={l1:g}: "
        f"{len(kinds['zero'])} of {total} parameters are exactly 0.0"
    ]
    if kinds["zero"]:
        parts.append(f"({_units(kinds['zero'])})")
    text = " ".join(parts)
    swing = len(kinds["oscillating"])
    text += (
        f"; {swing} {'oscillates' if swing == 1 else 'oscillate'} around 0 (sign flipped at "
        f"least twice in the last {window} steps)"
    )
    if kinds["oscillating"]:
        text += f" ({_units(kinds['oscillating'])})"
    away = len(kinds["away"])
    text += f"; {away} {'stays' if away == 1 else 'stay'} on one side of 0"
    return (text,)
