"""One target, one set of inputs: PyTorch's forward and backward, and what they say.

A target is a catalog op (``"exp"``) or an expression (``"x**2 * sin(y)"``, its free
names are its inputs). :func:`prepare` turns the texts into tensors (through the safe
input language only); :func:`run` asks torch for the forward pass, records the backward
pass with :func:`ops.backward.record_backward`, and returns a :class:`GradResult`.

A case with no gradient is an answer, not a crash: torch is made to show why (its own
error text is quoted), and pieces of a function that torch treats by convention (a kink
like ``abs`` at 0, a jump like ``sign`` at 0, a ``nan`` from a branch not taken) get a
note measured on the spot. Nothing here is a table of known answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradtui.ops import direct_backward, language, timebound
from gradtui.ops.backward import graph_nodes, record_backward
from gradtui.ops.catalog import CATALOG, OpSpec, coerce, get
from gradtui.ops.display import a_dtype, describe_kink
from gradtui.ops.errors import InputError
from gradtui.ops.formulas import derivative_formula
from gradtui.ops.kinks import classify, screen
from gradtui.ops.results import GradResult, InputValue, Kink, OutputValue, TensorData
from gradtui.ops.tensors import dtype_name, to_data

__all__ = [
    "DEFAULT_FREE_INPUT",
    "DTYPES",
    "Prepared",
    "default_values",
    "evaluate_grad_output",
    "formula",
    "input_names",
    "prepare",
    "run",
]

DEFAULT_FREE_INPUT: str = "[0.5, 1.0, 2.0]"
"""The value an expression's free name gets when none is set: three positive floats,
small enough to read and away from the kinks of ``abs``/``relu``/``sign`` at 0 and
inside the domains of ``log`` and ``sqrt``."""

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
"""The float dtypes a run may use for float literals."""

_MAX_KINK_NOTES = 5
#: Input elements the kink notes classify at most (each costs a bisection).
_MAX_CLASSIFIED = 1000
_MAX_PROBE_ELEMENTS = 100_000
_ZERO_PROBES = 3
# What torch raises for inputs it refuses (NotImplementedError is a RuntimeError).
_TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, ArithmeticError, MemoryError)


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
    parsed: Any = None
    dtype: torch.dtype = torch.float32
    grad_output: torch.Tensor | None = None

    def fn_in(self, dtype: torch.dtype) -> Callable[..., torch.Tensor]:
        """``fn`` with an expression's own literals made in ``dtype`` (for float64 checks)."""
        if self.parsed is None:
            return self.fn
        parsed = self.parsed
        return lambda **env: language.evaluate(parsed, env, dtype=dtype, seed=0)


# --- targets -------------------------------------------------------------------------


def _is_op_name(text: str) -> bool:
    return text.isascii() and text.isidentifier()


def _spec(target: str) -> OpSpec:
    try:
        return get(target)
    except InputError as exc:
        raise exc.with_field("expression") from None


def _parse(target: str) -> Any:
    return language.parse(target, field="expression")


def input_names(target: str) -> tuple[str, ...]:
    """The inputs of ``target``: a catalog op's inputs, or an expression's free names.

    Raises:
        InputError: Unknown op name or an expression the language refuses.
    """
    text = target.strip()
    if _is_op_name(text):
        return tuple(i.name for i in _spec(text).inputs)
    return tuple(_parse(text).names)


def default_values(target: str) -> dict[str, str]:
    """Each input's default text; an expression's free names get :data:`DEFAULT_FREE_INPUT`."""
    text = target.strip()
    if _is_op_name(text):
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
    parsed: Any = None
    if _is_op_name(text):
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
        v = language.tensor_from_text(grad_output, field="v", dtype=torch_dtype, seed=0)
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
        language.parse(grad_output, field="v")


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
    except (InputError, *_TORCH_ERRORS):
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


# --- running -------------------------------------------------------------------------


def _quote(exc: BaseException) -> str:
    """torch's error text, first line only, quoted."""
    return f'"{str(exc).strip().splitlines()[0]}"' if str(exc).strip() else repr(exc)


def _refusal(names: list[str], dtype: str, said: str) -> str:
    """One sentence for inputs torch would not let require grad, quoting torch."""
    if len(names) == 1:
        who, them = f"{names[0]} is {a_dtype(dtype)} tensor", "it"
    else:
        who, them = f"{', '.join(names[:-1])} and {names[-1]} are {dtype} tensors", "them"
    return f"{who}, and torch refuses to let {them} require grad: requires_grad_() raises {said}"


def _plain_input(value: Any) -> TensorData:
    if isinstance(value, bool):
        return TensorData(value, "bool", ())
    if isinstance(value, int):
        return TensorData(value, "int64", ())
    return TensorData(float(value), "float64", ())


@contextlib.contextmanager
def _listening(heard: list[str]) -> Iterator[None]:
    """Collect torch's warnings (first line, once each) instead of letting them print."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        line = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if line and line not in heard:
            heard.append(line)


def _check_size(p: Prepared, args: Mapping[str, Any]) -> None:
    """Refuse a catalog op whose output would be huge, by a shapes-only dry run.

    The language checks sizes inside expressions; a catalog op called directly (``outer``
    of two long vectors) is checked here, on the ``meta`` device, before any memory is
    spent. Only needed when the inputs' element counts multiply past the cap.
    """
    bound = 1
    for value in args.values():
        if isinstance(value, torch.Tensor):
            bound *= max(value.numel(), 1)
    if bound <= language.MAX_ELEMENTS:
        return
    meta = {n: v.detach().to("meta") if isinstance(v, torch.Tensor) else v for n, v in args.items()}
    try:
        out = p.fn(**meta)
    except (InputError, *_TORCH_ERRORS):
        return  # not runnable on meta: the real call reports its own error
    if isinstance(out, torch.Tensor) and out.numel() > language.MAX_ELEMENTS:
        raise InputError(
            f"{p.expression} would give {out.numel()} elements (at most {language.MAX_ELEMENTS})"
        )


def _forward(p: Prepared, args: Mapping[str, Any]) -> torch.Tensor:
    """The forward pass; torch refusing the inputs is an InputError the user can fix."""
    if p.spec is not None:
        _check_size(p, args)
    try:
        out = p.fn(**args)
    except InputError:
        raise
    except _TORCH_ERRORS as exc:
        field = "expression" if p.parsed is not None else None
        raise InputError(f"torch refused the forward pass: {_quote(exc)}", field=field) from None
    if not isinstance(out, torch.Tensor):
        raise InputError(f"{p.expression} gives no tensor", field="expression")
    return out


def evaluate_grad_output(p: Prepared) -> torch.Tensor | None:
    """``v`` as given to :func:`prepare` (``None`` when not given: ones are meant)."""
    if p.grad_output_text is None:
        return None
    if p.grad_output is None:
        p.grad_output = language.tensor_from_text(
            p.grad_output_text, field="v", dtype=p.dtype, seed=0
        )
    return p.grad_output


def _grad_output(p: Prepared, output: torch.Tensor) -> torch.Tensor:
    """``v``: ones by default (the seed's ``z.sum().backward()``); a 0-d ``v`` is broadcast."""
    v = evaluate_grad_output(p)
    if v is None:
        return torch.ones_like(output)
    if v.shape != output.shape:
        if v.dim() != 0:
            raise InputError(
                f"v has shape {list(v.shape)} but the output has shape {list(output.shape)}; "
                "they must match (or give one number)",
                field="v",
            )
        v = v.expand(output.shape).clone()
    if output.is_floating_point() and v.dtype != output.dtype:
        v = v.to(output.dtype)
    return v


@functools.cache
def _node_rules() -> dict[str, str]:
    """Rules by node name, measured: each one-node catalog op at its defaults (float64).

    An op counts as one node when its output's ``grad_fn`` leads straight to its leaves;
    composite ops (losses built from several nodes) lend their rule to no node.
    """
    rules: dict[str, str] = {}
    for spec in CATALOG.values():
        try:
            p = prepare(spec.name, dtype="float64")
            args = dict(p.tensors)
            for name in p.names:
                t = args[name]
                if p.requires_grad[name] and isinstance(t, torch.Tensor):
                    if t.is_floating_point():
                        args[name] = t.clone().requires_grad_(True)
            out = spec.fn(**args)
        except (InputError, *_TORCH_ERRORS):
            continue
        root = getattr(out, "grad_fn", None)
        if root is not None and _is_one_node(root):
            rules.setdefault(type(root).__name__, spec.rule)
    return rules


def _is_one_node(root: Any) -> bool:
    return all(fn is None or type(fn).__name__ == "AccumulateGrad" for fn, _ in root.next_functions)


def _not_differentiable(
    p: Prepared, args: Mapping[str, Any], output: torch.Tensor, v: torch.Tensor, refused: list[str]
) -> tuple[str, list[str]]:
    """Why there is no gradient, in torch's own words, plus a measured float probe."""
    try:
        torch.autograd.backward(output, v)
    except RuntimeError as exc:
        said = _quote(exc)
    else:  # pragma: no cover - torch always raises here; kept honest if it ever does not
        said = "(torch raised nothing)"
    reasons = list(refused)
    reasons.append(
        f"the output is {a_dtype(dtype_name(output.dtype))} tensor with no grad_fn, so there is no "
        f"graph to run backward through; torch.autograd.backward(output, v) raises: {said}"
    )
    notes = []
    wanted = [
        n
        for n in p.names
        if p.requires_grad[n]
        and isinstance(args[n], torch.Tensor)
        and not args[n].is_floating_point()
        and not args[n].is_complex()
    ]
    if wanted:
        probe = dict(args)
        for n in wanted:
            probe[n] = args[n].to(p.dtype).requires_grad_(True)
        try:
            probe_out = p.fn(**probe)
        except (InputError, *_TORCH_ERRORS):
            probe_out = None
        if isinstance(probe_out, torch.Tensor):
            node = None if probe_out.grad_fn is None else type(probe_out.grad_fn).__name__
            names = ", ".join(wanted)
            if node is None:
                notes.append(
                    f"even with {names} as {dtype_name(p.dtype)} tensors that require grad, "
                    f"the output is {dtype_name(probe_out.dtype)} with grad_fn=None: "
                    "there is no gradient to ask for"
                )
            else:
                notes.append(
                    f"with {names} written as floats (e.g. 1.0 instead of 1), the output "
                    f"gets grad_fn={node} and a gradient"
                )
    return "; ".join(reasons), notes


def _zero_everywhere(
    p: Prepared, args: Mapping[str, Any], leaves: Mapping[str, torch.Tensor]
) -> bool:
    """Every gradient is zero at ``_ZERO_PROBES`` random points too (float64, v = ones)."""
    fn = p.fn_in(torch.float64)
    gen = torch.Generator().manual_seed(1)
    for _ in range(_ZERO_PROBES):
        probe: dict[str, Any] = {}
        for name, value in args.items():
            if name in leaves:
                probe[name] = (
                    3 * torch.randn(value.shape, generator=gen, dtype=torch.float64)
                ).requires_grad_(True)
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                probe[name] = value.detach().double()
            else:
                probe[name] = value
        try:
            out = fn(**probe)
            if out.grad_fn is None:
                continue
            grads = torch.autograd.grad(
                out, [probe[n] for n in leaves], torch.ones_like(out), allow_unused=True
            )
        except (InputError, *_TORCH_ERRORS):
            return False
        if any(g is not None and bool((g != 0).any()) for g in grads):
            return False
    return True


def _kink_notes(p: Prepared, args: Mapping[str, Any]) -> tuple[list[str], tuple[Kink, ...]]:
    """Corners, cusps and jumps of an elementwise op at the current input elements.

    The one detector (:func:`ops.kinks.classify`) measures each element in float64, as
    it does for the plot; the note says what kind of point it is, with the one-sided
    slopes of a corner or cusp, the limits of a jump, and the derivative PyTorch
    actually returns there.
    """
    var = p.names[0]
    x = args[var]
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return [], ()
    if x.numel() > _MAX_PROBE_ELEMENTS:
        return [], ()
    fn = p.fn_in(torch.float64)
    rest = {
        n: (v.detach().double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v)
        for n, v in args.items()
        if n != var
    }
    x64 = x.detach().double().requires_grad_(True)
    try:
        f0 = fn(**rest, **{var: x64})
        if f0.shape != x64.shape or not f0.is_floating_point() or f0.grad_fn is None:
            return [], ()
        (df,) = direct_backward.grad(f0, x64, torch.ones_like(f0))
    except (InputError, *_TORCH_ERRORS):
        return [], ()
    shape = x64.shape
    nan = torch.full((x64.numel(),), float("nan"), dtype=torch.float64)

    def f(t: torch.Tensor) -> torch.Tensor:
        """The op at every element moved to ``t`` (elementwise: each output sees its own)."""
        try:
            with torch.no_grad():
                out = fn(**rest, **{var: t.reshape(shape)})
        except (InputError, *_TORCH_ERRORS):
            return nan
        return out.reshape(-1).double() if out.shape == shape else nan

    flat = x64.detach().reshape(-1)
    suspects = torch.nonzero(screen(f, flat, f(flat))).flatten()
    if suspects.numel() == 0:
        return [], ()
    # Only the first _MAX_CLASSIFIED suspects are classified, each bisection round on
    # those elements alone (the op still sees the whole tensor, the others unmoved).
    chosen = suspects[:_MAX_CLASSIFIED]

    def f_chosen(t: torch.Tensor) -> torch.Tensor:
        moved = flat.clone()
        moved[chosen] = t
        return f(moved)[chosen]

    df_chosen = df.detach().reshape(-1)[chosen]
    found = classify(f_chosen, lambda _: df_chosen, flat[chosen], fixed=True)
    name = p.spec.name if p.spec is not None else p.expression
    named = tuple(
        dataclasses.replace(
            k,
            index=int(chosen[k.index]),
            at=f"{_element_name(var, x.shape, int(chosen[k.index]))} = {k.x:g}",
        )
        for k in found
    )
    notes = [f"{name}: {describe_kink(k, k.at)}" for k in named[:_MAX_KINK_NOTES]]
    if len(found) > _MAX_KINK_NOTES:
        notes.append(f"... and {len(found) - _MAX_KINK_NOTES} more such points")
    unclassified = suspects.numel() - chosen.numel()
    if unclassified:
        notes.append(
            f"... and {unclassified} more elements whose one-sided differences disagree; "
            f"only the first {_MAX_CLASSIFIED:,} are classified"
        )
    return notes, named


def _where_notes(
    p: Prepared, args: Mapping[str, Any], leaves: Mapping[str, torch.Tensor], v: torch.Tensor
) -> tuple[list[str], set[str]]:
    """Which nan (and -0) gradients come from a ``where()`` branch not taken, measured.

    Backward runs through both branches of ``where(cond, a, b)``: the branch not taken
    at an element gets a zero gradient there, and if its local derivative is infinite
    (``log`` at 0) the product is ``0 * inf = nan``; if it is negative, ``0 * -1 = -0``.
    Two more backward passes through a fresh graph at the same inputs tell this apart
    from a derivative that is infinite for another reason (``sqrt`` beside the where):

    * *cut*: every ``WhereBackward0`` sends nothing on; an element still non-finite
      got its nan elsewhere.
    * *untaken*: every ``WhereBackward0`` sends ones to the positions its branches did
      not take (and zeros to those they did): each leaf element gets the untaken
      branch's local derivative there.

    An element counts as "from the branch not taken" when its gradient is nan, the cut
    pass is finite there and the untaken pass is not; a ``-0`` when the untaken pass is
    negative there.

    Returns:
        The notes, and the names of the leaves whose non-finite gradients they explain
        in full.
    """
    passes = [_where_pass(p, args, leaves, v, mode) for mode in ("cut", "untaken")]
    if passes[0] is None or passes[1] is None:
        return [], set()
    cut, untaken = passes
    notes: list[str] = []
    explained: set[str] = set()
    for name, leaf in leaves.items():
        grad, through = leaf.grad, untaken.get(name)
        if grad is None or through is None or through.shape != grad.shape:
            continue
        blocked = cut.get(name)
        finite_cut = (
            torch.ones_like(grad, dtype=torch.bool) if blocked is None else torch.isfinite(blocked)
        )
        nan = torch.isnan(grad) & finite_cut & ~torch.isfinite(through)
        negzero = (grad == 0) & torch.signbit(grad) & torch.isfinite(through) & (through < 0)
        x = leaf.detach()
        for kind, mask in (("nan", nan), ("-0", negzero)):
            flat = torch.nonzero(mask.reshape(-1)).reshape(-1).tolist()
            if not flat:
                continue
            at = [_element_name(name, x.shape, i) for i in flat[:_MAX_KINK_NOTES]]
            more = f" (and {len(flat) - len(at)} more)" if len(flat) > len(at) else ""
            local = _untaken_products(x, through, flat[: len(at)], at)
            if kind == "nan":
                notes.append(
                    f"{name}.grad is nan at {', '.join(at)}{more}: it comes from the branch "
                    "where() did not take. Backward runs "
                    "through both branches and sends the one not taken a zero gradient; "
                    f"that branch is still differentiated {local}. "
                    "(Measured: with where()'s gradients to its branches cut off, these "
                    "elements are finite.)"
                )
            else:
                notes.append(
                    f"{name}.grad is -0. (a zero with a minus sign) at {', '.join(at)}{more}: "
                    "the branch where() did not take gets a zero gradient and is still "
                    f"differentiated {local}."
                )
        rest = ~torch.isfinite(grad) & ~nan
        if nan.any() and not rest.any():
            explained.add(name)
    return notes, explained


def _untaken_products(
    x: torch.Tensor, through: torch.Tensor, flat: list[int], at: list[str]
) -> str:
    """Each blamed element's local derivative on the untaken branch, and what torch makes
    of the zero gradient times it there: ``at x[0] = 0, where its local derivative is
    inf, and 0 * inf = nan`` (one clause per element, in order)."""
    xs, ds = x.reshape(-1), through.reshape(-1)
    clauses = []
    for i, where in zip(flat, at, strict=True):
        d = ds[i]
        product = (torch.zeros_like(d) * d).item()  # what backward's zero times it gives
        clauses.append(
            f"at {where} = {xs[i].item():g}, where its local derivative is {d.item():g}, "
            f"and 0 * {d.item():g} = {product:g}"
        )
    if len(clauses) == 1:
        return clauses[0]
    return "; ".join(clauses[:-1]) + "; and " + clauses[-1]


def _element_name(name: str, shape: tuple[int, ...] | torch.Size, flat: int) -> str:
    """``x[1, 0]`` for flat index 3 of a 2x2 ``x``; ``x`` for a 0-d one."""
    if len(shape) == 0:
        return name
    index = []
    for size in reversed(tuple(shape)):
        index.append(flat % size)
        flat //= size
    return f"{name}[{', '.join(str(i) for i in reversed(index))}]"


def _where_pass(
    p: Prepared,
    args: Mapping[str, Any],
    leaves: Mapping[str, torch.Tensor],
    v: torch.Tensor,
    mode: str,
) -> dict[str, torch.Tensor | None] | None:
    """The leaves' gradients with every ``WhereBackward0`` rewired (see :func:`_where_notes`)."""
    fresh = {
        n: (a.detach().clone().requires_grad_(True) if n in leaves else a) for n, a in args.items()
    }

    def rewire(node: Any) -> Callable[..., tuple[Any, ...]]:
        def hook(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> tuple[Any, ...]:
            if mode == "cut":
                return tuple(None for _ in grad_inputs)
            cond = node._saved_condition
            g = grad_outputs[0]
            out = []
            for k, gi in enumerate(grad_inputs):  # (input, other): taken where cond, ~cond
                if gi is None:
                    out.append(None)
                    continue
                missed = torch.broadcast_to(~cond if k == 0 else cond, g.shape)
                out.append(missed.to(gi.dtype).sum_to_size(gi.shape))
            return tuple(out)

        return hook

    handles = []
    try:
        out = p.fn(**fresh)
        if not isinstance(out, torch.Tensor) or out.grad_fn is None:
            return None
        for node in graph_nodes(out.grad_fn):
            if type(node).__name__ == "WhereBackward0":
                handles.append(node.register_hook(rewire(node)))
        wanted = list(leaves)
        grads = torch.autograd.grad(
            out, [fresh[n] for n in wanted], v.to(out.dtype), allow_unused=True
        )
    except (InputError, *_TORCH_ERRORS):
        return None
    finally:
        for handle in handles:
            handle.remove()
    return dict(zip(wanted, grads, strict=True))


def _formula(p: Prepared) -> str | None:
    """The symbolic derivative (SymPy, from the parsed tree) for elementwise ops and expressions.

    A catalog op is written as a call with its plain-number inputs filled in
    (``leaky_relu(input, 0.1)``); an expression gets one derivative per free name.
    """
    if p.spec is not None:
        if not p.spec.elementwise:
            return None
        first = p.spec.inputs[0].name
        rest = [repr(p.tensors[i.name]) for i in p.spec.inputs[1:] if i.kind != "tensor"]
        source: Any = f"{p.spec.name}({', '.join([first, *rest])})"
        variables = [first]
    else:
        source, variables = p.parsed, list(p.names)
    parts = []
    for var in variables:
        try:
            formula = derivative_formula(source, var)
        except InputError:
            continue
        if formula:
            parts.append(formula)
    return "; ".join(parts) or None


def run(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    grad_output: str | None = None,
    dtype: str = "float32",
    timeout: float | None = None,
    formula: bool = True,
) -> GradResult:
    """Forward, then PyTorch's own backward with upstream gradient ``v``, recorded.

    torch's warnings during the forward and backward passes become notes ("torch warns:
    ..."); the engine's own probes (kinks, zero checks) run silently.

    The whole computation runs under a :class:`ops.timebound.TimeBound`, so a heavy but
    allowed input answers within ``timeout`` seconds, with a result or a refusal.

    Args:
        target: A catalog op name or an expression.
        values: Input texts by name; unset inputs take their defaults.
        grad_output: The text of ``v`` (default: ones, i.e. ``output.sum().backward()``).
        dtype: ``"float32"`` or ``"float64"``.
        timeout: Seconds before the computation is abandoned; ``None``: the enclosing
            bound when called inside one (``TimeBound.call``), else ``GRADTUI_TIMEOUT``
            or :data:`ops.timebound.DEFAULT_TIMEOUT_S`; ``0`` or ``inf``: no bound.
        formula: Also build the symbolic derivative (``GradResult.formula``). The first
            formula of a process costs about half a second of SymPy (see
            :func:`ops.formulas.warm`); a front end may ask for it apart, with
            :func:`formula`, after showing the graph.

    Returns:
        The whole answer. A target with no gradient is still an answer:
        ``differentiable=False`` with ``reason`` quoting torch.

    Raises:
        InputError: Text that does not parse, an unknown op or input, a ``v`` of the
            wrong shape, or inputs torch refuses in the forward pass.
        ops.timebound.ComputationTimeout: The bound expired first (an ``InputError``).
    """
    args = (target, values, grad_output, dtype, formula)
    if timeout is None and timebound.active() is not None:
        return _run_unbounded(*args)
    bound = timebound.TimeBound(timeout)
    return bound.call(_run_unbounded, *args)


def formula(
    target: str,
    values: Mapping[str, str] | None = None,
    *,
    dtype: str = "float32",
    timeout: float | None = None,
) -> str | None:
    """The ``formula`` :func:`run` reports for these inputs, on its own.

    For a front end that shows :func:`run`'s graph (``formula=False``) first and the
    formula when SymPy has answered. Arguments as for :func:`run`.

    Raises:
        InputError: As :func:`prepare` (text that does not parse, an unknown op, ...).
    """
    if timeout is None and timebound.active() is not None:
        return _formula(prepare(target, values, dtype=dtype))
    bound = timebound.TimeBound(timeout)
    return bound.call(lambda: _formula(prepare(target, values, dtype=dtype)))


def _run_unbounded(
    target: str,
    values: Mapping[str, str] | None,
    grad_output: str | None,
    dtype: str,
    formula: bool = True,
) -> GradResult:
    """:func:`run` without its time bound (called inside one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run(prepare(target, values, grad_output=grad_output, dtype=dtype), formula)


def _run(p: Prepared, with_formula: bool = True) -> GradResult:
    """:func:`run` after :func:`prepare`."""
    refusals: dict[tuple[str, str], list[str]] = {}  # (dtype, torch's words) -> names
    leaves: dict[str, torch.Tensor] = {}
    args: dict[str, Any] = {}
    for name in p.names:
        value = p.tensors[name]
        if isinstance(value, torch.Tensor):
            value = value.detach().clone()
            if p.requires_grad[name]:
                try:
                    value.requires_grad_(True)
                except RuntimeError as exc:
                    key = (dtype_name(value.dtype), _quote(exc))
                    refusals.setdefault(key, []).append(name)
                else:
                    leaves[name] = value
        args[name] = value
    refused = [_refusal(names, dtype, said) for (dtype, said), names in refusals.items()]

    heard: list[str] = []  # torch's warnings during the forward and backward passes
    with _listening(heard):
        output = _forward(p, args)
    v = _grad_output(p, output)
    inputs = {
        n: InputValue(
            name=n,
            text=p.texts[n],
            tensor=to_data(args[n]) if isinstance(args[n], torch.Tensor) else _plain_input(args[n]),
            requires_grad=n in leaves,
        )
        for n in p.names
    }
    grad_fn = None if output.grad_fn is None else type(output.grad_fn).__name__
    out_value = OutputValue(to_data(output), grad_fn)
    notes: list[str] = [f"torch warns: {w}" for w in heard]
    extras: dict[str, TensorData] = {}

    kinks: tuple[Kink, ...] = ()

    def answer(differentiable: bool, reason: str | None, grads=None, steps=()) -> GradResult:
        return GradResult(
            target=p.target,
            expression=p.expression,
            inputs=inputs,
            output=out_value,
            differentiable=differentiable,
            reason=reason,
            grads=grads or {n: None for n in p.names},
            grad_output=to_data(v),
            steps=tuple(steps),
            formula=_formula(p) if with_formula else None,
            notes=tuple(notes),
            extras=extras,
            kinks=kinks,
        )

    if not output.requires_grad:
        reason, probe_notes = _not_differentiable(p, args, output, v, refused)
        notes.extend(probe_notes)
        return answer(False, reason)
    notes.extend(refused)

    rules = dict(_node_rules())
    if p.spec is not None and output.grad_fn is not None and _is_one_node(output.grad_fn):
        rules[type(output.grad_fn).__name__] = p.spec.rule
    heard_before = len(heard)
    try:
        with _listening(heard):
            steps = record_backward(output, v, leaves, rules=rules)
    except RuntimeError as exc:
        return answer(False, f"torch's backward pass failed: {_quote(exc)}")
    notes.extend(f"torch warns: {w}" for w in heard[heard_before:])
    grads = {
        n: to_data(leaves[n].grad) if n in leaves and leaves[n].grad is not None else None
        for n in p.names
    }
    if not any(g is not None for g in grads.values()):
        return answer(
            False, "the backward pass ran but no gradient reached any input", grads, steps
        )

    reason = None
    got = [leaves[n].grad for n in leaves if leaves[n].grad is not None]
    if sum(g.numel() for g in got) > 0 and not any(bool((g != 0).any()) for g in got):
        if _zero_everywhere(p, args, leaves):
            reason = (
                "zero almost everywhere: every gradient PyTorch returns is 0, here and at "
                f"{_ZERO_PROBES} random points (measured); the function is piecewise constant, "
                "so its derivative is 0 between jumps and does not exist at them"
            )
        else:
            notes.append(
                "every gradient is 0 at these inputs, but not everywhere: at random points "
                "PyTorch returns non-zero gradients"
            )
    finite_out = bool(torch.isfinite(output.detach()).all()) if output.is_floating_point() else True
    explained: set[str] = set()
    if any(s.node == "WhereBackward0" for s in steps):
        where_notes, explained = _where_notes(p, args, leaves, v)
        notes.extend(where_notes)
    bad = [
        n
        for n in leaves
        if n not in explained
        and leaves[n].grad is not None
        and not bool(torch.isfinite(leaves[n].grad).all())
    ]
    if bad and finite_out:
        notes.append(
            f"{', '.join(bad)}.grad holds nan/inf although the output is finite: the "
            "derivative is infinite or undefined at these inputs"
        )
    if p.elementwise:
        kink_notes, kinks = _kink_notes(p, args)
        notes.extend(kink_notes)
    if p.spec is not None and p.spec.explain is not None:
        more, explained = p.spec.explain(
            {n: (a.detach() if isinstance(a, torch.Tensor) else a) for n, a in args.items()}
        )
        extras.update({k: to_data(t) for k, t in more.items()})
        notes.extend(explained)
    return answer(True, reason, grads, steps)
