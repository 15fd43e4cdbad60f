"""Texts to tensors: a target and its inputs' texts, evaluated and ready to run.

A target is a catalog op (``"exp"``) or an expression (``"x**2 * sin(y)"``, its free
names are its inputs). :func:`prepare` turns every text into a tensor through the safe
input language only (:mod:`ops.language`), and nothing else: no forward pass, no
gradient. :func:`ops.run.run` and :func:`ops.curves.sample_curve` both start here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradtui.ops import language
from gradtui.ops.catalog import OpSpec, coerce, get
from gradtui.ops.errors import InputError
from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT, looks_like_op_name
from gradtui.ops.syntax import Parsed

__all__ = [
    "DEFAULT_FREE_INPUT",
    "DTYPES",
    "EXPRESSION",
    "GRAD_OUTPUT",
    "TORCH_ERRORS",
    "Prepared",
    "default_values",
    "evaluate_grad_output",
    "input_names",
    "prepare",
]

DEFAULT_FREE_INPUT: str = "[0.5, 1.0, 2.0]"
"""The value an expression's free name gets when none is set: three positive floats,
small enough to read and away from the kinks of ``abs``/``relu``/``sign`` at 0 and
inside the domains of ``log`` and ``sqrt``."""

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
"""The float dtypes a run may use for float literals."""

TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, ArithmeticError, MemoryError)
"""What torch raises for inputs it refuses (NotImplementedError is a RuntimeError)."""


@dataclass
class Prepared:
    """A target with its inputs evaluated and ready for the forward pass.

    Attributes:
        target: The target as given (stripped).
        expression: A readable call: ``"exp(input)"``, or the expression text.
        names: The input names, in the op's order (an expression: order of appearance).
        texts: Each input's text (the user's, or the default).
        tensors: Each input's value, without grad. Tensor inputs are tensors;
            non-tensor kinds (``dim``, ``lr``, ...) are plain Python numbers.
        requires_grad: Whether the run asks each input to require grad.
        fn: ``fn(**tensors) -> output``.
        elementwise: Unary and elementwise in ``names[0]`` (curves use the whole input as
            the variable then).
        grad_output_text: The text of ``v``, if one was given (already checked to parse).
        spec: The catalog entry, for a catalog target.
        parsed: The parsed expression, for an expression target.
        dtype: The float dtype literals were made in.
        grad_output: ``v`` evaluated from :attr:`grad_output_text` (in :attr:`dtype`;
            its shape is checked against the output only by :func:`run`), or ``None``.
    """

    target: str
    expression: str
    names: tuple[str, ...]
    texts: dict[str, str]
    tensors: dict[str, Any]
    requires_grad: dict[str, bool]
    fn: Callable[..., torch.Tensor]
    elementwise: bool
    grad_output_text: str | None
    spec: OpSpec | None = None
    parsed: Parsed | None = None
    dtype: torch.dtype = torch.float32
    grad_output: torch.Tensor | None = None

    def fn_in(self, dtype: torch.dtype) -> Callable[..., torch.Tensor]:
        """``fn`` with an expression's own literals made in ``dtype`` (for float64 checks)."""
        if self.parsed is None:
            return self.fn
        parsed = self.parsed
        return lambda **env: language.evaluate(parsed, env, dtype=dtype, seed=0)


# --- targets -------------------------------------------------------------------------


def _spec(target: str) -> OpSpec:
    try:
        return get(target)
    except InputError as exc:
        raise exc.with_field(EXPRESSION) from None


def _parse(target: str) -> Parsed:
    return language.parse(target, field=EXPRESSION)


def input_names(target: str) -> tuple[str, ...]:
    """The inputs of ``target``: a catalog op's inputs, or an expression's free names.

    Raises:
        InputError: Unknown op name or an expression the language refuses.
    """
    text = target.strip()
    if looks_like_op_name(text):
        return tuple(i.name for i in _spec(text).inputs)
    return tuple(_parse(text).names)


def default_values(target: str) -> dict[str, str]:
    """Each input's default text; an expression's free names get :data:`DEFAULT_FREE_INPUT`."""
    text = target.strip()
    if looks_like_op_name(text):
        return {i.name: i.default for i in _spec(text).inputs}
    return {name: DEFAULT_FREE_INPUT for name in _parse(text).names}


def _check_keys(values: Mapping[str, str], names: tuple[str, ...], target: str) -> None:
    for key in values:
        if key not in names:
            valid = ", ".join(names) if names else "none"
            raise InputError(f"{target} has no input {key!r}; its inputs are: {valid}", field=key)


def _dtype(dtype: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}", field="dtype")
    return DTYPES[dtype]


def prepare(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    grad_output: str | None = None,
    dtype: str = "float32",
) -> Prepared:
    """Evaluate every input's text (user's or default) into tensors, nothing else.

    Random constructors in input ``k`` (0-based, in :attr:`Prepared.names` order) are
    seeded with ``k``, so runs repeat and two inputs typed ``randn(3)`` still differ.

    Args:
        target: A catalog op name or an expression.
        values: Input texts by name; unset inputs take their defaults.
        grad_output: The text of the upstream gradient ``v`` (default: ones).
        dtype: ``"float32"`` or ``"float64"``: the dtype of float literals.

    Raises:
        InputError: With ``field`` = the input's name, ``"v"``, ``"expression"`` or
            ``"dtype"``.
    """
    torch_dtype = _dtype(dtype)
    text = target.strip()
    values = dict(values or {})
    spec: OpSpec | None = None
    parsed: Parsed | None = None
    if looks_like_op_name(text):
        spec = _spec(text)
        names = tuple(i.name for i in spec.inputs)
        _check_keys(values, names, repr(text))
        texts = {i.name: values.get(i.name, i.default) for i in spec.inputs}
        _check_texts(texts, grad_output)
        tensors: dict[str, Any] = {}
        for k, i in enumerate(spec.inputs):
            if i.kind == "tensor":
                tensors[i.name] = language.tensor_from_text(
                    texts[i.name], field=i.name, dtype=torch_dtype, seed=k
                )
            else:  # a plain number: read in float64 so 0.1 stays 0.1
                value = language.tensor_from_text(
                    texts[i.name], field=i.name, dtype=torch.float64, seed=k
                )
                tensors[i.name] = coerce(i, value)
        requires_grad = {i.name: i.requires_grad and i.kind == "tensor" for i in spec.inputs}
        fn = spec.fn
        expression = spec.call_text()
        elementwise = spec.elementwise
    else:
        parsed = _parse(text)
        names = tuple(parsed.names)
        _check_keys(values, names, "the expression")
        texts = {n: values.get(n, DEFAULT_FREE_INPUT) for n in names}
        _check_texts(texts, grad_output)
        tensors = {
            n: language.tensor_from_text(texts[n], field=n, dtype=torch_dtype, seed=k)
            for k, n in enumerate(names)
        }
        requires_grad = {n: True for n in names}

        def fn(**env: Any) -> torch.Tensor:
            return language.evaluate(parsed, env, dtype=torch_dtype, seed=0)

        expression = text
        elementwise = False  # decided by measuring, below
    v = None
    if grad_output is not None:
        v = language.tensor_from_text(grad_output, field=GRAD_OUTPUT, dtype=torch_dtype, seed=0)
    prepared = Prepared(
        target=text,
        expression=expression,
        names=names,
        texts=texts,
        tensors=tensors,
        requires_grad=requires_grad,
        fn=fn,
        elementwise=elementwise,
        grad_output_text=grad_output,
        spec=spec,
        parsed=parsed,
        dtype=torch_dtype,
        grad_output=v,
    )
    if parsed is not None:
        prepared.elementwise = _measure_elementwise(prepared)
    return prepared


def _check_texts(texts: Mapping[str, str], grad_output: str | None) -> None:
    """Parse every text before any is computed, so a refused one costs no torch call at all.

    (Evaluating the first input and then refusing the second would already have run
    torch for text the person did not mean to be run; parsing runs nothing.)
    """
    for name, text in texts.items():
        language.parse(text, field=name)
    if grad_output is not None:
        language.parse(grad_output, field=GRAD_OUTPUT)


def _measure_elementwise(p: Prepared) -> bool:
    """Whether a one-name expression acts elementwise, measured at its current input.

    The Jacobian (float64) must be square and diagonal, and stay so at a random point
    (so ``x * sum(x)`` or a coincidence at one point is not taken for elementwise).
    """
    if len(p.names) != 1:
        return False
    x = p.tensors[p.names[0]]
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or not 0 < x.numel() <= 64:
        return False
    fn = p.fn_in(torch.float64)
    gen = torch.Generator().manual_seed(0)
    points = [x.detach().double(), torch.randn(x.shape, generator=gen, dtype=torch.float64)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return all(_diagonal_at(fn, p.names[0], point) for point in points)


def _diagonal_at(fn: Callable[..., torch.Tensor], name: str, point: torch.Tensor) -> bool:
    """Whether ``fn`` has a square, diagonal Jacobian at ``point`` (float64)."""
    try:
        with torch.no_grad():
            out = fn(**{name: point})
        if not isinstance(out, torch.Tensor) or out.shape != point.shape:
            return False
        if not out.is_floating_point():
            return True  # a comparison: elementwise, and never differentiable
        jac = torch.autograd.functional.jacobian(lambda t: fn(**{name: t}), point)
    except (InputError, *TORCH_ERRORS):
        return False
    jac = jac.reshape(point.numel(), point.numel())
    diag = torch.diagonal(jac)
    off = jac - torch.diag(diag)
    # Where an element's own derivative is infinite (sqrt at 0), backward multiplies the
    # zero upstream gradients of the other outputs by it: 0 * inf = nan fills its column.
    # That nan says nothing about coupling; any other nan counts as coupling.
    spread = torch.isnan(off) & ~torch.isfinite(diag)[None, :]
    off = torch.where(spread, torch.zeros((), dtype=off.dtype), off)
    return torch.nan_to_num(off, nan=1.0).abs().max().item() == 0.0


def evaluate_grad_output(p: Prepared) -> torch.Tensor | None:
    """``v`` as given to :func:`prepare` (``None`` when not given: ones are meant)."""
    if p.grad_output_text is None:
        return None
    if p.grad_output is None:
        p.grad_output = language.tensor_from_text(
            p.grad_output_text, field=GRAD_OUTPUT, dtype=p.dtype, seed=0
        )
    return p.grad_output
