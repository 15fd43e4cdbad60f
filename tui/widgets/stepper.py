"""The backward stepper: the recorded autograd nodes, one at a time.

The engine records the backward pass with hooks on the real graph and hands over
:class:`ops.results.Step` records in the engine's execution order. This panel lists
them (the current one highlighted) and shows, for the current node, the gradient
flowing in, the gradients it sends on and where, its saved tensors, its rule, and every
leaf's ``.grad`` as it stands after this step. It only displays: stepping never
recomputes anything.

``g`` swaps the list for the drawn graph (:class:`~gradtui.tui.widgets.graph_view.GraphView`):
the same steps, as the nodes of the DAG torch built, the current one highlighted and
those already run marked. The panel also shows the backward of a backward (``h``): the
steps of the second backward pass that gives H·u, with its own graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from gradtui.ops.results import BackwardRecord, GradResult, GraphNode, Step, TensorData
from gradtui.tui.format import describe, format_tensor
from gradtui.tui.widgets.graph_view import GraphView, legend
from gradtui.tui.widgets.line_view import LineView
from gradtui.tui.workarounds import PagedOptionList, focus_now

if TYPE_CHECKING:
    from gradtui.ops.graph import HvpResult


class StepList(PagedOptionList):
    """The node list; focusable, and where the app starts (``n``/``p`` work here)."""

    DEFAULT_CSS = """
    StepList { width: 1fr; height: auto; max-height: 12; border: none; padding: 0; }
    """


class StepperPanel(Vertical):
    """Node list above, the current node's gradients below."""

    ALLOW_MAXIMIZE = True
    """"Maximize" (command palette) on any field in here fills the screen with the list and the detail together, not the list alone over empty hatching."""

    DEFAULT_CSS = """
    StepperPanel { height: 1fr; }
    StepperPanel > #step-detail { width: 1fr; height: 1fr; padding: 0 0 0 1; }
    StepperPanel > StepList { border-bottom: solid $accent 40%; }
    StepperPanel > #graph-legend { display: none; height: 1; }
    StepperPanel > GraphView { display: none; height: 2fr; border-bottom: solid $accent 40%; }
    StepperPanel.-graph > StepList { display: none; }
    StepperPanel.-graph > #graph-legend { display: block; }
    StepperPanel.-graph > GraphView { display: block; }
    """

    index: reactive[int] = reactive(0, init=False, repaint=False)
    """The current step (0-based, in the engine's execution order)."""

    def __init__(self, *, id: str | None = None) -> None:
        """Create an empty stepper; :meth:`show_result` fills it."""
        super().__init__(id=id)
        self.result: GradResult | None = None
        self.record: BackwardRecord | None = None
        """The snippet's backward pass on screen (instead of a result), if any."""
        self.hvp: HvpResult | None = None
        """The backward of a backward on screen (``h``), if any."""
        self.graph: tuple[GraphNode, ...] = ()
        """The nodes of the graph whose steps are on screen (``()``: none recorded)."""
        self.graph_mode = False
        """Whether the drawn graph shows instead of the list (``g``)."""
        self._signature: tuple[str, ...] = ()
        self._kind: str | None = None  # "result", "record" or "hvp": what the steps are

    def compose(self) -> ComposeResult:
        """The node list and the detail view."""
        yield StepList(id="step-list")
        yield Static(id="graph-legend", markup=False)
        yield GraphView(id="step-graph")
        yield LineView(Text("loading torch…", style="dim"), id="step-detail")

    def on_mount(self) -> None:
        """Title the panel."""
        self.border_title = "backward"

    @property
    def steps(self) -> tuple[Step, ...]:
        """The recorded steps of the result on screen."""
        if self.hvp is not None:
            return self.hvp.steps
        if self.record is not None:
            return self.record.steps
        return () if self.result is None else self.result.steps

    @property
    def current(self) -> Step | None:
        """The current step, or ``None`` when there is no backward graph."""
        steps = self.steps
        return steps[self.index] if 0 <= self.index < len(steps) else None

    def show_result(self, result: GradResult, *, keep_hvp: bool = False) -> None:
        """Show a new result; keep the position when the graph has the same nodes.

        With ``keep_hvp``, a backward of the backward on screen stays there (``h`` or
        :meth:`leave_hvp` brings the new result's steps back)."""
        if keep_hvp and self.hvp is not None:
            self.result, self.record = result, None
            return
        self.result, self.record, self.hvp = result, None, None
        self._title("backward")
        self._show("result", result.steps, result.graph)

    def show_record(self, record: BackwardRecord) -> None:
        """Show one backward pass a snippet ran (its line, its call, its nodes)."""
        self.result, self.record, self.hvp = None, record, None
        self._show("record", record.steps, record.graph)

    def show_hvp(self, hvp: HvpResult) -> None:
        """Show the second backward pass (the backward of the backward) that gave H·u."""
        self.hvp = hvp
        self._title(hvp_title(hvp))
        self._show("hvp", hvp.steps, hvp.graph)

    def leave_hvp(self) -> bool:
        """Back from the second backward to the op's own; whether one was on screen."""
        if self.hvp is None:
            return False
        self.hvp = None
        self._title("backward")
        if self.result is not None:
            self._show("result", self.result.steps, self.result.graph)
        return True

    def _title(self, title: str) -> None:
        """Set the border title (only when it changes: setting it repaints the whole panel)."""
        if self.border_title != title:
            self.border_title = title

    def toggle_graph(self) -> bool:
        """Swap the list and the drawn graph; returns whether the graph shows now."""
        self.graph_mode = not self.graph_mode
        had_focus = self.query_one(StepList).has_focus or self.query_one(GraphView).has_focus
        self.set_class(self.graph_mode, "-graph")
        if self.graph_mode:
            self.query_one(GraphView).show_graph(self.graph)
        self._render_current()
        if had_focus:
            self.focus_steps()
        return self.graph_mode

    def focus_steps(self) -> None:
        """Focus where the steps are: the list, or the drawing in graph mode."""
        focus_now(self.query_one(GraphView) if self.graph_mode else self.query_one(StepList))

    @on(GraphView.NodeClicked)
    def _node_clicked(self, event: GraphView.NodeClicked) -> None:
        event.stop()
        for step in self.steps:
            if step.graph_id == event.node_id:
                self.index = step.index
                return

    def _mark_graph(self) -> None:
        """Restyle the drawing for the current step (the list needs nothing: it follows)."""
        steps = self.steps
        current = self.current
        done = [s.graph_id for s in steps[: self.index] if s.graph_id]
        self.query_one(GraphView).mark(current.graph_id if current else None, done)
        self.query_one("#graph-legend", Static).update(
            legend(len(self.graph), len(set(done)))
            if self.graph
            else Text("no graph recorded for these steps", style="dim"),
            layout=False,  # one row, always: a new count needs no layout of the screen
        )

    def _show(self, kind: str, steps: tuple[Step, ...], graph: tuple[GraphNode, ...]) -> None:
        """Show ``steps`` (of :attr:`result` or :attr:`record`, as ``kind`` says); keep the
        position when the graph on screen was of the same kind, with the same nodes."""
        signature = tuple(s.node for s in steps)
        same = signature == self._signature and kind == self._kind
        self._kind = kind
        self._signature = signature
        self.graph = graph
        if self.graph_mode:
            self.query_one(GraphView).show_graph(graph)
        step_list = self.query_one(StepList)
        labels = [self._label(s) for s in steps]
        if not same:
            step_list.set_options(
                [Option(label, id=str(s.index)) for s, label in zip(steps, labels, strict=True)]
                or [Option(Text("(no backward graph)", style="dim"), disabled=True)]
            )
        else:  # the same nodes, new numbers: a label changes where its "!" flag does
            for i, label in enumerate(labels):
                if label != step_list.get_option_at_index(i).prompt:
                    step_list.replace_option_prompt_at_index(i, label)
        if not same:  # another graph: its detail starts at the forward line and "step 1 of"
            self.query_one("#step-detail", LineView).scroll_home(animate=False, immediate=True)
        new_index = self.index if same else 0
        if new_index != self.index:
            self.index = new_index
        else:
            self._render_current()
        if steps:
            step_list.highlighted = self.index

    def show_placeholder(self, message: str) -> None:
        """Say why no backward graph is shown yet (only while there is no result at all)."""
        if self.result is None and self.record is None:
            self.query_one("#step-detail", LineView).update(Text(message, style="dim"))

    def clear(self, message: str) -> None:
        """Show no steps at all, and ``message`` (why there are none)."""
        self.result, self.record, self.hvp = None, None, None
        self._kind, self._signature, self.graph = None, (), ()
        self.query_one(StepList).clear_options()
        self.query_one(GraphView).show_graph(())
        self.query_one("#step-detail", LineView).update(Text(message, style="dim"))

    def step(self, delta: int) -> bool:
        """Move ``delta`` steps (clamped); returns whether the position changed."""
        if not self.steps:
            return False
        new = max(0, min(len(self.steps) - 1, self.index + delta))
        if new == self.index:
            return False
        self.index = new
        return True

    def set_stale(self, stale: bool) -> None:
        """Dim the panel and say so while the inputs on screen do not match it."""
        base = hvp_title(self.hvp) if self.hvp is not None else "backward"
        title = f"{base} (stale)" if stale else base
        self.set_class(stale, "-stale")
        if title != self.border_title:  # setting a title repaints the whole panel
            self.border_title = title

    def watch_index(self, index: int) -> None:
        """Follow the index in the list and redraw the detail."""
        step_list = self.query_one(StepList)
        if self.steps and step_list.highlighted != index:
            step_list.highlighted = index
        self._render_current()

    @on(OptionList.OptionHighlighted, "#step-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.steps and event.option_index != self.index:
            self.index = event.option_index

    @on(OptionList.OptionSelected, "#step-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()

    @staticmethod
    def _label(step: Step) -> Text:
        label = Text(f"{step.index + 1:>2} ", style="dim")
        label.append(step.node)
        if step.leaf:
            label.append(f" → {step.leaf}", style="dim")
        if any(g is not None and g.non_finite for g in (*step.grad_outputs, *step.grad_inputs)):
            label.append(" !", style="bold magenta")
        return label

    def _render_current(self) -> None:
        if self.graph_mode:
            self._mark_graph()
        if self.hvp is not None:
            self.query_one("#step-detail", LineView).update(render_hvp_step(self.hvp, self.current))
            return
        if self.record is not None:
            self.query_one("#step-detail", LineView).update(
                render_record_step(self.record, self.current)
            )
            return
        result = self.result
        if result is None:
            return
        # Only the lines that differ from the step on screen are repainted.
        self.query_one("#step-detail", LineView).update(render_step(result, self.current))


def _tensor_line(
    label: str, tensor: TensorData | None, *, note: str = "", same_as: str = ""
) -> Text:
    """``label note  value  dtype[shape]``; the dtype is left out when it is ``same_as``."""
    line = Text(f"  {label}", style="bold")
    if note:
        line.append(f" {note}", style="dim")
    line.append("  ")
    line.append_text(format_tensor(tensor))
    if tensor is not None and describe(tensor) != same_as:
        line.append(f"  {describe(tensor)}", style="dim")
    return line


def _extras(result: GradResult) -> list[Text]:
    """The op's derived tensors and notes (``sgd_l1_step``: data gradient, L1 share, update)."""
    lines: list[Text] = []
    for name, tensor in result.extras.items():
        lines.append(_tensor_line(name, tensor))
    for note in result.notes:
        lines.append(Text(f"note: {note}", style="italic"))
    return lines


def render_step(result: GradResult, step: Step | None) -> Group:
    """The detail view for ``step`` of ``result`` (or why there is no graph).

    A pure function of its arguments, so tests and the demo can check what it says.
    """
    lines: list[Text] = []
    out = result.output
    # Tensors shaped like the output need no dtype[shape] of their own: it is on this line.
    ref = describe(out.tensor) if out is not None else ""
    head = Text("forward  ", style="bold")
    head.append(result.expression)
    if out is not None:
        head.append(" = ")
        head.append_text(format_tensor(out.tensor))
        head.append(f"  {describe(out.tensor)}", style="dim")
        head.append("  grad_fn=", style="dim")
        head.append(out.grad_fn or "None", style="bold" if out.grad_fn else "bold red")
    lines.append(head)
    if result.formula:
        formula = Text("formula  ", style="bold")
        formula.append(result.formula, style="italic")
        lines.append(formula)
    if step is None:
        lines.append(Text())
        lines.append(Text("No backward graph.", style="bold red"))
        if result.reason:
            lines.append(Text(result.reason))
        lines.extend(_extras(result))
        return Group(*lines)
    total = len(result.steps)
    lines.extend(_step_lines(step, total, ref))
    lines.append(Text(".grad after this step", style="underline"))
    reached = {s.leaf: s for s in result.steps[: step.index + 1] if s.leaf}
    leaves = [n for n, v in result.inputs.items() if v.requires_grad]
    if not leaves:
        lines.append(Text("  (no input requires grad)", style="dim"))
    for name in leaves:
        if name in reached:
            acc = reached[name]
            value = result.grads.get(name) if step.index == total - 1 else None
            if value is None and acc.grad_outputs:
                value = acc.grad_outputs[0]
            lines.append(_tensor_line(f"{name}.grad", value, same_as=ref))
        else:
            line = Text(f"  {name}.grad", style="bold")
            line.append("  None  (not reached yet)", style="dim")
            lines.append(line)
    extras = _extras(result)
    if extras:
        header = "the op also reports" if result.extras else "notes"
        lines.append(Text(header, style="underline"))
        lines.extend(extras)
    return Group(*lines)


def _step_lines(step: Step, total: int, ref: str) -> list[Text]:
    """A node's title, rule, gradient in, gradients out and saved tensors."""
    lines: list[Text] = []
    title = Text(step.node, style="bold reverse")
    title.append(f"  step {step.index + 1} of {total}", style="dim")
    lines.append(title)
    if step.rule:
        rule = Text("  rule  ", style="bold")
        rule.append(step.rule, style="italic")
        lines.append(rule)
    lines.append(Text("gradient in", style="underline"))
    if not step.grad_outputs:
        lines.append(Text("  (none)", style="dim"))
    for i, g in enumerate(step.grad_outputs):
        lines.append(_tensor_line(f"grad_output[{i}]", g, same_as=ref))
    if step.leaf is None:
        lines.append(Text("gradients out", style="underline"))
        if not step.grad_inputs:
            lines.append(Text("  (none)", style="dim"))
        for i, g in enumerate(step.grad_inputs):
            edge = step.next[i] if i < len(step.next) else None
            if edge is None or edge.node is None:
                where = "→ nothing (a constant)"
            elif edge.input:
                where = f"→ {edge.node} ({edge.input})"
            else:
                where = f"→ {edge.node}"
            lines.append(_tensor_line(f"[{i}]", g, note=where, same_as=ref))
    if step.saved:
        lines.append(Text("saved", style="underline"))
        for name, value in step.saved.items():
            if isinstance(value, TensorData):
                lines.append(_tensor_line(name, value, same_as=ref))
            else:
                from gradtui.ops.backward import saved_text  # torch is loaded: a result exists

                line = Text(f"  {name}", style="bold")
                line.append(f"  {saved_text(name, value)}")
                lines.append(line)
    return lines


def hvp_title(hvp: HvpResult) -> str:
    """The panel's title for the second backward: which backward it is, and which ``u``."""
    ones = all(all(x == 1 for x in _flat(u.value)) for u in hvp.vectors.values() if u is not None)
    return f"backward of backward: H·u, u = {'ones' if ones else 'as given'}"


def _flat(value: object) -> list[object]:
    if isinstance(value, list):
        return [x for item in value for x in _flat(item)]
    return [value]


def render_hvp_step(hvp: HvpResult, step: Step | None) -> Group:
    """The detail view for ``step`` of the second backward pass of ``hvp``.

    Heads it with what is computed (H·u as the backward of the gradient g, with upstream
    u) and H·u itself, then the step (so that it shows at 80x24 without scrolling), then
    u, g and the notes.
    """
    head = Text("backward of backward  ", style="bold")
    head.append("H·u = ∂(g·u)/∂x, g = ∂f/∂x (create_graph=True)", style="italic")
    lines: list[Text] = [head]
    for name, value in hvp.hvp.items():
        lines.append(_tensor_line(f"H·u[{name}]", value))
    if step is None:
        lines.append(Text("The second backward ran no node.", style="bold red"))
    else:
        lines.extend(_step_lines(step, len(hvp.steps), ""))
        if step.leaf is not None:
            lines.append(Text(f"  adds gradient in to H·u[{step.leaf}]", style="italic"))
    lines.append(Text(f"the second backward of {hvp.expression}", style="underline"))
    for name in hvp.inputs:
        lines.append(_tensor_line(f"u for {name}", hvp.vectors.get(name)))
    for name, g in hvp.gradient.items():
        lines.append(_tensor_line(f"g[{name}]", g))
    for note in hvp.notes:
        lines.append(Text(f"note: {note}", style="italic"))
    return Group(*lines)


def render_record_step(record: BackwardRecord, step: Step | None) -> Group:
    """The detail view for ``step`` of a snippet's backward pass ``record``.

    Like :func:`render_step`, without a forward line or inputs (a snippet has neither):
    the call and its line head it, and a leaf's node says which ``.grad`` it adds to.
    """
    head = Text(f"line {record.line}  ", style="bold")
    head.append(record.call)
    lines: list[Text] = [head]
    if step is None:
        lines.append(Text())
        lines.append(Text("No backward node ran.", style="bold red"))
        return Group(*lines)
    lines.extend(_step_lines(step, len(record.steps), ""))
    if step.leaf is not None:
        note = Text(f"  adds gradient in to {step.leaf}.grad", style="italic")
        lines.append(note)
    return Group(*lines)
