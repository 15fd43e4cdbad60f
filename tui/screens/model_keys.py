"""The model screen's keys, apart from the screen so that help can list them without
building the screen."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MODEL_KEYS: list[BindingType] = [
    Binding(
        "ctrl+r",
        "build",
        "Build",
        tooltip="Build the model from the fields and take one step, recorded in detail "
        "(Enter in a field does the same).",
        id="gradtui.model.build",
    ),
    Binding(
        "f5",
        "build",
        "Build",
        show=False,
        tooltip="Build (as ctrl+r).",
        id="gradtui.model.build_f5",
    ),
    Binding(
        "t",
        "train",
        "Train",
        tooltip="Train a fresh model from the fields for `steps` steps (lean steps), with a "
        "live loss curve and gradient-norm bars; then one more step in detail.",
        id="gradtui.model.train",
    ),
    Binding(
        "space",
        "pause",
        "Pause",
        tooltip="Pause or resume training.",
        id="gradtui.model.pause",
    ),
    Binding(
        "escape",
        "cancel_or_back",
        "Back",
        tooltip="Leave a field; otherwise stop training (or a build); otherwise back to the explorer.",
        id="gradtui.model.back",
    ),
    Binding(
        "1",
        "view('forward')",
        "Forward",
        tooltip="Each layer's output.",
        id="gradtui.model.forward",
    ),
    Binding(
        "2",
        "view('backward')",
        "Backward",
        tooltip="What each module receives and sends back (n/p), node by node on d.",
        id="gradtui.model.backward",
    ),
    Binding(
        "3",
        "view('update')",
        "Update",
        tooltip="Each parameter before and after optimizer.step(), its gradient and the "
        "optimizer's state.",
        id="gradtui.model.update",
    ),
    Binding(
        "4",
        "view('train')",
        "Train view",
        tooltip="The loss curve, the per-layer gradient norms and the run's diagnoses.",
        id="gradtui.model.train_view",
    ),
    Binding(
        "n",
        "step(1)",
        "Next",
        tooltip="Next module (or node) of the backward pass.",
        id="gradtui.model.next",
    ),
    Binding("p", "step(-1)", "Prev", tooltip="Previous module (or node).", id="gradtui.model.prev"),
    Binding(
        "d",
        "nodes",
        "Nodes",
        tooltip="Backward: go node by node through the current module (again: back to modules).",
        id="gradtui.model.nodes",
    ),
]
"""The model screen's bindings; the help screen lists them from here."""
