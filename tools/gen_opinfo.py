"""Generate ``ops/data/opinfo.json`` from the installed torch's OpInfo database.

Run ``python -m tools.gen_opinfo`` (needs ``expecttest``, which torch's internal testing
modules import). The running program never imports those modules: it reads the JSON this
script writes (:mod:`ops.opinfo`). ``tests/ops/test_opinfo.py`` regenerates the file in
memory and fails when the checked-in copy is stale.

Scope: every public op name in ``op_db`` that supports autograd (private ``_...`` entry
points, dunders and ``torch.ops.*`` are left out). Each kept name gets either an entry
(how to call it, its signature and summary, and default inputs from its first small
float64 sample) or a reason why it is left out.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: F401 - NAMESPACES

from tools import opinfo_values as values
from tools.opinfo_docs import DOC, README, render_doc, render_readme, summary_line  # noqa: F401

OUT = Path(__file__).resolve().parent.parent / "ops" / "data" / "opinfo.json"

NAMESPACES: dict[str, Any] = {
    "torch": torch,
    "torch.nn.functional": F,
    "torch.special": torch.special,
    "torch.linalg": torch.linalg,
    "torch.fft": torch.fft,
    "torch.masked": torch.masked,
    "Tensor": torch.Tensor,
}
"""Where a generated op's callable may come from (the loader's allow-list is the same)."""

PREFIXES = {
    "nn.functional.": "torch.nn.functional",
    "special.": "torch.special",
    "linalg.": "torch.linalg",
    "fft.": "torch.fft",
    "masked.": "torch.masked",
}

MAX_NUMBERS = 2000
"""The most numbers in one op's defaults (keeps the data file small); each tensor's text
must also parse in the input language (at most 2000 characters and 1000 parts)."""


GRADCHECK_FAILS: dict[str, str] = {
    "as_strided_scatter": "gradcheck's Jacobian mismatches at OpInfo's sample "
    "(as_strided views that overlap in memory)",
    "float": "converts to float32: a float64 gradcheck cannot compare the result "
    "(torch: 'autograd tests don't handle operators that change dtype')",
    "cfloat": "converts to complex64: a float64 gradcheck cannot compare the result "
    "(torch: 'autograd tests don't handle operators that change dtype')",
}
"""Opened ops that fail float64 gradcheck at their defaults, measured by
``tests/ops/test_opinfo.py`` (which fails when this table and the measurement disagree).
Each is one whose own OpInfo marks torch's gradcheck test an expected failure
(:func:`torch_expects_gradcheck_failure`; the test checks that too): they are not counted
as passing, and their gradients are still shown."""


def kept_names(op_db: list[Any]) -> tuple[list[str], dict[str, list[Any]]]:
    """The public names with autograd, in op_db order, and each name's OpInfos."""
    by_name: dict[str, list[Any]] = {}
    for info in op_db:
        if not info.supports_autograd:
            continue
        by_name.setdefault(info.name, []).append(info)
    public = [n for n in by_name if not n.startswith("_") and not n.startswith("torch.ops.")]
    return public, by_name


def candidates(name: str) -> list[tuple[str, str]]:
    """Where torch offers ``name``: (namespace, attribute) pairs, most specific first."""
    for prefix, namespace in PREFIXES.items():
        if name.startswith(prefix):
            return [(namespace, name[len(prefix) :])]
    if "." in name:
        return []
    return [("torch", name), ("torch.nn.functional", name), ("Tensor", name)]


def resolve(namespace: str, attr: str) -> Any:
    owner = NAMESPACES[namespace]
    return (
        inspect.getattr_static(owner, attr, None)
        if namespace == "Tensor"
        else getattr(owner, attr, None)
    )


def call(namespace: str, attr: str, obj: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call the resolved op the way the loader will."""
    if namespace == "Tensor" and not callable(obj):  # a property: x.T, x.mT
        return obj.__get__(args[0])
    return (
        obj(*args, **kwargs)
        if namespace != "Tensor"
        else getattr(args[0], attr)(*args[1:], **kwargs)
    )


# --- signatures --------------------------------------------------------------------------


_OVERRIDES: dict[Any, Any] | None = None


def signature(obj: Any, namespace: str, attr: str) -> str:
    """The op's signature: ``inspect.signature`` or torch's testing overrides."""
    global _OVERRIDES
    if namespace == "Tensor" and not callable(obj):
        return "(self)"
    target = obj
    if namespace == "Tensor":
        target = getattr(torch.Tensor, attr)
    try:
        return str(inspect.signature(target))
    except (TypeError, ValueError):
        pass
    if _OVERRIDES is None:
        _OVERRIDES = torch.overrides.get_testing_overrides()
    lam = _OVERRIDES.get(target)
    if lam is not None:
        text = str(inspect.signature(lam))
        return text.replace("(self, ", "(self, ") if namespace == "Tensor" else text
    return ""


def summary(obj: Any, namespace: str, attr: str) -> str:
    """The first sentence line of the op's docstring that is not its signature."""
    doc = (getattr(torch.Tensor, attr, None) if namespace == "Tensor" else obj).__doc__ or ""
    for line in doc.strip().splitlines():
        line = line.strip()
        if not line or line.startswith(f"{attr}(") or "->" in line or line.startswith(".. "):
            continue
        return line
    return ""


def param_names(sig: str) -> list[str]:
    """Positional parameter names from a signature string (``*``/``**`` and after left out;
    a default's commas, as in ``dim=(-2, -1)``, do not split: the loader's own reading)."""
    from gradtui.ops.opinfo import signature_params

    return signature_params(sig)


# --- one op ------------------------------------------------------------------------------


def samples(info: Any) -> Iterator[Any]:
    """The op's small float64 samples (at most :data:`MAX_SAMPLES`), seeded, made lazily."""
    kwargs = {"device": "cpu", "dtype": torch.float64, "requires_grad": True}
    torch.manual_seed(0)
    try:
        found = info.sample_inputs(**kwargs, small_inputs_only=True)
    except TypeError:
        found = info.sample_inputs(**kwargs)
    for k, sample in enumerate(found):
        if k == MAX_SAMPLES:
            return
        yield sample


MAX_SAMPLES = 200
"""How many samples are tried for one that is writable and small (the first one wins)."""


def variants(infos: list[Any]) -> list[Any]:
    """A name's OpInfos in the order their samples are tried: the ``grad`` variant first
    (the one OpInfo keeps for gradient tests, e.g. max_unpool3d's indices that do not
    collide), then op_db's order."""
    return sorted(infos, key=lambda i: i.variant_test_name != "grad")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype or a.layout != b.layout:
            return False
        if a.layout != torch.strided or a.dtype not in (*values.DTYPE_NAMES, *COMPLEX):
            return True  # left out below for its layout or dtype anyway
        return torch.equal(a.detach(), b.detach())
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


COMPLEX = (torch.complex64, torch.complex128)


def _tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def _place(name: str, info: Any, args: list[Any], kwargs: dict[str, Any]) -> tuple | str:
    """Where torch offers the op for this sample: (namespace, attr, obj, args, output)."""
    try:
        torch.manual_seed(0)
        expected = info.op(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - OpInfo's own call may raise anything
        return f"OpInfo's own call fails: {type(exc).__name__}"
    orders = [args] + ([[args[1], args[0], *args[2:]]] if len(args) >= 2 else [])
    for namespace, attr in candidates(name):
        obj = resolve(namespace, attr)
        if obj is None:
            continue
        for order, seed in ((o, s) for o in orders for s in SEEDS):
            try:
                torch.manual_seed(seed)
                got = call(namespace, attr, obj, order, kwargs)
                if not _same(got, expected):
                    continue
                torch.manual_seed(seed + 1)
                again = call(namespace, attr, obj, order, kwargs)
            except Exception:  # noqa: BLE001 - a candidate that does not take the sample
                continue
            if not _same(got, again):
                return "random output (differs from call to call)"
            return namespace, attr, obj, order, got
    return "OpInfo's sample calls a wrapper, not a torch callable"


SEEDS = (0, 42)
"""Seeds under which a candidate is compared with OpInfo's own call (its ``wrapper_set_seed``
seeds 42); a match is then called again under another seed, and an op whose output
changes is random: the engine calls it unseeded, so it is left out."""


TOPICS = {
    "UnaryUfuncInfo": "pointwise, one input",
    "BinaryUfuncInfo": "pointwise, two inputs",
    "ReductionOpInfo": "reductions",
    "SpectralFuncInfo": "spectral",
    "ShapeFuncInfo": "shape",
}
"""A topic from the kind of OpInfo torch files the op under (the picker groups by it);
a plain ``OpInfo`` gets none and is grouped by its namespace alone."""


def wrapper_of(info: Any) -> tuple[str | None, int]:
    """OpInfo's gradcheck wrapper for the op (``hermitian_input``, ``triangular_input``, ...)
    and the index of the argument it acts on, read from torch's own wrapper (a named
    function, or a lambda that calls one with ``idx=``); ``(None, 0)`` for none."""
    fn = info.gradcheck_wrapper
    name = getattr(fn, "__name__", "")
    idx = 0
    if name == "<lambda>":
        code = fn.__code__
        called = [n for n in code.co_names if n.startswith("gradcheck_wrapper_")]
        if not called:
            return None, 0
        name = called[0]
        ints = [c for c in code.co_consts if isinstance(c, int) and not isinstance(c, bool)]
        names = [c for c in code.co_consts if isinstance(c, tuple)] + [code.co_consts]
        idx = ints[0] if ints and any("idx" in n for n in names) else 0
    if not name.startswith("gradcheck_wrapper_"):
        return None, 0
    return name.removeprefix("gradcheck_wrapper_"), idx


def triangular(value: torch.Tensor, wrapper: str, upper: bool) -> torch.Tensor:
    """A sample matrix made a valid input the way OpInfo's triangular wrappers make it: one
    triangle kept and, for ``..._real_positive_diagonal``, a unit diagonal (a Cholesky
    factor). The op then reads exactly what it is given; computed by torch."""
    with torch.no_grad():
        out = value.detach()
        if wrapper.endswith("real_positive_diagonal"):
            diag = out.diagonal(0, -2, -1)
            out = out - torch.diag_embed(diag) + torch.diag_embed(torch.ones_like(diag))
        out = out.triu() if upper else out.tril()
    return out.requires_grad_(value.requires_grad)


def _from_sample(name: str, info: Any, sample: Any) -> dict[str, Any] | str:
    """The record's call and defaults from one sample, or why this sample does not do."""
    found = _place(name, info, [sample.input, *sample.args], dict(sample.kwargs))
    if isinstance(found, str):
        return found
    namespace, attr, obj, args, got = found
    outs = _tensors(got)
    if not outs:
        return "non-tensor output"
    if any(t.layout != torch.strided for t in outs):
        return "sparse output"
    index = next(
        (
            i
            for i, t in enumerate(outs)
            if (t.is_floating_point() or t.is_complex()) and t.requires_grad
        ),
        None,
    )
    if index is None:
        return "no floating-point output (nothing to differentiate)"
    if outs[index].dtype not in (*values.DTYPE_NAMES, *COMPLEX):
        return f"{outs[index].dtype} output"
    wrapper, arg = wrapper_of(info)
    if wrapper is not None and wrapper.startswith("triangular_input"):
        args = list(args)
        args[arg] = triangular(args[arg], wrapper, bool(sample.kwargs.get("upper", False)))
    if wrapper is not None:
        wrapper = f"{wrapper}[{arg}]"
    try:
        inputs = [values.encode(a) for a in args]
        kw = {k: values.encode(v) for k, v in sample.kwargs.items()}
    except values.Unwritable as exc:
        return f"sample not representable in JSON: {exc}"
    if values.numbers([inputs, list(kw.values())]) > MAX_NUMBERS:
        return f"sample too large (over {MAX_NUMBERS} numbers)"
    from gradtui.ops.errors import InputError
    from gradtui.ops.language import parse
    from gradtui.ops.opinfo import literal_text

    for value in values.tensor_records([*inputs, *kw.values()]):
        if "draw" in value:
            continue
        if not value["values"]:
            return "only samples with empty tensors"
        try:
            parse(literal_text(value))
        except InputError as exc:
            return f"sample too large to write as text ({exc.message})"
    method = namespace == "Tensor"
    sig = signature(obj, namespace, attr)
    params = param_names(sig)
    if set(params[: len(inputs)]) & set(kw):
        # a signature that would bind a parameter twice is not the overload the sample
        # calls (Tensor.to(device, dtype, non_blocking, copy, memory_format=)): no names
        params = []
    is_tuple = not isinstance(got, torch.Tensor)
    return {
        "call": f"{namespace}.{attr}",
        "gradcheck_wrapper": wrapper,
        "kind": "property" if method and not callable(obj) else "method" if method else "function",
        "topic": TOPICS.get(type(info).__name__, ""),
        "signature": sig,
        "params": params,
        "summary": summary(obj, namespace, attr),
        "args": inputs,
        "kwargs": kw,
        "output": {
            "index": index if is_tuple else None,
            "of": len(outs) if is_tuple else 1,
            "complex": outs[index].is_complex(),
        },
    }


def _fits(value: torch.Tensor) -> bool:
    """Whether a tensor can be written as a literal in the input language."""
    from gradtui.ops.errors import InputError
    from gradtui.ops.language import parse
    from gradtui.ops.opinfo import literal_text

    if value.numel() > MAX_NUMBERS:
        return False
    keep, values.SIGNIFICANT = values.SIGNIFICANT, min(values.SIGNIFICANTS)
    try:
        parse(literal_text(values.encode(value)["tensor"]))
    except (InputError, values.Unwritable):
        return False
    finally:
        values.SIGNIFICANT = keep
    return True


WRAPPER_DOMAINS = {"ctc_loss": "log_softmax({}, dim=2)"}
"""The projection OpInfo's gradcheck wrapper applies to its argument, written in the input
language (``gradcheck_wrapper_ctc_loss`` calls the op on ``input.log_softmax(dim=2)``): a
drawn input is projected so, as OpInfo's own samples are (log-probabilities)."""


class _Drawn:
    """A sample with each float tensor too large to write replaced by the input language's
    seeded ``randn`` of its shape (float64, as the gradcheck runs), projected onto the op's
    domain where OpInfo's gradcheck wrapper names one (:data:`WRAPPER_DOMAINS`)."""

    def __init__(self, sample: Any, info: Any) -> None:
        wrapper, arg = wrapper_of(info)
        domain = WRAPPER_DOMAINS.get(wrapper or "", "{}")
        self.input = self._draw(sample.input, domain if arg == 0 else "{}")
        self.args = tuple(
            self._draw(a, domain if arg == k + 1 else "{}") for k, a in enumerate(sample.args)
        )
        self.kwargs = {k: self._draw(v, "{}") for k, v in sample.kwargs.items()}
        self.any = any(
            id(v) in values.DRAWN for v in (self.input, *self.args, *self.kwargs.values())
        )

    @staticmethod
    def _draw(value: Any, domain: str) -> Any:
        if not isinstance(value, torch.Tensor) or not value.is_floating_point() or _fits(value):
            return value
        from gradtui.ops.language import tensor_from_text

        text = domain.format("randn(" + ", ".join(str(n) for n in value.shape) + ")")
        drawn = tensor_from_text(text, dtype=torch.float64)
        drawn = drawn.to(value.dtype).requires_grad_(value.requires_grad)
        values.DRAWN[id(drawn)] = text  # the drawn tensor is kept by the sample while it is encoded
        DRAWN_KEEP.append(drawn)  # and here, so its id is not reused
        return drawn


DRAWN_KEEP: list[torch.Tensor] = []


def _drawn_entry(name: str, info: Any) -> dict[str, Any] | None:
    """The first sample that is writable once its too-large float tensors are drawn
    (:class:`_Drawn`) and whose output there is finite; ``None`` if none is."""
    for sample in samples(info):
        drawn = _Drawn(sample, info)
        if not drawn.any:
            continue
        made = _from_sample(name, info, drawn)
        if isinstance(made, dict):
            torch.manual_seed(0)  # OpInfo's own call, which _place found the record's equal
            out = _tensors(info.op(drawn.input, *drawn.args, **drawn.kwargs))
            if all(torch.isfinite(t).all() for t in out if t.is_floating_point()):
                return made
    return None


def entry(name: str, infos: list[Any]) -> dict[str, Any]:
    """One op's record: how to call it and its defaults, or why it is left out.

    The first writable sample wins, taken from the name's OpInfo variants in
    :func:`variants` order; the reason kept is the first variant's first. When every
    sample is too large to write, the first sample whose too-large float tensors can be
    drawn instead (seeded ``randn`` of OpInfo's shape) wins, and the record says so."""
    record: dict[str, Any] = {"name": name}
    first_reason = None
    for info in variants(infos):
        if torch.float64 not in info.supported_dtypes("cpu"):
            first_reason = first_reason or "no float64 support (complex-only or integer-only)"
            continue
        made: dict[str, Any] | str = "no float64 sample"
        try:
            for sample in samples(info):
                for digits in values.SIGNIFICANTS:
                    values.SIGNIFICANT = digits  # read by encode
                    made = _from_sample(name, info, sample)
                    if isinstance(made, dict) or "too large" not in made:
                        break
                if isinstance(made, dict):
                    variant = {"variant": info.variant_test_name} if info.variant_test_name else {}
                    found = {**record, **made, **variant, "aliases": _aliases(name, infos)}
                    return {**found, **string_choices(infos, made["signature"])}
                first_reason = first_reason or made
        except Exception as exc:  # noqa: BLE001 - OpInfo's sample functions raise anything
            first_reason = first_reason or f"its sample function fails: {type(exc).__name__}"
        first_reason = first_reason or made
    if first_reason is not None and "too large" in first_reason:
        for info in variants(infos):
            made = _drawn_entry(name, info)
            if made is not None:
                variant = {"variant": info.variant_test_name} if info.variant_test_name else {}
                return {
                    **record,
                    **made,
                    **variant,
                    "aliases": _aliases(name, infos),
                    "drawn": f"OpInfo's samples are too large to write ({first_reason})",
                }
    return {**record, "left_out": first_reason}


def _aliases(name: str, infos: list[Any]) -> list[str]:
    aliases = {a.name for i in infos for a in getattr(i, "aliases", ())}
    if name.startswith("nn.functional."):
        aliases.add(name.removeprefix("nn.functional."))
    return sorted(aliases - {name})


def torch_expects_gradcheck_failure(infos: list[Any]) -> bool:
    """Whether torch's own OpInfo marks its float64 backward gradcheck of the op
    (``TestBwdGradients``, all of it or ``test_fn_grad``) as an expected failure on CPU."""
    import unittest

    return any(
        getattr(d, "cls_name", None) == "TestBwdGradients"
        and getattr(d, "test_name", None) in (None, "test_fn_grad")
        and getattr(d, "device_type", None) in (None, "cpu")
        and (getattr(d, "dtypes", None) is None or torch.float64 in d.dtypes)
        and unittest.expectedFailure in getattr(d, "decorators", ())
        for info in infos
        for d in info.decorators
    )


def string_choices(infos: list[Any], sig: str) -> dict[str, Any]:
    """``{"choices": {param: [string, ...]}}``: every string any of the op's OpInfo samples
    passes (every variant, every sample, not only the first), by parameter; a positional
    string is named by its place in ``sig`` (the op's signature), and one the signature
    does not name (``torch.einsum(*args)``'s equation) is not recorded. ``{}`` for none.

    The language accepts these strings for that parameter (:func:`ops.spelling.choices`),
    after its hand-written table."""
    from gradtui.ops.opinfo import signature_params

    params = signature_params(sig)
    found: dict[str, set[str]] = {}

    def collect(value: Any, param: str | None) -> None:
        if isinstance(value, str) and param is not None:
            found.setdefault(param, set()).add(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item, param)

    kwargs = {"device": "cpu", "dtype": torch.float64, "requires_grad": True}
    for info in variants(infos):
        torch.manual_seed(0)
        try:
            try:
                made = info.sample_inputs(**kwargs, small_inputs_only=True)
            except TypeError:
                made = info.sample_inputs(**kwargs)
            for sample in made:
                for k, value in enumerate([sample.input, *sample.args]):
                    collect(value, params[k] if k < len(params) else None)
                for key, value in sample.kwargs.items():
                    collect(value, key)
        except Exception:  # noqa: BLE001, S112 - OpInfo's sample functions raise anything
            continue
    return {"choices": {p: sorted(v) for p, v in sorted(found.items())}} if found else {}


def generate() -> dict[str, Any]:
    """The whole data file as a dict (what :data:`OUT` holds)."""
    from torch.testing._internal.common_methods_invocations import op_db

    torch.manual_seed(0)
    names, by_name = kept_names(op_db)
    ops = []
    # Warnings are ignored, so the samples chosen do not depend on the caller's filters
    # (pytest turns some warnings into errors: meshgrid's first sample would then fail).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            torch.manual_seed(0)
            ops.append(entry(name, by_name[name]))
    return {
        "torch": torch.__version__.split("+")[0],
        "autograd_names": len(by_name),
        "public_names": len(names),
        "gradcheck_fails": GRADCHECK_FAILS,
        "torch_expected_gradcheck_failures": [
            op["name"]
            for op in ops
            if "left_out" not in op and torch_expects_gradcheck_failure(by_name[op["name"]])
        ],
        "ops": ops,
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the data file and its doc; with ``--check``, only say whether they are stale.

    Runs with ``PYTHONHASHSEED=0`` (re-executing itself if need be): some of torch's sample
    functions iterate a set of strings (meshgrid's ``{'xy', 'ij'}``), whose order, and so
    the first sample, would otherwise change from run to run."""
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        return subprocess.run([sys.executable, "-m", "tools.gen_opinfo", *argv], env=env).returncode
    data = generate()
    if "--check" in argv:
        readme = README.read_text(encoding="utf-8")
        stale = [
            str(path)
            for path, text in (
                (OUT, dumps(data)),
                (DOC, render_doc(data)),
                (README, render_readme(data, readme)),
            )
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} is stale: run python -m tools.gen_opinfo")
        return 1 if stale else 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dumps(data))
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render_doc(data))
    README.write_text(render_readme(data, README.read_text(encoding="utf-8")), encoding="utf-8")
    left = sum(1 for op in data["ops"] if "left_out" in op)
    print(
        f"wrote {OUT}: {len(data['ops'])} names, {len(data['ops']) - left} opened, {left} left out"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
