"""A time bound for one computation: the caller gets an answer or a clear refusal in time.

The language bounds sizes before any work (:data:`ops.source.MAX_ELEMENTS` and friends),
but allowed work can still be slow: a chain of large matrix products, a curve of many
points through one. Torch cannot be interrupted from outside, so the bound works in two
halves:

* **The caller stops waiting.** :meth:`TimeBound.call` runs the work in a daemon worker
  thread and waits on an event with a timeout. Torch releases the GIL inside its kernels
  and the engine's Python code yields it every few milliseconds, so the wait ends on time
  even while the worker computes. On time-out the caller gets :class:`ComputationTimeout`
  (an :class:`~ops.errors.InputError`: the front ends already show those, and the CLI
  exits 2 with one ``error:`` line).
* **The worker stops working.** The engine calls :func:`check` at its natural step
  boundaries (each node of an expression, each point of a curve's Python loops). Once
  the bound has expired or was cancelled, :func:`check` raises :class:`Abandoned`, which
  derives from ``BaseException`` so that no ``except Exception`` on the way (the engine
  has several, for torch's own refusals) can swallow it. The worker ends at its next
  step boundary, freeing its CPU and memory; a single torch call in flight finishes first
  (each is bounded in size by the language's element cap).

The default bound is :data:`DEFAULT_TIMEOUT_S` seconds; the environment variable
``GRADTUI_TIMEOUT`` overrides it (``0`` or ``inf``: no bound), and so does an explicit
``timeout=`` (the CLI's ``--timeout``). This module imports no torch, so a front end can
use it before the engine has loaded.
"""

from __future__ import annotations

import atexit
import contextvars
import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from gradtui.ops.errors import InputError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ENV_VAR",
    "Abandoned",
    "ComputationTimeout",
    "TimeBound",
    "active",
    "check",
    "join_abandoned",
    "resolve_timeout",
]

DEFAULT_TIMEOUT_S: float = 5.0
"""Seconds one computation may take before it is abandoned (when nothing else is set)."""
ENV_VAR: str = "GRADTUI_TIMEOUT"
"""Environment variable that overrides :data:`DEFAULT_TIMEOUT_S` (seconds; 0 or inf: none)."""

T = TypeVar("T")
_current: contextvars.ContextVar[TimeBound | None] = contextvars.ContextVar(
    "gradtui_time_bound", default=None
)
_names = itertools.count(1)
_abandoned: set[threading.Thread] = set()
_abandoned_lock = threading.Lock()
EXIT_GRACE_S: float = 5.0
"""At interpreter exit, how long to wait for abandoned workers to reach a step boundary."""


class ComputationTimeout(InputError):
    """The computation ran past its time bound and was abandoned.

    An :class:`~ops.errors.InputError` because, like one, it is an answer to what the
    person asked for (something smaller or simpler will run), not a crash.

    Attributes:
        seconds: The bound that was exceeded.
        cancelled: True when the computation was cancelled (:meth:`TimeBound.cancel`)
            before its bound expired.
    """

    def __init__(self, seconds: float, *, cancelled: bool = False):
        self.seconds = seconds
        self.cancelled = cancelled
        if cancelled:
            message = "computation cancelled; abandoned"
        else:
            message = (
                f"computation took longer than {seconds:g} s; abandoned "
                f"(set a longer bound with --timeout or {ENV_VAR})"
            )
        super().__init__(message, field=None)


class Abandoned(BaseException):  # noqa: N818 - a signal to stop, like KeyboardInterrupt
    """Raised by :func:`check` inside a computation whose bound expired or was cancelled.

    A ``BaseException`` so the engine's ``except Exception`` blocks let it through; only
    :meth:`TimeBound.call`'s worker catches it. Code outside a bound never sees it.
    """


def resolve_timeout(timeout: float | None = None) -> float | None:
    """The bound in seconds to use: ``timeout`` if given, else ``GRADTUI_TIMEOUT``, else
    :data:`DEFAULT_TIMEOUT_S`.

    Args:
        timeout: Seconds; ``None`` for the default. ``0`` or ``inf`` mean no bound.

    Returns:
        Positive finite seconds, or ``None`` for no bound.

    Raises:
        InputError: A negative or NaN bound, or a ``GRADTUI_TIMEOUT`` that is not a number.
    """
    source = "timeout"
    if timeout is None:
        text = os.environ.get(ENV_VAR, "").strip()
        if not text:
            return DEFAULT_TIMEOUT_S
        source = ENV_VAR
        try:
            timeout = float(text)
        except ValueError:
            raise InputError(
                f"{ENV_VAR} must be a number of seconds, not {text[:40]!r}", field="timeout"
            ) from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise InputError(f"{source} must be a number of seconds", field="timeout")
    if math.isnan(timeout) or timeout < 0:
        raise InputError(f"{source} must be 0 (no bound) or more seconds", field="timeout")
    if timeout == 0 or math.isinf(timeout):
        return None
    return float(timeout)


def active() -> TimeBound | None:
    """The bound the current thread computes under, if any."""
    return _current.get()


def check() -> None:
    """Raise :class:`Abandoned` if the current computation's bound has expired or been cancelled.

    Cheap (a context-variable lookup and a clock read); the engine calls it at each
    step boundary. Outside a bound it does nothing.
    """
    bound = _current.get()
    if bound is not None and bound.stopped():
        raise Abandoned


class TimeBound:
    """A time limit for one computation, enforced for the caller and honoured by the engine.

    Example::

        bound = TimeBound(DEFAULT_TIMEOUT_S)
        result = bound.call(gradtui.ops.run.run, "x @ x", {"x": "ones(1000, 1000)"})
        # ... from another thread, e.g. when the person edits again:
        bound.cancel()

    A bound is used for one :meth:`call` at a time. Calls nest: work started inside a
    bound also stops when the outer bound does.

    Args:
        seconds: The limit; ``None`` reads ``GRADTUI_TIMEOUT`` or uses
            :data:`DEFAULT_TIMEOUT_S`; ``0`` or ``inf`` means no limit (still cancellable).
    """

    def __init__(self, seconds: float | None = None):
        self.seconds = resolve_timeout(seconds)
        self.deadline: float | None = None
        self._cancelled = threading.Event()
        self._parent: TimeBound | None = None

    def cancel(self) -> None:
        """Ask the computation to stop at its next step boundary (its caller gets a timeout)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called, or the caller gave up waiting."""
        return self._cancelled.is_set()

    def stopped(self) -> bool:
        """Whether the computation should stop now: cancelled, past its deadline, or its parent is."""
        if self._cancelled.is_set():
            return True
        if self.deadline is not None and time.monotonic() > self.deadline:
            return True
        return self._parent is not None and self._parent.stopped()

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread, returned or raised within the bound.

        Returns:
            What ``fn`` returned.

        Raises:
            ComputationTimeout: The bound expired (or :meth:`cancel` was called) first;
                the worker is told to stop and is left to end on its own.
            BaseException: Whatever ``fn`` raised, re-raised here.
        """
        self._parent = _current.get()
        self.deadline = None if self.seconds is None else time.monotonic() + self.seconds
        done = threading.Event()
        box: dict[str, Any] = {}

        def work() -> None:
            _current.set(self)
            try:
                box["value"] = fn(*args, **kwargs)
            except Abandoned:
                box["abandoned"] = True
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=work, name=f"gradtui-bound-{next(_names)}", daemon=True)
        worker.start()
        try:
            finished = self._wait(done)
        except BaseException:  # Ctrl-C while waiting: stop the worker too
            self.cancel()
            raise
        if not finished or "abandoned" in box:
            if worker.is_alive():
                with _abandoned_lock:
                    _abandoned.add(worker)
            expired = self.deadline is not None and time.monotonic() >= self.deadline
            by_request = self.cancelled and not expired
            self.cancel()
            raise ComputationTimeout(self.seconds or 0.0, cancelled=by_request)
        if "error" in box:
            error = box.pop("error")
            try:
                raise error
            finally:
                del error
        return box["value"]

    def _wait(self, done: threading.Event) -> bool:
        """Wait for ``done`` until the deadline, waking to notice a cancel or a parent's stop."""
        while True:
            left = None if self.deadline is None else self.deadline - time.monotonic()
            if left is not None and left <= 0:
                return done.is_set()
            if done.wait(0.05 if left is None else min(left, 0.05)):
                return True
            if self.cancelled or (self._parent is not None and self._parent.stopped()):
                return done.is_set()


def join_abandoned(timeout: float = EXIT_GRACE_S) -> bool:
    """Wait up to ``timeout`` seconds for abandoned workers to stop; True if none is left.

    A worker told to stop ends at its next step boundary, usually within one torch call.
    A process must not exit while one is still inside torch: the interpreter's shutdown
    would pull torch's thread pool from under it (``terminate called without an active
    exception``). This runs at exit (``atexit``); a front end that exits by other means
    calls it first, and if it returns False, ends the process with ``os._exit``.
    """
    deadline = time.monotonic() + max(timeout, 0.0)
    with _abandoned_lock:
        workers = list(_abandoned)
    for worker in workers:
        worker.join(max(deadline - time.monotonic(), 0.0))
    with _abandoned_lock:
        _abandoned.difference_update(w for w in workers if not w.is_alive())
        return not any(w.is_alive() for w in _abandoned)


atexit.register(join_abandoned)
