"""PyTorch's own spelling: the allow-list of torch names, tensor methods and properties.

``torch.sin(x)``, ``F.relu(x)``, ``x.sum(dim=0)``, ``x.T`` and ``x.max(dim=1).values`` are
attribute accesses, and attribute access is how Python sandboxes are escaped
(``x.__class__``, ``x.numpy().tofile(...)``, ``torch.save``). So nothing here looks a name
up on an object the person chose: every table below maps a name typed in the text to a
function built at import time from a literal name in this file. A name that is not a key
is refused by :mod:`ops.syntax` before torch is called, with a line saying why and, for
real torch code gradtui does not take, what to write instead.

Namespaces are prefixes, resolved while parsing: ``torch.``, ``torch.nn.functional.`` (and
its customary alias ``F.``), ``torch.special.``, ``torch.linalg.``, ``torch.fft.``,
``torch.masked.``. The functions listed are pure and differentiable (or comparisons and
index results, which torch records as well): nothing that writes files, sets global
state, draws from torch's global random generator or works in place.

Beyond these hand-typed tables, every op generated from torch's OpInfo database
(:mod:`ops.generated_spelling`) is callable by its torch spelling: :func:`function`,
:func:`method` and :func:`tensor_property` ask the hand tables first and the generated
ones (read from the data file on first use) only for a name the hand tables lack. A
refused name stays refused whatever the data file holds.
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "DTYPES",
    "FIELDS",
    "FUNCTIONS",
    "METHODS",
    "NAMESPACES",
    "PROPERTIES",
    "choices",
    "function",
    "generated",
    "refusal",
    "resolve_prefix",
    "string_pattern",
    "is_tensor_list",
    "tensor_method",
    "tensor_property",
]

# --------------------------------------------------------------------------- namespaces

NAMESPACES: dict[tuple[str, ...], str] = {
    ("torch",): "torch",
    ("torch", "nn", "functional"): "F",
    ("F",): "F",
    ("torch", "special"): "special",
    ("torch", "linalg"): "linalg",
    ("torch", "fft"): "fft",
    ("torch", "masked"): "masked",
}
"""A dotted prefix as typed -> the namespace it names."""

_TORCH_NAMES = (
    "abs absolute acos arccos acosh add addcdiv addcmul addmm addmv addr amax amin "
    "argmax argmin argsort asin arcsin asinh atan arctan atan2 atanh baddbmm bmm "
    "broadcast_to cat cdist ceil clamp clamp_max clamp_min clip clone concat cos cosh "
    "cosine_similarity cross cummax cummin cumprod cumsum deg2rad det detach diag diag_embed "
    "diagflat diagonal diff digamma dist div divide dot dstack einsum eq erf erfc erfinv exp "
    "exp2 expm1 flatten flip fliplr flipud float_power floor fmax fmin fmod frac gather ge "
    "gt heaviside hstack hypot i0 index_select inner kron le lerp lgamma log log10 log1p "
    "log2 log_softmax logaddexp logaddexp2 logcumsumexp logdet logit logsumexp lt "
    "masked_fill masked_select matmul max maximum mean median min minimum mm moveaxis "
    "movedim mul multiply mv nan_to_num nanmean nansum narrow ne neg negative norm outer "
    "permute polygamma pow prod quantile rad2deg reciprocal relu remainder repeat_interleave "
    "reshape roll rot90 round rsqrt select sgn sigmoid sign sin sinc sinh slogdet softmax "
    "sort sqrt square squeeze stack std sub subtract sum t take take_along_dim tan tanh "
    "tensordot tile topk trace transpose trapezoid tril triu true_divide trunc unflatten view_as_real "
    "unsqueeze var vstack where xlogy zeros_like ones_like full_like"
).split()

_F_NAMES = (
    "adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d adaptive_max_pool2d "
    "avg_pool1d avg_pool2d avg_pool3d bilinear binary_cross_entropy "
    "binary_cross_entropy_with_logits celu conv1d conv2d conv3d conv_transpose1d "
    "conv_transpose2d cosine_embedding_loss cosine_similarity cross_entropy elu embedding "
    "fold gaussian_nll_loss gelu glu group_norm hardshrink hardsigmoid hardswish hardtanh "
    "hinge_embedding_loss huber_loss interpolate kl_div l1_loss layer_norm leaky_relu "
    "linear local_response_norm log_softmax logsigmoid lp_pool1d lp_pool2d "
    "margin_ranking_loss max_pool1d max_pool2d max_pool3d mish mse_loss "
    "multi_margin_loss multilabel_margin_loss multilabel_soft_margin_loss nll_loss "
    "normalize one_hot pad pairwise_distance pdist pixel_shuffle pixel_unshuffle "
    "poisson_nll_loss relu relu6 rms_norm selu sigmoid silu smooth_l1_loss soft_margin_loss "
    "softmax softmin softplus softshrink softsign tanh tanhshrink threshold "
    "triplet_margin_loss unfold grid_sample affine_grid"
).split()

_SPECIAL_NAMES = (
    "digamma entr erf erfc erfcx erfinv exp2 expit expm1 gammaln i0 i0e i1 i1e log1p "
    "log_ndtr log_softmax logit logsumexp multigammaln ndtr ndtri polygamma psi round sinc "
    "softmax xlog1py xlogy"
).split()

_LINALG_NAMES = (
    "cholesky cond cross det diagonal eigh eigvalsh householder_product inv lstsq lu_factor "
    "matmul matrix_exp matrix_norm matrix_power multi_dot norm pinv qr slogdet solve svd "
    "svdvals tensorinv tensorsolve vecdot vector_norm"
).split()


def _table(module: Any, names: list[str], prefix: str) -> dict[str, Callable[..., Any]]:
    # getattr over the literal names above, once, at import time: never a name from the text
    return {f"{prefix}.{name}": getattr(module, name) for name in names}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    **_table(torch, _TORCH_NAMES, "torch"),
    **_table(F, _F_NAMES, "F"),
    **_table(torch.special, _SPECIAL_NAMES, "special"),
    **_table(torch.linalg, _LINALG_NAMES, "linalg"),
    "torch.tensor": torch.tensor,  # evaluated as the language's own literal (ops.language)
}
"""``"torch.sum"``, ``"F.relu"``, ``"special.expit"``, ``"linalg.norm"`` -> the function."""

TENSOR_LISTS: frozenset[str] = frozenset(
    {"torch.cat", "torch.concat", "torch.stack", "torch.hstack", "torch.vstack", "torch.dstack"}
    | {"linalg.multi_dot"}
)
"""Functions whose first argument is a list of tensors (``torch.cat([x, y])``); the
generated ops add theirs (:func:`tensor_list_positions`)."""

TENSORS_OR_LIST: frozenset[str] = frozenset(
    {"torch.meshgrid", "torch.atleast_1d", "torch.atleast_2d", "torch.atleast_3d"}
)
"""Functions taking tensors one by one (``*tensors``) or as one list (``torch.meshgrid([x,
y])``, as torch documents them): a list display holding tensors is that list, while a
display of plain numbers stays the language's tensor literal."""

LIST_KEYWORDS: dict[str, frozenset[str]] = {"torch.gradient": frozenset({"spacing"})}
"""Keywords whose value torch takes as a Python list, of numbers or of tensors, never as
one tensor (``torch.gradient(x, spacing=[2.0, 1.5])``; a tensor there is a TypeError)."""


@functools.cache
def generated() -> Any:
    """The generated ops' names (:class:`ops.generated_spelling.Generated`), built on first
    use from the data file, every name this module refuses left out."""
    from gradtui.ops import generated_spelling

    return generated_spelling.build(_refused_generated, frozenset(METHODS))


def _refused_generated(name: str, method: bool) -> bool:
    if name.startswith("_") or name.endswith("_") or name in REFUSED_ATTRIBUTES:
        return True
    return not method and name in _REFUSED_NAMES


def function(key: str) -> Callable[..., Any] | None:
    """The function a key names (``"torch.sum"``, ``"fft.rfft"``): the hand table first,
    then the generated ops (the data file is read only for a key the hand table lacks)."""
    found = FUNCTIONS.get(key)
    if found is None and key.split(".", 1)[0] in _SPACES:
        found = generated().functions.get(key)
    return found


def tensor_method(name: str) -> Callable[..., Any] | None:
    """The unbound tensor method ``x.NAME(...)`` calls, hand table first, or ``None``."""
    found = METHODS.get(name)
    if found is None and name.isidentifier() and refusal_reason(name) is None:
        found = generated().methods.get(name)
    return found


def tensor_property(name: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The function giving ``x.NAME``, hand table first, or ``None``."""
    found = PROPERTIES.get(name)
    if found is None and name.isidentifier() and refusal_reason(name) is None:
        found = generated().properties.get(name)
    return found


def is_tensor_list(key: str, position: int) -> bool:
    """Whether ``key`` takes a list (or tuple) of tensors at ``position``: ``torch.cat`` at
    0 (:data:`TENSOR_LISTS`, :data:`TENSORS_OR_LIST`), and wherever a generated op's OpInfo sample passes one
    (``torch.einsum``'s operands at 1, ``torch.index_put``'s indices at 1). Asked only
    for an argument that is a list, a tuple or a call's result, so the data file is read
    only for such an argument that the hand table does not explain."""
    if position == 0 and (key in TENSOR_LISTS or key in TENSORS_OR_LIST):
        return True
    if key.startswith("Tensor."):
        return False
    return position in generated().tensor_lists.get(key, ())


# --------------------------------------------------------------------------- tensor methods

_METHOD_NAMES = (
    "abs absolute acos acosh add addcdiv addcmul addmm addmv amax amin argmax argmin "
    "argsort asin asinh atan atan2 atanh bmm broadcast_to ceil clamp clamp_max clamp_min "
    "clip clone contiguous cos cosh cross cummax cummin cumprod cumsum deg2rad det detach "
    "diag diag_embed diagonal diff digamma dist div divide dot double eq erf erfc erfinv "
    "exp exp2 expand expand_as expm1 flatten flip fliplr flipud float float_power floor "
    "fmax fmin fmod frac gather ge gt half hypot i0 index_select inner kron le lerp lgamma "
    "log log10 log1p log2 log_softmax logaddexp logcumsumexp logdet logit logsumexp lt "
    "masked_fill masked_select matmul max maximum mean median min minimum mm moveaxis "
    "movedim mul multiply mv nan_to_num nanmean nansum narrow ne neg negative norm outer "
    "permute pow prod rad2deg reciprocal relu remainder repeat repeat_interleave reshape "
    "reshape_as roll rot90 round rsqrt select sgn sigmoid sign sin sinc sinh slogdet "
    "softmax sort sqrt square squeeze std sub subtract sum t take take_along_dim tan tanh "
    "tile to topk trace transpose tril triu true_divide trunc type_as unflatten unsqueeze "
    "var view view_as where xlogy"
).split()

METHODS: dict[str, Callable[..., Any]] = {
    name: getattr(torch.Tensor, name) for name in _METHOD_NAMES
}  # literal names only, as above
"""A tensor method's name -> the unbound method (called as ``METHODS[name](x, ...)``)."""

PROPERTIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "T": lambda t: t.T,
    "mT": lambda t: t.mT,
    "H": lambda t: t.H,
    "mH": lambda t: t.mH,
}
"""Tensor properties that are views of the tensor itself."""

FIELDS: dict[str, Callable[[Any], Any]] = {
    name: operator.attrgetter(name)
    for name in (
        "values indices U S Vh L Q R eigenvalues eigenvectors sign logabsdet solution LU pivots"
    ).split()
}
"""Fields of the named tuples torch returns (``x.max(dim=1).values``), from literal names."""

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "double": torch.float64,
    "float32": torch.float32,
    "float": torch.float32,
    "float16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "long": torch.int64,
    "int32": torch.int32,
    "int": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
"""``torch.float64`` and friends: accepted only as the value of ``dtype=``."""

CONSTANTS: dict[str, str] = {"pi": "pi", "inf": "inf", "nan": "nan"}
"""``torch.pi`` is the language's ``pi`` (and so on)."""

_SPACES = frozenset(NAMESPACES.values())

# --------------------------------------------------------------------------- string choices

_REDUCTION = ("none", "mean", "sum")
_GENERIC_CHOICES: dict[str, tuple[str, ...]] = {
    "reduction": _REDUCTION,
    "approximate": ("none", "tanh"),
    "rounding_mode": ("trunc", "floor"),
    "interpolation": ("linear", "lower", "higher", "midpoint", "nearest"),
    "UPLO": ("L", "U"),
}
_CONV_PADDING = {"padding": ("valid", "same")}
_FUNCTION_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "F.kl_div": {"reduction": (*_REDUCTION, "batchmean")},
    "F.pad": {"mode": ("constant", "reflect", "replicate", "circular")},
    "F.interpolate": {
        "mode": ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
    },
    "F.grid_sample": {
        "mode": ("bilinear", "nearest", "bicubic"),
        "padding_mode": ("zeros", "border", "reflection"),
    },
    "F.conv1d": _CONV_PADDING,
    "F.conv2d": _CONV_PADDING,
    "F.conv3d": _CONV_PADDING,
    "torch.norm": {"p": ("fro", "nuc")},
    "Tensor.norm": {"p": ("fro", "nuc")},
    "linalg.norm": {"ord": ("fro", "nuc")},
    "linalg.matrix_norm": {"ord": ("fro", "nuc")},
    "linalg.cond": {"p": ("fro", "nuc")},
    "linalg.qr": {"mode": ("reduced", "complete", "r")},
    "torch.cdist": {
        "compute_mode": (
            "use_mm_for_euclid_dist_if_necessary",
            "use_mm_for_euclid_dist",
            "donot_use_mm_for_euclid_dist",
        )
    },
}


_FFT_NORM = {"norm": ("backward", "ortho", "forward")}  # torch.fft's documented modes
_FUNCTION_CHOICES.update(
    {
        f"fft.{name}": _FFT_NORM
        for name in (
            "fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn "
            "hfft ihfft hfft2 ihfft2 hfftn ihfftn"
        ).split()
    }
)


def positional_param(function: str, position: int) -> str | None:
    """The parameter a positional string at ``position`` binds to: the function's only
    parameter with hand-typed choices (``F.pad(x, (1, 1), 'reflect')``), else the one the
    generated op's signature names there (``F.grid_sample(x, g, 'nearest')``: mode)."""
    own = _FUNCTION_CHOICES.get(function, {})
    if len(own) == 1:
        return next(iter(own))
    from gradtui.ops.generated_spelling import param_at

    return param_at(generated(), function, position, method=function.startswith("Tensor."))


def signature_param(function: str, position: int) -> str | None:
    """The parameter a positional argument binds to by the generated op's signature
    (``Tensor.to``'s first after the tensor is ``dtype``), or ``None``."""
    from gradtui.ops.generated_spelling import param_at

    return param_at(generated(), function, position, method=function.startswith("Tensor."))


def choices(function: str, param: str | None, position: int = 0) -> tuple[str, ...] | None:
    """The strings accepted for ``param`` of ``function`` (``"F.mse_loss"``,
    ``"Tensor.norm"``), or ``None`` where the parameter takes no string: the hand table
    first, then every string OpInfo's samples pass for that parameter (measured by
    ``tools.gen_opinfo`` from the installed torch). Torch checks the string again itself.

    ``param=None`` is a positional string at ``position`` (after the tensor, for a
    method): it binds by :func:`positional_param`.
    """
    if param is None:
        param = positional_param(function, position)
        if param is None:
            return None
    own = _FUNCTION_CHOICES.get(function, {})
    found = own.get(param) or _GENERIC_CHOICES.get(param)
    if found is None:
        from gradtui.ops.generated_spelling import choices_of

        found = choices_of(generated(), function, method=function.startswith("Tensor.")).get(param)
    return found


def string_params(function: str) -> list[str]:
    """The parameters of ``function`` that take a string (by hand or measured), for a message."""
    from gradtui.ops.generated_spelling import choices_of

    measured = choices_of(generated(), function, method=function.startswith("Tensor."))
    return sorted({*_FUNCTION_CHOICES.get(function, {}), *measured})


EINSUM_TERM = r"[A-Za-z]*(?:\.\.\.)?[A-Za-z]*"
_EINSUM = re.compile(rf"{EINSUM_TERM}(?:,{EINSUM_TERM})*(?:->{EINSUM_TERM})?")
STRING_PATTERNS: dict[tuple[str, int], tuple[re.Pattern[str], str]] = {
    ("torch.einsum", 0): (
        _EINSUM,
        "an einsum equation: letters, commas, '->', '...' and spaces, as in 'ij,jk->ik'",
    ),
}
"""Strings checked by a grammar rather than a list of choices: (function, position) ->
(the pattern, spaces removed, and what it accepts in words)."""


def string_pattern(function: str, position: int | None) -> tuple[re.Pattern[str], str] | None:
    """The grammar a positional string of ``function`` at ``position`` must follow, if any."""
    return None if position is None else STRING_PATTERNS.get((function, position))


# --------------------------------------------------------------------------- refusals

REFUSED_KEYWORDS: dict[str, str] = {
    "out": "out= writes into an existing tensor; leave it out and use the result",
    "inplace": "in-place ops are not allowed in an expression; leave out inplace=True",
    "generator": "generator= is not taken; rand(...) and randn(...) are seeded for you",
    "device": "device= is not taken: gradtui computes on the CPU",
    "layout": "layout= is not taken",
    "pin_memory": "pin_memory= is not taken",
    "memory_format": "memory_format= is not taken",
    "non_blocking": "non_blocking= is not taken",
    "copy": "copy= is not taken",
}
"""Keywords torch has that an expression may not use (``inplace=False`` is allowed)."""

_FILES = "reads or writes files; an expression never touches files"
_GLOBAL = "sets torch's global state; an expression may not change anything outside itself"
_RANDOM = (
    "draws from torch's global random generator; use rand(...) or randn(...), "
    "which are seeded so a run repeats"
)
_REFUSED_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("save", "load", "from_file", "serialization", "storage", "UntypedStorage"), _FILES
    ),
    **dict.fromkeys(
        (
            "set_default_dtype set_default_device set_default_tensor_type manual_seed seed "
            "set_rng_state set_grad_enabled set_printoptions use_deterministic_algorithms "
            "set_num_threads set_num_interop_threads set_flush_denormal set_anomaly_enabled "
            "set_warn_always no_grad enable_grad inference_mode"
        ).split(),
        _GLOBAL,
    ),
    **dict.fromkeys(
        (
            "rand_like randn_like randint randint_like randperm bernoulli multinomial normal "
            "poisson dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout "
            "gumbel_softmax rrelu fractional_max_pool2d fractional_max_pool3d"
        ).split(),
        _RANDOM,
    ),
    **dict.fromkeys(
        "ops hub library jit compile fx export onnx package utils cuda backends distributed "
        "multiprocessing autograd classes overrides testing".split(),
        "is a torch subsystem, not a function of tensors; it is not part of the language",
    ),
    "batch_norm": "updates running statistics in place; write the normalisation out, e.g. "
    "(x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5).sqrt()",
    "instance_norm": "may update running statistics in place; it is not part of the language",
    "native_batch_norm": "updates running statistics in place (with training=True); write the "
    "normalisation out, e.g. (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5).sqrt()",
}
"""Names under a torch namespace that are refused, with why."""

_DETACHED = "leaves autograd's record"
REFUSED_ATTRIBUTES: dict[str, str] = {
    "data": f".data {_DETACHED}; write x.detach() for a copy without history",
    "grad": "gradtui shows gradients itself; .grad is not part of an expression",
    "grad_fn": "gradtui shows grad_fn nodes in the backward stepper; not in an expression",
    "storage": "storage is raw memory and can map files; an expression never touches files",
    "untyped_storage": "storage is raw memory and can map files; an expression never touches files",
    "numpy": "a numpy array leaves torch (and can write files); stay with tensors",
    "tolist": "Python lists leave torch; stay with tensors",
    "item": "Python numbers leave torch; stay with tensors (a 0-d tensor works everywhere)",
    "register_hook": "hooks run code during backward; gradtui records backward itself",
    "register_post_accumulate_grad_hook": "hooks run code during backward",
    "retain_grad": "gradtui records every gradient already",
    "backward": "gradtui runs backward itself (see --grad-output for the upstream grad)",
    "apply_": "apply_ runs a Python function on each element; it is not allowed",
    "map_": "map_ runs a Python function on each element; it is not allowed",
    "requires_grad_": "gradtui decides which inputs require grad",
    "tofile": _FILES,
    "cuda": "gradtui computes on the CPU",
    "cpu": "gradtui computes on the CPU already",
    "share_memory_": _FILES,
}
"""Tensor attributes refused with a reason (dunders and ``_private`` ones always are)."""

_OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def refusal(name: str, *, method: bool) -> str | None:
    """Why the attribute ``name`` is refused on a tensor, or ``None`` if it is allowed."""
    reason = refusal_reason(name)
    if reason is not None:
        return reason
    if method and name in METHODS:
        return None
    if not method and (name in PROPERTIES or name in FIELDS):
        return None
    if method and tensor_method(name) is not None:
        return None
    if not method and tensor_property(name) is not None:
        return None
    if not method and tensor_method(name) is not None:
        return f"x.{name} is a method: call it, as in x.{name}()"
    if method and tensor_property(name) is not None:
        return f"x.{name} is a property: write x.{name}, without ()"
    if method and name in FIELDS:
        return f".{name} is a field of a named tuple: write .{name}, without ()"
    gen = generated()
    known = [*METHODS, *PROPERTIES, *FIELDS, *gen.methods, *gen.properties]
    close = difflib.get_close_matches(name, known, n=1) if len(name) <= 40 else []
    hint = f"; did you mean '.{close[0]}'?" if close else ""
    return f"it is not a tensor method gradtui takes{hint}"


def refusal_reason(name: str) -> str | None:
    """Why a tensor attribute is refused whatever the tables hold: ``_`` names, the
    refused attributes, in-place ops."""
    if name.startswith("_"):
        return "names starting with '_' are not allowed"
    if name in REFUSED_ATTRIBUTES:
        return REFUSED_ATTRIBUTES[name]
    if name.endswith("_"):
        return in_place(name, "x")
    return None


def in_place(name: str, receiver: str) -> str:
    """The message for an in-place op, saying what to write instead."""
    base = name.rstrip("_")
    if base in METHODS or (base.isidentifier() and tensor_method(base) is not None):
        symbol = _OPERATORS.get(base)
        alt = f" or {receiver} {symbol} 1" if symbol else ""
        example = "1" if symbol else "..."
        return (
            f"in-place ops are not allowed in an expression; write "
            f"{receiver}.{base}({example}){alt}"
        )
    return "in-place ops are not allowed in an expression"


def resolve_prefix(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """``("torch", "nn", "functional", "relu")`` -> ``("F", "relu")``: the namespace and the
    name after the longest known prefix, or ``None`` when ``parts`` does not start with one."""
    for cut in range(len(parts) - 1, 0, -1):
        space = NAMESPACES.get(parts[:cut])
        if space is not None and cut == len(parts) - 1:
            return space, parts[cut]
    return None


def namespace_refusal(parts: tuple[str, ...]) -> str:
    """Why a dotted name that is not an allowed function is refused."""
    dotted = ".".join(parts)
    for part in parts:
        if part.startswith("_"):
            return f"'{dotted}': names starting with '_' are not allowed"
    for part in parts[1:]:
        if part in _REFUSED_NAMES:
            return f"'{dotted}' is not allowed: it {_REFUSED_NAMES[part]}"
    last = parts[-1]
    if last.endswith("_"):
        pure = ".".join((*parts[:-1], last.rstrip("_")))
        resolved = resolve_prefix((*parts[:-1], last.rstrip("_")))
        if resolved is not None and function(f"{resolved[0]}.{resolved[1]}") is not None:
            return f"'{dotted}': in-place ops are not allowed in an expression; write {pure}(...)"
        return f"'{dotted}': in-place ops are not allowed in an expression"
    if parts[0] == "torch" and len(parts) == 2 and last in DTYPES:
        return f"'{dotted}' is a dtype: it is only allowed as dtype=..."
    resolved = resolve_prefix(parts)
    if resolved is None:
        known = ", ".join(
            [
                "torch.",
                "torch.nn.functional. (F.)",
                "torch.special.",
                "torch.linalg.",
                "torch.fft.",
                "torch.masked.",
            ]
        )
        return f"'{dotted}' is not a namespace gradtui takes (it takes {known})"
    space, name = resolved
    keys = [*FUNCTIONS, *generated().functions]
    names = [key.split(".", 1)[1] for key in keys if key.startswith(space + ".")]
    close = difflib.get_close_matches(name, names, n=1) if len(name) <= 40 else []
    hint = f"; did you mean '{'.'.join(parts[:-1])}.{close[0]}'?" if close else ""
    return f"'{dotted}' is not a function gradtui takes{hint}"


def is_random_or_global(name: str) -> str | None:
    """Why a bare ``torch.X`` name is refused, if it is one of the refused names."""
    return _REFUSED_NAMES.get(name)
