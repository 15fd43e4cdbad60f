"""The snippet screen's keys, apart from the screen so that help can list them without
importing the editor (and tree-sitter with it)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

SNIPPET_KEYS: list[BindingType] = [
    Binding(
        "ctrl+r",
        "run",
        "Run",
        tooltip="Run the snippet with the real torch (a newer run replaces one in flight).",
        id="gradtui.snippet.run",
    ),
    Binding(
        "f5",
        "run",
        "Run",
        show=False,
        tooltip="Run the snippet with the real torch (a newer run replaces one in flight).",
        id="gradtui.snippet.run_f5",
    ),
    Binding(
        "escape",
        "cancel_or_back",
        "Back",
        tooltip="Cancel a running snippet; otherwise back to the explorer "
        "(in the editor, Esc first leaves the editor).",
        id="gradtui.snippet.back",
    ),
    Binding(
        "ctrl+t",
        "toggle_pane",
        "Report/Backward",
        tooltip="Show the report or the backward steps (when both do not fit).",
        id="gradtui.snippet.toggle_pane",
    ),
    Binding(
        "ctrl+o",
        "next_pass",
        "Next pass",
        tooltip="Show the next recorded backward pass (a snippet may run several).",
        id="gradtui.snippet.next_pass",
    ),
    Binding(
        "n",
        "step(1)",
        "Next",
        show=False,
        tooltip="Next backward step (outside the editor).",
        id="gradtui.snippet.next_step",
    ),
    Binding(
        "p",
        "step(-1)",
        "Prev",
        show=False,
        tooltip="Previous backward step (outside the editor).",
        id="gradtui.snippet.prev_step",
    ),
    Binding(
        "g",
        "toggle_graph",
        "Graph",
        show=False,
        tooltip="Show the pass's steps as the drawn graph (the DAG torch built) or as the "
        "list (outside the editor).",
        id="gradtui.snippet.toggle_graph",
    ),
]
"""The snippet screen's bindings; the help screen lists them from here."""
