"""The model screen's client of the engine: numbered builds, and training that can pause.

A *build* makes a fresh :class:`~ops.model.Trainer` from the texts on screen and takes one
step recorded in detail (each layer's output, the module hooks, every backward node, the
update); it runs on a worker thread within the app's time bound, and a newer build
replaces an older one (an answer for an older number is dropped). *Training* makes a
fresh Trainer from the same texts and takes N lean steps (``Trainer.step(detail=False)``)
on a worker thread, posting its progress; between two steps it honours a pause and a
stop, so Esc, a newer build or the app's exit end it within one step. After the N steps
it takes one more step in detail, so the screen can show the trained model's forward,
backward and update; the screen labels that step honestly (step N+1).

Nothing here imports torch at module level: the worker imports the engine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.dom import DOMNode
from textual.message import Message

from gradtui.ops.errors import InputError
from gradtui.ops.timebound import ComputationTimeout, TimeBound
from gradtui.tui.compute import lower_priority

if TYPE_CHECKING:
    from gradtui.ops.model import ModelConfig, Trainer
    from gradtui.ops.model_results import ModelRun, ModelStep

PAUSE_POLL_S = 0.05
"""How often a paused training loop looks for resume or stop."""


@dataclass
class ModelBuilt(Message):
    """The answer to build ``seq``: a run of one detail step, or the error to show.

    Attributes:
        seq: The build's number (only the newest is shown).
        texts: The form's texts it was built from.
        run: The run so far (its one step recorded in detail).
        error: Why there is no run: the engine's :class:`InputError` (field, column).
    """

    seq: int
    texts: dict[str, str]
    run: ModelRun | None = None
    error: InputError | None = None


@dataclass
class TrainProgress(Message):
    """Training ``seq`` took more steps: every loss so far, the newest lean step."""

    seq: int
    losses: list[float]
    last: ModelStep

    def can_replace(self, message: Message) -> bool:
        """The next progress of the same training carries everything this one does."""
        return isinstance(message, TrainProgress) and message.seq == self.seq


@dataclass
class TrainDone(Message):
    """Training ``seq`` ended: all N steps, stopped early, or refused by torch.

    Attributes:
        losses: The loss of each training step taken.
        run: The run: the lean training steps, then one step in detail (``None`` if it
            stopped or failed before that).
        stopped: Stopped early (Esc, a newer build, the app exiting).
        error: torch refused a step (shown as the screen shows errors).
    """

    seq: int
    texts: dict[str, str]
    steps: int
    losses: list[float] = field(default_factory=list)
    run: ModelRun | None = None
    stopped: bool = False
    error: InputError | None = None


class ModelClient:
    """Builds and trains on worker threads of ``owner`` (the model screen).

    Args:
        owner: Runs the workers and receives :class:`ModelBuilt`, :class:`TrainProgress`
            and :class:`TrainDone`.
        timeout: Seconds a build may take (``0``: no bound); training has no bound of its
            own (it shows its progress, and Esc stops it).
    """

    def __init__(self, owner: DOMNode, timeout: float) -> None:
        self._owner = owner
        self.timeout = timeout
        """Seconds a build may take before it is abandoned (``0``: none)."""
        self.seq = 0
        """The newest build's or training's number."""
        self.building = False
        """Whether the newest build is unanswered."""
        self.training = False
        """Whether a training loop is running (paused or not)."""
        self._dropped = 0  # builds and trainings up to this number were stopped: no answer
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._bound: TimeBound | None = None
        self._threads: list[threading.Thread] = []

    @property
    def paused(self) -> bool:
        """Whether the training loop is paused."""
        return self.training and not self._resume.is_set()

    def build(self, texts: dict[str, str]) -> int:
        """Build the model the form's ``texts`` describe and take one detail step,
        replacing any build or training in flight."""
        self.stop()
        self.seq += 1
        self.building = True
        self._owner.run_worker(
            partial(self._build, self.seq, dict(texts)),
            thread=True,
            group="model-build",
            exit_on_error=False,
        )
        return self.seq

    def train(self, texts: dict[str, str], steps: int) -> int:
        """Train a fresh model from the form's ``texts`` for ``steps`` lean steps, then
        take one in detail."""
        self.stop()
        self.seq += 1
        self.training = True
        self._stop = threading.Event()
        self._resume.set()
        self._owner.run_worker(
            partial(self._train, self.seq, dict(texts), steps, self._stop),
            thread=True,
            group="model-train",
            exit_on_error=False,
        )
        return self.seq

    def toggle_pause(self) -> bool:
        """Pause or resume training; returns whether it is now paused."""
        if not self.training:
            return False
        if self._resume.is_set():
            self._resume.clear()
        else:
            self._resume.set()
        return self.paused

    def stop(self) -> bool:
        """Stop a build or training in flight; returns whether there was one."""
        was = self.building or self.training
        if was:
            self._dropped = self.seq
        self._stop.set()
        self._resume.set()
        if self._bound is not None:
            self._bound.cancel()
        self.building = self.training = False
        return was

    def close(self) -> None:
        """Stop everything: the app is leaving."""
        self.stop()

    def done(self, seq: int) -> bool:
        """Whether an answer for ``seq`` is the newest and was not stopped (to be shown)."""
        return seq == self.seq and seq > self._dropped

    # ----------------------------------------------------------------- inside

    def _build(self, seq: int, texts: dict[str, str]) -> None:
        lower_priority()
        _warm_up()
        bound = TimeBound(self.timeout if self.timeout > 0 else None)
        self._bound = bound
        try:
            run = bound.call(_build_run, texts)
        except ComputationTimeout as exc:
            message = ModelBuilt(seq, texts, error=exc)
        except InputError as exc:
            message = ModelBuilt(seq, texts, error=exc)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
            message = ModelBuilt(
                seq, texts, error=InputError(f"internal error ({type(exc).__name__}): {exc}")
            )
        else:
            message = ModelBuilt(seq, texts, run=run)
        if seq == self.seq:
            self.building = False
        self._owner.post_message(message)

    def _train(self, seq: int, texts: dict[str, str], steps: int, stop: threading.Event) -> None:
        lower_priority()
        _warm_up()
        losses: list[float] = []
        done = TrainDone(seq, texts, steps, losses)
        try:
            from gradtui.ops.model import Trainer
            from gradtui.ops.model_diagnose import WINDOW

            # every number of the last steps the diagnoses read; older ones: loss and norms
            trainer = Trainer(config_from(texts), keep=WINDOW + 1)
            for _ in range(steps):
                while not self._resume.wait(PAUSE_POLL_S):
                    if stop.is_set():
                        break
                if stop.is_set():
                    done.stopped = True
                    break
                step = trainer.step(detail=False)
                losses.append(step.loss)
                self._owner.post_message(TrainProgress(seq, list(losses), step))
            if not done.stopped:
                trainer.step(detail=True)
                done.run = trainer.result()
        except InputError as exc:
            done.error = exc
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
            done.error = InputError(f"internal error ({type(exc).__name__}): {exc}")
        done.losses = list(losses)
        if seq == self.seq:
            self.training = False
        self._owner.post_message(done)


_warm = threading.Lock()
_warmed: list[bool] = []


def _warm_up() -> None:
    """Once a process, before any time bound starts: import the engine and pay torch's
    one-time cost of a first optimizer (it imports ``torch._dynamo``: seconds), which is
    not the build's (:func:`ops.model.warm_up`)."""
    with _warm:
        if _warmed:
            return
        from gradtui.ops.model import warm_up

        warm_up()
        _warmed.append(True)


def _trainer(config: ModelConfig) -> Trainer:
    from gradtui.ops.model import Trainer

    return Trainer(config)


def _build_run(texts: dict[str, str]) -> ModelRun:
    trainer = _trainer(config_from(texts))
    trainer.step(detail=True)
    return trainer.result()


def config_from(texts: dict[str, str]) -> ModelConfig:
    """A :class:`~ops.model.ModelConfig` from the form's texts (l1 and seed parsed here).

    Raises:
        InputError: l1 or seed is not a number (named by its field, with a column).
    """
    from gradtui.ops.model import ModelConfig
    from gradtui.ops.names import DEFAULT_LOSS, DEFAULT_OPTIMIZER

    l1 = _number(texts.get("l1", "0"), "l1", float)
    seed = _number(texts.get("seed", "0"), "seed", int)
    return ModelConfig(
        spec=texts.get("spec", ""),
        data=texts.get("data", ""),
        target=texts.get("target", ""),
        loss=texts.get("loss", "").strip() or DEFAULT_LOSS,
        optimizer=texts.get("optimizer", "").strip() or DEFAULT_OPTIMIZER,
        l1=l1,
        seed=seed,
    )


def steps_from(text: str, limit: int) -> int:
    """The number of training steps in the ``steps`` field.

    Raises:
        InputError: Not a whole number from 1 to ``limit``.
    """
    n = _number(text, "steps", int)
    if not 1 <= n <= limit:
        raise InputError(f"steps must be a whole number from 1 to {limit:,}", field="steps")
    return n


def _number(text: str, name: str, kind: Any) -> Any:
    stripped = text.strip() or "0"
    try:
        value = kind(stripped)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise InputError(
            f"{name} must be {what}, not {stripped[:20]!r}",
            field=name,
            position=len(text) - len(text.lstrip()),
        ) from None
    if kind is float and value != value:  # nan
        raise InputError(f"{name} must be a number, not nan", field=name, position=0)
    return value
