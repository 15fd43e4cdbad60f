"""The update view: what ``optimizer.step()`` did to each parameter, as measured.

For each parameter (``named_parameters()`` order): its value before and after the step,
the change, the gradient the step used, the L1 term's part of it when there is one, and
the optimizer's state after the step by torch's own keys (``momentum_buffer``,
``exp_avg``, ``exp_avg_sq``, ``step``, ...). Everything is read off
:class:`ops.model_results.ModelStep`; the change is ``after - before`` of those numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.text import Text

from gradtui.ops.model_results import ModelStep
from gradtui.ops.results import TensorData
from gradtui.tui.format import describe, format_number, format_tensor


def delta(before: TensorData, after: TensorData) -> TensorData:
    """``after - before`` elementwise, as plain data (the lists of the two records)."""

    def sub(a: Any, b: Any) -> Any:
        if isinstance(a, list):
            return [sub(x, y) for x, y in zip(a, b, strict=True)]
        return a - b

    return TensorData(sub(after.value, before.value), after.dtype, after.shape)


def _line(label: str, tensor: TensorData | None, width: int) -> Text:
    line = Text(f"  {label:<16}", style="bold")
    line.append_text(format_tensor(tensor, max_items=max(3, width // 12)))
    return line


def render_update(
    step: ModelStep | None, params: Sequence[str], optimizer: str, label: str, width: int = 80
) -> Group:
    """The update view for ``step`` of an ``optimizer`` run."""
    if step is None:
        return Group(Text("no model yet: ctrl+r builds it", style="dim"))
    head = Text(label, style="bold")
    head.append(f"  {optimizer}", style="dim")
    lines: list[Text] = [head]
    loss = Text("  loss ", style="bold")
    loss.append_text(format_number(step.loss))
    if step.l1_term is not None:
        loss.append(" = data loss ")
        loss.append_text(format_number(step.data_loss))
        loss.append(" + L1 term ")
        loss.append_text(format_number(step.l1_term))
    lines.append(loss)
    for name in params:
        before, after = step.params_before.get(name), step.params_after.get(name)
        title = Text(name, style="bold underline")
        if after is not None:
            title.append(f"  {describe(after)}", style="dim")
        lines.append(title)
        lines.append(_line("before", before, width))
        lines.append(_line("after", after, width))
        if before is not None and after is not None:
            lines.append(_line("delta", delta(before, after), width))
        lines.append(_line("grad", step.grads.get(name), width))
        if name in step.l1_grads:
            lines.append(_line("  of it, L1", step.l1_grads[name], width))
        state = step.optimizer_state.get(name, {})
        if not state:
            lines.append(Text("  (no optimizer state)", style="dim"))
        else:
            lines.append(Text("  optimizer.state after step():", style="dim"))
        for key, value in state.items():
            if isinstance(value, TensorData):
                lines.append(_line(key, value, width))
            else:
                text = Text(f"  {key:<16}", style="bold")
                text.append_text(
                    format_number(value) if isinstance(value, (int, float)) else Text(str(value))
                )
                lines.append(text)
    return Group(*lines)
