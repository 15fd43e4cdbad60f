"""Model mode's literal tables: the ``torch.nn`` layers, the optimizers and their keywords.

:mod:`ops.model_spec` parses text against these; a class is found in a dict keyed by the
literal names below, never by ``getattr`` on what was typed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradtui.ops.names import DEFAULT_LOSS, DEFAULT_OPTIMIZER  # noqa: F401 - re-exported

MAX_SPEC_CHARS = 2_000
"""Longest spec, optimizer or loss text taken."""
MAX_LAYERS = 64
"""Most layers in one spec."""
MAX_SIZE = 100_000
"""Largest integer size argument (features, normalized shape)."""
MAX_PARAMETERS = 1_000_000
"""Most parameters a model may have, counted from the spec before anything is built."""

# A kind says what a keyword takes: "size" (an int >= 1), "int" (a small int, e.g. dim),
# "float" (a finite number), "bool", "optional float", "optional int", "shape" (a size or a
# tuple of sizes), "betas" (two floats), or a tuple of the strings allowed.
LAYER_PARAMS: dict[str, tuple[tuple[str, Any], ...]] = {
    "Linear": (("in_features", "size"), ("out_features", "size"), ("bias", "bool")),
    "ReLU": (),
    "LeakyReLU": (("negative_slope", "float"),),
    "ELU": (("alpha", "float"),),
    "GELU": (("approximate", ("none", "tanh")),),
    "SiLU": (),
    "Tanh": (),
    "Sigmoid": (),
    "Softplus": (("beta", "float"), ("threshold", "float")),
    "Softmax": (("dim", "optional int"),),
    "LogSoftmax": (("dim", "optional int"),),
    "Identity": (),
    "Flatten": (("start_dim", "int"), ("end_dim", "int")),
    "LayerNorm": (
        ("normalized_shape", "shape"),
        ("eps", "float"),
        ("elementwise_affine", "bool"),
        ("bias", "bool"),
    ),
    "BatchNorm1d": (
        ("num_features", "size"),
        ("eps", "float"),
        ("momentum", "optional float"),
        ("affine", "bool"),
        ("track_running_stats", "bool"),
    ),
    "Dropout": (("p", "float"),),
}
"""Each layer's keywords, in its constructor's positional order (``inplace``, ``device`` and
``dtype`` are left out: gradtui's module hooks cannot follow an in-place layer, and the model's
dtype is ``--dtype``)."""

LAYERS: dict[str, type[nn.Module]] = {
    "Linear": nn.Linear,
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
    "Softplus": nn.Softplus,
    "Softmax": nn.Softmax,
    "LogSoftmax": nn.LogSoftmax,
    "Identity": nn.Identity,
    "Flatten": nn.Flatten,
    "LayerNorm": nn.LayerNorm,
    "BatchNorm1d": nn.BatchNorm1d,
    "Dropout": nn.Dropout,
}
"""The ``torch.nn`` modules a spec may use, by the names typed."""

OPTIMIZER_PARAMS: dict[str, tuple[tuple[str, Any], ...]] = {
    "SGD": (
        ("lr", "float"),
        ("momentum", "float"),
        ("dampening", "float"),
        ("weight_decay", "float"),
        ("nesterov", "bool"),
        ("maximize", "bool"),
    ),
    "Adam": (
        ("lr", "float"),
        ("betas", "betas"),
        ("eps", "float"),
        ("weight_decay", "float"),
        ("amsgrad", "bool"),
        ("maximize", "bool"),
    ),
    "AdamW": (
        ("lr", "float"),
        ("betas", "betas"),
        ("eps", "float"),
        ("weight_decay", "float"),
        ("amsgrad", "bool"),
        ("maximize", "bool"),
    ),
    "RMSprop": (
        ("lr", "float"),
        ("alpha", "float"),
        ("eps", "float"),
        ("weight_decay", "float"),
        ("momentum", "float"),
        ("centered", "bool"),
        ("maximize", "bool"),
    ),
    "Adagrad": (
        ("lr", "float"),
        ("lr_decay", "float"),
        ("weight_decay", "float"),
        ("initial_accumulator_value", "float"),
        ("eps", "float"),
        ("maximize", "bool"),
    ),
}
"""Each optimizer's keywords, by torch's names (``foreach``, ``fused``, ``capturable`` and
``differentiable`` choose an implementation, not the arithmetic, and are left out)."""

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}
"""The optimizers by the names typed (``optim.SGD`` and ``torch.optim.SGD`` work too)."""


CLASS_INDEX_LOSSES = frozenset({"cross_entropy", "nll_loss", "multi_margin_loss"})
"""Losses whose target may be class indices: an integer target stays integer for these;
every other target is converted to the model's dtype."""
