"""Caption templates: the placeholder vocabulary, checking a template and filling it.

Captions state facts about the screen, so numbers and torch's words in them are never
typed by hand: a caption is a template whose ``{placeholders}`` (``{grad_fn}``,
``{grad.input}``, ``{quoted.last}``, ...) are filled from the engine's result on screen
when the caption is shown. This module owns the names a template may use
(:data:`PLAIN_FIELDS`, :data:`KEYED_FIELDS`), the check made when a script loads
(:func:`placeholders`) and the filling (:func:`fill`); the values come from
:func:`tui.demo.values.screen_values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLAIN_FIELDS = {
    "target": "the op name or expression on screen",
    "expression": "the call, e.g. exp(input)",
    "output": "the forward output's value",
    "dtype": "the output's dtype",
    "shape": "the output's shape",
    "grad_fn": "the output's grad_fn (None when it has none)",
    "differentiable": "yes or no",
    "reason": "why not differentiable, in the engine's words (quoting torch)",
    "v": "the upstream gradient fed to backward",
    "formula": "the symbolic derivative",
    "steps": "how many backward nodes torch ran",
    "nodes": "the backward nodes in the engine's order, joined by →",
    "step": "the current step's number (1-based)",
    "node": "the current step's node",
    "rule": "the current node's rule",
    "grad_in": "the gradient flowing into the current node",
    "status": "the status line's text",
    "kinks": "the kinks the plot found, with the derivative torch returns there",
    "plot": "what the plot shows, e.g. exp(input) along input",
    "note": "the engine's first note",
    "stopped_at": "snippet: the line whose statement raised",
    "raised": "snippet: the exception type of the line that raised",
    "message": "snippet: torch's own message on the line that raised",
    "why": "snippet: the same in plain words",
    "passes": "snippet: how many backward passes ran",
    "loss": "model: the loss of the last step trained (or built)",
    "loss_first": "model: the loss of the first step",
    "trained": "model: how many steps the scene trained",
    "optimizer": "model: the optimizer, as torch spells it",
    "spec": "model: the layer spec",
    "run_diagnosis": "model: the run's diagnosis (with L1: where the weights ended)",
    "zeros": "model: how many weights are exactly 0.0 after the run",
    "oscillating": "model: how many weights' signs flipped at least twice lately",
    "away": "model: how many weights stay on one side of 0",
    "weights": "model: how many weights there are",
    "outcome": "model: whether the weights went exactly to zero or oscillate around it",
    "norm_first": "model: the gradient norm of the first layer with parameters",
    "norm_last": "model: the gradient norm of the last layer with parameters",
    "norm_ratio": "model: norm_last / norm_first",
}
"""Placeholders without a key, and what each is filled with."""
KEYED_FIELDS = {
    "quoted": "torch's words quoted in the reason: 1, 2, ... or last",
    "grad": "an input's .grad after backward, e.g. {grad.input}",
    "input": "an input's value, e.g. {input.x}",
    "extra": "a derived tensor of the op, e.g. {extra.l1_grad}",
    "note": "the engine's Nth note (1-based)",
    "saved": "a tensor the current node saved, e.g. {saved.result}",
    "grad_out": "the Nth gradient the current node sends on (0-based, as on screen)",
    "error": "the error shown under a field, e.g. {error.input}",
    "mark": "snippet: what line N did: ran, RAISED or not reached",
    "source": "snippet: the code on line N",
    "printed": "snippet: what line N printed",
    "claim": "snippet: the claim (trailing comment) on line N",
    "verdict": "snippet: the claim on line N: holds, FAILS or not checked",
    "norm": "model: layer N's gradient norm on the step shown, e.g. {norm.0}",
}
"""Placeholders that take a key (``{grad.input}``), and what each is filled with."""

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^(before\.)?([a-z_]+)(?:\.([A-Za-z0-9_]+))?$")


class CaptionError(Exception):
    """A caption placeholder with no value on the screen at the time it is shown."""


def placeholders(template: str) -> list[str]:
    """The placeholder names in ``template`` (``"grad.input"``, ``"before.output"``).

    Raises:
        ValueError: A stray ``{`` or ``}``, or an unknown placeholder.
    """
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise ValueError(f"stray {token!r} in caption (write {token * 2} for a literal one)")
        name = match.group(1).strip()
        parsed = _NAME.match(name)
        if parsed is None:
            raise ValueError(f"bad placeholder {{{name}}}")
        _, root, key = parsed.groups()
        if key is None and root not in PLAIN_FIELDS:
            hint = f"; write {{{root}.NAME}}" if root in KEYED_FIELDS else ""
            raise ValueError(f"unknown placeholder {{{name}}}{hint}; known: {_known()}")
        if key is not None and root not in KEYED_FIELDS:
            raise ValueError(f"unknown placeholder {{{name}}}; known: {_known()}")
        names.append(name)
    return names


def _known() -> str:
    plain = [f"{{{k}}}" for k in PLAIN_FIELDS]
    keyed = [f"{{{k}.KEY}}" for k in KEYED_FIELDS]
    return ", ".join(plain + keyed) + " (each also as {before.…})"


def fill(template: str, values: Mapping[str, str], before: Mapping[str, str]) -> str:
    """Fill ``template`` from ``values`` (and ``before.X`` from ``before``).

    Raises:
        CaptionError: A placeholder whose value is not on the screen (e.g. ``{grad.x}``
            when there is no input ``x``).
    """

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        source, key = (
            (before, name[len("before.") :]) if name.startswith("before.") else (values, name)
        )
        if key not in source:
            where = "at the previous caption" if source is before else "on screen"
            raise CaptionError(f"caption placeholder {{{name}}} has no value {where}")
        return source[key]

    return _PLACEHOLDER.sub(one, template)
