"""Plain-text reports of the engine's results, for every front that writes text.

``gradtui grad``'s report, ``gradtui plot``'s title and notes, ``gradtui ops``'s listing,
and the pieces of them the demo's captions name (``{kinks}``, ``{plot}``, ``{grad_fn}``,
``{differentiable}``) are written here once, so a caption and the command line say the
same thing in the same words. Text only: no Textual, no Rich, and no torch at import
(a result passed in means torch is already loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradtui.ops.display import describe_kink, format_value
from gradtui.ops.names import GRAD_OUTPUT
from gradtui.ops.results import Curve, GradResult, OutputValue

if TYPE_CHECKING:  # the catalog imports torch; a listing is handed specs already built
    from gradtui.ops.catalog import OpSpec


def yes_no(flag: bool) -> str:
    """``"yes"`` or ``"no"``: how a report answers "differentiable?"."""
    return "yes" if flag else "no"


def grad_fn_name(output: OutputValue) -> str:
    """The output's ``grad_fn`` class name, or ``"None"`` when torch recorded none."""
    return output.grad_fn or "None"


def curve_title(curve: Curve) -> str:
    """What a curve plots: its label (``"L(t) = <v, f>"``) or, failing that, its target."""
    return curve.label or curve.target


def kink_lines(curve: Curve) -> list[str]:
    """One sentence per corner, cusp or jump the curve found, with what torch returns there."""
    return [describe_kink(k, f"{curve.var}={k.x:.6g}") for k in curve.kinks]


def plot_notes(curve: Curve) -> list[str]:
    """The lines ``gradtui plot`` prints under the plot: no gradient, then each kink."""
    notes = [f"no gradient: {curve.reason}"] if curve.df is None else []
    return notes + kink_lines(curve)


def format_ops(groups: Sequence[tuple[str, Sequence[OpSpec]]]) -> str:
    """The text listing of ``gradtui ops``: each category, its ops' calls and rules."""
    lines: list[str] = []
    for category, specs in groups:
        lines.append(f"{category}:")
        width = max(len(s.call_text()) for s in specs)
        for spec in specs:
            lines.append(f"  {spec.call_text():<{width}}  {spec.rule}")
        lines.append("")
    return "\n".join(lines)


def format_grad(result: GradResult) -> str:
    """The text report of ``gradtui grad``."""
    from gradtui.ops.backward import enum_name, saved_text  # torch is loaded: a result exists

    lines = [result.expression]
    for name, inp in result.inputs.items():
        grad_note = "requires_grad" if inp.requires_grad else "no grad"
        lines.append(
            f"  {name:<8} = {format_value(inp.tensor.value)}  ({inp.tensor.dtype}, {grad_note})"
        )
    if result.output is not None:
        fn = grad_fn_name(result.output)
        lines.append(
            f"  {'output':<8} = {format_value(result.output.tensor.value)}  "
            f"({result.output.tensor.dtype}, grad_fn={fn})"
        )
    if result.grad_output is not None:
        lines.append(f"  {GRAD_OUTPUT:<8} = {format_value(result.grad_output.value)}")
    lines.append("")
    lines.append(f"differentiable: {yes_no(result.differentiable)}")
    if result.reason:
        lines.append(f"  why: {result.reason}")
    if result.steps:
        lines.append("")
        lines.append("backward, in the engine's order:")
        for step in result.steps:
            title = step.node + (f" ({step.leaf})" if step.leaf else "")
            lines.append(f"  [{step.index}] {title}")
            for g in step.grad_outputs:
                lines.append(f"        in   {format_value(g.value) if g is not None else 'None'}")
            for g, edge in zip(step.grad_inputs, step.next, strict=False):
                dest = edge.node or "(no grad needed)"
                if edge.input:
                    dest += f" ({edge.input})"
                shown = format_value(g.value) if g is not None else "None"
                lines.append(f"        out  {shown}  → {dest}")
            if step.leaf is None and len(step.grad_inputs) > len(step.next):
                for g in step.grad_inputs[len(step.next) :]:
                    lines.append(
                        f"        out  {format_value(g.value) if g is not None else 'None'}"
                    )
            for key, val in step.saved.items():
                shown = saved_text(key, val) if enum_name(key, val) else format_value(val)
                lines.append(f"        saved {key} = {shown}")
            if step.rule:
                lines.append(f"        rule {step.rule}")
    lines.append("")
    lines.append("gradients:")
    for name, g in result.grads.items():
        lines.append(f"  {name}.grad = {format_value(g.value) if g is not None else 'None'}")
    for key, val in result.extras.items():
        lines.append(f"  {key} = {format_value(val)}")
    if result.formula:
        lines.append("")
        lines.append(f"formula: {result.formula}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
