"""The model screen's starting points: the texts of its form, by name.

The picker's seed group and the palette list them (``model: 2-3-1 tanh``); ``model: new``
opens the screen with what it last held (the first preset the first time). They are
texts only: the engine builds and measures them when the screen opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial

FIELDS = ("spec", "data", "target", "loss", "optimizer", "l1", "seed", "steps")
"""The form's fields, in order (``steps``: how many steps ``t`` trains)."""

DATA = "[[1., 2.], [3., -1.], [0., 1.], [-2., 0.5]]"
TARGET = "[[1.], [0.], [2.], [0.5]]"


@dataclass(frozen=True)
class ModelPreset:
    """One starting point.

    Attributes:
        name: Short name, as the picker and palette show it after ``model: ``.
        title: One line on what it shows.
        texts: The form's texts (missing fields keep the defaults of :data:`DEFAULT`).
    """

    name: str
    title: str
    texts: dict[str, str] = field(default_factory=dict)


DEFAULT: dict[str, str] = {
    "spec": "Linear(2, 3) -> Tanh() -> Linear(3, 1)",
    "data": DATA,
    "target": TARGET,
    "loss": "mse_loss",
    "optimizer": "SGD(lr=0.1, momentum=0.9)",
    "l1": "0",
    "seed": "0",
    "steps": "50",
}
"""A 2-3-1 network on four rows of literal data: the screen's first model."""

PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset("2-3-1 tanh", "a 2-3-1 Tanh network, SGD with momentum", {}),
    ModelPreset(
        "2-3-1 relu + L1",
        "ReLU units and an L1 penalty: which weights reach exactly 0",
        {
            "spec": "Linear(2, 3) -> ReLU() -> Linear(3, 1)",
            "optimizer": "SGD(lr=0.1)",
            "l1": "0.05",
        },
    ),
    ModelPreset(
        "2-3-1 adam",
        "the 2-3-1 Tanh network with Adam: exp_avg and exp_avg_sq per weight",
        {"optimizer": "Adam(lr=0.05)"},
    ),
)
"""The presets, in the order the picker and the palette list them."""

PREFIX = "model: "
"""How the picker and the palette name a model entry (no op name has ``": "``)."""
NEW = "new"
"""The entry that opens the screen with what it held (``model: new``)."""


def preset(name: str) -> ModelPreset | None:
    """The preset called ``name``, or ``None``."""
    return next((p for p in PRESETS if p.name == name), None)


def texts_of(p: ModelPreset) -> dict[str, str]:
    """Every field's text for preset ``p``."""
    return {**DEFAULT, **p.texts}


def palette_entries(
    open_model: Callable[..., None],
) -> Iterator[tuple[str, str, Callable[[], object], bool]]:
    """The palette's model entries, ``(title, help, run, listed first)``: ``model: new``
    (listed before anything is typed) and each preset."""
    yield (
        f"{PREFIX}{NEW}",
        "A tiny nn.Sequential: forward, backward, optimizer.step(), training",
        open_model,
        True,
    )
    for p in PRESETS:
        texts: Mapping[str, str] = texts_of(p)
        yield (f"{PREFIX}{p.name}", p.title, partial(open_model, texts), False)
