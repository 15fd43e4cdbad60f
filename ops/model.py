"""Model mode: a tiny ``nn.Sequential`` trained step by step, every number measured.

The model is built and trained exactly as a person's own script would do it, so anyone can
reproduce gradtui's numbers (:attr:`ModelRun.script` prints that script)::

    torch.manual_seed(seed)
    model = torch.nn.Sequential(*layers)   # layers constructed left to right
    model = model.to(dtype)                # only for float64
    opt = torch.optim.NAME(model.parameters(), **kwargs)
    for each step:
        opt.zero_grad()
        loss = F.LOSS(model(data), target)
        if l1: loss = loss + l1 * sum(p.abs().sum() for p in model.parameters())
        loss.backward()
        opt.step()

What a step records beyond that script is read off the same objects: forward hooks give
each layer's output, ``register_full_backward_hook`` gives what each module receives and
sends back, the recorder of :mod:`ops.backward` gives every node the engine ran, and
``opt.state`` gives the optimizer's buffers. The L1 term's part of each gradient is
measured with ``torch.autograd.grad`` of the term alone, before ``backward()`` (it leaves
``.grad`` untouched). The global random generator is left as it was: the run keeps its own
generator state (dropout draws from it, as in the script) inside ``fork_rng``.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gradtui.ops import timebound
from gradtui.ops.backward import graph_nodes, record_call
from gradtui.ops.errors import InputError
from gradtui.ops.evaluator import TORCH_ERRORS, first_line
from gradtui.ops.language import MAX_ELEMENTS, tensor_from_text
from gradtui.ops.model_diagnose import run_diagnoses, step_diagnoses
from gradtui.ops.model_results import HOOK_NODE, LayerInfo, ModelRun, ModelStep, ModuleGrad
from gradtui.ops.model_spec import (
    CLASS_INDEX_LOSSES,
    DEFAULT_LOSS,
    DEFAULT_OPTIMIZER,
    LayerSpec,
    losses,
    parse_layers,
    parse_loss,
    parse_optimizer,
)
from gradtui.ops.results import TensorData
from gradtui.ops.tensors import to_data

MAX_STEPS = 10_000
"""Most steps one run takes."""
MAX_RECORDED = 10_000_000
"""Most numbers the steps a run keeps may hold together (each a Python float in nested
lists, about 32 bytes): a big model over many steps is refused, not allowed to eat memory."""

_OWN_HOOK_WARNING = "Full backward hook is firing"
"""torch warns this because of the module hooks gradtui adds; a plain script never sees it."""

_lock = threading.Lock()  # fork_rng and the generator state are process-wide


@dataclass(frozen=True)
class ModelConfig:
    """What the person typed: the model, the data, and how to train it."""

    spec: str
    data: str
    target: str
    loss: str = DEFAULT_LOSS
    optimizer: str = DEFAULT_OPTIMIZER
    l1: float = 0.0
    seed: int = 0
    dtype: str = "float32"


def _dtype(name: str) -> torch.dtype:
    if name == "float32":
        return torch.float32
    if name == "float64":
        return torch.float64
    raise InputError(f"dtype must be float32 or float64, not {name[:20]!r}", field="dtype")


def _refusal(exc: BaseException, field: str, position: int | None = None) -> InputError:
    return InputError(f"torch refused it: {first_line(exc)}", field=field, position=position)


class Trainer:
    """One model, its optimizer and its data, stepped on request.

    Raises (from the constructor):
        InputError: A bad spec, loss, optimizer, data or target text; a layer torch
            refuses to build; shapes that do not fit (named by the layer, with its column
            in the spec); an output over the language's element bound.
    """

    def __init__(self, config: ModelConfig, *, keep: int | None = None):
        """Args:
        keep: Keep every number of the last ``keep`` steps only; older steps keep their
            loss and norms (a long training run in the app). ``None``: keep everything
            (the CLI's JSON has every step).
        """
        self.config = config
        self.keep = keep
        self.recorded = 0
        self.dtype = _dtype(config.dtype)
        self.layer_specs = parse_layers(config.spec)
        self.loss_name = parse_loss(config.loss)
        self.loss_fn: Callable[..., torch.Tensor] = losses()[self.loss_name]
        self.optimizer_spec = parse_optimizer(config.optimizer)
        if not (isinstance(config.l1, (int, float)) and 0 <= config.l1 < 1e6):
            raise InputError("l1 must be a number from 0 to 1e6", field="l1")
        if not (isinstance(config.seed, int) and 0 <= config.seed < 2**63):
            raise InputError("seed must be a whole number from 0 to 2**63-1", field="seed")
        self.data = self._tensor(config.data, "data", integer_ok=False)
        self.target = self._tensor(
            config.target, "target", integer_ok=self.loss_name in CLASS_INDEX_LOSSES
        )
        with _lock, torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            modules = [self._build(layer) for layer in self.layer_specs]
            self.model = nn.Sequential(*modules)
            if self.dtype != torch.float32:
                self.model = self.model.to(self.dtype)
            self._rng = torch.get_rng_state()
            self._check_shapes()
        try:
            self.optimizer = self.optimizer_spec.build(self.model.parameters())
        except (ValueError, TypeError, RuntimeError) as exc:
            raise _refusal(exc, "optimizer") from None
        self.names = tuple(name for name, _ in self.model.named_parameters())
        self.layers = tuple(
            LayerInfo(
                name=str(i),
                kind=spec.kind,
                text=spec.text,
                call=spec.call_text(),
                column=spec.column,
                params=tuple(f"{i}.{n}" for n, _ in module.named_parameters()),
            )
            for i, (spec, module) in enumerate(zip(self.layer_specs, self.model, strict=True))
        )
        self.steps: list[ModelStep] = []

    # -- building

    def _tensor(self, text: str, field: str, *, integer_ok: bool) -> torch.Tensor:
        t = tensor_from_text(text, field=field, dtype=self.dtype)
        if t.is_complex():
            raise InputError(f"{field} must be real, not complex", field=field, position=0)
        if t.dtype != self.dtype and not (integer_ok and not t.is_floating_point()):
            t = t.to(self.dtype)
        return t

    def _build(self, layer: LayerSpec) -> nn.Module:
        try:
            return layer.build()
        except (ValueError, TypeError, RuntimeError) as exc:
            raise _refusal(exc, "spec", layer.column) from None

    def _check_shapes(self) -> None:
        """Run a copy of the model once, layer by layer, on the CPU without grad: a layer
        whose input does not fit is named with its column and torch's own message, and
        no layer may output more than the language's element bound (a ``Linear``'s output
        size is checked before it runs; every other layer keeps its input's size). The
        copy leaves BatchNorm's running statistics alone, and the caller's ``fork_rng``
        gives the first step the generator state this run started from. (The meta
        device would need no numbers, but its first forward imports torch._dynamo:
        seconds.)"""
        shadow = copy.deepcopy(self.model)
        x = self.data
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for spec, module in zip(self.layer_specs, shadow, strict=True):
                size = x.numel()
                if spec.kind == "Linear" and x.dim() > 0 and x.shape[-1] > 0:
                    size = x.numel() // x.shape[-1] * spec.args["out_features"]
                if size > MAX_ELEMENTS:
                    raise InputError(
                        f"{spec.text} would output {size:,} numbers (at most {MAX_ELEMENTS:,})",
                        field="spec",
                        position=spec.column,
                    )
                try:
                    x = module(x)
                except TORCH_ERRORS as exc:
                    shape = "x".join(map(str, x.shape)) or "scalar"
                    raise InputError(
                        f"{spec.text} does not fit its input of shape {shape}: {first_line(exc)}",
                        field="spec",
                        position=spec.column,
                    ) from None
            try:
                self.loss_fn(x, self.target)
            except TORCH_ERRORS as exc:
                shape = "x".join(map(str, x.shape)) or "scalar"
                raise InputError(
                    f"{self.loss_name} refused the model's output (shape {shape}) and the "
                    f"target: {first_line(exc)}",
                    field="target",
                    position=0,
                ) from None

    # -- stepping

    def step(self, *, detail: bool = True) -> ModelStep:
        """One ``zero_grad(); loss.backward(); step()``, recorded.

        Args:
            detail: Record each layer's output, the module hooks and every backward node
                too (a lean step records the loss, gradients, parameters and state only).

        Raises:
            InputError: torch refused the step (a loss over targets out of range, ...).
        """
        if len(self.steps) >= MAX_STEPS:
            raise InputError(f"a run takes at most {MAX_STEPS:,} steps", field="steps")
        with _lock, torch.random.fork_rng(devices=[]), torch.enable_grad():
            torch.set_rng_state(self._rng)
            with warnings.catch_warnings(record=True) as heard:
                warnings.simplefilter("always")
                try:
                    step = self._step(detail)
                except TORCH_ERRORS as exc:
                    raise InputError(
                        f"torch refused step {len(self.steps) + 1}: {first_line(exc)}"
                    ) from None
            self._rng = torch.get_rng_state()
        notes = tuple(
            dict.fromkeys(
                f"torch warns: {w.message}"
                for w in heard
                if not str(w.message).startswith(_OWN_HOOK_WARNING)  # our hooks', not the script's
            )
        )
        if notes:
            step = _replace(step, warnings=notes)
        self._keep(step)
        return step

    def _keep(self, step: ModelStep) -> None:
        """Add ``step`` to the run, thinning old steps to :attr:`keep` and holding the
        numbers kept under :data:`MAX_RECORDED`."""
        count = numbers(step)
        if self.recorded + count > MAX_RECORDED:
            raise InputError(
                f"step {step.step} would bring the numbers recorded to "
                f"{self.recorded + count:,} (at most {MAX_RECORDED:,}): take fewer steps "
                "or a smaller model"
            )
        self.steps.append(step)
        self.recorded += count
        if self.keep is not None and len(self.steps) > self.keep:
            old = self.steps[-self.keep - 1]
            thin = _thin(old)
            self.recorded -= numbers(old)
            self.recorded += numbers(thin)
            self.steps[-self.keep - 1] = thin

    def _step(self, detail: bool) -> ModelStep:
        timebound.check()
        model, opt = self.model, self.optimizer
        named = dict(model.named_parameters())
        before = {n: to_data(p.detach()) for n, p in named.items()}
        opt.zero_grad()
        outputs: dict[str, torch.Tensor] = {}
        module_grads: list[ModuleGrad] = []
        listening = [False]
        handles: list[Any] = []
        if detail:
            handles = self._hooks(outputs, module_grads, listening)
        try:
            out = model(self.data)
            data_loss = self.loss_fn(out, self.target)
            loss = data_loss
            l1_term = None
            if self.config.l1:
                l1_term = self.config.l1 * sum(p.abs().sum() for p in model.parameters())
                loss = loss + l1_term
            params = list(named.values())
            data_grads: dict[str, torch.Tensor] = {}
            l1_grads: dict[str, torch.Tensor] = {}
            if detail and l1_term is not None:
                data_grads = _grads(data_loss, named)
                l1_grads = _grads(l1_term, named)
            steps: tuple = ()
            step_nodes: list[Any] = []
            owners: dict[int, str] = {}
            if detail:
                owners = self._owners(outputs)
                listening[0] = True
                _, steps = record_call((loss,), loss.backward, named, nodes_out=step_nodes)
                listening[0] = False
            else:
                loss.backward()
        finally:
            for handle in handles:
                handle.remove()
        grads = {n: p.grad.detach().clone() for n, p in named.items() if p.grad is not None}
        if not data_grads:
            data_grads = grads  # no L1 term: the loss's gradient is the whole gradient
        timebound.check()
        opt.step()
        after = {n: to_data(p.detach()) for n, p in named.items()}
        state = {
            name: {key: _state_value(v) for key, v in opt.state[p].items()}
            for name, p in named.items()
            if p in opt.state
        }
        layer_norms = self._layer_norms(data_grads)
        shares = _shares(data_grads, l1_grads)
        step = ModelStep(
            step=len(self.steps) + 1,
            loss=float(loss.detach()),
            data_loss=float(data_loss.detach()),
            l1_term=None if l1_term is None else float(l1_term.detach()),
            grads={n: to_data(g) for n, g in grads.items()},
            grad_norms={n: float(torch.linalg.vector_norm(g)) for n, g in grads.items()},
            params_before=before,
            params_after=after,
            optimizer_state=state,
            outputs={k: to_data(v.detach()) for k, v in outputs.items()},
            module_grads=tuple(module_grads),
            backward=steps,
            backward_modules=tuple(
                "hook" if type(n).__name__ == HOOK_NODE else owners.get(id(n)) for n in step_nodes
            ),
            layer_grad_norms=layer_norms,
            l1_grads={n: to_data(g) for n, g in l1_grads.items()},
            l1_share=shares,
            detail=detail,
        )
        if detail:
            step = _replace(
                step,
                diagnoses=step_diagnoses(
                    self.layers, outputs, data_grads, layer_norms, shares, self.config.l1
                ),
            )
        del params
        return step

    def _hooks(
        self,
        outputs: dict[str, torch.Tensor],
        module_grads: list[ModuleGrad],
        listening: list[bool],
    ) -> list[Any]:
        handles = []
        self._inputs: dict[str, torch.Tensor] = {}
        for name, module in self.model.named_children():

            def forward_hook(module: nn.Module, args: Any, out: Any, name: str = name) -> None:
                outputs[name] = out
                self._inputs[name] = args[0] if args else None

            def backward_hook(
                module: nn.Module, grad_input: Any, grad_output: Any, name: str = name
            ) -> None:
                if not listening[0]:
                    return
                module_grads.append(
                    ModuleGrad(
                        module=name,
                        kind=type(module).__name__,
                        grad_output=tuple(None if g is None else to_data(g) for g in grad_output),
                        grad_input=tuple(None if g is None else to_data(g) for g in grad_input),
                    )
                )

            handles.append(module.register_forward_hook(forward_hook))
            handles.append(module.register_full_backward_hook(backward_hook))
        return handles

    def _owners(self, outputs: dict[str, torch.Tensor]) -> dict[int, str]:
        """Each graph node's module: the nodes reachable from the module's output that are
        not reachable from its input (so a parameter's ``AccumulateGrad`` is its layer's)."""
        owners: dict[int, str] = {}
        for name, out in outputs.items():
            inp = self._inputs.get(name)
            earlier = {id(n) for n in graph_nodes(getattr(inp, "grad_fn", None))}
            for node in graph_nodes(out.grad_fn):
                if id(node) not in earlier and type(node).__name__ != HOOK_NODE:
                    owners.setdefault(id(node), name)
        return owners

    def _layer_norms(self, grads: dict[str, torch.Tensor]) -> dict[str, float]:
        norms: dict[str, float] = {}
        for layer in self.layers:
            parts = [grads[p].reshape(-1) for p in layer.params if p in grads]
            if parts:
                norms[layer.name] = float(torch.linalg.vector_norm(torch.cat(parts)))
        return norms

    def run(self, steps: int, *, detail: bool = True) -> ModelRun:
        """Take ``steps`` more steps and return the whole run so far."""
        if not 0 <= steps <= MAX_STEPS - len(self.steps):
            raise InputError(f"steps must be from 0 to {MAX_STEPS:,}", field="steps")
        for _ in range(steps):
            self.step(detail=detail)
        return self.result()

    def result(self) -> ModelRun:
        """The run so far, as plain data."""
        return ModelRun(
            spec=self.config.spec,
            loss=self.loss_name,
            optimizer=self.optimizer_spec.text(),
            l1=float(self.config.l1),
            seed=self.config.seed,
            dtype=self.config.dtype,
            layers=self.layers,
            params=self.names,
            data=to_data(self.data),
            target=to_data(self.target),
            script=self.script(),
            steps=tuple(self.steps),
            diagnoses=run_diagnoses(self.steps, self.config.l1, self.optimizer_spec),
        )

    def script(self, steps: int | None = None) -> str:
        """The plain torch script that computes this run's numbers."""
        from gradtui.ops.model_script import script

        return script(self, len(self.steps) if steps is None else steps)


def _grads(value: torch.Tensor, named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    got = torch.autograd.grad(value, list(named.values()), retain_graph=True, allow_unused=True)
    return {
        n: torch.zeros_like(p) if g is None else g
        for (n, p), g in zip(named.items(), got, strict=True)
    }


def _shares(data: dict[str, torch.Tensor], l1: dict[str, torch.Tensor]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for name, g in l1.items():
        a = float(g.abs().sum())
        b = float(data[name].abs().sum()) if name in data else 0.0
        if a + b > 0:
            shares[name] = a / (a + b)
    return shares


def _state_value(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return value.item()
        return to_data(value.detach())
    return value


def _size(t: Any) -> int:
    return math.prod(t.shape) if isinstance(t, TensorData) else 1


def numbers(step: ModelStep) -> int:
    """How many numbers ``step`` holds (its tensors' elements, and each step's tensors)."""
    total = 0
    for table in (step.grads, step.params_before, step.params_after, step.outputs, step.l1_grads):
        total += sum(_size(t) for t in table.values())
    for entries in step.optimizer_state.values():
        total += sum(_size(v) for v in entries.values())
    for m in step.module_grads:
        total += sum(_size(g) for g in (*m.grad_output, *m.grad_input) if g is not None)
    for s in step.backward:
        total += sum(_size(g) for g in (*s.grad_outputs, *s.grad_inputs) if g is not None)
        total += sum(_size(v) for v in s.saved.values())
    return total


def _thin(step: ModelStep) -> ModelStep:
    """``step`` with only its loss, norms and sentences: an old step of a long run."""
    return _replace(
        step,
        grads={},
        params_before={},
        params_after={},
        optimizer_state={},
        outputs={},
        module_grads=(),
        backward=(),
        backward_modules=(),
        l1_grads={},
    )


def _replace(step: ModelStep, **changes: Any) -> ModelStep:
    import dataclasses

    return dataclasses.replace(step, **changes)


_warm = False


def warm_up() -> None:
    """Pay torch's one-time cost of a first optimizer outside any time bound: constructing
    one imports ``torch._dynamo`` (1.5 s here, more on a loaded machine), which a plain
    script pays too but which is not the computation a bound is for."""
    global _warm
    if not _warm:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        _warm = True


def train(config: ModelConfig, steps: int = 1, *, timeout: float | None = None) -> ModelRun:
    """Build the model and take ``steps`` recorded steps, within the time bound.

    Raises:
        InputError: As :class:`Trainer` and :meth:`Trainer.step`.
        ops.timebound.ComputationTimeout: The bound expired first.
    """
    if not 0 <= steps <= MAX_STEPS:
        raise InputError(f"steps must be from 0 to {MAX_STEPS:,}", field="steps")

    warm_up()

    def work() -> ModelRun:
        return Trainer(config).run(steps)

    if timeout is None and timebound.active() is not None:
        return work()
    return timebound.TimeBound(timeout).call(work)


def iterate(trainer: Trainer, steps: int, *, detail: bool = False) -> Iterator[ModelStep]:
    """``steps`` steps, one at a time (a front end's training loop, which may stop early)."""
    for _ in range(steps):
        yield trainer.step(detail=detail)
