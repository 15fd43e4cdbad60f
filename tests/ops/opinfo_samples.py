"""OpInfo's small samples of every catalog op, run as ``gradtui grad`` runs them.

For each op ``gradtui ops`` lists that has an OpInfo name (the generated ops; the
hand-written ones with an OpInfo name are among them), each sample of
``info.sample_inputs("cpu", torch.float64, requires_grad=True, small_inputs_only=True)``
from every OpInfo variant of that name is written as the command line would take it::

    gradtui grad 'torch.linalg.svd(x0, full_matrices=False)[0]' --set x0='[[...]]' --dtype float64

Each float64 tensor is a named input (``x0``, ``x1``, ...), set by a literal text; one that
OpInfo does not differentiate is read through ``.detach()``. Every other argument (ints,
floats, bools, ``None``, tuples, dtypes, strings, integer and boolean tensors) is written
inline. The texts go to :func:`gradtui.ops.run.run`, the function ``gradtui grad`` calls,
and nothing here evaluates them.

Values: a tensor's text holds ``repr`` of each float64 (exact). Only where that text would
not fit the language's bounds (``gradtui.ops.source``'s ``MAX_TEXT_CHARS`` characters and
``MAX_NODES`` parts, read from there) are its values rounded, to 4,
then 3, then 2 significant digits (as ``tools.gen_opinfo`` rounds defaults), and then torch
is fed the same rounded values, so both sides always compute from the same numbers.

The reference is torch called directly: OpInfo's own ``info.op`` on the sample (no
gradcheck wrapper, no ``output_process_fn_grad``), its output, and the gradients of every
float input OpInfo differentiates under the upstream gradient gradtui used (``gradtui grad``'s
default ``v``: ones, complex ones for a complex output; checked to be so). Where torch itself
raises (an eigenvector's phase makes ``linalg.eig``'s backward ill-defined), gradtui agrees
only by refusing with torch's own words. A tuple output is compared one float output at a
time (``EXPR[k]``); a complex one as complex numbers (gradtui's result holds them).
Tolerances: :func:`torch.testing.assert_close`'s float64 defaults (rtol 1e-7, atol 1e-7),
nan equal to nan.

Run ``python -m tests.ops.opinfo_samples`` for the figures and the reasons by op
(``--op NAME`` for one op's samples, ``--by-op`` for a line per op).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from gradtui.ops import opinfo
from gradtui.ops.errors import InputError
from gradtui.ops.language import parse
from gradtui.ops.results import GradResult, TensorData
from gradtui.ops.run import run
from gradtui.ops.source import MAX_TEXT_CHARS
from gradtui.ops.timebound import TimeBound
from tests.ops.opinfo_figures import Figures, Outcome

DIGITS: tuple[int | None, ...] = (None, 4, 3, 2)
"""Significant digits tried for a tensor's values: ``None`` is ``repr`` (exact)."""

PREFIXES = {"torch.nn.functional": "F"}
"""A namespace of the data file's ``call`` spelled short in an expression (others as they are)."""

_DTYPES = "float64 float32 float16 bfloat16 int64 int32 int16 int8 uint8 bool".split()
DTYPE_TEXT = {getattr(torch, d): f"torch.{d}" for d in _DTYPES}  # literal names only
"""A dtype argument as written (``dtype=torch.float64``)."""

RESULT_DTYPES = {
    str(d).removeprefix("torch."): d for d in (*DTYPE_TEXT, torch.complex128, torch.complex64)
}
"""A :class:`TensorData` dtype name back to the dtype (test code: a fixed table)."""

AGREEMENT = {"rtol": 1e-7, "atol": 1e-7, "equal_nan": True, "check_stride": False}
"""assert_close's float64 defaults, nan agreeing with nan."""


class Unwritable(Exception):
    """A sample the converter cannot write in the language (the reason is the message)."""


# --- OpInfo ----------------------------------------------------------------------------


@functools.cache
def op_db_by_name() -> dict[str, list[Any]]:
    """OpInfo's entries with autograd, by name (op_db imported once per process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db
    by_name: dict[str, list[Any]] = {}
    for info in op_db:
        if info.supports_autograd:
            by_name.setdefault(info.name, []).append(info)
    return by_name


def catalog_ops() -> dict[str, str]:
    """Every catalog op with an OpInfo name: OpInfo name -> the data file's ``call``
    (``"torch.linalg.svd"``, ``"Tensor.T"``): the generated ops, which include every
    hand-written op whose torch name is an OpInfo name."""
    return {op["name"]: op["call"] for op in opinfo.data()["ops"] if "left_out" not in op}


def samples(info: Any) -> list[Any]:
    """The variant's small float64 samples, made under seed 0 before anything runs (so
    running one sample cannot change the next)."""
    torch.manual_seed(0)
    kwargs = {"device": "cpu", "dtype": torch.float64, "requires_grad": True}
    try:
        found = info.sample_inputs(**kwargs, small_inputs_only=True)
    except TypeError:  # a sample function without small_inputs_only
        found = info.sample_inputs(**kwargs)
    return list(found)


# --- writing a sample ------------------------------------------------------------------


def number_text(x: float, digits: int | None = None) -> str:
    """A float as the language reads it back exactly (``nan``, ``-inf``, ``1e-05``)."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x if digits is None else float(f"{x:.{digits}g}"))


def nested_text(value: Any, leaf: Callable[[Any], str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(nested_text(v, leaf) for v in value) + "]"
    return leaf(value)


def float_literal(t: torch.Tensor) -> tuple[str, torch.Tensor]:
    """``t``'s input text and the values it stands for (rounded only if ``repr`` does not fit)."""
    if t.numel() == 0:
        return f"zeros({', '.join(str(s) for s in t.shape) or '0'})", t.detach().clone()
    if 5 * t.numel() - 2 > MAX_TEXT_CHARS:  # "1.0, " per number at the shortest
        raise Unwritable(f"a tensor of {t.numel()} numbers: too many for one text")
    flat = t.detach().tolist()
    reason = ""
    for digits in DIGITS:
        text = nested_text(flat, functools.partial(number_text, digits=digits))
        if len(text) > MAX_TEXT_CHARS:
            reason = f"{len(text)} characters"
            continue
        try:
            parse(text)
        except InputError as exc:
            reason = exc.message
            continue
        if digits is None:
            return text, t.detach().clone()
        values = t.detach().clone().apply_(lambda x, d=digits: float(number_text(x, d)))
        return text, values
    raise Unwritable(f"a tensor too large to write as text at 2 digits ({reason})")


def inline_literal(t: torch.Tensor) -> str:
    """A tensor nothing differentiates, inline: ``torch.tensor([[0, 1]], dtype=torch.int64)``
    (an index, a mask, or float32 weights: each float32 is exact as a float64 ``repr``)."""
    dtype = DTYPE_TEXT[t.dtype]
    if t.numel() == 0:
        shape = ", ".join(str(s) for s in t.shape)
        return f"torch.tensor([], dtype={dtype}).reshape({shape})"
    leaf = number_text if t.is_floating_point() else repr
    return f"torch.tensor({nested_text(t.tolist(), leaf)}, dtype={dtype})"


@dataclasses.dataclass
class Written:
    """One sample in the language (an expression over named inputs, their texts) and
    torch's own call on the same values (``info.op(*args, **kwargs)``)."""

    expression: str
    values: dict[str, str]
    outputs: list[int | None]
    rounded: bool
    leaves: dict[str, torch.Tensor]
    reference: Callable[[], Any]


class Writer:
    """Writes a sample's values as expression text; float tensors become named inputs."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.values: dict[str, str] = {}
        self.leaves: dict[str, torch.Tensor] = {}
        self.rounded = False

    def tensor(self, t: torch.Tensor) -> tuple[str, torch.Tensor]:
        """The text for tensor ``t`` and the tensor torch gets in its place."""
        if t.layout != torch.strided:
            raise Unwritable(f"a {t.layout} tensor")
        if t.is_complex():
            raise Unwritable("a complex tensor argument")
        if t.dtype not in DTYPE_TEXT:
            raise Unwritable(f"a {t.dtype} tensor argument")
        if not t.is_floating_point() or (t.dtype != torch.float64 and not t.requires_grad):
            return inline_literal(t), t  # indices, masks, weights of another float dtype
        if t.dtype != torch.float64:
            raise Unwritable(f"a {t.dtype} tensor that requires grad")
        name = self.names.get(id(t))
        if name is None:
            name = f"x{len(self.names)}"
            self.names[id(t)] = name
            text, values = float_literal(t)
            self.rounded |= not torch.equal(values, t.detach())
            self.values[name] = text
            self.leaves[name] = values.requires_grad_(t.requires_grad)
        leaf = self.leaves[name]
        return (name if leaf.requires_grad else f"{name}.detach()"), leaf

    def value(self, v: Any) -> tuple[str, Any]:
        """Any argument's text and torch's value for it."""
        if isinstance(v, torch.Tensor):
            return self.tensor(v)
        if v is None or isinstance(v, bool):
            return repr(v), v
        if isinstance(v, int):
            return str(v), v
        if isinstance(v, float):
            return number_text(v), v
        if isinstance(v, str):
            return repr(v), v
        if isinstance(v, torch.dtype):
            if v not in DTYPE_TEXT:
                raise Unwritable(f"dtype {v}")
            return DTYPE_TEXT[v], v
        if isinstance(v, (tuple, list)):  # torch.Size is a tuple
            parts = [self.value(x) for x in v]
            inner = ", ".join(p[0] for p in parts)
            values = [p[1] for p in parts]
            if isinstance(v, list):
                return f"[{inner}]", values
            return f"({inner}{',' if len(parts) == 1 else ''})", tuple(values)
        if isinstance(v, torch.memory_format):  # written as torch spells it
            return f"torch.{str(v).removeprefix('torch.')}", v
        if isinstance(v, complex):
            raise Unwritable("a complex number argument")
        raise Unwritable(f"a {type(v).__name__} argument")


def spellings(name: str, call: str) -> list[tuple[str, str]]:
    """Where torch offers the op, as (namespace, attribute): the data file's first."""
    from tools.gen_opinfo import candidates

    first = tuple(call.rsplit(".", 1))
    return [first] + [c for c in candidates(name) if c != first]


def call_spelled(namespace: str, attr: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The op called as the expression will spell it (torch directly, no gradtui)."""
    from tools.gen_opinfo import call, resolve

    obj = resolve(namespace, attr)
    if obj is None:
        raise AttributeError(f"{namespace}.{attr}")
    return call(namespace, attr, obj, list(args), kwargs)


def same(a: Any, b: Any) -> bool:
    """The same outputs, floats within the comparison's tolerances (:data:`AGREEMENT`):
    torch itself is not bitwise repeatable everywhere (``linalg.lstsq``'s ``gelsy`` driver
    differs in the last bits from call to call), and no closer match is asked of gradtui."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.detach(), b.detach()
        if a.is_floating_point() or a.is_complex():
            try:
                torch.testing.assert_close(a, b, **AGREEMENT)
            except AssertionError:
                return False
            return True
        return torch.equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def compared(out: Any, outputs: list[int | None]) -> list[Any]:
    """The outputs that are compared (an op's other outputs may be uninitialised memory:
    ``linalg.lstsq``'s ``rank`` with some drivers)."""
    if outputs == [None]:
        return [out]
    if not isinstance(out, (tuple, list)) or len(out) <= max(k or 0 for k in outputs):
        return [out]  # another structure: never the same as a tuple's parts
    return [out[k] for k in outputs]


def float_outputs(out: Any) -> list[int | None]:
    """Which outputs to compare: ``[None]`` for one tensor, else each float one's index."""
    if isinstance(out, torch.Tensor):
        if not (out.is_floating_point() or out.is_complex()):
            raise Unwritable("no floating-point output")
        return [None]
    if not isinstance(out, (tuple, list)):
        raise Unwritable(f"a {type(out).__name__} output")
    found = [
        k
        for k, o in enumerate(out)
        if isinstance(o, torch.Tensor) and (o.is_floating_point() or o.is_complex())
    ]
    if not found:
        raise Unwritable("no floating-point tensor among the outputs")
    return found


def write(name: str, call: str, info: Any, sample: Any) -> Written:
    """The sample as ``gradtui grad`` takes it, and torch's own call on the same values."""
    w = Writer()
    first_text, first = w.value(sample.input)
    parts = [w.value(a) for a in sample.args]
    kw_parts = {k: w.value(v) for k, v in sample.kwargs.items()}
    args = [first, *(p[1] for p in parts)]
    kwargs = {k: p[1] for k, p in kw_parts.items()}

    def reference() -> Any:
        return info.op(*args, **kwargs)

    with torch.no_grad():
        try:
            expected = reference()
            again = reference()
        except Exception as exc:  # noqa: BLE001 - OpInfo's own call may raise anything
            raise Unwritable(f"OpInfo's own call fails ({type(exc).__name__})") from None
        outputs = float_outputs(expected)
        if not same(compared(expected, outputs), compared(again, outputs)):
            raise Unwritable("random output (differs from call to call)")
        texts = [first_text, *(p[0] for p in parts)]
        spelled = spelling(name, call, texts, args, kwargs, expected, outputs)
    namespace, attr, texts = spelled
    keywords = [f"{k}={p[0]}" for k, p in kw_parts.items()]
    if namespace == "Tensor":
        if not isinstance(sample.input, torch.Tensor):
            raise Unwritable("a method on a list of tensors")
        if not callable(getattr(torch.Tensor, attr)):  # a property: x.T
            expression = f"{texts[0]}.{attr}"
        else:
            expression = f"{texts[0]}.{attr}({', '.join([*texts[1:], *keywords])})"
    else:
        expression = (
            f"{PREFIXES.get(namespace, namespace)}.{attr}({', '.join([*texts, *keywords])})"
        )
    return Written(expression, dict(w.values), outputs, w.rounded, dict(w.leaves), reference)


def spelling(
    name: str,
    call: str,
    texts: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    expected: Any,
    outputs: list[int | None],
) -> tuple[str, str, list[str]]:
    """The torch callable (and argument order) that gives OpInfo's output for this sample,
    found as the generator finds it: OpInfo's ``op`` is sometimes a lambda that swaps or
    wraps arguments, and the expression must call a real torch name."""
    orders = [(texts, args)]
    if len(args) >= 2:
        orders.append(([texts[1], texts[0], *texts[2:]], [args[1], args[0], *args[2:]]))
    for namespace, attr in spellings(name, call):
        for order_texts, order_args in orders:
            try:
                got = call_spelled(namespace, attr, order_args, kwargs)
            except Exception:  # noqa: BLE001 - a spelling that does not take the sample
                continue
            if same(compared(got, outputs), compared(expected, outputs)):
                return namespace, attr, order_texts
            again = call_spelled(namespace, attr, order_args, kwargs)
            if not same(compared(got, outputs), compared(again, outputs)):
                # OpInfo's wrapper seeds the generator; the torch name alone is random
                raise Unwritable("random output (differs from call to call)")
    raise Unwritable("OpInfo's op is a wrapper: no torch callable gives its output here")


# --- running it through gradtui and comparing ------------------------------------------


def tensor_of(data: TensorData) -> torch.Tensor:
    """A result's :class:`TensorData` back as a tensor (its exact values)."""
    dtype = RESULT_DTYPES[data.dtype]
    return torch.tensor(data.value, dtype=dtype).reshape(data.shape)


def first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


def command_of(expression: str, values: dict[str, str]) -> str:
    sets = " ".join(f"--set {n}='{t}'" for n, t in values.items())
    return f"gradtui grad '{expression}' {sets} --dtype float64"


def torch_refused(exc: InputError) -> bool:
    """Whether gradtui's error quotes torch refusing the call (an exception other than
    gradtui's own behind it), rather than the language declining the text."""
    seen = exc.__context__ or exc.__cause__
    while seen is not None:
        if not isinstance(seen, InputError):
            return True
        seen = seen.__context__ or seen.__cause__
    return False


def torch_words(exc: BaseException) -> str:
    """The first line of what torch raised (how gradtui quotes it)."""
    return first_line(str(exc)) or type(exc).__name__


def says(result: GradResult | InputError, words: str) -> bool:
    """Whether gradtui's answer is torch's refusal, in torch's own words."""
    if isinstance(result, InputError):
        return words in result.message
    return not result.differentiable and words in (result.reason or "")


def compare(written: Written, results: dict[int | None, GradResult | InputError]) -> str | None:
    """None when gradtui's answers (one per output index) are torch's own; else where not.

    Torch is called on the same values, and its backward pass gets the upstream gradient
    gradtui used (``result.grad_output``: ones, complex ones for a complex output). Where
    torch itself raises, in the forward or the backward pass, gradtui agrees only if it
    refuses too, quoting torch's words."""
    try:
        out = written.reference()
    except Exception as exc:  # noqa: BLE001 - torch refusing: compared below
        words = torch_words(exc)
        for k, result in results.items():
            if not says(result, words):
                return f"{at(k)}torch's forward pass raises {words!r}; gradtui: {told(result)}"
        return None
    wanted = {n: t for n, t in written.leaves.items() if t.requires_grad}
    for k, result in results.items():
        if isinstance(result, InputError):  # torch took the sample when called directly
            return f"{at(k)}gradtui: {first_line(result.message)}"
        got_out = out if k is None else out[k]
        try:
            torch.testing.assert_close(
                tensor_of(result.output.tensor), got_out.detach(), **AGREEMENT
            )
        except AssertionError as exc:
            return f"output{'' if k is None else f'[{k}]'}: {first_line(str(exc))}"
        v = tensor_of(result.grad_output)
        if not torch.equal(v, torch.ones_like(got_out)):
            return f"{at(k)}gradtui's upstream gradient is not ones: {result.grad_output.value}"
        expected: dict[str, torch.Tensor | None] = dict.fromkeys(written.leaves)
        if got_out.requires_grad and wanted:
            try:
                grads = torch.autograd.grad(
                    got_out, list(wanted.values()), v, retain_graph=True, allow_unused=True
                )
            except RuntimeError as exc:
                words = torch_words(exc)
                if says(result, words) and not any(result.grads.values()):
                    continue
                return f"{at(k)}torch's backward pass raises {words!r}; gradtui: {told(result)}"
            expected.update(zip(wanted, grads, strict=True))
        for n, want in expected.items():
            got = result.grads.get(n)
            where = f"grad of {n}{'' if k is None else f' (output [{k}])'}"
            if (got is None) != (want is None):
                said = ("none" if got is None else "a gradient", "none" if want is None else "one")
                why = f" ({result.reason})" if got is None and result.reason else ""
                return f"{where}: gradtui gives {said[0]}{why}, torch {said[1]}"
            if got is None:
                continue
            try:
                torch.testing.assert_close(tensor_of(got), want, **AGREEMENT)
            except AssertionError as exc:
                return f"{where}: {first_line(str(exc))}"
    return None


def at(k: int | None) -> str:
    return "" if k is None else f"output [{k}]: "


def told(result: GradResult | InputError) -> str:
    """gradtui's answer in a line: its refusal, or that it answered."""
    if isinstance(result, InputError):
        return first_line(result.message)
    if not result.differentiable:
        return result.reason or "not differentiable"
    return "an answer"


def check_sample(name: str, call: str, info: Any, index: int, sample: Any) -> Outcome:
    """Write one sample, run it through gradtui's ``grad`` path and compare with torch."""
    outcome = functools.partial(Outcome, name, info.variant_test_name, index)
    try:
        written = write(name, call, info, sample)
    except Unwritable as exc:
        return outcome("unwritable", str(exc))
    command = command_of(written.expression, written.values)
    results: dict[int | None, GradResult | InputError] = {}
    for k in written.outputs:
        target = written.expression if k is None else f"{written.expression}[{k}]"
        command = command_of(target, written.values)
        try:
            parse(target)
        except InputError as exc:
            return outcome("refused", first_line(exc.message), command, written.rounded)
        try:
            # As cmd_grad calls it, but without the formula (SymPy's text, not compared);
            # the time bound is the enclosing one (check_op's, which has none).
            results[k] = run(target, written.values, dtype="float64", formula=False)
        except InputError as exc:
            if not torch_refused(exc):
                return outcome("refused", first_line(exc.message), command, written.rounded)
            results[k] = exc  # torch's words: compared with torch called directly
    differs = compare(written, results)
    if differs is not None:
        return outcome("disagrees", differs, command, written.rounded)
    return outcome("agrees", "", command, written.rounded)


def check_op(name: str, call: str) -> list[Outcome]:
    """Every sample of every OpInfo variant of ``name``.

    Runs under one time bound with no limit, so each :func:`run` inside computes in this
    thread (a slow machine changes no outcome, and no thread is started per sample)."""
    return TimeBound(0).call(_check_op, name, call)


def _check_op(name: str, call: str) -> list[Outcome]:
    found: list[tuple[Any, int, Any]] = []
    failed: list[Outcome] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for info in op_db_by_name()[name]:
            if torch.float64 not in info.supported_dtypes("cpu"):
                continue
            try:
                found += [(info, i, s) for i, s in enumerate(samples(info))]
            except Exception as exc:  # noqa: BLE001 - OpInfo's sample functions raise anything
                why = f"its sample function fails ({type(exc).__name__})"
                failed.append(Outcome(name, info.variant_test_name, -1, "unwritable", why))
        return [check_sample(name, call, info, i, s) for info, i, s in found] + failed


def measure(only: Sequence[str] = ()) -> Figures:
    """Every catalog op's samples (or only those of the ops named).

    Torch runs single-threaded meanwhile (restored after): the tensors are tiny, and on a
    busy two-core machine each of autograd's hand-offs to a second OpenMP thread cost
    milliseconds (a 64-element ``tril`` backward: 6 ms with two threads, 0.03 ms with one),
    which made the run three times slower. Both sides of each comparison run the same way.
    """
    ops = catalog_ops()
    names = [n for n in ops if not only or n in only]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcomes = [o for n in names for o in check_op(n, ops[n])]
    finally:
        torch.set_num_threads(threads)
    return Figures(len(names), outcomes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ops.opinfo_samples")
    parser.add_argument("--op", action="append", default=[], help="only this op (repeatable)")
    parser.add_argument("--by-op", action="store_true", help="also one line per op")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    figures = measure(args.op)
    print(figures.report(by_op=args.by_op or bool(args.op)))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
