"""The backward view: what each module received and sent back, then node by node.

Module by module it reads :attr:`ops.model_results.ModelStep.module_grads` (what
``register_full_backward_hook`` gave each module, in the order the hooks fired): the
gradient w.r.t. the module's output (what it receives) and w.r.t. its input (what it
sends back). Before the first module come the nodes of the loss (and of the L1 term).
On request (``d``) it goes node by node through the current module, reading
:attr:`~ops.model_results.ModelStep.backward` and ``backward_modules``: every node the
engine ran, with its gradients. ``BackwardHookFunctionBackward`` nodes are said to be what
they are: added by the module hooks gradtui registers; a plain script has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from gradtui.ops.model_results import HOOK_NODE, ModelStep, ModuleGrad
from gradtui.ops.results import Step
from gradtui.tui.format import describe, format_tensor
from gradtui.tui.workarounds import PagedOptionList

HOOK_NOTE = (
    "added by the module hooks gradtui registers (register_full_backward_hook) to read what "
    "each module receives and sends; a plain script has none"
)
LOSS = "loss"
"""The entry for the nodes of the loss (and the L1 term): they belong to no module."""


@dataclass(frozen=True)
class Entry:
    """One stop of the module-by-module walk: the loss's nodes, or one module's hook."""

    key: str
    """``"loss"`` or the module's name."""
    label: str
    grad: ModuleGrad | None
    nodes: tuple[int, ...]
    """Indexes into the step's backward nodes that belong here."""


def entries(step: ModelStep) -> list[Entry]:
    """The walk: the loss's nodes first, then each module in the order its hook fired.

    A module's nodes are its own (those its forward made) after the run of gradtui's hook
    nodes just before them (at the module's edges)."""
    owners = step.backward_modules
    loss_nodes = tuple(i for i, m in enumerate(owners) if m is None)
    out = [
        Entry(LOSS, "loss (and L1 term)" if step.l1_term is not None else "loss", None, loss_nodes)
    ]
    for grad in step.module_grads:
        own = [i for i, m in enumerate(owners) if m == grad.module]
        first = own[0] if own else 0
        while own and first > 0 and owners[first - 1] == "hook":
            first -= 1  # the hook nodes at the module's edge, just before its own nodes
        nodes = tuple(range(first, own[0])) + tuple(own) if own else ()
        out.append(Entry(grad.module, f"{grad.module} {grad.kind}", grad, nodes))
    return out


def _tensor(label: str, tensor: object) -> Text:
    line = Text(f"  {label}  ", style="bold")
    if tensor is None:
        line.append("None", style="dim italic")
        line.append(
            "  (no gradient: an input that needs none, the data or the target)", style="dim"
        )
        return line
    line.append_text(format_tensor(tensor))  # type: ignore[arg-type]
    line.append(f"  {describe(tensor)}", style="dim")  # type: ignore[arg-type]
    return line


def render_entry(step: ModelStep, entry: Entry) -> Group:
    """What the module receives and sends back (or the loss's nodes)."""
    lines: list[Text] = []
    if entry.grad is None:
        lines.append(Text(entry.label, style="bold reverse"))
        names = " → ".join(step.backward[i].node for i in entry.nodes) or "(none)"
        lines.append(Text(f"  nodes: {names}", style="dim"))
        lines.append(Text("  the engine starts here, from d loss / d loss = 1", style="dim"))
        return Group(*lines)
    grad = entry.grad
    lines.append(Text(entry.label, style="bold reverse"))
    lines.append(Text("receives (grad_output: d loss / d its output)", style="underline"))
    for k, g in enumerate(grad.grad_output):
        lines.append(_tensor(f"[{k}]", g))
    lines.append(Text("sends back (grad_input: d loss / d its input)", style="underline"))
    for k, g in enumerate(grad.grad_input):
        lines.append(_tensor(f"[{k}]", g))
    names = " → ".join(step.backward[i].node for i in entry.nodes) or "(none)"
    lines.append(Text(f"its nodes: {names}  (d: node by node)", style="dim"))
    return Group(*lines)


def render_node(step: ModelStep, index: int) -> Group:
    """One backward node: whose it is, the gradient in, the gradients out and where."""
    node: Step = step.backward[index]
    owner = step.backward_modules[index] if index < len(step.backward_modules) else None
    title = Text(node.node, style="bold reverse")
    title.append(f"  node {index + 1} of {len(step.backward)}", style="dim")
    lines = [title]
    if node.node == HOOK_NODE or owner == "hook":
        lines.append(Text(f"  {HOOK_NOTE}", style="italic"))
    elif owner is None:
        lines.append(Text("  of the loss (or the L1 term)", style="dim"))
    else:
        lines.append(Text(f"  of module {owner}", style="dim"))
    if node.rule:
        lines.append(Text(f"  rule  {node.rule}", style="italic"))
    lines.append(Text("gradient in", style="underline"))
    for k, g in enumerate(node.grad_outputs):
        lines.append(_tensor(f"grad_output[{k}]", g))
    if node.leaf is not None:
        lines.append(Text(f"  adds this to {node.leaf}.grad", style="italic"))
    else:
        lines.append(Text("gradients out", style="underline"))
        for k, g in enumerate(node.grad_inputs):
            edge = node.next[k] if k < len(node.next) else None
            where = "→ nothing" if edge is None or edge.node is None else f"→ {edge.node}"
            line = _tensor(f"[{k}] {where}", g)
            lines.append(line)
    return Group(*lines)


class ModuleView(Vertical):
    """The walk's list above, the current entry's (or node's) gradients below."""

    DEFAULT_CSS = """
    ModuleView { height: 1fr; }
    ModuleView > #module-list { height: auto; max-height: 8; border: none; padding: 0;
        border-bottom: solid $accent 40%; }
    ModuleView > #module-scroll { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.step: ModelStep | None = None
        self.walk: list[Entry] = []
        self.nodes_mode = False
        """Whether the list shows the current module's nodes (``d``) instead of modules."""
        self.index = 0
        """The current module (or, in node mode, the position among its nodes)."""
        self.module_index = 0
        """The module the node walk is inside."""

    def compose(self) -> ComposeResult:
        """The list and the detail."""
        yield PagedOptionList(id="module-list")
        with VerticalScroll(id="module-scroll"):
            yield Static(Text("no model yet", style="dim"), id="module-detail")

    @property
    def current(self) -> Entry | None:
        """The module entry on screen."""
        return self.walk[self.module_index] if 0 <= self.module_index < len(self.walk) else None

    @property
    def node_indexes(self) -> tuple[int, ...]:
        """The backward nodes the node walk goes through (the current module's)."""
        entry = self.current
        return entry.nodes if entry else ()

    @property
    def current_node(self) -> int | None:
        """The backward node on screen in node mode (index into ``step.backward``)."""
        nodes = self.node_indexes
        return nodes[self.index] if self.nodes_mode and 0 <= self.index < len(nodes) else None

    def show_step(self, step: ModelStep | None, message: str = "") -> None:
        """Show ``step``'s backward pass (or ``message`` when it has no record)."""
        self.step = step
        self.walk = entries(step) if step is not None and step.detail else []
        self.nodes_mode = False
        self.module_index = min(self.module_index, max(len(self.walk) - 1, 0))
        self.index = self.module_index
        if not self.walk:
            self.query_one(PagedOptionList).clear_options()
            self.query_one("#module-detail", Static).update(
                Text(message or "no backward pass recorded", style="dim")
            )
            return
        self._fill()

    def toggle_nodes(self) -> bool:
        """Go node by node through the current module, or back to modules; returns the mode."""
        if not self.walk:
            return False
        if self.nodes_mode:
            self.nodes_mode = False
            self.index = self.module_index
        else:
            self.module_index = self.index
            self.nodes_mode = bool(self.node_indexes)
            self.index = 0
        self._fill()
        return self.nodes_mode

    def move(self, delta: int) -> bool:
        """Next/previous module (or node); returns whether the position changed."""
        size = len(self.node_indexes) if self.nodes_mode else len(self.walk)
        new = max(0, min(size - 1, self.index + delta))
        if not size or new == self.index:
            return False
        self.index = new
        if not self.nodes_mode:
            self.module_index = new
        self.query_one(PagedOptionList).highlighted = new
        self._render_detail()
        return True

    def _fill(self) -> None:
        assert self.step is not None
        options = self.query_one(PagedOptionList)
        if self.nodes_mode:
            prompts = []
            for i in self.node_indexes:
                node = self.step.backward[i]
                text = Text(f"{i + 1:>3} {node.node}")
                if node.node == HOOK_NODE:
                    text.append(" (gradtui's hook)", style="dim")
                if node.leaf:
                    text.append(f" → {node.leaf}", style="dim")
                prompts.append(Option(text))
        else:
            prompts = [Option(Text(e.label)) for e in self.walk]
        options.set_options(prompts)
        options.highlighted = self.index
        self._render_detail()

    def _render_detail(self) -> None:
        assert self.step is not None
        detail = self.query_one("#module-detail", Static)
        node = self.current_node
        if node is not None:
            detail.update(render_node(self.step, node))
        elif self.current is not None:
            detail.update(render_entry(self.step, self.current))

    @on(OptionList.OptionHighlighted, "#module-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index != self.index and self.walk:
            self.move(event.option_index - self.index)

    @on(OptionList.OptionSelected, "#module-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.toggle_nodes()
