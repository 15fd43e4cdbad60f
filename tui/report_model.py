"""The text report of ``gradtui model``: a loss line per step, then the last step in full."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradtui.ops.display import format_value
from gradtui.tui.report import format_steps

if TYPE_CHECKING:
    from gradtui.ops.model_results import ModelRun, ModelStep
    from gradtui.ops.results import TensorData

SMALL = 12
"""A tensor with at most this many numbers is printed whole; a bigger one by shape and norm."""


def shown(t: TensorData | None) -> str:
    """A tensor's numbers when it is small, else its shape and 2-norm."""
    if t is None:
        return "None"
    count = math.prod(t.shape)
    if count <= SMALL:
        return format_value(t.value)
    flat = _flat(t.value)
    norm = math.sqrt(sum(float(v) ** 2 for v in flat))
    return f"{list(t.shape)} (norm {norm:.4g})"


def _flat(value: object) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]  # type: ignore[list-item]


def _shape(t: TensorData | None) -> str:
    return "None" if t is None else "[" + ", ".join(map(str, t.shape)) + "]"


def step_lines(run: ModelRun, step: ModelStep, *, nodes: bool = True) -> list[str]:
    """Everything one detail step measured, as indented lines."""
    lines = [f"step {step.step}: loss = {step.loss:.6g}" + _loss_parts(run, step)]
    if step.outputs:
        lines.append("  forward, layer by layer:")
        for layer in run.layers:
            out = step.outputs.get(layer.name)
            lines.append(f"    {layer.label:<14} -> {_shape(out):<10} {shown(out)}")
    if step.module_grads:
        lines.append("  backward, module by module (register_full_backward_hook):")
        for m in step.module_grads:
            got = ", ".join(shown(g) for g in m.grad_output)
            sent = ", ".join(shown(g) for g in m.grad_input)
            if all(g is None for g in m.grad_input):
                sent += " (its input does not require grad)"
            lines.append(f"    {m.module} {m.kind}")
            lines.append(f"      receives {got}")
            lines.append(f"      sends    {sent}")
    if nodes and step.backward:
        lines.append("  backward, node by node (the engine's order; module in brackets):")
        for s, module in zip(step.backward, step.backward_modules, strict=False):
            where = {"hook": "hook", None: "loss"}.get(module, f"module {module}")
            lines.extend(
                line if i else f"{line}   [{where}]" for i, line in enumerate(format_steps([s]))
            )
    lines.append("  parameters (grad = .grad after backward(); before/after step()):")
    for name in run.params:
        lines.append(f"    {name:<12} grad   {shown(step.grads.get(name))}")
        lines.append(f"    {'':<12} before {shown(step.params_before.get(name))}")
        lines.append(f"    {'':<12} after  {shown(step.params_after.get(name))}")
        if name in step.l1_grads:
            lines.append(f"    {'':<12} L1 part of grad {shown(step.l1_grads[name])}")
    if any(step.optimizer_state.values()):
        lines.append(f"  optimizer state ({run.optimizer}, opt.state[p] after step()):")
        for name, entries in step.optimizer_state.items():
            for key, value in entries.items():
                text = shown(value) if not isinstance(value, (int, float)) else f"{value:g}"
                lines.append(f"    {name:<12} {key:<16} {text}")
    if step.layer_grad_norms:
        norms = ", ".join(f"{k} {v:.4g}" for k, v in step.layer_grad_norms.items())
        lines.append(f"  gradient norm per layer (the loss's part): {norms}")
    for d in step.diagnoses:
        lines.append(f"  measured: {d}")
    for w in step.warnings:
        lines.append(f"  note: {w}")
    return lines


def _loss_parts(run: ModelRun, step: ModelStep) -> str:
    if step.l1_term is None:
        return f" ({run.loss})"
    return f" ({run.loss} {step.data_loss:.6g} + L1 term {step.l1_term:.6g})"


def format_model(run: ModelRun, *, nodes: bool = True) -> str:
    """``gradtui model``'s report."""
    if run.steps:
        count = f"{sum(math.prod(t.shape) for t in run.steps[0].params_before.values())} parameters"
    else:  # no step recorded a shape: the tensors are named by count only
        count = f"{len(run.params)} parameter tensors"
    lines = [
        f"model: {run.spec.strip()}",
        f"  {count}, {run.dtype}, torch.manual_seed({run.seed}); "
        f"loss {run.loss}; optimizer {run.optimizer}" + (f"; l1 {run.l1:g}" if run.l1 else ""),
        f"  data {_shape(run.data)}, target {_shape(run.target)} ({run.target.dtype})",
    ]
    if not run.steps:
        lines.append("no steps taken (--steps 0)")
        return "\n".join(lines)
    if len(run.steps) > 1:
        lines.append("")
        lines.append("loss per step:")
        lines.extend(_losses(run.steps))
    lines.append("")
    lines.extend(step_lines(run, run.steps[-1], nodes=nodes))
    for d in run.diagnoses:
        lines.append(f"measured over the run: {d}")
    return "\n".join(lines)


def _losses(steps: Sequence[ModelStep]) -> list[str]:
    return [f"  {s.step:>5}  {s.loss:.6g}" for s in steps]
