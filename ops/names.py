"""The words the engine and every front end share, each defined once, without torch.

A front end imports these on its first frame, before torch has loaded (the app paints
first), so this module imports nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DEFAULT_LOSS",
    "DEFAULT_OPTIMIZER",
    "EXPRESSION",
    "GRAD_OUTPUT",
    "LAYERS",
    "OP_NAMESPACES",
    "SEED_CATEGORY",
    "Groups",
    "looks_like_op_name",
]

GRAD_OUTPUT = "v"
"""The input name of the upstream gradient (what ``InputError.field`` calls it)."""
EXPRESSION = "expression"
"""The input name of a custom expression (what ``InputError.field`` calls it)."""

LAYERS = ("d2", "numeric")
"""The plot's optional layers: ``d2`` draws ``Curve.d2f`` (f″), ``numeric`` marks
``Curve.disagree`` (where the numeric derivative disagrees with autograd's f′)."""

SEED_CATEGORY = "seed questions"
"""The catalog's category of the seed page's own ops (listed first); the app's op picker
ends it with the seed page's snippets."""

Groups = Sequence[tuple[str, Sequence[tuple[str, str]]]]
"""The catalog as plain data: ``(category, [(op name, one-line summary), ...])``, seed ops first."""


OP_NAMESPACES = frozenset({"torch", "F", "nn", "linalg", "special", "fft", "masked", "Tensor"})
"""First words of a dotted op name (``linalg.svd``, ``torch.nn.functional.conv2d``,
``F.relu``, ``Tensor.T``); any other dotted text (``x.T``) is an expression."""


def looks_like_op_name(text: str) -> bool:
    """Whether the engine reads ``text`` (stripped) as a catalog op name, not an expression.

    A bare ASCII identifier is an op name (``exp``, or a misspelt ``epx`` that gets a
    suggestion), and so are identifiers joined by dots that start with a torch namespace
    (:data:`OP_NAMESPACES`); anything else (``exp(x)``, ``x * 2``, ``(x)``, ``x.T``) is an
    expression.
    """
    text = text.strip()
    if not text.isascii():
        return False
    parts = text.split(".")
    if len(parts) > 1 and parts[0] not in OP_NAMESPACES:
        return False
    return all(part.isidentifier() for part in parts)


DEFAULT_LOSS = "mse_loss"
"""Model mode's loss when none is named."""
DEFAULT_OPTIMIZER = "SGD(lr=0.1)"
"""Model mode's optimizer when none is given."""
