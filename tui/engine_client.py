"""The explorer's client of the engine: numbered requests, abandonment and a time bound.

Every computation is a numbered request. A newer request stops the older computation
(at the engine's next step boundary) and any answer that arrives for an older number is
dropped, so the screen always shows the newest edit. A request still unanswered after
:attr:`EngineClient.timeout` seconds, or cancelled with Esc, is abandoned: the engine is
told to stop, and the screen keeps the last good result and says why.

The client owns the scheduling state; what the person sees is the view's business
(:class:`EngineView`, implemented by the explorer screen). Workers, timers and the
answers (:mod:`tui.messages`) run on and go to the client's owner, a Textual node.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol

from textual.dom import DOMNode
from textual.timer import Timer
from textual.worker import get_current_worker

from gradtui.ops.errors import InputError
from gradtui.ops.timebound import DEFAULT_TIMEOUT_S, ComputationTimeout, TimeBound, resolve_timeout
from gradtui.tui.compute import FullCollections, compute, load_engine, lower_priority
from gradtui.tui.messages import Catalog, EngineFailed, EngineLoaded, Request

COMPUTING_AFTER_S = 0.3
"""A computation running longer than this is shown as running ("computing… 1.2 s — Esc cancels")."""


def app_timeout(timeout: float | None) -> float:
    """The app's bound in seconds: ``timeout``, or ``GRADTUI_TIMEOUT``, or the engine's default.

    ``0`` means no bound. A ``GRADTUI_TIMEOUT`` that is not a number, which the engine
    refuses, gives the app the default (:data:`ops.timebound.DEFAULT_TIMEOUT_S`).
    """
    if timeout is not None:
        return timeout
    try:
        return resolve_timeout(None) or 0.0
    except InputError:  # a GRADTUI_TIMEOUT that is not a number: the default
        return DEFAULT_TIMEOUT_S


class EngineView(Protocol):
    """What the client tells the screen about the computation in flight."""

    def show_computing(self, seconds: float, *, first: bool, result_shown: bool) -> None:
        """The newest request has run ``seconds`` (``first``: the first time it is said)."""

    def done_computing(self) -> None:
        """The request said to be running was answered or given up."""

    def show_abandoned(self, why: str, *, curve_only: bool) -> None:
        """The newest request was given up (``curve_only``: its result is on screen)."""


class EngineClient:
    """Sends requests to the engine on worker threads and keeps their numbers.

    Args:
        owner: The Textual node whose workers and timers run the requests and to which
            the answers are posted (the explorer screen).
        view: Told when a computation runs long, ends, or is abandoned.
        timeout: Seconds one computation (its result and its curve) may take before it
            is abandoned; ``0``: no bound. This is the only bound inside the app (the
            engine's own bounds nest in it), so it also applies to the curve.
    """

    def __init__(self, owner: DOMNode, view: EngineView, timeout: float) -> None:
        self._owner = owner
        self._view = view
        self.timeout = timeout
        """Seconds a computation may take before the app abandons it and says so."""
        self.catalog = Catalog()
        """The engine's catalog (empty until torch has loaded)."""
        self._ready = threading.Event()
        self.error: str | None = None
        """Why the engine could not be loaded, or ``None``."""
        self.seq = 0
        """The newest request's number."""
        self.done_seq = 0
        """The newest request answered (or given up)."""
        self.abandoned = 0
        """The last request given up: its late answers are dropped."""
        self.result_seq = 0
        """The request whose result is on screen (its curve may still be coming)."""
        self._bounds: dict[int, TimeBound] = {}
        """The engine bound of each computation in flight, by request number, to stop it early."""
        self._sent = 0.0
        """When the newest request was sent (``time.monotonic()``)."""
        self._started: dict[int, float] = {}
        """When each request's computation began (after torch loaded), by request number:
        the time bound counts from here, never from the send (torch's import is not the
        computation's time)."""
        self._progress: Timer | None = None
        """Ticks while a request is unanswered, to say how long it has run."""
        self.computing = False
        """Whether the screen says a computation is running (and Esc cancels it)."""
        self.full_gc = FullCollections()
        """Holds the garbage collector's full passes back while a request is unanswered."""

    # ------------------------------------------------------------ the engine

    @property
    def ready(self) -> bool:
        """Whether the engine has loaded (or failed to: see :attr:`error`)."""
        return self._ready.is_set()

    def load(self) -> None:
        """Import torch and the engine on a worker thread; the owner gets the outcome."""
        self._owner.run_worker(self._load, thread=True, group="load", exit_on_error=False)

    def _load(self) -> None:
        """Import torch and the engine off the UI thread, then hand over the catalog."""
        try:
            catalog = load_engine()
        except Exception as exc:  # noqa: BLE001 - a broken install is shown, not raised
            self.error = f"cannot load the engine: {type(exc).__name__}: {exc}"
            self._ready.set()
            self._owner.post_message(EngineFailed(self.error))
            return
        # Set before the event: the first computation reads it on its own thread.
        self.catalog = catalog
        self._ready.set()
        self._owner.post_message(EngineLoaded(catalog))
        # Help's modules (Markdown and its parser) too, here rather than on the first ``?``.
        import gradtui.tui.help  # noqa: F401

    # -------------------------------------------------------------- requests

    def send(
        self,
        target: str,
        texts: dict[str, str],
        v_text: str,
        *,
        second: bool,
        reset: bool,
        var: str | None,
        expression: bool,
    ) -> Request:
        """Send a request to the engine, replacing (and stopping) any older one."""
        self.seq += 1
        self.stop(before=self.seq)
        req = Request(self.seq, target, texts, v_text, second, reset, var, expression)
        for old in [seq for seq in list(self._started) if seq < self.seq]:
            self._started.pop(old, None)
        self._owner.run_worker(
            partial(self._compute, req),
            thread=True,
            exclusive=True,
            group="compute",
            exit_on_error=False,
        )
        if self.timeout > 0:
            self._owner.set_timer(self.timeout, partial(self.check_timeout, self.seq))
        self._sent = time.monotonic()
        self.full_gc.hold()
        if self._progress is None:
            self._progress = self._owner.set_interval(0.1, self._show_progress)
        return req

    def is_current(self, seq: int) -> bool:
        """Whether an answer for request ``seq`` is to be shown (it is newest, not given up)."""
        return seq == self.seq and seq != self.abandoned

    def answered(self, seq: int) -> None:
        """Request ``seq`` has its last answer on screen: stop saying it runs."""
        self.done_seq = seq
        self._end_progress()

    @property
    def idle(self) -> bool:
        """Whether the newest request has been answered and drawn."""
        return self._ready.is_set() and self.done_seq == self.seq

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until the newest request has been answered and drawn."""
        deadline = time.monotonic() + timeout
        while not self.idle or self.error is not None:
            if self.error is not None and self._ready.is_set():
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the engine did not answer in time")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)

    def _show_progress(self) -> None:
        """While the newest request runs past :data:`COMPUTING_AFTER_S`, say so, with its time."""
        if self.done_seq >= self.seq:
            self._end_progress()
            return
        if not self._ready.is_set() or self.error is not None:
            return  # the status line says torch is loading
        seconds = time.monotonic() - self._started.get(self.seq, self._sent)
        if seconds < COMPUTING_AFTER_S and not self.computing:
            return
        first = not self.computing
        self.computing = True
        self._view.show_computing(seconds, first=first, result_shown=self.result_seq == self.seq)

    def _end_progress(self) -> None:
        """The newest request was answered or given up: stop saying it runs."""
        self.full_gc.release()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.computing:
            self.computing = False
            self._view.done_computing()

    # ----------------------------------------------------- giving up on work

    def check_timeout(self, seq: int) -> None:
        """Give up on request ``seq`` if it is still the newest, unanswered, and has computed
        for :attr:`timeout` seconds; if it began later than sent (it waited for torch to
        load), look again when its own time is up."""
        if seq != self.seq or self.done_seq >= seq or self.timeout <= 0:
            return
        started = self._started.get(seq)
        if started is None:  # still waiting for the engine: the bound has not begun
            if self.error is None:
                self._owner.set_timer(self.timeout, partial(self.check_timeout, seq))
            return
        left = started + self.timeout - time.monotonic()
        if left > 0:
            self._owner.set_timer(left, partial(self.check_timeout, seq))
            return
        self.time_up(seq)

    def time_up(self, seq: int) -> None:
        """Give up on request ``seq`` now, as when its bound has run out (if it is still the
        newest and unanswered)."""
        if seq != self.seq or self.done_seq >= seq:
            return
        self._abandon(f"gave up after {self.timeout:g} s: this computation was abandoned")

    def cancel(self) -> bool:
        """Stop the running computation (Esc while the screen says it runs).

        Returns:
            Whether there was a computation to cancel.
        """
        if not self.computing:
            return False
        started = self._started.get(self.seq, self._sent)
        self._abandon(f"cancelled after {time.monotonic() - started:.1f} s (Esc)")
        return True

    def _abandon(self, why: str) -> None:
        """Give up on the newest request: stop it, and have the view say ``why``."""
        seq = self.seq
        self.abandoned = seq
        self.done_seq = seq
        self.stop(before=seq + 1)
        self._end_progress()
        self._view.show_abandoned(why, curve_only=self.result_seq == seq)

    def stop(self, before: int | None = None) -> None:
        """Tell the computations older than request ``before`` (or all) to stop.

        Each stops at the engine's next step boundary, so a superseded or abandoned
        computation stops taking CPU from the newest one, and an exiting app does not
        wait for a runaway one.
        """
        for seq, bound in list(self._bounds.items()):
            if before is None or seq < before:
                bound.cancel()

    def close(self) -> None:
        """Stop every computation in flight: the process should not wait for them to finish."""
        self.stop()
        self.full_gc.release()

    def _compute(self, req: Request) -> None:
        """Run the engine for ``req`` (waiting for torch to load first), then sample the curve."""
        worker = get_current_worker()
        while not self._ready.wait(0.05):
            if worker.is_cancelled:
                return
        if self.error is not None:
            return
        # No lock: a runaway computation must not hold up the next edit. The engine
        # keeps no global state between calls (its random constructors use their own
        # seeded generators), and an answer for an older request is dropped anyway.
        # The engine's own bounds nest in this one (no limit of its own: the app's timer
        # decides when to give up), so cancelling it stops the engine at its next step.
        bound = TimeBound(0)
        self._bounds[req.seq] = bound
        try:
            # _abandon marks the request before it stops the bounds it can see: one
            # registered just after that is stopped here instead of running to its end
            if worker.is_cancelled or req.seq != self.seq or req.seq == self.abandoned:
                return
            self._started[req.seq] = time.monotonic()  # the time bound starts now
            bound.call(
                self._compute_in_bound,
                req,
                lambda: not worker.is_cancelled and req.seq == self.seq,
            )
        except ComputationTimeout:
            return  # stopped: a newer edit, the app's time bound, or the app exiting
        finally:
            self._bounds.pop(req.seq, None)

    def _compute_in_bound(self, req: Request, still_wanted: Callable[[], bool]) -> None:
        """On the bound's own thread: step aside for the UI, then compute."""
        lower_priority()
        compute(req, self.catalog, self._owner.post_message, still_wanted)
