"""Plain results: what the engine hands to every front end.

Every result is a frozen dataclass of plain Python values (numbers, strings, nested
lists), so one result feeds a widget, a JSON dump and a test assertion alike.
Tensors appear as :class:`TensorData`: the value as nested lists (``float('nan')``
and ``float('inf')`` kept as floats), plus dtype and shape. Only :func:`to_jsonable`
turns non-finite numbers into the strings ``"nan"``, ``"inf"``, ``"-inf"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

Nested = Any  # a number, a bool, or a (nested) list of them


@dataclass(frozen=True)
class TensorData:
    """A tensor as plain data.

    Attributes:
        value: The numbers as nested lists (``nan``/``inf`` kept as floats).
        dtype: ``"float32"``, ``"int64"``, ``"bool"``, ...
        shape: The tensor's shape.
        has_nan, has_posinf, has_neginf: Whether it holds a ``nan``, a ``+inf``, a
            ``-inf``: facts about the tensor, measured by :func:`ops.tensors.to_data`
            from the tensor itself, so no front end scans the lists again.
    """

    value: Nested
    dtype: str
    shape: tuple[int, ...]
    has_nan: bool = False
    has_posinf: bool = False
    has_neginf: bool = False

    @property
    def non_finite(self) -> bool:
        """Whether it holds a ``nan`` or an infinity anywhere."""
        return self.has_nan or self.has_posinf or self.has_neginf


@dataclass(frozen=True)
class InputValue:
    """One input of a run: the text it came from and the tensor it became."""

    name: str
    text: str
    tensor: TensorData
    requires_grad: bool


@dataclass(frozen=True)
class OutputValue:
    """The forward result and the node that produced it (``None`` if it has no ``grad_fn``)."""

    tensor: TensorData
    grad_fn: str | None


@dataclass(frozen=True)
class Edge:
    """One entry of a node's ``next_functions``.

    Attributes:
        node: The name of the next node (``"AccumulateGrad"``), or ``None`` for a
            constant that needs no gradient.
        input: The run's input this edge leads to, when it is a leaf's ``AccumulateGrad``.
    """

    node: str | None
    input: str | None = None


@dataclass(frozen=True)
class Step:
    """One node executed by the autograd engine, in the engine's own order.

    Attributes:
        index: 0-based position in execution order.
        node: The node's class name (``"ExpBackward0"``, ``"AccumulateGrad"``).
        grad_outputs: Gradients flowing into the node (w.r.t. its forward outputs);
            ``None`` where the engine passed none.
        grad_inputs: Gradients the node sends on (w.r.t. its forward inputs), one per edge.
        saved: The node's ``_saved_*`` attributes, name without the prefix; tensors as
            :class:`TensorData`, other values plain.
        next: Where each outgoing gradient goes, aligned with ``grad_inputs``.
        leaf: For an ``AccumulateGrad`` node, the input whose ``.grad`` it fills.
        rule: A one-line description of the node's local derivative, if known.
    """

    index: int
    node: str
    grad_outputs: tuple[TensorData | None, ...]
    grad_inputs: tuple[TensorData | None, ...]
    saved: dict[str, Any] = field(default_factory=dict)
    next: tuple[Edge, ...] = ()
    leaf: str | None = None
    rule: str | None = None
    graph_id: str | None = None


@dataclass(frozen=True)
class GraphNode:
    """One node of the backward graph, as torch's ``next_functions`` link them.

    Attributes:
        id: ``"n0"``, ``"n1"``, ...: the root is ``n0``, the rest in depth-first
            discovery order from it (ids name nodes; they say nothing about run order).
        name: The node's class name (``"MulBackward0"``, ``"AccumulateGrad"``).
        next: The ids of its ``next_functions`` in torch's order; ``None`` where torch
            has ``None`` (an input that needs no gradient).
        leaf: For an ``AccumulateGrad`` node, the input whose ``.grad`` it fills.
    """

    id: str
    name: str
    next: tuple[str | None, ...]
    leaf: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One entry of ``nodes`` in ``gradtui graph --json`` (see README)."""
        return {"id": self.id, "name": self.name, "next": list(self.next), "leaf": self.leaf}


@dataclass(frozen=True)
class Kink:
    """A point where no derivative exists, as :func:`ops.kinks.classify` measured it.

    Attributes:
        x: Where.
        kind: ``"corner"`` (f continuous, finite one-sided slopes that differ),
            ``"cusp"`` (f continuous, a one-sided slope infinite) or ``"jump"`` (f itself
            discontinuous).
        df: The derivative PyTorch actually returns there; ``None`` when the output has
            no ``grad_fn`` (torch has no gradient at all).
        left: The slope from the left: finite for a corner, a signed infinity on a
            cusp's infinite side, ``None`` at a jump (a slope across a jump is an
            artefact of the step, not a number).
        right: The slope from the right, likewise.
        before: f's limit from the left.
        after: f's limit from the right (equal to ``before`` unless it is a jump).
        value: f at the point itself (a jump may take a third value: ``sign(0) = 0``).
        index: Which of the points handed to the detector this is (a tensor's element,
            for the grad report's notes).
        at: The point as the report names it (``"input[1] = 0"``); empty on a curve.
    """

    x: float
    kind: str
    df: float | None
    left: float | None
    right: float | None
    before: float
    after: float
    value: float
    index: int = 0
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        """One entry of ``kinks`` in ``gradtui plot --json`` (see README)."""
        return {
            "x": self.x,
            "kind": self.kind,
            "df": self.df,
            "left": self.left,
            "right": self.right,
            "before": self.before,
            "after": self.after,
            "f": self.value,
        }


@dataclass(frozen=True)
class GradResult:
    """The whole answer for one target and one set of inputs.

    Attributes:
        target: A catalog name (``"exp"``) or the expression text as typed.
        expression: A readable call, e.g. ``"exp(input)"``.
        inputs: Every input by name, in the op's order.
        output: The forward result, or ``None`` if the forward pass itself raised.
        differentiable: Whether a gradient reached at least one input.
        reason: Why not, when not differentiable; quotes torch's own error text where torch raised.
        grads: Each input's ``.grad`` after backward (``None`` if it got none).
        grad_output: The upstream gradient ``v`` that was fed to ``backward``.
        steps: The recorded backward nodes in execution order.
        formula: The symbolic derivative, when one can be given.
        notes: Extra plain-language facts (subgradient conventions, NaN from a branch not taken).
        kinks: For an elementwise op, the input elements where no derivative exists
            (corner, cusp or jump, as :func:`ops.kinks.classify` measured them), each
            with its ``at`` name; their sentences are among ``notes`` too.
        graph: The backward graph (root first); each step's ``graph_id`` names its node.
        extras: Named derived tensors an op wants shown (``sgd_l1_step``: the data
            gradient, the L1 term's share, the updated parameter).
    """

    target: str
    expression: str
    inputs: dict[str, InputValue]
    output: OutputValue | None
    differentiable: bool
    reason: str | None
    grads: dict[str, TensorData | None]
    grad_output: TensorData | None
    steps: tuple[Step, ...]
    formula: str | None = None
    notes: tuple[str, ...] = ()
    extras: dict[str, TensorData] = field(default_factory=dict)
    kinks: tuple[Kink, ...] = ()
    graph: tuple[GraphNode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui grad --json`` (see README)."""
        return to_jsonable(
            {
                "target": self.target,
                "expression": self.expression,
                "inputs": {
                    n: {
                        "value": i.tensor.value,
                        "dtype": i.tensor.dtype,
                        "shape": list(i.tensor.shape),
                        "requires_grad": i.requires_grad,
                    }
                    for n, i in self.inputs.items()
                },
                "output": None
                if self.output is None
                else {
                    "value": self.output.tensor.value,
                    "dtype": self.output.tensor.dtype,
                    "shape": list(self.output.tensor.shape),
                    "grad_fn": self.output.grad_fn,
                },
                "differentiable": self.differentiable,
                "reason": self.reason,
                "grads": {n: None if g is None else g.value for n, g in self.grads.items()},
                "grad_output": None if self.grad_output is None else self.grad_output.value,
                "steps": [step_json(s) for s in self.steps],
                "formula": self.formula,
                "notes": list(self.notes),
                "kinks": [{"at": k.at, **k.to_json()} for k in self.kinks],
                "extras": {k: v.value for k, v in self.extras.items()},
            }
        )


@dataclass(frozen=True)
class Curve:
    """f and f' sampled along one variable.

    For an elementwise op the variable is the whole input, and ``f``/``df`` are the
    op and its derivative. Otherwise one element of the input is set to t and the
    curve is L(t) = <v, f(inputs)>, with dL/dt.

    Attributes:
        target: As in :class:`GradResult`.
        var: The input varied (``"input"``), with the element index when not elementwise.
        x: Sample points.
        f, df: Values and autograd derivative at each point (``nan`` is a gap); ``df``
            is ``None`` when the output has no ``grad_fn`` (torch has no gradient).
        df_numeric: float64 central differences at each point.
        d2f: Second derivative, when asked for.
        kinks: Points where no derivative exists: corners, cusps and jumps.
        marks: The current input values of ``var`` (for marking on the plot).
        label: What is plotted, e.g. ``"exp(input)"`` or ``"L(t) = <v, f>"``.
        differentiable: f has a derivative at every point of the range: it has a
            ``grad_fn`` and no corner, cusp or jump was found.
        reason: Why (not), in one sentence.
        disagree: Indices into ``x`` where ``df_numeric`` disagrees with ``df`` (see
            :func:`ops.curves.disagreements`): what the numeric check flags.
    """

    target: str
    var: str
    x: list[float]
    f: list[float]
    df: list[float] | None
    df_numeric: list[float]
    d2f: list[float] | None
    kinks: tuple[Kink, ...]
    marks: tuple[float, ...] = ()
    label: str = ""
    differentiable: bool = True
    reason: str = ""
    disagree: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui plot --json`` (see README)."""
        out: dict[str, Any] = {
            "var": self.var,
            "differentiable": self.differentiable,
            "reason": self.reason,
            "x": self.x,
            "f": self.f,
            "df": self.df,
            "df_numeric": self.df_numeric,
            "disagree": list(self.disagree),
            "kinks": [k.to_json() for k in self.kinks],
        }
        if self.d2f is not None:
            out["d2f"] = self.d2f
        return to_jsonable(out)


def to_jsonable(obj: Any) -> Any:
    """Map non-finite floats to ``"nan"``/``"inf"``/``"-inf"``, tuples to lists, recursively."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, TensorData):
        return to_jsonable(obj.value)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    return obj


# --------------------------------------------------------------------------- snippets


@dataclass(frozen=True)
class SnippetError:
    """What a snippet's statement raised.

    Attributes:
        type: The exception's class name (``"RuntimeError"``), or ``"refused"`` where
            gradtui refused a value only known at run time.
        message: The exception's own message, as torch (or Python) wrote it.
        why: The same in plain words, from the values at that moment, where gradtui can
            say more than the message does; ``None`` otherwise.
    """

    type: str
    message: str
    why: str | None = None


@dataclass(frozen=True)
class Claim:
    """A trailing comment on a line whose statement prints: a claim about what it prints.

    Attributes:
        line: 1-based line of the comment.
        text: The comment, after ``#``, trimmed.
        holds: Whether the printed text equals it, whitespace runs collapsed and ends
            trimmed; ``None`` when the line never ran.
        why: One sentence: what was printed instead, or why the line printed nothing.
    """

    line: int
    text: str
    holds: bool | None
    why: str


@dataclass(frozen=True)
class SnippetStatement:
    """One statement of a snippet and what running it did.

    Attributes:
        line: Its first line (1-based). end_line: its last.
        source: Its text as pasted.
        status: ``"ran"``, ``"raised"`` or ``"not reached"``.
        printed: One entry per ``print`` call, without its final newline.
        error: What it raised, if it raised.
        claims: The claims on its lines.
        warnings: Warnings torch issued while it ran (``"UserWarning: ..."``).
        body: The statements inside a ``with`` block.
    """

    line: int
    end_line: int
    source: str
    status: str
    printed: tuple[str, ...] = ()
    error: SnippetError | None = None
    claims: tuple[Claim, ...] = ()
    warnings: tuple[str, ...] = ()
    body: tuple[SnippetStatement, ...] = ()


@dataclass(frozen=True)
class BackwardRecord:
    """One ``.backward()`` or ``torch.autograd.grad`` call, recorded node by node.

    Attributes:
        line: The line of the statement that called it.
        call: The call as pasted (``"z.sum().backward()"``).
        steps: The nodes the engine ran, in its order.
        graph: The graph the call ran through (root first); each step's ``graph_id``
            names its node. ``()`` where none was recorded.
    """

    line: int
    call: str
    steps: tuple[Step, ...]
    graph: tuple[GraphNode, ...] = ()


@dataclass(frozen=True)
class SnippetResult:
    """A whole snippet's run.

    Attributes:
        statements: Every top-level statement, those after the stop included.
        stopped_at: The line of the statement that raised, or ``None``.
        backwards: Every recorded backward pass, in the order they ran.
        refused: Where gradtui refused a value only known at run time (line, col,
            message), or ``None``; the run stopped there.
        output: Everything the snippet printed, as Python's stdout would hold it.
    """

    statements: tuple[SnippetStatement, ...]
    stopped_at: int | None
    backwards: tuple[BackwardRecord, ...]
    refused: tuple[int, int, str] | None = None
    output: str = ""

    def all_statements(self) -> list[SnippetStatement]:
        """Every statement, those inside ``with`` blocks after their block."""
        out: list[SnippetStatement] = []
        stack = list(reversed(self.statements))
        while stack:
            s = stack.pop()
            out.append(s)
            stack.extend(reversed(s.body))
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of ``gradtui snippet --json`` (see README)."""

        def statement(s: SnippetStatement) -> dict[str, Any]:
            out: dict[str, Any] = {
                "line": s.line,
                "source": s.source,
                "printed": list(s.printed),
                "error": None
                if s.error is None
                else {"type": s.error.type, "message": s.error.message, "why": s.error.why},
                "claims": [
                    {"text": c.text, "holds": c.holds, "line": c.line, "why": c.why}
                    for c in s.claims
                ],
                "status": s.status,
                "warnings": list(s.warnings),
            }
            if s.body:
                out["body"] = [statement(b) for b in s.body]
            return out

        return to_jsonable(
            {
                "statements": [statement(s) for s in self.statements],
                "stopped_at": self.stopped_at,
                "backwards": [
                    {"line": b.line, "call": b.call, "steps": [step_json(s) for s in b.steps]}
                    for b in self.backwards
                ],
                "refused": None
                if self.refused is None
                else {"line": self.refused[0], "col": self.refused[1], "message": self.refused[2]},
            }
        )


def step_json(s: Step) -> dict[str, Any]:
    """One step as ``gradtui grad --json`` writes it."""
    return {
        "index": s.index,
        "node": s.node,
        "grad_outputs": [None if g is None else g.value for g in s.grad_outputs],
        "grad_inputs": [None if g is None else g.value for g in s.grad_inputs],
        "saved": {k: v.value if isinstance(v, TensorData) else v for k, v in s.saved.items()},
        "next": [{"node": e.node, "input": e.input} for e in s.next],
        "leaf": s.leaf,
    }
