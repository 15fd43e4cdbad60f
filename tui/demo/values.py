"""What each caption placeholder says, read off the app on screen at the time.

Values are written as the panels write them (same digits, same eliding), and the parts a
plain-text report also says (the plot's title, the kinks, ``grad_fn``, yes/no) come from
:mod:`tui.report`, so a caption says what ``gradtui grad`` and ``gradtui plot`` print.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gradtui.ops.results import SnippetResult, TensorData
from gradtui.tui.app import GradApp
from gradtui.tui.format import format_number, format_tensor
from gradtui.tui.report import curve_title, grad_fn_name, kink_lines, visible, yes_no
from gradtui.tui.widgets.inputs import InputsPanel
from gradtui.tui.widgets.snippet_report import MARKS, claim_verdict, statement_mark
from gradtui.tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from gradtui.tui.screens.model import ModelScreen


def _fmt(tensor: TensorData | None) -> str:
    """A tensor as the panels write it (same digits, same eliding)."""
    return format_tensor(tensor).plain


def screen_values(app: GradApp) -> dict[str, str]:
    """Everything a caption placeholder can name, read from what the app shows now.

    Keys are the placeholder names of :mod:`tui.demo.captions` (``"grad_fn"``,
    ``"grad.input"``, ``"saved.result"``, ...); a value the screen does not have is
    simply absent, so filling a caption that names it fails loudly.
    """
    snippet = app.snippet_screen
    if snippet is not None and app.screen is snippet:
        return snippet_values(snippet.result, snippet.status_text)
    from gradtui.tui.screens.model import ModelScreen

    if isinstance(app.screen, ModelScreen):
        return model_values(app.screen)
    values: dict[str, str] = {"target": app.target}
    values["status"] = app.query_one(StatusLine).plain
    inputs = app.query_one(InputsPanel)
    for name in inputs.names:
        error = inputs.error_text(name)
        if error:
            values[f"error.{name}"] = error
    curve = app.curve
    if curve is not None and curve.target == app.target:
        values["plot"] = f"{curve_title(curve)} along {curve.var}"
        values["kinks"] = "; ".join(kink_lines(curve)) or "none"
    result = app.result
    if result is None:
        return values
    values["expression"] = result.expression
    values["differentiable"] = yes_no(result.differentiable)
    if result.output is not None:
        out = result.output
        values["output"] = _fmt(out.tensor)
        values["dtype"] = out.tensor.dtype
        values["shape"] = "[" + ", ".join(str(d) for d in out.tensor.shape) + "]"
        values["grad_fn"] = grad_fn_name(out)
    if result.reason:
        values["reason"] = result.reason
        quoted = re.findall(r'"([^"]+)"', result.reason)
        for k, said in enumerate(quoted, 1):
            values[f"quoted.{k}"] = said
        if quoted:
            values["quoted.last"] = quoted[-1]
    if result.grad_output is not None:
        values["v"] = _fmt(result.grad_output)
    if result.formula:
        values["formula"] = result.formula
    values["steps"] = str(len(result.steps))
    values["nodes"] = " → ".join(s.node for s in result.steps) or "(none)"
    for name, grad in result.grads.items():
        values[f"grad.{name}"] = _fmt(grad)
    for name, inp in result.inputs.items():
        values[f"input.{name}"] = _fmt(inp.tensor)
    for name, extra in result.extras.items():
        values[f"extra.{name}"] = _fmt(extra)
    for k, note in enumerate(result.notes, 1):
        values[f"note.{k}"] = note
    if result.notes:
        values["note"] = result.notes[0]
    index = app.step_index
    if 0 <= index < len(result.steps):
        step = result.steps[index]
        values["step"] = str(index + 1)
        values["node"] = step.node
        if step.rule:
            values["rule"] = step.rule
        if step.grad_outputs:
            values["grad_in"] = _fmt(step.grad_outputs[0])
        for k, grad in enumerate(step.grad_inputs):
            values[f"grad_out.{k}"] = _fmt(grad)
        from gradtui.ops.backward import saved_text  # torch is loaded: a result exists

        for name, saved in step.saved.items():
            values[f"saved.{name}"] = (
                _fmt(saved) if isinstance(saved, TensorData) else saved_text(name, saved)
            )
    return values


def snippet_values(result: SnippetResult | None, status: str) -> dict[str, str]:
    """What a caption can name on the snippet screen, read from the run on screen.

    Per line N of a statement: ``mark.N`` (as the report marks it), ``source.N``,
    ``printed.N`` and, where it has a claim, ``claim.N`` and ``verdict.N``; for the line
    that raised, ``raised``, ``message``, ``why`` and ``stopped_at``.
    """
    values = {"status": status}
    if result is None:
        return values
    values["passes"] = str(len(result.backwards))
    if result.stopped_at is not None:
        values["stopped_at"] = str(result.stopped_at)
    for s in result.all_statements():
        values[f"mark.{s.line}"] = MARKS[statement_mark(s)][0].split(" ", 1)[1]
        values[f"source.{s.line}"] = visible(s.source.splitlines()[0] if s.source else "")
        if s.printed and not s.body:
            values[f"printed.{s.line}"] = visible(" ".join(s.printed))
        for claim in s.claims if not s.body else ():
            values[f"claim.{claim.line}"] = visible(claim.text)
            values[f"verdict.{claim.line}"] = claim_verdict(claim)
        if s.error is not None and not s.body:
            values["raised"] = s.error.type
            values["message"] = visible(s.error.message)
            if s.error.why:
                values["why"] = s.error.why
    return values


def model_values(screen: ModelScreen) -> dict[str, str]:
    """What a caption can name on the model screen, read from the run on screen."""
    values = {"status": screen.status_text}
    run = screen.run
    if run is None:
        return values
    from gradtui.ops.model_diagnose import l1_outcome

    fmt = _number
    losses = screen.losses if screen.trained else [s.loss for s in run.steps]
    values["loss"] = fmt(losses[-1])
    values["loss_first"] = fmt(losses[0])
    values["trained"] = str(screen.trained)
    values["optimizer"] = run.optimizer
    values["spec"] = run.spec
    if run.diagnoses:
        values["run_diagnosis"] = run.diagnoses[0]
    kinds = l1_outcome(run.steps)  # the weights on screen, as run.diagnoses counts them
    zero, osc, away = (len(kinds[k]) for k in ("zero", "oscillating", "away"))
    values.update(
        zeros=str(zero),
        oscillating=str(osc),
        away=str(away),
        weights=str(zero + osc + away),
    )
    verdict = {
        (True, False): "went exactly to zero",
        (False, True): "oscillate around zero",
        (True, True): "partly went exactly to zero, partly oscillate around it",
        (False, False): "neither reached zero nor oscillate around it",
    }
    values["outcome"] = verdict[(zero > 0, osc > 0)]
    norms = run.steps[-1].layer_grad_norms
    for name, value in norms.items():
        values[f"norm.{name}"] = fmt(value)
    if norms:
        names = [layer.name for layer in run.layers if layer.name in norms]
        first, last = norms[names[0]], norms[names[-1]]
        values["norm_first"], values["norm_last"] = fmt(first), fmt(last)
        values["norm_ratio"] = fmt(last / first) if first else "inf"
    return values


def _number(x: float) -> str:
    return format_number(x).plain
