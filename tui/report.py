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
from gradtui.ops.results import (
    Claim,
    Curve,
    GradResult,
    OutputValue,
    SnippetResult,
    SnippetStatement,
    Step,
)

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
            about = spec.summary if spec.generated else spec.rule
            lines.append(f"  {spec.call_text():<{width}}  {about}")
        lines.append("")
    return "\n".join(lines)


def format_op(spec: OpSpec) -> str:
    """The text of ``gradtui ops NAME``: signature, call, summary and each input's default."""
    lines = [spec.signature or spec.call_text()]
    if spec.summary:
        lines.append(f"  {spec.summary}")
    lines.append("")
    lines.append(f"call:  {spec.call_text()}")
    if spec.aliases:
        lines.append(f"also:  {', '.join(spec.aliases)}")
    if not spec.generated:
        lines.append(f"rule:  {spec.rule}")
    lines.append("defaults:")
    for i in spec.inputs:
        grad = "requires_grad" if i.requires_grad else "no grad"
        lines.append(f"  {i.name} = {i.default}  ({i.kind}, {grad})")
    return "\n".join(lines)


def format_grad(result: GradResult) -> str:
    """The text report of ``gradtui grad``."""

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
        lines.extend(format_steps(result.steps))
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


def format_steps(steps: Sequence[Step]) -> list[str]:
    """Each recorded backward step: its node, the gradients in and out, what it saved."""
    from gradtui.ops.backward import enum_name, saved_text  # torch is loaded: a result exists

    lines: list[str] = []
    for step in steps:
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
                lines.append(f"        out  {format_value(g.value) if g is not None else 'None'}")
        for key, val in step.saved.items():
            shown = saved_text(key, val) if enum_name(key, val) else format_value(val)
            lines.append(f"        saved {key} = {shown}")
        if step.rule:
            lines.append(f"        rule {step.rule}")
    return lines


def visible(text: str) -> str:
    """Text a snippet printed, safe for a terminal: control characters (an escape
    sequence could move the cursor or retitle the window) shown as ``\\x1b``."""
    return "".join(
        c
        if c in "\n\t" or (32 <= ord(c) < 127) or (ord(c) >= 160 and _shown(c))
        else (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
        for c in text
    )


def _shown(char: str) -> bool:
    """Whether a non-ASCII character may go to the terminal as itself: not a bidi control,
    zero-width or other format character, line separator or surrogate (``print("\\u202e")``
    would reorder the report's line as the terminal shows it)."""
    import unicodedata

    return unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Cn")


STATUS_MARK = {"ran": "ran", "raised": "RAISED", "not reached": "not reached"}
"""How the report names each statement's status."""


def claim_lines(claim: Claim) -> list[str]:
    """A claim checked: its text, then holds, fails (what was printed is shown above it)
    or not checked."""
    said = f"claim: {visible(claim.text)}"
    if claim.holds is None:
        return [said, f"  not checked: {claim.why}"]
    if claim.holds:
        return [said, "  holds"]
    if claim.why.startswith("printed "):
        return [said, "  FAILS: what the line printed ('>') differs"]
    return [said, f"  FAILS: {visible(claim.why)}"]


def format_snippet(result: SnippetResult, *, steps: bool = True) -> str:
    """The text report of ``gradtui snippet``: each statement with its status, what it
    printed, its claims, what it raised and why; then the backward passes recorded."""
    lines: list[str] = []
    width = len(str(max((s.end_line for s in result.all_statements()), default=1)))
    pad = " " * (width + 2 + 11 + 2)

    def statement(s: SnippetStatement, depth: int) -> None:
        source_lines = s.source.splitlines() or [""]
        indent = "    " * depth
        mark = STATUS_MARK[s.status]
        if s.error is not None and s.error.type == "refused":
            mark = "REFUSED"
        for i, text in enumerate(source_lines if not s.body else source_lines[:1]):
            shown = mark if i == 0 else ""
            lines.append(f"{s.line + i:>{width}}  {shown:<11}  {indent}{visible(text)}")
        for b in s.body:
            statement(b, depth + 1)
        if s.body:
            return
        for text in s.printed:
            for j, row in enumerate(text.split("\n")):
                lines.append(f"{pad}{indent}{'>' if j == 0 else ' '} {visible(row)}")
        for claim in s.claims:
            lines.extend(f"{pad}{indent}{row}" for row in claim_lines(claim))
        if s.error is not None:
            message = visible(s.error.message).split("\n")
            lines.append(f"{pad}{indent}{s.error.type}: {message[0]}")
            lines.extend(f"{pad}{indent}  {row}" for row in message[1:] if row.strip())
            if s.error.why:
                lines.append(f"{pad}{indent}why: {s.error.why}")
        for warning in s.warnings:
            lines.append(f"{pad}{indent}warning: {visible(warning).splitlines()[0]}")

    for s in result.statements:
        statement(s, 0)
    claims = [c for s in result.statements for c in s.claims]
    held = sum(c.holds is True for c in claims)
    failed = sum(c.holds is False for c in claims)
    unchecked = sum(c.holds is None for c in claims)
    lines.append("")
    if result.refused is not None:
        line, col, message = result.refused
        lines.append(f"refused at line {line}:{col}: {message}")
    elif result.stopped_at is not None:
        lines.append(f"stopped at line {result.stopped_at}: the statements after it did not run")
    else:
        lines.append("ran to the end")
    lines.append(
        f"claims: {held} hold, {failed} fail, {unchecked} not checked (the line did not run)"
    )
    if result.backwards and steps:
        for record in result.backwards:
            lines.append("")
            lines.append(f"backward at line {record.line}: {record.call}")
            lines.extend(format_steps(record.steps))
    elif not result.backwards:
        lines.append("backward passes: none ran")
    return "\n".join(lines)


def pointed(text: str, line: int, col: int) -> str:
    """The snippet's line ``line`` with a caret under column ``col`` (both 1-based)."""
    rows = text.splitlines()
    shown = visible(rows[line - 1]) if 0 < line <= len(rows) else ""
    number = str(line)
    return f"  {number} | {shown}\n  {' ' * len(number)} | {' ' * max(col - 1, 0)}^"
