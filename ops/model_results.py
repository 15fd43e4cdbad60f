"""Model mode's plain results: one training step, and a whole run.

Like every result of gradtui these are frozen dataclasses of plain values (tensors as
:class:`ops.results.TensorData`), so one result feeds the model screen, ``gradtui model
--json`` and a test assertion alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradtui.ops.results import Step, TensorData, step_json, to_jsonable

HOOK_NODE = "BackwardHookFunctionBackward"
"""The node ``register_full_backward_hook`` adds at each module's edges (a plain script
without module hooks has none)."""


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the model.

    Attributes:
        name: Its name in ``model.named_modules()`` (``"0"``, ``"1"``, ...).
        kind: The module's class (``"Linear"``).
        text: The layer as typed in the spec.
        call: How a script constructs it (``nn.Linear(in_features=2, out_features=3)``).
        column: 0-based column of the layer in the spec.
        params: Its parameters' names in ``model.named_parameters()`` (``"0.weight"``).
    """

    name: str
    kind: str
    text: str
    call: str
    column: int
    params: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"0 Linear"``: how a screen names the layer."""
        return f"{self.name} {self.kind}"


@dataclass(frozen=True)
class ModuleGrad:
    """What one module's ``register_full_backward_hook`` received, in the order hooks fired.

    Attributes:
        module: The module's name (``"2"``).
        kind: Its class (``"Linear"``).
        grad_output: The gradients w.r.t. its outputs: what the layer receives.
        grad_input: The gradients w.r.t. its inputs: what it sends back (``None`` for an
            input that needs no gradient, such as the data).
    """

    module: str
    kind: str
    grad_output: tuple[TensorData | None, ...]
    grad_input: tuple[TensorData | None, ...]


@dataclass(frozen=True)
class ModelStep:
    """One ``zero_grad(); loss.backward(); step()`` of the optimizer, measured.

    Attributes:
        step: 1-based.
        loss: The loss ``backward()`` ran from (including the L1 term when there is one).
        data_loss: ``F.LOSS(model(data), target)`` alone.
        l1_term: ``l1 * sum(p.abs().sum() ...)``, or ``None`` without L1.
        grads: Every parameter's ``.grad`` after ``backward()``, by name.
        grad_norms: Each ``.grad``'s 2-norm, by name.
        params_before, params_after: Every parameter just before and after ``step()``.
        optimizer_state: ``optimizer.state[p]`` by parameter name, each entry by torch's
            key (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``step``, ...).
        outputs: Each layer's forward output, by module name (detail steps only).
        module_grads: Each module's backward hook, in firing order (detail steps only).
        backward: Every node the engine ran for ``loss.backward()`` (detail steps only).
        backward_modules: For each step of :attr:`backward`, the module whose forward made
            the node; ``None`` for the loss's nodes, the L1 term's and the hooks' own.
        layer_grad_norms: The loss's gradient 2-norm over each layer's parameters (the L1
            term left out), by module name.
        l1_grads: The L1 term's part of each gradient (``torch.autograd.grad`` of the
            term alone), by name; empty without L1 or on a lean step.
        l1_share: Per parameter, ``sum|L1 part| / (sum|loss part| + sum|L1 part|)``.
        diagnoses: Plain sentences on what this step measured (dead ReLU units, shrinking
            or growing gradient norms, the L1 term's share).
        warnings: What torch warned during the step (broadcasting in a loss, ...).
        detail: Whether the per-node record was taken (a lean training step skips it).
    """

    step: int
    loss: float
    data_loss: float
    l1_term: float | None
    grads: dict[str, TensorData]
    grad_norms: dict[str, float]
    params_before: dict[str, TensorData]
    params_after: dict[str, TensorData]
    optimizer_state: dict[str, dict[str, Any]]
    outputs: dict[str, TensorData] = field(default_factory=dict)
    module_grads: tuple[ModuleGrad, ...] = ()
    backward: tuple[Step, ...] = ()
    backward_modules: tuple[str | None, ...] = ()
    layer_grad_norms: dict[str, float] = field(default_factory=dict)
    l1_grads: dict[str, TensorData] = field(default_factory=dict)
    l1_share: dict[str, float] = field(default_factory=dict)
    diagnoses: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    detail: bool = True

    def to_json(self) -> dict[str, Any]:
        """One entry of ``steps`` in ``gradtui model --json``."""
        state = {
            name: {k: v.value if isinstance(v, TensorData) else v for k, v in entries.items()}
            for name, entries in self.optimizer_state.items()
        }
        return to_jsonable(
            {
                "step": self.step,
                "loss": self.loss,
                "grads": {k: v.value for k, v in self.grads.items()},
                "params_after": {k: v.value for k, v in self.params_after.items()},
                "grad_norms": dict(self.grad_norms),
                "backward": [step_json(s) for s in self.backward],
                "optimizer_state": state,
                "data_loss": self.data_loss,
                "l1_term": self.l1_term,
                "params_before": {k: v.value for k, v in self.params_before.items()},
                "outputs": {k: v.value for k, v in self.outputs.items()},
                "module_grads": [
                    {
                        "module": m.module,
                        "kind": m.kind,
                        "grad_output": [None if g is None else g.value for g in m.grad_output],
                        "grad_input": [None if g is None else g.value for g in m.grad_input],
                    }
                    for m in self.module_grads
                ],
                "backward_modules": list(self.backward_modules),
                "layer_grad_norms": dict(self.layer_grad_norms),
                "l1_grads": {k: v.value for k, v in self.l1_grads.items()},
                "l1_share": dict(self.l1_share),
                "diagnoses": list(self.diagnoses),
                "warnings": list(self.warnings),
            }
        )


@dataclass(frozen=True)
class ModelRun:
    """A model built from text and trained for some steps, every step measured.

    Attributes:
        spec, loss, optimizer: As parsed (``optimizer`` in torch's spelling, ``SGD(lr=0.1)``).
        l1, seed, dtype: As given.
        layers: The model's layers.
        params: Every parameter's name, in ``named_parameters()`` order.
        data, target: The tensors trained on.
        script: A plain torch script that computes the same numbers.
        steps: Every step, in order.
        diagnoses: What the whole run measured (weights the L1 pull took exactly to zero,
            or that oscillate around it).
    """

    spec: str
    loss: str
    optimizer: str
    l1: float
    seed: int
    dtype: str
    layers: tuple[LayerInfo, ...]
    params: tuple[str, ...]
    data: TensorData
    target: TensorData
    script: str
    steps: tuple[ModelStep, ...]
    diagnoses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``gradtui model --json``: the issue's contract, then documented extras."""
        return to_jsonable(
            {
                "params": list(self.params),
                "steps": [s.to_json() for s in self.steps],
                "spec": self.spec,
                "layers": [
                    {
                        "name": layer.name,
                        "kind": layer.kind,
                        "text": layer.text,
                        "call": layer.call,
                        "params": list(layer.params),
                    }
                    for layer in self.layers
                ],
                "loss_name": self.loss,
                "optimizer": self.optimizer,
                "l1": self.l1,
                "seed": self.seed,
                "dtype": self.dtype,
                "data": self.data.value,
                "target": self.target.value,
                "script": self.script,
                "diagnoses": list(self.diagnoses),
            }
        )
